# -*- test-case-name: tests.test_protocol -*-
"""Framing: KMIP's TTLV stream over one connection.

L{KMIPProtocol} only frames. It peeks each 8-byte TTLV header, checks the announced length against
the limit before buffering the body, hands complete messages to the factory's dispatcher one at a
time (responses go out in request order), applies backpressure when a client pipelines too many
messages or bytes, closes idle connections and connections whose request does not arrive in full
within C{message_timeout}. Identity is established after the TLS handshake and, when the factory
asks for it (third-party authentication), re-established before the next request once it is older
than C{reidentify_after} seconds. The factory caps open connections, in all and per identity.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from zope.interface import implementer

from kmipd.log import Logger

from . import audit
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
        self._queued_bytes = 0
        self._busy = False
        self._paused = False
        self._closing = False
        self._lost = False
        self.caller: Caller | None = None
        self._refused = False
        self._tls = False
        self._message_deadline = Deadline(self._message_expired)
        self._certificate: object = None
        self._resolving = False
        self._resolved_at = 0.0
        self._fresh = False  # re-resolved for the waiting request, not dispatched yet
        self._counted: str | None = None  # the identity this connection counts against

    # Connection lifecycle ------------------------------------------------------------------

    def connectionMade(self) -> None:
        factory = self.factory
        if not factory.counter.accept():
            _log.warn("too many connections ({count}); closing the connection from {peer}",
                      count=factory.counter.open, peer=str(self.transport.getPeer()))
            self._closing = True
            self.transport.abortConnection()
            return
        factory.connections.add(self)
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
        self._handshaken = True  # ops: handshake failure metric
        self._identify(self.transport.getPeerCertificate())

    def _identify(self, certificate: object) -> None:
        self._certificate = certificate
        d = self.factory.identify(certificate)

        def ok(caller: Caller) -> None:
            if self._lost:
                return
            if caller.identity is not None:
                if not self.factory.admit(caller.identity):
                    self._refuse(f"more than {self.factory.limits.max_connections_per_client} "
                                 f"connections for {caller.identity!r}")
                    return
                self._counted = caller.identity
            self._resolved(caller)

        def refused(failure: Failure) -> None:
            if not self._lost:
                self._refuse(failure.getErrorMessage())

        d.addCallbacks(ok, refused)

    def _resolved(self, caller: Caller, fresh: bool = False) -> None:
        self.caller = caller
        self._resolved_at = self.factory.clock.seconds()
        self._fresh = fresh
        self._next()

    def _refuse(self, reason: str) -> None:
        """Answer the client's next request with Authentication Not Successful, then close.

        Clients report that clearly, where a bare close looks like a network fault.
        """
        _log.info("refusing client {peer}: {reason}", peer=str(self.transport.getPeer()), reason=reason)
        audit.refused(getattr(self.factory.dispatcher, "services", None),  # ops: audit hook
                      peer=str(self.transport.getPeer()), transport="ttlv", reason=reason)
        self._refused = True
        self.setTimeout(min(self.factory.limits.idle_timeout, _REFUSED_GRACE))
        self._next()

    def _stale(self) -> bool:
        """Whether the caller must be re-resolved before the next request is dispatched.

        A caller re-resolved for the waiting request is never stale for it (no lookup loop
        when the lookup answers at once and C{reidentify_after} is 0).
        """
        return not self._fresh and reidentify_due(self._resolved_at, self.factory.clock.seconds(),
                                                  self.factory.reidentify_after)

    def _reidentify(self) -> None:
        """Resolve the caller again (group membership may have changed); requests wait."""
        self._resolving = True
        d = self.factory.identify(self._certificate)

        def ok(caller: Caller) -> None:
            self._resolving = False
            if not self._lost:
                self._resolved(caller, fresh=True)

        def refused(failure: Failure) -> None:
            self._resolving = False
            if not self._lost:
                self._refuse(failure.getErrorMessage())

        d.addCallbacks(ok, refused)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self._lost = True
        if self._tls and not getattr(self, "_handshaken", False):  # ops: handshake failure metric
            metrics = (getattr(self.factory.dispatcher, "services", None) or {}).get("metrics")
            if metrics is not None:
                metrics.handshake_failed("ttlv")
        if self in self.factory.connections:
            self.factory.connections.discard(self)
            self.factory.counter.close()
            if self._counted is not None:
                self.factory.release(self._counted)
                self._counted = None
        self.setTimeout(None)
        self._closing = True
        self._cancel_message_timer()
        self._queue.clear()
        self._queued_bytes = 0

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
            self._queued_bytes += total
            offset += total
        if offset:
            del buf[:offset]
        limits = self.factory.limits
        if not self._paused and (len(self._queue) > limits.max_pipelined
                                 or self._queued_bytes > limits.max_queued_bytes):
            self._paused = True
            self.transport.pauseProducing()
        # A message completed in this chunk: any bytes left belong to a message begun in it.
        self._watch_message(restart=offset > 0)
        self._next()

    def _watch_message(self, restart: bool) -> None:
        """Run the message deadline while a partial request is buffered and the connection reads.

        While reading is paused (backpressure) the wait is the server's, so the deadline stops,
        and starts afresh on resume.
        """
        if not self._buffer or self._paused or self._closing:
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
        self._buffer.clear()
        self._queue.clear()
        self._queued_bytes = 0
        self.transport.abortConnection()

    def _reject(self, reason: int, message: str) -> None:
        """Answer an unframeable stream with one error response, then close."""
        _log.info("rejecting stream from {peer}: {message}", peer=str(self.transport.getPeer()), message=message)
        self._closing = True
        self._cancel_message_timer()
        self._buffer.clear()
        self._queue.clear()
        self._queued_bytes = 0
        self.transport.write(self.factory.dispatcher.error_reply((1, 0), int(self.factory.clock.seconds()),
                                                              reason, message).data)
        self.transport.loseConnection()

    # Dispatch, in order (queued pipelined messages in one hand-off) ---------------------------

    def _next(self) -> None:
        if self._refused and self._queue and not self._closing:
            data = self._queue.pop(0)
            self._closing = True
            self._cancel_message_timer()
            self._queue.clear()
            self._queued_bytes = 0
            self.transport.write(self.factory.dispatcher.error_reply(
                sniff_version(data), int(self.factory.clock.seconds()),
                ResultReason.AUTHENTICATION_NOT_SUCCESSFUL, "authentication not successful").data)
            self.transport.loseConnection()
            return
        if self._busy or self._resolving or not self._queue or self.caller is None or self._closing:
            return
        if self._stale():
            self._reidentify()
            return
        self._fresh = False
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
            self._queued_bytes -= sum(map(len, batch))
            self._maybe_resume()
            d = many(batch, self.caller)
            d.addCallback(self._replied_many, started)
        else:
            data = self._queue.pop(0)
            self._queued_bytes -= len(data)
            self._maybe_resume()
            d = dispatcher.handle(data, self.caller)
            d.addCallback(self._replied, started)
        d.addErrback(self._crashed)

    def _maybe_resume(self) -> None:
        limits = self.factory.limits
        if (self._paused and len(self._queue) <= limits.max_pipelined // 2
                and self._queued_bytes <= limits.max_queued_bytes // 2):
            self._paused = False
            self.transport.resumeProducing()
            self._watch_message(restart=True)

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
            correlation=reply.correlation,
            client_correlation=reply.client_correlation,
        )
        audit.request_done(getattr(self.factory.dispatcher, "services", None), reply, self.caller,  # ops: audit hook
                           peer=str(self.transport.getPeer()), transport="ttlv",
                           duration=time.perf_counter() - started)
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


# Shared with the HTTPS port (kmipd.http) -------------------------------------------------------

def reidentify_due(resolved_at: float, now: float, after: float | None) -> bool:
    """Whether a caller resolved at C{resolved_at} must be resolved again at C{now}
    (C{after}: the re-resolution period in seconds, C{None} for never)."""
    return after is not None and now - resolved_at >= after


class Deadline:
    """A restartable one-shot timer: C{expired} runs unless cancelled within the period.

    Both ports use one per connection for C{message_timeout} (a request begun must arrive in full).
    """

    def __init__(self, expired: Callable[[], object]) -> None:
        self._expired = expired
        self._call: IDelayedCall | None = None

    @property
    def running(self) -> bool:
        """Whether the timer is set and has not fired."""
        return self._call is not None

    def start(self, clock: Any, seconds: float) -> None:
        """Set the timer on C{clock} (an C{IReactorTime}) unless it is already running."""
        if self._call is None:
            self._call = clock.callLater(seconds, self._fire)

    def cancel(self) -> None:
        """Stop the timer, if it runs."""
        call, self._call = self._call, None
        if call is not None and call.active():
            call.cancel()

    def _fire(self) -> None:
        self._call = None
        self._expired()


class ConnectionCounter:
    """Open connections against C{limits}' caps, in all and per client identity.

    One counter can be shared by several listeners (the service's TTLV and HTTPS ports), so the
    caps hold for all of them together.

    @ivar open: connections accepted and not yet closed (at most C{limits.max_connections}).
    @ivar clients: open connections per identified client (each at most
        C{limits.max_connections_per_client}).
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.open = 0
        self.clients: dict[str, int] = {}

    def accept(self) -> bool:
        """Count one more open connection, unless the most allowed are already open."""
        if self.open >= self.limits.max_connections:
            return False
        self.open += 1
        return True

    def close(self) -> None:
        """Count one accepted connection less."""
        self.open = max(0, self.open - 1)

    def admit(self, identity: str) -> bool:
        """Count one more connection for C{identity}, unless it already has the most allowed."""
        count = self.clients.get(identity, 0)
        if count >= self.limits.max_connections_per_client:
            return False
        self.clients[identity] = count + 1
        return True

    def release(self, identity: str) -> None:
        """Count one connection less for C{identity}."""
        count = self.clients.get(identity, 0) - 1
        if count > 0:
            self.clients[identity] = count
        else:
            self.clients.pop(identity, None)


class KMIPServerFactory(Factory[KMIPProtocol]):
    """Builds L{KMIPProtocol}s sharing one dispatcher, limits, clock and identity function.

    @param reidentify_after: seconds after which a connection's caller is resolved again through
        C{identify} before its next request (group membership may change), or C{None} never.
    @param counter: the connection caps' counter, when shared with other listeners (the HTTPS
        site); by default one of its own.
    @ivar connections: the open connections of this factory.
    @ivar counter: the L{ConnectionCounter} its connections count against.
    """

    protocol = KMIPProtocol

    def __init__(self, dispatcher: Dispatcher, *, limits: Limits | None = None, clock=None,
                 identify: Identify = _no_identity, tls: bool = True,
                 reidentify_after: float | None = None, counter: ConnectionCounter | None = None) -> None:
        from twisted.internet import reactor

        self.dispatcher = dispatcher
        self.limits = limits or dispatcher.limits
        self.clock = clock if clock is not None else reactor
        self.identify = identify
        self.tls = tls
        self.reidentify_after = reidentify_after
        self.connections: set[KMIPProtocol] = set()
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
