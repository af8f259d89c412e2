"""Set Defaults (and Query Defaults Information), Set Constraints and Get Constraints."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as CUM
from kmipd.spec import ObjectType, Operation, QueryFunction, ResultReason, Tag
from kmipd.testing import call, make_dispatcher, payload
from kmipd.ttlv import Item

from .test_create import Assertions, a_mask, aes_attrs, attrs_of, create, get_attributes

V14, V21 = (1, 4), (2, 1)


def object_defaults(object_type: int, *attrs: Item) -> Item:
    return Item.struct(Tag.OBJECT_DEFAULTS, [Item.enum(Tag.OBJECT_TYPE, object_type),
                                             Item.struct(Tag.ATTRIBUTES, list(attrs))])


def set_defaults(d, *entries: Item):
    body = payload(Item.struct(Tag.DEFAULTS_INFORMATION, list(entries))) if entries else payload()
    return call(d, Operation.SET_DEFAULTS, body, version=V21)


def query_defaults(d) -> dict[int, list[Item]]:
    r = call(d, Operation.QUERY, payload(Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_DEFAULTS_INFORMATION)),
             version=V21)
    info = r.payload.find(Tag.DEFAULTS_INFORMATION)
    return {e.get(Tag.OBJECT_TYPE): e.find(Tag.ATTRIBUTES).value for e in info.findall(Tag.OBJECT_DEFAULTS)}


def constraint(*parts: Item) -> Item:
    return Item.struct(Tag.CONSTRAINT, list(parts))


def set_constraints(d, *constraints: Item):
    return call(d, Operation.SET_CONSTRAINTS, payload(Item.struct(Tag.CONSTRAINTS, list(constraints))), version=V21)


AES256 = (Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256))


class SetDefaultsTests(SynchronousTestCase, Assertions):
    """Object Defaults fill what a Create omits and show in Query Defaults Information."""

    def test_defaults_fill_create(self) -> None:
        """With AES-256 defaults for symmetric keys, a Create naming only the usage mask makes AES-256."""
        d = make_dispatcher()
        self.assertFails(create(d, [a_mask(CUM.ENCRYPT)], version=V21), ResultReason.INVALID_FIELD)
        self.assertOK(set_defaults(d, object_defaults(ObjectType.SYMMETRIC_KEY, *AES256)))
        r = create(d, [a_mask(CUM.ENCRYPT)], version=V21)
        self.assertOK(r)
        attrs = attrs_of(get_attributes(d, r.payload.get(Tag.UNIQUE_IDENTIFIER), version=V21), V21)
        self.assertEqual(attrs["Cryptographic Algorithm"][0].value, CA.AES)
        self.assertEqual(attrs["Cryptographic Length"][0].value, 256)

    def test_client_values_win(self) -> None:
        """A value the client gives is kept over the default (1.4 clients too)."""
        d = make_dispatcher()
        set_defaults(d, object_defaults(ObjectType.SYMMETRIC_KEY, *AES256))
        r = create(d, aes_attrs(128), version=V14)
        attrs = attrs_of(get_attributes(d, r.payload.get(Tag.UNIQUE_IDENTIFIER), version=V14), V14)
        self.assertEqual(attrs["Cryptographic Length"][0].value, 128)

    def test_query_reflects_defaults(self) -> None:
        """Defaults Information shows kmipd's defaults plus those set; no Defaults Information clears them."""
        d = make_dispatcher()
        before = query_defaults(d)
        self.assertOK(set_defaults(d, object_defaults(ObjectType.SYMMETRIC_KEY, *AES256,
                                                      Item.bool(Tag.SENSITIVE, True))))
        after = query_defaults(d)
        tags = {a.tag: a.value for a in after[ObjectType.SYMMETRIC_KEY]}
        self.assertEqual((tags[Tag.CRYPTOGRAPHIC_ALGORITHM], tags[Tag.CRYPTOGRAPHIC_LENGTH], tags[Tag.SENSITIVE]),
                         (CA.AES, 256, True))
        self.assertEqual(len([a for a in after[ObjectType.SYMMETRIC_KEY] if a.tag == Tag.SENSITIVE]), 1)
        self.assertEqual(after[ObjectType.SECRET_DATA], before[ObjectType.SECRET_DATA])
        self.assertOK(set_defaults(d))
        self.assertEqual(query_defaults(d), before)

    def test_errors(self) -> None:
        """Unknown Object Type: Invalid Object Type; a server-set attribute or a repeated type: Invalid Field."""
        d = make_dispatcher()
        self.assertFails(set_defaults(d, object_defaults(0x999)), ResultReason.INVALID_OBJECT_TYPE)
        self.assertFails(set_defaults(d, object_defaults(ObjectType.SYMMETRIC_KEY,
                                                         Item.text(Tag.UNIQUE_IDENTIFIER, "x"))),
                         ResultReason.INVALID_FIELD)
        self.assertFails(set_defaults(d, object_defaults(ObjectType.SYMMETRIC_KEY, Item.text(Tag.SENSITIVE, "y"))),
                         ResultReason.INVALID_FIELD)
        self.assertFails(set_defaults(d, object_defaults(ObjectType.SYMMETRIC_KEY),
                                      object_defaults(ObjectType.SYMMETRIC_KEY)), ResultReason.INVALID_FIELD)
        self.assertFails(call(d, Operation.SET_DEFAULTS, payload(), version=V14),
                         ResultReason.OPERATION_NOT_SUPPORTED)


