# -*- test-case-name: tests.operations.test_session -*-
"""Login, Logout, Delegated Login, Ping, Interop and Log (KMIP 2.x, 6.1.30, 6.1.31, 6.1.12,
6.1.36, 6.1.26, 6.1.29).

Tickets (L{kmipd.auth.tickets}) authenticate later requests through the request header's
Authentication (a Credential of type Ticket): a Login ticket only for the client it was issued to,
a Delegated Login ticket for any authenticated client, acting as its issuer within its Rights.
Issue and Logout are written in the request's transaction (with the SQL store, in the database
every node shares: L{kmipd.store.tickets}).
"""

from __future__ import annotations

from ..auth.tickets import read_usage_limits
from ..context import RequestContext
from ..errors import InvalidField, OperationNotSupported, PermissionDenied
from ..log import Logger
from ..node import DEFAULT_TICKET_LIFETIME, Right, node_of, read_rights, read_ticket, ticket_item
from ..spec import InteropFunction, Operation, Tag
from ..ttlv import Item, ItemType
from .registry import operation

_log = Logger()
_audit = Logger(namespace="kmipd.audit")

#: Longest Log Message accepted (characters).
MAX_LOG_MESSAGE = 16384
#: Longest Interop Identifier accepted (characters).
MAX_INTEROP_IDENTIFIER = 256
_INTEROP_FUNCTIONS = frozenset(int(f) for f in InteropFunction)


def _lifetime(ctx: RequestContext, payload: Item | None) -> float:
    """Seconds the ticket lives: Lease Time as an Interval, or until a Date Time."""
    lease = payload.find(Tag.LEASE_TIME) if payload is not None else None
    if lease is None:
        return DEFAULT_TICKET_LIFETIME
    if lease.type == ItemType.INTERVAL:
        seconds = lease.value
    elif lease.type == ItemType.DATE_TIME:
        seconds = lease.value - ctx.now
    else:
        raise InvalidField("Lease Time must be an Interval or a Date Time")
    if seconds <= 0:
        raise InvalidField("Lease Time must lie in the future")
    return float(seconds)


def _request_count(payload: Item | None) -> int | None:
    count = payload.find(Tag.REQUEST_COUNT) if payload is not None else None
    if count is None:
        return None
    if count.type != ItemType.INTEGER or count.value <= 0:
        raise InvalidField("Request Count must be a positive Integer")
    return int(count.value)


def _issue(ctx: RequestContext, payload: Item | None, rights: tuple[Right, ...] | None) -> Item:
    if ctx.session is not None and ctx.session.rights is not None:
        # A holder of a delegated ticket acts as its issuer within Rights; a new ticket would not be.
        raise PermissionDenied("a request authenticated by a delegated ticket cannot obtain tickets")
    uses = read_usage_limits(payload.find(Tag.USAGE_LIMITS)) if payload is not None else None
    ticket = node_of(ctx).tickets.issue(ctx.identity, ctx.groups, _lifetime(ctx, payload),
                                        _request_count(payload), rights, uses, tx=ctx.store)
    _log.info("issued a {kind} ticket to {client}", kind="delegated" if rights else "login", client=ctx.identity)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [ticket_item(ticket)])


@operation(Operation.LOGIN, min_version=(2, 0))
def login(ctx: RequestContext, payload: Item | None) -> Item:
    """A ticket that authenticates this client's later requests."""
    return _issue(ctx, payload, None)


@operation(Operation.DELEGATED_LOGIN, min_version=(2, 0))
def delegated_login(ctx: RequestContext, payload: Item | None) -> Item:
    """A ticket another client may present to act as this one, within the Rights given."""
    if payload is None:
        raise InvalidField("Delegated Login needs Rights")
    return _issue(ctx, payload, read_rights(payload))


@operation(Operation.LOGOUT, min_version=(2, 0))
def logout(ctx: RequestContext, payload: Item | None) -> Item:
    """Invalidate a ticket this client was issued."""
    value = read_ticket(payload.find(Tag.TICKET) if payload is not None else None)
    node_of(ctx).tickets.revoke(value, ctx.identity, tx=ctx.store)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [])


@operation(Operation.PING, min_version=(2, 0))
def ping(ctx: RequestContext, payload: Item | None) -> Item:
    """Alive and responding: an empty payload."""
    return Item.struct(Tag.RESPONSE_PAYLOAD, [])


@operation(Operation.LOG, min_version=(2, 0))
def log(ctx: RequestContext, payload: Item) -> Item:
    """Write the client's Log Message into the audit trail (C{kmipd.audit}, C{audit_event="client_log"})."""
    message: str = payload.get(Tag.LOG_MESSAGE)  # required, a Text String: the schema checked
    if len(message) > MAX_LOG_MESSAGE:
        raise InvalidField(f"Log Message is longer than {MAX_LOG_MESSAGE} characters")
    session = ctx.session
    _audit.info("client {client} logged: {log_message!r}", audit_event="client_log", client=ctx.identity,
                log_message=message, correlation=session.correlation if session else None,
                client_correlation=session.client_correlation if session else None)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [])


@operation(Operation.INTEROP, min_version=(2, 0))
def interop(ctx: RequestContext, payload: Item | None) -> Item:
    """Begin, End or Reset an interoperability test case (test servers only: 2.1 6.1.26)."""
    node = node_of(ctx)
    if not node.interop_enabled:
        raise OperationNotSupported("Interop is not available on a production server")
    function = payload.find(Tag.INTEROP_FUNCTION) if payload is not None else None
    ident = payload.find(Tag.INTEROP_IDENTIFIER) if payload is not None else None
    if function is None or function.type != ItemType.ENUMERATION or function.value not in _INTEROP_FUNCTIONS:
        raise InvalidField("Interop Function (Begin, End or Reset) is required")
    if ident is None or ident.type != ItemType.TEXT_STRING or not 0 < len(ident.value) <= MAX_INTEROP_IDENTIFIER:
        raise InvalidField("Interop Identifier (a Text String) is required")
    with node.lock:
        if function.value == InteropFunction.BEGIN:
            if node.interop is not None:
                raise InvalidField(f"interop test {node.interop!r} has not ended")
            node.interop = ident.value
        elif function.value == InteropFunction.END:
            if node.interop != ident.value:
                raise InvalidField(f"interop test {ident.value!r} has not begun")
            node.interop = None
        else:
            node.interop = None
    _audit.info("interop {function} {interop_identifier}", audit_event="interop",
                function=InteropFunction(function.value).name, interop_identifier=ident.value, client=ctx.identity)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [])
