# -*- test-case-name: tests.test_admin_objects -*-
"""C{kmipd-admin objects list/show}, C{export}/C{import} (encrypted backups) and C{check}.

Everything here is offline administration of the database the configuration names (blocking,
no reactor). C{objects} shows metadata only: attributes, never the key material column. A
backup holds every object with its material, encrypted with AES-256-GCM under a key derived
from a passphrase (scrypt), so it can be restored under another master key.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import sqlalchemy as sa

from .config import Config
from .model.objects import ManagedObject
from .spec import ObjectType, State, Tag
from .ttlv import Item, decode, encode

__all__ = ["BackupError", "check", "export_backup", "import_backup", "list_objects", "open_store", "show_object"]

BACKUP_MAGIC = b"KMIPDBK1"
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}


class BackupError(Exception):
    """A backup file is unreadable, tampered with, or the passphrase is wrong."""


def open_store(config: Config, *, create_key: bool = False) -> Any:
    """The configured SQL store, with its master key (blocking)."""
    from .store.masterkey import load_master_key, load_or_create_master_key
    from .store.sql import SQLObjectStore

    path = config.effective_master_key_path
    key = load_or_create_master_key(path) if create_key else load_master_key(path)
    return SQLObjectStore(config.effective_database_url, key, pool_size=1, key_path=path)


def _enum_name(enum: Any, value: Any) -> str:
    try:
        return str(enum(value).name)
    except (ValueError, TypeError):
        return str(value)


@dataclass(frozen=True)
class ObjectRow:
    """Metadata of one object, as listed."""

    uid: str
    object_type: str
    state: str
    owner: str | None
    names: tuple[str, ...]
    policy: str | None
    created: int

    def as_dict(self) -> dict[str, Any]:
        return {"uid": self.uid, "object_type": self.object_type, "state": self.state, "owner": self.owner,
                "names": list(self.names), "policy": self.policy, "created": _iso(self.created)}


def _iso(seconds: int) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_objects(store: Any, *, object_type: str | None = None, state: str | None = None,
                 owner: str | None = None, name: str | None = None) -> list[ObjectRow]:
    """Objects' metadata, filtered (names: C{SYMMETRIC_KEY}, C{ACTIVE}, case-insensitive)."""
    from .store.models import attributes_table as a
    from .store.models import objects_table as o

    query = sa.select(o.c.id, o.c.uid, o.c.object_type, o.c.state, o.c.owner, o.c.policy_name, o.c.created)
    if object_type:
        query = query.where(o.c.object_type == _enum_value(ObjectType, object_type, "--type"))
    if state:
        query = query.where(o.c.state == _enum_value(State, state, "--state"))
    if owner:
        query = query.where(o.c.owner == owner)
    rows: list[ObjectRow] = []
    with store.engine.connect() as conn:
        found = conn.execute(query.order_by(o.c.id)).all()
        names: dict[int, list[str]] = {}
        for object_id, value in conn.execute(sa.select(a.c.object_id, a.c.value).where(a.c.name == "Name")
                                             .order_by(a.c.object_id, a.c.position)):
            text = decode(bytes(value)).get(Tag.NAME_VALUE)
            if isinstance(text, str):
                names.setdefault(object_id, []).append(text)
    for object_id, uid, otype, st, own, policy, created in found:
        row = ObjectRow(uid, _enum_name(ObjectType, otype), _enum_name(State, st) if st is not None else "NONE",
                        own, tuple(names.get(object_id, ())), policy, int(created))
        if name is None or name in row.names:
            rows.append(row)
    return rows


def _enum_value(enum: Any, text: str, option: str) -> int:
    key = text.strip().upper().replace("-", "_").replace(" ", "_")
    try:
        return int(enum[key])
    except KeyError:
        raise ValueError(f"{option}: unknown value {text!r} (one of {', '.join(m.name for m in enum)})") from None


def _render(item: Item) -> Any:
    """A JSON-able view of an attribute value (structures as name -> value)."""
    from .spec import ENUM_FOR_TAG

    if isinstance(item.value, list):
        return {_enum_name(Tag, child.tag): _render(child) for child in item.value}
    if isinstance(item.value, bytes):
        return item.value.hex()
    enum = ENUM_FOR_TAG.get(item.tag)
    if enum is not None and isinstance(item.value, int):
        return _enum_name(enum, item.value)
    return item.value


def show_object(store: Any, uid: str) -> dict[str, Any] | None:
    """One object's metadata and attributes (never its material), or C{None}."""
    with store.transaction() as tx:
        obj = tx.get(uid)
    if obj is None:
        return None
    attributes = {name: [_render(v) for v in values if v is not None]
                  for name, values in sorted(obj.attributes.items())}
    return {"uid": obj.uid, "object_type": _enum_name(ObjectType, obj.object_type), "owner": obj.owner,
            "archived": obj.archived, "created": _iso(obj.created), "has_material": obj.material is not None,
            "attributes": attributes}


# Backups -----------------------------------------------------------------------------------------

def _derive(passphrase: bytes, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, **_SCRYPT).derive(passphrase)


def _encode_object(obj: ManagedObject) -> dict[str, Any]:
    return {"uid": obj.uid, "object_type": obj.object_type, "owner": obj.owner, "created": obj.created,
            "archived": obj.archived,
            "material": encode(obj.material).hex() if obj.material is not None else None,
            "attributes": {name: [encode(v).hex() if v is not None else None for v in values]
                           for name, values in obj.attributes.items()}}


def _decode_item(text: str) -> Item:
    return decode(bytes.fromhex(text))


