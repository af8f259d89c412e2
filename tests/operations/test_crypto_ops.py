"""Tests for kmipd.operations.crypto_ops, kmipd.model.cryptoparams and kmipd.crypto.streams."""

from __future__ import annotations

import hashlib
import hmac as std_hmac
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto.streams import BufferStream, Stream, StreamTable, StreamTooLarge
from kmipd.errors import InvalidCorrelationValue
from kmipd.model import keyblock
from kmipd.model.cryptoparams import CryptoParams
from kmipd.model.objects import ManagedObject
from kmipd.settings import Settings
from kmipd.spec import (
    BlockCipherMode,
    CryptographicAlgorithm,
    CryptographicUsageMask,
    DigitalSignatureAlgorithm,
    HashingAlgorithm,
    KeyFormatType,
    ObjectType,
    Operation,
    PaddingMethod,
    ResultReason,
    ResultStatus,
    SecretDataType,
    State,
    Tag,
    UsageLimitsUnit,
    ValidityIndicator,
)
from kmipd.testing import FakeClock, call, make_processor, payload
from kmipd.ttlv import Item

CA = CryptographicAlgorithm
M = CryptographicUsageMask
ENC_DEC = M.ENCRYPT | M.DECRYPT
KEY16 = bytes(range(16))


# ---------------------------------------------------------------------------------------------
# Fixture helpers (also used by the other crypto test modules)


def add_object(dispatcher, object_type: int, material: Item | None, *, algorithm: int | None = None,
               length: int | None = None, mask: int | None = ENC_DEC, state: int = State.ACTIVE,
               owner: str = "tester", params: list[Item] | None = None,
               extra: dict[str, list[Item]] | None = None) -> str:
    """Store an object directly (bypassing Register) and return its Unique Identifier."""
    with dispatcher.store.transaction() as tx:
        uid = tx.new_uid()
        a: dict[str, list[Item]] = {
            "Unique Identifier": [Item.text(Tag.UNIQUE_IDENTIFIER, uid)],
            "Object Type": [Item.enum(Tag.OBJECT_TYPE, object_type)],
            "State": [Item.enum(Tag.STATE, state)],
            "Operation Policy Name": [Item.text(Tag.OPERATION_POLICY_NAME, "default")],
        }
        if algorithm is not None:
            a["Cryptographic Algorithm"] = [Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, algorithm)]
        if length is not None:
            a["Cryptographic Length"] = [Item.int(Tag.CRYPTOGRAPHIC_LENGTH, length)]
        if mask is not None:
            a["Cryptographic Usage Mask"] = [Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, mask)]
        if params:
            a["Cryptographic Parameters"] = params
        a.update(extra or {})
        tx.add(ManagedObject(uid, object_type, owner, a, material))
    return uid


def add_symmetric(dispatcher, key: bytes = KEY16, algorithm: int = CA.AES, **kw) -> str:
    """Store an Active symmetric key (Raw)."""
    return add_object(dispatcher, ObjectType.SYMMETRIC_KEY, keyblock.symmetric_key(key, algorithm),
                      algorithm=algorithm, length=len(key) * 8, **kw)


def add_private(dispatcher, key, algorithm: int, mask: int = M.SIGN | M.DECRYPT, **kw) -> str:
    """Store a private key as PKCS#8 DER."""
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    material = keyblock.body(ObjectType.PRIVATE_KEY, keyblock.key_block(KeyFormatType.PKCS_8, der,
                                                                         algorithm=algorithm, length=256))
    return add_object(dispatcher, ObjectType.PRIVATE_KEY, material, algorithm=algorithm, mask=mask, **kw)


