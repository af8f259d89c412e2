"""C{bench_ops.py --ab}: every workload against every server, alternately, on fresh servers.

For each server (not the floor) a template directory is prepared once: a fresh server stores
C{--objects} named AES-256 keys and one active key for Encrypt, and is stopped. Every measured
run then copies that template into a new directory, starts a new server process on it pinned to
the server cores, runs C{--warmup} seconds of load and then the measured C{--seconds}, reads the
server's CPU time at both ends of the window, and stops the server. Runs go in the order
A B ... B A (then again, C{--rounds} times) per workload, so drift on a shared machine affects
both sides alike.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

import bench_ops as ops
from _load import Conn, LoadResult, LoadSpec, client_context, run_load
from _servers import PKI, Server, ServerSpec, copy_state, make_pki, start

#: Workloads the floor server is measured on (it answers everything with the same Get response).
FLOOR_WORKLOADS = ("get", "get-new-conn")


@dataclass
class Prepared:
    """A server's template directory and what is stored in it."""

    template: str
    uids: list[str]
    names: list[str]
    encrypt_uid: str


@dataclass
class Run:
    label: str
    workload: str
    ops_s: float
    p50_ms: float
    p99_ms: float
    cpu_per_op_us: float
    server_cpu_s: float
    client_cpu_share: float
    errors: int
    done: int


