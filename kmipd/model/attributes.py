# -*- test-case-name: tests.test_attributes -*-
"""The attribute model: one internal form, read and written in the 1.x and 2.x shapes.

Internally an attribute is C{(name, value)}: C{name} is the KMIP 1.x attribute name
(C{"Cryptographic Algorithm"}, C{"x-foo"}; 2.x vendor attributes of another vendor become
C{"<vendor>-<name>"}), C{value} an L{Item} tagged with the attribute's own tag, or with
C{Tag.ATTRIBUTE_VALUE} for custom/vendor attributes (any item type).

On the wire:
 - KMIP 1.x: C{Attribute{Attribute Name, [Attribute Index], Attribute Value}}, grouped in
   C{Template-Attribute} (and the Common/Private/Public variants of CreateKeyPair).
 - KMIP 2.x: the value item itself inside an C{Attributes} structure (Common/Private Key/Public
   Key Attributes for key pairs), vendor attributes as C{Attribute{Vendor Identification,
   Attribute Name, Attribute Value}}; references by C{Attribute Reference} (an Enumeration whose
   value is the tag, or a structure naming a vendor attribute).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidField, NotAnAttribute, ReadOnlyAttribute
from ..spec import TAG_NAMES, Tag, tag_in_version
from ..spec.attributes import ATTRIBUTES, AttributeSpec, attribute_by_tag
from ..ttlv import Item, ItemType

Version = tuple[int, int]

ATTRIBUTE_VALUE = int(Tag.ATTRIBUTE_VALUE)

#: Attributes only the server sets: a client may not supply them at creation nor change them
#: (Never Extractable stays here: a client asks for it through Extractable=False).
SERVER_MANAGED = frozenset({
    "Unique Identifier", "Object Type", "State", "Initial Date", "Last Change Date", "Digest",
    "Destroy Date", "Compromise Date", "Compromise Occurrence Date", "Archive Date", "Lease Time",
    "Revocation Reason", "Key Value Present", "Key Value Location", "Original Creation Date",
    "Always Sensitive", "Never Extractable", "Certificate Length", "Certificate Identifier",
    "Certificate Subject", "Certificate Issuer", "X.509 Certificate Identifier", "X.509 Certificate Subject",
    "X.509 Certificate Issuer", "Digital Signature Algorithm", "Key Format Type",
    "Short Unique Identifier", "Random Number Generator",
})

#: Attributes a client may supply at creation (template) but not change afterwards.
CLIENT_SET_ONCE = frozenset({
    "Cryptographic Algorithm", "Cryptographic Length", "Cryptographic Domain Parameters",
    "Certificate Type", "Process Start Date", "Protect Stop Date", "Usage Limits", "Cryptographic Usage Mask",
    "Operation Policy Name", "Opaque Data Type", "Secret Data Type", "Fresh",
})


def is_custom(name: str) -> bool:
    """True for custom (1.x C{x-}/C{y-}) and vendor attribute names."""
    return name not in ATTRIBUTES and "-" in name


def spec_for(name: str) -> AttributeSpec | None:
    """The spec rules of a standard attribute, or C{None} for custom ones."""
    return ATTRIBUTES.get(name)


def name_for_tag(tag: int) -> str | None:
    """The 1.x attribute name of a 2.x attribute item's tag."""
    spec = attribute_by_tag(tag)
    return spec.name if spec is not None else None


def defined_in(name: str, version: Version) -> bool:
    """True if the attribute exists in C{version} (custom attributes always do)."""
    spec = ATTRIBUTES.get(name)
    if spec is None:
        return True
    return spec.in_version(version) and tag_in_version(spec.tag, version)


def normalise_name(name: str) -> str:
    """Collapse runs of spaces (some 1.x clients pad names) and map 2.x renames to 1.x names."""
    name = " ".join(name.split())
    if name in ATTRIBUTES or is_custom(name):
        return name
    for spec in ATTRIBUTES.values():
        if spec.name.lower() == name.lower():
            return spec.name
    return name


# ---------------------------------------------------------------------------------------------
# Reading attributes from requests

@dataclass
class Attr:
    """One attribute as read from a request (C{index} only from 1.x requests)."""

    name: str
    value: Item | None
    index: int | None = None


def parse_1x(attribute: Item) -> Attr:
    """Read a 1.x C{Attribute} structure."""
    if attribute.type != ItemType.STRUCTURE:
        raise InvalidField("Attribute is not a structure")
    name = attribute.find(Tag.ATTRIBUTE_NAME)
    if name is None or name.type != ItemType.TEXT_STRING:
        raise InvalidField("Attribute has no Attribute Name")
    vendor = attribute.find(Tag.VENDOR_IDENTIFICATION)
    index = attribute.get(Tag.ATTRIBUTE_INDEX)
    value = attribute.find(Tag.ATTRIBUTE_VALUE)
    attr_name = normalise_name(name.value)
    if vendor is not None:  # 2.x vendor attribute
        attr_name = f"{vendor.value}-{name.value}"
        return Attr(attr_name, _as_custom(value), None)
    spec = ATTRIBUTES.get(attr_name)
    if spec is None:
        if not is_custom(attr_name):
            raise InvalidField(f"unknown attribute {name.value!r}")
        return Attr(attr_name, _as_custom(value), index)
    if value is not None:
        value = Item(spec.tag, value.type, value.value)
        _check_type(spec, value)
    return Attr(attr_name, value, index)


def _as_custom(value: Item | None) -> Item | None:
    return None if value is None else Item(ATTRIBUTE_VALUE, value.type, value.value)


def _check_type(spec: AttributeSpec, value: Item) -> None:
    if spec.item_type and value.type != spec.item_type:
        raise InvalidField(f"attribute {spec.name!r} has the wrong item type")


