"""The load generator of C{bench_ops.py --ab}: pre-encoded requests from client processes.

Each client process (pinned to the client cores) runs a few threads; each thread holds one TLS
connection (or opens one per request) and keeps C{depth} requests in flight. Only round trips
completed inside the measured window count. Responses are framed, not decoded (the client must
cost little); a response without a successful Result Status counts as an error.
"""

from __future__ import annotations

import os
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

#: Result Status (0x42007F, Enumeration, length 4) = Success: present in every successful reply.
SUCCESS = bytes.fromhex("42007f05000000040000000000000000")[:12]


@dataclass
class LoadSpec:
    """What one client process does (picklable)."""

    host: str
    port: int
    ca: str
    cert: str
    key: str
    requests: list[bytes]
    threads: int
    depth: int = 1
    per_request: bool = False
    resume: bool = False
    start_at: float = 0.0  # time.time() of the measured window
    deadline: float = 0.0
    cpus: tuple[int, ...] = ()
    offset: int = 0


@dataclass
class LoadResult:
    """What a client process measured in the window."""

    done: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    resumed: int = 0
    cpu: float = 0.0  # the client process's CPU seconds over its whole run
    failure: str = ""


def client_context(ca: str, cert: str, key: str) -> ssl.SSLContext:
    """A client TLS context with the benchmark's client certificate."""
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    ctx.check_hostname = False
    return ctx


class Conn:
    """One TLS connection that frames KMIP messages."""

    def __init__(self, ctx: ssl.SSLContext, host: str, port: int, session: Any = None,
                 timeout: float = 60.0) -> None:
        raw = socket.create_connection((host, port), timeout=timeout)
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

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def _persistent(spec: LoadSpec, ctx: ssl.SSLContext, k: int, out: LoadResult, lock: threading.Lock) -> None:
    todo = spec.requests
    i = spec.offset + k * 7919
    sent: list[float] = []
    lat: list[float] = []
    done = errors = 0
    now = time.time
    c = Conn(ctx, spec.host, spec.port)
    try:
        while now() < spec.deadline or sent:
            while len(sent) < spec.depth and now() < spec.deadline:
                c.send(todo[i % len(todo)])
                i += 1
                sent.append(now())
            reply = c.recv_one()
            t = now()
            t0 = sent.pop(0)
            if spec.start_at <= t <= spec.deadline:
                if SUCCESS in reply:
                    done += 1
                    lat.append(t - t0)
                else:
                    errors += 1
    finally:  # what completed counts even when the server drops the connection
        c.close()
        with lock:
            out.done += done
            out.errors += errors
            out.latencies.extend(lat)


def _per_request(spec: LoadSpec, ctx: ssl.SSLContext, k: int, out: LoadResult, lock: threading.Lock) -> None:
    todo = spec.requests
    i = spec.offset + k * 7919
    lat: list[float] = []
    done = errors = resumed = 0
    session = None
    now = time.time
    try:
        while now() < spec.deadline:
            t0 = now()
            c = Conn(ctx, spec.host, spec.port, session if spec.resume else None)
            try:
                c.send(todo[i % len(todo)])
                i += 1
                reply = c.recv_one()
                reused, session = c.sock.session_reused, c.sock.session
            finally:
                c.close()
            t = now()
            if spec.start_at <= t <= spec.deadline:
                if SUCCESS in reply:
                    done += 1
                    lat.append(t - t0)
                else:
                    errors += 1
                resumed += reused
    finally:
        with lock:
            out.done += done
            out.errors += errors
            out.resumed += resumed
            out.latencies.extend(lat)


def run_load(spec: LoadSpec, conn: Any) -> None:
    """Client process body: run the threads, send a L{LoadResult} through C{conn}."""
    if spec.cpus:
        os.sched_setaffinity(0, spec.cpus)
    out = LoadResult()
    lock = threading.Lock()
    ctx = client_context(spec.ca, spec.cert, spec.key)
    body = _per_request if spec.per_request else _persistent
    failures: list[str] = []

    def guarded(k: int) -> None:
        try:
            body(spec, ctx, k, out, lock)
        except Exception as e:  # a benchmark run reports, it does not hang
            failures.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=guarded, args=(k,), daemon=True) for k in range(spec.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, spec.deadline - time.time()) + 120)
    t = os.times()
    out.cpu = t.user + t.system
    out.failure = "; ".join(sorted(set(failures)))
    conn.send(out)
    conn.close()
