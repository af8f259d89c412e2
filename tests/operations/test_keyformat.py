"""kmipd.model.keyformat: transparent items, Get conversion and Register validation, as plain functions."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto.errors import CryptographicFailure as CryptoFailure
from kmipd.crypto.errors import InvalidField as CryptoInvalidField
from kmipd.errors import (
    CryptographicFailure,
    InvalidField,
    KeyCompressionTypeNotSupported,
    KeyFormatTypeNotSupported,
)
from kmipd.model import keyblock, keyformat
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import KeyCompressionType, KeyFormatType, ObjectType, RecommendedCurve, Tag
from kmipd.ttlv import Item

KFT = KeyFormatType
DER = serialization.Encoding.DER
RSA_KEY = rsa.generate_private_key(65537, 1024)
EC_KEY = ec.generate_private_key(ec.SECP384R1())
V14 = (1, 4)


def private(fmt: int, material: bytes | Item, alg: int | None = CA.RSA, length: int | None = None) -> Item:
    return keyblock.body(ObjectType.PRIVATE_KEY, keyblock.key_block(fmt, material, algorithm=alg, length=length))


class TransparentItemTests(SynchronousTestCase):
    """Component dicts <-> Key Material structures."""

    def test_round_trip(self) -> None:
        """to_item and from_item are inverse for RSA components, in the spec's field order."""
        comps = {"modulus": 33, "public_exponent": 3}
        item = keyformat.to_item(comps)
        self.assertEqual([c.tag for c in item.value], [Tag.MODULUS, Tag.PUBLIC_EXPONENT])
        self.assertEqual(keyformat.from_item(item), comps)

    def test_unknown_field(self) -> None:
        """A foreign field in a transparent key is an Invalid Field."""
        with self.assertRaises(InvalidField):
            keyformat.from_item(Item.struct(Tag.KEY_MATERIAL, [Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 1)]))

    def test_curve_is_enumeration(self) -> None:
        """The Recommended Curve component is encoded as an Enumeration."""
        item = keyformat.to_item({"recommended_curve": RecommendedCurve.P_256, "d": 5})
        self.assertEqual(item.find(Tag.RECOMMENDED_CURVE), Item.enum(Tag.RECOMMENDED_CURVE, RecommendedCurve.P_256))


