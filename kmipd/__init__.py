"""kmipd: a KMIP key management server on Twisted.

Public API: L{KMIPService} (embed it in a Twisted application), L{load_config}, L{Config}.
"""

from ._version import __version__

__all__ = ["KMIPService", "load_config", "Config", "__version__"]


def __getattr__(name: str):  # lazy, so importing kmipd.ttlv does not import Twisted services
    if name == "KMIPService":
        from .service import KMIPService

        return KMIPService
    if name in ("load_config", "Config"):
        from . import config

        return getattr(config, name)
    raise AttributeError(name)
