"""In-process CPU per request message: the processor on a SQLite file store, no TLS, no reactor.

Not a test. Measures what the operation thread spends per message (decode, run, encode, store)
with C{time.process_time}, so load from other jobs on the machine disturbs it little. Run it from
a tree (C{PYTHONPATH=TREE}) or compare trees with C{--tree}: each tree runs in its own process,
alternately (A B B A per round), and the medians are printed.

    python bench/bench_inproc.py --tree before=/tmp/before --tree after=. --rounds 3
    python bench/bench_inproc.py --profile get        # cProfile of the Get loop, top 30

Workloads: get (1,000 keys, each served once first), get-fresh (the first Get of each key),
create (AES-256, 3 attributes), encrypt (64 bytes AES-CBC), locate (by name among the keys);
get-group, create-group, encrypt-group: the same, 8 messages per group (one transaction, a savepoint
each when they write), as the dispatcher runs them under load over TLS.
The log line per request and the audit trail are not exercised here (they run on the reactor).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = ("get", "get-group", "get-fresh", "create", "create-group", "encrypt", "encrypt-group", "locate")


def _measure(workloads: list[str], count: int, objects: int, profile: str | None) -> dict[str, float]:
    import kmipd  # from PYTHONPATH (the tree measured), before bench_ops puts this checkout first

    sys.stderr.write(f"kmipd from {os.path.dirname(kmipd.__file__)}\n")
    sys.path.insert(0, HERE)
    from bench_ops import create_req, encrypt_req, locate_req, ok, uid_req

    from kmipd.auth.identify import Caller
    from kmipd.spec import Operation, Tag
    from kmipd.store.sql import SQLObjectStore
    from kmipd.testing import make_processor
    from kmipd.ttlv import decode

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLObjectStore(f"sqlite:///{tmp}/kmipd.db", bytes(32))
        processor = make_processor(store)
        caller = Caller("bench")

        def run(data: bytes) -> object:
            reply = processor.process(data, caller)
            return ok(decode(reply.data))

        uids = [run(create_req(f"bench-{i}")).get(Tag.UNIQUE_IDENTIFIER) for i in range(objects)]
        fresh = [run(create_req()).get(Tag.UNIQUE_IDENTIFIER) for _ in range(count)]
        for _ in range(2):  # the first Get clears Fresh (a write); the second fills the object cache
            for uid in uids:
                run(uid_req(Operation.GET, uid))
        enc_uid = run(create_req()).get(Tag.UNIQUE_IDENTIFIER)
        run(uid_req(Operation.ACTIVATE, enc_uid))
        rng = random.Random(13)
        for workload in workloads:
            if workload in ("get", "get-group"):
                msgs = [uid_req(Operation.GET, rng.choice(uids)) for _ in range(count)]
            elif workload == "get-fresh":
                msgs = [uid_req(Operation.GET, uid) for uid in fresh]
            elif workload in ("create", "create-group"):
                msgs = [create_req() for _ in range(count)]
            elif workload in ("encrypt", "encrypt-group"):
                msgs = [encrypt_req(enc_uid) for _ in range(count)]
            else:
                msgs = [locate_req(f"bench-{rng.randrange(objects)}") for _ in range(count)]
            for data in msgs[: count // 10]:  # warm caches and compiled statements
                processor.process(data, caller)
            if profile == workload:
                import cProfile
                import pstats

                prof = cProfile.Profile()
                prof.enable()
            start = time.process_time()
            if workload.endswith("-group"):  # as under load over TLS: 8 messages in one transaction
                for i in range(0, len(msgs), 8):
                    processor.process_group([([data], caller) for data in msgs[i:i + 8]])
            else:
                for data in msgs:
                    processor.process(data, caller)
            out[workload] = (time.process_time() - start) / len(msgs) * 1e6
            if profile == workload:
                prof.disable()
                pstats.Stats(prof).sort_stats(os.environ.get("SORT", "tottime")).print_stats(40)
        store.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tree", action="append", default=[], help="LABEL=PATH (repeatable); default: this checkout")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--count", type=int, default=2000, help="messages per workload and run")
    p.add_argument("--objects", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--profile", choices=WORKLOADS)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    workloads = [w for w in a.workloads.split(",") if w]
    if a.child or a.profile:
        print(json.dumps(_measure(workloads, a.count, a.objects, a.profile)))
        return
    trees = [t.split("=", 1) for t in a.tree] or [["this", os.path.dirname(HERE)]]
    results: dict[str, dict[str, list[float]]] = {label: {w: [] for w in workloads} for label, _ in trees}
    for _ in range(a.rounds):
        for label, path in trees + trees[::-1]:
            env = dict(os.environ, PYTHONPATH=os.path.abspath(path))
            cmd = [sys.executable, os.path.abspath(__file__), "--child", "--workloads", ",".join(workloads),
                   "--count", str(a.count), "--objects", str(a.objects)]
            line = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
            for w, us in json.loads(line).items():
                results[label][w].append(us)
    labels = [label for label, _ in trees]
    print("| workload | " + " | ".join(f"{label} CPU/msg" for label in labels) + " |")
    print("|---|" + "---:|" * len(labels))
    for w in workloads:
        print(f"| {w} | " + " | ".join(f"{statistics.median(results[label][w]):,.0f} us" for label in labels) + " |")


if __name__ == "__main__":
    main()
