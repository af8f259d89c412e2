"""C{kmipd-admin objects}, C{export}/C{import} and C{check} against a real SQLite store."""

from __future__ import annotations

import io
import json
import os
from typing import Any

from twisted.trial.unittest import SkipTest, TestCase

from kmipd.admin import main
from kmipd.admin_objects import open_store
from kmipd.config import load_config
from kmipd.model import keyblock
from kmipd.model.attributes import to_1x
from kmipd.spec import CryptographicAlgorithm, KeyFormatType, ObjectType, Operation, Tag
from kmipd.testing import call, make_processor, payload
from kmipd.ttlv import Item

KEY = bytes(range(0x80, 0xA0))
PASSPHRASE = "correct horse battery staple"


def register(d: Any, name: str, key: bytes, caller: str) -> str:
    body = keyblock.body(ObjectType.SYMMETRIC_KEY, keyblock.key_block(
        KeyFormatType.RAW, key, algorithm=CryptographicAlgorithm.AES, length=len(key) * 8))
    template = Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
        to_1x("Name", Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, name), Item.enum(Tag.NAME_TYPE, 1)])),
        to_1x("Cryptographic Usage Mask", Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 12))])
    result = call(d, Operation.REGISTER, payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), template, body),
                  caller=caller)
    assert result.ok, result.message
    uid = result.payload.get(Tag.UNIQUE_IDENTIFIER)  # type: ignore[union-attr]
    assert isinstance(uid, str)
    return uid


