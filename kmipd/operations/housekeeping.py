# -*- test-case-name: tests.operations.test_housekeeping -*-
"""Set Defaults, Set Constraints and Get Constraints (KMIP 2.1 6.1.53, 6.1.52, 6.1.22), and how
factory operations (Create, Create Key Pair, Register) apply them (L{apply_node_rules}, L{check_constraints}).

Object Defaults fill attributes a client omits when an object of that type is made; Query's
Defaults Information reports them over kmipd's own. A Constraint names Object Types and/or Object
Groups (absent: any) and Attributes an object of those types/groups must carry with exactly the
given values, or its creation fails with Constraint Violation. Both are kept by
L{kmipd.node.NodeState}: in the SQL store's database (every node shares them), read and written in
the request's transaction, or in memory with the memory store.
"""

from __future__ import annotations

from ..context import RequestContext
from ..errors import InvalidField, KmipError
from ..model.attributes import Attr, check_client_settable, parse_2x
from ..model.factory import default_attributes
from ..model.objects import ManagedObject
from ..node import check_object_type, node_of
from ..spec import Operation, Tag
from ..ttlv import Item, ItemType
from .registry import operation


class ConstraintViolation(KmipError):
    """A new object breaks a Constraint of Set Constraints (2.x 0x4B; 1.x Permission Denied)."""

    reason = 0x0C
    reason_v2 = 0x4B


def _attributes(container: Item | None, what: str) -> list[Attr]:
    """The 2.x attributes of an C{Attributes} structure, each settable by a client at creation."""
    if container is None:
        return []
    if container.type != ItemType.STRUCTURE:
        raise InvalidField(f"{what}: Attributes must be a structure")
    out = []
    for child in container.value:
        attr = parse_2x(child)
        try:
            check_client_settable(attr.name, at_creation=True)
        except KmipError as e:
            raise InvalidField(f"{what}: {e.message}") from None
        out.append(attr)
    return out


@operation(Operation.SET_DEFAULTS, min_version=(2, 0))
def set_defaults(ctx: RequestContext, payload: Item | None) -> Item:
    """Replace the node's Object Defaults (none given: remove them all)."""
    info = payload.find(Tag.DEFAULTS_INFORMATION) if payload is not None else None
    defaults: dict[int, list[Item]] = {}
    if info is not None:
        for entry in info.findall(Tag.OBJECT_DEFAULTS):
            object_type = check_object_type(entry.get(Tag.OBJECT_TYPE), ctx.version)
            if object_type in defaults:
                raise InvalidField("Object Defaults names the same Object Type twice")
            attrs = _attributes(entry.find(Tag.ATTRIBUTES), "Object Defaults")
            defaults[object_type] = [a.value.copy() for a in attrs if a.value is not None]
    node_of(ctx).set_defaults(defaults, ctx.store)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [])


def defaults_information(ctx: RequestContext, object_type: int) -> list[Item]:
    """kmipd's defaults for C{object_type}, overridden and extended by Set Defaults (2.x form)."""
    chosen = node_of(ctx).defaults_for(object_type, ctx.store) if ctx.session is not None else []
    tags = {a.tag for a in chosen}
    return [a for a in default_attributes(object_type) if a.tag not in tags] + chosen


@operation(Operation.SET_CONSTRAINTS, min_version=(2, 0))
def set_constraints(ctx: RequestContext, payload: Item | None) -> Item:
    """Replace the node's Constraints."""
    container = payload.find(Tag.CONSTRAINTS) if payload is not None else None
    if container is None or container.type != ItemType.STRUCTURE:
        raise InvalidField("Constraints is required")
    constraints = []
    for constraint in container.value:
        if constraint.tag != Tag.CONSTRAINT or constraint.type != ItemType.STRUCTURE:
            raise InvalidField("Constraints holds only Constraint structures")
        types = constraint.find(Tag.OBJECT_TYPES)
        for t in types.value if types is not None else []:
            if t.tag != Tag.OBJECT_TYPE:
                raise InvalidField("Object Types holds only Object Type values")
            check_object_type(t.value, ctx.version)
        groups = constraint.find(Tag.OBJECT_GROUPS)
        for g in groups.value if groups is not None else []:
            if g.tag != Tag.OBJECT_GROUP or g.type != ItemType.TEXT_STRING:
                raise InvalidField("Object Groups holds only Object Group values")
        _attributes(constraint.find(Tag.ATTRIBUTES), "Constraint")
        constraints.append(constraint.copy())
    node_of(ctx).set_constraints(constraints, ctx.store)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [])


@operation(Operation.GET_CONSTRAINTS, min_version=(2, 0))
def get_constraints(ctx: RequestContext, payload: Item | None) -> Item:
    """The Constraints in force on this node."""
    constraints = node_of(ctx).constraints_in(ctx.store)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [Item.struct(Tag.CONSTRAINTS, constraints)])


def apply_node_rules(ctx: RequestContext, object_type: int, attrs: list[Attr]) -> list[Attr]:
    """C{attrs} of a new object of C{object_type} with the Object Defaults it omits added."""
    if ctx.session is None:
        return attrs
    names = {a.name for a in attrs}
    added = [parse_2x(d) for d in ctx.session.node.defaults_for(object_type, ctx.store)]
    return attrs + [a for a in added if a.name not in names]


def check_constraints(ctx: RequestContext, obj: ManagedObject) -> None:
    """L{ConstraintViolation} if the new object C{obj} breaks a Constraint of this node."""
    if ctx.session is None:
        return
    for constraint in ctx.session.node.constraints_in(ctx.store):
        _check_constraint(constraint, obj)


def _check_constraint(constraint: Item, obj: ManagedObject) -> None:
    types = constraint.find(Tag.OBJECT_TYPES)
    if types is not None and obj.object_type not in {t.value for t in types.value}:
        return
    groups = constraint.find(Tag.OBJECT_GROUPS)
    if groups is not None:
        mine = {g.value for g in obj.live("Object Group")}
        if not mine & {g.value for g in groups.value}:
            return
    for required in _attributes(constraint.find(Tag.ATTRIBUTES), "Constraint"):
        assert required.value is not None
        if not any(_same(h, required.value) for h in obj.live(required.name)):
            raise ConstraintViolation(f"the object breaks a Constraint: {required.name} must be "
                                      f"{_show(required.value)}")


def _same(a: Item, b: Item) -> bool:
    if a.type != b.type:
        return False
    if a.type == ItemType.STRUCTURE:
        return len(a.value) == len(b.value) and all(_same(x, y) and x.tag == y.tag
                                                    for x, y in zip(a.value, b.value, strict=True))
    return bool(a.value == b.value)


def _show(item: Item) -> str:
    return "the given structure" if item.type == ItemType.STRUCTURE else repr(item.value)
