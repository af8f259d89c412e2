"""Bounded memory on the TTLV port: unread responses, server response caps, partial requests.

The transport below behaves like TCP with a client that never reads: once more than its buffer
size is waiting it pauses its producer (the protocol) and never resumes it.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from kmipd.limits import Limits
from kmipd.operations import crypto_ops
from kmipd.protocol import KMIPProtocol, KMIPServerFactory
from kmipd.session import ConnectionCounter
from kmipd.spec import Operation, ResultReason, ResultStatus, Tag
from kmipd.testing import batch_item, make_dispatcher, payload, request, results
from kmipd.ttlv import Item, decode, encode, peek_header

KIB = 1024


def rng(length: int, items: int = 1) -> bytes:
    """A request of C{items} RNG Retrieve batch items of C{length} bytes each."""
    return encode(request(*[batch_item(Operation.RNG_RETRIEVE, payload(Item.int(Tag.DATA_LENGTH, length)))
                            for _ in range(items)]))


def responses(data: bytes) -> list[Item]:
    out, offset = [], 0
    while offset < len(data):
        _, _, length = peek_header(data, offset)
        out.append(decode(data[offset:offset + 8 + length]))
        offset += 8 + length
    return out


class NeverReads(StringTransport):
    """TCP towards a client that never reads: past C{buffer_size} unsent bytes the producer is paused for good."""

    buffer_size = 64 * KIB

    def write(self, data: bytes) -> None:
        super().write(data)
        if len(self.io.getvalue()) > self.buffer_size and self.producer is not None:
            self.producer.pauseProducing()


class Reads(StringTransport):
    """TCP towards a client that reads: L{drain} hands everything over and resumes the producer."""

    buffer_size = 64 * KIB
    paused = False

    def write(self, data: bytes) -> None:
        super().write(data)
        if len(self.io.getvalue()) > self.buffer_size and self.producer is not None and not self.paused:
            self.paused = True
            self.producer.pauseProducing()

    def drain(self) -> bytes:
        data = self.value()
        self.clear()
        if self.paused:
            self.paused = False
            self.producer.resumeProducing()
        return data


class Mixin:
    def factory(self, limits: Limits, counter: ConnectionCounter | None = None) -> KMIPServerFactory:
        self.clock = Clock()
        self.dispatcher = make_dispatcher(limits=limits)
        return KMIPServerFactory(self.dispatcher, limits=limits, clock=self.clock, tls=False, counter=counter)

    def connect(self, factory: KMIPServerFactory, transport: StringTransport) -> KMIPProtocol:
        proto = factory.buildProtocol(None)
        proto.makeConnection(transport)
        return proto


class OutputBackpressureTests(Mixin, SynchronousTestCase):
    """Unsent responses stop dispatch; the held bytes stay within the budgets."""

    limits = Limits(max_rng_length=64 * KIB, max_response_size=1024 * KIB, max_output_bytes=1024 * KIB,
                    max_pipelined=64, max_message_size=64 * KIB)

    def test_client_that_never_reads(self) -> None:
        """Pipelined big RNG Retrieves from a client that never reads: one response is built, then nothing."""
        factory = self.factory(self.limits)
        transport = NeverReads()
        proto = self.connect(factory, transport)
        message = rng(64 * KIB, items=8)  # ~512 KiB of response each
        proto.dataReceived(message * 20)
        held = len(transport.value())
        self.assertEqual(len(responses(transport.value())), 1)
        self.assertLess(held, 600 * KIB)
        self.assertEqual(factory.counter.output_bytes, held)
        self.assertEqual(len(proto._queue), 19, "the rest wait, unanswered and unbuilt")
        proto.connectionLost(None)
        self.assertEqual(factory.counter.output_bytes, 0)

    def test_reading_client_gets_everything_in_order(self) -> None:
        """When the client reads, the transport resumes the protocol and every request is answered."""
        factory = self.factory(self.limits)
        transport = Reads()
        proto = self.connect(factory, transport)
        proto.dataReceived(rng(64 * KIB, items=4) * 6)
        received = b""
        for _ in range(20):
            received += transport.drain()
        answers = responses(received)
        self.assertEqual(len(answers), 6)
        for answer in answers:
            self.assertTrue(all(r.status == ResultStatus.SUCCESS for r in results(answer)))
        self.assertEqual(factory.counter.output_bytes, 0)

    def test_global_budget(self) -> None:
        """Over max_output_bytes held for all connections, no connection dispatches until one drains."""
        factory = self.factory(self.limits)
        sinks = [NeverReads() for _ in range(5)]
        protos = [self.connect(factory, t) for t in sinks]
        reader = Reads()
        protos.append(self.connect(factory, reader))
        message = rng(64 * KIB, items=8)
        for proto in protos[:5]:
            proto.dataReceived(message * 3)
        one = len(sinks[0].value())
        counter = factory.counter
        # Connections dispatch while the budget has room; the response that fills it still goes out.
        fits = self.limits.max_output_bytes // one + 1
        self.assertEqual(sum(len(t.value()) > 0 for t in sinks), fits)
        self.assertLessEqual(counter.output_bytes, self.limits.max_output_bytes + one)
        self.assertTrue(all(len(responses(t.value())) <= 1 for t in sinks), "one response per stuck client")
        protos[5].dataReceived(rng(16))
        self.assertEqual(reader.value(), b"", "even a small request waits while the budget is spent")
        protos[0].connectionLost(None)  # a stuck client goes away: its share is released, the next one goes on
        self.assertEqual(sum(len(t.value()) > 0 for t in sinks), fits + 1)
        for proto in protos[1:5]:
            proto.connectionLost(None)
        self.assertEqual(len(responses(reader.value())), 1)
        self.assertEqual(counter.output_bytes, 0)


class ResponseCapTests(Mixin, SynchronousTestCase):
    """Responses over the server's caps are refused before they are built."""

    def setUp(self) -> None:
        self.generated: list[int] = []
        real = crypto_ops.ssl.RAND_bytes

        def counting(n: int) -> bytes:
            self.generated.append(n)
            return real(n)

        self.patch(crypto_ops.ssl, "RAND_bytes", counting)

    def answer(self, limits: Limits, message: bytes) -> list[Any]:
        transport = StringTransport()
        self.connect(self.factory(limits), transport).dataReceived(message)
        return results(responses(transport.value())[0])

    def test_rng_length_cap(self) -> None:
        """A Data Length over max_rng_length is Invalid Field, and nothing is generated."""
        (result,) = self.answer(Limits(max_rng_length=1000), rng(1001))
        self.assertEqual(result.reason, ResultReason.INVALID_FIELD)
        self.assertEqual(self.generated, [])
        (result,) = self.answer(Limits(max_rng_length=1000), rng(1000))
        self.assertEqual((result.status, len(result.payload.get(Tag.DATA))), (ResultStatus.SUCCESS, 1000))

    def test_rng_batch_over_response_cap(self) -> None:
        """A batch whose random data would pass max_response_size is refused Response Too Large before
        generating what does not fit."""
        limits = Limits(max_rng_length=64 * KIB, max_response_size=200 * KIB)
        answers = self.answer(limits, rng(64 * KIB, items=8))
        self.assertEqual(sum(self.generated), 3 * 64 * KIB)
        self.assertEqual([r.status for r in answers[:3]], [ResultStatus.SUCCESS] * 3)
        self.assertEqual(answers[3].reason, ResultReason.RESPONSE_TOO_LARGE)
        self.assertEqual(len(answers), 4, "Stop (the default): the items after it do not run")

    def test_response_cap_applies_without_client_maximum(self) -> None:
        """max_response_size applies to every response, whatever the client asked."""
        limits = Limits(max_rng_length=64 * KIB, max_response_size=10 * KIB)
        (result,) = self.answer(limits, rng(12 * KIB))
        self.assertEqual(result.reason, ResultReason.RESPONSE_TOO_LARGE)


