# -*- test-case-name: tests.operations.test_locate -*-
"""Locate: find the objects the caller may see that match every given attribute.

The request's attributes (1.x: C{Attribute} structures in the payload; 2.x: the C{Attributes}
structure) become one L{LocateQuery} the store answers with indexes:

 - Object Type and State go to the store's typed columns; Cryptographic Usage Mask is a bit
   test (every requested bit set);
 - Date-Time values: one instance = that exact date, two instances = the inclusive range
   between them (a date at its largest possible value means "no constraint");
 - other values compare whole (a C{Name} without a Name Type matches on the name text);
 - structures the client gave partially (a Link without Link Type, ...) and Usage Limits
   ("at least this Total and Count") are narrowed by the store to objects having the
   attribute, then compared field by field on the loaded objects.

The store returns candidates newest first; the caller's operation policy (Locate) is applied
to them before Offset Items and Maximum Items.

A State filter matches the state an object is in once its reached Activation / Deactivation
Date is taken into account (what L{kmipd.operations._common.load} would make of it), without
writing anything: the store is asked for every stored state that can lead to the requested one
(Active: Pre-Active or Active, ...), and two indexed queries name the objects with a date
transition due; only those among the candidates the caller may Locate are loaded and judged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..context import RequestContext
from ..errors import InvalidField
from ..model import certrequest
from ..model.attributes import Attr, parse_1x, read_template
from ..model.objects import ManagedObject
from ..spec import ObjectGroupMember, Operation, State, StorageStatusMask, Tag, tag_in_version
from ..store.interface import AttributeFilter, Candidate, LocateQuery, RangeFilter
from ..ttlv import Item, ItemType
from ._common import allowed, current_state
from .registry import operation

__all__ = ["build_query", "locate"]

#: the largest Date-Time value ("equivalent to an undefined attribute" in a Locate request)
_MAX_DATE = 2**63 - 1
_MAX_DATE_32 = 2**32 - 1

#: A State asked for -> the stored states whose objects may be in it once due dates are applied
#: (L{kmipd.model.states.due_state}: Pre-Active -> Active -> Deactivated).
_REACHED_FROM: dict[int, tuple[int, ...]] = {
    State.PRE_ACTIVE: (State.PRE_ACTIVE,),
    State.ACTIVE: (State.PRE_ACTIVE, State.ACTIVE),
    State.DEACTIVATED: (State.PRE_ACTIVE, State.ACTIVE, State.DEACTIVATED),
}

#: Structures matched exactly when every one of these fields is given (else field by field).
_COMPLETE_FIELDS: dict[str, frozenset[int]] = {
    "Link": frozenset({Tag.LINK_TYPE, Tag.LINKED_OBJECT_IDENTIFIER}),
    "Application Specific Information": frozenset({Tag.APPLICATION_NAMESPACE, Tag.APPLICATION_DATA}),
    "Name": frozenset({Tag.NAME_VALUE, Tag.NAME_TYPE}),
}


@dataclass
class Search:
    """A parsed Locate request."""

    query: LocateQuery
    post: list[Callable[[ManagedObject], bool]] = field(default_factory=list)
    maximum: int | None = None
    offset: int = 0
    group_member: int | None = None
    #: the one State asked for, when date transitions can lead to it (see L{_state_filter})
    state: int | None = None


def _count(payload: Item, tag: int, what: str) -> int | None:
    """An optional Integer field (the schema checked its type) that must not be negative."""
    value: int | None = payload.get(tag)
    if value is not None and value < 0:
        raise InvalidField(f"{what} must not be negative")
    return value


def _attributes(payload: Item) -> list[Attr]:
    """The criteria: 1.x C{Attribute}s, 2.x C{Attributes}, and the 1.x criteria a FortiOS client
    wraps in a C{Template-Attribute} (L{kmipd.compat}: applied, never dropped)."""
    out = [parse_1x(a) for a in payload.findall(Tag.ATTRIBUTE)]
    out.extend(read_template(payload, Tag.TEMPLATE_ATTRIBUTE, Tag.ATTRIBUTES))
    return out


def _subset(want: Item, have: Item) -> bool:
    """True if every field of C{want} is in C{have} with an equal value (structures recursively)."""
    if want.type != ItemType.STRUCTURE:
        return want.type == have.type and want.value == have.value
    if have.type != ItemType.STRUCTURE:
        return False
    pool = list(have.value)
    for child in want.value:
        match = next((i for i, h in enumerate(pool) if h.tag == child.tag and _subset(child, h)), None)
        if match is None:
            return False
        pool.pop(match)
    return True


def _partial_filter(name: str, want: Item) -> Callable[[ManagedObject], bool]:
    return lambda obj: any(_subset(want, have) for have in obj.live(name))


def _usage_limits_filter(want: Item) -> Callable[[ManagedObject], bool]:
    total, count = want.get(Tag.USAGE_LIMITS_TOTAL), want.get(Tag.USAGE_LIMITS_COUNT)
    unit = want.get(Tag.USAGE_LIMITS_UNIT)

    def match(obj: ManagedObject) -> bool:
        for have in obj.live("Usage Limits"):
            if unit is not None and have.get(Tag.USAGE_LIMITS_UNIT) != unit:
                continue
            if total is not None and (have.get(Tag.USAGE_LIMITS_TOTAL) or 0) < total:
                continue
            if count is not None and (have.get(Tag.USAGE_LIMITS_COUNT) or 0) < count:
                continue
            return True
        return False

    return match


def _storage(ctx: RequestContext, payload: Item, query: LocateQuery) -> None:
    mask = _count(payload, Tag.STORAGE_STATUS_MASK, "Storage Status Mask")
    known = int(StorageStatusMask.ON_LINE_STORAGE) | int(StorageStatusMask.ARCHIVAL_STORAGE)
    if ctx.v2:
        known |= int(StorageStatusMask.DESTROYED_STORAGE)
    if not mask:  # omitted (or 0): on-line objects only
        mask = int(StorageStatusMask.ON_LINE_STORAGE)
    if mask & ~known:
        raise InvalidField(
            f"Storage Status Mask 0x{mask:X} has bits undefined in KMIP {ctx.version[0]}.{ctx.version[1]}"
        )
    query.include_online = bool(mask & StorageStatusMask.ON_LINE_STORAGE)
    query.include_archived = bool(mask & StorageStatusMask.ARCHIVAL_STORAGE)
    # 1.x has no destroyed storage: destroyed objects are not returned to 1.x clients
    query.include_destroyed = bool(mask & StorageStatusMask.DESTROYED_STORAGE)


def _group_member(payload: Item, search: Search) -> None:
    """Set C{search.group_member} from the payload's Object Group Member (Fresh adds a filter)."""
    member = payload.get(Tag.OBJECT_GROUP_MEMBER)
    if member is None:
        return
    try:
        search.group_member = ObjectGroupMember(member)
    except ValueError:
        raise InvalidField(f"unknown Object Group Member {member!r}") from None
    if search.group_member == ObjectGroupMember.GROUP_MEMBER_FRESH:
        search.query.attributes.append(AttributeFilter("Fresh", Item.bool(Tag.FRESH, True)))


