"""SQLObjectStore specifics on SQLite, the master key file and master key rotation."""

from __future__ import annotations

import datetime
import os
import sqlite3
import stat

import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from twisted.trial.unittest import SynchronousTestCase

from kmipd.metrics import Metrics
from kmipd.store import (
    AttributeFilter,
    LocateQuery,
    MasterKeyError,
    RangeFilter,
    SQLObjectStore,
    StoreError,
    load_master_key,
    load_or_create_master_key,
    rotate_master_key,
)
from kmipd.store.keyring import key_id
from kmipd.store.locating import locate_statement, sqlite3_statement
from kmipd.store.masterkey import seal, unseal, write_key_file
from kmipd.store.models import objects_table
from kmipd.store.sql import safe_url
from kmipd.ttlv import Item

from .test_contract import KEY_PATTERN, MASTER_KEY, make_object, name_item, symmetric_key


def sqlite_url(test: SynchronousTestCase) -> tuple[str, str]:
    """A fresh SQLite URL and its directory."""
    directory = os.path.abspath(test.mktemp())
    os.makedirs(directory)
    return "sqlite:///" + os.path.join(directory, "kmipd.sqlite"), directory


def directory_bytes(directory: str) -> bytes:
    """Every byte of every file in C{directory} (database, WAL, shared memory)."""
    out = b""
    for name in os.listdir(directory):
        with open(os.path.join(directory, name), "rb") as f:
            out += f.read()
    return out


