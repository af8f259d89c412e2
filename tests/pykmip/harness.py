"""Run PyKMIP 0.11.0's own test suites, unchanged, against a running kmipd.

Everything here is blocking and is meant to run in a thread (the trial test module runs it with
C{deferToThread} while the reactor serves kmipd):

 - L{extract}: unpack the pinned PyKMIP sdist cached beside this file, after checking its SHA-256.
 - L{PKI}: a throwaway CA, a server certificate and one client certificate per user (CN = user).
 - L{write_client_config}: the client configuration file PyKMIP's suites read (a C{[client]}
   section for the integration suites, C{[john_doe]} ... for the functional one).
 - L{run_pytest}: run pytest on suite files in a subprocess (bounded) and read its JUnit XML.
 - L{FunctionalFixture}: the fixed paths the functional suite writes to (C{/tmp/pykmip/policies},
   C{/tmp/slugs/user_group_mapping.csv}), held under a file lock, and a real SLUGS on loopback.

The sdist is refreshed with C{pip download --no-deps --no-binary :all: pykmip==0.11.0}; a
different file fails L{extract} (update L{SDIST_SHA256} only on purpose).
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
SDIST = os.path.join(HERE, "pykmip-0.11.0.tar.gz")
#: SHA-256 of the pykmip 0.11.0 sdist on the package index.
SDIST_SHA256 = "eb42e2d9674e470935d98474b8502e675894cc8489362d8419fdd957319f2b3e"

#: The two integration suites (KMIPProxy, ProxyKmipClient) and their test counts.
INTEGRATION_FILES = (
    "kmip/tests/integration/services/test_integration.py",
    "kmip/tests/integration/services/test_proxykmipclient.py",
)
INTEGRATION_TESTS = 37
#: The functional suite (SLUGS groups, policy files) and its test count.
FUNCTIONAL_DIR = "kmip/tests/functional"
FUNCTIONAL_TESTS = 4

#: The client section name the integration suites are pointed at (C{--config}).
CLIENT_SECTION = "client"
#: Users of the functional suite: client section name -> certificate CN (SLUGS user name).
FUNCTIONAL_USERS = {
    "john_doe": "John Doe",
    "jane_doe": "Jane Doe",
    "john_smith": "John Smith",
    "jane_smith": "Jane Smith",
}
#: The user -> groups mapping the functional suite expects SLUGS to start with (it rewrites
#: the file itself in one test and restores this content).
FUNCTIONAL_GROUPS = {
    "John Doe": ["Group A"],
    "Jane Doe": ["Group A", "Group B"],
    "John Smith": ["Group B"],
}
#: The fixed directories the functional suite writes into.
FUNCTIONAL_POLICY_DIR = "/tmp/pykmip/policies"
FUNCTIONAL_SLUGS_DIR = "/tmp/slugs"
#: The operation policy the functional suite is written against: Group A may Get and Destroy
#: symmetric keys of policy_1, Group B may only Get them, everyone else nothing.
FUNCTIONAL_POLICY = {
    "policy_1": {
        "groups": {
            "Group A": {"SYMMETRIC_KEY": {"GET": "ALLOW_ALL", "DESTROY": "ALLOW_ALL"}},
            "Group B": {"SYMMETRIC_KEY": {"GET": "ALLOW_ALL", "DESTROY": "DISALLOW_ALL"}},
        },
        "preset": {"SYMMETRIC_KEY": {"GET": "DISALLOW_ALL", "DESTROY": "DISALLOW_ALL"}},
    }
}

#: Seconds a suite may run before it is killed (and counted as failed).
SUITE_TIMEOUT = 420.0
#: Seconds to wait for another run to release the functional suite's fixed paths.
LOCK_TIMEOUT = 600.0
#: Seconds to wait for SLUGS to start and to stop.
SLUGS_TIMEOUT = 30.0
#: Seconds PyKMIP's client waits on its socket (the client configuration's C{timeout}).
CLIENT_TIMEOUT = 30


class SuiteError(Exception):
    """The suite could not be run at all (bad sdist, pytest crashed, SLUGS did not start)."""


def missing_requirements(functional: bool = False) -> list[str]:
    """Names of the modules the suites need that cannot be imported here."""
    names = ["pytest", "testtools", "kmip"] + (["slugs.app", "cherrypy"] if functional else [])
    missing = []
    for name in names:
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - any import failure means "cannot run"
            missing.append(name)
    return missing


def sha256(path: str) -> str:
    """The hex SHA-256 of the file at C{path}."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def extract(dest: str, sdist: str = SDIST, expected: str = SDIST_SHA256) -> str:
    """Unpack the sdist into C{dest} after checking its hash; return the source root.

    @raise SuiteError: the file is missing, its hash differs, or a member would escape C{dest}.
    """
    if not os.path.exists(sdist):
        raise SuiteError(f"{sdist} is missing")
    actual = sha256(sdist)
    if actual != expected:
        raise SuiteError(f"{sdist}: SHA-256 {actual} is not the pinned {expected}")
    os.makedirs(dest, exist_ok=True)
    base = os.path.realpath(dest)
    with tarfile.open(sdist, "r:gz") as tar:
        members = tar.getmembers()
        for member in members:
            target = os.path.realpath(os.path.join(base, member.name))
            if not (target == base or target.startswith(base + os.sep)) or member.issym() or member.islnk():
                raise SuiteError(f"{sdist}: unexpected member {member.name!r}")
        tar.extractall(base, members=members)  # noqa: S202 - members checked above
    roots = {m.name.split("/", 1)[0] for m in members}
    if len(roots) != 1:
        raise SuiteError(f"{sdist}: expected one top-level directory, found {sorted(roots)}")
    return os.path.join(base, roots.pop())


