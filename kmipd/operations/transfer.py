# -*- test-case-name: tests.operations.test_transfer -*-
"""Export and Import: an object with all its attributes (KMIP 1.4 4.40/4.41, 2.1 6.1.18/6.1.25).

Export returns what Get would (same Key Format Type, Key Wrap Type, Key Compression Type and Key
Wrapping Specification semantics, the same policy check) together with every attribute of the
object, in the shape of the protocol version; a destroyed object is exported without its key
material. Import stores an object under the Unique Identifier the client gives, with exactly the
attributes it supplies (the "initially set by" rules are not applied; kmipd only fills in the
attributes it needs to manage the object and the client left out), after checking that each
applies to the object type and has a value kmipd can store (see L{_check_supplied}); Replace
Existing replaces an object the caller owns.
"""

from __future__ import annotations

import hashlib

from ..context import RequestContext
from ..errors import (
    AttributeNotApplicable,
    AttributeSingleValued,
    FeatureNotSupported,
    InvalidField,
    MissingData,
    ObjectAlreadyExists,
    PermissionDenied,
    ProtectionStorageUnavailable,
)
from ..log import Logger
from ..model import keyblock
from ..model.attrcheck import check_value
from ..model.attributes import Attr, parse_1x, parse_2x, render, spec_for
from ..model.factory import PROTECTION_STORAGE, check_unique_names, new_object
from ..model.quantum import check_quantum_safe
from ..spec import (
    KeyWrapType,
    ObjectType,
    Operation,
    Tag,
    enum_value_in_version,
)
from ..ttlv import Item, ItemType
from ._common import load, uid_from
from .create import validate_body
from .housekeeping import check_constraints
from .registry import operation
from .retrieve import get, version_view

_log = Logger()


@operation(Operation.EXPORT, min_version=(1, 4))
def export(ctx: RequestContext, payload: Item | None) -> Item:
    """The object (as Get serves it, unless destroyed) and all its attributes."""
    uid = uid_from(ctx, payload)
    obj = load(ctx, uid, Operation.GET)
    body: list[Item] = []
    if obj.material is not None:
        options = [c for c in (payload.value if payload is not None else []) if c.tag != Tag.UNIQUE_IDENTIFIER]
        served = get(ctx, Item.struct(Tag.REQUEST_PAYLOAD, [Item.text(Tag.UNIQUE_IDENTIFIER, uid), *options]))
        assert served is not None
        body = served.value[2:]
        obj = ctx.store.get(uid) or obj  # Get may have changed attributes (Fresh, Last Change Date)
    rendered = render(version_view(obj.attributes, ctx.version), ctx.version)
    attributes = rendered if ctx.version < (2, 0) else [Item.struct(Tag.ATTRIBUTES, rendered)]
    ctx.id_placeholder = uid
    return Item.struct(Tag.RESPONSE_PAYLOAD, [
        Item.enum(Tag.OBJECT_TYPE, obj.object_type),
        Item.text(Tag.UNIQUE_IDENTIFIER, obj.uid),
        *attributes,
        *body,
    ])


def _supplied(ctx: RequestContext, payload: Item) -> list[Attr]:
    """The attributes the Import request supplies (1.4: Attribute items; 2.x: Attributes)."""
    if ctx.version < (2, 0):
        attrs = [parse_1x(a) for a in payload.findall(Tag.ATTRIBUTE)]
    else:
        container = payload.find(Tag.ATTRIBUTES)
        if container is None or container.type != ItemType.STRUCTURE:
            raise InvalidField("Import needs the object's Attributes")
        attrs = [parse_2x(a) for a in container.value]
    seen: set[str] = set()
    for attr in attrs:
        spec = spec_for(attr.name)
        if attr.name in seen and spec is not None and not spec.multiple:
            raise AttributeSingleValued(f"attribute {attr.name!r} is single-valued")
        seen.add(attr.name)
    return attrs


