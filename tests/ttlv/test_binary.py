"""Tests for L{kmipd.ttlv.binary}: byte-exact encoding, round trips and every named decode error."""

from __future__ import annotations

import struct
import time

from twisted.trial.unittest import SynchronousTestCase

from kmipd.ttlv import (
    DecodeError,
    DepthError,
    InvalidLengthError,
    InvalidValueError,
    Item,
    ItemType,
    MessageTooLargeError,
    PaddingError,
    TrailingDataError,
    TruncatedError,
    UnknownTypeError,
    decode,
    encode,
    encode_known,
    peek_header,
)

TAG = 0x420020


def hexbytes(text: str) -> bytes:
    """Bytes from the spec's "42 00 20 | 02 | ..." notation."""
    return bytes.fromhex(text.replace("|", " "))


# KMIP 1.4 section 9.1.2 "Examples", verbatim.
SPEC_EXAMPLES = [
    ("integer 8", Item(TAG, ItemType.INTEGER, 8),
     "42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00"),
    ("long integer", Item(TAG, ItemType.LONG_INTEGER, 123456789000000000),
     "42 00 20 | 03 | 00 00 00 08 | 01 B6 9B 4B A5 74 92 00"),
    ("big integer", Item(TAG, ItemType.BIG_INTEGER, 1234567890000000000000000000),
     "42 00 20 | 04 | 00 00 00 10 | 00 00 00 00 03 FD 35 EB 6B C2 DF 46 18 08 00 00"),
    ("enumeration", Item(TAG, ItemType.ENUMERATION, 255),
     "42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00"),
    ("boolean", Item(TAG, ItemType.BOOLEAN, True),
     "42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 01"),
    ("text string", Item(TAG, ItemType.TEXT_STRING, "Hello World"),
     "42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 00 00 00 00 00"),
    ("byte string", Item(TAG, ItemType.BYTE_STRING, b"\x01\x02\x03"),
     "42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00"),
    ("date-time", Item(TAG, ItemType.DATE_TIME, 0x47DA67F8),
     "42 00 20 | 09 | 00 00 00 08 | 00 00 00 00 47 DA 67 F8"),
    ("interval", Item(TAG, ItemType.INTERVAL, 10 * 86400),
     "42 00 20 | 0A | 00 00 00 04 | 00 0D 2F 00 00 00 00 00"),
    ("structure", Item(TAG, ItemType.STRUCTURE, [Item(0x420004, ItemType.ENUMERATION, 254),
                                                Item(0x420005, ItemType.INTEGER, 255)]),
     "42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00 | 42 00 05 | 02 |"
     " 00 00 00 04 | 00 00 00 FF 00 00 00 00"),
]


def header(tag: int, typ: int, length: int) -> bytes:
    """An 8-byte TTLV item header."""
    return struct.pack(">II", (tag << 8) | typ, length)


class SpecExampleTests(SynchronousTestCase):
    """The encoding examples of KMIP 1.4 section 9.1.2, byte for byte."""

    def test_encode_examples(self) -> None:
        """Each spec example item encodes to exactly the spec's bytes."""
        for name, item, expected in SPEC_EXAMPLES:
            self.assertEqual(encode(item), hexbytes(expected), name)

    def test_decode_examples(self) -> None:
        """Each spec example's bytes decode to the spec's item."""
        for name, item, expected in SPEC_EXAMPLES:
            self.assertEqual(decode(hexbytes(expected)), item, name)

    def test_date_time_example_value(self) -> None:
        """The Date-Time example is Friday, March 14, 2008, 11:56:40 GMT."""
        item = decode(hexbytes(SPEC_EXAMPLES[7][2]))
        self.assertEqual(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(item.value)), "2008-03-14 11:56:40")