# --- certificates --------------------------------------------------------------------------------


def _write(path: str, data: bytes, mode: int = 0o644) -> None:
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class PKI:
    """A CA, a server certificate for 127.0.0.1 and client certificates (CN = user), as PEM files."""

    def __init__(self, directory: str, users: Sequence[str]) -> None:
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self._ca_cert = (
            x509.CertificateBuilder().subject_name(_name("kmipd suites CA")).issuer_name(_name("kmipd suites CA"))
            .public_key(self._ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._ca_key, hashes.SHA256()))
        self.ca = os.path.join(directory, "ca.pem")
        _write(self.ca, self._ca_cert.public_bytes(serialization.Encoding.PEM))
        self.server_cert, self.server_key = self._issue("kmipd", ExtendedKeyUsageOID.SERVER_AUTH)
        self.clients = {user: self._issue(user, ExtendedKeyUsageOID.CLIENT_AUTH) for user in users}

    def _issue(self, cn: str, usage: x509.ObjectIdentifier) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(self._ca_cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if usage == ExtendedKeyUsageOID.SERVER_AUTH:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
                critical=False)
        cert = builder.sign(self._ca_key, hashes.SHA256())
        stem = "".join(c if c.isalnum() else "_" for c in cn)
        cert_path = os.path.join(self.directory, f"{stem}.pem")
        key_path = os.path.join(self.directory, f"{stem}.key")
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        _write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()), 0o600)
        return cert_path, key_path

    def server_config(self) -> dict[str, str]:
        """The kmipd settings for this PKI."""
        return {"certificate_path": self.server_cert, "key_path": self.server_key, "ca_path": self.ca}


def write_client_config(path: str, port: int, pki: PKI, sections: Mapping[str, str]) -> None:
    """Write a PyKMIP client configuration: one section per C{section name -> user}."""
    lines: list[str] = []
    for section, user in sections.items():
        cert, key = pki.clients[user]
        lines += [
            f"[{section}]",
            "host=127.0.0.1",
            f"port={port}",
            f"certfile={cert}",
            f"keyfile={key}",
            f"ca_certs={pki.ca}",
            "cert_reqs=CERT_REQUIRED",
            "ssl_version=PROTOCOL_SSLv23",
            "do_handshake_on_connect=True",
            "suppress_ragged_eofs=True",
            f"timeout={CLIENT_TIMEOUT}",
            "",
        ]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


