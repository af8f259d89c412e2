"""Tests for kmipd.operations.locate."""

from __future__ import annotations

from typing import Any

from kmipd.spec import ObjectGroupMember, ObjectType, Operation, ResultReason, State, Tag
from kmipd.testing import FakeClock, batch_item, make_processor, payload, request, results, send
from kmipd.ttlv import Item, ItemType

from .test_attribute_ops import asi, attr_1x, custom, vendor_attr
from .test_lifecycle import NOW, V14, V20, _Base, fetch, name_item, new_object, sqlite_store

V12 = (1, 2)


def link(uid: str, link_type: int = 0x103) -> Item:
    return Item.struct(Tag.LINK, [Item.enum(Tag.LINK_TYPE, link_type), Item.text(Tag.LINKED_OBJECT_IDENTIFIER, uid)])


def group(text: str) -> Item:
    return Item.text(Tag.OBJECT_GROUP, text)


class _LocateBase(_Base):
    def locate(
        self, *attrs: Item, version: tuple[int, int] = V14, extra: list[Item] | None = None, caller: str = "alice"
    ) -> Any:
        """Locate with C{attrs} (2.x items) in the version's shape; return the result."""
        if version >= (2, 0):
            body = payload(*(extra or []), Item.struct(Tag.ATTRIBUTES, list(attrs)))
        else:
            body = payload(*(extra or []), *(self.to_1x(a) for a in attrs))
        return self.call(Operation.LOCATE, body, version, caller)

    @staticmethod
    def to_1x(item: Item) -> Item:
        from kmipd.model.attributes import name_for_tag

        if item.tag == Tag.ATTRIBUTE:  # vendor attribute -> x- custom attribute
            name = f"{item.get(Tag.VENDOR_IDENTIFICATION)}-{item.get(Tag.ATTRIBUTE_NAME)}"
            return attr_1x(name, item.find(Tag.ATTRIBUTE_VALUE))
        return attr_1x(name_for_tag(item.tag), item)

    def uids(self, *attrs: Item, **kw: Any) -> list[str]:
        result = self.locate(*attrs, **kw)
        self.assertTrue(result.ok, result.message)
        return [c.value for c in result.payload.findall(Tag.UNIQUE_IDENTIFIER)]

    def both(self, *attrs: Item, **kw: Any) -> list[str]:
        """The result in 1.4 and 2.0 shapes, asserted equal."""
        one = self.uids(*attrs, version=V14, **kw)
        self.assertEqual(self.uids(*attrs, version=V20, **kw), one)
        return one


