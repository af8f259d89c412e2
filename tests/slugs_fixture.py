"""
Run the real SLUGS service (the C{slugs} package, on CherryPy) for tests.

L{start_slugs} writes a user/group mapping and a CherryPy configuration into
a test temporary directory, starts C{python -m slugs.app} on a free loopback
port, waits (bounded) until SLUGS lists every mapped user, and registers a
cleanup that stops the process.  Install for tests with::

    pip install --no-deps slugs==1.1.0
    pip install 'cherrypy>=18' routes
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence

import treq
from treq.client import HTTPClient
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectError, ConnectingCancelledError
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, HTTPConnectionPool, ResponseFailed

__all__ = ["SLUGSStartError", "slugs_available", "start_slugs"]

#: Seconds to wait for SLUGS to serve the mapping before giving up.
START_TIMEOUT = 20.0
#: Seconds to wait for SLUGS to exit after SIGTERM before SIGKILL.
STOP_TIMEOUT = 10.0


class SLUGSStartError(Exception):
    """The SLUGS subprocess did not come up; the message includes its output."""


def slugs_available() -> bool:
    """Return whether the C{slugs} package and CherryPy can be imported."""
    try:
        import cherrypy  # noqa: F401
        import slugs.app  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means "not usable"
        return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sleep(seconds: float) -> Deferred[None]:
    return deferLater(reactor, seconds, lambda: None)


def _write_files(
    directory: str, mapping: Mapping[str, Sequence[str]], port: int
) -> str:
    csv_path = os.path.join(directory, "user_group_mapping.csv")
    with open(csv_path, "w", encoding="utf-8") as f:
        for user, groups in mapping.items():
            for group in groups:
                if "," in user + group or "\n" in user + group:
                    raise ValueError(f"SLUGS mapping cannot hold {user!r}/{group!r}")
                f.write(f"{user},{group}\n")
    conf_path = os.path.join(directory, "slugs.conf")
    with open(conf_path, "w", encoding="utf-8") as f:
        f.write(
            "[global]\n"
            "environment = 'production'\n"
            "server.socket_host = '127.0.0.1'\n"
            f"server.socket_port = {port}\n"
            "log.screen = False\n"
            "engine.autoreload.on = False\n"
            "\n"
            "[data]\n"
            f"user_group_mapping = {csv_path!r}\n"
            "\n"
            "[/slugs]\n"
            "tools.trailing_slash.on = True\n"
        )
    return conf_path


def _spawn(
    directory: str, mapping: Mapping[str, Sequence[str]], port: int, log_path: str
) -> subprocess.Popen[bytes]:
    """Write the files and start C{python -m slugs.app} (blocking, but brief)."""
    os.makedirs(directory)
    conf_path = _write_files(directory, mapping, port)
    with open(log_path, "wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "slugs.app", "-c", conf_path],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=directory,
        )


async def start_slugs(testcase: TestCase, mapping: Mapping[str, Sequence[str]]) -> str:
    """
    Start SLUGS serving C{mapping} (user -> groups) and return its base URL.

    Every user in C{mapping} must have at least one group (SLUGS only knows
    users through user,group pairs).  The process is stopped in C{testcase}
    cleanup.

    @return: C{"http://127.0.0.1:<port>/slugs/"}.
    @raise SLUGSStartError: if SLUGS exits or is not ready within
        L{START_TIMEOUT} seconds.
    """
    directory = os.path.abspath(testcase.mktemp())
    port = _free_port()
    log_path = os.path.join(directory, "slugs.log")
    process = _spawn(directory, mapping, port, log_path)

    async def stop() -> None:
        if process.poll() is None:
            process.terminate()
            waited = 0.0
            while process.poll() is None and waited < STOP_TIMEOUT:
                await _sleep(0.05)
                waited += 0.05
            if process.poll() is None:
                process.kill()
                process.wait()

    testcase.addCleanup(lambda: Deferred.fromCoroutine(stop()))

    def output() -> str:
        with open(log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    pool = HTTPConnectionPool(reactor, persistent=False)
    client = HTTPClient(Agent(reactor, pool=pool))
    url = f"http://127.0.0.1:{port}/slugs/"
    expected = set(mapping)
    waited = 0.0
    try:
        while waited < START_TIMEOUT:
            if process.poll() is not None:
                raise SLUGSStartError(
                    f"slugs exited with {process.returncode}:\n{output()}"
                )
            try:
                response = await client.get(url + "users/", timeout=2, reactor=reactor)
                body = (
                    await treq.json_content(response) if response.code == 200 else None
                )
            except (ConnectError, ConnectingCancelledError, ResponseFailed, ValueError):
                body = None
            if isinstance(body, dict) and expected <= set(body.get("users", ())):
                return url
            await _sleep(0.1)
            waited += 0.1
        raise SLUGSStartError(f"slugs not ready after {START_TIMEOUT}s:\n{output()}")
    finally:
        await pool.closeCachedConnections()
