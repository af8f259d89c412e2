"""Tests for kmipd.operations.attribute_ops: Add/Set/Modify/Delete/Adjust Attribute."""

from __future__ import annotations

from typing import Any

from kmipd.spec import Operation, ResultReason, State, Tag
from kmipd.testing import payload
from kmipd.ttlv import Item, ItemType

from .test_lifecycle import NOW, V14, V20, _Base, fetch, name_item, new_object, sqlite_store, uid_payload

V12 = (1, 2)


def attr_1x(name: str, value: Item, index: int | None = None) -> Item:
    """A 1.x Attribute structure."""
    return Item.struct(
        Tag.ATTRIBUTE,
        [
            Item.text(Tag.ATTRIBUTE_NAME, name),
            Item.int(Tag.ATTRIBUTE_INDEX, index) if index is not None else None,
            Item(Tag.ATTRIBUTE_VALUE, value.type, value.value),
        ],
    )


def new_attr(item: Item) -> Item:
    """A 2.x New Attribute around C{item}."""
    return Item.struct(Tag.NEW_ATTRIBUTE, [item])


def current_attr(item: Item) -> Item:
    """A 2.x Current Attribute around C{item}."""
    return Item.struct(Tag.CURRENT_ATTRIBUTE, [item])


def vendor_attr(vendor: str, name: str, value: Item) -> Item:
    """A 2.x vendor attribute."""
    return Item.struct(
        Tag.ATTRIBUTE,
        [
            Item.text(Tag.VENDOR_IDENTIFICATION, vendor),
            Item.text(Tag.ATTRIBUTE_NAME, name),
            Item(Tag.ATTRIBUTE_VALUE, value.type, value.value),
        ],
    )


def custom(value_type: int, value: object) -> Item:
    return Item(Tag.ATTRIBUTE_VALUE, value_type, value)


def asi(namespace: str, data: str) -> Item:
    return Item.struct(
        Tag.APPLICATION_SPECIFIC_INFORMATION,
        [Item.text(Tag.APPLICATION_NAMESPACE, namespace), Item.text(Tag.APPLICATION_DATA, data)],
    )


def contact(text: str) -> Item:
    return Item.text(Tag.CONTACT_INFORMATION, text)


def ref(tag: int) -> Item:
    return Item.enum(Tag.ATTRIBUTE_REFERENCE, tag)


