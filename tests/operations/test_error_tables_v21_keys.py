"""The specific rows of the KMIP 2.1 error tables of the operations that make objects (spec 2.1
6.1.8 Create, 6.1.9 Create Key Pair, 6.1.10 Create Split Key, 6.1.14 Derive Key, 6.1.25 Import,
6.1.27 Join Split Key, 6.1.43 Register, 6.1.46 Re-key, 6.1.47 Re-key Key Pair): one KMIP 2.1
request per row, named after it."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as M
from kmipd.spec import (
    DerivationMethod,
    HashingAlgorithm,
    ObjectType,
    ProtectionStorageMask,
    SplitKeyMethod,
    State,
    Tag,
)
from kmipd.testing import payload
from kmipd.ttlv import Item

from .error_tables import Env, O, R, Row, add_rows
from .test_crypto_ops import add_object, cp
from .valid_v21 import VALID, aes, attrs, derive, ec_keys, ec_pair, exported, import_body, join, otype, split_parts, uid

A, P, D, X = State.ACTIVE, State.PRE_ACTIVE, State.DEACTIVATED, State.DESTROYED
NO_SUCH = uid("no-such-object")
BAD_NAME = Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, "n")])
HSM = Item.struct(Tag.PROTECTION_STORAGE_MASKS, [Item.int(Tag.PROTECTION_STORAGE_MASK, ProtectionStorageMask.HARDWARE)])


def name(text: str) -> Item:
    return Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, text), Item.enum(Tag.NAME_TYPE, 1)])


def create(*extra: Item, object_type: int = ObjectType.SYMMETRIC_KEY, base: list[Item] | None = None) -> Item:
    return payload(otype(object_type), attrs(*(aes() if base is None else base), *extra))


def taken(env: Env) -> Item:
    """Create a key named "taken"; the Name for the request to reuse."""
    assert env.run(O.CREATE, create(name("taken"))).ok
    return name("taken")


def register(*extra: Item, object_type: int = ObjectType.SYMMETRIC_KEY, base: list[Item] | None = None) -> Item:
    body = VALID[O.REGISTER](None, "tester")  # type: ignore[arg-type]
    key = body.find(Tag.SYMMETRIC_KEY)
    return payload(otype(object_type), attrs(*(aes() if base is None else base), *extra), key)


def pair(*common: Item, private: list[Item] = (), public: list[Item] = ()) -> Item:  # type: ignore[assignment]
    body = ec_pair(*common)
    priv, pub = body.find(Tag.PRIVATE_KEY_ATTRIBUTES), body.find(Tag.PUBLIC_KEY_ATTRIBUTES)
    priv.value.extend(private)
    pub.value.extend(public)
    return body


def pair_masks(tag: int) -> Item:
    return Item.struct(tag, [Item.int(Tag.PROTECTION_STORAGE_MASK, ProtectionStorageMask.HARDWARE)])


def split(env: Env, *, source: str | None = None, object_type: int = ObjectType.SYMMETRIC_KEY, parts: int = 3,
          threshold: int = 2, method: int = SplitKeyMethod.POLYNOMIAL_SHARING_GF_2_8, prime: int | None = None,
          extra: tuple[Item, ...] = ()) -> Item:
    return payload(otype(object_type), uid(source) if source else None, Item.int(Tag.SPLIT_KEY_PARTS, parts),
                   Item.int(Tag.SPLIT_KEY_THRESHOLD, threshold), Item.enum(Tag.SPLIT_KEY_METHOD, method),
                   Item.big(Tag.PRIME_FIELD_SIZE, prime) if prime is not None else None,
                   attrs(*([] if source else aes()), *extra))


def imported(env: Env, *replace: tuple[int, Item | None], new_uid: str = "imported-1") -> Item:
    """An Import of a key exported here, its attributes changed as C{replace} says (tag -> item or None)."""
    ex = exported(env)
    changes = dict(replace)
    container = ex.find(Tag.ATTRIBUTES)
    kept = [c for c in container.value if c.tag not in changes]
    container.value = kept + [i for i in changes.values() if i is not None]
    return import_body(new_uid, ex)


def destroyed_part(env: Env) -> list[str]:
    parts = split_parts(env)
    assert env.run(O.DESTROY, payload(uid(parts[1]))).ok
    return parts[:2]


ROWS: list[Row] = [
    # Create (Table 188)
    Row(O.CREATE, R.ATTRIBUTE_SINGLE_VALUED, "two Cryptographic Algorithm instances",
        lambda e: create(Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES))),
    Row(O.CREATE, R.ATTRIBUTE_READ_ONLY, "an Initial Date (set by the server)",
        lambda e: create(Item.datetime(Tag.INITIAL_DATE, 1))),
    Row(O.CREATE, R.INVALID_ATTRIBUTE, "an attribute that does not apply to a symmetric key",
        lambda e: create(Item.enum(Tag.CERTIFICATE_TYPE, 1))),
    Row(O.CREATE, R.INVALID_ATTRIBUTE, "an item of Attributes that is no attribute",
        lambda e: create(Item.bytes(Tag.KEY_MATERIAL, b"x"))),
    Row(O.CREATE, R.INVALID_ATTRIBUTE_VALUE, "a Name without Name Type", lambda e: create(BAD_NAME)),
    Row(O.CREATE, R.INVALID_OBJECT_TYPE, "a Certificate cannot be created", lambda e: create(
        object_type=ObjectType.CERTIFICATE)),
    Row(O.CREATE, R.NON_UNIQUE_NAME_ATTRIBUTE, "a Name another object has", lambda e: create(taken(e))),
    Row(O.CREATE, R.PROTECTION_STORAGE_UNAVAILABLE, "HSM protection storage",
        lambda e: Item.struct(Tag.REQUEST_PAYLOAD, [*create().value, HSM])),
    # Create Key Pair (Table 192)
    Row(O.CREATE_KEY_PAIR, R.ATTRIBUTE_SINGLE_VALUED, "two Cryptographic Length instances",
        lambda e: pair(Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256))),
    Row(O.CREATE_KEY_PAIR, R.ATTRIBUTE_READ_ONLY, "an Initial Date (set by the server)",
        lambda e: pair(Item.datetime(Tag.INITIAL_DATE, 1))),
    Row(O.CREATE_KEY_PAIR, R.INVALID_ATTRIBUTE, "an item of Attributes that is no attribute",
        lambda e: pair(Item.bytes(Tag.KEY_MATERIAL, b"x"))),
    Row(O.CREATE_KEY_PAIR, R.INVALID_ATTRIBUTE_VALUE, "a private key Name without Name Type",
        lambda e: pair(private=[BAD_NAME])),
    Row(O.CREATE_KEY_PAIR, R.NON_UNIQUE_NAME_ATTRIBUTE, "a private key Name another object has",
        lambda e: pair(private=[taken(e)])),
    Row(O.CREATE_KEY_PAIR, R.PRIVATE_PROTECTION_STORAGE_UNAVAILABLE, "HSM storage for the private key",
        lambda e: Item.struct(Tag.REQUEST_PAYLOAD, [*pair().value,
                                                     pair_masks(Tag.PRIVATE_PROTECTION_STORAGE_MASKS)])),
    Row(O.CREATE_KEY_PAIR, R.PUBLIC_PROTECTION_STORAGE_UNAVAILABLE, "HSM storage for the public key",
        lambda e: Item.struct(Tag.REQUEST_PAYLOAD, [*pair().value,
                                                     pair_masks(Tag.PUBLIC_PROTECTION_STORAGE_MASKS)])),
    # Register (Table 294)
    Row(O.REGISTER, R.ATTRIBUTE_SINGLE_VALUED, "two Cryptographic Algorithm instances",
        lambda e: register(Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES))),
    Row(O.REGISTER, R.ATTRIBUTE_READ_ONLY, "an Initial Date (set by the server)",
        lambda e: register(Item.datetime(Tag.INITIAL_DATE, 1))),
    Row(O.REGISTER, R.INVALID_ATTRIBUTE, "an item of Attributes that is no attribute",
        lambda e: register(Item.bytes(Tag.KEY_MATERIAL, b"x"))),
    Row(O.REGISTER, R.INVALID_OBJECT_TYPE, "Object Type Secret Data with a Symmetric Key",
        lambda e: register(object_type=ObjectType.SECRET_DATA)),
    Row(O.REGISTER, R.NON_UNIQUE_NAME_ATTRIBUTE, "a Name another object has", lambda e: register(taken(e))),
    Row(O.REGISTER, R.PROTECTION_STORAGE_UNAVAILABLE, "HSM protection storage",
        lambda e: Item.struct(Tag.REQUEST_PAYLOAD, [*register().value, HSM])),
    Row(O.REGISTER, R.INVALID_ATTRIBUTE_VALUE, "a Name without Name Type",
        lambda e: register(BAD_NAME)),
    # Re-key (Table 307), Re-key Key Pair (Table 312)
    Row(O.RE_KEY, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier", lambda e: payload(NO_SUCH),
        v1=R.ITEM_NOT_FOUND),
    Row(O.RE_KEY, R.INVALID_OBJECT_TYPE, "a private key", lambda e: payload(uid(ec_keys(e)[0]))),
    Row(O.RE_KEY, R.KEY_VALUE_NOT_PRESENT, "the key is destroyed (metadata only)",
        lambda e: payload(uid(e.key(state=X)))),
    Row(O.RE_KEY, R.PROTECTION_STORAGE_UNAVAILABLE, "HSM protection storage",
        lambda e: payload(uid(e.key()), HSM)),
    Row(O.RE_KEY_KEY_PAIR, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier",
        lambda e: payload(Item.text(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, "no-such-object")), v1=R.ITEM_NOT_FOUND),
    Row(O.RE_KEY_KEY_PAIR, R.KEY_VALUE_NOT_PRESENT, "the private key is destroyed (metadata only)",
        lambda e: payload(Item.text(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, _destroyed_private(e)))),
    Row(O.RE_KEY_KEY_PAIR, R.INVALID_OBJECT_TYPE, "a symmetric key",
        lambda e: payload(Item.text(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, e.key()))),
    Row(O.RE_KEY_KEY_PAIR, R.PRIVATE_PROTECTION_STORAGE_UNAVAILABLE, "HSM storage for the private key",
        lambda e: payload(Item.text(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, ec_keys(e)[0]),
                          pair_masks(Tag.PRIVATE_PROTECTION_STORAGE_MASKS))),
    Row(O.RE_KEY_KEY_PAIR, R.PUBLIC_PROTECTION_STORAGE_UNAVAILABLE, "HSM storage for the public key",
        lambda e: payload(Item.text(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, ec_keys(e)[0]),
                          pair_masks(Tag.PUBLIC_PROTECTION_STORAGE_MASKS))),
    # Derive Key (Table 207)
    Row(O.DERIVE_KEY, R.OBJECT_NOT_FOUND, "the base object does not exist", lambda e: derive("no-such-object")),
    Row(O.DERIVE_KEY, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, "the base object's mask lacks Derive Key",
        lambda e: derive(e.key(mask=M.ENCRYPT))),
    Row(O.DERIVE_KEY, R.WRONG_KEY_LIFECYCLE_STATE, "the base object is Deactivated",
        lambda e: derive(e.key(state=D, mask=M.DERIVE_KEY))),
    Row(O.DERIVE_KEY, R.INVALID_OBJECT_TYPE, "the base object is an Opaque Object", lambda e: derive(e.opaque())),
    Row(O.DERIVE_KEY, R.WRONG_KEY_LIFECYCLE_STATE, "the base key is destroyed",
        lambda e: derive(e.key(state=X, mask=M.DERIVE_KEY))),
    Row(O.DERIVE_KEY, R.INVALID_OBJECT_TYPE, "a Public Key cannot be derived",
        lambda e: Item.struct(Tag.REQUEST_PAYLOAD, [otype(ObjectType.PUBLIC_KEY), *derive(e.secret()).value[1:]])),
    Row(O.DERIVE_KEY, R.KEY_VALUE_NOT_PRESENT, "the base object is stored wrapped under a key kmipd lacks",
        lambda e: derive(_wrapped_secret(e))),
    Row(O.DERIVE_KEY, R.INVALID_ATTRIBUTE, "an item of Attributes that is no attribute",
        lambda e: derive(e.secret(), Item.bytes(Tag.KEY_MATERIAL, b"x"))),
    Row(O.DERIVE_KEY, R.NON_UNIQUE_NAME_ATTRIBUTE, "a Name another object has",
        lambda e: derive(e.secret(), taken(e))),
    Row(O.DERIVE_KEY, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "PBKDF2 with a PRF that is no hash",
        lambda e: payload(otype(), uid(e.secret()), Item.enum(Tag.DERIVATION_METHOD, DerivationMethod.PBKDF2),
                          Item.struct(Tag.DERIVATION_PARAMETERS, [
                              cp(hashing_algorithm=HashingAlgorithm.MD2), Item.bytes(Tag.SALT, b"salt-salt"),
                              Item.int(Tag.ITERATION_COUNT, 1000)]), attrs(*aes()))),
    Row(O.DERIVE_KEY, R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, "the derivation method AWS Signature Version 4",
        lambda e: payload(otype(), uid(e.secret()),
                          Item.enum(Tag.DERIVATION_METHOD, DerivationMethod.AWS_SIGNATURE_VERSION_4),
                          Item.struct(Tag.DERIVATION_PARAMETERS, [Item.bytes(Tag.DERIVATION_DATA, b"d")]),
                          attrs(*aes()))),
    # Create Split Key (Table 195)
    Row(O.CREATE_SPLIT_KEY, R.ITEM_NOT_FOUND, "the key to split does not exist",
        lambda e: split(e, source="no-such-object")),
    Row(O.CREATE_SPLIT_KEY, R.INVALID_OBJECT_TYPE, "a Certificate cannot be split",
        lambda e: split(e, source=e.key(), object_type=ObjectType.CERTIFICATE)),
    Row(O.CREATE_SPLIT_KEY, R.SERVER_LIMIT_EXCEEDED, "a prime field of 9001 bits",
        lambda e: split(e, source=e.key(), method=SplitKeyMethod.POLYNOMIAL_SHARING_PRIME_FIELD,
                        prime=(1 << 9000) + 1)),
    Row(O.CREATE_SPLIT_KEY, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "XOR with a threshold below the number of parts",
        lambda e: split(e, source=e.key(), method=SplitKeyMethod.XOR, parts=3, threshold=2)),
    Row(O.CREATE_SPLIT_KEY, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "a threshold above the number of parts",
        lambda e: split(e, source=e.key(), parts=3, threshold=4)),
    Row(O.CREATE_SPLIT_KEY, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "no Split Key Parts (0)",
        lambda e: split(e, source=e.key(), parts=0, threshold=0)),
    Row(O.CREATE_SPLIT_KEY, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "a prime field without a Prime Field Size",
        lambda e: split(e, source=e.key(), method=SplitKeyMethod.POLYNOMIAL_SHARING_PRIME_FIELD)),
    Row(O.CREATE_SPLIT_KEY, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "a Prime Field Size that is not prime",
        lambda e: split(e, source=e.key(), method=SplitKeyMethod.POLYNOMIAL_SHARING_PRIME_FIELD,
                        prime=(1 << 300) + 1)),
    Row(O.CREATE_SPLIT_KEY, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "a Prime Field Size not above 2^L",
        lambda e: split(e, source=e.key(), method=SplitKeyMethod.POLYNOMIAL_SHARING_PRIME_FIELD, prime=257)),
    Row(O.CREATE_SPLIT_KEY, R.INVALID_FIELD, "a Split Key Method value the spec does not define",
        lambda e: split(e, source=e.key(), method=0x7F)),
    Row(O.CREATE_SPLIT_KEY, R.INVALID_ATTRIBUTE, "an item of Attributes that is no attribute",
        lambda e: split(e, extra=(Item.bytes(Tag.KEY_MATERIAL, b"x"),))),
    Row(O.CREATE_SPLIT_KEY, R.NON_UNIQUE_NAME_ATTRIBUTE, "a part's Name (Name + part i) another object has",
        lambda e: split(e, extra=(_part_name_taken(e),))),
    Row(O.CREATE_SPLIT_KEY, R.INVALID_ATTRIBUTE_VALUE, "a Name without Name Type",
        lambda e: split(e, extra=(BAD_NAME,))),
    Row(O.CREATE_SPLIT_KEY, R.PERMISSION_DENIED, "the key to split is another client's",
        lambda e: split(e, source=e.key(owner="someone-else"))),
    Row(O.CREATE_SPLIT_KEY, R.PROTECTION_STORAGE_UNAVAILABLE, "HSM protection storage",
        lambda e: Item.struct(Tag.REQUEST_PAYLOAD, [*split(e).value, HSM])),
    # Join Split Key (Table 246)
    Row(O.JOIN_SPLIT_KEY, R.OBJECT_NOT_FOUND, "a part does not exist",
        lambda e: join([split_parts(e)[0], "no-such-object"])),
    Row(O.JOIN_SPLIT_KEY, R.OBJECT_NOT_FOUND, "a part is destroyed", lambda e: join(destroyed_part(e))),
    Row(O.JOIN_SPLIT_KEY, R.INVALID_OBJECT_TYPE, "a part is a symmetric key",
        lambda e: join([split_parts(e)[0], e.key()])),
    Row(O.JOIN_SPLIT_KEY, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "fewer parts than the threshold",
        lambda e: join(split_parts(e)[:1])),
    Row(O.JOIN_SPLIT_KEY, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "the same part twice",
        lambda e: join([split_parts(e)[0]] * 2)),
    Row(O.JOIN_SPLIT_KEY, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "parts of splits with different thresholds",
        lambda e: join([split_parts(e)[0], _parts(e, threshold=3)[1]])),
    Row(O.JOIN_SPLIT_KEY, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "not every part of an XOR split",
        lambda e: join(_parts(e, method=SplitKeyMethod.XOR)[:2])),
    Row(O.JOIN_SPLIT_KEY, R.ATTRIBUTE_SINGLE_VALUED, "two Cryptographic Usage Mask instances",
        lambda e: join(split_parts(e)[:2], Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 4),
                       Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 8))),
    Row(O.JOIN_SPLIT_KEY, R.ATTRIBUTE_READ_ONLY, "an Initial Date (set by the server)",
        lambda e: join(split_parts(e)[:2], Item.datetime(Tag.INITIAL_DATE, 1))),
    Row(O.JOIN_SPLIT_KEY, R.INVALID_ATTRIBUTE, "an item of Attributes that is no attribute",
        lambda e: join(split_parts(e)[:2], Item.bytes(Tag.KEY_MATERIAL, b"x"))),
    Row(O.JOIN_SPLIT_KEY, R.NON_UNIQUE_NAME_ATTRIBUTE, "a Name another object has",
        lambda e: join(split_parts(e)[:2], taken(e))),
    Row(O.JOIN_SPLIT_KEY, R.INVALID_ATTRIBUTE_VALUE, "a Name without Name Type",
        lambda e: join(split_parts(e)[:2], BAD_NAME)),
    Row(O.JOIN_SPLIT_KEY, R.PROTECTION_STORAGE_UNAVAILABLE, "HSM protection storage",
        lambda e: Item.struct(Tag.REQUEST_PAYLOAD, [*join(split_parts(e)[:2]).value, HSM])),
    # Import (Table 240)
    Row(O.IMPORT, R.OBJECT_ALREADY_EXISTS, "an object has the Unique Identifier",
        lambda e: import_body(e.key(), exported(e))),
    Row(O.IMPORT, R.ATTRIBUTE_SINGLE_VALUED, "two Cryptographic Length instances",
        lambda e: _twice(e)),
    Row(O.IMPORT, R.INVALID_ATTRIBUTE, "an item of Attributes that is no attribute",
        lambda e: imported(e, (Tag.KEY_MATERIAL, Item.bytes(Tag.KEY_MATERIAL, b"x")))),
    Row(O.IMPORT, R.INVALID_ATTRIBUTE, "an attribute that does not apply to a symmetric key",
        lambda e: imported(e, (Tag.CERTIFICATE_TYPE, Item.enum(Tag.CERTIFICATE_TYPE, 1))), v1=R.INVALID_FIELD),
    Row(O.IMPORT, R.INVALID_ATTRIBUTE_VALUE, "a Name without Name Type",
        lambda e: imported(e, (Tag.NAME, BAD_NAME)), v1=R.INVALID_FIELD),
    Row(O.IMPORT, R.INVALID_ATTRIBUTE_VALUE, "a Link without Linked Object Identifier",
        lambda e: imported(e, (Tag.LINK, Item.struct(Tag.LINK, [Item.enum(Tag.LINK_TYPE, 0x103)])))),
    Row(O.IMPORT, R.INVALID_ATTRIBUTE_VALUE, "a State value the spec does not define",
        lambda e: imported(e, (Tag.STATE, Item.enum(Tag.STATE, 0x7F)))),
    Row(O.IMPORT, R.INVALID_ATTRIBUTE_VALUE, "a Cryptographic Algorithm value the spec does not define",
        lambda e: imported(e, (Tag.CRYPTOGRAPHIC_ALGORITHM, Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, 0x7FFF)))),
    Row(O.IMPORT, R.INVALID_ATTRIBUTE_VALUE, "a Cryptographic Usage Mask with undefined bits",
        lambda e: imported(e, (Tag.CRYPTOGRAPHIC_USAGE_MASK, Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 1 << 30)))),
    Row(O.IMPORT, R.INVALID_ATTRIBUTE_VALUE, "Usage Limits whose Count exceeds their Total",
        lambda e: imported(e, (Tag.USAGE_LIMITS, Item.struct(Tag.USAGE_LIMITS, [
            Item.long(Tag.USAGE_LIMITS_TOTAL, 5), Item.long(Tag.USAGE_LIMITS_COUNT, 9),
            Item.enum(Tag.USAGE_LIMITS_UNIT, 2)])))),
    Row(O.IMPORT, R.NON_UNIQUE_NAME_ATTRIBUTE, "a Name another object has",
        lambda e: imported(e, (Tag.NAME, taken(e)))),
    Row(O.IMPORT, R.PERMISSION_DENIED, "Replace Existing of another client's object",
        lambda e: _replace_other(e)),
    Row(O.IMPORT, R.PROTECTION_STORAGE_UNAVAILABLE, "a Protection Storage Mask attribute of hardware only",
        lambda e: imported(e, (Tag.PROTECTION_STORAGE_MASK, Item.int(Tag.PROTECTION_STORAGE_MASK,
                                                                      ProtectionStorageMask.HARDWARE)))),
]


def _wrapped_secret(env: Env) -> str:
    material = Item.struct(Tag.SECRET_DATA, [Item.enum(Tag.SECRET_DATA_TYPE, 1), Item.struct(Tag.KEY_BLOCK, [
        Item.enum(Tag.KEY_FORMAT_TYPE, 2), Item.bytes(Tag.KEY_VALUE, bytes(40)),
        Item.struct(Tag.KEY_WRAPPING_DATA, [Item.enum(Tag.WRAPPING_METHOD, 1)])])])
    return add_object(env.d, ObjectType.SECRET_DATA, material, mask=M.DERIVE_KEY)


def _destroyed_private(env: Env) -> str:
    private, _ = ec_keys(env, activate=False)
    assert env.run(O.DESTROY, payload(uid(private))).ok
    return private


def _replace_other(env: Env) -> Item:
    body = import_body(env.key(owner="someone-else"), exported(env))
    body.value.insert(2, Item.bool(Tag.REPLACE_EXISTING, True))
    return body


def _parts(env: Env, *, method: int = SplitKeyMethod.POLYNOMIAL_SHARING_GF_2_8, threshold: int = 3) -> list[str]:
    """The parts of a new AES key split in 3 with C{method} and C{threshold}."""
    r = env.run(O.CREATE_SPLIT_KEY, split(env, method=method, parts=3, threshold=threshold))
    assert r.ok, r.message
    return [u.value for u in r.payload.findall(Tag.UNIQUE_IDENTIFIER)]


def _part_name_taken(env: Env) -> Item:
    """Create a key named "n part 1"; the Name "n" for a split (whose parts are named "n part <i>")."""
    assert env.run(O.CREATE, create(name("n part 1"))).ok
    return name("n")


def _twice(env: Env) -> Item:
    body = imported(env)
    container = body.find(Tag.ATTRIBUTES)
    container.value.append(Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128))
    return body


class KeyRowsTests(SynchronousTestCase):
    add_rows(locals(), ROWS)
