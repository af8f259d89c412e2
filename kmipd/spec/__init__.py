"""KMIP specification data: tags, enumerations, masks, per-version membership, attribute rules.

The bulk lives in :mod:`kmipd.spec._generated`, produced by ``tools/gen_spec.py`` from the OASIS
KMIP 1.0-2.1 spec texts; this module adds the lookup helpers.  Versions are ``(major, minor)``
tuples from :data:`VERSIONS`.

* :class:`Tag` (``enum.IntEnum``) holds every tag of any version; older names are aliases.
* One ``enum.IntEnum`` per enumeration (``Operation``, ``ObjectType``, ``CryptographicAlgorithm``,
  ...) and ``enum.IntFlag`` for the masks (``CryptographicUsageMask``, ``StorageStatusMask``,
  ``ProtectionStorageMask``).
* :data:`ENUM_FOR_TAG` maps an Enumeration-typed tag to its enumeration class (Attribute Reference
  carries :class:`Tag`); :data:`MASK_FOR_TAG` maps the mask-carrying Integer tags to their mask.
* :data:`TAG_TYPES` maps a tag to its TTLV item type number (1 Structure ... 11 Date-Time
  Extended).  A few tags take several types (Key Value is a Byte String when wrapped, Unique
  Identifier may be an Enumeration in 2.x): :data:`TAG_VARIANT_TYPES` lists all of them, and
  :func:`tag_type` answers per version (Asynchronous Indicator is Boolean in 1.x).
"""

from __future__ import annotations

import enum
import re
from typing import Protocol, TypeAlias, runtime_checkable

from kmipd.spec import _generated
from kmipd.spec._generated import *  # noqa: F403 -- re-exports _generated.__all__ (Tag, the enumerations)
from kmipd.spec._generated import (
    ENUM_FOR_TAG,
    ENUM_VALUE_ALIASES,
    ENUM_VALUE_NAMES,
    ENUM_VERSION_BITS,
    ENUMS,
    MASK_FOR_TAG,
    TAG_ALIASES,
    TAG_NAMES,
    TAG_TYPES,
    TAG_VARIANT_TYPES,
    TAG_VERSION_BITS,
    TAG_VERSION_TYPES,
    VERSIONS,
    Tag,
)

Version = tuple[int, int]
EnumClass: TypeAlias = "type[enum.IntEnum] | type[enum.IntFlag]"
"""A generated enumeration (``enum.IntEnum``) or mask (``enum.IntFlag``) class."""


@runtime_checkable
class VersionLike(Protocol):
    """Anything with ``major`` and ``minor`` (a Protocol Version object, e.g. PyKMIP's)."""

    major: int
    minor: int


EXTENSION_TAG_MIN = 0x540000
EXTENSION_TAG_MAX = 0x54FFFF
EXTENSION_ENUM_MIN = 0x80000000
EXTENSION_ENUM_MAX = 0x8FFFFFFF


class UnknownVersionError(ValueError):
    """A protocol version that is not one of :data:`VERSIONS`."""

    def __init__(self, version: object) -> None:
        super().__init__(f"unknown KMIP version {version!r}; known: {VERSIONS}")
        self.version = version


class UnknownEnumerationError(TypeError):
    """A class passed as an enumeration that is not one of the generated KMIP enumerations."""


_VERSION_BIT: dict[tuple[int, int], int] = {v: 1 << i for i, v in enumerate(VERSIONS)}


def _bit(version: Version | VersionLike) -> int:
    """Bit of ``version`` in the version masks; accepts ``(major, minor)`` or ``.major/.minor``."""
    if type(version) is tuple:  # the hot path: one dict lookup
        bit = _VERSION_BIT.get(version)
        if bit is not None:
            return bit
    try:
        if isinstance(version, VersionLike):
            key = (int(version.major), int(version.minor))
        else:
            key = (int(version[0]), int(version[1]))
        return 1 << VERSIONS.index(key)
    except (ValueError, TypeError, IndexError, KeyError):
        raise UnknownVersionError(version) from None


