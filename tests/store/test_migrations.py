"""Alembic migrations and the schema revision check on open."""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from twisted.trial.unittest import SynchronousTestCase

from kmipd.store import SchemaError, SQLObjectStore, migrations
from kmipd.store import sql as store_sql
from kmipd.store.migrations import VERSION_TABLE, current, head_revision, known_revisions, upgrade
from kmipd.store.models import attributes_table, metadata, objects_table

from .test_contract import MASTER_KEY, _mysql_url, _postgres_url, make_object
from .test_sql import sqlite_url


def _condition(where: object) -> str | None:
    """An index condition as text, lower case, without enclosing parentheses (C{None}: none)."""
    if where is None:
        return None
    text = str(where).strip().lower()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    return text


class _MigrationTestsMixin:
    """Migration behaviour on one backend; subclasses provide C{make_url}."""

    def make_url(self) -> str:
        raise NotImplementedError

    def setUp(self) -> None:
        self.url = self.make_url()

    def engine(self) -> sa.engine.Engine:
        engine = store_sql.create_store_engine(self.url, pool_size=1)
        self.addCleanup(engine.dispose)  # type: ignore[attr-defined]
        return engine

    def test_upgrade_fresh_then_open(self) -> None:
        """upgrade() stamps the head revision; the store then opens and works."""
        self.assertIsNone(current(self.url))
        upgrade(self.url)
        self.assertEqual(current(self.url), head_revision())
        store = SQLObjectStore(self.url, MASTER_KEY)
        self.addCleanup(store.close)  # type: ignore[attr-defined]
        with store.transaction() as tx:
            tx.add(make_object("u-1"))
        with store.transaction() as tx:
            self.assertIsNotNone(tx.get("u-1"))

    def test_upgrade_is_idempotent(self) -> None:
        """Upgrading an up-to-date database changes nothing."""
        upgrade(self.url)
        upgrade(self.url)
        self.assertEqual(current(self.url), head_revision())

    def test_empty_database_initialised(self) -> None:
        """Opening a brand-new empty database creates the schema (zero-config start)."""
        store = SQLObjectStore(self.url, MASTER_KEY)
        self.addCleanup(store.close)  # type: ignore[attr-defined]
        self.assertEqual(current(self.url), head_revision())

    def test_other_tables_refused_unless_upgraded_deliberately(self) -> None:
        """A database holding only another application's tables is not initialised by the server
        (the error names the table and the deliberate way); `db upgrade` shares it on purpose."""
        with self.engine().begin() as conn:
            conn.exec_driver_sql("CREATE TABLE someone_else (x INTEGER)")
        e = self.assertRaises(SchemaError, SQLObjectStore, self.url, MASTER_KEY)  # type: ignore[attr-defined]
        self.assertIn("someone_else", str(e))  # type: ignore[attr-defined]
        self.assertIn("kmipd-admin db upgrade", str(e))  # type: ignore[attr-defined]
        self.assertIsNone(current(self.url))  # type: ignore[attr-defined]
        upgrade(self.url)
        store = SQLObjectStore(self.url, MASTER_KEY)
        self.addCleanup(store.close)  # type: ignore[attr-defined]
        self.assertEqual(current(self.url), head_revision())

    def test_schema_matches_models(self) -> None:
        """The migrated schema is exactly the models' metadata (no autogenerate differences)."""
        upgrade(self.url)
        with self.engine().connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
            diff = compare_metadata(ctx, metadata)
        self.assertEqual(diff, [])

    def test_index_conditions_match_models(self) -> None:
        """Each index's WHERE (partial indexes: SQLite, PostgreSQL) is the models' for the dialect
        (Alembic's comparison above does not look at index conditions)."""
        upgrade(self.url)
        engine = self.engine()
        dialect = engine.dialect.name
        expected: dict[str, str | None] = {}
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            for table in metadata.tables.values():
                reflected = {i["name"]: _condition(i.get("dialect_options", {}).get(f"{dialect}_where"))
                             for i in inspector.get_indexes(table.name)}
                wanted = {str(i.name): _condition(i.dialect_options[dialect]["where"] if dialect in
                                                  ("sqlite", "postgresql") else None) for i in table.indexes}
                self.assertEqual({n: reflected.get(n, "missing") for n in wanted}, wanted)  # type: ignore[attr-defined]
                expected.update(wanted)
        partial = {"alt": "alt_key is not null", "int": "int_value is not null"}
        self.assertEqual({k: expected[f"ix_kmipd_attributes_{k}"] for k in partial},  # type: ignore[attr-defined]
                         partial if dialect in ("sqlite", "postgresql") else {"alt": None, "int": None})

    def test_upgrade_from_0003_keeps_rows_and_downgrades(self) -> None:
        """0004 rebuilds the two indexes over existing rows; its downgrade restores full indexes."""
        upgrade(self.url, "0003_node_state")
        row = {"object_id": 1, "position": 0, "tag": 1, "value": b"v"}
        with self.engine().begin() as conn:
            conn.execute(objects_table.insert().values(id=1, uid="u", object_type=2, archived=False, created=0,
                                                       revision=1))
            conn.execute(attributes_table.insert(), [
                dict(row, name="Name", item_type=1, match_key=b"1" * 32, alt_key=b"2" * 32, int_value=None),
                dict(row, name="State", item_type=5, match_key=b"3" * 32, alt_key=None, int_value=1)])
        upgrade(self.url)
        with self.engine().connect() as conn:
            count = conn.exec_driver_sql("SELECT count(*) FROM kmipd_attributes").scalar()
        self.assertEqual(count, 2)  # type: ignore[attr-defined]
        command.downgrade(migrations.alembic_config(self.url), "0003_node_state")
        with self.engine().connect() as conn:
            indexes = sa.inspect(conn).get_indexes("kmipd_attributes")
        partial = [i["name"] for i in indexes if any(k.endswith("_where") for k in i.get("dialect_options", {}))]
        self.assertEqual(partial, [])  # type: ignore[attr-defined]
        self.assertEqual(current(self.url), "0003_node_state")  # type: ignore[attr-defined]

    def test_unknown_revision(self) -> None:
        """A database stamped with a revision this kmipd does not know raises SchemaError."""
        upgrade(self.url)
        with self.engine().begin() as conn:
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = 'ffff_from_the_future'"))
        e = self.assertRaises(SchemaError, SQLObjectStore, self.url, MASTER_KEY)  # type: ignore[attr-defined]
        self.assertIn("ffff_from_the_future", str(e))
        self.assertIn(head_revision(), str(e))
        self.assertIn("unknown", str(e))

    def test_upgrade_unknown_revision(self) -> None:
        """upgrade() of a database at an unknown revision raises SchemaError naming it."""
        upgrade(self.url)
        with self.engine().begin() as conn:
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = 'ffff_from_the_future'"))
        e = self.assertRaises(SchemaError, upgrade, self.url)  # type: ignore[attr-defined]
        self.assertIn("ffff_from_the_future", str(e))

    def test_missing_revision_row(self) -> None:
        """kmipd tables without a stamped revision raise SchemaError naming the upgrade command."""
        upgrade(self.url)
        with self.engine().begin() as conn:
            conn.execute(sa.text(f"DELETE FROM {VERSION_TABLE}"))
        e = self.assertRaises(SchemaError, SQLObjectStore, self.url, MASTER_KEY)  # type: ignore[attr-defined]
        self.assertIn("kmipd-admin db upgrade", str(e))
        self.assertIn(store_sql.safe_url(self.url), str(e))

    def test_older_revision(self) -> None:
        """A database at an older known revision raises SchemaError naming both revisions and the command."""
        upgrade(self.url)
        old = head_revision()
        self.patch(migrations, "head_revision", lambda: "0002_newer")  # type: ignore[attr-defined]
        self.patch(migrations, "known_revisions", lambda: {old, "0002_newer"})  # type: ignore[attr-defined]
        e = self.assertRaises(SchemaError, SQLObjectStore, self.url, MASTER_KEY)  # type: ignore[attr-defined]
        self.assertEqual(
            str(e),
            f"database at {store_sql.safe_url(self.url)} has schema revision {old}, this kmipd needs "
            "0002_newer: run `kmipd-admin db upgrade`",
        )