class RoundTripTests(SynchronousTestCase):
    """encode() then decode() returns the same tree for every type and edge value."""

    def assertRoundTrip(self, item: Item) -> bytes:
        data = encode(item)
        self.assertEqual(len(data) % 8, 0, "every encoding is a multiple of 8 bytes")
        self.assertEqual(decode(data), item)
        return data

    def test_integers(self) -> None:
        """Integer covers the full signed 32-bit range, including negatives."""
        for v in (0, 1, -1, 2**31 - 1, -(2**31), -8):
            self.assertRoundTrip(Item(TAG, ItemType.INTEGER, v))

    def test_negative_integer_bytes(self) -> None:
        """A negative Integer is two's complement with zero padding."""
        self.assertEqual(encode(Item(TAG, ItemType.INTEGER, -1)),
                         header(TAG, 2, 4) + b"\xff\xff\xff\xff\0\0\0\0")

    def test_long_integers(self) -> None:
        """Long Integer covers the signed 64-bit range."""
        for v in (0, -1, 2**63 - 1, -(2**63), 123456789000000000):
            self.assertRoundTrip(Item(TAG, ItemType.LONG_INTEGER, v))

    def test_big_integers(self) -> None:
        """Big Integers of any sign and size round-trip with a multiple-of-8 length."""
        for v in (0, 1, -1, 127, 128, -128, -129, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1,
                  2**255 + 12345, -(2**2047) + 3, 1234567890000000000000000000):
            data = self.assertRoundTrip(Item(TAG, ItemType.BIG_INTEGER, v))
            self.assertEqual(peek_header(data)[2] % 8, 0, v)

    def test_big_integer_minimal(self) -> None:
        """A Big Integer that fits in 8 signed bytes is encoded in 8 bytes, not 16."""
        for v in (2**63 - 1, 2**56, -(2**63)):
            self.assertEqual(peek_header(encode(Item(TAG, ItemType.BIG_INTEGER, v)))[2], 8, v)
        self.assertEqual(peek_header(encode(Item(TAG, ItemType.BIG_INTEGER, 2**63)))[2], 16)

    def test_negative_big_integer_bytes(self) -> None:
        """-1 as a Big Integer is eight 0xFF bytes (sign-extended two's complement)."""
        self.assertEqual(encode(Item(TAG, ItemType.BIG_INTEGER, -1)), header(TAG, 4, 8) + b"\xff" * 8)

    def test_enumerations(self) -> None:
        """Enumerations are unsigned 32-bit, including extension values 0x8XXXXXXX."""
        for v in (0, 1, 0x80000001, 0xFFFFFFFF):
            self.assertRoundTrip(Item(TAG, ItemType.ENUMERATION, v))

    def test_booleans(self) -> None:
        """True and False round-trip as Python bools."""
        for v in (True, False):
            decoded = decode(self.assertRoundTrip(Item(TAG, ItemType.BOOLEAN, v)))
            self.assertIs(decoded.value, v)

    def test_text(self) -> None:
        """Text strings round-trip, including empty, exactly-8-byte and non-ASCII strings."""
        for v in ("", "12345678", "Hello World", "clé ключ 鍵 🔑", "\x00inner nul"):
            self.assertRoundTrip(Item(TAG, ItemType.TEXT_STRING, v))

    def test_unicode_length_is_bytes(self) -> None:
        """A Text String's length counts UTF-8 bytes, not characters."""
        data = encode(Item(TAG, ItemType.TEXT_STRING, "é🔑"))
        self.assertEqual(peek_header(data)[2], 6)
        self.assertEqual(len(data), 16)

    def test_bytes(self) -> None:
        """Byte strings of lengths 0..17 round-trip with correct padding."""
        for n in range(18):
            data = self.assertRoundTrip(Item(TAG, ItemType.BYTE_STRING, bytes(range(n))))
            self.assertEqual(len(data), 8 + ((n + 7) // 8) * 8)

    def test_date_time(self) -> None:
        """Date-Time values before and after the epoch round-trip."""
        for v in (0, 1_700_000_000, -86400):
            self.assertRoundTrip(Item(TAG, ItemType.DATE_TIME, v))

    def test_date_time_extended(self) -> None:
        """Date-Time Extended (type 0x0B, microseconds) round-trips with an 8-byte value."""
        item = Item(TAG, ItemType.DATE_TIME_EXTENDED, 1_700_000_000_123_456)
        data = self.assertRoundTrip(item)
        self.assertEqual(data[:8], header(TAG, 0x0B, 8))
        self.assertEqual(data[8:], struct.pack(">q", 1_700_000_000_123_456))

    def test_interval(self) -> None:
        """Intervals are unsigned 32-bit."""
        for v in (0, 864000, 0xFFFFFFFF):
            self.assertRoundTrip(Item(TAG, ItemType.INTERVAL, v))

    def test_empty_structure(self) -> None:
        """An empty structure encodes as a bare header with length 0."""
        data = self.assertRoundTrip(Item(TAG, ItemType.STRUCTURE, []))
        self.assertEqual(data, header(TAG, 1, 0))

    def test_nested_structures(self) -> None:
        """A tree mixing every type and nested (empty) structures round-trips."""
        tree = Item(0x420078, ItemType.STRUCTURE, [
            Item(0x420077, ItemType.STRUCTURE, [
                Item(0x420069, ItemType.STRUCTURE, [Item(0x42006A, ItemType.INTEGER, 1),
                                                    Item(0x42006B, ItemType.INTEGER, 4)]),
                Item(0x42000D, ItemType.INTEGER, 1),
            ]),
            Item(0x42000F, ItemType.STRUCTURE, []),
            Item(0x540001, ItemType.TEXT_STRING, "vendor extension tag"),
            Item(0x420001, ItemType.LONG_INTEGER, -5),
            Item(0x420002, ItemType.BIG_INTEGER, -(2**100)),
            Item(0x420003, ItemType.BOOLEAN, False),
            Item(0x420004, ItemType.BYTE_STRING, b"\xff" * 33),
            Item(0x420005, ItemType.DATE_TIME_EXTENDED, 5),
            Item(0x420006, ItemType.INTERVAL, 7),
        ])
        self.assertRoundTrip(tree)

    def test_unknown_tags_preserved(self) -> None:
        """Tags the registry does not know (e.g. 0x54xxxx extensions) decode as raw items."""
        item = decode(encode(Item(0x54FFFF, ItemType.INTEGER, 3)))
        self.assertEqual((item.tag, item.type, item.value), (0x54FFFF, ItemType.INTEGER, 3))

    def test_decode_accepts_memoryview_and_bytearray(self) -> None:
        """decode() accepts bytes, bytearray and memoryview."""
        data = hexbytes(SPEC_EXAMPLES[0][2])
        for buf in (data, bytearray(data), memoryview(data)):
            self.assertEqual(decode(buf).value, 8)

    def test_peek_header(self) -> None:
        """peek_header() returns tag, type and length of an item at an offset."""
        data = b"xx" + header(0x420078, 1, 0x20)
        self.assertEqual(peek_header(data, 2), (0x420078, 1, 0x20))

    def test_encode_unknown_type(self) -> None:
        """Encoding an item of an unknown type raises ValueError, not garbage bytes."""
        self.assertRaises(ValueError, encode, Item(TAG, 0x0C, 1))


class DecodeErrorTests(SynchronousTestCase):
    """Every malformed input gives its own named L{DecodeError}."""

    def assertDecodeError(self, cls: type[DecodeError], data: bytes, **kwargs: int) -> DecodeError:
        e = self.assertRaises(cls, decode, data, **kwargs)
        self.assertIsInstance(e, DecodeError)
        self.assertIsInstance(e, ValueError)
        return e

    def test_truncated_header(self) -> None:
        """Fewer than 8 bytes cannot hold an item header."""
        self.assertDecodeError(TruncatedError, b"\x42\x00\x20\x02\x00")
        self.assertDecodeError(TruncatedError, b"")

    def test_truncated_value(self) -> None:
        """A primitive whose value runs past the buffer is truncated."""
        self.assertDecodeError(TruncatedError, header(TAG, 2, 4) + b"\0\0\0\x08")
        self.assertDecodeError(TruncatedError, header(TAG, 7, 11) + b"Hello")

    def test_length_past_parent(self) -> None:
        """A child whose length runs past its parent's end is truncated, even if bytes follow."""
        child = header(0x420004, 8, 16) + bytes(16)
        parent = header(TAG, 1, 16) + child  # parent claims 16, child needs 24
        e = self.assertDecodeError(TruncatedError, parent)
        self.assertEqual(e.offset, 8)

    def test_structure_past_buffer(self) -> None:
        """A structure announcing more bytes than the buffer holds is truncated."""
        self.assertDecodeError(TruncatedError, header(TAG, 1, 64) + encode(Item(0x420004, 2, 1)))

    def test_huge_length_does_not_allocate(self) -> None:
        """A 12-byte input claiming 2 GB fails fast with TruncatedError, allocating nothing."""
        for typ in (1, 4, 7, 8):
            data = header(TAG, typ, 0x7FFFFFF8) + b"abcd"
            started = time.perf_counter()
            self.assertDecodeError(TruncatedError, data)
            self.assertLess(time.perf_counter() - started, 0.1)
        self.assertDecodeError(TruncatedError, header(TAG, 7, 0xFFFFFFFF) + b"abcd")

    def test_nonzero_padding(self) -> None:
        """Non-zero padding bytes are rejected for fixed and variable length types."""
        self.assertDecodeError(PaddingError, header(TAG, 2, 4) + b"\0\0\0\x08\0\0\0\x01")
        self.assertDecodeError(PaddingError, header(TAG, 5, 4) + b"\0\0\0\x08\x01\0\0\0")
        self.assertDecodeError(PaddingError, header(TAG, 10, 4) + b"\0\0\0\x08\0\x01\0\0")
        self.assertDecodeError(PaddingError, header(TAG, 7, 3) + b"abc\0\0\0\0\x20")
        self.assertDecodeError(PaddingError, header(TAG, 8, 1) + b"a\x01\0\0\0\0\0\0")

    def test_structure_length_not_multiple_of_8(self) -> None:
        """A structure length that is not a multiple of 8 is a padding error."""
        self.assertDecodeError(PaddingError, header(TAG, 1, 12) + bytes(16))

    def test_integer_length_3(self) -> None:
        """An Integer with length 3 (or any length other than 4) is an invalid length."""
        self.assertDecodeError(InvalidLengthError, header(TAG, 2, 3) + bytes(8))
        self.assertDecodeError(InvalidLengthError, header(TAG, 2, 8) + bytes(8))
        self.assertDecodeError(InvalidLengthError, header(TAG, 5, 8) + bytes(8))

    def test_fixed8_lengths(self) -> None:
        """Long Integer, Boolean, Date-Time and Date-Time Extended need length 8."""
        for typ in (3, 6, 9, 11):
            self.assertDecodeError(InvalidLengthError, header(TAG, typ, 4) + bytes(8))

    def test_big_integer_length(self) -> None:
        """A Big Integer length that is zero or not a multiple of 8 is invalid."""
        self.assertDecodeError(InvalidLengthError, header(TAG, 4, 0))
        self.assertDecodeError(InvalidLengthError, header(TAG, 4, 4) + bytes(8))

    def test_unknown_type(self) -> None:
        """Item types 0x00 and 0x0C..0xFF are unknown."""
        for typ in (0x00, 0x0C, 0xFF):
            e = self.assertDecodeError(UnknownTypeError, header(TAG, typ, 0))
            self.assertIn("unknown type", str(e))

    def test_depth(self) -> None:
        """Structures nested beyond max_depth raise DepthError; at the limit they decode."""
        def nested(levels: int) -> Item:
            item = Item(TAG, ItemType.INTEGER, 1)
            for _ in range(levels):
                item = Item(TAG, ItemType.STRUCTURE, [item])
            return item

        self.assertEqual(decode(encode(nested(4)), max_depth=4), nested(4))
        self.assertDecodeError(DepthError, encode(nested(5)), max_depth=4)
        self.assertDecodeError(DepthError, encode(nested(100)))

    def test_message_too_large(self) -> None:
        """A message larger than max_size is refused before decoding."""
        data = encode(Item(TAG, ItemType.BYTE_STRING, bytes(100)))
        self.assertDecodeError(MessageTooLargeError, data, max_size=64)
        self.assertEqual(decode(data, max_size=len(data)).value, bytes(100))

    def test_boolean_two(self) -> None:
        """A Boolean other than 0 or 1 is an invalid value."""
        self.assertDecodeError(InvalidValueError, header(TAG, 6, 8) + struct.pack(">q", 2))
        self.assertDecodeError(InvalidValueError, header(TAG, 6, 8) + struct.pack(">q", -1))

    def test_invalid_utf8(self) -> None:
        """A Text String that is not UTF-8 is an invalid value."""
        self.assertDecodeError(InvalidValueError, header(TAG, 7, 2) + b"\xc3\x28" + bytes(6))

    def test_trailing_data(self) -> None:
        """Bytes after the top-level item are refused."""
        data = hexbytes(SPEC_EXAMPLES[0][2]) + bytes(8)
        e = self.assertDecodeError(TrailingDataError, data)
        self.assertEqual(e.offset, 16)

    def test_error_in_nested_child_has_offset(self) -> None:
        """Errors deep in a tree report the offset of the bad item."""
        bad = header(0x420004, 6, 8) + struct.pack(">q", 7)
        data = header(TAG, 1, 16) + bad
        e = self.assertDecodeError(InvalidValueError, data)
        self.assertEqual(e.offset, 8)
        self.assertIn("at byte 8", str(e))


class EncodeKnownTests(SynchronousTestCase):
    """encode_known: the bytes of encode when every item below the top is known to be allowed."""

    tree = Item.struct(0x420001, [
        Item.enum(0x420002, 7),
        Item.struct(0x420003, [Item.text(0x420004, "x"), Item.int(0x420005, 1)]),
    ])

    def test_all_known(self) -> None:
        """Every key below the top maps to True: the same bytes as encode."""
        known = {(0x420002, 7): True, 0x420003: True, 0x420004: True, 0x420005: True}
        self.assertEqual(encode_known(self.tree, known), encode(self.tree))

    def test_unknown_or_refused(self) -> None:
        """A key missing or mapped to False anywhere below the top: None (an enumeration by its value)."""
        known = {(0x420002, 7): True, 0x420003: True, 0x420004: True, 0x420005: True}
        for key in known:
            for value in (None, False):
                partial: dict[object, bool] = dict(known)
                if value is None:
                    del partial[key]
                else:
                    partial[key] = value
                self.assertIsNone(encode_known(self.tree, partial), key)
        self.assertIsNone(encode_known(self.tree, {**known, (0x420002, 7): False, 0x420002: True}))

    def test_top_item_not_looked_up(self) -> None:
        """The top item itself is written whatever C{known} says (a primitive: plain encode)."""
        self.assertEqual(encode_known(Item.struct(0x420001, []), {}), encode(Item.struct(0x420001, [])))
        self.assertEqual(encode_known(Item.int(0x420001, 5), {}), encode(Item.int(0x420001, 5)))