def add_public(dispatcher, key, algorithm: int, mask: int = M.VERIFY | M.ENCRYPT, **kw) -> str:
    """Store a public key as X.509 SubjectPublicKeyInfo DER."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    material = keyblock.body(ObjectType.PUBLIC_KEY, keyblock.key_block(KeyFormatType.X_509, der,
                                                                        algorithm=algorithm, length=256))
    return add_object(dispatcher, ObjectType.PUBLIC_KEY, material, algorithm=algorithm, mask=mask, **kw)


def cp(**fields) -> Item:
    """A Cryptographic Parameters structure."""
    return CryptoParams(**fields).to_item()


def uid_(uid: str) -> Item:
    return Item.text(Tag.UNIQUE_IDENTIFIER, uid)


def data_(value: bytes, tag: int = Tag.DATA) -> Item:
    return Item.bytes(tag, value)


_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _Base(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = FakeClock()
        self.d = make_processor(clock=self.clock)

    def ok(self, result):
        self.assertEqual((result.status, result.message), (ResultStatus.SUCCESS, None))
        return result.payload

    def failed(self, result, reason: int):
        self.assertEqual(result.status, ResultStatus.OPERATION_FAILED, result.message)
        self.assertEqual(result.reason, reason, result.message)
        self.assertTrue(result.message)


# ---------------------------------------------------------------------------------------------
# Encrypt / Decrypt


class EncryptDecryptTests(_Base):
    def test_cbc_random_iv_round_trip(self) -> None:
        """CBC with Random IV returns the generated IV, and Decrypt with it recovers the data."""
        uid = add_symmetric(self.d)
        params = cp(block_cipher_mode=BlockCipherMode.CBC, padding_method=PaddingMethod.PKCS5, random_iv=True)
        p = self.ok(call(self.d, Operation.ENCRYPT, payload(uid_(uid), params, data_(b"hello world"))))
        self.assertEqual(p.get(Tag.UNIQUE_IDENTIFIER), uid)
        iv = p.get(Tag.IV_COUNTER_NONCE)
        self.assertEqual(len(iv), 16)
        self.assertEqual(len(p.get(Tag.DATA)), 16)
        back = self.ok(call(self.d, Operation.DECRYPT, payload(uid_(uid), params, data_(p.get(Tag.DATA)),
                                                               data_(iv, Tag.IV_COUNTER_NONCE))))
        self.assertEqual(back.get(Tag.DATA), b"hello world")

    def test_object_parameters_used_when_request_has_none(self) -> None:
        """Without request parameters the key's Cryptographic Parameters (ECB) apply."""
        uid = add_symmetric(self.d, params=[cp(block_cipher_mode=BlockCipherMode.ECB)])
        p = self.ok(call(self.d, Operation.ENCRYPT, payload(uid_(uid), data_(bytes(16)))))
        self.assertEqual(p.get(Tag.DATA), bytes.fromhex("c6a13b37878f5b826f4f8162a1c8d879"))

    def test_key_read_once_per_message(self) -> None:
        """Encrypt and Decrypt read their key from the store once per message (the policy's Get
        fallback decided on that same read), and a denied one is still denied."""
        uid = add_symmetric(self.d, params=[cp(block_cipher_mode=BlockCipherMode.ECB)])
        reads: list[str] = []
        transaction = self.d.store.transaction

        @contextmanager
        def counting() -> Iterator[Any]:
            with transaction() as tx:
                get = tx.get
                tx.get = lambda uid, **kw: (reads.append(uid), get(uid, **kw))[1]
                yield tx

        self.patch(self.d.store, "transaction", counting)
        for op in (Operation.ENCRYPT, Operation.DECRYPT):
            self.ok(call(self.d, op, payload(uid_(uid), data_(bytes(16)))))
        self.assertEqual(reads, [uid, uid])
        self.failed(call(self.d, Operation.ENCRYPT, payload(uid_(uid), data_(bytes(16))), caller="intruder"),
                    ResultReason.PERMISSION_DENIED)

    def test_kmip_2_shape(self) -> None:
        """KMIP 2.0 requests get the same response payload shape."""
        uid = add_symmetric(self.d)
        p = self.ok(call(self.d, Operation.ENCRYPT, payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB),
                                                            data_(bytes(16))), version=(2, 0)))
        self.assertEqual([c.tag for c in p.value], [Tag.UNIQUE_IDENTIFIER, Tag.DATA])

    def test_id_placeholder(self) -> None:
        """Encrypt without a Unique Identifier uses the batch's ID Placeholder."""
        from kmipd.testing import batch_item, request, results, send

        uid = add_symmetric(self.d)
        params = cp(block_cipher_mode=BlockCipherMode.ECB)
        resp = send(self.d, request(
            batch_item(Operation.ENCRYPT, payload(uid_(uid), params, data_(bytes(16)))),
            batch_item(Operation.DECRYPT, payload(params, data_(bytes.fromhex("c6a13b37878f5b826f4f8162a1c8d879"))))))
        second = results(resp)[1]
        self.assertEqual(self.ok(second).get(Tag.DATA), bytes(16))

    def test_gcm_tag_and_aad(self) -> None:
        """GCM returns an Authenticated Encryption Tag that Decrypt checks (with the AAD)."""
        uid = add_symmetric(self.d)
        params = cp(block_cipher_mode=BlockCipherMode.GCM, tag_length=12)
        iv = data_(bytes(12), Tag.IV_COUNTER_NONCE)
        aad = data_(b"header", Tag.AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA)
        p = self.ok(call(self.d, Operation.ENCRYPT, payload(uid_(uid), params, data_(b"secret"), iv, aad)))
        tag = p.get(Tag.AUTHENTICATED_ENCRYPTION_TAG)
        self.assertEqual(len(tag), 12)
        back = self.ok(call(self.d, Operation.DECRYPT, payload(
            uid_(uid), params, data_(p.get(Tag.DATA)), iv, aad, data_(tag, Tag.AUTHENTICATED_ENCRYPTION_TAG))))
        self.assertEqual(back.get(Tag.DATA), b"secret")
        bad = bytes([tag[0] ^ 1]) + tag[1:]
        self.failed(call(self.d, Operation.DECRYPT, payload(
            uid_(uid), params, data_(p.get(Tag.DATA)), iv, aad, data_(bad, Tag.AUTHENTICATED_ENCRYPTION_TAG))),
            ResultReason.CRYPTOGRAPHIC_FAILURE)

    def test_gcm_needs_1_4(self) -> None:
        """AEAD is refused before KMIP 1.4 (its tag cannot be returned)."""
        uid = add_symmetric(self.d)
        r = call(self.d, Operation.ENCRYPT, payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.GCM),
                                                    data_(b"x")), version=(1, 3))
        self.failed(r, ResultReason.INVALID_FIELD)

    def test_gcm_invalid_tag_length(self) -> None:
        """A GCM Tag Length outside 4..16 is General Failure in 1.4 and 2.x, as the 1.4 and 2.1 profile
        vectors answer it (CS-BC-M-GCM-1-21)."""
        uid = add_symmetric(self.d)
        body = payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.GCM, tag_length=32), data_(b"x"),
                       data_(bytes(12), Tag.IV_COUNTER_NONCE))
        self.failed(call(self.d, Operation.ENCRYPT, body), ResultReason.GENERAL_FAILURE)
        self.failed(call(self.d, Operation.ENCRYPT, body, version=(2, 0)), ResultReason.GENERAL_FAILURE)

    def test_decrypt_missing_iv(self) -> None:
        """Decrypt in CBC without an IV is Invalid Message in 1.x and in 2.x (the 2.1 profile test cases
        CS-BC-M-11/12/13-21 answer so; Table 198 lists it beside Missing Initialization Vector)."""
        uid = add_symmetric(self.d)
        body = payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.CBC), data_(bytes(16)))
        self.failed(call(self.d, Operation.DECRYPT, body), ResultReason.INVALID_MESSAGE)
        self.failed(call(self.d, Operation.DECRYPT, body, version=(2, 0)), ResultReason.INVALID_MESSAGE)

    def test_not_accessible(self) -> None:
        """Another caller's key is refused with Permission Denied."""
        uid = add_symmetric(self.d, owner="bob")
        r = call(self.d, Operation.ENCRYPT, payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB),
                                                    data_(bytes(16))))
        self.failed(r, ResultReason.PERMISSION_DENIED)

    def test_unknown_key(self) -> None:
        """An unknown Unique Identifier is Item Not Found."""
        self.failed(call(self.d, Operation.ENCRYPT, payload(uid_("nope"), data_(b"x"))), ResultReason.ITEM_NOT_FOUND)

    def test_not_active(self) -> None:
        """A Pre-Active key cannot encrypt: Illegal Operation (1.x) / Wrong Key Lifecycle State (2.x)."""
        uid = add_symmetric(self.d, state=State.PRE_ACTIVE)
        body = payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB), data_(bytes(16)))
        self.failed(call(self.d, Operation.ENCRYPT, body), ResultReason.ILLEGAL_OPERATION)
        self.failed(call(self.d, Operation.ENCRYPT, body, version=(2, 0)), ResultReason.WRONG_KEY_LIFECYCLE_STATE)

    def test_deactivated_decrypt_needs_permission(self) -> None:
        """A Deactivated key decrypts only when the service allows processing with inactive keys."""
        uid = add_symmetric(self.d, state=State.DEACTIVATED)
        body = payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB), data_(bytes(16)))
        self.failed(call(self.d, Operation.DECRYPT, body), ResultReason.ILLEGAL_OPERATION)
        self.d.service.settings = Settings(process_inactive_keys=True)
        self.ok(call(self.d, Operation.DECRYPT, body))
        self.failed(call(self.d, Operation.ENCRYPT, body), ResultReason.ILLEGAL_OPERATION)

    def test_usage_mask_lacks_encrypt(self) -> None:
        """A key without the Encrypt bit: Permission Denied (1.x), Incompatible Usage Mask (2.x)."""
        uid = add_symmetric(self.d, mask=M.DECRYPT)
        body = payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB), data_(bytes(16)))
        self.failed(call(self.d, Operation.ENCRYPT, body), ResultReason.PERMISSION_DENIED)
        self.failed(call(self.d, Operation.ENCRYPT, body, version=(2, 0)),
                    ResultReason.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK)

    def test_usage_mask_lacks_decrypt(self) -> None:
        """A key without the Decrypt bit cannot decrypt."""
        uid = add_symmetric(self.d, mask=M.ENCRYPT)
        body = payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB), data_(bytes(16)))
        self.failed(call(self.d, Operation.DECRYPT, body), ResultReason.PERMISSION_DENIED)

    def test_unsupported_mode(self) -> None:
        """A block cipher mode kmipd lacks: Invalid Field (1.x) / Unsupported Cryptographic Parameters (2.x)."""
        uid = add_symmetric(self.d)
        body = payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.PCBC), data_(bytes(16)))
        self.failed(call(self.d, Operation.ENCRYPT, body), ResultReason.INVALID_FIELD)
        self.failed(call(self.d, Operation.ENCRYPT, body, version=(2, 0)),
                    ResultReason.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS)

    def test_block_cipher_mode_required(self) -> None:
        """AES without a mode (none requested, none on the key) is refused with a clear message."""
        uid = add_symmetric(self.d)
        r = call(self.d, Operation.ENCRYPT, payload(uid_(uid), data_(bytes(16))))
        self.failed(r, ResultReason.INVALID_FIELD)
        self.assertIn("block cipher mode", r.message)

    def test_incompatible_algorithm(self) -> None:
        """Asking for 3DES with an AES key is refused."""
        uid = add_symmetric(self.d)
        r = call(self.d, Operation.ENCRYPT, payload(
            uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB, cryptographic_algorithm=CA.TRIPLE_DES),
            data_(bytes(16))))
        self.failed(r, ResultReason.INVALID_FIELD)
        self.assertIn("AES", r.message)

    def test_wrong_object_type(self) -> None:
        """Secret Data cannot encrypt: Invalid Field (1.x) / Invalid Object Type (2.x)."""
        material = keyblock.body(ObjectType.SECRET_DATA, keyblock.key_block(KeyFormatType.OPAQUE, KEY16),
                                 t=Item.enum(Tag.SECRET_DATA_TYPE, SecretDataType.SEED))
        uid = add_object(self.d, ObjectType.SECRET_DATA, material)
        body = payload(uid_(uid), data_(bytes(16)))
        self.failed(call(self.d, Operation.ENCRYPT, body), ResultReason.INVALID_FIELD)
        self.failed(call(self.d, Operation.ENCRYPT, body, version=(2, 0)), ResultReason.INVALID_OBJECT_TYPE)

    def test_usage_limits(self) -> None:
        """Usage Limits (objects) are decremented per Encrypt and refused when exhausted."""
        limits = Item.struct(Tag.USAGE_LIMITS, [Item.long(Tag.USAGE_LIMITS_TOTAL, 2),
                                                Item.long(Tag.USAGE_LIMITS_COUNT, 2),
                                                Item.enum(Tag.USAGE_LIMITS_UNIT, UsageLimitsUnit.OBJECT)])
        uid = add_symmetric(self.d, extra={"Usage Limits": [limits]})
        body = payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB), data_(bytes(16)))
        self.ok(call(self.d, Operation.ENCRYPT, body))
        with self.d.store.transaction() as tx:
            self.assertEqual(tx.get(uid).first("Usage Limits").get(Tag.USAGE_LIMITS_COUNT), 1)
        self.ok(call(self.d, Operation.ENCRYPT, body))
        self.failed(call(self.d, Operation.ENCRYPT, body), ResultReason.PERMISSION_DENIED)
        # 2.x: Permission Denied too, as the 2.1 profile test case CS-BC-M-7-21 answers
        self.failed(call(self.d, Operation.ENCRYPT, body, version=(2, 0)), ResultReason.PERMISSION_DENIED)
        self.ok(call(self.d, Operation.DECRYPT, body))  # processing does not consume

    def test_usage_limits_bytes(self) -> None:
        """Byte Usage Limits are charged by data length."""
        limits = Item.struct(Tag.USAGE_LIMITS, [Item.long(Tag.USAGE_LIMITS_TOTAL, 40),
                                                Item.enum(Tag.USAGE_LIMITS_UNIT, UsageLimitsUnit.BYTE)])
        uid = add_symmetric(self.d, extra={"Usage Limits": [limits]})
        body = payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB), data_(bytes(32)))
        self.ok(call(self.d, Operation.ENCRYPT, body))
        self.failed(call(self.d, Operation.ENCRYPT, body), ResultReason.PERMISSION_DENIED)

    def test_protect_stop_and_process_start(self) -> None:
        """Encrypt after the Protect Stop Date and Decrypt before the Process Start Date are denied."""
        now = int(self.clock.now)
        uid = add_symmetric(self.d, extra={
            "Protect Stop Date": [Item.datetime(Tag.PROTECT_STOP_DATE, now - 10)],
            "Process Start Date": [Item.datetime(Tag.PROCESS_START_DATE, now + 10)]})
        body = payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB), data_(bytes(16)))
        self.failed(call(self.d, Operation.ENCRYPT, body), ResultReason.PERMISSION_DENIED)
        self.failed(call(self.d, Operation.DECRYPT, body), ResultReason.PERMISSION_DENIED)
        self.clock.advance(20)
        self.ok(call(self.d, Operation.DECRYPT, body))

    def test_rsa_oaep_and_pkcs1(self) -> None:
        """RSA public-key encryption with OAEP (SHA-256) and PKCS#1 v1.5 decrypts with the private key."""
        pub = add_public(self.d, _RSA.public_key(), CA.RSA)
        priv = add_private(self.d, _RSA, CA.RSA)
        for params in (cp(padding_method=PaddingMethod.OAEP, hashing_algorithm=HashingAlgorithm.SHA_256,
                          mask_generator_hashing_algorithm=HashingAlgorithm.SHA_256),
                       cp(padding_method=PaddingMethod.PKCS1_V1_5)):
            ct = self.ok(call(self.d, Operation.ENCRYPT, payload(uid_(pub), params, data_(b"k" * 32)))).get(Tag.DATA)
            self.assertEqual(len(ct), 256)
            pt = self.ok(call(self.d, Operation.DECRYPT, payload(uid_(priv), params, data_(ct)))).get(Tag.DATA)
            self.assertEqual(pt, b"k" * 32)

    def test_rsa_oaep_label(self) -> None:
        """OAEP with a P Source label round-trips and matches cryptography's own decryption."""
        pub = add_public(self.d, _RSA.public_key(), CA.RSA)
        params = cp(padding_method=PaddingMethod.OAEP, hashing_algorithm=HashingAlgorithm.SHA_256,
                    mask_generator_hashing_algorithm=HashingAlgorithm.SHA_256, p_source=b"label")
        ct = self.ok(call(self.d, Operation.ENCRYPT, payload(uid_(pub), params, data_(b"m")))).get(Tag.DATA)
        pt = _RSA.decrypt(ct, asym_padding.OAEP(asym_padding.MGF1(hashes.SHA256()), hashes.SHA256(), b"label"))
        self.assertEqual(pt, b"m")

    def test_decrypt_with_public_key_refused(self) -> None:
        """A public key cannot decrypt."""
        pub = add_public(self.d, _RSA.public_key(), CA.RSA, mask=M.DECRYPT)
        r = call(self.d, Operation.DECRYPT, payload(uid_(pub), cp(padding_method=PaddingMethod.OAEP), data_(b"x")))
        self.failed(r, ResultReason.INVALID_FIELD)

    def test_missing_data(self) -> None:
        """A single-part Encrypt without Data is Missing Data."""
        uid = add_symmetric(self.d)
        self.failed(call(self.d, Operation.ENCRYPT, payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB))),
                    ResultReason.MISSING_DATA)