def _populate(server: Server, count: int) -> Prepared:
    pki = server.pki
    ctx = client_context(pki.ca, pki.client_cert, pki.client_key)
    names = [f"bench-key-{i}" for i in range(count)]
    uids: list[str | None] = [None] * count

    def worker(k: int, step: int) -> None:
        c = Conn(ctx, "127.0.0.1", server.port)
        for i in range(k, count, step):
            uids[i] = ops.ok(ops.call(c, ops.create_req(names[i]))).get(ops.Tag.UNIQUE_IDENTIFIER)
        for i in range(k, count, step):  # served once: the Fresh attribute's one-time update is done
            ops.ok(ops.call(c, ops.uid_req(ops.Operation.GET, str(uids[i]))))
        c.close()

    threads = [threading.Thread(target=worker, args=(k, 8)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if any(u is None for u in uids):
        raise SystemExit(f"{server.spec.label}: storing the {count} keys failed; see {server.log.name}")
    c = Conn(ctx, "127.0.0.1", server.port)
    enc = ops.ok(ops.call(c, ops.create_req())).get(ops.Tag.UNIQUE_IDENTIFIER)
    ops.ok(ops.call(c, ops.uid_req(ops.Operation.ACTIVATE, enc)))
    ops.ok(ops.call(c, ops.encrypt_req(enc, 1024)))
    ops.ok(ops.call(c, ops.locate_req(names[0])))
    c.close()
    return Prepared(server.dir, [u for u in uids if u is not None], names, enc)


def _requests(workload: str, prep: Prepared | None, seed: int) -> list[bytes]:
    """The request mix of C{workload} (the floor gets Gets of a made-up identifier)."""
    rnd = random.Random(seed)
    if prep is None:
        return [ops.uid_req(ops.Operation.GET, "00000000-0000-4000-8000-000000000000")]
    gets = [ops.uid_req(ops.Operation.GET, u) for u in prep.uids]
    if workload in ("get", "get-new-conn"):
        rnd.shuffle(gets)
        return gets
    if workload == "create":
        return [ops.create_req()]
    if workload == "encrypt":
        return [ops.encrypt_req(prep.encrypt_uid, 1024)]
    locates = [ops.locate_req(n) for n in prep.names]
    if workload == "locate":
        rnd.shuffle(locates)
        return locates
    # mixed: 70% Get, 15% Encrypt 1 KiB, 10% Create, 5% Locate by name
    mix = ([rnd.choice(gets) for _ in range(70)] + [ops.encrypt_req(prep.encrypt_uid, 1024)] * 15
           + [ops.create_req()] * 10 + [rnd.choice(locates) for _ in range(5)])
    rnd.shuffle(mix)
    return mix


def _measure(a: argparse.Namespace, server: Server, workload: str, prep: Prepared | None,
             client_cpus: tuple[int, ...], seed: int) -> Run:
    pki = server.pki
    reqs = _requests(workload, prep, seed)
    start_at = time.time() + 0.3 + a.warmup
    deadline = start_at + a.seconds
    per_proc = [a.connections // a.clients + (1 if i < a.connections % a.clients else 0) for i in range(a.clients)]
    mp = multiprocessing.get_context("fork")
    procs = []
    for i, n in enumerate(per_proc):
        if not n:
            continue
        spec = LoadSpec("127.0.0.1", server.port, pki.ca, pki.client_cert, pki.client_key, reqs, n,
                        a.depth, per_request=workload == "get-new-conn", start_at=start_at,
                        deadline=deadline, cpus=client_cpus, offset=seed + i * 104729)
        parent, child = mp.Pipe(duplex=False)
        proc = mp.Process(target=run_load, args=(spec, child), daemon=True)
        proc.start()
        child.close()
        procs.append((proc, parent))
    time.sleep(max(0.0, start_at - time.time()))
    profiler = _profile(a, server, workload, seed)
    cpu0 = server.cpu()
    time.sleep(max(0.0, deadline - time.time()))
    cpu1 = server.cpu()
    if profiler is not None:
        profiler.wait(timeout=60)
    total = LoadResult()
    for proc, conn in procs:
        if not conn.poll(180):
            proc.kill()
            raise SystemExit(f"{server.spec.label} {workload}: a client process did not finish")
        r: LoadResult = conn.recv()
        proc.join(10)
        if r.failure:
            print(f"  ! {server.spec.label} {workload}: client: {r.failure}")
        total.done += r.done
        total.errors += r.errors
        total.latencies.extend(r.latencies)
        total.cpu += r.cpu
    lat = sorted(total.latencies) or [0.0]
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    cpu = cpu1 - cpu0
    run_span = deadline - start_at + a.warmup + 0.3
    return Run(server.spec.label, workload, total.done / a.seconds, pct(0.5), pct(0.99),
               cpu / total.done * 1e6 if total.done else float("nan"), cpu,
               total.cpu / run_span / max(1, len(client_cpus)), total.errors, total.done)


def _profile(a: argparse.Namespace, server: Server, workload: str, n: int) -> subprocess.Popen[bytes] | None:
    """With C{--py-spy DIR}: sample the (kmipd) server over the measured window into folded stacks."""
    if not a.py_spy or server.spec.kind != "kmipd":
        return None
    os.makedirs(a.py_spy, exist_ok=True)
    out = os.path.join(a.py_spy, f"{server.spec.label}-{workload}-{n:03d}.txt")
    return subprocess.Popen(["py-spy", "record", "--pid", str(server.proc.pid), "--duration", str(int(a.seconds)),
                             "--rate", "250", "--format", "raw", "--nonblocking", "--threads", "--subprocesses",
                             "--output", out] + (["--gil"] if a.py_spy_gil else []),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _prepare(spec: ServerSpec, pki: PKI, work: str, objects: int, server_cpus: tuple[int, ...],
             bulk: int = 0) -> Prepared | None:
    if spec.kind == "floor":
        return None
    if bulk and spec.kind != "kmipd":
        raise SystemExit(f"--bulk stores keys in kmipd's database only; {spec.label} is {spec.kind}")
    directory = os.path.join(work, f"template-{spec.label}")
    server = start(spec, pki, directory, server_cpus)
    try:
        t0 = time.monotonic()
        prep = _populate(server, objects)
        print(f"  prepared {spec.label}: {objects} keys in {time.monotonic() - t0:.1f} s")
    finally:
        server.stop()
    if bulk:  # many more named keys, straight into the stopped server's database (bench/populate_store.py)
        t0 = time.monotonic()
        subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "populate_store.py"),
                        "--data-dir", os.path.join(directory, "data"), "--count", str(bulk)],
                       env=dict(os.environ, PYTHONPATH=spec.tree), check=True, timeout=3600)
        print(f"  prepared {spec.label}: {bulk} more keys stored directly in {time.monotonic() - t0:.0f} s")
    return prep


def _cpus(text: str) -> tuple[int, ...]:
    return tuple(int(c) for c in text.split(",") if c != "")


def run_ab(a: argparse.Namespace) -> None:
    """Run the comparison described by C{a} and print the table."""
    specs = [ServerSpec.parse(s) for s in (a.server or ["kmipd", "pykmip", "floor"])]
    workloads = [w for w in a.workloads.split(",") if w]
    for w in workloads:
        if w not in ops.WORKLOADS:
            raise SystemExit(f"unknown workload {w!r}; choose from {', '.join(ops.WORKLOADS)}")
    server_cpus, client_cpus = _cpus(a.server_cpus), _cpus(a.client_cpus)
    work = a.workdir or tempfile.mkdtemp(prefix="kmipd-ab-")
    os.makedirs(work, exist_ok=True)
    print(f"A/B in {work}: servers {', '.join(s.label for s in specs)}; server cores {server_cpus}, "
          f"client cores {client_cpus}; {a.connections} connections x depth {a.depth}, {a.clients} client "
          f"processes; {a.warmup:g} s warm-up + {a.seconds:g} s per run, {a.rounds} round(s); "
          f"load average {os.getloadavg()[0]:.2f}")
    pki = make_pki(os.path.join(work, "pki"), a.pki)
    prepared = {s.label: _prepare(s, pki, work, a.objects, server_cpus, a.bulk) for s in specs}
    runs: list[Run] = []
    n = 0
    try:
        for workload in workloads:
            order = [s for s in specs if s.kind != "floor" or workload in FLOOR_WORKLOADS]
            for _ in range(a.rounds):
                for spec in order + order[::-1]:
                    n += 1
                    prep = prepared[spec.label]
                    directory = os.path.join(work, f"run-{n:03d}-{spec.label}-{workload}")
                    if prep is not None:
                        copy_state(prep.template, directory)
                    server = start(spec, pki, directory, server_cpus)
                    try:
                        run = _measure(a, server, workload, prep, client_cpus, seed=n)
                    finally:
                        server.stop()
                    runs.append(run)
                    print(f"  {workload:13s} {spec.label:10s} {_num(run.ops_s):>9s} ops/s  p50 {run.p50_ms:6.2f} "
                          f"p99 {run.p99_ms:7.2f} ms  server CPU/op {run.cpu_per_op_us:8,.0f} us  "
                          f"client cores busy {run.client_cpu_share:4.0%}"
                          + (f"  {run.errors} ERRORS" if run.errors else ""), flush=True)
                    if not a.workdir:
                        shutil.rmtree(directory, ignore_errors=True)
    finally:
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
    _table(runs, specs, workloads)
    if a.json:
        with open(a.json, "w") as f:
            json.dump([r.__dict__ for r in runs], f, indent=1)
    if not a.workdir:
        shutil.rmtree(work, ignore_errors=True)


def _num(x: float) -> str:
    """Thousands separators; one decimal below 10 (PyKMIP's Locate runs at ~0.3/s)."""
    return f"{x:,.1f}" if abs(x) < 10 else f"{x:,.0f}"


def _table(runs: list[Run], specs: list[ServerSpec], workloads: list[str]) -> None:
    """Medians per (workload, server); ratios against the first PyKMIP server; floor multiples."""
    def med(label: str, workload: str, attr: str) -> float | None:
        vals = [getattr(r, attr) for r in runs if r.label == label and r.workload == workload]
        return statistics.median(vals) if vals else None

    base = next((s.label for s in specs if s.kind == "pykmip"), None)
    floor = next((s.label for s in specs if s.kind == "floor"), None)
    labels = [s.label for s in specs if s.kind != "floor"]
    head = "| workload |" + "".join(f" {lbl} ops/s | p50/p99 ms | CPU/op |" for lbl in labels)
    head += "".join(f" {lbl}/{base} |" for lbl in labels if lbl != base) if base else ""
    head += f" {floor} RT/s | {floor} CPU/RT |" if floor else ""
    print()
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for w in workloads:
        row = f"| {w} |"
        for lbl in labels:
            ops_s, p50, p99, cpu = (med(lbl, w, k) for k in ("ops_s", "p50_ms", "p99_ms", "cpu_per_op_us"))
            row += (f" {_num(ops_s)} | {p50:.2f} / {p99:.2f} | {cpu:,.0f} us |" if ops_s is not None
                    else " - | - | - |")
        if base:
            b = med(base, w, "ops_s")
            for lbl in labels:
                if lbl != base:
                    v = med(lbl, w, "ops_s")
                    row += f" {_num(v / b)}x |" if v is not None and b else " - |"
        if floor:
            f_ops, f_cpu = med(floor, w, "ops_s"), med(floor, w, "cpu_per_op_us")
            row += f" {f_ops:,.0f} | {f_cpu:,.0f} us |" if f_ops is not None else " - | - |"
        print(row)
    if floor:
        for lbl in labels:
            k, f = med(lbl, "get", "cpu_per_op_us"), med(floor, "get", "cpu_per_op_us")
            if k is not None and f:
                print(f"{lbl}: server CPU per Get = {k / f:.1f}x the floor's CPU per round trip")
