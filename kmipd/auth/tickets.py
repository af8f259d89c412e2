# -*- test-case-name: tests.test_tickets -*-
"""Tickets of Login and Delegated Login (KMIP 2.x 6.1.30, 6.1.12), usable as the request header's
Authentication (Credential Type Ticket).

A ticket is 32 random bytes given to the client once; kmipd keeps only its SHA-256 digest, the
identity (and groups) it was issued to, its expiry, its Rights (Delegated Login) and its counters:

 - Request Count: the request messages it may authenticate (counted when a message presents it;
   used up: the message is refused with I{Usage Limit Exceeded}, 2.1 Table 424's "the usage
   limits or request count has been exceeded"; 1.x has no tickets);
 - Usage Limits (Login or Delegated Login payload): the operations (batch items) it may perform;
 - a Right's Usage Limits: the operations that Right may allow.

Usage Limits count operations: the Usage Limits Unit must be Object (one unit per batch item);
Byte is refused with I{Feature Not Supported} (what a byte of a ticket's use would be is not
defined). As with the Usage Limits attribute when an object is created (2.1 4.59), the allowance
starts at Usage Limits Total and the request's Usage Limits Count is not used. An operation a
Right allows takes a unit from the first Right that allows it and has units left (a Right without
Usage Limits is unlimited); when the Rights that allow it are all used up the item fails with
I{Usage Limit Exceeded}, when none allows it with I{Permission Denied}.

Where the tickets live is the backend's business: L{MemoryTickets} (one process, the memory
object store) or L{kmipd.store.tickets.SQLTickets} (the SQL store's database: shared by every
node and worker process on it). A SQL backend writes issue, Logout and usage counts in the
request's own transaction (an operation that is undone gives its unit back) and checks a
presented ticket and its Request Count in a short transaction of its own.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import (
    AuthenticationNotSuccessful,
    FeatureNotSupported,
    InvalidField,
    KmipError,
    PermissionDenied,
    UsageLimitExceeded,
)
from ..spec import CredentialType, Operation, Tag, TicketType
from ..ttlv import Item, ItemType

if TYPE_CHECKING:
    from ..context import RequestContext

#: Longest ticket lifetime (seconds), and the lifetime when Login names none.
MAX_TICKET_LIFETIME = 8 * 3600
DEFAULT_TICKET_LIFETIME = 3600
#: Most live tickets kept by L{MemoryTickets} (the oldest are forgotten first).
MAX_TICKETS = 4096
#: Counter slots: the Request Count, the ticket's Usage Limits, then one per Right (2 + index).
REQUESTS = 0
USES = 1
_FIRST_RIGHT = 2
#: Operation values a Right may name: the defined ones and extensions (8XXXXXXX, 2.1 11.36).
_OPERATIONS = frozenset(int(op) for op in Operation)
_EXTENSIONS = 0x80000000
#: Usage Limits Unit values (2.1 11.60).
UNIT_BYTE = 1
UNIT_OBJECT = 2


class InvalidTicket(KmipError):
    """Logout of a ticket kmipd did not issue to the caller (2.x Invalid Ticket)."""

    reason = 0x19


class TicketUsedUp(UsageLimitExceeded):  # type: ignore[misc,valid-type]  # made by errors._error
    """A presented ticket's Request Count is used up: Usage Limit Exceeded (2.1 Table 424) for the
    whole message (the processor answers a failed message-level check with its reason)."""


@dataclass(frozen=True)
class Right:
    """One Right of a delegated ticket: what it allows (C{None}: unrestricted) and how often."""

    operations: frozenset[int] | None = None
    objects: frozenset[str] | None = None
    groups: frozenset[str] | None = None
    uses: int | None = None  # Usage Limits Total (Object units); None: unlimited


@dataclass
class Ticket:
    """A ticket kmipd issued (L{value} only on the ticket just issued: stores keep the digest).

    @ivar limited: the counter slots this ticket has (L{REQUESTS}, L{USES}, 2 + Right index).
    """

    digest: bytes
    identity: str | None
    groups: tuple[str, ...] | None
    expires: float
    rights: tuple[Right, ...] | None = None  # set for Delegated Login tickets
    limited: frozenset[int] = frozenset()
    value: bytes | None = None

    @property
    def delegated(self) -> bool:
        return self.rights is not None


def ticket_digest(value: bytes) -> bytes:
    """What stores keep of a ticket value."""
    return hashlib.sha256(value).digest()


class TicketBackend(Protocol):
    """Where tickets and their counters live.

    C{tx} is the request's store transaction (a backend that cannot use it ignores it), or
    C{None}: the backend uses a transaction of its own.
    """

    def add(self, tx: Any, ticket: Ticket, limits: dict[int, int], now: float) -> None: ...
    def find(self, digest: bytes, now: float) -> Ticket | None: ...
    def take(self, tx: Any, digest: bytes, slot: int) -> bool: ...
    def give(self, tx: Any, digest: bytes, slot: int) -> None: ...
    def remove(self, tx: Any, digest: bytes, identity: str | None, now: float) -> bool: ...


class MemoryTickets:
    """Tickets in this process's memory (thread-safe), the oldest forgotten beyond C{max_tickets}."""

    def __init__(self, max_tickets: int = MAX_TICKETS) -> None:
        self.max_tickets = max_tickets
        self._tickets: dict[bytes, tuple[Ticket, dict[int, int]]] = {}
        self._lock = threading.Lock()

    def add(self, tx: Any, ticket: Ticket, limits: dict[int, int], now: float) -> None:
        with self._lock:
            self._expire(now)
            while len(self._tickets) >= self.max_tickets:
                del self._tickets[next(iter(self._tickets))]
            self._tickets[ticket.digest] = (replace(ticket, value=None), dict(limits))

    def find(self, digest: bytes, now: float) -> Ticket | None:
        with self._lock:  # keyed by digests: looking one up reveals nothing of a ticket value
            self._expire(now)
            entry = self._tickets.get(digest)
            return entry[0] if entry is not None else None

    def take(self, tx: Any, digest: bytes, slot: int) -> bool:
        with self._lock:
            entry = self._tickets.get(digest)
            if entry is None or entry[1].get(slot, 0) <= 0:
                return False
            entry[1][slot] -= 1
            return True

    def give(self, tx: Any, digest: bytes, slot: int) -> None:
        with self._lock:
            entry = self._tickets.get(digest)
            if entry is not None and slot in entry[1]:
                entry[1][slot] += 1

    def remove(self, tx: Any, digest: bytes, identity: str | None, now: float) -> bool:
        with self._lock:
            entry = self._tickets.get(digest)
            if entry is None or entry[0].identity != identity or entry[0].expires <= now:
                return False
            del self._tickets[digest]
            return True

    def _expire(self, now: float) -> None:
        for key in [k for k, (t, _) in self._tickets.items() if t.expires <= now]:
            del self._tickets[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._tickets)


