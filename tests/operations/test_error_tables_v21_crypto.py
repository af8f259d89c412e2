"""The specific rows of the KMIP 2.1 error tables of the cryptographic operations (spec 2.1 6.1.11
Decrypt, 6.1.17 Encrypt, 6.1.24 Hash, 6.1.32 MAC, 6.1.33 MAC Verify, 6.1.55 Sign, 6.1.56 Signature
Verify; RNG Retrieve and RNG Seed have only Cryptographic Failure): one KMIP 2.1 request per row,
named after it, with the 1.4 reason of the same request beside it where 1.4 has the operation."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from twisted.trial.unittest import SynchronousTestCase

from kmipd.spec import BlockCipherMode as BCM
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as M
from kmipd.spec import DigitalSignatureAlgorithm as DSA
from kmipd.spec import HashingAlgorithm, KeyFormatType, ObjectType, PaddingMethod, State, Tag, UsageLimitsUnit
from kmipd.testing import payload
from kmipd.ttlv import Item

from .error_tables import NOW, Env, O, R, Row, add_rows
from .test_crypto_ops import add_object, add_private, add_public, cp
from .valid_v21 import uid

A, P, D, X = State.ACTIVE, State.PRE_ACTIVE, State.DEACTIVATED, State.DESTROYED
NO_SUCH = uid("no-such-object")
EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ECB = cp(block_cipher_mode=BCM.ECB)
ECDSA = cp(digital_signature_algorithm=DSA.ECDSA_WITH_SHA256)
MAC_MASK = M.MAC_GENERATE | M.MAC_VERIFY


def data(value: bytes = bytes(16)) -> Item:
    return Item.bytes(Tag.DATA, value)


def correlation() -> Item:
    return Item.bytes(Tag.CORRELATION_VALUE, b"unknown-stream")


def limits(count: int) -> dict[str, list[Item]]:
    return {"Usage Limits": [Item.struct(Tag.USAGE_LIMITS, [
        Item.long(Tag.USAGE_LIMITS_TOTAL, 10), Item.long(Tag.USAGE_LIMITS_COUNT, count),
        Item.enum(Tag.USAGE_LIMITS_UNIT, UsageLimitsUnit.OBJECT)])]}


def dated(name: str, tag: int, when: int) -> dict[str, list[Item]]:
    return {name: [Item.datetime(tag, when)]}


def mac_key(env: Env, **kw) -> str:  # noqa: ANN003
    kw.setdefault("mask", MAC_MASK)
    return env.key(key=bytes(32), algorithm=CA.HMAC_SHA256, **kw)


def private(env: Env, mask: int = M.SIGN, **kw) -> str:  # noqa: ANN003
    return add_private(env.d, EC_KEY, CA.ECDSA, mask=mask, **kw)


def public(env: Env, mask: int = M.VERIFY, **kw) -> str:  # noqa: ANN003
    return add_public(env.d, EC_KEY.public_key(), CA.ECDSA, mask=mask, **kw)


def wrapped_private(env: Env) -> str:
    """A private key stored wrapped under a key kmipd does not hold: no usable key value."""
    material = Item.struct(Tag.PRIVATE_KEY, [Item.struct(Tag.KEY_BLOCK, [
        Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.PKCS_8), Item.bytes(Tag.KEY_VALUE, bytes(64)),
        Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.ECDSA), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256),
        Item.struct(Tag.KEY_WRAPPING_DATA, [Item.enum(Tag.WRAPPING_METHOD, 1)])])])
    return add_object(env.d, ObjectType.PRIVATE_KEY, material, algorithm=CA.ECDSA, length=256,
                      mask=M.SIGN | M.VERIFY | MAC_MASK)


def wrapped_public(env: Env) -> str:
    material = Item.struct(Tag.PUBLIC_KEY, [Item.struct(Tag.KEY_BLOCK, [
        Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.X_509), Item.bytes(Tag.KEY_VALUE, bytes(64)),
        Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.ECDSA), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256),
        Item.struct(Tag.KEY_WRAPPING_DATA, [Item.enum(Tag.WRAPPING_METHOD, 1)])])])
    return add_object(env.d, ObjectType.PUBLIC_KEY, material, algorithm=CA.ECDSA, length=256, mask=M.VERIFY)


def wrapped_symmetric(env: Env) -> str:
    material = Item.struct(Tag.SYMMETRIC_KEY, [Item.struct(Tag.KEY_BLOCK, [
        Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.RAW), Item.bytes(Tag.KEY_VALUE, bytes(40)),
        Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128),
        Item.struct(Tag.KEY_WRAPPING_DATA, [Item.enum(Tag.WRAPPING_METHOD, 1)])])])
    return add_object(env.d, ObjectType.SYMMETRIC_KEY, material, algorithm=CA.AES, length=128,
                      mask=M.ENCRYPT | M.DECRYPT | MAC_MASK)


def _common(op: int, good: object, protect: bool) -> list[Row]:
    """The rows every key-using operation shares; C{good(env, **key_kw)} makes a valid request whose
    key is made with C{key_kw}."""
    mk = good  # type: ignore[assignment]
    v1_state = R.ILLEGAL_OPERATION
    rows = [
        Row(op, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier", lambda e: mk(e, uid_=NO_SUCH),
            v1=R.ITEM_NOT_FOUND),
        Row(op, R.WRONG_KEY_LIFECYCLE_STATE, "the key is Pre-Active", lambda e: mk(e, state=P), v1=v1_state),
        Row(op, R.WRONG_KEY_LIFECYCLE_STATE, "the key is destroyed", lambda e: mk(e, state=X),
            v1=R.ITEM_NOT_FOUND),
        Row(op, R.INVALID_CORRELATION_VALUE, "a Correlation Value of no stream",
            lambda e: Item.struct(Tag.REQUEST_PAYLOAD, [*mk(e).value, correlation()]), v1=R.INVALID_FIELD),
    ]
    if protect:
        rows += [
            Row(op, R.WRONG_KEY_LIFECYCLE_STATE, "after the key's Protect Stop Date",
                lambda e: mk(e, extra=dated("Protect Stop Date", Tag.PROTECT_STOP_DATE, NOW - 1)),
                v1=R.PERMISSION_DENIED),
            # Permission Denied (also listed), as the 2.1 profile test case CS-BC-M-7-21 answers
            Row(op, R.PERMISSION_DENIED, "the key's Usage Limits are used up",
                lambda e: mk(e, extra=limits(0)), v1=R.PERMISSION_DENIED),
        ]
    else:
        rows.append(Row(op, R.WRONG_KEY_LIFECYCLE_STATE, "before the key's Process Start Date",
                        lambda e: mk(e, extra=dated("Process Start Date", Tag.PROCESS_START_DATE, NOW + 60)),
                        v1=R.PERMISSION_DENIED))
    return rows


def _body(build_key, *rest):  # noqa: ANN001, ANN202
    """A builder: a key made by C{build_key(env, **kw)} (or the C{uid_} given), then C{rest}."""

    def make(env: Env, uid_: Item | None = None, **kw) -> Item:  # noqa: ANN003
        key = uid_ if uid_ is not None else uid(build_key(env, **kw))
        return payload(key, *[r(env) if callable(r) else r for r in rest])

    return make


ENC = _body(lambda e, **kw: e.key(**kw), ECB, data())
DEC = _body(lambda e, **kw: e.key(**kw), ECB, data())
SIGN = _body(lambda e, **kw: private(e, **kw), ECDSA, data(b"m"))
VERIFY = _body(lambda e, **kw: public(e, **kw), ECDSA, data(b"m"), Item.bytes(Tag.SIGNATURE_DATA, b"s" * 8))
MAC = _body(lambda e, **kw: mac_key(e, **kw), data(b"m"))
MAC_VERIFY = _body(lambda e, **kw: mac_key(e, **kw), data(b"m"), Item.bytes(Tag.MAC_DATA, bytes(32)))
GCM_IV = Item.bytes(Tag.IV_COUNTER_NONCE, bytes(12))

ROWS: list[Row] = [
    # Encrypt (Table 216)
    *_common(O.ENCRYPT, ENC, protect=True),
    Row(O.ENCRYPT, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, "the key's mask lacks Encrypt",
        lambda e: ENC(e, mask=M.DECRYPT), v1=R.PERMISSION_DENIED),
    Row(O.ENCRYPT, R.INVALID_OBJECT_TYPE, "the key is Secret Data",
        lambda e: payload(uid(e.secret()), ECB, data()), v1=R.INVALID_FIELD),
    Row(O.ENCRYPT, R.KEY_VALUE_NOT_PRESENT, "the key is stored wrapped under a key kmipd lacks",
        lambda e: payload(uid(wrapped_symmetric(e)), ECB, data()), v1=R.KEY_VALUE_NOT_PRESENT),
    # (a GCM Tag Length of 5 bytes is General Failure, no row: the 2.1 profile test case CS-BC-M-GCM-1-21)
    Row(O.ENCRYPT, R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, "the PCBC block cipher mode",
        lambda e: payload(uid(e.key()), cp(block_cipher_mode=BCM.PCBC), data()), v1=R.INVALID_FIELD),
    # Invalid Message (also listed), as the 2.1 profile test cases CS-BC-M-11/12/13-21 answer
    Row(O.ENCRYPT, R.INVALID_MESSAGE, "CBC with Random IV false and no IV",
        lambda e: payload(uid(e.key()), cp(block_cipher_mode=BCM.CBC, padding_method=PaddingMethod.PKCS5,
                                           random_iv=False), data())),
    Row(O.ENCRYPT, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "RSA-OAEP of more data than the key can hold",
        lambda e: payload(uid(add_public(e.d, RSA_KEY.public_key(), CA.RSA, mask=M.ENCRYPT)),
                          cp(padding_method=PaddingMethod.OAEP, hashing_algorithm=HashingAlgorithm.SHA_256),
                          data(bytes(400)))),
    # Decrypt (Table 198)
    *_common(O.DECRYPT, DEC, protect=False),
    Row(O.DECRYPT, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, "the key's mask lacks Decrypt",
        lambda e: DEC(e, mask=M.ENCRYPT), v1=R.PERMISSION_DENIED),
    Row(O.DECRYPT, R.INVALID_OBJECT_TYPE, "the key is Secret Data",
        lambda e: payload(uid(e.secret()), ECB, data()), v1=R.INVALID_FIELD),
    Row(O.DECRYPT, R.KEY_VALUE_NOT_PRESENT, "the key is stored wrapped under a key kmipd lacks",
        lambda e: payload(uid(wrapped_symmetric(e)), ECB, data()), v1=R.KEY_VALUE_NOT_PRESENT),
    Row(O.DECRYPT, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "a tag shorter than the Tag Length",
        lambda e: payload(uid(e.key()), cp(block_cipher_mode=BCM.GCM, tag_length=16), GCM_IV, data(),
                          Item.bytes(Tag.AUTHENTICATED_ENCRYPTION_TAG, bytes(12))), v1=R.INVALID_FIELD),
    Row(O.DECRYPT, R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, "SSL3 padding",
        lambda e: payload(uid(e.key()), cp(block_cipher_mode=BCM.CBC, padding_method=PaddingMethod.SSL3), data(),
                          Item.bytes(Tag.IV_COUNTER_NONCE, bytes(16))), v1=R.INVALID_FIELD),
    Row(O.DECRYPT, R.INVALID_MESSAGE, "CBC without an IV",
        lambda e: payload(uid(e.key()), cp(block_cipher_mode=BCM.CBC), data()), v1=R.INVALID_MESSAGE),
    Row(O.DECRYPT, R.CRYPTOGRAPHIC_FAILURE, "a GCM tag that does not authenticate",
        lambda e: payload(uid(e.key()), cp(block_cipher_mode=BCM.GCM), GCM_IV, data(),
                          Item.bytes(Tag.AUTHENTICATED_ENCRYPTION_TAG, bytes(16))), v1=R.CRYPTOGRAPHIC_FAILURE),
    # Sign (Table 336)
    *_common(O.SIGN, SIGN, protect=True),
    Row(O.SIGN, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, "the key's mask lacks Sign",
        lambda e: SIGN(e, mask=M.DECRYPT), v1=R.PERMISSION_DENIED),
    Row(O.SIGN, R.INVALID_OBJECT_TYPE, "a symmetric key", lambda e: payload(uid(e.key(mask=M.SIGN)), data(b"m")),
        v1=R.INVALID_FIELD),
    Row(O.SIGN, R.KEY_VALUE_NOT_PRESENT, "the key is stored wrapped under a key kmipd lacks",
        lambda e: payload(uid(wrapped_private(e)), ECDSA, data(b"m")), v1=R.KEY_VALUE_NOT_PRESENT),
    Row(O.SIGN, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "an RSA signature algorithm for an EC key",
        lambda e: payload(uid(private(e)), cp(digital_signature_algorithm=DSA.SHA_256_WITH_RSA_ENCRYPTION),
                          data(b"m")), v1=R.INVALID_FIELD),
    Row(O.SIGN, R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, "DSA with SHA-256",
        lambda e: payload(uid(private(e)), cp(digital_signature_algorithm=DSA.DSA_WITH_SHA256), data(b"m")),
        v1=R.INVALID_FIELD),
    # Signature Verify (Table 339)
    *_common(O.SIGNATURE_VERIFY, VERIFY, protect=False),
    Row(O.SIGNATURE_VERIFY, R.PERMISSION_DENIED, "the public key is another client's (owner-only policy)",
        lambda e: VERIFY(e, owner="someone-else", extra={"Operation Policy Name": [
            Item.text(Tag.OPERATION_POLICY_NAME, "owner_only")]})),
    Row(O.SIGNATURE_VERIFY, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, "the key's mask lacks Verify",
        lambda e: VERIFY(e, mask=M.ENCRYPT), v1=R.PERMISSION_DENIED),
    Row(O.SIGNATURE_VERIFY, R.INVALID_OBJECT_TYPE, "a symmetric key",
        lambda e: payload(uid(e.key(mask=M.VERIFY)), data(b"m"), Item.bytes(Tag.SIGNATURE_DATA, b"s")),
        v1=R.INVALID_FIELD),
    Row(O.SIGNATURE_VERIFY, R.KEY_VALUE_NOT_PRESENT, "the key is stored wrapped under a key kmipd lacks",
        lambda e: payload(uid(wrapped_public(e)), ECDSA, data(b"m"), Item.bytes(Tag.SIGNATURE_DATA, b"s"))),
    Row(O.SIGNATURE_VERIFY, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "an RSA signature algorithm for an EC key",
        lambda e: payload(uid(public(e)), cp(digital_signature_algorithm=DSA.SHA_256_WITH_RSA_ENCRYPTION),
                          data(b"m"), Item.bytes(Tag.SIGNATURE_DATA, b"s")), v1=R.INVALID_FIELD),
    Row(O.SIGNATURE_VERIFY, R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, "DSA with SHA-256",
        lambda e: payload(uid(public(e)), cp(digital_signature_algorithm=DSA.DSA_WITH_SHA256), data(b"m"),
                          Item.bytes(Tag.SIGNATURE_DATA, b"s")), v1=R.INVALID_FIELD),
    # MAC (Table 261), MAC Verify (Table 264)
    *_common(O.MAC, MAC, protect=True),
    Row(O.MAC, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, "the key's mask lacks MAC Generate",
        lambda e: MAC(e, mask=M.MAC_VERIFY), v1=R.PERMISSION_DENIED),
    Row(O.MAC, R.INVALID_OBJECT_TYPE, "a public key",
        lambda e: payload(uid(public(e, mask=M.MAC_GENERATE)), data(b"m")), v1=R.INVALID_FIELD),
    Row(O.MAC, R.KEY_VALUE_NOT_PRESENT, "the key is stored wrapped under a key kmipd lacks",
        lambda e: payload(uid(wrapped_symmetric(e)), cp(cryptographic_algorithm=CA.HMAC_SHA256), data(b"m"))),
    Row(O.MAC, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "an HMAC key asked for CMAC",
        lambda e: payload(uid(mac_key(e)), cp(cryptographic_algorithm=CA.AES), data(b"m"))),
    *_common(O.MAC_VERIFY, MAC_VERIFY, protect=False),
    Row(O.MAC_VERIFY, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, "the key's mask lacks MAC Verify",
        lambda e: MAC_VERIFY(e, mask=M.MAC_GENERATE), v1=R.PERMISSION_DENIED),
    Row(O.MAC_VERIFY, R.INVALID_OBJECT_TYPE, "a public key",
        lambda e: payload(uid(public(e, mask=M.MAC_VERIFY)), data(b"m"), Item.bytes(Tag.MAC_DATA, bytes(32))),
        v1=R.INVALID_FIELD),
    Row(O.MAC_VERIFY, R.KEY_VALUE_NOT_PRESENT, "the key is stored wrapped under a key kmipd lacks",
        lambda e: payload(uid(wrapped_symmetric(e)), cp(cryptographic_algorithm=CA.HMAC_SHA256), data(b"m"),
                          Item.bytes(Tag.MAC_DATA, bytes(32)))),
    Row(O.MAC_VERIFY, R.BAD_CRYPTOGRAPHIC_PARAMETERS, "an HMAC key asked for CMAC",
        lambda e: payload(uid(mac_key(e)), cp(cryptographic_algorithm=CA.AES), data(b"m"),
                          Item.bytes(Tag.MAC_DATA, bytes(32)))),
    # Hash (Table 237)
    Row(O.HASH, R.INVALID_CORRELATION_VALUE, "a Correlation Value of no stream",
        lambda e: payload(cp(hashing_algorithm=HashingAlgorithm.SHA_256), data(b"m"), correlation()),
        v1=R.INVALID_FIELD),
]


class CryptoRowsTests(SynchronousTestCase):
    add_rows(locals(), ROWS)
