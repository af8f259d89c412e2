"""Clients that never read their responses against a running kmipd: does the server's memory stay bounded?

Not a test. Each of --clients mutual-TLS connections pipelines --requests RNG Retrieve requests of
--items batch items of --length bytes each (issue 11's attack: 64 x 1 MiB per request) and never
reads. Reports the server's resident memory growth (--pid) while they sit, and after they close.
Loopback only; bounded by the argument limits below.

    python bench/bench_unread.py --port 5811 --ca CA --cert CERT --key KEY --pid SERVER_PID
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.bench_idle import rss_kib  # noqa: E402
from kmipd.spec import Operation, Tag  # noqa: E402
from kmipd.testing import batch_item, payload, request  # noqa: E402
from kmipd.ttlv import Item, encode  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5696)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--requests", type=int, default=6)
    p.add_argument("--items", type=int, default=64)
    p.add_argument("--length", type=int, default=1024 * 1024)
    p.add_argument("--wait", type=float, default=10.0, help="seconds to let the server work")
    p.add_argument("--pid", type=int, action="append", default=[], required=True)
    a = p.parse_args()
    if not a.host.startswith("127."):
        raise SystemExit("loopback only")
    if not (0 < a.clients <= 50 and 0 < a.requests <= 50 and 0 < a.items <= 64 and 0 < a.length <= 1 << 20):
        raise SystemExit("--clients <= 50, --requests <= 50, --items <= 64, --length <= 1 MiB")
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.check_hostname = False
    message = encode(request(*[batch_item(Operation.RNG_RETRIEVE, payload(Item.int(Tag.DATA_LENGTH, a.length)))
                               for _ in range(a.items)]))
    base = rss_kib(a.pid)
    socks = []
    for _ in range(a.clients):
        s = ctx.wrap_socket(socket.create_connection((a.host, a.port), timeout=30))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(message * a.requests)
        socks.append(s)
    peak = 0
    end = time.monotonic() + a.wait
    while time.monotonic() < end:
        peak = max(peak, rss_kib(a.pid) - base)
        time.sleep(0.2)
    print(f"{a.clients} client(s) x {a.requests} pipelined requests of {a.items} x {a.length} bytes, never read: "
          f"server RSS peak +{peak / 1024:.1f} MiB")
    for s in socks:
        s.close()
    time.sleep(2.0)
    print(f"after they closed: server RSS +{(rss_kib(a.pid) - base) / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
