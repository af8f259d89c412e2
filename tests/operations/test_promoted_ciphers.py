"""DES, RC2 (128-bit) and SM4 through the Encrypt, Decrypt and MAC operations, with published vectors.

These algorithms were store-only; L{kmipd.crypto.keygen.SYMMETRIC_ALGORITHMS} now computes them
(DES as 3DES with K1 = K2 = K3, RC2 in CBC with 128-bit keys, SM4 from C{cryptography}).
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.model import keyblock
from kmipd.spec import BlockCipherMode, KeyFormatType, ObjectType, Operation, ResultReason, Tag
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as CUM
from kmipd.testing import call, make_processor
from kmipd.ttlv import Item

from .test_create import V14, V21, Assertions, a_date, a_mask, uid_payload
from .test_crypto_ops import cp
from .test_register import block, register

h = bytes.fromhex
FIPS81_TEXT = b"Now is the time for all "


class PromotedCipherOperationTests(SynchronousTestCase, Assertions):
    """Registered DES, RC2 and SM4 keys encrypt, decrypt and MAC through the operations."""

    def setUp(self) -> None:
        self.d = make_processor()

    def key(self, alg: int, key: bytes, version=V14) -> str:
        body = keyblock.body(ObjectType.SYMMETRIC_KEY, block(KeyFormatType.RAW, key, alg, len(key) * 8))
        attrs = [a_mask(CUM.ENCRYPT | CUM.DECRYPT | CUM.MAC_GENERATE | CUM.MAC_VERIFY),
                 a_date("Activation Date", Tag.ACTIVATION_DATE, 0)]
        r = register(self.d, ObjectType.SYMMETRIC_KEY, body, attrs, version=version)
        self.assertOK(r)
        return r.payload.get(Tag.UNIQUE_IDENTIFIER)

    def crypt(self, op: int, uid: str, data: bytes, mode: int, iv: bytes | None = None, version=V14):
        return call(self.d, op, uid_payload(uid, cp(block_cipher_mode=mode), Item.bytes(Tag.DATA, data),
                                            Item.bytes(Tag.IV_COUNTER_NONCE, iv) if iv is not None else None),
                    version=version, caller="alice")

    def check(self, alg: int, key: bytes, pt: bytes, ct: bytes, mode: int, iv: bytes | None = None,
              version=V14) -> None:
        uid = self.key(alg, key, version)
        enc = self.crypt(Operation.ENCRYPT, uid, pt, mode, iv, version)
        self.assertOK(enc)
        self.assertEqual(enc.payload.get(Tag.DATA), ct)
        dec = self.crypt(Operation.DECRYPT, uid, ct, mode, iv, version)
        self.assertOK(dec)
        self.assertEqual(dec.payload.get(Tag.DATA), pt)

    def test_des(self) -> None:
        """DES ECB and CBC match FIPS PUB 81 Tables B1 and C1 (1.4 and 2.1)."""
        key = h("0123456789abcdef")
        self.check(CA.DES, key, FIPS81_TEXT, h("3fa40e8a984d48156a271787ab8883f9893d51ec4b563b53"),
                   BlockCipherMode.ECB)
        self.check(CA.DES, key, FIPS81_TEXT, h("e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6"),
                   BlockCipherMode.CBC, h("1234567890abcdef"), version=V21)

    def test_rc2(self) -> None:
        """RC2 CBC with a 128-bit key matches RFC 2268 section 5; ECB is refused as unsupported."""
        key = h("88bca90e90875a7f0f79c384627bafb2")
        self.check(CA.RC2, key, bytes(8), h("2269552ab0f85ca6"), BlockCipherMode.CBC, bytes(8))
        r = self.crypt(Operation.ENCRYPT, self.key(CA.RC2, key), bytes(8), BlockCipherMode.ECB)
        self.assertFails(r, ResultReason.INVALID_FIELD)
        self.assertIn("RC2", r.message)

    def test_rc2_short_key_stored_only(self) -> None:
        """A 40-bit RC2 key is stored but cannot encrypt: Invalid Field saying so."""
        r = self.crypt(Operation.ENCRYPT, self.key(CA.RC2, b"k" * 5), bytes(8), BlockCipherMode.CBC, bytes(8))
        self.assertFails(r, ResultReason.INVALID_FIELD)
        self.assertIn("128-bit", r.message)

    def test_sm4(self) -> None:
        """SM4 ECB matches GB/T 32907-2016 Appendix A example 1."""
        key = h("0123456789abcdeffedcba9876543210")
        self.check(CA.SM4, key, key, h("681edf34d206965e86b3e94f536e4246"), BlockCipherMode.ECB)

    def test_cmac(self) -> None:
        """MAC with a DES, RC2 or SM4 key is a CMAC that MAC Verify accepts."""
        for alg, key in ((CA.DES, h("0123456789abcdef")), (CA.RC2, bytes(16)), (CA.SM4, bytes(16))):
            uid = self.key(alg, key)
            mac = call(self.d, Operation.MAC, uid_payload(uid, Item.bytes(Tag.DATA, b"abc")), caller="alice")
            self.assertOK(mac)
            tag = mac.payload.get(Tag.MAC_DATA)
            self.assertEqual(len(tag), 16 if alg == CA.SM4 else 8)
            ok = call(self.d, Operation.MAC_VERIFY, uid_payload(uid, Item.bytes(Tag.DATA, b"abc"),
                                                                 Item.bytes(Tag.MAC_DATA, tag)), caller="alice")
            self.assertOK(ok)
            self.assertEqual(ok.payload.get(Tag.VALIDITY_INDICATOR), 1)
