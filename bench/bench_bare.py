"""Thousands of bare TCP sockets (never starting TLS) against a running kmipd: can legitimate clients connect?

Not a test. Opens --bare plain TCP connections that send nothing, spread over --sources loopback
source addresses (127.0.0.2, 127.0.0.3, ...; so the per-address limit on unfinished handshakes
is not what closes them), then, while they sit open, connects with mutual TLS from 127.0.0.1
and times a Query round trip (a fresh connection each, --probes times). Reports the server's
resident memory growth when --pid is given, then waits --handshake-timeout (plus a margin) and
counts how many bare sockets the server closed. Loopback only; at most 10,000 bare sockets.

    python bench/bench_bare.py --port 5811 --ca CA --cert CERT --key KEY --bare 10000 --pid SERVER_PID
"""

from __future__ import annotations

import argparse
import os
import resource
import select
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.bench_idle import rss_kib  # noqa: E402
from kmipd.spec import Operation, QueryFunction, Tag  # noqa: E402
from kmipd.testing import batch_item, payload, request  # noqa: E402
from kmipd.ttlv import Item, encode, peek_header  # noqa: E402

MAX_BARE = 10_000
QUERY = encode(request(batch_item(Operation.QUERY, payload(
    Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS)))))


def open_bare(host: str, port: int, n: int, sources: int) -> tuple[list[socket.socket], int]:
    socks, failed = [], 0
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.bind((f"127.0.0.{2 + i % sources}", 0))
            s.connect((host, port))
        except OSError:
            failed += 1
            s.close()
            continue
        socks.append(s)
    return socks, failed


def probe(ctx: ssl.SSLContext, host: str, port: int) -> float:
    """Seconds for connect + mutual-TLS handshake + one Query round trip."""
    t0 = time.perf_counter()
    with socket.create_connection((host, port), timeout=30) as raw:
        with ctx.wrap_socket(raw) as tls:
            tls.sendall(QUERY)
            data = b""
            while len(data) < 8 or len(data) < 8 + peek_header(data, 0)[2]:
                chunk = tls.recv(65536)
                if not chunk:
                    raise ConnectionError("closed before the response")
                data += chunk
    return time.perf_counter() - t0


def closed_by_peer(socks: list[socket.socket]) -> int:
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN)
    readable = {fd for fd, _ in poller.poll(0)}
    closed = 0
    for s in socks:
        if s.fileno() not in readable:
            continue
        try:
            s.setblocking(False)
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5696)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--bare", type=int, default=2000, help=f"bare sockets to open (at most {MAX_BARE})")
    p.add_argument("--sources", type=int, default=200, help="loopback source addresses to spread them over")
    p.add_argument("--probes", type=int, default=20, help="legitimate connections to time meanwhile")
    p.add_argument("--pid", type=int, action="append", default=[], help="server process id(s), for memory")
    p.add_argument("--handshake-timeout", type=float, default=5.0, help="the server's handshake_timeout")
    a = p.parse_args()
    if not a.host.startswith("127."):
        raise SystemExit("loopback only")
    if not 0 < a.bare <= MAX_BARE or not 0 < a.sources <= 250:
        raise SystemExit(f"--bare must be 1..{MAX_BARE}, --sources 1..250")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.bare + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.bare + 256), hard))
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.check_hostname = False

    before = sorted(probe(ctx, a.host, a.port) for _ in range(a.probes))
    print(f"before: connect+handshake+Query p50 {before[len(before) // 2] * 1000:.1f} ms "
          f"max {before[-1] * 1000:.1f} ms")
    base = rss_kib(a.pid) if a.pid else 0
    t0 = time.monotonic()
    socks, failed = open_bare(a.host, a.port, a.bare, a.sources)
    print(f"opened {len(socks)} bare sockets in {time.monotonic() - t0:.1f}s ({failed} failed)")
    if a.pid:
        time.sleep(0.5)
        grown = rss_kib(a.pid) - base
        print(f"server RSS +{grown / 1024:.1f} MiB with them open")
    during, errors = [], 0
    for _ in range(a.probes):
        try:
            during.append(probe(ctx, a.host, a.port))
        except OSError as e:
            errors += 1
            print(f"probe failed: {e}")
    during.sort()
    if during:
        print(f"during: {len(during)}/{a.probes} legitimate clients served; p50 "
              f"{during[len(during) // 2] * 1000:.1f} ms max {during[-1] * 1000:.1f} ms")
    waited = time.monotonic() - t0
    deadline = a.handshake_timeout + 10
    closed = closed_by_peer(socks)
    while closed < len(socks) and waited < deadline:
        time.sleep(0.5)
        waited = time.monotonic() - t0
        closed = closed_by_peer(socks)
    print(f"after {waited:.1f}s (handshake_timeout {a.handshake_timeout:g}s): server closed {closed} "
          f"of {len(socks)} bare sockets")
    if a.pid:
        print(f"server RSS +{(rss_kib(a.pid) - base) / 1024:.1f} MiB after")
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
