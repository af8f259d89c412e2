"""kmipd never writes into a database holding another schema (issue 12: PyKMIP's database).

The PyKMIP database here is made the way PyKMIP 0.11's server makes it
(C{kmip.services.server.engine}: C{sqltypes.Base.metadata.create_all} on a SQLite engine, objects
added through an ORM session), with keys and secret data in it.
"""

from __future__ import annotations

import hashlib
import os

import sqlalchemy as sa
from twisted.trial.unittest import SynchronousTestCase

from kmipd.config import load_config
from kmipd.service import KMIPService
from kmipd.store import SchemaError, SQLObjectStore
from kmipd.store.foreign import PYKMIP_TABLES, foreign_tables
from kmipd.store.migrations import upgrade

from .test_contract import MASTER_KEY, _postgres_url

try:
    from kmip.core import enums as pykmip_enums
    from kmip.pie import objects as pykmip_objects
    from kmip.pie import sqltypes as pykmip_sqltypes
except ImportError:  # pragma: no cover - PyKMIP is a test dependency
    pykmip_sqltypes = None


def make_pykmip_database(url: str) -> None:
    """A PyKMIP 0.11 server database at C{url} holding a symmetric key and secret data."""
    from sqlalchemy.orm import sessionmaker

    engine = sa.create_engine(url)
    try:
        pykmip_sqltypes.Base.metadata.create_all(engine)
        session = sessionmaker(bind=engine, expire_on_commit=False)()
        session.add(pykmip_objects.SymmetricKey(pykmip_enums.CryptographicAlgorithm.AES, 128, b"\x11" * 16,
                                                name="pykmip-key"))
        session.add(pykmip_objects.SecretData(b"pykmip secret", pykmip_enums.SecretDataType.PASSWORD))
        session.commit()
        session.close()
    finally:
        engine.dispose()


def snapshot(directory: str) -> dict[str, str]:
    """Name -> SHA-256 of every file in C{directory}."""
    out = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


class PyKMIPSQLiteTests(SynchronousTestCase):
    """A PyKMIP SQLite file is refused and left byte for byte as it was."""

    if pykmip_sqltypes is None:
        skip = "PyKMIP is not installed"

    def setUp(self) -> None:
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)
        self.path = os.path.join(self.dir, "pykmip.database")
        self.url = "sqlite:///" + self.path
        make_pykmip_database(self.url)
        self.before = snapshot(self.dir)

    def assert_refusal(self, e: Exception) -> None:
        text = str(e)
        self.assertIn("PyKMIP", text)
        self.assertIn("kmipd-admin import-pykmip", text)
        self.assertIn(self.path, text)
        self.assertEqual(snapshot(self.dir), self.before)  # no byte changed, no -wal/-shm file

    def test_detected(self) -> None:
        """The tables PyKMIP's own code creates are recognised as PyKMIP's."""
        engine = sa.create_engine(self.url)
        self.addCleanup(engine.dispose)
        tables = set(sa.inspect(engine).get_table_names())
        self.assertEqual(tables, set(PYKMIP_TABLES))
        self.assertEqual(foreign_tables(tables), (True, sorted(tables)))

    def test_store_refuses(self) -> None:
        """Opening the store on it raises SchemaError naming the import command."""
        self.assert_refusal(self.assertRaises(SchemaError, SQLObjectStore, self.url, MASTER_KEY))

    def test_server_refuses_pykmip_conf(self) -> None:
        """A PyKMIP server.conf (database_path) starts no kmipd: the error names the import
        command and a place for kmipd's own database; no master key file is created."""
        data_dir = os.path.join(self.dir, "kmipd-data")
        conf = os.path.join(self.dir, "server.conf")
        with open(conf, "w") as f:
            f.write(f"[server]\nhostname=127.0.0.1\nport=5696\ndatabase_path={self.path}\n"
                    f"data_dir={data_dir}\n")
        self.before = snapshot(self.dir)
        e = self.assertRaises(SchemaError, KMIPService, load_config(conf), tls=False)
        self.assert_refusal(e)
        self.assertIn(os.path.join(data_dir, "kmipd.sqlite"), str(e))
        self.assertFalse(os.path.exists(os.path.join(data_dir, "master.key")))

    def test_db_upgrade_refuses(self) -> None:
        """Even the explicit schema command will not write into PyKMIP's database."""
        self.assert_refusal(self.assertRaises(SchemaError, upgrade, self.url))


class PyKMIPPostgreSQLTests(SynchronousTestCase):
    """PyKMIP's tables in a PostgreSQL schema are refused too, and no kmipd table is created."""

    if pykmip_sqltypes is None:
        skip = "PyKMIP is not installed"
    elif not os.environ.get("KMIPD_TEST_POSTGRES_URL"):
        skip = "set KMIPD_TEST_POSTGRES_URL to run"

    def test_refused(self) -> None:
        """(PyKMIP itself only runs on SQLite; its core tables are made by hand here.)"""
        url = _postgres_url(self)
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        names = ("managed_objects", "crypto_objects", "keys", "symmetric_keys", "managed_object_names")
        with engine.begin() as conn:
            for name in names:
                conn.exec_driver_sql(f"CREATE TABLE {name} (uid INTEGER PRIMARY KEY)")
        e = self.assertRaises(SchemaError, SQLObjectStore, url, MASTER_KEY)
        self.assertIn("kmipd-admin import-pykmip", str(e))
        self.assertEqual(set(sa.inspect(engine).get_table_names()), set(names))
