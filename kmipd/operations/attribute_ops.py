# -*- test-case-name: tests.operations.test_attribute_ops -*-
"""Attribute-changing operations: Add, Set (2.0+), Modify, Delete and Adjust (2.0+) Attribute.

Requests come in the 1.x shape (C{Attribute{Attribute Name, [Attribute Index], Attribute Value}},
C{Attribute Name} + C{Attribute Index} for Delete) or the 2.x shape (C{New Attribute} /
C{Current Attribute} around the attribute item, C{Attribute Reference}); either shape is accepted
in any version and the response is built in the negotiated version's shape (1.x returns the
Attribute with its index, 2.x only the Unique Identifier).

Who may change what comes from the spec's attribute rule tables (L{kmipd.spec.attributes.ATTRIBUTES}:
C{modifiable_by_client}, C{deletable_by_client}, C{multiple}, C{object_types}) plus the
state-dependent rules in L{kmipd.model.states.MODIFIABLE_IN}. Attribute Indexes are list positions
and never change: a deleted instance leaves a hole (L{kmipd.model.objects}), so the instances after it
keep their indexes, and a new instance takes the index after the highest live one.
"""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger

from ..compat import pykmip_mode, row, with_index
from ..context import RequestContext
from ..errors import (
    ApplicationNamespaceNotSupported,
    AttributeAlreadyExists,
    AttributeInstanceNotFound,
    AttributeNotApplicable,
    AttributeNotFound,
    InvalidAttributeValue,
    InvalidDataType,
    InvalidField,
    KmipError,
    MissingData,
    MultiValuedAttribute,
    NonUniqueName,
    NoSuchAttribute,
    NotApplicableToObject,
    NumericRange,
    PermissionDenied,
    ReadOnlyAttribute,
    SetReadOnlyAttribute,
)
from ..model.attrcheck import check_value
from ..model.attributes import (
    SERVER_MANAGED,
    Attr,
    defined_in,
    is_custom,
    normalise_name,
    parse_1x,
    parse_any,
    parse_reference,
    spec_for,
    to_1x,
)
from ..model.factory import check_unique_name, policy_is_default
from ..model.objects import ManagedObject
from ..model.quantum import check_claim
from ..model.states import FROZEN_ONCE_REACHED, MODIFIABLE_IN, WrongLifecycleState
from ..spec import AdjustmentType, Operation, State, Tag
from ..ttlv import Item, ItemType
from ._common import load, settle, touch, uid_from
from .registry import operation

__all__ = [
    "AttributeAlreadyExists",
    "AttributeInstanceNotFound",
    "InvalidDataType",
    "MultiValuedAttribute",
    "NoSuchAttribute",
    "NonUniqueName",
    "NotApplicableToObject",
    "NumericRange",
]

_log = Logger()


_RANGES: dict[int, tuple[int, int]] = {
    ItemType.INTEGER: (-(2**31), 2**31 - 1),
    ItemType.LONG_INTEGER: (-(2**63), 2**63 - 1),
    ItemType.INTERVAL: (0, 2**32 - 1),
    ItemType.DATE_TIME: (-(2**63), 2**63 - 1),
}


# ---------------------------------------------------------------------------------------------
# Reading requests


def _only_child(container: Item, what: str) -> Item:
    if len(container.value) != 1:  # a structure: the schema checked it
        raise InvalidField(f"{what} must hold exactly one attribute")
    return container.value[0]


def _read_attribute(ctx: RequestContext, payload: Item, tag_2x: int, *, required: bool) -> Attr | None:
    """The attribute in C{tag_2x} (New/Current Attribute) or, 1.x shape, the C{Attribute}."""
    wrapper = payload.find(tag_2x)
    if wrapper is not None:
        attr = parse_any(_only_child(wrapper, "New Attribute" if tag_2x == Tag.NEW_ATTRIBUTE else "Current Attribute"))
    elif tag_2x == Tag.NEW_ATTRIBUTE and (item := payload.find(Tag.ATTRIBUTE)) is not None:
        attr = parse_1x(item)
    else:
        if required:
            raise MissingData("the request has no Attribute" if not ctx.v2 else "the request has no New Attribute")
        return None
    if attr.value is None:
        raise MissingData(f"attribute {attr.name!r} has no value")
    if not ctx.v2 and is_custom(attr.name) and not attr.name.startswith(("x-", "y-")):
        raise InvalidField(f"custom attribute names start with 'x-' or 'y-' in KMIP 1.x, not {attr.name!r}")
    return attr


