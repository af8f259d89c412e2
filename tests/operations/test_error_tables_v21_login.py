"""The specific rows of the KMIP 2.1 error tables of Login (Table 255), Logout (Table 258) and
Delegated Login (Table 201), and their general rows no spoiled base request makes (Permission
Denied, Feature Not Supported): one KMIP 2.1 request per row. Invalid Field for an undefined or a
missing REQUIRED field, Invalid Message and Response Too Large are in the general walk
(L{test_error_tables_v21_general}); these operations do not exist in KMIP 1.x (Operation Not
Supported there, L{test_session.CommonErrorRowsTests})."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.spec import CredentialType, ResultStatus, Tag, TicketType
from kmipd.testing import payload
from kmipd.ttlv import Item

from .error_tables import NOW, Env, O, R, Row, add_rows
from .valid_v21 import login_ticket, rights

#: Usage Limits Unit values (2.1 11.60).
BYTE, OBJECT = 1, 2


def usage_limits(total: int = 5, count: int = 5, unit: int = OBJECT, *, drop: int | None = None) -> Item:
    fields = [Item.long(Tag.USAGE_LIMITS_TOTAL, total), Item.long(Tag.USAGE_LIMITS_COUNT, count),
              Item.enum(Tag.USAGE_LIMITS_UNIT, unit)]
    return Item.struct(Tag.USAGE_LIMITS, [f for f in fields if f.tag != drop])


def ticket(value: bytes, ticket_type: int = TicketType.LOGIN) -> Item:
    return Item.struct(Tag.TICKET, [Item.enum(Tag.TICKET_TYPE, ticket_type), Item.bytes(Tag.TICKET_VALUE, value)])


def auth(t: Item) -> Item:
    """The request header's Authentication by ticket C{t} (2.1 9.1, Credential Type Ticket)."""
    return Item.struct(Tag.AUTHENTICATION, [Item.struct(Tag.CREDENTIAL, [
        Item.enum(Tag.CREDENTIAL_TYPE, CredentialType.TICKET), Item.struct(Tag.CREDENTIAL_VALUE, [t.copy()])])])


def delegated(env: Env, *right: Item, issuer: str = "issuer") -> Item:
    """A Delegated Login ticket of C{issuer} with the given Rights (one unrestricted if none)."""
    result = env.run(O.DELEGATED_LOGIN, payload(rights(*right)), caller=issuer)
    assert result.status == ResultStatus.SUCCESS, (result.reason, result.message)
    return result.payload.find(Tag.TICKET)


def operations(*ops: int) -> Item:
    return Item.struct(Tag.RIGHT, [Item.struct(Tag.OPERATIONS, [Item.enum(Tag.OPERATION, op) for op in ops])])


def under_delegated(*right: Item):  # noqa: ANN201
    """Header fields: Authentication by a delegated ticket (of another client) with C{right}."""
    return lambda env: [auth(delegated(env, *right))]


def logged_out(env: Env) -> Item:
    t = login_ticket(env)
    result = env.run(O.LOGOUT, payload(t))
    assert result.status == ResultStatus.SUCCESS, result.message
    return payload(t)


def expired(env: Env) -> Item:
    t = login_ticket(env, "tester", Item.interval(Tag.LEASE_TIME, 10))
    env.d.clock.advance(11)  # type: ignore[attr-defined]
    return payload(t)


