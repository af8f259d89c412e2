# -*- test-case-name: tests.test_dispatch -*-
"""The operation table: KMIP Operation -> handler, and the protocol versions it exists in.

Handlers are plain synchronous functions C{handler(ctx, payload) -> response payload Item | None},
run by the dispatcher in the service's operation thread pool, inside the request's store
transaction. Each entry names its payload schema (L{kmipd.messages.payloads.SCHEMAS}); the
dispatcher checks the request payload against it (L{OperationEntry.check_request}) before the
handler runs, so a handler receives a payload whose fields are known, typed and not repeated.
The same table answers Query (Query Operations), and C{docs/operations.md} is checked against it
in tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..context import RequestContext
from ..messages import BatchItem
from ..messages.payloads import SCHEMAS, TABLE
from ..messages.schema import PayloadSchema
from ..spec import Operation, enum_value_in_version
from ..ttlv import Item

Handler = Callable[[RequestContext, Item], "Item | None"]
"""C{handler(ctx, payload)}: C{payload} is the request payload checked against the schema."""


@dataclass(frozen=True)
class OperationEntry:
    """A registered operation.

    @ivar needs_store: whether the handler uses the store transaction. Messages whose operations
        all need no store (Query, Discover Versions, RNG, Hash) run without one and never queue
        behind messages that do (L{kmipd.dispatch.Dispatcher}).
    """

    operation: Operation
    handler: Handler
    min_version: tuple[int, int]
    schema: PayloadSchema | None = None
    needs_store: bool = True
    #: L{available_in} per version, remembered (asked twice per message)
    _available: dict[tuple[int, int], bool] = field(default_factory=dict, init=False, compare=False, repr=False)

    def available_in(self, version: tuple[int, int]) -> bool:
        """True if the operation exists in C{version} and kmipd offers it there."""
        found = self._available.get(version)
        if found is None:
            found = version >= self.min_version and enum_value_in_version(Operation, int(self.operation), version)
            if len(self._available) < 64:  # versions are negotiated ones: a handful
                self._available[version] = found
        return found

    def check_request(self, version: tuple[int, int], item: BatchItem) -> Item:
        """The batch item's request payload checked against the schema (an empty one when absent).

        @param version: the version the request is answered in.
        @raise KmipError: Invalid Field, Invalid Message or Missing Data (L{kmipd.messages.schema}).
        """
        return TABLE.check_request(int(self.operation), version, item.payload, newer_minor=item.newer_minor)


REGISTRY: dict[int, OperationEntry] = {}


def operation(op: Operation, *, min_version: tuple[int, int] = (1, 0),
              needs_store: bool = True) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of C{op} (C{needs_store}: see L{OperationEntry})."""

    def register(handler: Handler) -> Handler:
        if int(op) in REGISTRY:
            raise RuntimeError(f"operation {op.name} registered twice")
        schema = SCHEMAS.get(int(op))
        if schema is None:
            raise RuntimeError(f"operation {op.name} has no payload schema in kmipd.messages.payloads")
        REGISTRY[int(op)] = OperationEntry(op, handler, min_version, schema, needs_store=needs_store)
        return handler

    return register


def lookup(op: int, version: tuple[int, int]) -> OperationEntry | None:
    """The entry for C{op} if kmipd offers it in C{version}."""
    entry = REGISTRY.get(op)
    if entry is None or not entry.available_in(version):
        return None
    return entry


def operations_for(version: tuple[int, int]) -> list[Operation]:
    """Every operation kmipd offers in C{version}, in enumeration order."""
    return [e.operation for _, e in sorted(REGISTRY.items()) if e.available_in(version)]
