"""2.x message headers (correlation values), Login / Logout / Delegated Login tickets, Ping, Log
and Interop, with the rows of their 2.1 error tables kmipd can produce."""

from __future__ import annotations

from twisted.internet import defer
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase

from kmipd.dispatch import Caller
from kmipd.node import MAX_TICKET_LIFETIME, NodeState
from kmipd.spec import (
    CredentialType,
    InteropFunction,
    Operation,
    QueryFunction,
    ResultReason,
    Tag,
    TicketType,
)
from kmipd.testing import FakeClock, Result, batch_item, call, make_dispatcher, payload, request, results
from kmipd.ttlv import Item, decode, encode

from .test_create import Assertions, aes_attrs, create

V14, V20, V21 = (1, 4), (2, 0), (2, 1)


def exchange(d, operation: int, body: Item | None = None, *, version=V21, header=(), caller="alice"):
    """(result, response message, reply) of one operation."""
    message = request(batch_item(operation, body), version=version, header_extra=list(header))
    reply = d.processor.process(encode(message), Caller(caller))
    response = decode(reply.data)
    (r,) = results(response)
    return r, response, reply


def run(d, operation: int, body: Item | None = None, **kw) -> Result:
    return exchange(d, operation, body, **kw)[0]


def ticket_auth(ticket: Item) -> Item:
    return Item.struct(Tag.AUTHENTICATION, [Item.struct(Tag.CREDENTIAL, [
        Item.enum(Tag.CREDENTIAL_TYPE, CredentialType.TICKET),
        Item.struct(Tag.CREDENTIAL_VALUE, [ticket.copy()]),
    ])])


class CorrelationTests(SynchronousTestCase, Assertions):
    """Server and Client Correlation Values (2.1 9.9, 9.10)."""

    def test_server_correlation_in_2x(self) -> None:
        """Every 2.x response header carries a fresh Server Correlation Value, also on the Reply."""
        d = make_dispatcher()
        seen = set()
        for version in (V20, V21):
            for _ in range(2):
                r, response, reply = exchange(d, Operation.DISCOVER_VERSIONS, payload(), version=version)
                header = response.find(Tag.RESPONSE_HEADER)
                value = header.get(Tag.SERVER_CORRELATION_VALUE)
                self.assertIsInstance(value, str)
                self.assertEqual(value, reply.correlation)
                seen.add(value)
        self.assertEqual(len(seen), 4)

    def test_server_correlation_is_uuid4_hex(self) -> None:
        """The value is the hex of a random version 4 UUID, as C{uuid.uuid4().hex} was."""
        import uuid

        from kmipd.node import new_correlation

        values = {new_correlation() for _ in range(1000)}
        self.assertEqual(len(values), 1000)
        for value in values:
            parsed = uuid.UUID(hex=value)
            self.assertEqual((parsed.hex, parsed.version, parsed.variant), (value, 4, uuid.RFC_4122))

    def test_header_order(self) -> None:
        """The value sits between Time Stamp and Batch Count, as Table 398 orders the header."""
        _, response, _ = exchange(make_dispatcher(), Operation.DISCOVER_VERSIONS, payload())
        tags = [c.tag for c in response.find(Tag.RESPONSE_HEADER).value]
        self.assertEqual(tags, [Tag.PROTOCOL_VERSION, Tag.TIME_STAMP, Tag.SERVER_CORRELATION_VALUE, Tag.BATCH_COUNT])

    def test_not_in_1x(self) -> None:
        """1.x headers stay as they were (the value is still generated for the log)."""
        _, response, reply = exchange(make_dispatcher(), Operation.DISCOVER_VERSIONS, payload(), version=V14)
        self.assertIsNone(response.find(Tag.RESPONSE_HEADER).find(Tag.SERVER_CORRELATION_VALUE))
        self.assertIsNotNone(reply.correlation)

    def test_error_replies_carry_one(self) -> None:
        """A message-level failure (unsupported version) also has its correlation value."""
        d = make_dispatcher()
        message = request(batch_item(Operation.QUERY, payload()), version=(2, 9))
        reply = d.processor.process(encode(message), Caller("a"))
        self.assertEqual(decode(reply.data).find(Tag.RESPONSE_HEADER).get(Tag.SERVER_CORRELATION_VALUE),
                         reply.correlation)

    def test_client_correlation(self) -> None:
        """The Client Correlation Value is kept for the request log; Attestation fields are accepted."""
        r, _, reply = exchange(make_dispatcher(), Operation.PING, payload(), header=[
            Item.text(Tag.CLIENT_CORRELATION_VALUE, "job-42"), Item.bool(Tag.ATTESTATION_CAPABLE_INDICATOR, True),
            Item.enum(Tag.ATTESTATION_TYPE, 1)])
        self.assertOK(r)
        self.assertEqual(reply.client_correlation, "job-42")

    def test_malformed_client_correlation(self) -> None:
        """A Client Correlation Value that is not a Text String: Invalid Message."""
        r = run(make_dispatcher(), Operation.PING, payload(), header=[Item.int(Tag.CLIENT_CORRELATION_VALUE, 3)])
        self.assertFails(r, ResultReason.INVALID_MESSAGE)


