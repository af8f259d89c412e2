"""Get, GetAttributes and GetAttributeList in the 1.x and 2.x shapes."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from twisted.trial.unittest import SynchronousTestCase

from kmipd.model.attributes import ATTRIBUTES, name_for_tag
from kmipd.spec import (
    CryptographicAlgorithm as CA,
)
from kmipd.spec import (
    CryptographicUsageMask as CUM,
)
from kmipd.spec import (
    KeyCompressionType,
    KeyFormatType,
    ObjectType,
    Operation,
    ResultReason,
    State,
    Tag,
)
from kmipd.store.memory import MemoryObjectStore
from kmipd.testing import FakeClock, call, make_processor
from kmipd.ttlv import Item

from .test_create import (
    V10,
    V12,
    V14,
    V20,
    V21,
    Assertions,
    a_alg,
    a_len,
    a_mask,
    aes_attrs,
    attrs_of,
    create,
    create_key_pair,
    get_attributes,
    get_key,
    key_bytes_of,
    uid_payload,
)

KFT = KeyFormatType


def fmt(f: int) -> Item:
    return Item.enum(Tag.KEY_FORMAT_TYPE, f)


def material(result) -> Item:
    return block_of(result).find(Tag.KEY_VALUE).find(Tag.KEY_MATERIAL)


def block_of(result) -> Item:
    return result.payload.value[2].find(Tag.KEY_BLOCK)


class GetTests(SynchronousTestCase, Assertions):
    """Get with and without format conversion."""

    def setUp(self) -> None:
        self.store = MemoryObjectStore()
        self.clock = FakeClock()
        self.d = make_processor(self.store, clock=self.clock)
        self.aes = create(self.d, aes_attrs(128)).payload.get(Tag.UNIQUE_IDENTIFIER)

    def key_pair(self, common, version=V14):
        r = create_key_pair(self.d, common, [a_mask(CUM.SIGN)], [a_mask(CUM.VERIFY)], version=version)
        self.assertOK(r)
        return r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER), r.payload.get(Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER)

    def test_get_1x_shape(self) -> None:
        """Get answers Object Type, Unique Identifier and the Symmetric Key (SKFF-M-10 shape); Pre-Active is fine."""
        r = get_key(self.d, self.aes)
        self.assertOK(r)
        self.assertEqual([c.tag for c in r.payload.value], [Tag.OBJECT_TYPE, Tag.UNIQUE_IDENTIFIER, Tag.SYMMETRIC_KEY])
        self.assertEqual([c.tag for c in block_of(r).value],
                         [Tag.KEY_FORMAT_TYPE, Tag.KEY_VALUE, Tag.CRYPTOGRAPHIC_ALGORITHM, Tag.CRYPTOGRAPHIC_LENGTH])

    def test_get_2x_shape(self) -> None:
        """Get in 2.0 answers the same three fields."""
        r = get_key(self.d, self.aes, version=V20)
        self.assertOK(r)
        self.assertEqual([c.tag for c in r.payload.value], [Tag.OBJECT_TYPE, Tag.UNIQUE_IDENTIFIER, Tag.SYMMETRIC_KEY])

    def test_fresh_cleared(self) -> None:
        """After the first Get the key is no longer Fresh."""
        get_key(self.d, self.aes)
        self.assertIs(attrs_of(get_attributes(self.d, self.aes, ["Fresh"]), V14)["Fresh"][0].value, False)

    def test_transparent_symmetric(self) -> None:
        """Raw -> Transparent Symmetric Key returns the same bytes in a Key structure."""
        raw = key_bytes_of(get_key(self.d, self.aes))
        r = get_key(self.d, self.aes, fmt(KFT.TRANSPARENT_SYMMETRIC_KEY))
        self.assertOK(r)
        self.assertEqual(block_of(r).get(Tag.KEY_FORMAT_TYPE), KFT.TRANSPARENT_SYMMETRIC_KEY)
        self.assertEqual(block_of(r).find(Tag.KEY_VALUE).find(Tag.KEY_MATERIAL).get(Tag.KEY), raw)

    def test_rsa_conversions(self) -> None:
        """RSA private PKCS#1 -> PKCS#8 / Transparent; public PKCS#1 -> X.509 / Transparent."""
        priv, pub = self.key_pair([a_alg(CA.RSA), a_len(1024)])
        p8 = key_bytes_of(get_key(self.d, priv, fmt(KFT.PKCS_8)))
        key = serialization.load_der_private_key(p8, None)
        t = material(get_key(self.d, priv, fmt(KFT.TRANSPARENT_RSA_PRIVATE_KEY)))
        self.assertEqual(t.get(Tag.MODULUS), key.private_numbers().public_numbers.n)
        self.assertEqual(t.get(Tag.PRIVATE_EXPONENT), key.private_numbers().d)
        spki = key_bytes_of(get_key(self.d, pub, fmt(KFT.X_509)))
        public = key.public_key().public_numbers()
        self.assertEqual(serialization.load_der_public_key(spki).public_numbers(), public)
        t = material(get_key(self.d, pub, fmt(KFT.TRANSPARENT_RSA_PUBLIC_KEY)))
        self.assertEqual(t.get(Tag.PUBLIC_EXPONENT), 65537)

    def test_ec_conversions(self) -> None:
        """EC private PKCS#8 -> ECPrivateKey / Transparent EC; public -> Transparent EC (1.4)."""
        priv, pub = self.key_pair([a_alg(CA.EC), a_len(256)])
        self.assertOK(get_key(self.d, priv, fmt(KFT.ECPRIVATEKEY)))
        t = material(get_key(self.d, priv, fmt(KFT.TRANSPARENT_EC_PRIVATE_KEY)))
        self.assertIsInstance(t.get(Tag.D), int)
        t = material(get_key(self.d, pub, fmt(KFT.TRANSPARENT_EC_PUBLIC_KEY)))
        self.assertEqual(t.get(Tag.Q_STRING)[:1], b"\x04")

    def test_transparent_ec_not_in_10(self) -> None:
        """Transparent EC Private Key does not exist in 1.0: Key Format Type Not Supported."""
        priv, _ = self.key_pair([a_alg(CA.EC), a_len(256)], version=V10)
        r = get_key(self.d, priv, fmt(KFT.TRANSPARENT_EC_PRIVATE_KEY), version=V10)
        self.assertFails(r, ResultReason.KEY_FORMAT_TYPE_NOT_SUPPORTED)

    def test_impossible_conversion(self) -> None:
        """A symmetric key as PKCS#1: Key Format Type Not Supported."""
        self.assertFails(get_key(self.d, self.aes, fmt(KFT.PKCS_1)), ResultReason.KEY_FORMAT_TYPE_NOT_SUPPORTED)

    def test_compression(self) -> None:
        """Key compression on an AES key is refused; EC uncompressed is the identity."""
        comp = Item.enum(Tag.KEY_COMPRESSION_TYPE, KeyCompressionType.EC_PUBLIC_KEY_TYPE_X9_62_COMPRESSED_PRIME)
        self.assertFails(get_key(self.d, self.aes, comp), ResultReason.KEY_COMPRESSION_TYPE_NOT_SUPPORTED)
        _, pub = self.key_pair([a_alg(CA.EC), a_len(256)])
        unc = Item.enum(Tag.KEY_COMPRESSION_TYPE, KeyCompressionType.EC_PUBLIC_KEY_TYPE_UNCOMPRESSED)
        self.assertOK(get_key(self.d, pub, unc))
        self.assertFails(get_key(self.d, pub, comp), ResultReason.KEY_COMPRESSION_TYPE_NOT_SUPPORTED)

    def wrapping_spec(self) -> Item:
        now = int(self.clock.now)
        wrapper = create(self.d, [a_alg(CA.AES), a_len(256), a_mask(CUM.WRAP_KEY | CUM.UNWRAP_KEY),
                                  ("Activation Date", Item.datetime(Tag.ACTIVATION_DATE, now))])
        self.assertOK(wrapper)
        return Item.struct(Tag.KEY_WRAPPING_SPECIFICATION, [
            Item.enum(Tag.WRAPPING_METHOD, 1),
            Item.struct(Tag.ENCRYPTION_KEY_INFORMATION, [
                Item.text(Tag.UNIQUE_IDENTIFIER, wrapper.payload.get(Tag.UNIQUE_IDENTIFIER)),
                Item.struct(Tag.CRYPTOGRAPHIC_PARAMETERS, [Item.enum(Tag.BLOCK_CIPHER_MODE, 0x0D)])])])

    def test_wrapped_get(self) -> None:
        """A Key Wrapping Specification: the key comes back wrapped, also when Sensitive."""
        spec = self.wrapping_spec()
        r = get_key(self.d, self.aes, spec)
        self.assertOK(r)
        self.assertIsNotNone(block_of(r).find(Tag.KEY_WRAPPING_DATA))
        sens = create(self.d, aes_attrs() + [("Sensitive", Item.bool(Tag.SENSITIVE, True))])
        self.assertOK(get_key(self.d, sens.payload.get(Tag.UNIQUE_IDENTIFIER), spec))

    def test_wrapping_incomplete(self) -> None:
        """A Key Wrapping Specification without Encryption Key Information is refused (Missing Data)."""
        spec = Item.struct(Tag.KEY_WRAPPING_SPECIFICATION, [Item.enum(Tag.WRAPPING_METHOD, 1)])
        self.assertFails(get_key(self.d, self.aes, spec), ResultReason.MISSING_DATA)

    def test_not_found(self) -> None:
        """An unknown Unique Identifier: Item Not Found."""
        self.assertFails(get_key(self.d, "no-such-uid"), ResultReason.ITEM_NOT_FOUND)

    def test_destroyed(self) -> None:
        """A destroyed key is gone for 1.x clients (Get: Item Not Found) but for its retained metadata;
        a 2.x client sees the metadata, and Get answers Key Value Not Present."""
        with self.store.transaction() as tx:
            obj = tx.get(self.aes)
            obj.material = None
            obj.set_single("State", Item.enum(Tag.STATE, State.DESTROYED))
            tx.save(obj)
        for version in (V10, V12, V14):
            self.assertFails(get_key(self.d, self.aes, version=version), ResultReason.ITEM_NOT_FOUND)
            self.assertOK(get_attributes(self.d, self.aes, version=version))
        self.assertFails(get_key(self.d, self.aes, version=(2, 1)), ResultReason.OBJECT_DESTROYED)
        self.assertOK(get_attributes(self.d, self.aes, version=(2, 1)))

    def test_sensitive_and_extractable(self) -> None:
        """A Sensitive key is not served unwrapped; a non-Extractable one not at all (1.4+)."""
        sens = create(self.d, aes_attrs() + [("Sensitive", Item.bool(Tag.SENSITIVE, True))])
        self.assertFails(get_key(self.d, sens.payload.get(Tag.UNIQUE_IDENTIFIER)), ResultReason.SENSITIVE)
        noext = create(self.d, aes_attrs() + [("Extractable", Item.bool(Tag.EXTRACTABLE, False))])
        uid = noext.payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertFails(get_key(self.d, uid), ResultReason.NOT_EXTRACTABLE)
        got = attrs_of(get_attributes(self.d, uid, ["Never Extractable"]), V14)
        self.assertIs(got["Never Extractable"][0].value, True)

    def test_permission_denied(self) -> None:
        """Another identity may not Get the key."""
        self.assertFails(get_key(self.d, self.aes, caller="mallory"), ResultReason.PERMISSION_DENIED)


