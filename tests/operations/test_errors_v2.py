"""The 2.x error tables of the cryptographic operations (spec 2.1 6.1.11, 6.1.17, 6.1.24, 6.1.32,
6.1.33, 6.1.55, 6.1.56), row by row, with the 1.x reason of the same failure beside it.

Each row is one failure kmipd can meet; the reason must be the 2.x table's (not a 1.x reason
mapped over) and a member of that operation's table.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from twisted.trial.unittest import SynchronousTestCase

from kmipd.errors import InvalidTagLength
from kmipd.model import keyblock
from kmipd.spec import BlockCipherMode as BCM
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as M
from kmipd.spec import (
    DigitalSignatureAlgorithm,
    HashingAlgorithm,
    KeyFormatType,
    ObjectType,
    Operation,
    ResultReason,
    State,
    Tag,
    UsageLimitsUnit,
)
from kmipd.spec import PaddingMethod as PM
from kmipd.testing import FakeClock, call, make_processor, payload
from kmipd.ttlv import Item

from .test_crypto_ops import add_object, add_private, add_public, add_symmetric, cp, data_, uid_

R = ResultReason
NOW = 1_700_000_000
V14, V21 = (1, 4), (2, 1)
ECB = cp(block_cipher_mode=BCM.ECB)
GENERAL = {R.ATTESTATION_FAILED, R.ATTESTATION_REQUIRED, R.FEATURE_NOT_SUPPORTED, R.INVALID_FIELD,
           R.INVALID_MESSAGE, R.OPERATION_NOT_SUPPORTED, R.PERMISSION_DENIED, R.RESPONSE_TOO_LARGE}
#: The specific rows of each operation's 2.1 error table (the general ones above apply to all).
TABLES = {
    Operation.ENCRYPT: {R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE,
                        R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, R.INVALID_CORRELATION_VALUE, R.INVALID_OBJECT_TYPE,
                        R.KEY_VALUE_NOT_PRESENT, R.MISSING_INITIALIZATION_VECTOR, R.OBJECT_NOT_FOUND,
                        R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, R.USAGE_LIMIT_EXCEEDED, R.WRONG_KEY_LIFECYCLE_STATE},
    Operation.DECRYPT: {R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE,
                        R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, R.INVALID_CORRELATION_VALUE, R.INVALID_OBJECT_TYPE,
                        R.KEY_VALUE_NOT_PRESENT, R.MISSING_INITIALIZATION_VECTOR, R.OBJECT_NOT_FOUND,
                        R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, R.WRONG_KEY_LIFECYCLE_STATE},
    Operation.SIGN: {R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
                     R.INVALID_CORRELATION_VALUE, R.INVALID_OBJECT_TYPE, R.KEY_VALUE_NOT_PRESENT, R.OBJECT_NOT_FOUND,
                     R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, R.USAGE_LIMIT_EXCEEDED, R.WRONG_KEY_LIFECYCLE_STATE},
    Operation.SIGNATURE_VERIFY: {R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE,
                                 R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, R.INVALID_CORRELATION_VALUE,
                                 R.INVALID_OBJECT_TYPE, R.KEY_VALUE_NOT_PRESENT, R.OBJECT_NOT_FOUND,
                                 R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, R.WRONG_KEY_LIFECYCLE_STATE},
    Operation.MAC: {R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
                    R.INVALID_CORRELATION_VALUE, R.INVALID_OBJECT_TYPE, R.KEY_VALUE_NOT_PRESENT, R.OBJECT_NOT_FOUND,
                    R.USAGE_LIMIT_EXCEEDED, R.WRONG_KEY_LIFECYCLE_STATE},
    Operation.MAC_VERIFY: {R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE,
                           R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, R.INVALID_CORRELATION_VALUE, R.INVALID_OBJECT_TYPE,
                           R.KEY_VALUE_NOT_PRESENT, R.OBJECT_NOT_FOUND, R.WRONG_KEY_LIFECYCLE_STATE},
    Operation.HASH: {R.CRYPTOGRAPHIC_FAILURE, R.INVALID_CORRELATION_VALUE},
}
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def limits(count: int) -> dict[str, list[Item]]:
    return {"Usage Limits": [Item.struct(Tag.USAGE_LIMITS, [
        Item.long(Tag.USAGE_LIMITS_TOTAL, count), Item.long(Tag.USAGE_LIMITS_COUNT, count),
        Item.enum(Tag.USAGE_LIMITS_UNIT, UsageLimitsUnit.OBJECT)])]}


def dated(name: str, tag: int, when: int) -> dict[str, list[Item]]:
    return {name: [Item.datetime(tag, when)]}


class CryptoErrorTableTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.d = make_processor(clock=FakeClock(NOW))

    def check(self, op: int, body: Item, v2: int, v1: int) -> None:
        """Both versions fail with their reasons; the 2.x reason is a row of the operation's table."""
        self.assertIn(v2, TABLES[op] | GENERAL, f"{R(v2).name} is not in the 2.1 table of {Operation(op).name}")
        for version, expected in ((V21, v2), (V14, v1)):
            r = call(self.d, op, body, version=version)
            self.assertFalse(r.ok, (Operation(op).name, version))
            self.assertEqual(r.reason, expected, (Operation(op).name, version, r.message))

    # -- lifecycle: state and dates ----------------------------------------------------------

    def test_wrong_lifecycle_state(self) -> None:
        """Pre-Active, Deactivated (protecting) and Destroyed keys: Wrong Key Lifecycle State."""
        for state, v1 in ((State.PRE_ACTIVE, R.ILLEGAL_OPERATION), (State.COMPROMISED, R.ILLEGAL_OPERATION),
                          (State.DESTROYED, R.ITEM_NOT_FOUND)):  # 1.x: a destroyed object is gone
            k = add_symmetric(self.d, state=state)
            self.check(Operation.ENCRYPT, payload(uid_(k), ECB, data_(bytes(16))), R.WRONG_KEY_LIFECYCLE_STATE, v1)
        k = add_symmetric(self.d, state=State.PRE_ACTIVE)
        self.check(Operation.DECRYPT, payload(uid_(k), ECB, data_(bytes(16))), R.WRONG_KEY_LIFECYCLE_STATE,
                   R.ILLEGAL_OPERATION)
        priv = add_private(self.d, EC_KEY, CA.ECDSA, state=State.DEACTIVATED)
        self.check(Operation.SIGN, payload(uid_(priv), data_(b"m")), R.WRONG_KEY_LIFECYCLE_STATE, R.ILLEGAL_OPERATION)
        pub = add_public(self.d, EC_KEY.public_key(), CA.ECDSA, state=State.PRE_ACTIVE)
        self.check(Operation.SIGNATURE_VERIFY, payload(uid_(pub), data_(b"m"), Item.bytes(Tag.SIGNATURE_DATA, b"s")),
                   R.WRONG_KEY_LIFECYCLE_STATE, R.ILLEGAL_OPERATION)

    def test_protect_stop_date_passed(self) -> None:
        """Protecting after the Protect Stop Date: Wrong Key Lifecycle State (1.x: Permission Denied)."""
        k = add_symmetric(self.d, extra=dated("Protect Stop Date", Tag.PROTECT_STOP_DATE, NOW - 1))
        self.check(Operation.ENCRYPT, payload(uid_(k), ECB, data_(bytes(16))), R.WRONG_KEY_LIFECYCLE_STATE,
                   R.PERMISSION_DENIED)
        mk = add_symmetric(self.d, algorithm=CA.HMAC_SHA256, mask=M.MAC_GENERATE,
                           extra=dated("Protect Stop Date", Tag.PROTECT_STOP_DATE, NOW - 1))
        self.check(Operation.MAC, payload(uid_(mk), data_(b"m")), R.WRONG_KEY_LIFECYCLE_STATE, R.PERMISSION_DENIED)
        priv = add_private(self.d, EC_KEY, CA.ECDSA, extra=dated("Protect Stop Date", Tag.PROTECT_STOP_DATE, NOW - 1))
        self.check(Operation.SIGN, payload(uid_(priv), data_(b"m")), R.WRONG_KEY_LIFECYCLE_STATE, R.PERMISSION_DENIED)
        # processing is still allowed after the Protect Stop Date
        ok = call(self.d, Operation.DECRYPT, payload(uid_(k), ECB, data_(bytes(16))), version=V21)
        self.assertTrue(ok.ok, ok.message)

    def test_process_start_date_not_reached(self) -> None:
        """Processing before the Process Start Date: Wrong Key Lifecycle State (1.x: Permission Denied)."""
        k = add_symmetric(self.d, extra=dated("Process Start Date", Tag.PROCESS_START_DATE, NOW + 60))
        self.check(Operation.DECRYPT, payload(uid_(k), ECB, data_(bytes(16))), R.WRONG_KEY_LIFECYCLE_STATE,
                   R.PERMISSION_DENIED)
        mk = add_symmetric(self.d, algorithm=CA.HMAC_SHA256, mask=M.MAC_VERIFY,
                           extra=dated("Process Start Date", Tag.PROCESS_START_DATE, NOW + 60))
        self.check(Operation.MAC_VERIFY, payload(uid_(mk), data_(b"m"), Item.bytes(Tag.MAC_DATA, bytes(32))),
                   R.WRONG_KEY_LIFECYCLE_STATE, R.PERMISSION_DENIED)
        pub = add_public(self.d, EC_KEY.public_key(), CA.ECDSA,
                         extra=dated("Process Start Date", Tag.PROCESS_START_DATE, NOW + 60))
        self.check(Operation.SIGNATURE_VERIFY, payload(uid_(pub), data_(b"m"), Item.bytes(Tag.SIGNATURE_DATA, b"s")),
                   R.WRONG_KEY_LIFECYCLE_STATE, R.PERMISSION_DENIED)

    # -- usage limits, masks, types, presence ---------------------------------------------------

    def test_usage_limit_exceeded(self) -> None:
        for op, obj, body in (
            (Operation.ENCRYPT, add_symmetric(self.d, extra=limits(0)), lambda u: payload(uid_(u), ECB,
                                                                                            data_(bytes(16)))),
            (Operation.SIGN, add_private(self.d, EC_KEY, CA.ECDSA, extra=limits(0)),
             lambda u: payload(uid_(u), cp(digital_signature_algorithm=DigitalSignatureAlgorithm.ECDSA_WITH_SHA256),
                               data_(b"m"))),
            (Operation.MAC, add_symmetric(self.d, algorithm=CA.HMAC_SHA256, mask=M.MAC_GENERATE, extra=limits(0)),
             lambda u: payload(uid_(u), data_(b"m"))),
        ):
            self.check(op, body(obj), R.PERMISSION_DENIED, R.PERMISSION_DENIED)  # 2.1 profile CS-BC-M-7-21

    def test_incompatible_usage_mask(self) -> None:
        k = add_symmetric(self.d, mask=M.DECRYPT)
        self.check(Operation.ENCRYPT, payload(uid_(k), ECB, data_(bytes(16))), R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
                   R.PERMISSION_DENIED)
        mk = add_symmetric(self.d, algorithm=CA.HMAC_SHA256, mask=M.MAC_GENERATE)
        self.check(Operation.MAC_VERIFY, payload(uid_(mk), data_(b"m"), Item.bytes(Tag.MAC_DATA, bytes(32))),
                   R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, R.PERMISSION_DENIED)

    def test_invalid_object_type(self) -> None:
        k = add_symmetric(self.d, mask=M.SIGN | M.VERIFY)
        self.check(Operation.SIGN, payload(uid_(k), data_(b"m")), R.INVALID_OBJECT_TYPE, R.INVALID_FIELD)
        self.check(Operation.SIGNATURE_VERIFY, payload(uid_(k), data_(b"m"), Item.bytes(Tag.SIGNATURE_DATA, b"s")),
                   R.INVALID_OBJECT_TYPE, R.INVALID_FIELD)

    def test_object_not_found(self) -> None:
        for op in (Operation.ENCRYPT, Operation.DECRYPT, Operation.SIGN, Operation.MAC):
            self.check(op, payload(uid_("no-such-key"), data_(b"m")), R.OBJECT_NOT_FOUND, R.ITEM_NOT_FOUND)

    def test_key_value_not_present(self) -> None:
        """A key stored wrapped under a key the server does not hold has no usable key value."""
        wrapped = Item.struct(Tag.SYMMETRIC_KEY, [Item.struct(Tag.KEY_BLOCK, [
            Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.RAW), Item.bytes(Tag.KEY_VALUE, bytes(40)),
            Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128),
            Item.struct(Tag.KEY_WRAPPING_DATA, [Item.enum(Tag.WRAPPING_METHOD, 1)])])])
        k = add_object(self.d, ObjectType.SYMMETRIC_KEY, wrapped, algorithm=CA.AES, length=128)
        self.assertTrue(keyblock.is_wrapped(wrapped))
        self.check(Operation.ENCRYPT, payload(uid_(k), ECB, data_(bytes(16))), R.KEY_VALUE_NOT_PRESENT,
                   R.KEY_VALUE_NOT_PRESENT)

    def test_permission_denied(self) -> None:
        k = add_symmetric(self.d, owner="someone-else")
        self.check(Operation.ENCRYPT, payload(uid_(k), ECB, data_(bytes(16))), R.PERMISSION_DENIED,
                   R.PERMISSION_DENIED)

    # -- parameters ---------------------------------------------------------------------------

    def test_missing_iv(self) -> None:
        k = add_symmetric(self.d)
        self.check(Operation.DECRYPT, payload(uid_(k), cp(block_cipher_mode=BCM.CBC), data_(bytes(16))),
                   R.INVALID_MESSAGE, R.INVALID_MESSAGE)  # 2.1 profile CS-BC-M-11-21
        ck = add_symmetric(self.d, key=bytes(32), algorithm=CA.CHACHA20POLY1305)
        self.check(Operation.DECRYPT, payload(uid_(ck), data_(bytes(16)), Item.bytes(Tag.AUTHENTICATED_ENCRYPTION_TAG,
                                                                                    bytes(16))),
                   R.INVALID_MESSAGE, R.INVALID_MESSAGE)  # 2.1 profile CS-BC-M-11-21

    def test_bad_tag_lengths(self) -> None:
        """GCM tag lengths outside SP 800-38D's set; a tag not of the stated Tag Length."""
        k = add_symmetric(self.d)
        iv = Item.bytes(Tag.IV_COUNTER_NONCE, bytes(12))
        for n in (1, 5, 11, 17, 32):  # General Failure in both (no 2.1 table row): CS-BC-M-GCM-1-21
            for version in (V21, V14):
                r = call(self.d, Operation.ENCRYPT, payload(uid_(k), cp(block_cipher_mode=BCM.GCM, tag_length=n), iv,
                                                            data_(b"m")), version=version)
                self.assertEqual((r.ok, r.reason), (False, R.GENERAL_FAILURE), (n, version, r.message))
                # Decrypt too: a tag of a length SP 800-38D does not allow is never verified
                r = call(self.d, Operation.DECRYPT, payload(uid_(k), cp(block_cipher_mode=BCM.GCM, tag_length=n), iv,
                                                            data_(b"m"), Item.bytes(Tag.AUTHENTICATED_ENCRYPTION_TAG,
                                                                                    bytes(n))), version=version)
                self.assertEqual((r.ok, r.reason), (False, R.GENERAL_FAILURE), (n, version, r.message))
        self.check(Operation.DECRYPT, payload(uid_(k), cp(block_cipher_mode=BCM.GCM, tag_length=16), iv, data_(b"m"),
                                              Item.bytes(Tag.AUTHENTICATED_ENCRYPTION_TAG, bytes(12))),
                   R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.INVALID_FIELD)

    def test_bad_parameters_and_failures(self) -> None:
        k = add_symmetric(self.d)
        self.check(Operation.ENCRYPT, payload(uid_(k), cp(block_cipher_mode=BCM.PCBC), data_(bytes(16))),
                   R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, R.INVALID_FIELD)
        self.check(Operation.DECRYPT, payload(uid_(k), cp(block_cipher_mode=BCM.CBC, padding_method=PM.SSL3),
                                              data_(bytes(16)), Item.bytes(Tag.IV_COUNTER_NONCE, bytes(16))),
                   R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, R.INVALID_FIELD)
        self.check(Operation.SIGN, payload(uid_(add_private(self.d, EC_KEY, CA.ECDSA)), cp(
            digital_signature_algorithm=DigitalSignatureAlgorithm.DSA_WITH_SHA256), data_(b"m")),
                   R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, R.INVALID_FIELD)

        ck = add_symmetric(self.d, key=bytes(32), algorithm=CA.CHACHA20)
        self.check(Operation.ENCRYPT, payload(uid_(ck), data_(b"m"), Item.bytes(Tag.IV_COUNTER_NONCE, bytes(7))),
                   R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.INVALID_FIELD)
        iv = Item.bytes(Tag.IV_COUNTER_NONCE, bytes(12))
        self.check(Operation.DECRYPT, payload(uid_(k), cp(block_cipher_mode=BCM.GCM), iv, data_(b"m"),
                                              Item.bytes(Tag.AUTHENTICATED_ENCRYPTION_TAG, bytes(16))),
                   R.CRYPTOGRAPHIC_FAILURE, R.CRYPTOGRAPHIC_FAILURE)
        priv = add_private(self.d, EC_KEY, CA.ECDSA)
        self.check(Operation.SIGN, payload(uid_(priv), cp(digital_signature_algorithm=DigitalSignatureAlgorithm
                                                             .SHA_256_WITH_RSA_ENCRYPTION), data_(b"m")),
                   R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.INVALID_FIELD)

    def test_invalid_correlation_value(self) -> None:
        k = add_symmetric(self.d)
        self.check(Operation.ENCRYPT, payload(uid_(k), ECB, data_(bytes(16)),
                                              Item.bytes(Tag.CORRELATION_VALUE, b"unknown")),
                   R.INVALID_CORRELATION_VALUE, R.INVALID_FIELD)

    def test_more_rows(self) -> None:
        """Invalid Object Type for MAC, Key Value Not Present for Sign, Invalid Correlation Value for
        Sign and MAC Verify."""
        pub = add_public(self.d, EC_KEY.public_key(), CA.ECDSA, mask=M.MAC_GENERATE)
        self.check(Operation.MAC, payload(uid_(pub), data_(b"m")), R.INVALID_OBJECT_TYPE, R.INVALID_FIELD)
        wrapped = Item.struct(Tag.PRIVATE_KEY, [Item.struct(Tag.KEY_BLOCK, [
            Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.PKCS_8), Item.bytes(Tag.KEY_VALUE, bytes(64)),
            Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.ECDSA), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256),
            Item.struct(Tag.KEY_WRAPPING_DATA, [Item.enum(Tag.WRAPPING_METHOD, 1)])])])
        k = add_object(self.d, ObjectType.PRIVATE_KEY, wrapped, algorithm=CA.ECDSA, length=256, mask=M.SIGN)
        sha256 = cp(digital_signature_algorithm=DigitalSignatureAlgorithm.ECDSA_WITH_SHA256)
        self.check(Operation.SIGN, payload(uid_(k), sha256, data_(b"m")), R.KEY_VALUE_NOT_PRESENT,
                   R.KEY_VALUE_NOT_PRESENT)
        priv = add_private(self.d, EC_KEY, CA.ECDSA)
        self.check(Operation.SIGN, payload(uid_(priv), sha256, data_(b"m"), Item.bytes(Tag.CORRELATION_VALUE, b"?")),
                   R.INVALID_CORRELATION_VALUE, R.INVALID_FIELD)
        mk = add_symmetric(self.d, algorithm=CA.HMAC_SHA256, mask=M.MAC_VERIFY)
        self.check(Operation.MAC_VERIFY, payload(uid_(mk), data_(b"m"), Item.bytes(Tag.CORRELATION_VALUE, b"?")),
                   R.INVALID_CORRELATION_VALUE, R.INVALID_FIELD)

    def test_response_too_large(self) -> None:
        """The general row: a response over the request's Maximum Response Size."""
        from kmipd.testing import batch_item, request, results, send

        k = add_symmetric(self.d)
        for version in (V14, V21):
            msg = request(batch_item(Operation.ENCRYPT, payload(uid_(k), ECB, data_(bytes(4096)))), version=version,
                          header_extra=[Item.int(Tag.MAXIMUM_RESPONSE_SIZE, 256)])
            (r,) = results(send(self.d, msg))
            self.assertEqual(r.reason, R.RESPONSE_TOO_LARGE, version)

    def test_hash(self) -> None:
        """Hash's table has no Bad Cryptographic Parameters: an unsupported algorithm is Invalid Field."""
        self.check(Operation.HASH, payload(cp(hashing_algorithm=HashingAlgorithm.MD2), data_(b"m")),
                   R.INVALID_FIELD, R.INVALID_FIELD)
        self.check(Operation.HASH, payload(cp(hashing_algorithm=HashingAlgorithm.SHA_256), data_(b"m"),
                                           Item.bytes(Tag.CORRELATION_VALUE, b"unknown")),
                   R.INVALID_CORRELATION_VALUE, R.INVALID_FIELD)


