"""kmipd.model.keyformat: transparent items, Get conversion and Register validation, as plain functions."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
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
DSA_KEY = dsa.generate_private_key(2048)
V14 = (1, 4)


def dsa_material(y: int | None = None, **override: int | None) -> Item:
    """DSA_KEY as a Transparent DSA Public Key (C{y} given) or Private Key structure (spec 2.1 3.5/3.6)."""
    nums = DSA_KEY.private_numbers()
    params = nums.public_numbers.parameter_numbers
    fields = {"p": params.p, "q": params.q, "g": params.g, **({"y": y} if y is not None else {"x": nums.x})}
    fields.update(override)
    return keyformat.to_item({k: v for k, v in fields.items() if v is not None})


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

    def test_dsa_pkcs8_to_transparent_and_back(self) -> None:
        """A PKCS#8 DSA private key is served as Transparent DSA Private Key (P, Q, G, X) and back."""
        der = DSA_KEY.private_bytes(DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        stored = private(KFT.PKCS_8, der, CA.DSA, 2048)
        out = keyformat.convert(ObjectType.PRIVATE_KEY, stored, KFT.TRANSPARENT_DSA_PRIVATE_KEY, V14)
        self.assertEqual(keyblock.format_type(out), KFT.TRANSPARENT_DSA_PRIVATE_KEY)
        self.assertEqual(keyblock.key_material(out), dsa_material())
        back = keyformat.convert(ObjectType.PRIVATE_KEY, out, KFT.PKCS_8, V14)
        self.assertEqual(keyblock.key_bytes(back), der)
        with self.assertRaises(KeyFormatTypeNotSupported):
            keyformat.convert(ObjectType.PRIVATE_KEY, stored, KFT.PKCS_1, V14)

    def test_dsa_x509_to_transparent_and_back(self) -> None:
        """An X.509 DSA public key is served as Transparent DSA Public Key (P, Q, G, Y) and back."""
        der = DSA_KEY.public_key().public_bytes(DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        stored = keyblock.body(ObjectType.PUBLIC_KEY, keyblock.key_block(KFT.X_509, der, algorithm=CA.DSA))
        out = keyformat.convert(ObjectType.PUBLIC_KEY, stored, KFT.TRANSPARENT_DSA_PUBLIC_KEY, V14)
        self.assertEqual(keyblock.key_material(out), dsa_material(y=DSA_KEY.public_key().public_numbers().y))
        back = keyformat.convert(ObjectType.PUBLIC_KEY, out, KFT.X_509, V14)
        self.assertEqual(keyblock.key_bytes(back), der)

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

    def test_transparent_dsa(self) -> None:
        """Transparent DSA keys validate and yield (DSA, bits of P); a declared RSA contradicts them."""
        y = DSA_KEY.public_key().public_numbers().y
        for object_type, fmt, km in ((ObjectType.PRIVATE_KEY, KFT.TRANSPARENT_DSA_PRIVATE_KEY, dsa_material()),
                                     (ObjectType.PUBLIC_KEY, KFT.TRANSPARENT_DSA_PUBLIC_KEY, dsa_material(y))):
            self.assertEqual(keyformat.validate_key_block(object_type, self.block(fmt, km, CA.DSA, 2048), None, None),
                             (CA.DSA, 2048))
            with self.assertRaises(InvalidField):
                keyformat.validate_key_block(object_type, self.block(fmt, km), CA.RSA, None)
            with self.assertRaises(InvalidField):
                keyformat.validate_key_block(object_type, self.block(fmt, km), CA.DSA, 1024)

    def test_transparent_dsa_refused(self) -> None:
        """Missing G, a Y that is not G^X mod P, an X >= Q, a foreign field (Modulus), or a private key's
        X in the public format: each is an Invalid Field naming the problem."""
        y = DSA_KEY.public_key().public_numbers().y
        q = DSA_KEY.parameters().parameter_numbers().q
        cases = [
            (ObjectType.PRIVATE_KEY, KFT.TRANSPARENT_DSA_PRIVATE_KEY, dsa_material(g=None), "'g' is missing"),
            (ObjectType.PUBLIC_KEY, KFT.TRANSPARENT_DSA_PUBLIC_KEY, dsa_material(y + 1), "order-q subgroup"),
            (ObjectType.PRIVATE_KEY, KFT.TRANSPARENT_DSA_PRIVATE_KEY, dsa_material(x=q), "between 0 and q"),
            (ObjectType.PUBLIC_KEY, KFT.TRANSPARENT_DSA_PUBLIC_KEY, dsa_material(y, modulus=7), "0x420052"),
            (ObjectType.PUBLIC_KEY, KFT.TRANSPARENT_DSA_PUBLIC_KEY, dsa_material(), "0x42009F"),
        ]
        for object_type, fmt, km, message in cases:
            err = self.assertRaises(InvalidField, keyformat.validate_key_block, object_type,
                                    self.block(fmt, km, CA.DSA), None, None)
            self.assertIn(message, str(err))

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
