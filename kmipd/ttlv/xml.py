# -*- test-case-name: tests.ttlv.test_xml -*-
"""KMIP XML encoding of the item tree (KMIP Additional Message Encodings v1.0, section 6).

Sans-IO, standard library only.  Every KMIP tag is written as an element named by its normalised
CamelCase spec name (C{<UniqueIdentifier type="TextString" value="..."/>}); tags the spec tables do
not know (extensions 0x54xxxx) use the general form C{<TTLV tag="0x540001" type="..." .../>}.
Structures carry no C{type} attribute and nest their children.  Values:

 - Integer: decimal; the mask tags (Cryptographic Usage Mask, Storage Status Mask, Protection
   Storage Mask, and a 1.x Attribute Value whose Attribute Name is one of them) as a space
   separated list of mask names, bits without a name as 32-bit C{0x} hex components;
 - Long Integer, Interval: decimal; Big Integer: two's complement hex sign-extended to a multiple
   of 8 bytes (xsd:hexBinary); Byte String: lower-case hex;
 - Enumeration: the CamelCase value name, or C{0x%08X} when the value has no name; the enumeration
   is chosen by the tag, by the sibling Attribute Name for a 1.x Attribute Value, and an Attribute
   Reference (2.x) names a tag;
 - Boolean: C{true}/C{false}; Text String: as is;
 - Date-Time: ISO 8601 in UTC (C{2001-01-01T10:00:00+00:00}); Date-Time Extended: the same with
   six fractional digits.

The reader accepts everything the profile allows: tags by name (any spelling the spec tables
know) or as C{TTLV tag="0x..."} / C{x540001} elements, the C{urn:oasis:tc:kmip:xmlns} namespace,
hex forms of every number, enumeration and mask names in any case or punctuation, date-times with
offsets or fractions (truncated for Date-Time).  The naming helpers here are shared with
L{kmipd.ttlv.json}.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, NoReturn, TypeGuard
from xml.parsers import expat

from ..spec import (
    ENUM_FOR_TAG,
    ENUM_VALUE_ALIASES,
    ENUM_VALUE_NAMES,
    MASK_FOR_TAG,
    TAG_NAMES,
    EnumClass,
    Tag,
    tag_from_name,
)
from .errors import DecodeError
from .items import Item, ItemType

__all__ = [
    "NAMESPACE", "XmlDecodeError", "EncodingError", "camel_case", "tag_text", "tag_from_text",
    "type_text", "type_from_text", "value_class", "is_mask", "enum_text", "enum_from_text", "mask_text",
    "mask_from_text", "format_datetime", "parse_datetime", "to_xml", "from_xml",
    "item_to_element", "element_to_item",
]

NAMESPACE = "urn:oasis:tc:kmip:xmlns"
DEFAULT_MAX_DEPTH = 32


class XmlDecodeError(DecodeError):
    """Text that is not a valid KMIP XML (or JSON) encoding; C{path} names the element."""

    def __init__(self, message: str, path: str = "") -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class EncodingError(ValueError):
    """An item that cannot be written in the text encoding (bad value for its type, or a text
    string holding characters XML 1.0 cannot carry)."""


# ----------------------------------------------------------------------------- names

def camel_case(name: str) -> str:
    """The profile's normalised CamelCase form of a spec name (section 4.1.3 / 6.1.3)."""
    text = re.sub(r"[()]", " ", name)
    text = re.sub(r"\W([A-Za-z][a-z])", r" \1", text)
    words = [re.sub(r"\W", "_", w) for w in text.split()]
    if not words:
        return ""
    words[0] = re.sub(r"^(\d+)(.*)", r"\2\1", words[0])
    return "".join(w[0].upper() + w[1:] for w in words)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_TAG_TEXT: dict[int, str] = {value: camel_case(name) for value, name in TAG_NAMES.items()}
_TAG_BY_TEXT: dict[str, int] = {text: value for value, text in _TAG_TEXT.items()}
_TAG_BY_NORM: dict[str, int] = {}
for _value, _text in _TAG_TEXT.items():
    _TAG_BY_NORM.setdefault(_norm(_text), _value)