class ConstraintTests(SynchronousTestCase, Assertions):
    """Constraints bound what Create / Register may make."""

    def test_constraint_enforced(self) -> None:
        """Symmetric keys must be 256 bits: AES-128 is a Constraint Violation, AES-256 is fine."""
        d = make_dispatcher()
        self.assertOK(set_constraints(d, constraint(
            Item.struct(Tag.OBJECT_TYPES, [Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY)]),
            Item.struct(Tag.ATTRIBUTES, [Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256)]))))
        self.assertFails(create(d, aes_attrs(128), version=V21), ResultReason.CONSTRAINT_VIOLATION)
        self.assertFails(create(d, aes_attrs(128), version=V14), ResultReason.PERMISSION_DENIED)
        self.assertOK(create(d, aes_attrs(256), version=V21))

    def test_object_group_scope(self) -> None:
        """A Constraint naming Object Groups binds only objects of those groups."""
        d = make_dispatcher()
        set_constraints(d, constraint(Item.struct(Tag.OBJECT_GROUPS, [Item.text(Tag.OBJECT_GROUP, "hsm")]),
                                      Item.struct(Tag.ATTRIBUTES, [Item.bool(Tag.SENSITIVE, True)])))
        self.assertOK(create(d, aes_attrs(), version=V21))
        grouped = aes_attrs() + [("Object Group", Item.text(Tag.OBJECT_GROUP, "hsm"))]
        self.assertFails(create(d, grouped, version=V21), ResultReason.CONSTRAINT_VIOLATION)
        self.assertOK(create(d, grouped + [("Sensitive", Item.bool(Tag.SENSITIVE, True))], version=V21))

    def test_get_constraints(self) -> None:
        """Get Constraints returns what was set (empty at first)."""
        d = make_dispatcher()
        empty = call(d, Operation.GET_CONSTRAINTS, payload(), version=V21)
        self.assertOK(empty)
        self.assertEqual(empty.payload.find(Tag.CONSTRAINTS).value, [])
        c = constraint(Item.struct(Tag.ATTRIBUTES, [Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256)]))
        set_constraints(d, c)
        got = call(d, Operation.GET_CONSTRAINTS, payload(), version=V21).payload.find(Tag.CONSTRAINTS)
        self.assertEqual(got.value, [c])

    def test_errors(self) -> None:
        """No Constraints or a stray item: Invalid Field; an unknown Object Type: Invalid Object Type."""
        d = make_dispatcher()
        self.assertFails(call(d, Operation.SET_CONSTRAINTS, payload(), version=V21), ResultReason.INVALID_FIELD)
        self.assertFails(set_constraints(d, Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 1)), ResultReason.INVALID_FIELD)
        self.assertFails(set_constraints(d, constraint(Item.struct(Tag.OBJECT_TYPES, [
            Item.enum(Tag.OBJECT_TYPE, 0x777)]))), ResultReason.INVALID_OBJECT_TYPE)
        self.assertFails(set_constraints(d, constraint(Item.struct(Tag.OBJECT_GROUPS, [
            Item.int(Tag.OBJECT_GROUP, 1)]))), ResultReason.INVALID_FIELD)
        self.assertFails(set_constraints(d, constraint(Item.struct(Tag.ATTRIBUTES, [
            Item.text(Tag.STATE, "x")]))), ResultReason.INVALID_FIELD)
