"""Storage: the L{ObjectStore} seam, its SQL implementation and its in-memory twin."""

from .deadlines import DatabaseDeadlines
from .interface import (
    AttributeFilter,
    Candidate,
    ConcurrentUpdateError,
    DatabaseBusy,
    DatabaseUnavailable,
    LocateQuery,
    ObjectStore,
    RangeFilter,
    SchemaError,
    StoreError,
    StoreTransaction,
)
from .keyring import RingError
from .masterkey import (
    MasterKeyError,
    load_master_key,
    load_or_create_master_key,
)
from .memory import MemoryObjectStore
from .rotation import rotate_master_key
from .sql import SQLObjectStore

__all__ = [
    "AttributeFilter",
    "Candidate",
    "ConcurrentUpdateError",
    "DatabaseBusy",
    "DatabaseDeadlines",
    "DatabaseUnavailable",
    "LocateQuery",
    "MasterKeyError",
    "MemoryObjectStore",
    "ObjectStore",
    "RangeFilter",
    "RingError",
    "SQLObjectStore",
    "SchemaError",
    "StoreError",
    "StoreTransaction",
    "load_master_key",
    "load_or_create_master_key",
    "rotate_master_key",
]
