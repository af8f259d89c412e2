"""Protocol limits: the defences against oversized, deep, slow or endless input, as one value."""

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
    @ivar message_timeout: seconds a client has to send a whole request once its first bytes
        arrived; on expiry the connection is closed without an answer (slow senders).
    @ivar max_connections: most open connections per listening factory; more are closed right
        after they are accepted.
    @ivar max_connections_per_client: most open connections per client identity; more are refused
        like an unknown client (Authentication Not Successful, then closed).
    """

    max_message_size: int = 1024 * 1024
    max_depth: int = 32
    max_batch_count: int = 64
    idle_timeout: float = 300.0
    max_pipelined: int = 16
    message_timeout: float = 30.0
    max_connections: int = 10_000
    max_connections_per_client: int = 1_000

    @property
    def max_queued_bytes(self) -> int:
        """Bytes of complete requests buffered behind the one being processed before the
        connection stops reading (backpressure by size): twice C{max_message_size}."""
        return 2 * self.max_message_size