_TYPE_TEXT: dict[int, str] = {
    ItemType.STRUCTURE: "Structure", ItemType.INTEGER: "Integer",
    ItemType.LONG_INTEGER: "LongInteger", ItemType.BIG_INTEGER: "BigInteger",
    ItemType.ENUMERATION: "Enumeration", ItemType.BOOLEAN: "Boolean",
    ItemType.TEXT_STRING: "TextString", ItemType.BYTE_STRING: "ByteString",
    ItemType.DATE_TIME: "DateTime", ItemType.INTERVAL: "Interval",
    ItemType.DATE_TIME_EXTENDED: "DateTimeExtended",
}
_TYPE_BY_TEXT: dict[str, int] = {_norm(text): int(t) for t, text in _TYPE_TEXT.items()}
_HEX_TAG = re.compile(r"0[xX][0-9A-Fa-f]{1,6}")


def tag_text(tag: int) -> str | None:
    """The CamelCase element name of a tag, or C{None} for tags the spec tables do not name."""
    return _TAG_TEXT.get(int(tag))


def tag_from_text(text: str) -> int | None:
    """A tag from its CamelCase name, any spelling of its spec name, or C{0x} hex; else C{None}."""
    tag = _TAG_BY_TEXT.get(text)
    if tag is not None:
        return tag
    text = text.strip()
    if _HEX_TAG.fullmatch(text):
        return int(text, 16)
    tag = _TAG_BY_NORM.get(_norm(text))
    if tag is None:
        tag = tag_from_name(text)
    return tag


def type_text(item_type: int) -> str:
    """The CamelCase name of an item type ("TextString")."""
    return _TYPE_TEXT[ItemType(item_type)]


def type_from_text(text: str) -> int | None:
    """An item type number from its name in any spelling ("TextString", "Text String")."""
    return _TYPE_BY_TEXT.get(_norm(text))


def value_class(tag: int, attribute_name: str | None = None) -> EnumClass | None:
    """The enumeration or mask class whose names an item's value uses, or C{None}.

    A 1.x Attribute Value takes the class of the attribute named by its sibling Attribute Name
    ("Cryptographic Algorithm" -> L{kmipd.spec.CryptographicAlgorithm}); Attribute Reference yields
    L{Tag}.  Callers pick the enumeration for Enumeration items and the mask for Integer items.
    """
    if tag == Tag.ATTRIBUTE_VALUE:
        if not attribute_name:
            return None
        named = _attribute_tag(attribute_name)
        if named is None:
            return None
        tag = named
    mask = MASK_FOR_TAG.get(tag)
    return mask if mask is not None else ENUM_FOR_TAG.get(tag)


_ATTR_TAG_CACHE: dict[str, int | None] = {}


def _attribute_tag(attribute_name: str) -> int | None:
    if attribute_name not in _ATTR_TAG_CACHE:
        clean = " ".join(attribute_name.split())
        tag = _TAG_BY_NORM.get(_norm(clean)) if not clean.lower().startswith(("x-", "y-")) else None
        _ATTR_TAG_CACHE[attribute_name] = tag
    return _ATTR_TAG_CACHE[attribute_name]


def is_mask(cls: EnumClass | None) -> TypeGuard[type[enum.IntFlag]]:
    """True if C{cls} is one of the mask classes (an C{enum.IntFlag})."""
    return cls is not None and issubclass(cls, enum.IntFlag)


_ENUM_TEXT: dict[type, dict[int, str]] = {}
_ENUM_BY_NORM: dict[type, dict[str, int]] = {}


