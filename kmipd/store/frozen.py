# -*- test-case-name: tests.store.test_frozen -*-
"""Read-only attribute items: what the stores hand out instead of deep copies.

A store keeps the attribute items it read or wrote and gives every transaction its own
attribute mapping and lists holding those same items, frozen: a handler replaces, adds or
deletes instances (which changes only its own lists), and an attempt to change a stored item in
place raises C{TypeError} instead of silently changing what the store (or its object cache)
holds. C{item.copy()} of a frozen item is an ordinary, changeable deep copy.
"""

from __future__ import annotations

from typing import Any, NoReturn

from ..ttlv import Item, ItemType

_STRUCTURE = int(ItemType.STRUCTURE)
_set = object.__setattr__


def _refuse(*_: Any, **__: Any) -> NoReturn:
    raise TypeError("a stored attribute item is read-only: build a new item (or copy() it) to change it")


class FrozenList(list[Any]):
    """The children of a frozen structure: a list that refuses every change in place."""

    __slots__ = ()
    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse


class FrozenItem(Item):
    """An L{Item} whose tag, type and value cannot be changed (structures hold frozen children)."""

    __slots__ = ()

    def __init__(self, tag: int, type: int, value: Any) -> None:
        _set(self, "tag", tag)
        _set(self, "type", type)
        _set(self, "value", value)

    __setattr__ = __delattr__ = _refuse


def frozen(item: Item) -> Item:
    """C{item} as a L{FrozenItem} (itself if it already is one)."""
    if type(item) is FrozenItem:
        return item
    if item.type == _STRUCTURE:
        return FrozenItem(item.tag, item.type, FrozenList([frozen(c) for c in item.value]))
    return FrozenItem(item.tag, item.type, item.value)


def frozen_attributes(attributes: dict[str, list[Item | None]]) -> dict[str, list[Item | None]]:
    """A new attribute mapping of new lists holding frozen items (holes kept)."""
    return {name: [frozen(item) if item is not None else None for item in values]
            for name, values in attributes.items()}


def shared_attributes(attributes: dict[str, list[Item | None]]) -> dict[str, list[Item | None]]:
    """A new attribute mapping of new lists holding the same (frozen) items: a transaction's own view."""
    return {name: values.copy() for name, values in attributes.items()}


__all__ = ["FrozenItem", "FrozenList", "frozen", "frozen_attributes", "shared_attributes"]
