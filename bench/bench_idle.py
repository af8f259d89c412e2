"""Many idle TLS connections against a running KMIP server (kmipd or PyKMIP): memory, latency, idle timeout.

Not a test. Opens idle TLS connections (full handshake with the client certificate, then silence)
in steps (``--idle 2000,10000,20000``: cumulative totals), and after each step reports the server's
resident memory per idle connection when --pid is given and the Get round-trip latency (p50/p99) on
one more connection while the idle ones stay open. With --expect-timeout T it then waits for the
server's idle timeout and counts how many idle connections the server closed.

The idle sockets are held by --procs client processes (one process cannot hold more sockets than its
file-descriptor limit). Loopback only; bounded by --idle (at most 30,000 in all) and the timeouts.

    python bench/bench_idle.py --port 5696 --ca CA --cert CERT --key KEY --idle 2000,10000 --pid SERVER_PID
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import select
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.bench_ops import Conn, create_req, ok, uid_req  # noqa: E402
from kmipd.spec import Operation, Tag  # noqa: E402

MAX_IDLE = 30_000
PER_PROCESS = 8_000  # idle sockets per client process by default


def rss_kib(pids: list[int]) -> int:
    """Resident memory (KiB) of the given processes, summed."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def threads_of(pids: list[int]) -> int:
    return sum(len(os.listdir(f"/proc/{pid}/task")) for pid in pids)


