"""Usage Limits on Login tickets and on the Rights of Delegated Login tickets (2.1 6.1.30, 6.1.12,
7.34, 7.40), counted per operation, with the 2.x Result Reasons, on one node (memory store)."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from kmipd.auth.tickets import InvalidTicket, MemoryTickets, Right, TicketBook, read_usage_limits
from kmipd.dispatch import Caller
from kmipd.errors import FeatureNotSupported, InvalidField
from kmipd.spec import Operation, ResultReason, Tag
from kmipd.testing import batch_item, make_dispatcher, payload, request, results
from kmipd.ttlv import Item, decode, encode

from .operations.test_create import aes_attrs, create
from .operations.test_session import ticket_auth

V21 = (2, 1)
OBJECT, BYTE = 2, 1


def limits(total: int, count: int | None = None, unit: int = OBJECT) -> Item:
    return Item.struct(Tag.USAGE_LIMITS, [Item.long(Tag.USAGE_LIMITS_TOTAL, total),
                                          Item.long(Tag.USAGE_LIMITS_COUNT, total if count is None else count),
                                          Item.enum(Tag.USAGE_LIMITS_UNIT, unit)])


def send_items(d: Any, items: list[Item], auth: Item | None, caller: str = "alice",
               header: list[Item] | None = None) -> list[Any]:
    extra = ([auth] if auth is not None else []) + list(header or [])
    reply = d.processor.process(encode(request(*items, version=V21, header_extra=extra)), Caller(caller))
    return results(decode(reply.data))


def ping(d: Any, auth: Item | None, caller: str = "alice") -> Any:
    return send_items(d, [batch_item(Operation.PING, payload())], auth, caller)[0]


def get(d: Any, uid: str, auth: Item | None, caller: str = "bob", operation: int = Operation.GET) -> Any:
    return send_items(d, [batch_item(operation, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)))], auth, caller)[0]


class LoginUsageLimitsTests(SynchronousTestCase):
    """Usage Limits in a Login request bound the operations its ticket performs."""

    def login(self, d: Any, *fields: Item, caller: str = "alice") -> Item:
        r = send_items(d, [batch_item(Operation.LOGIN, payload(*fields))], None, caller)[0]
        self.assertTrue(r.ok, r.message)
        return ticket_auth(r.payload.find(Tag.TICKET))

    def test_counts_operations(self) -> None:
        """Total 3: three operations (a two-item message counts two), then Usage Limit Exceeded."""
        d = make_dispatcher()
        auth = self.login(d, limits(3))
        both = send_items(d, [batch_item(Operation.PING, payload()), batch_item(Operation.PING, payload())], auth)
        self.assertEqual([r.ok for r in both], [True, True])
        self.assertTrue(ping(d, auth).ok)
        refused = ping(d, auth)
        self.assertEqual(refused.reason, ResultReason.USAGE_LIMIT_EXCEEDED)
        self.assertIn("Usage Limits", refused.message)
        self.assertEqual(ping(d, auth).reason, ResultReason.USAGE_LIMIT_EXCEEDED)
        self.assertTrue(ping(d, None).ok)  # the client itself is not limited, only the ticket

    def test_per_item_in_one_message(self) -> None:
        """Total 1 and two items: the first runs, the second is Usage Limit Exceeded."""
        d = make_dispatcher()
        auth = self.login(d, limits(1))
        out = send_items(d, [batch_item(Operation.PING, payload()), batch_item(Operation.PING, payload())], auth)
        self.assertTrue(out[0].ok)
        self.assertEqual(out[1].reason, ResultReason.USAGE_LIMIT_EXCEEDED)

    def test_total_is_the_allowance(self) -> None:
        """Like the Usage Limits attribute of a new object (2.1 4.59), the allowance starts at Total;
        the request's Count is not used."""
        d = make_dispatcher()
        auth = self.login(d, limits(2, count=0))
        self.assertTrue(ping(d, auth).ok)
        self.assertTrue(ping(d, auth).ok)
        self.assertEqual(ping(d, auth).reason, ResultReason.USAGE_LIMIT_EXCEEDED)

    def test_with_request_count(self) -> None:
        """Request Count and Usage Limits each bound the ticket; Request Count used up is Usage Limit
        Exceeded for the whole message."""
        d = make_dispatcher()
        auth = self.login(d, Item.int(Tag.REQUEST_COUNT, 1), limits(5))
        self.assertTrue(ping(d, auth).ok)
        self.assertEqual(ping(d, auth).reason, ResultReason.USAGE_LIMIT_EXCEEDED)

    def test_bad_usage_limits(self) -> None:
        """Byte units: Feature Not Supported; a malformed structure: Invalid Field."""
        d = make_dispatcher()
        cases = [
            (limits(5, unit=BYTE), ResultReason.FEATURE_NOT_SUPPORTED),
            (limits(5, unit=9), ResultReason.INVALID_FIELD),
            (limits(0), ResultReason.INVALID_FIELD),
            (limits(2, count=3), ResultReason.INVALID_FIELD),
            (Item.struct(Tag.USAGE_LIMITS, [Item.int(Tag.USAGE_LIMITS_TOTAL, 5), Item.long(Tag.USAGE_LIMITS_COUNT, 5),
                                            Item.enum(Tag.USAGE_LIMITS_UNIT, OBJECT)]), ResultReason.INVALID_FIELD),
            (Item.struct(Tag.USAGE_LIMITS, [Item.long(Tag.USAGE_LIMITS_TOTAL, 5)]), ResultReason.INVALID_FIELD),
        ]
        for item, reason in cases:
            r = send_items(d, [batch_item(Operation.LOGIN, payload(item))], None)[0]
            self.assertEqual(r.reason, reason, r.message)


