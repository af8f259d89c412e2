# -*- test-case-name: tests.ttlv.test_binary -*-
"""Binary TTLV encoding (KMIP section 9.1): a bounded decoder and a one-pass encoder.

Sans-IO: no Twisted imports. Decoding reads one C{memoryview} with offsets; every length is checked
against its parent before anything is allocated. Encoding writes into one C{bytearray} and
back-patches structure lengths.
"""

from __future__ import annotations

import struct

from .errors import (
    DepthError,
    InvalidLengthError,
    InvalidValueError,
    MessageTooLargeError,
    PaddingError,
    TrailingDataError,
    TruncatedError,
    UnknownTypeError,
)
from .items import Item, ItemType

DEFAULT_MAX_DEPTH = 32

_HEADER = struct.Struct(">II")  # (tag << 8) | type, length
_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_I64 = struct.Struct(">q")
_HDR_PACK = struct.Struct(">I").pack  # (tag << 8) | type
_LEN_PACK = struct.Struct(">I").pack
_ZEROS = bytes(8)
_I32_PAD = struct.Struct(">iI")  # a 4-byte value and its 4 bytes of padding
_U32_PAD = struct.Struct(">II")
# Whole fixed-size items in one pack: header word, length, value (and padding)
_PACK_U32_ITEM = struct.Struct(">IIII").pack
_PACK_I32_ITEM = struct.Struct(">IIiI").pack
_PACK_I64_ITEM = struct.Struct(">IIq").pack
_PACK_HEADER = struct.Struct(">II").pack

_STRUCTURE = int(ItemType.STRUCTURE)
_INTEGER = int(ItemType.INTEGER)
_LONG = int(ItemType.LONG_INTEGER)
_BIG = int(ItemType.BIG_INTEGER)
_ENUM = int(ItemType.ENUMERATION)
_BOOL = int(ItemType.BOOLEAN)
_TEXT = int(ItemType.TEXT_STRING)
_BYTES = int(ItemType.BYTE_STRING)
_DATETIME = int(ItemType.DATE_TIME)
_INTERVAL = int(ItemType.INTERVAL)
_DATETIME_EXT = int(ItemType.DATE_TIME_EXTENDED)
_FIXED8 = {_LONG, _BOOL, _DATETIME, _DATETIME_EXT}
_FIXED4 = {_INTEGER, _ENUM, _INTERVAL}
_VALID_TYPES = frozenset(int(t) for t in ItemType)


def peek_header(buf: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int, int]:
    """Return C{(tag, type, length)} of the item header at C{offset} (8 bytes must be present)."""
    word, length = _HEADER.unpack_from(buf, offset)
    return word >> 8, word & 0xFF, length


def decode(
    data: bytes | bytearray | memoryview,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_size: int | None = None,
) -> Item:
    """Decode exactly one TTLV item from C{data}.

    @raise DecodeError: a subclass naming what is wrong.
    """
    size = len(data)
    if max_size is not None and size > max_size:
        raise MessageTooLargeError(f"message of {size} bytes exceeds the limit of {max_size}")
    view = memoryview(data)
    item, end = _decode(view, 0, size, 0, max_depth)
    if end != size:
        raise TrailingDataError(f"{size - end} bytes after the top-level item", end)
    return item