ROWS: list[Row] = [
    # Login (Table 255): Invalid Field, Feature Not Supported, Permission Denied and the general rows
    Row(O.LOGIN, R.INVALID_FIELD, "a Lease Time Date Time in the past",
        lambda e: payload(Item.datetime(Tag.LEASE_TIME, NOW - 5))),
    Row(O.LOGIN, R.INVALID_FIELD, "a Lease Time Interval of zero", lambda e: payload(Item.interval(Tag.LEASE_TIME, 0))),
    Row(O.LOGIN, R.INVALID_FIELD, "a Lease Time neither Interval nor Date Time",
        lambda e: payload(Item.text(Tag.LEASE_TIME, "soon"))),
    Row(O.LOGIN, R.INVALID_FIELD, "a Request Count of zero", lambda e: payload(Item.int(Tag.REQUEST_COUNT, 0))),
    Row(O.LOGIN, R.INVALID_FIELD, "a Request Count not an Integer",
        lambda e: payload(Item.text(Tag.REQUEST_COUNT, "3"))),
    Row(O.LOGIN, R.INVALID_FIELD, "Usage Limits without a Usage Limits Unit",
        lambda e: payload(usage_limits(drop=Tag.USAGE_LIMITS_UNIT))),
    Row(O.LOGIN, R.INVALID_FIELD, "Usage Limits Count above Usage Limits Total",
        lambda e: payload(usage_limits(total=2, count=3))),
    Row(O.LOGIN, R.INVALID_FIELD, "a Usage Limits Unit the spec does not define",
        lambda e: payload(usage_limits(unit=9))),
    Row(O.LOGIN, R.INVALID_FIELD, "Rights (a Delegated Login field)", lambda e: payload(rights())),
    Row(O.LOGIN, R.FEATURE_NOT_SUPPORTED, "Usage Limits counted in Bytes",
        lambda e: payload(usage_limits(unit=BYTE))),
    Row(O.LOGIN, R.PERMISSION_DENIED, "the request is authenticated by a delegated ticket",
        lambda e: payload(), headers=under_delegated(operations(O.LOGIN))),
    Row(O.LOGIN, R.PERMISSION_DENIED, "authenticated by a delegated ticket whose Rights allow only Get",
        lambda e: payload(), headers=under_delegated(operations(O.GET))),
    # Logout (Table 258)
    Row(O.LOGOUT, R.INVALID_TICKET, "a ticket kmipd never issued", lambda e: payload(ticket(bytes(32)))),
    Row(O.LOGOUT, R.INVALID_TICKET, "a ticket issued to another client",
        lambda e: payload(login_ticket(e, "someone-else"))),
    Row(O.LOGOUT, R.INVALID_TICKET, "a ticket already logged out", logged_out),
    Row(O.LOGOUT, R.INVALID_TICKET, "a ticket past its Lease Time", expired),
    Row(O.LOGOUT, R.INVALID_TICKET, "another client's delegated ticket, by its holder",
        lambda e: payload(delegated(e))),
    Row(O.LOGOUT, R.INVALID_FIELD, "a Ticket Type the spec does not define",
        lambda e: payload(ticket(bytes(32), ticket_type=7))),
    Row(O.LOGOUT, R.INVALID_FIELD, "a Ticket without its Ticket Value",
        lambda e: payload(Item.struct(Tag.TICKET, [Item.enum(Tag.TICKET_TYPE, TicketType.LOGIN)]))),
    Row(O.LOGOUT, R.INVALID_FIELD, "a Ticket Value not a Byte String", lambda e: payload(Item.struct(
        Tag.TICKET, [Item.enum(Tag.TICKET_TYPE, TicketType.LOGIN), Item.text(Tag.TICKET_VALUE, "t")]))),
    Row(O.LOGOUT, R.INVALID_FIELD, "a Ticket Type of the wrong item type (Integer)", lambda e: payload(Item.struct(
        Tag.TICKET, [Item.int(Tag.TICKET_TYPE, TicketType.LOGIN), Item.bytes(Tag.TICKET_VALUE, bytes(32))]))),
    Row(O.LOGOUT, R.INVALID_FIELD, "a field the Ticket does not define", lambda e: payload(Item.struct(
        Tag.TICKET, [*ticket(bytes(32)).value, Item.int(Tag.REQUEST_COUNT, 1)]))),
    Row(O.LOGOUT, R.PERMISSION_DENIED, "authenticated by a delegated ticket whose Rights allow only Get",
        lambda e: payload(login_ticket(e, "issuer")), headers=under_delegated(operations(O.GET))),
    # Delegated Login (Table 201)
    Row(O.DELEGATED_LOGIN, R.INVALID_FIELD, "Rights without a Right", lambda e: payload(Item.struct(Tag.RIGHTS, []))),
    Row(O.DELEGATED_LOGIN, R.INVALID_FIELD, "a Right not a structure",
        lambda e: payload(Item.struct(Tag.RIGHTS, [Item.int(Tag.RIGHT, 1)]))),
    Row(O.DELEGATED_LOGIN, R.INVALID_FIELD, "a field a Right does not define",
        lambda e: payload(rights(Item.struct(Tag.RIGHT, [Item.int(Tag.REQUEST_COUNT, 1)])))),
    Row(O.DELEGATED_LOGIN, R.INVALID_MESSAGE, "a Right with two Usage Limits",
        lambda e: payload(rights(Item.struct(Tag.RIGHT, [usage_limits(), usage_limits()])))),
    Row(O.DELEGATED_LOGIN, R.INVALID_FIELD, "a Right's Operation not an Enumeration", lambda e: payload(rights(
        Item.struct(Tag.RIGHT, [Item.struct(Tag.OPERATIONS, [Item.text(Tag.OPERATION, "Get")])])))),
    Row(O.DELEGATED_LOGIN, R.INVALID_FIELD, "a Right's Operation the spec does not define",
        lambda e: payload(rights(operations(0x7F)))),
    Row(O.DELEGATED_LOGIN, R.INVALID_FIELD, "a Right's Unique Identifier not a Text String", lambda e: payload(rights(
        Item.struct(Tag.RIGHT, [Item.struct(Tag.OBJECTS, [Item.int(Tag.UNIQUE_IDENTIFIER, 1)])])))),
    Row(O.DELEGATED_LOGIN, R.INVALID_FIELD, "a Right's Usage Limits without Usage Limits Total",
        lambda e: payload(rights(Item.struct(Tag.RIGHT, [usage_limits(drop=Tag.USAGE_LIMITS_TOTAL)])))),
    Row(O.DELEGATED_LOGIN, R.INVALID_FIELD, "a Lease Time Date Time in the past",
        lambda e: payload(Item.datetime(Tag.LEASE_TIME, NOW - 5), rights())),
    Row(O.DELEGATED_LOGIN, R.INVALID_FIELD, "a Request Count of zero",
        lambda e: payload(Item.int(Tag.REQUEST_COUNT, 0), rights())),
    Row(O.DELEGATED_LOGIN, R.FEATURE_NOT_SUPPORTED, "a Right's Usage Limits counted in Bytes",
        lambda e: payload(rights(Item.struct(Tag.RIGHT, [usage_limits(unit=BYTE)])))),
    Row(O.DELEGATED_LOGIN, R.FEATURE_NOT_SUPPORTED, "the ticket's Usage Limits counted in Bytes",
        lambda e: payload(usage_limits(unit=BYTE), rights())),
    Row(O.DELEGATED_LOGIN, R.PERMISSION_DENIED, "the request is authenticated by a delegated ticket",
        lambda e: payload(rights()), headers=under_delegated(operations(O.DELEGATED_LOGIN))),
]


