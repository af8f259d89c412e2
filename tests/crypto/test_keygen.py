"""
Tests for L{kmipd.crypto.keygen}.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto import CryptographicAlgorithm as CA
from kmipd.crypto import KeyFormatType as KFT
from kmipd.crypto import RecommendedCurve as RC
from kmipd.crypto.errors import INVALID_FIELD
from kmipd.crypto.keygen import (
    GOST_28147_89,
    STORABLE_SYMMETRIC_ALGORITHMS,
    STORED_ONLY_ALGORITHMS,
    SYMMETRIC_ALGORITHMS,
    cipher_algorithm,
    convert_private_key,
    convert_public_key,
    generate_key_pair,
    generate_symmetric_key,
    load_private_key,
    load_public_key,
    storable_algorithm,
    symmetric_algorithm,
)
from kmipd.testing import ReasonAssertions


class SymmetricKeyTests(ReasonAssertions, SynchronousTestCase):
    """generate_symmetric_key follows the PyKMIP Create table."""

    def test_valid_lengths(self):
        """Each documented algorithm/length pair yields that many random bytes."""
        table = {
            CA.TRIPLE_DES: (64, 128, 192),
            CA.AES: (128, 192, 256),
            CA.BLOWFISH: (32, 128, 256, 384, 448),
            CA.CAMELLIA: (128, 192, 256),
            CA.CAST5: (40, 64, 96, 128),
            CA.IDEA: (128,),
            CA.RC4: (40, 128, 192, 256),
            CA.SEED: (128,),
            CA.CHACHA20: (256,),
            CA.CHACHA20POLY1305: (256,),
            CA.HMAC_SHA256: (8, 256, 512, 1024),
            CA.HMAC_SHA3_512: (512,),
        }
        for algorithm, lengths in table.items():
            for length in lengths:
                key = generate_symmetric_key(algorithm, length)
                self.assertEqual(len(key), length // 8, (algorithm, length))
        self.assertNotEqual(generate_symmetric_key(CA.AES, 256), generate_symmetric_key(CA.AES, 256))

    def test_invalid_lengths(self):
        """Lengths outside an algorithm's table are Invalid Field naming the valid ones."""
        for algorithm, length in (
            (CA.AES, 64),
            (CA.TRIPLE_DES, 56),
            (CA.IDEA, 256),
            (CA.BLOWFISH, 456),
            (CA.CAST5, 136),
            (CA.CHACHA20, 128),
            (CA.HMAC_SHA1, 12),
            (CA.HMAC_SHA1, 0),
            (CA.AES, None),
        ):
            self.assertReason(INVALID_FIELD, generate_symmetric_key, algorithm, length)
        err = self.assertReason(INVALID_FIELD, generate_symmetric_key, CA.AES, 100)
        self.assertIn("128, 192, 256", err.message)

    def test_unsupported_algorithm(self):
        """RSA and unknown values are not symmetric algorithms."""
        self.assertReason(INVALID_FIELD, generate_symmetric_key, CA.RSA, 2048)
        self.assertReason(INVALID_FIELD, generate_symmetric_key, 0x7777, 128)


