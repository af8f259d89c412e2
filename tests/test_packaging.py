"""Packaging: the C{kmipd} command, the Dockerfile, compose file, systemd unit, and scale-out behind HAProxy.

There is no container engine here: the Dockerfile and compose file are checked by reading
them; the HAProxy configuration is checked by C{haproxy -c} and then used for real, in TCP mode
on loopback, in front of two kmipd services sharing one PostgreSQL database (skipped without
haproxy or C{KMIPD_TEST_POSTGRES_URL}).
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from kmipd.cli import twistd_argv
from kmipd.config import load_config
from kmipd.service import KMIPService
from kmipd.testing import results
from kmipd.ttlv import decode

from .test_admin_pki import CREATE
from .test_interop_pykmip import QUERY, tls_exchange

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(*path: str) -> str:
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


class FilesTests(SynchronousTestCase):
    """The shipped files say what the docs promise."""

    def test_dockerfile(self) -> None:
        """Non-root user, a data volume, a health check, and no key material copied in."""
        text = read("Dockerfile")
        instructions = [line.split(None, 1)[0] for line in text.splitlines()
                        if line and not line.startswith(("#", " "))]
        self.assertEqual(instructions[0], "FROM")
        user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
        self.assertEqual(user, ["kmipd"])
        self.assertIn('VOLUME ["/var/lib/kmipd"]', text)
        self.assertRegex(text, r"(?m)^HEALTHCHECK .*\n.*readyz")
        for line in re.findall(r"(?m)^(?:COPY|ADD) .*$", text):
            self.assertNotRegex(line, r"\.(key|pem)\b|secrets|master", line)
        self.assertIn("ENTRYPOINT [\"kmipd\"]", text)
        dockerignore = read(".dockerignore").split()
        for pattern in ("*.key", "*.pem", ".git"):
            self.assertIn(pattern, dockerignore)

    def test_compose(self) -> None:
        """Two kmipd nodes and a migration on PostgreSQL, HAProxy in front, secrets from files."""
        try:
            import yaml
        except ImportError:
            raise SkipTest("PyYAML is not installed") from None
        compose = yaml.safe_load(read("compose.yaml"))
        services = compose["services"]
        self.assertEqual(sorted(services), ["haproxy", "kmipd1", "kmipd2", "migrate", "postgres"])
        for node in ("kmipd1", "kmipd2"):
            env = services[node]["environment"]
            self.assertTrue(env["KMIPD_DATABASE_URL"].startswith("postgresql+psycopg://"))
            self.assertEqual(env["KMIPD_MASTER_KEY_PATH"], "/run/secrets/master_key")
            self.assertEqual(services[node]["depends_on"]["migrate"]["condition"], "service_completed_successfully")
        self.assertEqual(services["migrate"]["entrypoint"], ["kmipd-admin", "db", "upgrade"])
        self.assertIn("./etc/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro", services["haproxy"]["volumes"])
        self.assertTrue(all(s["file"].startswith("./secrets/") for s in compose["secrets"].values()))
        # Every KMIPD_* variable the nodes get is a setting kmipd reads.
        from kmipd.config import environment_values

        self.assertEqual(set(environment_values(services["kmipd1"]["environment"])),
                         {"database_url", "master_key_path", "certificate_path", "key_path", "ca_path",
                          "audit_log_path"})

    def test_systemd_unit(self) -> None:
        """The unit runs `kmipd` as an unprivileged user, migrates first, and reloads with SIGHUP."""
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(read("etc", "kmipd.service"))
        service = parser["Service"]
        self.assertEqual(service["User"], "kmipd")
        self.assertTrue(service["ExecStart"].split()[0].endswith("/kmipd"))
        self.assertIn("db upgrade", service["ExecStartPre"])
        self.assertEqual(service["ExecReload"], "/bin/kill -HUP $MAINPID")
        self.assertEqual(parser["Install"]["WantedBy"], "multi-user.target")

    def test_haproxy_config_valid(self) -> None:
        """`haproxy -c` accepts etc/haproxy.cfg (TCP mode, readiness checks)."""
        haproxy = shutil.which("haproxy")
        if haproxy is None:
            raise SkipTest("haproxy is not installed")
        text = read("etc", "haproxy.cfg")
        self.assertRegex(text, r"(?m)^\s+mode tcp$")
        self.assertIn("option httpchk GET /readyz", text)
        check = subprocess.run([haproxy, "-c", "-f", os.path.join(ROOT, "etc", "haproxy.cfg")],
                               capture_output=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stderr.decode())

    def test_console_script(self) -> None:
        """`kmipd` is `twistd -n kmip` without a pid file; it is declared in setup.py; --help works."""
        self.assertEqual(twistd_argv(["--config", "x"]), ["twistd", "--nodaemon", "--pidfile=", "kmip",
                                                          "--config", "x"])
        self.assertIn('"kmipd = kmipd.cli:main"', read("setup.py"))
        env = dict(os.environ, PYTHONPATH=ROOT)
        done = subprocess.run([sys.executable, "-c", "from kmipd.cli import main; main()", "--help"],
                              capture_output=True, timeout=60, env=env, cwd=ROOT)
        self.assertEqual(done.returncode, 0, done.stderr.decode())
        self.assertIn(b"--listen", done.stdout)
        done = subprocess.run([sys.executable, "-c", "from kmipd.cli import main; main()", "--version"],
                              capture_output=True, timeout=60, env=env, cwd=ROOT)
        from kmipd import __version__

        self.assertTrue(done.stdout.decode().startswith(f"kmipd {__version__} (Twisted "), done.stdout)


class ConsoleScriptRunTests(SynchronousTestCase):
    """`kmipd` really runs the server in the foreground and leaves no pid file."""

    def test_runs_and_stops(self) -> None:
        work = os.path.abspath(self.mktemp())
        os.makedirs(work)
        port = _free_port()
        env = dict(os.environ, PYTHONPATH=ROOT, KMIPD_DATA_DIR=os.path.join(work, "data"),
                   KMIPD_LISTEN=f"tcp:{port}:interface=127.0.0.1")
        process = subprocess.Popen([sys.executable, "-c", "from kmipd.cli import main; main()"], cwd=work, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        assert process.stdout is not None
        lines: list[bytes] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if b"kmipd listening on" in line:
                break
        text = b"".join(lines).decode(errors="replace")
        self.assertIn(f"kmipd listening on IPv4Address(type='TCP', host='127.0.0.1', port={port})", text)
        from kmipd import __version__

        self.assertIn(f"kmipd {__version__} starting", text)
        self.assertFalse(os.path.exists(os.path.join(work, "twistd.pid")))
        pki = os.path.join(work, "data", "pki")
        answer = tls_exchange(port, os.path.join(pki, "ca.pem"), os.path.join(pki, "client.pem"),
                              os.path.join(pki, "client.key"), QUERY)
        self.assertTrue(results(decode(answer))[0].ok)  # served: the reactor runs
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
        # twistd stops the reactor cleanly, then ends by the signal it got (as systemd expects).
        self.assertIn(process.returncode, (0, -signal.SIGTERM))
        self.assertIn(b"Server Shut Down", rest)
        self.assertEqual(os.listdir(work), ["data"])


class HealthcheckCommandTests(TestCase):
    """The Dockerfile's HEALTHCHECK command, run against a real service (its port substituted)."""

    timeout = 60

    @defer.inlineCallbacks
    def test_healthcheck_command(self):  # type: ignore[no-untyped-def]
        import json

        match = re.search(r"(?ms)^HEALTHCHECK .*?CMD (\[.*?\])$", read("Dockerfile"))
        assert match is not None
        command = json.loads(match.group(1))
        self.assertEqual(command[:2], ["python", "-c"])
        data = os.path.abspath(self.mktemp())
        config = load_config(None, {"data_dir": data, "listen": ("tcp:0:interface=127.0.0.1",),
                                    "metrics_listen": ("tcp:0:interface=127.0.0.1",)})
        node = KMIPService(config)
        node.startService()
        self.addCleanup(node.stopService)
        port = node.monitoring.ports[0].getHost().port
        code = command[2].replace("9464", str(port))

        def run() -> int:
            return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode

        self.assertEqual((yield deferToThread(run)), 0)
        node.health.engine.connect = lambda: (_ for _ in ()).throw(OSError("database down"))
        self.assertNotEqual((yield deferToThread(run)), 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loopback_haproxy_config(front: int, nodes: list[tuple[int, int]]) -> str:
    """etc/haproxy.cfg with loopback addresses (no container DNS) and fast checks, for a test."""
    text = read("etc", "haproxy.cfg")
    text = re.sub(r"(?ms)^resolvers docker\n.*?\n\n", "", text)
    text = text.replace(" resolvers docker", "").replace("bind :5696", f"bind 127.0.0.1:{front}")
    text = re.sub(r"(?m)^    server .*\n", "", text)
    text += "".join(f"    server node{i} 127.0.0.1:{port} check port {metrics} inter 100ms fall 2 rise 1\n"
                    for i, (port, metrics) in enumerate(nodes))
    text = re.sub(r"(?m)^    maxconn \d+$", "    maxconn 1000", text)  # the test's file descriptor limit
    return text.replace("log stdout format raw local0", "log stderr format raw local0")


class ScaleOutTests(TestCase):
    """Two nodes on one PostgreSQL database behind a real HAProxy in TCP mode."""

    timeout = 120

    @defer.inlineCallbacks
    def test_traffic_reaches_both_nodes(self):  # type: ignore[no-untyped-def]
        """Connections through HAProxy are served by both nodes; a node that is not ready is skipped."""
        haproxy = shutil.which("haproxy")
        if haproxy is None:
            raise SkipTest("haproxy is not installed")
        from .store.test_contract import _postgres_url

        try:
            url = _postgres_url(self)
        except NotImplementedError:
            raise SkipTest("KMIPD_TEST_POSTGRES_URL is not set") from None
        data = os.path.abspath(self.mktemp())
        nodes: list[KMIPService] = []
        for _ in range(2):
            config = load_config(None, {"data_dir": data, "database_url": url,
                                        "listen": ("tcp:0:interface=127.0.0.1",),
                                        "metrics_listen": ("tcp:0:interface=127.0.0.1",)})
            node = KMIPService(config)
            node.startService()
            self.addCleanup(node.stopService)
            nodes.append(node)
        front = _free_port()
        cfg = os.path.join(data, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(loopback_haproxy_config(front, [(n.ports[0].getHost().port,
                                                     n.monitoring.ports[0].getHost().port) for n in nodes]))
        process = subprocess.Popen([haproxy, "-db", "-f", cfg], stdout=subprocess.DEVNULL,
                                   stderr=open(os.path.join(data, "haproxy.log"), "wb"))

        def stop() -> None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=10)

        self.addCleanup(stop)
        yield deferToThread(_wait_for, front, process)
        yield deferLater(reactor, 0.5, lambda: None)  # first health checks

        pki = os.path.join(data, "pki")
        ca, cert, key = (os.path.join(pki, n) for n in ("ca.pem", "client.pem", "client.key"))

        def served() -> list[float]:
            return [n.metrics.registry.get_sample_value(
                "kmipd_requests_total", {"operation": "QUERY", "result": "success", "version": "1.2",
                                         "transport": "ttlv"}) or 0.0 for n in nodes]

        for _ in range(8):
            answer = yield deferToThread(tls_exchange, front, ca, cert, key, QUERY)
            self.assertTrue(results(decode(answer))[0].ok)
        counts = served()
        self.assertEqual(sum(counts), 8)
        self.assertTrue(all(c > 0 for c in counts), f"one node got no traffic: {counts}")
        # Shared database: what one node creates through HAProxy, the other sees.
        answer = yield deferToThread(tls_exchange, front, ca, cert, key, CREATE)
        self.assertTrue(results(decode(answer))[0].ok)

        # Node 0 loses its database: its readiness fails, HAProxy stops sending it clients.
        engine = nodes[0].health.engine
        original = engine.connect

        def unreachable() -> Any:
            raise OSError("database unreachable")

        engine.connect = unreachable
        self.addCleanup(setattr, engine, "connect", original)
        yield deferLater(reactor, 1.0, lambda: None)
        before = served()
        for _ in range(6):
            answer = yield deferToThread(tls_exchange, front, ca, cert, key, QUERY)
            self.assertTrue(results(decode(answer))[0].ok)
        after = served()
        self.assertEqual((after[0] - before[0], after[1] - before[1]), (0, 6))


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"haproxy exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("haproxy did not start listening")
