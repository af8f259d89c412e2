# -*- test-case-name: tests.store.test_keyring -*-
"""The master-key ring: which master key sealed each row, and which one seals new rows.

Every sealed row records the identifier of the master key that sealed it (C{kmipd_objects.key_id},
L{key_id}: a fingerprint that reveals nothing of the key). The database keeps the ring:

  - C{kmipd_master_keys}: one row per key ever used, with its state: C{current} (seals new rows;
    exactly one), C{previous} (a rotation is re-sealing its rows) or C{retired} (no row uses it);
  - C{kmipd_master_key_wraps}: keys sealed under other keys. A server starts from its key file
    and unwraps every key it can reach, so a rotation publishes the new key (wrapped under the
    old one) to every running server through the database, and every older key stays reachable
    (wrapped under the current one) for rows not re-sealed yet and for stragglers.

A server refuses to start with a key file the database does not know (L{RingError}); it re-reads
the ring every L{REFRESH_INTERVAL} seconds before writing, and at once when it meets a row sealed
under a key it has not seen.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .engine import _db_errors, create_store_engine, safe_url
from .interface import StoreError
from .masterkey import MasterKeyError, seal, unseal
from .models import master_key_wraps_table, master_keys_table, objects_table

__all__ = ["CURRENT", "PREVIOUS", "REFRESH_INTERVAL", "RETIRED", "KeyRing", "RingError", "key_id"]

CURRENT, PREVIOUS, RETIRED = "current", "previous", "retired"
#: Seconds a server may seal under a key after a rotation made another key current.
REFRESH_INTERVAL = 1.0

_k, _w = master_keys_table, master_key_wraps_table


class RingError(StoreError):
    """The key file does not fit the database (unknown, retired, or cannot reach the current key)."""


def key_id(key: bytes) -> str:
    """The identifier recorded for C{key}: 16 hex digits of a SHA-256 fingerprint."""
    return hashlib.sha256(b"kmipd master key id\0" + bytes(key)).hexdigest()[:16]


def _wrap_aad(kid: str, wrapping: str) -> bytes:
    return f"kmipd master key {kid} under {wrapping}".encode()


def wrap_row(key: bytes, under: bytes) -> dict[str, Any]:
    """A C{kmipd_master_key_wraps} row holding C{key} sealed under C{under}."""
    kid, wid = key_id(key), key_id(under)
    return {"key_id": kid, "wrapping_key_id": wid, "wrapped": seal(under, key, _wrap_aad(kid, wid))}


class KeyRing:
    """The keys a process holds (from its key files and the database) and the current key id.

    Thread-safe: L{seal}/L{unseal} run on database threads while L{refresh} replaces the ring.
    """

    def __init__(self, file_keys: list[bytes], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._file_keys = [bytes(k) for k in file_keys]
        self.keys: dict[str, bytes] = {key_id(k): bytes(k) for k in file_keys}
        self.states: dict[str, str] = {}
        self.current: str | None = None
        self._clock = clock
        self._loaded = float("-inf")
        self._lock = threading.Lock()

    @property
    def file_ids(self) -> list[str]:
        """The identifiers of the keys read from files."""
        return [key_id(k) for k in self._file_keys]

    def load(self, conn: Connection) -> None:
        """Read the ring from the database: states, and every key reachable from the file keys."""
        states = {r.key_id: r.state for r in conn.execute(sa.select(_k.c.key_id, _k.c.state))}
        wraps = conn.execute(sa.select(_w.c.key_id, _w.c.wrapping_key_id, _w.c.wrapped)).all()
        keys = dict(self.keys)  # keys learnt before stay known (a finished rotation prunes wraps)
        keys.update({key_id(k): k for k in self._file_keys})
        grew = True
        while grew:
            grew = False
            for kid, wid, blob in wraps:
                if kid not in keys and wid in keys:
                    try:
                        keys[kid] = unseal(keys[wid], blob, _wrap_aad(kid, wid))
                    except MasterKeyError as e:
                        raise RingError(f"master key {kid} (wrapped under {wid}) does not open: {e}") from None
                    grew = True
        current = [kid for kid, state in states.items() if state == CURRENT]
        with self._lock:
            self.keys, self.states = keys, states
            self.current = current[0] if len(current) == 1 else None
            self._loaded = self._clock()

    def refresh_if_stale(self, conn: Connection) -> None:
        """Re-read the ring when the last read is older than L{REFRESH_INTERVAL} (one thread does)."""
        now = self._clock()
        with self._lock:
            if now - self._loaded < REFRESH_INTERVAL:
                return
            self._loaded = now  # claimed: other threads keep using the ring they have
        self.load(conn)

    def sealing_key(self) -> tuple[str, bytes]:
        """The current key's id and bytes (a L{RingError} if this process cannot reach it)."""
        kid = self.current
        key = self.keys.get(kid) if kid is not None else None
        if kid is None or key is None:
            raise RingError(f"the current master key {kid or '(none)'} is not reachable from this "
                            "server's key file; install the current key file")
        return kid, key

    def seal(self, plaintext: bytes, aad: bytes) -> tuple[str, bytes]:
        """Seal under the current key: (key id, blob)."""
        kid, key = self.sealing_key()
        return kid, seal(key, plaintext, aad)

    def unseal(self, kid: str | None, blob: bytes, aad: bytes, what: str,
               reload: Callable[[], None] | None = None) -> bytes:
        """Open C{blob} sealed under key C{kid}; C{reload} is tried once for an unknown key.

        @param what: names the object in errors.
        @raise StoreError: the key is unknown, or the material does not open under it.
        """
        key = self.keys.get(kid) if kid is not None else None
        if key is None and kid is not None and reload is not None:
            reload()
            key = self.keys.get(kid)
        if kid is None:  # written before the ring existed: try every key
            for candidate in list(self.keys.values()):
                try:
                    return unseal(candidate, blob, aad)
                except MasterKeyError:
                    continue
            raise StoreError(f"cannot open the material of {what}: it opens under no known master key")
        if key is None:
            raise StoreError(f"cannot open the material of {what}: it is sealed under master key {kid}, "
                             "which this server's key file does not reach")
        try:
            return unseal(key, blob, aad)
        except MasterKeyError as e:
            raise StoreError(f"cannot open the material of {what} (master key {kid}): {e}") from None


