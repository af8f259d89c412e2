"""One attribute-value check for Create, Add Attribute and Import (kmipd.model.attrcheck): the same
bad value gets the same Result Reason from each, Invalid Attribute Value in 2.1, Invalid Field in 1.4."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.errors import InvalidAttributeValue, table_reason
from kmipd.model.attrcheck import check_value
from kmipd.model.attributes import to_1x
from kmipd.spec import LinkType, Operation, ResultReason, Tag, UsageLimitsUnit
from kmipd.testing import call, make_dispatcher
from kmipd.ttlv import Item

from .test_attribute_ops import new_attr
from .test_create import Assertions, aes_attrs, create, uid_payload
from .test_transfer import export, import_body

V14, V21 = (1, 4), (2, 1)

#: Values kmipd cannot store, each refused by every path.
BAD: dict[str, tuple[str, Item]] = {
    "negative mask": ("Cryptographic Usage Mask", Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, -1)),
    "undefined mask bits": ("Cryptographic Usage Mask", Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 1 << 30)),
    "Link without its object": ("Link", Item.struct(Tag.LINK, [Item.enum(Tag.LINK_TYPE, LinkType.PARENT_LINK)])),
    "Link object of the wrong type": ("Link", Item.struct(Tag.LINK, [
        Item.enum(Tag.LINK_TYPE, LinkType.PARENT_LINK), Item.int(Tag.LINKED_OBJECT_IDENTIFIER, 7)])),
    "Name Type of the wrong type": ("Name", Item.struct(Tag.NAME, [
        Item.text(Tag.NAME_VALUE, "n"), Item.int(Tag.NAME_TYPE, 1)])),
}


def reason(version: tuple[int, int], operation: int) -> int:
    """Invalid Attribute Value as the operation's 2.1 table names it (Add Attribute's lists Invalid
    Attribute), Invalid Field in 1.4."""
    if version < (2, 0):
        return ResultReason.INVALID_FIELD
    return table_reason(operation, ResultReason.INVALID_ATTRIBUTE_VALUE)


class SameCheckEverywhereTests(SynchronousTestCase, Assertions):
    """Create, Add Attribute and Import refuse the same values with the same reason."""

    def test_create(self) -> None:
        for version in (V21, V14):
            for why, (name, value) in BAD.items():
                d = make_dispatcher()
                attrs = [a for a in aes_attrs() if a[0] != name] + [(name, value)]
                with self.subTest(version=version, why=why):
                    self.assertFails(create(d, attrs, version=version), reason(version, Operation.CREATE))

    def test_add_attribute(self) -> None:
        for version in (V21, V14):
            for why, (name, value) in BAD.items():
                if name == "Cryptographic Usage Mask":
                    continue  # single-valued, required at creation: Add Attribute never gets that far
                d = make_dispatcher()
                r = create(d, aes_attrs(), version=version)
                self.assertOK(r)
                uid = r.payload.get(Tag.UNIQUE_IDENTIFIER)
                attr = new_attr(value) if version >= (2, 0) else to_1x(name, value)
                with self.subTest(version=version, why=why):
                    self.assertFails(call(d, Operation.ADD_ATTRIBUTE, uid_payload(uid, attr), version=version,
                                          caller="alice"),
                                     reason(version, Operation.ADD_ATTRIBUTE))

    def test_import(self) -> None:
        for version in (V21, V14):
            for why, (name, value) in BAD.items():
                d = make_dispatcher()
                uid = create(d, aes_attrs(), version=version).payload.get(Tag.UNIQUE_IDENTIFIER)
                exported = export(d, uid, version=version).payload.copy()
                if version >= (2, 0):
                    container = exported.find(Tag.ATTRIBUTES)
                    container.value = [c for c in container.value if c.tag != value.tag] + [value]
                else:
                    exported.value = [c for c in exported.value if c.tag != Tag.ATTRIBUTE
                                      or c.get(Tag.ATTRIBUTE_NAME) != name] + [to_1x(name, value)]
                body = import_body("imported", exported)
                if version < (2, 0):
                    body.value = [c for c in body.value if c.tag != Tag.OBJECT_TYPE]
                with self.subTest(version=version, why=why):
                    self.assertFails(call(d, Operation.IMPORT, body, version=version, caller="alice"),
                                     reason(version, Operation.IMPORT))


def limits(total: int, count: int | None = None) -> Item:
    children = [Item.long(Tag.USAGE_LIMITS_TOTAL, total)]
    if count is not None:
        children.append(Item.long(Tag.USAGE_LIMITS_COUNT, count))
    return Item.struct(Tag.USAGE_LIMITS, [*children, Item.enum(Tag.USAGE_LIMITS_UNIT, UsageLimitsUnit.OBJECT)])


class CheckValueTests(SynchronousTestCase):
    """L{check_value} on Usage Limits: a client's count is the server's business (Add Attribute
    sets it), a stored one (Import) must be there and in range; a negative total never passes."""

    def test_usage_limits(self) -> None:
        check_value("Usage Limits", limits(5, 99), V21)  # the count is not the client's to give
        check_value("Usage Limits", limits(5, 2), V21, stored=True)
        for value, stored in ((limits(-1), False), (limits(5), True), (limits(5, 6), True),
                                  (limits(5, -1), True)):
            with self.subTest(value=value, stored=stored):
                self.assertRaises(InvalidAttributeValue, check_value, "Usage Limits", value, V21,
                                  stored=stored)

    def test_enumeration_of_the_version(self) -> None:
        """A stored (imported) enumeration value the version does not define is refused, at the top
        and in a structure; a template's is left to the operation."""
        undefined = Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, "n"), Item.enum(Tag.NAME_TYPE, 0x7F)])
        check_value("Name", Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, "n"), Item.enum(Tag.NAME_TYPE, 1)]), V14,
                    stored=True)
        check_value("Name", undefined, V14)
        self.assertRaises(InvalidAttributeValue, check_value, "Name", undefined, V14, stored=True)
        self.assertRaises(InvalidAttributeValue, check_value, "Object Type", Item.enum(Tag.OBJECT_TYPE, 0x7F), V21,
                          stored=True)
