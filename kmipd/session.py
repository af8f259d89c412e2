# -*- test-case-name: tests.test_session -*-
"""Sessions: what the TTLV port (L{kmipd.protocol}) and the HTTPS port (L{kmipd.http}) share.

A L{Session} is one client connection's life, whatever its framing:

 1. B{Handshake.} Over TLS a new connection is I{pending}: it counts against the per-address limit
    on unfinished handshakes (C{max_handshakes_per_address}) and the global one
    (C{max_pending_handshakes}, beyond which the oldest pending connection is dropped), and it
    must finish its handshake within C{handshake_timeout} seconds. Only a connection that has
    presented a valid client certificate counts against C{max_connections}: bare sockets never
    lock legitimate clients out.
 2. B{Identification.} The certificate is turned into a L{Caller} by the port's identify
    function (L{kmipd.auth.identify.Identifier}), which counts against
    C{max_connections_per_client}; with third-party authentication the caller is resolved again
    once it is older than C{reidentify_after} (group membership may change).
 3. B{Budgets.} The bytes of partially received requests count against the global
    C{max_partial_bytes} (beyond it the connection holding the largest partial request is
    dropped), and response bytes the transport could not send yet against the global
    C{max_output_bytes} (beyond it no connection dispatches another request until some drain).

L{ConnectionCounter} holds all of that for every listener sharing it (the service's TTLV and HTTPS
ports share one, so the caps hold for both together). Its plain attributes are the live figures a
metrics exporter reads: C{open}, C{pending}, C{open_by_transport}, C{handshake_failures},
C{partial_bytes}, C{output_bytes}, C{dropped_partial}.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from twisted.internet.defer import Deferred, succeed

from kmipd.auth.identify import Caller
from kmipd.limits import Limits
from kmipd.log import Logger

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall

__all__ = ["ConnectionCounter", "ConnectionLimitExceeded", "Deadline", "IdleTimer", "Identify", "Session",
           "peer_host", "reidentify_due"]

_log = Logger()

Identify = Callable[[Any], Deferred]
"""Given the peer certificate (or C{None}), fire with a L{Caller} or fail to refuse the client."""


class ConnectionLimitExceeded(Exception):
    """A client identity already has C{max_connections_per_client} connections open."""


class Connection(Protocol):
    """What a session needs of its connection: a transport to abort (None once gone)."""

    transport: Any


def peer_host(transport: Any) -> str:
    """The peer's host (the per-address handshake limit's key), or C{"unknown"}."""
    try:
        peer = transport.getPeer()
    except Exception:
        return "unknown"
    return str(getattr(peer, "host", None) or peer)


def reidentify_due(resolved_at: float, now: float, after: float | None) -> bool:
    """Whether a caller resolved at C{resolved_at} must be resolved again at C{now}
    (C{after}: the re-resolution period in seconds, C{None} for never)."""
    return after is not None and now - resolved_at >= after


class Deadline:
    """A restartable one-shot timer: C{expired} runs unless cancelled within the period.

    Both ports use one per connection for C{message_timeout} (a request begun must arrive in full);
    it holds a delayed call only while it runs.
    """

    __slots__ = ("_call", "_expired")

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


class IdleTimer:
    """The idle timeout of many connections with one delayed call for all of them.

    Every connection of a listener has the same timeout, so the connections ordered by their last
    activity are also ordered by their deadline: an ordered dict holds them, activity moves a
    connection to the end (O(1)), and one delayed call, set for the oldest one's deadline, closes
    whoever is due when it fires. Activity costs a dict update instead of rescheduling a per-connection
    C{DelayedCall} (with 20,000 idle connections, also 20,000 entries less in the reactor's heap).
    Connections close exactly C{timeout()} seconds after their last activity.

    @param clock: an C{IReactorTime}.
    @param timeout: the current idle timeout in seconds (read when the timer fires).
    @param expired: called with a connection that has been idle for the timeout (it is forgotten first).
    """

    __slots__ = ("_call", "_clock", "_expired", "_last", "_timeout")

    #: Most connections closed in one reactor iteration (closing 20,000 at once would stall it).
    BATCH = 500

    def __init__(self, clock: Any, timeout: Callable[[], float], expired: Callable[[Any], object]) -> None:
        self._clock = clock
        self._timeout = timeout
        self._expired = expired
        self._last: OrderedDict[Any, float] = OrderedDict()  # connection -> last activity; oldest first
        self._call: IDelayedCall | None = None

    def __len__(self) -> int:
        return len(self._last)

    def __contains__(self, connection: object) -> bool:
        return connection in self._last

    def touch(self, connection: Any) -> None:
        """Watch C{connection} from now on (its idle time starts now)."""
        last = self._last
        last[connection] = self._clock.seconds()
        last.move_to_end(connection)
        if self._call is None:
            self._schedule()

    def refresh(self, connection: Any) -> None:
        """C{connection} was active now: its idle time starts again, if it is watched."""
        last = self._last
        if connection in last:
            last[connection] = self._clock.seconds()
            last.move_to_end(connection)

    def forget(self, connection: Any) -> None:
        """Stop watching C{connection} (closed, or on a timer of its own)."""
        last = self._last
        if last.pop(connection, None) is not None and not last and self._call is not None:
            call, self._call = self._call, None
            if call.active():
                call.cancel()

    def _schedule(self) -> None:
        oldest = next(iter(self._last.values()))
        delay = max(0.0, oldest + self._timeout() - self._clock.seconds())
        self._call = self._clock.callLater(delay, self._fire)

    def _fire(self) -> None:
        self._call = None
        last = self._last
        due = self._clock.seconds() - self._timeout()
        for _ in range(self.BATCH):
            if not last:
                return
            connection, at = last.popitem(last=False)
            if at > due:
                last[connection] = at
                last.move_to_end(connection, last=False)
                break
            self._expired(connection)
        else:  # more may be due: go on in the next reactor iteration, others are served in between
            if last and self._call is None:
                self._call = self._clock.callLater(0, self._fire)
            return
        if last and self._call is None:
            self._schedule()


def _abort(connection: Any) -> None:
    """Drop C{connection}: its C{session_dropped} when it has one, else abort its transport."""
    dropped = getattr(connection, "session_dropped", None)
    if dropped is not None:
        dropped()
        return
    transport = getattr(connection, "transport", None)
    if transport is not None:
        transport.abortConnection()


class ConnectionCounter:
    """Connection caps and memory budgets of the listeners sharing it (see the module docstring).

    @ivar open: connections admitted (a valid client certificate, or plain TTLV) and not closed.
    @ivar clients: open connections per identified client.
    @ivar pending: connections whose TLS handshake has not finished.
    @ivar open_by_transport: C{open}, per transport name (C{"ttlv"}, C{"https"}).
    @ivar handshake_failures: connections closed before finishing their handshake (deadline,
        per-address or global pending limit, a refused certificate, a client gone).
    @ivar refused: connections closed because C{max_connections} were open.
    @ivar partial_bytes: bytes of partially received requests, all connections.
    @ivar dropped_partial: connections dropped to keep C{partial_bytes} within the budget.
    @ivar output_bytes: response bytes written while the transport could not take them.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.open = 0
        self.clients: dict[str, int] = {}
        self.open_by_transport: dict[str, int] = {}
        self.handshake_failures = 0
        self.refused = 0
        self.partial_bytes = 0
        self.dropped_partial = 0
        self.output_bytes = 0
        self._pending: dict[Session, None] = {}  # insertion order: oldest first
        self._pending_by_address: dict[str, int] = {}
        self._partial: dict[Session, int] = {}
        self._waiting: dict[Session, None] = {}  # sessions held back by the output budget

    @property
    def pending(self) -> int:
        """Connections whose TLS handshake has not finished."""
        return len(self._pending)

    # max_connections ------------------------------------------------------------------------------

    def accept(self, transport: str = "ttlv") -> bool:
        """Count one more open connection, unless the most allowed are already open."""
        if self.open >= self.limits.max_connections:
            self.refused += 1
            return False
        self.open += 1
        self.open_by_transport[transport] = self.open_by_transport.get(transport, 0) + 1
        return True

    def close(self, transport: str = "ttlv") -> None:
        """Count one accepted connection less."""
        self.open = max(0, self.open - 1)
        count = self.open_by_transport.get(transport, 0) - 1
        if count > 0:
            self.open_by_transport[transport] = count
        else:
            self.open_by_transport.pop(transport, None)

    # max_connections_per_client ----------------------------------------------------------------------

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

    # Unfinished handshakes ---------------------------------------------------------------------------

    def begin_handshake(self, session: Session) -> bool:
        """Register C{session} as pending; False when its address has too many pending already.

        Past C{max_pending_handshakes} in all, the oldest pending connection is dropped to make room
        (an attacker's bare sockets age out; a legitimate client finishes its handshake at once).
        """
        address = session.address
        count = self._pending_by_address.get(address, 0)
        if count >= self.limits.max_handshakes_per_address:
            self.handshake_failures += 1
            return False
        while len(self._pending) >= self.limits.max_pending_handshakes:
            oldest = next(iter(self._pending))
            _log.info("too many unfinished TLS handshakes ({count}); dropping the oldest, from {peer}",
                      count=len(self._pending), peer=oldest.address)
            self.handshake_failures += 1
            oldest._pending = False
            self.end_handshake(oldest)
            oldest.lost()
            _abort(oldest.connection)
        self._pending[session] = None
        self._pending_by_address[address] = count + 1
        return True

    def end_handshake(self, session: Session) -> None:
        """C{session} is no longer pending (handshake done, or the connection is gone)."""
        if session not in self._pending:
            return
        del self._pending[session]
        address = session.address
        count = self._pending_by_address.get(address, 0) - 1
        if count > 0:
            self._pending_by_address[address] = count
        else:
            self._pending_by_address.pop(address, None)

    # Partial requests ----------------------------------------------------------------------------

    def partial(self, session: Session, size: int) -> None:
        """C{session} now holds C{size} bytes of a partially received request (0: none).

        Over C{max_partial_bytes} in all, the connection with the largest partial request (the
        oldest among equals) is dropped, once per connection, until the total fits.
        """
        old = self._partial.pop(session, 0)
        self.partial_bytes += size - old
        if size:
            self._partial[session] = size
        while self.partial_bytes > self.limits.max_partial_bytes and self._partial:
            victim = max(self._partial, key=self._partial.__getitem__)
            dropped = self._partial.pop(victim)
            self.partial_bytes -= dropped
            self.dropped_partial += 1
            _log.warn("partial requests exceed {budget} bytes; dropping the connection from {peer} "
                      "holding {size} bytes of an incomplete request",
                      budget=self.limits.max_partial_bytes, peer=victim.address, size=dropped)
            victim.lost()
            _abort(victim.connection)

    # Unsent output ---------------------------------------------------------------------------------

    def output_over_budget(self) -> bool:
        """Whether held response bytes exceed C{max_output_bytes} (no connection dispatches more)."""
        return self.output_bytes > self.limits.max_output_bytes

    def wait_for_output(self, session: Session) -> None:
        """Wake C{session} (its C{resume} callback) once the output budget has room again."""
        self._waiting[session] = None

    def _output_drained(self, size: int) -> None:
        self.output_bytes = max(0, self.output_bytes - size)
        while self._waiting and not self.output_over_budget():
            session = next(iter(self._waiting))
            del self._waiting[session]
            if session.resume is not None:
                session.resume()

    def forget(self, session: Session) -> None:
        """C{session}'s connection is gone: drop it from every table."""
        self.end_handshake(session)
        self.partial(session, 0)
        self._waiting.pop(session, None)


class Session:
    """One client connection's identity, counts and budgets (see the module docstring).

    @param counter: the shared L{ConnectionCounter}.
    @param connection: the connection (its C{transport} is aborted when a limit drops it).
    @param address: the peer's address (host), for the per-address handshake limit.
    @param transport_name: C{"ttlv"} or C{"https"}, for the per-transport figures.
    @param identify: certificate -> Deferred L{Caller}.
    @param reidentify_after: seconds after which the caller is resolved again, or C{None}.
    @param clock: an C{IReactorTime} (deadlines and re-identification).
    @ivar caller: the caller once identified, else C{None}.
    @ivar resume: called when the output budget has room again (set by the connection).
    """

    __slots__ = ("_counted", "_fresh", "_handshake", "_identity", "_lost", "_pending", "_resolved_at", "_unsent",
                 "address", "caller", "clock", "connection", "counter", "identify", "reidentify_after",
                 "resume", "transport_name")

    def __init__(self, counter: ConnectionCounter, connection: Any, address: str, transport_name: str,
                 identify: Identify | None, reidentify_after: float | None, clock: Any) -> None:
        self.counter = counter
        self.connection = connection
        self.address = address
        self.transport_name = transport_name
        self.identify = identify
        self.reidentify_after = reidentify_after
        self.clock = clock
        self.caller: Caller | None = None
        self.resume: Callable[[], object] | None = None
        self._counted = False  # counted against max_connections
        self._identity: str | None = None  # the identity this connection counts against
        self._handshake: IDelayedCall | None = None
        self._resolved_at = 0.0
        self._fresh = False
        self._lost = False
        self._pending = False  # TLS handshake not finished (a loss now is a handshake failure)
        self._unsent = 0

    # Admission -----------------------------------------------------------------------------------

    def open(self, tls: bool) -> bool:
        """The connection was accepted. Over TLS it is pending until L{handshake_done} (and dropped
        at C{handshake_timeout}); otherwise it is admitted at once. False: abort it now."""
        if not tls:
            return self._admit_connection()
        if not self.counter.begin_handshake(self):
            _log.info("too many unfinished TLS handshakes from {peer}; closing the connection",
                      peer=self.address)
            return False
        self._handshake = self.clock.callLater(self.counter.limits.handshake_timeout, self._handshake_expired)
        self._pending = True
        return True

    def handshake_done(self) -> bool:
        """The TLS handshake finished (a client certificate the CA vouches for): count the connection
        against C{max_connections}. False: over the cap, abort it now."""
        self._stop_handshake_timer()
        self._pending = False
        self.counter.end_handshake(self)
        if self._counted:
            return True
        return self._admit_connection()

    @property
    def admitted(self) -> bool:
        """Whether the connection counts against C{max_connections}."""
        return self._counted

    def _admit_connection(self) -> bool:
        if not self.counter.accept(self.transport_name):
            _log.warn("too many connections ({count}); closing the connection from {peer}",
                      count=self.counter.open, peer=self.address)
            return False
        self._counted = True
        return True

    def _stop_handshake_timer(self) -> None:
        call, self._handshake = self._handshake, None
        if call is not None and call.active():
            call.cancel()

    def _handshake_expired(self) -> None:
        self._handshake = None
        _log.info("closing connection from {peer}: TLS handshake not finished within {timeout} seconds",
                  peer=self.address, timeout=self.counter.limits.handshake_timeout)
        self._pending = False
        self.counter.handshake_failures += 1
        self.counter.end_handshake(self)
        _abort(self.connection)

    # Identity --------------------------------------------------------------------------------------

    def resolve(self, certificate: Any, fresh: bool = False) -> Deferred[Caller]:
        """Resolve the caller behind C{certificate} and count the connection against its identity.

        Fails with the identify function's error, or L{ConnectionLimitExceeded} when the identity
        already has C{max_connections_per_client} connections. C{fresh}: the caller is not stale
        for the request waiting for it (no lookup loop when C{reidentify_after} is 0).
        """
        if self.identify is None:
            raise RuntimeError("no identify function: the resource serving the request sets one")
        d = self.identify(certificate)

        def resolved(caller: Caller) -> Caller:
            if caller.identity is not None and not self._count_identity(caller.identity):
                raise ConnectionLimitExceeded(f"more than {self.counter.limits.max_connections_per_client} "
                                              f"connections for {caller.identity!r}")
            self.caller = caller
            self._resolved_at = self.clock.seconds()
            self._fresh = fresh
            return caller

        return d.addCallback(resolved)

    def current(self, certificate: Any) -> Deferred[Caller]:
        """The caller for a request about to run: the known one, or resolved (again) when none
        or stale (the HTTPS port, which runs the request as soon as this fires)."""
        if self.caller is not None and not self.stale():
            return succeed(self.caller)
        return self.resolve(certificate)

    def stale(self) -> bool:
        """Whether the caller must be resolved again before the next request is dispatched."""
        return not self._fresh and reidentify_due(self._resolved_at, self.clock.seconds(), self.reidentify_after)

    def dispatched(self) -> None:
        """A request left with the current caller: a fresh caller ages normally from now on."""
        self._fresh = False

    def forget_caller(self) -> None:
        """The caller was refused: the next request resolves again."""
        self.caller = None

    def _count_identity(self, identity: str) -> bool:
        if self._identity == identity:
            return True
        if self._lost:
            return False
        if self._identity is not None:  # another identity than before: move the count
            self.counter.release(self._identity)
            self._identity = None
        if not self.counter.admit(identity):
            return False
        self._identity = identity
        return True

    # Budgets ------------------------------------------------------------------------------------

    def partial(self, size: int) -> None:
        """The connection holds C{size} bytes of a partially received request (0: none)."""
        if not self._lost:
            self.counter.partial(self, size)

    def wrote(self, size: int, paused: bool) -> None:
        """C{size} response bytes were written; C{paused}: the transport could not take them all."""
        if paused and not self._lost:
            self._unsent += size
            self.counter.output_bytes += size

    def drained(self) -> None:
        """The transport sent everything it held (it resumed its producer)."""
        unsent, self._unsent = self._unsent, 0
        if unsent:
            self.counter._output_drained(unsent)

    def may_dispatch(self) -> bool:
        """Whether the global output budget lets this connection dispatch; if not, it is woken later."""
        if not self.counter.output_over_budget():
            return True
        self.counter.wait_for_output(self)
        return False

    # End -------------------------------------------------------------------------------------------

    def lost(self) -> None:
        """The connection is gone (or being dropped): release every count and budget, once."""
        if self._lost:
            return
        self._lost = True
        if self._pending:  # closed before its handshake finished (refused certificate, client gone)
            self._pending = False
            self.counter.handshake_failures += 1
        self._stop_handshake_timer()
        self.counter.forget(self)
        self.drained()
        if self._counted:
            self._counted = False
            self.counter.close(self.transport_name)
        if self._identity is not None:
            self.counter.release(self._identity)
            self._identity = None
        self.resume = None
