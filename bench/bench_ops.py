"""Benchmark KMIP operations over TLS: one run against a server, or a whole A/B comparison.

Not a test. Sends pre-encoded KMIP 1.2 requests (so the client costs little) and reports
completed round trips per second and latency percentiles. Loopback only; bounded by --seconds.

One run against a server you started (kmipd or the PyKMIP server):

    python bench/bench_ops.py --port 5696 --ca CA --cert CERT --key KEY --op get --connections 4
    ops: query, create, get, encrypt, locate (by name, after --objects keys are stored), mixed

--per-request opens a new TCP + TLS connection for every request (with --resume the client offers
the session ticket of its previous connection, as a client with a session cache would).

The A/B comparison (--ab) starts every server itself, pins it to the server cores and the load
generator to the others, runs every workload against every server alternately (A B B A) for
--rounds rounds, each run on a fresh server and a fresh copy of a prepared database, and prints
the ratio table with server CPU per operation:

    python bench/bench_ops.py --ab --server kmipd --server pykmip --server floor --rounds 2

See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _load import Conn as _Conn  # noqa: E402
from _load import LoadResult, LoadSpec, _per_request, _persistent, client_context  # noqa: E402

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
WORKLOADS = ("get", "create", "encrypt", "locate", "mixed", "get-new-conn")


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


def encrypt_req(uid: str, size: int = 64) -> bytes:
    params = Item.struct(Tag.CRYPTOGRAPHIC_PARAMETERS, [
        Item.enum(Tag.BLOCK_CIPHER_MODE, BlockCipherMode.CBC), Item.enum(Tag.PADDING_METHOD, PaddingMethod.PKCS5),
        Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.AES)])  # PyKMIP requires the algorithm
    return uid_req(Operation.ENCRYPT, uid, params, Item.bytes(Tag.DATA, b"x" * size),
                   Item.bytes(Tag.IV_COUNTER_NONCE, bytes(16)))


def locate_req(name: str) -> bytes:
    return encode(request(batch_item(Operation.LOCATE, payload(attr("Name", Item.struct(0, [
        Item.text(Tag.NAME_VALUE, name), Item.enum(Tag.NAME_TYPE, NameType.UNINTERPRETED_TEXT_STRING)])))), version=V))


QUERY = encode(request(batch_item(Operation.QUERY, payload(
    Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS))), version=V))


class Conn(_Conn):
    """A benchmark connection that also decodes replies (setup and checks, not the timed loop)."""

    def call(self, data: bytes) -> Item:
        self.send(data)
        return decode(self.recv_one())


def ok(msg: Item) -> Item:
    (r,) = results(msg)
    if r.status != ResultStatus.SUCCESS:
        raise SystemExit(f"operation failed: reason {r.reason} {r.message}")
    return r.payload


def call(c: _Conn, data: bytes) -> Item:
    c.send(data)
    return decode(c.recv_one())


def single(a: argparse.Namespace) -> None:
    """One run against a server someone else started."""
    ctx = client_context(a.ca, a.cert, a.key)
    setup = Conn(ctx, a.host, a.port)
    uid = ok(call(setup, create_req())).get(Tag.UNIQUE_IDENTIFIER)
    ok(call(setup, uid_req(Operation.ACTIVATE, uid)))
    prefix = f"bench-{os.getpid()}-"
    if a.op in ("locate", "mixed"):
        for i in range(a.objects):
            ok(call(setup, create_req(f"{prefix}{i}")))
    reqs = {
        "query": [QUERY], "create": [create_req()], "get": [uid_req(Operation.GET, uid)],
        "encrypt": [encrypt_req(uid)], "locate": [locate_req(f"{prefix}{a.objects // 2}")],
    }
    reqs["mixed"] = reqs["get"] * 5 + reqs["encrypt"] * 2 + reqs["create"] + reqs["locate"] + reqs["query"]
    ok(call(setup, reqs[a.op][0]))  # one check that the operation works on this server
    setup.close()

    now = time.time()
    spec = LoadSpec(a.host, a.port, a.ca, a.cert, a.key, reqs[a.op], a.connections, a.depth,
                    a.per_request, a.resume, start_at=now, deadline=now + a.seconds)
    out = LoadResult()
    lock = threading.Lock()
    body = _per_request if a.per_request else _persistent
    threads = [threading.Thread(target=body, args=(spec, ctx, k, out, lock)) for k in range(a.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - now
    lat = sorted(out.latencies)
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    mode = (f"{a.connections} clients, new connection per request, {out.resumed} resumed" if a.per_request
            else f"{a.connections} conn x depth {a.depth}")
    print(f"{a.op}: {out.done / elapsed:,.0f} ops/s over {elapsed:.1f}s ({out.done} ops, {out.errors} errors, "
          f"{mode}); latency ms p50 {pct(0.5):.2f} p90 {pct(0.9):.2f} p99 {pct(0.99):.2f} "
          f"mean {statistics.fmean(lat) * 1000:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5696)
    p.add_argument("--ca")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--op", choices=("query", "create", "get", "encrypt", "locate", "mixed"), default="get")
    p.add_argument("--connections", type=int, default=None, help="default 4, with --ab 16")
    p.add_argument("--depth", type=int, default=1, help="requests in flight per connection")
    p.add_argument("--seconds", type=float, default=None, help="default 10, with --ab 5 per run")
    p.add_argument("--objects", type=int, default=1000, help="keys stored before a locate/mixed/get run")
    p.add_argument("--per-request", action="store_true", help="a new TLS connection for every request")
    p.add_argument("--resume", action="store_true", help="with --per-request: resume the previous TLS session")
    ab = p.add_argument_group("A/B comparison (--ab)")
    ab.add_argument("--ab", action="store_true", help="start the servers and compare them (see bench/README.md)")
    ab.add_argument("--server", action="append", default=[], metavar="LABEL=KIND[:TREE][,workers=N][,key=value]",
                    help="kmipd (from TREE, default this checkout), pykmip or floor; repeatable, in A/B order")
    ab.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma-separated, from {','.join(WORKLOADS)}")
    ab.add_argument("--rounds", type=int, default=2, help="A B B A rounds per workload")
    ab.add_argument("--warmup", type=float, default=1.0, help="seconds of load before the measured window")
    ab.add_argument("--clients", type=int, default=4, help="load generator processes")
    ab.add_argument("--server-cpus", default="0")
    ab.add_argument("--client-cpus", default="1")
    ab.add_argument("--pki", choices=("ec", "rsa"), default="ec", help="server/client key type")
    ab.add_argument("--bulk", type=int, default=0, metavar="N",
                    help="kmipd only: store N more named keys directly in each template database (Locate at scale)")
    ab.add_argument("--workdir", help="keep servers' directories and logs here (default: a temporary one)")
    ab.add_argument("--py-spy", metavar="DIR", help="sample each kmipd run with py-spy (folded stacks in DIR)")
    ab.add_argument("--py-spy-gil", action="store_true", help="sample only the thread holding the GIL")
    ab.add_argument("--json", help="also write every run's numbers to this file")
    a = p.parse_args()
    if not a.host.startswith("127.") and a.host not in ("localhost", "::1"):
        raise SystemExit("loopback only")
    if a.ab:
        from _ab import run_ab

        a.connections = a.connections or 16
        a.seconds = a.seconds or 5.0
        run_ab(a)
        return
    if not (a.ca and a.cert and a.key):
        raise SystemExit("--ca, --cert and --key are required (or use --ab)")
    a.connections = a.connections or 4
    a.seconds = a.seconds or 10.0
    single(a)


if __name__ == "__main__":
    main()
