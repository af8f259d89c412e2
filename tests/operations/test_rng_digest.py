"""The Random Number Generator attribute, the Digest of every key format, and template rules.

The Digest is checked against an independent computation: SHA-256 over the Key Material bytes, or
over a TTLV encoding built by hand here (not with kmipd's encoder) when Key Material is a structure.
"""

from __future__ import annotations

import hashlib
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto import rng
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as CUM
from kmipd.spec import (
    DRBGAlgorithm,
    HashingAlgorithm,
    KeyFormatType,
    ObjectType,
    Operation,
    QueryFunction,
    ResultReason,
    RNGAlgorithm,
    SecretDataType,
    Tag,
)
from kmipd.spec import SplitKeyMethod as M
from kmipd.testing import call, make_dispatcher, payload
from kmipd.ttlv import Item

from .test_create import a_alg, a_len, a_mask, aes_attrs, create, template
from .test_register import register

V12, V13, V14, V20, V21 = (1, 2), (1, 3), (1, 4), (2, 0), (2, 1)
USER = "alice"
KFT = KeyFormatType


def ttlv(tag: int, item_type: int, value: bytes) -> bytes:
    """One TTLV item, padded to 8 bytes (spec 9.1)."""
    pad = (-len(value)) % 8
    return tag.to_bytes(3, "big") + bytes([item_type]) + struct.pack(">I", len(value)) + value + b"\0" * pad


def big_integer(n: int) -> bytes:
    """A Big Integer value: two's complement, big-endian, with the fewest sign bytes that make its
    length a multiple of 8 (spec 2.1 9.1.1.4)."""
    length = (n.bit_length() + 1 + 63) // 64 * 8
    return n.to_bytes(length, "big", signed=True)


class RandomNumberGeneratorTests(SynchronousTestCase):
    """Server-generated objects carry OpenSSL's DRBG, in 1.3+ and 2.x; registered ones do not."""

    def setUp(self) -> None:
        self.d = make_dispatcher()

    def rng_of(self, uid: str, version) -> Item | None:
        r = call(self.d, Operation.GET_ATTRIBUTES, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)), version=version,
                 caller=USER)
        self.assertTrue(r.ok, r.message)
        if version >= (2, 0):
            return r.payload.find(Tag.ATTRIBUTES).find(Tag.RANDOM_NUMBER_GENERATOR)
        for a in r.payload.findall(Tag.ATTRIBUTE):
            if a.get(Tag.ATTRIBUTE_NAME) == "Random Number Generator":
                return a.find(Tag.ATTRIBUTE_VALUE)
        return None

    def assertDRBG(self, value: Item | None) -> None:
        self.assertIsNotNone(value)
        self.assertEqual(value.get(Tag.RNG_ALGORITHM), RNGAlgorithm.DRBG)
        self.assertEqual(value.get(Tag.DRBG_ALGORITHM), DRBGAlgorithm.CTR)
        self.assertEqual(value.get(Tag.CRYPTOGRAPHIC_ALGORITHM), CA.AES)
        self.assertEqual(value.get(Tag.CRYPTOGRAPHIC_LENGTH), 256)
        self.assertIs(value.get(Tag.PREDICTION_RESISTANCE), False)

    def generated(self, version) -> list[str]:
        uids = [create(self.d, aes_attrs(), version=version, caller=USER).payload.get(Tag.UNIQUE_IDENTIFIER)]
        r = call(self.d, Operation.CREATE_KEY_PAIR, payload(
            template(version, [a_alg(CA.EC), a_len(256)], "common"), template(version, [a_mask(CUM.SIGN)], "private"),
            template(version, [a_mask(CUM.VERIFY)], "public")), version=version, caller=USER)
        uids += [r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER), r.payload.get(Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER)]
        r = call(self.d, Operation.CREATE_SPLIT_KEY, payload(
            Item.enum(Tag.OBJECT_TYPE, ObjectType.SPLIT_KEY), Item.int(Tag.SPLIT_KEY_PARTS, 2),
            Item.int(Tag.SPLIT_KEY_THRESHOLD, 2), Item.enum(Tag.SPLIT_KEY_METHOD, M.XOR),
            template(version, aes_attrs())), version=version, caller=USER)
        self.assertTrue(r.ok, r.message)
        uids.append(r.payload.get(Tag.UNIQUE_IDENTIFIER))
        return uids

    def test_generated_objects(self) -> None:
        for version in (V13, V14, V20, V21):
            for uid in self.generated(version):
                self.assertDRBG(self.rng_of(uid, version))

    def test_not_in_1_2(self) -> None:
        """KMIP 1.2 has no Random Number Generator attribute: it is not shown."""
        for uid in self.generated(V12):
            self.assertIsNone(self.rng_of(uid, V12))

    def test_registered_objects_make_no_claim(self) -> None:
        body = Item.struct(Tag.SECRET_DATA, [Item.enum(Tag.SECRET_DATA_TYPE, SecretDataType.PASSWORD),
                                             Item.struct(Tag.KEY_BLOCK, [
                                                 Item.enum(Tag.KEY_FORMAT_TYPE, KFT.OPAQUE),
                                                 Item.struct(Tag.KEY_VALUE, [Item.bytes(Tag.KEY_MATERIAL, b"pw")])])])
        r = register(self.d, ObjectType.SECRET_DATA, body, version=V21)
        self.assertIsNone(self.rng_of(r.payload.get(Tag.UNIQUE_IDENTIFIER), V21))

    def test_query_rngs_agrees(self) -> None:
        r = call(self.d, Operation.QUERY, payload(Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_RNGS)),
                 version=V21)
        self.assertDRBG(r.payload.find(Tag.RNG_PARAMETERS))

    def test_random_bytes(self) -> None:
        a, b = rng.random_bytes(32), rng.random_bytes(32)
        self.assertEqual((len(a), len(b)), (32, 32))
        self.assertNotEqual(a, b)
        self.assertEqual(rng.random_bytes(0), b"")
        self.assertRaises(ValueError, rng.random_bytes, -1)


