# -*- test-case-name: tests.ttlv.test_json -*-
"""KMIP JSON encoding of the item tree (KMIP Additional Message Encodings v1.0, section 4).

Each item is an object C{{"tag": ..., "type": ..., "value": ...}}.  The writer names tags by their
CamelCase spec name (C{"0x540001"} for tags the spec tables do not know), omits C{type} for
Structures, and writes values as:

 - Integer, Interval: JSON numbers; the mask tags as C{"Encrypt|Decrypt"} (unnamed bits as 32-bit
   hex components, 0 as the number 0);
 - Long Integer: a number when it is exactly representable in a double (|v| < 2**52), otherwise a
   64-bit two's complement C{"0x..."} string; Big Integer: C{"0x"} + two's complement hex
   sign-extended to a multiple of 8 bytes;
 - Enumeration: the CamelCase name, or C{"0x%08X"}; Boolean: C{true}/C{false}; Text String: a
   string; Byte String: hex without prefix; Date-Time (Extended): ISO 8601 UTC text.

The reader accepts numbers or hex strings for every numeric type, names in any spelling, a missing
C{type} (Structure), C{null} structure values, and an optional C{name} member (ignored).
Enumeration and mask names follow the same context rules as L{kmipd.ttlv.xml}.
"""

from __future__ import annotations

import json as _json
from typing import Any

from ..spec import Tag
from .items import Item, ItemType
from .xml import (
    DEFAULT_MAX_DEPTH,
    INT_RANGES,
    EncodingError,
    Placeholder,
    XmlDecodeError,
    attribute_context,
    big_to_hex,
    check_value,
    is_mask,
    mask_text,
    parse_number,
    parse_scalar,
    tag_from_text,
    tag_text,
    type_from_text,
    type_text,
    value_class,
    xml_value,
)

__all__ = ["JsonDecodeError", "EncodingError", "to_json", "from_json", "item_to_obj", "obj_to_item"]

_SAFE = 1 << 52


class JsonDecodeError(XmlDecodeError):
    """Text that is not a valid KMIP JSON encoding; C{path} names the item."""


def _json_value(item: Item, attribute_name: str | None) -> Any:
    """The JSON value of a non-structure item: numbers, booleans and masks the JSON way, the rest
    (enumerations, strings, date-times) as the XML encoding writes them."""
    check_value(item)
    typ, value = item.type, item.value
    if typ == ItemType.INTEGER:
        cls = value_class(item.tag, attribute_name)
        if is_mask(cls) and value != 0:
            return mask_text(cls, value, "|")
        return value
    if typ == ItemType.INTERVAL:
        return value
    if typ == ItemType.LONG_INTEGER:
        return value if -_SAFE < value < _SAFE else f"0x{value & 0xFFFFFFFFFFFFFFFF:016x}"
    if typ == ItemType.BIG_INTEGER:
        return "0x" + big_to_hex(value)
    if typ == ItemType.BOOLEAN:
        return bool(value)
    return xml_value(item, attribute_name)


def item_to_obj(item: Item, _attribute_name: str | None = None) -> dict[str, Any]:
    """C{item} as a JSON-ready dict (nested for structures).

    @raise EncodingError: an item whose value does not fit its type.
    """
    name = tag_text(item.tag)
    obj: dict[str, Any] = {"tag": name if name is not None else f"0x{item.tag:06X}"}
    if item.type == ItemType.STRUCTURE:
        check_value(item)
        context = attribute_context(item.value)
        obj["value"] = [item_to_obj(child, context) for child in item.value]
        return obj
    try:
        obj["type"] = type_text(item.type)
    except ValueError:
        raise EncodingError(f"item 0x{item.tag:06X} has unknown type {item.type!r}") from None
    obj["value"] = _json_value(item, _attribute_name)
    return obj


def to_json(item: Item, *, indent: int | None = None) -> str:
    """The KMIP JSON text of C{item}."""
    return _json.dumps(item_to_obj(item), indent=indent, ensure_ascii=False)


# ----------------------------------------------------------------------------- reader

