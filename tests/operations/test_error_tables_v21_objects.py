"""The specific rows of the KMIP 2.1 error tables of the object and lifecycle operations (spec 2.1
6.1.1 Activate, 6.1.4 Archive, 6.1.7 Check, 6.1.15 Destroy, 6.1.18 Export, 6.1.19 Get, 6.1.20 Get
Attributes, 6.1.21 Get Attribute List, 6.1.23 Get Usage Allocation, 6.1.28 Locate, 6.1.35 Obtain
Lease, 6.1.42 Recover, 6.1.44 Revoke): one KMIP 2.1 request per row, named after it."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.spec import (
    BlockCipherMode,
    EncodingOption,
    KeyCompressionType,
    KeyFormatType,
    KeyWrapType,
    ObjectType,
    RevocationReasonCode,
    State,
    Tag,
    WrappingMethod,
)
from kmipd.spec import CryptographicUsageMask as M
from kmipd.testing import payload
from kmipd.ttlv import Item

from .error_tables import Env, O, R, Row, add_rows
from .test_crypto_ops import add_object, cp
from .valid_v21 import attrs, uid

A, P, D, X = State.ACTIVE, State.PRE_ACTIVE, State.DEACTIVATED, State.DESTROYED
NO_SUCH = uid("no-such-object")
WRAP = M.WRAP_KEY | M.UNWRAP_KEY


def template(env: Env) -> str:
    """A Template object (registered by a 1.x client; 2.x has no templates and no lifecycle for them)."""
    material = Item.struct(Tag.TEMPLATE, [Item.struct(Tag.ATTRIBUTE, [
        Item.text(Tag.ATTRIBUTE_NAME, "Cryptographic Length"), Item.int(Tag.ATTRIBUTE_VALUE, 128)])])
    uid_ = add_object(env.d, ObjectType.TEMPLATE, material, mask=None,
                      extra={"Operation Policy Name": [Item.text(Tag.OPERATION_POLICY_NAME, "templates")]})
    with env.store.transaction() as tx:
        obj = tx.get(uid_)
        obj.attributes.pop("State", None)
        tx.save(obj)
    return uid_


def limits(count: int) -> dict[str, list[Item]]:
    return {"Usage Limits": [Item.struct(Tag.USAGE_LIMITS, [
        Item.long(Tag.USAGE_LIMITS_TOTAL, 10), Item.long(Tag.USAGE_LIMITS_COUNT, count),
        Item.enum(Tag.USAGE_LIMITS_UNIT, 2)])]}


def revoke(u: str, code: int = RevocationReasonCode.CESSATION_OF_OPERATION) -> Item:
    return payload(uid(u), Item.struct(Tag.REVOCATION_REASON, [Item.enum(Tag.REVOCATION_REASON_CODE, code)]))


def kws(wrapping_key: str, *params: Item, encoding: int | None = None) -> Item:
    """A Key Wrapping Specification (Encrypt) under C{wrapping_key}."""
    return Item.struct(Tag.KEY_WRAPPING_SPECIFICATION, [
        Item.enum(Tag.WRAPPING_METHOD, WrappingMethod.ENCRYPT),
        Item.struct(Tag.ENCRYPTION_KEY_INFORMATION, [uid(wrapping_key), *params]),
        Item.enum(Tag.ENCODING_OPTION, encoding) if encoding is not None else None])


def wrapped_stored(env: Env) -> str:
    """A key registered wrapped (kmipd holds no key that unwraps it)."""
    material = Item.struct(Tag.SYMMETRIC_KEY, [Item.struct(Tag.KEY_BLOCK, [
        Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.RAW), Item.bytes(Tag.KEY_VALUE, bytes(40)),
        Item.struct(Tag.KEY_WRAPPING_DATA, [Item.enum(Tag.WRAPPING_METHOD, WrappingMethod.ENCRYPT)])])])
    return add_object(env.d, ObjectType.SYMMETRIC_KEY, material)


def _get_rows(op: int) -> list[Row]:
    """The rows Get and Export share (Export = Get and the attributes)."""
    return [
        Row(op, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier", lambda e: payload(NO_SUCH),
            v1=R.ITEM_NOT_FOUND),
        Row(op, R.KEY_FORMAT_TYPE_NOT_SUPPORTED, "a symmetric key asked for as PKCS#1",
            lambda e: payload(uid(e.key()), Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.PKCS_1))),
        Row(op, R.KEY_COMPRESSION_TYPE_NOT_SUPPORTED, "a symmetric key asked for EC compressed",
            lambda e: payload(uid(e.key()), Item.enum(Tag.KEY_COMPRESSION_TYPE,
                                                      KeyCompressionType.EC_PUBLIC_KEY_TYPE_X9_62_COMPRESSED_PRIME))),
        # Object Destroyed, as the 2.1 profile test case BL-M-8-21 answers (kmipd.errors.PROFILE_REASONS)
        *([Row(op, R.OBJECT_DESTROYED, "the object is destroyed (metadata only)",
               lambda e: payload(uid(e.key(state=X))))] if op == O.GET else []),
        Row(op, R.KEY_WRAP_TYPE_NOT_SUPPORTED, "Not Wrapped asked of a key registered wrapped",
            lambda e: payload(uid(wrapped_stored(e)), Item.enum(Tag.KEY_WRAP_TYPE, KeyWrapType.NOT_WRAPPED))),
        Row(op, R.WRAPPING_OBJECT_NOT_FOUND, "the wrapping key does not exist",
            lambda e: payload(uid(e.key()), kws("no-such-key")), v1=R.ITEM_NOT_FOUND),
        Row(op, R.WRAPPING_OBJECT_DESTROYED, "the wrapping key is destroyed",
            lambda e: payload(uid(e.key()), kws(e.key(state=X, mask=WRAP, key=bytes(32))))),
        Row(op, R.WRAPPING_OBJECT_ARCHIVED, "the wrapping key is archived",
            lambda e: payload(uid(e.key()), kws(e.archived(e.key(mask=WRAP, key=bytes(32))))),
            v1=R.OBJECT_ARCHIVED),
        Row(op, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, "the wrapping key's mask lacks Wrap Key",
            lambda e: payload(uid(e.key()), kws(e.key(mask=M.ENCRYPT, key=bytes(32)))), v1=R.PERMISSION_DENIED),
        Row(op, R.INVALID_OBJECT_TYPE, "the wrapping key is Secret Data",
            lambda e: payload(uid(e.key()), kws(e.secret()))),
        Row(op, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "AES wrapping in CBC mode",
            lambda e: payload(uid(e.key()), kws(e.key(mask=WRAP, key=bytes(32)),
                                                cp(block_cipher_mode=BlockCipherMode.CBC)))),
        Row(op, R.ENCODING_OPTION_ERROR, "an Encoding Option kmipd does not know",
            lambda e: payload(uid(e.key()), kws(e.key(mask=WRAP, key=bytes(32)), encoding=3))),
        Row(op, R.ENCODING_OPTION_ERROR, "No Encoding of a transparent key",
            lambda e: payload(uid(e.key()), Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.TRANSPARENT_SYMMETRIC_KEY),
                              kws(e.key(mask=WRAP, key=bytes(32)), encoding=EncodingOption.NO_ENCODING))),
    ]


ROWS: list[Row] = [
    # Activate (Table 166)
    Row(O.ACTIVATE, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier", lambda e: payload(NO_SUCH),
        v1=R.ITEM_NOT_FOUND),
    Row(O.ACTIVATE, R.WRONG_KEY_LIFECYCLE_STATE, "the key is already Active", lambda e: payload(uid(e.key()))),
    Row(O.ACTIVATE, R.WRONG_KEY_LIFECYCLE_STATE, "the key is Deactivated", lambda e: payload(uid(e.key(state=D)))),
    Row(O.ACTIVATE, R.WRONG_KEY_LIFECYCLE_STATE, "the key is destroyed", lambda e: payload(uid(e.key(state=X)))),
    Row(O.ACTIVATE, R.INVALID_OBJECT_TYPE, "a Template has no lifecycle", lambda e: payload(uid(template(e)))),
    # Archive (Table 175), Recover (Table 290)
    Row(O.ARCHIVE, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier", lambda e: payload(NO_SUCH),
        v1=R.ITEM_NOT_FOUND),
    Row(O.ARCHIVE, R.OBJECT_ARCHIVED, "the object is already archived",
        lambda e: payload(uid(e.archived(e.key()))), v1=R.OBJECT_ARCHIVED),
    Row(O.RECOVER, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier", lambda e: payload(NO_SUCH),
        v1=R.ITEM_NOT_FOUND),
    # Destroy (Table 210)
    Row(O.DESTROY, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier", lambda e: payload(NO_SUCH),
        v1=R.ITEM_NOT_FOUND),
    Row(O.DESTROY, R.OBJECT_DESTROYED, "the key is already destroyed", lambda e: payload(uid(e.key(state=X))),
        v1=R.ITEM_NOT_FOUND),
    Row(O.DESTROY, R.WRONG_KEY_LIFECYCLE_STATE, "the key is Active", lambda e: payload(uid(e.key()))),
    # Revoke (Table 297)
    Row(O.REVOKE, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier", lambda e: revoke("no-such-object"),
        v1=R.ITEM_NOT_FOUND),
    Row(O.REVOKE, R.WRONG_KEY_LIFECYCLE_STATE, "a non-compromise Revoke of a Deactivated key",
        lambda e: revoke(e.key(state=D))),
    Row(O.REVOKE, R.WRONG_KEY_LIFECYCLE_STATE, "a non-compromise Revoke of a destroyed key",
        lambda e: revoke(e.key(state=X))),
    Row(O.REVOKE, R.INVALID_OBJECT_TYPE, "a Template has no lifecycle", lambda e: revoke(template(e))),
    Row(O.REVOKE, R.INVALID_FIELD, "a Revocation Reason Code kmipd does not know",
        lambda e: revoke(e.key(), 0x7F)),
    Row(O.REVOKE, R.INVALID_FIELD, "a Compromise Occurrence Date with a non-compromise reason",
        lambda e: Item.struct(Tag.REQUEST_PAYLOAD, [*revoke(e.key()).value,
                                                     Item.datetime(Tag.COMPROMISE_OCCURRENCE_DATE, 1)])),
    # Check (Table 185)
    Row(O.CHECK, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier", lambda e: payload(NO_SUCH),
        v1=R.ITEM_NOT_FOUND),
    Row(O.CHECK, R.USAGE_LIMIT_EXCEEDED, "more usage than the Usage Limits Count left",
        lambda e: payload(uid(e.key(extra=limits(2))), Item.long(Tag.USAGE_LIMITS_COUNT, 5)),
        v1=R.PERMISSION_DENIED),
    Row(O.CHECK, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, "a usage the key's mask does not allow",
        lambda e: payload(uid(e.key(mask=M.ENCRYPT)), Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, M.SIGN)),
        v1=R.PERMISSION_DENIED),
    Row(O.CHECK, R.ILLEGAL_OBJECT_TYPE, "a Template cannot be checked", lambda e: payload(uid(template(e))),
        v1=R.ILLEGAL_OPERATION),
    # Obtain Lease (Table 270)
    Row(O.OBTAIN_LEASE, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier", lambda e: payload(NO_SUCH),
        v1=R.ITEM_NOT_FOUND),
    Row(O.OBTAIN_LEASE, R.USAGE_LIMIT_EXCEEDED, "the key's Usage Limits are used up",
        lambda e: payload(uid(e.key(extra=limits(0))))),
    # Get Usage Allocation (Table 234)
    Row(O.GET_USAGE_ALLOCATION, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier",
        lambda e: payload(NO_SUCH, Item.long(Tag.USAGE_LIMITS_COUNT, 1)), v1=R.ITEM_NOT_FOUND),
    Row(O.GET_USAGE_ALLOCATION, R.ATTRIBUTE_NOT_FOUND, "the key has no Usage Limits",
        lambda e: payload(uid(e.key()), Item.long(Tag.USAGE_LIMITS_COUNT, 1))),
    Row(O.GET_USAGE_ALLOCATION, R.USAGE_LIMIT_EXCEEDED, "more than the Usage Limits Count left",
        lambda e: payload(uid(e.key(extra=limits(2))), Item.long(Tag.USAGE_LIMITS_COUNT, 3)),
        v1=R.PERMISSION_DENIED),
    Row(O.GET_USAGE_ALLOCATION, R.INVALID_OBJECT_TYPE, "an Opaque Object cannot apply protection",
        lambda e: payload(uid(e.opaque(extra=limits(5))), Item.long(Tag.USAGE_LIMITS_COUNT, 1))),
    # Get (Table 222), Export (Table 219)
    *_get_rows(O.GET),
    Row(O.GET, R.NOT_EXTRACTABLE, "the key is not Extractable",
        lambda e: payload(uid(e.key(extra={"Extractable": [Item.bool(Tag.EXTRACTABLE, False)]})))),
    Row(O.GET, R.SENSITIVE, "the key is Sensitive and no wrapping is asked",
        lambda e: payload(uid(e.key(extra={"Sensitive": [Item.bool(Tag.SENSITIVE, True)]})))),
    *_get_rows(O.EXPORT),
    # Get Attributes (Table 225), Get Attribute List (Table 228), Locate (Table 249)
    Row(O.GET_ATTRIBUTES, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier", lambda e: payload(NO_SUCH),
        v1=R.ITEM_NOT_FOUND),
    Row(O.GET_ATTRIBUTES, R.INVALID_ATTRIBUTE, "an Attribute Reference to a tag that is no attribute",
        lambda e: payload(uid(e.key()), Item.enum(Tag.ATTRIBUTE_REFERENCE, Tag.KEY_MATERIAL))),
    Row(O.GET_ATTRIBUTE_LIST, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier",
        lambda e: payload(NO_SUCH), v1=R.ITEM_NOT_FOUND),
    Row(O.LOCATE, R.INVALID_ATTRIBUTE, "a criterion that is no attribute",
        lambda e: payload(attrs(Item.bytes(Tag.KEY_MATERIAL, b"x")))),
]


class ObjectRowsTests(SynchronousTestCase):
    add_rows(locals(), ROWS)