def _enum_tables(cls: EnumClass) -> tuple[dict[int, str], dict[str, int]]:
    if cls not in _ENUM_TEXT:
        texts: dict[int, str] = {}
        lookup: dict[str, int] = {}
        if cls is Tag:
            texts = dict(_TAG_TEXT)
            lookup = dict(_TAG_BY_NORM)
        else:
            key = cls.__name__
            for value, name in ENUM_VALUE_NAMES.get(key, {}).items():
                texts[int(value)] = camel_case(name)
                lookup.setdefault(_norm(camel_case(name)), int(value))
                lookup.setdefault(_norm(name), int(value))
            for value, olds in ENUM_VALUE_ALIASES.get(key, {}).items():
                for old in olds:
                    lookup.setdefault(_norm(camel_case(old)), int(value))
                    lookup.setdefault(_norm(old), int(value))
            for member_name, member in cls.__members__.items():
                texts.setdefault(int(member), camel_case(member_name.replace("_", " ").title()))
                lookup.setdefault(_norm(member_name), int(member))
        _ENUM_TEXT[cls], _ENUM_BY_NORM[cls] = texts, lookup
    return _ENUM_TEXT[cls], _ENUM_BY_NORM[cls]


def enum_text(cls: EnumClass | None, value: int) -> str:
    """An enumeration value as its CamelCase name, or C{0x%08X} hex when it has none."""
    if cls is not None and not is_mask(cls):
        text = _enum_tables(cls)[0].get(int(value))
        if text:
            return text
    return f"0x{int(value):08X}"


def enum_from_text(cls: EnumClass | None, text: str) -> int:
    """An enumeration value from a name (any case/punctuation), C{0x} hex or decimal.

    @raise ValueError: unknown name or out-of-range number.
    """
    raw = text.strip()
    if re.fullmatch(r"0[xX][0-9A-Fa-f]{1,8}", raw):
        return int(raw, 16)
    if re.fullmatch(r"\d{1,10}", raw):
        value = int(raw)
        if value > 0xFFFFFFFF:
            raise ValueError(f"enumeration value {raw} does not fit in 32 bits")
        return value
    if cls is None or is_mask(cls):
        raise ValueError(f"enumeration name {raw!r} without a known enumeration for this tag")
    named = _enum_tables(cls)[1].get(_norm(raw))
    if named is None:
        raise ValueError(f"{raw!r} is not a value of {cls.__name__}")
    return named


def mask_text(cls: type[enum.IntFlag], value: int, sep: str = " ") -> str:
    """A mask value as its flag names joined by C{sep}; unnamed bits as 32-bit hex; 0 as C{"0"}."""
    bits = int(value) & 0xFFFFFFFF
    if bits == 0:
        return "0"
    texts = _enum_tables(cls)[0]
    names = []
    rest = 0
    for bit in range(32):
        flag = 1 << bit
        if bits & flag:
            if flag in texts:
                names.append(texts[flag])
            else:
                rest |= flag
    if rest:
        names.append(f"0x{rest:08X}")
    return sep.join(names)


def mask_from_text(cls: EnumClass | None, text: str) -> int:
    """A signed 32-bit Integer from mask components (names or hex) separated by spaces or C{|}.

    Without a mask class every mask of the spec is tried.
    @raise ValueError: an unknown component.
    """
    classes: list[type[enum.IntFlag]] = [cls] if is_mask(cls) else list(dict.fromkeys(MASK_FOR_TAG.values()))
    tokens = text.replace("|", " ").split()
    if not tokens:
        raise ValueError("empty mask")
    for candidate in classes:
        lookup = _enum_tables(candidate)[1]
        value = 0
        for tok in tokens:
            if re.fullmatch(r"0[xX][0-9A-Fa-f]{1,8}|\d{1,10}", tok):
                part = int(tok, 0)
            else:
                part = lookup.get(_norm(tok), -1)
                if part < 0:
                    break
            if part > 0xFFFFFFFF:
                break
            value |= part
        else:
            return value - (1 << 32) if value & 0x80000000 else value
    where = cls.__name__ if is_mask(cls) else "any mask"
    raise ValueError(f"mask {text!r} has a component that is not a flag of {where}")


# ----------------------------------------------------------------------------- dates

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_DATE_RE = re.compile(
    r"(-?\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?")


