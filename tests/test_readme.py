"""Every command and example of README.md works as written (on loopback, with HOME in a temporary
directory so the default data directory is a fresh one).

The README's fixed ports (5696, 8443) must be free: a test skips, naming the port, when one is in
use. C{pip install .} in a fresh virtualenv takes a minute: it runs when
C{KMIPD_TEST_README_INSTALL=1} (.ci/run sets it) and skips otherwise.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from .test_interop_pykmip import tls_exchange

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def readme_blocks() -> list[tuple[str, str]]:
    """C{(language, text)} of every fenced code block of README.md, in order."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)]


def block(start: str) -> str:
    """The one README block whose text starts with C{start}."""
    found = [text for _, text in readme_blocks() if text.startswith(start)]
    if len(found) != 1:
        raise AssertionError(f"README.md has {len(found)} blocks starting {start!r}")
    return found[0]


def readme_ports(test: SynchronousTestCase, *ports: int) -> None:
    """Hold the README ports' lock (one such test at a time on this machine, whatever runs it),
    and skip if another program uses one of C{ports}."""
    import fcntl

    lock = open(os.path.join(tempfile.gettempdir(), "kmipd-readme-ports.lock"), "a")  # noqa: SIM115
    test.addCleanup(lock.close)
    deadline = time.monotonic() + 600
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise SkipTest("another README test held ports 5696/8443 for 10 minutes") from None
            time.sleep(0.5)
    require_free(*ports)


def require_free(*ports: int) -> None:
    for port in ports:
        probe = socket.socket()
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise SkipTest(f"port {port} (used by the README's commands) is in use on this machine") from None
        finally:
            probe.close()


class ReadmeTests(SynchronousTestCase):
    """The README's blocks, run."""

    def setUp(self) -> None:
        self.home = os.path.abspath(self.mktemp())
        os.makedirs(self.home)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KMIPD_") and k != "XDG_DATA_HOME"}
        self.env.update(HOME=self.home, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
                        PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
        self.pki = os.path.join(self.home, ".local", "share", "kmipd", "pki")

    def serve(self, command: str, *, shell: bool = False) -> subprocess.Popen[bytes]:
        """Start C{command} (a README line) in the background; return once kmipd answers on 5696."""
        argv = ["bash", "-c", command] if shell else shlex.split(command)
        log = open(os.path.join(self.home, "server.log"), "wb")  # noqa: SIM115 -- closed by the cleanup
        process = subprocess.Popen(argv, cwd=self.home, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)

        def stop() -> None:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=30)
            log.close()
        self.addCleanup(stop)
        deadline = time.monotonic() + (240 if shell else 60)
        while True:  # kmipd listens before it writes the PKI, and serves once its reactor runs
            try:
                answer = tls_exchange(5696, *self.client_files())
                break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{command!r} did not serve: {self.output()}")
            time.sleep(0.2)
        self.assertEqual(answer[:3], b"\x42\x00\x7b", self.output())  # a Response Message
        return process

    def client_files(self) -> tuple[str, str, str]:
        return (os.path.join(self.pki, "ca.pem"), os.path.join(self.pki, "client.pem"),
                os.path.join(self.pki, "client.key"))

    def output(self) -> str:
        with open(os.path.join(self.home, "server.log"), encoding="utf-8", errors="replace") as f:
            return f.read()

    def test_every_block_is_checked(self) -> None:
        """Each fenced block of the README is one these tests run (a new one needs a test)."""
        checked = ["pip install . && twistd -n kmip", "pip install '.[test]' && python -m twisted.trial tests",
                   "import os\nfrom kmip.pie.client import ProxyKmipClient",
                   "twistd -n kmip --https-listen tcp:8443:interface=127.0.0.1",
                   "cd ~/.local/share/kmipd/pki"]
        blocks = readme_blocks()
        self.assertEqual(len(blocks), len(checked), [text.splitlines()[0] for _, text in blocks])
        for start in checked:
            block(start)

    def test_client_example(self) -> None:
        """`twistd -n kmip`, then the PyKMIP example as written: it finds the client files where the
        server said it put them and prints the key it created."""
        readme_ports(self, 5696)
        command = block("pip install . && twistd -n kmip").split("&&")[1].strip()
        self.serve(command)
        self.assertIn(f"kmipd: development PKI in {self.pki}\n", self.output())
        example = block("import os\nfrom kmip.pie.client import ProxyKmipClient")
        done = subprocess.run([sys.executable, "-c", example], cwd=self.home, env=self.env, capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertRegex(done.stdout, r"^key \S+: AES-256, 32 bytes\n$")

    def test_https_example(self) -> None:
        """The HTTPS section: the server command, then the query.xml and curl commands as written."""
        readme_ports(self, 5696, 8443)
        if shutil.which("curl") is None:
            raise SkipTest("curl is not installed")
        self.serve(block("twistd -n kmip --https-listen").strip())
        done = subprocess.run(["bash", "-ec", block("cd ~/.local/share/kmipd/pki")], cwd=self.home, env=self.env,
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("<ResponseMessage>", done.stdout)
        self.assertIn('<ResultStatus type="Enumeration" value="Success"/>', done.stdout)
        self.assertIn('<Operation type="Enumeration" value="Locate"/>', done.stdout)

    def test_install_and_run(self) -> None:
        """`pip install . && twistd -n kmip` in a fresh virtualenv (a copy of the repository: pip
        builds in the source tree), and `pip install '.[test]'` there."""
        if os.environ.get("KMIPD_TEST_README_INSTALL") != "1":
            raise SkipTest("set KMIPD_TEST_README_INSTALL=1 to install kmipd in a fresh virtualenv (.ci/run does)")
        readme_ports(self, 5696)
        source = os.path.join(self.home, "kmipd")
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.split()
        for name in files:
            if os.path.isfile(os.path.join(ROOT, name)):
                os.makedirs(os.path.dirname(os.path.join(source, name)), exist_ok=True)
                shutil.copy2(os.path.join(ROOT, name), os.path.join(source, name))
        venv = os.path.join(self.home, "venv")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=120)
        self.env.update(PATH=os.path.join(venv, "bin") + os.pathsep + os.environ.get("PATH", ""),
                        VIRTUAL_ENV=venv)
        del self.env["PYTHONPATH"]
        first = block("pip install . && twistd -n kmip").strip()
        self.serve(f"cd {shlex.quote(source)} && {first}", shell=True)
        install = block("pip install '.[test]' && python -m twisted.trial tests").split("&&")[0].strip()
        done = subprocess.run(["bash", "-c", install], cwd=source, env=self.env, capture_output=True, text=True,
                              timeout=600)
        self.assertEqual(done.returncode, 0, done.stderr)
        version = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                                  "import kmipd, kmip; print(kmipd.__file__)"], cwd=self.home, env=self.env,
                                 capture_output=True, text=True, timeout=60)
        self.assertEqual(version.returncode, 0, version.stderr)
        self.assertTrue(version.stdout.startswith(venv), version.stdout)