# ---------------------------------------------------------------------------------------------
# Rules


def _check_known(ctx: RequestContext, obj: ManagedObject, name: str) -> None:
    if not defined_in(name, ctx.version):
        raise AttributeNotApplicable(f"attribute {name!r} does not exist in KMIP {ctx.version[0]}.{ctx.version[1]}")
    spec = spec_for(name)
    if spec is not None and not spec.applies_to(obj.object_type):
        raise NotApplicableToObject(f"attribute {name!r} does not apply to this object type")


def _check_client_may_change(
    ctx: RequestContext,
    obj: ManagedObject,
    name: str,
    *,
    delete: bool = False,
    read_only: type[KmipError] = ReadOnlyAttribute,
) -> None:
    """Refuse a change the spec's rule tables (and the object's state) do not allow a client.

    C{read_only} is the error for a read-only attribute: Add and Set pass L{SetReadOnlyAttribute}
    (2.x: Read Only Attribute), Modify, Delete and Adjust keep L{ReadOnlyAttribute} (2.x:
    Attribute Read Only), as the 2.x per-operation error tables say.
    """
    if name.startswith("y-"):
        raise read_only(f"attribute {name!r} is reserved for the server")
    if name == _POLICY_NAME and not delete:
        return  # a client habit kmipd accepts under its own rules: _operation_policy_change
    spec = spec_for(name)
    if spec is None:
        return  # client custom / vendor attribute
    if name in SERVER_MANAGED:
        raise read_only(f"attribute {name!r} is set by the server")
    if delete and not spec.deletable_by_client:
        raise read_only(f"attribute {name!r} cannot be deleted by a client")
    if not delete and not spec.modifiable_by_client:
        raise read_only(f"attribute {name!r} cannot be changed by a client after creation")
    states = MODIFIABLE_IN.get(name)
    state = obj.state
    if states is not None and state is not None and state not in states:
        allowed = " or ".join(sorted(State(s).name.replace("_", "-").title() for s in states))
        raise WrongLifecycleState(f"attribute {name!r} can only be changed while the object is {allowed}")
    if name in FROZEN_ONCE_REACHED:
        current = obj.value(name)
        if isinstance(current, int) and current <= ctx.now:
            raise WrongLifecycleState(f"attribute {name!r} cannot change once its date has been reached")
    if name == "Usage Limits":
        limits = obj.first(name)
        if limits is not None and limits.get(Tag.USAGE_LIMITS_COUNT) != limits.get(Tag.USAGE_LIMITS_TOTAL):
            raise read_only("Usage Limits cannot change once usage has been allocated")


_POLICY_NAME = "Operation Policy Name"
_POLICY_NAME_ROW = row("operation-policy-name-after-creation")


def _operation_policy_change(ctx: RequestContext, obj: ManagedObject, value: Item) -> None:
    """Operation Policy Name set after creation (L{kmipd.compat} row
    C{operation-policy-name-after-creation}): by the owner only, to a policy that exists.

    The object's current policy has already allowed the Add/Modify/Set Attribute (L{load}).
    """
    if obj.owner is not None and obj.owner != ctx.identity:
        raise PermissionDenied("only the object's owner may change its Operation Policy Name")
    name = value.value
    if not isinstance(name, str) or not name:
        raise InvalidAttributeValue("Operation Policy Name must be a non-empty Text String")
    if ctx.policy is not None and ctx.policy.get(name) is None:
        raise InvalidAttributeValue(f"there is no operation policy named {name!r}")


def _prepare(ctx: RequestContext, obj: ManagedObject, name: str, value: Item) -> Item:
    """Validate the value (L{check_value}; Quantum Safe: L{check_claim}); return the value to store."""
    check_value(name, value, ctx.version)
    if name == "Quantum Safe":
        check_claim(obj, value)  # spec 2.1 4.45: True needs a quantum-safe key
    if name == "Application Specific Information":
        if value.find(Tag.APPLICATION_DATA) is None:
            raise ApplicationNamespaceNotSupported(
                f"Application Data for namespace {value.get(Tag.APPLICATION_NAMESPACE)!r} cannot be generated"
            )
    elif name == "Usage Limits":
        total = value.get(Tag.USAGE_LIMITS_TOTAL)  # checked: not negative
        # the client never sets the count: it starts at the total
        return Item.struct(
            Tag.USAGE_LIMITS,
            [
                Item.long(Tag.USAGE_LIMITS_TOTAL, total),
                Item.long(Tag.USAGE_LIMITS_COUNT, total),
                Item.enum(Tag.USAGE_LIMITS_UNIT, value.get(Tag.USAGE_LIMITS_UNIT)),
            ],
        )
    return value


