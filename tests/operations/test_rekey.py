"""ReKey and ReKeyKeyPair: replacement objects, copied attributes, links, offsets."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.spec import (
    CryptographicAlgorithm as CA,
)
from kmipd.spec import (
    CryptographicUsageMask as CUM,
)
from kmipd.spec import LinkType, Operation, ResultReason, State, Tag
from kmipd.testing import FakeClock, call, make_processor, payload
from kmipd.ttlv import Item

from .test_create import (
    V14,
    V20,
    V21,
    Assertions,
    a_alg,
    a_len,
    a_mask,
    a_name,
    aes_attrs,
    attrs_of,
    create,
    create_key_pair,
    get_attributes,
    get_key,
    key_bytes_of,
    template,
    uid_payload,
)


def links(attrs) -> list[tuple[int, str]]:
    return [(v.get(Tag.LINK_TYPE), v.get(Tag.LINKED_OBJECT_IDENTIFIER)) for v in attrs.get("Link", [])]


class ReKeyTests(SynchronousTestCase, Assertions):
    """ReKey of symmetric keys."""

    def setUp(self) -> None:
        self.clock = FakeClock()
        self.now = int(self.clock.now)
        self.d = make_processor(clock=self.clock)

    def rekey(self, uid: str, *extra: Item, version=V14):
        return call(self.d, Operation.RE_KEY, uid_payload(uid, *extra), version=version, caller="alice")

    def test_rekey_1x(self) -> None:
        """The replacement has new material, the old attributes, the names, and Replaced/Replacement links."""
        old = create(self.d, aes_attrs(128, "rk") + [("x-tag", Item.text(Tag.ATTRIBUTE_VALUE, "v"))]) \
            .payload.get(Tag.UNIQUE_IDENTIFIER)
        self.clock.advance(10)
        r = self.rekey(old)
        self.assertOK(r)
        self.assertEqual([c.tag for c in r.payload.value], [Tag.UNIQUE_IDENTIFIER])
        new = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertNotEqual(new, old)
        self.assertNotEqual(key_bytes_of(get_key(self.d, new)), key_bytes_of(get_key(self.d, old)))
        na, oa = attrs_of(get_attributes(self.d, new), V14), attrs_of(get_attributes(self.d, old), V14)
        self.assertEqual(na["Cryptographic Length"][0].value, 128)
        self.assertEqual(na["Cryptographic Usage Mask"][0].value, CUM.ENCRYPT | CUM.DECRYPT)
        self.assertEqual(na["x-tag"][0].value, "v")
        self.assertEqual(na["Name"][0].get(Tag.NAME_VALUE), "rk")
        self.assertNotIn("Name", oa)
        self.assertEqual(na["Initial Date"][0].value, self.now + 10)
        self.assertEqual(links(na), [(LinkType.REPLACED_OBJECT_LINK, old)])
        self.assertEqual(links(oa), [(LinkType.REPLACEMENT_OBJECT_LINK, new)])
        self.assertEqual(na["State"][0].value, State.PRE_ACTIVE)
        self.assertNotEqual(na["Digest"][0], oa["Digest"][0])

    def test_rekey_2x(self) -> None:
        """ReKey in the 2.1 shape with an Attributes template overriding the usage mask."""
        old = create(self.d, aes_attrs(256), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        r = self.rekey(old, template(V21, [a_mask(CUM.ENCRYPT)]), version=V21)
        self.assertOK(r)
        na = attrs_of(get_attributes(self.d, r.payload.get(Tag.UNIQUE_IDENTIFIER), version=V21), V21)
        self.assertEqual(na["Cryptographic Usage Mask"][0].value, CUM.ENCRYPT)

    def test_dates_copied_without_offset(self) -> None:
        """Without Offset the activation and deactivation dates are copied (the new key is Active)."""
        dates = [("Activation Date", Item.datetime(Tag.ACTIVATION_DATE, self.now)),
                 ("Deactivation Date", Item.datetime(Tag.DEACTIVATION_DATE, self.now + 1000))]
        old = create(self.d, aes_attrs() + dates).payload.get(Tag.UNIQUE_IDENTIFIER)
        new = self.rekey(old).payload.get(Tag.UNIQUE_IDENTIFIER)
        na = attrs_of(get_attributes(self.d, new), V14)
        self.assertEqual(na["Activation Date"][0].value, self.now)
        self.assertEqual(na["Deactivation Date"][0].value, self.now + 1000)
        self.assertEqual(na["State"][0].value, State.ACTIVE)

    def test_offset(self) -> None:
        """With Offset: Activation = now + offset, Deactivation shifted by the same amount."""
        dates = [("Activation Date", Item.datetime(Tag.ACTIVATION_DATE, self.now)),
                 ("Deactivation Date", Item.datetime(Tag.DEACTIVATION_DATE, self.now + 1000))]
        old = create(self.d, aes_attrs() + dates).payload.get(Tag.UNIQUE_IDENTIFIER)
        self.clock.advance(100)
        new = self.rekey(old, Item.interval(Tag.OFFSET, 50)).payload.get(Tag.UNIQUE_IDENTIFIER)
        na = attrs_of(get_attributes(self.d, new), V14)
        self.assertEqual(na["Activation Date"][0].value, self.now + 150)
        self.assertEqual(na["Deactivation Date"][0].value, self.now + 1150)
        self.assertEqual(na["State"][0].value, State.PRE_ACTIVE)

    def test_offset_with_dates(self) -> None:
        """Offset together with an Activation Date in the template: Invalid Message."""
        old = create(self.d, aes_attrs()).payload.get(Tag.UNIQUE_IDENTIFIER)
        t = template(V14, [("Activation Date", Item.datetime(Tag.ACTIVATION_DATE, self.now))])
        self.assertFails(self.rekey(old, Item.interval(Tag.OFFSET, 5), t), ResultReason.INVALID_MESSAGE)

    def test_offset_without_activation(self) -> None:
        """Offset when the old key has a Deactivation but no Activation Date: Illegal Operation."""
        deact = [("Deactivation Date", Item.datetime(Tag.DEACTIVATION_DATE, self.now + 500))]
        old = create(self.d, aes_attrs() + deact).payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertFails(self.rekey(old, Item.interval(Tag.OFFSET, 5)), ResultReason.ILLEGAL_OPERATION)
        self.assertFails(self.rekey(old, Item.interval(Tag.OFFSET, 5), version=V20),
                         ResultReason.WRONG_KEY_LIFECYCLE_STATE)

    def test_not_symmetric(self) -> None:
        """ReKey of a private key: Permission Denied (not able to be re-keyed)."""
        r = create_key_pair(self.d, [a_alg(CA.RSA), a_len(1024)], [a_mask(CUM.SIGN)], [a_mask(CUM.VERIFY)])
        self.assertFails(self.rekey(r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER)), ResultReason.PERMISSION_DENIED)

    def test_not_found(self) -> None:
        """ReKey of an unknown object: Item Not Found."""
        self.assertFails(self.rekey("missing"), ResultReason.ITEM_NOT_FOUND)


class ReKeyKeyPairTests(SynchronousTestCase, Assertions):
    """ReKeyKeyPair of RSA and EC pairs, under the built-in "default" policy (the owner re-keys)."""

    def setUp(self) -> None:
        self.d = make_processor()

    def pair(self, common, version=V14):
        r = create_key_pair(self.d, common, [a_mask(CUM.SIGN), a_name("p")], [a_mask(CUM.VERIFY), a_name("u")],
                            version=version)
        self.assertOK(r)
        return r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER), r.payload.get(Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER)

    def rekey(self, uid, version=V14):
        return call(self.d, Operation.RE_KEY_KEY_PAIR, payload(Item.text(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, uid)),
                    version=version, caller="alice")

    def test_rsa_1x(self) -> None:
        """A new RSA pair linked to each other and to the pair it replaces; names move over."""
        priv, pub = self.pair([a_alg(CA.RSA), a_len(1024)])
        r = self.rekey(priv)
        self.assertOK(r)
        self.assertEqual([c.tag for c in r.payload.value],
                         [Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER])
        npriv, npub = (c.value for c in r.payload.value)
        pa, ua = attrs_of(get_attributes(self.d, npriv), V14), attrs_of(get_attributes(self.d, npub), V14)
        self.assertEqual(sorted(links(pa)), sorted([(LinkType.PUBLIC_KEY_LINK, npub),
                                                    (LinkType.REPLACED_OBJECT_LINK, priv)]))
        self.assertEqual(sorted(links(ua)), sorted([(LinkType.PRIVATE_KEY_LINK, npriv),
                                                    (LinkType.REPLACED_OBJECT_LINK, pub)]))
        self.assertEqual(pa["Name"][0].get(Tag.NAME_VALUE), "p")
        self.assertEqual(pa["Cryptographic Length"][0].value, 1024)
        old = attrs_of(get_attributes(self.d, pub), V14)
        self.assertIn((LinkType.REPLACEMENT_OBJECT_LINK, npub), links(old))
        self.assertNotIn("Name", old)

    def test_ec_2x(self) -> None:
        """An EC P-384 pair is replaced on the same curve (2.0 shape)."""
        priv, _ = self.pair([a_alg(CA.EC), a_len(384)], version=V20)
        r = self.rekey(priv, version=V20)
        self.assertOK(r)
        pa = attrs_of(get_attributes(self.d, r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER), version=V20), V20)
        self.assertEqual(pa["Cryptographic Length"][0].value, 384)

    def test_public_key_refused(self) -> None:
        """ReKeyKeyPair given a public key: Permission Denied."""
        _, pub = self.pair([a_alg(CA.RSA), a_len(1024)])
        self.assertFails(self.rekey(pub), ResultReason.PERMISSION_DENIED)

    def test_not_found(self) -> None:
        """ReKeyKeyPair of an unknown private key: Item Not Found."""
        self.assertFails(self.rekey("missing"), ResultReason.ITEM_NOT_FOUND)

    def test_symmetric_refused(self) -> None:
        """ReKeyKeyPair given a symmetric key: Permission Denied."""
        uid = create(self.d, aes_attrs()).payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertFails(self.rekey(uid), ResultReason.PERMISSION_DENIED)


def _shared_policy_dispatcher(store):
    """A dispatcher whose "shared" policy lets anyone re-key, but only owners read attributes."""
    from kmipd.policy.model import Permission, Policy, PolicyEngine, table_from_rows
    from kmipd.spec import ObjectType

    rows = []
    for ot in (ObjectType.SYMMETRIC_KEY, ObjectType.PRIVATE_KEY, ObjectType.PUBLIC_KEY):
        rows += [(ot, op, Permission.ALLOW_ALL) for op in (
            Operation.CREATE, Operation.CREATE_KEY_PAIR, Operation.RE_KEY, Operation.RE_KEY_KEY_PAIR,
            Operation.MODIFY_ATTRIBUTE)]
        rows.append((ot, Operation.GET_ATTRIBUTES, Permission.ALLOW_OWNER))
    engine = PolicyEngine()
    engine.set_source("test", {"shared": Policy(preset=table_from_rows(rows))})
    return make_processor(store, policy=engine)


def _policy_name(value: str) -> tuple[str, Item]:
    return "Operation Policy Name", Item.text(Tag.OPERATION_POLICY_NAME, value)


class ReKeyOwnershipTests(SynchronousTestCase, Assertions):
    """A replacement belongs to the existing object's owner and policy, whoever re-keys."""

    def setUp(self) -> None:
        from kmipd.store.memory import MemoryObjectStore

        self.store = MemoryObjectStore()
        self.d = _shared_policy_dispatcher(self.store)

    def stored(self, uid: str):
        with self.store.transaction() as tx:
            return tx.get(uid)

    def assertInherited(self, new: str, owner: str) -> None:
        obj = self.stored(new)
        self.assertEqual(obj.owner, owner)
        self.assertEqual(obj.value("Operation Policy Name"), "shared")
        self.assertOK(get_attributes(self.d, new, caller=owner))
        self.assertFails(get_attributes(self.d, new, caller="bob"), ResultReason.PERMISSION_DENIED)

    def test_rekey_by_non_owner(self) -> None:
        """Bob re-keys Alice's key: the replacement is Alice's, under the "shared" policy."""
        old = create(self.d, aes_attrs() + [_policy_name("shared")]).payload.get(Tag.UNIQUE_IDENTIFIER)
        r = call(self.d, Operation.RE_KEY, uid_payload(old), caller="bob")
        self.assertOK(r)
        self.assertInherited(r.payload.get(Tag.UNIQUE_IDENTIFIER), "alice")

    def test_rekey_key_pair_by_non_owner(self) -> None:
        """Bob re-keys Alice's key pair: both replacements are Alice's, under the "shared" policy."""
        r = create_key_pair(self.d, [a_alg(CA.RSA), a_len(1024), _policy_name("shared")],
                            [a_mask(CUM.SIGN)], [a_mask(CUM.VERIFY)])
        self.assertOK(r)
        priv = r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER)
        r = call(self.d, Operation.RE_KEY_KEY_PAIR, payload(Item.text(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, priv)),
                 caller="bob")
        self.assertOK(r)
        self.assertInherited(r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER), "alice")
        self.assertInherited(r.payload.get(Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER), "alice")

    def test_template_cannot_change_policy(self) -> None:
        """A template naming another Operation Policy Name is refused (Invalid Field); the same one is fine."""
        old = create(self.d, aes_attrs() + [_policy_name("shared")]).payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertFails(call(self.d, Operation.RE_KEY, uid_payload(old, template(V14, [_policy_name("default")])),
                              caller="bob"), ResultReason.INVALID_FIELD)
        r = call(self.d, Operation.RE_KEY, uid_payload(old, template(V14, [_policy_name("shared")])), caller="bob")
        self.assertOK(r)
        self.assertInherited(r.payload.get(Tag.UNIQUE_IDENTIFIER), "alice")

    def test_key_pair_template_cannot_change_policy(self) -> None:
        """ReKeyKeyPair with another Operation Policy Name in the common template: Invalid Field."""
        r = create_key_pair(self.d, [a_alg(CA.RSA), a_len(1024), _policy_name("shared")],
                            [a_mask(CUM.SIGN)], [a_mask(CUM.VERIFY)])
        priv = r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER)
        body = payload(Item.text(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, priv),
                       template(V14, [_policy_name("public")], "common"))
        self.assertFails(call(self.d, Operation.RE_KEY_KEY_PAIR, body, caller="bob"), ResultReason.INVALID_FIELD)
