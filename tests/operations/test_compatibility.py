"""C{[server] compatibility}: each PyKMIP-server deviation, refused by default and reproduced with
C{compatibility = pykmip} (docs/compatibility.md)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from twisted.trial.unittest import SynchronousTestCase

from kmipd.compat import PYKMIP, with_index
from kmipd.config import ConfigError, load_config
from kmipd.model import keyblock
from kmipd.model.attributes import to_1x
from kmipd.settings import Settings
from kmipd.spec import (
    CryptographicAlgorithm,
    CryptographicUsageMask,
    DerivationMethod,
    HashingAlgorithm,
    KeyFormatType,
    ObjectType,
    Operation,
    ResultReason,
    State,
    Tag,
)
from kmipd.testing import FakeClock, call, make_processor, payload
from kmipd.ttlv import Item

from .test_create import Assertions, a_alg, a_len, a_mask, a_name, aes_attrs, create, get_key, uid_payload
from .test_crypto_ops import add_symmetric, cp
from .test_derive import secret
from .test_derive import template as derive_template
from .test_register import block, register

CA = CryptographicAlgorithm
M = CryptographicUsageMask
V12, V14, V21 = (1, 2), (1, 4), (2, 1)


class _Modes(SynchronousTestCase, Assertions):
    """A dispatcher in the default mode (C{self.kmip}) and one in PyKMIP mode (C{self.pykmip})."""

    def setUp(self) -> None:
        self.clock = FakeClock()
        self.kmip = make_processor(clock=self.clock)
        self.pykmip = make_processor(clock=self.clock, settings=Settings(compatibility=PYKMIP))


class SettingTests(SynchronousTestCase):
    def test_values(self) -> None:
        """compatibility is kmip by default, accepts pykmip (any case), refuses anything else by name."""
        self.assertEqual(load_config(None, {}).settings.compatibility, "kmip")
        self.assertEqual(load_config(None, {"compatibility": "PyKMIP"}).settings.compatibility, "pykmip")
        error = self.assertRaises(ConfigError, load_config, None, {"compatibility": "pykmp"})
        self.assertEqual(error.key, "compatibility")

    def test_service_hands_it_to_handlers(self) -> None:
        """The configured mode reaches the handlers' typed settings."""
        from kmipd.service import KMIPService
        from kmipd.store.memory import MemoryObjectStore

        config = load_config(None, {"compatibility": "pykmip", "data_dir": self.mktemp()})
        self.assertEqual(config.settings.compatibility, "pykmip")
        service = KMIPService(config, store=MemoryObjectStore(), tls=False)
        self.assertEqual(service.dispatcher.processor.service.settings.compatibility, "pykmip")


class NameTests(_Modes):
    def test_shared_names(self) -> None:
        """Two keys with one Name: refused by default (1.x Invalid Field, 2.x Non Unique Name);
        both created and both located in PyKMIP mode."""
        for version, reason in ((V12, ResultReason.INVALID_FIELD), (V21, ResultReason.NON_UNIQUE_NAME_ATTRIBUTE)):
            name = f"shared {version}"
            self.assertOK(create(self.kmip, aes_attrs(name=name), version=version))
            self.assertFails(create(self.kmip, aes_attrs(name=name), version=version), reason)
        first = create(self.pykmip, aes_attrs(name="shared"), version=V12)
        second = create(self.pykmip, aes_attrs(name="shared"), version=V12)
        self.assertOK(first)
        self.assertOK(second)
        found = call(self.pykmip, Operation.LOCATE, payload(to_1x(*a_name("shared"))), version=V12, caller="alice")
        self.assertEqual({u.value for u in found.payload.findall(Tag.UNIQUE_IDENTIFIER)},
                         {first.payload.get(Tag.UNIQUE_IDENTIFIER), second.payload.get(Tag.UNIQUE_IDENTIFIER)})