def format_datetime(value: int, micros: bool = False) -> str | None:
    """ISO 8601 UTC text of seconds (or microseconds) since the epoch; C{None} if out of range."""
    try:
        when = _EPOCH + _dt.timedelta(microseconds=value) if micros else _EPOCH + _dt.timedelta(seconds=value)
    except OverflowError:
        return None
    if micros:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}+00:00"
    return when.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_datetime(text: str, micros: bool = False) -> int:
    """Seconds (or microseconds) since the epoch from xsd:dateTime text; no zone means UTC.

    Fractions are truncated (to seconds, or to microseconds for C{micros}).
    @raise ValueError: malformed date.
    """
    m = _DATE_RE.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not an ISO 8601 date-time")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7), m.group(8)
    try:
        naive = _dt.datetime(year, month, day, hour, minute, second)
    except ValueError as e:
        raise ValueError(f"{text!r} is not a valid date-time: {e}") from None
    offset = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    delta = naive - _dt.datetime(1970, 1, 1)
    seconds = delta.days * 86400 + delta.seconds - offset
    if not micros:
        return seconds
    us = int((frac or "0")[:6].ljust(6, "0"))
    return seconds * 1_000_000 + us


# ----------------------------------------------------------------------------- scalar values

INT_RANGES: dict[int, tuple[int, int, int]] = {
    ItemType.INTEGER: (-(1 << 31), (1 << 31) - 1, 32),
    ItemType.LONG_INTEGER: (-(1 << 63), (1 << 63) - 1, 64),
    ItemType.INTERVAL: (0, (1 << 32) - 1, 32),
    ItemType.ENUMERATION: (0, (1 << 32) - 1, 32),
    ItemType.DATE_TIME: (-(1 << 63), (1 << 63) - 1, 64),
    ItemType.DATE_TIME_EXTENDED: (-(1 << 63), (1 << 63) - 1, 64),
}


def check_value(item: Item) -> None:
    """Raise L{EncodingError} unless C{item.value} is valid for C{item.type}."""
    typ, value = item.type, item.value
    if typ == ItemType.STRUCTURE:
        if not isinstance(value, list):
            raise EncodingError(f"structure 0x{item.tag:06X} value is not a list")
        return
    if typ in INT_RANGES:
        low, high, _ = INT_RANGES[typ]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise EncodingError(f"item 0x{item.tag:06X}: {value!r} is not a valid {type_text(typ)}")
    elif typ == ItemType.BIG_INTEGER:
        if not isinstance(value, int) or isinstance(value, bool):
            raise EncodingError(f"item 0x{item.tag:06X}: {value!r} is not a Big Integer")
    elif typ == ItemType.BOOLEAN:
        if not isinstance(value, bool):
            raise EncodingError(f"item 0x{item.tag:06X}: {value!r} is not a Boolean")
    elif typ == ItemType.TEXT_STRING:
        if not isinstance(value, str):
            raise EncodingError(f"item 0x{item.tag:06X}: {value!r} is not a Text String")
    elif typ == ItemType.BYTE_STRING:
        if not isinstance(value, (bytes, bytearray)):
            raise EncodingError(f"item 0x{item.tag:06X}: {value!r} is not a Byte String")
    else:
        raise EncodingError(f"item 0x{item.tag:06X} has unknown type {typ!r}")


def big_to_hex(value: int) -> str:
    """Two's complement big-endian hex, sign-extended to a multiple of 8 bytes (binary codec size)."""
    n = max(8, ((value.bit_length() + 8) + 63) // 64 * 8)
    return value.to_bytes(n, "big", signed=True).hex()


def hex_to_int(digits: str, bits: int, signed: bool) -> int:
    """A fixed-width two's complement (or unsigned) number from hex digits (no prefix)."""
    value = int(digits, 16)
    if value >> bits:
        raise ValueError(f"0x{digits} does not fit in {bits} bits")
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def parse_number(text: str, typ: int) -> int:
    """An Integer / Long Integer / Interval / Date-Time from decimal or C{0x} hex text."""
    low, high, bits = INT_RANGES[ItemType(typ)]
    raw = text.strip()
    if raw[:2].lower() == "0x" and re.fullmatch(r"[0-9A-Fa-f]+", raw[2:]):
        return hex_to_int(raw[2:], bits, signed=low < 0)
    if not re.fullmatch(r"[+-]?\d+", raw):
        raise ValueError(f"{text!r} is not a valid {type_text(typ)}")
    value = int(raw)
    if not low <= value <= high:
        raise ValueError(f"{value} is out of range for {type_text(typ)}")
    return value


def parse_hex_bytes(text: str) -> bytes:
    raw = text.strip()
    if raw[:2].lower() == "0x":
        raw = raw[2:]
    if len(raw) % 2 or not re.fullmatch(r"[0-9A-Fa-f]*", raw):
        raise ValueError(f"{text[:40]!r} is not an even-length hex string")
    return bytes.fromhex(raw)


def parse_big(text: str) -> int:
    """A Big Integer from two's complement hex (optionally C{0x}-prefixed)."""
    data = parse_hex_bytes(text)
    if not data:
        raise ValueError("empty Big Integer")
    return int.from_bytes(data, "big", signed=True)


# ----------------------------------------------------------------------------- XML writer

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _attr(text: str) -> str:
    if _XML_BAD.search(text):
        raise EncodingError("text contains characters XML 1.0 cannot carry")
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
            .replace("\t", "&#9;"))


