"""Export and Import (KMIP 1.4 and 2.1): an object with all its attributes."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.model.attributes import to_1x
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as CUM
from kmipd.spec import KeyFormatType, ObjectType, Operation, ResultReason, Tag
from kmipd.testing import call, make_dispatcher, payload
from kmipd.ttlv import Item

from .test_create import (
    Assertions,
    a_alg,
    a_len,
    a_mask,
    a_name,
    aes_attrs,
    attrs_of,
    create,
    get_attributes,
    get_key,
    key_bytes_of,
)

V14, V21 = (1, 4), (2, 1)
KEK_ATTRS = [a_alg(CA.AES), a_len(256), a_mask(CUM.WRAP_KEY | CUM.UNWRAP_KEY)]


def export(d, uid: str, *extra: Item, version=V21, caller="alice"):
    return call(d, Operation.EXPORT, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid), *extra), version=version,
                caller=caller)


def import_body(uid: str, exported: Item, *extra: Item) -> Item:
    """An Import payload made of an Export response (its attributes and object) under C{uid}."""
    rest = [c for c in exported.value if c.tag not in (Tag.UNIQUE_IDENTIFIER, Tag.OBJECT_TYPE)]
    return payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid), exported.find(Tag.OBJECT_TYPE), *extra, *rest)


def _flat(exported: Item) -> list[Item]:
    """An Export payload's items, its 2.x Attributes opened (their order is not significant)."""
    out = [c for c in exported.value if c.tag != Tag.ATTRIBUTES]
    container = exported.find(Tag.ATTRIBUTES)
    return out + (list(container.value) if container is not None else [])


