"""
Tests for L{kmipd.crypto.mac}.

Vectors: RFC 4231 test case 2 (HMAC-SHA-224/256/384/512), RFC 2202 test
case 2 (HMAC-MD5, HMAC-SHA-1), RFC 4493 examples 1 and 2 (AES-CMAC),
FIPS 180-2 / FIPS 202 "abc" digests.
"""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto import CryptographicAlgorithm as CA
from kmipd.crypto import HashingAlgorithm as HA
from kmipd.crypto.errors import INVALID_FIELD, CryptoError
from kmipd.crypto.mac import hash_data, mac, mac_algorithms, mac_verify

h = bytes.fromhex

JEFE = b"Jefe"
WANT = b"what do ya want for nothing?"


class HMACTests(SynchronousTestCase):
    """HMAC known answers."""

    def test_rfc4231_case2(self):
        """HMAC-SHA-224/256/384/512 match RFC 4231 test case 2."""
        expected = {
            CA.HMAC_SHA224: "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
            CA.HMAC_SHA256: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            CA.HMAC_SHA384: "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
            "8e2240ca5e69e2c78b3239ecfab21649",
            CA.HMAC_SHA512: "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        }
        for algorithm, hexmac in expected.items():
            self.assertEqual(mac(algorithm, JEFE, WANT), h(hexmac), algorithm)

    def test_rfc2202_case2(self):
        """HMAC-MD5 and HMAC-SHA-1 match RFC 2202 test case 2."""
        self.assertEqual(mac(CA.HMAC_MD5, JEFE, WANT), h("750c783e6ab0b503eaa86e310a5db738"))
        self.assertEqual(mac(CA.HMAC_SHA1, JEFE, WANT), h("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"))

    def test_sha3_lengths(self):
        """HMAC-SHA3-* outputs have the digest lengths."""
        for algorithm, size in (
            (CA.HMAC_SHA3_224, 28),
            (CA.HMAC_SHA3_256, 32),
            (CA.HMAC_SHA3_384, 48),
            (CA.HMAC_SHA3_512, 64),
        ):
            self.assertEqual(len(mac(algorithm, b"k", b"d")), size)

    def test_verify(self):
        """mac_verify accepts the right MAC and rejects a modified one."""
        tag = mac(CA.HMAC_SHA256, JEFE, WANT)
        self.assertTrue(mac_verify(CA.HMAC_SHA256, JEFE, WANT, tag))
        self.assertFalse(mac_verify(CA.HMAC_SHA256, JEFE, WANT, tag[:-1] + b"\x00"))
        self.assertFalse(mac_verify(CA.HMAC_SHA256, JEFE, WANT + b"!", tag))


class CMACTests(SynchronousTestCase):
    """CMAC known answers and supported ciphers."""

    def test_rfc4493(self):
        """AES-128-CMAC matches RFC 4493 examples 1 and 2."""
        key = h("2b7e151628aed2a6abf7158809cf4f3c")
        self.assertEqual(mac(CA.AES, key, b""), h("bb1d6929e95937287fa37d129b756746"))
        self.assertEqual(
            mac(CA.AES, key, h("6bc1bee22e409f96e93d7e117393172a")),
            h("070a16b46b4d4144f79bdd9dd04a287c"),
        )

    def test_other_block_ciphers(self):
        """CMAC works with 3DES, Blowfish, Camellia, CAST5, IDEA and SEED and verifies."""
        for algorithm, size, block in (
            (CA.TRIPLE_DES, 24, 8),
            (CA.BLOWFISH, 16, 8),
            (CA.CAMELLIA, 16, 16),
            (CA.CAST5, 16, 8),
            (CA.IDEA, 16, 8),
            (CA.SEED, 16, 16),
        ):
            key = os.urandom(size)
            tag = mac(algorithm, key, b"data")
            self.assertEqual(len(tag), block)
            self.assertTrue(mac_verify(algorithm, key, b"data", tag))

    def test_supported_set(self):
        """mac_algorithms lists HMACs and block ciphers but not RC4."""
        algorithms = mac_algorithms()
        self.assertIn(CA.HMAC_SHA256, algorithms)
        self.assertIn(CA.AES, algorithms)
        self.assertNotIn(CA.RC4, algorithms)


class MACErrorTests(SynchronousTestCase):
    """MAC parameter errors."""

    def test_rc4_rejected(self):
        """RC4 cannot be used for CMAC: Invalid Field."""
        err = self.assertRaises(CryptoError, mac, CA.RC4, bytes(16), b"x")
        self.assertEqual(err.reason, INVALID_FIELD)

    def test_unknown_and_missing(self):
        """RSA and a missing algorithm are Invalid Field."""
        for algorithm in (CA.RSA, None):
            err = self.assertRaises(CryptoError, mac, algorithm, bytes(16), b"x")
            self.assertEqual(err.reason, INVALID_FIELD)

    def test_cmac_key_length(self):
        """A 10-byte AES key for CMAC is an Invalid Field."""
        err = self.assertRaises(CryptoError, mac, CA.AES, bytes(10), b"x")
        self.assertEqual(err.reason, INVALID_FIELD)


class HashTests(SynchronousTestCase):
    """hash_data."""

    def test_abc(self):
        """MD5, SHA-1, SHA-256 and SHA3-256 of "abc" match their standards."""
        self.assertEqual(hash_data(HA.MD5, b"abc"), h("900150983cd24fb0d6963f7d28e17f72"))
        self.assertEqual(hash_data(HA.SHA_1, b"abc"), h("a9993e364706816aba3e25717850c26c9cd0d89d"))
        self.assertEqual(
            hash_data(HA.SHA_256, b"abc"),
            h("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        )
        self.assertEqual(
            hash_data(HA.SHA3_256, b"abc"),
            h("3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"),
        )

    def test_unsupported(self):
        """MD2 (defined by the spec, not offered by the backend) is Unsupported, naming it."""
        err = self.assertRaises(CryptoError, hash_data, HA.MD2, b"abc")
        self.assertEqual(err.reason, "UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS")
        self.assertIn("MD2", err.message)