def xml_value(item: Item, attribute_name: str | None = None) -> str:
    """The C{value} attribute text of a non-structure item."""
    check_value(item)
    typ, value = item.type, item.value
    if typ == ItemType.INTEGER:
        cls = value_class(item.tag, attribute_name)
        if is_mask(cls):
            return mask_text(cls, value, " ")
        return str(value)
    if typ == ItemType.ENUMERATION:
        cls = value_class(item.tag, attribute_name)
        return enum_text(cls, value)
    if typ in (ItemType.LONG_INTEGER, ItemType.INTERVAL):
        return str(value)
    if typ == ItemType.BIG_INTEGER:
        return big_to_hex(value)
    if typ == ItemType.BOOLEAN:
        return "true" if value else "false"
    if typ == ItemType.TEXT_STRING:
        return value
    if typ == ItemType.BYTE_STRING:
        return bytes(value).hex()
    if typ in (ItemType.DATE_TIME, ItemType.DATE_TIME_EXTENDED):
        text = format_datetime(value, micros=typ == ItemType.DATE_TIME_EXTENDED)
        return text if text is not None else f"0x{value & 0xFFFFFFFFFFFFFFFF:016X}"
    raise EncodingError(f"item 0x{item.tag:06X} has unknown type {typ!r}")  # pragma: no cover


def attribute_context(children: list[Item]) -> str | None:
    """The 1.x Attribute Name among a structure's children (it selects the Attribute Value's names)."""
    for child in children:
        if child.tag == Tag.ATTRIBUTE_NAME and child.type == ItemType.TEXT_STRING:
            return child.value
    return None


def _write(item: Item, out: list[str], indent: str, level: int, attribute_name: str | None) -> None:
    pad = indent * level
    name = tag_text(item.tag)
    head = name if name is not None else f'TTLV tag="0x{item.tag:06X}"'
    close = name if name is not None else "TTLV"
    if item.type == ItemType.STRUCTURE:
        check_value(item)
        if not item.value:
            out.append(f"{pad}<{head}/>")
            return
        out.append(f"{pad}<{head}>")
        context = attribute_context(item.value)
        for child in item.value:
            _write(child, out, indent, level + 1, context)
        out.append(f"{pad}</{close}>")
        return
    if item.type not in _TYPE_TEXT:
        raise EncodingError(f"item 0x{item.tag:06X} has unknown type {item.type!r}")
    value = _attr(xml_value(item, attribute_name))
    out.append(f'{pad}<{head} type="{type_text(item.type)}" value="{value}"/>')


def to_xml(item: Item, *, indent: str = "  ") -> str:
    """The KMIP XML text of C{item} (no XML declaration, newline-terminated lines).

    @raise EncodingError: an item whose value does not fit its type or XML.
    """
    out: list[str] = []
    _write(item, out, indent, 0, None)
    return "\n".join(out) + "\n"


def item_to_element(item: Item) -> ET.Element:
    """C{item} as an L{ET.Element} tree (same form as L{to_xml})."""
    return ET.fromstring(to_xml(item))


