# -*- test-case-name: tests.test_admin_pykmip -*-
"""C{kmipd-admin import-pykmip}: move a PyKMIP server's objects into kmipd.

Reads the SQLite database of a PyKMIP 0.10/0.11 server read-only (its file is never written)
and registers every object in kmipd under the same Unique Identifier, with its owner, names,
Cryptographic Usage Mask, state, Operation Policy Name, Initial Date, Sensitive flag,
Application Specific Information and Object Groups. Each object goes through kmipd's own
Register code (the same validation and derived attributes a client's Register gets) inside its
own store transaction, so the material is sealed under kmipd's master key like any other.

Idempotent: an identifier already in kmipd is left alone (reported as already imported, or as a
conflict when its digest differs). Whatever cannot be carried over is reported, never dropped
silently.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .context import RequestContext
from .errors import KmipError, NonUniqueName
from .model.attributes import to_1x
from .spec import KeyFormatType, ObjectType, State, Tag
from .ttlv import Item

__all__ = ["ImportReport", "PyKMIPObject", "import_pykmip", "read_pykmip"]

#: The tables every PyKMIP server database has (used to recognise one).
PYKMIP_TABLES = frozenset({"managed_objects", "crypto_objects", "keys", "managed_object_names"})

_BODY_QUERY = """
SELECT m.uid, m.object_type, m.value, m.operation_policy_name, m.sensitive, m.initial_date, m.owner,
       c.cryptographic_usage_mask, c.state,
       k.cryptographic_algorithm, k.cryptographic_length, k.key_format_type, k._kdw_wrapping_method,
       ce.certificate_type, sd.data_type, oo.opaque_type,
       sk._split_key_parts, sk._key_part_identifier, sk._split_key_threshold, sk._split_key_method,
       sk._prime_field_size
FROM managed_objects m
LEFT JOIN crypto_objects c ON c.uid = m.uid
LEFT JOIN keys k ON k.uid = m.uid
LEFT JOIN certificates ce ON ce.uid = m.uid
LEFT JOIN secret_data_objects sd ON sd.uid = m.uid
LEFT JOIN opaque_objects oo ON oo.uid = m.uid
LEFT JOIN split_keys sk ON sk.uid = m.uid
ORDER BY m.uid
"""


@dataclass
class PyKMIPObject:
    """One row of a PyKMIP database, with its names, groups and application information."""

    uid: str
    object_type: int
    value: bytes
    owner: str | None
    policy: str | None
    sensitive: bool
    initial_date: int
    usage_mask: int | None
    state: int | None
    algorithm: int | None
    length: int | None
    key_format: int | None
    wrapped: bool
    certificate_type: int | None
    secret_data_type: int | None
    opaque_type: int | None
    split: tuple[Any, ...]
    names: list[tuple[str, int]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    app_info: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ImportReport:
    """What C{import_pykmip} did: identifiers imported, skipped, and what could not be mapped."""

    imported: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"imported {len(self.imported)} objects; {len(self.already)} were already imported"]
        out += [f"conflict: {uid} exists in kmipd with different material (left unchanged)" for uid in self.conflicts]
        out += [f"not imported: {uid}: {why}" for uid, why in self.failed]
        out += [f"note: {uid}: {why}" for uid, why in self.notes]
        return out


def _connect_read_only(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not PYKMIP_TABLES <= tables:
        conn.close()
        raise ValueError(f"{path} is not a PyKMIP server database (tables {', '.join(sorted(PYKMIP_TABLES))} "
                         "expected)")
    return conn


def _optional(conn: sqlite3.Connection, query: str) -> list[tuple[Any, ...]]:
    try:
        return conn.execute(query).fetchall()
    except sqlite3.OperationalError:  # PyKMIP 0.10 has no application info / object group tables
        return []


def _enum(value: Any) -> int | None:
    """PyKMIP's enumeration columns hold -1 for "none"."""
    return None if value is None or value == -1 else int(value)