class AddAttributeTests(_Base):
    def test_1x_custom_and_indexes(self) -> None:
        """1.x Add returns the Attribute; the index is omitted for 0 and given for later instances."""
        uid = new_object(self.store)
        self.clock.advance(5)
        first = self.call(
            Operation.ADD_ATTRIBUTE, uid_payload(uid, attr_1x("x-tape", custom(ItemType.TEXT_STRING, "a")))
        )
        self.assertTrue(first.ok, first.message)
        self.assertEqual(first.payload.value[1], attr_1x("x-tape", custom(ItemType.TEXT_STRING, "a")))
        second = self.call(
            Operation.ADD_ATTRIBUTE, uid_payload(uid, attr_1x("x-tape", custom(ItemType.TEXT_STRING, "b")))
        )
        self.assertEqual(second.payload.value[1], attr_1x("x-tape", custom(ItemType.TEXT_STRING, "b"), 1))
        obj = fetch(self.store, uid)
        self.assertEqual([v.value for v in obj.attributes["x-tape"]], ["a", "b"])
        self.assertEqual(obj.value("Last Change Date"), NOW + 5)

    def test_custom_any_item_type(self) -> None:
        """Custom attributes of every item type are stored as given."""
        uid = new_object(self.store)
        values = [
            custom(ItemType.INTEGER, 7),
            custom(ItemType.LONG_INTEGER, 2**40),
            custom(ItemType.BIG_INTEGER, 2**80),
            custom(ItemType.ENUMERATION, 3),
            custom(ItemType.BOOLEAN, True),
            custom(ItemType.TEXT_STRING, "t"),
            custom(ItemType.BYTE_STRING, b"\x00\x01"),
            custom(ItemType.DATE_TIME, NOW),
            custom(ItemType.INTERVAL, 9),
            Item.struct(Tag.ATTRIBUTE_VALUE, [Item.text(Tag.NAME_VALUE, "nested")]),
        ]
        for i, value in enumerate(values):
            result = self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, attr_1x(f"x-c{i}", value)))
            self.assertTrue(result.ok, (value, result.message))
        obj = fetch(self.store, uid)
        self.assertEqual([obj.first(f"x-c{i}") for i in range(len(values))], values)

    def test_2x_shape(self) -> None:
        """2.x Add takes a New Attribute and answers only the Unique Identifier."""
        uid = new_object(self.store)
        result = self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(asi("ns", "d"))), V20)
        self.assertTrue(result.ok, result.message)
        self.assertEqual([c.tag for c in result.payload.value], [Tag.UNIQUE_IDENTIFIER])
        self.assertEqual(fetch(self.store, uid).first("Application Specific Information"), asi("ns", "d"))

    def test_2x_vendor_attribute(self) -> None:
        """A 2.x vendor attribute is stored under 'vendor-name'."""
        uid = new_object(self.store)
        item = vendor_attr("netapp", "pool", custom(ItemType.TEXT_STRING, "p1"))
        self.assertTrue(self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(item)), V20).ok)
        self.assertEqual(fetch(self.store, uid).value("netapp-pool"), "p1")

    def test_single_valued_twice(self) -> None:
        """A second instance of a single-valued attribute: Illegal Operation / Attribute Single Valued."""
        uid = new_object(self.store)
        self.assertTrue(self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(contact("a"))), V20).ok)
        self.assertFailed(
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, attr_1x("Contact Information", contact("b")))),
            ResultReason.ILLEGAL_OPERATION,
        )
        self.assertFailed(
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(contact("b"))), V20),
            ResultReason.ATTRIBUTE_SINGLE_VALUED,
        )

    def test_index_given(self) -> None:
        """An Attribute Index in an Add request is Invalid Field."""
        uid = new_object(self.store)
        self.assertFailed(
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, attr_1x("x-a", custom(ItemType.INTEGER, 1), 0))),
            ResultReason.INVALID_FIELD,
        )

    def test_read_only(self) -> None:
        """Server-managed, creation-only and y- attributes are read-only (1.x: Permission Denied; 2.x Add: Read Only
        Attribute, per the 2.x Add Attribute error table)."""
        uid = new_object(self.store)
        cases = [
            ("State", Item.enum(Tag.STATE, 2)),
            ("Cryptographic Algorithm", Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, 3)),
            ("Lease Time", Item.interval(Tag.LEASE_TIME, 5)),
            ("y-server", custom(ItemType.INTEGER, 1)),
        ]
        for name, value in cases:
            self.assertFailed(
                self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, attr_1x(name, value))),
                ResultReason.PERMISSION_DENIED,
            )
        self.assertFailed(
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(Item.enum(Tag.STATE, 2))), V20),
            ResultReason.READ_ONLY_ATTRIBUTE,
        )
        server_only = vendor_attr("y", "server", custom(ItemType.INTEGER, 1))
        self.assertFailed(
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(server_only)), V20),
            ResultReason.READ_ONLY_ATTRIBUTE
        )

    def test_not_in_version_or_type(self) -> None:
        """An attribute unknown to the version, or not for this object type, is refused."""
        uid = new_object(self.store)
        self.assertFailed(
            self.call(
                Operation.ADD_ATTRIBUTE, uid_payload(uid, attr_1x("Description", Item.text(Tag.DESCRIPTION, "d"))), V12
            ),
            ResultReason.INVALID_FIELD,
        )
        subject = Item.struct(Tag.X_509_CERTIFICATE_SUBJECT, [Item.bytes(Tag.SUBJECT_DISTINGUISHED_NAME, b"x")])
        self.assertFailed(
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(subject)), V20), ResultReason.INVALID_ATTRIBUTE
        )

    def test_unknown_and_bad_custom_name(self) -> None:
        """Unknown attribute names and 1.x custom names without x- are Invalid Field."""
        uid = new_object(self.store)
        for name in ("Bogus", "vendor-thing"):
            self.assertFailed(
                self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, attr_1x(name, custom(ItemType.INTEGER, 1)))),
                ResultReason.INVALID_FIELD,
            )

    def test_non_unique_name(self) -> None:
        """A Name another object has: Illegal Operation / Non Unique Name Attribute."""
        new_object(self.store, name="taken")
        uid = new_object(self.store)
        self.assertFailed(
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, attr_1x("Name", name_item("taken")))),
            ResultReason.ILLEGAL_OPERATION,
        )
        self.assertFailed(
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(name_item("taken"))), V20),
            ResultReason.NON_UNIQUE_NAME_ATTRIBUTE,
        )
        self.assertTrue(self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(name_item("free"))), V20).ok)

    def test_malformed_structures(self) -> None:
        """A Name without Name Type or a Link without identifier: an invalid attribute value (2.1 Table 169
        lists Invalid Attribute for it, not Invalid Attribute Value)."""
        uid = new_object(self.store)
        bad_name = Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, "n")])
        bad_link = Item.struct(Tag.LINK, [Item.enum(Tag.LINK_TYPE, 0x103)])
        for item in (bad_name, bad_link):
            self.assertFailed(
                self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(item)), V20),
                ResultReason.INVALID_ATTRIBUTE,
            )

    def test_usage_limits_count_set_by_server(self) -> None:
        """Adding Usage Limits sets the Count to the Total whatever the client sent."""
        uid = new_object(self.store)
        limits = Item.struct(
            Tag.USAGE_LIMITS,
            [
                Item.long(Tag.USAGE_LIMITS_TOTAL, 10),
                Item.long(Tag.USAGE_LIMITS_COUNT, 99),
                Item.enum(Tag.USAGE_LIMITS_UNIT, 1),
            ],
        )
        self.assertTrue(self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(limits)), V20).ok)
        self.assertEqual(fetch(self.store, uid).first("Usage Limits").get(Tag.USAGE_LIMITS_COUNT), 10)


    def test_activation_date_in_past_activates(self) -> None:
        """Adding an Activation Date not in the future moves a Pre-Active object to Active."""
        uid = new_object(self.store)
        self.assertTrue(
            self.call(
                Operation.ADD_ATTRIBUTE,
                uid_payload(uid, attr_1x("Activation Date", Item.datetime(Tag.ACTIVATION_DATE, NOW))),
            ).ok
        )
        self.assertEqual(fetch(self.store, uid).state, State.ACTIVE)

    def test_errors(self) -> None:
        """Missing attribute, unknown object, other owner and archived object are refused."""
        uid = new_object(self.store)
        self.assertFailed(self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid)), ResultReason.MISSING_DATA)
        body = attr_1x("x-a", custom(ItemType.INTEGER, 1))
        self.assertFailed(self.call(Operation.ADD_ATTRIBUTE, uid_payload("nope", body)), ResultReason.ITEM_NOT_FOUND)
        self.assertFailed(
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, body), caller="bob"), ResultReason.PERMISSION_DENIED
        )
        archived = new_object(self.store, archived=True)
        self.assertFailed(self.call(Operation.ADD_ATTRIBUTE, uid_payload(archived, body)), ResultReason.OBJECT_ARCHIVED)