class SQLiteTests(SynchronousTestCase):
    """SQLite configuration and what reaches the disk."""

    def setUp(self) -> None:
        self.url, self.dir = sqlite_url(self)
        self.store = SQLObjectStore(self.url, MASTER_KEY)
        self.addCleanup(self.store.close)

    def test_pragmas(self) -> None:
        """Connections use WAL, enforce foreign keys and wait on a busy database."""
        with self.store.engine.connect() as conn:
            self.assertEqual(conn.exec_driver_sql("PRAGMA journal_mode").scalar(), "wal")
            self.assertEqual(conn.exec_driver_sql("PRAGMA foreign_keys").scalar(), 1)
            self.assertGreaterEqual(conn.exec_driver_sql("PRAGMA busy_timeout").scalar(), 1000)

    def test_fast_read_error_handled_once(self) -> None:
        """A database error on the object read (or Locate) that bypasses SQLAlchemy on SQLite is handled as
        SQLAlchemy would handle it, once: the error metric counts it, the store converts it, and
        the read is not run again through SQLAlchemy (which would wait out busy_timeout twice)."""
        with self.store.transaction() as tx:
            tx.add(make_object("u-1"))
        metrics = Metrics(CollectorRegistry())
        metrics.watch_store(self.store)
        failed: list[BaseException] = []
        sa.event.listen(self.store.engine, "handle_error", lambda context: failed.append(context.original_exception))
        object_reads: list[str] = []

        def executed(conn: object, cursor: object, statement: str, *_: object) -> None:
            if f"FROM {objects_table.name}" in statement:
                object_reads.append(statement)

        sa.event.listen(self.store.engine, "before_cursor_execute", executed)
        other = sqlite3.connect(self.url.removeprefix("sqlite:///"))
        other.execute(f"ALTER TABLE {objects_table.name} RENAME TO moved_away")
        other.commit()
        other.close()
        with self.assertRaises(StoreError) as raised:
            with self.store.transaction() as tx:
                tx.get("u-1")
        self.assertIn("reading object u-1", str(raised.exception))
        self.assertIn("no such table", str(raised.exception))
        self.assertEqual(len(failed), 1)
        self.assertIsInstance(failed[0], sqlite3.OperationalError)
        self.assertEqual(metrics.database_errors._value.get(), 1)
        self.assertEqual(object_reads, [])  # the fast path's error was not retried through SQLAlchemy
        self.store.breaker.success()  # "no such table" opened it; Locate runs on the sqlite3 cursor the same way
        with self.assertRaises(StoreError) as raised:
            with self.store.transaction() as tx:
                tx.locate(LocateQuery(attributes=[AttributeFilter("Name", name_item("n"))]))
        self.assertIn("locating objects", str(raised.exception))
        self.assertEqual(len(failed), 2)
        self.assertEqual(metrics.database_errors._value.get(), 2)
        self.assertEqual(object_reads, [])

    def test_raw_files_hold_no_key_bytes(self) -> None:
        """The key pattern appears nowhere in the SQLite files, before or after closing the store."""
        with self.store.transaction() as tx:
            for i in range(20):
                tx.add(make_object(f"u-{i}", names=(f"n{i}",), material=symmetric_key(KEY_PATTERN)))
        # Sanity: the names did reach the files, so the scan would see clear data.
        self.assertIn(b"n19", directory_bytes(self.dir))
        self.assertNotIn(KEY_PATTERN[:16], directory_bytes(self.dir))
        self.store.close()
        self.assertNotIn(KEY_PATTERN[:16], directory_bytes(self.dir))
        self.assertNotIn(MASTER_KEY, directory_bytes(self.dir))

    def test_material_sealed_with_uid(self) -> None:
        """The material column is an AES-GCM envelope bound to the uid: moved to another row it fails."""
        with self.store.transaction() as tx:
            tx.add(make_object("a"))
            tx.add(make_object("b", material=symmetric_key(b"\x11" * 32)))
        with self.store.engine.begin() as conn:
            blob = conn.execute(sa.select(objects_table.c.material).where(objects_table.c.uid == "a")).scalar()
            conn.execute(sa.update(objects_table).where(objects_table.c.uid == "b").values(material=blob))
        with self.store.transaction() as tx:
            self.assertRaises(StoreError, tx.get, "b")
            self.assertIsNotNone(tx.get("a"))

    def _plan(self, query: LocateQuery) -> str:
        """SQLite's EXPLAIN QUERY PLAN of C{query}'s Locate statement, its details joined."""
        prepared = locate_statement("sqlite", query)
        assert prepared is not None
        sql, params = sqlite3_statement(*prepared, self.store.engine.dialect)  # what Locate runs
        with self.store.engine.connect() as conn:
            return " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))

    def test_locate_uses_indexes(self) -> None:
        """Locate's attribute filters are planned through an index, not a scan of attributes: a
        Name through (name, match_key); a Name Value alone, a range and a mask through the
        partial alt_key / int_value indexes (their conditions implied by the filters')."""
        usage = Item.int(0x42002C, 4)
        plans = {
            "name": self._plan(LocateQuery(attributes=[AttributeFilter("Name", name_item("x"))])),
            "name value": self._plan(LocateQuery(attributes=[AttributeFilter("Name", name_item("x", None))])),
            "range": self._plan(LocateQuery(ranges=[RangeFilter("Activation Date", 1, 2)])),
            "open range": self._plan(LocateQuery(ranges=[RangeFilter("Activation Date")])),
            "mask": self._plan(LocateQuery(attributes=[AttributeFilter("Cryptographic Usage Mask", usage, True)])),
        }
        expected = {"name": "ix_kmipd_attributes_match", "name value": "ix_kmipd_attributes_alt",
                    "range": "ix_kmipd_attributes_int", "open range": "ix_kmipd_attributes_int",
                    "mask": "ix_kmipd_attributes_int"}
        self.assertEqual({k: expected[k] if f"USING COVERING INDEX {expected[k]}" in plan else plan
                          for k, plan in plans.items()}, expected)

    def test_sqlite3_statement_processes_values(self) -> None:
        """The SQL text for the sqlite3 cursor gets its values as a Core execution would send them:
        IN lists expanded, through the types' bind processors."""
        stmt = sa.select(sa.bindparam("t", type_=sa.DateTime)).where(sa.literal(1).in_([1, 2]))
        when = datetime.datetime(2026, 1, 2, 3, 4, 5)
        sql, values = sqlite3_statement(stmt, {"t": when}, self.store.engine.dialect)
        self.assertEqual(values, ("2026-01-02 03:04:05.000000", 1, 1, 2))
        with self.store.engine.connect() as conn:
            self.assertEqual(conn.exec_driver_sql(sql, values).scalar(), "2026-01-02 03:04:05.000000")

    def test_locate_statement_reused_per_shape(self) -> None:
        """Two Locates of the same shape share one statement and still find each its own object."""
        with self.store.transaction() as tx:
            tx.add(make_object("a", names=("first",)))
            tx.add(make_object("b", names=("second",)))
        with self.store.transaction() as tx:
            queries = [LocateQuery(attributes=[AttributeFilter("Name", name_item(n))]) for n in ("first", "second")]
            (s1, p1), (s2, p2) = (locate_statement("sqlite", q) for q in queries)  # type: ignore[misc]
            self.assertIs(s1, s2)
            self.assertNotEqual(p1, p2)
            self.assertEqual([[c.uid for c in tx.locate(q)] for q in queries], [["a"], ["b"]])

    def test_locate_statement_evicted_meanwhile(self) -> None:
        """The shared statement cache read once: another pool thread evicting the shape between a
        membership test and the read (here, right after the test) costs a rebuild, not a KeyError."""
        from kmipd.store import locating

        class Evicting(dict):  # type: ignore[type-arg]
            def __contains__(self, key: object) -> bool:
                found = super().__contains__(key)
                self.pop(key, None)
                return found

        query = LocateQuery(attributes=[AttributeFilter("Name", name_item("x"))])
        cache = Evicting()
        self.patch(locating, "_LOCATE_STATEMENTS", cache)
        first = locate_statement("sqlite", query)
        self.assertIsNotNone(first)
        self.assertIsNotNone(locate_statement("sqlite", query))

    def test_bad_master_key(self) -> None:
        """A master key that is not 32 bytes is refused."""
        self.assertRaises(StoreError, SQLObjectStore, self.url, b"short")

    def test_bad_url(self) -> None:
        """A malformed URL or an unknown driver gives StoreError."""
        self.assertRaises(StoreError, SQLObjectStore, "not a url", MASTER_KEY)
        self.assertRaises(StoreError, SQLObjectStore, "nosuchdb://x/y", MASTER_KEY)

    def test_unreachable_database(self) -> None:
        """A database that cannot be opened gives StoreError naming the database."""
        e = self.assertRaises(StoreError, SQLObjectStore, "sqlite:////nonexistent-dir/x/y.db", MASTER_KEY)
        self.assertIn("nonexistent-dir", str(e))

    def test_safe_url_masks_password(self) -> None:
        """Passwords are masked in URLs shown in messages."""
        shown = safe_url("postgresql+psycopg://kmip:s3cret@db/kmip")
        self.assertNotIn("s3cret", shown)
        self.assertIn("kmip@db", shown.replace(":***", ""))


