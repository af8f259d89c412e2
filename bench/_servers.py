"""Servers for C{bench_ops.py --ab}: start kmipd, the PyKMIP 0.11 server or the floor, pinned.

Every server runs in its own session (process group) on loopback, with its own temporary
directory, pinned to the server cores with C{sched_setaffinity} (inherited by its children:
PyKMIP's policy monitor and multiprocessing manager, kmipd's workers). Its CPU time is read from
C{/proc/<pid>/stat} (utime + stime) of the process and all its descendants.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from _load import Conn, client_context

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class PKI:
    """Certificate files shared by every server and the clients."""

    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str


def make_pki(directory: str, kind: str) -> PKI:
    """C{ec}: kmipd's development PKI (P-256); C{rsa}: the same shape with RSA-2048 keys."""
    if kind == "ec":
        sys.path.insert(0, REPO)
        from kmipd.devcerts import ensure_dev_pki

        p = ensure_dev_pki(directory, client_cn="bench-client")
        return PKI(p.ca_cert, p.server_cert, p.server_key, p.client_cert, p.client_key)
    return _rsa_pki(directory)


def _rsa_pki(directory: str) -> PKI:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(stem: str, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> tuple[str, str]:
        kp, cp = os.path.join(directory, stem + ".key"), os.path.join(directory, stem + ".pem")
        with open(kp, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        with open(cp, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        return cp, kp

    def cert(cn: str, key: rsa.RSAPrivateKey, ca_key: rsa.RSAPrivateKey, ca: bool,
             eku: x509.ObjectIdentifier | None = None) -> x509.Certificate:
        b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name("bench RSA CA"))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if eku is not None:
            b = b.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        if eku == ExtendedKeyUsageOID.SERVER_AUTH:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return b.sign(ca_key, hashes.SHA256())

    ca_key = rsa.generate_private_key(65537, 2048)
    ca_pem, _ = write("ca", ca_key, cert("bench RSA CA", ca_key, ca_key, True))
    sk = rsa.generate_private_key(65537, 2048)
    s_pem, s_key = write("server", sk, cert("localhost", sk, ca_key, False, ExtendedKeyUsageOID.SERVER_AUTH))
    ck = rsa.generate_private_key(65537, 2048)
    c_pem, c_key = write("client", ck, cert("bench-client", ck, ca_key, False, ExtendedKeyUsageOID.CLIENT_AUTH))
    return PKI(ca_pem, s_pem, s_key, c_pem, c_key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerSpec:
    """C{label=kind[:tree][,workers=N]} on the command line."""

    label: str
    kind: str  # kmipd, pykmip, floor
    tree: str = REPO
    workers: int = 1
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> ServerSpec:
        label, _, rest = text.partition("=")
        rest = rest or label
        head, *opts = rest.split(",")
        kind, _, tree = head.partition(":")
        if kind not in ("kmipd", "pykmip", "floor"):
            raise SystemExit(f"--server {text!r}: kind must be kmipd, pykmip or floor")
        extra = dict(o.split("=", 1) for o in opts)
        workers = int(extra.pop("workers", "1"))
        return cls(label, kind, os.path.abspath(tree) if tree else REPO, workers, extra)


class Server:
    """One running server process (and its descendants)."""

    def __init__(self, spec: ServerSpec, pki: PKI, directory: str, cpus: tuple[int, ...]) -> None:
        self.spec = spec
        self.dir = directory
        self.port = free_port()
        os.makedirs(directory, exist_ok=True)
        cmd, env, cwd = self._command(pki)
        self.log = open(os.path.join(directory, "server.out"), "wb")
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
        self.pki = pki

    def _command(self, pki: PKI) -> tuple[list[str], dict[str, str], str]:
        s, d, env = self.spec, self.dir, dict(os.environ)
        if s.kind == "floor":
            return ([sys.executable, os.path.join(BENCH, "floor_server.py"), "--port", str(self.port),
                     "--cert", pki.server_cert, "--key", pki.server_key, "--ca", pki.ca], env, d)
        if s.kind == "pykmip":
            policies = os.path.join(d, "policies")
            os.makedirs(policies, exist_ok=True)
            conf = os.path.join(d, "server.conf")
            with open(conf, "w") as f:
                f.write(f"[server]\nhostname=127.0.0.1\nport={self.port}\ncertificate_path={pki.server_cert}\n"
                        f"key_path={pki.server_key}\nca_path={pki.ca}\nauth_suite=TLS1.2\n"
                        f"enable_tls_client_auth=False\npolicy_path={policies}\n"
                        f"database_path={os.path.join(d, 'pykmip.db')}\nlogging_level=INFO\n")
            return ([sys.executable, "-c", "from kmip.services.server.server import main; main()",
                     "-f", conf, "-l", os.path.join(d, "pykmip.log")], env, d)
        conf = os.path.join(d, "server.conf")
        options = dict(s.extra)
        level = options.pop("logging_level", "INFO")  # a [server] key; the others go to [kmipd]
        extra = "".join(f"{k}={v}\n" for k, v in options.items())
        with open(conf, "w") as f:
            f.write(f"[server]\ncertificate_path={pki.server_cert}\nkey_path={pki.server_key}\n"
                    f"ca_path={pki.ca}\nlogging_level={level}\n[kmipd]\n"
                    + (f"workers={s.workers}\n" if s.workers != 1 else "") + extra)
        env["PYTHONPATH"] = s.tree
        return ([sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n", "--pidfile=",
                 "--logfile", os.path.join(d, "kmipd.log"), "kmip", "--config", conf,
                 "--data-dir", os.path.join(d, "data"),
                 "--listen", f"tcp:{self.port}:interface=127.0.0.1"], env, s.tree)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until a TLS handshake succeeds (and, except for the floor, a connection stays usable)."""
        ctx = client_context(self.pki.ca, self.pki.client_cert, self.pki.client_key)
        end = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.spec.label} exited with {self.proc.returncode}; see {self.log.name}")
            try:
                Conn(ctx, "127.0.0.1", self.port, timeout=5).close()
                if self._workers_serving():
                    return
                time.sleep(0.1)
            except OSError:
                if time.monotonic() > end:
                    raise SystemExit(
                        f"{self.spec.label} not ready after {timeout:.0f} s; see {self.log.name}") from None
                time.sleep(0.1)

    def _workers_serving(self) -> bool:
        """Whether every worker process of a C{workers = N} kmipd serves (its "serving" line is in
        the log): connections opened before would all land on the parent, which accepts first."""
        if self.spec.kind != "kmipd" or self.spec.workers <= 1:
            return True
        if self.spec.extra.get("logging_level", "INFO").upper() not in ("DEBUG", "INFO"):
            # the "serving" lines are INFO: give the workers a few seconds instead
            self._first_ready = getattr(self, "_first_ready", None) or time.monotonic()
            return time.monotonic() - self._first_ready > 5
        try:
            with open(os.path.join(self.dir, "kmipd.log")) as f:
                text = f.read()
        except OSError:
            return False
        return len(re.findall(r"kmipd worker \d+ serving", text)) >= self.spec.workers - 1

    def pids(self) -> list[int]:
        """The server process and all its descendants."""
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry))
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, ()))
        return out

    def cpu(self) -> float:
        """CPU seconds (user + system) used so far by the server's processes."""
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                continue
        return total / TICK

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        try:  # leftovers of the server's own session (PyKMIP's manager / monitor processes)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()


def start(spec: ServerSpec, pki: PKI, directory: str, cpus: tuple[int, ...], attempts: int = 3) -> Server:
    """A ready server; a new free port and another try when it exits while starting (the free port
    was taken by another process between choosing and binding it)."""
    for attempt in range(attempts):
        server = Server(spec, pki, directory, cpus)
        try:
            server.wait_ready()
            return server
        except SystemExit:
            server.stop()
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def copy_state(template: str, directory: str) -> None:
    """A fresh server directory holding a copy of a prepared database."""
    shutil.copytree(template, directory)
    for stale in ("server.out", "kmipd.log", "pykmip.log", "server.conf"):
        path = os.path.join(directory, stale)
        if os.path.exists(path):
            os.unlink(path)
