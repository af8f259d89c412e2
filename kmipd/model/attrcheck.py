# -*- test-case-name: tests.model.test_attrcheck -*-
"""The one check of an attribute value a client supplies before kmipd stores it.

Create/Register templates (L{kmipd.model.factory.check_template}), Add/Modify/Set Attribute
(L{kmipd.operations.attribute_ops}) and Import (L{kmipd.operations.transfer}) all call
L{check_value}: a structured attribute carries its fields with their item types, enumerations
and the Cryptographic Usage Mask hold values the version defines (enumerations: for Import), counts
are in range. A bad
value is L{InvalidAttributeValue}: Invalid Attribute Value in 2.x (the 2.1 operation tables),
Invalid Field in 1.x (as kmipd always answered).
"""

from __future__ import annotations

from ..errors import InvalidAttributeValue
from ..spec import ENUM_FOR_TAG, CryptographicUsageMask, Tag, enum_value_in_version, tag_name
from ..ttlv import Item, ItemType

#: Fields a structured attribute must carry before kmipd stores it: name -> ((tag, item type), ...).
REQUIRED_FIELDS: dict[str, tuple[tuple[int, ItemType], ...]] = {
    "Name": ((Tag.NAME_VALUE, ItemType.TEXT_STRING), (Tag.NAME_TYPE, ItemType.ENUMERATION)),
    "Link": ((Tag.LINK_TYPE, ItemType.ENUMERATION), (Tag.LINKED_OBJECT_IDENTIFIER, ItemType.TEXT_STRING)),
    "Application Specific Information": ((Tag.APPLICATION_NAMESPACE, ItemType.TEXT_STRING),),
    "Usage Limits": ((Tag.USAGE_LIMITS_TOTAL, ItemType.LONG_INTEGER), (Tag.USAGE_LIMITS_UNIT, ItemType.ENUMERATION)),
}


def _enum_defined(item: Item, version: tuple[int, int]) -> bool:
    enum = ENUM_FOR_TAG.get(item.tag) if item.type == ItemType.ENUMERATION else None
    return enum is None or enum_value_in_version(enum, item.value, version)


def check_value(name: str, value: Item, version: tuple[int, int], *, stored: bool = False) -> None:
    """Refuse a value of the (standard) attribute C{name} that kmipd cannot store.

    C{stored}: the value is stored as given (Import restores an exported object), so its
    enumerations (and those of its fields) must be values C{version} defines, and Usage Limits
    must carry its Usage Limits Count, between 0 and the Total. Otherwise the server sets the
    count (Add Attribute) and a client's is not looked at, and enumerations are left to the
    operation (Create and Register accept an algorithm a later version defines, as ever).

    @raise InvalidAttributeValue: a missing field or one of the wrong item type, a mask bit
        C{version} does not define, a negative mask or total; when C{stored}, an enumeration
        C{version} does not define or a count out of range.
    """
    if name == "Cryptographic Usage Mask":
        mask = value.value
        if not isinstance(mask, int) or mask < 0 or not enum_value_in_version(CryptographicUsageMask, mask, version):
            raise InvalidAttributeValue("Cryptographic Usage Mask has bits this version does not define")
        return
    if stored and not _enum_defined(value, version):
        raise InvalidAttributeValue(f"attribute {name!r} has a value this version does not define")
    fields = REQUIRED_FIELDS.get(name)
    if fields is None:
        return
    if value.type != ItemType.STRUCTURE:
        raise InvalidAttributeValue(f"attribute {name!r} must be a structure")
    for tag, item_type in fields:
        child = value.find(tag)
        if child is None:
            raise InvalidAttributeValue(f"attribute {name!r} needs a {tag_name(tag)}")
        if child.type != item_type or (stored and not _enum_defined(child, version)):
            raise InvalidAttributeValue(f"{tag_name(tag)} of attribute {name!r} has the wrong item type or value")
    if name == "Usage Limits":
        total = value.get(Tag.USAGE_LIMITS_TOTAL)
        if total < 0:
            raise InvalidAttributeValue("Usage Limits Total must not be negative")
        if stored:
            count = value.find(Tag.USAGE_LIMITS_COUNT)
            if count is None or count.type != ItemType.LONG_INTEGER or not 0 <= count.value <= total:
                raise InvalidAttributeValue("Usage Limits Count must be between 0 and Usage Limits Total")


__all__ = ["REQUIRED_FIELDS", "check_value"]
