# -*- test-case-name: tests.store.test_contract -*-
"""MemoryObjectStore: the L{ObjectStore} contract in a dict, for tests and embedding.

Each transaction works on a private overlay of the committed objects (so uncommitted writes are
invisible to other transactions) and applies it at commit under a lock. Objects are copied on
the way in and out (their own attribute lists, shared read-only items: L{kmipd.store.frozen}),
so callers can never mutate stored state. The optimistic revision check
is made at C{save()} against the committed state and again at commit: a transaction that loses
a race raises L{ConcurrentUpdateError} from C{save()} or from leaving the C{with} block.
Locate semantics (match keys, the partial Name filter, masks, ranges, storage status) are the
same functions the SQL store indexes by.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from ..model.objects import ManagedObject
from ..ttlv import Item
from .frozen import frozen_attributes
from .interface import (
    AttributeFilter,
    Candidate,
    ConcurrentUpdateError,
    LocateQuery,
    RangeFilter,
    StoreError,
)
from .models import int_value, is_partial_name, match_key, name_value_key

__all__ = ["MemoryObjectStore", "copy_object"]

_DESTROYED_STATES = (5, 6)
_REMOVED = None


def copy_object(obj: ManagedObject) -> ManagedObject:
    """A copy of C{obj} for storing or handing out: its own attribute mapping and lists holding
    frozen items (L{kmipd.store.frozen}: shared, never changed in place) and its own material."""
    return ManagedObject(
        uid=obj.uid,
        object_type=obj.object_type,
        owner=obj.owner,
        attributes=frozen_attributes(obj.attributes),
        material=obj.material.copy() if obj.material is not None else None,
        created=obj.created,
        sequence=obj.sequence,
        revision=obj.revision,
    )


class _Entry:
    __slots__ = ("archived", "obj")

    def __init__(self, obj: ManagedObject, archived: bool) -> None:
        self.obj = obj
        self.archived = archived


class _MemoryTransaction:
    """One transaction on a L{MemoryObjectStore}."""

    def __init__(self, store: MemoryObjectStore) -> None:
        self._store = store
        self._writes: dict[str, _Entry | None] = {}
        # uid -> committed revision this transaction based its write on (None: added here)
        self._based_on: dict[str, int | None] = {}

    def _current(self, uid: str) -> _Entry | None:
        if uid in self._writes:
            return self._writes[uid]
        return self._store._objects.get(uid)

    def _note_base(self, uid: str) -> None:
        if uid not in self._based_on:
            committed = self._store._objects.get(uid)
            self._based_on[uid] = committed.obj.revision if committed is not None else None

    def new_uid(self) -> str:
        """A fresh Unique Identifier (a uuid4 string)."""
        return str(uuid.uuid4())

    def add(self, obj: ManagedObject) -> None:
        """Insert C{obj}; sets C{obj.sequence} and C{obj.revision} (1)."""
        if not obj.uid:
            raise StoreError("cannot add an object without a unique identifier")
        with self._store._lock:
            if self._current(obj.uid) is not None:
                raise StoreError(f"an object with unique identifier {obj.uid!r} already exists")
            self._note_base(obj.uid)
            obj.sequence = next(self._store._sequence)
        obj.revision = 1
        self._writes[obj.uid] = _Entry(copy_object(obj), False)

    def get(self, uid: str, *, for_update: bool = False) -> ManagedObject | None:
        """A fresh copy of C{uid}, or C{None} (C{for_update} is accepted and ignored)."""
        with self._store._lock:
            entry = self._current(uid)
            if entry is None:
                return None
            obj = copy_object(entry.obj)
            obj.archived = entry.archived
            return obj

    def save(self, obj: ManagedObject) -> None:
        """Write back C{obj}; bumps C{obj.revision}; L{ConcurrentUpdateError} if it moved."""
        with self._store._lock:
            entry = self._current(obj.uid)
            if entry is None:
                raise StoreError(f"no object with unique identifier {obj.uid!r} to save")
            if entry.obj.revision != obj.revision:
                raise ConcurrentUpdateError(
                    f"object {obj.uid} changed since revision {obj.revision} was read; retry"
                )
            self._note_base(obj.uid)
            committed = self._store._objects.get(obj.uid)
            base = self._based_on[obj.uid]
            if committed is not None and base is not None and committed.obj.revision != base:
                raise ConcurrentUpdateError(f"object {obj.uid} was changed by another transaction; retry")
        stored = copy_object(obj)
        stored.sequence = entry.obj.sequence
        stored.revision = obj.revision + 1
        self._writes[obj.uid] = _Entry(stored, entry.archived)
        obj.revision += 1
        obj.sequence = stored.sequence

    def save_attributes(self, obj: ManagedObject, names: tuple[str, ...]) -> None:
        """Write back C{obj} after a change of the attributes C{names} (here: the whole object)."""
        self.save(obj)

    def remove(self, uid: str) -> None:
        """Delete C{uid}; L{StoreError} if there is no such object."""
        with self._store._lock:
            if self._current(uid) is None:
                raise StoreError(f"no object with unique identifier {uid!r} to remove")
            self._note_base(uid)
        self._writes[uid] = _REMOVED

    def set_archived(self, uid: str, archived: bool) -> None:
        """Mark C{uid} archived (or back on-line); does not change its revision."""
        with self._store._lock:
            entry = self._current(uid)
            if entry is None:
                raise StoreError(f"no object with unique identifier {uid!r}")
            self._note_base(uid)
        self._writes[uid] = _Entry(entry.obj, bool(archived))

    def is_archived(self, uid: str) -> bool:
        """Whether C{uid} is archived."""
        with self._store._lock:
            entry = self._current(uid)
        if entry is None:
            raise StoreError(f"no object with unique identifier {uid!r}")
        return entry.archived

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo this transaction's writes made inside the block if it raises."""
        writes = dict(self._writes)
        based_on = dict(self._based_on)
        try:
            yield
        except BaseException:
            self._writes = writes
            self._based_on = based_on
            raise

    def locate(self, query: LocateQuery) -> list[Candidate]:
        """Objects matching every criterion of C{query}, newest (highest sequence) first."""
        for f in query.attributes:
            if f.mask and f.value is not None and (
                not isinstance(f.value.value, int) or isinstance(f.value.value, bool)
            ):
                raise StoreError(f"mask filter on {f.name!r} needs an integer value")
        with self._store._lock:
            merged: dict[str, _Entry | None] = dict(self._store._objects)
            merged.update(self._writes)
        found = [e for e in merged.values() if e is not None and _matches(e, query)]
        found.sort(key=lambda e: e.obj.sequence, reverse=True)
        return [Candidate(e.obj.uid, e.obj.object_type, e.obj.owner, _str_or_none(e.obj.policy_name)) for e in found]

    # -- commit ------------------------------------------------------------------
    def _commit(self) -> None:
        objects = self._store._objects
        for uid, base in self._based_on.items():
            committed = objects.get(uid)
            now = committed.obj.revision if committed is not None else None
            if now != base:
                raise ConcurrentUpdateError(f"object {uid} was changed by another transaction; retry")
        for uid, entry in self._writes.items():
            if entry is None:
                objects.pop(uid, None)
            else:
                objects[uid] = entry


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _attribute_matches(f: AttributeFilter, values: list[Item]) -> bool:
    if f.value is None:
        return bool(values)
    if f.mask:
        mask = int(f.value.value)
        return any((v := int_value(item)) is not None and (v & mask) == mask for item in values)
    if f.name == "Name" and is_partial_name(f.value):
        key = name_value_key(f.value)
        return any(name_value_key(item) == key for item in values)
    key = match_key(f.value)
    return any(match_key(item) == key for item in values)