# ---------------------------------------------------------------------------------------------
# Streaming


class StreamingTests(_Base):
    def _parts(self, op, uid, params, chunks, extra_first=()):
        out = []
        first = self.ok(call(self.d, op, payload(uid_(uid), params, data_(chunks[0]), *extra_first,
                                                 Item.bool(Tag.INIT_INDICATOR, True))))
        cv = first.get(Tag.CORRELATION_VALUE)
        self.assertIsNotNone(cv)
        out.append(first)
        for i, chunk in enumerate(chunks[1:], 1):
            last = i == len(chunks) - 1
            p = self.ok(call(self.d, op, payload(
                uid_(uid), data_(chunk), Item.bytes(Tag.CORRELATION_VALUE, cv),
                Item.bool(Tag.FINAL_INDICATOR, True) if last else None)))
            out.append(p)
        return out

    def test_cbc_stream_equals_one_shot(self) -> None:
        """A three-part CBC/PKCS5 encryption equals the one-shot result; the parts decrypt in parts."""
        uid = add_symmetric(self.d)
        params = cp(block_cipher_mode=BlockCipherMode.CBC, padding_method=PaddingMethod.PKCS5)
        iv = data_(bytes(16), Tag.IV_COUNTER_NONCE)
        message = bytes(range(50))
        whole = self.ok(call(self.d, Operation.ENCRYPT, payload(uid_(uid), params, data_(message), iv))).get(Tag.DATA)
        parts = self._parts(Operation.ENCRYPT, uid, params, [message[:7], message[7:33], message[33:]], [iv])
        self.assertEqual(b"".join(p.get(Tag.DATA) for p in parts), whole)
        self.assertIsNone(parts[-1].get(Tag.CORRELATION_VALUE))
        dparts = self._parts(Operation.DECRYPT, uid, params, [whole[:20], whole[20:40], whole[40:]], [iv])
        self.assertEqual(b"".join(p.get(Tag.DATA) for p in dparts), message)

    def test_gcm_stream_tag_on_final(self) -> None:
        """Streamed GCM returns the tag only with the final part, equal to the one-shot tag."""
        uid = add_symmetric(self.d)
        params = cp(block_cipher_mode=BlockCipherMode.GCM, tag_length=16)
        iv = data_(bytes(12), Tag.IV_COUNTER_NONCE)
        one = self.ok(call(self.d, Operation.ENCRYPT, payload(uid_(uid), params, data_(b"abcdefgh"), iv)))
        parts = self._parts(Operation.ENCRYPT, uid, params, [b"abc", b"defgh"], [iv])
        self.assertIsNone(parts[0].get(Tag.AUTHENTICATED_ENCRYPTION_TAG))
        self.assertEqual(parts[1].get(Tag.AUTHENTICATED_ENCRYPTION_TAG), one.get(Tag.AUTHENTICATED_ENCRYPTION_TAG))

    def test_gcm_decrypt_stream_releases_nothing_unauthenticated(self) -> None:
        """Multi-part GCM decryption returns no plaintext before the last part, whose tag check
        covers all of it (PKCS#11 v3 C_DecryptUpdate likewise); a wrong tag gives no plaintext."""
        uid = add_symmetric(self.d)
        params = cp(block_cipher_mode=BlockCipherMode.GCM, tag_length=16)
        iv = data_(bytes(12), Tag.IV_COUNTER_NONCE)
        message = bytes(range(40))
        one = self.ok(call(self.d, Operation.ENCRYPT, payload(uid_(uid), params, data_(message), iv)))
        ciphertext, tag = one.get(Tag.DATA), one.get(Tag.AUTHENTICATED_ENCRYPTION_TAG)
        good = Item.bytes(Tag.AUTHENTICATED_ENCRYPTION_TAG, tag)
        parts = self._parts(Operation.DECRYPT, uid, params, [ciphertext[:16], ciphertext[16:30], ciphertext[30:]],
                            [iv, good])
        self.assertEqual([p.get(Tag.DATA) for p in parts[:-1]], [b"", b""])
        self.assertEqual(parts[-1].get(Tag.DATA), message)
        bad = Item.bytes(Tag.AUTHENTICATED_ENCRYPTION_TAG, bytes(16))
        first = self.ok(call(self.d, Operation.DECRYPT, payload(uid_(uid), params, data_(ciphertext[:30]), iv, bad,
                                                                Item.bool(Tag.INIT_INDICATOR, True))))
        self.assertEqual(first.get(Tag.DATA), b"")
        last = call(self.d, Operation.DECRYPT, payload(uid_(uid), data_(ciphertext[30:]), Item.bytes(
            Tag.CORRELATION_VALUE, first.get(Tag.CORRELATION_VALUE)), Item.bool(Tag.FINAL_INDICATOR, True)))
        self.failed(last, ResultReason.CRYPTOGRAPHIC_FAILURE)

    def test_buffered_stream_chacha20_poly1305(self) -> None:
        """One-shot-only ciphers are buffered and produce everything on the final part."""
        uid = add_symmetric(self.d, key=bytes(32), algorithm=CA.CHACHA20POLY1305)
        nonce = data_(bytes(12), Tag.IV_COUNTER_NONCE)
        parts = self._parts(Operation.ENCRYPT, uid, cp(), [b"abc", b"def"], [nonce])
        self.assertEqual(parts[0].get(Tag.DATA), b"")
        self.assertEqual(len(parts[1].get(Tag.DATA)), 6)
        self.assertEqual(len(parts[1].get(Tag.AUTHENTICATED_ENCRYPTION_TAG)), 16)

    def test_unknown_correlation_value(self) -> None:
        """An unknown Correlation Value: Invalid Field (1.x) / Invalid Correlation Value (2.x)."""
        uid = add_symmetric(self.d)
        body = payload(uid_(uid), data_(b"x"), Item.bytes(Tag.CORRELATION_VALUE, b"nope"))
        self.failed(call(self.d, Operation.ENCRYPT, body), ResultReason.INVALID_FIELD)
        self.failed(call(self.d, Operation.ENCRYPT, body, version=(2, 0)), ResultReason.INVALID_CORRELATION_VALUE)

    def test_correlation_value_bound_to_caller(self) -> None:
        """Another caller cannot continue someone's stream."""
        uid = add_symmetric(self.d)
        first = self.ok(call(self.d, Operation.ENCRYPT, payload(
            uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB), data_(bytes(16)),
            Item.bool(Tag.INIT_INDICATOR, True))))
        r = call(self.d, Operation.ENCRYPT, payload(data_(bytes(16)), first.find(Tag.CORRELATION_VALUE)),
                 caller="mallory")
        self.failed(r, ResultReason.INVALID_FIELD)

    def test_streaming_needs_1_3(self) -> None:
        """Init Indicator in a KMIP 1.2 request is refused."""
        uid = add_symmetric(self.d)
        r = call(self.d, Operation.ENCRYPT, payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB),
                                                    data_(bytes(16)), Item.bool(Tag.INIT_INDICATOR, True)),
                 version=(1, 2))
        self.failed(r, ResultReason.INVALID_FIELD)

    def _init(self, op, body_items, caller="tester", version=(1, 4)):
        return call(self.d, op, payload(*body_items, Item.bool(Tag.INIT_INDICATOR, True)), caller=caller,
                    version=version)

    def test_stream_iv_length_validated(self) -> None:
        """A multi-part Encrypt refuses an IV Length its mode does not take, like the one-shot path."""
        uid = add_symmetric(self.d)
        for mode, bits in ((BlockCipherMode.CBC, 2 ** 31 - 8), (BlockCipherMode.CBC, -8),
                           (BlockCipherMode.CBC, 64), (BlockCipherMode.CBC, 0), (BlockCipherMode.GCM, 1032),
                           (BlockCipherMode.GCM, 100)):
            params = cp(block_cipher_mode=mode, padding_method=PaddingMethod.PKCS5, iv_length=bits)
            body = (uid_(uid), params, data_(b"abc"))
            for version, reason in (((1, 4), ResultReason.INVALID_FIELD),
                                    ((2, 0), ResultReason.BAD_CRYPTOGRAPHIC_PARAMETERS)):
                self.failed(self._init(Operation.ENCRYPT, body, version=version), reason)
                self.failed(call(self.d, Operation.ENCRYPT, payload(*body), version=version), reason)
        self.assertEqual(len(self.d.service.streams), 0)

    def test_stream_iv_length_honoured(self) -> None:
        """A valid IV Length sets the size of the IV a multi-part GCM Encrypt generates and returns."""
        uid = add_symmetric(self.d)
        params = cp(block_cipher_mode=BlockCipherMode.GCM, iv_length=128)
        first = self.ok(self._init(Operation.ENCRYPT, (uid_(uid), params, data_(b"abc"))))
        self.assertEqual(len(first.get(Tag.IV_COUNTER_NONCE)), 16)

    def test_stream_iv_size_validated(self) -> None:
        """A multi-part Encrypt refuses a given IV of the wrong size with Bad Cryptographic Parameters (2.x)."""
        uid = add_symmetric(self.d)
        body = (uid_(uid), cp(block_cipher_mode=BlockCipherMode.CBC), data_(bytes(16)),
                data_(bytes(8), Tag.IV_COUNTER_NONCE))
        self.failed(self._init(Operation.ENCRYPT, body, version=(2, 0)), ResultReason.BAD_CRYPTOGRAPHIC_PARAMETERS)

    def test_sign_stream_charges_usage_limits_per_part(self) -> None:
        """Byte Usage Limits are charged for every part of a multi-part Sign, not only the first."""
        limits = Item.struct(Tag.USAGE_LIMITS, [Item.long(Tag.USAGE_LIMITS_TOTAL, 10),
                                                Item.enum(Tag.USAGE_LIMITS_UNIT, UsageLimitsUnit.BYTE)])
        priv = add_private(self.d, _RSA, CA.RSA, extra={"Usage Limits": [limits]})
        params = cp(padding_method=PaddingMethod.PKCS1_V1_5, hashing_algorithm=HashingAlgorithm.SHA_256,
                    cryptographic_algorithm=CA.RSA)
        first = self.ok(self._init(Operation.SIGN, (uid_(priv), params, data_(b"12345"))))
        cv = first.find(Tag.CORRELATION_VALUE)
        self.ok(call(self.d, Operation.SIGN, payload(uid_(priv), data_(b"1234"), cv)))
        with self.d.store.transaction() as tx:
            self.assertEqual(tx.get(priv).first("Usage Limits").get(Tag.USAGE_LIMITS_COUNT), 1)
        self.ok(self._init(Operation.SIGN, (uid_(priv), params, data_(b"1"))))
        r = call(self.d, Operation.SIGN, payload(uid_(priv), data_(b"12"), cv, Item.bool(Tag.FINAL_INDICATOR, True)))
        self.failed(r, ResultReason.PERMISSION_DENIED)

    def test_streams_per_identity_capped(self) -> None:
        """A caller may open 32 multi-part operations by default; the next is refused, other callers are not."""
        uid = add_symmetric(self.d, owner="tester")
        body = (uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB), data_(bytes(16)))
        for _ in range(32):
            self.ok(self._init(Operation.ENCRYPT, body))
        r = self._init(Operation.ENCRYPT, body)
        self.failed(r, ResultReason.INVALID_FIELD)
        self.assertIn("32 open multi-part", r.message)
        hashing = (cp(hashing_algorithm=HashingAlgorithm.SHA_256), data_(b"ab"))
        self.ok(self._init(Operation.HASH, hashing, caller="other"))

    def test_sign_stream(self) -> None:
        """A streamed RSA signature verifies over the concatenated data."""
        priv = add_private(self.d, _RSA, CA.RSA)
        params = cp(padding_method=PaddingMethod.PKCS1_V1_5, hashing_algorithm=HashingAlgorithm.SHA_256,
                    cryptographic_algorithm=CA.RSA)
        parts = self._parts(Operation.SIGN, priv, params, [b"hello ", b"world"])
        sig = parts[-1].get(Tag.SIGNATURE_DATA)
        _RSA.public_key().verify(sig, b"hello world", asym_padding.PKCS1v15(), hashes.SHA256())

    def test_verify_stream(self) -> None:
        """A multi-part Signature Verify takes the Signature Data on the first or the final part;
        a tampered message is Invalid, and no Signature Data at all is Missing Data."""
        pub = add_public(self.d, _RSA.public_key(), CA.RSA)
        params = cp(padding_method=PaddingMethod.PKCS1_V1_5, hashing_algorithm=HashingAlgorithm.SHA_256,
                    cryptographic_algorithm=CA.RSA)
        sig = data_(_RSA.sign(b"hello world", asym_padding.PKCS1v15(), hashes.SHA256()), Tag.SIGNATURE_DATA)
        first = self._parts(Operation.SIGNATURE_VERIFY, pub, params, [b"hello ", b"world"], [sig])
        self.assertIsNone(first[0].get(Tag.VALIDITY_INDICATOR))
        self.assertEqual(first[-1].get(Tag.VALIDITY_INDICATOR), ValidityIndicator.VALID)
        tampered = self._parts(Operation.SIGNATURE_VERIFY, pub, params, [b"hello ", b"worle"], [sig])
        self.assertEqual(tampered[-1].get(Tag.VALIDITY_INDICATOR), ValidityIndicator.INVALID)
        start = self.ok(self._init(Operation.SIGNATURE_VERIFY, (uid_(pub), params, data_(b"hello "))))
        last = self.ok(call(self.d, Operation.SIGNATURE_VERIFY, payload(
            uid_(pub), data_(b"world"), sig, start.find(Tag.CORRELATION_VALUE), Item.bool(Tag.FINAL_INDICATOR, True))))
        self.assertEqual(last.get(Tag.VALIDITY_INDICATOR), ValidityIndicator.VALID)
        start = self.ok(self._init(Operation.SIGNATURE_VERIFY, (uid_(pub), params, data_(b"hello "))))
        r = call(self.d, Operation.SIGNATURE_VERIFY, payload(
            uid_(pub), data_(b"world"), start.find(Tag.CORRELATION_VALUE), Item.bool(Tag.FINAL_INDICATOR, True)))
        self.failed(r, ResultReason.MISSING_DATA)

    def test_digested_data_not_in_parts(self) -> None:
        """Digested Data cannot start a multi-part Sign (Invalid Field)."""
        priv = add_private(self.d, _RSA, CA.RSA)
        params = cp(digital_signature_algorithm=DigitalSignatureAlgorithm.SHA_256_WITH_RSA_ENCRYPTION)
        digest = data_(hashlib.sha256(b"m").digest(), Tag.DIGESTED_DATA)
        self.failed(self._init(Operation.SIGN, (uid_(priv), params, digest)), ResultReason.INVALID_FIELD)
        self.failed(call(self.d, Operation.SIGN, payload(uid_(priv), params)), ResultReason.MISSING_DATA)

    def test_buffered_stream_decrypt(self) -> None:
        """A buffered (one-shot-only) cipher decrypts in parts: nothing until the final part, then the plaintext."""
        uid = add_symmetric(self.d, key=bytes(32), algorithm=CA.CHACHA20POLY1305)
        nonce = data_(bytes(12), Tag.IV_COUNTER_NONCE)
        one = self.ok(call(self.d, Operation.ENCRYPT, payload(uid_(uid), cp(), data_(b"abcdef"), nonce)))
        tag = data_(one.get(Tag.AUTHENTICATED_ENCRYPTION_TAG), Tag.AUTHENTICATED_ENCRYPTION_TAG)
        ct = one.get(Tag.DATA)
        parts = self._parts(Operation.DECRYPT, uid, cp(), [ct[:2], ct[2:]], [nonce, tag])
        self.assertEqual(parts[0].get(Tag.DATA), b"")
        self.assertEqual(parts[1].get(Tag.DATA), b"abcdef")
        self.assertIsNone(parts[1].get(Tag.AUTHENTICATED_ENCRYPTION_TAG))

    def test_gcm_stream_decrypt(self) -> None:
        """A streamed GCM decryption needs the tag on its first part (Bad Cryptographic Parameters
        in 2.x); with it, the parts decrypt to the message."""
        uid = add_symmetric(self.d)
        params = cp(block_cipher_mode=BlockCipherMode.GCM, tag_length=16)
        iv = data_(bytes(12), Tag.IV_COUNTER_NONCE)
        one = self.ok(call(self.d, Operation.ENCRYPT, payload(uid_(uid), params, data_(b"abcdefgh"), iv)))
        ct = one.get(Tag.DATA)
        self.failed(self._init(Operation.DECRYPT, (uid_(uid), params, data_(ct[:3]), iv), version=(2, 0)),
                    ResultReason.BAD_CRYPTOGRAPHIC_PARAMETERS)
        tag = data_(one.get(Tag.AUTHENTICATED_ENCRYPTION_TAG), Tag.AUTHENTICATED_ENCRYPTION_TAG)
        parts = self._parts(Operation.DECRYPT, uid, params, [ct[:3], ct[3:]], [iv, tag])
        self.assertEqual(b"".join(p.get(Tag.DATA) for p in parts), b"abcdefgh")
        short = data_(one.get(Tag.AUTHENTICATED_ENCRYPTION_TAG)[:8], Tag.AUTHENTICATED_ENCRYPTION_TAG)
        r = call(self.d, Operation.DECRYPT, payload(uid_(uid), params, data_(ct), iv, short), version=(2, 0))
        self.failed(r, ResultReason.BAD_CRYPTOGRAPHIC_PARAMETERS)

    def test_mac_and_hash_streams(self) -> None:
        """Streamed HMAC and Hash equal their one-shot values."""
        uid = add_symmetric(self.d, key=b"k" * 32, algorithm=CA.HMAC_SHA256, mask=M.MAC_GENERATE)
        parts = self._parts(Operation.MAC, uid, cp(), [b"ab", b"cd"])
        self.assertEqual(parts[-1].get(Tag.MAC_DATA), std_hmac.new(b"k" * 32, b"abcd", hashlib.sha256).digest())
        first = self.ok(call(self.d, Operation.HASH, payload(cp(hashing_algorithm=HashingAlgorithm.SHA_256),
                                                             data_(b"ab"), Item.bool(Tag.INIT_INDICATOR, True))))
        last = self.ok(call(self.d, Operation.HASH, payload(data_(b"cd"), first.find(Tag.CORRELATION_VALUE),
                                                            Item.bool(Tag.FINAL_INDICATOR, True))))
        self.assertEqual(last.get(Tag.DATA), hashlib.sha256(b"abcd").digest())