class LoginRowsTests(SynchronousTestCase):
    add_rows(locals(), ROWS)


class RowSanityTests(SynchronousTestCase):
    """The requests the rows spoil differ from ones that succeed by the row's condition alone."""

    def test_ticket_of_the_header_works_otherwise(self) -> None:
        """A delegated ticket allowing Get authenticates a Get; the same holder's Logout is refused
        for its Rights, not for the ticket (which still works after)."""
        env = Env(self)
        uid = env.key(owner="issuer")
        t = delegated(env, operations(O.GET))
        got = env.run(O.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)), header=[auth(t)])
        self.assertEqual(got.status, ResultStatus.SUCCESS, got.message)
        refused = env.run(O.LOGOUT, payload(login_ticket(env, "issuer")), header=[auth(t)])
        self.assertEqual(refused.reason, R.PERMISSION_DENIED, refused.message)
        again = env.run(O.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)), header=[auth(t)])
        self.assertEqual(again.status, ResultStatus.SUCCESS, again.message)

    def test_usage_limits_in_objects_accepted(self) -> None:
        """Usage Limits counted in Objects (the unit kmipd supports) is accepted by both Logins."""
        env = Env(self)
        for op, body in ((O.LOGIN, payload(usage_limits())),
                         (O.DELEGATED_LOGIN, payload(rights(Item.struct(Tag.RIGHT, [usage_limits()]))))):
            r = env.run(op, body)
            self.assertEqual(r.status, ResultStatus.SUCCESS, (O(op).name, r.message))

    def test_right_may_name_an_extension_operation(self) -> None:
        """A Right naming an extension Operation (8XXXXXXX, 2.1 11.36) is accepted; the undefined
        0x7F of the Invalid Field row is not an extension."""
        r = Env(self).run(O.DELEGATED_LOGIN, payload(rights(operations(0x80000001))))
        self.assertEqual(r.status, ResultStatus.SUCCESS, r.message)

    def test_logout_of_own_ticket_once(self) -> None:
        """The caller's own live ticket logs out (the Invalid Ticket rows differ from this)."""
        env = Env(self)
        r = env.run(O.LOGOUT, payload(login_ticket(env, "tester", Item.interval(Tag.LEASE_TIME, 10))))
        self.assertEqual(r.status, ResultStatus.SUCCESS, r.message)

    def test_used_up_ticket_keeps_its_reason(self) -> None:
        """A header ticket whose Usage Limits are used up: Usage Limit Exceeded (2.1 Table 424) on
        Login and Logout too, though their tables have no row for it (no row names the condition)."""
        env = Env(self)
        t = login_ticket(env, "tester", usage_limits(total=1, count=1))
        first = env.run(O.LOGIN, payload(), header=[auth(t)])
        self.assertEqual(first.status, ResultStatus.SUCCESS, first.message)
        for op, body in ((O.LOGIN, payload()), (O.LOGOUT, payload(t))):
            r = env.run(op, body, header=[auth(t)])
            self.assertEqual(r.reason, R.USAGE_LIMIT_EXCEEDED, (O(op).name, r.message))
