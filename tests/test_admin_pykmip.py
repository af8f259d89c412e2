"""C{kmipd-admin import-pykmip}: a real PyKMIP 0.11 server's database, read back through kmipd byte for byte.

A PyKMIP server (kmip.services.server, in a subprocess on an ephemeral loopback port, killed by
its process id) is filled by PyKMIP's own client with every object type it stores; its SQLite
file is imported, and the same client then reads every object back from kmipd.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from twisted.internet import defer
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SkipTest, TestCase

from kmipd.admin import main
from kmipd.config import load_config
from kmipd.devcerts import ensure_dev_pki
from kmipd.service import KMIPService

from .test_interop_pykmip import pykmip_client

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the PyKMIP server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the PyKMIP server did not start listening")


def certificate_der() -> bytes:
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imported certificate")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(77).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def fill(c: Any) -> dict[str, tuple[int, bytes, list[str]]]:
    """Every object type PyKMIP stores, through PyKMIP's client; uid -> (object type, value, names)."""
    from kmip.core import enums
    from kmip.pie import objects

    usage = [enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT]
    uids = [c.create(enums.CryptographicAlgorithm.AES, 256, name="created-aes", cryptographic_usage_mask=usage)]
    pub, priv = c.create_key_pair(enums.CryptographicAlgorithm.RSA, 2048, public_name="pair-pub",
                                  private_name="pair-priv",
                                  public_usage_mask=[enums.CryptographicUsageMask.VERIFY],
                                  private_usage_mask=[enums.CryptographicUsageMask.SIGN])
    uids += [pub, priv]
    sym = objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 128, bytes(range(16)), masks=usage,
                               name="registered-aes")
    sym.operation_policy_name = "default"
    uids.append(c.register(sym))
    uids.append(c.register(objects.X509Certificate(certificate_der(), name="a-certificate")))
    uids.append(c.register(objects.SecretData(b"correct horse", enums.SecretDataType.PASSWORD,
                                              masks=[enums.CryptographicUsageMask.DERIVE_KEY], name="a-password")))
    uids.append(c.register(objects.OpaqueObject(b"\x00opaque\xff", enums.OpaqueDataType.NONE, name="opaque")))
    uids.append(c.register(objects.SplitKey(
        cryptographic_algorithm=enums.CryptographicAlgorithm.AES, cryptographic_length=128,
        key_value=bytes(range(100, 116)), name="split", cryptographic_usage_masks=usage,
        key_format_type=enums.KeyFormatType.RAW, split_key_parts=3, key_part_identifier=1, split_key_threshold=2,
        split_key_method=enums.SplitKeyMethod.XOR)))
    c.activate(uids[0])
    c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uids[0])
    c.activate(priv)
    out = {}
    for uid in uids:
        obj = c.get(uid)
        out[uid] = (int(obj.object_type.value), bytes(obj.value), list(obj.names))
    return out


def read_back(c: Any, uids: list[str]) -> dict[str, tuple[int, bytes, list[str]]]:
    out = {}
    for uid in uids:
        obj = c.get(uid)
        out[uid] = (int(obj.object_type.value), bytes(obj.value), list(obj.names))
    return out


