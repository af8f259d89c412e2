# -*- test-case-name: tests.store.test_contract -*-
"""The managed object: kmipd's one internal form of a KMIP object and its attributes.

Attributes are kept in one shape whatever the protocol version: a mapping from the attribute's
KMIP 1.x name (C{"Cryptographic Algorithm"}, C{"Name"}, C{"x-custom"}) to the list of its values,
each value an L{Item} tagged with the attribute's own tag (the KMIP 2.x form: C{Name} is a
structure tagged C{Tag.NAME}); custom attributes (C{x-}/C{y-} names, 2.x vendor attributes) carry
the tag C{Tag.ATTRIBUTE_VALUE} and any item type. The message layer converts this form to and from
the 1.x (Attribute Name/Index/Value) and 2.x (Attributes structure) shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .ttlv import Item


@dataclass
class ManagedObject:
    """A stored KMIP object.

    @ivar uid: the Unique Identifier.
    @ivar object_type: the C{ObjectType} enumeration value.
    @ivar owner: the identity that created the object (C{None} for server-owned objects).
    @ivar attributes: attribute name -> values (see the module docstring); C{Unique Identifier},
        C{Object Type} and C{State} are kept here too and are the source of truth.
    @ivar material: the object's body (e.g. the C{Symmetric Key} structure with its Key Block), or
        C{None} once Destroy removed it. Encrypted at rest by the store.
    @ivar created: server time (seconds) of creation, for newest-first ordering.
    @ivar sequence: a store-assigned, strictly increasing number (tie-breaker for ordering).
    @ivar revision: optimistic-concurrency counter, bumped by the store on every save.
    @ivar archived: read-only copy of the store's archive flag at the time of reading (change it
        with C{StoreTransaction.set_archived}).
    """

    uid: str
    object_type: int
    owner: str | None
    attributes: dict[str, list[Item]] = field(default_factory=dict)
    material: Item | None = None
    created: int = 0
    sequence: int = 0
    revision: int = 0
    archived: bool = False

    def first(self, name: str) -> Item | None:
        """The first value of attribute C{name}, or C{None}."""
        values = self.attributes.get(name)
        return values[0] if values else None

    def value(self, name: str, default: object = None) -> object:
        """The Python value of the first instance of attribute C{name}, or C{default}."""
        values = self.attributes.get(name)
        return values[0].value if values else default

    def set_single(self, name: str, item: Item) -> None:
        """Replace every instance of attribute C{name} with C{item}."""
        self.attributes[name] = [item]

    @property
    def state(self) -> int | None:
        return self.value("State")  # type: ignore[return-value]

    @property
    def policy_name(self) -> str | None:
        return self.value("Operation Policy Name")  # type: ignore[return-value]