class ModifyAttributeTests(_Base):
    def setUp(self) -> None:
        super().setUp()
        self.uid = new_object(
            self.store,
            attrs={
                "Object Group": [Item.text(Tag.OBJECT_GROUP, "g0"), Item.text(Tag.OBJECT_GROUP, "g1")],
                "Contact Information": [contact("c")],
            },
        )

    def test_1x_by_index(self) -> None:
        """1.x Modify changes the indexed instance and returns it with its index."""
        result = self.call(
            Operation.MODIFY_ATTRIBUTE,
            uid_payload(self.uid, attr_1x("Object Group", Item.text(Tag.OBJECT_GROUP, "G1"), 1)),
        )
        self.assertTrue(result.ok, result.message)
        self.assertEqual(result.payload.value[1], attr_1x("Object Group", Item.text(Tag.OBJECT_GROUP, "G1"), 1))
        self.assertEqual([v.value for v in fetch(self.store, self.uid).attributes["Object Group"]], ["g0", "G1"])

    def test_1x_default_index_zero(self) -> None:
        """Without an index, 1.x Modify changes instance 0."""
        self.assertTrue(
            self.call(
                Operation.MODIFY_ATTRIBUTE,
                uid_payload(self.uid, attr_1x("Object Group", Item.text(Tag.OBJECT_GROUP, "G0"))),
            ).ok
        )
        self.assertEqual(fetch(self.store, self.uid).value("Object Group"), "G0")

    def test_index_out_of_range(self) -> None:
        """An index with no instance: Item Not Found (1.x) / Attribute Instance Not Found (2.x)."""
        self.assertFailed(
            self.call(
                Operation.MODIFY_ATTRIBUTE,
                uid_payload(self.uid, attr_1x("Object Group", Item.text(Tag.OBJECT_GROUP, "x"), 5)),
            ),
            ResultReason.ITEM_NOT_FOUND,
        )
        self.assertFailed(
            self.call(
                Operation.MODIFY_ATTRIBUTE,
                uid_payload(
                    self.uid,
                    current_attr(Item.text(Tag.OBJECT_GROUP, "zz")),
                    new_attr(Item.text(Tag.OBJECT_GROUP, "x")),
                ),
                V20,
            ),
            ResultReason.ATTRIBUTE_INSTANCE_NOT_FOUND,
        )

    def test_absent_attribute(self) -> None:
        """Modifying an attribute the object lacks: Invalid Field (1.x) / Attribute Not Found (2.x)."""
        self.assertFailed(
            self.call(
                Operation.MODIFY_ATTRIBUTE, uid_payload(self.uid, attr_1x("x-none", custom(ItemType.INTEGER, 1)))
            ),
            ResultReason.INVALID_FIELD,
        )
        self.assertFailed(
            self.call(Operation.MODIFY_ATTRIBUTE, uid_payload(self.uid, new_attr(Item.text(Tag.COMMENT, "c"))), V20),
            ResultReason.ATTRIBUTE_NOT_FOUND,
        )

    def test_2x_current_attribute(self) -> None:
        """2.x Modify selects the instance by Current Attribute and answers only the identifier."""
        result = self.call(
            Operation.MODIFY_ATTRIBUTE,
            uid_payload(
                self.uid, current_attr(Item.text(Tag.OBJECT_GROUP, "g1")), new_attr(Item.text(Tag.OBJECT_GROUP, "new"))
            ),
            V20,
        )
        self.assertTrue(result.ok, result.message)
        self.assertEqual([c.tag for c in result.payload.value], [Tag.UNIQUE_IDENTIFIER])
        self.assertEqual([v.value for v in fetch(self.store, self.uid).attributes["Object Group"]], ["g0", "new"])

    def test_2x_ambiguous(self) -> None:
        """2.x Modify without Current Attribute of a multi-instance attribute is Multi Valued Attribute."""
        self.assertFailed(
            self.call(
                Operation.MODIFY_ATTRIBUTE, uid_payload(self.uid, new_attr(Item.text(Tag.OBJECT_GROUP, "x"))), V20
            ),
            ResultReason.MULTI_VALUED_ATTRIBUTE,
        )
        self.assertTrue(self.call(Operation.MODIFY_ATTRIBUTE, uid_payload(self.uid, new_attr(contact("d"))), V20).ok)
        self.assertEqual(fetch(self.store, self.uid).value("Contact Information"), "d")

    def test_2x_names_differ(self) -> None:
        """Current and New Attribute naming different attributes is Invalid Field."""
        self.assertFailed(
            self.call(
                Operation.MODIFY_ATTRIBUTE,
                uid_payload(self.uid, current_attr(contact("c")), new_attr(Item.text(Tag.OBJECT_GROUP, "x"))),
                V20,
            ),
            ResultReason.INVALID_FIELD,
        )

    def test_read_only(self) -> None:
        """Modifying a read-only attribute: Permission Denied (1.x) / Attribute Read Only (2.x)."""
        self.assertFailed(
            self.call(
                Operation.MODIFY_ATTRIBUTE,
                uid_payload(self.uid, attr_1x("Cryptographic Length", Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256))),
            ),
            ResultReason.PERMISSION_DENIED,
        )
        self.assertFailed(
            self.call(
                Operation.MODIFY_ATTRIBUTE,
                uid_payload(self.uid, new_attr(Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 1))),
                V20,
            ),
            ResultReason.ATTRIBUTE_READ_ONLY,
        )

    def test_activation_date_only_pre_active(self) -> None:
        """Activation Date changes only in Pre-Active (SKLC-M-3: Permission Denied; 2.x: Wrong Key Lifecycle State)."""
        uid = new_object(
            self.store, state=State.ACTIVE, attrs={"Activation Date": [Item.datetime(Tag.ACTIVATION_DATE, NOW - 5)]}
        )
        self.assertFailed(
            self.call(
                Operation.MODIFY_ATTRIBUTE,
                uid_payload(uid, attr_1x("Activation Date", Item.datetime(Tag.ACTIVATION_DATE, NOW))),
            ),
            ResultReason.PERMISSION_DENIED,
        )
        self.assertFailed(
            self.call(
                Operation.MODIFY_ATTRIBUTE, uid_payload(uid, new_attr(Item.datetime(Tag.ACTIVATION_DATE, NOW))), V20
            ),
            ResultReason.WRONG_KEY_LIFECYCLE_STATE,
        )

    def test_dates_trigger_transitions(self) -> None:
        """Activation / Deactivation Date moved to now take effect immediately."""
        uid = new_object(self.store, attrs={"Activation Date": [Item.datetime(Tag.ACTIVATION_DATE, NOW + 500)]})
        self.assertTrue(
            self.call(
                Operation.MODIFY_ATTRIBUTE,
                uid_payload(uid, attr_1x("Activation Date", Item.datetime(Tag.ACTIVATION_DATE, NOW))),
            ).ok
        )
        self.assertEqual(fetch(self.store, uid).state, State.ACTIVE)
        self.assertTrue(
            self.call(
                Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(Item.datetime(Tag.DEACTIVATION_DATE, NOW + 50))), V20
            ).ok
        )
        self.assertEqual(fetch(self.store, uid).state, State.ACTIVE)
        self.assertTrue(
            self.call(
                Operation.MODIFY_ATTRIBUTE, uid_payload(uid, new_attr(Item.datetime(Tag.DEACTIVATION_DATE, NOW))), V20
            ).ok
        )
        self.assertEqual(fetch(self.store, uid).state, State.DEACTIVATED)
        self.assertFailed(
            self.call(
                Operation.MODIFY_ATTRIBUTE,
                uid_payload(uid, new_attr(Item.datetime(Tag.DEACTIVATION_DATE, NOW + 9))),
                V20,
            ),
            ResultReason.WRONG_KEY_LIFECYCLE_STATE,
        )

    def test_protect_stop_date_frozen_once_reached(self) -> None:
        """A reached Protect Stop Date cannot change."""
        uid = new_object(
            self.store, state=State.ACTIVE, attrs={"Protect Stop Date": [Item.datetime(Tag.PROTECT_STOP_DATE, NOW - 1)]}
        )
        self.assertFailed(
            self.call(
                Operation.MODIFY_ATTRIBUTE,
                uid_payload(uid, new_attr(Item.datetime(Tag.PROTECT_STOP_DATE, NOW + 9))),
                V20,
            ),
            ResultReason.WRONG_KEY_LIFECYCLE_STATE,
        )

    def test_usage_limits_after_allocation(self) -> None:
        """Usage Limits cannot change once an allocation has been made."""
        used = Item.struct(
            Tag.USAGE_LIMITS,
            [
                Item.long(Tag.USAGE_LIMITS_TOTAL, 10),
                Item.long(Tag.USAGE_LIMITS_COUNT, 4),
                Item.enum(Tag.USAGE_LIMITS_UNIT, 1),
            ],
        )
        uid = new_object(self.store, attrs={"Usage Limits": [used]})
        fresh = Item.struct(
            Tag.USAGE_LIMITS, [Item.long(Tag.USAGE_LIMITS_TOTAL, 20), Item.enum(Tag.USAGE_LIMITS_UNIT, 1)]
        )
        self.assertFailed(
            self.call(Operation.MODIFY_ATTRIBUTE, uid_payload(uid, new_attr(fresh)), V20),
            ResultReason.ATTRIBUTE_READ_ONLY,
        )

    def test_name_uniqueness(self) -> None:
        """Renaming to another object's Name is refused."""
        new_object(self.store, name="other")
        uid = new_object(self.store, name="mine")
        self.assertFailed(
            self.call(Operation.MODIFY_ATTRIBUTE, uid_payload(uid, new_attr(name_item("other"))), V20),
            ResultReason.NON_UNIQUE_NAME_ATTRIBUTE,
        )
        self.assertTrue(self.call(Operation.MODIFY_ATTRIBUTE, uid_payload(uid, new_attr(name_item("mine2"))), V20).ok)

    def test_not_found_and_policy(self) -> None:
        """Unknown objects and other owners are refused."""
        body = attr_1x("Contact Information", contact("z"))
        self.assertFailed(self.call(Operation.MODIFY_ATTRIBUTE, uid_payload("nope", body)), ResultReason.ITEM_NOT_FOUND)
        self.assertFailed(
            self.call(Operation.MODIFY_ATTRIBUTE, uid_payload(self.uid, body), caller="bob"),
            ResultReason.PERMISSION_DENIED,
        )


