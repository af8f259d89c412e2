"""Protocol limits: the defences against oversized, deep or endless input, as one value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Limits applied to every connection and message.

    @ivar max_message_size: largest request message in bytes (header included); checked against
        the announced length before the body is buffered.
    @ivar max_depth: deepest structure nesting accepted.
    @ivar max_batch_count: most batch items in one request.
    @ivar idle_timeout: seconds a connection may stay idle before it is closed.
    @ivar max_pipelined: requests buffered behind the one being processed before the connection
        stops reading (backpressure).
    """

    max_message_size: int = 1024 * 1024
    max_depth: int = 32
    max_batch_count: int = 64
    idle_timeout: float = 300.0
    max_pipelined: int = 16