class PartialBudgetTests(Mixin, SynchronousTestCase):
    """Partially received requests count against a global budget; buffering does not copy per chunk."""

    def test_largest_partial_dropped(self) -> None:
        """Past max_partial_bytes the connection holding the largest partial request is closed; others go on."""
        limits = Limits(max_partial_bytes=100 * KIB, max_message_size=256 * KIB)
        factory = self.factory(limits)
        big = rng(16, items=1)
        padded = encode(request(*[batch_item(Operation.RNG_SEED, payload(Item.bytes(Tag.DATA, b"x" * 60 * KIB)))]))
        a, b = StringTransport(), StringTransport()
        pa, pb = self.connect(factory, a), self.connect(factory, b)
        pa.dataReceived(padded[:30 * KIB])
        pb.dataReceived(padded[:50 * KIB])
        self.assertFalse(a.disconnecting or b.disconnecting)
        pa.dataReceived(padded[30 * KIB:55 * KIB])  # 55 + 50 KiB > 100 KiB: a now holds the most
        self.assertTrue(a.disconnected)
        self.assertFalse(b.disconnected)
        self.assertEqual(factory.counter.partial_bytes, 50 * KIB)
        pb.dataReceived(padded[50 * KIB:] + big)
        self.assertEqual(len(responses(b.value())), 2)
        self.assertEqual(factory.counter.partial_bytes, 0)

    def test_chunks_kept_as_received(self) -> None:
        """A partial message is kept as the chunks received (no copy into one growing buffer) and joined once."""
        factory = self.factory(Limits())
        transport = StringTransport()
        proto = self.connect(factory, transport)
        message = rng(32)
        pieces = [message[i:i + 7] for i in range(0, len(message), 7)]
        for piece in pieces[:-1]:
            proto.dataReceived(piece)
        # Joined once the 8-byte header is complete (to read the length), then kept as received.
        self.assertEqual(len(proto._chunks), len(pieces) - 2)
        self.assertTrue(all(kept is given for kept, given in zip(proto._chunks[1:], pieces[2:-1], strict=True)))
        proto.dataReceived(pieces[-1])
        self.assertIsNone(proto._chunks)
        self.assertEqual(len(responses(transport.value())), 1)
