# -*- test-case-name: tests.test_workers -*-
"""C{workers = N}: N reactor processes serving the same listening sockets.

The process C{twistd kmip} starts binds every endpoint as usual and serves on it; with
C{workers = N} (N > 1) it also spawns N - 1 worker processes (C{python -m kmipd.workers}) that
adopt the already-listening sockets (C{IReactorSocket.adoptStreamPort}), so the kernel hands each
new connection to whichever process accepts it first. Every process has its own operation
threads, database connections, object cache, policy directory watcher and SLUGS cache, all on
the same database; nothing is shared in memory, so correctness rests on the database (the object
cache is revision-checked on every read, policies are re-read by each process, SQLite's own
locking serialises writers across processes; see docs).

The parent passes a worker its configuration (pickled, length-prefixed) on the worker's stdin and
keeps that pipe open: a worker stops when it reads end-of-file there, so workers never outlive the
parent, even one killed with SIGKILL. Workers log through the parent: they write their events as
JSON lines on stdout, and the parent re-emits them with C{log_system} C{worker-<pid>} and
C{kmipd_worker} set to the worker's pid. A worker that exits while the parent runs is started
again after L{RESPAWN_DELAY} seconds (unless it keeps exiting right after starting). C{SIGHUP} to the
parent (reopen the audit log) is passed on to the workers. The metrics/health listener (C{metrics_listen}) runs in the
parent only and reports the parent's own counters.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import struct
import sys
import threading
from dataclasses import replace
from typing import Any

from twisted.application.service import MultiService, Service
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IReadDescriptor
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import ILogObserver, globalLogPublisher
from twisted.python.failure import Failure
from zope.interface import implementer

from .config import Config, ConfigError
from .log import Logger, relay_decode, relay_encode
from .service import KMIPService

__all__ = ["WorkerKMIPService", "WorkerSupervisor", "attach_workers"]

_log = Logger()

#: Seconds before a worker that exited unexpectedly is started again.
RESPAWN_DELAY = 1.0
#: A worker that exits this many times in a row within 5 s of starting is not started again.
MAX_QUICK_EXITS = 5
#: Seconds a stopping worker gets between SIGTERM and SIGKILL.
STOP_TIMEOUT = 10.0
_HEADER = struct.Struct(">I")


def _family(port: Any) -> int:
    host = port.getHost()
    kind = type(host).__name__
    return {"IPv4Address": socket.AF_INET, "IPv6Address": socket.AF_INET6}.get(kind, socket.AF_UNIX)


def worker_count(config: Config, url: object) -> int:
    """The processes to run: C{workers}, or for C{workers = auto} (0) one per core with
    PostgreSQL/MariaDB and one with SQLite (its writers serialise on one file lock across
    processes: measured slower for writes with two, see bench/README.md) or an embedder's store."""
    if config.workers > 0:
        return config.workers
    if not isinstance(url, str) or url.startswith("sqlite"):
        return 1
    return max(1, min(64, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def attach_workers(service: KMIPService) -> WorkerSupervisor | None:
    """Give C{service} its worker processes (L{worker_count} minus the parent; none for one).

    @raise ConfigError: more than one process with a database other processes cannot open
        (in-memory SQLite, or a store passed in by an embedder).
    """
    config = service.config
    url = getattr(service.store, "url", None)
    count = worker_count(config, url)
    if count <= 1:
        return None
    if not isinstance(url, str) or url.startswith("sqlite://") and (
            url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url):
        raise ConfigError("[server] workers: more than one worker needs a database every process can open "
                          "(a SQLite file, PostgreSQL or MariaDB), not an in-memory one", key="workers")
    supervisor = WorkerSupervisor(service, count - 1)
    supervisor.setServiceParent(service)
    return supervisor


class _WorkerProcess(ProcessProtocol):
    """The parent's end of one worker: relays its log events, reports its exit."""

    def __init__(self, supervisor: WorkerSupervisor, index: int) -> None:
        self.supervisor = supervisor
        self.index = index
        self.pid: int | None = None
        self._out = b""
        self._err = b""
        self.ended: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        self.pid = self.transport.pid  # type: ignore[union-attr]

    def outReceived(self, data: bytes) -> None:
        self._out += data
        *lines, self._out = self._out.split(b"\n")
        for line in lines:
            if line.strip():
                self._relay(line)

    def _relay(self, line: bytes) -> None:
        try:
            event = relay_decode(line)
        except ValueError:
            _log.warn("worker {pid}: {line}", pid=self.pid, line=line.decode("utf-8", "replace"))
            return
        event["log_system"] = f"worker-{self.pid}"
        event["kmipd_worker"] = self.pid
        # The worker's own audit trail has written it; the parent's must not write it again.
        event.pop("audit_event", None)
        globalLogPublisher(event)

    def errReceived(self, data: bytes) -> None:
        self._err += data
        *lines, self._err = self._err.split(b"\n")
        for line in lines:
            if line.strip():
                _log.warn("worker {pid} stderr: {line}", pid=self.pid, line=line.decode("utf-8", "replace"))

    def processEnded(self, reason: Failure) -> None:
        self.supervisor._ended(self, reason)
        self.ended.callback(None)


class WorkerSupervisor(Service):
    """Starts, watches and stops the worker processes of a L{KMIPService} (a child service of it).

    @param count: worker processes besides the parent.
    @param executable: the Python interpreter for the workers (tests may substitute).
    """

    def __init__(self, service: KMIPService, count: int, *, executable: str = sys.executable) -> None:
        self.kmip = service
        self.count = count
        self.executable = executable
        self.workers: dict[int, _WorkerProcess] = {}
        self._stopping = False
        self._respawns: dict[int, Any] = {}
        self._started: dict[int, float] = {}
        self._quick_exits: dict[int, int] = {}
        self._sighup: Any = None
        self._previous_sighup: Any = None

    @property
    def pids(self) -> list[int]:
        """The running workers' process ids."""
        return [w.pid for w in self.workers.values() if w.pid is not None]

    def startService(self) -> None:
        super().startService()
        self._stopping = False
        self._forward_sighup()
        for index in range(self.count):
            self._spawn(index)

    def _forward_sighup(self) -> None:
        """Pass C{SIGHUP} (reopen the audit log after rotation) on to every worker."""
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGHUP)

        def hup(signum: int, frame: Any) -> None:
            for worker in list(self.workers.values()):
                _signal(worker, "HUP")
            if callable(previous):
                previous(signum, frame)

        self._previous_sighup = previous
        self._sighup = hup
        signal.signal(signal.SIGHUP, hup)

    def _restore_sighup(self) -> None:
        if self._sighup is not None and signal.getsignal(signal.SIGHUP) is self._sighup:
            signal.signal(signal.SIGHUP, self._previous_sighup)
        self._sighup = None

    def _payload(self) -> bytes:
        ports = []
        for n, port in enumerate(self.kmip.ports):
            ports.append((3 + n, _family(port), port in self.kmip.https_ports))
        # The workers serve; the parent alone answers metrics/health and supervises.
        config = replace(self.kmip.config, workers=1, metrics_listen=())
        data = pickle.dumps({"config": config, "ports": ports, "parent": os.getpid()})
        return _HEADER.pack(len(data)) + data

    def _spawn(self, index: int) -> None:
        self._respawns.pop(index, None)
        reactor = self.kmip.reactor
        child_fds: dict[int, Any] = {0: "w", 1: "r", 2: "r"}
        for n, port in enumerate(self.kmip.ports):
            child_fds[3 + n] = port.fileno()  # type: ignore[attr-defined]
        env = dict(os.environ)
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
        worker = _WorkerProcess(self, index)
        reactor.spawnProcess(worker, self.executable, [self.executable, "-m", "kmipd.workers"], env=env,
                             childFDs=child_fds)
        worker.transport.write(self._payload())  # type: ignore[union-attr]  # stdin stays open: the lifeline
        self.workers[index] = worker
        self._started[index] = reactor.seconds()
        _log.info("started kmipd worker {index} (pid {pid})", index=index + 1, pid=worker.pid)

    def _ended(self, worker: _WorkerProcess, reason: Failure) -> None:
        if self.workers.get(worker.index) is worker:
            del self.workers[worker.index]
        if self._stopping:
            return
        lived = self.kmip.reactor.seconds() - self._started.get(worker.index, 0.0)
        quick = self._quick_exits[worker.index] = self._quick_exits.get(worker.index, 0) + 1 if lived < 5 else 0
        if quick >= MAX_QUICK_EXITS:
            _log.error("kmipd worker {index} (pid {pid}) exited {n} times within 5 s of starting: not starting "
                       "it again (see the errors above)", index=worker.index + 1, pid=worker.pid, n=quick)
            return
        _log.error("kmipd worker {index} (pid {pid}) exited: {reason}; starting it again in {delay} s",
                   index=worker.index + 1, pid=worker.pid, reason=reason.getErrorMessage(), delay=RESPAWN_DELAY)
        self._respawns[worker.index] = self.kmip.reactor.callLater(RESPAWN_DELAY, self._spawn, worker.index)

    def stopService(self) -> Deferred[Any]:
        """SIGTERM every worker; SIGKILL those still running after L{STOP_TIMEOUT} seconds."""
        super().stopService()
        self._stopping = True
        self._restore_sighup()
        for call in self._respawns.values():
            if call.active():
                call.cancel()
        self._respawns.clear()
        workers = list(self.workers.values())
        reactor = self.kmip.reactor
        for w in workers:
            _signal(w, "TERM")
        def kill_all() -> None:
            for w in workers:
                _signal(w, "KILL")

        kill = reactor.callLater(STOP_TIMEOUT, kill_all)

        def done(result: Any) -> Any:
            if kill.active():
                kill.cancel()
            return result

        return DeferredList([w.ended for w in workers]).addBoth(done)


def _signal(worker: _WorkerProcess, name: str) -> None:
    try:
        worker.transport.signalProcess(name)  # type: ignore[union-attr]
    except Exception:  # already gone (ProcessExitedAlready)
        pass


class WorkerKMIPService(KMIPService):
    """A worker's L{KMIPService}: serves sockets adopted from the parent instead of binding.

    @param adopt: C{(fd, address family, is_https)} for every listening socket, in order.
    """

    def __init__(self, config: Config, adopt: list[tuple[int, int, bool]], **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._adopt = adopt

    def privilegedStartService(self) -> None:
        MultiService.privilegedStartService(self)
        for fd, family, https in self._adopt:
            port = self.reactor.adoptStreamPort(fd, family, self._https_factory if https else self._listen_factory)
            os.close(fd)  # the reactor holds its own duplicate
            self.ports.append(port)
            if https:
                self.https_ports.append(port)


@implementer(IReadDescriptor)
class _Lifeline:
    """Stops the reactor when the parent's end of stdin closes (the parent exited)."""

    def __init__(self, reactor: Any, fd: int) -> None:
        self.reactor = reactor
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def logPrefix(self) -> str:
        return "kmipd-worker-lifeline"

    def doRead(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.connectionLost(None)

    def connectionLost(self, reason: Any) -> None:
        self.reactor.removeReader(self)
        if self.reactor.running:
            _log.info("parent process gone: kmipd worker {pid} stopping", pid=os.getpid())
            self.reactor.stop()


def _read_exactly(fd: int, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise SystemExit("kmipd worker: the parent closed the pipe before sending the configuration")
        data += chunk
    return data


@implementer(ILogObserver)
def _json_observer(event: dict[str, Any]) -> None:
    try:
        os.write(1, relay_encode(event))
    except OSError:
        pass


def main() -> None:
    """Entry point of a worker process (C{python -m kmipd.workers}, started by the parent)."""
    (size,) = _HEADER.unpack(_read_exactly(0, _HEADER.size))
    payload = pickle.loads(_read_exactly(0, size))  # from our own parent, over a private pipe
    if os.getppid() != payload["parent"]:
        raise SystemExit(0)  # the parent is already gone
    from twisted.internet import reactor
    from twisted.logger import globalLogBeginner

    from .log import set_level

    config: Config = payload["config"]
    globalLogBeginner.beginLoggingTo([_json_observer], redirectStandardIO=False)
    set_level(config.logging_level)
    service = WorkerKMIPService(config, payload["ports"], reactor=reactor)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's ^C reaches the parent; it stops us
    reactor.callWhenRunning(service.startService)
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.addReader(_Lifeline(reactor, 0))
    _log.info("kmipd worker {pid} serving {n} socket(s)", pid=os.getpid(), n=len(payload["ports"]))
    reactor.run()


if __name__ == "__main__":
    main()
