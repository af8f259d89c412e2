# -*- test-case-name: tests.ttlv.test_binary -*-
"""Binary TTLV encoding (KMIP section 9.1): a bounded decoder and a one-pass encoder.

Sans-IO: no Twisted imports. Decoding reads one C{memoryview} with offsets; every length is checked
against its parent before anything is allocated. Encoding writes into one C{bytearray} and
back-patches structure lengths.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import Any

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
_LEN_PACK = struct.Struct(">I").pack
_ZEROS = bytes(8)
_I32_PAD = struct.Struct(">iI")  # a 4-byte value and its 4 bytes of padding
_U32_PAD = struct.Struct(">II")
# Whole fixed-size items in one pack: header word, length, value (and padding)
_PACK_U32_ITEM = struct.Struct(">IIII").pack
_PACK_I32_ITEM = struct.Struct(">IIiI").pack
_PACK_I64_ITEM = struct.Struct(">IIq").pack
_PACK_HEADER = struct.Struct(">II").pack
_UNPACK_HEADER = _HEADER.unpack_from
_UNPACK_I32_PAD = _I32_PAD.unpack_from
_UNPACK_U32_PAD = _U32_PAD.unpack_from
_UNPACK_I64 = _I64.unpack_from
_new_object = object.__new__

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
    if size < 8:
        raise TruncatedError("item header runs past the end of its container", 0)
    items, end = _decode(memoryview(data), 0, size, 0, max_depth, True)
    if end != size:
        raise TrailingDataError(f"{size - end} bytes after the top-level item", end)
    return items[0]


def _decode(view: memoryview, pos: int, limit: int, depth: int, max_depth: int,
            one: bool = False) -> tuple[list[Item], int]:
    """The items from C{pos} up to C{limit} (only the first with C{one}) and where they end.

    Primitives are decoded inline; only a structure costs a call (its children, one level deeper).
    """
    items: list[Item] = []
    append = items.append
    while pos < limit:
        if pos + 8 > limit:
            raise TruncatedError("item header runs past the end of its container", pos)
        word, length = _UNPACK_HEADER(view, pos)
        typ = word & 0xFF
        start = pos + 8
        value: Any
        if typ == _STRUCTURE:
            end = start + length
            if end > limit:
                raise TruncatedError(f"structure 0x{word >> 8:06X} of {length} bytes runs past its container", pos)
            if length & 7:
                raise PaddingError(f"structure 0x{word >> 8:06X} length {length} is not a multiple of 8", pos)
            if depth >= max_depth:
                raise DepthError(f"structures nested deeper than {max_depth}", pos)
            value = _decode(view, start, end, depth + 1, max_depth)[0]
        elif typ == _ENUM or typ == _INTEGER or typ == _INTERVAL:
            if length != 4:
                raise InvalidLengthError(f"item 0x{word >> 8:06X} of type {typ} has length {length}, expected 4", pos)
            end = start + 8
            if end > limit:
                raise TruncatedError(f"item 0x{word >> 8:06X} runs past its container", pos)
            # value and padding in one unpack (no slice to compare)
            value, pad = (_UNPACK_I32_PAD if typ == _INTEGER else _UNPACK_U32_PAD)(view, start)
            if pad:
                raise PaddingError(f"item 0x{word >> 8:06X} has non-zero padding", pos)
        elif typ == _TEXT or typ == _BYTES or typ == _BIG:
            value, end = _variable(view, word >> 8, typ, length, pos, limit)
        elif typ in _FIXED8:
            if length != 8:
                raise InvalidLengthError(f"item 0x{word >> 8:06X} of type {typ} has length {length}, expected 8", pos)
            end = start + 8
            if end > limit:
                raise TruncatedError(f"item 0x{word >> 8:06X} runs past its container", pos)
            value = _UNPACK_I64(view, start)[0]
            if typ == _BOOL:
                if value != 0 and value != 1:
                    raise InvalidValueError(f"boolean 0x{word >> 8:06X} has value {value}", pos)
                value = value == 1
        else:
            raise UnknownTypeError(f"item 0x{word >> 8:06X} has unknown type 0x{typ:02X}", pos)
        # object.__new__ and three slot stores: about half the cost of calling Item(...)
        item = _new_object(Item)
        item.tag = word >> 8
        item.type = typ
        item.value = value
        append(item)
        pos = end
        if one:
            break
    return items, pos


def _variable(view: memoryview, tag: int, typ: int, length: int, offset: int, limit: int) -> tuple[Any, int]:
    """The value of a Text String, Byte String or Big Integer item whose header is at C{offset},
    and where the item ends."""
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
            return str(raw_bytes, "utf-8"), end
        except UnicodeDecodeError:
            raise InvalidValueError(f"text string 0x{tag:06X} is not valid UTF-8", offset) from None
    if typ == _BYTES:
        return raw_bytes.tobytes(), end
    if length == 0 or length & 7:
        raise InvalidLengthError(f"big integer 0x{tag:06X} length {length} is not a positive multiple of 8", offset)
    return int.from_bytes(raw_bytes, "big", signed=True), end


def encode(item: Item) -> bytes:
    """Encode C{item} (and its children) as binary TTLV."""
    out = bytearray()
    _encode((item,), out, None)
    return bytes(out)


class _NotKnown(Exception):
    """An item whose key is not known to be allowed (L{encode_known})."""


def encode_known(item: Item, known: Mapping[object, bool]) -> bytes | None:
    """Encode C{item} if everything below it is known to be allowed, else C{None}.

    An item's key is its tag, or C{(tag, value)} for an Enumeration; it is allowed when C{known}
    maps it to C{True} (a key missing from C{known} is not known). C{item} itself is not looked up.
    This lets a caller that filters trees (L{kmipd.messages.versions}) encode in the same walk as
    its check, and filter only when something is new or not allowed.
    """
    if item.type != _STRUCTURE:
        return encode(item)
    out = bytearray(_PACK_HEADER((item.tag << 8) | _STRUCTURE, 0))
    try:
        _encode(item.value, out, known)
    except _NotKnown:
        return None
    out[4:8] = _LEN_PACK(len(out) - 8)
    return bytes(out)


def _encode(items: Iterable[Item], out: bytearray, known: Mapping[object, bool] | None) -> None:
    """Append C{items}: primitives inline, a structure's children by one call (then its length).

    With C{known}, raise L{_NotKnown} at the first item whose key it does not map to C{True}.
    """
    for item in items:
        typ = item.type
        value = item.value
        if known is not None and known.get((item.tag, value) if typ == _ENUM else item.tag) is not True:
            raise _NotKnown()
        if typ == _STRUCTURE:
            out += _PACK_HEADER((item.tag << 8) | typ, 0)
            at = len(out)
            _encode(value, out, known)
            out[at - 4:at] = _LEN_PACK(len(out) - at)
        elif typ == _ENUM or typ == _INTERVAL:
            out += _PACK_U32_ITEM((item.tag << 8) | typ, 4, value, 0)
        elif typ == _TEXT or typ == _BYTES:
            raw = value.encode("utf-8") if typ == _TEXT else value
            n = len(raw)
            out += _PACK_HEADER((item.tag << 8) | typ, n)
            out += raw
            if n & 7:
                out += _ZEROS[: 8 - (n & 7)]
        elif typ == _INTEGER:
            out += _PACK_I32_ITEM((item.tag << 8) | typ, 4, value, 0)
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