class SetAttributeTests(_Base):
    def test_creates_then_replaces(self) -> None:
        """Set Attribute adds a missing attribute, then replaces its single instance."""
        uid = new_object(self.store)
        for text in ("one", "two"):
            result = self.call(
                Operation.SET_ATTRIBUTE, uid_payload(uid, new_attr(Item.text(Tag.DESCRIPTION, text))), V20
            )
            self.assertTrue(result.ok, result.message)
            self.assertEqual([c.tag for c in result.payload.value], [Tag.UNIQUE_IDENTIFIER])
        self.assertEqual(fetch(self.store, uid).attributes["Description"], [Item.text(Tag.DESCRIPTION, "two")])

    def test_multi_valued(self) -> None:
        """Set Attribute creates or replaces a single instance, and refuses an attribute the object has
        several instances of (spec 2.1 6.1.51), multi-valued or custom."""
        uid = new_object(self.store, attrs={"x-m": [custom(ItemType.INTEGER, 1), custom(ItemType.INTEGER, 2)]})
        self.assertTrue(self.call(Operation.SET_ATTRIBUTE, uid_payload(uid, new_attr(name_item("n"))), V20).ok)
        self.assertTrue(self.call(Operation.SET_ATTRIBUTE, uid_payload(uid, new_attr(name_item("m"))), V20).ok)
        self.assertEqual([n.get(Tag.NAME_VALUE) for n in fetch(self.store, uid).attributes["Name"]], ["m"])
        self.assertTrue(self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(name_item("o"))), V20).ok)
        self.assertFailed(
            self.call(Operation.SET_ATTRIBUTE, uid_payload(uid, new_attr(name_item("n"))), V20),
            ResultReason.MULTI_VALUED_ATTRIBUTE,
        )
        self.assertFailed(
            self.call(
                Operation.SET_ATTRIBUTE,
                uid_payload(uid, new_attr(vendor_attr("x", "m", custom(ItemType.INTEGER, 3)))),
                V20,
            ),
            ResultReason.MULTI_VALUED_ATTRIBUTE,
        )

    def test_read_only_and_1x(self) -> None:
        """Set of a read-only attribute is Read Only Attribute (2.x Set table); Set does not exist in 1.x."""
        uid = new_object(self.store)
        self.assertFailed(
            self.call(Operation.SET_ATTRIBUTE, uid_payload(uid, new_attr(Item.enum(Tag.STATE, 2))), V20),
            ResultReason.READ_ONLY_ATTRIBUTE,
        )
        self.assertFailed(
            self.call(Operation.SET_ATTRIBUTE,
                      uid_payload(uid, new_attr(Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, 3))), V20),
            ResultReason.READ_ONLY_ATTRIBUTE,
        )
        self.assertFailed(
            self.call(Operation.SET_ATTRIBUTE, uid_payload(uid, new_attr(Item.text(Tag.DESCRIPTION, "d"))), V14),
            ResultReason.OPERATION_NOT_SUPPORTED,
        )