class TicketTests(SynchronousTestCase, Assertions):
    """Login, Logout and tickets as request authentication."""

    def login(self, d, *fields: Item, caller="alice") -> Item:
        r = run(d, Operation.LOGIN, payload(*fields), caller=caller)
        self.assertOK(r)
        ticket = r.payload.find(Tag.TICKET)
        self.assertEqual(ticket.get(Tag.TICKET_TYPE), TicketType.LOGIN)
        self.assertEqual(len(ticket.get(Tag.TICKET_VALUE)), 32)
        return ticket

    def test_ticket_authenticates_its_owner(self) -> None:
        """The ticket works for the client it was issued to, and for nobody else."""
        d = make_dispatcher()
        ticket = self.login(d)
        self.assertOK(run(d, Operation.PING, payload(), header=[ticket_auth(ticket)]))
        self.assertFails(run(d, Operation.PING, payload(), header=[ticket_auth(ticket)], caller="bob"),
                         ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)

    def test_unknown_or_malformed_ticket(self) -> None:
        """A ticket kmipd did not issue, or a malformed one: Authentication Not Successful."""
        d = make_dispatcher()
        forged = Item.struct(Tag.TICKET, [Item.enum(Tag.TICKET_TYPE, TicketType.LOGIN),
                                          Item.bytes(Tag.TICKET_VALUE, b"\x00" * 32)])
        self.assertFails(run(d, Operation.PING, payload(), header=[ticket_auth(forged)]),
                         ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
        broken = Item.struct(Tag.TICKET, [Item.enum(Tag.TICKET_TYPE, TicketType.LOGIN)])
        self.assertFails(run(d, Operation.PING, payload(), header=[ticket_auth(broken)]),
                         ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)

    def test_lease_time(self) -> None:
        """An Interval lease ends the ticket; a Date Time in the past is Invalid Field; the cap holds."""
        clock = FakeClock()
        d = make_dispatcher(clock=clock)
        ticket = self.login(d, Item.interval(Tag.LEASE_TIME, 10))
        clock.advance(11)
        self.assertFails(run(d, Operation.PING, payload(), header=[ticket_auth(ticket)]),
                         ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
        self.assertFails(run(d, Operation.LOGIN, payload(Item.datetime(Tag.LEASE_TIME, int(clock()) - 5))),
                         ResultReason.INVALID_FIELD)
        self.assertFails(run(d, Operation.LOGIN, payload(Item.text(Tag.LEASE_TIME, "soon"))),
                         ResultReason.INVALID_FIELD)
        long = self.login(d, Item.datetime(Tag.LEASE_TIME, int(clock()) + 10 * MAX_TICKET_LIFETIME))
        clock.advance(MAX_TICKET_LIFETIME + 1)
        self.assertFails(run(d, Operation.PING, payload(), header=[ticket_auth(long)]),
                         ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)

    def test_request_count(self) -> None:
        """Request Count bounds how many messages the ticket authenticates (then Usage Limit Exceeded,
        2.1 Table 424: "the usage limits or request count has been exceeded"); it must be positive."""
        d = make_dispatcher()
        ticket = self.login(d, Item.int(Tag.REQUEST_COUNT, 2))
        for _ in range(2):
            self.assertOK(run(d, Operation.PING, payload(), header=[ticket_auth(ticket)]))
        self.assertFails(run(d, Operation.PING, payload(), header=[ticket_auth(ticket)]),
                         ResultReason.USAGE_LIMIT_EXCEEDED)
        self.assertFails(run(d, Operation.LOGIN, payload(Item.int(Tag.REQUEST_COUNT, 0))), ResultReason.INVALID_FIELD)

    def test_malformed_usage_limits(self) -> None:
        """Usage Limits without its three fields: Invalid Field (tests/test_tickets.py covers the rest)."""
        self.assertFails(run(make_dispatcher(), Operation.LOGIN, payload(Item.struct(Tag.USAGE_LIMITS, []))),
                         ResultReason.INVALID_FIELD)

    def test_logout(self) -> None:
        """Logout ends the ticket; a second Logout, or another client's, is Invalid Ticket."""
        d = make_dispatcher()
        ticket = self.login(d)
        self.assertFails(run(d, Operation.LOGOUT, payload(ticket), caller="bob"), ResultReason.INVALID_TICKET)
        self.assertOK(run(d, Operation.LOGOUT, payload(ticket)))
        self.assertFails(run(d, Operation.PING, payload(), header=[ticket_auth(ticket)]),
                         ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
        self.assertFails(run(d, Operation.LOGOUT, payload(ticket)), ResultReason.INVALID_TICKET)
        self.assertFails(run(d, Operation.LOGOUT, payload()), ResultReason.INVALID_FIELD)

    def test_tickets_are_per_node(self) -> None:
        """Another node (dispatcher) does not know this node's tickets (documented)."""
        store = make_dispatcher().processor.store
        one, two = make_dispatcher(store), make_dispatcher(store)
        ticket = self.login(one)
        self.assertFails(run(two, Operation.PING, payload(), header=[ticket_auth(ticket)]),
                         ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)


class DelegatedLoginTests(SynchronousTestCase, Assertions):
    """Delegated Login: a ticket another client uses as its issuer, within Rights."""

    def delegate(self, d, *rights: Item, caller="alice") -> Item:
        r = run(d, Operation.DELEGATED_LOGIN, payload(Item.struct(Tag.RIGHTS, list(rights))), caller=caller)
        self.assertOK(r)
        return r.payload.find(Tag.TICKET)

    def test_rights_bound_the_holder(self) -> None:
        """Bob, holding Alice's ticket for Get on one key, gets it but may not destroy it or read another."""
        d = make_dispatcher()
        uid = create(d, aes_attrs(), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        other = create(d, aes_attrs(), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        ticket = self.delegate(d, Item.struct(Tag.RIGHT, [
            Item.struct(Tag.OPERATIONS, [Item.enum(Tag.OPERATION, Operation.GET)]),
            Item.struct(Tag.OBJECTS, [Item.text(Tag.UNIQUE_IDENTIFIER, uid)])]))
        auth = [ticket_auth(ticket)]
        self.assertFails(run(d, Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)), caller="bob"),
                         ResultReason.PERMISSION_DENIED)  # without the ticket: Bob's own rights
        self.assertOK(run(d, Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)), header=auth,
                          caller="bob"))
        self.assertFails(run(d, Operation.DESTROY, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)), header=auth,
                             caller="bob"), ResultReason.PERMISSION_DENIED)
        self.assertFails(run(d, Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, other)), header=auth,
                             caller="bob"), ResultReason.PERMISSION_DENIED)

    def test_object_group_right(self) -> None:
        """A Right naming Object Groups allows only objects of those groups."""
        d = make_dispatcher()
        group = Item.text(Tag.OBJECT_GROUP, "payroll")
        grouped = create(d, aes_attrs() + [("Object Group", group)], version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        plain = create(d, aes_attrs(), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        ticket = self.delegate(d, Item.struct(Tag.RIGHT, [Item.struct(Tag.OBJECT_GROUPS, [group])]))
        auth = [ticket_auth(ticket)]
        self.assertOK(run(d, Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, grouped)), header=auth,
                          caller="bob"))
        self.assertFails(run(d, Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, plain)), header=auth,
                             caller="bob"), ResultReason.PERMISSION_DENIED)

    def test_no_tickets_from_a_delegated_ticket(self) -> None:
        """Even a Right allowing them, Login and Delegated Login under a delegated ticket are
        Permission Denied (the holder could otherwise widen its Rights)."""
        d = make_dispatcher()
        ticket = self.delegate(d, Item.struct(Tag.RIGHT, [Item.struct(Tag.OPERATIONS, [
            Item.enum(Tag.OPERATION, Operation.LOGIN), Item.enum(Tag.OPERATION, Operation.DELEGATED_LOGIN)])]))
        auth = [ticket_auth(ticket)]
        self.assertFails(run(d, Operation.LOGIN, payload(), header=auth, caller="bob"), ResultReason.PERMISSION_DENIED)
        wide = payload(Item.struct(Tag.RIGHTS, [Item.struct(Tag.RIGHT, [])]))
        self.assertFails(run(d, Operation.DELEGATED_LOGIN, wide, header=auth, caller="bob"),
                         ResultReason.PERMISSION_DENIED)

    def test_logout_by_issuer_only(self) -> None:
        """The holder cannot log the delegated ticket out; its issuer can."""
        d = make_dispatcher()
        ticket = self.delegate(d, Item.struct(Tag.RIGHT, []))
        self.assertFails(run(d, Operation.LOGOUT, payload(ticket), caller="bob"), ResultReason.INVALID_TICKET)
        self.assertOK(run(d, Operation.LOGOUT, payload(ticket)))

    def test_bad_rights(self) -> None:
        """No Rights, an empty Rights, or a malformed Right (or its Usage Limits): Invalid Field."""
        d = make_dispatcher()
        self.assertFails(run(d, Operation.DELEGATED_LOGIN, payload()), ResultReason.INVALID_FIELD)
        self.assertFails(run(d, Operation.DELEGATED_LOGIN, payload(Item.struct(Tag.RIGHTS, []))),
                         ResultReason.INVALID_FIELD)
        self.assertFails(run(d, Operation.DELEGATED_LOGIN, payload(Item.struct(Tag.RIGHTS, [Item.struct(Tag.RIGHT, [
            Item.struct(Tag.OPERATIONS, [Item.text(Tag.OPERATION, "Get")])])]))), ResultReason.INVALID_FIELD)
        self.assertFails(run(d, Operation.DELEGATED_LOGIN, payload(Item.struct(Tag.RIGHTS, [Item.struct(Tag.RIGHT, [
            Item.struct(Tag.USAGE_LIMITS, [])])]))), ResultReason.INVALID_FIELD)


