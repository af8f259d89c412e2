"""Live cryptographic round trips: the PyKMIP ProxyKmipClient against a KMIPService on loopback.

Encrypt/Decrypt, Sign/SignatureVerify, MAC, DeriveKey and Get with key wrapping, each through a
real TLS connection (dev PKI in a temporary data directory, ephemeral port). The blocking PyKMIP
calls run in a thread (deferToThread) with a bounded socket timeout; every test has a trial
timeout.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes, keywrap
from cryptography.hazmat.primitives import hmac as c_hmac
from twisted.internet import defer
from twisted.trial.unittest import TestCase

from .test_interop_pykmip import LiveServiceMixin, pykmip_client, run_connected


class PyKMIPCryptoTests(LiveServiceMixin, TestCase):
    """PyKMIP's high-level client drives kmipd's cryptographic operations."""

    timeout = 120

    def run_client(self, work: Any) -> defer.Deferred:
        pki = self.dev_pki
        return run_connected(lambda: pykmip_client(self.port, pki.client_cert, pki.client_key, pki.ca_cert), work)

    @defer.inlineCallbacks
    def test_encrypt_decrypt(self):  # type: ignore[no-untyped-def]
        """An AES key created and activated by PyKMIP encrypts (server IV) and decrypts CBC/PKCS5 data."""
        yield self.start()
        from kmip.core import enums

        def work(c: Any) -> tuple[bytes, bytes, bytes]:
            uid = c.create(enums.CryptographicAlgorithm.AES, 256, cryptographic_usage_mask=[
                enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT])
            c.activate(uid)
            params = {"block_cipher_mode": enums.BlockCipherMode.CBC,
                      "padding_method": enums.PaddingMethod.PKCS5, "random_iv": True}
            ct, iv = c.encrypt(b"attack at dawn", uid=uid, cryptographic_parameters=params)
            params["random_iv"] = False
            pt = c.decrypt(ct, uid=uid, cryptographic_parameters=params, iv_counter_nonce=iv)
            return ct, iv, pt

        ct, iv, pt = yield self.run_client(work)
        self.assertEqual((len(ct), len(iv), pt), (16, 16, b"attack at dawn"))

    @defer.inlineCallbacks
    def test_sign_verify(self):  # type: ignore[no-untyped-def]
        """An RSA key pair from PyKMIP signs (PSS, SHA-256) and the public key verifies."""
        yield self.start()
        from kmip.core import enums

        def work(c: Any) -> tuple[Any, Any]:
            pub, priv = c.create_key_pair(enums.CryptographicAlgorithm.RSA, 2048,
                                          public_usage_mask=[enums.CryptographicUsageMask.VERIFY],
                                          private_usage_mask=[enums.CryptographicUsageMask.SIGN])
            c.activate(pub)
            c.activate(priv)
            params = {"padding_method": enums.PaddingMethod.PSS,
                      "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA,
                      "hashing_algorithm": enums.HashingAlgorithm.SHA_256}
            sig = c.sign(b"message", uid=priv, cryptographic_parameters=params)
            good = c.signature_verify(b"message", sig, uid=pub, cryptographic_parameters=params)
            bad = c.signature_verify(b"massage", sig, uid=pub, cryptographic_parameters=params)
            return good, bad

        good, bad = yield self.run_client(work)
        self.assertEqual((good.name, bad.name), ("VALID", "INVALID"))

    @defer.inlineCallbacks
    def test_mac(self):  # type: ignore[no-untyped-def]
        """An HMAC-SHA256 key registered through PyKMIP MACs data to the RFC 2104 value."""
        yield self.start()
        from kmip.core import enums
        from kmip.pie import objects

        key = b"\x0b" * 32

        def work(c: Any) -> bytes:
            obj = objects.SymmetricKey(enums.CryptographicAlgorithm.HMAC_SHA256, 256, key,
                                       masks=[enums.CryptographicUsageMask.MAC_GENERATE])
            uid = c.register(obj)
            c.activate(uid)
            _, mac = c.mac(b"data", uid=uid, algorithm=enums.CryptographicAlgorithm.HMAC_SHA256)
            return mac

        mac = yield self.run_client(work)
        h = c_hmac.HMAC(key, hashes.SHA256())
        h.update(b"data")
        self.assertEqual(mac, h.finalize())

    @defer.inlineCallbacks
    def test_derive_key(self):  # type: ignore[no-untyped-def]
        """DeriveKey (HMAC method) from a PyKMIP-registered key yields the expected AES key bytes."""
        yield self.start()
        from kmip.core import enums
        from kmip.pie import objects

        base_key = b"\x01" * 32

        def work(c: Any) -> bytes:
            base = objects.SymmetricKey(enums.CryptographicAlgorithm.HMAC_SHA256, 256, base_key,
                                        masks=[enums.CryptographicUsageMask.DERIVE_KEY])
            base_uid = c.register(base)
            c.activate(base_uid)
            uid = c.derive_key(enums.ObjectType.SYMMETRIC_KEY, [base_uid], enums.DerivationMethod.HMAC,
                               {"cryptographic_parameters": {"hashing_algorithm": enums.HashingAlgorithm.SHA_256},
                                "derivation_data": b"context"},
                               cryptographic_algorithm=enums.CryptographicAlgorithm.AES, cryptographic_length=128)
            return c.get(uid).value

        derived = yield self.run_client(work)
        h = c_hmac.HMAC(base_key, hashes.SHA256())
        h.update(b"context")
        self.assertEqual(derived, h.finalize()[:16])

    @defer.inlineCallbacks
    def test_wrapped_get(self):  # type: ignore[no-untyped-def]
        """Get with an AES Key Wrap specification returns the RFC 3394 wrapping of the key.

        PyKMIP's client only parses wrapped keys in its own server's shape (Key Value structure):
        kmipd recognises its request (KMIP 1.2, Encoding Option No Encoding) with the default settings.
        """
        yield self.start()
        from kmip.core import enums
        from kmip.pie import objects

        kek, key = b"\x02" * 16, b"\x03" * 16

        def work(c: Any) -> Any:
            kek_uid = c.register(objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 128, kek,
                                                      masks=[enums.CryptographicUsageMask.WRAP_KEY], name="kek"))
            c.activate(kek_uid)
            uid = c.register(objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 128, key,
                                                  masks=[enums.CryptographicUsageMask.ENCRYPT], name="wrapped"))
            spec = {"wrapping_method": enums.WrappingMethod.ENCRYPT,
                    "encryption_key_information": {
                        "unique_identifier": kek_uid,
                        "cryptographic_parameters": {"block_cipher_mode": enums.BlockCipherMode.NIST_KEY_WRAP}},
                    "encoding_option": enums.EncodingOption.NO_ENCODING}
            return c.get(uid, key_wrapping_specification=spec)

        wrapped = yield self.run_client(work)
        self.assertEqual(wrapped.value, keywrap.aes_key_wrap(kek, key))
        self.assertEqual(wrapped.key_wrapping_data["wrapping_method"].name, "ENCRYPT")
