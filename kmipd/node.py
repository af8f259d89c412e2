# -*- test-case-name: tests.operations.test_session -*-
"""Per-message session facts and the node's session state (tickets, defaults, constraints).

Every request message gets a L{MessageSession}: its Server Correlation Value (a fresh uuid4 hex,
sent in every 2.x response header and logged with the request), the client's Client Correlation
Value, whether its items may be asynchronous, and, when it was authenticated with a delegated
ticket, the Rights that bound it. L{NodeState} is what one kmipd node keeps between messages:

 - L{AsyncWork} (pending asynchronous items, L{kmipd.asynchronous});
 - L{TicketBook}: tickets from Login / Delegated Login, usable as the request header's
   Authentication (Credential Type Ticket), with a bounded lifetime and request count;
 - the Object Defaults of Set Defaults and the Constraints of Set Constraints.

All of it is in memory and per node: a restart forgets tickets, pending work, defaults and
constraints, and nodes sharing one database do not share them (docs/operations.md).
"""

from __future__ import annotations

import hmac
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .asynchronous import AsyncWork, Pending
from .errors import (
    AuthenticationNotSuccessful,
    FeatureNotSupported,
    GeneralFailure,
    InvalidField,
    KmipError,
    PermissionDenied,
)
from .spec import CredentialType, ObjectType, Tag, TicketType, enum_value_in_version
from .store.interface import ConcurrentUpdateError
from .ttlv import Item, ItemType

if TYPE_CHECKING:
    from .context import RequestContext

#: Longest ticket lifetime (seconds), and the lifetime when Login names none.
MAX_TICKET_LIFETIME = 8 * 3600
DEFAULT_TICKET_LIFETIME = 3600
#: Most live tickets per node (the oldest are forgotten first).
MAX_TICKETS = 4096
#: Attempts of a deferred item's own transaction on concurrent-update conflicts.
JOB_RETRIES = 3


class InvalidTicket(KmipError):
    """Logout of a ticket kmipd did not issue to the caller (2.x Invalid Ticket)."""

    reason = 0x19


@dataclass(frozen=True)
class Right:
    """One Right of a delegated ticket: what it allows (C{None}: unrestricted)."""

    operations: frozenset[int] | None = None
    objects: frozenset[str] | None = None
    groups: frozenset[str] | None = None


@dataclass
class Ticket:
    """A ticket kmipd issued."""

    value: bytes
    identity: str | None
    groups: tuple[str, ...] | None
    expires: float
    requests_left: int | None
    rights: tuple[Right, ...] | None = None  # set for Delegated Login tickets


class TicketBook:
    """Tickets of this node (thread-safe)."""

    def __init__(self, seconds: Callable[[], float] = time.time, max_tickets: int = MAX_TICKETS) -> None:
        self.seconds = seconds
        self.max_tickets = max_tickets
        self._tickets: dict[bytes, Ticket] = {}
        self._lock = threading.Lock()

    def issue(self, identity: str | None, groups: tuple[str, ...] | None, lifetime: float,
              requests: int | None, rights: tuple[Right, ...] | None = None) -> Ticket:
        """A new ticket for C{identity}, valid C{lifetime} seconds (capped) and C{requests} uses."""
        now = self.seconds()
        ticket = Ticket(os.urandom(32), identity, groups, now + min(lifetime, MAX_TICKET_LIFETIME), requests,
                        rights)
        with self._lock:
            self._expire(now)
            while len(self._tickets) >= self.max_tickets:
                del self._tickets[next(iter(self._tickets))]
            self._tickets[ticket.value] = ticket
        return ticket

    def use(self, value: bytes, identity: str | None) -> Ticket:
        """The ticket C{value} presented by C{identity}, one request counted.

        A Login ticket is bound to the identity it was issued to; a delegated ticket may be
        presented by any authenticated client and acts as its issuer, within its Rights.
        @raise AuthenticationNotSuccessful: unknown, expired, used up, or another client's.
        """
        now = self.seconds()
        with self._lock:
            self._expire(now)
            ticket = self._lookup(value)
            if ticket is None:
                raise AuthenticationNotSuccessful("unknown or expired ticket")
            if ticket.rights is None and ticket.identity != identity:
                raise AuthenticationNotSuccessful("the ticket was issued to another client")
            if ticket.requests_left is not None:
                if ticket.requests_left <= 0:
                    del self._tickets[ticket.value]
                    raise AuthenticationNotSuccessful("the ticket's request count is used up")
                ticket.requests_left -= 1
            return ticket

    def revoke(self, value: bytes, identity: str | None) -> None:
        """Logout: invalidate a ticket issued to C{identity}; L{InvalidTicket} otherwise."""
        with self._lock:
            self._expire(self.seconds())
            ticket = self._lookup(value)
            if ticket is None or ticket.identity != identity:
                raise InvalidTicket("no such ticket issued to this client")
            del self._tickets[ticket.value]

    def _lookup(self, value: bytes) -> Ticket | None:
        for key, ticket in self._tickets.items():
            if hmac.compare_digest(key, value):
                return ticket
        return None

    def _expire(self, now: float) -> None:
        for key in [k for k, t in self._tickets.items() if t.expires <= now]:
            del self._tickets[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._tickets)