class ExportTests(SynchronousTestCase, Assertions):
    """Export = Get + every attribute."""

    def test_export_2x(self) -> None:
        """2.1: Object Type, Unique Identifier, Attributes (all of them), then the object as Get serves it."""
        d = make_dispatcher()
        uid = create(d, aes_attrs(name="k1"), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        r = export(d, uid)
        self.assertOK(r)
        tags = [c.tag for c in r.payload.value]
        self.assertEqual(tags, [Tag.OBJECT_TYPE, Tag.UNIQUE_IDENTIFIER, Tag.ATTRIBUTES, Tag.SYMMETRIC_KEY])
        exported = {c.tag for c in r.payload.find(Tag.ATTRIBUTES).value}
        listed = attrs_of(get_attributes(d, uid, version=V21), V21)
        self.assertIn(Tag.NAME, exported)
        self.assertIn(Tag.CRYPTOGRAPHIC_LENGTH, exported)
        self.assertGreaterEqual(len(exported), len(listed) - 1)
        self.assertEqual(r.payload.value[3].find(Tag.KEY_BLOCK).find(Tag.KEY_VALUE).get(Tag.KEY_MATERIAL),
                         key_bytes_of(get_key(d, uid, version=V21)))

    def test_export_1x(self) -> None:
        """1.4: the attributes come as Attribute structures."""
        d = make_dispatcher()
        uid = create(d, aes_attrs(), version=V14).payload.get(Tag.UNIQUE_IDENTIFIER)
        r = export(d, uid, version=V14)
        self.assertOK(r)
        names = {a.get(Tag.ATTRIBUTE_NAME) for a in r.payload.findall(Tag.ATTRIBUTE)}
        self.assertTrue({"Cryptographic Algorithm", "Unique Identifier", "State"} <= names)
        self.assertIsNotNone(r.payload.find(Tag.SYMMETRIC_KEY))

    def test_destroyed_has_no_material(self) -> None:
        """A destroyed object is exported with its attributes and without key material."""
        d = make_dispatcher()
        uid = create(d, aes_attrs(), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertOK(call(d, Operation.DESTROY, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)), version=V21,
                           caller="alice"))
        r = export(d, uid)
        self.assertOK(r)
        self.assertIsNone(r.payload.find(Tag.SYMMETRIC_KEY))
        self.assertIsNotNone(r.payload.find(Tag.ATTRIBUTES))

    def test_errors(self) -> None:
        """Unknown object: Object Not Found; another's: Permission Denied; unsupported format: its reason."""
        d = make_dispatcher()
        self.assertFails(export(d, "nope"), ResultReason.OBJECT_NOT_FOUND)
        uid = create(d, aes_attrs(), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertFails(export(d, uid, caller="bob"), ResultReason.PERMISSION_DENIED)
        self.assertFails(export(d, uid, Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.PKCS_1)),
                         ResultReason.KEY_FORMAT_TYPE_NOT_SUPPORTED)
        self.assertFails(call(d, Operation.EXPORT, payload(), version=V21), ResultReason.INVALID_FIELD)


    def test_wrapping_as_get(self) -> None:
        """Key Wrapping Specification as for Get: an unknown wrapping key is Wrapping Object Not Found."""
        from .test_wrap import wrapping_spec

        d = make_dispatcher()
        uid = create(d, aes_attrs(), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertFails(export(d, uid, wrapping_spec("nope")), ResultReason.WRAPPING_OBJECT_NOT_FOUND)
        kek = create(d, KEK_ATTRS,
                     version=V21)
        self.assertOK(call(d, Operation.ACTIVATE, payload(Item.text(Tag.UNIQUE_IDENTIFIER,
                                                                    kek.payload.get(Tag.UNIQUE_IDENTIFIER))),
                           version=V21, caller="alice"))
        wrapped = export(d, uid, wrapping_spec(kek.payload.get(Tag.UNIQUE_IDENTIFIER)))
        self.assertOK(wrapped)
        self.assertIsNotNone(wrapped.payload.find(Tag.SYMMETRIC_KEY).find(Tag.KEY_BLOCK).find(Tag.KEY_WRAPPING_DATA))


class ImportTests(SynchronousTestCase, Assertions):
    """Import stores an object with exactly the attributes supplied."""

    def test_round_trip(self) -> None:
        """Export from one server, Import into another: same id, material and client/server attributes."""
        source, target = make_dispatcher(), make_dispatcher()
        uid = create(source, aes_attrs(name="moved"), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        exported = export(source, uid).payload
        r = call(target, Operation.IMPORT, import_body(uid, exported), version=V21, caller="alice")
        self.assertOK(r)
        self.assertEqual(r.payload.get(Tag.UNIQUE_IDENTIFIER), uid)
        self.assertEqual(key_bytes_of(get_key(target, uid, version=V21)), key_bytes_of(get_key(source, uid,
                                                                                               version=V21)))
        before = attrs_of(get_attributes(source, uid, ["Initial Date", "Name", "State"], version=V21), V21)
        after = attrs_of(get_attributes(target, uid, ["Initial Date", "Name", "State"], version=V21), V21)
        self.assertEqual(after, before)

    def test_round_trip_checked_attributes(self) -> None:
        """Import checks attribute values (2.1 Table 240) yet takes back what Export gives: key pair
        halves (Links), split key parts (Split Key attributes), secret data, a key with Usage Limits
        partly used, at 2.1 and 1.4."""
        from .error_tables import Env
        from .test_error_tables_v21_objects import limits
        from .valid_v21 import ec_keys, split_parts

        for version in (V21, V14):
            source, target = Env(self), Env(self)
            private, public = ec_keys(source)
            uids = [private, public, *split_parts(source), source.secret(), source.key(extra=limits(3))]
            for uid in uids:
                ex = source.run(Operation.EXPORT, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)), version=version)
                self.assertTrue(ex.ok, ex.message)
                body = import_body(uid, ex.payload)
                if version < (2, 0):  # 1.4 Import has no Object Type: the object's tag gives it
                    body.value = [c for c in body.value if c.tag != Tag.OBJECT_TYPE]
                r = target.run(Operation.IMPORT, body, version=version)
                self.assertTrue(r.ok, (version, uid, r.message))
                again = target.run(Operation.EXPORT, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)),
                                   version=version)
                self.assertTrue(again.ok, again.message)
                # everything exported comes back (kmipd may add attributes the source lacked)
                lost = set(map(repr, _flat(ex.payload))) - set(map(repr, _flat(again.payload)))
                self.assertEqual(lost, set(), (version, uid))

    def test_import_1x(self) -> None:
        """1.4 Import: Attribute structures, no Object Type (the object's own tag gives it, 4.41)."""
        d = make_dispatcher()
        body = Item.struct(Tag.SECRET_DATA, [Item.enum(Tag.SECRET_DATA_TYPE, 1), Item.struct(Tag.KEY_BLOCK, [
            Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.OPAQUE), Item.struct(Tag.KEY_VALUE, [
                Item.bytes(Tag.KEY_MATERIAL, b"s3cret")])])])
        r = call(d, Operation.IMPORT, payload(Item.text(Tag.UNIQUE_IDENTIFIER, "imp-1"),
                                              to_1x(*a_name("secret-1")), body), version=V14, caller="alice")
        self.assertOK(r)
        names = attrs_of(get_attributes(d, "imp-1", ["Name"], version=V14), V14)["Name"]
        self.assertEqual(names[0].get(Tag.NAME_VALUE), "secret-1")

    def test_mistyped_key_block(self) -> None:
        """A Key Block whose Cryptographic Algorithm is a Text String (and no algorithm attribute
        to compare it with): Invalid Field at 1.4 and 2.1 (was General Failure)."""
        d = make_dispatcher()
        shapes = ((V14, to_1x(*a_name("k-1.4"))), (V21, Item.struct(Tag.ATTRIBUTES, [a_name("k-2.1")[1]])))
        for version, attrs in shapes:
            key = Item.struct(Tag.SYMMETRIC_KEY, [Item.struct(Tag.KEY_BLOCK, [
                Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.RAW),
                Item.struct(Tag.KEY_VALUE, [Item.bytes(Tag.KEY_MATERIAL, b"k" * 16)]),
                Item.text(Tag.CRYPTOGRAPHIC_ALGORITHM, "AES"), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128)])])
            object_type = [Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY)] if version >= (2, 0) else []
            r = call(d, Operation.IMPORT, payload(Item.text(Tag.UNIQUE_IDENTIFIER, f"imp-{version}"), *object_type,
                                                  attrs, key), version=version, caller="alice")
            self.assertFails(r, ResultReason.INVALID_FIELD)
            self.assertIn("Cryptographic Algorithm", r.message)

    def test_replace_existing(self) -> None:
        """An existing id: Object Already Exists, unless Replace Existing (by its owner only)."""
        d = make_dispatcher()
        uid = create(d, aes_attrs(), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        exported = export(d, uid).payload
        self.assertFails(call(d, Operation.IMPORT, import_body(uid, exported), version=V21, caller="alice"),
                         ResultReason.OBJECT_ALREADY_EXISTS)
        replace = Item.bool(Tag.REPLACE_EXISTING, True)
        self.assertFails(call(d, Operation.IMPORT, import_body(uid, exported, replace), version=V21, caller="bob"),
                         ResultReason.PERMISSION_DENIED)
        self.assertOK(call(d, Operation.IMPORT, import_body(uid, exported, replace), version=V21, caller="alice"))

    def test_attribute_errors(self) -> None:
        """A single-valued attribute twice: Attribute Single Valued; a taken Name: Non Unique Name."""
        d = make_dispatcher()
        uid = create(d, aes_attrs(name="taken"), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        exported = export(d, uid).payload
        twice = exported.copy()
        attrs = twice.find(Tag.ATTRIBUTES)
        attrs.value.append(Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128))
        self.assertFails(call(d, Operation.IMPORT, import_body("new-1", twice), version=V21, caller="alice"),
                         ResultReason.ATTRIBUTE_SINGLE_VALUED)
        self.assertFails(call(d, Operation.IMPORT, import_body("new-2", exported), version=V21, caller="alice"),
                         ResultReason.NON_UNIQUE_NAME_ATTRIBUTE)

    def test_wrapped_key_kept_or_refused(self) -> None:
        """A wrapped key is stored as provided; Key Wrap Type Not Wrapped asks kmipd to unwrap it,
        which it cannot: Feature Not Supported."""
        d = make_dispatcher()
        kek = create(d, KEK_ATTRS,
                     version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        call(d, Operation.ACTIVATE, payload(Item.text(Tag.UNIQUE_IDENTIFIER, kek)), version=V21, caller="alice")
        uid = create(d, aes_attrs(), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        from .test_wrap import wrapping_spec

        exported = export(d, uid, wrapping_spec(kek)).payload
        unwrap = Item.enum(Tag.KEY_WRAP_TYPE, 1)  # Not Wrapped
        self.assertFails(call(d, Operation.IMPORT, import_body("w-1", exported, unwrap), version=V21,
                              caller="alice"), ResultReason.FEATURE_NOT_SUPPORTED)
        stored = Item.enum(Tag.KEY_WRAP_TYPE, 2)  # As Registered
        renamed = exported.copy()
        attrs = renamed.find(Tag.ATTRIBUTES)
        attrs.value = [a for a in attrs.value if a.tag != Tag.NAME]
        self.assertOK(call(d, Operation.IMPORT, import_body("w-2", renamed, stored), version=V21, caller="alice"))

    def test_protection_storage(self) -> None:
        """A Protection Storage Mask without software storage: Protection Storage Unavailable."""
        d = make_dispatcher()
        uid = create(d, aes_attrs(), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        exported = export(d, uid).payload.copy()
        attrs = exported.find(Tag.ATTRIBUTES)
        attrs.value = [a for a in attrs.value if a.tag != Tag.PROTECTION_STORAGE_MASK]
        attrs.value.append(Item.int(Tag.PROTECTION_STORAGE_MASK, 0x02))  # Hardware
        self.assertFails(call(d, Operation.IMPORT, import_body("p-1", exported), version=V21, caller="alice"),
                         ResultReason.PROTECTION_STORAGE_UNAVAILABLE)

    def test_shape_errors(self) -> None:
        """No id, a wrong Object Type, no object, no Attributes: Invalid Field / Missing Data."""
        d = make_dispatcher()
        uid = create(d, aes_attrs(), version=V21).payload.get(Tag.UNIQUE_IDENTIFIER)
        exported = export(d, uid).payload
        key = exported.find(Tag.SYMMETRIC_KEY)
        attrs = exported.find(Tag.ATTRIBUTES)
        cases = [
            (payload(exported.find(Tag.OBJECT_TYPE), attrs, key), ResultReason.INVALID_FIELD),
            (payload(Item.text(Tag.UNIQUE_IDENTIFIER, "a"), Item.enum(Tag.OBJECT_TYPE, ObjectType.SECRET_DATA),
                     attrs, key), ResultReason.INVALID_FIELD),
            (payload(Item.text(Tag.UNIQUE_IDENTIFIER, "b"), exported.find(Tag.OBJECT_TYPE), attrs),
             ResultReason.INVALID_FIELD),  # 2.x tables list no Missing Data
            (payload(Item.text(Tag.UNIQUE_IDENTIFIER, "c"), exported.find(Tag.OBJECT_TYPE), key),
             ResultReason.INVALID_FIELD),
        ]
        for body, reason in cases:
            self.assertFails(call(d, Operation.IMPORT, body, version=V21, caller="alice"), reason)