class RightUsageLimitsTests(SynchronousTestCase):
    """Usage Limits in a Right bound the operations that Right allows."""

    def setUp(self) -> None:
        self.d = make_dispatcher()
        self.uid = create(self.d, aes_attrs(), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)

    def delegate(self, *rights: Item, extra: tuple[Item, ...] = ()) -> Item:
        r = send_items(self.d, [batch_item(Operation.DELEGATED_LOGIN, payload(
            *extra, Item.struct(Tag.RIGHTS, list(rights))))], None)[0]
        self.assertTrue(r.ok, r.message)
        return ticket_auth(r.payload.find(Tag.TICKET))

    def right(self, *operations: int, uses: int | None = None) -> Item:
        return Item.struct(Tag.RIGHT, [
            limits(uses) if uses is not None else None,
            Item.struct(Tag.OPERATIONS, [Item.enum(Tag.OPERATION, op) for op in operations]),
            Item.struct(Tag.OBJECTS, [Item.text(Tag.UNIQUE_IDENTIFIER, self.uid)])])

    def test_right_used_up(self) -> None:
        """A Right for two Gets: two Gets, then Usage Limit Exceeded; what no Right allows stays
        Permission Denied."""
        auth = self.delegate(self.right(Operation.GET, uses=2))
        self.assertTrue(get(self.d, self.uid, auth).ok)
        self.assertTrue(get(self.d, self.uid, auth).ok)
        self.assertEqual(get(self.d, self.uid, auth).reason, ResultReason.USAGE_LIMIT_EXCEEDED)
        self.assertEqual(get(self.d, self.uid, auth, operation=Operation.DESTROY).reason,
                         ResultReason.PERMISSION_DENIED)

    def test_next_right_takes_over(self) -> None:
        """When the first allowing Right is used up, the next one allowing the operation counts."""
        auth = self.delegate(self.right(Operation.GET, uses=1), self.right(Operation.GET, Operation.GET_ATTRIBUTES,
                                                                          uses=2))
        self.assertEqual([get(self.d, self.uid, auth).ok for _ in range(3)], [True, True, True])
        self.assertEqual(get(self.d, self.uid, auth).reason, ResultReason.USAGE_LIMIT_EXCEEDED)
        self.assertEqual(get(self.d, self.uid, auth, operation=Operation.GET_ATTRIBUTES).reason,
                         ResultReason.USAGE_LIMIT_EXCEEDED)

    def test_unlimited_right(self) -> None:
        """A Right without Usage Limits is unlimited, also after a limited one is used up."""
        auth = self.delegate(self.right(Operation.GET, uses=1), self.right(Operation.GET))
        self.assertTrue(all(get(self.d, self.uid, auth).ok for _ in range(4)))

    def test_ticket_and_right_limits(self) -> None:
        """Both bound; a refused operation gives its ticket-level unit back."""
        auth = self.delegate(self.right(Operation.GET, uses=1), self.right(Operation.GET_ATTRIBUTES),
                             extra=(limits(2),))
        self.assertTrue(get(self.d, self.uid, auth).ok)                                     # ticket 1 left
        self.assertEqual(get(self.d, self.uid, auth).reason, ResultReason.USAGE_LIMIT_EXCEEDED)  # Right used up
        self.assertEqual(get(self.d, self.uid, auth, operation=Operation.DESTROY).reason,
                         ResultReason.PERMISSION_DENIED)
        self.assertTrue(get(self.d, self.uid, auth, operation=Operation.GET_ATTRIBUTES).ok)  # ticket 0 left
        self.assertEqual(get(self.d, self.uid, auth, operation=Operation.GET_ATTRIBUTES).reason,
                         ResultReason.USAGE_LIMIT_EXCEEDED)

    def test_bad_right_limits(self) -> None:
        """A Right's Usage Limits in Bytes: Feature Not Supported."""
        r = send_items(self.d, [batch_item(Operation.DELEGATED_LOGIN, payload(Item.struct(Tag.RIGHTS, [
            Item.struct(Tag.RIGHT, [limits(3, unit=BYTE)])])))], None)[0]
        self.assertEqual(r.reason, ResultReason.FEATURE_NOT_SUPPORTED)