def _decode(view: memoryview, offset: int, limit: int, depth: int, max_depth: int) -> tuple[Item, int]:
    if offset + 8 > limit:
        raise TruncatedError("item header runs past the end of its container", offset)
    word, length = _HEADER.unpack_from(view, offset)
    tag = word >> 8
    typ = word & 0xFF
    start = offset + 8
    if typ == _STRUCTURE:
        end = start + length
        if end > limit:
            raise TruncatedError(f"structure 0x{tag:06X} of {length} bytes runs past its container", offset)
        if length & 7:
            raise PaddingError(f"structure 0x{tag:06X} length {length} is not a multiple of 8", offset)
        if depth >= max_depth:
            raise DepthError(f"structures nested deeper than {max_depth}", offset)
        children: list[Item] = []
        append = children.append
        pos = start
        while pos < end:
            child, pos = _decode(view, pos, end, depth + 1, max_depth)
            append(child)
        return Item(tag, typ, children), end
    if typ in _FIXED4:
        if length != 4:
            raise InvalidLengthError(f"item 0x{tag:06X} of type {typ} has length {length}, expected 4", offset)
        end = start + 8
        if end > limit:
            raise TruncatedError(f"item 0x{tag:06X} runs past its container", offset)
        # value and padding in one unpack (no slice to compare)
        value, pad = (_I32_PAD if typ == _INTEGER else _U32_PAD).unpack_from(view, start)
        if pad:
            raise PaddingError(f"item 0x{tag:06X} has non-zero padding", offset)
        return Item(tag, typ, value), end
    if typ in _FIXED8:
        if length != 8:
            raise InvalidLengthError(f"item 0x{tag:06X} of type {typ} has length {length}, expected 8", offset)
        end = start + 8
        if end > limit:
            raise TruncatedError(f"item 0x{tag:06X} runs past its container", offset)
        raw = _I64.unpack_from(view, start)[0]
        if typ == _BOOL:
            if raw not in (0, 1):
                raise InvalidValueError(f"boolean 0x{tag:06X} has value {raw}", offset)
            return Item(tag, typ, raw == 1), end
        return Item(tag, typ, raw), end
    if typ == _TEXT or typ == _BYTES or typ == _BIG:
        return _variable(view, tag, typ, length, offset, limit)
    raise UnknownTypeError(f"item 0x{tag:06X} has unknown type 0x{typ:02X}", offset)


def _variable(view: memoryview, tag: int, typ: int, length: int, offset: int, limit: int) -> tuple[Item, int]:
    """A Text String, Byte String or Big Integer item whose header is at C{offset}."""
    start = offset + 8
    padded = (length + 7) & ~7
    end = start + padded
    if end > limit:
        raise TruncatedError(f"item 0x{tag:06X} of {length} bytes runs past its container", offset)
    if padded != length and view[start + length:end] != _ZEROS[: padded - length]:
        raise PaddingError(f"item 0x{tag:06X} has non-zero padding", offset)
    raw_bytes = view[start:start + length]
    if typ == _TEXT:
        try:
            return Item(tag, typ, str(raw_bytes, "utf-8")), end
        except UnicodeDecodeError:
            raise InvalidValueError(f"text string 0x{tag:06X} is not valid UTF-8", offset) from None
    if typ == _BYTES:
        return Item(tag, typ, raw_bytes.tobytes()), end
    if length == 0 or length & 7:
        raise InvalidLengthError(f"big integer 0x{tag:06X} length {length} is not a positive multiple of 8", offset)
    return Item(tag, typ, int.from_bytes(raw_bytes, "big", signed=True)), end


def encode(item: Item) -> bytes:
    """Encode C{item} (and its children) as binary TTLV."""
    out = bytearray()
    _encode(item, out)
    return bytes(out)


def _encode(item: Item, out: bytearray) -> None:
    typ = item.type
    if typ == _STRUCTURE:
        out += _HDR_PACK((item.tag << 8) | typ)
        at = len(out)
        out += b"\0\0\0\0"
        for child in item.value:
            _encode(child, out)
        out[at:at + 4] = _LEN_PACK(len(out) - at - 4)
        return
    value = item.value
    if typ == _ENUM or typ == _INTERVAL:
        out += _PACK_U32_ITEM((item.tag << 8) | typ, 4, value, 0)
    elif typ == _INTEGER:
        out += _PACK_I32_ITEM((item.tag << 8) | typ, 4, value, 0)
    elif typ == _TEXT or typ == _BYTES:
        raw = value.encode("utf-8") if typ == _TEXT else value
        n = len(raw)
        out += _PACK_HEADER((item.tag << 8) | typ, n)
        out += raw
        if n & 7:
            out += _ZEROS[: 8 - (n & 7)]
    elif typ == _BOOL:
        out += _PACK_I64_ITEM((item.tag << 8) | typ, 8, 1 if value else 0)
    elif typ == _LONG or typ == _DATETIME or typ == _DATETIME_EXT:
        out += _PACK_I64_ITEM((item.tag << 8) | typ, 8, value)
    elif typ == _BIG:
        bits = value.bit_length() if value >= 0 else (~value).bit_length()
        n = max(8, (bits + 64) // 64 * 8)  # magnitude + 1 sign bit, in whole 8-byte words
        out += _PACK_HEADER((item.tag << 8) | typ, n)
        out += value.to_bytes(n, "big", signed=True)
    else:
        raise ValueError(f"cannot encode item 0x{item.tag:06X} of unknown type {typ!r}")
