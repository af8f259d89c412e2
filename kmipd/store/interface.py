# -*- test-case-name: tests.store.test_contract -*-
"""The storage seam: what operation handlers may ask of a store.

Everything here is synchronous and blocking; the service runs it in the database thread pool.
One L{StoreTransaction} spans one KMIP request message (all its batch items), so a batch with
Batch Error Continuation Option Undo rolls back whole; L{StoreTransaction.savepoint} isolates
one batch item so a failed item leaves nothing half-written.
"""

from __future__ import annotations

from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import StoreBusy, StoreUnavailable
from ..model.objects import ManagedObject
from ..ttlv import Item


class StoreError(Exception):
    """A storage failure (database unreachable, constraint violated, schema mismatch)."""


class ConcurrentUpdateError(StoreError):
    """Another transaction changed the object between read and save (optimistic check failed)."""


class DatabaseUnavailable(StoreError, StoreUnavailable):
    """The database is unreachable or did not answer within its deadline; retry later.

    Also a L{kmipd.errors.StoreUnavailable} (a L{kmipd.errors.KmipError}, General Failure), so a
    request that meets it is answered with an error result, never a traceback.
    """

    def __init__(self, detail: str) -> None:
        StoreUnavailable.__init__(self, "storage temporarily unavailable; retry")
        #: What failed, for the log (never sent to clients).
        self.detail = detail

    def __str__(self) -> str:
        return f"storage temporarily unavailable ({self.detail}); retry"


class DatabaseBusy(StoreError, StoreBusy):
    """SQLite's write lock was held by another connection past C{db_lock_timeout} ("database is
    locked"): lock contention, not an outage (L{kmipd.store.deadlines.sqlite_busy})."""


class SchemaError(StoreError):
    """The database schema is missing, older or newer than this kmipd; run the upgrade command."""


@dataclass
class AttributeFilter:
    """Match objects having an instance of attribute C{name}.

    C{value} None: the attribute is present. Otherwise equality of the value L{Item} (for
    structures, the whole structure; compared on the canonical TTLV encoding with the tag
    normalised). C{mask}: for Integer masks, every bit of the filter value must be set.
    """

    name: str
    value: Item | None = None
    mask: bool = False


@dataclass
class RangeFilter:
    """Match objects whose (date or integer) attribute C{name} lies in [low, high] (either may be None)."""

    name: str
    low: int | None = None
    high: int | None = None


@dataclass
class LocateQuery:
    """A Locate request in storage terms; results are newest first (highest sequence first)."""

    object_types: tuple[int, ...] = ()
    states: tuple[int, ...] = ()
    attributes: list[AttributeFilter] = field(default_factory=list)
    ranges: list[RangeFilter] = field(default_factory=list)
    include_archived: bool = False
    include_online: bool = True
    include_destroyed: bool = True


@dataclass(frozen=True)
class Candidate:
    """A Locate result row: enough to apply the operation policy without loading the object."""

    uid: str
    object_type: int
    owner: str | None
    policy_name: str | None


class StoreTransaction(Protocol):
    """One database transaction (see module docstring)."""

    def new_uid(self) -> str: ...
    def add(self, obj: ManagedObject) -> None: ...
    def get(self, uid: str, *, for_update: bool = False) -> ManagedObject | None: ...
    def save(self, obj: ManagedObject) -> None: ...
    def save_attributes(self, obj: ManagedObject, names: tuple[str, ...]) -> None:
        """Like C{save} when only the attributes C{names} changed (a store may write just those)."""
        ...
    def remove(self, uid: str) -> None: ...
    def locate(self, query: LocateQuery) -> list[Candidate]: ...
    def savepoint(self) -> ContextManager[None]: ...
    def set_archived(self, uid: str, archived: bool) -> None: ...
    def is_archived(self, uid: str) -> bool: ...


class ObjectStore(Protocol):
    """A store of managed objects.

    @ivar serialises_writers: whether write transactions run one at a time anyway and the work is
        local (SQLite, the memory store): the dispatcher then commits the messages that arrive
        meanwhile in groups (L{kmipd.dispatch.Scheduling}); C{False} for a database that runs
        concurrent writers (PostgreSQL, MariaDB). A store without the attribute counts as C{False}.
    """

    serialises_writers: bool

    def transaction(self) -> ContextManager[StoreTransaction]: ...
    def close(self) -> None: ...
