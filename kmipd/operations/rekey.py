# -*- test-case-name: tests.operations.test_rekey -*-
"""ReKey and ReKeyKeyPair: replacement keys with copied attributes and Replaced/Replacement links."""

from __future__ import annotations

from ..context import RequestContext
from ..errors import (
    IllegalOperation,
    InvalidField,
    InvalidMessage,
    ItemNotFound,
    KeyValueNotPresent,
    ObjectTypeNotRekeyable,
    PermissionDenied,
)
from ..log import Logger
from ..model import keyblock, keyformat
from ..model.attributes import Attr, read_template
from ..model.factory import DEFAULT_POLICY, check_protection_masks, check_template, link, new_object, template_value
from ..model.objects import ManagedObject
from ..spec import LinkType, ObjectType, Operation, Tag
from ..ttlv import Item
from ._common import load, touch, uid_from
from .create import _merge, check_key_pair_protection_masks, generate_symmetric, key_pair_objects, symmetric_material
from .registry import operation

_log = Logger()

#: Attributes the replacement does not inherit (set afresh by the server, or not set at all).
NOT_COPIED = frozenset({
    "Unique Identifier", "Initial Date", "Destroy Date", "Compromise Occurrence Date", "Compromise Date",
    "Revocation Reason", "State", "Digest", "Link", "Last Change Date", "Random Number Generator", "Fresh",
    "Original Creation Date", "Archive Date", "Short Unique Identifier", "Key Format Type", "Lease Time",
    "Always Sensitive", "Never Extractable", "Key Value Present", "Key Value Location", "Protection Storage Mask",
    "Object Type", "Cryptographic Algorithm", "Cryptographic Length", "Usage Limits",
})
_DATES = ("Activation Date", "Process Start Date", "Protect Stop Date", "Deactivation Date")


def _offset(payload: Item, template: list[Attr]) -> int | None:
    found = payload.find(Tag.OFFSET)  # an Interval: the schema checked it
    if found is None:
        return None
    if any(a.name in _DATES for a in template):
        raise InvalidMessage("Offset may not be given together with explicit activation/deactivation dates")
    return int(found.value)


def copied_attributes(ctx: RequestContext, old: ManagedObject, offset: int | None) -> list[Attr]:
    """The existing object's attributes the replacement inherits, dates shifted by C{offset}."""
    out: list[Attr] = []
    activation = old.value("Activation Date")
    if offset is not None and not isinstance(activation, int) and any(old.first(d) for d in _DATES[1:]):
        raise IllegalOperation("an Offset needs an Activation Date on the existing key to shift the other dates")
    shift = None
    if offset is not None:
        new_activation = ctx.now + offset
        shift = new_activation - activation if isinstance(activation, int) else None
    for name, values in old.attributes.items():
        if name in NOT_COPIED:
            continue
        if name in _DATES and offset is not None:
            continue
        out += [Attr(name, v.copy()) for v in values if v is not None]
    if offset is not None:
        out.append(Attr("Activation Date", Item.datetime(Tag.ACTIVATION_DATE, ctx.now + offset)))
        if shift is not None:
            for name in _DATES[1:]:
                value = old.value(name)
                if isinstance(value, int):
                    tag = old.first(name).tag  # type: ignore[union-attr]
                    out.append(Attr(name, Item.datetime(tag, value + shift)))
    usage = old.first("Usage Limits")
    if usage is not None:
        total = usage.get(Tag.USAGE_LIMITS_TOTAL)
        out.append(Attr("Usage Limits", Item.struct(Tag.USAGE_LIMITS, [
            c.copy() for c in usage.value if c.tag != Tag.USAGE_LIMITS_COUNT] + (
            [Item.long(Tag.USAGE_LIMITS_COUNT, total)] if total is not None else []))))
    return out


def _keep_policy(old: ManagedObject, template: list[Attr]) -> None:
    """Refuse a template that would give the replacement another Operation Policy Name than C{old}'s.

    The replacement is governed like the object it replaces (same owner, same policy), so a caller
    allowed to re-key cannot use it to escape the object's policy.
    """
    given = template_value(template, "Operation Policy Name")
    if given is not None and given != (old.value("Operation Policy Name") or DEFAULT_POLICY):
        raise InvalidField("the replacement keeps the existing object's Operation Policy Name")


def _inherit(new: ManagedObject, old: ManagedObject) -> None:
    """Give the replacement C{new} the owner and Operation Policy Name of C{old}, not the caller's."""
    new.owner = old.owner
    policy = old.first("Operation Policy Name")
    if policy is not None:
        new.set_single("Operation Policy Name", policy.copy())


def _retire(ctx: RequestContext, old: ManagedObject, new_uid: str) -> None:
    """Link the existing object to its replacement, move its names away, reset its usage count."""
    old.attributes.setdefault("Link", []).append(link(LinkType.REPLACEMENT_OBJECT_LINK, new_uid))
    old.attributes.pop("Name", None)
    usage = old.first("Usage Limits")
    if usage is not None and usage.get(Tag.USAGE_LIMITS_TOTAL) is not None:
        total = usage.get(Tag.USAGE_LIMITS_TOTAL)
        old.set_single("Usage Limits", Item.struct(Tag.USAGE_LIMITS, [
            Item.long(Tag.USAGE_LIMITS_COUNT, total) if c.tag == Tag.USAGE_LIMITS_COUNT else c.copy()
            for c in usage.value]))
    touch(ctx, old)
    ctx.store.save(old)


def _require_material(ctx: RequestContext, obj: ManagedObject) -> None:
    if obj.material is None:
        if ctx.version >= (1, 2):
            raise KeyValueNotPresent(f"object {obj.uid!r} has no key value")
        raise ItemNotFound(f"object {obj.uid!r} has been destroyed")


