# -*- test-case-name: tests.store.test_sql -*-
"""The master key: the 32-byte AES-256 key that seals object material at rest.

The key lives in a file of exactly 32 raw bytes, mode 0600. L{seal}/L{unseal} are the envelope
used by the store (L{kmipd.crypto.wrapping}'s AES-256-GCM envelope, the uid as associated
data). L{kmipd.store.keyring} records which key sealed each row; L{kmipd.store.rotation}
rotates the key.
"""

from __future__ import annotations

import os
import secrets
import tempfile

from kmipd.log import Logger

from ..crypto import wrapping as _wrapping
from ..crypto.errors import CryptographicFailure, InvalidField

__all__ = [
    "MASTER_KEY_SIZE",
    "MasterKeyError",
    "load_master_key",
    "load_or_create_master_key",
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
