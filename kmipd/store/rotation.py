# -*- test-case-name: tests.store.test_keyring -*-
"""Online master-key rotation (C{kmipd-admin rotate-master-key}).

Servers may keep running and writing throughout; the ring (L{kmipd.store.keyring}) is what
makes that safe:

  1. B{Publish}: the new key becomes C{current} in the ring, wrapped under the old key (so
     running servers, which hold the old key, learn it within L{REFRESH_INTERVAL} and seal new
     rows under it), and every older key is wrapped under the new key (so a server started with
     the new key file opens every row not re-sealed yet). The old key becomes C{previous}.
  2. B{Re-seal}: rows not under the new key are opened and sealed again under it, C{batch_size}
     rows per transaction, each update conditional on the row still holding what was read (a
     concurrent server write is never overwritten; the row is taken again in the next pass).
     Passes repeat until one finds nothing, at least C{settle} seconds after publishing (every
     running server has switched keys by then).
  3. B{Swap files}: the old key file is kept as C{<key_path>.old.N}, the new one is renamed over
     C{key_path}.
  4. B{Finish}: C{previous} keys become C{retired}; wraps other than those under the new key
     (and the new key under the old one, for servers not restarted yet) are deleted.

Every step is idempotent: after a crash, running the command again resumes where it stopped
(the new key waits in C{<key_path>.new} until step 3). A row that does not open names its object.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kmipd.log import Logger

from .engine import _db_errors, create_store_engine, safe_url
from .keyring import CURRENT, PREVIOUS, REFRESH_INTERVAL, RETIRED, KeyRing, key_id, open_ring, wrap_row
from .masterkey import (
    MASTER_KEY_SIZE,
    MasterKeyError,
    _fsync_dir,
    load_master_key,
    seal,
    write_key_file,
)
from .models import master_key_wraps_table, master_keys_table, objects_table

__all__ = ["RotationResult", "rotate_master_key"]

_log = Logger()
_k, _w, _o = master_keys_table, master_key_wraps_table, objects_table


@dataclass(frozen=True)
class RotationResult:
    """What L{rotate_master_key} did."""

    rows: int
    reencrypted: int
    new_key_id: str
    old_key_path: str | None


def rotate_master_key(
    url: str,
    key_path: str,
    new_key_path: str | None = None,
    *,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
    after_batch: Callable[[], None] | None = None,
    settle: float = 2 * REFRESH_INTERVAL,
) -> RotationResult:
    """Rotate the master key of the database at C{url} online (see the module docstring).

    @param new_key_path: the new key file (default: C{<key_path>.new}, generated when absent).
    @param progress: called after each batch with (rows re-sealed so far, rows to re-seal).
    @param after_batch: called after each committed batch (tests simulate a crash here).
    @raise MasterKeyError: bad key files. @raise StoreError: the database, or a row that does not
        open (named).
    """

    where = f"database at {safe_url(url)}"
    file_key = load_master_key(key_path)
    pending = new_key_path or key_path + ".new"
    engine = create_store_engine(url, pool_size=1)
    try:
        with _db_errors(f"reading the master-key ring of the {where}"), engine.begin() as conn:
            ring = open_ring(conn, file_key, where, key_path)
        finishing = ring.current == key_id(file_key) and PREVIOUS in ring.states.values()
        new_key = None
        if not finishing:
            if not os.path.exists(pending):
                if new_key_path is not None:
                    load_master_key(new_key_path)  # raises, naming the file
                write_key_file(pending, secrets.token_bytes(MASTER_KEY_SIZE))
            new_key = load_master_key(pending)
            if key_id(new_key) == key_id(file_key):
                raise MasterKeyError("the new master key is the same as the current one")
            ring = KeyRing([file_key, new_key])
            with _db_errors(f"publishing the new master key in the {where}"), engine.begin() as conn:
                _publish(conn, ring, file_key, new_key)
        nid = ring.current or key_id(file_key)
        with _db_errors(f"re-sealing the {where}"):
            rows, resealed = _reseal(engine, ring, nid, batch_size, progress, after_batch, settle)
        backup = _swap_files(key_path, pending) if new_key is not None else None
        with _db_errors(f"retiring old master keys in the {where}"), engine.begin() as conn:
            _finish(conn, nid)
    finally:
        engine.dispose()
    _log.info("Master key rotated to {kid}: {rows} rows, {n} re-sealed", kid=nid, rows=rows, n=resealed)
    return RotationResult(rows, resealed, nid, backup)


def _publish(conn: sa.Connection, ring: KeyRing, old: bytes, new: bytes) -> None:
    """Make C{new} current (idempotent), reachable from C{old} and reaching every older key."""
    ring.load(conn)
    nid, oid = key_id(new), key_id(old)
    state = ring.states.get(nid)
    if state not in (None, CURRENT):
        raise MasterKeyError(f"the new master key {nid} was used before ({state}); use a fresh key")
    if state is None:
        conn.execute(sa.update(_k).where(_k.c.state == CURRENT).values(state=PREVIOUS))
        conn.execute(_k.insert().values(key_id=nid, state=CURRENT, created=int(time.time())))
    have = {(r.key_id, r.wrapping_key_id) for r in conn.execute(sa.select(_w.c.key_id, _w.c.wrapping_key_id))}
    wanted = [(new, old)] + [(k, new) for kid, k in ring.keys.items() if kid != nid and kid in ring.states]
    for key, under in wanted:
        if (key_id(key), key_id(under)) not in have:
            conn.execute(_w.insert().values(**wrap_row(key, under)))
    ring.load(conn)
    _log.info("Master key {nid} is current (was {oid}); running servers switch within {s} s",
              nid=nid, oid=oid, s=REFRESH_INTERVAL)


def _reseal(engine: Engine, ring: KeyRing, nid: str, batch_size: int,
            progress: Callable[[int, int], None] | None, after_batch: Callable[[], None] | None,
            settle: float) -> tuple[int, int]:
    """Re-seal every row not under C{nid}, in passes, until a pass after C{settle} finds none."""
    new_key = ring.keys[nid]
    started = time.monotonic()
    pending = sa.and_(_o.c.material.is_not(None), sa.or_(_o.c.key_id.is_(None), _o.c.key_id != nid))
    rows = resealed = 0
    while True:
        with engine.connect() as conn:
            total = resealed + int(conn.execute(sa.select(sa.func.count()).where(pending)).scalar() or 0)
        last_id, found = 0, 0
        while True:
            stmt = (sa.select(_o.c.id, _o.c.uid, _o.c.key_id, _o.c.material)
                    .where(pending, _o.c.id > last_id).order_by(_o.c.id).limit(batch_size))
            with engine.begin() as conn:
                if conn.dialect.name != "sqlite":
                    stmt = stmt.with_for_update()
                batch = conn.execute(stmt).all()
                def reload(c: sa.Connection = conn) -> None:
                    ring.load(c)

                for row in batch:
                    aad = row.uid.encode("utf-8")
                    plain = ring.unseal(row.key_id, row.material, aad, f"object {row.uid}", reload=reload)
                    result = conn.execute(sa.update(_o).where(_o.c.id == row.id, _o.c.material == row.material)
                                          .values(material=seal(new_key, plain, aad), key_id=nid))
                    resealed += result.rowcount
            if not batch:
                break
            found += len(batch)
            rows += len(batch)
            last_id = batch[-1].id
            if progress is not None:
                progress(resealed, max(total, resealed))
            if after_batch is not None:
                after_batch()
        if found == 0 and time.monotonic() - started >= settle:
            return rows, resealed
        if found == 0:
            time.sleep(min(0.2, settle))


def _swap_files(key_path: str, pending: str) -> str:
    """Keep the old key file as C{<key_path>.old.N}; rename C{pending} over C{key_path}."""
    n = 1
    while os.path.exists(f"{key_path}.old.{n}"):
        n += 1
    backup = f"{key_path}.old.{n}"
    os.link(key_path, backup)
    os.replace(pending, key_path)
    _fsync_dir(os.path.dirname(os.path.abspath(key_path)))
    return backup


def _finish(conn: sa.Connection, nid: str) -> None:
    """Retire every key but C{nid}; keep only the wraps under C{nid} and those of C{nid} under the
    keys retired now (servers still running with the old key file find the new key there)."""
    previous = [r.key_id for r in conn.execute(sa.select(_k.c.key_id).where(_k.c.state == PREVIOUS))]
    keep = sa.and_(_w.c.key_id == nid, _w.c.wrapping_key_id.in_(previous)) if previous else sa.false()
    conn.execute(sa.delete(_w).where(_w.c.wrapping_key_id != nid, sa.not_(keep)))
    conn.execute(sa.update(_k).where(_k.c.key_id != nid, _k.c.state != RETIRED).values(state=RETIRED))