# --- running pytest ------------------------------------------------------------------------------


@dataclass
class SuiteResult:
    """What one pytest run reported, by test id (C{file::Class::test})."""

    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    output: str = ""
    #: The whole failure report (traceback) of each failed test.
    details: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Tests that ran or were skipped."""
        return len(self.passed) + len(self.failed) + len(self.skipped)

    def summary(self) -> str:
        """C{"passed/total"}, plus the failing test ids."""
        text = f"{len(self.passed)}/{self.total}"
        if self.failed:
            text += " (failed: " + ", ".join(sorted(self.failed)) + ")"
        return text


def _test_id(case: ET.Element) -> str:
    module, _, cls = case.get("classname", "").rpartition(".")
    return f"{module.rpartition('.')[2]}.py::{cls}::{case.get('name', '')}"


def parse_junit(path: str) -> SuiteResult:
    """Read pytest's JUnit XML report."""
    result = SuiteResult()
    for case in ET.parse(path).getroot().iter("testcase"):
        test = _test_id(case)
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            lines = [line.strip() for line in (problem.text or problem.get("message") or "").splitlines()]
            result.failed[test] = next((line for line in reversed(lines) if line), "")[:500]
            result.details[test] = problem.text or ""
        elif case.find("skipped") is not None:
            result.skipped.append(test)
        else:
            result.passed.append(test)
    return result


