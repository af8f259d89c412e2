"""The specific rows of the KMIP 2.1 error tables of the asynchronous and housekeeping operations
(spec 2.1 6.1.5 Cancel, 6.1.38 Poll, 6.1.39 Process, 6.1.22 Get Constraints, 6.1.52 Set
Constraints, 6.1.53 Set Defaults, 6.1.57 Validate), and Feature Not Supported rows of the
operations where kmipd refuses a feature the request asks for: one KMIP 2.1 request per row."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.spec import DerivationMethod, State, Tag, WrappingMethod
from kmipd.testing import payload
from kmipd.ttlv import Item

from .error_tables import Env, O, R, Row, add_rows
from .valid_v21 import VALID, aes, attrs, otype, uid

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