class StreamTableTests(SynchronousTestCase):
    def test_expiry(self) -> None:
        """A stream idle past its time to live is gone."""
        t = StreamTable(ttl=10)
        cv = t.put(Stream(1, "u", "me", BufferStream()), now=100)
        self.assertRaises(InvalidCorrelationValue, t.take, cv, 1, "me", 111)

    def test_limit(self) -> None:
        """The table refuses new streams beyond its size limit."""
        t = StreamTable(max_streams=1)
        t.put(Stream(1, "u", "me", BufferStream()), now=0)
        self.assertRaises(InvalidCorrelationValue, t.put, Stream(1, "u", "me", BufferStream()), 0)

    def test_take_checks_operation(self) -> None:
        """A Correlation Value cannot be used by another operation; a taken stream is removed."""
        t = StreamTable()
        cv = t.put(Stream(1, "u", "me", BufferStream()), now=0)
        self.assertRaises(InvalidCorrelationValue, t.take, cv, 2, "me", 0)
        self.assertEqual(t.take(cv, 1, "me", 0).uid, "u")
        self.assertEqual(len(t), 0)

    def test_defaults(self) -> None:
        """The table's limits default to 1024 streams, 32 per identity, 4 MiB per stream and 256 MiB in all."""
        t = StreamTable()
        self.assertEqual((t.max_streams, t.max_streams_per_identity, t.max_buffer, t.max_total_buffer),
                         (1024, 32, 4 * 1024 * 1024, 256 * 1024 * 1024))

    def test_per_identity_limit(self) -> None:
        """One identity cannot open more than its share; others still can, and finishing frees a slot."""
        t = StreamTable(max_streams_per_identity=2)
        cv = t.put(Stream(1, "u", "me", BufferStream()), now=0)
        t.put(Stream(1, "u", "me", BufferStream()), now=0)
        self.assertRaises(InvalidCorrelationValue, t.put, Stream(1, "u", "me", BufferStream()), 0)
        t.put(Stream(1, "u", "you", BufferStream()), now=0)
        t.put(Stream(1, "u", None, BufferStream()), now=0)
        stream = t.take(cv, 1, "me", 0)
        t.put(stream, 0, cv)  # putting a continued stream back is not a new one
        t.take(cv, 1, "me", 0)
        t.put(Stream(1, "u", "me", BufferStream()), now=0)
        self.assertEqual(len(t), 4)

    def test_expiry_frees_identity_slots(self) -> None:
        """Expired streams no longer count against their identity's limit."""
        t = StreamTable(max_streams_per_identity=1, ttl=10)
        t.put(Stream(1, "u", "me", BufferStream()), now=0)
        self.assertRaises(InvalidCorrelationValue, t.put, Stream(1, "u", "me", BufferStream()), 5)
        t.put(Stream(1, "u", "me", BufferStream()), now=11)
        self.assertEqual(len(t), 1)

    def test_total_buffer_budget(self) -> None:
        """Buffered streams share the table's byte budget; taking, finishing or expiring a stream frees it."""
        t = StreamTable(max_total_buffer=10, ttl=10)
        a = t.buffer()
        a.update(b"123456")
        cv = t.put(Stream(1, "u", "me", a), now=0)
        self.assertEqual(t.buffered, 6)
        b = t.buffer()
        b.update(b"1234")
        self.assertRaises(StreamTooLarge, b.update, b"5")
        self.assertEqual(b.size, 4)
        t.take(cv, 1, "me", 0)
        self.assertEqual(t.buffered, 0)
        b.update(b"5678")
        cv = t.put(Stream(1, "u", "you", b), now=0)
        self.assertRaises(StreamTooLarge, t.put, Stream(1, "u", "me", a), 0)  # 8 + 6 > 10
        self.assertEqual(t.buffered, 8)
        t.put(Stream(1, "u", "me", t.buffer()), now=20)  # b expired
        self.assertEqual((t.buffered, len(t)), (0, 1))

    def test_total_buffer_budget_through_requests(self) -> None:
        """A multi-part request that would take the server's buffered data past its budget is refused."""
        d = make_processor(clock=FakeClock(), streams=StreamTable(max_total_buffer=64))
        sym = add_symmetric(d, key=bytes(32), algorithm=CA.CHACHA20POLY1305)
        nonce = data_(bytes(12), Tag.IV_COUNTER_NONCE)
        ok = call(d, Operation.ENCRYPT, payload(uid_(sym), cp(), data_(bytes(40)), nonce,
                                                Item.bool(Tag.INIT_INDICATOR, True)))
        self.assertEqual(ok.status, ResultStatus.SUCCESS, ok.message)
        r = call(d, Operation.ENCRYPT, payload(uid_(sym), cp(), data_(bytes(40)), nonce,
                                               Item.bool(Tag.INIT_INDICATOR, True)), version=(2, 0))
        self.assertEqual((r.status, r.reason), (ResultStatus.OPERATION_FAILED,
                                                ResultReason.BAD_CRYPTOGRAPHIC_PARAMETERS))
        self.assertIn("multi-part data", r.message)

    def test_buffer_limit(self) -> None:
        """A buffered stream refuses data beyond its limit."""
        from kmipd.crypto.streams import StreamTooLarge

        b = BufferStream(limit=4)
        b.update(b"abc")
        self.assertRaises(StreamTooLarge, b.update, b"de")


