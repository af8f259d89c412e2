"""The general rows of every KMIP 2.1 operation's error table (spec 2.1 section 6.1), made from a
request that succeeds (L{valid_v21.VALID}) spoiled one way per row:

 - Invalid Field: a field the operation's payload does not define; a REQUIRED field left out
   (2.x tables do not list Missing Data: KMIP 1.x's Missing Data is Invalid Field in 2.x);
 - Invalid Message: a single-valued field given twice; a Request Payload that is not a structure;
 - Permission Denied: the object named belongs to another client;
 - Response Too Large: a Maximum Response Size smaller than the answer;
 - Operation Not Supported: an operation kmipd refuses (Set Endpoint Role, PKCS#11, Re-Provision)
   or has switched off (Interop in production).

Rows no request can trigger honestly are in L{test_error_tables_v21_cover.UNTRIGGERABLE}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.messages.payloads import SCHEMAS
from kmipd.messages.schema import Field
from kmipd.node import NodeState
from kmipd.spec import ResultStatus, Tag
from kmipd.testing import batch_item, make_processor, payload, request, results, send
from kmipd.ttlv import Item

from .error_tables import EXCLUDED, NOW, TABLES, V21, Env, FakeClock, O, R, Row, add_rows
from .valid_v21 import NAMES_OBJECT, VALID

#: A 2.1 tag no request payload has (Attestation Measurement belongs to the request header).
FOREIGN = Item.bytes(Tag.ATTESTATION_MEASUREMENT, b"x")


def _with(base: Item, *extra: Item) -> Item:
    return Item.struct(Tag.REQUEST_PAYLOAD, [*base.value, *extra])


def _required(op: int) -> list[int]:
    """The REQUIRED plain fields of C{op}'s 2.1 request."""
    return [f.tag for f in SCHEMAS[op].request if isinstance(f, Field) and f.required and f.in_version(V21)]


def _repeatable_first(op: int, body: Item) -> Item | None:
    """A single-valued field of C{body} (to give twice), if any."""
    single = {f.tag for f in SCHEMAS[op].request if isinstance(f, Field) and not f.repeat}
    return next((c for c in body.value if c.tag in single), None)


def _general_rows() -> list[Row]:
    rows: list[Row] = []
    for op, build in sorted(VALID.items()):
        if op in EXCLUDED or op not in TABLES:  # Ping has no error table
            continue
        if R.INVALID_FIELD in TABLES[op]:
            rows.append(Row(op, R.INVALID_FIELD, "a field the payload does not define",
                            lambda e, b=build: _with(b(e, "tester"), FOREIGN)))
            for tag in _required(op):
                # Get Usage Allocation's own rows name Invalid Message for it (1.x: the same).
                reason = R.INVALID_MESSAGE if op == O.GET_USAGE_ALLOCATION else R.INVALID_FIELD
                rows.append(Row(op, reason, f"required {Tag(tag).name} missing",
                                lambda e, b=build, t=tag: Item.struct(Tag.REQUEST_PAYLOAD, [
                                    c for c in b(e, "tester").value if c.tag != t])))
        rows.append(Row(op, R.INVALID_MESSAGE, "request payload not a structure",
                        lambda e: Item.int(Tag.REQUEST_PAYLOAD, 1)))
        if op in NAMES_OBJECT:
            rows.append(Row(op, R.PERMISSION_DENIED, "the object belongs to another client",
                            lambda e, b=build: b(e, "someone-else")))
        rows.append(Row(op, R.RESPONSE_TOO_LARGE, "Maximum Response Size below the answer",
                        lambda e, b=build: b(e, "tester"), header=(Item.int(Tag.MAXIMUM_RESPONSE_SIZE, 40),)))
    return rows


class GeneralRowsTests(SynchronousTestCase):
    """Invalid Field, Invalid Message, Permission Denied, Response Too Large for every operation."""

    def test_valid_bodies_succeed(self) -> None:
        """The base requests succeed (so each spoiled one fails for the row's reason alone)."""
        for op, build in VALID.items():
            env = Env(self)
            r = env.run(op, build(env, "tester"))
            self.assertIn(r.status, (ResultStatus.SUCCESS, ResultStatus.OPERATION_PENDING),
                          (O(op).name, r.reason, r.message))

    def test_field_given_twice(self) -> None:
        """A single-valued field given twice: Invalid Message, for every operation that has one."""
        for op, build in VALID.items():
            env = Env(self)
            body = build(env, "tester")
            field = _repeatable_first(op, body)
            if field is None:
                continue
            r = env.run(op, _with(body, field))
            self.assertEqual(r.reason, R.INVALID_MESSAGE, (O(op).name, r.message))

    def test_missing_required_field_1x_unchanged(self) -> None:
        """KMIP 1.4 keeps Missing Data for a missing REQUIRED field (its tables list it)."""
        env = Env(self)
        r = env.run(O.REVOKE, payload(Item.text(Tag.UNIQUE_IDENTIFIER, env.key())), version=(1, 4))
        self.assertEqual(r.reason, R.MISSING_DATA, r.message)
        r = env.run(O.REVOKE, payload(Item.text(Tag.UNIQUE_IDENTIFIER, env.key())))
        self.assertEqual(r.reason, R.INVALID_FIELD, r.message)

    def test_refused_operations(self) -> None:
        """Set Endpoint Role, PKCS#11, Re-Provision: Operation Not Supported (a row of each table)."""
        for op in (O.SET_ENDPOINT_ROLE, O.PKCS_11, O.RE_PROVISION):
            self.assertIn(R.OPERATION_NOT_SUPPORTED, TABLES[op])
            r = Env(self).run(op, payload())
            self.assertEqual(r.reason, R.OPERATION_NOT_SUPPORTED, (O(op).name, r.message))

    def test_interop_switched_off(self) -> None:
        """Interop with Interop disabled (production): Operation Not Supported."""
        d = make_processor(clock=FakeClock(NOW), node=NodeState(interop_enabled=False))
        env = Env(self)
        response = send(d, request(batch_item(O.INTEROP, VALID[O.INTEROP](env, "tester")), version=V21))
        (r,) = results(response)
        self.assertEqual(r.reason, R.OPERATION_NOT_SUPPORTED, r.message)

    add_rows(locals(), _general_rows())
