# -*- test-case-name: tests.test_protocol -*-
"""Framing: KMIP's TTLV stream over one connection.

L{KMIPProtocol} only frames. It peeks each 8-byte TTLV header, checks the announced length against
the limit before buffering the body, hands complete messages to the factory's dispatcher one at a
time (responses go out in request order), applies backpressure when a client pipelines too much,
and closes idle connections. Identity is established once, after the TLS handshake.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from zope.interface import implementer

from kmipd.log import Logger

from .dispatch import Caller, Reply, sniff_version
from .limits import Limits
from .spec import ResultReason, Tag
from .ttlv import ItemType, peek_header

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall, IPushProducer, ISSLTransport

    from .dispatch import Dispatcher

    class _IConnection(ISSLTransport, IPushProducer):
        """What a server connection's transport provides: TCP (or TLS over TCP), flow control."""

_log = Logger()
_REFUSED_GRACE = 10.0  # seconds a refused client has to send the request we answer with the refusal
_STRUCTURE = int(ItemType.STRUCTURE)
#: Most pipelined messages of one connection handed to the pool at once (see L{KMIPProtocol._next}).
MAX_HANDOFF = 16
_REQUEST = int(Tag.REQUEST_MESSAGE)

Identify = Callable[[object], Deferred]
"""Given the peer certificate (or C{None}), fire with a L{Caller} or fail to refuse the client."""