def _is_partial(name: str, value: Item) -> bool:
    """Whether a structured attribute C{value} gives only some of its fields (matched after loading)."""
    return (
        value.type == ItemType.STRUCTURE
        and name != "Name"
        and not (name in _COMPLETE_FIELDS and {c.tag for c in value.value} == _COMPLETE_FIELDS[name])
    )


def _attribute_filter(search: Search, name: str, value: Item) -> None:
    """Add the filter for one (non-date, non-Object Type, non-State) Locate attribute to C{search}."""
    query = search.query
    if name == "Cryptographic Usage Mask":
        query.attributes.append(AttributeFilter(name, value, mask=True))
    elif name == "Usage Limits":
        query.attributes.append(AttributeFilter(name))
        search.post.append(_usage_limits_filter(value))
    elif _is_partial(name, value):
        query.attributes.append(AttributeFilter(name))
        search.post.append(_partial_filter(name, value))
    else:
        query.attributes.append(AttributeFilter(name, value))


def _date_ranges(query: LocateQuery, dates: dict[str, list[int]]) -> None:
    """Add a range filter per date attribute given once (an exact date) or twice (a range)."""
    for name, values in dates.items():
        if len(values) > 2:
            raise InvalidField(f"at most two instances of {name!r} (a range) may be given")
        low, high = min(values), max(values)
        if len(values) == 1 and low in (_MAX_DATE, _MAX_DATE_32):
            continue  # "equivalent to an undefined attribute"
        query.ranges.append(RangeFilter(name, low, high))


def _enum_filters(query: LocateQuery, types: list[int], states: list[int]) -> None:
    """Object Type and State: one value is an indexed column, several different ones match nothing."""
    for values, target, column in ((types, "Object Type", "object_types"), (states, "State", "states")):
        if len(set(values)) == 1:
            setattr(query, column, (values[0],))
        elif values:  # several different values: no object can match them all
            for v in values:
                query.attributes.append(
                    AttributeFilter(target, Item.enum(Tag.OBJECT_TYPE if target == "Object Type" else Tag.STATE, v))
                )