class DeleteAttributeTests(_Base):
    def setUp(self) -> None:
        super().setUp()
        self.uid = new_object(
            self.store,
            attrs={
                "Object Group": [
                    Item.text(Tag.OBJECT_GROUP, "g0"),
                    Item.text(Tag.OBJECT_GROUP, "g1"),
                    Item.text(Tag.OBJECT_GROUP, "g2"),
                ]
            },
        )

    def groups(self) -> list[str]:
        return [v.value for v in fetch(self.store, self.uid).live("Object Group")]

    def test_1x_by_index(self) -> None:
        """1.x Delete removes the indexed instance and returns it with its index."""
        result = self.call(
            Operation.DELETE_ATTRIBUTE,
            uid_payload(self.uid, Item.text(Tag.ATTRIBUTE_NAME, "Object Group"), Item.int(Tag.ATTRIBUTE_INDEX, 1)),
        )
        self.assertTrue(result.ok, result.message)
        self.assertEqual(result.payload.value[1], attr_1x("Object Group", Item.text(Tag.OBJECT_GROUP, "g1"), 1))
        self.assertEqual(self.groups(), ["g0", "g2"])
        self.assertTrue(
            self.call(
                Operation.DELETE_ATTRIBUTE, uid_payload(self.uid, Item.text(Tag.ATTRIBUTE_NAME, "Object Group"))
            ).ok
        )
        self.assertEqual(self.groups(), ["g2"])

    def test_1x_errors(self) -> None:
        """1.x: unknown attribute or index is Item Not Found; a read-only one Permission Denied."""
        self.assertFailed(
            self.call(
                Operation.DELETE_ATTRIBUTE, uid_payload(self.uid, Item.text(Tag.ATTRIBUTE_NAME, "Contact Information"))
            ),
            ResultReason.ITEM_NOT_FOUND,
        )
        self.assertFailed(
            self.call(
                Operation.DELETE_ATTRIBUTE,
                uid_payload(self.uid, Item.text(Tag.ATTRIBUTE_NAME, "Object Group"), Item.int(Tag.ATTRIBUTE_INDEX, 9)),
            ),
            ResultReason.ITEM_NOT_FOUND,
        )
        for name in ("State", "Activation Date", "Cryptographic Algorithm"):
            self.assertFailed(
                self.call(Operation.DELETE_ATTRIBUTE, uid_payload(self.uid, Item.text(Tag.ATTRIBUTE_NAME, name))),
                ResultReason.PERMISSION_DENIED,
            )
        self.assertEqual(self.groups(), ["g0", "g1", "g2"])

    def test_2x_current_attribute(self) -> None:
        """2.x Delete by Current Attribute removes that instance and answers the identifier."""
        result = self.call(
            Operation.DELETE_ATTRIBUTE, uid_payload(self.uid, current_attr(Item.text(Tag.OBJECT_GROUP, "g2"))), V20
        )
        self.assertEqual([c.tag for c in result.payload.value], [Tag.UNIQUE_IDENTIFIER])
        self.assertEqual(self.groups(), ["g0", "g1"])

    def test_2x_reference_deletes_all(self) -> None:
        """2.x Delete by Attribute Reference removes every instance."""
        self.assertTrue(self.call(Operation.DELETE_ATTRIBUTE, uid_payload(self.uid, ref(Tag.OBJECT_GROUP)), V20).ok)
        self.assertNotIn("Object Group", fetch(self.store, self.uid).attributes)

    def test_2x_errors(self) -> None:
        """2.x: Attribute Not Found, Attribute Instance Not Found, Attribute Read Only."""
        self.assertFailed(
            self.call(Operation.DELETE_ATTRIBUTE, uid_payload(self.uid, ref(Tag.COMMENT)), V20),
            ResultReason.ATTRIBUTE_NOT_FOUND,
        )
        self.assertFailed(
            self.call(
                Operation.DELETE_ATTRIBUTE, uid_payload(self.uid, current_attr(Item.text(Tag.OBJECT_GROUP, "zz"))), V20
            ),
            ResultReason.ATTRIBUTE_INSTANCE_NOT_FOUND,
        )
        self.assertFailed(
            self.call(Operation.DELETE_ATTRIBUTE, uid_payload(self.uid, ref(Tag.STATE)), V20),
            ResultReason.ATTRIBUTE_READ_ONLY,
        )
        # 2.x tables list no Missing Data: a request lacking what it needs is Invalid Field
        self.assertFailed(self.call(Operation.DELETE_ATTRIBUTE, uid_payload(self.uid), V20), ResultReason.INVALID_FIELD)

    def test_custom_and_policy(self) -> None:
        """Custom attributes can be deleted by their owner only; y- ones by nobody."""
        uid = new_object(self.store, attrs={"x-a": [custom(ItemType.INTEGER, 1)], "y-b": [custom(ItemType.INTEGER, 2)]})
        body = uid_payload(uid, Item.text(Tag.ATTRIBUTE_NAME, "x-a"))
        self.assertFailed(self.call(Operation.DELETE_ATTRIBUTE, body, caller="bob"), ResultReason.PERMISSION_DENIED)
        self.assertTrue(self.call(Operation.DELETE_ATTRIBUTE, body).ok)
        self.assertFailed(
            self.call(Operation.DELETE_ATTRIBUTE, uid_payload(uid, Item.text(Tag.ATTRIBUTE_NAME, "y-b"))),
            ResultReason.PERMISSION_DENIED,
        )
        self.assertFailed(
            self.call(Operation.DELETE_ATTRIBUTE, uid_payload("nope", Item.text(Tag.ATTRIBUTE_NAME, "x-a"))),
            ResultReason.ITEM_NOT_FOUND,
        )