class DigestTests(SynchronousTestCase):
    """Registered objects' Digests equal SHA-256 computed independently, per key format: the first
    over the registered format (1.x mandatory instance), then, when that is not the default Key
    Format Type of spec 2.1 Table 81, one over the default format (2.x mandatory instance)."""

    def setUp(self) -> None:
        self.d = make_dispatcher()

    def digests(self, object_type: int, body: Item, version=V21) -> list[Item]:
        r = register(self.d, object_type, body, version=version)
        self.assertTrue(r.ok, r.message)
        got = call(self.d, Operation.GET_ATTRIBUTES, payload(Item.text(Tag.UNIQUE_IDENTIFIER,
                                                                       r.payload.get(Tag.UNIQUE_IDENTIFIER))),
                   version=V21, caller=USER)
        found = got.payload.find(Tag.ATTRIBUTES).findall(Tag.DIGEST)
        for d in found:
            self.assertEqual(d.get(Tag.HASHING_ALGORITHM), HashingAlgorithm.SHA_256)
        return found

    def assertDigests(self, found: list[Item], *expected: tuple[bytes, int | None]) -> None:
        self.assertEqual([(d.get(Tag.DIGEST_VALUE), d.get(Tag.KEY_FORMAT_TYPE)) for d in found],
                         [(hashlib.sha256(data).digest(), fmt) for data, fmt in expected])

    def key_body(self, tag: int, fmt: int, material: Item, alg: int, length: int) -> Item:
        return Item.struct(tag, [Item.struct(Tag.KEY_BLOCK, [
            Item.enum(Tag.KEY_FORMAT_TYPE, fmt), Item.struct(Tag.KEY_VALUE, [material]),
            Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, alg), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, length)])])

    def test_raw_symmetric(self) -> None:
        """Raw is the default: one Digest."""
        key = bytes(range(32))
        found = self.digests(ObjectType.SYMMETRIC_KEY, self.key_body(Tag.SYMMETRIC_KEY, KFT.RAW,
                                                                     Item.bytes(Tag.KEY_MATERIAL, key), CA.AES, 256))
        self.assertDigests(found, (key, KFT.RAW))

    def test_transparent_symmetric(self) -> None:
        """A structure: SHA-256 of the TTLV-encoded Key Material (tag 420043, Structure); then Raw."""
        key = bytes(range(16))
        material = Item.struct(Tag.KEY_MATERIAL, [Item.bytes(Tag.KEY, key)])
        found = self.digests(ObjectType.SYMMETRIC_KEY, self.key_body(
            Tag.SYMMETRIC_KEY, KFT.TRANSPARENT_SYMMETRIC_KEY, material, CA.AES, 128))
        encoded = ttlv(0x420043, 0x01, ttlv(0x42003F, 0x08, key))
        self.assertDigests(found, (encoded, KFT.TRANSPARENT_SYMMETRIC_KEY), (key, KFT.RAW))

    def test_rsa_private_keys(self) -> None:
        """PKCS#1 is the RSA default: PKCS#8 gets a second Digest over the PKCS#1 encoding."""
        key = rsa.generate_private_key(65537, 1024)
        pkcs1 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption())
        pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        found = self.digests(ObjectType.PRIVATE_KEY, self.key_body(Tag.PRIVATE_KEY, KFT.PKCS_1,
                                                                   Item.bytes(Tag.KEY_MATERIAL, pkcs1), CA.RSA, 1024))
        self.assertDigests(found, (pkcs1, KFT.PKCS_1))
        found = self.digests(ObjectType.PRIVATE_KEY, self.key_body(Tag.PRIVATE_KEY, KFT.PKCS_8,
                                                                   Item.bytes(Tag.KEY_MATERIAL, pkcs8), CA.RSA, 1024))
        self.assertDigests(found, (pkcs8, KFT.PKCS_8), (pkcs1, KFT.PKCS_1))

    def test_transparent_rsa_public_key(self) -> None:
        public = rsa.generate_private_key(65537, 1024).public_key()
        numbers = public.public_numbers()
        material = Item.struct(Tag.KEY_MATERIAL, [Item.big(Tag.MODULUS, numbers.n),
                                                  Item.big(Tag.PUBLIC_EXPONENT, numbers.e)])
        found = self.digests(ObjectType.PUBLIC_KEY, self.key_body(Tag.PUBLIC_KEY, KFT.TRANSPARENT_RSA_PUBLIC_KEY,
                                                                  material, CA.RSA, 1024))
        encoded = ttlv(0x420043, 0x01, ttlv(0x420052, 0x04, big_integer(numbers.n))
                       + ttlv(0x42006C, 0x04, big_integer(numbers.e)))
        pkcs1 = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        self.assertDigests(found, (encoded, KFT.TRANSPARENT_RSA_PUBLIC_KEY), (pkcs1, KFT.PKCS_1))

    def test_x509_ec_public_key(self) -> None:
        """Transparent EC Public Key is the EC default: Recommended Curve P-256 (7) and the Q String."""
        public = ec.generate_private_key(ec.SECP256R1()).public_key()
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        point = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        found = self.digests(ObjectType.PUBLIC_KEY, self.key_body(Tag.PUBLIC_KEY, KFT.X_509,
                                                                  Item.bytes(Tag.KEY_MATERIAL, der), CA.EC, 256))
        encoded = ttlv(0x420043, 0x01, ttlv(0x420075, 0x05, (7).to_bytes(4, "big")) + ttlv(0x420072, 0x08, point))
        self.assertDigests(found, (der, KFT.X_509), (encoded, KFT.TRANSPARENT_EC_PUBLIC_KEY))

    def test_pkcs8_dsa_private_key(self) -> None:
        """Transparent DSA Private Key is the DSA default (Table 81): P (42005E), Q (420071), G (420037), X
        (42009F) as Big Integers; a DSA key registered in it has that one Digest."""
        key = dsa.generate_private_key(1024)
        pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        numbers = key.private_numbers()
        params = numbers.public_numbers.parameter_numbers
        encoded = ttlv(0x420043, 0x01, b"".join(ttlv(tag, 0x04, big_integer(n)) for tag, n in (
            (0x42005E, params.p), (0x420071, params.q), (0x420037, params.g), (0x42009F, numbers.x))))
        found = self.digests(ObjectType.PRIVATE_KEY, self.key_body(Tag.PRIVATE_KEY, KFT.PKCS_8,
                                                                   Item.bytes(Tag.KEY_MATERIAL, pkcs8), CA.DSA, 1024))
        self.assertDigests(found, (pkcs8, KFT.PKCS_8), (encoded, KFT.TRANSPARENT_DSA_PRIVATE_KEY))
        material = Item.struct(Tag.KEY_MATERIAL, [Item.big(Tag.P, params.p), Item.big(Tag.Q, params.q),
                                                  Item.big(Tag.G, params.g), Item.big(Tag.X, numbers.x)])
        found = self.digests(ObjectType.PRIVATE_KEY, self.key_body(Tag.PRIVATE_KEY, KFT.TRANSPARENT_DSA_PRIVATE_KEY,
                                                                   material, CA.DSA, 1024))
        self.assertDigests(found, (encoded, KFT.TRANSPARENT_DSA_PRIVATE_KEY))

    def test_opaque_object_has_no_key_format(self) -> None:
        body = Item.struct(Tag.OPAQUE_OBJECT, [Item.enum(Tag.OPAQUE_DATA_TYPE, 0x80000001),
                                               Item.bytes(Tag.OPAQUE_DATA_VALUE, b"opaque!")])
        self.assertDigests(self.digests(ObjectType.OPAQUE_OBJECT, body), (b"opaque!", None))

    def test_wrapped_key_has_no_digest(self) -> None:
        """An encrypted Key Value gives the server no Key Material to digest: no Digest."""
        from kmipd.model.factory import digest, digests

        wrapped = Item.struct(Tag.SYMMETRIC_KEY, [Item.struct(Tag.KEY_BLOCK, [
            Item.enum(Tag.KEY_FORMAT_TYPE, KFT.RAW), Item.bytes(Tag.KEY_VALUE, bytes(40)),
            Item.struct(Tag.KEY_WRAPPING_DATA, [Item.enum(Tag.WRAPPING_METHOD, 1)])])])
        self.assertIsNone(digest(wrapped, ObjectType.SYMMETRIC_KEY))
        self.assertEqual(digests(wrapped, ObjectType.SYMMETRIC_KEY), [])


