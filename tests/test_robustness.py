"""Malformed input never crashes the server: every mutated message gets a KMIP reply.

Deterministic (seeded) mutation of valid requests of many operations: flipped bytes, truncation,
bogus lengths and types, spliced messages. Each must come back from the dispatcher as a
decodable Response Message (an error result or a success), never as an exception.
"""

from __future__ import annotations

import random
import struct

from twisted.trial.unittest import SynchronousTestCase

from kmipd.dispatch import Caller
from kmipd.spec import (
    CryptographicAlgorithm,
    CryptographicUsageMask,
    ObjectType,
    Operation,
    QueryFunction,
    ResultStatus,
    Tag,
)
from kmipd.testing import attribute, batch_item, make_processor, payload, request
from kmipd.ttlv import Item, decode, encode

CALLER = Caller("fuzzer")


def _seed_messages() -> list[bytes]:
    create = payload(
        Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
        Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
            attribute("Cryptographic Algorithm", Item.enum(0, CryptographicAlgorithm.AES)),
            attribute("Cryptographic Length", Item.int(0, 128)),
            attribute("Cryptographic Usage Mask",
                      Item.int(0, CryptographicUsageMask.ENCRYPT | CryptographicUsageMask.DECRYPT)),
            attribute("Name", Item.struct(0, [Item.text(Tag.NAME_VALUE, "fuzz"), Item.enum(Tag.NAME_TYPE, 1)])),
        ]))
    uid = payload(Item.text(Tag.UNIQUE_IDENTIFIER, "00000000-0000-0000-0000-000000000000"))
    encrypt = payload(Item.text(Tag.UNIQUE_IDENTIFIER, "x"), Item.struct(Tag.CRYPTOGRAPHIC_PARAMETERS, [
        Item.enum(Tag.BLOCK_CIPHER_MODE, 1), Item.enum(Tag.PADDING_METHOD, 3)]), Item.bytes(Tag.DATA, b"a" * 40))
    query = payload(Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS))
    messages = []
    for version in ((1, 0), (1, 2), (1, 4), (2, 0), (2, 1)):
        messages.append(encode(request(batch_item(Operation.CREATE, create), version=version)))
        messages.append(encode(request(batch_item(Operation.GET, uid), batch_item(Operation.DESTROY, uid),
                                       batch_item(Operation.QUERY, query), version=version)))
        messages.append(encode(request(batch_item(Operation.LOCATE, payload(
            attribute("Name", Item.struct(0, [Item.text(Tag.NAME_VALUE, "fuzz"), Item.enum(Tag.NAME_TYPE, 1)])))),
            version=version)))
        messages.append(encode(request(batch_item(Operation.ENCRYPT, encrypt), version=version)))
    return messages


def _mutations(data: bytes, rng: random.Random):
    """A handful of corrupted variants of C{data}."""
    b = bytearray(data)
    for _ in range(3):  # flip random bytes
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    yield bytes(b)
    yield data[: rng.randrange(8, len(data))]  # truncated
    c = bytearray(data)  # a random item header's length field set to something absurd
    off = rng.randrange(0, max(1, len(c) - 8)) & ~7
    struct.pack_into(">I", c, off + 4, rng.choice([0, 1, 3, 7, 0x7FFFFFFF, 0xFFFFFFFF, len(c)]))
    yield bytes(c)
    d = bytearray(data)  # a random item type byte set to something arbitrary
    off = rng.randrange(0, max(1, len(d) - 8)) & ~7
    d[off + 3] = rng.randrange(256)
    yield bytes(d)
    yield data + data[: rng.randrange(1, len(data))]  # trailing garbage


class MutationTests(SynchronousTestCase):
    """Thousands of corrupted requests: each is answered, none raises."""

    def test_mutated_requests_always_answered(self) -> None:
        """Every mutation of valid requests yields a decodable Response Message, errors included."""
        rng = random.Random(20261128)
        dispatcher = make_processor()
        seeds = _seed_messages()
        answered = failures = 0
        for _ in range(60):
            for seed in seeds:
                for mutated in _mutations(seed, rng):
                    reply = dispatcher.process(mutated, CALLER)  # must not raise
                    response = decode(reply.data)
                    self.assertEqual(response.tag, Tag.RESPONSE_MESSAGE)
                    items = response.findall(Tag.BATCH_ITEM)
                    self.assertTrue(items)
                    answered += 1
                    failures += any(i.get(Tag.RESULT_STATUS) != ResultStatus.SUCCESS for i in items)
        self.assertEqual(answered, 60 * len(seeds) * 5)
        self.assertGreater(failures, answered // 2)  # the corruption is real: most are refused

    def test_random_bytes_answered_and_closed(self) -> None:
        """Random byte strings get an Invalid Message reply and a request to close the connection."""
        rng = random.Random(7)
        dispatcher = make_processor()
        for _ in range(500):
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
            reply = dispatcher.process(data, CALLER)
            self.assertEqual(decode(reply.data).tag, Tag.RESPONSE_MESSAGE)
            self.assertTrue(reply.close)
