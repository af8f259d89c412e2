# -*- test-case-name: tests.store.test_foreign -*-
"""Refuse databases that hold another application's schema (PyKMIP's above all).

kmipd never writes into such a database: pointed at PyKMIP's SQLite file (PyKMIP's
C{server.conf} names it in C{database_path}), kmipd would create its tables beside PyKMIP's and
serve an empty store while the PyKMIP keys sit unseen. L{refuse_foreign_schema} runs before
anything is written (on SQLite, before the connection pragmas, which would change the file).
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from .engine import safe_url
from .interface import SchemaError, StoreError

__all__ = ["KMIPD_TABLES", "PYKMIP_TABLES", "foreign_tables", "refuse_foreign_schema", "sqlite_tables"]

#: The tables PyKMIP 0.11 creates (kmip/pie/objects.py, kmip/pie/sqltypes.py).
PYKMIP_TABLES = frozenset({
    "managed_objects", "crypto_objects", "keys", "symmetric_keys", "public_keys", "private_keys",
    "split_keys", "certificates", "x509_certificates", "secret_data_objects", "opaque_objects",
    "managed_object_names", "app_specific_info", "app_specific_info_map", "object_groups",
    "object_group_map",
})
#: A database holding C{managed_objects} and at least this many other PyKMIP tables is PyKMIP's.
_PYKMIP_QUORUM = 3

KMIPD_PREFIX = "kmipd_"
KMIPD_TABLES = frozenset({"kmipd_alembic_version", "kmipd_objects", "kmipd_attributes", "kmipd_master_keys",
                          "kmipd_master_key_wraps"})


def _sqlite_tables(path: str) -> set[str]:
    """Table names of the SQLite file at C{path}, read without writing anything."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return set()  # no file yet: nothing foreign
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path} is not a SQLite database kmipd can use: {e}") from None
    finally:
        conn.close()
    return {r[0] for r in rows if not r[0].startswith("sqlite_")}


def sqlite_tables(url: str) -> set[str] | None:
    """The tables of the SQLite file C{url} names (C{None}: not a SQLite file URL)."""
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return None  # reported by the engine
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    return _sqlite_tables(database)


def foreign_tables(tables: set[str]) -> tuple[bool, list[str]]:
    """Whether C{tables} are a PyKMIP database's, and those that are not kmipd's (sorted)."""
    foreign = sorted(t for t in tables if not t.startswith(KMIPD_PREFIX))
    pykmip = "managed_objects" in tables and len(PYKMIP_TABLES & tables) > _PYKMIP_QUORUM
    return pykmip, foreign


def refusal(where: str, pykmip: bool, foreign: list[str], data_dir_hint: str) -> SchemaError:
    """The error refusing a database with C{foreign} tables."""
    shown = ", ".join(foreign[:8]) + (f" and {len(foreign) - 8} more" if len(foreign) > 8 else "")
    if pykmip:
        return SchemaError(
            f"{where} is a PyKMIP server database (tables {shown}); kmipd will not write into it. "
            "Give kmipd its own database (database_url, or database_path pointing at a new file, e.g. "
            f"{data_dir_hint}) and bring the PyKMIP objects over with `kmipd-admin import-pykmip PATH`."
        )
    return SchemaError(
        f"{where} holds tables of another application ({shown}); kmipd will not create its tables "
        f"there. Give kmipd an empty database of its own (e.g. {data_dir_hint}), or, to share this "
        "database deliberately, create kmipd's tables with `kmipd-admin db upgrade`."
    )


def refuse_foreign_schema(url: str, tables: set[str] | None = None, *, pykmip_only: bool = False,
                          hint: str = "<data_dir>/kmipd.sqlite") -> None:
    """Raise L{SchemaError} when the database at C{url} must not be used by kmipd.

    A PyKMIP database is always refused. Other foreign tables are refused when kmipd would
    create its own tables beside them (no kmipd tables yet); a database where kmipd's tables
    were created deliberately next to others (C{kmipd-admin db upgrade}) is accepted.

    @param pykmip_only: refuse only PyKMIP's database (C{kmipd-admin db upgrade}: sharing a
        database with another application is then deliberate).
    @param tables: the database's table names; when C{None}, read here for SQLite files (without
        writing anything) and nothing is checked for other databases.
    """

    if tables is None:
        tables = sqlite_tables(url)
        if tables is None:
            return
    pykmip, foreign = foreign_tables(tables)
    if pykmip or (foreign and not pykmip_only and not KMIPD_TABLES & tables):
        raise refusal(f"the database at {safe_url(url)}", pykmip, foreign, hint)