def _commit(ctx: RequestContext, obj: ManagedObject, name: str) -> None:
    if name in ("Activation Date", "Deactivation Date"):
        settle(ctx, obj)  # a date set to now or the past takes effect at once
    touch(ctx, obj)
    ctx.store.save(obj)


def _response(
    ctx: RequestContext, obj: ManagedObject, name: str | None = None, value: Item | None = None, index: int = 0
) -> Item:
    children: list[Item | None] = [Item.text(Tag.UNIQUE_IDENTIFIER, obj.uid)]
    if not ctx.v2 and name is not None and value is not None:
        attribute = to_1x(name, value, index)
        children.append(with_index(attribute) if pykmip_mode(ctx) else attribute)
    return Item.struct(Tag.RESPONSE_PAYLOAD, children)


def _add(ctx: RequestContext, obj: ManagedObject, attr: Attr) -> int:
    """Append C{attr} to C{obj} (rules already checked); return its index."""
    assert attr.value is not None
    spec = spec_for(attr.name)
    if obj.first(attr.name) is not None and spec is not None and not spec.multiple:
        raise AttributeAlreadyExists(
            f"attribute {attr.name!r} takes a single value and is already set; use Modify Attribute"
        )
    value = _prepare(ctx, obj, attr.name, attr.value)
    if attr.name == "Name":
        _check_own_names(ctx, obj, value, replacing=None)
        check_unique_name(ctx, value, for_new_object=False, exclude=obj.uid)
    return obj.add_instance(attr.name, value)


def _replace(ctx: RequestContext, obj: ManagedObject, name: str, index: int, value: Item) -> Item:
    value = _prepare(ctx, obj, name, value)
    if name == "Name":
        _check_own_names(ctx, obj, value, replacing=index)
        check_unique_name(ctx, value, for_new_object=False, exclude=obj.uid)
    obj.attributes[name][index] = value
    return value


def _check_own_names(ctx: RequestContext, obj: ManagedObject, value: Item, replacing: int | None) -> None:
    """Refuse a Name another instance of the same object already carries (2.1 4.32: names are
    unique; the 2.1 profile test case BL-M-8-21): Add of it, or Modify of another instance to it.
    Modifying an instance to the value it has is no clash. Not in C{compatibility = pykmip} mode."""
    if pykmip_mode(ctx):
        return
    text = value.get(Tag.NAME_VALUE) if value.type == ItemType.STRUCTURE else None
    for i, other in enumerate(obj.attributes.get("Name", ())):
        if i != replacing and other is not None and other.get(Tag.NAME_VALUE) == text:
            raise NonUniqueName(f"the object already has the name {text!r}")


# ---------------------------------------------------------------------------------------------
# Operations


@operation(Operation.ADD_ATTRIBUTE)
def add_attribute(ctx: RequestContext, payload: Item) -> Item:
    """Add a new attribute instance (a single-valued attribute only if it has none yet)."""
    obj = load(ctx, uid_from(ctx, payload), Operation.ADD_ATTRIBUTE)
    attr = _read_attribute(ctx, payload, Tag.NEW_ATTRIBUTE, required=True)
    assert attr is not None and attr.value is not None
    if attr.index is not None:
        raise InvalidField("Add Attribute must not carry an Attribute Index")
    _check_known(ctx, obj, attr.name)
    _check_client_may_change(ctx, obj, attr.name, read_only=SetReadOnlyAttribute)
    if attr.name == _POLICY_NAME:
        _operation_policy_change(ctx, obj, attr.value)
        if policy_is_default(obj):  # the server's default (not shown by GetAttributes) gives way
            obj.attributes.pop(_POLICY_NAME, None)
    index = _add(ctx, obj, attr)
    _commit(ctx, obj, attr.name)
    _log.debug("added attribute {name} to {uid}", name=attr.name, uid=obj.uid)
    return _response(ctx, obj, attr.name, obj.attributes[attr.name][index], index)


