"""Read-only attribute items (kmipd.store.frozen): equal to ordinary items, unchangeable in place."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.spec import Tag
from kmipd.store.frozen import FrozenItem, frozen, frozen_attributes, shared_attributes
from kmipd.ttlv import Item, encode


def _name(text: str) -> Item:
    return Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, text), Item.enum(Tag.NAME_TYPE, 1)])


class FrozenTests(SynchronousTestCase):
    def test_equal_and_encoded_alike(self) -> None:
        """A frozen item equals (and encodes to the same bytes as) the item it was made from."""
        item = _name("n")
        ice = frozen(item)
        self.assertIsInstance(ice, FrozenItem)
        self.assertEqual(ice, item)
        self.assertEqual(item, ice)
        self.assertEqual(encode(ice), encode(item))
        self.assertIs(frozen(ice), ice)

    def test_every_change_in_place_refused(self) -> None:
        """Setting or deleting tag, type or value, and every list mutator of a structure, raise TypeError."""
        ice = frozen(_name("n"))
        child = ice.value[0]
        for change in (lambda: setattr(ice, "value", []), lambda: setattr(child, "value", "x"),
                       lambda: setattr(ice, "tag", 1), lambda: delattr(child, "value"),
                       lambda: ice.value.append(child), lambda: ice.value.extend([child]),
                       lambda: ice.value.insert(0, child), lambda: ice.value.remove(child),
                       lambda: ice.value.pop(), lambda: ice.value.clear(), lambda: ice.value.sort(),
                       lambda: ice.value.reverse(), lambda: ice.value.__setitem__(0, child),
                       lambda: ice.value.__delitem__(0), lambda: ice.value.__iadd__([child]),
                       lambda: ice.value.__imul__(2)):
            self.assertRaises(TypeError, change)
        self.assertEqual(ice, _name("n"))

    def test_copies_are_ordinary(self) -> None:
        """copy() and slices of a frozen structure are ordinary, changeable items and lists."""
        ice = frozen(_name("n"))
        mine = ice.copy()
        self.assertIs(type(mine), Item)
        mine.value[0].value = "changed"
        part = ice.value[:1]
        part.append(Item.text(Tag.NAME_VALUE, "more"))
        self.assertEqual(ice, _name("n"))

    def test_attribute_mappings(self) -> None:
        """frozen_attributes() keeps holes; shared_attributes() gives new lists holding the same items."""
        attrs: dict[str, list[Item | None]] = {"Name": [None, _name("b")]}
        ice = frozen_attributes(attrs)
        self.assertEqual(ice, attrs)
        self.assertIsNone(ice["Name"][0])
        view = shared_attributes(ice)
        self.assertIsNot(view["Name"], ice["Name"])
        self.assertIs(view["Name"][1], ice["Name"][1])
        view["Name"].append(None)
        self.assertEqual(len(ice["Name"]), 2)