class PingLogInteropTests(SynchronousTestCase, Assertions):
    """Ping, Log and Interop."""

    def test_ping(self) -> None:
        """Ping answers an empty payload in 2.1 and does not exist in 1.4."""
        r = run(make_dispatcher(), Operation.PING, payload())
        self.assertOK(r)
        self.assertEqual(r.payload.value, [])
        self.assertFails(run(make_dispatcher(), Operation.PING, payload(), version=V14),
                         ResultReason.OPERATION_NOT_SUPPORTED)

    def test_log_reaches_the_audit_trail(self) -> None:
        """Log emits a kmipd.audit event (client_log) with the message and the request's correlation."""
        events: list[dict] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        r, _, reply = exchange(make_dispatcher(), Operation.LOG, payload(Item.text(Tag.LOG_MESSAGE, "rotated k1")),
                               header=[Item.text(Tag.CLIENT_CORRELATION_VALUE, "c-1")])
        self.assertOK(r)
        (event,) = [e for e in events if e.get("audit_event") == "client_log"]
        self.assertEqual(event["log_namespace"], "kmipd.audit")
        self.assertEqual((event["log_message"], event["client"], event["correlation"], event["client_correlation"]),
                         ("rotated k1", "alice", reply.correlation, "c-1"))

    def test_log_errors(self) -> None:
        """No Log Message, a wrong type, or a huge one: Invalid Field."""
        d = make_dispatcher()
        self.assertFails(run(d, Operation.LOG, payload()), ResultReason.INVALID_FIELD)
        self.assertFails(run(d, Operation.LOG, payload(Item.int(Tag.LOG_MESSAGE, 1))), ResultReason.INVALID_FIELD)
        self.assertFails(run(d, Operation.LOG, payload(Item.text(Tag.LOG_MESSAGE, "x" * 20000))),
                         ResultReason.INVALID_FIELD)

    def interop(self, d, function: int, ident: str = "TC-1") -> Result:
        return run(d, Operation.INTEROP, payload(Item.enum(Tag.INTEROP_FUNCTION, function),
                                                 Item.text(Tag.INTEROP_IDENTIFIER, ident)))

    def test_interop_sequence(self) -> None:
        """Begin, End of the same test; End of another, a second Begin, bad fields: Invalid Field."""
        d = make_dispatcher()
        self.assertOK(self.interop(d, InteropFunction.BEGIN))
        self.assertFails(self.interop(d, InteropFunction.BEGIN, "TC-2"), ResultReason.INVALID_FIELD)
        self.assertFails(self.interop(d, InteropFunction.END, "TC-2"), ResultReason.INVALID_FIELD)
        self.assertOK(self.interop(d, InteropFunction.END))
        self.assertOK(self.interop(d, InteropFunction.BEGIN, "TC-3"))
        self.assertOK(self.interop(d, InteropFunction.RESET, "TC-3"))
        self.assertIsNone(d.processor.node.interop)
        self.assertFails(self.interop(d, 9), ResultReason.INVALID_FIELD)
        self.assertFails(run(d, Operation.INTEROP, payload(Item.enum(Tag.INTEROP_FUNCTION, 1))),
                         ResultReason.INVALID_FIELD)

    def test_interop_off_in_production(self) -> None:
        """With Interop disabled (twistd kmip), it is Operation Not Supported and not in Query."""
        d = make_dispatcher(node=NodeState(interop_enabled=False))
        self.assertFails(self.interop(d, InteropFunction.BEGIN), ResultReason.OPERATION_NOT_SUPPORTED)
        ops = call(d, Operation.QUERY, payload(Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS)),
                   version=V21).payload
        listed = {o.value for o in ops.findall(Tag.OPERATION)}
        self.assertNotIn(Operation.INTEROP, listed)
        self.assertIn(Operation.PING, listed)
        on = call(make_dispatcher(), Operation.QUERY, payload(Item.enum(Tag.QUERY_FUNCTION,
                                                                        QueryFunction.QUERY_OPERATIONS)), version=V21)
        self.assertIn(Operation.INTEROP, {o.value for o in on.payload.findall(Tag.OPERATION)})


