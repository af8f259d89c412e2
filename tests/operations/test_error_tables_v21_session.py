"""The specific rows of the KMIP 2.1 error tables of the asynchronous and housekeeping operations
(spec 2.1 6.1.5 Cancel, 6.1.38 Poll, 6.1.39 Process, 6.1.22 Get Constraints, 6.1.52 Set
Constraints, 6.1.53 Set Defaults, 6.1.57 Validate), and Feature Not Supported rows of the
operations where kmipd refuses a feature the request asks for: one KMIP 2.1 request per row.
Poll of a failed asynchronous item answers with the reason of the item's own table
(L{PolledFailureTests})."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twisted.trial.unittest import SynchronousTestCase

from kmipd.spec import AdjustmentType, DerivationMethod, ResultStatus, State, Tag, WrappingMethod
from kmipd.testing import batch_item, payload, request, send
from kmipd.ttlv import Item

from .error_tables import TABLES, V21, Env, O, R, Row, _slug, add_rows
from .test_error_tables_v21_certificates import csr, destroyed_certificate, destroyed_public, inline
from .test_error_tables_v21_objects import template
from .valid_v21 import VALID, aes, attrs, ec_pair, otype, uid

A = State.ACTIVE
MANDATORY = (Item.enum(Tag.ASYNCHRONOUS_INDICATOR, 1),)


def acv(value: bytes) -> Item:
    return payload(Item.bytes(Tag.ASYNCHRONOUS_CORRELATION_VALUE, value))


def defaults(object_type: int) -> Item:
    return payload(Item.struct(Tag.DEFAULTS_INFORMATION, [Item.struct(Tag.OBJECT_DEFAULTS, [
        Item.enum(Tag.OBJECT_TYPE, object_type), Item.struct(Tag.ATTRIBUTES, [])])]))


def constraint_types(object_type: int) -> Item:
    return payload(Item.struct(Tag.CONSTRAINTS, [Item.struct(Tag.CONSTRAINT, [
        Item.struct(Tag.OBJECT_TYPES, [Item.enum(Tag.OBJECT_TYPE, object_type)])])]))


def wrapped_get(env: Env, method: int) -> Item:
    return payload(uid(env.key()), Item.struct(Tag.KEY_WRAPPING_SPECIFICATION, [
        Item.enum(Tag.WRAPPING_METHOD, method),
        Item.struct(Tag.MAC_SIGNATURE_KEY_INFORMATION, [uid(env.key(key=bytes(32)))])]))


ROWS: list[Row] = [
    # Cancel (Table 178), Poll (Table 277), Process (Table 280)
    Row(O.CANCEL, R.INVALID_ASYNCHRONOUS_CORRELATION_VALUE, "no request has the correlation value",
        lambda e: acv(b"no-such-request"), v1=R.INVALID_FIELD),
    Row(O.CANCEL, R.PERMISSION_DENIED, "another client's request",
        lambda e: acv(e.pending("someone-else"))),
    Row(O.POLL, R.INVALID_ASYNCHRONOUS_CORRELATION_VALUE, "no request has the correlation value",
        lambda e: acv(b"no-such-request"), v1=R.INVALID_FIELD),
    Row(O.PROCESS, R.INVALID_ASYNCHRONOUS_CORRELATION_VALUE, "no request has the correlation value",
        lambda e: acv(b"no-such-request")),
    Row(O.POLL, R.PERMISSION_DENIED, "another client's request", lambda e: acv(e.pending("someone-else"))),
    Row(O.PROCESS, R.PERMISSION_DENIED, "another client's request", lambda e: acv(e.pending("someone-else"))),
    Row(O.CANCEL, R.FEATURE_NOT_SUPPORTED, "Asynchronous Indicator Mandatory (Cancel cannot be)",
        lambda e: acv(b"x"), header=MANDATORY),
    Row(O.POLL, R.FEATURE_NOT_SUPPORTED, "Asynchronous Indicator Mandatory (Poll cannot be)",
        lambda e: acv(b"x"), header=MANDATORY),
    Row(O.PROCESS, R.FEATURE_NOT_SUPPORTED, "Asynchronous Indicator Mandatory (Process cannot be)",
        lambda e: acv(b"x"), header=MANDATORY),
    Row(O.QUERY_ASYNCHRONOUS_REQUESTS, R.FEATURE_NOT_SUPPORTED,
        "Asynchronous Indicator Mandatory (Query Asynchronous Requests cannot be)", lambda e: payload(),
        header=MANDATORY),
    # Set Defaults (Table 330), Set Constraints (Table 327)
    Row(O.SET_DEFAULTS, R.INVALID_OBJECT_TYPE, "an Object Type value the spec does not define",
        lambda e: defaults(0x7F)),
    Row(O.SET_CONSTRAINTS, R.INVALID_OBJECT_TYPE, "an Object Type value the spec does not define",
        lambda e: constraint_types(0x7F)),
    Row(O.SET_DEFAULTS, R.INVALID_FIELD, "the same Object Type twice", lambda e: payload(Item.struct(
        Tag.DEFAULTS_INFORMATION, [Item.struct(Tag.OBJECT_DEFAULTS, [otype(), Item.struct(Tag.ATTRIBUTES, [])])] * 2))),
    # Validate (Table 342)
    Row(O.VALIDATE, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier",
        lambda e: payload(uid("no-such-object")), v1=R.ITEM_NOT_FOUND),
    Row(O.VALIDATE, R.INVALID_FIELD, "a Certificate Value that is no X.509 certificate",
        lambda e: payload(Item.struct(Tag.CERTIFICATE, [Item.enum(Tag.CERTIFICATE_TYPE, 1),
                                                        Item.bytes(Tag.CERTIFICATE_VALUE, b"junk")]))),
    Row(O.VALIDATE, R.INVALID_MESSAGE, "request payload not a structure", lambda e: Item.int(Tag.REQUEST_PAYLOAD, 1)),
    Row(O.VALIDATE, R.INVALID_OBJECT_TYPE, "a symmetric key is no certificate", lambda e: payload(uid(e.key()))),
    # Feature Not Supported where kmipd refuses a feature the request names
    Row(O.GET, R.FEATURE_NOT_SUPPORTED, "MAC/sign key wrapping",
        lambda e: wrapped_get(e, WrappingMethod.MAC_SIGN), v1=R.FEATURE_NOT_SUPPORTED),
    Row(O.EXPORT, R.FEATURE_NOT_SUPPORTED, "MAC/sign key wrapping",
        lambda e: wrapped_get(e, WrappingMethod.MAC_SIGN)),
    Row(O.DERIVE_KEY, R.FEATURE_NOT_SUPPORTED, "two base objects", lambda e: payload(
        otype(), uid(e.secret()), uid(e.secret()), Item.enum(Tag.DERIVATION_METHOD, DerivationMethod.HASH),
        Item.struct(Tag.DERIVATION_PARAMETERS, [Item.struct(Tag.CRYPTOGRAPHIC_PARAMETERS, [
            Item.enum(Tag.HASHING_ALGORITHM, 4)])]), attrs(*aes()))),
    Row(O.IMPORT, R.FEATURE_NOT_SUPPORTED, "Key Wrap Type Not Wrapped for a wrapped key",
        lambda e: _import_wrapped(e)),
]


def _import_wrapped(env: Env) -> Item:
    body = VALID[O.IMPORT](env, "tester")
    key = body.find(Tag.SYMMETRIC_KEY)
    block = key.find(Tag.KEY_BLOCK)
    block.value.append(Item.struct(Tag.KEY_WRAPPING_DATA, [Item.enum(Tag.WRAPPING_METHOD, WrappingMethod.ENCRYPT)]))
    body.value.insert(2, Item.enum(Tag.KEY_WRAP_TYPE, 1))  # Not Wrapped
    return body


class SessionRowsTests(SynchronousTestCase):
    add_rows(locals(), ROWS)


# Poll (Table 277) reports the failure of the item it polls: that item's reason, from that
# operation's table, the same as the item would have got synchronously ---------------------------


@dataclass(frozen=True)
class Polled:
    """An item made asynchronous (Mandatory) that fails when it runs, and the reason Poll reports."""

    op: int
    reason: int
    condition: str
    build: Callable[[Env], Item]
    v1: int | None = None


def _pair_with(*private: Item) -> Item:
    body = ec_pair()
    body.find(Tag.PRIVATE_KEY_ATTRIBUTES).value.extend(private)  # type: ignore[union-attr]
    return body


POLLED: list[Polled] = [
    # Table 181 lists Item Not Found (the failure's own 2.x reason is Object Not Found / Destroyed)
    Polled(O.CERTIFY, R.ITEM_NOT_FOUND, "the key to certify does not exist", lambda e: payload(uid("no-such-object")),
           v1=R.ITEM_NOT_FOUND),
    Polled(O.CERTIFY, R.ITEM_NOT_FOUND, "the key to certify is destroyed", lambda e: payload(uid(destroyed_public(e)))),
    Polled(O.CERTIFY, R.INVALID_CSR, "a PKCS#10 request whose signature fails",
           lambda e: payload(*inline(csr(tamper=True)))),
    # Table 302: Object Not Found (the failure's own 2.x reason: Object Destroyed)
    Polled(O.RE_CERTIFY, R.OBJECT_NOT_FOUND, "the certificate is destroyed",
           lambda e: payload(uid(destroyed_certificate(e)))),
    # Table 192
    Polled(O.CREATE_KEY_PAIR, R.ATTRIBUTE_READ_ONLY, "an Initial Date for the private key",
           lambda e: _pair_with(Item.datetime(Tag.INITIAL_DATE, 1))),
    Polled(O.CREATE_KEY_PAIR, R.INVALID_ATTRIBUTE, "a Certificate Type for the private key",
           lambda e: _pair_with(Item.enum(Tag.CERTIFICATE_TYPE, 1))),
    # Table 172 (Adjust Attribute) lists Item Not Found; Table 185 (Check) Illegal Object Type
    Polled(O.ADJUST_ATTRIBUTE, R.ITEM_NOT_FOUND, "no object has the Unique Identifier",
           lambda e: payload(uid("no-such-object"), Item.enum(Tag.ATTRIBUTE_REFERENCE, Tag.EXTRACTABLE),
                             Item.enum(Tag.ADJUSTMENT_TYPE, AdjustmentType.NEGATE))),
    Polled(O.CHECK, R.ILLEGAL_OBJECT_TYPE, "a Template cannot be checked", lambda e: payload(uid(template(e)))),
]


def _submit(case: SynchronousTestCase, env: Env, p: Polled, version: tuple[int, int]) -> bytes:
    indicator = (Item.enum(Tag.ASYNCHRONOUS_INDICATOR, 1) if version >= (2, 0)
                 else Item.bool(Tag.ASYNCHRONOUS_INDICATOR, True))
    response = send(env.d, request(batch_item(p.op, p.build(env)), version=version,  # type: ignore[arg-type]
                                   header_extra=[indicator]), "tester")
    item = response.find(Tag.BATCH_ITEM)
    assert item is not None
    case.assertEqual(item.get(Tag.RESULT_STATUS), ResultStatus.OPERATION_PENDING, item.get(Tag.RESULT_MESSAGE))
    return item.get(Tag.ASYNCHRONOUS_CORRELATION_VALUE)


def check_polled(case: SynchronousTestCase, p: Polled, version: tuple[int, int]) -> int:
    """Submit C{p}, run it, Poll it; the reason Poll reports (checked against the synchronous one)."""
    env = Env(case)
    value = _submit(case, env, p, version)
    case.assertEqual(env.d.node.jobs.run_submitted(), 1)  # type: ignore[attr-defined]
    polled = env.run(O.POLL, acv(value), version=version)
    case.assertEqual(polled.status, ResultStatus.OPERATION_FAILED, p.condition)
    case.assertTrue(polled.message, p.condition)
    fresh = Env(case)
    synchronous = fresh.run(p.op, p.build(fresh), version=version)
    case.assertEqual(polled.reason, synchronous.reason, f"{p.condition}: Poll vs synchronous ({polled.message})")
    return polled.reason


class PolledFailureTests(SynchronousTestCase):
    """Poll of a failed asynchronous item: the reason the item's own 2.1 table lists."""

    for _p in POLLED:
        def _test(self: SynchronousTestCase, p: Polled = _p) -> None:
            self.assertIn(p.reason, TABLES[p.op], R(p.reason).name)
            got = check_polled(self, p, V21)
            self.assertEqual(got, p.reason, f"{O(p.op).name} / {p.condition}: got {R(got).name}")
            if p.v1 is not None:
                self.assertEqual(check_polled(self, p, (1, 4)), p.v1, p.condition)

        _test.__name__ = f"test_poll_{O(_p.op).name.lower()}__{R(_p.reason).name.lower()}__{_slug(_p.condition)}"
        _test.__doc__ = f"Poll of {O(_p.op).name} failing: {R(_p.reason).name} when {_p.condition}."
        locals()[_test.__name__] = _test
    del _p, _test

