# -*- test-case-name: tests.test_version_exact -*-
"""Version exactness of outgoing messages: nothing a client's protocol version does not define.

L{strip_for_version} is the safety net under the handlers (which build version-exact payloads):
a 1.x client must never see a 2.x tag or a 2.x enumeration value (real 1.x clients fail on either).
"""

from __future__ import annotations

from ..spec import ENUM_FOR_TAG, Tag, enum_value_in_version, tag_from_name, tag_in_version
from ..ttlv import Item, ItemType, encode, encode_known

Version = tuple[int, int]

_STRUCTURE = int(ItemType.STRUCTURE)
_ENUMERATION = int(ItemType.ENUMERATION)
_ATTRIBUTE = int(Tag.ATTRIBUTE)
_OPERATION = int(Tag.OPERATION)


#: Per version: whether an item with this key is defined (key: the tag, or (tag, value) for an
#: Enumeration). Bounded: client-chosen enumeration values must not grow it without limit.
_KNOWN: dict[Version, dict[object, bool]] = {}
_KNOWN_LIMIT = 8192


def strip_for_version(item: Item, version: Version) -> int:
    """Remove everything C{version} does not define from C{item}; return how many items went.

    Tags the version lacks are removed; so are Enumerations whose value the version lacks, and
    1.x C{Attribute}s whose enumerated value the version lacks (an object made by a 2.x client
    with ChaCha20 or Ed25519, read by a 1.0 client). The Operation echoes the client's own value
    and is kept.

    Only C{item} itself is changed (its children list replaced when something under it went);
    a structure below it that loses something is replaced by a copy, never changed in place: a
    response may hold attribute items shared with the store's object cache. Whether a tag or an
    enumeration value is defined is remembered per version, so the walk is a dictionary lookup
    per item.
    """
    if item.type != _STRUCTURE:
        return 0
    children, removed = _stripped(item.value, version, _known(version))
    if removed:
        item.value = children
    return removed


def encode_for_version(item: Item, version: Version) -> tuple[bytes, int]:
    """C{item} stripped for C{version} (L{strip_for_version}) and encoded; and how many items went.

    The usual response holds only tags and enumeration values already seen defined in C{version}:
    it is encoded in one walk that checks them as it goes. Otherwise (something new, something
    undefined, a 1.x Attribute, whose enumerated value is checked each time) it is stripped first.
    """
    data = encode_known(item, _known(version))
    if data is not None:
        return data, 0
    removed = strip_for_version(item, version)
    return encode(item), removed


def _known(version: Version) -> dict[object, bool]:
    known = _KNOWN.get(version)
    if known is None:
        known = _KNOWN.setdefault(version, {})
    return known


def _stripped(children: list[Item], version: Version, known: dict[object, bool]) -> tuple[list[Item], int]:
    """C{children} without what C{version} lacks (the same list if nothing went) and the count."""
    removed = 0
    out: list[Item] | None = None
    for i, child in enumerate(children):
        ctype, tag = child.type, child.tag
        if tag == _ATTRIBUTE:  # never remembered: its enumerated value is checked each time
            ok = _defined(child, version)
        else:
            key: object = (tag, child.value) if ctype == _ENUMERATION else tag
            found = known.get(key)
            if found is None:
                found = _defined(child, version)
                if len(known) < _KNOWN_LIMIT:
                    known[key] = found
            ok = found
        if not ok:
            if out is None:
                out = children[:i]
            removed += 1
            continue
        if ctype == _STRUCTURE:
            kept, gone = _stripped(child.value, version, known)
            if gone:
                removed += gone
                child = Item(tag, ctype, kept)
                if out is None:
                    out = children[:i]
        if out is not None:
            out.append(child)
    return (children if out is None else out), removed


def _defined(child: Item, version: Version) -> bool:
    """Whether C{child} itself (not its contents) exists in C{version}."""
    tag = child.tag
    if not tag_in_version(tag, version):
        return False
    if child.type == _ENUMERATION and tag != _OPERATION:
        cls = ENUM_FOR_TAG.get(tag)
        return cls is None or enum_value_in_version(cls, child.value, version)
    if child.type == _STRUCTURE and tag == _ATTRIBUTE:
        return _attribute_value_defined(child, version)
    return True


def _attribute_value_defined(attribute: Item, version: Version) -> bool:
    """False if a 1.x Attribute's enumerated value does not exist in C{version}."""
    value = attribute.find(Tag.ATTRIBUTE_VALUE)
    if value is None or value.type != _ENUMERATION:
        return True
    name = attribute.get(Tag.ATTRIBUTE_NAME)
    tag = tag_from_name(name) if isinstance(name, str) else None
    cls = ENUM_FOR_TAG.get(tag) if tag is not None else None
    return cls is None or enum_value_in_version(cls, value.value, version)


__all__ = ["encode_for_version", "strip_for_version"]