def read_pykmip(path: str) -> list[PyKMIPObject]:
    """Every object of the PyKMIP database at C{path} (opened read-only; blocking)."""
    conn = _connect_read_only(path)
    try:
        objects: dict[str, PyKMIPObject] = {}
        for row in conn.execute(_BODY_QUERY):
            (uid, otype, value, policy, sensitive, initial, owner, mask, state, alg, length, fmt, wrapping,
             ctype, dtype, otype2, *split) = row
            objects[str(uid)] = PyKMIPObject(
                uid=str(uid), object_type=int(otype), value=bytes(value or b""), owner=owner, policy=policy,
                sensitive=bool(sensitive), initial_date=int(initial or 0), usage_mask=mask, state=_enum(state),
                algorithm=_enum(alg), length=length, key_format=_enum(fmt), wrapped=_enum(wrapping) is not None,
                certificate_type=_enum(ctype), secret_data_type=_enum(dtype), opaque_type=_enum(otype2),
                split=tuple(split))
        for uid, name, _, name_type in conn.execute(
                "SELECT mo_uid, name, name_index, name_type FROM managed_object_names ORDER BY mo_uid, name_index"):
            if str(uid) in objects:
                objects[str(uid)].names.append((name, int(name_type or 1)))
        for uid, group in _optional(conn, "SELECT m.managed_object_id, g.object_group FROM object_group_map m "
                                          "JOIN object_groups g ON g.id = m.object_group_id"):
            if str(uid) in objects:
                objects[str(uid)].groups.append(group)
        for uid, ns, data in _optional(conn, "SELECT m.managed_object_id, a.application_namespace, "
                                             "a.application_data FROM app_specific_info_map m "
                                             "JOIN app_specific_info a ON a.id = m.app_specific_info_id"):
            if str(uid) in objects:
                objects[str(uid)].app_info.append((ns, data))
        return list(objects.values())
    finally:
        conn.close()


def _key_block(obj: PyKMIPObject, fmt: int) -> Item:
    from .model import keyblock

    return keyblock.key_block(fmt, obj.value, algorithm=obj.algorithm, length=obj.length)


def _body(obj: PyKMIPObject) -> Item:
    """The KMIP object structure a PyKMIP client would register for C{obj}."""
    from .model import keyblock

    t = obj.object_type
    if t in (ObjectType.SYMMETRIC_KEY, ObjectType.PUBLIC_KEY, ObjectType.PRIVATE_KEY):
        return keyblock.body(t, _key_block(obj, obj.key_format or KeyFormatType.RAW))
    if t == ObjectType.SPLIT_KEY:
        parts, ident, threshold, method, prime = obj.split
        return keyblock.body(
            t, _key_block(obj, obj.key_format or KeyFormatType.RAW),
            parts=Item.int(Tag.SPLIT_KEY_PARTS, int(parts)),
            ident=Item.int(Tag.KEY_PART_IDENTIFIER, int(ident)),
            threshold=Item.int(Tag.SPLIT_KEY_THRESHOLD, int(threshold)),
            method=Item.enum(Tag.SPLIT_KEY_METHOD, int(method)),
            prime=Item.big(Tag.PRIME_FIELD_SIZE, int(prime)) if prime is not None else None)
    if t == ObjectType.SECRET_DATA:
        return keyblock.body(t, keyblock.key_block(KeyFormatType.OPAQUE, obj.value),
                             data_type=Item.enum(Tag.SECRET_DATA_TYPE, int(obj.secret_data_type or 1)))
    if t == ObjectType.CERTIFICATE:
        return Item.struct(Tag.CERTIFICATE, [Item.enum(Tag.CERTIFICATE_TYPE, int(obj.certificate_type or 1)),
                                             Item.bytes(Tag.CERTIFICATE_VALUE, obj.value)])
    if t == ObjectType.OPAQUE_OBJECT:
        return Item.struct(Tag.OPAQUE_OBJECT, [Item.enum(Tag.OPAQUE_DATA_TYPE, int(obj.opaque_type or 0x80000000)),
                                               Item.bytes(Tag.OPAQUE_DATA_VALUE, obj.value)])
    raise ValueError(f"object type {t} is not one PyKMIP stores")


