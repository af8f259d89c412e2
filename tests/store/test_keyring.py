"""The master-key ring and online rotation (issue 12: rotating while a server runs loses no key).

Each scenario runs on SQLite and, when C{KMIPD_TEST_POSTGRES_URL} / C{KMIPD_TEST_MYSQL_URL} are
set, on PostgreSQL and MariaDB.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

import sqlalchemy as sa
from twisted.trial.unittest import SynchronousTestCase

from kmipd.admin import main as admin_main
from kmipd.store import SQLObjectStore, StoreError, load_master_key, load_or_create_master_key, rotate_master_key
from kmipd.store.interface import LocateQuery
from kmipd.store.keyring import CURRENT, REFRESH_INTERVAL, RETIRED, RingError, key_id
from kmipd.store.masterkey import seal
from kmipd.store.migrations import upgrade
from kmipd.store.models import master_keys_table, objects_table

from .test_contract import _mysql_url, _postgres_url, make_object, symmetric_key
from .test_sql import sqlite_url


class _Crash(Exception):
    """Stands for the rotation process dying between two batches."""


def material_for(uid: str) -> bytes:
    return uuid.UUID(uid).bytes * 2


class _Writer:
    """A running server: a store creating (and reading back) keys in its own thread."""

    def __init__(self, store: SQLObjectStore) -> None:
        self.store = store
        self.created: list[str] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            uid = str(uuid.uuid4())
            try:
                with self.store.transaction() as tx:
                    tx.add(make_object(uid, material=symmetric_key(material_for(uid))))
                self.created.append(uid)  # acknowledged
                with self.store.transaction() as tx:
                    obj = tx.get(self.created[len(self.created) // 2])
                    assert obj is not None
            except BaseException as e:  # noqa: BLE001 - reported by the test
                self.errors.append(e)
                return
            time.sleep(0.005)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


class _RingTestsMixin:
    """Ring and rotation behaviour on one backend; subclasses give C{make_url}."""

    def make_url(self) -> str:
        raise NotImplementedError

    def setUp(self) -> None:
        self.url = self.make_url()
        self.dir = os.path.abspath(self.mktemp())  # type: ignore[attr-defined]
        os.makedirs(self.dir)
        self.key_path = os.path.join(self.dir, "master.key")
        self.key = load_or_create_master_key(self.key_path)

    def open(self, key: bytes | None = None) -> SQLObjectStore:
        store = SQLObjectStore(self.url, key if key is not None else load_master_key(self.key_path),
                               key_path=self.key_path)
        self.addCleanup(store.close)  # type: ignore[attr-defined]
        return store

    def add(self, store: SQLObjectStore, n: int) -> list[str]:
        made = []
        for _ in range(n):
            uid = str(uuid.uuid4())
            with store.transaction() as tx:
                tx.add(make_object(uid, material=symmetric_key(material_for(uid))))
            made.append(uid)
        return made

    def assert_all_open(self, store: SQLObjectStore, uids: list[str]) -> None:
        with store.transaction() as tx:
            for uid in uids:
                obj = tx.get(uid)
                assert obj is not None, uid
                self.assertEqual(obj.material, symmetric_key(material_for(uid)))  # type: ignore[attr-defined]

    def key_ids(self) -> set[str]:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                o = objects_table
                return set(conn.execute(sa.select(o.c.key_id).where(o.c.material.is_not(None))).scalars())
        finally:
            engine.dispose()

    def states(self) -> dict[str, str]:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return dict(conn.execute(sa.select(master_keys_table.c.key_id, master_keys_table.c.state)).all())
        finally:
            engine.dispose()

    # -- tests -------------------------------------------------------------------
    def test_rows_record_their_key(self) -> None:
        """Every sealed row names the master key that sealed it; the ring knows it as current."""
        store = self.open()
        self.add(store, 3)
        self.assertEqual(self.key_ids(), {key_id(self.key)})  # type: ignore[attr-defined]
        self.assertEqual(self.states(), {key_id(self.key): CURRENT})  # type: ignore[attr-defined]

    def test_unknown_key_refused(self) -> None:
        """A key file the database does not know: refused at start, naming file and key ids."""
        self.add(self.open(), 1)
        e = self.assertRaises(RingError, SQLObjectStore, self.url, b"\x09" * 32,  # type: ignore[attr-defined]
                              key_path="/srv/wrong.key")
        for text in ("/srv/wrong.key", key_id(b"\x09" * 32), key_id(self.key), "unknown"):
            self.assertIn(text, str(e))  # type: ignore[attr-defined]

    def test_missing_key_file_not_regenerated(self) -> None:
        """A server whose key file is gone refuses to start (naming the file and the key the
        database needs) instead of generating a new key that would open nothing."""
        from kmipd.config import load_config
        from kmipd.service import KMIPService

        self.add(self.open(), 1)
        os.unlink(self.key_path)
        config = load_config(None, {"database_url": self.url, "data_dir": self.dir,
                                    "master_key_path": self.key_path})
        e = self.assertRaises(RingError, KMIPService, config, tls=False)  # type: ignore[attr-defined]
        self.assertIn(self.key_path, str(e))  # type: ignore[attr-defined]
        self.assertIn(key_id(self.key), str(e))  # type: ignore[attr-defined]
        self.assertFalse(os.path.exists(self.key_path))  # type: ignore[attr-defined]

    def test_rotation_online_crash_resume_restart(self) -> None:
        """Rotate while a server creates keys; crash midway; the server keeps working; resume;
        every acknowledged key opens in the running server and after a restart on the new key,
        and every row ends up under the new key."""
        store = self.open()
        before = self.add(store, 30)
        writer = _Writer(store)
        self.addCleanup(writer.stop)
        batches = []

        def crash_on_third() -> None:
            batches.append(1)
            if len(batches) == 3:
                raise _Crash()

        try:
            self.assertRaises(_Crash, rotate_master_key, self.url, self.key_path,  # type: ignore[attr-defined]
                              batch_size=5, after_batch=crash_on_third)
            self.assertTrue(os.path.exists(self.key_path + ".new"))  # type: ignore[attr-defined]
            self.assertEqual(load_master_key(self.key_path), self.key)  # type: ignore[attr-defined]
            new_key = load_master_key(self.key_path + ".new")
            time.sleep(1.5)  # the server switches to the new key and keeps creating
            self.assertEqual(writer.errors, [])  # type: ignore[attr-defined]
            self.assert_all_open(store, before + writer.created)
            progress: list[tuple[int, int]] = []
            result = rotate_master_key(self.url, self.key_path, batch_size=5,
                                       progress=lambda d, t: progress.append((d, t)))
            time.sleep(0.3)
        finally:
            writer.stop()
        self.assertEqual(writer.errors, [])  # type: ignore[attr-defined]
        self.assertGreater(len(writer.created), 10)  # type: ignore[attr-defined]
        self.assertTrue(progress)  # type: ignore[attr-defined]
        self.assertEqual(result.new_key_id, key_id(new_key))  # type: ignore[attr-defined]
        self.assertEqual(load_master_key(self.key_path), new_key)  # type: ignore[attr-defined]
        self.assertEqual(load_master_key(result.old_key_path), self.key)  # type: ignore[attr-defined]
        everything = before + writer.created
        self.assert_all_open(store, everything)  # the server that was never restarted
        store.close()
        self.assertEqual(self.key_ids(), {key_id(new_key)})  # type: ignore[attr-defined]
        self.assertEqual(self.states(), {key_id(new_key): CURRENT, key_id(self.key): RETIRED})  # type: ignore[attr-defined]
        self.assert_all_open(self.open(new_key), everything)  # restarted with the new key file

    def test_reading_server_refreshes_stale_ring(self) -> None:
        """A server that only reads still re-reads its master-key ring
        once it is older than REFRESH_INTERVAL, and not before (a rotation reaches it in time)."""
        store = self.open()
        uids = self.add(store, 1)
        now = [time.monotonic() + 100 * REFRESH_INTERVAL]
        store.ring._clock = lambda: now[0]  # type: ignore[attr-defined]
        loads: list[object] = []
        load = store.ring.load
        self.patch(store.ring, "load", lambda conn: (loads.append(conn), load(conn)))  # type: ignore[attr-defined]

        def read() -> None:
            with store.transaction() as tx:
                tx.get(uids[0])
                tx.locate(LocateQuery())

        read()  # stale: re-read, stamped at the fake time
        self.assertEqual(len(loads), 1)  # type: ignore[attr-defined]
        now[0] += REFRESH_INTERVAL / 2
        read()
        self.assertEqual(len(loads), 1)  # type: ignore[attr-defined]
        now[0] += REFRESH_INTERVAL
        read()
        self.assertEqual(len(loads), 2)  # type: ignore[attr-defined]

    def test_next_rotation_retires_old_key_file(self) -> None:
        """After two rotations the first key file no longer starts a server (clear message)."""
        uids = self.add(self.open(), 4)
        rotate_master_key(self.url, self.key_path, settle=0)
        rotate_master_key(self.url, self.key_path, settle=0)
        e = self.assertRaises(RingError, SQLObjectStore, self.url, self.key, key_path="/old.key")  # type: ignore[attr-defined]
        self.assertIn("retired", str(e))  # type: ignore[attr-defined]
        self.assert_all_open(self.open(), uids)

    def test_rotation_names_object_that_does_not_open(self) -> None:
        """A row under the current key id whose material does not open names the object; rerunning
        after the row is repaired (here: removed) completes."""
        store = self.open()
        uids = self.add(store, 6)
        engine = sa.create_engine(self.url)
        self.addCleanup(engine.dispose)  # type: ignore[attr-defined]
        with engine.begin() as conn:
            conn.execute(sa.update(objects_table).where(objects_table.c.uid == uids[2])
                         .values(material=seal(b"\x05" * 32, b"junk", uids[2].encode())))
        e = self.assertRaises(StoreError, rotate_master_key, self.url, self.key_path, batch_size=2)  # type: ignore[attr-defined]
        self.assertIn(f"object {uids[2]}", str(e))  # type: ignore[attr-defined]
        with store.transaction() as tx:
            tx.remove(uids[2])
        rotate_master_key(self.url, self.key_path, batch_size=2, settle=0)
        self.assert_all_open(self.open(), uids[:2] + uids[3:])

    def test_admin_command_shows_progress(self) -> None:
        """kmipd-admin rotate-master-key prints progress and the new key id."""
        import io

        self.add(self.open(), 7)
        conf = os.path.join(self.dir, "server.conf")
        with open(conf, "w") as f:
            f.write(f"[server]\ndatabase_url={self.url}\ndata_dir={self.dir}\n"
                    f"master_key_path={self.key_path}\n")
        out, err = io.StringIO(), io.StringIO()
        code = admin_main(["rotate-master-key", "--config", conf, "--batch-size", "3"], stdout=out, stderr=err)
        self.assertEqual((code, err.getvalue()), (0, ""))  # type: ignore[attr-defined]
        text = out.getvalue()
        self.assertIn("re-sealed 3 of 7 objects", text)  # type: ignore[attr-defined]
        self.assertIn("re-sealed 7 of 7 objects", text)  # type: ignore[attr-defined]
        self.assertIn(key_id(load_master_key(self.key_path)), text)  # type: ignore[attr-defined]


class SQLiteRingTests(_RingTestsMixin, SynchronousTestCase):
    """On SQLite."""

    def make_url(self) -> str:
        return sqlite_url(self)[0]

    def test_legacy_database_adopts_its_key(self) -> None:
        """A database from before the ring (revision 0001) is upgraded; the first server records
        its key and stamps the old rows; a wrong key file is refused naming an object."""
        upgrade(self.url, "0001_initial")
        engine = sa.create_engine(self.url)
        self.addCleanup(engine.dispose)
        uid = str(uuid.uuid4())
        from kmipd.ttlv import encode

        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO kmipd_objects (uid, object_type, archived, created, revision, material) "
                "VALUES (?, 2, 0, 0, 1, ?)",
                (uid, seal(self.key, encode(symmetric_key(material_for(uid))), uid.encode())))
        upgrade(self.url)
        e = self.assertRaises(RingError, SQLObjectStore, self.url, b"\x03" * 32)
        self.assertIn(f"object {uid}", str(e))
        store = self.open()
        self.assert_all_open(store, [uid])
        self.assertEqual(self.key_ids(), {key_id(self.key)})


    def test_rotation_killed_then_resumed(self) -> None:
        """A rotation process killed with SIGKILL between two batches
        is resumed by running the command again; every key opens after a restart."""
        import signal
        import subprocess
        import sys

        uids = self.add(self.open(), 40)
        script = (
            "import sys, time\n"
            "from kmipd.store import rotate_master_key\n"
            "def progress(done, total):\n"
            "    print(done, total, flush=True)\n"
            "    time.sleep(0.2)\n"
            "rotate_master_key(sys.argv[1], sys.argv[2], batch_size=4, progress=progress)\n"
        )
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ, PYTHONPATH=root)
        proc = subprocess.Popen([sys.executable, "-c", script, self.url, self.key_path],
                                stdout=subprocess.PIPE, env=env)
        try:
            lines = [proc.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
            self.assertTrue(all(lines), lines)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(30)
            proc.stdout.close()  # type: ignore[union-attr]
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        self.assertEqual(load_master_key(self.key_path), self.key)  # not swapped yet
        new_key = load_master_key(self.key_path + ".new")
        self.assert_all_open(self.open(), uids)  # a server restarted meanwhile reads everything
        rotate_master_key(self.url, self.key_path, batch_size=4, settle=0)
        self.assertEqual(load_master_key(self.key_path), new_key)
        self.assertEqual(self.key_ids(), {key_id(new_key)})
        self.assert_all_open(self.open(new_key), uids)


class PostgreSQLRingTests(_RingTestsMixin, SynchronousTestCase):
    """On PostgreSQL."""

    if not os.environ.get("KMIPD_TEST_POSTGRES_URL"):
        skip = "set KMIPD_TEST_POSTGRES_URL to run"

    def make_url(self) -> str:
        return _postgres_url(self)


class MariaDBRingTests(_RingTestsMixin, SynchronousTestCase):
    """On MariaDB."""

    if not os.environ.get("KMIPD_TEST_MYSQL_URL"):
        skip = "set KMIPD_TEST_MYSQL_URL to run"

    def make_url(self) -> str:
        return _mysql_url(self)
