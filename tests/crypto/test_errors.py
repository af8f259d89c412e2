"""
Tests for L{kmipd.crypto.errors} and the enumeration values in
L{kmipd.crypto}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd import crypto, spec
from kmipd.crypto.errors import (
    CRYPTOGRAPHIC_FAILURE,
    INVALID_FIELD,
    CryptoError,
    CryptographicFailure,
    InvalidField,
)


class CryptoErrorTests(SynchronousTestCase):
    """The error type carries a KMIP reason and a message."""

    def test_attributes(self):
        """reason and message are set, and str() is the message."""
        err = CryptoError(CRYPTOGRAPHIC_FAILURE, "bad tag")
        self.assertEqual(
            (err.reason, err.message, str(err)),
            (CRYPTOGRAPHIC_FAILURE, "bad tag", "bad tag"),
        )

    def test_subclasses(self):
        """InvalidField and CryptographicFailure preset their reasons."""
        self.assertEqual(InvalidField("x").reason, INVALID_FIELD)
        self.assertEqual(CryptographicFailure("x").reason, CRYPTOGRAPHIC_FAILURE)
        self.assertIsInstance(InvalidField("x"), CryptoError)

    def test_unknown_reason(self):
        """An unknown reason string is refused at construction."""
        self.assertRaises(ValueError, CryptoError, "invalid_field", "lower case is wrong")


class EnumerationTests(SynchronousTestCase):
    """Spot checks of enumeration values against KMIP 2.1 section 11."""

    def test_values(self):
        """A sample of values matches the specification tables."""
        self.assertEqual(crypto.CryptographicAlgorithm.AES, 0x03)
        self.assertEqual(crypto.CryptographicAlgorithm.CHACHA20POLY1305, 0x1E)
        self.assertEqual(crypto.CryptographicAlgorithm.ED25519, 0x37)
        self.assertEqual(crypto.BlockCipherMode.NISTKEYWRAP, 0x0D)
        self.assertEqual(crypto.PaddingMethod.PKCS1_V1_5, 0x08)
        self.assertEqual(crypto.HashingAlgorithm.SHA3_256, 0x0F)
        self.assertEqual(crypto.RecommendedCurve.P_521, 0x0D)
        self.assertEqual(crypto.DerivationMethod.HKDF, 0x0A)
        self.assertEqual(crypto.KeyFormatType.TRANSPARENT_EC_PUBLIC_KEY, 0x15)

    def test_is_kmipd_spec(self):
        """The enumerations kmipd.crypto exports are kmipd.spec's own classes (one source of truth)."""
        names = (
            "CryptographicAlgorithm",
            "BlockCipherMode",
            "PaddingMethod",
            "HashingAlgorithm",
            "DigitalSignatureAlgorithm",
            "RecommendedCurve",
            "DerivationMethod",
            "MaskGenerator",
            "KeyFormatType",
        )
        for name in names:
            self.assertIs(getattr(crypto, name), getattr(spec, name), name)
