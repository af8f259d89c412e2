# -*- test-case-name: tests.store.test_contract -*-
"""The managed object: kmipd's one internal form of a KMIP object and its attributes.

Attributes are kept in one shape whatever the protocol version: a mapping from the attribute's
KMIP 1.x name (C{"Cryptographic Algorithm"}, C{"Name"}, C{"x-custom"}) to the list of its values,
each value an L{Item} tagged with the attribute's own tag (the KMIP 2.x form: C{Name} is a
structure tagged C{Tag.NAME}); custom attributes (C{x-}/C{y-} names, 2.x vendor attributes) carry
the tag C{Tag.ATTRIBUTE_VALUE} and any item type. The message layer converts this form to and from
the 1.x (Attribute Name/Index/Value) and 2.x (Attributes structure) shapes.

Attribute Indexes are list positions and are stable (KMIP 1.x 2.1.1: an instance's index SHALL
NOT change when other instances are added or deleted): deleting an instance leaves a C{None}
hole in its slot, so later instances keep their positions. Holes are never trailing (a list
ends with a live value, and a list with no live value is removed), so C{bool(values)} still
means "the attribute is present" and a new instance takes the index after the highest live
one. Readers that walk a list skip the holes (L{ManagedObject.instances},
L{ManagedObject.live}); the stores persist positions and restore the holes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ttlv import Item


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
    attributes: dict[str, list[Item | None]] = field(default_factory=dict)
    material: Item | None = None
    created: int = 0
    sequence: int = 0
    revision: int = 0
    archived: bool = False

    def first(self, name: str) -> Item | None:
        """The live instance of attribute C{name} with the lowest index, or C{None}."""
        for item in self.attributes.get(name, ()):
            if item is not None:
                return item
        return None

    def value(self, name: str, default: object = None) -> object:
        """The Python value of the first live instance of attribute C{name}, or C{default}."""
        item = self.first(name)
        return item.value if item is not None else default

    def live(self, name: str) -> list[Item]:
        """The live instances of attribute C{name}, in index order (holes skipped)."""
        return [item for item in self.attributes.get(name, ()) if item is not None]

    def instances(self, name: str) -> list[tuple[int, Item]]:
        """C{(Attribute Index, value)} for each live instance of attribute C{name}."""
        return [(i, item) for i, item in enumerate(self.attributes.get(name, ())) if item is not None]

    def set_single(self, name: str, item: Item) -> None:
        """Replace every instance of attribute C{name} with C{item}."""
        self.attributes[name] = [item]

    def add_instance(self, name: str, item: Item) -> int:
        """Append a new instance of attribute C{name}; return its Attribute Index."""
        values = self.attributes.setdefault(name, [])
        values.append(item)
        return len(values) - 1

    def delete_instance(self, name: str, index: int) -> Item:
        """Remove the instance at C{index}, keeping every other index; return it.

        @raise KeyError: there is no live instance at C{index}.
        """
        values = self.attributes.get(name, [])
        removed = values[index] if 0 <= index < len(values) else None
        if removed is None:
            raise KeyError(index)
        values[index] = None
        while values and values[-1] is None:
            values.pop()
        if not values:
            del self.attributes[name]
        return removed

    @property
    def state(self) -> int | None:
        return self.value("State")  # type: ignore[return-value]

    @property
    def policy_name(self) -> str | None:
        return self.value("Operation Policy Name")  # type: ignore[return-value]
