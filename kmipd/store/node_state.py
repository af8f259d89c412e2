# -*- test-case-name: tests.test_node_state_shared -*-
"""Set Defaults' Object Defaults and Set Constraints' Constraints in the SQL store's database,
shared by every node and worker process on it (L{kmipd.node.NodeState} uses it when the store is
SQL; the memory store keeps them in the process).

C{kmipd_node_settings}: one row per setting (C{defaults}, C{constraints}), its value the binary
TTLV encoding of a Defaults Information or Constraints structure. Written and read in the
request's transaction (a Set Defaults that is undone changes nothing; a Create sees the settings
committed before it), or, for a request without one (Query's Defaults Information), in a short
read of its own. Both are read at once, at most once per batch item (L{kmipd.node.NodeState}).

C{kmipd_credential_timestamps}: the last Hashed Password Timestamp accepted per user (keyed by
the SHA-256 of the user name), so a replayed credential is refused by every node
(L{SQLReplayGuard}, used by L{kmipd.auth.request.CredentialChecker}).

The tables join the store's schema metadata when this module is imported (the migrations package
imports it); revision C{0003_node_state} creates them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from ..errors import GeneralFailure
from ..ttlv import Item, decode, encode
from .models import Blob, metadata
from .tickets import in_transaction, own_transaction

__all__ = ["SQLNodeSettings", "SQLReplayGuard", "credential_timestamps_table", "node_settings_table"]

node_settings_table = sa.Table(
    "kmipd_node_settings",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", Blob, nullable=False),
)

credential_timestamps_table = sa.Table(
    "kmipd_credential_timestamps",
    metadata,
    sa.Column("user_key", sa.String(64), primary_key=True),
    sa.Column("last", sa.BigInteger, nullable=False),
)

#: Built once: executing it hits SQLAlchemy's compiled cache without building a statement and its
#: cache key on every read. The table holds only the settings (Object Defaults and Constraints), so
#: one read of every row serves a Create, which needs both.
_READ_SETTINGS = sa.select(node_settings_table.c.name, node_settings_table.c.value)


class SQLNodeSettings:
    """Named TTLV settings in the SQL store's database (thread-safe: no state of its own)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.engine = store.engine

    def read(self, tx: Any) -> dict[str, Item]:
        """Every setting (name -> value; a setting never set is absent), in one statement."""

        def read(own: Any) -> Any:
            return own.execute(_READ_SETTINGS, write=False).all()

        rows = read(tx) if in_transaction(tx) else own_transaction(self.store, "reading node settings", read)
        return {row.name: decode(bytes(row.value)) for row in rows}

    def write(self, tx: Any, name: str, value: Item) -> None:
        """Replace the setting C{name} in the request's transaction C{tx}."""
        if not in_transaction(tx):
            raise GeneralFailure(f"{name} can only be written in a store transaction")
        t = node_settings_table
        tx.execute(t.delete().where(t.c.name == name))
        tx.execute(t.insert().values(name=name, value=encode(value)))


class SQLReplayGuard:
    """The last Hashed Password Timestamp accepted per user, in the database every node shares."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.engine = store.engine

    def advance(self, username: str, timestamp: int) -> bool:
        """Record C{timestamp} as C{username}'s last, if it is later than the one recorded (one
        guarded UPDATE, or the first INSERT, in one short transaction); C{False}: not later (a
        replay, or a concurrent request with the same credential won)."""
        t = credential_timestamps_table
        key = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()
        first = _insert_unless_present(self.engine.dialect.name, t, user_key=key, last=timestamp)

        def advance(tx: Any) -> bool:
            if tx.execute(t.update().where(t.c.user_key == key, t.c.last < timestamp)
                          .values(last=timestamp)).rowcount == 1:
                return True
            if tx.execute(sa.select(t.c.last).where(t.c.user_key == key), write=False).first() is not None:
                return False
            # another node may record this user's first Timestamp meanwhile: then it won
            return tx.execute(first).first() is not None

        return own_transaction(self.store, "recording a Hashed Password Timestamp", advance)


def _insert_unless_present(dialect: str, table: sa.Table, **values: Any) -> Any:
    """A statement inserting one row that returns one row if it did, none when the primary key is
    taken (MariaDB 10.5+, SQLite 3.35+ and PostgreSQL all have INSERT ... RETURNING)."""
    key = list(table.primary_key)[0]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).values(**values).on_conflict_do_nothing().returning(key)
    if dialect == "sqlite":
        return table.insert().prefix_with("OR IGNORE").values(**values).returning(key)
    if dialect in ("mysql", "mariadb"):
        return table.insert().prefix_with("IGNORE").values(**values).returning(key)
    raise GeneralFailure(f"no replay guard for the {dialect} database")
