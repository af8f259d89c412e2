"""Benchmark: KMIP Query round trips over TLS against a running kmipd on loopback (not a test).

Usage:
    python bench/bench_server.py --spawn                      # start a throwaway kmipd, measure, stop it
    python bench/bench_server.py --port 5696 --data-dir DIR   # measure a kmipd you started yourself

Two modes, each bounded by --requests and --seconds:

* persistent : each of --concurrency client threads opens one TLS connection and sends Query
               requests on it back to back (what a connection-pooling client does);
* per-request: every Query opens a new TCP+TLS connection (full handshake), then closes it.

Reports round trips per second and latency percentiles (p50/p90/p99/max, milliseconds).
The client certificate, key and CA default to DIR/pki/{client.pem,client.key,ca.pem} (kmipd's
development PKI). Only loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kmipd.spec import Operation, QueryFunction, ResultStatus, Tag  # noqa: E402
from kmipd.testing import batch_item, payload, request, results  # noqa: E402
from kmipd.ttlv import Item, decode, encode  # noqa: E402

QUERY = encode(request(batch_item(Operation.QUERY, payload(
    Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS),
    Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OBJECTS))), version=(1, 2)))


def tls_context(ca: str, cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    return ctx


def connect(ctx: ssl.SSLContext, host: str, port: int) -> ssl.SSLSocket:
    raw = socket.create_connection((host, port), timeout=10)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return ctx.wrap_socket(raw)


def round_trip(sock: ssl.SSLSocket) -> bytes:
    sock.sendall(QUERY)
    buf = b""
    while len(buf) < 8 or len(buf) < 8 + int.from_bytes(buf[4:8], "big"):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    return buf


def check(answer: bytes) -> None:
    if results(decode(answer))[0].status != ResultStatus.SUCCESS:
        raise RuntimeError("Query failed")


def run(mode: str, ctx: ssl.SSLContext, host: str, port: int, concurrency: int, total: int,
        seconds: float) -> tuple[int, float, list[float], int]:
    """Run one mode; return (completed, elapsed, latencies in seconds, errors)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = [0]
    deadline = time.perf_counter() + seconds

    def take() -> bool:
        with lock:
            if counter[0] >= total or time.perf_counter() >= deadline:
                return False
            counter[0] += 1
            return True

    def worker() -> None:
        mine: list[float] = []
        sock = None
        try:
            while take():
                started = time.perf_counter()
                try:
                    if sock is None:
                        sock = connect(ctx, host, port)
                    answer = round_trip(sock)
                    if mode == "per-request":
                        sock.close()
                        sock = None
                    mine.append(time.perf_counter() - started)
                    check(answer)
                except Exception:
                    with lock:
                        errors[0] += 1
                    if sock is not None:
                        sock.close()
                        sock = None
        finally:
            if sock is not None:
                sock.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    return len(latencies), time.perf_counter() - started, latencies, errors[0]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def spawn(data_dir: str) -> tuple[subprocess.Popen[bytes], int]:
    """Start C{twistd -n kmip} on a free loopback port; return the process and the port."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=repo + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([twistd, "-n", "--pidfile=", "kmip", "--data-dir", data_dir, "--logging-level",
                             "WARNING", "--listen", f"tcp:{port}:interface=127.0.0.1"],
                            cwd=data_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"kmipd exited with status {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("kmipd did not start listening within 30 seconds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5696)
    parser.add_argument("--data-dir", help="kmipd data directory holding pki/ (default: the spawned one)")
    parser.add_argument("--ca")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--spawn", action="store_true", help="start a throwaway kmipd for the run")
    parser.add_argument("--mode", choices=("persistent", "per-request", "both"), default="both")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=5000, help="round trips per mode (upper bound)")
    parser.add_argument("--seconds", type=float, default=15.0, help="time per mode (upper bound)")
    args = parser.parse_args()

    try:
        if not ipaddress.ip_address(socket.gethostbyname(args.host)).is_loopback:
            raise SystemExit("refusing to load a non-loopback address")
    except ValueError:
        raise SystemExit(f"bad host {args.host!r}") from None

    proc = None
    tmp = None
    try:
        if args.spawn:
            tmp = tempfile.mkdtemp(prefix="kmipd-bench-")
            args.data_dir = args.data_dir or tmp
            proc, args.port = spawn(args.data_dir)
        if args.data_dir:
            pki = os.path.join(args.data_dir, "pki")
            args.ca = args.ca or os.path.join(pki, "ca.pem")
            args.cert = args.cert or os.path.join(pki, "client.pem")
            args.key = args.key or os.path.join(pki, "client.key")
        if not (args.ca and args.cert and args.key):
            raise SystemExit("give --data-dir, or --ca, --cert and --key")
        ctx = tls_context(args.ca, args.cert, args.key)
        with connect(ctx, args.host, args.port) as s:  # warm-up and sanity check
            check(round_trip(s))
            version = s.version()
        print(f"kmipd at {args.host}:{args.port}, {version}, concurrency {args.concurrency}, "
              f"Query ({len(QUERY)}-byte request)")
        modes = ("persistent", "per-request") if args.mode == "both" else (args.mode,)
        for mode in modes:
            done, elapsed, lat, errors = run(mode, ctx, args.host, args.port, args.concurrency, args.requests,
                                             args.seconds)
            if not lat:
                print(f"{mode:12} no successful round trips ({errors} errors)")
                continue
            ms = [x * 1000 for x in lat]
            print(f"{mode:12} {done:6d} round trips in {elapsed:5.2f}s = {done / elapsed:8.1f}/s  "
                  f"latency ms p50 {percentile(ms, 50):6.2f} p90 {percentile(ms, 90):6.2f} "
                  f"p99 {percentile(ms, 99):6.2f} max {max(ms):6.2f} mean {statistics.mean(ms):6.2f}  "
                  f"errors {errors}", flush=True)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
