"""Key material too large to load is refused before OpenSSL loads it (kmipd.crypto.derlimits)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto import derlimits, dsakeys, keygen
from kmipd.crypto.errors import InvalidField


def _rsa_public_der(bits: int) -> bytes:
    n = (1 << (bits - 1)) | 1  # not a real modulus: loading a public key does not factor it
    key = rsa.RSAPublicNumbers(65537, n).public_key()
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _dsa_pkcs8(p_bits: int) -> bytes:
    """A PKCS#8 DSA private key shape with a p of C{p_bits} (numbers not a valid key)."""
    s, i, t = dsakeys._sequence, dsakeys._integer, dsakeys._tlv
    p, q, g, x = (1 << (p_bits - 1)) | 1, (1 << 255) | 1, 4, 5
    return s(i(0), s(dsakeys._ID_DSA, s(i(p), i(q), i(g))), t(0x04, i(x)))


class CheckKeyDerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.loaded: list[bytes] = []

    def no_load(self, der: bytes, *args: Any, **kwargs: Any) -> Any:
        self.loaded.append(der)
        raise AssertionError("OpenSSL asked to load oversized key material")

    def test_rsa_up_to_16384_bits(self) -> None:
        """A 16,384-bit RSA public key loads; one bit more is Invalid Field, never handed to OpenSSL."""
        self.assertEqual(keygen.load_public_key(_rsa_public_der(16384)).key_size, 16384)  # type: ignore[union-attr]
        self.patch(serialization, "load_der_public_key", self.no_load)
        with self.assertRaises(InvalidField):
            keygen.load_public_key(_rsa_public_der(16392))
        self.assertEqual(self.loaded, [])

    def test_dsa_private_key_bounded_by_p(self) -> None:
        """A PKCS#8 DSA key whose p exceeds 4,096 bits (OpenSSL computes g^x mod p on load: 63 s at
        65,536 bits) is refused before loading; one within the bound reaches the loader."""
        self.patch(serialization, "load_der_private_key", self.no_load)
        for bits in (4104, 16384, 65536):
            with self.assertRaises(InvalidField):
                keygen.load_private_key(_dsa_pkcs8(bits))
        self.assertEqual(self.loaded, [])
        with self.assertRaises(AssertionError):  # within the bound: loaded (here: our refusing loader)
            keygen.load_private_key(_dsa_pkcs8(2048))

    def test_not_der_left_to_the_loader(self) -> None:
        """Bytes that are not DER are not judged here: the loader refuses them as before."""
        derlimits.check_key_der(b"\x30\x84\xff\xff\xff\xff")
        derlimits.check_key_der(b"")
        with self.assertRaises(InvalidField):
            keygen.load_private_key(b"not a key")

    def test_real_keys_pass(self) -> None:
        """Keys kmipd makes pass the check (RSA-2048 PKCS#8 and PKCS#1, an EC key)."""
        from cryptography.hazmat.primitives.asymmetric import ec

        rsa_key = rsa.generate_private_key(65537, 2048)
        for der in (rsa_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()),
                    rsa_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                          serialization.NoEncryption()),
                    ec.generate_private_key(ec.SECP256R1()).private_bytes(
                        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())):
            keygen.load_private_key(der)
