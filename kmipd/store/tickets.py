# -*- test-case-name: tests.test_tickets_shared -*-
"""Login / Delegated Login tickets in the SQL store's database, shared by every node and worker
process on it (L{kmipd.auth.tickets} describes tickets; this is their L{TicketBackend}).

C{kmipd_tickets}: one row per live ticket, keyed by the hex SHA-256 of the ticket value (the
bearer value itself is never stored), with the identity it was issued to, its groups and Rights
(JSON), and its expiry (milliseconds since the epoch). C{kmipd_ticket_limits}: its counters (Request
Count, Usage Limits, each Right's Usage Limits), one row per slot, decremented with one guarded
C{UPDATE ... WHERE remaining > 0}, so concurrent requests on several nodes never overspend.

Issue, Logout and usage counts run in the request's transaction (L{SQLTickets} takes it as C{tx});
a presented ticket is read, and its Request Count taken, in short transactions of their own (before
the request's), opened by L{own_transaction} through the store itself, so its circuit breaker and
deadlines apply as to any request. Expired rows are deleted by the issuing node, at most once a minute.

The tables join the store's schema metadata when this module is imported (the migrations package
imports it), and revision C{0003_node_state} creates them.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from ..auth.tickets import Right, Ticket
from ..errors import GeneralFailure, KmipError, PermissionDenied
from ..log import Logger
from .interface import ConcurrentUpdateError, StoreError
from .models import metadata

__all__ = ["MAX_OWNER", "OWN_ATTEMPTS", "PURGE_INTERVAL", "SQLTickets", "in_transaction", "own_transaction",
           "ticket_limits_table", "tickets_table"]

_T = TypeVar("_T")

_log = Logger()

#: Seconds between two deletions of expired tickets by one node.
PURGE_INTERVAL = 60.0
#: Most live tickets of one identity: a further Login forgets that identity's oldest (soonest to
#: expire) ticket, so no client can grow the table without bound or push out another's tickets.
MAX_TICKETS_PER_OWNER = 256
#: Longest identity (characters) a ticket records: a longer one cannot Login (Permission Denied).
MAX_OWNER = 1024
#: Attempts of a short transaction of our own that meets concurrent-update conflicts (SQLite's
#: write lock held by another process), as the processor retries a message.
OWN_ATTEMPTS = 3

tickets_table = sa.Table(
    "kmipd_tickets",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(MAX_OWNER), nullable=True),
    sa.Column("owner_key", sa.String(64), nullable=False),
    sa.Column("group_names", sa.Text, nullable=True),
    sa.Column("rights", sa.Text, nullable=True),
    sa.Column("expires", sa.BigInteger, nullable=False),
    sa.Index("ix_kmipd_tickets_expires", "expires"),
    sa.Index("ix_kmipd_tickets_owner", "owner_key", "expires"),
)

ticket_limits_table = sa.Table(
    "kmipd_ticket_limits",
    metadata,
    sa.Column("digest", sa.String(64),
              sa.ForeignKey("kmipd_tickets.digest", ondelete="CASCADE", name="fk_kmipd_ticket_limits_ticket"),
              primary_key=True),
    sa.Column("slot", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("remaining", sa.BigInteger, nullable=False),
)


def in_transaction(tx: Any) -> bool:
    """Whether C{tx} is a SQL store transaction we can run statements in (not the memory store's,
    nor the stand-in of a store-free message, which refuses every attribute)."""
    return tx is not None and callable(getattr(type(tx), "execute", None))


def own_transaction(store: Any, what: str, work: Callable[[Any], _T]) -> _T:
    """C{work(tx)} in a short transaction of the store's own (L{kmipd.store.sql.SQLStore.transaction}:
    its circuit breaker and deadlines apply), retried on concurrent-update conflicts.

    An unreachable database raises the store's L{kmipd.store.interface.DatabaseUnavailable} (a
    L{kmipd.errors.StoreUnavailable}: General Failure, retry; the processor logs it at most once a
    second); conflicts every time, or another storage failure, raise L{GeneralFailure}.
    """
    for attempt in range(OWN_ATTEMPTS):
        try:
            with store.transaction() as tx:
                return work(tx)
        except KmipError:
            raise
        except ConcurrentUpdateError:
            if attempt == OWN_ATTEMPTS - 1:
                raise GeneralFailure(f"{what}: concurrent update conflict; retry") from None
        except StoreError as e:
            _log.error("{what} failed: {error}", what=what, error=str(e))  # the detail stays in the log
            raise GeneralFailure(f"{what} failed; retry") from None
    raise AssertionError("unreachable")


def _owner_key(identity: str | None) -> str:
    """An indexable key of an identity (identities may be longer than an index allows)."""
    return "" if identity is None else hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _rights_json(rights: tuple[Right, ...] | None) -> str | None:
    if rights is None:
        return None
    return json.dumps([{"operations": sorted(r.operations) if r.operations is not None else None,
                        "objects": sorted(r.objects) if r.objects is not None else None,
                        "groups": sorted(r.groups) if r.groups is not None else None,
                        "uses": r.uses} for r in rights])


def _rights(text: str | None) -> tuple[Right, ...] | None:
    if text is None:
        return None
    return tuple(Right(frozenset(r["operations"]) if r["operations"] is not None else None,
                       frozenset(r["objects"]) if r["objects"] is not None else None,
                       frozenset(r["groups"]) if r["groups"] is not None else None,
                       r["uses"]) for r in json.loads(text))


class SQLTickets:
    """A L{kmipd.auth.tickets.TicketBackend} in the SQL store's database (thread-safe)."""

    def __init__(self, store: Any, purge_interval: float = PURGE_INTERVAL,
                 max_per_owner: int = MAX_TICKETS_PER_OWNER) -> None:
        self.store = store
        self.engine = store.engine
        self.purge_interval = purge_interval
        self.max_per_owner = max_per_owner
        self._purged = float("-inf")
        self._lock = threading.Lock()

    # Transactions ---------------------------------------------------------------------------

    def _run(self, tx: Any, statement: Any, parameters: Any = None, *, read: bool = False) -> Any:
        """C{statement} in the request's transaction C{tx}, or in one of our own; with C{read},
        its rows (a list)."""
        def run(own: Any) -> Any:
            result = own.execute(statement, parameters, write=not read)
            return result.all() if read else result

        if in_transaction(tx):
            return run(tx)
        return own_transaction(self.store, "reading tickets" if read else "updating a ticket", run)

    # TicketBackend ------------------------------------------------------------------------

    def add(self, tx: Any, ticket: Ticket, limits: dict[int, int], now: float) -> None:
        """Insert C{ticket} (and delete expired tickets, at most once per C{purge_interval});
        L{PermissionDenied} for an identity longer than the C{owner} column."""
        if ticket.identity is not None and len(ticket.identity) > MAX_OWNER:
            raise PermissionDenied(f"a ticket cannot be issued to an identity longer than {MAX_OWNER} characters")
        with self._lock:
            purge = now - self._purged >= self.purge_interval
            if purge:
                self._purged = now
        if purge:
            self.purge(tx, now)
        self._make_room(tx, ticket.identity, now)
        digest = ticket.digest.hex()
        self._run(tx, tickets_table.insert().values(
            digest=digest, owner=ticket.identity, owner_key=_owner_key(ticket.identity),
            group_names=json.dumps(list(ticket.groups)) if ticket.groups is not None else None,
            rights=_rights_json(ticket.rights), expires=_ms(ticket.expires)))
        if limits:
            self._run(tx, ticket_limits_table.insert(),
                      [{"digest": digest, "slot": slot, "remaining": left} for slot, left in sorted(limits.items())])

    def _make_room(self, tx: Any, identity: str | None, now: float) -> None:
        """Forget C{identity}'s soonest-expiring live tickets beyond C{max_per_owner} - 1."""
        t = tickets_table
        mine = sa.and_(t.c.owner_key == _owner_key(identity), t.c.expires > _ms(now))
        rows = [row[0] for row in self._run(tx, sa.select(t.c.digest).where(mine)
                                            .order_by(t.c.expires.desc(), t.c.digest)
                                            .offset(self.max_per_owner - 1), read=True)]
        if rows:
            self._run(tx, ticket_limits_table.delete().where(ticket_limits_table.c.digest.in_(rows)))
            self._run(tx, t.delete().where(t.c.digest.in_(rows)))

    def purge(self, tx: Any, now: float) -> None:
        """Delete every ticket expired at C{now}."""
        expired = sa.select(tickets_table.c.digest).where(tickets_table.c.expires <= _ms(now))
        self._run(tx, ticket_limits_table.delete().where(ticket_limits_table.c.digest.in_(expired)))
        self._run(tx, tickets_table.delete().where(tickets_table.c.expires <= _ms(now)))

    def find(self, digest: bytes, now: float) -> Ticket | None:
        """The live ticket with C{digest} (one indexed read; the digest is the key)."""
        t, lim = tickets_table, ticket_limits_table

        def read(tx: Any) -> tuple[Any, list[int]]:
            row = tx.execute(sa.select(t).where(t.c.digest == digest.hex(), t.c.expires > _ms(now)),
                             write=False).first()
            if row is None:
                return None, []
            return row, list(tx.execute(sa.select(lim.c.slot).where(lim.c.digest == digest.hex()),
                                        write=False).scalars().all())

        row, slots = own_transaction(self.store, "reading a ticket", read)
        if row is None:
            return None
        groups = tuple(json.loads(row.group_names)) if row.group_names is not None else None
        return Ticket(digest, row.owner, groups, row.expires / 1000, _rights(row.rights), frozenset(slots))

    def take(self, tx: Any, digest: bytes, slot: int) -> bool:
        """Take one unit of C{slot}, if one is left (one guarded UPDATE)."""
        lim = ticket_limits_table
        result = self._run(tx, lim.update().where(lim.c.digest == digest.hex(), lim.c.slot == slot,
                                                  lim.c.remaining > 0).values(remaining=lim.c.remaining - 1))
        return bool(result.rowcount == 1)

    def give(self, tx: Any, digest: bytes, slot: int) -> None:
        """Give back a unit taken in the same transaction."""
        lim = ticket_limits_table
        self._run(tx, lim.update().where(lim.c.digest == digest.hex(), lim.c.slot == slot)
                  .values(remaining=lim.c.remaining + 1))

    def remove(self, tx: Any, digest: bytes, identity: str | None, now: float) -> bool:
        """Delete the ticket C{digest} if it was issued to C{identity} and is live at C{now}."""
        t = tickets_table
        owner = t.c.owner.is_(None) if identity is None else t.c.owner == identity
        if self._run(tx, t.delete().where(t.c.digest == digest.hex(), owner, t.c.expires > _ms(now))).rowcount != 1:
            return False
        self._run(tx, ticket_limits_table.delete().where(ticket_limits_table.c.digest == digest.hex()))
        return True

    def __len__(self) -> int:
        return int(own_transaction(self.store, "counting tickets", lambda tx: tx.execute(
            sa.select(sa.func.count()).select_from(tickets_table), write=False).scalar_one()))
