"""Benchmark: Locate over many objects in SQLObjectStore (not a test).

Usage: python bench/bench_store_locate.py [--count 100000] [--url sqlite:///path] [--repeat 20]

Inserts C{count} symmetric keys (8 attributes each, material sealed), then times Locate by
name, by attribute equality (selective and broad), by usage mask, by date range, and a
combination. Without --url a temporary SQLite file is used and deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kmipd.model.objects import ManagedObject  # noqa: E402
from kmipd.store import AttributeFilter, LocateQuery, RangeFilter, SQLObjectStore  # noqa: E402
from kmipd.ttlv import Item  # noqa: E402

NAME, NAME_VALUE, NAME_TYPE = 0x420053, 0x420055, 0x420054
STATE, OBJECT_TYPE, UID = 0x42008D, 0x420057, 0x420094
ALG, LENGTH, MASK, ACTIVATION = 0x420028, 0x42002A, 0x42002C, 0x420001
SYMMETRIC_KEY, KEY_BLOCK, KEY_VALUE, KEY_MATERIAL, KEY_FORMAT = 0x42008F, 0x420040, 0x420045, 0x420043, 0x420042
ALGORITHMS = (3, 3, 3, 3, 2, 1, 4, 5)  # AES-heavy mix
MASKS = (0x4 | 0x8, 0x4, 0x8, 0x1 | 0x2, 0x4 | 0x8 | 0x80)


def name(text: str) -> Item:
    return Item.struct(NAME, [Item.text(NAME_VALUE, text), Item.enum(NAME_TYPE, 1)])


def make(uid: str, i: int) -> ManagedObject:
    material = Item.struct(SYMMETRIC_KEY, [Item.struct(KEY_BLOCK, [
        Item.enum(KEY_FORMAT, 1),
        Item.struct(KEY_VALUE, [Item.bytes(KEY_MATERIAL, os.urandom(32))]),
        Item.enum(ALG, 3), Item.int(LENGTH, 256)])])
    return ManagedObject(uid=uid, object_type=2, owner=f"user{i % 50}", created=1700000000 + i, material=material,
                         attributes={
                             "Unique Identifier": [Item.text(UID, uid)],
                             "Object Type": [Item.enum(OBJECT_TYPE, 2)],
                             "State": [Item.enum(STATE, 1 + i % 3)],
                             "Name": [name(f"key-{i}")],
                             "Cryptographic Algorithm": [Item.enum(ALG, ALGORITHMS[i % len(ALGORITHMS)])],
                             "Cryptographic Length": [Item.int(LENGTH, 128 if i % 2 else 256)],
                             "Cryptographic Usage Mask": [Item.int(MASK, MASKS[i % len(MASKS)])],
                             "Activation Date": [Item.datetime(ACTIVATION, 1700000000 + i)],
                         })


def timed(store: SQLObjectStore, label: str, query: LocateQuery, repeat: int) -> None:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        with store.transaction() as tx:
            found = tx.locate(query)
        times.append(time.perf_counter() - t0)
    print(f"  {label:<48} {len(found):>7} hits  median {statistics.median(times) * 1000:8.2f} ms"
          f"  min {min(times) * 1000:8.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--url")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    tmp = None
    url = args.url
    if url is None:
        tmp = tempfile.mkdtemp(prefix="kmipd-bench-")
        url = "sqlite:///" + os.path.join(tmp, "bench.sqlite")
    try:
        store = SQLObjectStore(url, os.urandom(32))
        t0 = time.perf_counter()
        for start in range(0, args.count, args.batch):
            with store.transaction() as tx:
                for i in range(start, min(start + args.batch, args.count)):
                    tx.add(make(tx.new_uid(), i))
        elapsed = time.perf_counter() - t0
        print(f"inserted {args.count} objects in {elapsed:.1f} s ({args.count / elapsed:.0f} objects/s)")
        if tmp:
            size = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp))
            print(f"database files: {size / 1e6:.1f} MB")
        target = args.count // 2
        timed(store, "Name = key-<middle> (1 match)",
              LocateQuery(attributes=[AttributeFilter("Name", name(f"key-{target}"))]), args.repeat)
        timed(store, "Name value only (no Name Type)",
              LocateQuery(attributes=[
                  AttributeFilter("Name", Item.struct(NAME, [Item.text(NAME_VALUE, f"key-{target}")]))]),
              args.repeat)
        timed(store, "Name = missing (0 matches)",
              LocateQuery(attributes=[AttributeFilter("Name", name("nope"))]), args.repeat)
        timed(store, "Cryptographic Algorithm = 5 (1/8)",
              LocateQuery(attributes=[AttributeFilter("Cryptographic Algorithm", Item.enum(ALG, 5))]), args.repeat)
        timed(store, "Cryptographic Algorithm = AES (1/2)",
              LocateQuery(attributes=[AttributeFilter("Cryptographic Algorithm", Item.enum(ALG, 3))]), args.repeat)
        timed(store, "Usage Mask has 0x80 (1/5)",
              LocateQuery(attributes=[AttributeFilter("Cryptographic Usage Mask", Item.int(MASK, 0x80), True)]),
              args.repeat)
        timed(store, "Activation Date in 100-second range",
              LocateQuery(ranges=[RangeFilter("Activation Date", 1700000000 + target, 1700000000 + target + 99)]),
              args.repeat)
        timed(store, "Alg=5 AND Length=128 AND State=Active AND type",
              LocateQuery(object_types=(2,), states=(2,), attributes=[
                  AttributeFilter("Cryptographic Algorithm", Item.enum(ALG, 5)),
                  AttributeFilter("Cryptographic Length", Item.int(LENGTH, 128))]), args.repeat)
        timed(store, "no criteria (all objects)", LocateQuery(), max(3, args.repeat // 5))
        t0 = time.perf_counter()
        with store.transaction() as tx:
            uid = tx.locate(LocateQuery(attributes=[AttributeFilter("Name", name(f"key-{target}"))]))[0].uid
        for _ in range(args.repeat):
            with store.transaction() as tx:
                tx.get(uid)
        print(f"  get() one object: {(time.perf_counter() - t0) / args.repeat * 1000:.2f} ms")
        store.close()
    finally:
        if tmp:
            shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