def open_ring(conn: Connection, key: bytes, where: str, key_path: str = "the master key file") -> KeyRing:
    """The ring for a server with key file C{key}, adopting C{key} into an empty ring.

    An empty ring (a new database, or one made before rings existed) gets C{key} as its current
    key, after checking that it opens the first sealed row (so a wrong key file is refused, not
    adopted). Call inside a transaction.

    @raise RingError: the database does not know C{key}, or it cannot reach the current key.
    """
    ring = KeyRing([key])
    kid = key_id(key)
    ring.load(conn)
    if not ring.states:
        _adopt(conn, key, where, key_path)
        ring.load(conn)
    if kid not in ring.states:
        raise RingError(
            f"the master key in {key_path} (id {kid}) is unknown to the {where}, whose current master key is "
            f"{ring.current}: use the key file this database was sealed with (after a rotation, the key "
            "file kmipd-admin rotate-master-key installed)"
        )
    if ring.current is None or ring.current not in ring.keys:
        state = ring.states.get(kid)
        raise RingError(
            f"the master key in {key_path} (id {kid}) is {state} in the {where}; its current master key "
            f"{ring.current} is not reachable from it: install the current key file"
        )
    return ring


def _adopt(conn: Connection, key: bytes, where: str, key_path: str) -> None:
    o = objects_table
    row = conn.execute(sa.select(o.c.uid, o.c.material).where(o.c.material.is_not(None))
                       .order_by(o.c.id).limit(1)).first()
    if row is not None:
        try:
            unseal(key, row.material, row.uid.encode("utf-8"))
        except MasterKeyError:
            raise RingError(
                f"the master key in {key_path} (id {key_id(key)}) does not open object {row.uid} of the {where}: "
                "wrong key file?"
            ) from None
    kid = key_id(key)
    # Two servers adopting at the same moment: one INSERT fails (IntegrityError); the caller
    # retries in a new transaction and finds the ring.
    conn.execute(_k.insert().values(key_id=kid, state=CURRENT, created=int(time.time())))
    currents = conn.execute(sa.select(sa.func.count()).where(_k.c.state == CURRENT)).scalar()
    if currents != 1:  # another server adopted a different key at the same moment: roll back
        raise RingError(f"another server initialised the {where} with a different master key at the same "
                        f"time as {key_path}; check which key file is right and start again")
    conn.execute(sa.update(o).where(o.c.key_id.is_(None), o.c.material.is_not(None)).values(key_id=kid))


def refuse_missing_key_file(url: str, key_path: str) -> None:
    """Raise L{RingError} when C{key_path} is missing but the database at C{url} has a key ring.

    Called before a missing key file would be generated: a new key cannot open anything sealed
    already, and generating it would leave a useless key file behind.
    """

    engine = create_store_engine(url, pool_size=1)
    try:
        with _db_errors(f"reading the master-key ring of {safe_url(url)}"), engine.connect() as conn:
            if not sa.inspect(conn).has_table(_k.name):
                return
            known = conn.execute(sa.select(_k.c.key_id, _k.c.state)).all()
    finally:
        engine.dispose()
    if known:
        current = [kid for kid, state in known if state == CURRENT]
        raise RingError(
            f"master key file {key_path} is missing, but the database at {safe_url(url)} holds objects sealed "
            f"under master key {', '.join(current) or known[0][0]}: restore that key file (a new key would "
            "open nothing)"
        )
