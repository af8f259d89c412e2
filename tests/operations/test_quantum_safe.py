"""Quantum Safe (spec 2.1 4.45): a claim of Quantum Safe = True that the key cannot back is General
Failure (profile vector QS-M-2-21), on every path that gives an object the attribute; nothing is
stored on refusal, and a 256-bit symmetric key with the same attributes is accepted."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.model import keyblock
from kmipd.model.quantum import QUANTUM_SAFE_MIN_BITS, is_quantum_safe
from kmipd.spec import (
    AdjustmentType,
    DerivationMethod,
    KeyFormatType,
    ObjectType,
    Operation,
    ProtectionLevel,
    QueryFunction,
    ResultReason,
    Tag,
)
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as CUM
from kmipd.store.interface import LocateQuery
from kmipd.testing import call, make_processor, payload
from kmipd.ttlv import Item

from .test_create import (
    V14,
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
    template,
    uid_payload,
)
from .test_crypto_ops import add_symmetric
from .test_register import register
from .test_transfer import export, import_body

GF = ResultReason.GENERAL_FAILURE
#: QS-M-2-21's attributes: Protection Level High, Protection Period ~13 years, Quantum Safe.
QS = [("Protection Level", Item.enum(Tag.PROTECTION_LEVEL, ProtectionLevel.HIGH)),
      ("Protection Period", Item.interval(Tag.PROTECTION_PERIOD, 409968000)),
      ("Quantum Safe", Item.bool(Tag.QUANTUM_SAFE, True))]
NOT_QS = [("Quantum Safe", Item.bool(Tag.QUANTUM_SAFE, False))]


def qs_item(value: bool = True) -> Item:
    return Item.bool(Tag.QUANTUM_SAFE, value)


def uid_of(r) -> str:
    return r.payload.get(Tag.UNIQUE_IDENTIFIER)


class _Base(SynchronousTestCase, Assertions):
    def setUp(self) -> None:
        self.d = make_processor()

    def count(self) -> int:
        """How many objects the store holds (any state, archived too)."""
        with self.d.store.transaction() as tx:
            return len(tx.locate(LocateQuery(include_archived=True)))

    def assertNotSafe(self, r, what: str) -> None:
        """General Failure naming the algorithm and length."""
        self.assertFails(r, GF)
        self.assertIn("not quantum safe", r.message)
        self.assertIn(what, r.message)

    def quantum_safe(self, uid: str):
        got = attrs_of(get_attributes(self.d, uid, ["Quantum Safe"], version=V21), V21)
        return [v.value for v in got.get("Quantum Safe", [])]


class RuleTests(SynchronousTestCase):
    """The table of L{kmipd.model.quantum}."""

    def test_symmetric_256(self) -> None:
        for alg, length in ((CA.AES, 256), (CA.CHACHA20, 256), (CA.CAMELLIA, 256), (CA.HMAC_SHA256, 256),
                            (CA.HMAC_SHA512, 512), (CA.HMAC_SHA3_256, 256)):
            self.assertTrue(is_quantum_safe(alg, length), (alg, length))

    def test_not_safe(self) -> None:
        """Grover: AES-128/192 fall short; Shor: every classical public-key algorithm; 3DES, RC4 never."""
        for alg, length in ((CA.AES, 128), (CA.AES, 192), (CA.TRIPLE_DES, 168), (CA.RC4, 256),
                            (CA.HMAC_SHA256, 128), (CA.HMAC_SHA1, 256), (CA.RSA, 15360), (CA.DSA, 3072),
                            (CA.EC, 521), (CA.ECDSA, 384), (CA.ECDH, 256), (CA.DH, 4096), (CA.ED25519, 256),
                            (CA.ED448, 456), (None, 256), (CA.AES, None)):
            self.assertFalse(is_quantum_safe(alg, length), (alg, length))

    def test_no_asymmetric_algorithm_listed(self) -> None:
        for alg in (CA.RSA, CA.DSA, CA.ECDSA, CA.DH, CA.ECDH, CA.ECMQV, CA.EC, CA.ED25519, CA.ED448, CA.SM2,
                    CA.GOST_R_34_10_2012):
            self.assertNotIn(alg, QUANTUM_SAFE_MIN_BITS)


class CreateTests(_Base):
    def test_qs_m_2_21(self) -> None:
        """The profile vector: AES-128, Protection Level High, Period 409968000 s, Quantum Safe: General
        Failure, and no key is stored."""
        r = create(self.d, aes_attrs(128) + QS, version=V21)
        self.assertNotSafe(r, "AES-128")
        self.assertEqual(self.count(), 0)

    def test_aes_256_accepted(self) -> None:
        """The same request for AES-256 makes a key that keeps Quantum Safe = True."""
        r = create(self.d, aes_attrs(256) + QS, version=V21)
        self.assertOK(r)
        self.assertEqual(self.quantum_safe(uid_of(r)), [True])

    def test_other_algorithms(self) -> None:
        for alg, length, ok in ((CA.AES, 192, False), (CA.TRIPLE_DES, 168, False), (CA.HMAC_SHA256, 128, False),
                                (CA.CHACHA20, 256, True), (CA.HMAC_SHA256, 256, True), (CA.CAMELLIA, 256, True)):
            r = create(self.d, [a_alg(alg), a_len(length), a_mask(CUM.ENCRYPT)] + QS, version=V21)
            if ok:
                self.assertOK(r)
            else:
                self.assertNotSafe(r, f"-{length}")

    def test_false_or_absent_not_checked(self) -> None:
        self.assertOK(create(self.d, aes_attrs(128) + NOT_QS, version=V21))
        self.assertOK(create(self.d, aes_attrs(128) + QS[:2], version=V21))

    def test_secret_data(self) -> None:
        """Secret Data has no Cryptographic Algorithm: kmipd cannot vouch for it."""
        r = create(self.d, [a_len(256), a_mask(CUM.DERIVE_KEY)] + QS, version=V21, object_type=ObjectType.SECRET_DATA)
        self.assertNotSafe(r, "without a Cryptographic Algorithm")
        self.assertEqual(self.count(), 0)


class CreateKeyPairTests(_Base):
    def test_common(self) -> None:
        """RSA and EC pairs cannot be quantum safe (Shor): neither key is stored."""
        for common, what in (([a_alg(CA.RSA), a_len(2048)], "RSA-2048"), ([a_alg(CA.EC), a_len(256)], "EC-256")):
            r = create_key_pair(self.d, common + QS, [a_mask(CUM.SIGN)], [a_mask(CUM.VERIFY)], version=V21)
            self.assertNotSafe(r, what)
        self.assertEqual(self.count(), 0)

    def test_each_key(self) -> None:
        """A claim on the public key alone is refused as well."""
        r = create_key_pair(self.d, [a_alg(CA.RSA), a_len(2048)], [a_mask(CUM.SIGN)],
                            [a_mask(CUM.VERIFY)] + QS, version=V21)
        self.assertNotSafe(r, "RSA-2048")
        self.assertEqual(self.count(), 0)
        self.assertOK(create_key_pair(self.d, [a_alg(CA.RSA), a_len(2048)] + NOT_QS, [a_mask(CUM.SIGN)],
                                      [a_mask(CUM.VERIFY)], version=V21))


class RegisterTests(_Base):
    def aes(self, length: int) -> Item:
        return keyblock.body(ObjectType.SYMMETRIC_KEY, keyblock.key_block(
            KeyFormatType.RAW, b"k" * (length // 8), algorithm=CA.AES, length=length))

    def test_symmetric(self) -> None:
        r = register(self.d, ObjectType.SYMMETRIC_KEY, self.aes(128), [a_mask(CUM.ENCRYPT)] + QS, version=V21)
        self.assertNotSafe(r, "AES-128")
        self.assertEqual(self.count(), 0)
        r = register(self.d, ObjectType.SYMMETRIC_KEY, self.aes(256), [a_mask(CUM.ENCRYPT)] + QS, version=V21)
        self.assertOK(r)
        self.assertEqual(self.quantum_safe(uid_of(r)), [True])

    def test_without_algorithm(self) -> None:
        """Secret Data and Opaque Objects: no algorithm, no claim."""
        secret = keyblock.body(ObjectType.SECRET_DATA, keyblock.key_block(KeyFormatType.OPAQUE, b"s" * 32),
                               t=Item.enum(Tag.SECRET_DATA_TYPE, 2))
        opaque = Item.struct(Tag.OPAQUE_OBJECT, [Item.enum(Tag.OPAQUE_DATA_TYPE, 0x80000000),
                                                 Item.bytes(Tag.OPAQUE_DATA_VALUE, b"o" * 32)])
        for object_type, body in ((ObjectType.SECRET_DATA, secret), (ObjectType.OPAQUE_OBJECT, opaque)):
            attrs = [a_mask(CUM.DERIVE_KEY)] if object_type == ObjectType.SECRET_DATA else []
            self.assertNotSafe(register(self.d, object_type, body, attrs + QS, version=V21),
                               "without a Cryptographic Algorithm")
        self.assertEqual(self.count(), 0)


class ReKeyTests(_Base):
    def rekey(self, uid: str, attrs) -> object:
        return call(self.d, Operation.RE_KEY, uid_payload(uid, template(V21, attrs)), version=V21, caller="alice")

    def test_shorter_replacement(self) -> None:
        """A quantum-safe key re-keyed to 128 bits: refused, the old key is not replaced; as it was, fine."""
        old = uid_of(create(self.d, aes_attrs(256) + QS, version=V21))
        self.assertNotSafe(self.rekey(old, [a_len(128)]), "AES-128")
        self.assertEqual(self.count(), 1)
        self.assertNotIn("Link", attrs_of(get_attributes(self.d, old, version=V21), V21))
        r = self.rekey(old, [])
        self.assertOK(r)
        self.assertEqual(self.quantum_safe(uid_of(r)), [True])

    def test_claim_in_template(self) -> None:
        old = uid_of(create(self.d, aes_attrs(128), version=V21))
        self.assertNotSafe(self.rekey(old, QS), "AES-128")
        self.assertEqual(self.count(), 1)
        self.assertOK(self.rekey(old, [a_len(256)] + QS))

    def test_key_pair(self) -> None:
        pair = create_key_pair(self.d, [a_alg(CA.RSA), a_len(2048)], [a_mask(CUM.SIGN)], [a_mask(CUM.VERIFY)],
                               version=V21)
        priv = pair.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER)
        r = call(self.d, Operation.RE_KEY_KEY_PAIR, payload(Item.text(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, priv),
                                                            template(V21, QS, "common")), version=V21, caller="alice")
        self.assertNotSafe(r, "RSA-2048")
        self.assertEqual(self.count(), 2)


class DeriveKeyTests(_Base):
    def derive(self, base: str, length: int):
        body = payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), Item.text(Tag.UNIQUE_IDENTIFIER, base),
                       Item.enum(Tag.DERIVATION_METHOD, DerivationMethod.HMAC),
                       Item.struct(Tag.DERIVATION_PARAMETERS, [Item.bytes(Tag.DERIVATION_DATA, b"data")]),
                       template(V21, aes_attrs(length) + [(n, v) for n, v in QS if n == "Quantum Safe"]))
        return call(self.d, Operation.DERIVE_KEY, body, version=V21, caller="tester")

    def test_derived(self) -> None:
        base = add_symmetric(self.d, key=b"k" * 32, algorithm=CA.HMAC_SHA256, mask=CUM.DERIVE_KEY)
        r = self.derive(base, 128)
        self.assertNotSafe(r, "AES-128")
        self.assertEqual(self.count(), 1)
        r = self.derive(base, 256)
        self.assertOK(r)
        with self.d.store.transaction() as tx:
            self.assertIs(tx.get(uid_of(r)).value("Quantum Safe"), True)


class AttributeOperationTests(_Base):
    """Add/Set/Modify/Adjust Attribute of Quantum Safe on an existing object."""

    def setUp(self) -> None:
        super().setUp()
        self.aes128 = uid_of(create(self.d, aes_attrs(128), version=V21))
        self.aes256 = uid_of(create(self.d, aes_attrs(256), version=V21))

    def op(self, operation: int, uid: str, *items: Item):
        return call(self.d, operation, uid_payload(uid, *items), version=V21, caller="alice")

    def test_add_and_set(self) -> None:
        for operation in (Operation.ADD_ATTRIBUTE, Operation.SET_ATTRIBUTE):
            new = Item.struct(Tag.NEW_ATTRIBUTE, [qs_item()])
            self.assertNotSafe(self.op(operation, self.aes128, new), "AES-128")
            self.assertEqual(self.quantum_safe(self.aes128), [])
        self.assertOK(self.op(Operation.ADD_ATTRIBUTE, self.aes256, Item.struct(Tag.NEW_ATTRIBUTE, [qs_item()])))
        self.assertEqual(self.quantum_safe(self.aes256), [True])

    def test_set_false(self) -> None:
        self.assertOK(self.op(Operation.SET_ATTRIBUTE, self.aes128, Item.struct(Tag.NEW_ATTRIBUTE, [qs_item(False)])))

    def test_modify(self) -> None:
        for uid in (self.aes128, self.aes256):
            self.assertOK(self.op(Operation.ADD_ATTRIBUTE, uid, Item.struct(Tag.NEW_ATTRIBUTE, [qs_item(False)])))
        modify = (Item.struct(Tag.CURRENT_ATTRIBUTE, [qs_item(False)]), Item.struct(Tag.NEW_ATTRIBUTE, [qs_item()]))
        self.assertNotSafe(self.op(Operation.MODIFY_ATTRIBUTE, self.aes128, *modify), "AES-128")
        self.assertEqual(self.quantum_safe(self.aes128), [False])
        self.assertOK(self.op(Operation.MODIFY_ATTRIBUTE, self.aes256, *modify))
        self.assertEqual(self.quantum_safe(self.aes256), [True])

    def test_adjust_negate(self) -> None:
        """Negating an absent Quantum Safe makes it True: the same check."""
        adjust = (Item.enum(Tag.ATTRIBUTE_REFERENCE, Tag.QUANTUM_SAFE),
                  Item.enum(Tag.ADJUSTMENT_TYPE, AdjustmentType.NEGATE))
        self.assertNotSafe(self.op(Operation.ADJUST_ATTRIBUTE, self.aes128, *adjust), "AES-128")
        self.assertEqual(self.quantum_safe(self.aes128), [])
        self.assertOK(self.op(Operation.ADJUST_ATTRIBUTE, self.aes256, *adjust))
        self.assertEqual(self.quantum_safe(self.aes256), [True])


class ImportTests(_Base):
    def test_import(self) -> None:
        """An imported AES-128 key whose attributes claim Quantum Safe is refused."""
        source = make_processor()
        uid = uid_of(create(source, aes_attrs(128), version=V21))
        exported = export(source, uid).payload
        claimed = Item.struct(Tag.RESPONSE_PAYLOAD, [
            Item.struct(Tag.ATTRIBUTES, [*c.value, qs_item()]) if c.tag == Tag.ATTRIBUTES else c
            for c in exported.value])
        r = call(self.d, Operation.IMPORT, import_body(uid, claimed), version=V21, caller="alice")
        self.assertNotSafe(r, "AES-128")
        self.assertEqual(self.count(), 0)
        self.assertOK(call(self.d, Operation.IMPORT, import_body(uid, exported), version=V21, caller="alice"))



class CapabilityTests(SynchronousTestCase):
    def test_query_capabilities(self) -> None:
        """Query Capabilities reports Quantum Safe Capability (2.x; the field is not in 1.4)."""
        d = make_processor()
        fn = payload(Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_CAPABILITIES))
        cap = call(d, Operation.QUERY, fn, version=V21).payload.find(Tag.CAPABILITY_INFORMATION)
        self.assertIs(cap.get(Tag.QUANTUM_SAFE_CAPABILITY), True)
        self.assertEqual(cap.value[-1].tag, Tag.QUANTUM_SAFE_CAPABILITY)
        cap14 = call(d, Operation.QUERY, fn, version=V14).payload.find(Tag.CAPABILITY_INFORMATION)
        self.assertIsNone(cap14.find(Tag.QUANTUM_SAFE_CAPABILITY))