class TicketBook:
    """Issue, check and count tickets over a L{TicketBackend} (see the module docstring)."""

    def __init__(self, seconds: Callable[[], float] = time.time, backend: TicketBackend | None = None) -> None:
        self.seconds = seconds
        self.backend: TicketBackend = backend if backend is not None else MemoryTickets()

    def issue(self, identity: str | None, groups: tuple[str, ...] | None, lifetime: float,
              requests: int | None, rights: tuple[Right, ...] | None = None, uses: int | None = None, *,
              tx: Any = None) -> Ticket:
        """A new ticket for C{identity}, valid C{lifetime} seconds (capped), C{requests} messages and
        C{uses} operations (C{None}: unbounded)."""
        now = self.seconds()
        limits = {}
        if requests is not None:
            limits[REQUESTS] = requests
        if uses is not None:
            limits[USES] = uses
        for index, right in enumerate(rights or ()):
            if right.uses is not None:
                limits[_FIRST_RIGHT + index] = right.uses
        value = os.urandom(32)
        ticket = Ticket(ticket_digest(value), identity, groups, now + min(lifetime, MAX_TICKET_LIFETIME), rights,
                        frozenset(limits), value)
        self.backend.add(tx, ticket, limits, now)
        return ticket

    def use(self, value: bytes, identity: str | None) -> Ticket:
        """The ticket C{value} presented by C{identity}, one request counted.

        A Login ticket is bound to the identity it was issued to; a delegated ticket may be
        presented by any authenticated client and acts as its issuer, within its Rights.
        @raise AuthenticationNotSuccessful: unknown, expired or another client's.
        @raise TicketUsedUp: its Request Count is used up.
        """
        digest = ticket_digest(value)
        ticket = self.backend.find(digest, self.seconds())
        if ticket is None:
            raise AuthenticationNotSuccessful("unknown or expired ticket")
        if not ticket.delegated and ticket.identity != identity:
            raise AuthenticationNotSuccessful("the ticket was issued to another client")
        if REQUESTS in ticket.limited and not self.backend.take(None, digest, REQUESTS):
            raise TicketUsedUp("the ticket's Request Count is used up")
        return ticket

    def authorize(self, ctx: RequestContext, ticket: Ticket, operation: int, payload: Item | None) -> None:
        """Count one operation against C{ticket}: its Rights (delegated) and Usage Limits.

        @raise PermissionDenied: no Right allows the operation.
        @raise UsageLimitExceeded: the ticket's, or every allowing Right's, Usage Limits are used up.
        """
        tx = ctx.store
        if USES in ticket.limited and not self.backend.take(tx, ticket.digest, USES):
            raise UsageLimitExceeded("the ticket's Usage Limits are used up")
        try:
            if ticket.rights is not None:
                self._take_right(ctx, ticket, operation, payload)
        except KmipError:
            if USES in ticket.limited:
                self.backend.give(tx, ticket.digest, USES)
            raise

    def _take_right(self, ctx: RequestContext, ticket: Ticket, operation: int, payload: Item | None) -> None:
        assert ticket.rights is not None
        used_up = False
        for index, right in enumerate(ticket.rights):
            if not right_allows(ctx, right, operation, payload):
                continue
            slot = _FIRST_RIGHT + index
            if slot not in ticket.limited or self.backend.take(ctx.store, ticket.digest, slot):
                return
            used_up = True
        if used_up:
            raise UsageLimitExceeded("the Usage Limits of the Rights allowing this operation are used up")
        raise PermissionDenied("the delegated ticket's Rights do not allow this operation")

    def revoke(self, value: bytes, identity: str | None, *, tx: Any = None) -> None:
        """Logout: invalidate a ticket issued to C{identity}; L{InvalidTicket} otherwise."""
        if not self.backend.remove(tx, ticket_digest(value), identity, self.seconds()):
            raise InvalidTicket("no such ticket issued to this client")

    def __len__(self) -> int:
        return len(self.backend)  # type: ignore[arg-type]