class TemplateRuleTests(SynchronousTestCase):
    """Attributes the 2.1 rule tables reserve to the server are refused in templates."""

    def test_server_only_attributes_refused(self) -> None:
        d = make_dispatcher()
        for extra in (("Certificate Subject CN", Item.text(Tag.CERTIFICATE_SUBJECT_CN, "x")),
                      ("Protection Storage Mask", Item.int(Tag.PROTECTION_STORAGE_MASK, 1)),
                      ("Rotate Generation", Item.int(Tag.ROTATE_GENERATION, 3))):
            r = create(d, aes_attrs() + [extra], version=V21, caller=USER)
            self.assertEqual(r.reason, ResultReason.ATTRIBUTE_READ_ONLY, extra[0])

    def test_requested_generator(self) -> None:
        """Spec 2.1 4.46: a Create naming a generator must get that generator, or fail."""
        d = make_dispatcher()

        def rng(*fields: Item) -> tuple[str, Item]:
            return "Random Number Generator", Item.struct(Tag.RANDOM_NUMBER_GENERATOR, list(fields))

        drbg = Item.enum(Tag.RNG_ALGORITHM, RNGAlgorithm.DRBG)
        for version in (V14, V21):
            for asked in (rng(drbg), rng(drbg, Item.enum(Tag.DRBG_ALGORITHM, DRBGAlgorithm.CTR),
                                          Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256)),
                          rng(Item.enum(Tag.RNG_ALGORITHM, RNGAlgorithm.UNSPECIFIED))):
                r = create(d, aes_attrs() + [asked], version=version, caller=USER)
                self.assertTrue(r.ok, r.message)
                got = call(d, Operation.GET_ATTRIBUTES, payload(r.payload.find(Tag.UNIQUE_IDENTIFIER), Item.enum(
                    Tag.ATTRIBUTE_REFERENCE, Tag.RANDOM_NUMBER_GENERATOR)), version=V21, caller=USER)
                self.assertEqual(got.payload.find(Tag.ATTRIBUTES).find(Tag.RANDOM_NUMBER_GENERATOR).get(
                    Tag.DRBG_ALGORITHM), DRBGAlgorithm.CTR)
            for asked in (rng(Item.enum(Tag.RNG_ALGORITHM, RNGAlgorithm.ANSI_X9_31)),
                          rng(drbg, Item.enum(Tag.DRBG_ALGORITHM, DRBGAlgorithm.HASH))):
                r = create(d, aes_attrs() + [asked], version=version, caller=USER)
                self.assertEqual(r.reason, ResultReason.FEATURE_NOT_SUPPORTED)

    def test_register_may_describe_origin(self) -> None:
        """Register (not Create) may say how and when the object was made elsewhere."""
        d = make_dispatcher()
        key = bytes(16)
        body = Item.struct(Tag.SYMMETRIC_KEY, [Item.struct(Tag.KEY_BLOCK, [
            Item.enum(Tag.KEY_FORMAT_TYPE, KFT.RAW), Item.struct(Tag.KEY_VALUE, [Item.bytes(Tag.KEY_MATERIAL, key)]),
            Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128)])])
        r = register(d, ObjectType.SYMMETRIC_KEY, body, attrs=[
            ("Original Creation Date", Item.datetime(Tag.ORIGINAL_CREATION_DATE, 1_000_000)),
            ("Random Number Generator", Item.struct(Tag.RANDOM_NUMBER_GENERATOR, [
                Item.enum(Tag.RNG_ALGORITHM, RNGAlgorithm.NRBG)]))], version=V21)
        self.assertTrue(r.ok, r.message)
        got = call(d, Operation.GET_ATTRIBUTES, payload(r.payload.find(Tag.UNIQUE_IDENTIFIER)), version=V21,
                   caller=USER).payload.find(Tag.ATTRIBUTES)
        self.assertEqual(got.get(Tag.ORIGINAL_CREATION_DATE), 1_000_000)
        self.assertEqual(got.find(Tag.RANDOM_NUMBER_GENERATOR).get(Tag.RNG_ALGORITHM), RNGAlgorithm.NRBG)