# ---------------------------------------------------------------------------------------------
# Sign / Verify


class SignVerifyTests(_Base):
    def test_rsa_pkcs1_sign_and_verify(self) -> None:
        """RSA PKCS#1 v1.5 / SHA-256: the signature verifies, a tampered message is Invalid."""
        priv = add_private(self.d, _RSA, CA.RSA)
        pub = add_public(self.d, _RSA.public_key(), CA.RSA)
        params = cp(digital_signature_algorithm=DigitalSignatureAlgorithm.SHA_256_WITH_RSA_ENCRYPTION)
        sig = self.ok(call(self.d, Operation.SIGN, payload(uid_(priv), params, data_(b"msg")))).get(Tag.SIGNATURE_DATA)
        for message, expected in ((b"msg", ValidityIndicator.VALID), (b"msh", ValidityIndicator.INVALID)):
            p = self.ok(call(self.d, Operation.SIGNATURE_VERIFY, payload(
                uid_(pub), params, data_(message), data_(sig, Tag.SIGNATURE_DATA))))
            self.assertEqual(p.get(Tag.VALIDITY_INDICATOR), expected)

    def test_pss_default_mgf_is_signature_hash(self) -> None:
        """PSS without an MGF hash signs with MGF1 over the signature hash (verifiable by cryptography)."""
        priv = add_private(self.d, _RSA, CA.RSA)
        params = cp(padding_method=PaddingMethod.PSS, hashing_algorithm=HashingAlgorithm.SHA_256,
                    cryptographic_algorithm=CA.RSA)
        sig = self.ok(call(self.d, Operation.SIGN, payload(uid_(priv), params, data_(b"m")))).get(Tag.SIGNATURE_DATA)
        _RSA.public_key().verify(sig, b"m", asym_padding.PSS(asym_padding.MGF1(hashes.SHA256()),
                                                              asym_padding.PSS.AUTO), hashes.SHA256())

    def test_pss_verify_accepts_spec_default_mgf(self) -> None:
        """Verification also accepts MGF1-SHA-1, KMIP's documented default."""
        pub = add_public(self.d, _RSA.public_key(), CA.RSA)
        sig = _RSA.sign(b"m", asym_padding.PSS(asym_padding.MGF1(hashes.SHA1()), 32), hashes.SHA256())
        params = cp(padding_method=PaddingMethod.PSS, hashing_algorithm=HashingAlgorithm.SHA_256,
                    cryptographic_algorithm=CA.RSA)
        p = self.ok(call(self.d, Operation.SIGNATURE_VERIFY, payload(uid_(pub), params, data_(b"m"),
                                                                     data_(sig, Tag.SIGNATURE_DATA))))
        self.assertEqual(p.get(Tag.VALIDITY_INDICATOR), ValidityIndicator.VALID)

    def test_ecdsa(self) -> None:
        """ECDSA P-256 signatures verify through SignatureVerify."""
        key = ec.generate_private_key(ec.SECP256R1())
        priv = add_private(self.d, key, CA.ECDSA)
        pub = add_public(self.d, key.public_key(), CA.ECDSA)
        params = cp(digital_signature_algorithm=DigitalSignatureAlgorithm.ECDSA_WITH_SHA256)
        sig = self.ok(call(self.d, Operation.SIGN, payload(uid_(priv), params, data_(b"m")))).get(Tag.SIGNATURE_DATA)
        p = self.ok(call(self.d, Operation.SIGNATURE_VERIFY, payload(uid_(pub), params, data_(b"m"),
                                                                     data_(sig, Tag.SIGNATURE_DATA))))
        self.assertEqual(p.get(Tag.VALIDITY_INDICATOR), ValidityIndicator.VALID)

    def test_ed25519_kmip_2(self) -> None:
        """Ed25519 signing (KMIP 2.x algorithm) produces a signature cryptography verifies."""
        key = ed25519.Ed25519PrivateKey.generate()
        priv = add_private(self.d, key, CA.ED25519)
        sig = self.ok(call(self.d, Operation.SIGN, payload(uid_(priv), data_(b"m")), version=(2, 0))
                      ).get(Tag.SIGNATURE_DATA)
        key.public_key().verify(sig, b"m")

    def test_digested_data(self) -> None:
        """Sign accepts Digested Data in 1.4 and refuses it in 1.3."""
        priv = add_private(self.d, _RSA, CA.RSA)
        params = cp(digital_signature_algorithm=DigitalSignatureAlgorithm.SHA_256_WITH_RSA_ENCRYPTION)
        body = payload(uid_(priv), params, data_(hashlib.sha256(b"m").digest(), Tag.DIGESTED_DATA))
        sig = self.ok(call(self.d, Operation.SIGN, body)).get(Tag.SIGNATURE_DATA)
        _RSA.public_key().verify(sig, b"m", asym_padding.PKCS1v15(), hashes.SHA256())
        self.failed(call(self.d, Operation.SIGN, body, version=(1, 3)), ResultReason.INVALID_FIELD)

    def test_signing_key_must_be_private(self) -> None:
        """Signing with a public key is refused."""
        pub = add_public(self.d, _RSA.public_key(), CA.RSA, mask=M.SIGN)
        r = call(self.d, Operation.SIGN, payload(uid_(pub), data_(b"m")))
        self.failed(r, ResultReason.INVALID_FIELD)
        self.assertIn("Private Key", r.message)

    def test_sign_mask_and_padding_required(self) -> None:
        """No Sign bit is refused; RSA without a padding method is refused with Invalid Field."""
        priv = add_private(self.d, _RSA, CA.RSA, mask=M.DECRYPT)
        self.failed(call(self.d, Operation.SIGN, payload(uid_(priv), data_(b"m"))), ResultReason.PERMISSION_DENIED)
        priv2 = add_private(self.d, _RSA, CA.RSA)
        r = call(self.d, Operation.SIGN, payload(uid_(priv2), cp(hashing_algorithm=HashingAlgorithm.SHA_256),
                                                 data_(b"m")))
        self.failed(r, ResultReason.INVALID_FIELD)
        self.assertIn("padding", r.message)

    def test_incompatible_signature_algorithm(self) -> None:
        """An ECDSA algorithm with an RSA key is refused."""
        priv = add_private(self.d, _RSA, CA.RSA)
        params = cp(digital_signature_algorithm=DigitalSignatureAlgorithm.ECDSA_WITH_SHA256)
        self.failed(call(self.d, Operation.SIGN, payload(uid_(priv), params, data_(b"m"))),
                    ResultReason.INVALID_FIELD)

    def test_verify_needs_signature(self) -> None:
        """SignatureVerify without Signature Data is Missing Data."""
        pub = add_public(self.d, _RSA.public_key(), CA.RSA)
        params = cp(digital_signature_algorithm=DigitalSignatureAlgorithm.SHA_256_WITH_RSA_ENCRYPTION)
        self.failed(call(self.d, Operation.SIGNATURE_VERIFY, payload(uid_(pub), params, data_(b"m"))),
                    ResultReason.MISSING_DATA)