class MasterKeyFileTests(SynchronousTestCase):
    """load_or_create_master_key and write_key_file."""

    def setUp(self) -> None:
        self.dir = self.mktemp()
        self.path = os.path.join(self.dir, "sub", "master.key")

    def test_created_0600(self) -> None:
        """A missing key file is created with 32 random bytes, mode 0600, and read back."""
        key = load_or_create_master_key(self.path)
        self.assertEqual(len(key), 32)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        self.assertEqual(load_or_create_master_key(self.path), key)
        self.assertNotEqual(load_or_create_master_key(self.path + "2"), key)
        self.assertEqual(sorted(os.listdir(os.path.dirname(self.path))), ["master.key", "master.key2"])

    def test_wrong_size(self) -> None:
        """A key file of the wrong size is a MasterKeyError naming the file and the size."""
        os.makedirs(os.path.dirname(self.path))
        with open(self.path, "wb") as f:
            f.write(b"x" * 31)
        e = self.assertRaises(MasterKeyError, load_or_create_master_key, self.path)
        self.assertIn(self.path, str(e))
        self.assertIn("32", str(e))

    def test_missing_for_load(self) -> None:
        """load_master_key of a missing file is a MasterKeyError."""
        self.assertRaises(MasterKeyError, load_master_key, self.path)

    def test_no_overwrite(self) -> None:
        """write_key_file refuses to replace an existing key file."""
        key = load_or_create_master_key(self.path)
        self.assertRaises(MasterKeyError, write_key_file, self.path, b"\x02" * 32)
        self.assertEqual(load_master_key(self.path), key)

    def test_seal_round_trip(self) -> None:
        """seal/unseal round-trip; wrong key or wrong uid raise MasterKeyError."""
        blob = seal(MASTER_KEY, b"secret", b"uid-1")
        self.assertNotIn(b"secret", blob)
        self.assertEqual(unseal(MASTER_KEY, blob, b"uid-1"), b"secret")
        self.assertRaises(MasterKeyError, unseal, MASTER_KEY, blob, b"uid-2")
        self.assertRaises(MasterKeyError, unseal, b"\x00" * 32, blob, b"uid-1")
        self.assertRaises(MasterKeyError, seal, b"short", b"x", b"y")