def build_query(ctx: RequestContext, payload: Item) -> Search:
    """Parse a Locate request payload (checked against its schema) into a L{Search}."""
    search = Search(LocateQuery())
    query = search.query
    search.maximum = _count(payload, Tag.MAXIMUM_ITEMS, "Maximum Items")
    search.offset = _count(payload, Tag.OFFSET_ITEMS, "Offset Items") or 0
    _group_member(payload, search)
    _storage(ctx, payload, query)

    dates: dict[str, list[int]] = {}
    types: list[int] = []
    states: list[int] = []
    for attr in _attributes(payload):
        name, value = attr.name, attr.value
        if value is None:
            raise InvalidField(f"Locate attribute {name!r} has no value")
        if value.type == ItemType.DATE_TIME:
            dates.setdefault(name, []).append(value.value)
        elif name == "Object Type":
            types.append(value.value)
        elif name == "State":
            states.append(value.value)
        else:
            _attribute_filter(search, name, value)
    _date_ranges(query, dates)
    _enum_filters(query, types, states)
    if len(set(states)) == 1 and states[0] in _REACHED_FROM:
        search.state = states[0]
        query.states = _REACHED_FROM[states[0]]
    return search


def _due(ctx: RequestContext, query: LocateQuery) -> set[str]:
    """Objects matching C{query} with a date transition due at C{ctx.now} (two indexed queries).

    Pre-Active with a reached Activation Date, Pre-Active or Active with a reached Deactivation
    Date: the only stored states L{kmipd.model.states.due_state} can change.
    """
    due: set[str] = set()
    for states, name in (
        ((State.PRE_ACTIVE,), "Activation Date"),
        ((State.PRE_ACTIVE, State.ACTIVE), "Deactivation Date"),
    ):
        reached = replace(query, states=states, ranges=[*query.ranges, RangeFilter(name, None, ctx.now)])
        due.update(c.uid for c in ctx.store.locate(reached))
    return due


def _state_filter(ctx: RequestContext, search: Search, candidates: list[Candidate]) -> list[Candidate]:
    """The C{candidates} (stored in any state in L{_REACHED_FROM}) whose current state is C{search.state}.

    A candidate without a due transition is in its stored state: it matches if the store finds
    it with exactly that state. One with a due transition is loaded and judged (never saved).
    """
    wanted = search.state
    assert wanted is not None
    due = _due(ctx, search.query)
    if search.query.states == (wanted,):
        exact = {c.uid for c in candidates}
    else:
        exact = {c.uid for c in ctx.store.locate(replace(search.query, states=(wanted,)))}
    kept = []
    for c in candidates:
        if c.uid in due:
            obj = ctx.store.get(c.uid)
            if obj is not None and current_state(ctx, obj) == wanted:
                kept.append(c)
        elif c.uid in exact:
            kept.append(c)
    return kept


@operation(Operation.LOCATE)
def locate(ctx: RequestContext, payload: Item) -> Item:
    """Unique Identifiers of matching objects the caller may Locate, newest first."""
    search = build_query(ctx, payload)
    candidates: list[Candidate] = [c for c in ctx.store.locate(search.query) if allowed(ctx, c, Operation.LOCATE)  # type: ignore[arg-type]
                                   and certrequest.in_version(c.object_type, ctx.version)]
    if search.state is not None:
        candidates = _state_filter(ctx, search, candidates)
    if search.post:
        kept = []
        for c in candidates:
            obj = ctx.store.get(c.uid)
            if obj is not None and all(p(obj) for p in search.post):
                kept.append(c)
        candidates = kept
    if search.group_member == ObjectGroupMember.GROUP_MEMBER_DEFAULT:
        candidates = candidates[:1]  # kmipd's default group member: the newest matching object
    located = len(candidates)
    end = None if search.maximum is None else search.offset + search.maximum
    page = candidates[search.offset : end]
    ctx.id_placeholder = page[0].uid if len(page) == 1 else None
    children: list[Item | None] = []
    if (search.maximum is not None or search.offset) and tag_in_version(Tag.LOCATED_ITEMS, ctx.version):
        children.append(Item.int(Tag.LOCATED_ITEMS, located))
    children.extend(Item.text(Tag.UNIQUE_IDENTIFIER, c.uid) for c in page)
    return Item.struct(Tag.RESPONSE_PAYLOAD, children)