def parse_2x(item: Item) -> Attr:
    """Read one child of a 2.x C{Attributes} structure (or C{New/Current Attribute} content)."""
    if item.tag == Tag.ATTRIBUTE:
        return parse_1x(item)
    name = name_for_tag(item.tag)
    if name is None:
        raise NotAnAttribute(f"{TAG_NAMES.get(item.tag, hex(item.tag))} is not an attribute")
    spec = ATTRIBUTES[name]
    _check_type(spec, item)
    return Attr(name, item)


def parse_any(item: Item) -> Attr:
    """Read an attribute in whichever shape it comes."""
    return parse_1x(item) if item.tag == Tag.ATTRIBUTE else parse_2x(item)


def read_template(payload: Item | None, container_1x: int, container_2x: int) -> list[Attr]:
    """Every attribute in a request's template, in either shape.

    1.x: C{container_1x} (Template-Attribute and friends) holding C{Attribute}s (Template Name
    references are refused with Invalid Field: templates by name are deprecated and kmipd does
    not store them for that purpose). 2.x: C{container_2x} (Attributes and friends).
    """
    out: list[Attr] = []
    if payload is None:
        return out
    for container in payload.findall(container_1x) + payload.findall(container_2x):
        for child in container.value:
            if child.tag == Tag.NAME and container.tag == container_1x:
                raise InvalidField("Template references by name are not supported")
            out.append(parse_any(child))
    return out


def parse_reference(item: Item) -> str:
    """The attribute name an C{Attribute Name} (1.x) or C{Attribute Reference} (2.x) designates."""
    if item.type == ItemType.TEXT_STRING:
        return normalise_name(item.value)
    if item.type == ItemType.ENUMERATION:
        name = name_for_tag(item.value)
        if name is None:
            raise NotAnAttribute(f"Attribute Reference 0x{item.value:06X} is not an attribute")
        return name
    if item.type == ItemType.STRUCTURE:
        vendor, name = item.get(Tag.VENDOR_IDENTIFICATION), item.get(Tag.ATTRIBUTE_NAME)
        if not vendor or not name:
            raise InvalidField("malformed Attribute Reference")
        return f"{vendor}-{name}"
    raise InvalidField("malformed Attribute Reference")


# ---------------------------------------------------------------------------------------------
# Writing attributes to responses

def to_1x(name: str, value: Item, index: int | None = None) -> Item:
    """A 1.x C{Attribute} structure."""
    return Item.struct(Tag.ATTRIBUTE, [
        Item.text(Tag.ATTRIBUTE_NAME, name),
        Item.int(Tag.ATTRIBUTE_INDEX, index) if index else None,
        Item(ATTRIBUTE_VALUE, value.type, value.value),
    ])


def to_2x(name: str, value: Item) -> Item:
    """The 2.x form: the value item itself, or a vendor C{Attribute} structure."""
    spec = ATTRIBUTES.get(name)
    if spec is not None:
        return Item(spec.tag, value.type, value.value)
    vendor, _, attr = name.partition("-")
    return Item.struct(Tag.ATTRIBUTE, [
        Item.text(Tag.VENDOR_IDENTIFICATION, vendor),
        Item.text(Tag.ATTRIBUTE_NAME, attr),
        Item(ATTRIBUTE_VALUE, value.type, value.value),
    ])


def reference(name: str, version: Version) -> Item:
    """How C{version} names attribute C{name} in a response (GetAttributeList, 2.x deletes)."""
    if version < (2, 0):
        return Item.text(Tag.ATTRIBUTE_NAME, name)
    spec = ATTRIBUTES.get(name)
    if spec is not None:
        return Item.enum(Tag.ATTRIBUTE_REFERENCE, spec.tag)
    vendor, _, attr = name.partition("-")
    return Item.struct(Tag.ATTRIBUTE_REFERENCE, [
        Item.text(Tag.VENDOR_IDENTIFICATION, vendor), Item.text(Tag.ATTRIBUTE_NAME, attr)])


def visible(name: str, version: Version) -> bool:
    """True if attribute C{name} may be shown to a client speaking C{version}.

    1.x clients see standard attributes of their version and C{x-}/C{y-} custom attributes only;
    2.x clients see the standard attributes of their version and every vendor attribute.
    """
    if name in ATTRIBUTES:
        return defined_in(name, version)
    if version < (2, 0):
        return name.startswith(("x-", "y-"))
    return True


def render(attributes: dict[str, list[Item | None]], version: Version, names: list[str] | None = None) -> list[Item]:
    """The response items for C{attributes} (all, or only C{names}) in C{version}'s shape.

    A value's list position is its Attribute Index; C{None} holes (deleted instances) are skipped.
    """
    out: list[Item] = []
    selected = names if names is not None else list(attributes)
    for name in selected:
        if not visible(name, version):
            continue
        values = attributes.get(name, [])
        for i, value in enumerate(values):
            if value is None:
                continue
            if version < (2, 0):
                out.append(to_1x(name, value, i))
            else:
                out.append(to_2x(name, value))
    return out


def check_client_settable(name: str, *, at_creation: bool) -> None:
    """Refuse an attribute a client may not set (at creation, or afterwards)."""
    if name.startswith("y-"):
        raise ReadOnlyAttribute(f"attribute {name!r} is reserved for the server")
    if name in SERVER_MANAGED:
        raise ReadOnlyAttribute(f"attribute {name!r} is set by the server")
    if not at_creation and name in CLIENT_SET_ONCE:
        raise ReadOnlyAttribute(f"attribute {name!r} cannot be changed after creation")
