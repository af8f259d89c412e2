# -*- test-case-name: tests.test_protocol -*-
"""Framing: KMIP's TTLV stream over one connection.

L{KMIPProtocol} only frames. It peeks each 8-byte TTLV header, checks the announced length against
the limit before buffering the body, hands complete messages to the factory's dispatcher one at a
time (responses go out in request order), applies backpressure in both directions (it stops
reading when a client pipelines too many messages or bytes, and stops dispatching while the
transport holds unsent responses or the server's output budget is spent), closes idle connections
and connections whose request does not arrive in full within C{message_timeout}. A partial request
is kept as the chunks that arrived, joined once when complete (no copy per chunk), and counts
against the server's budget for partial requests.

What the TTLV and HTTPS ports share -- the TLS handshake deadline and its limits, the connection
caps, identification and re-identification after C{reidentify_after}, the memory budgets -- is a
L{kmipd.session.Session} per connection.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IHandshakeListener, IPushProducer
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import LogLevel
from twisted.python.failure import Failure
from zope.interface import implementer

from kmipd.log import Logger

from . import audit
from .auth.identify import Caller
from .dispatch import Reply, sniff_version
from .limits import Limits
from .session import (
    ConnectionCounter,
    ConnectionLimitExceeded,
    Deadline,
    Identify,
    IdleTimer,
    Session,
    peer_host,
    reidentify_due,
)
from .spec import ResultReason, Tag
from .ttlv import ItemType, peek_header

if TYPE_CHECKING:
    from twisted.internet.interfaces import IConsumer, ISSLTransport

    from .dispatch import Dispatcher

    class _IConnection(ISSLTransport, IPushProducer, IConsumer):
        """What a server connection's transport provides: TCP (or TLS over TCP), flow control."""

__all__ = ["MAX_HANDOFF", "ConnectionCounter", "ConnectionLimitExceeded", "Deadline", "KMIPProtocol",
           "KMIPServerFactory", "reidentify_due"]

_log = Logger()
_REFUSED_GRACE = 10.0  # seconds a refused client has to send the request we answer with the refusal
_STRUCTURE = int(ItemType.STRUCTURE)
#: Most pipelined messages of one connection handed to the pool at once (see L{KMIPProtocol._next}).
MAX_HANDOFF = 16
#: Replies of one hand-off totalling less than this let the next hand-off double (slow start);
#: more sets it back to one message, so a client asking for big responses gets one at a time.
SMALL_OUTPUT = 64 * 1024
_REQUEST = int(Tag.REQUEST_MESSAGE)