class FilterTests(_LocateBase):
    def setUp(self) -> None:
        super().setUp()
        s = self.store
        self.k1 = new_object(
            s,
            name="k1",
            attrs={
                "Object Group": [group("g")],
                "x-site": [custom(ItemType.TEXT_STRING, "paris")],
                "Application Specific Information": [asi("LIBRARY-LTO", "123")],
            },
        )
        self.k2 = new_object(
            s,
            name="k2",
            state=State.ACTIVE,
            algorithm=3,
            length=256,
            mask=0x04,
            attrs={"Object Group": [group("g"), group("h")], "x-slot": [custom(ItemType.INTEGER, 7)]},
        )
        self.k3 = new_object(
            s, name="k3", algorithm=2, length=168, mask=0x04 | 0x08 | 0x01, attrs={"Link": [link(self.k1)]}
        )
        self.sd = new_object(s, name="s1", object_type=ObjectType.SECRET_DATA, state=State.ACTIVE)

    def test_no_filter_newest_first(self) -> None:
        """Without attributes every visible object is returned, newest first."""
        self.assertEqual(self.both(), [self.sd, self.k3, self.k2, self.k1])

    def test_object_type(self) -> None:
        """Object Type filters by type."""
        self.assertEqual(self.both(Item.enum(Tag.OBJECT_TYPE, ObjectType.SECRET_DATA)), [self.sd])

    def test_name(self) -> None:
        """Name (value and type) matches exactly; combined with Object Type (conformance shape)."""
        self.assertEqual(self.both(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), name_item("k2")), [self.k2])
        self.assertEqual(self.both(name_item("k2", 2)), [])
        self.assertEqual(self.both(Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, "k3")])), [self.k3])

    def test_state(self) -> None:
        """State filters by lifecycle state."""
        self.assertEqual(self.both(Item.enum(Tag.STATE, State.ACTIVE)), [self.sd, self.k2])

    def test_algorithm_length(self) -> None:
        """Cryptographic Algorithm and Length filter, alone and combined."""
        self.assertEqual(self.both(Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, 2)), [self.k3])
        self.assertEqual(
            self.both(Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, 3), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256)), [self.k2]
        )

    def test_usage_mask_bits(self) -> None:
        """A usage mask filter needs every requested bit set in the object's mask."""
        self.assertEqual(self.both(Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 0x04)), [self.sd, self.k3, self.k2, self.k1])
        self.assertEqual(self.both(Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 0x0C)), [self.sd, self.k3, self.k1])
        self.assertEqual(self.both(Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 0x0D)), [self.k3])

    def test_object_group(self) -> None:
        """Object Group matches any instance; two groups must both be present."""
        self.assertEqual(self.both(group("g")), [self.k2, self.k1])
        self.assertEqual(self.both(group("g"), group("h")), [self.k2])

    def test_link_full_and_partial(self) -> None:
        """Link matches whole, or by Linked Object Identifier alone."""
        self.assertEqual(self.both(link(self.k1)), [self.k3])
        self.assertEqual(self.both(link(self.k1, 0x101)), [])
        partial = Item.struct(Tag.LINK, [Item.text(Tag.LINKED_OBJECT_IDENTIFIER, self.k1)])
        self.assertEqual(self.both(partial), [self.k3])

    def test_application_specific_information(self) -> None:
        """ASI matches whole, or by namespace alone."""
        self.assertEqual(self.both(asi("LIBRARY-LTO", "123")), [self.k1])
        self.assertEqual(self.both(asi("LIBRARY-LTO", "999")), [])
        ns = Item.struct(Tag.APPLICATION_SPECIFIC_INFORMATION, [Item.text(Tag.APPLICATION_NAMESPACE, "LIBRARY-LTO")])
        self.assertEqual(self.both(ns), [self.k1])

    def test_custom_attributes(self) -> None:
        """Custom attributes of any type filter by value."""
        self.assertEqual(self.both(vendor_attr("x", "site", custom(ItemType.TEXT_STRING, "paris"))), [self.k1])
        self.assertEqual(self.both(vendor_attr("x", "slot", custom(ItemType.INTEGER, 7))), [self.k2])
        self.assertEqual(self.both(vendor_attr("x", "slot", custom(ItemType.INTEGER, 8))), [])

    def test_unique_identifier(self) -> None:
        """Unique Identifier as a filter finds that object."""
        self.assertEqual(self.both(Item.text(Tag.UNIQUE_IDENTIFIER, self.k2)), [self.k2])

    def test_combination(self) -> None:
        """Several filters of different kinds must all match."""
        self.assertEqual(
            self.both(
                Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
                Item.enum(Tag.STATE, State.PRE_ACTIVE),
                Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 0x08),
            ),
            [self.k3, self.k1],
        )
        self.assertEqual(
            self.both(
                Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), Item.enum(Tag.OBJECT_TYPE, ObjectType.SECRET_DATA)
            ),
            [],
        )

    def test_unknown_attribute(self) -> None:
        """An attribute name the server does not know is Invalid Field."""
        body = payload(attr_1x("Bogus Attribute", custom(ItemType.INTEGER, 1)))
        self.assertFailed(self.call(Operation.LOCATE, body), ResultReason.INVALID_FIELD)