class DestroyedMetadataTests(_Modes):
    def test_get_attributes_after_destroy(self) -> None:
        """A destroyed object's retained metadata: a 1.x Get Attributes / Get Attribute List reads it
        by default (State Destroyed, Destroy Date: the OASIS 1.x lifecycle profile); in PyKMIP mode
        nothing of it remains (Item Not Found). Get is Item Not Found either way."""
        for d in (self.kmip, self.pykmip):
            uid = create(d, aes_attrs(name=f"gone {id(d)}"), version=V12).payload.get(Tag.UNIQUE_IDENTIFIER)
            self.assertOK(call(d, Operation.DESTROY, uid_payload(uid), version=V12, caller="alice"))
            self.assertFails(get_key(d, uid, version=V12), ResultReason.ITEM_NOT_FOUND)
            attrs = call(d, Operation.GET_ATTRIBUTES, uid_payload(uid), version=V12, caller="alice")
            names = call(d, Operation.GET_ATTRIBUTE_LIST, uid_payload(uid), version=V12, caller="alice")
            if d is self.pykmip:
                self.assertFails(attrs, ResultReason.ITEM_NOT_FOUND)
                self.assertFails(names, ResultReason.ITEM_NOT_FOUND)
                continue
            self.assertOK(attrs)
            self.assertOK(names)
            got = {a.get(Tag.ATTRIBUTE_NAME): a.find(Tag.ATTRIBUTE_VALUE).value
                   for a in attrs.payload.findall(Tag.ATTRIBUTE)}
            self.assertEqual(got["State"], State.DESTROYED)
            self.assertIn("Destroy Date", got)
            self.assertIn("Destroy Date", [n.value for n in names.payload.findall(Tag.ATTRIBUTE_NAME)])


class AttributeIndexTests(_Modes):
    def test_get_attributes_and_modify(self) -> None:
        """1.x GetAttributes and Modify Attribute: no Attribute Index 0 by default, always one in
        PyKMIP mode; 2.x responses have no index either way."""
        for d, expected in ((self.kmip, None), (self.pykmip, 0)):
            uid = create(d, aes_attrs(name="indexed"), version=V12).payload.get(Tag.UNIQUE_IDENTIFIER)
            got = call(d, Operation.GET_ATTRIBUTES, uid_payload(uid, Item.text(Tag.ATTRIBUTE_NAME, "Name")),
                       version=V12, caller="alice")
            self.assertEqual(got.payload.find(Tag.ATTRIBUTE).get(Tag.ATTRIBUTE_INDEX), expected)
            modified = call(d, Operation.MODIFY_ATTRIBUTE, uid_payload(uid, to_1x(*a_name("renamed"))), version=V12,
                            caller="alice")
            self.assertOK(modified)
            self.assertEqual(modified.payload.find(Tag.ATTRIBUTE).get(Tag.ATTRIBUTE_INDEX), expected)
            v2 = call(d, Operation.GET_ATTRIBUTES, uid_payload(uid), version=V21, caller="alice")
            self.assertIsNone(v2.payload.find(Tag.ATTRIBUTES).find(Tag.ATTRIBUTE_INDEX))

    def test_with_index(self) -> None:
        """with_index puts index 0 after the name, and leaves an existing index alone."""
        bare = to_1x("Name", a_name("x")[1])
        self.assertEqual([c.tag for c in with_index(bare).value],
                         [Tag.ATTRIBUTE_NAME, Tag.ATTRIBUTE_INDEX, Tag.ATTRIBUTE_VALUE])
        indexed = to_1x("Name", a_name("x")[1], 2)
        self.assertIs(with_index(indexed), indexed)


