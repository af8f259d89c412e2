# -*- test-case-name: tests.store.test_deadlines -*-
"""Engines for kmipd's stores: URL checks, per-dialect connection settings and deadlines, and the
translation of driver errors into L{kmipd.store.interface} errors.

Shared by the store (L{kmipd.store.sql}), migrations, the key ring and rotation, so none of them
imports another to get an engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .deadlines import (
    CircuitBreaker,
    DatabaseDeadlines,
    Watchdog,
    engine_options,
    guard_dialect,
    mysql_on_connect,
    sqlite_busy,
    unavailability,
)
from .interface import ConcurrentUpdateError, DatabaseBusy, DatabaseUnavailable, StoreError

SQLITE_BUSY_TIMEOUT_MS = 30_000


def safe_url(url: str) -> str:
    """C{url} with any password masked, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return "<unparseable database URL>"


#: Watches every round trip of every engine (see L{kmipd.store.deadlines}).
WATCHDOG = Watchdog()


def create_store_engine(url: str, *, pool_size: int = 4, echo: bool = False,
                        deadlines: DatabaseDeadlines | None = None,
                        breaker: CircuitBreaker | None = None) -> Engine:
    """An engine configured for kmipd (SQLite pragmas, READ COMMITTED, pool sizing, deadlines).

    @raise StoreError: the URL is malformed or names a driver that is not installed.
    """
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as e:
        raise StoreError(f"bad database URL {url!r}: {e}") from None
    d = deadlines if deadlines is not None else DatabaseDeadlines()
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {"echo": echo}
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_timeout=d.pool_timeout)
    else:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            isolation_level="READ COMMITTED",
        )
        kwargs.update(engine_options(backend, dict(parsed.query), d))
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (ImportError, sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as e:
        raise StoreError(f"cannot use database URL {safe_url(url)}: {e}") from None
    if backend == "sqlite":
        busy = max(1, int(d.lock_timeout * 1000))
        event.listen(engine, "connect", lambda c, r: _sqlite_on_connect(c, r, busy))
    else:
        if backend in ("mysql", "mariadb"):
            event.listen(engine, "connect", mysql_on_connect(d))
        guard_dialect(WATCHDOG, engine.dialect, d, breaker)
        if breaker is not None:
            event.listen(engine, "do_connect", lambda *_: _refuse_when_open(breaker))
    return engine


def _refuse_when_open(breaker: CircuitBreaker) -> None:
    if breaker.refuses_connect():
        raise DatabaseUnavailable("the database is known to be unavailable; not reconnecting")


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any, busy_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _is_retryable(exc: sa.exc.DBAPIError) -> bool:
    """Deadlock / serialization failure / lock timeout / SQLite busy snapshot (a plain SQLite
    "database is locked" is L{DatabaseBusy} before this is asked)."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in ("40001", "40P01", "55P03"):
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in (1205, 1213):  # MySQL lock timeout, deadlock
        return True
    return sqlite_busy(orig)


@contextmanager
def _db_errors(what: str) -> Iterator[None]:
    """Translate SQLAlchemy errors raised while doing C{what} into L{StoreError}s."""
    try:
        yield
    except (sa.exc.DBAPIError, sa.exc.TimeoutError) as e:
        kind = unavailability(e)
        if kind is not None:
            raise DatabaseUnavailable(f"{what}: database {kind}: {_first_line(e)}") from None
        if not isinstance(e, sa.exc.DBAPIError):
            raise StoreError(f"{what} failed: {e}") from None
        detail = _first_line(e)
        if sqlite_busy(e.orig) and not sqlite_busy_snapshot(e.orig):
            raise DatabaseBusy(f"{what}: the database is locked by another writer ({detail}); retry later") from None
        if _is_retryable(e):
            raise ConcurrentUpdateError(f"{what}: conflicting transaction ({detail}); retry") from None
        raise StoreError(f"{what} failed: {detail}") from None
    except sa.exc.SQLAlchemyError as e:
        raise StoreError(f"{what} failed: {e}") from None


#: SQLITE_BUSY_SNAPSHOT: a WAL read snapshot too old to write; returned at once, not after the
#: busy timeout, so the transaction is worth running again (a conflict).
_SQLITE_BUSY_SNAPSHOT = 517


def sqlite_busy_snapshot(orig: BaseException | None) -> bool:
    """Whether C{orig} is SQLite's SQLITE_BUSY_SNAPSHOT (a conflict, retried), not a lock that was
    waited for."""
    return getattr(orig, "sqlite_errorcode", None) == _SQLITE_BUSY_SNAPSHOT


def _first_line(e: Exception) -> str:
    orig = getattr(e, "orig", None)
    text = str(orig if orig is not None else e).strip()
    return text.splitlines()[0] if text else type(e).__name__
