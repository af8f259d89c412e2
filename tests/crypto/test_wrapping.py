"""
Tests for L{kmipd.crypto.wrapping}.

Vectors: RFC 3394 sections 4.1 and 4.6; RFC 5649 section 6 (both examples).
"""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto import CryptographicAlgorithm as CA
from kmipd.crypto import HashingAlgorithm as HA
from kmipd.crypto.errors import CRYPTOGRAPHIC_FAILURE, INVALID_FIELD
from kmipd.crypto.keygen import generate_key_pair
from kmipd.crypto.wrapping import (
    SEAL_VERSION_AES256_GCM,
    aes_key_unwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap,
    aes_key_wrap_with_padding,
    rsa_oaep_unwrap,
    rsa_oaep_wrap,
    seal,
    unseal,
)
from kmipd.testing import ReasonAssertions

h = bytes.fromhex




class AESKeyWrapTests(ReasonAssertions, SynchronousTestCase):
    """RFC 3394 and RFC 5649 key wrap."""

    def test_rfc3394_128(self):
        """128-bit key data under a 128-bit KEK matches RFC 3394 4.1 and unwraps."""
        kek = h("000102030405060708090A0B0C0D0E0F")
        key = h("00112233445566778899AABBCCDDEEFF")
        wrapped = h("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
        self.assertEqual(aes_key_wrap(kek, key), wrapped)
        self.assertEqual(aes_key_unwrap(kek, wrapped), key)

    def test_rfc3394_256(self):
        """256-bit key data under a 256-bit KEK matches RFC 3394 4.6."""
        kek = h("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
        key = h("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
        wrapped = h("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21")
        self.assertEqual(aes_key_wrap(kek, key), wrapped)
        self.assertEqual(aes_key_unwrap(kek, wrapped), key)

    def test_rfc5649(self):
        """Both RFC 5649 section 6 examples wrap and unwrap."""
        kek = h("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
        for key, wrapped in (
            (
                h("c37b7e6492584340bed12207808941155068f738"),
                h("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"),
            ),
            (h("466f7250617369"), h("afbeb0f07dfbf5419200f2ccb50bb24f")),
        ):
            self.assertEqual(aes_key_wrap_with_padding(kek, key), wrapped)
            self.assertEqual(aes_key_unwrap_with_padding(kek, wrapped), key)

    def test_unwrap_integrity(self):
        """A flipped bit or wrong KEK fails the integrity check as Cryptographic Failure."""
        kek = os.urandom(16)
        wrapped = aes_key_wrap(kek, os.urandom(32))
        bad = wrapped[:-1] + bytes([wrapped[-1] ^ 1])
        self.assertReason(CRYPTOGRAPHIC_FAILURE, aes_key_unwrap, kek, bad)
        self.assertReason(CRYPTOGRAPHIC_FAILURE, aes_key_unwrap, os.urandom(16), wrapped)
        padded = aes_key_wrap_with_padding(kek, b"short")
        self.assertReason(CRYPTOGRAPHIC_FAILURE, aes_key_unwrap_with_padding, os.urandom(16), padded)

    def test_bad_lengths(self):
        """Bad KEK sizes, unaligned key data and short wrapped data are Invalid Field."""
        self.assertReason(INVALID_FIELD, aes_key_wrap, bytes(15), bytes(16))
        self.assertReason(INVALID_FIELD, aes_key_wrap, bytes(16), bytes(20))
        self.assertReason(INVALID_FIELD, aes_key_wrap, bytes(16), bytes(8))
        self.assertReason(INVALID_FIELD, aes_key_unwrap, bytes(16), bytes(16))
        self.assertReason(INVALID_FIELD, aes_key_wrap_with_padding, bytes(16), b"")
        self.assertReason(INVALID_FIELD, aes_key_unwrap_with_padding, bytes(16), bytes(12))


class RSAOAEPWrapTests(ReasonAssertions, SynchronousTestCase):
    """RSA-OAEP key transport."""

    def setUp(self):
        self.pair = generate_key_pair(CA.RSA, 2048)

    def test_round_trip(self):
        """A 256-bit key wraps to a 256-byte blob and unwraps with matching hashes."""
        key = os.urandom(32)
        wrapped = rsa_oaep_wrap(self.pair.public_der, key, HA.SHA_256, HA.SHA_256)
        self.assertEqual(len(wrapped), 256)
        self.assertEqual(rsa_oaep_unwrap(self.pair.private_der, wrapped, HA.SHA_256, HA.SHA_256), key)

    def test_mgf_default_sha1(self):
        """Without a mask generator hash, SHA-1 is used, so SHA-256 MGF1 fails to unwrap."""
        wrapped = rsa_oaep_wrap(self.pair.public_der, b"k" * 16, HA.SHA_256)
        self.assertEqual(
            rsa_oaep_unwrap(self.pair.private_der, wrapped, HA.SHA_256, HA.SHA_1),
            b"k" * 16,
        )
        self.assertReason(
            CRYPTOGRAPHIC_FAILURE,
            rsa_oaep_unwrap,
            self.pair.private_der,
            wrapped,
            HA.SHA_256,
            HA.SHA_256,
        )

    def test_errors(self):
        """Non-RSA keys and key data too long for the modulus are Invalid Field."""
        ec_pair = generate_key_pair(CA.EC, 256)
        self.assertReason(INVALID_FIELD, rsa_oaep_wrap, ec_pair.public_der, bytes(16))
        self.assertReason(INVALID_FIELD, rsa_oaep_unwrap, ec_pair.private_der, bytes(256))
        self.assertReason(INVALID_FIELD, rsa_oaep_wrap, self.pair.public_der, bytes(256))


class SealTests(ReasonAssertions, SynchronousTestCase):
    """The at-rest envelope."""

    def setUp(self):
        self.master = os.urandom(32)

    def test_round_trip(self):
        """A sealed blob has a version byte, nonce, ciphertext and tag, and unseals."""
        blob = seal(self.master, b"key material", b"uid-1")
        self.assertEqual(blob[0], SEAL_VERSION_AES256_GCM)
        self.assertEqual(len(blob), 1 + 12 + len(b"key material") + 16)
        self.assertEqual(unseal(self.master, blob, b"uid-1"), b"key material")

    def test_random_nonce(self):
        """Sealing the same plaintext twice gives different blobs."""
        self.assertNotEqual(seal(self.master, b"x", b""), seal(self.master, b"x", b""))

    def test_tampering(self):
        """Any flipped byte (version, nonce, body, tag) is a Cryptographic Failure."""
        blob = seal(self.master, b"key material", b"uid-1")
        for i in range(len(blob)):
            bad = blob[:i] + bytes([blob[i] ^ 0x01]) + blob[i + 1 :]
            self.assertReason(CRYPTOGRAPHIC_FAILURE, unseal, self.master, bad, b"uid-1")

    def test_wrong_aad_or_key(self):
        """A different AAD or master key is a Cryptographic Failure."""
        blob = seal(self.master, b"key material", b"uid-1")
        self.assertReason(CRYPTOGRAPHIC_FAILURE, unseal, self.master, blob, b"uid-2")
        self.assertReason(CRYPTOGRAPHIC_FAILURE, unseal, os.urandom(32), blob, b"uid-1")

    def test_truncated(self):
        """A blob shorter than header plus tag is a Cryptographic Failure."""
        self.assertReason(CRYPTOGRAPHIC_FAILURE, unseal, self.master, b"\x01" + bytes(20), b"")

    def test_bad_master_key(self):
        """A master key that is not 32 bytes is an Invalid Field."""
        self.assertReason(INVALID_FIELD, seal, bytes(16), b"x", b"")
        self.assertReason(INVALID_FIELD, unseal, bytes(16), bytes(40), b"")
