# -*- test-case-name: tests.operations.test_session -*-
"""Per-message session facts and the node's session state (tickets, defaults, constraints).

Every request message gets a L{MessageSession}: its Server Correlation Value (a fresh uuid4 hex,
sent in every 2.x response header and logged with the request), the client's Client Correlation
Value, whether its items may be asynchronous, and, when it was authenticated with a delegated
ticket, the Rights that bound it. L{NodeState} is what one kmipd node keeps between messages:

 - L{AsyncWork} (pending asynchronous items, L{kmipd.asynchronous});
 - L{TicketBook}: tickets from Login / Delegated Login, usable as the request header's
   Authentication (Credential Type Ticket), with a bounded lifetime, Request Count and Usage
   Limits (L{kmipd.auth.tickets}); kept in the SQL store's database when there is one, so every
   node and worker process on it knows them (L{kmipd.store.tickets});
 - the Object Defaults of Set Defaults and the Constraints of Set Constraints, likewise in the
   SQL store's database when there is one (L{kmipd.store.node_state}), read and written in the
   request's transaction: both at once, the first time a batch item needs either (a Create
   needs both), kept for the rest of that item only (L{NodeState.run_item}).

Pending work is in memory and per node: a restart forgets it, and nodes sharing one database do
not share it (docs/operations.md). With the memory store everything is in this process.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .asynchronous import AsyncWork, Pending
from .auth.tickets import (
    DEFAULT_TICKET_LIFETIME,
    MAX_TICKET_LIFETIME,
    USES,
    InvalidTicket,
    Right,
    Ticket,
    TicketBook,
    read_rights,
    read_ticket,
    ticket_credential,
    ticket_item,
)
from .errors import GeneralFailure
from .spec import ObjectType, Tag, enum_value_in_version
from .store.interface import ConcurrentUpdateError
from .ttlv import Item

if TYPE_CHECKING:
    from .context import RequestContext

#: Attempts of a deferred item's own transaction on concurrent-update conflicts.
JOB_RETRIES = 3


@dataclass
class MessageSession:
    """What one request message carries beyond its items."""

    node: NodeState
    correlation: str
    client_correlation: str | None = None
    asynchronous: bool = False
    mandatory: bool = False
    ticket: Ticket | None = None  # the ticket that authenticated the message
    deferred: list[bytes] = field(default_factory=list)  # jobs held until the message is answered
    server_hashed_password: bytes | None = None  # a verified Hashed Password credential's answer

    @property
    def rights(self) -> tuple[Right, ...] | None:
        """The Rights of the delegated ticket that authenticated the message (C{None}: not delegated)."""
        return self.ticket.rights if self.ticket is not None else None


@dataclass
class NodeState:
    """What this node keeps between request messages (in memory; see the module docstring).

    @ivar store: the object store (asynchronous jobs open their own transactions on it); the
        dispatcher fills it in.
    @ivar interop_enabled: whether the Interop operation is offered (2.1 6.1.26: it SHALL NOT
        be available in a production server; C{twistd kmip} turns it off).
    """

    seconds: Callable[[], float] = time.time
    start: Callable[[Callable[[], None]], Any] | None = None
    store: Any = None
    jobs: AsyncWork = field(init=False)
    _tickets: TicketBook | None = field(init=False, default=None)
    _settings: Any = field(init=False, default=False)  # False: not chosen yet
    defaults: dict[int, list[Item]] = field(default_factory=dict)
    constraints: list[Item] = field(default_factory=list)
    interop: str | None = None
    interop_enabled: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Per thread: the transaction of the batch item running and the settings it read in it.
    _item: threading.local = field(init=False, default_factory=threading.local)

    def __post_init__(self) -> None:
        self.jobs = AsyncWork(start=self.start, seconds=self.seconds)

    def _shared_engine(self) -> Any:
        return shared_engine(self.store)

    @property
    def tickets(self) -> TicketBook:
        """The node's L{TicketBook}: in the SQL store's database when there is one (shared by every
        node and worker on it, L{kmipd.store.tickets}), else in this process's memory."""
        with self.lock:
            if self._tickets is None:
                backend = None
                engine = self._shared_engine()
                if engine is not None:
                    from .store.tickets import SQLTickets

                    backend = SQLTickets(self.store)
                self._tickets = TicketBook(self.seconds, backend)
            return self._tickets

    @property
    def settings(self) -> Any:
        """Where Object Defaults and Constraints live: L{kmipd.store.node_state.SQLNodeSettings}
        on the SQL store's database, or C{None}: L{defaults} and L{constraints} in memory."""
        with self.lock:
            if self._settings is False:
                engine = self._shared_engine()
                if engine is not None:
                    from .store.node_state import SQLNodeSettings

                    self._settings = SQLNodeSettings(self.store)
                else:
                    self._settings = None
            return self._settings

    # Per message --------------------------------------------------------------------------

    def open(self, request: Any, caller: Any) -> tuple[MessageSession, Any]:
        """The session of a parsed request, and its caller once a Ticket credential is applied.

        @raise AuthenticationNotSuccessful: a Ticket credential that does not verify.
        """
        session = MessageSession(self, new_correlation(), getattr(request, "client_correlation", None),
                                 bool(request.asynchronous), bool(request.asynchronous_mandatory))
        ticket = ticket_credential(request.authentication)
        if ticket is not None:
            found = self.tickets.use(ticket, caller.identity)
            session.ticket = found
            if found.rights is not None:
                caller = replace(caller, identity=found.identity, groups=found.groups)
        return session, caller

    # Per batch item -----------------------------------------------------------------------

    def run_item(self, ctx: RequestContext, operation: int | None, payload: Item,
                 handler: Callable[[RequestContext, Item], Item | None]) -> Item | None:
        """Run one batch item: delegated Rights checked, deferred when asynchronous, else C{handler}.

        Object Defaults and Constraints read in the item's transaction are kept until it ends
        (L{_shared_settings}).

        @raise Pending: the item was deferred (answer Pending with its correlation value).
        """
        item = self._item
        item.tx, item.settings = ctx.store, None
        try:
            return self._run_item(ctx, operation, payload, handler)
        finally:
            item.tx = item.settings = None

    def _run_item(self, ctx: RequestContext, operation: int | None, payload: Item,
                  handler: Callable[[RequestContext, Item], Item | None]) -> Item | None:
        session = ctx.session
        if session is None or operation is None:
            return handler(ctx, payload)
        ticket = session.ticket
        if ticket is not None and (ticket.rights is not None or USES in ticket.limited):
            self.tickets.authorize(ctx, ticket, operation, payload)
        if session.asynchronous and self.jobs.wants(operation, payload, session.mandatory):
            job_ctx = replace(ctx, session=replace(session, asynchronous=False, mandatory=False,
                                                   ticket=None, deferred=[]))

            def run(tx: Any) -> Item | None:
                if tx is not None:
                    return handler(replace(job_ctx, store=tx, now=int(self.seconds())), payload)
                return self._in_transaction(handler, job_ctx, payload)

            correlation = self.jobs.submit(operation, ctx.identity, run, mandatory=session.mandatory, hold=True)
            if correlation is not None:
                session.deferred.append(correlation)
                raise Pending(correlation)
        return handler(ctx, payload)

    def _in_transaction(self, handler: Callable[[RequestContext, Item], Item | None],
                        ctx: RequestContext, payload: Item) -> Item | None:
        """Run a deferred item in a transaction of its own, retried on concurrent-update conflicts
        as the dispatcher retries a message."""
        for attempt in range(JOB_RETRIES):
            try:
                with self.store.transaction() as own:
                    return handler(replace(ctx, store=own, now=int(self.seconds())), payload)
            except ConcurrentUpdateError:
                if attempt == JOB_RETRIES - 1:
                    raise GeneralFailure("concurrent update conflict; retry") from None
        raise AssertionError("unreachable")

    def settle(self, session: MessageSession, results: list[Any]) -> None:
        """Once a message is answered: start its deferred items still reported Pending, and drop
        those its answer does not report (Undo, a failed commit, a retried transaction)."""
        if not session.deferred:  # the usual message: nothing was deferred
            return
        pending = {r.correlation for r in results if r.correlation is not None}
        for correlation in session.deferred:
            if correlation in pending:
                self.jobs.release(correlation)
            else:
                self.jobs.discard(correlation)
        session.deferred.clear()

    # Set Defaults, Set Constraints --------------------------------------------------------

    def defaults_for(self, object_type: int, tx: Any = None) -> list[Item]:
        """The Object Defaults attributes Set Defaults gave C{object_type} (copies), read in the
        request's transaction C{tx} when they are in the database."""
        shared = self.settings
        if shared is None:
            with self.lock:
                return [a.copy() for a in self.defaults.get(int(object_type), [])]
        info = self._shared_settings(shared, tx).get("defaults")
        for entry in info.findall(Tag.OBJECT_DEFAULTS) if info is not None else []:
            if entry.get(Tag.OBJECT_TYPE) == int(object_type):
                attributes = entry.find(Tag.ATTRIBUTES)
                return [a.copy() for a in attributes.value] if attributes is not None else []
        return []

    def _shared_settings(self, shared: Any, tx: Any) -> dict[str, Item]:
        """The settings in the database as read in C{tx}: read once per batch item (when C{tx} is
        the running item's; see L{run_item}), else on every call."""
        item = self._item
        if tx is None or getattr(item, "tx", None) is not tx:
            return shared.read(tx)
        if item.settings is None:
            item.settings = shared.read(tx)
        return item.settings

    def _wrote_setting(self, tx: Any) -> None:
        """Forget the item's settings read in C{tx} after it wrote one (a later read sees the write)."""
        item = self._item
        if getattr(item, "tx", None) is tx:
            item.settings = None

    def set_defaults(self, defaults: dict[int, list[Item]], tx: Any = None) -> None:
        """Replace the Object Defaults (in the request's transaction C{tx} when in the database)."""
        shared = self.settings
        if shared is None:
            with self.lock:
                self.defaults = defaults
            return
        shared.write(tx, "defaults", Item.struct(Tag.DEFAULTS_INFORMATION, [
            Item.struct(Tag.OBJECT_DEFAULTS, [Item.enum(Tag.OBJECT_TYPE, object_type),
                                              Item.struct(Tag.ATTRIBUTES, [a.copy() for a in attrs])])
            for object_type, attrs in sorted(defaults.items())]))
        self._wrote_setting(tx)

    def constraints_in(self, tx: Any = None) -> list[Item]:
        """The Constraints of Set Constraints (copies), read in C{tx} when in the database."""
        shared = self.settings
        if shared is None:
            with self.lock:
                return [c.copy() for c in self.constraints]
        item = self._shared_settings(shared, tx).get("constraints")
        return [c.copy() for c in item.value] if item is not None else []

    def set_constraints(self, constraints: list[Item], tx: Any = None) -> None:
        """Replace the Constraints (in the request's transaction C{tx} when in the database)."""
        shared = self.settings
        if shared is None:
            with self.lock:
                self.constraints = constraints
            return
        shared.write(tx, "constraints", Item.struct(Tag.CONSTRAINTS, [c.copy() for c in constraints]))
        self._wrote_setting(tx)


