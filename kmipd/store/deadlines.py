# -*- test-case-name: tests.store.test_deadlines -*-
"""Deadlines on every database wait, and fast failure while the database is down.

Three layers, so a request never waits longer than its deadline however the database fails:

  - B{Driver settings} (L{engine_options}): connect timeout, server-side statement and lock
    timeouts, TCP keepalive (PostgreSQL: libpq C{connect_timeout}, C{keepalives*},
    C{tcp_user_timeout} and C{-c statement_timeout/lock_timeout}; MariaDB/MySQL: pymysql
    C{connect_timeout}/C{read_timeout}/C{write_timeout} and C{SET SESSION max_statement_time},
    C{innodb_lock_wait_timeout}; SQLite: the busy timeout), and C{pool_timeout} bounding the wait
    for a pooled connection.
  - A B{watchdog} (L{Watchdog}): a network partition that still completes TCP (a frozen proxy or
    load balancer, a stopped VM) is invisible to keepalives and to the server's own timeouts, so
    each round trip to the server is armed with a deadline; when it passes, the watchdog shuts
    the connection's socket down, the blocked driver call returns an error at once, and the
    connection is discarded.
  - A B{circuit breaker} (L{CircuitBreaker}): once a round trip failed because the database is
    unreachable, transactions fail at once with L{kmipd.errors.StoreUnavailable} (no thread
    waits for a deadline again) until C{retry_interval} has passed; then one transaction probes
    the database, and its success closes the breaker. Outages are logged as one line when they
    start, one per C{retry_interval} at most while they last (with the count of refused
    requests) and one when they end: never a traceback per request.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc as sa_exc

from kmipd.log import Logger

__all__ = ["CircuitBreaker", "DatabaseDeadlines", "Watchdog", "connection_fd", "engine_options", "guard_dialect",
           "unavailability"]

_log = Logger()


@dataclass(frozen=True)
class DatabaseDeadlines:
    """How long each kind of database wait may last, in seconds (see the module docstring)."""

    connect_timeout: float = 5.0
    statement_timeout: float = 15.0
    lock_timeout: float = 10.0
    pool_timeout: float = 10.0
    keepalive_idle: float = 30.0
    retry_interval: float = 2.0

    @property
    def round_trip(self) -> float:
        """The watchdog's deadline for one statement or commit: the server's statement timeout
        plus a little, so a live server's own cancellation (a clean error) normally comes first."""
        return self.statement_timeout + min(0.5, self.statement_timeout / 2)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def engine_options(backend: str, query: dict[str, Any], deadlines: DatabaseDeadlines) -> dict[str, Any]:
    """The C{create_engine} keyword arguments (C{connect_args}, C{pool_timeout}) for C{backend}.

    @param query: the URL's query parameters (PostgreSQL C{options} there are kept).
    """
    d = deadlines
    if backend == "postgresql":
        options = query.get("options")
        if isinstance(options, (tuple, list)):
            options = " ".join(options)
        ours = f"-c statement_timeout={_ms(d.statement_timeout)} -c lock_timeout={_ms(d.lock_timeout)}"
        idle = max(1, int(d.keepalive_idle))
        return {"pool_timeout": d.pool_timeout, "connect_args": {
            "connect_timeout": max(1, round(d.connect_timeout)),
            "keepalives": 1,
            "keepalives_idle": idle,
            "keepalives_interval": max(1, idle // 3),
            "keepalives_count": 3,
            "tcp_user_timeout": _ms(d.round_trip),
            "options": f"{options} {ours}" if options else ours,
        }}
    if backend in ("mysql", "mariadb"):
        # The handshake reads within connect_timeout; once connected, mysql_on_connect raises the
        # socket timeouts to a backstop behind the watchdog (which fires first and says why).
        connect = max(1, math.ceil(d.connect_timeout))
        return {"pool_timeout": d.pool_timeout, "connect_args": {
            "connect_timeout": connect,
            "read_timeout": connect,
            "write_timeout": connect,
        }}
    return {"pool_timeout": d.pool_timeout}


def mysql_on_connect(deadlines: DatabaseDeadlines) -> Callable[[Any, Any], None]:
    """A C{connect} event listener setting the session timeouts and TCP keepalive (pymysql)."""

    backstop = max(1, math.ceil(max(deadlines.round_trip, deadlines.connect_timeout) + 1))

    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        for name in ("_read_timeout", "_write_timeout"):  # pymysql's per-read socket timeouts
            if hasattr(dbapi_connection, name):
                setattr(dbapi_connection, name, backstop)
        sock = getattr(dbapi_connection, "_sock", None)
        if sock is not None:
            _keepalive(sock, deadlines.keepalive_idle)
        info = str(getattr(dbapi_connection, "get_server_info", lambda: "")())
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"SET SESSION innodb_lock_wait_timeout = {max(1, round(deadlines.lock_timeout))}")
            if "mariadb" in info.lower():
                cursor.execute(f"SET SESSION max_statement_time = {deadlines.statement_timeout:.3f}")
            else:  # MySQL: read-only SELECTs only
                cursor.execute(f"SET SESSION max_execution_time = {_ms(deadlines.statement_timeout)}")
        finally:
            cursor.close()

    return on_connect


