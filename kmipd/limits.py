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
    @ivar max_connections: most open connections (all listeners sharing a counter) that have
        presented a valid client certificate; more are closed when their handshake finishes.
    @ivar max_connections_per_client: most open connections per client identity; more are refused
        like an unknown client (Authentication Not Successful, then closed).
    @ivar handshake_timeout: seconds a new TLS connection has to finish its handshake; then it is
        aborted.
    @ivar max_handshakes_per_address: most connections from one address with an unfinished
        handshake; more are aborted when accepted.
    @ivar max_pending_handshakes: most connections with an unfinished handshake in all; past it
        the oldest of them is aborted to make room.
    @ivar max_partial_bytes: bytes of partially received requests held for all connections; past
        it the connection with the largest partial request is aborted.
    @ivar max_output_bytes: response bytes held for clients that do not read them, all
        connections; past it no connection starts another request until some output drains.
    @ivar max_response_size: largest response message the server builds (a client's smaller
        Maximum Response Size applies too); larger ones are answered Response Too Large.
    @ivar max_rng_length: largest Data Length of one RNG Retrieve; larger ones are refused with
        Invalid Field before any byte is generated.
    """

    max_message_size: int = 1024 * 1024
    max_depth: int = 32
    max_batch_count: int = 64
    idle_timeout: float = 300.0
    max_pipelined: int = 16
    message_timeout: float = 30.0
    max_connections: int = 10_000
    max_connections_per_client: int = 1_000
    handshake_timeout: float = 5.0
    max_handshakes_per_address: int = 100
    max_pending_handshakes: int = 1_000
    max_partial_bytes: int = 64 * 1024 * 1024
    max_output_bytes: int = 64 * 1024 * 1024
    max_response_size: int = 8 * 1024 * 1024
    max_rng_length: int = 1024 * 1024

    @property
    def max_queued_bytes(self) -> int:
        """Bytes of complete requests buffered behind the one being processed before the
        connection stops reading (backpressure by size): twice C{max_message_size}."""
        return 2 * self.max_message_size