@implementer(IHandshakeListener, IPushProducer)
class KMIPProtocol(Protocol):
    """One client connection.

    It is also the producer the transport pauses while its send buffer is full (output
    backpressure): no further request is dispatched until the transport resumes it.
    """

    factory: KMIPServerFactory
    #: Set by C{makeConnection} before any callback below runs.
    transport: _IConnection
    session: Session

    def __init__(self) -> None:
        self._chunks: list[bytes] | None = None  # a partial message, as received
        self._partial = 0  # bytes in _chunks
        self._need = 0  # bytes _chunks must reach before framing can go on
        self._queue: list[bytes] = []
        self._queued_bytes = 0
        self._handoff = 1  # messages in the next hand-off (slow start up to MAX_HANDOFF)
        self._busy = False
        self._paused = False  # reading paused (input backpressure)
        self._out_paused = False  # the transport's send buffer is full (output backpressure)
        self._closing = False
        self._lost = False
        self._refused = False
        self._resolving = False
        self._message_deadline = Deadline(self._message_expired)
        self._grace: Deadline | None = None  # a refused client's time to send its request
        self._peer: str | None = None  # str(transport.getPeer()), once asked (L{_peer_text})

    @property
    def caller(self) -> Caller | None:
        """The identified caller, or C{None} before identification."""
        return self.session.caller

    # Connection lifecycle ------------------------------------------------------------------

    def connectionMade(self) -> None:
        factory = self.factory
        self.session = session = Session(factory.counter, self, peer_host(self.transport), "ttlv",
                                         factory.identify, factory.reidentify_after, factory.clock)
        session.resume = self._next
        if not session.open(factory.tls):
            self._closing = True
            self.transport.abortConnection()
            return
        factory.connections.add(self)
        _no_delay(self.transport)
        self.transport.registerProducer(self, True)
        if not factory.tls:
            factory.idle.touch(self)
            self._identify(None)

    def _active(self) -> None:
        """Traffic: the idle time starts again (see L{kmipd.session.IdleTimer})."""
        self.factory.idle.refresh(self)

    def handshakeCompleted(self) -> None:
        """TLS is up: count the connection, read the client certificate and identify the caller."""
        if self._closing:
            return
        if not self.session.handshake_done():
            self._closing = True
            self.transport.abortConnection()
            return
        self.factory.idle.touch(self)
        self._identify(self.transport.getPeerCertificate())

    def _identify(self, certificate: object, fresh: bool = False) -> None:
        # The certificate is not kept: the TLS connection holds it, and re-identification asks again.
        self._resolving = True
        d = self.session.resolve(certificate, fresh=fresh)

        def ok(caller: Caller) -> None:
            self._resolving = False
            if not self._lost:
                self._next()

        def refused(failure: Failure) -> None:
            self._resolving = False
            if not self._lost:
                self._refuse(failure.getErrorMessage())

        d.addCallbacks(ok, refused)

    def _refuse(self, reason: str) -> None:
        """Answer the client's next request with Authentication Not Successful, then close.

        Clients report that clearly, where a bare close looks like a network fault.
        """
        _log.info("refusing client {peer}: {reason}", peer=str(self.transport.getPeer()), reason=reason)
        audit.refused(getattr(self.factory.dispatcher, "services", None),  # ops: audit hook
                      peer=str(self.transport.getPeer()), transport="ttlv", reason=reason)
        self._refused = True
        self.factory.idle.forget(self)
        self._grace = Deadline(self.timeoutConnection)
        self._grace.start(self.factory.clock, min(self.factory.limits.idle_timeout, _REFUSED_GRACE))
        self._next()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self._lost = True
        self.factory.connections.discard(self)
        session = getattr(self, "session", None)
        if session is not None:
            session.lost()
        self.factory.idle.forget(self)
        if self._grace is not None:
            self._grace.cancel()
        self._closing = True
        self._cancel_message_timer()
        self._drop_input()

    def timeoutConnection(self) -> None:
        """Idle for C{idle_timeout} (or a refused client silent for its grace period): abort."""
        _log.info("closing idle connection from {peer}", peer=str(self.transport.getPeer()))
        self._closing = True
        self.transport.abortConnection()

    def session_dropped(self) -> None:
        """The session's budgets dropped this connection (see L{kmipd.session}): abort it."""
        self._closing = True
        self._cancel_message_timer()
        self._drop_input()
        self.transport.abortConnection()

    # Output backpressure (IPushProducer, driven by the transport) ------------------------------

    def pauseProducing(self) -> None:
        """The transport's send buffer is full: dispatch nothing more until it drains."""
        self._out_paused = True

    def resumeProducing(self) -> None:
        """The transport sent what it held: release the output budget and go on."""
        self._out_paused = False
        self.session.drained()
        self._next()

    def stopProducing(self) -> None:
        """The transport is going away (connectionLost follows)."""
        self._closing = True

    # Framing --------------------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        if self._closing:
            return
        self._active()
        chunks = self._chunks
        if chunks is not None:
            chunks.append(data)
            self._partial += len(data)
            if self._partial < self._need:
                self.session.partial(self._partial)
                if not self._closing:
                    self._watch_message(restart=False)
                return
            data = b"".join(chunks)
            self._chunks = None
            self._partial = 0
        offset = self._frame(data)
        if offset < 0:
            return
        rest = len(data) - offset
        if rest:
            self._chunks = [data[offset:] if offset else data]
            self._partial = rest
        self.session.partial(rest)
        if self._closing:
            return
        limits = self.factory.limits
        if not self._paused and (len(self._queue) > limits.max_pipelined
                                 or self._queued_bytes > limits.max_queued_bytes):
            self._paused = True
            self.transport.pauseProducing()
        # A message completed in this chunk: any bytes left belong to a message begun in it.
        self._watch_message(restart=offset > 0)
        self._next()

    def _frame(self, data: bytes) -> int:
        """Queue the complete messages at the start of C{data}; the offset of the rest (-1: rejected).

        Sets C{_need} to the bytes the rest must grow to before framing can go on.
        """
        limit = self.factory.limits.max_message_size
        size = len(data)
        offset = 0
        self._need = 8
        while size - offset >= 8:
            tag, typ, length = peek_header(data, offset)
            if tag != _REQUEST or typ != _STRUCTURE:
                self._reject(ResultReason.INVALID_MESSAGE, "stream does not start with a Request Message")
                return -1
            total = 8 + length
            if total > limit:
                self._reject(ResultReason.INVALID_MESSAGE,
                             f"request of {total} bytes exceeds the limit of {limit} bytes")
                return -1
            if size - offset < total:
                self._need = total
                break
            self._queue.append(data if total == size else data[offset:offset + total])
            self._queued_bytes += total
            offset += total
        return offset

    def _drop_input(self) -> None:
        self._chunks = None
        self._partial = 0
        self._queue.clear()
        self._queued_bytes = 0
        session = getattr(self, "session", None)
        if session is not None:
            session.partial(0)

    def _watch_message(self, restart: bool) -> None:
        """Run the message deadline while a partial request is buffered and the connection reads.

        While reading is paused (backpressure) the wait is the server's, so the deadline stops,
        and starts afresh on resume.
        """
        if not self._chunks or self._paused or self._closing:
            self._cancel_message_timer()
            return
        if restart:
            self._cancel_message_timer()
        self._message_deadline.start(self.factory.clock, self.factory.limits.message_timeout)

    def _cancel_message_timer(self) -> None:
        self._message_deadline.cancel()

    def _message_expired(self) -> None:
        """A request did not arrive in full in time: close without an answer."""
        _log.info("closing connection from {peer}: request not complete within {timeout} seconds",
                  peer=str(self.transport.getPeer()), timeout=self.factory.limits.message_timeout)
        self._closing = True
        self._drop_input()
        self.transport.abortConnection()

    def _reject(self, reason: int, message: str) -> None:
        """Answer an unframeable stream with one error response, then close."""
        _log.info("rejecting stream from {peer}: {message}", peer=str(self.transport.getPeer()), message=message)
        self._closing = True
        self._cancel_message_timer()
        self._drop_input()
        self.transport.write(self.factory.dispatcher.error_reply((1, 0), int(self.factory.clock.seconds()),
                                                              reason, message).data)
        self.transport.loseConnection()

    # Dispatch, in order (queued pipelined messages in one hand-off) ---------------------------

    def _next(self) -> None:
        if self._refused and self._queue and not self._closing:
            self._answer_refusal(self._queue.pop(0))
            return
        if (self._busy or self._resolving or not self._queue or self.session.caller is None
                or self._closing or self._out_paused or not self.session.may_dispatch()):
            return
        if self.session.stale():
            self._identify(self._peer_certificate(), fresh=True)
            return
        self.session.dispatched()
        # Several queued (pipelined) messages go to the dispatcher's handle_many when it has one:
        # they still run one after another, each in its own transaction, but cost one trip
        # through the thread pool instead of one each.
        self._busy = True
        dispatcher = self.factory.dispatcher
        caller = self.session.caller
        many = getattr(dispatcher, "handle_many", None)
        started = time.perf_counter()
        if many is not None and len(self._queue) > 1 and self._handoff > 1:
            batch = self._queue[:self._handoff]
            del self._queue[:len(batch)]
            self._queued_bytes -= sum(map(len, batch))
            self._maybe_resume()
            d = many(batch, caller)
            d.addCallback(self._replied_many, started)
        else:
            data = self._queue.pop(0)
            self._queued_bytes -= len(data)
            self._maybe_resume()
            d = dispatcher.handle(data, caller)
            d.addCallback(self._replied, started)
        d.addErrback(self._crashed)

    def _peer_certificate(self) -> object:
        """The client certificate of a TLS connection, else C{None}."""
        if not self.factory.tls:
            return None
        return self.transport.getPeerCertificate()

    def _answer_refusal(self, data: bytes) -> None:
        self._closing = True
        self._cancel_message_timer()
        self._drop_input()
        self.transport.write(self.factory.dispatcher.error_reply(
            sniff_version(data), int(self.factory.clock.seconds()),
            ResultReason.AUTHENTICATION_NOT_SUCCESSFUL, "authentication not successful").data)
        self.transport.loseConnection()

    def _maybe_resume(self) -> None:
        limits = self.factory.limits
        if (self._paused and len(self._queue) <= limits.max_pipelined // 2
                and self._queued_bytes <= limits.max_queued_bytes // 2):
            self._paused = False
            self.transport.resumeProducing()
            self._watch_message(restart=True)

    def _replied_many(self, replies: list[Reply], started: float) -> None:
        self._busy = False
        self._adapt(sum(len(r.data) for r in replies))
        for reply in replies:
            if not self._answer(reply, started):
                return
        self._next()

    def _replied(self, reply: Reply, started: float) -> None:
        self._busy = False
        self._adapt(len(reply.data))
        if self._answer(reply, started):
            self._next()

    def _adapt(self, output: int) -> None:
        """Size the next hand-off from this one's output: the responses of one hand-off are built
        before any is sent, so only clients with small responses get large hand-offs."""
        self._handoff = min(MAX_HANDOFF, self._handoff * 2) if output < SMALL_OUTPUT else 1

    def _answer(self, reply: Reply, started: float) -> bool:
        """Log and send one reply; False once the connection is closing."""
        caller = self.session.caller
        duration = time.perf_counter() - started
        _log.emit(  # emit, not info: one keyword dict less per request
            LogLevel.info,
            "{client} {operation} -> {result_status}",
            client=caller.identity if caller else None,
            operation=",".join(reply.operations) or "none",
            result_status=reply.status,
            version=reply.version,
            duration=duration,
            correlation=reply.correlation,
            client_correlation=reply.client_correlation,
        )
        services = getattr(self.factory.dispatcher, "services", None)
        if services:  # ops: audit hook (the peer's text is built once per connection)
            audit.request_done(services, reply, caller, peer=self._peer_text(), transport="ttlv", duration=duration)
        if self._closing:
            return False
        self._active()  # idle time counts from the last reply, not from a slow request's arrival
        data = reply.data
        self.transport.write(data)
        if self._out_paused:
            self.session.wrote(len(data), True)
        if reply.close:
            self._closing = True
            self.transport.loseConnection()
            return False
        return True

    def _peer_text(self) -> str:
        """C{str} of the transport's peer address (it does not change: computed once)."""
        text = self._peer
        if text is None:
            text = self._peer = str(self.transport.getPeer())
        return text

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
    """Builds L{KMIPProtocol}s sharing one dispatcher, limits, clock and identity function.

    @param reidentify_after: seconds after which a connection's caller is resolved again through
        C{identify} before its next request (group membership may change), or C{None} never.
    @param tls: the factory is wrapped in TLS: connections are pending until their handshake
        finishes (see L{kmipd.session}); without it they are admitted, anonymous, at once.
    @param counter: the connection caps' and budgets' counter, when shared with other listeners
        (the HTTPS site); by default one of its own.
    @ivar connections: the open connections of this factory.
    @ivar counter: the L{ConnectionCounter} its connections count against.
    """

    protocol = KMIPProtocol

    def __init__(self, dispatcher: Dispatcher, *, limits: Limits | None = None, clock=None,
                 identify: Identify = _no_identity, tls: bool = True,
                 reidentify_after: float | None = None, counter: ConnectionCounter | None = None) -> None:
        self.dispatcher = dispatcher
        self.limits = limits or dispatcher.limits
        self.clock = clock if clock is not None else dispatcher.clock
        self.identify = identify
        self.tls = tls
        self.reidentify_after = reidentify_after
        self.connections: set[KMIPProtocol] = set()
        self.idle = IdleTimer(self.clock, lambda: self.limits.idle_timeout, KMIPProtocol.timeoutConnection)
        self.counter = counter if counter is not None else ConnectionCounter(self.limits)

    @property
    def clients(self) -> dict[str, int]:
        """Open connections per identified client (of every listener sharing C{counter})."""
        return self.counter.clients

    def admit(self, identity: str) -> bool:
        """Count one more connection for C{identity}, unless it already has the most allowed."""
        return self.counter.admit(identity)

    def release(self, identity: str) -> None:
        """Count one connection less for C{identity}."""
        self.counter.release(identity)