@implementer(IHandshakeListener)
class KMIPProtocol(Protocol, TimeoutMixin):
    """One client connection."""

    factory: KMIPServerFactory
    #: Set by C{makeConnection} before any callback below runs.
    transport: _IConnection

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._queue: list[bytes] = []
        self._busy = False
        self._paused = False
        self._closing = False
        self.caller: Caller | None = None
        self._refused = False
        self._tls = False

    # Connection lifecycle ------------------------------------------------------------------

    def connectionMade(self) -> None:
        self.factory.connections.add(self)
        _no_delay(self.transport)
        self.setTimeout(self.factory.limits.idle_timeout)
        self._tls = self.factory.tls
        if not self._tls:
            self._identify(None)

    def callLater(self, period: float, func: Callable[[], object]) -> IDelayedCall:
        """TimeoutMixin's timer, on the factory's clock."""
        return self.factory.clock.callLater(period, func)

    def handshakeCompleted(self) -> None:
        """TLS is up: read the client certificate and establish the caller's identity."""
        self._identify(self.transport.getPeerCertificate())

    def _identify(self, certificate: object) -> None:
        d = self.factory.identify(certificate)

        def ok(caller: Caller) -> None:
            self.caller = caller
            self._next()

        def refused(failure: Failure) -> None:
            # Answer the client's first request with Authentication Not Successful, then close:
            # clients report that clearly, where a bare close looks like a network fault.
            _log.info("refusing client {peer}: {reason}", peer=str(self.transport.getPeer()),
                      reason=failure.getErrorMessage())
            self._refused = True
            self.setTimeout(min(self.factory.limits.idle_timeout, _REFUSED_GRACE))
            self._next()

        d.addCallbacks(ok, refused)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.factory.connections.discard(self)
        self.setTimeout(None)
        self._closing = True
        self._queue.clear()

    def timeoutConnection(self) -> None:
        _log.info("closing idle connection from {peer}", peer=str(self.transport.getPeer()))
        self._closing = True
        self.transport.abortConnection()

    # Framing --------------------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        if self._closing:
            return
        self.resetTimeout()
        buf = self._buffer
        buf += data
        limit = self.factory.limits.max_message_size
        offset = 0
        while len(buf) - offset >= 8:
            tag, typ, length = peek_header(buf, offset)
            if tag != _REQUEST or typ != _STRUCTURE:
                self._reject(ResultReason.INVALID_MESSAGE, "stream does not start with a Request Message")
                return
            total = 8 + length
            if total > limit:
                self._reject(ResultReason.INVALID_MESSAGE,
                             f"request of {total} bytes exceeds the limit of {limit} bytes")
                return
            if len(buf) - offset < total:
                break
            self._queue.append(bytes(buf[offset:offset + total]))
            offset += total
        if offset:
            del buf[:offset]
        if len(self._queue) > self.factory.limits.max_pipelined and not self._paused:
            self._paused = True
            self.transport.pauseProducing()
        self._next()

    def _reject(self, reason: int, message: str) -> None:
        """Answer an unframeable stream with one error response, then close."""
        _log.info("rejecting stream from {peer}: {message}", peer=str(self.transport.getPeer()), message=message)
        self._closing = True
        self._buffer.clear()
        self._queue.clear()
        self.transport.write(self.factory.dispatcher.error_reply((1, 0), int(self.factory.clock.seconds()),
                                                              reason, message).data)
        self.transport.loseConnection()

    # Dispatch, in order (queued pipelined messages in one hand-off) ---------------------------

    def _next(self) -> None:
        if self._refused and self._queue and not self._closing:
            data = self._queue.pop(0)
            self._closing = True
            self._queue.clear()
            self.transport.write(self.factory.dispatcher.error_reply(
                sniff_version(data), int(self.factory.clock.seconds()),
                ResultReason.AUTHENTICATION_NOT_SUCCESSFUL, "authentication not successful").data)
            self.transport.loseConnection()
            return
        if self._busy or not self._queue or self.caller is None or self._closing:
            return
        # Several queued (pipelined) messages go to the dispatcher's handle_many when it has one:
        # they still run one after another, each in its own transaction, but cost one trip
        # through the thread pool instead of one each.
        self._busy = True
        dispatcher = self.factory.dispatcher
        many = getattr(dispatcher, "handle_many", None)
        started = time.perf_counter()
        if many is not None and len(self._queue) > 1:
            batch = self._queue[:MAX_HANDOFF]
            del self._queue[:len(batch)]
            self._maybe_resume()
            d = many(batch, self.caller)
            d.addCallback(self._replied_many, started)
        else:
            data = self._queue.pop(0)
            self._maybe_resume()
            d = dispatcher.handle(data, self.caller)
            d.addCallback(self._replied, started)
        d.addErrback(self._crashed)

    def _maybe_resume(self) -> None:
        if self._paused and len(self._queue) <= self.factory.limits.max_pipelined // 2:
            self._paused = False
            self.transport.resumeProducing()

    def _replied_many(self, replies: list[Reply], started: float) -> None:
        self._busy = False
        for reply in replies:
            if not self._answer(reply, started):
                return
        self._next()

    def _replied(self, reply: Reply, started: float) -> None:
        self._busy = False
        if self._answer(reply, started):
            self._next()

    def _answer(self, reply: Reply, started: float) -> bool:
        """Log and send one reply; False once the connection is closing."""
        _log.info(
            "{client} {operation} -> {result_status}",
            client=self.caller.identity if self.caller else None,
            operation=",".join(reply.operations) or "none",
            result_status=reply.status,
            version=reply.version,
            duration=time.perf_counter() - started,
        )
        if self._closing:
            return False
        self.resetTimeout()  # idle time counts from the last reply, not from a slow request's arrival
        self.transport.write(reply.data)
        if reply.close:
            self._closing = True
            self.transport.loseConnection()
            return False
        return True

    def _crashed(self, failure: Failure) -> None:
        _log.failure("dispatcher crashed; closing connection", failure)
        self._busy = False
        self._closing = True
        self.transport.abortConnection()


def _no_delay(transport: object) -> None:
    """Disable Nagle on the TCP connection under (possibly TLS-wrapped) C{transport}.

    Responses (and TLS 1.3 session tickets) are small writes; with Nagle on the server and
    delayed ACKs on the client a round trip can stall for 40 ms.
    """
    seen = 0
    while transport is not None and seen < 4:
        setter = getattr(transport, "setTcpNoDelay", None)
        if setter is not None:
            try:
                setter(True)
            except Exception:  # not a TCP socket (UNIX socket, test transport)
                pass
            return
        transport = getattr(transport, "transport", None)
        seen += 1


def _no_identity(certificate: object) -> Deferred:
    return succeed(Caller(None))


class KMIPServerFactory(Factory[KMIPProtocol]):
    """Builds L{KMIPProtocol}s sharing one dispatcher, limits, clock and identity function."""

    protocol = KMIPProtocol

    def __init__(self, dispatcher: Dispatcher, *, limits: Limits | None = None, clock=None,
                 identify: Identify = _no_identity, tls: bool = True) -> None:
        from twisted.internet import reactor

        self.dispatcher = dispatcher
        self.limits = limits or dispatcher.limits
        self.clock = clock if clock is not None else reactor
        self.identify = identify
        self.tls = tls
        self.connections: set[KMIPProtocol] = set()
