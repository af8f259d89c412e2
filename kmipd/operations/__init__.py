"""Operation handlers, registered in L{kmipd.operations.registry.REGISTRY} on import."""

from . import discovery  # noqa: F401
from . import crypto_ops  # noqa: F401
from . import derive  # noqa: F401
from . import attribute_ops  # noqa: F401
from . import lifecycle  # noqa: F401
from . import locate  # noqa: F401
from . import create  # noqa: F401
from . import retrieve  # noqa: F401
from . import rekey  # noqa: F401
from .registry import REGISTRY, lookup, operation, operations_for

__all__ = ["REGISTRY", "lookup", "operation", "operations_for"]