class AdminObjectTests(TestCase):
    """A store with two owners' keys (SQLite), examined and backed up through the command line."""

    def database_url(self) -> str | None:
        return None

    def setUp(self) -> None:
        self.data = os.path.abspath(self.mktemp())
        self.conf = self.write_config(self.data)
        store = open_store(load_config(self.conf), create_key=True)
        self.addCleanup(store.close)
        d = make_processor(store)
        self.alice_uid = register(d, "payroll", KEY, "alice")
        self.bob_uid = register(d, "backups", bytes(32), "bob")
        call(d, Operation.ACTIVATE, payload(Item.text(Tag.UNIQUE_IDENTIFIER, self.bob_uid)), caller="bob")
        self.store = store

    def write_config(self, data: str) -> str:
        os.makedirs(data, exist_ok=True)
        path = os.path.join(data, "server.conf")
        url = self.database_url()
        with open(path, "w") as f:
            f.write(f"[server]\ndata_dir = {data}\n" + (f"database_url = {url}\n" if url else ""))
        return path

    def admin(self, *argv: str, conf: str | None = None) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        extra = ["--config", conf or self.conf] if argv and argv[-1] != "--help" else []
        status = main([*argv, *extra], stdout=out, stderr=err)
        return status, out.getvalue(), err.getvalue()

    def test_list_filters(self) -> None:
        """Filters by type, state, owner and name combine; output has no key material."""
        status, out, _ = self.admin("objects", "list")
        self.assertEqual(status, 0)
        self.assertEqual(len(out.splitlines()), 2)
        self.assertEqual(self.admin("objects", "list", "--owner", "alice")[1].split("\t")[0], self.alice_uid)
        self.assertEqual(self.admin("objects", "list", "--state", "active")[1].split("\t")[0], self.bob_uid)
        self.assertEqual(self.admin("objects", "list", "--name", "payroll")[1].split("\t")[0], self.alice_uid)
        self.assertEqual(self.admin("objects", "list", "--type", "SECRET_DATA")[1], "")
        status, out, _ = self.admin("objects", "list", "--json", "--owner", "bob")
        row = json.loads(out)
        self.assertEqual((row["uid"], row["state"], row["names"], row["object_type"]),
                         (self.bob_uid, "ACTIVE", ["backups"], "SYMMETRIC_KEY"))
        status, _, err = self.admin("objects", "list", "--state", "sleepy")
        self.assertEqual(status, 2)
        self.assertIn("--state", err)

    def test_show_never_material(self) -> None:
        """`objects show` prints attributes, never the key bytes (in any encoding)."""
        import base64

        for fmt in ((), ("--json",)):
            status, out, _ = self.admin("objects", "show", self.alice_uid, *fmt)
            self.assertEqual(status, 0)
            self.assertIn("payroll", out)
            for form in (KEY.hex(), KEY.hex().upper(), base64.b64encode(KEY).decode()):
                self.assertNotIn(form, out)
        shown = json.loads(self.admin("objects", "show", self.alice_uid, "--json")[1])
        self.assertEqual((shown["owner"], shown["has_material"]), ("alice", True))
        self.assertEqual(shown["attributes"]["Cryptographic Algorithm"], ["AES"])
        self.assertEqual(self.admin("objects", "show", "nope")[0], 1)

    def test_export_import_round_trip(self) -> None:
        """A backup restores every object, material and owner, under another master key; twice is a no-op."""
        backup = os.path.join(self.data, "store.kbk")
        secret = os.path.join(self.data, "passphrase")
        with open(secret, "w") as f:
            f.write(PASSPHRASE + "\n")
        status, out, err = self.admin("export", backup, "--passphrase-file", secret)
        self.assertEqual((status, out.strip()), (0, f"exported 2 objects to {backup}"), err)
        self.assertEqual(os.stat(backup).st_mode & 0o777, 0o600)
        with open(backup, "rb") as f:
            raw = f.read()
        self.assertNotIn(KEY, raw)
        self.assertEqual(self.admin("export", backup, "--passphrase-file", secret)[0], 1, "never overwritten")

        other = os.path.abspath(self.mktemp())
        other_conf = self.write_config(other)
        other_store = open_store(load_config(other_conf), create_key=True)
        self.addCleanup(other_store.close)
        status, out, err = self.admin("import", backup, "--passphrase-file", secret, conf=other_conf)
        self.assertEqual((status, out.strip()), (0, "restored 2 objects; 0 were already present"), err)
        status, out, _ = self.admin("import", backup, "--passphrase-file", secret, conf=other_conf)
        self.assertEqual(out.strip(), "restored 0 objects; 2 were already present")
        with self.store.transaction() as tx:
            before = {u: tx.get(u) for u in (self.alice_uid, self.bob_uid)}
        with other_store.transaction() as tx:
            after = {u: tx.get(u) for u in (self.alice_uid, self.bob_uid)}
        for uid in before:
            self.assertEqual(after[uid].material, before[uid].material)
            self.assertEqual(after[uid].attributes, before[uid].attributes)
            self.assertEqual(after[uid].owner, before[uid].owner)
        with open(load_config(other_conf).effective_master_key_path, "rb") as a, \
                open(load_config(self.conf).effective_master_key_path, "rb") as b:
            self.assertNotEqual(a.read(), b.read())

        wrong = os.path.join(self.data, "wrong")
        with open(wrong, "w") as f:
            f.write("not the passphrase at all")
        status, _, err = self.admin("import", backup, "--passphrase-file", wrong, conf=other_conf)
        self.assertEqual(status, 1)
        self.assertIn("wrong passphrase", err)
        tampered = backup + ".bad"
        with open(tampered, "wb") as f:
            f.write(raw[:-1] + bytes([raw[-1] ^ 1]))
        self.assertEqual(self.admin("import", tampered, "--passphrase-file", secret, conf=other_conf)[0], 1)
        short = os.path.join(self.data, "short")
        with open(short, "w") as f:
            f.write("short")
        self.assertEqual(self.admin("export", backup + "2", "--passphrase-file", short)[0], 2)

    def test_check(self) -> None:
        """`check` passes on a good installation and fails under a wrong master key, naming the key
        file (the database's key ring does not know that key)."""
        status, out, _ = self.admin("check")
        self.assertEqual(status, 0, out)
        self.assertIn("schema current", out)
        key_path = load_config(self.conf).effective_master_key_path
        with open(key_path, "wb") as f:
            f.write(b"\x01" * 32)
        status, out, _ = self.admin("check")
        self.assertEqual(status, 1)
        self.assertIn(f"FAIL master key: the master key in {key_path}", out)
        self.assertIn("unknown to the database", out)

    def test_check_certificates(self) -> None:
        """With configured certificates, `check` verifies key match, issuer, usage; a wrong key fails."""
        from kmipd.devcerts import ensure_dev_pki

        pki = ensure_dev_pki(os.path.join(self.data, "certs"))
        conf = os.path.join(self.data, "tls.conf")
        with open(self.conf) as f:
            database = "".join(line for line in f if line.startswith("database_url"))

        def write(key_path: str) -> None:
            with open(conf, "w") as f:
                f.write(f"[server]\ndata_dir = {self.data}\ncertificate_path = {pki.server_cert}\n"
                        f"key_path = {key_path}\nca_path = {pki.ca_cert}\n{database}")

        write(pki.server_key)
        status, out, _ = self.admin("check", conf=conf)
        self.assertEqual(status, 0, out)
        for line in ("key_path: matches certificate_path", "ca_path: issued certificate_path",
                     "certificate_path: serverAuth usage"):
            self.assertIn(line, out)
        write(pki.client_key)
        status, out, _ = self.admin("check", conf=conf)
        self.assertEqual(status, 1)
        self.assertIn("FAIL key_path: does not match certificate_path", out)

    def test_help_everywhere(self) -> None:
        """Each command has --help (exit 0)."""
        for argv in (("objects", "list", "--help"), ("objects", "show", "--help"), ("export", "--help"),
                     ("import", "--help"), ("check", "--help"), ("import-pykmip", "--help")):
            status, out, _ = self.admin(*argv)
            self.assertEqual(status, 0, argv)
            self.assertIn("usage:", out)


class PostgreSQLAdminObjectTests(AdminObjectTests):
    """The same against PostgreSQL (each configuration its own fresh schema)."""

    def database_url(self) -> str | None:
        from .store.test_contract import _postgres_url

        try:
            return _postgres_url(self)
        except NotImplementedError:
            raise SkipTest("KMIPD_TEST_POSTGRES_URL is not set") from None
