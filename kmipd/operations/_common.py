# -*- test-case-name: tests.operations.test_common -*-
"""What every object operation does first: find the object, apply policy, keep dates right."""

from __future__ import annotations

from ..context import RequestContext
from ..errors import ItemNotFound, MissingData, ObjectArchived, PermissionDenied
from ..lifecycle import due_state
from ..objectfactory import DEFAULT_POLICY
from ..objects import ManagedObject
from ..spec import Tag
from ..ttlv import Item, ItemType

__all__ = ["DEFAULT_POLICY", "allowed", "current_state", "load", "set_state", "settle", "touch", "uid_from"]


def uid_from(ctx: RequestContext, payload: Item | None, tag: int = Tag.UNIQUE_IDENTIFIER) -> str:
    """The Unique Identifier the request names, or the batch's ID Placeholder."""
    if payload is not None:
        found = payload.find(tag)
        if found is not None:
            if found.type != ItemType.TEXT_STRING:
                raise MissingData("Unique Identifier must be a Text String")
            return found.value
    if ctx.id_placeholder is None:
        raise MissingData("no Unique Identifier and no ID Placeholder")
    return ctx.id_placeholder


def allowed(ctx: RequestContext, obj: ManagedObject, operation: int) -> bool:
    """True if the caller may perform C{operation} on C{obj} under its operation policy."""
    if ctx.policy is None:
        return True
    return ctx.policy.is_allowed(obj.policy_name or DEFAULT_POLICY, obj.object_type, operation,
                                 ctx.identity, ctx.groups, obj.owner)


def load(ctx: RequestContext, uid: str, operation: int, *, allow_archived: bool = False) -> ManagedObject:
    """Fetch C{uid} for C{operation}: exists, policy allows it, not archived; due dates applied.

    Sets the ID Placeholder to C{uid}.
    @raise ItemNotFound / PermissionDenied / ObjectArchived
    """
    obj = ctx.store.get(uid)
    if obj is None:
        raise ItemNotFound(f"no object with Unique Identifier {uid!r}")
    if not allowed(ctx, obj, operation):
        raise PermissionDenied("permission denied")
    if not allow_archived and obj.archived:
        raise ObjectArchived(f"object {uid!r} is archived; Recover it first")
    if settle(ctx, obj):
        ctx.store.save(obj)
    ctx.id_placeholder = uid
    return obj


def touch(ctx: RequestContext, obj: ManagedObject) -> None:
    """Record a change: Last Change Date = now."""
    obj.set_single("Last Change Date", Item.datetime(Tag.LAST_CHANGE_DATE, ctx.now))


def set_state(ctx: RequestContext, obj: ManagedObject, state: int) -> None:
    """Set C{obj}'s State attribute."""
    obj.set_single("State", Item.enum(Tag.STATE, state))


def current_state(ctx: RequestContext, obj: ManagedObject) -> int | None:
    """C{obj}'s State once the date-driven transitions due at C{ctx.now} are applied (nothing is changed).

    The transitions are the spec diagram's (L{kmipd.lifecycle.due_state}): Pre-Active becomes
    Active at the Activation Date, Active becomes Deactivated at the Deactivation Date.
    """
    return due_state(obj.state, obj.value("Activation Date"), obj.value("Deactivation Date"), ctx.now)


def settle(ctx: RequestContext, obj: ManagedObject) -> bool:
    """Apply the date-driven transitions due at C{ctx.now} to C{obj} (no save); True if its State changed."""
    new = current_state(ctx, obj)
    if new is None or new == obj.state:
        return False
    set_state(ctx, obj, new)
    return True
