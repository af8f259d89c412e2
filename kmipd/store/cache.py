# -*- test-case-name: tests.store.test_contract -*-
"""The SQL store's object cache: decoded attributes of recently read objects."""

from __future__ import annotations

import threading

from ..ttlv import Item
from .frozen import shared_attributes

__all__ = ["ObjectCache"]


class ObjectCache:
    """Decoded attributes of recently read objects, filed under (row id, revision).

    Only transactions that have written nothing read or fill it, and an entry is used only when
    the object row (read in every C{get}) still has the id and revision it was filed under, so a
    hit returns exactly what the database holds. Bounded: the oldest entries go first.

    No deep copies: entries hold frozen items (L{kmipd.store.frozen}) and every reader gets its
    own mapping and lists holding those items, so replacing, adding or deleting instances never
    reaches the cache and changing a cached item in place raises.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[str, tuple[int, int, dict[str, list[Item | None]]]] = {}
        self._lock = threading.Lock()

    def get(self, uid: str, object_id: int, revision: int) -> dict[str, list[Item | None]] | None:
        entry = self._entries.get(uid)
        if entry is None or entry[0] != object_id or entry[1] != revision:
            return None
        return shared_attributes(entry[2])

    def put(self, uid: str, object_id: int, revision: int, attributes: dict[str, list[Item | None]]) -> None:
        """File C{attributes} (frozen items, see L{frozen}) under (C{object_id}, C{revision})."""
        if self.size <= 0:
            return
        own = shared_attributes(attributes)
        with self._lock:
            entries = self._entries
            entries.pop(uid, None)
            while len(entries) >= self.size:
                del entries[next(iter(entries))]
            entries[uid] = (object_id, revision, own)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