class ChaChaOperationTests(SynchronousTestCase):
    """ChaCha20 layouts and the Initial Counter Value through Encrypt/Decrypt."""

    def test_eight_byte_nonce_and_initial_counter(self) -> None:
        from tests.crypto.test_chacha import chacha_xor

        d = make_processor()
        key = bytes(range(32))
        k = add_symmetric(d, key=key, algorithm=CA.CHACHA20)
        nonce = bytes(range(8))
        params = cp(cryptographic_algorithm=CA.CHACHA20, initial_counter_value=5)
        for version in (V14, V21):
            r = call(d, Operation.ENCRYPT, payload(uid_(k), params, data_(b"attack at dawn"),
                                                   Item.bytes(Tag.IV_COUNTER_NONCE, nonce)), version=version)
            self.assertTrue(r.ok, r.message)
            self.assertEqual(r.payload.get(Tag.DATA), chacha_xor(key, nonce, 5, b"attack at dawn"))
            back = call(d, Operation.DECRYPT, payload(uid_(k), params, data_(r.payload.get(Tag.DATA)),
                                                      Item.bytes(Tag.IV_COUNTER_NONCE, nonce)), version=version)
            self.assertEqual(back.payload.get(Tag.DATA), b"attack at dawn")

    def test_generated_nonce_returned(self) -> None:
        d = make_processor()
        k = add_symmetric(d, key=bytes(32), algorithm=CA.CHACHA20POLY1305)
        r = call(d, Operation.ENCRYPT, payload(uid_(k), cp(random_iv=True, iv_length=64), data_(b"m")), version=V21)
        self.assertTrue(r.ok, r.message)
        self.assertEqual(len(r.payload.get(Tag.IV_COUNTER_NONCE)), 8)
        back = call(d, Operation.DECRYPT, payload(uid_(k), data_(r.payload.get(Tag.DATA)),
                                                  Item.bytes(Tag.IV_COUNTER_NONCE, r.payload.get(Tag.IV_COUNTER_NONCE)),
                                                  Item.bytes(Tag.AUTHENTICATED_ENCRYPTION_TAG,
                                                             r.payload.get(Tag.AUTHENTICATED_ENCRYPTION_TAG))),
                    version=V21)
        self.assertEqual(back.payload.get(Tag.DATA), b"m")

    def test_truncated_tag_length(self) -> None:
        """Tag Length 12 (CS-BC-M-CHACHA20POLY1305-1-21): Encrypt returns the tag's first 12 bytes,
        Decrypt with them and Tag Length 12 succeeds, a wrong one is Cryptographic Failure, and a
        tag not of the stated Tag Length is Bad Cryptographic Parameters (as for GCM)."""
        d = make_processor()
        k = add_symmetric(d, key=bytes(32), algorithm=CA.CHACHA20POLY1305)
        nonce = Item.bytes(Tag.IV_COUNTER_NONCE, bytes(12))
        full = call(d, Operation.ENCRYPT, payload(uid_(k), nonce, data_(b"m")), version=V21)
        r = call(d, Operation.ENCRYPT, payload(uid_(k), cp(tag_length=12), nonce, data_(b"m")), version=V21)
        self.assertTrue(r.ok, r.message)
        tag = r.payload.get(Tag.AUTHENTICATED_ENCRYPTION_TAG)
        self.assertEqual(tag, full.payload.get(Tag.AUTHENTICATED_ENCRYPTION_TAG)[:12])

        def decrypt(tag: bytes, tag_length: int = 12) -> Any:
            return call(d, Operation.DECRYPT, payload(uid_(k), cp(tag_length=tag_length), nonce,
                                                      data_(r.payload.get(Tag.DATA)),
                                                      Item.bytes(Tag.AUTHENTICATED_ENCRYPTION_TAG, tag)), version=V21)

        self.assertEqual(decrypt(tag).payload.get(Tag.DATA), b"m")
        self.assertEqual(decrypt(bytes([tag[0] ^ 1]) + tag[1:]).reason, R.CRYPTOGRAPHIC_FAILURE)
        self.assertEqual(decrypt(tag, 16).reason, R.BAD_CRYPTOGRAPHIC_PARAMETERS)

    def test_refused_tag_lengths(self) -> None:
        """Tag Lengths outside 12-16 on Encrypt and Decrypt answer as a refused GCM Tag Length
        (Invalid Tag Length): General Failure in 1.4."""
        d = make_processor()
        k = add_symmetric(d, key=bytes(32), algorithm=CA.CHACHA20POLY1305)
        g = add_symmetric(d)
        nonce = Item.bytes(Tag.IV_COUNTER_NONCE, bytes(12))
        for version in (V14, V21):
            gcm = call(d, Operation.ENCRYPT, payload(uid_(g), cp(block_cipher_mode=BCM.GCM, tag_length=32), nonce,
                                                     data_(b"m")), version=version).reason
            for n in (1, 11, 17, 32):
                for op, extra in ((Operation.ENCRYPT, []), (Operation.DECRYPT, [
                        Item.bytes(Tag.AUTHENTICATED_ENCRYPTION_TAG, bytes(n))])):
                    r = call(d, op, payload(uid_(k), cp(tag_length=n), nonce, data_(b"m"), *extra), version=version)
                    self.assertEqual(r.reason, gcm, (version, n, Operation(op).name, r.message))
            self.assertEqual(gcm, R.GENERAL_FAILURE if version == V14 else InvalidTagLength.reason_v2)