class AdjustAttributeTests(_Base):
    def adjust(self, uid: str, reference: Item, kind: int, value: Item | None = None):
        children = [reference, Item.enum(Tag.ADJUSTMENT_TYPE, kind)]
        if value is not None:
            children.append(value)
        return self.call(Operation.ADJUST_ATTRIBUTE, uid_payload(uid, *children), V20)

    def vendor_ref(self, name: str) -> Item:
        return Item.struct(
            Tag.ATTRIBUTE_REFERENCE, [Item.text(Tag.VENDOR_IDENTIFICATION, "x"), Item.text(Tag.ATTRIBUTE_NAME, name)]
        )

    def test_numeric_and_boolean(self) -> None:
        """Increment, decrement and negate numbers; negate Booleans (absent = 0 / false)."""
        uid = new_object(self.store, attrs={"x-n": [custom(ItemType.INTEGER, 5)]})
        self.assertTrue(self.adjust(uid, self.vendor_ref("n"), 1, Item.int(Tag.ADJUSTMENT_VALUE, 3)).ok)
        self.assertTrue(self.adjust(uid, self.vendor_ref("n"), 2).ok)
        self.assertEqual(fetch(self.store, uid).value("x-n"), 7)
        self.assertTrue(self.adjust(uid, self.vendor_ref("n"), 3).ok)
        self.assertEqual(fetch(self.store, uid).value("x-n"), -7)
        self.assertTrue(self.adjust(uid, ref(Tag.EXTRACTABLE), 3).ok)
        self.assertIs(fetch(self.store, uid).value("Extractable"), True)

    def test_errors(self) -> None:
        """Range, type, multi-valued and read-only errors have their 2.x reasons."""
        uid = new_object(
            self.store,
            attrs={
                "x-n": [custom(ItemType.INTEGER, 2**31 - 1)],
                "x-t": [custom(ItemType.TEXT_STRING, "t")],
                "x-m": [custom(ItemType.INTEGER, 1), custom(ItemType.INTEGER, 2)],
            },
        )
        self.assertEqual(self.adjust(uid, self.vendor_ref("n"), 1).reason, ResultReason.NUMERIC_RANGE)
        self.assertEqual(self.adjust(uid, self.vendor_ref("t"), 1).reason, ResultReason.INVALID_DATA_TYPE)
        self.assertEqual(self.adjust(uid, self.vendor_ref("m"), 1).reason, ResultReason.MULTI_VALUED_ATTRIBUTE)
        self.assertEqual(self.adjust(uid, ref(Tag.EXTRACTABLE), 1).reason, ResultReason.INVALID_DATA_TYPE)
        # the Adjust Attribute table (2.1 Table 172) names Read Only Attribute, not Attribute Read Only
        self.assertEqual(self.adjust(uid, ref(Tag.CRYPTOGRAPHIC_LENGTH), 1).reason, ResultReason.READ_ONLY_ATTRIBUTE)
        self.assertEqual(
            self.call(Operation.ADJUST_ATTRIBUTE, uid_payload(uid, ref(Tag.CRYPTOGRAPHIC_LENGTH)), V20).reason,
            ResultReason.INVALID_FIELD,
        )


class SQLiteAttributeTests(_Base):
    def setUp(self) -> None:
        super().setUp()
        from kmipd.testing import make_processor

        self.store = sqlite_store(self)
        self.d = make_processor(self.store, clock=self.clock)

    def test_add_modify_delete(self) -> None:
        """Add, modify and delete a custom attribute on SQLite."""
        uid = new_object(self.store)
        self.assertTrue(
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, attr_1x("x-a", custom(ItemType.INTEGER, 1)))).ok
        )
        self.assertTrue(
            self.call(Operation.MODIFY_ATTRIBUTE, uid_payload(uid, attr_1x("x-a", custom(ItemType.INTEGER, 2)))).ok
        )
        self.assertEqual(fetch(self.store, uid).value("x-a"), 2)
        self.assertTrue(
            self.call(Operation.DELETE_ATTRIBUTE, uid_payload(uid, Item.text(Tag.ATTRIBUTE_NAME, "x-a"))).ok
        )
        self.assertNotIn("x-a", fetch(self.store, uid).attributes)


