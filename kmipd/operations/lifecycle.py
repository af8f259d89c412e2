# -*- test-case-name: tests.operations.test_lifecycle -*-
"""Lifecycle operations: Activate, Revoke, Destroy, Archive, Recover, Check, Obtain Lease,
Get Usage Allocation.

State changes follow the spec's diagram as data (L{kmipd.model.states}); the request and response
payloads are the same in KMIP 1.0-2.1 (a Unique Identifier, plus the few fields named below).
"""

from __future__ import annotations

from typing import cast

from kmipd.log import Logger

from ..compat import REVOKE_PREACTIVE_DEACTIVATE, row
from ..context import RequestContext
from ..errors import (
    IllegalObjectType,
    IllegalOperation,
    IncompatibleUsageMask,
    InvalidField,
    InvalidObjectType,
    KmipError,
    NoLifecycle,
    NoUsageLimits,
    ObjectDestroyed,
    PermissionDenied,
    UsageLimitExceeded,
    WrongLifecycleState,
)
from ..model.factory import CRYPTOGRAPHIC_TYPES
from ..model.objects import ManagedObject
from ..model.states import DESTROYED_STATES, Cause, next_state
from ..spec import ObjectType, Operation, RevocationReasonCode, State, Tag
from ..ttlv import Item, ItemType
from ._common import load, set_state, settle, touch, uid_from
from .registry import operation

__all__ = ["activate", "archive", "check", "destroy", "get_usage_allocation", "max_lease", "obtain_lease",
           "recover", "revoke"]

_log = Logger()

_COMPROMISE_CODES = frozenset({RevocationReasonCode.KEY_COMPROMISE, RevocationReasonCode.CA_COMPROMISE})


def _uid_payload(uid: str, *extra: Item | None) -> Item:
    return Item.struct(Tag.RESPONSE_PAYLOAD, [Item.text(Tag.UNIQUE_IDENTIFIER, uid), *extra])


def _stateful(obj: ManagedObject, what: str) -> int:
    state = obj.state
    if state is None or obj.object_type == ObjectType.TEMPLATE:
        raise NoLifecycle(f"a {_type_name(obj)} object has no lifecycle and cannot be {what}")
    return state


def _type_name(obj: ManagedObject) -> str:
    try:
        return ObjectType(obj.object_type).name.replace("_", " ").title()
    except ValueError:
        return f"object type {obj.object_type}"


def _state_name(state: int | None) -> str:
    try:
        return State(state).name.replace("_", "-").title() if state is not None else "no state"
    except ValueError:
        return f"state {state}"


def _save(ctx: RequestContext, obj: ManagedObject) -> Item:
    touch(ctx, obj)
    ctx.store.save(obj)
    return _uid_payload(obj.uid)


# ---------------------------------------------------------------------------------------------


@operation(Operation.ACTIVATE)
def activate(ctx: RequestContext, payload: Item) -> Item:
    """Pre-Active -> Active; Activation Date = now."""
    obj = load(ctx, uid_from(ctx, payload), Operation.ACTIVATE)
    state = _stateful(obj, "activated")
    target = next_state(state, Cause.ACTIVATE)
    if target is None:
        raise WrongLifecycleState(f"only a Pre-Active object can be activated; this one is {_state_name(state)}")
    set_state(ctx, obj, target)
    obj.set_single("Activation Date", Item.datetime(Tag.ACTIVATION_DATE, ctx.now))
    settle(ctx, obj)
    _log.info("activated {uid}", uid=obj.uid)
    return _save(ctx, obj)


@operation(Operation.REVOKE)
def revoke(ctx: RequestContext, payload: Item) -> Item:
    """Compromise reasons -> Compromised (Destroyed -> Destroyed Compromised); others Active -> Deactivated."""
    reason = payload.find(Tag.REVOCATION_REASON)  # the schema: present, with its Code
    assert reason is not None
    code_value: int = reason.get(Tag.REVOCATION_REASON_CODE)
    try:
        code = RevocationReasonCode(code_value)
    except ValueError:
        raise InvalidField(f"Revocation Reason Code 0x{code_value:08X} is not recognised") from None
    occurrence = payload.find(Tag.COMPROMISE_OCCURRENCE_DATE)
    compromise = code in _COMPROMISE_CODES
    if occurrence is not None and not compromise:
        raise InvalidField("Compromise Occurrence Date is only allowed with a compromise Revocation Reason")

    obj = load(ctx, uid_from(ctx, payload), Operation.REVOKE)
    state = _stateful(obj, "revoked")
    target = next_state(state, Cause.REVOKE_COMPROMISE if compromise else Cause.REVOKE)
    if target is None and not compromise and state == State.PRE_ACTIVE and _deactivate_preactive(ctx):
        target = State.DEACTIVATED
    if target is None:
        if compromise:
            raise IllegalOperation(f"a {_state_name(state)} object cannot be revoked for compromise")
        raise IllegalOperation(
            f"only an Active object can be revoked for a non-compromise reason; this one is {_state_name(state)}"
        )
    set_state(ctx, obj, target)
    obj.set_single(
        "Revocation Reason", Item(Tag.REVOCATION_REASON, ItemType.STRUCTURE, [c.copy() for c in reason.value])
    )
    if compromise:
        obj.set_single("Compromise Date", Item.datetime(Tag.COMPROMISE_DATE, ctx.now))
        when = occurrence.value if occurrence is not None else cast(int, obj.value("Initial Date", ctx.now))
        obj.set_single("Compromise Occurrence Date", Item.datetime(Tag.COMPROMISE_OCCURRENCE_DATE, int(when)))
    else:
        obj.set_single("Deactivation Date", Item.datetime(Tag.DEACTIVATION_DATE, ctx.now))
    _log.info("revoked {uid} ({reason}) -> {state}", uid=obj.uid, reason=code.name, state=target.name)
    return _save(ctx, obj)


