"""Many idle TLS connections against a running KMIP server (kmipd or PyKMIP): memory, latency, idle timeout.

Not a test. Opens --idle TLS connections (full handshake with the client certificate, then
silence), reports the server's resident memory per connection when --pid is given, measures Get
round trips on one more connection while the idle ones stay open, and with --expect-timeout T
waits T seconds (plus a margin) and counts how many idle connections the server closed.
Loopback only; bounded by --idle (at most 10,000) and the timeouts.

    python bench/bench_idle.py --port 5696 --ca CA --cert CERT --key KEY --idle 2000 --pid SERVER_PID
"""

from __future__ import annotations

import argparse
import os
import resource
import select
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.bench_ops import Conn, create_req, ok, uid_req  # noqa: E402
from kmipd.spec import Operation, Tag  # noqa: E402

MAX_IDLE = 10_000


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


def open_idle(ctx: ssl.SSLContext, host: str, port: int, n: int, workers: int = 4) -> tuple[list[ssl.SSLSocket], int]:
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5696)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--idle", type=int, default=2000, help=f"idle connections to open (at most {MAX_IDLE})")
    p.add_argument("--seconds", type=float, default=5.0, help="Get latency measurement time")
    p.add_argument("--pid", type=int, action="append", default=[], help="server process id(s), for memory")
    p.add_argument("--expect-timeout", type=float, default=None,
                   help="the server's idle timeout in seconds: wait for it and count closed connections")
    a = p.parse_args()
    if not a.host.startswith("127.") and a.host not in ("localhost", "::1"):
        raise SystemExit("loopback only")
    if not 0 < a.idle <= MAX_IDLE:
        raise SystemExit(f"--idle must be 1..{MAX_IDLE}")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.idle + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.idle + 256), hard))
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.check_hostname = False

    probe = Conn(ctx, a.host, a.port)
    uid = ok(probe.call(create_req())).get(Tag.UNIQUE_IDENTIFIER)
    get = uid_req(Operation.GET, uid)

    def latency(seconds: float) -> tuple[int, float, float, float]:
        lat: list[float] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t0 = time.perf_counter()
            probe.send(get)
            probe.recv_one()
            lat.append(time.perf_counter() - t0)
        lat.sort()
        pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
        return len(lat), pct(0.5), pct(0.99), lat[-1] * 1000

    n, p50, p99, worst = latency(a.seconds)
    print(f"before: Get p50 {p50:.2f} ms p99 {p99:.2f} ms max {worst:.2f} ms ({n / a.seconds:,.0f}/s, 1 connection)")
    base_rss = rss_kib(a.pid) if a.pid else 0
    base_threads = threads_of(a.pid) if a.pid else 0
    t0 = time.monotonic()
    socks, failed = open_idle(ctx, a.host, a.port, a.idle)
    opened = time.monotonic() - t0
    print(f"opened {len(socks)} idle TLS connections in {opened:.1f}s ({failed} failed)")
    if a.pid:
        time.sleep(1.0)
        grown = rss_kib(a.pid) - base_rss
        per = grown * 1024 / max(1, len(socks))
        print(f"server RSS +{grown / 1024:.1f} MiB = {per:,.0f} bytes per idle connection; "
              f"threads {base_threads} -> {threads_of(a.pid)}")
    n, p50, p99, worst = latency(a.seconds)
    print(f"with {len(socks)} idle: Get p50 {p50:.2f} ms p99 {p99:.2f} ms max {worst:.2f} ms "
          f"({n / a.seconds:,.0f}/s, 1 connection)")
    if a.expect_timeout is not None:
        waited = 0.0
        deadline = a.expect_timeout * 1.5 + 10
        closed = 0
        while waited < deadline:
            time.sleep(2.0)
            waited += 2.0
            probe.send(get)  # keeps the probe connection active
            probe.recv_one()
            closed = closed_by_peer(socks)
            if closed == len(socks):
                break
        print(f"after {waited:.0f}s (idle timeout {a.expect_timeout:g}s): server closed {closed} of {len(socks)} "
              f"idle connections; probe connection still served")
    for s in socks:
        s.close()
    probe.sock.close()


if __name__ == "__main__":
    main()
