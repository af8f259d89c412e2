"""Store many named AES-256 keys directly in a stopped kmipd's database (for Locate at scale).

Not a test. Runs kmipd's own processor on the server's store (its configuration, database and
master key, as `twistd kmip --data-dir DIR` would open them) and sends it Create requests with a
Name, 64 per group commit: the objects are exactly what Creates over TLS would make, without the
TLS round trips. The owner is the owner of the objects already stored (the benchmark client), so
its Locate sees them. Run it with the tree of the server (PYTHONPATH) while the server is stopped:

    PYTHONPATH=TREE python bench/populate_store.py --data-dir DIR/data --count 99000
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import kmipd  # noqa: F401  (from PYTHONPATH, before bench_ops puts this checkout first)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_ops import create_req  # noqa: E402

from kmipd.admin_objects import open_store  # noqa: E402
from kmipd.auth.identify import Caller  # noqa: E402
from kmipd.config import load_config  # noqa: E402
from kmipd.spec import ResultStatus  # noqa: E402
from kmipd.store.models import objects_table  # noqa: E402
from kmipd.testing import make_processor  # noqa: E402
from kmipd.ttlv import decode  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--prefix", default="bulk-key-")
    p.add_argument("--group", type=int, default=64, help="Creates per group commit")
    a = p.parse_args()
    store = open_store(load_config(None, {"data_dir": a.data_dir}))
    with store.engine.connect() as conn:
        owner = conn.execute(objects_table.select().with_only_columns(objects_table.c.owner).limit(1)).scalar()
    processor = make_processor(store)
    caller = Caller(owner)
    t0 = time.monotonic()
    for start in range(0, a.count, a.group):
        units = [([create_req(f"{a.prefix}{i}")], caller) for i in range(start, min(a.count, start + a.group))]
        for (reply,) in processor.process_group(units):
            (item,) = [c for c in decode(reply.data).value if c.tag == 0x42000F]  # Batch Item
            if item.get(0x42007F) != ResultStatus.SUCCESS:  # Result Status
                raise SystemExit(f"a Create failed: {item}")
    store.close()
    print(f"stored {a.count} keys owned by {owner!r} in {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
