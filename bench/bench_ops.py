"""Benchmark KMIP operations against a running server over TLS (kmipd or the PyKMIP server).

Not a test. Sends pre-encoded KMIP 1.2 requests (so the client costs little) from several
threads, optionally pipelining several requests per connection, and reports completed round
trips per second and latency percentiles. Loopback only; bounded by --seconds.

    python bench/bench_ops.py --port 5696 --ca CA --cert CERT --key KEY --op get --connections 4
    ops: query, create, get, encrypt, locate (by name, after --objects keys are stored), mixed

--per-request opens a new TCP + TLS connection for every request (with --resume the client offers
the session ticket of its previous connection, as a client with a session cache would).

The same requests work against the PyKMIP server (KMIP 1.2), which makes side-by-side runs fair.
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import statistics
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kmipd.spec import (  # noqa: E402
    BlockCipherMode,
    CryptographicAlgorithm,
    CryptographicUsageMask,
    NameType,
    ObjectType,
    Operation,
    PaddingMethod,
    QueryFunction,
    ResultStatus,
    Tag,
)
from kmipd.testing import batch_item, payload, request, results  # noqa: E402
from kmipd.ttlv import Item, decode, encode  # noqa: E402

V = (1, 2)


def attr(name: str, value: Item) -> Item:
    return Item.struct(Tag.ATTRIBUTE, [Item.text(Tag.ATTRIBUTE_NAME, name),
                                       Item(Tag.ATTRIBUTE_VALUE, value.type, value.value)])


def create_req(name: str | None = None) -> bytes:
    attrs = [
        attr("Cryptographic Algorithm", Item.enum(0, CryptographicAlgorithm.AES)),
        attr("Cryptographic Length", Item.int(0, 256)),
        attr("Cryptographic Usage Mask", Item.int(0, CryptographicUsageMask.ENCRYPT | CryptographicUsageMask.DECRYPT)),
    ]
    if name:
        attrs.append(attr("Name", Item.struct(0, [Item.text(Tag.NAME_VALUE, name),
                                                   Item.enum(Tag.NAME_TYPE, NameType.UNINTERPRETED_TEXT_STRING)])))
    return encode(request(batch_item(Operation.CREATE, payload(
        Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), Item.struct(Tag.TEMPLATE_ATTRIBUTE, attrs))), version=V))


def uid_req(op: int, uid: str, *extra: Item) -> bytes:
    return encode(request(batch_item(op, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid), *extra)), version=V))


def encrypt_req(uid: str) -> bytes:
    params = Item.struct(Tag.CRYPTOGRAPHIC_PARAMETERS, [
        Item.enum(Tag.BLOCK_CIPHER_MODE, BlockCipherMode.CBC), Item.enum(Tag.PADDING_METHOD, PaddingMethod.PKCS5),
        Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.AES)])  # PyKMIP requires the algorithm
    return uid_req(Operation.ENCRYPT, uid, params, Item.bytes(Tag.DATA, b"x" * 64),
                   Item.bytes(Tag.IV_COUNTER_NONCE, bytes(16)))


def locate_req(name: str) -> bytes:
    return encode(request(batch_item(Operation.LOCATE, payload(attr("Name", Item.struct(0, [
        Item.text(Tag.NAME_VALUE, name), Item.enum(Tag.NAME_TYPE, NameType.UNINTERPRETED_TEXT_STRING)])))), version=V))


QUERY = encode(request(batch_item(Operation.QUERY, payload(
    Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS))), version=V))


class Conn:
    def __init__(self, ctx: ssl.SSLContext, host: str, port: int, session: ssl.SSLSession | None = None) -> None:
        raw = socket.create_connection((host, port), timeout=30)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = ctx.wrap_socket(raw, session=session)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv_one(self) -> bytes:
        while True:
            if len(self.buf) >= 8:
                n = 8 + struct.unpack_from(">I", self.buf, 4)[0]
                if len(self.buf) >= n:
                    msg, self.buf = self.buf[:n], self.buf[n:]
                    return msg
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk

    def call(self, data: bytes) -> Item:
        self.send(data)
        return decode(self.recv_one())


def ok(msg: Item) -> Item:
    (r,) = results(msg)
    if r.status != ResultStatus.SUCCESS:
        raise SystemExit(f"operation failed: reason {r.reason} {r.message}")
    return r.payload


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5696)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--op", choices=("query", "create", "get", "encrypt", "locate", "mixed"), default="get")
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--depth", type=int, default=1, help="requests in flight per connection")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--objects", type=int, default=1000, help="named keys stored before a locate run")
    p.add_argument("--per-request", action="store_true", help="a new TLS connection for every request")
    p.add_argument("--resume", action="store_true", help="with --per-request: resume the previous TLS session")
    p.add_argument("--tls12", action="store_true", help="offer TLS 1.2 only")
    a = p.parse_args()
    if not a.host.startswith("127.") and a.host not in ("localhost", "::1"):
        raise SystemExit("loopback only")
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.check_hostname = False
    if a.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2

    setup = Conn(ctx, a.host, a.port)
    uid = ok(setup.call(create_req())).get(Tag.UNIQUE_IDENTIFIER)
    ok(setup.call(uid_req(Operation.ACTIVATE, uid)))
    prefix = f"bench-{os.getpid()}-"
    if a.op in ("locate", "mixed"):
        for i in range(a.objects):
            ok(setup.call(create_req(f"{prefix}{i}")))
    reqs = {
        "query": [QUERY], "create": [create_req()], "get": [uid_req(Operation.GET, uid)],
        "encrypt": [encrypt_req(uid)], "locate": [locate_req(f"{prefix}{a.objects // 2}")],
    }
    reqs["mixed"] = reqs["get"] * 5 + reqs["encrypt"] * 2 + reqs["create"] + reqs["locate"] + reqs["query"]
    ok(setup.call(reqs[a.op][0]))  # one check that the operation works on this server
    setup.sock.close()

    deadline = time.monotonic() + a.seconds
    lock = threading.Lock()
    latencies: list[float] = []
    done = [0]

    resumed = [0]

    def per_request(k: int) -> None:
        todo = reqs[a.op]
        i = k
        local: list[float] = []
        session = None
        reused = 0
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            c = Conn(ctx, a.host, a.port, session if a.resume else None)
            c.send(todo[i % len(todo)])
            i += 1
            c.recv_one()
            local.append(time.perf_counter() - t0)
            reused += c.sock.session_reused
            session = c.sock.session
            c.sock.close()
        with lock:
            latencies.extend(local)
            done[0] += len(local)
            resumed[0] += reused

    def worker(k: int) -> None:
        c = Conn(ctx, a.host, a.port)
        todo = reqs[a.op]
        i = k
        sent: list[float] = []
        local: list[float] = []
        while time.monotonic() < deadline or sent:
            while len(sent) < a.depth and time.monotonic() < deadline:
                c.send(todo[i % len(todo)])
                i += 1
                sent.append(time.perf_counter())
            c.recv_one()
            local.append(time.perf_counter() - sent.pop(0))
        with lock:
            latencies.extend(local)
            done[0] += len(local)
        c.sock.close()

    started = time.monotonic()
    threads = [threading.Thread(target=per_request if a.per_request else worker, args=(k,))
               for k in range(a.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    lat = sorted(latencies)
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    mode = (f"{a.connections} clients, new connection per request, {resumed[0]} resumed" if a.per_request
            else f"{a.connections} conn x depth {a.depth}")
    print(f"{a.op}: {done[0] / elapsed:,.0f} ops/s over {elapsed:.1f}s ({done[0]} ops, {mode}); "
          f"latency ms p50 {pct(0.5):.2f} p90 {pct(0.9):.2f} p99 {pct(0.99):.2f} "
          f"mean {statistics.fmean(lat) * 1000:.2f}")


if __name__ == "__main__":
    main()