class DateTests(_LocateBase):
    def setUp(self) -> None:
        super().setUp()
        self.objs = [
            new_object(
                self.store,
                attrs={
                    "Deactivation Date": [Item.datetime(Tag.DEACTIVATION_DATE, NOW + 100 * i)],
                    "x-when": [custom(ItemType.DATE_TIME, NOW + i)],
                },
            )
            for i in range(1, 5)
        ]

    def test_single_date_exact(self) -> None:
        """One instance of a date attribute matches that exact date."""
        self.assertEqual(self.both(Item.datetime(Tag.DEACTIVATION_DATE, NOW + 200)), [self.objs[1]])

    def test_range(self) -> None:
        """Two instances of a date attribute are an inclusive range (either order)."""
        self.assertEqual(
            self.both(Item.datetime(Tag.DEACTIVATION_DATE, NOW + 200), Item.datetime(Tag.DEACTIVATION_DATE, NOW + 300)),
            [self.objs[2], self.objs[1]],
        )
        self.assertEqual(
            self.both(Item.datetime(Tag.DEACTIVATION_DATE, NOW + 450), Item.datetime(Tag.DEACTIVATION_DATE, NOW + 250)),
            [self.objs[3], self.objs[2]],
        )

    def test_custom_date_range(self) -> None:
        """Date ranges work on custom date attributes too."""
        self.assertEqual(
            self.both(
                vendor_attr("x", "when", custom(ItemType.DATE_TIME, NOW + 1)),
                vendor_attr("x", "when", custom(ItemType.DATE_TIME, NOW + 2)),
            ),
            [self.objs[1], self.objs[0]],
        )

    def test_three_instances(self) -> None:
        """Three instances of one date attribute are Invalid Field."""
        dates = [Item.datetime(Tag.DEACTIVATION_DATE, NOW + i) for i in range(3)]
        self.assertFailed(self.locate(*dates), ResultReason.INVALID_FIELD)

    def test_maximum_date_is_no_constraint(self) -> None:
        """A date at its largest value is equivalent to no filter."""
        self.assertEqual(len(self.both(Item.datetime(Tag.DEACTIVATION_DATE, 2**63 - 1))), 4)


class PagingTests(_LocateBase):
    def setUp(self) -> None:
        super().setUp()
        self.objs = [new_object(self.store) for _ in range(5)]
        self.newest_first = list(reversed(self.objs))

    def test_maximum_items(self) -> None:
        """Maximum Items limits the result; Located Items counts every match (1.3+)."""
        result = self.locate(extra=[Item.int(Tag.MAXIMUM_ITEMS, 2)])
        self.assertEqual(result.payload.get(Tag.LOCATED_ITEMS), 5)
        self.assertEqual([c.value for c in result.payload.findall(Tag.UNIQUE_IDENTIFIER)], self.newest_first[:2])

    def test_offset_and_maximum(self) -> None:
        """Offset Items skips matches before Maximum Items applies (1.4 and 2.0)."""
        for version in (V14, V20):
            result = self.locate(version=version, extra=[Item.int(Tag.MAXIMUM_ITEMS, 2), Item.int(Tag.OFFSET_ITEMS, 3)])
            self.assertEqual([c.value for c in result.payload.findall(Tag.UNIQUE_IDENTIFIER)], self.newest_first[3:5])
            self.assertEqual(result.payload.value[0], Item.int(Tag.LOCATED_ITEMS, 5))

    def test_no_located_items_unless_paging(self) -> None:
        """Without Maximum/Offset Items the response holds only Unique Identifiers (conformance shape)."""
        result = self.locate()
        self.assertEqual({c.tag for c in result.payload.value}, {Tag.UNIQUE_IDENTIFIER})

    def test_located_items_not_before_1_3(self) -> None:
        """KMIP 1.2 has no Located Items; its Offset Items (a 1.3 field the PyKMIP client always
        sends, kmipd.compat) is applied."""
        result = self.locate(version=V12, extra=[Item.int(Tag.MAXIMUM_ITEMS, 1)])
        self.assertEqual([c.tag for c in result.payload.value], [Tag.UNIQUE_IDENTIFIER])
        result = self.locate(version=V12, extra=[Item.int(Tag.OFFSET_ITEMS, 1)])
        self.assertEqual({c.tag for c in result.payload.value}, {Tag.UNIQUE_IDENTIFIER})
        self.assertEqual([c.value for c in result.payload.value], self.newest_first[1:])

    def test_negative(self) -> None:
        """A negative Maximum Items is Invalid Field."""
        self.assertFailed(self.locate(extra=[Item.int(Tag.MAXIMUM_ITEMS, -1)]), ResultReason.INVALID_FIELD)


class PolicyTests(_LocateBase):
    def test_other_owner_hidden(self) -> None:
        """Under the default policy another owner's symmetric key is not returned."""
        mine = new_object(self.store, name="same")
        new_object(self.store, owner="bob", name="same2")
        self.assertEqual(self.both(), [mine])
        self.assertEqual(len(self.uids(caller="bob")), 1)

    def test_policy_before_paging(self) -> None:
        """Objects the caller may not Locate do not count toward Offset/Maximum Items."""
        mine = [new_object(self.store) for _ in range(2)]
        for _ in range(3):
            new_object(self.store, owner="bob")
        result = self.locate(extra=[Item.int(Tag.MAXIMUM_ITEMS, 1)])
        self.assertEqual(result.payload.get(Tag.LOCATED_ITEMS), 2)
        self.assertEqual(result.payload.get(Tag.UNIQUE_IDENTIFIER), mine[1])

    def test_public_certificates(self) -> None:
        """Certificates are Allow All for Locate under the default policy."""
        cert = new_object(self.store, owner="bob", object_type=ObjectType.CERTIFICATE)
        self.assertEqual(self.uids(), [cert])


