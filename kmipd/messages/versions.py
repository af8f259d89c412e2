# -*- test-case-name: tests.test_version_exact -*-
"""Version exactness of outgoing messages: nothing a client's protocol version does not define.

L{strip_for_version} is the safety net under the handlers (which build version-exact payloads):
a 1.x client must never see a 2.x tag or a 2.x enumeration value (real 1.x clients fail on either).
"""

from __future__ import annotations

from ..spec import ENUM_FOR_TAG, Tag, enum_value_in_version, tag_from_name, tag_in_version
from ..ttlv import Item, ItemType

Version = tuple[int, int]

_STRUCTURE = int(ItemType.STRUCTURE)
_ENUMERATION = int(ItemType.ENUMERATION)
_ATTRIBUTE = int(Tag.ATTRIBUTE)
_OPERATION = int(Tag.OPERATION)


def strip_for_version(item: Item, version: Version) -> int:
    """Remove, in place, everything C{version} does not define; return how many items went.

    Tags the version lacks are removed; so are Enumerations whose value the version lacks, and
    1.x C{Attribute}s whose enumerated value the version lacks (an object made by a 2.x client
    with ChaCha20 or Ed25519, read by a 1.0 client). The Operation echoes the client's own value
    and is kept.
    """
    if item.type != _STRUCTURE:
        return 0
    removed = 0
    kept = []
    for child in item.value:
        if _defined(child, version):
            removed += strip_for_version(child, version)
            kept.append(child)
        else:
            removed += 1
    item.value = kept
    return removed


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


__all__ = ["strip_for_version"]
