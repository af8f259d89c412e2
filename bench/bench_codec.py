"""Benchmark: kmipd's binary TTLV codec against PyKMIP's, on the same bytes (not a test).

Usage: python bench/bench_codec.py [--seconds 1.0] [--batch 100]

For each message (a Create request, a Get response carrying a 256-bit AES key, a Locate request
with several attributes, and a request batching many Get items) the script builds the message
once, checks that both codecs read it and write back the identical bytes, then measures:

* kmipd decode  : kmipd.ttlv.decode(bytes) -> Item tree
* kmipd encode  : kmipd.ttlv.encode(tree)  -> bytes
* PyKMIP decode : kmip.core.messages.RequestMessage/ResponseMessage().read(BytearrayStream(bytes))
* PyKMIP encode : message.write(BytearrayStream())

and prints operations per second and the kmipd/PyKMIP ratio. Each measurement runs for about
C{--seconds} (best of 3 rounds), so the whole run is bounded.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kmipd.messages import version_item  # noqa: E402
from kmipd.spec import (  # noqa: E402
    CryptographicAlgorithm,
    KeyFormatType,
    NameType,
    ObjectType,
    Operation,
    ResultStatus,
    State,
    Tag,
)
from kmipd.testing import batch_item, request  # noqa: E402
from kmipd.ttlv import Item, decode, encode  # noqa: E402

VERSION = (1, 2)


def attr(name: str, value: Item) -> Item:
    return Item.struct(Tag.ATTRIBUTE, [Item.text(Tag.ATTRIBUTE_NAME, name), value])


def create_request() -> Item:
    body = Item.struct(Tag.REQUEST_PAYLOAD, [
        Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
        Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
            attr("Cryptographic Algorithm", Item.enum(Tag.ATTRIBUTE_VALUE, CryptographicAlgorithm.AES)),
            attr("Cryptographic Length", Item.int(Tag.ATTRIBUTE_VALUE, 256)),
            attr("Cryptographic Usage Mask", Item.int(Tag.ATTRIBUTE_VALUE, 0x0C)),
            attr("Name", Item.struct(Tag.ATTRIBUTE_VALUE, [
                Item.text(Tag.NAME_VALUE, "bench-key-0001"),
                Item.enum(Tag.NAME_TYPE, NameType.UNINTERPRETED_TEXT_STRING)])),
        ]),
    ])
    return request(batch_item(Operation.CREATE, body), version=VERSION)


def get_response() -> Item:
    key = Item.struct(Tag.SYMMETRIC_KEY, [Item.struct(Tag.KEY_BLOCK, [
        Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.RAW),
        Item.struct(Tag.KEY_VALUE, [Item.bytes(Tag.KEY_MATERIAL, bytes(range(32)))]),
        Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.AES),
        Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256),
    ])])
    return Item.struct(Tag.RESPONSE_MESSAGE, [
        Item.struct(Tag.RESPONSE_HEADER, [version_item(VERSION), Item.datetime(Tag.TIME_STAMP, 1_700_000_000),
                                          Item.int(Tag.BATCH_COUNT, 1)]),
        Item.struct(Tag.BATCH_ITEM, [
            Item.enum(Tag.OPERATION, Operation.GET),
            Item.enum(Tag.RESULT_STATUS, ResultStatus.SUCCESS),
            Item.struct(Tag.RESPONSE_PAYLOAD, [
                Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
                Item.text(Tag.UNIQUE_IDENTIFIER, "1f165d65-cbbd-4bd6-9867-80e0b390acf9"),
                key,
            ]),
        ]),
    ])


def locate_request() -> Item:
    body = Item.struct(Tag.REQUEST_PAYLOAD, [
        Item.int(Tag.MAXIMUM_ITEMS, 10),
        attr("Object Type", Item.enum(Tag.ATTRIBUTE_VALUE, ObjectType.SYMMETRIC_KEY)),
        attr("Cryptographic Algorithm", Item.enum(Tag.ATTRIBUTE_VALUE, CryptographicAlgorithm.AES)),
        attr("Cryptographic Length", Item.int(Tag.ATTRIBUTE_VALUE, 256)),
        attr("State", Item.enum(Tag.ATTRIBUTE_VALUE, State.ACTIVE)),
        attr("Name", Item.struct(Tag.ATTRIBUTE_VALUE, [
            Item.text(Tag.NAME_VALUE, "bench-key-0001"),
            Item.enum(Tag.NAME_TYPE, NameType.UNINTERPRETED_TEXT_STRING)])),
        attr("Object Group", Item.text(Tag.ATTRIBUTE_VALUE, "payments")),
    ])
    return request(batch_item(Operation.LOCATE, body), version=VERSION)


def batch_request(n: int) -> Item:
    items = [batch_item(Operation.GET, Item.struct(Tag.REQUEST_PAYLOAD, [
        Item.text(Tag.UNIQUE_IDENTIFIER, f"{i:08d}-cbbd-4bd6-9867-80e0b390acf9")]), unique_id=i.to_bytes(4, "big"))
        for i in range(n)]
    return request(*items, version=VERSION)


def rate(fn: Callable[[], Any], seconds: float) -> float:
    """Best-of-3 operations per second of C{fn}, each round lasting about C{seconds}/3."""
    best = 0.0
    per_round = seconds / 3
    for _ in range(3):
        n = 0
        start = time.perf_counter()
        deadline = start + per_round
        while True:
            for _ in range(10):
                fn()
            n += 10
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, n / (now - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement (default 1.0)")
    parser.add_argument("--batch", type=int, default=100, help="batch items in the large batch (default 100)")
    args = parser.parse_args()

    from kmip.core import enums as penums
    from kmip.core.messages.messages import RequestMessage, ResponseMessage
    from kmip.core.utils import BytearrayStream

    pversion = penums.KMIPVersion.KMIP_1_2
    messages = [
        ("Create request", create_request(), RequestMessage),
        ("Get response (AES-256)", get_response(), ResponseMessage),
        ("Locate request (6 attrs)", locate_request(), RequestMessage),
        (f"Batch of {args.batch} Get requests", batch_request(args.batch), RequestMessage),
    ]
    notes: list[str] = []
    print(f"{'message':32} {'bytes':>6}  {'op':6} {'kmipd ops/s':>12} {'PyKMIP ops/s':>13} {'ratio':>7}")
    for label, tree, pycls in messages:
        data = encode(tree)
        # Both codecs must agree on the bytes before we time anything.
        assert encode(decode(data)) == data
        pmsg = pycls()
        pmsg.read(BytearrayStream(data), kmip_version=pversion)
        out = BytearrayStream()
        pmsg.write(out, kmip_version=pversion)
        if bytes(out.buffer) != data:
            # PyKMIP 0.11 re-encodes an Integer "Cryptographic Usage Mask" attribute value with 8
            # stray zero bytes; its output is still timed, but note the difference.
            notes.append(f"PyKMIP re-encodes the {label} as {len(out.buffer)} bytes, not {len(data)}")

        def kd(data: bytes = data) -> Any:
            return decode(data)

        def ke(tree: Item = tree) -> Any:
            return encode(tree)

        def pd(data: bytes = data, pycls: Any = pycls) -> Any:
            m = pycls()
            m.read(BytearrayStream(data), kmip_version=pversion)
            return m

        def pe(pmsg: Any = pmsg) -> Any:
            s = BytearrayStream()
            pmsg.write(s, kmip_version=pversion)
            return s

        for op, mine, theirs in (("decode", kd, pd), ("encode", ke, pe)):
            a = rate(mine, args.seconds)
            b = rate(theirs, args.seconds)
            print(f"{label:32} {len(data):6d}  {op:6} {a:12,.0f} {b:13,.0f} {a / b:6.1f}x", flush=True)
    for note in notes:
        print("note:", note)


if __name__ == "__main__":
    main()