#: Request fields naming an object the operation reads, changes or derives from: each one a delegated
#: ticket's Right must allow (Join Split Key, Derive Key and Re-certify name several).
_IDENTIFIER_TAGS = frozenset({Tag.UNIQUE_IDENTIFIER, Tag.CERTIFICATE_REQUEST_UNIQUE_IDENTIFIER,
                              Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER,
                              Tag.REPLACED_UNIQUE_IDENTIFIER})


def named_objects(ctx: RequestContext, payload: Item | None) -> list[Any]:
    """Every identifier the request payload names, at any depth (the ID Placeholder when it names none)."""
    found: list[Any] = []
    stack = list(payload.value) if payload is not None and payload.type == ItemType.STRUCTURE else []
    while stack:
        item = stack.pop()
        if item.tag in _IDENTIFIER_TAGS:
            found.append(item.value)
        elif item.type == ItemType.STRUCTURE:
            stack.extend(item.value)
    return found or [ctx.id_placeholder]


def right_allows(ctx: RequestContext, right: Right, operation: int, payload: Item | None) -> bool:
    """Whether C{right} allows C{operation} on every object the item names."""
    if right.operations is not None and operation not in right.operations:
        return False
    return all(_object_allowed(ctx, right, uid) for uid in named_objects(ctx, payload))