# ---------------------------------------------------------------------------------------------
# MAC


class MACTests(_Base):
    def test_hmac_algorithm_from_parameters(self) -> None:
        """An AES key used with HMAC-SHA256 from its Cryptographic Parameters (as CS-AC-M-4)."""
        key = bytes.fromhex("0123456789abcdef0123456789abcdef")
        uid = add_symmetric(self.d, key=key, mask=M.MAC_GENERATE | M.MAC_VERIFY,
                            params=[cp(cryptographic_algorithm=CA.HMAC_SHA256)])
        p = self.ok(call(self.d, Operation.MAC, payload(uid_(uid), data_(bytes.fromhex("0102030405060708091011"
                                                                                          "1213141516")))))
        self.assertEqual(p.get(Tag.MAC_DATA).hex(),
                         "c911e78196d64c30f631bb079ea37b97a95936d4da764d6a171df030c895ecf9")

    def test_cmac_and_verify(self) -> None:
        """AES-CMAC (RFC 4493 example 2) and MACVerify valid / invalid."""
        key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
        uid = add_symmetric(self.d, key=key, mask=M.MAC_GENERATE | M.MAC_VERIFY)
        msg = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")
        mac = self.ok(call(self.d, Operation.MAC, payload(uid_(uid), data_(msg)))).get(Tag.MAC_DATA)
        self.assertEqual(mac.hex(), "070a16b46b4d4144f79bdd9dd04a287c")
        for value, expected in ((mac, ValidityIndicator.VALID), (bytes(16), ValidityIndicator.INVALID)):
            p = self.ok(call(self.d, Operation.MAC_VERIFY, payload(uid_(uid), data_(msg), data_(value, Tag.MAC_DATA)),
                             version=(2, 0)))
            self.assertEqual(p.get(Tag.VALIDITY_INDICATOR), expected)

    def test_mac_mask_and_state(self) -> None:
        """MAC needs the MAC Generate bit and an Active key."""
        uid = add_symmetric(self.d, mask=M.MAC_VERIFY)
        self.failed(call(self.d, Operation.MAC, payload(uid_(uid), data_(b"x"))), ResultReason.PERMISSION_DENIED)
        uid2 = add_symmetric(self.d, mask=M.MAC_GENERATE, state=State.PRE_ACTIVE)
        self.failed(call(self.d, Operation.MAC, payload(uid_(uid2), data_(b"x"))), ResultReason.ILLEGAL_OPERATION)

    def test_mac_unsupported_algorithm(self) -> None:
        """MAC with an RC4 key (no CMAC) is refused with Invalid Field."""
        uid = add_symmetric(self.d, algorithm=CA.RC4, mask=M.MAC_GENERATE)
        self.failed(call(self.d, Operation.MAC, payload(uid_(uid), data_(b"x"))), ResultReason.INVALID_FIELD)

    def test_mac_verify_needs_mac_data(self) -> None:
        """MACVerify without MAC Data is Missing Data."""
        uid = add_symmetric(self.d, mask=M.MAC_VERIFY)
        self.failed(call(self.d, Operation.MAC_VERIFY, payload(uid_(uid), data_(b"x"))), ResultReason.MISSING_DATA)


