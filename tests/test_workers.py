"""
Tests for L{kmipd.workers}: C{twistd kmip} with C{workers = 2} on SQLite and PostgreSQL.

These run the real thing: a C{twistd -n kmip} process on a loopback port, its worker process,
and blocking TLS clients. Which process serves a connection is read from C{/proc} (the socket
inode of the server side of the connection, found in the processes' file descriptors), so the
tests know they talk to both processes rather than hoping they do.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from twisted.trial.unittest import SkipTest, TestCase

from kmipd.config import ConfigError, load_config
from kmipd.spec import (
    CryptographicAlgorithm,
    CryptographicUsageMask,
    NameType,
    ObjectType,
    Operation,
    ResultReason,
    ResultStatus,
    State,
    Tag,
)
from kmipd.testing import batch_item, payload, request, results
from kmipd.ttlv import Item, decode, encode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
V = (1, 2)
TIMEOUT = 60.0


def _attr(name: str, value: Item) -> Item:
    return Item.struct(Tag.ATTRIBUTE, [Item.text(Tag.ATTRIBUTE_NAME, name),
                                       Item(Tag.ATTRIBUTE_VALUE, value.type, value.value)])


def create_request(name: str, policy: str | None = None) -> bytes:
    attrs = [
        _attr("Cryptographic Algorithm", Item.enum(0, CryptographicAlgorithm.AES)),
        _attr("Cryptographic Length", Item.int(0, 256)),
        _attr("Cryptographic Usage Mask", Item.int(0, CryptographicUsageMask.ENCRYPT)),
        _attr("Name", Item.struct(0, [Item.text(Tag.NAME_VALUE, name),
                                      Item.enum(Tag.NAME_TYPE, NameType.UNINTERPRETED_TEXT_STRING)])),
    ]
    if policy is not None:
        attrs.append(_attr("Operation Policy Name", Item.text(0, policy)))
    return encode(request(batch_item(Operation.CREATE, payload(
        Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), Item.struct(Tag.TEMPLATE_ATTRIBUTE, attrs))), version=V))


def get_request(uid: str) -> bytes:
    return encode(request(batch_item(Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid))), version=V))


def state_request(uid: str) -> bytes:
    return encode(request(batch_item(Operation.GET_ATTRIBUTES, payload(
        Item.text(Tag.UNIQUE_IDENTIFIER, uid), Item.text(Tag.ATTRIBUTE_NAME, "State"))), version=V))


def activate_request(uid: str) -> bytes:
    return encode(request(batch_item(Operation.ACTIVATE, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid))), version=V))


def locate_request(name: str) -> bytes:
    return encode(request(batch_item(Operation.LOCATE, payload(_attr("Name", Item.struct(0, [
        Item.text(Tag.NAME_VALUE, name), Item.enum(Tag.NAME_TYPE, NameType.UNINTERPRETED_TEXT_STRING)])))),
        version=V))


class Client:
    """A blocking mutual-TLS KMIP connection."""

    def __init__(self, ctx: ssl.SSLContext, port: int, session: ssl.SSLSession | None = None) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock = ctx.wrap_socket(raw, session=session)
        self.buf = b""

    def call(self, data: bytes) -> Any:
        self.sock.sendall(data)
        while True:
            if len(self.buf) >= 8:
                n = 8 + struct.unpack_from(">I", self.buf, 4)[0]
                if len(self.buf) >= n:
                    msg, self.buf = self.buf[:n], self.buf[n:]
                    (result,) = results(decode(msg))
                    return result
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk

    def close(self) -> None:
        self.sock.close()


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return out


def serving_pid(client: Client, server_port: int, pids: list[int]) -> int | None:
    """The pid among C{pids} holding the server side of C{client}'s TCP connection."""
    local_port = client.sock.getsockname()[1]
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == local_port):
                inode = fields[9]
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class _WorkersMixin:
    """Two processes (parent + one worker) on one database; C{database_url} from the subclass."""

    database_url: str | None = None

    def setUp(self) -> None:
        if not os.path.isdir("/proc/net"):
            raise SkipTest("needs Linux /proc to tell which process serves a connection")
        self.dir = os.path.abspath(self.mktemp())  # type: ignore[attr-defined]
        self.policies = os.path.join(self.dir, "policies")
        os.makedirs(self.policies)
        self.write_policy("ALLOW_ALL")
        conf = os.path.join(self.dir, "server.conf")
        with open(conf, "w") as f:
            self.audit = os.path.join(self.dir, "audit.log")
            f.write(f"[server]\nlogging_level=INFO\nworkers=2\npolicy_path={self.policies}\n"
                    f"policy_reload_interval=0.2\naudit_log_path={self.audit}\n"
                    "https_listen=tcp:0:interface=127.0.0.1\n")
            if self.database_url:
                f.write(f"database_url={self.database_url}\n")
        self.log = os.path.join(self.dir, "kmipd.log")
        env = dict(os.environ, PYTHONPATH=ROOT)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n", "--pidfile=",
             "--logfile", self.log, "kmip", "--config", conf, "--data-dir", os.path.join(self.dir, "data"),
             "--listen", "tcp:0:interface=127.0.0.1"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(self._kill)  # type: ignore[attr-defined]
        self.port = int(wait_for(lambda: self._logged(r"kmipd listening on .*port=(\d+)"), "the port"))
        self.worker = wait_for(lambda: [p for p in _children(self.proc.pid) if self._is_worker(p)], "the worker")[0]
        # the worker adopts both listening sockets: the TTLV port and the HTTPS port
        wait_for(lambda: self._logged(rf"\[worker-{self.worker}\] kmipd worker {self.worker} serving 2 socket"),
                 "the worker to serve")
        pki = os.path.join(self.dir, "data", "pki")
        self.ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))
        self.ctx.load_cert_chain(os.path.join(pki, "client.pem"), os.path.join(pki, "client.key"))
        self.ctx.check_hostname = False
        self.prefix = f"w-{uuid.uuid4().hex[:8]}-"
        self.mtime = time.time()

    def write_policy(self, permission: str) -> None:
        path = os.path.join(self.policies, "p.json")
        with open(path, "w") as f:
            json.dump({"workers-test": {"preset": {"SYMMETRIC_KEY": {"GET": permission, "LOCATE": "ALLOW_ALL"}}}}, f)
        self.mtime = getattr(self, "mtime", time.time()) + 10
        os.utime(path, (self.mtime, self.mtime))

    def _is_worker(self, pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return b"kmipd.workers" in f.read()
        except OSError:
            return False

    def _logged(self, pattern: str) -> str | None:
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                m = re.search(pattern, f.read())
        except FileNotFoundError:
            return None
        return (m.group(1) if m.groups() else m.group(0)) if m else None

    def _kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        worker = getattr(self, "worker", None)
        if worker is not None:
            try:
                wait_for(lambda: not os.path.exists(f"/proc/{worker}") or _zombie(worker), "the worker to exit", 15)
            except AssertionError:
                os.kill(worker, signal.SIGKILL)

    def connections(self) -> dict[int, Client]:
        """One open connection served by each process: {pid: client}."""
        pids = [self.proc.pid, self.worker]
        found: dict[int, Client] = {}
        spare: list[Client] = []
        self.setup_requests = 0
        for _ in range(200):
            c = Client(self.ctx, self.port)
            c.call(locate_request(self.prefix + "none"))  # the connection is accepted and served
            self.setup_requests += 1
            pid = serving_pid(c, self.port, pids)
            if pid is not None and pid not in found:
                found[pid] = c
            else:
                spare.append(c)
            if len(found) == 2:
                break
            if len(spare) > 8:
                spare.pop(0).close()
        for c in spare:
            c.close()
        for c in found.values():
            self.addCleanup(c.close)  # type: ignore[attr-defined]
        self.assertEqual(sorted(found), sorted(pids), "both processes accept connections")  # type: ignore[attr-defined]
        return found

    def test_objects_shared(self) -> None:
        """An object created through one process is found and served by the other, both ways."""
        conns = self.connections()
        a, b = conns[self.proc.pid], conns[self.worker]
        for maker, reader, name in ((a, b, "from-parent"), (b, a, "from-worker")):
            created = maker.call(create_request(self.prefix + name))
            self.assertEqual(created.status, ResultStatus.SUCCESS)  # type: ignore[attr-defined]
            uid = created.payload.get(Tag.UNIQUE_IDENTIFIER)
            got = reader.call(get_request(uid))
            self.assertEqual((got.status, got.payload.get(Tag.UNIQUE_IDENTIFIER)),  # type: ignore[attr-defined]
                             (ResultStatus.SUCCESS, uid))
            found = reader.call(locate_request(self.prefix + name))
            self.assertEqual(found.payload.findall(Tag.UNIQUE_IDENTIFIER)[0].value, uid)  # type: ignore[attr-defined]
            # the reader has the object cached; a change made by the other process is seen
            self.assertEqual(reader.call(state_request(uid)).status, ResultStatus.SUCCESS)  # type: ignore[attr-defined]
            self.assertEqual(maker.call(activate_request(uid)).status, ResultStatus.SUCCESS)  # type: ignore[attr-defined]
            state = reader.call(state_request(uid)).payload.find(Tag.ATTRIBUTE).find(Tag.ATTRIBUTE_VALUE).value
            self.assertEqual(state, State.ACTIVE)  # type: ignore[attr-defined]

    def test_concurrent_writes(self) -> None:
        """Concurrent Creates on both processes (group commit in each) all persist, none fails."""
        conns = self.connections()
        statuses: list[int] = []
        lock = threading.Lock()

        def create_many(c: Client, tag: str) -> None:
            for i in range(25):
                r = c.call(create_request(f"{self.prefix}{tag}-{i}"))
                with lock:
                    statuses.append(r.status)

        threads = [threading.Thread(target=create_many, args=(c, str(pid))) for pid, c in conns.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        self.assertEqual(statuses, [ResultStatus.SUCCESS] * 50)  # type: ignore[attr-defined]
        for c in conns.values():
            for other in conns:
                r = c.call(locate_request(f"{self.prefix}{other}-24"))
                self.assertEqual(len(r.payload.findall(Tag.UNIQUE_IDENTIFIER)), 1)  # type: ignore[attr-defined]

    def test_policy_reload_everywhere(self) -> None:
        """A changed policy file takes effect in both processes."""
        conns = self.connections()
        first = next(iter(conns.values()))
        uid = first.call(create_request(self.prefix + "policy", "workers-test")).payload.get(Tag.UNIQUE_IDENTIFIER)
        for c in conns.values():
            self.assertEqual(c.call(get_request(uid)).status, ResultStatus.SUCCESS)  # type: ignore[attr-defined]
        self.write_policy("DISALLOW_ALL")
        for c in conns.values():
            def refused(c: Client = c) -> Any:
                result = c.call(get_request(uid))
                return result if result.status != ResultStatus.SUCCESS else None

            r = wait_for(refused, "the new policy", 20)
            self.assertEqual(r.reason, ResultReason.PERMISSION_DENIED)  # type: ignore[attr-defined]

    def test_audit_once_and_reopened_everywhere(self) -> None:
        """Each request is audited once whichever process served it; SIGHUP to the parent makes
        every process reopen the audit log (log rotation)."""
        conns = self.connections()

        def lines(path: str) -> list[dict[str, Any]]:
            try:
                with open(path, encoding="utf-8") as f:
                    return [json.loads(line) for line in f if line.strip()]
            except FileNotFoundError:
                return []

        before = self.setup_requests  # every request made to find the two connections is audited
        wait_for(lambda: len(lines(self.audit)) >= before, "the connections' requests in the audit log")
        self.assertEqual(len(lines(self.audit)), before)
        for c in conns.values():
            c.call(locate_request(self.prefix + "audited"))
        wait_for(lambda: len(lines(self.audit)) >= before + 2, "two more audit events")
        time.sleep(0.5)
        self.assertEqual(len(lines(self.audit)), before + 2, "no event is written twice")

        os.rename(self.audit, self.audit + ".1")
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)  # the signal is handled and the files reopened
        for c in conns.values():
            c.call(locate_request(self.prefix + "after-rotation"))
        wait_for(lambda: len(lines(self.audit)) >= 2, "both processes writing the new audit log", 20)

    def test_https_served_by_both(self) -> None:
        """The HTTPS port is adopted with its own factory: both processes answer POST /kmip."""
        https_port = int(wait_for(lambda: self._logged(r"kmipd listening for HTTPS on .*port=(\d+)"), "the HTTPS port"))
        body = locate_request(self.prefix + "https")
        seen: set[int] = set()
        for _ in range(200):
            raw = socket.create_connection(("127.0.0.1", https_port), timeout=TIMEOUT)
            sock = self.ctx.wrap_socket(raw)
            client = Client.__new__(Client)
            client.sock = sock
            sock.sendall(b"POST /kmip HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])  # type: ignore[attr-defined]
            pid = serving_pid(client, https_port, [self.proc.pid, self.worker])
            sock.close()
            if pid is not None:
                seen.add(pid)
            if len(seen) == 2:
                break
        self.assertEqual(seen, {self.proc.pid, self.worker})  # type: ignore[attr-defined]

    def test_worker_stops_with_parent(self) -> None:
        """SIGTERM to the parent stops the worker too; so does a parent killed outright."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        wait_for(lambda: not os.path.exists(f"/proc/{self.worker}") or _zombie(self.worker), "the worker to exit", 30)

    def test_worker_stops_when_parent_killed(self) -> None:
        """A worker whose parent died without stopping it (SIGKILL) exits on its own."""
        self.proc.kill()
        self.proc.wait(10)
        wait_for(lambda: not os.path.exists(f"/proc/{self.worker}") or _zombie(self.worker), "the worker to exit", 30)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class SQLiteWorkersTests(_WorkersMixin, TestCase):
    """C{workers = 2} on the default SQLite database."""

    timeout = 240

    def test_tls_session_resumed_across_processes(self) -> None:
        """A TLS session established with one process resumes on the other (the processes derive
        the same session-ticket key), and the resumed connection is served as the same client."""
        pids = [self.proc.pid, self.worker]
        first = Client(self.ctx, self.port)
        self.assertEqual(first.call(locate_request(self.prefix + "none")).status, ResultStatus.SUCCESS)
        origin = serving_pid(first, self.port, pids)
        self.assertIn(origin, pids)
        session = first.sock.session
        first.close()
        for _ in range(200):
            c = Client(self.ctx, self.port, session)
            try:
                status = c.call(locate_request(self.prefix + "none")).status
                pid, reused = serving_pid(c, self.port, pids), c.sock.session_reused
            finally:
                c.close()
            if pid is not None and pid != origin:
                self.assertEqual(status, ResultStatus.SUCCESS)
                self.assertTrue(reused, "the other process resumed the session")
                return
        self.fail("no connection reached the other process")


class PostgreSQLWorkersTests(_WorkersMixin, TestCase):
    """C{workers = 2} on PostgreSQL (C{KMIPD_TEST_POSTGRES_URL})."""

    timeout = 240

    def setUp(self) -> None:
        if not os.environ.get("KMIPD_TEST_POSTGRES_URL"):
            raise SkipTest("KMIPD_TEST_POSTGRES_URL is not set")
        from tests.store.test_contract import _postgres_url

        self.database_url = _postgres_url(self)  # a fresh schema, dropped at cleanup
        super().setUp()


class WorkersConfigTests(TestCase):
    """The C{workers} key."""

    def test_parsed(self) -> None:
        self.assertEqual(load_config(None, {"workers": "4"}, environ={}).workers, 4)
        self.assertEqual(load_config(None, None, environ={}).workers, 1)

    def test_auto(self) -> None:
        """C{auto}: one process per core with a network database, one with SQLite."""
        from kmipd.workers import worker_count

        config = load_config(None, {"workers": "auto"}, environ={})
        self.assertEqual(config.workers, 0)
        cores = len(os.sched_getaffinity(0))
        self.assertEqual(worker_count(config, "postgresql+psycopg://h/db"), cores)
        self.assertEqual(worker_count(config, "sqlite:////tmp/x.sqlite"), 1)
        self.assertEqual(worker_count(config, None), 1)
        self.assertEqual(worker_count(load_config(None, {"workers": "3"}, environ={}), "sqlite:///x"), 3)

    def test_bad_value_named(self) -> None:
        for bad in ("0", "many", "65"):
            e = self.assertRaises(ConfigError, load_config, None, {"workers": bad}, environ={})
            self.assertEqual(e.key, "workers")

    def test_memory_database_refused(self) -> None:
        from kmipd.service import KMIPService
        from kmipd.workers import attach_workers

        config = load_config(None, {"workers": "2", "database_url": "sqlite://",
                                    "data_dir": os.path.abspath(self.mktemp())}, environ={})
        service = KMIPService(config, tls=False)
        self.addCleanup(service.store.close)
        e = self.assertRaises(ConfigError, attach_workers, service)
        self.assertEqual(e.key, "workers")
