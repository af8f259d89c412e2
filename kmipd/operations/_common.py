# -*- test-case-name: tests.operations.test_common -*-
"""What every object operation does first: find the object, apply policy, keep dates right."""

from __future__ import annotations

from ..compat import pykmip_mode
from ..context import RequestContext
from ..errors import ItemNotFound, MissingData, ObjectArchived, PermissionDenied
from ..model import certrequest
from ..model.factory import DEFAULT_POLICY
from ..model.objects import ManagedObject
from ..model.states import DESTROYED_STATES, due_state
from ..spec import Operation, Tag
from ..ttlv import Item

__all__ = ["DEFAULT_POLICY", "allowed", "current_state", "load", "load_as", "load_key", "set_state", "settle",
           "touch", "uid_from"]


def uid_from(ctx: RequestContext, payload: Item | None, tag: int = Tag.UNIQUE_IDENTIFIER) -> str:
    """The Unique Identifier the request names (a Text String: the schema checked it), or the
    batch's ID Placeholder."""
    uid = payload.get(tag) if payload is not None else None
    if uid is not None:
        return uid
    if ctx.id_placeholder is None:
        raise MissingData("no Unique Identifier and no ID Placeholder")
    return ctx.id_placeholder


def allowed(ctx: RequestContext, obj: ManagedObject, operation: int) -> bool:
    """True if the caller may perform C{operation} on C{obj} under its operation policy."""
    if ctx.policy is None:
        return True
    return ctx.policy.is_allowed(obj.policy_name or DEFAULT_POLICY, obj.object_type, operation,
                                 ctx.identity, ctx.groups, obj.owner)


#: What a KMIP 1.x client may still read of a destroyed object: its retained metadata (1.x: the
#: metadata MAY be retained; the OASIS 1.x lifecycle profile reads it, SKLC/AKLC-O-1-10..12).
_READ_DESTROYED_1X = frozenset({Operation.GET_ATTRIBUTES, Operation.GET_ATTRIBUTE_LIST})


def _visible_destroyed(ctx: RequestContext, operation: int) -> bool:
    """True if a destroyed object exists for C{operation}.

    KMIP 2.x keeps a destroyed object's metadata (its Destroy says it SHALL), so every operation
    sees it and answers as the 2.x error tables say. For a 1.x client the object is deleted (the
    seed: "Once destroyed, the object can no longer be retrieved"): every request naming it is
    Item Not Found, except Get Attributes / Get Attribute List, which read the retained metadata
    (State Destroyed, Destroy Date) — unless C{compatibility = pykmip}, where, as on the PyKMIP
    server, nothing of it remains. See docs/compatibility.md.
    """
    if ctx.v2:
        return True
    return operation in _READ_DESTROYED_1X and not pykmip_mode(ctx)


def load(ctx: RequestContext, uid: str, operation: int, *, allow_archived: bool = False) -> ManagedObject:
    """Fetch C{uid} for C{operation}: exists, policy allows it, not archived; due dates applied.

    Sets the ID Placeholder to C{uid}.
    A destroyed object does not exist for a KMIP 1.x client (Item Not Found), but for reading
    its retained metadata (L{_visible_destroyed}); nor does an object of a type the client's 1.x
    version does not define (a 2.x Certificate Request, L{certrequest.in_version}).

    @raise ItemNotFound / PermissionDenied / ObjectArchived
    """
    return _checked(ctx, uid, operation, ctx.store.get(uid), allow_archived)


def _checked(ctx: RequestContext, uid: str, operation: int, obj: ManagedObject | None,
             allow_archived: bool = False) -> ManagedObject:
    """L{load} of C{obj}, just read as C{uid}."""
    if obj is None or (obj.state in DESTROYED_STATES and not _visible_destroyed(ctx, operation)) \
            or not certrequest.in_version(obj.object_type, ctx.version):
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

    The transitions are the spec diagram's (L{kmipd.model.states.due_state}): Pre-Active becomes
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


def _uses_get_fallback(ctx: RequestContext, obj: ManagedObject, operation: int) -> bool:
    """True if C{operation} on C{obj} is checked as Get: the object's policy is a built-in one
    (C{default}, C{public}) and has no entry for C{operation} on the object's type."""
    if ctx.policy is None:
        return False  # no policy engine: load() allows everything
    name = obj.policy_name or DEFAULT_POLICY
    if name not in ctx.policy.reserved_names:
        return False  # a policy file decides its operations itself; an omitted pair is Disallow All
    policy = ctx.policy.get(name)
    if policy is None:
        return False
    key = (int(obj.object_type), int(operation))
    tables = [policy.preset] if policy.preset is not None else []
    tables += list((policy.groups or {}).values())
    return not any(key in t for t in tables)


#: Cryptographic operations the built-in policies check as Get (see L{load_key}).
_GET_FALLBACK_OPERATIONS = frozenset({Operation.ENCRYPT, Operation.DECRYPT, Operation.SIGN,
                                      Operation.SIGNATURE_VERIFY, Operation.MAC, Operation.MAC_VERIFY})


def load_key(ctx: RequestContext, uid: str, operation: int) -> ManagedObject:
    """L{load} for a cryptographic operation.

    The built-in policies C{default} and C{public} (PyKMIP's tables) have no entries for
    Encrypt, Decrypt, Sign, Signature Verify, MAC and MAC Verify; PyKMIP checks those operations
    against the object's Get permission, and so does kmipd for an object under a built-in policy.
    A policy file is applied as written, like for every other operation: a (type, operation)
    pair it does not list is Disallow All, whatever it says about Get.
    """
    if operation in _GET_FALLBACK_OPERATIONS:
        return load_as(ctx, uid, operation, Operation.GET)
    return load(ctx, uid, operation)


def load_as(ctx: RequestContext, uid: str, operation: int, fallback: int) -> ManagedObject:
    """L{load} for C{operation}, checked as C{fallback} when the object's policy is a built-in one
    without a row for C{operation} (as L{load_key} does with Get for the cryptographic operations)."""
    obj = ctx.store.get(uid)  # read once: checked as C{fallback} or C{operation}
    if obj is not None and _uses_get_fallback(ctx, obj, operation):
        return _checked(ctx, uid, fallback, obj)
    return _checked(ctx, uid, operation, obj)