@operation(Operation.RE_KEY)
def rekey(ctx: RequestContext, payload: Item) -> Item:
    """Generate a replacement for a Symmetric Key."""
    uid = uid_from(ctx, payload)
    old = load(ctx, uid, Operation.RE_KEY)
    if old.object_type != ObjectType.SYMMETRIC_KEY:
        raise ObjectTypeNotRekeyable("only Symmetric Keys can be re-keyed; use ReKeyKeyPair for key pairs")
    _require_material(ctx, old)
    template = check_template(ctx, ObjectType.SYMMETRIC_KEY, read_template(payload, Tag.TEMPLATE_ATTRIBUTE,
                                                                            Tag.ATTRIBUTES))
    check_protection_masks(payload)
    _keep_policy(old, template)
    offset = _offset(payload, template)
    algorithm = template_value(template, "Cryptographic Algorithm") or old.value("Cryptographic Algorithm")
    length = template_value(template, "Cryptographic Length") or old.value("Cryptographic Length")
    key = generate_symmetric(algorithm, length)
    fmt = keyblock.format_type(old.material)
    material = symmetric_material(key, algorithm, length,  # type: ignore[arg-type]
                                  fmt if fmt in (1, 7) else None)
    attrs = _merge(copied_attributes(ctx, old, offset), template)
    new = new_object(ctx, ObjectType.SYMMETRIC_KEY, material, attrs, algorithm=algorithm,  # type: ignore[arg-type]
                     length=length, extra=[("Link", link(LinkType.REPLACED_OBJECT_LINK, old.uid))])  # type: ignore[arg-type]
    _inherit(new, old)
    ctx.store.add(new)
    _retire(ctx, old, new.uid)
    ctx.id_placeholder = new.uid
    _log.info("re-keyed {old_uid} as {new_uid}", old_uid=old.uid, new_uid=new.uid)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [Item.text(Tag.UNIQUE_IDENTIFIER, new.uid)])


def _linked(obj: ManagedObject, link_type: int) -> str | None:
    for value in obj.live("Link"):
        if value.get(Tag.LINK_TYPE) == link_type:
            return value.get(Tag.LINKED_OBJECT_IDENTIFIER)
    return None


@operation(Operation.RE_KEY_KEY_PAIR, min_version=(1, 1))
def rekey_key_pair(ctx: RequestContext, payload: Item) -> Item:
    """Generate a replacement key pair for a Private Key and its linked Public Key."""
    check_key_pair_protection_masks(payload)
    uid = uid_from(ctx, payload, Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER)
    old_priv = load(ctx, uid, Operation.RE_KEY_KEY_PAIR)
    if old_priv.object_type != ObjectType.PRIVATE_KEY:
        raise ObjectTypeNotRekeyable("ReKeyKeyPair needs the Unique Identifier of a Private Key")
    _require_material(ctx, old_priv)
    pub_uid = _linked(old_priv, LinkType.PUBLIC_KEY_LINK)
    if pub_uid is None:
        raise PermissionDenied("the private key has no linked public key to replace")
    # Policy tables (the seed's and PyKMIP's) have no ReKeyKeyPair row for Public Keys: the public
    # half is not re-keyed by request, it gets a Replacement link, so the caller needs the right to
    # modify its attributes.
    old_pub = load(ctx, pub_uid, Operation.MODIFY_ATTRIBUTE)
    common = check_template(ctx, ObjectType.PRIVATE_KEY, read_template(
        payload, Tag.COMMON_TEMPLATE_ATTRIBUTE, Tag.COMMON_ATTRIBUTES))
    priv_t = check_template(ctx, ObjectType.PRIVATE_KEY, read_template(
        payload, Tag.PRIVATE_KEY_TEMPLATE_ATTRIBUTE, Tag.PRIVATE_KEY_ATTRIBUTES))
    pub_t = check_template(ctx, ObjectType.PUBLIC_KEY, read_template(
        payload, Tag.PUBLIC_KEY_TEMPLATE_ATTRIBUTE, Tag.PUBLIC_KEY_ATTRIBUTES))
    priv_template, pub_template = _merge(common, priv_t), _merge(common, pub_t)
    _keep_policy(old_priv, priv_template)
    _keep_policy(old_pub, pub_template)
    offset = _offset(payload, priv_template + pub_template)
    algorithm = template_value(priv_template, "Cryptographic Algorithm") or old_priv.value("Cryptographic Algorithm")
    length = template_value(priv_template, "Cryptographic Length") or old_priv.value("Cryptographic Length")
    curve = keyformat.curve_of(old_priv.material) if old_priv.material is not None else None
    priv_attrs = _merge(copied_attributes(ctx, old_priv, offset), priv_template)
    pub_attrs = _merge(copied_attributes(ctx, old_pub, offset), pub_template)
    new_priv, new_pub = key_pair_objects(
        ctx, algorithm, None if curve is not None else length, curve, priv_attrs, pub_attrs,
        extra_priv=[("Link", link(LinkType.REPLACED_OBJECT_LINK, old_priv.uid))],
        extra_pub=[("Link", link(LinkType.REPLACED_OBJECT_LINK, old_pub.uid))])
    _inherit(new_priv, old_priv)
    _inherit(new_pub, old_pub)
    ctx.store.add(new_priv)
    ctx.store.add(new_pub)
    _retire(ctx, old_priv, new_priv.uid)
    _retire(ctx, old_pub, new_pub.uid)
    ctx.id_placeholder = new_priv.uid
    _log.info("re-keyed key pair {old_uid} as {new_uid}", old_uid=old_priv.uid, new_uid=new_priv.uid)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [
        Item.text(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, new_priv.uid),
        Item.text(Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER, new_pub.uid),
    ])
