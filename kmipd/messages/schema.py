# -*- test-case-name: tests.test_schema -*-
"""Declarative payload schemas: which fields a payload has, per operation and protocol version.

A schema is data: a tuple of L{Field}s (and L{OneOf} groups) per operation, for the request and
the response payload, written in L{kmipd.messages.payloads} and checked against the spec's
payload tables by C{tests/test_schema.py}. This module compiles them, once per (schema,
version), into lookup tables and checks request payloads against them in one pass, before any
handler runs (the dispatcher calls C{OperationEntry.check_request}, which calls
L{SchemaTable.check_request}):

 - a field the version does not define for that payload: Invalid Field (the spec's "same major
   and minor version, unknown field");
 - a single-valued field given twice: Invalid Message ("the same field is contained in a
   payload more than once");
 - a field of the wrong item type: Invalid Field;
 - a missing REQUIRED field: the field's C{missing} error (Missing Data unless the spec's error
   tables name another reason for that operation);
 - nested structures with a shape (C{fields}) are checked the same way; an open structure
   (C{fields=None}: 2.x Attributes, New Attribute, ...) is only checked to be a structure, its
   content is read by L{kmipd.model.attributes}.

A field defined only in a later version whose meaning is unambiguous is accepted earlier when it
is marked C{early=True} (Offset Items in a 1.2 Locate: the PyKMIP client always sends it).

Handlers then read the validated L{Item} directly (C{payload.get(Tag.X)}, C{payload.find(...)},
C{payload.findall(...)}): every field present has the declared type, so no handler tests item
types by hand.

Adding an operation's schema
============================
1. In L{kmipd.messages.payloads}, write its fields as a L{PayloadSchema} and add it to
   C{SCHEMAS} under its L{Operation}::

       SCHEMAS[Operation.PING] = PayloadSchema(request=(), response=())
       SCHEMAS[Operation.CANCEL] = PayloadSchema(
           request=(F(Tag.ASYNCHRONOUS_CORRELATION_VALUE, required=True),),
           response=(F(Tag.ASYNCHRONOUS_CORRELATION_VALUE, required=True),
                     F(Tag.CANCELLATION_RESULT, required=True)))

   A field's item type defaults to the tag's type in the spec, its versions to the versions
   whose spec defines the tag; give C{since}/C{until} when the payload gained or lost the field
   later than the tag appeared, C{repeat=True} for "MAY be repeated", C{fields=(...)} for a
   structure whose shape is checked.
2. Register the handler with C{@operation(Operation.X)} (L{kmipd.operations.registry}); the
   registry refuses a handler without a schema.
3. C{tests/test_schema.py} checks the new schema against the spec's payload table and runs the
   unknown / repeated / missing / mistyped field cases for it automatically. A deliberate
   difference from the table goes in its C{KNOWN_DIFFERENCES} with the reason (a client's habit
   also gets a row in L{kmipd.compat}).
4. Add the operation's row to the table in C{docs/operations.md} and its request-field row
   (C{kmipd.messages.payloads.request_fields_rows} prints it; C{tests/test_schema.py} and
   C{tests/test_docs.py} compare them with the code).

The Request Message, its header and batch items use the same machinery with open shapes
(unknown fields skipped; repeated or mistyped ones are Invalid Message): L{kmipd.messages}.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import InvalidField, InvalidMessage, KmipError, MissingData
from ..spec import VERSIONS, Tag, tag_name, tag_type, tag_versions
from ..ttlv import Item, ItemType

Version = tuple[int, int]

_STRUCTURE = int(ItemType.STRUCTURE)
_ANY: frozenset[int] = frozenset(int(t) for t in ItemType)


@dataclass(frozen=True)
class Field:
    """One payload field.

    @ivar tag: the field's tag.
    @ivar types: accepted item types (default: the tag's type in the spec for the version).
    @ivar required: REQUIRED in the spec's table.
    @ivar repeat: MAY be repeated.
    @ivar since: first version whose payload has the field (default: the tag's first version).
    @ivar until: last version whose payload has the field (default: the tag's last version).
    @ivar early: accepted before C{since} too (a later field whose meaning is unambiguous).
    @ivar fields: the shape of a structure (C{None}: open, only its item type is checked).
    @ivar missing: the error raised when a required field is absent.
    """

    tag: int
    types: tuple[int, ...] | None = None
    required: bool = False
    repeat: bool = False
    since: Version | None = None
    until: Version | None = None
    early: bool = False
    fields: tuple[Spec, ...] | None = None
    missing: type[KmipError] = MissingData

    @property
    def name(self) -> str:
        """The spec's name of the field."""
        return tag_name(self.tag)

    def in_version(self, version: Version) -> bool:
        """True if the payload of C{version} defines this field."""
        low = self.since or min(tag_versions(self.tag), default=VERSIONS[0])
        high = self.until or max(tag_versions(self.tag), default=VERSIONS[-1])
        return low <= version <= high

    def accepted_in(self, version: Version) -> bool:
        """True if the field is accepted in C{version} (defined there, or an early field)."""
        if self.in_version(version):
            return True
        high = self.until or max(tag_versions(self.tag), default=VERSIONS[-1])
        return self.early and version <= high

    def types_in(self, version: Version) -> frozenset[int]:
        """The item types accepted in C{version}."""
        if self.types is not None:
            return frozenset(int(t) for t in self.types)
        kind = tag_type(self.tag, version) or tag_type(self.tag)
        return frozenset({int(kind)}) if kind is not None else _ANY


@dataclass(frozen=True)
class OneOf:
    """Exactly one (if C{required}; else at most one) of several alternative fields.

    The object of a Register request (Certificate, Symmetric Key, ...) is one such group.
    """

    label: str
    choices: tuple[Field, ...]
    required: bool = False
    missing: type[KmipError] = MissingData


Spec = Field | OneOf


@dataclass(frozen=True)
class PayloadSchema:
    """The request and response payload fields of one operation, all versions."""

    request: tuple[Spec, ...]
    response: tuple[Spec, ...] = ()
    #: the operation takes no payload at all when it has no fields (absent payload is fine)
    notes: str = ""


# ---------------------------------------------------------------------------------------------
# Compilation


@dataclass(frozen=True)
class _Slot:
    """What a tag may be in one compiled shape."""

    name: str
    types: frozenset[int]
    repeat: bool
    nested: Compiled | None
    group: int  # index into Compiled.groups, or -1


@dataclass(frozen=True)
class Compiled:
    """A shape compiled for one version: tag -> slot, plus what must be present."""

    slots: dict[int, _Slot]
    required: tuple[tuple[tuple[int, ...], str, type[KmipError]], ...]
    groups: tuple[str, ...] = field(default=())
    #: unknown fields are skipped, not refused (message headers; a newer minor version's payload)
    open: bool = False


def compile_shape(specs: Iterable[Spec], version: Version, *, open: bool = False) -> Compiled:
    """Compile a tuple of L{Field}/L{OneOf} for C{version} (C{open}: unknown fields are skipped)."""
    slots: dict[int, _Slot] = {}
    required: list[tuple[tuple[int, ...], str, type[KmipError]]] = []
    groups: list[str] = []
    for spec in specs:
        if isinstance(spec, OneOf):
            choices = [c for c in spec.choices if c.accepted_in(version)]
            if not choices:
                continue
            gid = len(groups)
            groups.append(spec.label)
            for c in choices:
                slots[c.tag] = _slot(c, version, gid, open)
            if spec.required:
                required.append((tuple(c.tag for c in choices), spec.label, spec.missing))
            continue
        if not spec.accepted_in(version):
            continue
        slots[spec.tag] = _slot(spec, version, -1, open)
        if spec.required and spec.in_version(version):
            required.append(((spec.tag,), spec.name, spec.missing))
    return Compiled(slots, tuple(required), tuple(groups), open)


def _slot(spec: Field, version: Version, group: int, open: bool) -> _Slot:
    nested = compile_shape(spec.fields, version, open=open) if spec.fields is not None else None
    return _Slot(spec.name, spec.types_in(version), spec.repeat, nested, group)


# ---------------------------------------------------------------------------------------------
# Checking


def check(shape: Compiled, item: Item, where: str, version: Version) -> None:
    """Check the children of structure C{item} against C{shape}; raise the spec's error.

    @param where: what C{item} is, for messages ("Get request payload").
    """
    slots = shape.slots
    seen: set[int] = set()
    groups_seen: dict[int, int] | None = None
    for child in item.value:
        tag = child.tag
        slot = slots.get(tag)
        if slot is None:
            if shape.open:
                continue
            raise InvalidField(f"{tag_name(tag)} is not a field of the {where} in KMIP {version[0]}.{version[1]}")
        if tag in seen:
            if not slot.repeat:
                raise InvalidMessage(f"{slot.name} appears more than once in the {where}")
        else:
            seen.add(tag)
        if child.type not in slot.types:
            raise InvalidField(f"{slot.name} in the {where} has the wrong item type")
        if slot.group >= 0:
            if groups_seen is None:
                groups_seen = {}
            if groups_seen.setdefault(slot.group, tag) != tag:
                raise InvalidField(f"the {where} has more than one {shape.groups[slot.group]}")
        if slot.nested is not None:
            check(slot.nested, child, slot.name, version)
    for tags, label, error in shape.required:
        if seen.isdisjoint(tags):
            raise error(f"{label} is required in the {where}")


_EMPTY_TAG = int(Tag.REQUEST_PAYLOAD)


class SchemaTable:
    """Compiled request shapes per (operation, version), built on first use."""

    def __init__(self, schemas: dict[int, PayloadSchema], names: dict[int, str]) -> None:
        self._schemas = schemas
        self._names = names
        self._compiled: dict[tuple[int, Version, bool], Compiled] = {}
        #: what the messages call a request payload, per operation ("Get request payload")
        self._where: dict[int, str] = {}

    def request_shape(self, operation: int, version: Version, *, open: bool = False) -> Compiled | None:
        """The compiled request shape, or C{None} if the operation has no schema.

        @param open: skip unknown fields (a request of a newer minor version answered in C{version}).
        """
        key = (operation, version, open)
        shape = self._compiled.get(key)
        if shape is None:
            schema = self._schemas.get(operation)
            if schema is None:
                return None
            shape = self._compiled[key] = compile_shape(schema.request, version, open=open)
        return shape

    def response_shape(self, operation: int, version: Version) -> Compiled | None:
        """The compiled response shape (not cached: used by tests and documentation)."""
        schema = self._schemas.get(operation)
        return compile_shape(schema.response, version) if schema is not None else None

    def check_request(self, operation: int, version: Version, payload: Item | None, *,
                      newer_minor: bool = False) -> Item:
        """The request payload, checked; an empty payload when the request has none.

        @param newer_minor: the request was made in a newer minor version than C{version} (the one
            it is answered in): its unknown fields are ignored, as the spec's 11.1 requires.
        @raise InvalidField / InvalidMessage / MissingData: see the module docstring.
        """
        if payload is None:
            payload = Item(_EMPTY_TAG, _STRUCTURE, [])
        shape = self._compiled.get((operation, version, newer_minor))
        if shape is None:
            shape = self.request_shape(operation, version, open=newer_minor)
        if shape is not None:
            where = self._where.get(operation)
            if where is None:
                where = self._where[operation] = f"{self._names.get(operation, 'operation')} request payload"
            check(shape, payload, where, version)
        return payload


# ---------------------------------------------------------------------------------------------
# Documentation


def _span(versions: list[Version], offered: list[Version]) -> str:
    """" (1.3+)", " (1.x)", " (1.0–1.2)" ...: where a field exists among the C{offered} versions."""
    if versions == offered:
        return ""
    low, high = versions[0], versions[-1]
    if low == high:
        return f" ({low[0]}.{low[1]})"
    if high == offered[-1]:
        return f" ({low[0]}.{low[1]}+)"
    if low[0] == high[0] == 1 and low == offered[0] and high == (1, 4):
        return " (1.x)"
    return f" ({low[0]}.{low[1]}–{high[0]}.{high[1]})"


def describe(specs: Iterable[Spec], offered: list[Version]) -> str:
    """One line naming the fields of C{specs} in the C{offered} versions (ascending).

    REQUIRED fields are in bold, repeatable ones end with C{*}, a version span follows fields
    that do not exist in every offered version (as accepted: an early field counts from where
    it is accepted).
    """
    out: list[str] = []
    for spec in specs:
        choices = spec.choices if isinstance(spec, OneOf) else (spec,)
        versions = [v for v in offered if any(c.accepted_in(v) for c in choices)]
        if not versions:
            continue
        if isinstance(spec, OneOf):
            text, required = f"one {spec.label}", spec.required
        else:
            text = spec.name + ("*" if spec.repeat else "")
            required = spec.required and any(spec.in_version(v) for v in versions)
        text = f"**{text}**" if required else text
        entry = text + _span(versions, offered)
        if entry not in out:
            out.append(entry)
    return ", ".join(out) if out else "(none)"


__all__ = ["Compiled", "Field", "OneOf", "PayloadSchema", "SchemaTable", "Spec", "check", "compile_shape",
           "describe"]
