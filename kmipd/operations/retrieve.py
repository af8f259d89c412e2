# -*- test-case-name: tests.operations.test_get -*-
"""Get, GetAttributes and GetAttributeList: reading objects and their attributes."""

from __future__ import annotations

from typing import cast

from ..compat import pykmip_mode, with_index
from ..context import RequestContext
from ..errors import (
    KeyWrapTypeNotSupported,
    NotExtractable,
    ObjectDestroyed,
    Sensitive,
)
from ..model import keyformat
from ..model.attributes import parse_reference, reference, render, visible
from ..model.factory import CRYPTOGRAPHIC_TYPES, policy_is_default
from ..model.objects import ManagedObject
from ..spec import KeyWrapType, ObjectType, Operation, Tag
from ..ttlv import Item, ItemType
from ._common import load, uid_from
from .keywrap import wrap_for_get
from .registry import operation

#: Attributes never shown in an unfiltered listing when they hold the server's default.
_QUIET_DEFAULTS = ("Operation Policy Name",)


@operation(Operation.GET)
def get(ctx: RequestContext, payload: Item) -> Item:
    """Return the object structure, converted/wrapped as requested."""
    uid = uid_from(ctx, payload)
    obj = load(ctx, uid, Operation.GET)
    if obj.material is None:  # destroyed: only a 2.x client reaches it (load)
        # Object Destroyed, as the OASIS KMIP 2.1 profile test case BL-M-8-21 answers (2.1 Table
        # 222 lists Key Value Not Present; errors.PROFILE_REASONS adds Object Destroyed to it)
        raise ObjectDestroyed(f"object {uid!r} is destroyed: its key value is gone")
    fmt = payload.get(Tag.KEY_FORMAT_TYPE)
    compression = payload.get(Tag.KEY_COMPRESSION_TYPE)
    wrap_type = payload.get(Tag.KEY_WRAP_TYPE)
    wrapping = payload.find(Tag.KEY_WRAPPING_SPECIFICATION)
    if obj.object_type in CRYPTOGRAPHIC_TYPES:
        if obj.value("Extractable") is False:
            raise NotExtractable(f"object {uid!r} is not Extractable")
        if obj.value("Sensitive") is True and wrapping is None:
            raise Sensitive(f"object {uid!r} is Sensitive; it may only be served wrapped")
    if wrap_type == KeyWrapType.NOT_WRAPPED and _stored_wrapped(obj.material):
        raise KeyWrapTypeNotSupported("kmipd cannot unwrap a key that was registered wrapped")
    material = keyformat.convert(obj.object_type, obj.material, fmt, ctx.version, compression)
    if wrapping is not None:
        material = wrap_for_get(ctx, obj, material, wrapping)
    _served(ctx, obj)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [
        Item.enum(Tag.OBJECT_TYPE, obj.object_type),
        Item.text(Tag.UNIQUE_IDENTIFIER, obj.uid),
        material,
    ])


def _stored_wrapped(material: Item) -> bool:
    from ..model.keyblock import is_wrapped

    return is_wrapped(material)


def _served(ctx: RequestContext, obj: ManagedObject) -> None:
    """Fresh becomes False once an object has been served to a client (spec 1.1+ Fresh)."""
    if obj.value("Fresh") is not False and obj.object_type != ObjectType.TEMPLATE:
        obj.set_single("Fresh", Item.bool(Tag.FRESH, False))
        ctx.store.save_attributes(obj, ("Fresh",))  # the one attribute, not every row


def requested_names(payload: Item | None) -> list[str] | None:
    """The attribute names a GetAttributes request asks for (None: all)."""
    if payload is None:
        return None
    refs = [c for c in payload.value if c.tag in (Tag.ATTRIBUTE_NAME, Tag.ATTRIBUTE_REFERENCE)]
    if not refs:
        return None
    names: list[str] = []
    for ref in refs:
        name = parse_reference(ref)
        if name not in names:
            names.append(name)
    return names


def listed_names(obj: ManagedObject, version: tuple[int, int]) -> list[str]:
    """Attribute names that an unfiltered GetAttributes / GetAttributeList shows."""
    out = []
    for name, values in obj.attributes.items():
        if not values or not visible(name, version):
            continue
        if name in _QUIET_DEFAULTS and policy_is_default(obj):
            continue
        out.append(name)
    return out


def version_view(attributes: dict[str, list[Item | None]], version: tuple[int, int]) -> dict[str, list[Item | None]]:
    """C{attributes} with values reshaped where a version's structure differs.

    KMIP 1.0's Digest has no Key Format Type field (added in 1.1).
    """
    if version >= (1, 1) or "Digest" not in attributes:
        return attributes
    view = dict(attributes)
    digests = cast("list[Item]", attributes["Digest"])  # server-managed, set whole: never has holes
    view["Digest"] = [Item.struct(d.tag, [c for c in d.value if c.tag != Tag.KEY_FORMAT_TYPE])
                      if d.type == ItemType.STRUCTURE else d for d in digests]
    return view


@operation(Operation.GET_ATTRIBUTES)
def get_attributes(ctx: RequestContext, payload: Item) -> Item:
    """The requested (or all) attributes of an object, in the client's version's shape."""
    uid = uid_from(ctx, payload)
    obj = load(ctx, uid, Operation.GET_ATTRIBUTES)
    names = requested_names(payload)
    if names is None:
        names = listed_names(obj, ctx.version)
    items = render(version_view(obj.attributes, ctx.version), ctx.version, names)
    uid_item = Item.text(Tag.UNIQUE_IDENTIFIER, obj.uid)
    if ctx.v2:
        return Item.struct(Tag.RESPONSE_PAYLOAD, [uid_item, Item.struct(Tag.ATTRIBUTES, items)])
    if pykmip_mode(ctx):
        items = [with_index(i) for i in items]
    return Item.struct(Tag.RESPONSE_PAYLOAD, [uid_item, *items])


@operation(Operation.GET_ATTRIBUTE_LIST)
def get_attribute_list(ctx: RequestContext, payload: Item) -> Item:
    """The names (1.x) or references (2.x) of the object's attributes."""
    uid = uid_from(ctx, payload)
    obj = load(ctx, uid, Operation.GET_ATTRIBUTE_LIST)
    refs = [reference(name, ctx.version) for name in listed_names(obj, ctx.version)]
    return Item.struct(Tag.RESPONSE_PAYLOAD, [Item.text(Tag.UNIQUE_IDENTIFIER, obj.uid), *refs])
