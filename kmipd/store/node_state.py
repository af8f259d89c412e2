# -*- test-case-name: tests.test_node_state_shared -*-
"""Set Defaults' Object Defaults and Set Constraints' Constraints in the SQL store's database,
shared by every node and worker process on it (L{kmipd.node.NodeState} uses it when the store is
SQL; the memory store keeps them in the process).

C{kmipd_node_settings}: one row per setting (C{defaults}, C{constraints}), its value the binary
TTLV encoding of a Defaults Information or Constraints structure. Written and read in the
request's transaction (a Set Defaults that is undone changes nothing; a Create sees the settings
committed before it), or, for a request without one (Query's Defaults Information), in a short
read of its own.

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
from sqlalchemy.engine import Engine

from ..errors import GeneralFailure, KmipError
from ..log import Logger
from ..ttlv import Item, decode, encode
from .engine import _db_errors
from .interface import StoreError
from .models import Blob, metadata
from .tickets import in_transaction

__all__ = ["SQLNodeSettings", "SQLReplayGuard", "credential_timestamps_table", "node_settings_table"]

_log = Logger()

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


class SQLNodeSettings:
    """Named TTLV settings on the store's engine (thread-safe: no state of its own)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def read(self, tx: Any, name: str) -> Item | None:
        """The setting C{name}, or C{None} when it was never set."""
        t = node_settings_table
        statement = sa.select(t.c.value).where(t.c.name == name)
        if in_transaction(tx):
            row = tx.execute(statement, write=False).first()
        else:
            try:
                with _db_errors(f"reading {name}"), self.engine.connect() as conn:
                    row = conn.execute(statement).first()
            except KmipError:
                raise
            except StoreError as e:
                _log.error("reading {name} failed: {error}", name=name, error=str(e))  # the detail stays here
                raise GeneralFailure(f"reading {name} failed; retry") from None
        return decode(bytes(row.value)) if row is not None else None

    def write(self, tx: Any, name: str, value: Item) -> None:
        """Replace the setting C{name} in the request's transaction C{tx}."""
        if not in_transaction(tx):
            raise GeneralFailure(f"{name} can only be written in a store transaction")
        t = node_settings_table
        tx.execute(t.delete().where(t.c.name == name))
        tx.execute(t.insert().values(name=name, value=encode(value)))


class SQLReplayGuard:
    """The last Hashed Password Timestamp accepted per user, in the database every node shares."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def advance(self, username: str, timestamp: int) -> bool:
        """Record C{timestamp} as C{username}'s last, if it is later than the one recorded (one
        guarded UPDATE, or the first INSERT); C{False}: not later (a replay, or a concurrent
        request with the same credential won)."""
        t = credential_timestamps_table
        key = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()
        try:
            with _db_errors("recording a Hashed Password Timestamp"), self.engine.begin() as conn:
                if conn.execute(t.update().where(t.c.user_key == key, t.c.last < timestamp)
                                .values(last=timestamp)).rowcount == 1:
                    return True
                if conn.execute(sa.select(t.c.last).where(t.c.user_key == key)).first() is not None:
                    return False
        except KmipError:
            raise
        except StoreError as e:
            _log.error("recording a Hashed Password Timestamp failed: {error}", error=str(e))
            raise GeneralFailure("recording a Hashed Password Timestamp failed; retry") from None
        try:
            with self.engine.begin() as conn:
                conn.execute(t.insert().values(user_key=key, last=timestamp))
            return True
        except sa.exc.IntegrityError:
            return False  # another node recorded this user's first Timestamp meanwhile: ask again
        except sa.exc.SQLAlchemyError as e:
            _log.error("recording a Hashed Password Timestamp failed: {error}", error=str(e))
            raise GeneralFailure("recording a Hashed Password Timestamp failed; retry") from None