@operation(Operation.SET_ATTRIBUTE, min_version=(2, 0))
def set_attribute(ctx: RequestContext, payload: Item) -> Item:
    """Create the attribute if the object has none, or replace its only instance (spec 2.1 6.1.51:
    several instances are an error, Multi Valued Attribute)."""
    obj = load(ctx, uid_from(ctx, payload), Operation.SET_ATTRIBUTE)
    attr = _read_attribute(ctx, payload, Tag.NEW_ATTRIBUTE, required=True)
    assert attr is not None and attr.value is not None
    _check_known(ctx, obj, attr.name)
    _check_client_may_change(ctx, obj, attr.name, read_only=SetReadOnlyAttribute)
    if attr.name == _POLICY_NAME:
        _operation_policy_change(ctx, obj, attr.value)
    existing = obj.instances(attr.name)
    if len(existing) > 1:
        raise MultiValuedAttribute(f"the object has {len(existing)} instances of {attr.name!r}")
    if existing:
        _replace(ctx, obj, attr.name, existing[0][0], attr.value)
    else:
        _add(ctx, obj, attr)
    _commit(ctx, obj, attr.name)
    return _response(ctx, obj)


@operation(Operation.MODIFY_ATTRIBUTE)
def modify_attribute(ctx: RequestContext, payload: Item) -> Item:
    """Replace one existing instance (1.x: by Attribute Index, 2.x: by Current Attribute)."""
    obj = load(ctx, uid_from(ctx, payload), Operation.MODIFY_ATTRIBUTE)
    new = _read_attribute(ctx, payload, Tag.NEW_ATTRIBUTE, required=True)
    assert new is not None and new.value is not None
    current = _read_attribute(ctx, payload, Tag.CURRENT_ATTRIBUTE, required=False)
    name = new.name
    if current is not None and current.name != name:
        raise InvalidField(f"Current Attribute ({current.name!r}) and New Attribute ({name!r}) differ")
    _check_known(ctx, obj, name)
    _check_client_may_change(ctx, obj, name)
    if name == _POLICY_NAME:
        _operation_policy_change(ctx, obj, new.value)
    existing = obj.instances(name)
    if not existing:
        raise AttributeNotFound(f"the object has no attribute {name!r}; add it first")
    if current is not None:
        index = next((i for i, v in existing if v == current.value), -1)
        if index < 0:
            raise AttributeInstanceNotFound(f"the object has no {name!r} with that value")
    elif new.index is None and ctx.v2:
        if len(existing) > 1:
            raise MultiValuedAttribute(
                f"the object has {len(existing)} instances of {name!r}; name one with Current Attribute"
            )
        index = existing[0][0]
    else:
        index = new.index if new.index is not None else 0  # 1.x: no index means index 0
        if index not in dict(existing):
            raise AttributeInstanceNotFound(f"the object has no {name!r} at index {index}")
    value = _replace(ctx, obj, name, index, new.value)
    _commit(ctx, obj, name)
    return _response(ctx, obj, name, value, index)


@operation(Operation.DELETE_ATTRIBUTE)
def delete_attribute(ctx: RequestContext, payload: Item) -> Item:
    """Delete one instance (1.x: Attribute Name + Index; 2.x: Current Attribute) or, 2.x with an
    Attribute Reference, every instance."""
    obj = load(ctx, uid_from(ctx, payload), Operation.DELETE_ATTRIBUTE)
    current = _read_attribute(ctx, payload, Tag.CURRENT_ATTRIBUTE, required=False)
    all_instances = False
    index: int | None = None
    if current is not None:
        name = current.name
    else:
        ref = payload.find(Tag.ATTRIBUTE_REFERENCE) or payload.find(Tag.ATTRIBUTE_NAME)
        if ref is None:
            raise MissingData("Delete Attribute needs an Attribute Name, Current Attribute or Attribute Reference")
        name = parse_reference(ref)
        if ref.tag == Tag.ATTRIBUTE_REFERENCE:
            all_instances = True
        else:
            index = payload.get(Tag.ATTRIBUTE_INDEX, 0)
    name = normalise_name(name)
    if spec_for(name) is None and not is_custom(name):
        raise InvalidField(f"unknown attribute {name!r}")
    _check_known(ctx, obj, name)
    _check_client_may_change(ctx, obj, name, delete=True)
    existing = obj.instances(name)
    if not existing:
        raise NoSuchAttribute(f"the object has no attribute {name!r}")
    if current is not None:
        index = next((i for i, v in existing if v == current.value), None)
        if index is None:
            raise AttributeInstanceNotFound(f"the object has no {name!r} with that value")
    if all_instances:
        del obj.attributes[name]
        index, removed = existing[0]
    else:
        assert index is not None
        try:
            removed = obj.delete_instance(name, index)
        except KeyError:
            raise AttributeInstanceNotFound(f"the object has no {name!r} at index {index}") from None
    _commit(ctx, obj, name)
    return _response(ctx, obj, name, removed, index)