def _template(obj: PyKMIPObject, with_names: bool) -> Item:
    attrs: list[Item] = []
    if with_names:
        for name, name_type in obj.names:
            attrs.append(to_1x("Name", Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, name),
                                                               Item.enum(Tag.NAME_TYPE, name_type)])))
    if obj.usage_mask is not None:
        attrs.append(to_1x("Cryptographic Usage Mask", Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, int(obj.usage_mask))))
    if obj.policy:
        attrs.append(to_1x("Operation Policy Name", Item.text(Tag.OPERATION_POLICY_NAME, obj.policy)))
    for group in obj.groups:
        attrs.append(to_1x("Object Group", Item.text(Tag.OBJECT_GROUP, group)))
    for ns, data in obj.app_info:
        attrs.append(to_1x("Application Specific Information", Item.struct(
            Tag.APPLICATION_SPECIFIC_INFORMATION, [Item.text(Tag.APPLICATION_NAMESPACE, ns),
                                                   Item.text(Tag.APPLICATION_DATA, data)])))
    if obj.sensitive and obj.object_type != ObjectType.OPAQUE_OBJECT:
        attrs.append(to_1x("Sensitive", Item.bool(Tag.SENSITIVE, True)))
    return Item.struct(Tag.TEMPLATE_ATTRIBUTE, attrs)


class _FixedUid:
    """A store transaction whose next new identifier is the PyKMIP one."""

    def __init__(self, tx: Any, uid: str) -> None:
        self._tx = tx
        self._uid = uid

    def new_uid(self) -> str:
        return self._uid

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


def _register(tx: Any, obj: PyKMIPObject, now: int, with_names: bool) -> None:
    from .operations.create import register

    payload = Item.struct(Tag.REQUEST_PAYLOAD, [Item.enum(Tag.OBJECT_TYPE, obj.object_type),
                                                _template(obj, with_names), _body(obj)])
    ctx = RequestContext(version=(1, 4), identity=obj.owner, groups=None, now=now, store=_FixedUid(tx, obj.uid),
                         policy=None)
    register(ctx, payload)
    stored = tx.get(obj.uid, for_update=True)
    if obj.initial_date:
        stored.set_single("Initial Date", Item.datetime(Tag.INITIAL_DATE, obj.initial_date))
    if obj.state is not None and obj.state != State.PRE_ACTIVE:
        stored.set_single("State", Item.enum(Tag.STATE, int(obj.state)))
        activated = obj.state in (State.ACTIVE, State.DEACTIVATED, State.COMPROMISED)
        if activated and stored.first("Activation Date") is None:
            stored.set_single("Activation Date", Item.datetime(Tag.ACTIVATION_DATE, obj.initial_date or now))
    tx.save(stored)


def _digest_of(tx: Any, uid: str) -> bytes | None:
    existing = tx.get(uid)
    if existing is None:
        return None
    digest = existing.first("Digest")
    return digest.get(Tag.DIGEST_VALUE) if digest is not None else b""


def import_pykmip(path: str, store: Any, *, now: int) -> ImportReport:
    """Import every object of the PyKMIP database at C{path} into C{store} (blocking)."""
    import hashlib

    report = ImportReport()
    for obj in read_pykmip(path):
        if obj.wrapped:
            report.failed.append((obj.uid, "the key is stored wrapped (Key Wrapping Data): unwrap it in PyKMIP "
                                  "and register it again"))
            continue
        with store.transaction() as tx:
            existing = _digest_of(tx, obj.uid)
        if existing is not None:
            ours = hashlib.sha256(obj.value).digest()
            (report.already if existing in (ours, b"") else report.conflicts).append(obj.uid)
            continue
        for with_names in (True, False):
            try:
                with store.transaction() as tx:
                    _register(tx, obj, now, with_names)
            except NonUniqueName:
                if with_names:
                    report.notes.append((obj.uid, f"name(s) {', '.join(n for n, _ in obj.names)} already used by "
                                         "another kmipd object: imported without them"))
                    continue
                report.failed.append((obj.uid, "Name conflict"))
            except (KmipError, ValueError) as e:
                report.failed.append((obj.uid, getattr(e, "message", None) or str(e)))
            else:
                report.imported.append(obj.uid)
                if obj.policy and obj.policy != "default":
                    report.notes.append((obj.uid, f"operation policy {obj.policy!r} must exist in kmipd's "
                                         "policy_path"))
            break
    return report


def iter_uids(path: str) -> Iterator[str]:
    """The identifiers in a PyKMIP database (for reports and tests)."""
    return (o.uid for o in read_pykmip(path))
