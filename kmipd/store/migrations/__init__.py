# -*- test-case-name: tests.store.test_migrations -*-
"""Alembic migrations for the kmipd store, configured in code (no alembic.ini needed).

The revision is kept in the C{kmipd_alembic_version} table so kmipd can share a database with
other Alembic users. L{upgrade} and L{current} are what C{kmipd-admin db ...} and
L{kmipd.store.sql.SQLObjectStore} use.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from .. import node_state as _node_state  # noqa: F401  (their tables join the schema's metadata)
from .. import tickets as _tickets  # noqa: F401
from ..engine import _db_errors, create_store_engine, safe_url
from ..foreign import refuse_foreign_schema
from ..interface import SchemaError

__all__ = ["VERSION_TABLE", "alembic_config", "current", "head_revision", "known_revisions", "upgrade"]

VERSION_TABLE = "kmipd_alembic_version"
_HERE = os.path.dirname(os.path.abspath(__file__))


def alembic_config(url: str | None = None, connection: sa.engine.Connection | None = None) -> Config:
    """An Alembic L{Config} for kmipd's migrations, for C{url} or an open C{connection}."""
    cfg = Config()
    cfg.set_main_option("script_location", _HERE)
    if url is not None:
        # ConfigParser interpolation: escape % (URL-encoded passwords).
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The revision this kmipd's code expects."""
    head = _script().get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every revision this kmipd knows."""
    return {rev.revision for rev in _script().walk_revisions()}


def current_revision(connection: sa.engine.Connection) -> str | None:
    """The revision stamped in the database on C{connection} (C{None}: none)."""
    ctx = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()


def current(url: str) -> str | None:
    """The revision stamped in the database at C{url} (C{None}: not initialised).

    @raise StoreError: the database cannot be reached.
    """

    engine = create_store_engine(url, pool_size=1)
    try:
        with _db_errors(f"reading the schema revision of {safe_url(url)}"), engine.connect() as conn:
            return current_revision(conn)
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head", *, connection: sa.engine.Connection | None = None) -> None:
    """Upgrade the database at C{url} (or on C{connection}) to C{revision}.

    @raise SchemaError: the database is at a revision this kmipd does not know.
    @raise StoreError: the database cannot be reached or the migration failed.
    """

    what = f"upgrading the database at {safe_url(url)}"
    if connection is None:
        refuse_foreign_schema(url, pykmip_only=True)  # SQLite: read before any write
    try:
        if connection is not None:
            with _db_errors(what):
                command.upgrade(alembic_config(url, connection), revision)
            return
        engine = create_store_engine(url, pool_size=1)
        try:
            with _db_errors(what), engine.begin() as conn:
                refuse_foreign_schema(url, set(sa.inspect(conn).get_table_names()), pykmip_only=True)
                command.upgrade(alembic_config(url, conn), revision)
        finally:
            engine.dispose()
    except CommandError as e:
        raise SchemaError(f"{what}: {e} (is the database from a newer kmipd?)") from None