class RotationTests(SynchronousTestCase):
    """rotate_master_key re-encrypts every row and swaps the key files."""

    def setUp(self) -> None:
        self.url, self.dir = sqlite_url(self)
        self.key_path = os.path.join(self.dir, "master.key")
        self.old_key = load_or_create_master_key(self.key_path)
        store = SQLObjectStore(self.url, self.old_key)
        with store.transaction() as tx:
            for i in range(25):
                obj = make_object(f"u-{i}", material=symmetric_key(bytes([i]) * 32))
                if i == 3:
                    obj.material = None
                tx.add(obj)
        store.close()

    def assert_readable(self, key: bytes) -> None:
        store = SQLObjectStore(self.url, key)
        self.addCleanup(store.close)
        with store.transaction() as tx:
            for i in range(25):
                obj = tx.get(f"u-{i}")
                assert obj is not None
                self.assertEqual(obj.material, None if i == 3 else symmetric_key(bytes([i]) * 32))

    def test_rotate_generated_key(self) -> None:
        """Without a new key file a key is generated and installed; every row is re-sealed under
        it; the old key file is kept; a store with the new key file reads everything."""
        result = rotate_master_key(self.url, self.key_path, batch_size=7)
        new_key = load_master_key(self.key_path)
        self.assertNotEqual(new_key, self.old_key)
        self.assertEqual((result.rows, result.reencrypted, result.new_key_id), (24, 24, key_id(new_key)))
        self.assertEqual(load_master_key(result.old_key_path), self.old_key)
        self.assertFalse(os.path.exists(self.key_path + ".new"))
        self.assert_readable(new_key)
        engine = sa.create_engine(self.url)
        self.addCleanup(engine.dispose)
        with engine.connect() as conn:
            ids = set(conn.execute(sa.select(objects_table.c.key_id).where(objects_table.c.material.is_not(None)))
                      .scalars())
        self.assertEqual(ids, {key_id(new_key)})

    def test_rotate_given_key(self) -> None:
        """--new-key-file: that key ends up at master_key_path."""
        new_path = os.path.join(self.dir, "next.key")
        new_key = load_or_create_master_key(new_path)
        result = rotate_master_key(self.url, self.key_path, new_path)
        self.assertEqual(result.reencrypted, 24)
        self.assertEqual(load_master_key(self.key_path), new_key)
        self.assertFalse(os.path.exists(new_path))
        self.assert_readable(new_key)

    def test_rotate_row_under_unknown_key(self) -> None:
        """A row that does not open aborts the rotation naming the object; the key file stays."""
        engine = sa.create_engine(self.url)
        with engine.begin() as conn:
            conn.execute(sa.update(objects_table).where(objects_table.c.uid == "u-20")
                         .values(material=seal(b"\x07" * 32, b"x", b"u-20")))
        engine.dispose()
        e = self.assertRaises(StoreError, rotate_master_key, self.url, self.key_path)
        self.assertIn("object u-20", str(e))
        self.assertEqual(load_master_key(self.key_path), self.old_key)

    def test_rotate_same_key(self) -> None:
        """Rotating to the current key is refused."""
        self.assertRaises(MasterKeyError, rotate_master_key, self.url, self.key_path, self.key_path)