def _versions_of(bits: int) -> frozenset[Version]:
    return frozenset(v for i, v in enumerate(VERSIONS) if bits & (1 << i))


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


# ----------------------------------------------------------------------------- tags

_TAG_BY_NORM: dict[str, int] = {}
for _value, _name in TAG_NAMES.items():
    _TAG_BY_NORM.setdefault(_norm(_name), _value)
for _value, _names in TAG_ALIASES.items():
    for _name in _names:
        _TAG_BY_NORM.setdefault(_norm(_name), _value)
for _member_name, _member in Tag.__members__.items():
    _TAG_BY_NORM.setdefault(_norm(_member_name), int(_member))


def is_extension_tag(tag: int) -> bool:
    """True for the vendor extension tag range 0x540000-0x54FFFF."""
    return EXTENSION_TAG_MIN <= tag <= EXTENSION_TAG_MAX


def tag_name(tag: int) -> str:
    """The spec name of a tag ("Unique Identifier"); unknown and extension tags as "0x540001"."""
    name = TAG_NAMES.get(int(tag))
    return name if name is not None else f"0x{int(tag):06X}"


def tag_from_name(name: str) -> int | None:
    """Tag value for a spec name in any spelling ("Unique Identifier", "UniqueIdentifier",
    "UNIQUE_IDENTIFIER") or a hex form ("0x540001"); None if unknown."""
    if not isinstance(name, str):
        return None
    text = name.strip()
    if re.fullmatch(r"0[xX][0-9A-Fa-f]{6}", text):
        return int(text, 16)
    return _TAG_BY_NORM.get(_norm(text))


def tag_versions(tag: int) -> frozenset[Version]:
    """The versions whose spec defines the tag (all versions for extension tags)."""
    if is_extension_tag(tag):
        return frozenset(VERSIONS)
    return _versions_of(TAG_VERSION_BITS.get(int(tag), 0))


def tag_in_version(tag: int, version: Version) -> bool:
    """True if the tag may appear in a message of the given version (extensions always may)."""
    bit = _bit(version)
    return bool(TAG_VERSION_BITS.get(tag, 0) & bit) or is_extension_tag(tag)


def tag_type(tag: int, version: Version | None = None) -> int | None:
    """The TTLV item type number of a tag where the spec states it (for ``version`` if given)."""
    tag = int(tag)
    if version is not None:
        bit = _bit(version)
        for bits, typ in TAG_VERSION_TYPES.get(tag, ()):
            if bits & bit:
                return typ
    return TAG_TYPES.get(tag)


def tag_allowed_types(tag: int) -> frozenset[int]:
    """Every item type the spec allows for a tag in any version (empty if unknown)."""
    tag = int(tag)
    kinds = set(TAG_VARIANT_TYPES.get(tag, ()))
    kinds.update(typ for _, typ in TAG_VERSION_TYPES.get(tag, ()))
    if tag in TAG_TYPES:
        kinds.add(TAG_TYPES[tag])
    return frozenset(kinds)


# ----------------------------------------------------------------------------- enumerations

_ENUM_CLASSES: dict[str, EnumClass] = {
    cls.__name__: cls for cls in ENUMS.values()
}


_ENUM_BITS_CACHE: dict[type, dict[int, int]] = {}


def _enum_bits(enum_cls: EnumClass) -> dict[int, int]:
    bits = _ENUM_BITS_CACHE.get(enum_cls)
    if bits is None:
        bits = TAG_VERSION_BITS if enum_cls is Tag else ENUM_VERSION_BITS[_enum_key(enum_cls)]
        _ENUM_BITS_CACHE[enum_cls] = bits
    return bits


def _enum_key(enum_cls: EnumClass) -> str:
    key = getattr(enum_cls, "__name__", None)
    if key not in _ENUM_CLASSES or _ENUM_CLASSES[key] is not enum_cls:
        raise UnknownEnumerationError(
            f"{enum_cls!r} is not a KMIP enumeration of kmipd.spec"
        )
    return key


