# -*- test-case-name: tests.store.test_sql -*-
"""The database schema (SQLAlchemy Core tables) and the attribute match-key encoding.

Tables prefixed C{kmipd_} so kmipd can share a database:

C{kmipd_objects}: one row per managed object. C{id} is an autoincrement key and is the
object's C{sequence} (strictly increasing across every process sharing the database).
C{object_type}, C{owner}, C{policy_name}, C{state}, C{archived} are copies of the object's
fields kept for Locate and policy checks; C{material} is the object body sealed under the
master key (AES-256-GCM, uid as associated data) and C{key_id} names that master key (see
L{kmipd.store.keyring}); C{revision} is the optimistic lock.

C{kmipd_master_keys} / C{kmipd_master_key_wraps}: the master-key ring (L{kmipd.store.keyring}).

C{kmipd_attributes}: one row per attribute instance: C{name}, C{position} in its list,
C{tag}/C{item_type}, C{value} (the binary TTLV encoding, in clear: attributes are not secret)
and the indexed match columns:

  - C{match_key}: SHA-256 (32 raw bytes) of the canonical encoding (the TTLV encoding with the top-level
    tag zeroed), so equality filters compare whole values whatever their tag;
  - C{alt_key}: for C{Name} only, the match key of the Name Value alone, so a Name filter
    without a Name Type matches on the name text;
  - C{int_value}: Integer / Long Integer / Enumeration / Interval / Date-Time(-Extended)
    values, for masks (bit tests) and ranges.

The C{alt_key} and C{int_value} indexes hold only the rows whose column is set (partial indexes,
SQLite and PostgreSQL; revision C{0004_partial_indexes}): most attribute rows have neither, and
every index entry is work on each Create. Locate's conditions on these columns (C{=}, ranges,
C{IS NOT NULL}) imply the index's, so the planner can use them.

The migrations in L{kmipd.store.migrations} create exactly these tables; a test compares them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from ..ttlv import Item, ItemType, encode

__all__ = [
    "NAME_TAG",
    "NAME_TYPE_TAG",
    "NAME_VALUE_TAG",
    "attributes_table",
    "index_columns",
    "master_key_wraps_table",
    "master_keys_table",
    "match_key",
    "metadata",
    "objects_table",
]

NAME_TAG = 0x420053
NAME_TYPE_TAG = 0x420054
NAME_VALUE_TAG = 0x420055

_INT_TYPES = frozenset(
    int(t)
    for t in (
        ItemType.INTEGER,
        ItemType.LONG_INTEGER,
        ItemType.ENUMERATION,
        ItemType.INTERVAL,
        ItemType.DATE_TIME,
        ItemType.DATE_TIME_EXTENDED,
    )
)
_INT64 = (-(2**63), 2**63 - 1)

Blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
#: 32 raw bytes (SHA-256); VARBINARY on MySQL so it can be indexed without a prefix length.
Key = sa.LargeBinary(32).with_variant(mysql.VARBINARY(32), "mysql", "mariadb")

metadata = sa.MetaData()


def partial_index(condition: str) -> dict[str, Any]:
    """An index's C{WHERE C{condition}} on SQLite and PostgreSQL (MariaDB/MySQL have no partial
    indexes: there the index holds every row)."""
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


objects_table = sa.Table(
    "kmipd_objects",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("uid", sa.String(255), nullable=False),
    sa.Column("object_type", sa.Integer, nullable=False),
    sa.Column("owner", sa.String(1024), nullable=True),
    sa.Column("policy_name", sa.String(255), nullable=True),
    sa.Column("state", sa.Integer, nullable=True),
    sa.Column("archived", sa.Boolean(create_constraint=False), nullable=False, default=False),
    sa.Column("created", sa.BigInteger, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("material", Blob, nullable=True),
    sa.Column("key_id", sa.String(32), nullable=True),
    sa.UniqueConstraint("uid", name="uq_kmipd_objects_uid"),
    sa.Index("ix_kmipd_objects_type", "object_type"),
    sa.Index("ix_kmipd_objects_state", "state"),
)

attributes_table = sa.Table(
    "kmipd_attributes",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column(
        "object_id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.ForeignKey("kmipd_objects.id", ondelete="CASCADE", name="fk_kmipd_attributes_object"),
        nullable=False,
    ),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("tag", sa.Integer, nullable=False),
    sa.Column("item_type", sa.Integer, nullable=False),
    sa.Column("value", Blob, nullable=False),
    sa.Column("match_key", Key, nullable=False),
    sa.Column("alt_key", Key, nullable=True),
    sa.Column("int_value", sa.BigInteger, nullable=True),
    sa.Index("ix_kmipd_attributes_object", "object_id", "name", "position"),
    sa.Index("ix_kmipd_attributes_match", "name", "match_key", "object_id"),
    sa.Index("ix_kmipd_attributes_alt", "name", "alt_key", "object_id", **partial_index("alt_key IS NOT NULL")),
    sa.Index("ix_kmipd_attributes_int", "name", "int_value", "object_id", **partial_index("int_value IS NOT NULL")),
)


master_keys_table = sa.Table(
    "kmipd_master_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created", sa.BigInteger, nullable=False),
)

master_key_wraps_table = sa.Table(
    "kmipd_master_key_wraps",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("wrapping_key_id", sa.String(32), primary_key=True),
    sa.Column("wrapped", Blob, nullable=False),
)


def _canonical_key(encoded: bytes) -> bytes:
    # The tag is the first 3 bytes of the encoding: zero it so the filter's tag is irrelevant.
    return hashlib.sha256(b"\0\0\0" + encoded[3:]).digest()


def match_key(item: Item) -> bytes:
    """The C{match_key} of C{item}: SHA-256 of its encoding with the top-level tag zeroed."""
    return _canonical_key(encode(item))


def name_value_key(item: Item) -> bytes | None:
    """For a C{Name} structure, the match key of its Name Value alone (else C{None})."""
    if item.type != ItemType.STRUCTURE or item.tag != NAME_TAG:
        return None
    for child in item.value:
        if child.tag == NAME_VALUE_TAG:
            return match_key(child)
    return None


def is_partial_name(item: Item) -> bool:
    """True for a C{Name} filter value that carries a Name Value but no Name Type."""
    return (
        item.type == ItemType.STRUCTURE
        and item.tag == NAME_TAG
        and item.find(NAME_VALUE_TAG) is not None
        and item.find(NAME_TYPE_TAG) is None
    )


def int_value(item: Item) -> int | None:
    """The C{int_value} column for C{item} (C{None} for non-integer or out-of-range values)."""
    if int(item.type) in _INT_TYPES and isinstance(item.value, int):
        v = int(item.value)
        if _INT64[0] <= v <= _INT64[1]:
            return v
    return None


def index_columns(name: str, item: Item) -> dict[str, object]:
    """Every column of an attribute row except C{id}, C{object_id} and C{position}."""
    encoded = encode(item)
    return {
        "name": name,
        "tag": item.tag,
        "item_type": int(item.type),
        "value": encoded,
        "match_key": _canonical_key(encoded),
        "alt_key": name_value_key(item) if name == "Name" else None,
        "int_value": int_value(item),
    }
