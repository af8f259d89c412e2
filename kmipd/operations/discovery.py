# -*- test-case-name: tests.operations.test_discovery -*-
"""DiscoverVersions and Query: what this server speaks and offers."""

from __future__ import annotations

from ..context import RequestContext
from ..errors import InvalidField
from ..messages import SUPPORTED_VERSIONS, parse_version, version_item
from ..model.factory import PROTECTION_STORAGE
from ..spec import (
    ObjectType,
    Operation,
    QueryFunction,
    Tag,
    enum_value_in_version,
    tag_in_version,
)
from ..ttlv import Item
from .housekeeping import defaults_information
from .registry import operation, operations_for

OBJECT_TYPES = (
    ObjectType.CERTIFICATE, ObjectType.SYMMETRIC_KEY, ObjectType.PUBLIC_KEY, ObjectType.PRIVATE_KEY,
    ObjectType.SPLIT_KEY, ObjectType.TEMPLATE, ObjectType.SECRET_DATA, ObjectType.OPAQUE_OBJECT,
    ObjectType.PGP_KEY, ObjectType.CERTIFICATE_REQUEST,
)
"""Object types kmipd stores (each reported only in versions that define it)."""


@operation(Operation.DISCOVER_VERSIONS, min_version=(1, 1), needs_store=False)
def discover_versions(ctx: RequestContext, payload: Item | None) -> Item:
    """The versions supported by both sides, in kmipd's order of preference."""
    offered = [parse_version(v) for v in payload.findall(Tag.PROTOCOL_VERSION)] if payload is not None else []
    if offered:
        versions = [v for v in offered if v in SUPPORTED_VERSIONS]
    else:
        versions = list(SUPPORTED_VERSIONS)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [version_item(v) for v in versions])


def _server_information(ctx: RequestContext) -> list[Item]:
    return [
        Item.text(Tag.VENDOR_IDENTIFICATION, ctx.server.vendor),
        Item.struct(Tag.SERVER_INFORMATION, []),
    ]


def _capabilities(ctx: RequestContext) -> list[Item]:
    v = ctx.version
    fields: list[Item] = [
        Item.bool(Tag.STREAMING_CAPABILITY, False),
        Item.bool(Tag.ASYNCHRONOUS_CAPABILITY, True),
        Item.bool(Tag.ATTESTATION_CAPABILITY, False),
    ]
    if tag_in_version(Tag.BATCH_UNDO_CAPABILITY, v):
        fields += [Item.bool(Tag.BATCH_UNDO_CAPABILITY, True), Item.bool(Tag.BATCH_CONTINUE_CAPABILITY, True)]
    # last (Table 356 order). True: kmipd enforces Quantum Safe (kmipd.model.quantum) and makes
    # quantum-safe symmetric keys; it has no post-quantum public-key algorithms.
    fields.append(Item.bool(Tag.QUANTUM_SAFE_CAPABILITY, True))
    return [Item.struct(Tag.CAPABILITY_INFORMATION, [f for f in fields if tag_in_version(f.tag, v)])]


def _rngs(ctx: RequestContext) -> list[Item]:
    return [ctx.settings.rng_item()]


def _operations(ctx: RequestContext) -> list[Item]:
    """Every operation that works in the request's version (Interop only where it is enabled)."""
    interop = ctx.session is not None and ctx.session.node.interop_enabled
    return [Item.enum(Tag.OPERATION, op) for op in operations_for(ctx.version)
            if op != Operation.INTEROP or interop]


def _objects(ctx: RequestContext) -> list[Item]:
    return [Item.enum(Tag.OBJECT_TYPE, t) for t in OBJECT_TYPES
            if enum_value_in_version(ObjectType, int(t), ctx.version)]


def _defaults(ctx: RequestContext) -> list[Item]:
    """Defaults Information (2.x): per object type, the values kmipd uses when the client omits them
    (its own, overridden and extended by Set Defaults)."""
    return [Item.struct(Tag.DEFAULTS_INFORMATION, [
        Item.struct(Tag.OBJECT_DEFAULTS, [
            Item.enum(Tag.OBJECT_TYPE, t),
            Item.struct(Tag.ATTRIBUTES, defaults_information(ctx, t)),
        ])
        for t in OBJECT_TYPES if enum_value_in_version(ObjectType, int(t), ctx.version)
    ])]


def _protection_storage_masks(ctx: RequestContext) -> list[Item]:
    """Protection Storage Masks (2.x): the one protection kmipd's stores give (software)."""
    return [Item.struct(Tag.PROTECTION_STORAGE_MASKS, [
        Item.int(Tag.PROTECTION_STORAGE_MASK, int(PROTECTION_STORAGE)),
    ])]


_QUERY_FUNCTIONS = {
    QueryFunction.QUERY_OPERATIONS: _operations,
    QueryFunction.QUERY_OBJECTS: _objects,
    QueryFunction.QUERY_SERVER_INFORMATION: _server_information,
    QueryFunction.QUERY_CAPABILITIES: _capabilities,
    QueryFunction.QUERY_RNGS: _rngs,
    QueryFunction.QUERY_DEFAULTS_INFORMATION: _defaults,
    QueryFunction.QUERY_STORAGE_PROTECTION_MASKS: _protection_storage_masks,
}
"""Query functions kmipd has information for; the others (application namespaces, extensions,
attestation types, validations, profiles, client registration methods) have nothing to report and
answer with no items, as the spec allows. Defaults Information and Protection Storage Masks are
KMIP 2.x functions (the version check above refuses them in 1.x)."""


@operation(Operation.QUERY, needs_store=False)
def query(ctx: RequestContext, payload: Item) -> Item:
    """Answer each requested Query Function, in a fixed order."""
    asked = set()
    for f in payload.findall(Tag.QUERY_FUNCTION):
        if not enum_value_in_version(QueryFunction, f.value, ctx.version):
            raise InvalidField(f"Query Function {f.value} is not defined in KMIP {ctx.version[0]}.{ctx.version[1]}")
        asked.add(f.value)
    out: list[Item] = []
    # The response fields have a defined order (operations, objects, vendor, server info, ...).
    for function in sorted(asked):
        producer = _QUERY_FUNCTIONS.get(function)
        if producer is not None:
            out.extend(producer(ctx))
    return Item.struct(Tag.RESPONSE_PAYLOAD, out)

