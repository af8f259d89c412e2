"""The kmipd-admin command."""

from __future__ import annotations

import io
import os

import sqlalchemy as sa
from twisted.trial.unittest import SynchronousTestCase

from kmipd.admin import main
from kmipd.store import SQLObjectStore, load_master_key, load_or_create_master_key
from kmipd.store.migrations import VERSION_TABLE, current, head_revision

from .store.test_contract import make_object, symmetric_key


class AdminTests(SynchronousTestCase):
    """kmipd-admin db / rotate-master-key / hash-password."""

    def setUp(self) -> None:
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)
        self.db_path = os.path.join(self.dir, "kmipd.sqlite")
        self.url = "sqlite:///" + self.db_path
        self.key_path = os.path.join(self.dir, "master.key")
        self.config = os.path.join(self.dir, "server.conf")
        with open(self.config, "w") as f:
            f.write(f"[server]\ndatabase_path={self.db_path}\nmaster_key_path={self.key_path}\n"
                    f"data_dir={self.dir}\n")

    def run_admin(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    def test_db_upgrade_from_config(self) -> None:
        """db upgrade creates the schema in the configured database, then reports it is current."""
        code, out, err = self.run_admin("db", "upgrade", "--config", self.config)
        self.assertEqual((code, err), (0, ""))
        self.assertIn(f"upgraded from an empty database to {head_revision()}", out)
        self.assertEqual(current(self.url), head_revision())
        code, out, _ = self.run_admin("db", "upgrade", "--config", self.config)
        self.assertEqual(code, 0)
        self.assertIn("already at revision", out)

    def test_db_current(self) -> None:
        """db current prints the revision: exit 1 before the upgrade, 0 after."""
        code, out, _ = self.run_admin("db", "current", "--config", self.config)
        self.assertEqual(code, 1)
        self.assertIn("no schema", out)
        self.run_admin("db", "upgrade", "--config", self.config)
        code, out, _ = self.run_admin("db", "current", "--config", self.config)
        self.assertEqual((code, out), (0, f"{head_revision()} (up to date)\n"))

    def test_db_url_overrides_config(self) -> None:
        """--url selects another database than the configuration's."""
        other = "sqlite:///" + os.path.join(self.dir, "other.sqlite")
        code, _, _ = self.run_admin("db", "upgrade", "--config", self.config, "--url", other)
        self.assertEqual(code, 0)
        self.assertEqual(current(other), head_revision())
        self.assertIsNone(current(self.url))

    def test_db_upgrade_unknown_revision(self) -> None:
        """db upgrade of a database from a newer kmipd fails with exit 1 and names the revision."""
        self.run_admin("db", "upgrade", "--config", self.config)
        engine = sa.create_engine(self.url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_future'"))
        engine.dispose()
        code, _, err = self.run_admin("db", "upgrade", "--config", self.config)
        self.assertEqual(code, 1)
        self.assertIn("9999_future", err)

    def test_rotate_master_key(self) -> None:
        """rotate-master-key re-encrypts every object and installs the new key at master_key_path."""
        old_key = load_or_create_master_key(self.key_path)
        store = SQLObjectStore(self.url, old_key)
        with store.transaction() as tx:
            for i in range(3):
                tx.add(make_object(f"u-{i}", material=symmetric_key(bytes([i + 1]) * 32)))
        store.close()
        code, out, err = self.run_admin("rotate-master-key", "--config", self.config, "--batch-size", "2")
        self.assertEqual((code, err), (0, ""))
        self.assertIn("re-encrypted 3 of 3 objects", out)
        new_key = load_master_key(self.key_path)
        self.assertNotEqual(new_key, old_key)
        store = SQLObjectStore(self.url, new_key)
        self.addCleanup(store.close)
        with store.transaction() as tx:
            got = tx.get("u-2")
        assert got is not None
        self.assertEqual(got.material, symmetric_key(b"\x03" * 32))

    def test_rotate_with_new_key_file(self) -> None:
        """--new-key-file supplies the new key, which ends up at master_key_path."""
        load_or_create_master_key(self.key_path)
        SQLObjectStore(self.url, load_master_key(self.key_path)).close()
        new_path = os.path.join(self.dir, "next.key")
        new_key = load_or_create_master_key(new_path)
        code, _, err = self.run_admin("rotate-master-key", "--config", self.config, "--new-key-file", new_path)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(load_master_key(self.key_path), new_key)

    def test_rotate_needs_schema(self) -> None:
        """rotate-master-key on an uninitialised database fails and names the upgrade command."""
        load_or_create_master_key(self.key_path)
        code, _, err = self.run_admin("rotate-master-key", "--config", self.config)
        self.assertEqual(code, 1)
        self.assertIn("kmipd-admin db upgrade", err)

    def test_rotate_missing_key(self) -> None:
        """rotate-master-key without a master key file fails with exit 1 naming the file."""
        self.run_admin("db", "upgrade", "--config", self.config)
        code, _, err = self.run_admin("rotate-master-key", "--config", self.config)
        self.assertEqual(code, 1)
        self.assertIn(self.key_path, err)

    def test_bad_config(self) -> None:
        """An unreadable or invalid configuration exits 2 with a configuration error."""
        code, _, err = self.run_admin("db", "current", "--config", os.path.join(self.dir, "missing.conf"))
        self.assertEqual(code, 2)
        self.assertIn("configuration error", err)

    def test_usage_errors(self) -> None:
        """Unknown or incomplete commands exit 2 with usage; --help exits 0."""
        self.assertEqual(self.run_admin()[0], 2)
        self.assertEqual(self.run_admin("db")[0], 2)
        code, _, err = self.run_admin("frobnicate")
        self.assertEqual(code, 2)
        self.assertIn("usage: kmipd-admin", err)
        code, out, _ = self.run_admin("--help")
        self.assertEqual(code, 0)
        self.assertIn("rotate-master-key", out)
        self.assertEqual(self.run_admin("rotate-master-key", "--batch-size", "0")[0], 2)

    def test_hash_password(self) -> None:
        """hash-password hashes the password read from stdin into a credentials line."""
        from kmipd.auth.credentials import CredentialStore

        code, out, _ = self.run_admin("hash-password", "alice", stdin="s3cret\n")
        self.assertEqual(code, 0)
        self.assertTrue(out.startswith("alice:"))
        self.assertNotIn("s3cret", out)
        creds = CredentialStore.from_lines([out.strip()])
        self.assertTrue(creds.verify("alice", "s3cret"))
        self.assertFalse(creds.verify("alice", "wrong"))

    def test_hash_password_help(self) -> None:
        """hash-password --help prints its usage on stdout and exits 0; extra arguments exit 2."""
        code, out, err = self.run_admin("hash-password", "--help")
        self.assertEqual((code, err), (0, ""))
        self.assertIn("usage: kmipd-admin hash-password [--hashed-password [--algorithm NAME]] [USERNAME]", out)
        code, out, err = self.run_admin("hash-password", "alice", "bob")
        self.assertEqual((code, out), (2, ""))
        self.assertIn("usage: kmipd-admin hash-password", err)