class ImportPyKMIPTests(TestCase):
    timeout = 300

    def setUp(self) -> None:
        try:
            import kmip.services.server  # noqa: F401
        except ImportError:
            raise SkipTest("PyKMIP is not installed") from None
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)
        self.kmipd_data = os.path.join(self.dir, "kmipd")
        # One PKI for both servers: the same client identity owns the objects in both.
        self.pki = ensure_dev_pki(self.kmipd_data)

    def start_pykmip(self) -> tuple[int, str]:
        port = free_port()
        pykmip_dir = os.path.join(self.dir, "pykmip")
        os.makedirs(os.path.join(pykmip_dir, "policies"))
        db = os.path.join(pykmip_dir, "pykmip.db")
        conf = os.path.join(pykmip_dir, "server.conf")
        with open(conf, "w") as f:
            f.write(f"[server]\nhostname=127.0.0.1\nport={port}\ncertificate_path={self.pki.server_cert}\n"
                    f"key_path={self.pki.server_key}\nca_path={self.pki.ca_cert}\nauth_suite=TLS1.2\n"
                    f"policy_path={pykmip_dir}/policies\nenable_tls_client_auth=True\nlogging_level=INFO\n"
                    f"database_path={db}\n")
        log = open(os.path.join(pykmip_dir, "stdout.log"), "wb")
        self.addCleanup(log.close)
        process = subprocess.Popen(
            [sys.executable, "-c", "from kmip.services.server.server import main; main()", "-f", conf,
             "-l", os.path.join(pykmip_dir, "server.log")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

        def stop() -> None:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # the server and its policy monitor, started here
                process.wait(timeout=10)

        self.addCleanup(stop)
        self.stop_pykmip = stop
        return port, db, process  # type: ignore[return-value]

    def admin(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()

    @defer.inlineCallbacks
    def test_import_and_read_back(self):  # type: ignore[no-untyped-def]
        """Every object reads back from kmipd as PyKMIP served it; the PyKMIP file is untouched; reruns are no-ops."""
        port, db, process = self.start_pykmip()
        yield deferToThread(wait_for_port, port, process)
        pki = self.pki
        client = lambda p: pykmip_client(p, pki.client_cert, pki.client_key, pki.ca_cert)  # noqa: E731

        def filled() -> dict[str, tuple[int, bytes, list[str]]]:
            c = client(port)
            c.open()
            try:
                return fill(c)
            finally:
                c.close()

        expected = yield deferToThread(filled)
        self.stop_pykmip()
        self.assertEqual(len({t for t, _, _ in expected.values()}), 7, "every PyKMIP object type")
        with open(db, "rb") as f:
            before = hashlib.sha256(f.read()).hexdigest()

        conf = os.path.join(self.dir, "kmipd.conf")
        with open(conf, "w") as f:
            f.write(f"[server]\ndata_dir = {self.kmipd_data}\n")
        status, out, err = self.admin("import-pykmip", db, "--config", conf)
        self.assertEqual(status, 0, out + err)
        self.assertIn(f"imported {len(expected)} objects; 0 were already imported", out)
        status, out, _ = self.admin("import-pykmip", db, "--config", conf)
        self.assertEqual((status, out.splitlines()[0]),
                         (0, f"imported 0 objects; {len(expected)} were already imported"))
        with open(db, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), before, "the PyKMIP database was modified")

        status, out, _ = self.admin("objects", "list", "--json", "--config", conf)
        listed = {row["uid"]: row for row in map(__import__("json").loads, out.splitlines())}
        self.assertEqual(set(listed), set(expected))
        self.assertEqual({row["owner"] for row in listed.values()}, {"kmipd-client"})
        first = sorted(expected, key=int)[0]
        self.assertEqual(listed[first]["state"], "DEACTIVATED")

        config = load_config(conf, {"listen": ("tcp:0:interface=127.0.0.1",)})
        service = KMIPService(config)
        service.startService()
        self.addCleanup(lambda: service.running and service.stopService())
        kmipd_port = service.ports[0].getHost().port

        def got() -> dict[str, tuple[int, bytes, list[str]]]:
            c = client(kmipd_port)
            c.open()
            try:
                return read_back(c, list(expected))
            finally:
                c.close()

        actual = yield deferToThread(got)
        self.assertEqual(actual, expected)
        yield service.stopService()

        # Object groups and application information (which PyKMIP's client cannot set), on a copy.
        import json
        import shutil
        import sqlite3

        copy = os.path.join(self.dir, "copy.db")
        shutil.copy(db, copy)
        conn = sqlite3.connect(copy)
        conn.execute("INSERT INTO object_groups (id, object_group) VALUES (1, 'finance')")
        conn.execute(f"INSERT INTO object_group_map VALUES ({first}, 1)")
        conn.execute("INSERT INTO app_specific_info (id, application_namespace, application_data) "
                     "VALUES (1, 'ssl', 'www.example.com')")
        conn.execute(f"INSERT INTO app_specific_info_map VALUES ({first}, 1)")
        conn.commit()
        conn.close()
        other = os.path.join(self.dir, "other.conf")
        with open(other, "w") as f:
            f.write(f"[server]\ndata_dir = {os.path.join(self.dir, 'other')}\n")
        status, out, err = self.admin("import-pykmip", copy, "--config", other)
        self.assertEqual(status, 0, out + err)
        status, out, _ = self.admin("objects", "show", first, "--json", "--config", other)
        attributes = json.loads(out)["attributes"]
        self.assertEqual(attributes["Object Group"], ["finance"])
        self.assertEqual(attributes["Application Specific Information"],
                         [{"APPLICATION_NAMESPACE": "ssl", "APPLICATION_DATA": "www.example.com"}])
        self.assertEqual(attributes["Name"], [{"NAME_VALUE": "created-aes", "NAME_TYPE": "UNINTERPRETED_TEXT_STRING"}])

    def test_not_a_pykmip_database(self) -> None:
        """Another file is refused (exit 1) without being modified."""
        path = os.path.join(self.dir, "other.db")
        import sqlite3

        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
        conf = os.path.join(self.dir, "kmipd.conf")
        with open(conf, "w") as f:
            f.write(f"[server]\ndata_dir = {self.kmipd_data}\n")
        status, _, err = self.admin("import-pykmip", path, "--config", conf)
        self.assertEqual(status, 1)
        self.assertIn("is not a PyKMIP server database", err)
        self.assertEqual(self.admin("import-pykmip", path + ".missing", "--config", conf)[0], 1)

    def test_refuses_its_own_database(self) -> None:
        """With kmipd configured on the PyKMIP file itself (database_path copied over), nothing is written."""
        import hashlib
        import sqlite3

        path = os.path.join(self.dir, "pykmip.db")
        conn = sqlite3.connect(path)
        for table in ("managed_objects", "crypto_objects", "keys", "managed_object_names"):
            conn.execute(f"CREATE TABLE {table} (uid INTEGER)")
        conn.commit()
        conn.close()
        with open(path, "rb") as f:
            before = hashlib.sha256(f.read()).hexdigest()
        conf = os.path.join(self.dir, "kmipd.conf")
        with open(conf, "w") as f:
            f.write(f"[server]\ndata_dir = {self.kmipd_data}\ndatabase_path = {path}\n")
        status, _, err = self.admin("import-pykmip", path, "--config", conf)
        self.assertEqual(status, 2)
        self.assertIn("a database of its own", err)
        with open(path, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), before)