_REVOKE_PREACTIVE = row("revoke-preactive")


def _deactivate_preactive(ctx: RequestContext) -> bool:
    """True if C{[server] revoke_preactive = deactivate} (L{kmipd.compat} row C{revoke-preactive}):
    a never-activated key revoked for a non-compromise reason moves to Deactivated."""
    return ctx.settings.revoke_preactive == REVOKE_PREACTIVE_DEACTIVATE


@operation(Operation.DESTROY)
def destroy(ctx: RequestContext, payload: Item) -> Item:
    """Destroy the object: its key material is removed at once, and with it the object.

    For a KMIP 1.x client the object is gone: every later request naming it answers Item Not
    Found and Locate no longer finds it (the seed: "Once destroyed, the object can no longer be
    retrieved"). KMIP 2.x says the metadata SHALL be retained, so the store keeps it as a tombstone
    without material (State Destroyed, Destroy Date) that only 2.x clients see: a second Destroy
    answers Object Destroyed, Get Key Value Not Present. Who destroyed what and when is an
    C{audit} event in the log. A Template is removed with its metadata (KMIP 1.x). An object
    without a State (Opaque Object registered without one) is destroyed from any condition.
    """
    uid = uid_from(ctx, payload)
    obj = load(ctx, uid, Operation.DESTROY)
    if obj.object_type == ObjectType.TEMPLATE:
        ctx.store.remove(uid)
        _audit(ctx, obj, None)
        return _uid_payload(uid)
    state = obj.state
    if state in DESTROYED_STATES:  # only a 2.x client reaches a destroyed object (load)
        raise ObjectDestroyed(f"object {uid!r} is already destroyed")
    target = State.DESTROYED if state is None else next_state(state, Cause.DESTROY)
    if target is None:  # only from next_state: state is not None here
        raise WrongLifecycleState(
            f"a {_state_name(state)} object cannot be destroyed; "
            f"revoke it first (Destroy needs Pre-Active, Deactivated or Compromised)"
        )
    set_state(ctx, obj, target)
    obj.material = None
    obj.set_single("Destroy Date", Item.datetime(Tag.DESTROY_DATE, ctx.now))
    _audit(ctx, obj, target)
    return _save(ctx, obj)


def _audit(ctx: RequestContext, obj: ManagedObject, state: int | None) -> None:
    """The audit record of a Destroy: who destroyed which object, when, and what it was."""
    _log.info("{identity} destroyed {object_type} {uid}", audit="destroy", uid=obj.uid,
              object_type=_type_name(obj), identity=ctx.identity or "(anonymous)", groups=ctx.groups,
              names=[n.get(Tag.NAME_VALUE) for n in obj.live("Name")], destroy_date=ctx.now,
              state=State(state).name if state is not None else None, protocol_version=ctx.version)


@operation(Operation.ARCHIVE)
def archive(ctx: RequestContext, payload: Item) -> Item:
    """Move the object to archival storage (Archive Date = now); it then refuses most operations."""
    obj = load(ctx, uid_from(ctx, payload), Operation.ARCHIVE)
    obj.set_single("Archive Date", Item.datetime(Tag.ARCHIVE_DATE, ctx.now))
    result = _save(ctx, obj)
    ctx.store.set_archived(obj.uid, True)
    _log.info("archived {uid}", uid=obj.uid)
    return result


@operation(Operation.RECOVER)
def recover(ctx: RequestContext, payload: Item) -> Item:
    """Bring an archived object back on-line (a no-op for an on-line object)."""
    obj = load(ctx, uid_from(ctx, payload), Operation.RECOVER, allow_archived=True)
    if obj.archived:
        result = _save(ctx, obj)
        ctx.store.set_archived(obj.uid, False)
        _log.info("recovered {uid}", uid=obj.uid)
        return result
    return _uid_payload(obj.uid)


def max_lease(ctx: RequestContext, obj: ManagedObject) -> int:
    """The longest lease the server grants on C{obj}: its Lease Time attribute, else the service's."""
    value = obj.value("Lease Time")
    if isinstance(value, int):
        return value
    return ctx.settings.lease_time