class StorageStatusTests(_LocateBase):
    def setUp(self) -> None:
        super().setUp()
        self.online = new_object(self.store)
        self.archived = new_object(self.store, archived=True)
        self.destroyed = new_object(self.store, state=State.DESTROYED)

    def mask(self, value: int, version: tuple[int, int]) -> list[str]:
        return self.uids(version=version, extra=[Item.int(Tag.STORAGE_STATUS_MASK, value)])

    def test_default_online_only(self) -> None:
        """By default only on-line objects are searched (destroyed ones are not on-line)."""
        self.assertEqual(self.both(), [self.online])

    def test_masks(self) -> None:
        """Archival storage and (2.x) destroyed storage bits widen the search."""
        self.assertEqual(self.mask(2, V14), [self.archived])
        self.assertEqual(self.mask(3, V14), [self.archived, self.online])
        self.assertEqual(self.mask(4, V20), [self.destroyed])
        self.assertEqual(self.mask(7, V20), [self.destroyed, self.archived, self.online])
        self.assertFailed(self.locate(extra=[Item.int(Tag.STORAGE_STATUS_MASK, 4)]), ResultReason.INVALID_FIELD)


class GroupMemberAndUsageTests(_LocateBase):
    def test_group_member_fresh_and_default(self) -> None:
        """Group Member Fresh returns fresh members only; Group Member Default the newest member."""
        fresh = new_object(self.store, attrs={"Object Group": [group("pool")], "Fresh": [Item.bool(Tag.FRESH, True)]})
        new_object(self.store, attrs={"Object Group": [group("pool")], "Fresh": [Item.bool(Tag.FRESH, False)]})
        newest = new_object(self.store, attrs={"Object Group": [group("pool")]})
        member = Item.enum(Tag.OBJECT_GROUP_MEMBER, ObjectGroupMember.GROUP_MEMBER_FRESH)
        self.assertEqual(self.both(group("pool"), extra=[member]), [fresh])
        member = Item.enum(Tag.OBJECT_GROUP_MEMBER, ObjectGroupMember.GROUP_MEMBER_DEFAULT)
        self.assertEqual(self.both(group("pool"), extra=[member]), [newest])
        self.assertFailed(self.locate(group("pool"), version=(1, 0), extra=[member]), ResultReason.INVALID_FIELD)

    def test_usage_limits(self) -> None:
        """Usage Limits matches objects with at least the requested Total and Count."""

        def limits(total: int, count: int) -> Item:
            return Item.struct(
                Tag.USAGE_LIMITS,
                [
                    Item.long(Tag.USAGE_LIMITS_TOTAL, total),
                    Item.long(Tag.USAGE_LIMITS_COUNT, count),
                    Item.enum(Tag.USAGE_LIMITS_UNIT, 1),
                ],
            )

        big = new_object(self.store, attrs={"Usage Limits": [limits(100, 80)]})
        new_object(self.store, attrs={"Usage Limits": [limits(100, 10)]})
        new_object(self.store)
        self.assertEqual(self.both(limits(50, 50)), [big])


