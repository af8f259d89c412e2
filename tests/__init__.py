"""kmipd's trial tests, and small helpers they share."""

from __future__ import annotations

import socket
from typing import Any


def busy_port(test: Any) -> int:
    """A loopback TCP port that stays in use (listening) until C{test} ends."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    test.addCleanup(busy.close)
    return int(busy.getsockname()[1])