def _check_supplied(ctx: RequestContext, object_type: int, attrs: list[Attr]) -> None:
    """Refuse attributes that do not apply to C{object_type} and values kmipd cannot store.

    Server-set attributes are accepted (Import restores an object as exported), so only what a
    stored value must be is checked: the attribute applies to the object type (2.x Invalid
    Attribute), and its value passes L{check_value} as a stored value (enumerations of the version, the Usage Limits
    Count)
    (2.x Invalid Attribute Value).
    """
    for attr in attrs:
        spec = spec_for(attr.name)
        value = attr.value
        if spec is None or value is None:
            continue  # custom and vendor attributes are stored as given
        if not spec.applies_to(object_type):
            raise AttributeNotApplicable(f"attribute {attr.name!r} does not apply to this object type")
        check_value(attr.name, value, ctx.version, stored=True)


def _import_target(ctx: RequestContext, payload: Item) -> tuple[str, int, Item]:
    """The Unique Identifier, Object Type and object body of an Import request."""
    uid = payload.find(Tag.UNIQUE_IDENTIFIER)
    if uid is None or uid.type != ItemType.TEXT_STRING or not uid.value:
        raise InvalidField("Import needs the object's Unique Identifier (a Text String)")
    body = next((c for c in payload.value if c.tag in keyblock.OBJECT_TYPE_FOR_TAG), None)
    if body is None:
        raise MissingData("Import needs the object being imported")
    object_type = payload.get(Tag.OBJECT_TYPE)  # 2.x; 1.4 has none: the object's own tag says
    if object_type is None and ctx.version < (2, 0):
        object_type = keyblock.OBJECT_TYPE_FOR_TAG[body.tag]
    if not isinstance(object_type, int) or not enum_value_in_version(ObjectType, object_type, ctx.version):
        raise InvalidField("Import needs a valid Object Type")
    if keyblock.OBJECT_TYPE_FOR_TAG[body.tag] != object_type or body.type != ItemType.STRUCTURE:
        raise InvalidField("Object Type does not match the object provided")
    return uid.value, object_type, body


@operation(Operation.IMPORT, min_version=(1, 4))
def import_(ctx: RequestContext, payload: Item | None) -> Item:
    """Store an object under the client's Unique Identifier with the attributes it supplies."""
    if payload is None:
        raise InvalidField("Import needs a request payload")
    uid, object_type, body = _import_target(ctx, payload)
    wrap_type = payload.find(Tag.KEY_WRAP_TYPE)
    if (wrap_type is not None and wrap_type.value == KeyWrapType.NOT_WRAPPED and keyblock.is_wrapped(body)):
        raise FeatureNotSupported("kmipd cannot unwrap an imported key")
    attrs = _supplied(ctx, payload)
    existing = ctx.store.get(uid)
    if existing is not None:
        replace = payload.find(Tag.REPLACE_EXISTING)
        if replace is None or replace.value is not True:
            raise ObjectAlreadyExists(f"an object with Unique Identifier {uid!r} exists")
        if existing.owner != ctx.identity:
            raise PermissionDenied("only the owner may replace an object by Import")
        ctx.store.remove(uid)
    managed = {"Unique Identifier", "Object Type"}
    given = [a for a in attrs if a.name not in managed]
    for attr in given:
        if (attr.name == "Protection Storage Mask" and attr.value is not None
                and not int(attr.value.value) & int(PROTECTION_STORAGE)):
            raise ProtectionStorageUnavailable("kmipd keeps objects in software storage only")
    _check_supplied(ctx, object_type, given)
    check_unique_names(ctx, given)
    algorithm, length, extra = validate_body(ctx, object_type, body, given)
    obj = new_object(ctx, object_type, body.copy(), [], algorithm=algorithm, length=length, generated=False,
                     extra=[(n, v) for n, v in extra if n not in {a.name for a in given}])
    obj.uid = uid
    obj.attributes["Unique Identifier"] = [Item.text(Tag.UNIQUE_IDENTIFIER, uid)]
    obj.attributes["Short Unique Identifier"] = [Item.bytes(Tag.SHORT_UNIQUE_IDENTIFIER,
                                                            hashlib.sha256(uid.encode()).digest())]
    for name in {a.name for a in given}:
        obj.attributes[name] = [a.value for a in given if a.name == name]
    check_quantum_safe(obj)  # the given attributes replaced new_object's (spec 2.1 4.45)
    check_constraints(ctx, obj)
    ctx.store.add(obj)
    ctx.id_placeholder = uid
    _log.info("imported object {uid} of type {object_type}", uid=uid, object_type=object_type)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [Item.text(Tag.UNIQUE_IDENTIFIER, uid)])