def is_mask(enum_cls: EnumClass) -> bool:
    """True for the bit-mask classes (``enum.IntFlag``)."""
    return issubclass(enum_cls, enum.IntFlag)


def enum_values_for_version(
    enum_cls: EnumClass, version: Version
) -> frozenset[int]:
    """The values (or mask bits) of an enumeration that the given version's spec defines."""
    bits = _enum_bits(enum_cls)
    bit = _bit(version)
    return frozenset(v for v, b in bits.items() if b & bit)


def enum_value_in_version(
    enum_cls: EnumClass, value: int, version: Version
) -> bool:
    """True if the value is defined for the enumeration in that version.

    Extension values 0x8XXXXXXX of enumerations are always accepted; for masks every set bit
    must be defined in that version (0 is accepted).  ``Tag`` is accepted too (Attribute
    Reference carries a tag as an Enumeration) and answers like :func:`tag_in_version`.
    """
    if enum_cls is Tag:
        return tag_in_version(value, version)
    bits = _enum_bits(enum_cls)
    bit = _bit(version)
    value = int(value)
    if is_mask(enum_cls):
        remaining = value
        for flag, b in bits.items():
            if b & bit:
                remaining &= ~flag
        return remaining == 0 and value >= 0
    if EXTENSION_ENUM_MIN <= value <= EXTENSION_ENUM_MAX:
        return True
    return bool(bits.get(value, 0) & bit)


def enum_value_versions(enum_cls: EnumClass, value: int) -> frozenset[Version]:
    """The versions whose spec defines this enumeration value."""
    if enum_cls is Tag:
        return tag_versions(value)
    return _versions_of(_enum_bits(enum_cls).get(int(value), 0))


def enum_value_name(enum_cls: EnumClass, value: int) -> str | None:
    """The spec name of an enumeration value ("SHA-256"), or None if not defined."""
    return ENUM_VALUE_NAMES[_enum_key(enum_cls)].get(int(value))


def enum_from_name(enum_cls: EnumClass, name: str) -> int | None:
    """Enumeration value for a spec name in any spelling ("SHA-256", "SHA256", "SHA_256"), or None."""
    key = _enum_key(enum_cls)
    wanted = _norm(name)
    for value, vname in ENUM_VALUE_NAMES[key].items():
        if _norm(vname) == wanted:
            return value
    for value, olds in ENUM_VALUE_ALIASES.get(key, {}).items():
        if any(_norm(o) == wanted for o in olds):
            return value
    for member_name, member in enum_cls.__members__.items():
        if _norm(member_name) == wanted:
            return int(member)
    return None


def enum_by_name(name: str) -> EnumClass | None:
    """Enumeration class by spec name ("Object Type") or class name ("ObjectType")."""
    wanted = _norm(name)
    for spec_name, cls in ENUMS.items():
        if _norm(spec_name) == wanted or _norm(cls.__name__) == wanted:
            return cls
    return None


__all__ = [
    "ENUMS",
    "ENUM_FOR_TAG",
    "EnumClass",
    "EXTENSION_ENUM_MAX",
    "EXTENSION_ENUM_MIN",
    "EXTENSION_TAG_MAX",
    "EXTENSION_TAG_MIN",
    "MASK_FOR_TAG",
    "TAG_NAMES",
    "TAG_TYPES",
    "TAG_VARIANT_TYPES",
    "UnknownEnumerationError",
    "UnknownVersionError",
    "Version",
    "VersionLike",
    "enum_by_name",
    "enum_from_name",
    "enum_value_in_version",
    "enum_value_name",
    "enum_value_versions",
    "enum_values_for_version",
    "is_extension_tag",
    "is_mask",
    "tag_allowed_types",
    "tag_from_name",
    "tag_in_version",
    "tag_name",
    "tag_type",
    "tag_versions",
]
__all__ += _generated.__all__