def _keepalive(sock: socket.socket, idle: float) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    seconds = max(1, int(idle))
    for name, value in (("TCP_KEEPIDLE", seconds), ("TCP_KEEPINTVL", max(1, seconds // 3)), ("TCP_KEEPCNT", 3)):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


def connection_fd(dbapi_connection: Any) -> int | None:
    """The socket file descriptor of a psycopg or pymysql connection (C{None}: no socket)."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is not None:
        try:
            return int(pgconn.socket)
        except Exception:  # closed connection
            return None
    sock = getattr(dbapi_connection, "_sock", None)
    if sock is not None:
        try:
            fd = sock.fileno()
        except OSError:
            return None
        return fd if fd >= 0 else None
    return None


class Watchdog:
    """Shuts down the socket of a database call still running at its deadline.

    One daemon thread for all connections. L{arm} and L{disarm} cost a lock and a dict update
    (no thread wake-up): while calls are being made the thread looks at the calls in flight every
    C{tick} seconds (so a deadline is kept within C{tick}); after C{park_after} seconds without
    any call it sleeps until the next one. The socket is shut down (not closed) under the lock
    that L{disarm} takes, so the descriptor cannot have been reused by then.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, tick: float = 0.05,
                 park_after: float = 5.0) -> None:
        self._clock = clock
        self._tick = tick
        self._park_after = park_after
        self._lock = threading.Condition()
        self._armed: dict[int, tuple[float, int, str]] = {}  # token -> (deadline, fd, what)
        self._cut_tokens: set[int] = set()
        self._next = 0
        self._last_arm = 0.0
        self._parked = True
        self._thread: threading.Thread | None = None
        self._stopped = False
        #: How many calls the watchdog cut short (for tests and metrics).
        self.fired = 0

    def arm(self, fd: int | None, timeout: float, what: str = "database call") -> int:
        """Start watching C{fd} for C{timeout} seconds; pass the token to L{disarm} (0: nothing armed)."""
        if fd is None:
            return 0
        with self._lock:
            self._next += 1
            token = self._next
            now = self._clock()
            self._armed[token] = (now + timeout, fd, what)
            self._last_arm = now
            if self._parked:
                self._parked = False
                if self._thread is None or not self._thread.is_alive():
                    self._stopped = False
                    self._thread = threading.Thread(target=self._run, name="kmipd-db-watchdog", daemon=True)
                    self._thread.start()
                self._lock.notify()
        return token

    def disarm(self, token: int) -> bool:
        """Stop watching; True when the watchdog cut the call short."""
        if not token:
            return False
        with self._lock:
            if self._armed.pop(token, None) is not None:
                return False
            self._cut_tokens.discard(token)
            return True

    @contextmanager
    def guard(self, fd: int | None, timeout: float, what: str = "database call") -> Iterator[None]:
        """Run the body with C{fd}'s socket shut down if it is still running after C{timeout}."""
        token = self.arm(fd, timeout, what)
        try:
            yield
        finally:
            self.disarm(token)

    def wrap(self, call: Callable[..., Any], timeout: float, what: str,
             on_cut: Callable[[], None] | None = None) -> Callable[..., Any]:
        """C{call} (a dialect method whose first argument is a DBAPI cursor or connection) guarded;
        C{on_cut} runs (in the caller's thread) when the watchdog had to cut it short."""

        def guarded(target: Any, *args: Any, **kwargs: Any) -> Any:
            token = self.arm(connection_fd(getattr(target, "connection", target)), timeout, what)
            try:
                return call(target, *args, **kwargs)
            finally:
                if self.disarm(token) and on_cut is not None:
                    on_cut()

        return guarded

    def stop(self) -> None:
        """End the watchdog thread (armed calls are no longer watched)."""
        with self._lock:
            self._stopped = True
            self._parked = True
            self._lock.notify()

    def _run(self) -> None:
        with self._lock:
            while not self._stopped:
                now = self._clock()
                for token, (deadline, fd, what) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[token]
                        self._cut_tokens.add(token)
                        self._cut(fd, what)
                if not self._armed and now - self._last_arm >= self._park_after:
                    self._parked = True
                if self._parked:
                    self._lock.wait()
                else:
                    self._lock.wait(self._tick)

    def _cut(self, fd: int, what: str) -> None:
        self.fired += 1
        try:
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            sock.close()
        _log.debug("database {what} past its deadline: connection shut down", what=what)


class CircuitBreaker:
    """Closed (normal), open (fail fast until C{retry_interval} passed), half-open (one probe).

    Thread-safe. L{admit} says whether a transaction may use the database now; L{failure} and
    L{success} report how a round trip went.
    """

    def __init__(self, retry_interval: float, *, url: str = "",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.retry_interval = retry_interval
        self._url = url
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until: float | None = None  # None: closed
        self._probing = False
        self._refused = 0
        self._since: float = 0.0
        self._last_report = 0.0
        self._reason = ""
        self._local = threading.local()  # .probe: this thread holds the half-open probe

    @property
    def is_open(self) -> bool:
        """Whether the database is currently known to be unavailable."""
        return self._open_until is not None

    def admit(self) -> bool:
        """True: go ahead (closed, or this caller is the half-open probe). False: fail fast."""
        self._local.probe = False
        with self._lock:
            if self._open_until is None:
                return True
            now = self._clock()
            if now >= self._open_until and not self._probing:
                self._probing = True
                self._local.probe = True
                return True
            self._refused += 1
            if now - self._last_report >= self.retry_interval:
                self._last_report = now
                _log.warn("database {url} still unavailable ({reason}); {n} requests refused in the last"
                          " {s:.0f} s", url=self._url, reason=self._reason, n=self._refused,
                          s=now - self._since)
            return False

    def failure(self, reason: str) -> None:
        """A round trip failed because the database is unreachable or past its deadline."""
        self._local.probe = False  # this thread's own reconnection attempt is refused too
        with self._lock:
            now = self._clock()
            first = self._open_until is None
            self._open_until = now + self.retry_interval
            self._probing = False
            self._reason = reason
            if first:
                self._since = self._last_report = now
                self._refused = 0
                _log.error("database {url} unavailable ({reason}); failing requests fast, retrying every"
                           " {retry} s", url=self._url, reason=reason, retry=self.retry_interval)

    def refuses_connect(self) -> bool:
        """Whether a new connection must not even be tried (open, and not this thread's probe)."""
        return self._open_until is not None and not getattr(self._local, "probe", False)

    def release(self) -> None:
        """The probe admitted by L{admit} ended without telling whether the database is back."""
        with self._lock:
            self._probing = False

    def success(self) -> None:
        """A round trip succeeded: close the breaker (logging the end of an outage)."""
        if self._open_until is None:  # the common case, without the lock
            return
        with self._lock:
            if self._open_until is None:
                return
            now = self._clock()
            _log.info("database {url} available again after {s:.1f} s ({n} requests refused meanwhile)",
                      url=self._url, s=now - self._since, n=self._refused)
            self._open_until = None
            self._probing = False


def guard_dialect(watchdog: Watchdog, dialect: Any, d: DatabaseDeadlines,
                  breaker: CircuitBreaker | None = None) -> None:
    """Arm the watchdog around each DBAPI round trip this engine's dialect makes.

    A pooled connection's check (pre-ping) that gets no answer opens C{breaker}, so the pool's
    reconnection attempt that follows fails at once (see L{CircuitBreaker.refuses_connect}).
    """
    for name in ("do_execute", "do_executemany", "do_execute_no_params", "do_commit", "do_rollback"):
        setattr(dialect, name, watchdog.wrap(getattr(dialect, name), d.round_trip, name[3:]))
    on_cut = None if breaker is None else (lambda: breaker.failure("no answer within db_connect_timeout"))
    dialect.do_ping = watchdog.wrap(dialect.do_ping, d.connect_timeout, "ping", on_cut)


#: psycopg SQLSTATE classes / pymysql error numbers meaning "the server is not there".
_DOWN_SQLSTATES = ("08", "57P01", "57P02", "57P03")
_DOWN_MYSQL = (2002, 2003, 2006, 2013, 2055)
#: ... and "the statement ran past its deadline" (statement_timeout, max_statement_time).
_SLOW_SQLSTATES = ("57014",)
_SLOW_MYSQL = (1969, 3024)


def unavailability(exc: BaseException) -> str | None:
    """C{"down"} (unreachable), C{"slow"} (past its deadline) or C{None} for a database error."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection within pool_timeout
        return "slow"
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    if exc.connection_invalidated:
        return "down"
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    args = getattr(orig, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None
    if (sqlstate and sqlstate.startswith(_SLOW_SQLSTATES)) or code in _SLOW_MYSQL:
        return "slow"
    if (sqlstate and sqlstate.startswith(_DOWN_SQLSTATES)) or code in _DOWN_MYSQL:
        return "down"
    if isinstance(exc, sa_exc.OperationalError) and sqlstate is None and code is None and not sqlite_busy(orig):
        return "down"  # psycopg: connection failures and lost connections carry no SQLSTATE
    return None


#: SQLITE_BUSY, SQLITE_LOCKED (primary result codes: the low byte of an extended one).
_SQLITE_BUSY_CODES = (5, 6)


def sqlite_busy(orig: BaseException | None) -> bool:
    """Whether C{orig} is SQLite's "database is locked" (busy past the busy timeout, or a table
    locked by another connection): lock contention, retried as a conflict, not an outage."""
    code = getattr(orig, "sqlite_errorcode", None)  # Python 3.11+
    if isinstance(code, int):
        return code & 0xFF in _SQLITE_BUSY_CODES
    text = str(orig).lower()
    return "database is locked" in text or "database table is locked" in text
