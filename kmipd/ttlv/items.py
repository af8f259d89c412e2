# -*- test-case-name: tests.ttlv.test_binary -*-
"""The TTLV item tree: one light node type for every KMIP value."""

from __future__ import annotations

import builtins
import enum
from collections.abc import Iterator, Sequence
from typing import Any


class ItemType(enum.IntEnum):
    """TTLV item types (KMIP 1.x section 9.1.1.2, 2.x section 9.1.1.2)."""

    STRUCTURE = 0x01
    INTEGER = 0x02
    LONG_INTEGER = 0x03
    BIG_INTEGER = 0x04
    ENUMERATION = 0x05
    BOOLEAN = 0x06
    TEXT_STRING = 0x07
    BYTE_STRING = 0x08
    DATE_TIME = 0x09
    INTERVAL = 0x0A
    DATE_TIME_EXTENDED = 0x0B


# The builders store plain ints as item types: cheaper to compare than the enum members.
_STRUCTURE = int(ItemType.STRUCTURE)
_INTEGER = int(ItemType.INTEGER)
_LONG_INTEGER = int(ItemType.LONG_INTEGER)
_BIG_INTEGER = int(ItemType.BIG_INTEGER)
_ENUMERATION = int(ItemType.ENUMERATION)
_BOOLEAN = int(ItemType.BOOLEAN)
_TEXT_STRING = int(ItemType.TEXT_STRING)
_BYTE_STRING = int(ItemType.BYTE_STRING)
_DATE_TIME = int(ItemType.DATE_TIME)
_INTERVAL = int(ItemType.INTERVAL)


class Item:
    """A TTLV node: C{tag}, C{type} and C{value}.

    Value types: Structure -> C{list[Item]}; Integer, Long Integer, Big Integer, Enumeration,
    Interval -> C{int}; Date-Time -> C{int} seconds since the epoch; Date-Time Extended -> C{int}
    microseconds since the epoch; Boolean -> C{bool}; Text String -> C{str}; Byte String -> C{bytes}.
    """

    __slots__ = ("tag", "type", "value")

    def __init__(self, tag: builtins.int, type: builtins.int, value: Any) -> None:
        self.tag = tag
        self.type = type
        self.value = value

    # Construction helpers -------------------------------------------------
    @classmethod
    def struct(cls, tag: builtins.int, children: Sequence[Item | None] | None = None) -> Item:
        """A Structure of C{children}; C{None} children are dropped (optional fields)."""
        return cls(tag, _STRUCTURE, [c for c in (children or ()) if c is not None])

    @classmethod
    def int(cls, tag: builtins.int, value: builtins.int) -> Item:
        return cls(tag, _INTEGER, value)

    @classmethod
    def long(cls, tag: builtins.int, value: builtins.int) -> Item:
        return cls(tag, _LONG_INTEGER, value)

    @classmethod
    def big(cls, tag: builtins.int, value: builtins.int) -> Item:
        return cls(tag, _BIG_INTEGER, value)

    @classmethod
    def enum(cls, tag: builtins.int, value: builtins.int) -> Item:
        return cls(tag, _ENUMERATION, int(value))

    @classmethod
    def bool(cls, tag: builtins.int, value: builtins.bool) -> Item:
        return cls(tag, _BOOLEAN, bool(value))

    @classmethod
    def text(cls, tag: builtins.int, value: str) -> Item:
        return cls(tag, _TEXT_STRING, value)

    @classmethod
    def bytes(cls, tag: builtins.int, value: builtins.bytes) -> Item:
        return cls(tag, _BYTE_STRING, bytes(value))

    @classmethod
    def datetime(cls, tag: builtins.int, value: builtins.int) -> Item:
        return cls(tag, _DATE_TIME, int(value))

    @classmethod
    def interval(cls, tag: builtins.int, value: builtins.int) -> Item:
        return cls(tag, _INTERVAL, int(value))

    # Navigation ------------------------------------------------------------
    def find(self, tag: builtins.int) -> Item | None:
        """The first child with C{tag}, or C{None}."""
        for child in self.value:
            if child.tag == tag:
                return child
        return None

    def findall(self, tag: builtins.int) -> list[Item]:
        """Every child with C{tag}, in order."""
        return [child for child in self.value if child.tag == tag]

    def get(self, tag: builtins.int, default: Any = None) -> Any:
        """The value of the first child with C{tag}, or C{default}."""
        for child in self.value:
            if child.tag == tag:
                return child.value
        return default

    def walk(self) -> Iterator[Item]:
        """This item and every descendant, depth first."""
        yield self
        if self.type == _STRUCTURE:
            for child in self.value:
                yield from child.walk()

    def copy(self) -> Item:
        """A deep copy."""
        if self.type == _STRUCTURE:  # a plain int: no enum attribute lookup per node (hot in the object cache)
            return Item(self.tag, self.type, [c.copy() for c in self.value])
        return Item(self.tag, self.type, self.value)

    # Dunder ---------------------------------------------------------------
    def __eq__(self, other: object) -> builtins.bool:
        if not isinstance(other, Item):
            return NotImplemented
        return self.tag == other.tag and self.type == other.type and self.value == other.value

    def __hash__(self) -> builtins.int:  # pragma: no cover - items are mutable; hash by identity
        return id(self)

    def __repr__(self) -> str:
        if self.type == _STRUCTURE:
            return f"Item(0x{self.tag:06X}, STRUCTURE, {self.value!r})"
        return f"Item(0x{self.tag:06X}, {ItemType(self.type).name}, {self.value!r})"