def _range_matches(r: RangeFilter, values: list[Item]) -> bool:
    for item in values:
        v = int_value(item)
        if v is None:
            continue
        if (r.low is None or v >= r.low) and (r.high is None or v <= r.high):
            return True
    return False


def _matches(entry: _Entry, query: LocateQuery) -> bool:
    obj = entry.obj
    if query.object_types and obj.object_type not in query.object_types:
        return False
    state = obj.state
    if query.states and state not in query.states:
        return False
    if entry.archived:
        if not query.include_archived:
            return False
    elif state in _DESTROYED_STATES:
        if not query.include_destroyed:
            return False
    elif not query.include_online:
        return False
    for f in query.attributes:
        if not _attribute_matches(f, obj.live(f.name)):
            return False
    for r in query.ranges:
        if not _range_matches(r, obj.live(r.name)):
            return False
    return True


class MemoryObjectStore:
    """An in-memory L{ObjectStore} (see the module docstring); thread-safe."""

    #: Work under the GIL and one commit lock: grouped like SQLite (L{ObjectStore.serialises_writers}).
    serialises_writers = True

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objects: dict[str, _Entry] = {}
        self._sequence = itertools.count(1)

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        """One transaction: applied on normal exit, discarded on exception."""
        tx = _MemoryTransaction(self)
        yield tx
        with self._lock:
            tx._commit()

    def close(self) -> None:
        """Nothing to release."""