class RegisterTests(_Modes):
    def test_raw_rsa_keys(self) -> None:
        """DER RSA keys under Key Format Type Raw (with a wrong length, as PyKMIP's test sends):
        Invalid Field by default, stored and served unchanged in PyKMIP mode."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        private = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        for object_type, der in ((ObjectType.PRIVATE_KEY, private), (ObjectType.PUBLIC_KEY, public)):
            body = keyblock.body(object_type, block(KeyFormatType.RAW, der, CA.RSA, 2048))
            self.assertFails(register(self.kmip, object_type, body, [a_mask(M.ENCRYPT)], version=V12),
                             ResultReason.INVALID_FIELD)
            result = register(self.pykmip, object_type, body, [a_mask(M.ENCRYPT)], version=V12)
            self.assertOK(result)
            got = get_key(self.pykmip, result.payload.get(Tag.UNIQUE_IDENTIFIER), version=V12)
            self.assertOK(got)
            material = got.payload.find(Tag.PRIVATE_KEY if object_type == ObjectType.PRIVATE_KEY else Tag.PUBLIC_KEY)
            self.assertEqual(keyblock.format_type(material), KeyFormatType.RAW)
            self.assertEqual(keyblock.key_bytes(material), der)

    def test_symmetric_size(self) -> None:
        """A 512-bit "AES" key: Invalid Field by default, stored in PyKMIP mode."""
        body = keyblock.symmetric_key(b"\x01" * 64, CA.AES, 512)
        attrs = [a_mask(M.DERIVE_KEY)]
        self.assertFails(register(self.kmip, ObjectType.SYMMETRIC_KEY, body, attrs), ResultReason.INVALID_FIELD)
        self.assertOK(register(self.pykmip, ObjectType.SYMMETRIC_KEY, body, attrs))


class DeriveTests(_Modes):
    def derive(self, d, base: str, method: int, params: list[Item], object_type=ObjectType.SYMMETRIC_KEY, **attrs):
        body = payload(Item.enum(Tag.OBJECT_TYPE, object_type), Item.text(Tag.UNIQUE_IDENTIFIER, base),
                       Item.enum(Tag.DERIVATION_METHOD, method), Item.struct(Tag.DERIVATION_PARAMETERS, params),
                       derive_template(V12, **attrs))
        return call(d, Operation.DERIVE_KEY, body, version=V12, caller="tester")

    def pbkdf2(self, d, base: str, **attrs):
        return self.derive(d, base, DerivationMethod.PBKDF2, [cp(hashing_algorithm=HashingAlgorithm.SHA_1),
                                                              Item.bytes(Tag.SALT, b"salt"),
                                                              Item.int(Tag.ITERATION_COUNT, 4096)], **attrs)

    def test_pre_active_base(self) -> None:
        """A Pre-Active base object: Illegal Operation by default, used in PyKMIP mode."""
        for d in (self.kmip, self.pykmip):
            base = secret(d, b"password", state=State.PRE_ACTIVE)
            result = self.pbkdf2(d, base, algorithm=CA.AES, length=128)
            if d is self.kmip:
                self.assertFails(result, ResultReason.ILLEGAL_OPERATION)
            else:
                self.assertOK(result)

    def test_length_not_a_key_size(self) -> None:
        """A 160-bit AES key: Invalid Field by default; derived in PyKMIP mode (PBKDF2, RFC 6070)."""
        self.assertFails(self.pbkdf2(self.kmip, secret(self.kmip, b"password"), algorithm=CA.AES, length=160),
                         ResultReason.INVALID_FIELD)
        result = self.pbkdf2(self.pykmip, secret(self.pykmip, b"password"), algorithm=CA.AES, length=160)
        self.assertOK(result)
        got = get_key(self.pykmip, result.payload.get(Tag.UNIQUE_IDENTIFIER), version=V12, caller="tester")
        self.assertEqual(keyblock.key_bytes(got.payload.find(Tag.SYMMETRIC_KEY)).hex(),
                         "4b007901b765489abead49d926f721d065a429c1")

    def test_hmac_is_hkdf(self) -> None:
        """Derivation Method HMAC: one HMAC by default (a longer request is a Cryptographic
        Failure); HKDF in PyKMIP mode (RFC 5869 A.7, the vector PyKMIP's test uses)."""
        ikm = b"\x0c" * 22
        params = [cp(hashing_algorithm=HashingAlgorithm.SHA_1), Item.bytes(Tag.DERIVATION_DATA, b""),
                  Item.bytes(Tag.SALT, b"")]
        for d in (self.kmip, self.pykmip):
            base = add_symmetric(d, key=ikm, algorithm=CA.HMAC_SHA1, mask=M.DERIVE_KEY)
            result = self.derive(d, base, DerivationMethod.HMAC, params, object_type=ObjectType.SECRET_DATA,
                                 length=336)
            if d is self.kmip:
                self.assertFails(result, ResultReason.CRYPTOGRAPHIC_FAILURE)
                continue
            self.assertOK(result)
            got = call(d, Operation.GET, uid_payload(result.payload.get(Tag.UNIQUE_IDENTIFIER)), version=V12,
                       caller="tester")
            expected = HKDF(SHA1(), 42, b"", b"").derive(ikm)
            self.assertEqual(expected.hex()[:16], "2c91117204d745f3")
            self.assertEqual(keyblock.key_bytes(got.payload.find(Tag.SECRET_DATA)), expected)


class DefaultsUnchangedTests(_Modes):
    def test_same_answers_elsewhere(self) -> None:
        """Outside the listed deviations both modes answer alike (Create, Get, Destroy, Get)."""
        for d in (self.kmip, self.pykmip):
            uid = create(d, [a_alg(CA.AES), a_len(256), a_mask(M.ENCRYPT)], version=V14).payload.get(
                Tag.UNIQUE_IDENTIFIER)
            self.assertOK(get_key(d, uid))
            self.assertOK(call(d, Operation.DESTROY, uid_payload(uid), version=V14, caller="alice"))
            self.assertFails(get_key(d, uid), ResultReason.ITEM_NOT_FOUND)