def _decode_object(data: dict[str, Any]) -> ManagedObject:
    return ManagedObject(
        uid=data["uid"], object_type=int(data["object_type"]), owner=data["owner"], created=int(data["created"]),
        archived=bool(data.get("archived", False)),
        material=_decode_item(data["material"]) if data["material"] is not None else None,
        attributes={name: [_decode_item(v) if v is not None else None for v in values]
                    for name, values in data["attributes"].items()})


def _all_uids(store: Any) -> list[str]:
    from .store.models import objects_table as o

    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.select(o.c.uid).order_by(o.c.id))]


def export_backup(store: Any, path: str, passphrase: bytes) -> int:
    """Write every object (material included) to C{path}, encrypted; return the object count."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    objects = []
    for uid in _all_uids(store):
        with store.transaction() as tx:
            obj = tx.get(uid)
        if obj is not None:
            objects.append(_encode_object(obj))
    document = json.dumps({"format": 1, "objects": objects}, separators=(",", ":")).encode()
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header = BACKUP_MAGIC + salt + nonce
    sealed = AESGCM(_derive(passphrase, salt)).encrypt(nonce, zlib.compress(document), header)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(header + struct.pack(">Q", len(sealed)) + sealed)
    return len(objects)


def read_backup(path: str, passphrase: bytes) -> list[ManagedObject]:
    """The objects of a backup file; L{BackupError} if it cannot be opened."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(BACKUP_MAGIC) or len(data) < 44:
        raise BackupError(f"{path} is not a kmipd backup")
    header, (size,), sealed = data[:36], struct.unpack(">Q", data[36:44]), data[44:]
    if size != len(sealed):
        raise BackupError(f"{path} is truncated")
    try:
        document = zlib.decompress(AESGCM(_derive(passphrase, header[8:24])).decrypt(header[24:36], sealed, header))
    except InvalidTag:
        raise BackupError(f"{path}: wrong passphrase, or the file was modified") from None
    return [_decode_object(o) for o in json.loads(document)["objects"]]


def import_backup(store: Any, path: str, passphrase: bytes) -> tuple[int, int]:
    """Restore a backup into C{store}: (added, already present). Existing objects are kept."""
    added = present = 0
    for obj in read_backup(path, passphrase):
        with store.transaction() as tx:
            if tx.get(obj.uid) is not None:
                present += 1
                continue
            archived = bool(getattr(obj, "archived", False))
            tx.add(obj)
            if archived:
                tx.set_archived(obj.uid, True)
            added += 1
    return added, present


# check ---------------------------------------------------------------------------------------

def _check_certificates(config: Config) -> Iterator[tuple[bool, str]]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    if config.uses_dev_pki:
        yield True, f"certificates: development PKI in {os.path.join(config.data_dir, 'pki')} (not for production)"
        return
    try:
        with open(str(config.certificate_path), "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(str(config.key_path), "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        with open(str(config.ca_path), "rb") as f:
            cas = x509.load_pem_x509_certificates(f.read())
    except (OSError, ValueError, TypeError) as e:
        yield False, f"certificates: {e}"
        return
    now = datetime.datetime.now(datetime.timezone.utc)
    yield cert.not_valid_after_utc > now, f"certificate_path: valid until {cert.not_valid_after_utc:%Y-%m-%d}"
    same = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
        == cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    yield same, "key_path: matches certificate_path" if same else "key_path: does not match certificate_path"
    signed = False
    for ca in cas:
        try:
            cert.verify_directly_issued_by(ca)
            signed = True
        except (ValueError, TypeError, Exception):
            continue
    yield signed, "ca_path: issued certificate_path" if signed else "ca_path: did not issue certificate_path"
    try:
        ekus = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        server = ExtendedKeyUsageOID.SERVER_AUTH in ekus
    except x509.ExtensionNotFound:
        server = True
    yield server, "certificate_path: serverAuth usage" if server else "certificate_path: lacks the serverAuth EKU"


def check(config: Config, out: TextIO) -> int:
    """Check certificates, database, schema and master key; print one line each; 0 if all pass."""
    from .health import check_store
    from .store.engine import safe_url
    from .store.keyring import RingError
    from .store.masterkey import MasterKeyError

    results: list[tuple[bool, str]] = [(True, "configuration: loaded")]
    results += list(_check_certificates(config))
    store = None
    try:
        store = open_store(config)
        results.append((True, f"master key: {config.effective_master_key_path} (32 bytes)"))
    except (MasterKeyError, RingError) as e:  # RingError: a key file the database does not know
        results.append((False, f"master key: {e}"))
    except Exception as e:
        results.append((False, f"database: {safe_url(config.effective_database_url)}: {e}"))
    if store is not None:
        try:
            problem = check_store(store)
            results.append((problem is None, problem or f"database: {safe_url(config.effective_database_url)} "
                            "reachable, schema current"))
            results += list(_check_sealed(store))
        finally:
            store.close()
    for ok, line in results:
        out.write(f"{'ok  ' if ok else 'FAIL'} {line}\n")
    return 0 if all(ok for ok, _ in results) else 1


def _check_sealed(store: Any) -> Iterable[tuple[bool, str]]:
    """The master key opens the stored material (the first and last objects are tried)."""
    uids = _all_uids(store)
    if not uids:
        return [(True, "master key: no objects stored yet")]
    for uid in dict.fromkeys([uids[0], uids[-1]]):
        try:
            with store.transaction() as tx:
                tx.get(uid)
        except Exception as e:
            return [(False, f"master key: cannot open object {uid}: {e}")]
    return [(True, f"master key: opens stored objects ({len(uids)} objects)")]
