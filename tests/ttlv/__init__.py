"""Tests for kmipd.ttlv, and the reader tests the XML and JSON encodings share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kmipd.spec import Tag
from kmipd.ttlv import DecodeError, Item


class TextReaderTestsMixin:
    """Malformed-input tests run against each text encoding's reader.

    A mixin for C{SynchronousTestCase}: set C{parse} (text -> Item, taking C{max_depth}),
    C{render} (Item -> text), C{error} (the reader's DecodeError subclass) and C{error_cases}
    (malformed text -> a fragment of the error message).
    """

    parse: Callable[..., Item]
    render: Callable[[Item], str]
    error: type[DecodeError]
    error_cases: dict[str, str]

    def test_errors(self) -> None:
        """Each malformed input raises the reader's error (a DecodeError) naming the problem."""
        t: Any = self
        for text, message in self.error_cases.items():
            e = t.assertRaises(self.error, self.parse, text)
            t.assertIsInstance(e, DecodeError)
            t.assertIn(message, str(e), text)

    def test_depth_limit(self) -> None:
        """Structures nested deeper than max_depth are refused."""
        t: Any = self
        item = Item.struct(Tag.ATTRIBUTE, [])
        for _ in range(4):
            item = Item.struct(Tag.ATTRIBUTE, [item])
        text = self.render(item)
        t.assertEqual(len(list(self.parse(text, max_depth=5).walk())), 5)
        t.assertRaises(self.error, self.parse, text, max_depth=4)