class ConvertTests(SynchronousTestCase):
    """keyformat.convert."""

    def test_identity(self) -> None:
        """No format, or the stored format, returns the material unchanged."""
        m = keyblock.symmetric_key(b"k" * 16, CA.AES)
        self.assertIs(keyformat.convert(ObjectType.SYMMETRIC_KEY, m, None, V14), m)
        self.assertIs(keyformat.convert(ObjectType.SYMMETRIC_KEY, m, KFT.RAW, V14), m)

    def test_transparent_to_raw(self) -> None:
        """A Transparent Symmetric Key converts back to Raw bytes, keeping algorithm and length."""
        t = keyformat.convert(ObjectType.SYMMETRIC_KEY, keyblock.symmetric_key(b"k" * 16, CA.AES),
                              KFT.TRANSPARENT_SYMMETRIC_KEY, V14)
        raw = keyformat.convert(ObjectType.SYMMETRIC_KEY, t, KFT.RAW, V14)
        self.assertEqual(raw, keyblock.symmetric_key(b"k" * 16, CA.AES))

    def test_private_pkcs1_to_pkcs8(self) -> None:
        """PKCS#1 private key to PKCS#8 yields the same key."""
        der = RSA_KEY.private_bytes(DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
        out = keyformat.convert(ObjectType.PRIVATE_KEY, private(KFT.PKCS_1, der), KFT.PKCS_8, V14)
        self.assertEqual(keyblock.format_type(out), KFT.PKCS_8)
        loaded = serialization.load_der_private_key(keyblock.key_bytes(out), None)
        self.assertEqual(loaded.private_numbers(), RSA_KEY.private_numbers())

    def test_transparent_private_back_to_der(self) -> None:
        """A Transparent RSA Private Key converts to PKCS#1 DER."""
        t = keyformat.to_item({"modulus": RSA_KEY.private_numbers().public_numbers.n,
                               "private_exponent": RSA_KEY.private_numbers().d,
                               "public_exponent": 65537})
        out = keyformat.convert(ObjectType.PRIVATE_KEY, private(KFT.TRANSPARENT_RSA_PRIVATE_KEY, t), KFT.PKCS_1, V14)
        loaded = serialization.load_der_private_key(keyblock.key_bytes(out), None)
        self.assertEqual(loaded.private_numbers().d, RSA_KEY.private_numbers().d)

    def test_ecdsa_alias(self) -> None:
        """The 1.x Transparent ECDSA Private Key format is served from an EC key."""
        der = EC_KEY.private_bytes(DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        out = keyformat.convert(ObjectType.PRIVATE_KEY, private(KFT.PKCS_8, der, CA.ECDSA),
                                KFT.TRANSPARENT_ECDSA_PRIVATE_KEY, (1, 2))
        km = keyblock.key_material(out)
        self.assertEqual(km.get(Tag.RECOMMENDED_CURVE), RecommendedCurve.P_384)

    def test_not_possible(self) -> None:
        """RSA keys have no ECPrivateKey form; certificates have no key formats."""
        der = RSA_KEY.private_bytes(DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        with self.assertRaises(KeyFormatTypeNotSupported):
            keyformat.convert(ObjectType.PRIVATE_KEY, private(KFT.PKCS_8, der), KFT.ECPRIVATEKEY, V14)
        cert = Item.struct(Tag.CERTIFICATE, [Item.bytes(Tag.CERTIFICATE_VALUE, b"x")])
        with self.assertRaises(KeyFormatTypeNotSupported):
            keyformat.convert(ObjectType.CERTIFICATE, cert, KFT.RAW, V14)

    def test_compression(self) -> None:
        """Compression other than EC-uncompressed on EC keys is refused."""
        m = keyblock.symmetric_key(b"k" * 16, CA.AES)
        with self.assertRaises(KeyCompressionTypeNotSupported):
            keyformat.convert(ObjectType.SYMMETRIC_KEY, m, None, V14,
                              KeyCompressionType.EC_PUBLIC_KEY_TYPE_UNCOMPRESSED)


class ValidateTests(SynchronousTestCase):
    """keyformat.validate_key_block and helpers."""

    def block(self, fmt: int, material: bytes | Item, alg=None, length=None) -> Item:
        return keyblock.key_block(fmt, material, algorithm=alg, length=length)

    def test_symmetric_ok(self) -> None:
        """A 32-byte AES key without length gets length 256."""
        got = keyformat.validate_key_block(ObjectType.SYMMETRIC_KEY, self.block(KFT.RAW, b"k" * 32), CA.AES, None)
        self.assertEqual(got, (CA.AES, 256))

    def test_symmetric_empty(self) -> None:
        """An empty key is refused."""
        with self.assertRaises(InvalidField):
            keyformat.validate_key_block(ObjectType.SYMMETRIC_KEY, self.block(KFT.RAW, b""), CA.AES, None)

    def test_wrong_format_for_type(self) -> None:
        """PKCS#8 is not a symmetric key format; Transparent Symmetric is not a private key format."""
        with self.assertRaises(InvalidField):
            keyformat.validate_key_block(ObjectType.SYMMETRIC_KEY, self.block(KFT.PKCS_8, b"k" * 16), None, None)
        with self.assertRaises(InvalidField):
            keyformat.validate_key_block(ObjectType.PRIVATE_KEY, self.block(
                KFT.TRANSPARENT_SYMMETRIC_KEY, Item.struct(Tag.KEY_MATERIAL, [Item.bytes(Tag.KEY, b"k")])), None, None)

    def test_private_facts(self) -> None:
        """A SEC1 ECPrivateKey yields (EC, 384); a declared RSA algorithm contradicts it."""
        der = EC_KEY.private_bytes(DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
        self.assertEqual(keyformat.validate_key_block(ObjectType.PRIVATE_KEY, self.block(KFT.ECPRIVATEKEY, der),
                                                      None, None), (CA.EC, 384))
        with self.assertRaises(InvalidField):
            keyformat.validate_key_block(ObjectType.PRIVATE_KEY, self.block(KFT.ECPRIVATEKEY, der), CA.RSA, None)

    def test_raw_ed25519(self) -> None:
        """A raw Ed25519 public key of 32 bytes is accepted; 31 bytes is not."""
        raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.assertEqual(keyformat.validate_key_block(ObjectType.PUBLIC_KEY, self.block(KFT.RAW, raw), CA.ED25519,
                                                      None), (CA.ED25519, 255))
        with self.assertRaises(InvalidField):
            keyformat.validate_key_block(ObjectType.PUBLIC_KEY, self.block(KFT.RAW, raw[:31]), CA.ED25519, None)

    def test_wrapped_not_inspected(self) -> None:
        """A wrapped Key Block is accepted as given."""
        wrapped = keyblock.key_block(KFT.RAW, b"opaque-ciphertext", algorithm=CA.AES, length=128,
                                     wrapping=Item.struct(Tag.KEY_WRAPPING_DATA, [Item.enum(Tag.WRAPPING_METHOD, 1)]))
        self.assertEqual(keyformat.validate_key_block(ObjectType.SYMMETRIC_KEY, wrapped, CA.AES, 128), (CA.AES, 128))

    def test_des_helpers(self) -> None:
        """3DES nominal lengths map to stored lengths, and parity is made odd."""
        self.assertEqual(keyformat.symmetric_storage_bits(CA.TRIPLE_DES, 168), 192)
        self.assertEqual(keyformat.symmetric_storage_bits(CA.AES, 128), 128)
        self.assertEqual(keyformat.with_des_parity(b"\x00\xff\x02"), b"\x01\xfe\x02")

    def test_kmip_error(self) -> None:
        """Crypto-layer errors become the kmipd error of the same reason."""
        self.assertIsInstance(keyformat.kmip_error(CryptoInvalidField("x")), InvalidField)
        self.assertIsInstance(keyformat.kmip_error(CryptoFailure("y")), CryptographicFailure)