class StoredOnlyTests(ReasonAssertions, SynchronousTestCase):
    """Keys kmipd generates and stores for algorithms it cannot compute with."""

    def test_lengths(self):
        """Each store-only algorithm yields keys of exactly its defined lengths."""
        table = {
            CA.SKIPJACK: (80,),
            CA.RC5: (8, 128, 2040),
            CA.MARS: (128, 160, 448),
            CA.TWOFISH: (128, 192, 256),
            CA.POLY1305: (256,),
            CA.ARIA: (128, 192, 256),
            GOST_28147_89: (256,),
        }
        self.assertEqual(set(table), set(STORED_ONLY_ALGORITHMS))
        for algorithm, lengths in table.items():
            for length in lengths:
                self.assertEqual(len(generate_symmetric_key(algorithm, length)), length // 8, (algorithm, length))

    def test_invalid_lengths(self):
        """Lengths an algorithm does not define are Invalid Field naming the valid ones."""
        for algorithm, length in (
            (CA.SKIPJACK, 64),
            (CA.SKIPJACK, 128),
            (CA.DES, 56),  # the nominal length is mapped to 64 by the caller
            (CA.RC2, 1032),
            (CA.RC5, 2048),
            (CA.MARS, 136),
            (CA.TWOFISH, 64),
            (CA.SM4, 256),
        ):
            self.assertReason(INVALID_FIELD, generate_symmetric_key, algorithm, length)
        err = self.assertReason(INVALID_FIELD, generate_symmetric_key, CA.MARS, 100)
        self.assertIn("128-448 in steps of 32", err.message)

    def test_promoted_computable(self):
        """DES, RC2 and SM4 are computable; RC2 keys of other lengths than 128 bits are generated but stored only."""
        for algorithm, length in ((CA.DES, 64), (CA.RC2, 128), (CA.SM4, 128)):
            spec = symmetric_algorithm(algorithm)
            self.assertIs(spec, SYMMETRIC_ALGORITHMS[algorithm])
            key = generate_symmetric_key(algorithm, length)
            self.assertEqual(cipher_algorithm(algorithm, key).key_size, length * (3 if algorithm == CA.DES else 1))
        for length in (8, 40, 1024):
            key = generate_symmetric_key(CA.RC2, length)
            self.assertEqual(len(key), length // 8)
            err = self.assertReason(INVALID_FIELD, cipher_algorithm, CA.RC2, key)
            self.assertIn("computes with 128-bit keys only", err.message)

    def test_disjoint(self):
        """No algorithm is both computable and store-only; the storable table is their union."""
        self.assertFalse(set(STORED_ONLY_ALGORITHMS) & set(SYMMETRIC_ALGORITHMS))
        self.assertEqual(set(STORABLE_SYMMETRIC_ALGORITHMS), set(STORED_ONLY_ALGORITHMS) | set(SYMMETRIC_ALGORITHMS))
        self.assertIs(storable_algorithm(CA.AES), SYMMETRIC_ALGORITHMS[CA.AES])
        self.assertIs(storable_algorithm(CA.SKIPJACK), STORED_ONLY_ALGORITHMS[CA.SKIPJACK])

    def test_not_computable(self):
        """Cipher lookups for a store-only algorithm fail with Invalid Field saying why."""
        err = self.assertReason(INVALID_FIELD, symmetric_algorithm, CA.SKIPJACK)
        self.assertIn("cannot compute", err.message)
        self.assertReason(INVALID_FIELD, cipher_algorithm, CA.TWOFISH, bytes(16))

    def test_storable_unknown(self):
        """Asymmetric, hash and unknown algorithms are not storable symmetric algorithms."""
        for algorithm in (CA.RSA, CA.SHA3_256, CA.ONE_TIME_PAD, None, 0x7777):
            self.assertReason(INVALID_FIELD, storable_algorithm, algorithm)


class KeyPairTests(ReasonAssertions, SynchronousTestCase):
    """generate_key_pair."""

    def test_rsa(self):
        """RSA pairs are PKCS#1 DER by default with the requested modulus size."""
        pair = generate_key_pair(CA.RSA, 1024)
        self.assertEqual((pair.details.length, pair.details.curve), (1024, None))
        self.assertEqual(
            (pair.details.public_format, pair.details.private_format),
            (KFT.PKCS_1, KFT.PKCS_1),
        )
        private = serialization.load_der_private_key(pair.private_der, None)
        self.assertIsInstance(private, rsa.RSAPrivateKey)
        self.assertEqual(private.key_size, 1024)
        self.assertEqual(private.public_key().public_numbers().e, 65537)
        public = serialization.load_der_public_key(pair.public_der)
        self.assertEqual(public.public_numbers(), private.public_key().public_numbers())

    def test_rsa_formats(self):
        """RSA pairs can be produced as PKCS#8 and SubjectPublicKeyInfo."""
        pair = generate_key_pair(CA.RSA, 1024, public_format=KFT.X_509, private_format=KFT.PKCS_8)
        self.assertEqual(convert_private_key(pair.private_der, KFT.PKCS_8), pair.private_der)
        self.assertEqual(convert_public_key(pair.public_der, KFT.X_509), pair.public_der)

    def test_rsa_lengths(self):
        """RSA 512 (below cryptography's floor), odd and missing lengths are Invalid Field."""
        for length in (512, 1025, None, 16384):
            self.assertReason(INVALID_FIELD, generate_key_pair, CA.RSA, length)
        self.assertReason(INVALID_FIELD, generate_key_pair, CA.RSA, 2048, public_exponent=5)

    def test_ec_curves(self):
        """EC pairs are made on the named curve, or the curve implied by the length."""
        for curve, size in (
            (RC.P_256, 256),
            (RC.P_384, 384),
            (RC.P_521, 521),
            (RC.SECP256K1, 256),
            (RC.P_224, 224),
        ):
            pair = generate_key_pair(CA.EC, curve=curve)
            key = serialization.load_der_private_key(pair.private_der, None)
            self.assertIsInstance(key, ec.EllipticCurvePrivateKey)
            self.assertEqual(
                (key.curve.key_size, pair.details.curve, pair.details.length),
                (size, curve, size),
            )
        pair = generate_key_pair(CA.ECDSA, 384)
        self.assertEqual(pair.details.curve, RC.P_384)

    def test_ec_errors(self):
        """EC without curve or length, mismatched length, or an unknown curve is rejected."""
        self.assertReason(INVALID_FIELD, generate_key_pair, CA.EC)
        self.assertReason(INVALID_FIELD, generate_key_pair, CA.EC, 384, RC.P_256)
        self.assertReason(INVALID_FIELD, generate_key_pair, CA.EC, 300)
        self.assertReason(INVALID_FIELD, generate_key_pair, CA.ECDSA, curve=0x2A)
        self.assertReason(INVALID_FIELD, generate_key_pair, CA.ECDSA, curve=RC.CURVE25519)

    def test_edwards_and_montgomery(self):
        """Ed25519, Ed448 and X25519 pairs load as the right key types."""
        ed = generate_key_pair(CA.ED25519)
        self.assertIsInstance(load_private_key(ed.private_der), ed25519.Ed25519PrivateKey)
        self.assertEqual(ed.details.length, 255)
        self.assertEqual(len(convert_public_key(ed.public_der, KFT.RAW)), 32)
        self.assertEqual(generate_key_pair(CA.ED448).details.length, 448)
        x = generate_key_pair(CA.ECDH, curve=RC.CURVE25519)
        self.assertIsInstance(load_private_key(x.private_der), x25519.X25519PrivateKey)
        self.assertReason(INVALID_FIELD, generate_key_pair, CA.ED25519, 448)

    def test_unsupported(self):
        """Symmetric and DSA algorithms are not key pair algorithms."""
        for algorithm in (CA.AES, CA.DSA, None):
            self.assertReason(INVALID_FIELD, generate_key_pair, algorithm, 2048)


class ConversionTests(ReasonAssertions, SynchronousTestCase):
    """convert_private_key / convert_public_key."""

    def setUp(self):
        self.rsa = generate_key_pair(CA.RSA, 1024)
        self.ec = generate_key_pair(CA.EC, curve=RC.P_256)

    def test_rsa_private_round_trip(self):
        """PKCS#1 -> PKCS#8 -> transparent -> PKCS#1 gives back the original bytes."""
        pkcs8 = convert_private_key(self.rsa.private_der, KFT.PKCS_8)
        self.assertNotEqual(pkcs8, self.rsa.private_der)
        parts = convert_private_key(pkcs8, KFT.TRANSPARENT_RSA_PRIVATE_KEY)
        self.assertEqual(
            set(parts),
            {
                "modulus",
                "private_exponent",
                "public_exponent",
                "p",
                "q",
                "prime_exponent_p",
                "prime_exponent_q",
                "crt_coefficient",
            },
        )
        self.assertEqual(parts["p"] * parts["q"], parts["modulus"])
        self.assertEqual(convert_private_key(parts, KFT.PKCS_1), self.rsa.private_der)

    def test_rsa_private_from_minimal_transparent(self):
        """A transparent RSA key with only n, e and d recovers its primes."""
        parts = convert_private_key(self.rsa.private_der, KFT.TRANSPARENT_RSA_PRIVATE_KEY)
        minimal = {k: parts[k] for k in ("modulus", "public_exponent", "private_exponent")}
        self.assertEqual(convert_private_key(minimal, KFT.PKCS_1), self.rsa.private_der)

    def test_rsa_public(self):
        """PKCS#1 <-> SPKI <-> transparent public RSA conversions agree."""
        spki = convert_public_key(self.rsa.public_der, KFT.X_509)
        parts = convert_public_key(spki, KFT.TRANSPARENT_RSA_PUBLIC_KEY)
        self.assertEqual(parts["public_exponent"], 65537)
        self.assertEqual(convert_public_key(parts, KFT.PKCS_1), self.rsa.public_der)

    def test_ec(self):
        """EC keys convert to SEC1 ECPrivateKey, transparent form, and back to PKCS#8."""
        sec1 = convert_private_key(self.ec.private_der, KFT.ECPRIVATEKEY)
        parts = convert_private_key(sec1, KFT.TRANSPARENT_EC_PRIVATE_KEY)
        self.assertEqual(parts["recommended_curve"], RC.P_256)
        self.assertEqual(convert_private_key(parts, KFT.PKCS_8), self.ec.private_der)
        pub = convert_public_key(self.ec.public_der, KFT.TRANSPARENT_EC_PUBLIC_KEY)
        self.assertEqual((len(pub["q_string"]), pub["q_string"][0]), (65, 4))
        self.assertEqual(convert_public_key(pub, KFT.X_509), self.ec.public_der)

    def test_invalid_conversions(self):
        """PKCS#1 for EC, ECPrivateKey for RSA, and unknown formats are Invalid Field."""
        self.assertReason(INVALID_FIELD, convert_private_key, self.ec.private_der, KFT.PKCS_1)
        self.assertReason(INVALID_FIELD, convert_private_key, self.rsa.private_der, KFT.ECPRIVATEKEY)
        self.assertReason(INVALID_FIELD, convert_public_key, self.ec.public_der, KFT.PKCS_1)
        self.assertReason(INVALID_FIELD, convert_private_key, self.rsa.private_der, KFT.OPAQUE)

    def test_bad_input(self):
        """Garbage bytes, wrong types and incomplete transparent dicts are Invalid Field."""
        self.assertReason(INVALID_FIELD, load_private_key, b"\x30\x03garbage")
        self.assertReason(INVALID_FIELD, load_public_key, b"")
        self.assertReason(INVALID_FIELD, load_private_key, "text")
        self.assertReason(INVALID_FIELD, load_private_key, {"modulus": 15})
        self.assertReason(INVALID_FIELD, load_public_key, {"nothing": 1})
        self.assertReason(
            INVALID_FIELD,
            load_public_key,
            {"recommended_curve": RC.P_256, "q_string": b"\x04" + bytes(64)},
        )