class SQLiteMigrationTests(_MigrationTestsMixin, SynchronousTestCase):
    """Migrations on SQLite."""

    def make_url(self) -> str:
        return sqlite_url(self)[0]

    def test_known_revisions(self) -> None:
        """The head revision is the partial attribute indexes; every revision is known."""
        self.assertEqual(head_revision(), "0004_partial_indexes")
        self.assertEqual({"0001_initial", "0002_master_key_ring", "0003_node_state", "0004_partial_indexes"},
                         known_revisions())

    def test_config_works_from_any_directory(self) -> None:
        """Migrations are found from the package, not from the working directory."""
        elsewhere = os.path.abspath(self.mktemp())
        os.makedirs(elsewhere)
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(elsewhere)
        upgrade(self.url)
        self.assertEqual(current(self.url), head_revision())
        self.assertEqual(os.listdir(elsewhere), [])


class PostgreSQLMigrationTests(_MigrationTestsMixin, SynchronousTestCase):
    """Migrations on PostgreSQL."""

    if not os.environ.get("KMIPD_TEST_POSTGRES_URL"):
        skip = "set KMIPD_TEST_POSTGRES_URL to run"

    def make_url(self) -> str:
        return _postgres_url(self)


class MariaDBMigrationTests(_MigrationTestsMixin, SynchronousTestCase):
    """Migrations on MariaDB/MySQL."""

    if not os.environ.get("KMIPD_TEST_MYSQL_URL"):
        skip = "set KMIPD_TEST_MYSQL_URL to run"

    def make_url(self) -> str:
        return _mysql_url(self)
