# -*- test-case-name: tests.test_packaging -*-
"""The C{kmipd} command: C{twistd -n kmip} without a pid file (foreground, logs to stdout).

For systemd, containers and a first try: C{kmipd --config /etc/kmipd/server.conf}. Every
C{twistd kmip} option works (C{kmipd --help}); settings may also come from C{KMIPD_*}
environment variables.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main", "twistd_argv"]


def twistd_argv(args: Sequence[str]) -> list[str]:
    """The C{twistd} command line that runs kmipd with C{args}: foreground, no pid file."""
    return ["twistd", "--nodaemon", "--pidfile=", "kmip", *args]


def version_line() -> str:
    """C{kmipd --version}: kmipd's version and the Twisted it runs on."""
    import twisted

    from ._version import __version__

    return f"kmipd {__version__} (Twisted {twisted.__version__})"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the server in the foreground until it is stopped (SIGTERM, SIGINT)."""
    from twisted.scripts.twistd import run

    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        print(version_line())
        return
    sys.argv = twistd_argv(args)
    run()


if __name__ == "__main__":  # pragma: no cover
    main()