def _adjustment_type(kind: Any) -> AdjustmentType:
    """The request's Adjustment Type, or Invalid Field for an unknown one."""
    try:
        return AdjustmentType(kind)
    except ValueError:
        raise InvalidField(f"unknown Adjustment Type {kind!r}") from None


def _adjust_boolean(name: str, tag: int, adjustment: AdjustmentType, existing: list[Item]) -> Item:
    """Negate a Boolean attribute (an absent one counts as False); any other adjustment is refused."""
    if adjustment != AdjustmentType.NEGATE:
        raise InvalidDataType(f"attribute {name!r} is a Boolean: only Negate applies")
    return Item.bool(tag, not (existing[0].value if existing else False))


def _adjustment_step(by: Item | None) -> int:
    """The Adjustment Value (1 when absent), which must be numeric."""
    if by is None:
        return 1
    if not isinstance(by.value, int) or isinstance(by.value, bool):
        raise InvalidDataType("Adjustment Value must be numeric")
    return by.value


def _adjust_number(
    name: str, tag: int, item_type: int, adjustment: AdjustmentType, existing: list[Item], by: Item | None
) -> Item:
    """Increment, decrement or negate a numeric attribute (an absent one counts as 0), within its type's range."""
    if not existing and item_type == ItemType.DATE_TIME:
        raise InvalidDataType(f"attribute {name!r} has no date to adjust")
    old = existing[0].value if existing else 0
    if adjustment == AdjustmentType.NEGATE:
        result = -old
    else:
        step = _adjustment_step(by)
        result = old + step if adjustment == AdjustmentType.INCREMENT else old - step
    bounds = _RANGES.get(item_type)
    if bounds is not None and not bounds[0] <= result <= bounds[1]:
        raise NumericRange(f"adjusted {name!r} ({result}) is out of range")
    return Item(tag, item_type, result)


def _adjusted(name: str, adjustment: AdjustmentType, existing: list[Item], by: Item | None) -> Item:
    """The new value of attribute C{name} (C{existing}: its current value, if any) after C{adjustment}."""
    spec = spec_for(name)
    item_type = existing[0].type if existing else (spec.item_type if spec else (by.type if by else None))
    tag = spec.tag if spec else Tag.ATTRIBUTE_VALUE
    if item_type == ItemType.BOOLEAN:
        return _adjust_boolean(name, tag, adjustment, existing)
    if item_type in _RANGES or item_type == ItemType.BIG_INTEGER:
        assert item_type is not None
        return _adjust_number(name, tag, item_type, adjustment, existing, by)
    raise InvalidDataType(f"attribute {name!r} is not numeric or Boolean")


@operation(Operation.ADJUST_ATTRIBUTE, min_version=(2, 0))
def adjust_attribute(ctx: RequestContext, payload: Item) -> Item:
    """Increment, decrement or negate a numeric (or negate a Boolean) single-valued attribute.

    Policy: checked as Modify Attribute (the built-in policies have no Adjust Attribute rows).
    """
    obj = load(ctx, uid_from(ctx, payload), Operation.MODIFY_ATTRIBUTE)
    ref = payload.find(Tag.ATTRIBUTE_REFERENCE)  # the schema: both present
    assert ref is not None
    adjustment = _adjustment_type(payload.get(Tag.ADJUSTMENT_TYPE))
    name = parse_reference(ref)
    _check_known(ctx, obj, name)
    _check_client_may_change(ctx, obj, name)
    instances = obj.instances(name)
    if len(instances) > 1:
        raise MultiValuedAttribute(f"the object has {len(instances)} instances of {name!r}")
    new = _adjusted(name, adjustment, [v for _, v in instances], payload.find(Tag.ADJUSTMENT_VALUE))
    if instances:
        obj.attributes[name][instances[0][0]] = _prepare(ctx, obj, name, new)
    else:
        obj.add_instance(name, _prepare(ctx, obj, name, new))
    _commit(ctx, obj, name)
    return _response(ctx, obj)
