"""The specific rows of the KMIP 2.1 error tables of the attribute operations (spec 2.1 6.1.2 Add
Attribute, 6.1.3 Adjust Attribute, 6.1.13 Delete Attribute, 6.1.34 Modify Attribute, 6.1.51 Set
Attribute): one KMIP 2.1 request per row, named after it."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.spec import AdjustmentType as AT
from kmipd.spec import State, Tag
from kmipd.testing import payload
from kmipd.ttlv import Item, ItemType

from .error_tables import Env, O, R, Row, add_rows
from .valid_v21 import contact, uid

A, P, X = State.ACTIVE, State.PRE_ACTIVE, State.DESTROYED
NO_SUCH = uid("no-such-object")


def new(item: Item) -> Item:
    return Item.struct(Tag.NEW_ATTRIBUTE, [item])


def current(item: Item) -> Item:
    return Item.struct(Tag.CURRENT_ATTRIBUTE, [item])


def ref(tag: int) -> Item:
    return Item.enum(Tag.ATTRIBUTE_REFERENCE, tag)


def vendor_ref(name: str) -> Item:
    return Item.struct(Tag.ATTRIBUTE_REFERENCE, [Item.text(Tag.VENDOR_IDENTIFICATION, "x"),
                                                 Item.text(Tag.ATTRIBUTE_NAME, name)])


def name(text: str) -> Item:
    return Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, text), Item.enum(Tag.NAME_TYPE, 1)])


def group(text: str) -> Item:
    return Item.text(Tag.OBJECT_GROUP, text)


def custom(kind: int, value: object) -> Item:
    return Item(Tag.ATTRIBUTE_VALUE, kind, value)


def named(env: Env, text: str, **kw) -> str:  # noqa: ANN003
    """A key with the Name C{text}."""
    return env.key(extra={"Name": [name(text)]}, **kw)


def with_attrs(env: Env, state: int = A, **attrs: list[Item]) -> str:
    return env.key(state=state, extra={k.replace("_", " ").title() if not k.startswith("x") else k.replace("_", "-"):
                                       v for k, v in attrs.items()})


def adjust(u: str, reference: Item, kind: int = AT.INCREMENT, by: Item | None = None) -> Item:
    return payload(uid(u), reference, Item.enum(Tag.ADJUSTMENT_TYPE, kind), by)


def taken(env: Env) -> str:
    """A key, after another key took the Name "taken"."""
    named(env, "taken")
    return env.key()


def two_named(env: Env) -> str:
    """A key named "mine", after another key took the Name "taken"."""
    named(env, "taken")
    return named(env, "mine")


ROWS: list[Row] = [
    # Add Attribute (Table 169)
    Row(O.ADD_ATTRIBUTE, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier",
        lambda e: payload(NO_SUCH, new(contact())), v1=None),
    Row(O.ADD_ATTRIBUTE, R.ATTRIBUTE_SINGLE_VALUED, "a second Contact Information",
        lambda e: payload(uid(with_attrs(e, contact_information=[contact()])), new(contact("other")))),
    Row(O.ADD_ATTRIBUTE, R.INVALID_ATTRIBUTE, "an attribute that does not apply to a symmetric key",
        lambda e: payload(uid(e.key()), new(Item.enum(Tag.CERTIFICATE_TYPE, 1)))),
    Row(O.ADD_ATTRIBUTE, R.INVALID_ATTRIBUTE, "a New Attribute that is no attribute",
        lambda e: payload(uid(e.key()), new(Item.bytes(Tag.KEY_MATERIAL, b"x")))),
    Row(O.ADD_ATTRIBUTE, R.NON_UNIQUE_NAME_ATTRIBUTE, "a Name another object has",
        lambda e: payload(uid(taken(e)), new(name("taken")))),
    Row(O.ADD_ATTRIBUTE, R.READ_ONLY_ATTRIBUTE, "an Initial Date (set by the server)",
        lambda e: payload(uid(e.key()), new(Item.datetime(Tag.INITIAL_DATE, 1)))),
    Row(O.ADD_ATTRIBUTE, R.WRONG_KEY_LIFECYCLE_STATE, "an Activation Date on an Active key",
        lambda e: payload(uid(e.key()), new(Item.datetime(Tag.ACTIVATION_DATE, 1)))),
    # Adjust Attribute (Table 172)
    Row(O.ADJUST_ATTRIBUTE, R.ITEM_NOT_FOUND, "no object has the Unique Identifier",
        lambda e: adjust("no-such-object", ref(Tag.EXTRACTABLE), AT.NEGATE)),
    Row(O.ADJUST_ATTRIBUTE, R.INVALID_DATA_TYPE, "Increment of a text attribute",
        lambda e: adjust(with_attrs(e, x_t=[custom(ItemType.TEXT_STRING, "t")]), vendor_ref("t"))),
    Row(O.ADJUST_ATTRIBUTE, R.INVALID_DATA_TYPE, "Increment of a Boolean",
        lambda e: adjust(e.key(), ref(Tag.EXTRACTABLE))),
    Row(O.ADJUST_ATTRIBUTE, R.MULTI_VALUED_ATTRIBUTE, "an attribute with two instances",
        lambda e: adjust(with_attrs(e, x_m=[custom(ItemType.INTEGER, 1), custom(ItemType.INTEGER, 2)]),
                         vendor_ref("m"))),
    Row(O.ADJUST_ATTRIBUTE, R.NUMERIC_RANGE, "an Integer incremented past 2^31-1",
        lambda e: adjust(with_attrs(e, x_n=[custom(ItemType.INTEGER, 2**31 - 1)]), vendor_ref("n"))),
    Row(O.ADJUST_ATTRIBUTE, R.OBJECT_ARCHIVED, "the object is archived",
        lambda e: adjust(e.archived(e.key()), ref(Tag.EXTRACTABLE), AT.NEGATE)),
    Row(O.ADJUST_ATTRIBUTE, R.READ_ONLY_ATTRIBUTE, "Cryptographic Length (not client-modifiable)",
        lambda e: adjust(e.key(), ref(Tag.CRYPTOGRAPHIC_LENGTH))),
    Row(O.ADJUST_ATTRIBUTE, R.WRONG_KEY_LIFECYCLE_STATE, "a Process Start Date already reached",
        lambda e: adjust(e.key(extra={"Process Start Date": [Item.datetime(Tag.PROCESS_START_DATE, 1)]}),
                         ref(Tag.PROCESS_START_DATE), AT.INCREMENT, Item.interval(Tag.ADJUSTMENT_VALUE, 60))),
    # Delete Attribute (Table 204)
    Row(O.DELETE_ATTRIBUTE, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier",
        lambda e: payload(NO_SUCH, ref(Tag.CONTACT_INFORMATION))),
    Row(O.DELETE_ATTRIBUTE, R.ATTRIBUTE_NOT_FOUND, "the object has no Contact Information",
        lambda e: payload(uid(e.key()), ref(Tag.CONTACT_INFORMATION))),
    Row(O.DELETE_ATTRIBUTE, R.ATTRIBUTE_INSTANCE_NOT_FOUND, "no Object Group with that value",
        lambda e: payload(uid(with_attrs(e, object_group=[group("a")])), current(group("b")))),
    Row(O.DELETE_ATTRIBUTE, R.ATTRIBUTE_READ_ONLY, "the State", lambda e: payload(uid(e.key()), ref(Tag.STATE))),
    Row(O.DELETE_ATTRIBUTE, R.INVALID_ATTRIBUTE, "an Attribute Reference that is no attribute",
        lambda e: payload(uid(e.key()), ref(Tag.KEY_MATERIAL))),
    # Modify Attribute (Table 267)
    Row(O.MODIFY_ATTRIBUTE, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier",
        lambda e: payload(NO_SUCH, new(contact()))),
    Row(O.MODIFY_ATTRIBUTE, R.ATTRIBUTE_NOT_FOUND, "the object has no Contact Information",
        lambda e: payload(uid(e.key()), new(contact()))),
    Row(O.MODIFY_ATTRIBUTE, R.ATTRIBUTE_INSTANCE_NOT_FOUND, "no Object Group with the Current Attribute's value",
        lambda e: payload(uid(with_attrs(e, object_group=[group("a")])), current(group("b")), new(group("c")))),
    Row(O.MODIFY_ATTRIBUTE, R.ATTRIBUTE_READ_ONLY, "the Cryptographic Length",
        lambda e: payload(uid(e.key()), new(Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256)))),
    Row(O.MODIFY_ATTRIBUTE, R.NON_UNIQUE_NAME_ATTRIBUTE, "a Name another object has",
        lambda e: payload(uid(two_named(e)), new(name("taken")))),
    Row(O.MODIFY_ATTRIBUTE, R.WRONG_KEY_LIFECYCLE_STATE, "the Activation Date of an Active key",
        lambda e: payload(uid(e.key(extra={"Activation Date": [Item.datetime(Tag.ACTIVATION_DATE, 1)]})),
                          new(Item.datetime(Tag.ACTIVATION_DATE, 2)))),
    # Set Attribute (Table 324)
    Row(O.SET_ATTRIBUTE, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier",
        lambda e: payload(NO_SUCH, new(contact()))),
    Row(O.SET_ATTRIBUTE, R.MULTI_VALUED_ATTRIBUTE, "an attribute the object has twice",
        lambda e: payload(uid(with_attrs(e, object_group=[group("a"), group("b")])), new(group("c")))),
    Row(O.SET_ATTRIBUTE, R.NON_UNIQUE_NAME_ATTRIBUTE, "a Name another object has",
        lambda e: payload(uid(two_named(e)), new(name("taken")))),
    Row(O.SET_ATTRIBUTE, R.READ_ONLY_ATTRIBUTE, "the Unique Identifier",
        lambda e: payload(uid(e.key()), new(Item.text(Tag.UNIQUE_IDENTIFIER, "x")))),
    Row(O.SET_ATTRIBUTE, R.WRONG_KEY_LIFECYCLE_STATE, "the Activation Date of an Active key",
        lambda e: payload(uid(e.key()), new(Item.datetime(Tag.ACTIVATION_DATE, 1)))),
    Row(O.SET_ATTRIBUTE, R.INVALID_ATTRIBUTE_VALUE, "an Operation Policy Name no policy has",
        lambda e: payload(uid(e.key()), new(Item.text(Tag.OPERATION_POLICY_NAME, "no-such-policy")))),
    Row(O.SET_ATTRIBUTE, R.INVALID_ATTRIBUTE_VALUE, "a negative Usage Limits Total",
        lambda e: payload(uid(e.key()), new(Item.struct(Tag.USAGE_LIMITS, [
            Item.long(Tag.USAGE_LIMITS_TOTAL, -1), Item.enum(Tag.USAGE_LIMITS_UNIT, 2)])))),
]


class AttributeRowsTests(SynchronousTestCase):
    add_rows(locals(), ROWS)