# ---------------------------------------------------------------------------------------------
# Hash and RNG


class HashRNGTests(_Base):
    def test_hash(self) -> None:
        """Hash SHA-256 of the CS-AC-M-7 data."""
        p = self.ok(call(self.d, Operation.HASH, payload(cp(hashing_algorithm=HashingAlgorithm.SHA_256),
                                                         data_(bytes.fromhex("01020304050607080910111213141516")))))
        self.assertEqual(p.get(Tag.DATA).hex(), "ad41233d22cf9322e3a7ff49a13da434797abed3bab80950a1a0d4e582b7ea72")

    def test_hash_needs_parameters(self) -> None:
        """Hash without Cryptographic Parameters is Missing Data; an unsupported hash is Invalid Field."""
        self.failed(call(self.d, Operation.HASH, payload(data_(b"x"))), ResultReason.MISSING_DATA)
        self.failed(call(self.d, Operation.HASH, payload(cp(hashing_algorithm=HashingAlgorithm.MD2), data_(b"x"))),
                    ResultReason.INVALID_FIELD)

    def test_rng_retrieve(self) -> None:
        """RNGRetrieve returns Data Length bytes, different each time."""
        a = self.ok(call(self.d, Operation.RNG_RETRIEVE, payload(Item.int(Tag.DATA_LENGTH, 32)))).get(Tag.DATA)
        b = self.ok(call(self.d, Operation.RNG_RETRIEVE, payload(Item.int(Tag.DATA_LENGTH, 32)))).get(Tag.DATA)
        self.assertEqual((len(a), len(b)), (32, 32))
        self.assertNotEqual(a, b)

    def test_rng_retrieve_bad_length(self) -> None:
        """RNGRetrieve without or with an absurd Data Length fails."""
        self.failed(call(self.d, Operation.RNG_RETRIEVE, payload()), ResultReason.MISSING_DATA)
        self.failed(call(self.d, Operation.RNG_RETRIEVE, payload(Item.int(Tag.DATA_LENGTH, 0))),
                    ResultReason.INVALID_FIELD)
        self.failed(call(self.d, Operation.RNG_RETRIEVE, payload(Item.int(Tag.DATA_LENGTH, 1 << 30))),
                    ResultReason.INVALID_FIELD)

    def test_rng_seed(self) -> None:
        """RNGSeed reports the number of seed bytes accepted; no Data is Missing Data."""
        p = self.ok(call(self.d, Operation.RNG_SEED, payload(data_(bytes(32))), version=(2, 0)))
        self.assertEqual(p.get(Tag.DATA_LENGTH), 32)
        self.failed(call(self.d, Operation.RNG_SEED, payload()), ResultReason.MISSING_DATA)

    def test_rng_not_in_1_1(self) -> None:
        """The cryptographic service operations do not exist before KMIP 1.2."""
        r = call(self.d, Operation.RNG_RETRIEVE, payload(Item.int(Tag.DATA_LENGTH, 8)), version=(1, 1))
        self.failed(r, ResultReason.OPERATION_NOT_SUPPORTED)