def suite_environment(home: str) -> dict[str, str]:
    """The environment for the pytest subprocess: HOME (where C{~/.pykmip/pykmip.conf} lives) is ours."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(HOME=home, PYTHONDONTWRITEBYTECODE="1")
    return env


def run_pytest(root: str, args: Sequence[str], env: Mapping[str, str], work: str,
               timeout: float = SUITE_TIMEOUT) -> SuiteResult:
    """Run C{pytest args} from the source root C{root}; return its per-test result.

    @raise SuiteError: pytest timed out or wrote no report.
    """
    report = os.path.join(work, f"junit-{time.monotonic_ns()}.xml")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rN",
               f"--rootdir={root}", f"--junitxml={report}", *args]
    try:
        done = subprocess.run(command, cwd=root, env=dict(env), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise SuiteError(f"pytest {' '.join(args)} did not finish in {timeout:g}s:\n"
                         f"{(e.stdout or b'').decode('utf-8', 'replace')[-4000:]}") from None
    output = done.stdout.decode("utf-8", "replace")
    if not os.path.exists(report):
        raise SuiteError(f"pytest exited with {done.returncode} without a report:\n{output[-4000:]}")
    result = parse_junit(report)
    result.output = output
    return result


def run_integration(root: str, work: str, port: int, pki: PKI) -> SuiteResult:
    """Both integration files against 127.0.0.1:C{port} (client certificate of user C{client})."""
    home = os.path.join(work, "home")
    os.makedirs(os.path.join(home, ".pykmip"), exist_ok=True)
    write_client_config(os.path.join(home, ".pykmip", "pykmip.conf"), port, pki, {CLIENT_SECTION: "client"})
    return run_pytest(root, [*INTEGRATION_FILES, "--config", CLIENT_SECTION], suite_environment(home), work)


def run_functional(root: str, work: str, port: int, pki: PKI) -> SuiteResult:
    """The functional suite against 127.0.0.1:C{port} (inside L{FunctionalFixture})."""
    # PyKMIP's functional conftest cannot load in pytest >= 7.4 (see functional_plugin).
    home = os.path.join(work, "home")
    os.makedirs(home, exist_ok=True)
    config = os.path.join(work, "functional-client.conf")
    write_client_config(config, port, pki, FUNCTIONAL_USERS)
    env = suite_environment(home)
    env.update(KMIPD_PYKMIP_CLIENT_CONFIG=config, PYTHONPATH=HERE)
    return run_pytest(root, [FUNCTIONAL_DIR, "--noconftest", "-p", "functional_plugin"], env, work)


# --- the functional suite's fixed paths, and SLUGS -----------------------------------------------


@contextmanager
def _locked(path: str, timeout: float) -> Iterator[None]:
    with open(path, "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                    raise SuiteError(f"{path} stayed locked for {timeout:g}s (another suite run?)") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FunctionalFixture:
    """The functional suite's world: C{/tmp/pykmip/policies} holding policy_1, and a real SLUGS
    watching C{/tmp/slugs/user_group_mapping.csv}, both owned by this run under a file lock.

    Use as a context manager (blocking); L{policy_dir} and L{slugs_url} are set inside it.
    """

    def __init__(self, work: str) -> None:
        self.work = work
        self.policy_dir = FUNCTIONAL_POLICY_DIR
        self.slugs_url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = ExitStack()

    def __enter__(self) -> FunctionalFixture:
        self._lock.enter_context(_locked("/tmp/kmipd-pykmip-functional.lock", LOCK_TIMEOUT))
        try:
            self._prepare()
            self._start_slugs()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stop_slugs()
            for stale in ("policy_overwrite.json", "policy_caching.json"):
                path = os.path.join(self.policy_dir, stale)
                if os.path.exists(path):
                    os.remove(path)
        finally:
            self._lock.close()

    def _prepare(self) -> None:
        if os.path.isdir(self.policy_dir):
            shutil.rmtree(self.policy_dir)
        os.makedirs(self.policy_dir)
        with open(os.path.join(self.policy_dir, "policy.json"), "w", encoding="utf-8") as f:
            json.dump(FUNCTIONAL_POLICY, f, indent=2)
        os.makedirs(FUNCTIONAL_SLUGS_DIR, exist_ok=True)
        with open(os.path.join(FUNCTIONAL_SLUGS_DIR, "user_group_mapping.csv"), "w", encoding="utf-8") as f:
            for user, groups in FUNCTIONAL_GROUPS.items():
                for group in groups:
                    f.write(f"{user},{group}\n")

    def _start_slugs(self) -> None:
        port = _free_port()
        conf = os.path.join(self.work, "slugs.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write("[global]\nenvironment = 'production'\nserver.socket_host = '127.0.0.1'\n"
                    f"server.socket_port = {port}\nlog.screen = False\nengine.autoreload.on = False\n\n"
                    f"[data]\nuser_group_mapping = '{FUNCTIONAL_SLUGS_DIR}/user_group_mapping.csv'\n\n"
                    "[/slugs]\ntools.trailing_slash.on = True\n")
        self._log = os.path.join(self.work, "slugs.log")
        with open(self._log, "wb") as log:
            self._process = subprocess.Popen([sys.executable, "-m", "slugs.app", "-c", conf],
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                             cwd=self.work)
        url = f"http://127.0.0.1:{port}/slugs/"
        deadline = time.monotonic() + SLUGS_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SuiteError(f"slugs exited with {self._process.returncode}: {self._tail()}")
            try:
                with urllib.request.urlopen(url + "users/", timeout=2) as response:  # noqa: S310 - loopback
                    users = json.load(response).get("users", ())
                if set(FUNCTIONAL_GROUPS) <= set(users):
                    self.slugs_url = url
                    return
            except (OSError, ValueError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise SuiteError(f"slugs not ready after {SLUGS_TIMEOUT:g}s: {self._tail()}")

    def _tail(self) -> str:
        with open(self._log, "rb") as f:
            return f.read().decode("utf-8", "replace")[-2000:]

    def _stop_slugs(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(SLUGS_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(SLUGS_TIMEOUT)