# ----------------------------------------------------------------------------- XML reader

Placeholder = Callable[[int, int, str], Any]
"""C{(tag, type, raw_text) -> value}: how a reader turns a C{$NAME} value into an item value."""


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1] if name.startswith("{") else name


def _element_tag(el: ET.Element, path: str) -> int:
    name = _local(el.tag)
    if name == "TTLV":
        text = el.get("tag")
        if text is None:
            raise XmlDecodeError("TTLV element without a tag attribute", path)
    elif re.fullmatch(r"x[0-9A-Fa-f]{6}", name):
        text = "0x" + name[1:]
    else:
        text = name
    tag = tag_from_text(text)
    if tag is None:
        raise XmlDecodeError(f"unknown tag {text!r}", path)
    if not 0 <= tag <= 0xFFFFFF:
        raise XmlDecodeError(f"tag {text!r} does not fit in 3 bytes", path)
    return tag


def parse_scalar(tag: int, typ: int, raw: str, attribute_name: str | None) -> Any:
    """The item value of XML value text C{raw} for a non-structure item (raises ValueError)."""
    if typ == ItemType.INTEGER:
        stripped = raw.strip()
        if re.fullmatch(r"[+-]?\d+|0[xX][0-9A-Fa-f]+", stripped):
            return parse_number(stripped, typ)
        cls = value_class(tag, attribute_name)
        if is_mask(cls) or (tag == Tag.ATTRIBUTE_VALUE and cls is None):
            return mask_from_text(cls, raw)
        raise ValueError(f"{raw!r} is not a valid Integer")
    if typ in (ItemType.LONG_INTEGER, ItemType.INTERVAL):
        return parse_number(raw, typ)
    if typ == ItemType.BIG_INTEGER:
        return parse_big(raw)
    if typ == ItemType.ENUMERATION:
        cls = value_class(tag, attribute_name)
        return enum_from_text(None if is_mask(cls) else cls, raw)
    if typ == ItemType.BOOLEAN:
        text = raw.strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        if text.startswith("0x"):
            value = parse_number(text, ItemType.LONG_INTEGER)
            if value in (0, 1):
                return value == 1
        raise ValueError(f"{raw!r} is not a Boolean")
    if typ == ItemType.TEXT_STRING:
        return raw
    if typ == ItemType.BYTE_STRING:
        return parse_hex_bytes(raw)
    if typ in (ItemType.DATE_TIME, ItemType.DATE_TIME_EXTENDED):
        stripped = raw.strip()
        if stripped[:2].lower() == "0x" or re.fullmatch(r"[+-]?\d+", stripped):
            return parse_number(stripped, typ)
        return parse_datetime(stripped, micros=typ == ItemType.DATE_TIME_EXTENDED)
    raise ValueError(f"unknown item type {typ!r}")  # pragma: no cover


def element_to_item(el: ET.Element, *, placeholder: Placeholder | None = None,
                    max_depth: int = DEFAULT_MAX_DEPTH, _path: str = "", _depth: int = 0,
                    _attribute_name: str | None = None) -> Item:
    """Convert one KMIP XML element (and its children) into an L{Item}.

    @param placeholder: if given, a value text starting with C{$} is passed to it (for test
        vectors with C{$UNIQUE_IDENTIFIER_0} style placeholders) instead of being parsed.
    @raise XmlDecodeError: naming the element path and what is wrong.
    """
    path = f"{_path}/{_local(el.tag)}"
    tag = _element_tag(el, path)
    type_name = el.get("type", "Structure")
    typ = type_from_text(type_name)
    if typ is None:
        raise XmlDecodeError(f"unknown type {type_name!r}", path)
    if typ == ItemType.STRUCTURE:
        if _depth >= max_depth:
            raise XmlDecodeError(f"structures nested deeper than {max_depth}", path)
        if el.get("value") not in (None, ""):
            raise XmlDecodeError("a Structure carries no value attribute", path)
        if (el.text or "").strip() or any((c.tail or "").strip() for c in el):
            raise XmlDecodeError("text content inside a Structure", path)
        elements = [c for c in el if isinstance(c.tag, str)]
        context = None
        for c in elements:
            if _local(c.tag) == "AttributeName" and c.get("type") == "TextString":
                context = c.get("value")
                break
        children = [element_to_item(c, placeholder=placeholder, max_depth=max_depth, _path=path,
                                    _depth=_depth + 1, _attribute_name=context) for c in elements]
        return Item(tag, ItemType.STRUCTURE, children)
    if any(isinstance(c.tag, str) for c in el) or (el.text or "").strip():
        raise XmlDecodeError(f"a {type_text(typ)} has no content, only a value attribute", path)
    raw = el.get("value")
    if raw is None:
        raise XmlDecodeError("missing value attribute", path)
    if placeholder is not None and raw.startswith("$"):
        return Item(tag, typ, placeholder(tag, typ, raw))
    try:
        value = parse_scalar(tag, typ, raw, _attribute_name)
    except ValueError as e:
        raise XmlDecodeError(str(e), path) from None
    return Item(tag, typ, value)