class NameUniquenessTests(_Base):
    """One Name rule (objectfactory.check_unique_name) for new objects and for attribute changes."""

    def create(self, name: Item, version: tuple[int, int] = V14) -> Any:
        """Create an AES key named C{name}."""
        from kmipd.spec import ObjectType

        attrs = [
            Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, 3),
            Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128),
            Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 0x0C),
            name,
        ]
        if version >= (2, 0):
            template = Item.struct(Tag.ATTRIBUTES, attrs)
        else:
            from kmipd.model.attributes import name_for_tag

            template = Item.struct(Tag.TEMPLATE_ATTRIBUTE, [attr_1x(name_for_tag(a.tag), a) for a in attrs])
        return self.call(Operation.CREATE, payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), template),
                         version)

    def test_every_live_object_counts(self) -> None:
        """Names of archived and stateless objects are taken, for Create and for Add Attribute; the
        name of a destroyed object may be taken again."""
        from kmipd.spec import ObjectType

        new_object(self.store, name="archived", archived=True)
        new_object(self.store, name="destroyed", state=State.DESTROYED)
        new_object(self.store, name="stateless", state=None, object_type=ObjectType.OPAQUE_OBJECT)
        target = new_object(self.store)
        self.assertTrue(self.create(name_item("destroyed")).ok)
        for name in ("archived", "stateless"):
            self.assertFailed(self.create(name_item(name)), ResultReason.INVALID_FIELD)
            self.assertFailed(self.create(name_item(name), V20), ResultReason.NON_UNIQUE_NAME_ATTRIBUTE)
            self.assertFailed(
                self.call(Operation.ADD_ATTRIBUTE, uid_payload(target, attr_1x("Name", name_item(name)))),
                ResultReason.ILLEGAL_OPERATION,
            )
        self.assertTrue(self.create(name_item("unused")).ok)

    def test_name_value_decides(self) -> None:
        """The same Name Value with another Name Type is the same name."""
        new_object(self.store, name="dup")
        self.assertFailed(self.create(name_item("dup", name_type=2), V20), ResultReason.NON_UNIQUE_NAME_ATTRIBUTE)
        uid = new_object(self.store)
        self.assertFailed(
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(name_item("dup", name_type=2))), V20),
            ResultReason.NON_UNIQUE_NAME_ATTRIBUTE,
        )

    def test_own_name_is_not_a_conflict(self) -> None:
        """Modify Attribute may set an object's Name to the value it already has."""
        uid = new_object(self.store, name="mine")
        result = self.call(Operation.MODIFY_ATTRIBUTE, uid_payload(uid, attr_1x("Name", name_item("mine"), 0)))
        self.assertTrue(result.ok, result.message)

    def test_adding_own_name_again(self) -> None:
        """Add Attribute of the Name the object already has would repeat it: Non Unique Name
        Attribute (2.1 4.32, Table 169; the 2.1 profile vector BL-M-8), 1.x Illegal Operation."""
        uid = new_object(self.store, name="mine")
        self.assertFailed(
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(name_item("mine"))), V20),
            ResultReason.NON_UNIQUE_NAME_ATTRIBUTE,
        )
        self.assertFailed(
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, attr_1x("Name", name_item("mine")))),
            ResultReason.ILLEGAL_OPERATION,
        )
        self.assertTrue(self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(name_item("also-mine"))), V20).ok)

    def test_modifying_to_own_other_name(self) -> None:
        """Modify Attribute of one Name to the value of the object's other Name would repeat it:
        Non Unique Name Attribute; to the value it already has, no clash."""
        uid = new_object(self.store, name="first")
        self.assertTrue(self.call(Operation.ADD_ATTRIBUTE, uid_payload(uid, new_attr(name_item("second"))), V20).ok)
        modify = Item.struct(Tag.REQUEST_PAYLOAD, [
            Item.text(Tag.UNIQUE_IDENTIFIER, uid),
            Item.struct(Tag.CURRENT_ATTRIBUTE, [name_item("second")]),
            Item.struct(Tag.NEW_ATTRIBUTE, [name_item("first")])])
        self.assertFailed(self.call(Operation.MODIFY_ATTRIBUTE, modify, V20), ResultReason.NON_UNIQUE_NAME_ATTRIBUTE)
        modify_1x = uid_payload(uid, attr_1x("Name", name_item("first"), 1))
        self.assertFailed(self.call(Operation.MODIFY_ATTRIBUTE, modify_1x), ResultReason.ILLEGAL_OPERATION)
        same = Item.struct(Tag.REQUEST_PAYLOAD, [
            Item.text(Tag.UNIQUE_IDENTIFIER, uid),
            Item.struct(Tag.CURRENT_ATTRIBUTE, [name_item("second")]),
            Item.struct(Tag.NEW_ATTRIBUTE, [name_item("second")])])
        self.assertTrue(self.call(Operation.MODIFY_ATTRIBUTE, same, V20).ok)