class UnitTests(SynchronousTestCase):
    """L{TicketBook} over L{MemoryTickets} and L{read_usage_limits}."""

    def test_read_usage_limits(self) -> None:
        self.assertEqual(read_usage_limits(limits(7)), 7)
        self.assertIsNone(read_usage_limits(None))
        self.assertRaises(FeatureNotSupported, read_usage_limits, limits(7, unit=BYTE))
        self.assertRaises(InvalidField, read_usage_limits, Item.text(Tag.USAGE_LIMITS, "7"))

    def test_memory_keeps_digests(self) -> None:
        """The memory backend, too, is keyed by the digest; the value is only on the issued ticket."""
        backend = MemoryTickets(max_tickets=2)
        book = TicketBook(lambda: 100.0, backend)
        tickets = [book.issue("alice", None, 60, None, (Right(),)) for _ in range(3)]
        self.assertEqual(len(backend), 2)  # the oldest forgotten
        found = backend.find(tickets[2].digest, 100.0)
        self.assertIsNone(found.value)
        self.assertIsNone(backend.find(tickets[0].digest, 100.0))
        self.assertIsNone(backend.find(tickets[2].digest, 160.0))  # expired


    def test_revoke(self) -> None:
        """Logout (revoke) removes a live ticket of its owner once; another client's, an expired one
        or one already revoked: Invalid Ticket."""
        now = [100.0]
        book = TicketBook(lambda: now[0], MemoryTickets())
        mine, old = (book.issue("alice", None, 60, None) for _ in range(2))
        assert mine.value is not None and old.value is not None
        self.assertRaises(InvalidTicket, book.revoke, mine.value, "bob")
        book.revoke(mine.value, "alice")
        self.assertRaises(InvalidTicket, book.revoke, mine.value, "alice")
        now[0] = 161.0
        self.assertRaises(InvalidTicket, book.revoke, old.value, "alice")