_ENCODING_DECL = re.compile(r"""<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")


class _Refused(Exception):
    """Raised from an expat handler to stop the parse at a forbidden declaration."""


def _refuse_declaration(*args: object) -> NoReturn:
    raise _Refused()


def _document_text(text: str | bytes) -> str:
    """The document as text: bytes must be UTF-8 (a BOM is allowed) and no other encoding declared.

    @raise XmlDecodeError: bytes that are not UTF-8 (or NUL characters, i.e. UTF-16/32 without a
        byte order mark), or an XML declaration naming another encoding.
    """
    if isinstance(text, (bytes, bytearray)):
        data = bytes(text)
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise XmlDecodeError(f"KMIP XML must be UTF-8: invalid byte at offset {e.start}") from None
    if "\x00" in text:  # never in XML 1.0; UTF-16/32 text without a byte order mark
        raise XmlDecodeError("KMIP XML must be UTF-8: the text contains NUL characters")
    declared = _ENCODING_DECL.match(text.lstrip("\ufeff"))
    if declared is not None and declared.group(1).strip().lower() not in ("utf-8", "utf8"):
        raise XmlDecodeError(f"KMIP XML must be UTF-8, not {declared.group(1)[:40]!r}")
    return text


def _parse_tree(text: str) -> ET.Element:
    """Parse C{text} with expat into an element tree, refusing any DOCTYPE or ENTITY declaration.

    The refusal happens in the parser's own declaration handlers, so no entity is ever declared
    or expanded whatever the document looks like.
    @raise XmlDecodeError: malformed XML, or a DTD.
    """
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(None, "}")
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_declaration
    parser.EntityDeclHandler = _refuse_declaration
    parser.UnparsedEntityDeclHandler = _refuse_declaration
    parser.NotationDeclHandler = _refuse_declaration
    parser.ExternalEntityRefHandler = _refuse_declaration

    def fix(name: str) -> str:  # expat's "uri}local" -> ElementTree's "{uri}local"
        return "{" + name if "}" in name else name

    def start(tag: str, attrs: dict[str, str]) -> None:
        builder.start(fix(tag), {fix(k): v for k, v in attrs.items()})

    def end(tag: str) -> None:
        builder.end(fix(tag))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(text, True)
    except _Refused:
        raise XmlDecodeError("DOCTYPE and ENTITY declarations are not allowed") from None
    except expat.ExpatError as e:
        raise XmlDecodeError(f"not well-formed XML: {e}") from None
    return builder.close()


def from_xml(text: str | bytes, *, placeholder: Placeholder | None = None,
             max_depth: int = DEFAULT_MAX_DEPTH) -> Item:
    """Parse KMIP XML text (one top-level element) into an L{Item}.

    Bytes must be UTF-8 (the profile's encoding); DOCTYPE and ENTITY declarations are refused by
    the parser itself, so no entity is ever expanded.
    @raise XmlDecodeError: not UTF-8, a DTD, malformed XML or an invalid KMIP encoding.
    """
    root = _parse_tree(_document_text(text))
    return element_to_item(root, placeholder=placeholder, max_depth=max_depth)