def _fail(message: str, path: str) -> JsonDecodeError:
    return JsonDecodeError(message, path)


def _scalar(tag: int, typ: int, value: Any, attribute_name: str | None) -> Any:
    """The item value of a JSON value: numbers and booleans as such, strings as in KMIP XML
    (except that a Boolean string must be hex).  Raises ValueError."""
    if isinstance(value, bool):
        if typ == ItemType.BOOLEAN:
            return value
        raise ValueError(f"{value!r} is not a valid {type_text(typ)}")
    if isinstance(value, int):
        if typ == ItemType.BIG_INTEGER:
            return value
        if typ in INT_RANGES:
            return parse_number(str(value), typ)
        raise ValueError(f"{value!r} is not a valid {type_text(typ)}")
    if isinstance(value, str):
        if typ == ItemType.BOOLEAN and value.strip()[:2].lower() != "0x":
            raise ValueError(f"{value!r} is not a Boolean")
        return parse_scalar(tag, typ, value, attribute_name)
    raise ValueError(f"{value!r} is not a valid {type_text(typ)}")


def obj_to_item(obj: Any, *, placeholder: Placeholder | None = None,
                max_depth: int = DEFAULT_MAX_DEPTH, _path: str = "", _depth: int = 0,
                _attribute_name: str | None = None) -> Item:
    """Convert one decoded KMIP JSON object into an L{Item}.

    @raise JsonDecodeError: naming the item path and what is wrong.
    """
    if not isinstance(obj, dict):
        raise _fail(f"expected an object, got {type(obj).__name__}", _path or "/")
    tag_name = obj.get("tag")
    if not isinstance(tag_name, str):
        raise _fail("missing or non-string 'tag'", _path or "/")
    path = f"{_path}/{tag_name}"
    unknown = set(obj) - {"tag", "name", "type", "value"}
    if unknown:
        raise _fail(f"unknown member(s) {sorted(unknown)}", path)
    tag = tag_from_text(tag_name)
    if tag is None:
        raise _fail(f"unknown tag {tag_name!r}", path)
    type_name = obj.get("type", "Structure")
    typ = type_from_text(type_name) if isinstance(type_name, str) else None
    if typ is None:
        raise _fail(f"unknown type {type_name!r}", path)
    value = obj.get("value")
    if typ == ItemType.STRUCTURE:
        if _depth >= max_depth:
            raise _fail(f"structures nested deeper than {max_depth}", path)
        if value is None:
            return Item(tag, typ, [])
        if not isinstance(value, list):
            raise _fail("a Structure value must be an array or null", path)
        context = None
        for child in value:
            if (isinstance(child, dict) and child.get("type") == "TextString"
                    and tag_from_text(str(child.get("tag"))) == Tag.ATTRIBUTE_NAME
                    and isinstance(child.get("value"), str)):
                context = child["value"]
                break
        return Item(tag, typ, [obj_to_item(c, placeholder=placeholder, max_depth=max_depth, _path=path,
                                           _depth=_depth + 1, _attribute_name=context) for c in value])
    if "value" not in obj:
        raise _fail("missing 'value'", path)
    if placeholder is not None and isinstance(value, str) and value.startswith("$"):
        return Item(tag, typ, placeholder(tag, typ, value))
    try:
        return Item(tag, typ, _scalar(tag, typ, value, _attribute_name))
    except ValueError as e:
        raise _fail(str(e), path) from None


def _no_float(text: str) -> Any:
    raise ValueError(f"non-integer number {text}")


def from_json(text: str | bytes, *, placeholder: Placeholder | None = None,
              max_depth: int = DEFAULT_MAX_DEPTH) -> Item:
    """Parse KMIP JSON text (one top-level object) into an L{Item}.

    @raise JsonDecodeError: malformed JSON or an invalid KMIP encoding.
    """
    try:
        obj = _json.loads(text, parse_float=_no_float, parse_constant=_no_float)
    except (ValueError, RecursionError) as e:
        raise JsonDecodeError(f"not valid JSON: {e}") from None
    return obj_to_item(obj, placeholder=placeholder, max_depth=max_depth)