def ticket_item(ticket: Ticket) -> Item:
    """The Ticket structure sent to the client."""
    return Item.struct(Tag.TICKET, [Item.enum(Tag.TICKET_TYPE, TicketType.LOGIN),
                                    Item.bytes(Tag.TICKET_VALUE, ticket.value)])


def read_ticket(item: Item | None) -> bytes:
    """The Ticket Value of a Ticket structure; L{InvalidField} if malformed."""
    if item is None or item.type != ItemType.STRUCTURE:
        raise InvalidField("a Ticket structure is required")
    if item.get(Tag.TICKET_TYPE) != TicketType.LOGIN:
        raise InvalidField("unknown Ticket Type")
    value = item.find(Tag.TICKET_VALUE)
    if value is None or value.type != ItemType.BYTE_STRING:
        raise InvalidField("Ticket Value must be a Byte String")
    return value.value


@dataclass
class MessageSession:
    """What one request message carries beyond its items."""

    node: NodeState
    correlation: str
    client_correlation: str | None = None
    asynchronous: bool = False
    mandatory: bool = False
    rights: tuple[Right, ...] | None = None
    deferred: list[bytes] = field(default_factory=list)  # jobs held until the message is answered
    server_hashed_password: bytes | None = None  # a verified Hashed Password credential's answer


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
    tickets: TicketBook = field(init=False)
    defaults: dict[int, list[Item]] = field(default_factory=dict)
    constraints: list[Item] = field(default_factory=list)
    interop: str | None = None
    interop_enabled: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.jobs = AsyncWork(start=self.start, seconds=self.seconds)
        self.tickets = TicketBook(self.seconds)

    # Per message --------------------------------------------------------------------------

    def open(self, request: Any, caller: Any) -> tuple[MessageSession, Any]:
        """The session of a parsed request, and its caller once a Ticket credential is applied.

        @raise AuthenticationNotSuccessful: a Ticket credential that does not verify.
        """
        session = MessageSession(self, new_correlation(), getattr(request, "client_correlation", None),
                                 bool(request.asynchronous), bool(request.asynchronous_mandatory))
        ticket = _ticket_credential(request.authentication)
        if ticket is not None:
            found = self.tickets.use(ticket, caller.identity)
            if found.rights is not None:
                session.rights = found.rights
                caller = replace(caller, identity=found.identity, groups=found.groups)
        return session, caller

    # Per batch item -----------------------------------------------------------------------

    def run_item(self, ctx: RequestContext, operation: int | None, payload: Item,
                 handler: Callable[[RequestContext, Item], Item | None]) -> Item | None:
        """Run one batch item: delegated Rights checked, deferred when asynchronous, else C{handler}.

        @raise Pending: the item was deferred (answer Pending with its correlation value).
        """
        session = ctx.session
        if session is None or operation is None:
            return handler(ctx, payload)
        if session.rights is not None:
            check_rights(ctx, session.rights, operation, payload)
        if session.asynchronous and self.jobs.wants(operation, payload, session.mandatory):
            job_ctx = replace(ctx, session=replace(session, asynchronous=False, mandatory=False, rights=None,
                                                   deferred=[]))

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
        pending = {r.correlation for r in results if r.correlation is not None}
        for correlation in session.deferred:
            if correlation in pending:
                self.jobs.release(correlation)
            else:
                self.jobs.discard(correlation)
        session.deferred.clear()

    # Set Defaults -------------------------------------------------------------------------

    def defaults_for(self, object_type: int) -> list[Item]:
        """The Object Defaults attributes Set Defaults gave C{object_type} (copies)."""
        with self.lock:
            return [a.copy() for a in self.defaults.get(int(object_type), [])]


