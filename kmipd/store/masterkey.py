# -*- test-case-name: tests.store.test_sql -*-
"""The master key: the 32-byte AES-256 key that seals object material at rest.

The key lives in a file of exactly 32 raw bytes, mode 0600. L{seal}/L{unseal} are the envelope
used by the store (L{kmipd.crypto.wrapping}'s AES-256-GCM envelope, the uid as associated
data). L{rotate_master_key} re-encrypts a database under a new key.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass

from kmipd.log import Logger

from ..crypto import wrapping as _wrapping
from ..crypto.errors import CryptographicFailure, InvalidField

__all__ = [
    "MASTER_KEY_SIZE",
    "MasterKeyError",
    "RotationResult",
    "load_master_key",
    "load_or_create_master_key",
    "rotate_master_key",
    "seal",
    "unseal",
    "write_key_file",
]

_log = Logger()

MASTER_KEY_SIZE = 32


class MasterKeyError(Exception):
    """The master key file is unreadable, has the wrong size, or does not open the data."""


def seal(master_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt C{plaintext} under C{master_key}, binding C{aad} (the object's uid).

    The envelope is L{kmipd.crypto.wrapping.seal} (AES-256-GCM, version || nonce || ct || tag).
    """
    _check_key(master_key)
    return _wrapping.seal(bytes(master_key), plaintext, aad)


def unseal(master_key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a L{seal} blob; raise L{MasterKeyError} when it does not authenticate."""
    _check_key(master_key)
    try:
        return _wrapping.unseal(bytes(master_key), bytes(blob), aad)
    except (CryptographicFailure, InvalidField) as e:
        raise MasterKeyError(f"sealed material does not open under this master key: {e}") from None


def _check_key(key: bytes) -> None:
    if not isinstance(key, (bytes, bytearray)) or len(key) != MASTER_KEY_SIZE:
        raise MasterKeyError(f"the master key must be {MASTER_KEY_SIZE} bytes")


def load_master_key(path: str) -> bytes:
    """Read an existing master key file; L{MasterKeyError} if missing or not 32 bytes."""
    try:
        with open(path, "rb") as f:
            data = f.read(MASTER_KEY_SIZE + 1)
    except OSError as e:
        raise MasterKeyError(f"cannot read master key file {path}: {e.strerror or e}") from None
    if len(data) != MASTER_KEY_SIZE:
        raise MasterKeyError(
            f"master key file {path} holds {len(data)}{'+' if len(data) > MASTER_KEY_SIZE else ''}"
            f" bytes; it must hold exactly {MASTER_KEY_SIZE} raw bytes"
        )
    return data


def write_key_file(path: str, key: bytes) -> None:
    """Write C{key} to C{path} atomically with mode 0600 (fails if C{path} exists)."""
    _check_key(key)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".masterkey-", dir=directory)  # created 0600
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, key)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.link(tmp, path)  # atomic, and refuses to replace an existing key
    except FileExistsError:
        raise MasterKeyError(f"refusing to overwrite existing key file {path}") from None
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(tmp)
    _fsync_dir(directory)


def _fsync_dir(directory: str) -> None:
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platform without directory fds
        return
    try:
        os.fsync(dfd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dfd)


def load_or_create_master_key(path: str) -> bytes:
    """The master key at C{path}; created (32 random bytes, 0600, atomically) when absent."""
    if not os.path.exists(path):
        try:
            write_key_file(path, secrets.token_bytes(MASTER_KEY_SIZE))
            _log.info("Created a new master key file {path}", path=path)
        except MasterKeyError:
            pass  # another process created it first: read theirs
    return load_master_key(path)


@dataclass(frozen=True)
class RotationResult:
    """What L{rotate_master_key} did."""

    rows: int
    reencrypted: int
    already_new: int
    old_key_path: str


def rotate_master_key(
    url: str,
    key_path: str,
    new_key_path: str | None = None,
    *,
    batch_size: int = 500,
) -> RotationResult:
    """Re-encrypt every object's material under a new master key, then swap the key files.

    Procedure (stop every kmipd using the database first; a running server keeps sealing with
    the old key):

      1. The new key is read from C{new_key_path}, or generated into C{<key_path>.new} (0600,
         atomically) when that file does not exist yet.
      2. Rows are walked in C{id} order, C{batch_size} at a time, one transaction per batch:
         each sealed material is opened with the old key and sealed again with the new one
         (same uid as associated data). A row that already opens under the new key is left as
         it is, so an interrupted rotation is finished by running the same command again.
         A row that opens under neither key aborts the rotation with L{MasterKeyError}.
      3. Only when every row is under the new key: the old key file is hard-linked to
         C{<key_path>.old.<n>} (kept as a backup; destroy it once backups of the database made
         under the old key are gone), and the new key file is renamed over C{key_path}
         (atomic on POSIX). Until that rename kmipd still reads the old key, so a crash before
         step 3 is recovered by rerunning the command.

    @return: counts, and the path the old key was kept at.
    """
    from sqlalchemy import select, update

    from .models import objects_table
    from .sql import create_store_engine

    old_key = load_master_key(key_path)
    if new_key_path is None:
        new_key_path = key_path + ".new"
        if not os.path.exists(new_key_path):
            write_key_file(new_key_path, secrets.token_bytes(MASTER_KEY_SIZE))
    new_key = load_master_key(new_key_path)
    if new_key == old_key:
        raise MasterKeyError("the new master key is the same as the current one")

    engine = create_store_engine(url, pool_size=1)
    rows = reencrypted = already_new = 0
    try:
        last_id = 0
        while True:
            with engine.begin() as conn:
                batch = conn.execute(
                    select(objects_table.c.id, objects_table.c.uid, objects_table.c.material)
                    .where(objects_table.c.id > last_id)
                    .order_by(objects_table.c.id)
                    .limit(batch_size)
                    .with_for_update()
                ).all()
                if not batch:
                    break
                for row_id, uid, blob in batch:
                    rows += 1
                    last_id = row_id
                    if blob is None:
                        continue
                    aad = uid.encode("utf-8")
                    try:
                        plain = unseal(old_key, blob, aad)
                    except MasterKeyError:
                        unseal(new_key, blob, aad)  # raises when under neither key
                        already_new += 1
                        continue
                    conn.execute(
                        update(objects_table)
                        .where(objects_table.c.id == row_id)
                        .values(material=seal(new_key, plain, aad))
                    )
                    reencrypted += 1
    finally:
        engine.dispose()

    n = 1
    while os.path.exists(f"{key_path}.old.{n}"):
        n += 1
    backup = f"{key_path}.old.{n}"
    os.link(key_path, backup)
    os.replace(new_key_path, key_path)
    _fsync_dir(os.path.dirname(os.path.abspath(key_path)))
    _log.info(
        "Master key rotated: {rows} rows, {reencrypted} re-encrypted, old key kept at {backup}",
        rows=rows, reencrypted=reencrypted, backup=backup,
    )
    return RotationResult(rows, reencrypted, already_new, backup)
