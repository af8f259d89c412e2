"""
Tests for L{kmipd.crypto.derive}.

Vectors: RFC 6070 (PBKDF2-HMAC-SHA1), RFC 5869 test case 1 (HKDF-SHA256),
NIST CAVP SP 800-108 KBKDF counter mode (HMAC_SHA256 and CMAC_AES128,
BEFORE_FIXED, RLEN=32_BITS, COUNT=0), RFC 4231 test case 2 (HMAC), FIPS
180 "abc" digests (HASH), SP 800-38A F.1.1 (ENCRYPT with AES-ECB).
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto import BlockCipherMode as M
from kmipd.crypto import CryptographicAlgorithm as CA
from kmipd.crypto import DerivationMethod as DM
from kmipd.crypto import HashingAlgorithm as HA
from kmipd.crypto.derive import derivation_methods, derive_key
from kmipd.crypto.errors import CRYPTOGRAPHIC_FAILURE, INVALID_FIELD
from kmipd.testing import ReasonAssertions

h = bytes.fromhex




class KnownAnswerTests(SynchronousTestCase):
    """Each derivation method against a published vector."""

    def test_pbkdf2(self):
        """PBKDF2-HMAC-SHA1 matches RFC 6070 for 1 and 2 iterations (SHA-1 default)."""
        self.assertEqual(
            derive_key(
                DM.PBKDF2,
                key_material=b"password",
                salt=b"salt",
                iterations=1,
                length_bits=160,
            ),
            h("0c60c80f961f0e71f3a9b524af6012062fe037a6"),
        )
        self.assertEqual(
            derive_key(
                DM.PBKDF2,
                key_material=b"password",
                salt=b"salt",
                iterations=2,
                hashing_algorithm=HA.SHA_1,
                length_bits=160,
            ),
            h("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"),
        )

    def test_hash(self):
        """HASH over derivation data (MD5) or key material (SHA-256) is the digest."""
        self.assertEqual(
            derive_key(
                DM.HASH,
                derivation_data=b"abc",
                hashing_algorithm=HA.MD5,
                length_bits=128,
            ),
            h("900150983cd24fb0d6963f7d28e17f72"),
        )
        self.assertEqual(
            derive_key(
                DM.HASH,
                key_material=b"abc",
                hashing_algorithm=HA.SHA_256,
                length_bits=128,
            ),
            h("ba7816bf8f01cfea414140de5dae2223"),
        )

    def test_hmac(self):
        """HMAC over the derivation data matches RFC 4231 case 2, truncated to the length."""
        self.assertEqual(
            derive_key(
                DM.HMAC,
                key_material=b"Jefe",
                derivation_data=b"what do ya want for nothing?",
                hashing_algorithm=HA.SHA_256,
                length_bits=128,
            ),
            h("5bdcc146bf60754e6a042426089575c7"),
        )

    def test_encrypt(self):
        """ENCRYPT with AES-128-ECB gives the SP 800-38A ciphertext."""
        self.assertEqual(
            derive_key(
                DM.ENCRYPT,
                key_material=h("2b7e151628aed2a6abf7158809cf4f3c"),
                derivation_data=h("6bc1bee22e409f96e93d7e117393172a"),
                encryption_algorithm=CA.AES,
                mode=M.ECB,
                length_bits=128,
            ),
            h("3ad77bb40d7a3660a89ecaf32466ef97"),
        )

    def test_nist800_108_counter_hmac(self):
        """SP 800-108 counter mode with HMAC-SHA256 matches the CAVP vector."""
        self.assertEqual(
            derive_key(
                DM.NIST800_108_C,
                key_material=h("dd1d91b7d90b2bd3138533ce92b272fbf8a369316aefe242e659cc0ae238afe0"),
                derivation_data=h(
                    "01322b96b30acd197979444e468e1c5c6859bf1b1cf951b7e725303e237e46b8"
                    "64a145fab25e517b08f8683d0315bb2911d80a0e8aba17f3b413faac"
                ),
                hashing_algorithm=HA.SHA_256,
                length_bits=128,
            ),
            h("10621342bfb0fd40046c0e29f2cfdbf0"),
        )

    def test_nist800_108_counter_cmac(self):
        """SP 800-108 counter mode with AES-128 CMAC matches the CAVP vector."""
        self.assertEqual(
            derive_key(
                DM.NIST800_108_C,
                key_material=h("c10b152e8c97b77e18704e0f0bd38305"),
                derivation_data=h(
                    "98cd4cbbbebe15d17dc86e6dbad800a2dcbd64f7c7ad0e78e9cf94ffdba89d03"
                    "e97eadf6c4f7b806caf52aa38f09d0eb71d71f497bcc6906b48d36c4"
                ),
                encryption_algorithm=CA.AES,
                length_bits=128,
            ),
            h("26faf61908ad9ee881b8305c221db53f"),
        )

    def test_hkdf(self):
        """HKDF-SHA256 (the default hash) matches RFC 5869 test case 1."""
        self.assertEqual(
            derive_key(
                DM.HKDF,
                key_material=b"\x0b" * 22,
                salt=h("000102030405060708090a0b0c"),
                derivation_data=h("f0f1f2f3f4f5f6f7f8f9"),
                length_bits=42 * 8,
            ),
            h("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
        )

    def test_supported_set(self):
        """derivation_methods lists the six implemented methods."""
        self.assertEqual(
            derivation_methods(),
            {DM.PBKDF2, DM.HASH, DM.HMAC, DM.ENCRYPT, DM.NIST800_108_C, DM.HKDF},
        )


class DeriveErrorTests(ReasonAssertions, SynchronousTestCase):
    """Derivation parameter errors."""

    def test_too_long(self):
        """Asking HASH for more than its digest is a Cryptographic Failure (PyKMIP's rule)."""
        err = self.assertReason(
            CRYPTOGRAPHIC_FAILURE,
            derive_key,
            DM.HASH,
            derivation_data=b"x",
            hashing_algorithm=HA.MD5,
            length_bits=256,
        )
        self.assertIn("longer", err.message)

    def test_length_required_and_valid(self):
        """A missing, zero or non-byte length is an Invalid Field."""
        for length in (None, 0, 12, -8):
            self.assertReason(
                INVALID_FIELD,
                derive_key,
                DM.HASH,
                derivation_data=b"x",
                hashing_algorithm=HA.MD5,
                length_bits=length,
            )

    def test_unsupported_method(self):
        """Feedback mode, missing and unknown methods are Invalid Field."""
        for method in (DM.NIST800_108_F, None, 0x7FFF):
            self.assertReason(
                INVALID_FIELD,
                derive_key,
                method,
                key_material=b"k",
                derivation_data=b"x",
                length_bits=128,
            )

    def test_pbkdf2_requirements(self):
        """PBKDF2 needs a salt and a sane iteration count."""
        self.assertReason(
            INVALID_FIELD,
            derive_key,
            DM.PBKDF2,
            key_material=b"pw",
            iterations=1,
            length_bits=128,
        )
        self.assertReason(
            INVALID_FIELD,
            derive_key,
            DM.PBKDF2,
            key_material=b"pw",
            salt=b"s",
            length_bits=128,
        )
        self.assertReason(
            INVALID_FIELD,
            derive_key,
            DM.PBKDF2,
            key_material=b"pw",
            salt=b"s",
            iterations=0,
            length_bits=128,
        )

    def test_hash_needs_exactly_one_input(self):
        """HASH with both inputs, or neither, is an Invalid Field."""
        self.assertReason(
            INVALID_FIELD,
            derive_key,
            DM.HASH,
            key_material=b"k",
            derivation_data=b"d",
            hashing_algorithm=HA.SHA_256,
            length_bits=128,
        )
        self.assertReason(
            INVALID_FIELD,
            derive_key,
            DM.HASH,
            hashing_algorithm=HA.SHA_256,
            length_bits=128,
        )

    def test_hash_algorithm_required(self):
        """HMAC without a hashing algorithm is an Invalid Field."""
        self.assertReason(
            INVALID_FIELD,
            derive_key,
            DM.HMAC,
            key_material=b"k",
            derivation_data=b"d",
            length_bits=128,
        )

    def test_encrypt_needs_algorithm(self):
        """ENCRYPT without an encryption algorithm, or without a mode, is an Invalid Field."""
        self.assertReason(
            INVALID_FIELD,
            derive_key,
            DM.ENCRYPT,
            key_material=bytes(16),
            derivation_data=bytes(16),
            length_bits=128,
        )
        self.assertReason(
            INVALID_FIELD,
            derive_key,
            DM.ENCRYPT,
            key_material=bytes(16),
            derivation_data=bytes(16),
            encryption_algorithm=CA.AES,
            length_bits=128,
        )

    def test_hkdf_limit(self):
        """HKDF beyond 255 hash blocks is an Invalid Field."""
        self.assertReason(
            INVALID_FIELD,
            derive_key,
            DM.HKDF,
            key_material=b"k",
            length_bits=256 * 32 * 8,
        )

    def test_kbkdf_both_prfs(self):
        """NIST800-108-C with both a hash and a cipher is an Invalid Field."""
        self.assertReason(
            INVALID_FIELD,
            derive_key,
            DM.NIST800_108_C,
            key_material=bytes(16),
            derivation_data=b"d",
            hashing_algorithm=HA.SHA_256,
            encryption_algorithm=CA.AES,
            length_bits=128,
        )