class CommonErrorRowsTests(SynchronousTestCase, Assertions):
    """Rows every new operation's error table shares: Invalid Message, Operation Not Supported,
    Response Too Large (Attestation Failed/Required never arise: kmipd requires no attestation)."""

    OPERATIONS = (Operation.POLL, Operation.CANCEL, Operation.PROCESS, Operation.QUERY_ASYNCHRONOUS_REQUESTS,
                  Operation.LOGIN, Operation.LOGOUT, Operation.DELEGATED_LOGIN, Operation.PING, Operation.LOG,
                  Operation.INTEROP, Operation.SET_DEFAULTS, Operation.SET_CONSTRAINTS, Operation.GET_CONSTRAINTS,
                  Operation.IMPORT, Operation.EXPORT)

    def test_invalid_message(self) -> None:
        """A batch item whose Request Payload is not a structure: Invalid Message."""
        d = make_dispatcher()
        for op in self.OPERATIONS:
            item = Item.struct(Tag.BATCH_ITEM, [Item.enum(Tag.OPERATION, op), Item.int(Tag.REQUEST_PAYLOAD, 1)])
            (r,) = results(decode(d.processor.process(encode(request(item, version=V21)), Caller("a")).data))
            self.assertFails(r, ResultReason.INVALID_MESSAGE)

    def test_operation_not_supported_before_2x(self) -> None:
        """Each 2.x-only operation in 1.4: Operation Not Supported."""
        d = make_dispatcher()
        for op in self.OPERATIONS:
            if op in (Operation.POLL, Operation.CANCEL, Operation.IMPORT, Operation.EXPORT):
                continue
            self.assertFails(run(d, op, payload(), version=V14), ResultReason.OPERATION_NOT_SUPPORTED)

    def test_response_too_large(self) -> None:
        """A Maximum Response Size too small for the answer: Response Too Large."""
        d = make_dispatcher()
        r = run(d, Operation.GET_CONSTRAINTS, payload(), header=[Item.int(Tag.MAXIMUM_RESPONSE_SIZE, 8)])
        self.assertFails(r, ResultReason.RESPONSE_TOO_LARGE)
        r = run(d, Operation.LOGIN, payload(), header=[Item.int(Tag.MAXIMUM_RESPONSE_SIZE, 8)])
        self.assertFails(r, ResultReason.RESPONSE_TOO_LARGE)

    def test_refused_operations(self) -> None:
        """Set Endpoint Role, PKCS#11, Re-Provision, Notify, Put: Operation Not Supported, never listed."""
        d = make_dispatcher()
        refused = (Operation.SET_ENDPOINT_ROLE, Operation.PKCS_11, Operation.RE_PROVISION, Operation.NOTIFY,
                   Operation.PUT)
        for op in refused:
            self.assertFails(run(d, op, payload()), ResultReason.OPERATION_NOT_SUPPORTED)
        ops = call(d, Operation.QUERY, payload(Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS)),
                   version=V21).payload
        self.assertFalse({o.value for o in ops.findall(Tag.OPERATION)} & set(refused))


class LogToAuditTrailTests(TestCase):
    """The Log operation's event lands in the audit trail file with the request's correlation."""

    @defer.inlineCallbacks
    def test_trail(self):  # type: ignore[no-untyped-def]
        import os

        from twisted.internet import reactor

        from kmipd.audit import AuditTrail, read_events

        path = os.path.abspath(self.mktemp())
        trail = AuditTrail(path, reactor=reactor)
        trail.startService()
        try:
            r, _, reply = exchange(make_dispatcher(), Operation.LOG, payload(Item.text(Tag.LOG_MESSAGE, "hello")),
                                   header=[Item.text(Tag.CLIENT_CORRELATION_VALUE, "c-9")])
        finally:
            yield trail.stopService()
        self.assertEqual(r.status, 0)
        (event,) = [e for e in read_events(path) if e["event"] == "kmip.client_log"]
        self.assertEqual((event["client"], event["message"], event["correlation"], event["client_correlation"]),
                         ("alice", "hello", reply.correlation, "c-9"))