class RightObjectsTests(SynchronousTestCase):
    """A Right limited to some objects allows an operation only if it allows every object the request
    names: Join Split Key and Derive Key name several, Re-certify names a Certificate Request too."""

    def setUp(self) -> None:
        self.d = make_dispatcher()
        self.a, self.b = (create(self.d, aes_attrs(), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
                          for _ in range(2))
        ops = (Operation.JOIN_SPLIT_KEY, Operation.DERIVE_KEY, Operation.RE_CERTIFY, Operation.GET)
        r = send_items(self.d, [batch_item(Operation.DELEGATED_LOGIN, payload(Item.struct(Tag.RIGHTS, [
            Item.struct(Tag.RIGHT, [
                Item.struct(Tag.OPERATIONS, [Item.enum(Tag.OPERATION, op) for op in ops]),
                Item.struct(Tag.OBJECTS, [Item.text(Tag.UNIQUE_IDENTIFIER, self.a)])])])))], None)[0]
        self.assertTrue(r.ok, r.message)
        self.auth = ticket_auth(r.payload.find(Tag.TICKET))

    def run_op(self, operation: int, body: Item, auth: Item | None, caller: str = "bob") -> Any:
        return send_items(self.d, [batch_item(operation, body)], auth, caller)[0]

    def join(self, *uids: str) -> Item:
        return payload(Item.enum(Tag.OBJECT_TYPE, 2), *(Item.text(Tag.UNIQUE_IDENTIFIER, u) for u in uids))

    def derive(self, *uids: str) -> Item:
        return payload(Item.enum(Tag.OBJECT_TYPE, 2), *(Item.text(Tag.UNIQUE_IDENTIFIER, u) for u in uids),
                       Item.enum(Tag.DERIVATION_METHOD, 5),
                       Item.struct(Tag.DERIVATION_PARAMETERS, [Item.bytes(Tag.DERIVATION_DATA, b"abc")]),
                       Item.struct(Tag.ATTRIBUTES, []))

    def assertRefused(self, result: Any) -> None:
        self.assertEqual(result.reason, ResultReason.PERMISSION_DENIED, result.message)
        self.assertIn("Rights", result.message)

    def assertPastRights(self, result: Any) -> None:
        self.assertNotEqual(result.reason, ResultReason.PERMISSION_DENIED, result.message)

    def test_join_split_key_names_two(self) -> None:
        """Join Split Key of [A, B] with a ticket for A only: Permission Denied (the owner gets past)."""
        self.assertRefused(self.run_op(Operation.JOIN_SPLIT_KEY, self.join(self.a, self.b), self.auth))
        self.assertRefused(self.run_op(Operation.JOIN_SPLIT_KEY, self.join(self.b, self.a), self.auth))
        self.assertPastRights(self.run_op(Operation.JOIN_SPLIT_KEY, self.join(self.a, self.b), None, "alice"))

    def test_derive_key_names_two(self) -> None:
        """Derive Key from [A, B] with a ticket for A only: Permission Denied; from [A] alone the Right
        allows it (it then fails or succeeds on its own merits)."""
        self.assertRefused(self.run_op(Operation.DERIVE_KEY, self.derive(self.a, self.b), self.auth))
        self.assertPastRights(self.run_op(Operation.DERIVE_KEY, self.derive(self.a), self.auth))
        self.assertTrue(get(self.d, self.a, self.auth).ok)
        self.assertRefused(get(self.d, self.b, self.auth))

    def test_certificate_request_identifier(self) -> None:
        """Re-certify A from the stored Certificate Request B: Permission Denied."""
        body = payload(Item.text(Tag.UNIQUE_IDENTIFIER, self.a),
                       Item.text(Tag.CERTIFICATE_REQUEST_UNIQUE_IDENTIFIER, self.b))
        self.assertRefused(self.run_op(Operation.RE_CERTIFY, body, self.auth))