class GetAttributesTests(SynchronousTestCase, Assertions):
    """GetAttributes and GetAttributeList."""

    def setUp(self) -> None:
        self.d = make_processor()
        self.uid = create(self.d, aes_attrs(256, "ga")).payload.get(Tag.UNIQUE_IDENTIFIER)

    def test_named_1x(self) -> None:
        """SKLC-M-1-14: requested names come back in request order; absent ones (Activation Date) are omitted."""
        names = ["State", "Cryptographic Usage Mask", "Unique Identifier", "Object Type", "Cryptographic Algorithm",
                 "Cryptographic Length", "Digest", "Initial Date", "Last Change Date", "Activation Date"]
        r = get_attributes(self.d, self.uid, names)
        self.assertOK(r)
        self.assertEqual(r.payload.value[0], Item.text(Tag.UNIQUE_IDENTIFIER, self.uid))
        self.assertEqual([a.get(Tag.ATTRIBUTE_NAME) for a in r.payload.value[1:]], names[:-1])
        self.assertTrue(all(a.find(Tag.ATTRIBUTE_INDEX) is None for a in r.payload.value[1:]))

    def test_unknown_name(self) -> None:
        """A name the object does not have (or no attribute has) returns nothing for it."""
        r = get_attributes(self.d, self.uid, ["x-nothing", "Contact Information", "State"])
        self.assertEqual(list(attrs_of(r, V14)), ["State"])

    def test_2x_references(self) -> None:
        """2.x: Attribute References in, an Attributes structure of 2.x items out."""
        r = get_attributes(self.d, self.uid, ["State", "Cryptographic Length"], version=V21)
        self.assertOK(r)
        self.assertEqual([c.tag for c in r.payload.value], [Tag.UNIQUE_IDENTIFIER, Tag.ATTRIBUTES])
        self.assertEqual(r.payload.find(Tag.ATTRIBUTES).value,
                         [Item.enum(Tag.STATE, State.PRE_ACTIVE), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256)])

    def test_2x_empty(self) -> None:
        """2.x with only absent references: an empty Attributes structure."""
        r = get_attributes(self.d, self.uid, ["Activation Date"], version=V20)
        self.assertEqual(r.payload.find(Tag.ATTRIBUTES).value, [])

    def test_1x_never_shows_2x_only(self) -> None:
        """GetAttributes in 1.x returns no attribute that exists only in 2.x, and vice versa."""
        store = MemoryObjectStore()
        d = make_processor(store, policy=None)
        uid = create(d, aes_attrs() + [("Operation Policy Name", Item.text(Tag.OPERATION_POLICY_NAME, "default"))],
                     version=V14).payload.get(Tag.UNIQUE_IDENTIFIER)
        with store.transaction() as tx:  # give it a 1.x-only attribute value explicitly
            obj = tx.get(uid)
            obj.set_single("Operation Policy Name", Item.text(Tag.OPERATION_POLICY_NAME, "custom"))
            tx.save(obj)
        for version in (V10, V12, V14):
            got = attrs_of(get_attributes(d, uid, version=version), version)
            self.assertIn("Operation Policy Name", got)
            for name in got:
                self.assertTrue(name not in ATTRIBUTES or version in ATTRIBUTES[name].versions, (name, version))
            self.assertNotIn("Key Format Type", got)
        for version in (V20, V21):
            got = attrs_of(get_attributes(d, uid, version=version), version)
            self.assertIn("Key Format Type", got)
            self.assertNotIn("Operation Policy Name", got)
            for name in got:
                self.assertIn(version, ATTRIBUTES[name].versions, name)

    def test_default_policy_hidden_unless_asked(self) -> None:
        """The server-default Operation Policy Name is not listed but is returned when named (1.x)."""
        self.assertNotIn("Operation Policy Name", attrs_of(get_attributes(self.d, self.uid), V14))
        got = attrs_of(get_attributes(self.d, self.uid, ["Operation Policy Name"]), V14)
        self.assertEqual(got["Operation Policy Name"][0].value, "default")

    def test_digest_10(self) -> None:
        """The 1.0 Digest has no Key Format Type field (SKLC-M-1-10)."""
        d10 = attrs_of(get_attributes(self.d, self.uid, ["Digest"], version=V10), V10)["Digest"][0]
        self.assertEqual([c.tag for c in d10.value], [Tag.HASHING_ALGORITHM, Tag.DIGEST_VALUE])

    def test_attribute_list_10(self) -> None:
        """GetAttributeList in 1.0 lists the 1.0 attribute names of the key."""
        r = call(self.d, Operation.GET_ATTRIBUTE_LIST, uid_payload(self.uid), version=V10, caller="alice")
        self.assertOK(r)
        self.assertEqual(r.payload.value[0].value, self.uid)
        self.assertEqual({c.value for c in r.payload.value[1:]},
                         {"Unique Identifier", "Object Type", "Cryptographic Algorithm", "Cryptographic Length",
                          "Cryptographic Usage Mask", "Digest", "Initial Date", "Last Change Date", "Lease Time",
                          "Name", "State"})
        self.assertTrue(all(c.tag == Tag.ATTRIBUTE_NAME for c in r.payload.value[1:]))

    def test_attribute_list_2x(self) -> None:
        """GetAttributeList in 2.x answers Attribute References (enumerations of attribute tags)."""
        r = call(self.d, Operation.GET_ATTRIBUTE_LIST, uid_payload(self.uid), version=V20, caller="alice")
        self.assertOK(r)
        refs = r.payload.value[1:]
        self.assertTrue(all(c.tag == Tag.ATTRIBUTE_REFERENCE for c in refs))
        names = {name_for_tag(c.value) for c in refs}
        self.assertIn("Short Unique Identifier", names)
        self.assertNotIn("Operation Policy Name", names)

    def test_not_found(self) -> None:
        """GetAttributes / GetAttributeList of an unknown object: Item Not Found."""
        self.assertFails(get_attributes(self.d, "nope"), ResultReason.ITEM_NOT_FOUND)
        r = call(self.d, Operation.GET_ATTRIBUTE_LIST, uid_payload("nope"))
        self.assertFails(r, ResultReason.ITEM_NOT_FOUND)

    def test_key_pair_object_types(self) -> None:
        """Object Type is part of the attributes (private key here)."""
        r = create_key_pair(self.d, [a_alg(CA.RSA), a_len(1024)], [a_mask(CUM.SIGN)], [a_mask(CUM.VERIFY)])
        got = attrs_of(get_attributes(self.d, r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER), ["Object Type"]), V14)
        self.assertEqual(got["Object Type"][0].value, ObjectType.PRIVATE_KEY)
