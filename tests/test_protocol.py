"""Tests for L{kmipd.protocol}: framing over a fake transport, with a fake clock."""

from __future__ import annotations

import struct
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import EventLoggingObserver, StringTransport
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from kmipd.dispatch import Caller, Reply
from kmipd.limits import Limits
from kmipd.protocol import KMIPProtocol, KMIPServerFactory
from kmipd.spec import Operation, QueryFunction, ResultReason, ResultStatus, Tag
from kmipd.testing import batch_item, make_dispatcher, payload, request, results
from kmipd.ttlv import Item, decode, encode, peek_header

QUERY = encode(request(batch_item(Operation.QUERY, payload(
    Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS)))))


def numbered(n: int) -> bytes:
    """A request whose Unique Batch Item ID is C{n}, to check ordering."""
    return encode(request(batch_item(Operation.QUERY, payload(
        Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OBJECTS)), unique_id=struct.pack(">I", n))))


def split_responses(data: bytes) -> list[Item]:
    """Decode a stream of concatenated response messages."""
    out = []
    offset = 0
    while offset < len(data):
        _, _, length = peek_header(data, offset)
        out.append(decode(data[offset:offset + 8 + length]))
        offset += 8 + length
    return out


class ManualDispatcher:
    """A dispatcher whose replies the test fires by hand, recording what it received."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.pending: list[tuple[bytes, Deferred[Reply]]] = []
        self.real = make_dispatcher()

    def handle(self, data: bytes, caller: Caller) -> Deferred[Reply]:
        d: Deferred[Reply] = Deferred()
        self.pending.append((data, d))
        return d

    def answer(self) -> None:
        """Answer the oldest pending request with the real dispatcher's reply."""
        data, d = self.pending.pop(0)
        d.callback(self.real.processor.process(data, Caller("x")))

    def error_reply(self, *args: Any, **kwargs: Any) -> Reply:
        return self.real.error_reply(*args, **kwargs)


class ProtocolTestMixin:
    """Builds a connected L{KMIPProtocol} on a StringTransport."""

    def connect(self, *, limits: Limits | None = None, dispatcher: Any = None,
                identify: Any = None, reidentify_after: float | None = None) -> tuple[KMIPProtocol, StringTransport]:
        self.clock = Clock()
        limits = limits or Limits()
        self.dispatcher = dispatcher if dispatcher is not None else make_dispatcher(limits=limits)
        kwargs: dict[str, Any] = {}
        if identify is not None:
            kwargs["identify"] = identify
        factory = KMIPServerFactory(self.dispatcher, limits=limits, clock=self.clock, tls=False,
                                    reidentify_after=reidentify_after, **kwargs)
        self.factory = factory
        return self.another()

    def another(self) -> tuple[KMIPProtocol, StringTransport]:
        """One more connection to the factory of the last L{connect}."""
        proto = self.factory.buildProtocol(None)
        transport = StringTransport()
        proto.makeConnection(transport)
        return proto, transport