def _object_allowed(ctx: RequestContext, right: Right, uid: Any) -> bool:
    if right.objects is not None and uid not in right.objects:
        return False
    if right.groups is not None:
        obj = ctx.store.get(uid) if isinstance(uid, str) else None
        groups = {g.value for g in obj.live("Object Group")} if obj is not None else set()
        if not groups & right.groups:
            return False
    return True


def ticket_item(ticket: Ticket) -> Item:
    """The Ticket structure sent to the client."""
    assert ticket.value is not None
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


def ticket_credential(authentication: Item | None) -> bytes | None:
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


def read_usage_limits(item: Item | None) -> int | None:
    """The allowance (Usage Limits Total, Object units) of a Usage Limits structure, or C{None}.

    @raise InvalidField: malformed (2.1 7.40: Total and Count Long Integers, a Unit).
    @raise FeatureNotSupported: the Unit is Byte.
    """
    if item is None:
        return None
    if item.type != ItemType.STRUCTURE:
        raise InvalidField("Usage Limits must be a structure")
    total, count, unit = (item.find(t) for t in (Tag.USAGE_LIMITS_TOTAL, Tag.USAGE_LIMITS_COUNT,
                                                   Tag.USAGE_LIMITS_UNIT))
    if (total is None or total.type != ItemType.LONG_INTEGER or count is None
            or count.type != ItemType.LONG_INTEGER or unit is None or unit.type != ItemType.ENUMERATION):
        raise InvalidField("Usage Limits needs Usage Limits Total and Count (Long Integers) and a Usage Limits Unit")
    if total.value <= 0 or not 0 <= count.value <= total.value:
        raise InvalidField("Usage Limits Total must be positive and Usage Limits Count within 0..Total")
    if unit.value == UNIT_BYTE:
        raise FeatureNotSupported("Usage Limits counted in Bytes are not supported on tickets (use Object)")
    if unit.value != UNIT_OBJECT:
        raise InvalidField(f"unknown Usage Limits Unit {unit.value}")
    return int(total.value)


def read_rights(payload: Item) -> tuple[Right, ...]:
    """The Rights of a Delegated Login request; L{InvalidField} / L{FeatureNotSupported} if unusable."""
    rights_item = payload.find(Tag.RIGHTS)
    if rights_item is None or rights_item.type != ItemType.STRUCTURE:
        raise InvalidField("Delegated Login needs Rights")
    out = []
    for right in rights_item.findall(Tag.RIGHT):
        ops = _set(right, Tag.OPERATIONS, Tag.OPERATION, int)
        unknown = sorted(op for op in ops or () if op not in _OPERATIONS and op < _EXTENSIONS)
        if unknown:
            raise InvalidField(f"a Right names an Operation KMIP does not define: {unknown[0]:#x}")
        out.append(Right(ops,
                         _set(right, Tag.OBJECTS, Tag.UNIQUE_IDENTIFIER, str),
                         _set(right, Tag.OBJECT_GROUPS, Tag.OBJECT_GROUP, str),
                         read_usage_limits(right.find(Tag.USAGE_LIMITS))))
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


__all__ = ["DEFAULT_TICKET_LIFETIME", "MAX_TICKETS", "MAX_TICKET_LIFETIME", "InvalidTicket", "MemoryTickets",
           "Right", "Ticket", "TicketBackend", "TicketBook", "TicketUsedUp", "read_rights",
           "read_ticket", "read_usage_limits", "right_allows", "ticket_credential", "ticket_digest", "ticket_item"]