@operation(Operation.CHECK)
def check(ctx: RequestContext, payload: Item) -> Item:
    """Would the caller be allowed this usage amount, usage mask and lease time? (nothing is granted)

    On refusal: Permission Denied naming the refused fields (the dispatcher sends no payload with
    a failure, so they are named in the Result Message).
    """
    count = payload.find(Tag.USAGE_LIMITS_COUNT)
    mask = payload.find(Tag.CRYPTOGRAPHIC_USAGE_MASK)
    lease = payload.find(Tag.LEASE_TIME)
    obj = load(ctx, uid_from(ctx, payload), Operation.CHECK)
    if obj.object_type == ObjectType.TEMPLATE:
        raise IllegalObjectType(f"Check cannot be performed on a {_type_name(obj)}")
    if obj.state in DESTROYED_STATES:
        raise IllegalOperation(f"Check cannot be performed on a {_state_name(obj.state)} {_type_name(obj)}")
    refused: list[str] = []
    first: type[KmipError] | None = None  # 2.x: the reason of the first refused field
    if count is not None:
        limits = obj.first("Usage Limits")
        if limits is not None:
            remaining = limits.get(Tag.USAGE_LIMITS_COUNT)
            if isinstance(remaining, int) and count.value > remaining:
                refused.append(f"Usage Limits Count (at most {remaining} available)")
                first = first or UsageLimitExceeded
    if mask is not None:
        have = obj.value("Cryptographic Usage Mask", 0)
        if not isinstance(have, int) or (have & mask.value) != mask.value:
            refused.append("Cryptographic Usage Mask (the object's usage mask does not allow it)")
            first = first or IncompatibleUsageMask
    if lease is not None:
        longest = max_lease(ctx, obj)
        if longest and lease.value > longest:
            refused.append(f"Lease Time (at most {longest} seconds)")
    if refused:  # 1.x: Permission Denied for each; 2.x: the table's Usage Limit Exceeded / Incompatible Mask
        raise (first or PermissionDenied)("Check refused: " + "; ".join(refused))
    return _uid_payload(obj.uid)


@operation(Operation.OBTAIN_LEASE)
def obtain_lease(ctx: RequestContext, payload: Item) -> Item:
    """Grant a lease: Lease Time and the object's Last Change Date."""
    obj = load(ctx, uid_from(ctx, payload), Operation.OBTAIN_LEASE)
    if obj.state in DESTROYED_STATES:
        raise PermissionDenied(f"no lease is issued for a {_state_name(obj.state)} object")
    limits = obj.first("Usage Limits")
    if ctx.v2 and limits is not None and limits.type == ItemType.STRUCTURE and limits.get(Tag.USAGE_LIMITS_COUNT) == 0:
        raise UsageLimitExceeded("no lease is issued for an object whose Usage Limits are used up")
    lease = max_lease(ctx, obj)
    changed = obj.value("Last Change Date")
    if not isinstance(changed, int):
        initial = obj.value("Initial Date", ctx.now)
        changed = initial if isinstance(initial, int) else ctx.now
    return _uid_payload(obj.uid, Item.interval(Tag.LEASE_TIME, lease), Item.datetime(Tag.LAST_CHANGE_DATE, changed))


@operation(Operation.GET_USAGE_ALLOCATION)
def get_usage_allocation(ctx: RequestContext, payload: Item) -> Item:
    """Take C{Usage Limits Count} units from the object's Usage Limits Count."""
    count = payload.find(Tag.USAGE_LIMITS_COUNT)  # the schema: present (else Invalid Message)
    assert count is not None
    if count.value <= 0:
        raise InvalidField("Usage Limits Count must be positive")
    obj = load(ctx, uid_from(ctx, payload), Operation.GET_USAGE_ALLOCATION)
    if ctx.v2 and obj.object_type not in CRYPTOGRAPHIC_TYPES:
        raise InvalidObjectType(f"a {_type_name(obj)} cannot be used for applying cryptographic protection")
    limits = obj.first("Usage Limits")
    if limits is None or limits.type != ItemType.STRUCTURE:
        raise NoUsageLimits("the object has no Usage Limits attribute")
    if obj.state != State.ACTIVE:
        raise IllegalOperation(f"usage can only be allocated on an Active object; this one is {_state_name(obj.state)}")
    protect_stop = obj.value("Protect Stop Date")
    if isinstance(protect_stop, int) and protect_stop <= ctx.now:
        raise IllegalOperation("the object's Protect Stop Date has passed")
    remaining = limits.get(Tag.USAGE_LIMITS_COUNT)
    if not isinstance(remaining, int) or count.value > remaining:
        raise UsageLimitExceeded(f"{count.value} units requested, {remaining} available")
    children = [c.copy() for c in limits.value if c.tag != Tag.USAGE_LIMITS_COUNT]
    new_count = Item.long(Tag.USAGE_LIMITS_COUNT, remaining - count.value)
    # keep the spec's field order: Total, Count, Unit
    total_at = next((i for i, c in enumerate(children) if c.tag == Tag.USAGE_LIMITS_TOTAL), -1)
    children.insert(total_at + 1, new_count)
    obj.set_single("Usage Limits", Item.struct(Tag.USAGE_LIMITS, children))
    return _save(ctx, obj)