class FramingTests(ProtocolTestMixin, SynchronousTestCase):
    """Partial, coalesced, oversized and garbage input."""

    def test_split_byte_by_byte(self) -> None:
        """A message delivered one byte per dataReceived is answered once, after the last byte."""
        proto, transport = self.connect()
        for i in range(len(QUERY)):
            self.assertEqual(transport.value(), b"", f"answered early at byte {i}")
            proto.dataReceived(QUERY[i:i + 1])
        (response,) = split_responses(transport.value())
        self.assertTrue(results(response)[0].ok)
        self.assertFalse(transport.disconnecting)

    def test_split_irregular(self) -> None:
        """A message split inside its header and body is reassembled."""
        proto, transport = self.connect()
        for chunk in (QUERY[:3], QUERY[3:11], QUERY[11:50], QUERY[50:]):
            proto.dataReceived(chunk)
        self.assertEqual(len(split_responses(transport.value())), 1)

    def test_coalesced(self) -> None:
        """Several messages in one dataReceived are all answered, in order."""
        proto, transport = self.connect()
        proto.dataReceived(b"".join(numbered(i) for i in range(5)))
        responses = split_responses(transport.value())
        self.assertEqual([results(r)[0].unique_id for r in responses], [struct.pack(">I", i) for i in range(5)])

    def test_coalesced_with_partial_tail(self) -> None:
        """A complete message followed by half of the next one answers the first and keeps the rest."""
        proto, transport = self.connect()
        second = numbered(2)
        proto.dataReceived(numbered(1) + second[:20])
        self.assertEqual(len(split_responses(transport.value())), 1)
        proto.dataReceived(second[20:])
        self.assertEqual([results(r)[0].unique_id for r in split_responses(transport.value())],
                         [struct.pack(">I", 1), struct.pack(">I", 2)])

    def test_oversized_closes_before_body(self) -> None:
        """An announced length over the limit gets an error response and a close from the header alone."""
        proto, transport = self.connect(limits=Limits(max_message_size=4096))
        proto.dataReceived(struct.pack(">II", (Tag.REQUEST_MESSAGE << 8) | 1, 0x7FFFFFF0))
        self.assertTrue(transport.disconnecting)
        (response,) = split_responses(transport.value())
        (result,) = results(response)
        self.assertEqual(result.reason, ResultReason.INVALID_MESSAGE)
        self.assertIn("exceeds the limit", result.message)
        written = transport.value()
        proto.dataReceived(b"\0" * 4096)
        self.assertEqual(transport.value(), written, "nothing more is processed")

    def test_limit_is_inclusive(self) -> None:
        """A message exactly at max_message_size is accepted."""
        proto, transport = self.connect(limits=Limits(max_message_size=len(QUERY)))
        proto.dataReceived(QUERY)
        self.assertFalse(transport.disconnecting)
        self.assertTrue(results(split_responses(transport.value())[0])[0].ok)

    def test_garbage(self) -> None:
        """Bytes that are not a Request Message header get an error response and a close."""
        for garbage in (b"GET / HTTP/1.1\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                        encode(Item.struct(Tag.RESPONSE_MESSAGE, []))):
            proto, transport = self.connect()
            proto.dataReceived(garbage)
            self.assertTrue(transport.disconnecting, garbage)
            (response,) = split_responses(transport.value())
            self.assertEqual(results(response)[0].reason, ResultReason.INVALID_MESSAGE)

    def test_garbage_after_good_message(self) -> None:
        """A valid request followed by garbage is answered, then the stream is rejected."""
        proto, transport = self.connect()
        proto.dataReceived(QUERY + b"\xff" * 8)
        self.assertTrue(transport.disconnecting)
        self.assertTrue(transport.value(), "an error response was written")

    def test_undecodable_body_closes(self) -> None:
        """A well-framed but undecodable message gets Invalid Message and a close."""
        proto, transport = self.connect()
        bad = QUERY[:-1] + b"\x01"  # non-zero padding
        proto.dataReceived(bad + QUERY)
        (response,) = split_responses(transport.value())
        self.assertEqual(results(response)[0].reason, ResultReason.INVALID_MESSAGE)
        self.assertTrue(transport.disconnecting)


class PipeliningTests(ProtocolTestMixin, SynchronousTestCase):
    """In-order answers and backpressure with a dispatcher that answers later."""

    def test_one_at_a_time_in_order(self) -> None:
        """Pipelined requests are dispatched one at a time and answered in request order."""
        limits = Limits()
        disp = ManualDispatcher(limits)
        proto, transport = self.connect(limits=limits, dispatcher=disp)
        proto.dataReceived(numbered(1) + numbered(2))
        proto.dataReceived(numbered(3))
        self.assertEqual(len(disp.pending), 1, "only one request in flight")
        for expected in (1, 2, 3):
            disp.answer()
            ids = [results(r)[0].unique_id for r in split_responses(transport.value())]
            self.assertEqual(ids[-1], struct.pack(">I", expected))
        self.assertEqual(disp.pending, [])

    def test_backpressure(self) -> None:
        """Too many queued requests pause the transport; draining resumes it."""
        limits = Limits(max_pipelined=4)
        disp = ManualDispatcher(limits)
        proto, transport = self.connect(limits=limits, dispatcher=disp)
        for i in range(5):  # one in flight + 4 queued: at the limit
            proto.dataReceived(numbered(i))
        self.assertEqual(transport.producerState, "producing")
        proto.dataReceived(numbered(5))  # 5 queued: over the limit
        self.assertEqual(transport.producerState, "paused")
        disp.answer()  # 4 queued
        self.assertEqual(transport.producerState, "paused")
        disp.answer()
        disp.answer()  # 2 queued = max_pipelined // 2
        self.assertEqual(transport.producerState, "producing")
        while disp.pending:
            disp.answer()
        self.assertEqual(len(split_responses(transport.value())), 6)

    def test_dispatcher_crash_aborts(self) -> None:
        """If the dispatcher's Deferred fails, the error is logged and the connection aborted."""
        limits = Limits()
        disp = ManualDispatcher(limits)
        proto, transport = self.connect(limits=limits, dispatcher=disp)
        proto.dataReceived(QUERY)
        disp.pending.pop()[1].errback(RuntimeError("boom"))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertTrue(transport.disconnected)

    def test_lost_connection_drops_queue(self) -> None:
        """After connectionLost, late replies are not written and queued requests are dropped."""
        limits = Limits()
        disp = ManualDispatcher(limits)
        proto, transport = self.connect(limits=limits, dispatcher=disp)
        proto.dataReceived(numbered(1) + numbered(2))
        proto.connectionLost(None)
        disp.answer()
        self.assertEqual(transport.value(), b"")
        self.assertEqual(disp.pending, [])
        self.assertNotIn(proto, self.factory.connections)


class BatchingDispatcher(ManualDispatcher):
    """A manual dispatcher that also takes several pipelined messages in one hand-off."""

    def __init__(self, limits: Limits) -> None:
        super().__init__(limits)
        self.batches: list[tuple[list[bytes], Deferred[list[Reply]]]] = []

    def handle_many(self, messages: list[bytes], caller: Caller) -> Deferred[list[Reply]]:
        d: Deferred[list[Reply]] = Deferred()
        self.batches.append((list(messages), d))
        return d

    def answer_batch(self) -> None:
        """Answer the oldest batch with the real dispatcher's replies."""
        messages, d = self.batches.pop(0)
        d.callback(self.real.processor.process_many(messages, Caller("x")))


class HandOffTests(ProtocolTestMixin, SynchronousTestCase):
    """Pipelined messages queued behind a busy request go to the pool together."""

    def test_queued_messages_handed_off_together(self) -> None:
        """Messages queued while one is in flight are dispatched in handle_many calls and answered in order.

        Hand-offs start small and double while their responses are small (slow start): a response
        that turns out big was built before anything was sent, so only small ones are batched.
        """
        limits = Limits()
        disp = BatchingDispatcher(limits)
        proto, transport = self.connect(limits=limits, dispatcher=disp)
        proto.dataReceived(numbered(1))
        proto.dataReceived(numbered(2) + numbered(3) + numbered(4) + numbered(5))
        self.assertEqual((len(disp.pending), disp.batches), (1, []), "one in flight, four queued")
        disp.answer()
        self.assertEqual(len(disp.batches), 1)
        self.assertEqual(disp.batches[0][0], [numbered(2), numbered(3)])
        disp.answer_batch()
        self.assertEqual(disp.batches[0][0], [numbered(4), numbered(5)])
        disp.answer_batch()
        ids = [results(r)[0].unique_id for r in split_responses(transport.value())]
        self.assertEqual(ids, [struct.pack(">I", n) for n in (1, 2, 3, 4, 5)])
        self.assertEqual((disp.pending, disp.batches), ([], []))

    def test_hand_off_is_bounded(self) -> None:
        """Hand-offs double while responses are small, up to MAX_HANDOFF messages; the rest follow in the next."""
        from kmipd.protocol import MAX_HANDOFF

        limits = Limits(max_pipelined=100)
        disp = BatchingDispatcher(limits)
        proto, transport = self.connect(limits=limits, dispatcher=disp)
        total = 1 + 2 + 4 + 8 + MAX_HANDOFF + 6
        proto.dataReceived(b"".join(numbered(n) for n in range(total)))
        disp.answer()
        sizes = []
        while disp.batches:
            sizes.append(len(disp.batches[0][0]))
            disp.answer_batch()
        self.assertEqual(sizes, [2, 4, 8, MAX_HANDOFF, 6])
        ids = [results(r)[0].unique_id for r in split_responses(transport.value())]
        self.assertEqual(ids, [struct.pack(">I", n) for n in range(total)])

    def test_big_responses_one_at_a_time(self) -> None:
        """After a hand-off whose responses are big, the next hand-off is one message again."""
        from kmipd.protocol import SMALL_OUTPUT

        limits = Limits(max_pipelined=100)
        disp = BatchingDispatcher(limits)
        proto, _ = self.connect(limits=limits, dispatcher=disp)
        proto.dataReceived(b"".join(numbered(n) for n in range(10)))
        disp.answer()
        messages, d = disp.batches.pop(0)
        self.assertEqual(len(messages), 2)
        d.callback([Reply(b"\0" * SMALL_OUTPUT), Reply(b"\0" * 8)])
        self.assertEqual((len(disp.pending), disp.batches), (1, []), "one message, through handle")

    def test_closing_reply_in_batch_stops(self) -> None:
        """An undecodable message in a hand-off is answered, the connection closes, later messages are not run."""
        limits = Limits()
        disp = BatchingDispatcher(limits)
        proto, transport = self.connect(limits=limits, dispatcher=disp)
        bad = encode(Item.struct(Tag.REQUEST_MESSAGE, [Item.int(Tag.BATCH_COUNT, 1)]))
        bad = bad[:8] + b"\xff" * (len(bad) - 8)
        proto.dataReceived(numbered(1))
        proto.dataReceived(numbered(2) + bad + numbered(3))
        disp.answer()
        replies = disp.real.processor.process_many(disp.batches[0][0], Caller("x"))
        self.assertEqual([r.close for r in replies], [False, True], "the message after the bad one is not run")
        disp.answer_batch()
        self.assertTrue(transport.disconnecting)
        self.assertEqual(len(split_responses(transport.value())), 3)

    def test_plain_dispatcher_one_at_a_time(self) -> None:
        """A dispatcher without handle_many still gets one message per call."""
        limits = Limits()
        disp = ManualDispatcher(limits)
        proto, transport = self.connect(limits=limits, dispatcher=disp)
        proto.dataReceived(numbered(1) + numbered(2) + numbered(3))
        disp.answer()
        self.assertEqual(len(disp.pending), 1)


class TimeoutTests(ProtocolTestMixin, SynchronousTestCase):
    """Idle connections are closed after the configured timeout."""

    def test_idle_timeout(self) -> None:
        """A connection idle for idle_timeout seconds is aborted."""
        proto, transport = self.connect(limits=Limits(idle_timeout=30))
        self.clock.advance(29)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(transport.disconnected)

    def test_activity_resets_timer(self) -> None:
        """Received data restarts the idle timer."""
        proto, transport = self.connect(limits=Limits(idle_timeout=30))
        self.clock.advance(20)
        proto.dataReceived(QUERY)
        self.clock.advance(20)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(10)
        self.assertTrue(transport.disconnected)

    def test_reply_resets_timer(self) -> None:
        """The idle timer counts from the last reply, not from when a slow request arrived."""
        limits = Limits(idle_timeout=30)
        disp = ManualDispatcher(limits)
        proto, transport = self.connect(limits=limits, dispatcher=disp)
        proto.dataReceived(QUERY)
        self.clock.advance(25)
        disp.answer()
        self.clock.advance(25)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(5)
        self.assertTrue(transport.disconnected)

    def test_one_timer_for_all_connections(self) -> None:
        """Idle connections of a listener share one delayed call; each still closes on time."""
        limits = Limits(idle_timeout=30)
        first, first_transport = self.connect(limits=limits)
        self.clock.advance(10)
        others = [self.another() for _ in range(20)]
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(10)
        others[0][0].dataReceived(QUERY)  # t=20: closes at 50
        self.clock.advance(10)  # t=30
        self.assertTrue(first_transport.disconnected)
        self.assertFalse(others[0][1].disconnecting)
        self.clock.advance(10)  # t=40
        self.assertEqual([t.disconnected for _, t in others[1:]], [True] * 19)
        self.assertFalse(others[0][1].disconnecting)
        self.clock.advance(10)  # t=50
        self.assertTrue(others[0][1].disconnected)

    def test_no_timer_after_close(self) -> None:
        """connectionLost cancels the idle timer."""
        proto, transport = self.connect(limits=Limits(idle_timeout=30))
        proto.connectionLost(None)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class IdentityTests(ProtocolTestMixin, SynchronousTestCase):
    """The identity function gates the connection."""

    def test_refused_identity_answers_then_closes(self) -> None:
        """A refused client's first request is answered with Authentication Not Successful, then the
        connection closes; nothing is dispatched."""
        proto, transport = self.connect(identify=lambda cert: fail(ValueError("no such client")))
        self.assertFalse(transport.disconnecting)
        proto.dataReceived(QUERY + QUERY)
        (item,) = decode(transport.value()).findall(Tag.BATCH_ITEM)
        self.assertEqual(item.get(Tag.RESULT_STATUS), ResultStatus.OPERATION_FAILED)
        self.assertEqual(item.get(Tag.RESULT_REASON), ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
        self.assertIsNone(item.find(Tag.OPERATION))
        self.assertTrue(transport.disconnecting)

    def test_refused_identity_silent_client_closed(self) -> None:
        """A refused client that sends nothing is closed after a short grace period."""
        proto, transport = self.connect(identify=lambda cert: fail(ValueError("no such client")),
                                        limits=Limits(idle_timeout=300))
        self.clock.advance(9)
        self.assertFalse(transport.disconnected)
        self.clock.advance(2)
        self.assertTrue(transport.disconnected)

    def test_refused_grace_not_extended(self) -> None:
        """A refused client's grace period counts from the refusal: trickled bytes do not extend it."""
        proto, transport = self.connect(identify=lambda cert: fail(ValueError("no such client")),
                                        limits=Limits(idle_timeout=300))
        for i in range(4):
            self.clock.advance(2)
            proto.dataReceived(QUERY[i:i + 1])
        self.clock.advance(1.5)
        self.assertFalse(transport.disconnected)
        self.clock.advance(0.5)  # 10 s after the refusal
        self.assertTrue(transport.disconnected)

    def test_requests_wait_for_identity(self) -> None:
        """Requests that arrive before the identity is known are answered once it is."""
        pending: Deferred[Caller] = Deferred()
        proto, transport = self.connect(identify=lambda cert: pending)
        proto.dataReceived(QUERY)
        self.assertEqual(transport.value(), b"")
        pending.callback(Caller("alice"))
        self.assertEqual(len(split_responses(transport.value())), 1)
        self.assertEqual(proto.caller, Caller("alice"))

    def test_tls_identity_from_handshake(self) -> None:
        """With TLS, the identity function gets the peer certificate after the handshake."""
        seen = []
        dispatcher = make_dispatcher()
        factory = KMIPServerFactory(dispatcher, clock=Clock(), tls=True,
                                    identify=lambda cert: seen.append(cert) or succeed(Caller("bob")))
        proto = factory.buildProtocol(None)
        transport = StringTransport()
        transport.getPeerCertificate = lambda: "CERT"  # type: ignore[attr-defined]
        proto.makeConnection(transport)
        self.assertEqual(seen, [])
        proto.dataReceived(QUERY)
        self.assertEqual(transport.value(), b"")
        proto.handshakeCompleted()
        self.assertEqual(seen, ["CERT"])
        self.assertEqual(len(split_responses(transport.value())), 1)


class MessageTimeoutTests(ProtocolTestMixin, SynchronousTestCase):
    """A request must arrive in full within message_timeout of its first bytes."""

    def test_slow_sender_closed(self) -> None:
        """A client trickling a request (idle timer kept alive) is closed 30 s after its first byte, unanswered."""
        proto, transport = self.connect(limits=Limits(idle_timeout=300, message_timeout=30))
        proto.dataReceived(QUERY[:10])
        self.clock.advance(20)
        proto.dataReceived(QUERY[10:11])
        self.clock.advance(9)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(transport.disconnected)
        self.assertEqual(transport.value(), b"", "nothing is answered")
        proto.dataReceived(QUERY[11:])
        self.assertEqual(transport.value(), b"")

    def test_complete_in_time(self) -> None:
        """A request completed within message_timeout is answered and leaves no message deadline behind."""
        proto, transport = self.connect(limits=Limits(idle_timeout=300, message_timeout=30))
        proto.dataReceived(QUERY[:20])
        self.clock.advance(29)
        proto.dataReceived(QUERY[20:])
        self.assertEqual(len(split_responses(transport.value())), 1)
        self.clock.advance(100)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1, "only the idle timer is left")

    def test_deadline_per_message(self) -> None:
        """The next request's deadline counts from its own first bytes, not the previous request's."""
        proto, transport = self.connect(limits=Limits(idle_timeout=300, message_timeout=30))
        proto.dataReceived(QUERY[:20])
        self.clock.advance(20)
        second = numbered(2)
        proto.dataReceived(QUERY[20:] + second[:20])
        self.clock.advance(25)  # 45 s after the first request began, 25 s after the second did
        self.assertFalse(transport.disconnecting)
        proto.dataReceived(second[20:])
        self.assertEqual(len(split_responses(transport.value())), 2)
        self.clock.advance(5)
        self.assertFalse(transport.disconnecting)

    def test_idle_traffic_does_not_extend(self) -> None:
        """Bytes of the same request keep the idle timer alive but do not move the message deadline."""
        proto, transport = self.connect(limits=Limits(idle_timeout=15, message_timeout=30))
        for i in range(3):
            proto.dataReceived(QUERY[i:i + 1])
            self.clock.advance(10)
        self.assertTrue(transport.disconnected, "closed at 30 s although bytes came every 10 s")

    def test_deadline_stops_while_paused(self) -> None:
        """While reading is paused by backpressure the deadline stops; it restarts on resume."""
        limits = Limits(idle_timeout=300, message_timeout=30, max_pipelined=1)
        disp = ManualDispatcher(limits)
        proto, transport = self.connect(limits=limits, dispatcher=disp)
        proto.dataReceived(numbered(1) + numbered(2) + numbered(3) + QUERY[:10])
        self.assertEqual(transport.producerState, "paused")
        self.clock.advance(100)
        self.assertFalse(transport.disconnecting)
        disp.answer()
        disp.answer()
        self.assertEqual(transport.producerState, "producing")
        self.clock.advance(29)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(transport.disconnected)

    def test_timer_cancelled_on_close(self) -> None:
        """connectionLost cancels a running message deadline."""
        proto, transport = self.connect(limits=Limits(message_timeout=30))
        proto.dataReceived(QUERY[:10])
        proto.connectionLost(None)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class QueuedBytesTests(ProtocolTestMixin, SynchronousTestCase):
    """Backpressure also bounds the bytes queued, not only the number of messages."""

    def test_pause_on_bytes(self) -> None:
        """More than 2 x max_message_size queued bytes pause reading; draining to half resumes it."""
        size = len(numbered(0))
        limits = Limits(max_message_size=size, max_pipelined=100)
        disp = ManualDispatcher(limits)
        proto, transport = self.connect(limits=limits, dispatcher=disp)
        proto.dataReceived(numbered(0))  # in flight
        proto.dataReceived(numbered(1) + numbered(2))  # 2 x size queued: at the limit
        self.assertEqual(transport.producerState, "producing")
        proto.dataReceived(numbered(3))  # 3 x size queued
        self.assertEqual(transport.producerState, "paused")
        disp.answer()  # 2 x size queued
        self.assertEqual(transport.producerState, "paused")
        disp.answer()  # 1 x size queued = max_queued_bytes // 2
        self.assertEqual(transport.producerState, "producing")
        while disp.pending:
            disp.answer()
        self.assertEqual(len(split_responses(transport.value())), 4)

    def test_hand_off_counts_bytes(self) -> None:
        """Messages handed off together leave the queued-bytes count."""
        size = len(numbered(0))
        limits = Limits(max_message_size=size, max_pipelined=100)
        disp = BatchingDispatcher(limits)
        proto, transport = self.connect(limits=limits, dispatcher=disp)
        proto.dataReceived(numbered(0))
        proto.dataReceived(b"".join(numbered(n) for n in range(1, 5)))
        self.assertEqual(transport.producerState, "paused")
        disp.answer()
        self.assertEqual(len(disp.batches[0][0]), 2)  # slow start: two, then the rest
        self.assertEqual(proto._queued_bytes, 2 * size)
        disp.answer_batch()
        self.assertEqual(len(disp.batches[0][0]), 2)
        self.assertEqual(transport.producerState, "producing")
        self.assertEqual(proto._queued_bytes, 0)


class ConnectionCapTests(ProtocolTestMixin, SynchronousTestCase):
    """Open connections are capped in all and per client identity."""

    def test_global_cap(self) -> None:
        """A connection over max_connections is closed right after accept; a slot freed admits the next."""
        first, _ = self.connect(limits=Limits(max_connections=2))
        self.another()
        third, transport = self.another()
        self.assertTrue(transport.disconnected)
        self.assertEqual(len(self.factory.connections), 2)
        self.assertNotIn(third, self.factory.connections)
        third.dataReceived(QUERY)
        self.assertEqual(transport.value(), b"", "nothing is read from a capped connection")
        third.connectionLost(None)
        self.assertEqual(len(self.factory.connections), 2)
        first.connectionLost(None)
        fourth, transport = self.another()
        self.assertFalse(transport.disconnecting)
        fourth.dataReceived(QUERY)
        self.assertEqual(len(split_responses(transport.value())), 1)

    def test_per_client_cap(self) -> None:
        """A client's connection over max_connections_per_client is refused like an unknown client; others are not."""
        who = {"name": "alice"}
        self.connect(limits=Limits(max_connections_per_client=2),
                     identify=lambda cert: succeed(Caller(who["name"])))
        alice1, _ = self.another()
        alice2, transport = self.another()
        alice2.dataReceived(QUERY)
        (item,) = decode(transport.value()).findall(Tag.BATCH_ITEM)
        self.assertEqual(item.get(Tag.RESULT_REASON), ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
        self.assertTrue(transport.disconnecting)
        alice2.connectionLost(None)
        self.assertEqual(self.factory.clients, {"alice": 2})
        who["name"] = "bob"
        bob, transport = self.another()
        bob.dataReceived(QUERY)
        self.assertTrue(results(split_responses(transport.value())[0])[0].ok)
        self.assertEqual(self.factory.clients, {"alice": 2, "bob": 1})
        alice1.connectionLost(None)
        who["name"] = "alice"
        alice3, transport = self.another()
        alice3.dataReceived(QUERY)
        self.assertTrue(results(split_responses(transport.value())[0])[0].ok)
        self.assertEqual(self.factory.clients, {"alice": 2, "bob": 1})

    def test_lost_before_identified_not_counted(self) -> None:
        """A connection lost while its identity is being established never counts against the client."""
        pending: Deferred[Caller] = Deferred()
        proto, _ = self.connect(identify=lambda cert: pending)
        proto.connectionLost(None)
        pending.callback(Caller("alice"))
        self.assertEqual(self.factory.clients, {})
        self.assertEqual(self.factory.connections, set())

    def test_anonymous_not_counted(self) -> None:
        """Connections without an identity (plain TTLV) count only against max_connections."""
        self.connect(limits=Limits(max_connections_per_client=1))
        _, transport = self.another()
        self.assertFalse(transport.disconnecting)
        self.assertEqual(self.factory.clients, {})


class RecordingDispatcher(ManualDispatcher):
    """A manual dispatcher that records the caller of every request."""

    def __init__(self, limits: Limits) -> None:
        super().__init__(limits)
        self.callers: list[Caller] = []

    def handle(self, data: bytes, caller: Caller) -> Deferred[Reply]:
        self.callers.append(caller)
        return super().handle(data, caller)


class ReidentifyTests(ProtocolTestMixin, SynchronousTestCase):
    """With reidentify_after, the caller is resolved again once that long has passed."""

    def setUp(self) -> None:
        self.lookups: list[Deferred[Caller]] = []

    def identify(self, certificate: object) -> Deferred[Caller]:
        d: Deferred[Caller] = Deferred()
        self.lookups.append(d)
        return d

    def start(self, reidentify_after: float | None = 30) -> tuple[KMIPProtocol, StringTransport]:
        limits = Limits(idle_timeout=100_000)
        self.disp = RecordingDispatcher(limits)
        proto, transport = self.connect(limits=limits, dispatcher=self.disp, identify=self.identify,
                                        reidentify_after=reidentify_after)
        self.lookups.pop(0).callback(Caller("alice", ("A",)))
        return proto, transport

    def test_fresh_identity_reused(self) -> None:
        """Within reidentify_after no new lookup happens."""
        proto, _ = self.start()
        proto.dataReceived(numbered(1))
        self.disp.answer()
        self.clock.advance(29)
        proto.dataReceived(numbered(2))
        self.disp.answer()
        self.assertEqual(self.lookups, [])
        self.assertEqual(self.disp.callers, [Caller("alice", ("A",))] * 2)

    def test_stale_identity_resolved_again(self) -> None:
        """After reidentify_after, requests wait (in order) for a new lookup and run with its groups."""
        proto, transport = self.start()
        self.clock.advance(30)
        proto.dataReceived(numbered(1) + numbered(2))
        self.assertEqual((len(self.lookups), self.disp.pending), (1, []), "requests wait for the lookup")
        self.lookups.pop(0).callback(Caller("alice", ("B",)))
        self.disp.answer()
        self.disp.answer()
        self.assertEqual(self.disp.callers, [Caller("alice", ("B",))] * 2)
        ids = [results(r)[0].unique_id for r in split_responses(transport.value())]
        self.assertEqual(ids, [struct.pack(">I", 1), struct.pack(">I", 2)])
        self.assertEqual(self.lookups, [], "one lookup for both requests")
        self.clock.advance(30)
        proto.dataReceived(numbered(3))
        self.assertEqual(len(self.lookups), 1, "the next lookup once the new result is stale")

    def test_refused_on_lookup(self) -> None:
        """A refusal on the new lookup answers the waiting request with Authentication Not Successful and closes."""
        proto, transport = self.start()
        self.clock.advance(31)
        proto.dataReceived(numbered(1) + numbered(2))
        self.lookups.pop(0).errback(ValueError("user removed"))
        (item,) = decode(transport.value()).findall(Tag.BATCH_ITEM)
        self.assertEqual(item.get(Tag.RESULT_REASON), ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.disp.callers, [], "nothing was dispatched")

    def test_zero_ttl_each_request(self) -> None:
        """With reidentify_after 0 every request waits for its own lookup."""
        proto, _ = self.start(reidentify_after=0)
        for n, groups in ((1, ("B",)), (2, ())):
            proto.dataReceived(numbered(n))
            self.assertEqual((len(self.lookups), self.disp.pending), (1, []))
            self.lookups.pop(0).callback(Caller("alice", groups))
            self.assertEqual(self.disp.callers[-1], Caller("alice", groups))
            self.disp.answer()

    def test_synchronous_zero_ttl_no_loop(self) -> None:
        """An identify that answers at once with reidentify_after 0 still lets requests through."""
        self.connect(identify=lambda cert: succeed(Caller("alice")), reidentify_after=0)
        proto, transport = self.another()
        proto.dataReceived(numbered(1) + numbered(2))
        self.assertEqual(len(split_responses(transport.value())), 2)

    def test_never_without_ttl(self) -> None:
        """Without reidentify_after the first identity stands for the life of the connection."""
        proto, _ = self.start(reidentify_after=None)
        self.clock.advance(10_000)
        proto.dataReceived(numbered(1))
        self.assertEqual(self.lookups, [])
        self.assertEqual(len(self.disp.pending), 1)

    def test_lost_during_lookup(self) -> None:
        """A connection lost while its caller is looked up again ignores the late answer."""
        proto, transport = self.start()
        self.clock.advance(30)
        proto.dataReceived(numbered(1))
        proto.connectionLost(None)
        self.lookups.pop(0).callback(Caller("alice", ("B",)))
        self.assertEqual((self.disp.callers, transport.value()), ([], b""))
        self.assertEqual(self.factory.clients, {})


class LoggingTests(ProtocolTestMixin, SynchronousTestCase):
    """One structured log event per request."""

    def test_one_event_per_request(self) -> None:
        """Each request logs client, operation, result_status and duration."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        proto, transport = self.connect(identify=lambda cert: succeed(Caller("alice")))
        proto.dataReceived(QUERY + encode(request(batch_item(Operation.QUERY))))
        request_events = [e for e in events if "result_status" in e]
        self.assertEqual(len(request_events), 2)
        first, second = request_events
        self.assertEqual(first["client"], "alice")
        self.assertEqual(first["operation"], "QUERY")
        self.assertEqual(first["result_status"], "success")
        self.assertIsInstance(first["duration"], float)
        self.assertGreaterEqual(first["duration"], 0)
        self.assertEqual(second["result_status"], "INVALID_FIELD")
        self.assertEqual(results(split_responses(transport.value())[1])[0].status, ResultStatus.OPERATION_FAILED)


    def test_correlation_values_logged(self) -> None:
        """The event carries the Server Correlation Value the 2.x response header has, and the
        request's Client Correlation Value."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        proto, transport = self.connect(identify=lambda cert: succeed(Caller("alice")))
        proto.dataReceived(encode(request(batch_item(Operation.DISCOVER_VERSIONS), version=(2, 1), header_extra=[
            Item.text(Tag.CLIENT_CORRELATION_VALUE, "batch-7")])))
        (event,) = [e for e in events if "result_status" in e]
        header = split_responses(transport.value())[0].find(Tag.RESPONSE_HEADER)
        self.assertEqual(event["correlation"], header.get(Tag.SERVER_CORRELATION_VALUE))
        self.assertEqual(event["client_correlation"], "batch-7")


class NoDelayTests(ProtocolTestMixin, SynchronousTestCase):
    """Nagle is disabled on the TCP connection under the (TLS) transport."""

    def test_tcp_nodelay_through_wrapper(self) -> None:
        """connectionMade finds setTcpNoDelay on the wrapped TCP transport and enables it."""
        calls = []

        class TCP(StringTransport):
            def setTcpNoDelay(self, enabled: bool) -> None:
                calls.append(enabled)

        class Wrapper(StringTransport):
            transport = TCP()

        factory = KMIPServerFactory(make_dispatcher(), clock=Clock(), tls=False)
        proto = factory.buildProtocol(None)
        proto.makeConnection(Wrapper())
        self.assertEqual(calls, [True])