def shared_engine(store: Any) -> Any:
    """The SQL store's engine when node state is kept in its database, else C{None} (the memory
    store; an in-memory SQLite, which is one connection's)."""
    engine = getattr(store, "engine", None)
    if engine is not None and engine.url.database not in (None, "", ":memory:"):
        return engine
    return None


def shared_replay_guard(store: Any) -> Any:
    """The Hashed Password replay check in the SQL store's database (every node shares it), or
    C{None} for a store without one (the check then stays in the process)."""
    engine = shared_engine(store)
    if engine is None:
        return None
    from .store.node_state import SQLReplayGuard

    return SQLReplayGuard(store)


def node_of(ctx: RequestContext) -> NodeState:
    """The node state behind C{ctx} (every dispatched item has one)."""
    if ctx.session is None:
        raise GeneralFailure("no session state for this request")
    return ctx.session.node


def new_correlation() -> str:
    """A globally unique Server Correlation Value: the hex of a random (version 4) UUID.

    The same values as C{uuid.uuid4().hex}, without building a C{UUID} object (a third of the cost).
    """
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    return raw.hex()


def check_object_type(value: Any, version: tuple[int, int]) -> int:
    """An Object Type enumeration value; L{InvalidObjectType} if it is not one."""
    from .errors import InvalidObjectType

    if not isinstance(value, int) or not enum_value_in_version(ObjectType, value, version):
        raise InvalidObjectType(f"Object Type {value!r} is not defined")
    return value


__all__ = ["DEFAULT_TICKET_LIFETIME", "MAX_TICKET_LIFETIME", "InvalidTicket", "MessageSession", "NodeState",
           "Pending", "Right", "Ticket", "TicketBook", "new_correlation", "node_of", "read_rights",
           "read_ticket", "ticket_item"]