class SQLStoreTests(SynchronousTestCase):
    def test_encrypt_on_sqlite_with_usage_limits(self) -> None:
        """Encrypt works on the SQL store and persists the Usage Limits decrement."""
        import os
        import tempfile

        from kmipd.store.sql import SQLObjectStore

        path = os.path.join(tempfile.mkdtemp(), "k.sqlite")
        try:
            store = SQLObjectStore(f"sqlite:///{path}", master_key=bytes(32))
        except TypeError:
            store = SQLObjectStore(f"sqlite:///{path}")
        self.addCleanup(store.close)
        d = make_processor(store)
        limits = Item.struct(Tag.USAGE_LIMITS, [Item.long(Tag.USAGE_LIMITS_TOTAL, 5),
                                                Item.enum(Tag.USAGE_LIMITS_UNIT, UsageLimitsUnit.OBJECT)])
        uid = add_symmetric(d, extra={"Usage Limits": [limits]})
        r = call(d, Operation.ENCRYPT, payload(uid_(uid), cp(block_cipher_mode=BlockCipherMode.ECB), data_(bytes(16))))
        self.assertEqual(r.payload.get(Tag.DATA), bytes.fromhex("c6a13b37878f5b826f4f8162a1c8d879"))
        with d.store.transaction() as tx:
            self.assertEqual(tx.get(uid).first("Usage Limits").get(Tag.USAGE_LIMITS_COUNT), 4)