class PlaceholderAndDatesTests(_LocateBase):
    def test_single_result_sets_placeholder(self) -> None:
        """A Locate returning one object feeds the ID Placeholder; several empty it."""
        uid = new_object(self.store, name="only")
        new_object(self.store, name="other")
        locate_one = batch_item(Operation.LOCATE, payload(attr_1x("Name", name_item("only"))))
        response = send(self.d, request(locate_one, batch_item(Operation.ACTIVATE, payload())), caller="alice")
        self.assertEqual([r.ok for r in results(response)], [True, True])
        self.assertEqual(fetch(self.store, uid).state, State.ACTIVE)
        response = send(
            self.d,
            request(batch_item(Operation.LOCATE, payload()), batch_item(Operation.ACTIVATE, payload())),
            caller="alice",
        )
        self.assertEqual([r.reason for r in results(response)], [None, ResultReason.MISSING_DATA])

    def test_state_filter_applies_due_dates(self) -> None:
        """An object whose Activation Date has come is found as Active, not Pre-Active, and nothing is written."""
        clock = FakeClock(NOW)
        self.d = make_processor(self.store, clock=clock)
        uid = new_object(self.store, attrs={"Activation Date": [Item.datetime(Tag.ACTIVATION_DATE, NOW + 60)]})
        active, pre_active = Item.enum(Tag.STATE, State.ACTIVE), Item.enum(Tag.STATE, State.PRE_ACTIVE)
        self.assertEqual(self.both(active), [])
        self.assertEqual(self.both(pre_active), [uid])
        clock.advance(60)
        self.assertEqual(self.both(active), [uid])
        self.assertEqual(self.both(pre_active), [])
        stored = fetch(self.store, uid)
        assert stored is not None
        self.assertEqual((stored.state, stored.revision), (State.PRE_ACTIVE, 1))

    def test_state_filter_deactivation_date(self) -> None:
        """Both dates reached: Deactivated; only the Deactivation Date reached: still Pre-Active (spec diagram)."""
        clock = FakeClock(NOW)
        self.d = make_processor(self.store, clock=clock)
        both = new_object(self.store, attrs={
            "Activation Date": [Item.datetime(Tag.ACTIVATION_DATE, NOW - 20)],
            "Deactivation Date": [Item.datetime(Tag.DEACTIVATION_DATE, NOW - 10)]})
        only_deact = new_object(self.store, attrs={
            "Deactivation Date": [Item.datetime(Tag.DEACTIVATION_DATE, NOW - 10)]})
        was_active = new_object(self.store, state=State.ACTIVE, attrs={
            "Deactivation Date": [Item.datetime(Tag.DEACTIVATION_DATE, NOW - 5)]})
        still_active = new_object(self.store, state=State.ACTIVE)
        self.assertEqual(self.both(Item.enum(Tag.STATE, State.DEACTIVATED)), [was_active, both])
        self.assertEqual(self.both(Item.enum(Tag.STATE, State.PRE_ACTIVE)), [only_deact])
        self.assertEqual(self.both(Item.enum(Tag.STATE, State.ACTIVE)), [still_active])

    def test_state_filter_leaves_other_owners_objects_alone(self) -> None:
        """A State filter neither returns nor changes a due object the caller may not Locate."""
        clock = FakeClock(NOW)
        self.d = make_processor(self.store, clock=clock)
        due = {"Activation Date": [Item.datetime(Tag.ACTIVATION_DATE, NOW - 1)]}
        bobs = new_object(self.store, owner="bob", attrs=due)
        mine = new_object(self.store, attrs=due)
        before = fetch(self.store, bobs)
        assert before is not None
        self.assertEqual(self.both(Item.enum(Tag.STATE, State.ACTIVE)), [mine])
        after = fetch(self.store, bobs)
        assert after is not None
        self.assertEqual((after.state, after.revision), (before.state, before.revision))
        self.assertEqual(self.uids(Item.enum(Tag.STATE, State.ACTIVE), caller="bob"), [bobs])


class SQLiteLocateTests(FilterTests):
    """The filter tests again on the SQL store (SQLite)."""

    def setUp(self) -> None:
        self.store = sqlite_store(self)
        self.clock = FakeClock(NOW)
        self.d = make_processor(self.store, clock=self.clock)
        s = self.store
        self.k1 = new_object(
            s,
            name="k1",
            attrs={
                "Object Group": [group("g")],
                "x-site": [custom(ItemType.TEXT_STRING, "paris")],
                "Application Specific Information": [asi("LIBRARY-LTO", "123")],
            },
        )
        self.k2 = new_object(
            s,
            name="k2",
            state=State.ACTIVE,
            algorithm=3,
            length=256,
            mask=0x04,
            attrs={"Object Group": [group("g"), group("h")], "x-slot": [custom(ItemType.INTEGER, 7)]},
        )
        self.k3 = new_object(
            s, name="k3", algorithm=2, length=168, mask=0x04 | 0x08 | 0x01, attrs={"Link": [link(self.k1)]}
        )
        self.sd = new_object(s, name="s1", object_type=ObjectType.SECRET_DATA, state=State.ACTIVE)


class SQLiteDateTests(PlaceholderAndDatesTests):
    """Due-date transitions during Locate on SQLite."""

    def setUp(self) -> None:
        self.store = sqlite_store(self)
        self.clock = FakeClock(NOW)
        self.d = make_processor(self.store, clock=self.clock)
