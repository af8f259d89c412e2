# -*- test-case-name: tests.test_keyblock -*-
"""Managed object bodies: building and reading the object structures (Key Block and friends).

A stored object's C{material} is its KMIP object structure (C{Symmetric Key}, C{Private Key},
C{Certificate}, C{Secret Data}, C{Opaque Object}, ...) exactly as kmipd will return it in a Get
without format conversion. These helpers build those structures and read the key bytes back;
format conversion for Get lives in L{kmipd.model.keyformat}.
"""

from __future__ import annotations

from typing import cast

from ..errors import InvalidField, KeyValueNotPresent
from ..spec import KeyFormatType, ObjectType, Tag
from ..ttlv import Item, ItemType

#: Object type -> the tag of its object structure.
BODY_TAGS: dict[int, int] = {
    ObjectType.CERTIFICATE: Tag.CERTIFICATE,
    ObjectType.SYMMETRIC_KEY: Tag.SYMMETRIC_KEY,
    ObjectType.PUBLIC_KEY: Tag.PUBLIC_KEY,
    ObjectType.PRIVATE_KEY: Tag.PRIVATE_KEY,
    ObjectType.SPLIT_KEY: Tag.SPLIT_KEY,
    ObjectType.TEMPLATE: Tag.TEMPLATE,
    ObjectType.SECRET_DATA: Tag.SECRET_DATA,
    ObjectType.OPAQUE_OBJECT: Tag.OPAQUE_OBJECT,
    ObjectType.PGP_KEY: Tag.PGP_KEY,
    ObjectType.CERTIFICATE_REQUEST: Tag.CERTIFICATE_REQUEST,  # KMIP 2.x only
}
OBJECT_TYPE_FOR_TAG: dict[int, int] = {v: k for k, v in BODY_TAGS.items()}

#: Object types whose body carries a Key Block.
KEY_BLOCK_TYPES = frozenset({ObjectType.SYMMETRIC_KEY, ObjectType.PUBLIC_KEY, ObjectType.PRIVATE_KEY,
                             ObjectType.SPLIT_KEY, ObjectType.SECRET_DATA, ObjectType.PGP_KEY})

_BYTE_FORMATS = frozenset({KeyFormatType.RAW, KeyFormatType.OPAQUE, KeyFormatType.PKCS_1, KeyFormatType.PKCS_8,
                           KeyFormatType.X_509, KeyFormatType.ECPRIVATEKEY, KeyFormatType.PKCS_12,
                           KeyFormatType.PKCS_10})


def key_block(
    format_type: int,
    material: bytes | Item,
    *,
    algorithm: int | None = None,
    length: int | None = None,
    wrapping: Item | None = None,
) -> Item:
    """A Key Block: C{material} is key bytes, or a transparent C{Key Material} structure."""
    if isinstance(material, Item):
        key_material = Item(Tag.KEY_MATERIAL, material.type, material.value)
    else:
        key_material = Item.bytes(Tag.KEY_MATERIAL, material)
    return Item.struct(Tag.KEY_BLOCK, [
        Item.enum(Tag.KEY_FORMAT_TYPE, format_type),
        Item.struct(Tag.KEY_VALUE, [key_material]) if wrapping is None or key_material.type == ItemType.STRUCTURE
        else Item.bytes(Tag.KEY_VALUE, cast(bytes, material)),  # wrapped: bytes (Item material is a structure)
        Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, algorithm) if algorithm is not None else None,
        Item.int(Tag.CRYPTOGRAPHIC_LENGTH, length) if length is not None else None,
        wrapping,
    ])


def body(object_type: int, block_or_value: Item, **extra: Item | None) -> Item:
    """An object structure for C{object_type} around a Key Block (or other content items)."""
    tag = BODY_TAGS.get(object_type)
    if tag is None:
        raise InvalidField(f"unsupported object type {object_type}")
    children = [v for v in extra.values() if v is not None]
    return Item.struct(tag, children + [block_or_value])


def symmetric_key(key: bytes, algorithm: int, length: int | None = None,
                  format_type: int = KeyFormatType.RAW) -> Item:
    """A C{Symmetric Key} object structure holding C{key}."""
    return body(ObjectType.SYMMETRIC_KEY, key_block(format_type, key, algorithm=algorithm,
                                                    length=length if length is not None else len(key) * 8))


def get_block(material: Item | None) -> Item | None:
    """The Key Block of an object structure, if it has one."""
    if material is None or material.type != ItemType.STRUCTURE:
        return None
    return material.find(Tag.KEY_BLOCK)


def format_type(material: Item | None) -> int | None:
    block = get_block(material)
    return block.get(Tag.KEY_FORMAT_TYPE) if block is not None else None


def is_wrapped(material: Item | None) -> bool:
    block = get_block(material)
    return block is not None and block.find(Tag.KEY_WRAPPING_DATA) is not None


def key_material(material: Item | None) -> Item:
    """The C{Key Material} item (bytes or transparent structure) of a key object.

    @raise KeyValueNotPresent: the object has no key value (destroyed, or not a key).
    """
    block = get_block(material)
    if block is None:
        raise KeyValueNotPresent("the object has no key value")
    value = block.find(Tag.KEY_VALUE)
    if value is None:
        raise KeyValueNotPresent("the object has no key value")
    if value.type == ItemType.BYTE_STRING:  # wrapped
        return Item(Tag.KEY_MATERIAL, ItemType.BYTE_STRING, value.value)
    found = value.find(Tag.KEY_MATERIAL)
    if found is None:
        raise KeyValueNotPresent("the key value has no key material")
    return found


def key_bytes(material: Item | None) -> bytes:
    """The key bytes of a key object in a byte format (Raw, Opaque, PKCS#1/#8, X.509, ...).

    Transparent Symmetric Keys yield their C{Key}; other transparent formats raise
    L{InvalidField} (convert them with L{kmipd.model.keyformat} first).
    """
    km = key_material(material)
    if km.type == ItemType.BYTE_STRING:
        return km.value
    key = km.find(Tag.KEY)
    if key is not None and key.type == ItemType.BYTE_STRING:
        return key.value
    raise InvalidField("the key is in a transparent format that has no single byte string")


def replace_block(material: Item, block: Item) -> Item:
    """A copy of C{material} with its Key Block replaced by C{block}."""
    return Item.struct(material.tag, [block if c.tag == Tag.KEY_BLOCK else c.copy() for c in material.value])


def block_values(material: Item | None) -> tuple[int | None, int | None]:
    """C{(Cryptographic Algorithm, Cryptographic Length)} recorded in the Key Block."""
    block = get_block(material)
    if block is None:
        return None, None
    return block.get(Tag.CRYPTOGRAPHIC_ALGORITHM), block.get(Tag.CRYPTOGRAPHIC_LENGTH)