def client_context(ca: str, cert: str, key: str, tls12: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    ctx.check_hostname = False
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def open_idle(ctx: ssl.SSLContext, host: str, port: int, n: int, workers: int = 2) -> tuple[list[ssl.SSLSocket], int]:
    """Open C{n} TLS connections from C{workers} threads; return them and the number that failed."""
    socks: list[ssl.SSLSocket] = []
    failed = [0]
    lock = threading.Lock()

    def work(count: int) -> None:
        for _ in range(count):
            try:
                raw = socket.create_connection((host, port), timeout=30)
                s = ctx.wrap_socket(raw)
            except OSError:
                with lock:
                    failed[0] += 1
                continue
            with lock:
                socks.append(s)

    threads = [threading.Thread(target=work, args=(n // workers + (i < n % workers),)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return socks, failed[0]


def closed_by_peer(socks: list[ssl.SSLSocket]) -> int:
    """How many of C{socks} the server has closed (readable with EOF or reset)."""
    closed = 0
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN)
    readable = {fd for fd, _ in poller.poll(0)}
    for s in socks:
        if s.fileno() not in readable:
            continue
        try:
            s.setblocking(False)
            data = s.recv(1)
        except ssl.SSLWantReadError:
            continue  # post-handshake message (session ticket), still open
        except (OSError, ssl.SSLError):
            closed += 1
            continue
        if not data:
            closed += 1
    return closed


def holder(pipe: Connection, tls: tuple[str, str, str, bool], host: str, port: int) -> None:
    """A client process holding idle connections: commands C{("open", n)}, C{("closed",)}, C{("quit",)}."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = client_context(*tls)
    socks: list[ssl.SSLSocket] = []
    while True:
        cmd = pipe.recv()
        if cmd[0] == "open":
            opened, failed = open_idle(ctx, host, port, cmd[1])
            socks.extend(opened)
            pipe.send((len(opened), failed))
        elif cmd[0] == "closed":
            pipe.send(closed_by_peer(socks))
        else:
            for s in socks:
                s.close()
            pipe.send(len(socks))
            return


def wait_all(pipes: list[Connection], keepalive: Callable[[], None], every: float = 2.0) -> list[Any]:
    """One answer from each holder process, calling C{keepalive} every C{every} seconds meanwhile."""
    answers: dict[int, Any] = {}
    last = time.monotonic()
    while len(answers) < len(pipes):
        for i, pipe in enumerate(pipes):
            if i not in answers and pipe.poll(0.1):
                answers[i] = pipe.recv()
        if time.monotonic() - last >= every:
            keepalive()
            last = time.monotonic()
    return [answers[i] for i in range(len(pipes))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5696)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--idle", default="2000",
                   help=f"idle connections: a total, or increasing totals 2000,10000,20000 (at most {MAX_IDLE})")
    p.add_argument("--procs", type=int, default=0,
                   help=f"client processes holding the idle sockets (default: one per {PER_PROCESS:,})")
    p.add_argument("--seconds", type=float, default=5.0, help="Get latency measurement time per step")
    p.add_argument("--settle", type=float, default=2.0, help="seconds to wait after each step before reading RSS")
    p.add_argument("--tls12", action="store_true", help="idle connections over TLS 1.2 (as PyKMIP's client)")
    p.add_argument("--pid", type=int, action="append", default=[], help="server process id(s), for memory")
    p.add_argument("--signal", default=None,
                   help="send this signal (e.g. USR1) to the --pid processes before and after each step "
                        "(a diagnostics hook of your own)")
    p.add_argument("--hold", type=float, default=0.0, help="seconds to keep the idle connections open at the end")
    p.add_argument("--expect-timeout", type=float, default=None,
                   help="the server's idle timeout in seconds: wait for it and count closed connections")
    a = p.parse_args()
    if not a.host.startswith("127.") and a.host not in ("localhost", "::1"):
        raise SystemExit("loopback only")
    steps = [int(s) for s in a.idle.split(",")]
    if not steps or steps != sorted(steps) or not 0 < steps[-1] <= MAX_IDLE or steps[0] <= 0:
        raise SystemExit(f"--idle must be increasing totals in 1..{MAX_IDLE}")
    procs = a.procs or max(1, -(-steps[-1] // PER_PROCESS))
    ctx = client_context(a.ca, a.cert, a.key)
    sig = getattr(signal, f"SIG{a.signal}") if a.signal else None

    probe = Conn(ctx, a.host, a.port)
    uid = ok(probe.call(create_req())).get(Tag.UNIQUE_IDENTIFIER)
    get = uid_req(Operation.GET, uid)

    def latency(seconds: float) -> str:
        lat: list[float] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t0 = time.perf_counter()
            probe.send(get)
            probe.recv_one()
            lat.append(time.perf_counter() - t0)
        lat.sort()
        pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
        return (f"Get p50 {pct(0.5):.2f} ms p99 {pct(0.99):.2f} ms max {lat[-1] * 1000:.2f} ms "
                f"({len(lat) / seconds:,.0f}/s, 1 connection)")

    def keepalive() -> None:
        """One Get on the probe connection, so the server's idle timeout does not close it."""
        probe.send(get)
        probe.recv_one()

    def poke() -> None:
        if sig is not None:
            for pid in a.pid:
                os.kill(pid, sig)
            time.sleep(0.5)

    print(f"before: {latency(a.seconds)}", flush=True)
    mp = multiprocessing.get_context("fork")
    pipes: list[Connection] = []
    children = []
    for _ in range(procs):
        mine, theirs = mp.Pipe()
        child = mp.Process(target=holder, args=(theirs, (a.ca, a.cert, a.key, a.tls12), a.host, a.port), daemon=True)
        child.start()
        pipes.append(mine)
        children.append(child)
    try:
        time.sleep(a.settle)
        poke()
        base_rss = rss_kib(a.pid) if a.pid else 0
        base_threads = threads_of(a.pid) if a.pid else 0
        held = 0
        for total in steps:
            want = total - held
            t0 = time.monotonic()
            for i, pipe in enumerate(pipes):
                pipe.send(("open", want // procs + (i < want % procs)))
            results = wait_all(pipes, keepalive)
            opened = sum(r[0] for r in results)
            held += opened
            print(f"opened {opened} more idle TLS connections in {time.monotonic() - t0:.1f}s "
                  f"({sum(r[1] for r in results)} failed); {held} held", flush=True)
            time.sleep(a.settle)
            poke()
            if a.pid:
                grown = rss_kib(a.pid) - base_rss
                print(f"  server RSS +{grown / 1024:.1f} MiB = {grown * 1024 / max(1, held):,.0f} bytes per idle "
                      f"connection; threads {base_threads} -> {threads_of(a.pid)}", flush=True)
            print(f"  with {held} idle: {latency(a.seconds)}", flush=True)
        if a.hold:
            print(f"holding {held} idle connections for {a.hold:g}s", flush=True)
            end = time.monotonic() + a.hold
            while time.monotonic() < end:
                time.sleep(min(2.0, max(0.0, end - time.monotonic())))
                keepalive()
        if a.expect_timeout is not None:
            waited = 0.0
            deadline = a.expect_timeout * 1.5 + 10
            closed = 0
            while waited < deadline:
                time.sleep(2.0)
                waited += 2.0
                keepalive()
                for pipe in pipes:
                    pipe.send(("closed",))
                closed = sum(wait_all(pipes, keepalive))
                if closed == held:
                    break
            print(f"after {waited:.0f}s (idle timeout {a.expect_timeout:g}s): server closed {closed} of {held} "
                  f"idle connections; probe connection still served", flush=True)
    finally:
        for pipe in pipes:
            try:
                pipe.send(("quit",))
                pipe.recv()
            except (OSError, EOFError):
                pass
        for child in children:
            child.join(10)
        probe.sock.close()


if __name__ == "__main__":
    main()