class _StableIndexMixin:
    """Attribute Indexes never change when other instances are deleted (KMIP 1.x 2.1.1)."""

    store: Any
    call: Any
    assertFailed: Any

    def use_store(self) -> None:
        """Keep the memory store of L{_Base}."""

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self.use_store()
        self.uid = new_object(
            self.store,
            attrs={"Object Group": [Item.text(Tag.OBJECT_GROUP, g) for g in ("g0", "g1", "g2")]},
        )

    def delete_1x(self, index: int) -> Any:
        return self.call(
            Operation.DELETE_ATTRIBUTE,
            uid_payload(self.uid, Item.text(Tag.ATTRIBUTE_NAME, "Object Group"), Item.int(Tag.ATTRIBUTE_INDEX, index)),
        )

    def listed_1x(self) -> list[Item]:
        """The Object Group instances GetAttributes (1.4) returns, with their indexes."""
        result = self.call(
            Operation.GET_ATTRIBUTES, uid_payload(self.uid, Item.text(Tag.ATTRIBUTE_NAME, "Object Group"))
        )
        return list(result.payload.value[1:])

    def group(self, value: str, index: int = 0) -> Item:
        return attr_1x("Object Group", Item.text(Tag.OBJECT_GROUP, value), index or None)

    def test_delete_keeps_later_indexes(self) -> None:
        """Deleting index 1 of 3 leaves index 2 at index 2 (GetAttributes, Modify, Delete by index)."""
        self.assertTrue(self.delete_1x(1).ok)
        self.assertEqual(self.listed_1x(), [self.group("g0"), self.group("g2", 2)])
        self.assertEqual(fetch(self.store, self.uid).instances("Object Group"),
                         [(0, Item.text(Tag.OBJECT_GROUP, "g0")), (2, Item.text(Tag.OBJECT_GROUP, "g2"))])
        modified = self.call(Operation.MODIFY_ATTRIBUTE, uid_payload(self.uid, self.group("G2", 2)))
        self.assertEqual(modified.payload.value[1], self.group("G2", 2))
        self.assertFailed(self.call(Operation.MODIFY_ATTRIBUTE, uid_payload(self.uid, self.group("x", 1))),
                          ResultReason.ITEM_NOT_FOUND)
        self.assertFailed(self.delete_1x(1), ResultReason.ITEM_NOT_FOUND)
        deleted = self.delete_1x(2)
        self.assertEqual(deleted.payload.value[1], self.group("G2", 2))
        self.assertEqual(self.listed_1x(), [self.group("g0")])

    def test_delete_index_zero(self) -> None:
        """After index 0 is deleted, 1.x requests without an index (index 0) find nothing; others keep theirs."""
        self.assertTrue(self.delete_1x(0).ok)
        self.assertEqual(self.listed_1x(), [self.group("g1", 1), self.group("g2", 2)])
        self.assertFailed(self.call(Operation.MODIFY_ATTRIBUTE, uid_payload(self.uid, self.group("x"))),
                          ResultReason.ITEM_NOT_FOUND)
        self.assertEqual(fetch(self.store, self.uid).value("Object Group"), "g1")

    def test_add_takes_next_index(self) -> None:
        """A new instance gets the index after the highest live one, never a hole's."""
        self.assertTrue(self.delete_1x(1).ok)
        added = self.call(Operation.ADD_ATTRIBUTE, uid_payload(self.uid, self.group("g3")))
        self.assertEqual(added.payload.value[1], self.group("g3", 3))
        self.assertEqual(self.listed_1x(), [self.group("g0"), self.group("g2", 2), self.group("g3", 3)])

    def test_2x_delete_and_render(self) -> None:
        """2.x Delete by Current Attribute leaves a hole 1.x clients see; 2.x GetAttributes lists live values."""
        body = uid_payload(self.uid, current_attr(Item.text(Tag.OBJECT_GROUP, "g1")))
        self.assertTrue(self.call(Operation.DELETE_ATTRIBUTE, body, V20).ok)
        self.assertEqual(self.listed_1x(), [self.group("g0"), self.group("g2", 2)])
        result = self.call(Operation.GET_ATTRIBUTES, uid_payload(self.uid, ref(Tag.OBJECT_GROUP)), V20)
        attributes = result.payload.find(Tag.ATTRIBUTES)
        self.assertEqual([v.value for v in attributes.value], ["g0", "g2"])
        modify = uid_payload(self.uid, current_attr(Item.text(Tag.OBJECT_GROUP, "g2")),
                             new_attr(Item.text(Tag.OBJECT_GROUP, "G2")))
        self.assertTrue(self.call(Operation.MODIFY_ATTRIBUTE, modify, V20).ok)
        self.assertEqual(self.listed_1x(), [self.group("g0"), self.group("G2", 2)])

    def test_set_keeps_index(self) -> None:
        """2.x Set on a custom attribute whose only instance is at index 1 replaces it in place."""
        for value in (1, 2):
            self.call(Operation.ADD_ATTRIBUTE, uid_payload(self.uid, attr_1x("x-n", custom(ItemType.INTEGER, value))))
        self.assertTrue(self.call(Operation.DELETE_ATTRIBUTE, uid_payload(
            self.uid, Item.text(Tag.ATTRIBUTE_NAME, "x-n"), Item.int(Tag.ATTRIBUTE_INDEX, 0))).ok)
        body = uid_payload(self.uid, new_attr(vendor_attr("x", "n", custom(ItemType.INTEGER, 7))))
        self.assertTrue(self.call(Operation.SET_ATTRIBUTE, body, V20).ok)
        self.assertEqual(fetch(self.store, self.uid).instances("x-n"), [(1, custom(ItemType.INTEGER, 7))])

    def test_locate_ignores_deleted_instance(self) -> None:
        """Locate no longer finds the object by a deleted instance's value, still by a live one."""
        self.assertTrue(self.delete_1x(1).ok)

        def locate(value: str) -> list[str]:
            body = payload(attr_1x("Object Group", Item.text(Tag.OBJECT_GROUP, value)))
            result = self.call(Operation.LOCATE, body)
            return [c.value for c in result.payload.value if c.tag == Tag.UNIQUE_IDENTIFIER]

        self.assertEqual(locate("g1"), [])
        self.assertEqual(locate("g2"), [self.uid])


class MemoryStableIndexTests(_StableIndexMixin, _Base):
    pass


class SQLiteStableIndexTests(_StableIndexMixin, _Base):
    def use_store(self) -> None:
        """Run the same tests on a SQLite SQLObjectStore (positions persisted, holes restored)."""
        from kmipd.testing import make_processor

        self.store = sqlite_store(self)
        self.d = make_processor(self.store, clock=self.clock)
