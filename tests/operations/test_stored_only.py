"""Keys of symmetric algorithms kmipd stores but cannot compute with (Skipjack, RC5, MARS, ...).

Create generates them and Register accepts them with the spec's key lengths
(L{kmipd.crypto.keygen.STORED_ONLY_ALGORITHMS}); Encrypt, Decrypt and MAC with them fail with a
clear Invalid Field. SKFF-O-1/2/3 of the 1.0-1.2 conformance vectors create Skipjack keys.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.model import keyblock
from kmipd.spec import BlockCipherMode, KeyFormatType, ObjectType, Operation, ResultReason, Tag
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as CUM
from kmipd.testing import call, make_processor
from kmipd.ttlv import Item

from .test_create import (
    V10,
    V14,
    V21,
    Assertions,
    a_alg,
    a_len,
    a_mask,
    attrs_of,
    create,
    get_attributes,
    get_key,
    key_bytes_of,
    uid_payload,
)
from .test_crypto_ops import cp
from .test_register import block, register

ENC_DEC_MAC = CUM.ENCRYPT | CUM.DECRYPT | CUM.MAC_GENERATE


class CreateStoredOnlyTests(SynchronousTestCase, Assertions):
    """Create of keys for algorithms without an implementation."""

    def setUp(self) -> None:
        self.d = make_processor()

    def _create(self, alg: int, length: int, version=V14) -> str:
        r = create(self.d, [a_alg(alg), a_len(length), a_mask(CUM.ENCRYPT | CUM.DECRYPT)], version=version)
        self.assertOK(r)
        return r.payload.get(Tag.UNIQUE_IDENTIFIER)

    def test_skipjack_10(self) -> None:
        """A KMIP 1.0 Create of an 80-bit Skipjack key succeeds and Get returns 10 random bytes."""
        uid = self._create(CA.SKIPJACK, 80, version=V10)
        got = get_key(self.d, uid, version=V10)
        self.assertOK(got)
        self.assertEqual(len(key_bytes_of(got)), 10)
        block_ = got.payload.value[2].find(Tag.KEY_BLOCK)
        self.assertEqual(block_.get(Tag.KEY_FORMAT_TYPE), KeyFormatType.RAW)
        self.assertEqual(block_.get(Tag.CRYPTOGRAPHIC_ALGORITHM), CA.SKIPJACK)
        self.assertEqual(block_.get(Tag.CRYPTOGRAPHIC_LENGTH), 80)

    def test_skipjack_21(self) -> None:
        """The 2.1 request shape works too, and the attributes name Skipjack/80."""
        uid = self._create(CA.SKIPJACK, 80, version=V21)
        got = attrs_of(get_attributes(self.d, uid, version=V21), V21)
        self.assertEqual(got["Cryptographic Algorithm"][0].value, CA.SKIPJACK)
        self.assertEqual(got["Cryptographic Length"][0].value, 80)

    def test_table(self) -> None:
        """Every listed algorithm/length pair creates a key of the stored size."""
        for alg, length, stored in ((CA.DES, 56, 8), (CA.DES, 64, 8), (CA.RC2, 40, 5), (CA.RC2, 1024, 128),
                                    (CA.RC5, 128, 16), (CA.MARS, 448, 56), (CA.TWOFISH, 192, 24),
                                    (CA.ARIA, 256, 32), (CA.SM4, 128, 16), (CA.POLY1305, 256, 32),
                                    (CA.GOST_28147_89, 256, 32)):
            uid = self._create(alg, length)
            self.assertEqual(len(key_bytes_of(get_key(self.d, uid))), stored, (alg, length))

    def test_des_parity(self) -> None:
        """A generated DES key has odd parity in every byte, like 3DES keys."""
        key = key_bytes_of(get_key(self.d, self._create(CA.DES, 56)))
        self.assertTrue(all(bin(b).count("1") % 2 == 1 for b in key))

    def test_bad_length(self) -> None:
        """A length the algorithm does not define is Invalid Field naming the valid one."""
        for alg, length in ((CA.SKIPJACK, 128), (CA.TWOFISH, 100), (CA.MARS, 136), (CA.DES, 128)):
            r = create(self.d, [a_alg(alg), a_len(length), a_mask(CUM.ENCRYPT)])
            self.assertFails(r, ResultReason.INVALID_FIELD)
        r = create(self.d, [a_alg(CA.SKIPJACK), a_len(64), a_mask(CUM.ENCRYPT)])
        self.assertIn("80", r.message)

    def test_not_symmetric(self) -> None:
        """One Time Pad (no defined length) and hash algorithms still cannot be created."""
        for alg in (CA.ONE_TIME_PAD, CA.SHA3_256, CA.SM3):
            r = create(self.d, [a_alg(alg), a_len(128), a_mask(CUM.ENCRYPT)])
            self.assertFails(r, ResultReason.INVALID_FIELD)

    def test_rekey(self) -> None:
        """ReKey of a Skipjack key makes a new 80-bit key."""
        uid = self._create(CA.SKIPJACK, 80)
        r = call(self.d, Operation.RE_KEY, uid_payload(uid), caller="alice")
        self.assertOK(r)
        new = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertNotEqual(new, uid)
        self.assertEqual(len(key_bytes_of(get_key(self.d, new))), 10)


class RegisterStoredOnlyTests(SynchronousTestCase, Assertions):
    """Register of keys for algorithms without an implementation."""

    def setUp(self) -> None:
        self.d = make_processor()

    def _body(self, alg: int, key: bytes, length: int | None) -> Item:
        return keyblock.body(ObjectType.SYMMETRIC_KEY, block(KeyFormatType.RAW, key, alg, length))

    def test_accepted(self) -> None:
        """Registered Skipjack, DES (nominal 56), RC2 and Twofish keys come back unchanged."""
        for alg, key, length in ((CA.SKIPJACK, bytes(range(10)), 80), (CA.DES, b"\x01" * 8, 56),
                                 (CA.DES, b"\x01" * 8, 64), (CA.RC2, b"r" * 5, None),
                                 (CA.TWOFISH, b"t" * 32, 256)):
            r = register(self.d, ObjectType.SYMMETRIC_KEY, self._body(alg, key, length), [a_mask(CUM.ENCRYPT)])
            self.assertOK(r)
            uid = r.payload.get(Tag.UNIQUE_IDENTIFIER)
            self.assertEqual(key_bytes_of(get_key(self.d, uid)), key, alg)

    def test_wrong_size(self) -> None:
        """A key of a size the algorithm does not define is Invalid Field."""
        for alg, key in ((CA.SKIPJACK, b"k" * 16), (CA.TWOFISH, b"k" * 10), (CA.DES, b"k" * 7)):
            r = register(self.d, ObjectType.SYMMETRIC_KEY, self._body(alg, key, None), [a_mask(CUM.ENCRYPT)])
            self.assertFails(r, ResultReason.INVALID_FIELD)

    def test_length_mismatch(self) -> None:
        """Cryptographic Length 80 on an 8-byte Skipjack key is Invalid Field."""
        r = register(self.d, ObjectType.SYMMETRIC_KEY, self._body(CA.SKIPJACK, b"k" * 8, 80),
                     [a_mask(CUM.ENCRYPT)])
        self.assertFails(r, ResultReason.INVALID_FIELD)


class NoComputationTests(SynchronousTestCase, Assertions):
    """Cryptographic operations with stored-only keys fail cleanly."""

    def setUp(self) -> None:
        self.d = make_processor()
        r = create(self.d, [a_alg(CA.SKIPJACK), a_len(80), a_mask(ENC_DEC_MAC),
                            ("Activation Date", Item.datetime(Tag.ACTIVATION_DATE, 0))])
        self.assertOK(r)
        self.uid = r.payload.get(Tag.UNIQUE_IDENTIFIER)

    def _op(self, op: int, data: bytes = bytes(16), version=V14) -> None:
        r = call(self.d, op, uid_payload(self.uid, cp(block_cipher_mode=BlockCipherMode.CBC),
                                         Item.bytes(Tag.DATA, data), Item.bytes(Tag.IV_COUNTER_NONCE, bytes(8))),
                 version=version, caller="alice")
        # KMIP 2.x names the refusal Bad Cryptographic Parameters (as for any unusable algorithm).
        self.assertFails(r, ResultReason.INVALID_FIELD if version < (2, 0) else
                         ResultReason.BAD_CRYPTOGRAPHIC_PARAMETERS)
        self.assertIn("Skipjack", r.message)

    def test_encrypt(self) -> None:
        """Encrypt with a Skipjack key: Invalid Field naming the algorithm."""
        self._op(Operation.ENCRYPT)

    def test_decrypt(self) -> None:
        """Decrypt with a Skipjack key: Invalid Field naming the algorithm."""
        self._op(Operation.DECRYPT)

    def test_encrypt_21(self) -> None:
        """The same refusal in KMIP 2.1, with the 2.x reason."""
        self._op(Operation.ENCRYPT, version=V21)

    def test_mac(self) -> None:
        """MAC with a Skipjack key (a CMAC request) is Invalid Field naming the algorithm."""
        r = call(self.d, Operation.MAC, uid_payload(self.uid, Item.bytes(Tag.DATA, bytes(16))), caller="alice")
        self.assertFails(r, ResultReason.INVALID_FIELD)
        self.assertIn("SKIPJACK", r.message)