def node_of(ctx: RequestContext) -> NodeState:
    """The node state behind C{ctx} (every dispatched item has one)."""
    if ctx.session is None:
        raise GeneralFailure("no session state for this request")
    return ctx.session.node


def new_correlation() -> str:
    """A globally unique Server Correlation Value."""
    return uuid.uuid4().hex


def _ticket_credential(authentication: Item | None) -> bytes | None:
    """The Ticket Value of the header's Ticket credential, if any."""
    if authentication is None:
        return None
    for credential in authentication.findall(Tag.CREDENTIAL):
        if credential.get(Tag.CREDENTIAL_TYPE) != CredentialType.TICKET:
            continue
        value = credential.find(Tag.CREDENTIAL_VALUE)
        try:
            return read_ticket(value.find(Tag.TICKET) if value is not None else None)
        except InvalidField as e:
            raise AuthenticationNotSuccessful(e.message) from None
    return None


def check_rights(ctx: RequestContext, rights: tuple[Right, ...], operation: int, payload: Item | None) -> None:
    """L{PermissionDenied} unless one Right allows C{operation} on the object the item names."""
    uid = payload.get(Tag.UNIQUE_IDENTIFIER) if payload is not None else None
    if uid is None:
        uid = ctx.id_placeholder
    for right in rights:
        if right.operations is not None and operation not in right.operations:
            continue
        if right.objects is not None and uid not in right.objects:
            continue
        if right.groups is not None:
            obj = ctx.store.get(uid) if isinstance(uid, str) else None
            groups = {g.value for g in obj.live("Object Group")} if obj is not None else set()
            if not groups & right.groups:
                continue
        return
    raise PermissionDenied("the delegated ticket's Rights do not allow this operation")


def read_rights(payload: Item) -> tuple[Right, ...]:
    """The Rights of a Delegated Login request; L{InvalidField} / L{FeatureNotSupported} if unusable."""
    rights_item = payload.find(Tag.RIGHTS)
    if rights_item is None or rights_item.type != ItemType.STRUCTURE:
        raise InvalidField("Delegated Login needs Rights")
    out = []
    for right in rights_item.findall(Tag.RIGHT):
        if right.find(Tag.USAGE_LIMITS) is not None:
            raise FeatureNotSupported("Usage Limits in a Right are not supported")
        out.append(Right(_set(right, Tag.OPERATIONS, Tag.OPERATION, int),
                         _set(right, Tag.OBJECTS, Tag.UNIQUE_IDENTIFIER, str),
                         _set(right, Tag.OBJECT_GROUPS, Tag.OBJECT_GROUP, str)))
    if not out:
        raise InvalidField("Rights must contain at least one Right")
    return tuple(out)


def _set(right: Item, outer: int, inner: int, kind: type) -> frozenset | None:
    container = right.find(outer)
    if container is None:
        return None
    values = [c.value for c in container.findall(inner)]
    if not all(isinstance(v, kind) for v in values):
        raise InvalidField(f"malformed {Tag(outer).name.title()} in a Right")
    return frozenset(values)


def check_object_type(value: Any, version: tuple[int, int]) -> int:
    """An Object Type enumeration value; L{InvalidObjectType} if it is not one."""
    from .errors import InvalidObjectType

    if not isinstance(value, int) or not enum_value_in_version(ObjectType, value, version):
        raise InvalidObjectType(f"Object Type {value!r} is not defined")
    return value


__all__ = ["DEFAULT_TICKET_LIFETIME", "MAX_TICKET_LIFETIME", "InvalidTicket", "MessageSession", "NodeState",
           "Pending", "Right", "Ticket", "TicketBook", "check_rights", "new_correlation", "node_of", "read_rights",
           "read_ticket", "ticket_item"]