class AttributeKindsTests(SynchronousTestCase):
    """A sample of each kind of 2.1 attribute rule, through Set/Add Attribute and Get Attributes."""

    def setUp(self) -> None:
        self.d = make_dispatcher()
        self.uid = create(self.d, aes_attrs(), version=V21, caller=USER).payload.get(Tag.UNIQUE_IDENTIFIER)

    def change(self, op: int, item: Item):
        return call(self.d, op, payload(Item.text(Tag.UNIQUE_IDENTIFIER, self.uid), Item.struct(Tag.NEW_ATTRIBUTE,
                                                                                                [item])),
                    version=V21, caller=USER)

    def read(self, tag: int) -> list[Item]:
        r = call(self.d, Operation.GET_ATTRIBUTES, payload(Item.text(Tag.UNIQUE_IDENTIFIER, self.uid),
                                                          Item.enum(Tag.ATTRIBUTE_REFERENCE, tag)),
                 version=V21, caller=USER)
        self.assertTrue(r.ok, r.message)
        return r.payload.find(Tag.ATTRIBUTES).findall(tag)

    def test_client_modifiable_single_valued(self) -> None:
        """Set Attribute writes, Get Attributes reads back (2.1-only attributes included)."""
        for item in (Item.text(Tag.DESCRIPTION, "d"), Item.text(Tag.COMMENT, "c"), Item.bool(Tag.QUANTUM_SAFE, True),
                     Item.interval(Tag.PROTECTION_PERIOD, 100), Item.text(Tag.PKCS_12_FRIENDLY_NAME, "f"),
                     Item.datetime(Tag.ACTIVATION_DATE, 1_800_000_000)):
            r = self.change(Operation.SET_ATTRIBUTE, item)
            self.assertTrue(r.ok, (hex(item.tag), r.message))
            self.assertEqual([v.value for v in self.read(item.tag)], [item.value])

    def test_client_modifiable_multi_valued(self) -> None:
        """Multi-valued attributes are added; Set Attribute refuses one the object has several of."""
        rotate = Item.struct(Tag.ROTATE_NAME, [Item.text(Tag.ROTATE_NAME_VALUE, "r"),
                                               Item.enum(Tag.ROTATE_NAME_TYPE, 1)])
        for item in (Item.text(Tag.OBJECT_GROUP, "g1"), Item.struct(Tag.ALTERNATIVE_NAME, [
                Item.text(Tag.ALTERNATIVE_NAME_VALUE, "alt"), Item.enum(Tag.ALTERNATIVE_NAME_TYPE, 1)])):
            for _ in range(2):
                r = self.change(Operation.ADD_ATTRIBUTE, item)
                self.assertTrue(r.ok, (hex(item.tag), r.message))
            self.assertEqual(len(self.read(item.tag)), 2)
            self.assertEqual(self.change(Operation.SET_ATTRIBUTE, item).reason, ResultReason.MULTI_VALUED_ATTRIBUTE)
        self.assertTrue(self.change(Operation.SET_ATTRIBUTE, rotate).ok)
        self.assertEqual(self.read(Tag.ROTATE_NAME)[0].get(Tag.ROTATE_NAME_VALUE), "r")

    def test_server_only_and_set_once(self) -> None:
        """Server-set and set-at-creation attributes are read-only to Set Attribute (Read Only Attribute)."""
        for item in (Item.int(Tag.ROTATE_GENERATION, 3), Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES),
                     Item.bool(Tag.FRESH, False), Item.interval(Tag.ROTATE_INTERVAL, 5),
                     Item.struct(Tag.RANDOM_NUMBER_GENERATOR, [Item.enum(Tag.RNG_ALGORITHM, RNGAlgorithm.NRBG)])):
            self.assertEqual(self.change(Operation.SET_ATTRIBUTE, item).reason, ResultReason.READ_ONLY_ATTRIBUTE,
                             hex(item.tag))
        self.assertEqual(self.read(Tag.RANDOM_NUMBER_GENERATOR)[0].get(Tag.RNG_ALGORITHM), RNGAlgorithm.DRBG)
