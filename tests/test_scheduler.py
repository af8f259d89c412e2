"""Tests for the split dispatcher: L{kmipd.dispatch} (scheduling) and L{kmipd.processor} (processing).

What a user relies on: requests that need no database answer while the database hangs; a
database that refuses work fails every item of the message with its own Result Reason and one
log line; the Maximum Response Size rule holds with one response build per request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase

from kmipd import processor as processor_module
from kmipd.dispatch import DIRECT_THREADS, Caller, Dispatcher, Scheduling, needs_store
from kmipd.errors import KmipError
from kmipd.spec import (
    CredentialType,
    CryptographicAlgorithm,
    ObjectType,
    Operation,
    QueryFunction,
    ResultReason,
    ResultStatus,
    Tag,
)
from kmipd.store.memory import MemoryObjectStore
from kmipd.testing import FakeClock, attribute, batch_item, make_processor, payload, request, results, run_now
from kmipd.threads import ThreadPoolService
from kmipd.ttlv import Item, decode, encode

WAIT = 10.0

QUERY = encode(request(batch_item(Operation.QUERY, payload(
    Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS)))))
RNG = batch_item(Operation.RNG_RETRIEVE, payload(Item.int(Tag.DATA_LENGTH, 16)))
CREATE_BODY = payload(
    Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
    Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
        attribute("Cryptographic Algorithm", Item.enum(Tag.ATTRIBUTE_VALUE, CryptographicAlgorithm.AES)),
        attribute("Cryptographic Length", Item.int(Tag.ATTRIBUTE_VALUE, 128)),
        attribute("Cryptographic Usage Mask", Item.int(Tag.ATTRIBUTE_VALUE, 12)),
    ]))
CREATE = encode(request(batch_item(Operation.CREATE, CREATE_BODY)))


class Unavailable(KmipError):
    """A store's "database unreachable" error (as the SQL store raises)."""

    reason = 0x100
    message = "the database is unreachable"


class BlockingStore:
    """A memory store whose transactions wait until released (a frozen database)."""

    serialises_writers = False

    def __init__(self) -> None:
        self.inner = MemoryObjectStore()
        self.release = threading.Event()
        self.entered = 0
        self.lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.lock:
            self.entered += 1
        if not self.release.wait(WAIT):
            raise AssertionError("never released")
        with self.inner.transaction() as tx:
            yield tx

    def close(self) -> None:
        self.release.set()


class RefusingStore:
    """A store whose database is down: every transaction is refused with a KMIP error."""

    serialises_writers = False

    def __init__(self, where: str = "begin") -> None:
        self.inner = MemoryObjectStore()
        self.where = where

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        if self.where == "begin":
            raise Unavailable("the database is unreachable")
        with self.inner.transaction() as tx:
            yield tx
            raise Unavailable("the database is unreachable")

    def close(self) -> None:
        pass


class NeedsStoreTests(SynchronousTestCase):
    """L{needs_store} reads the operations without decoding, and errs towards "needs the store"."""

    def test_store_free_operations(self) -> None:
        """Query, Discover Versions, RNG Retrieve/Seed and Hash need no store, alone or together."""
        self.assertFalse(needs_store(QUERY, 64))
        self.assertFalse(needs_store(encode(request(batch_item(Operation.DISCOVER_VERSIONS, payload()),
                                                    version=(1, 1))), 64))
        self.assertFalse(needs_store(encode(request(RNG, batch_item(Operation.RNG_SEED, payload()),
                                                    batch_item(Operation.HASH, payload()))), 64))

    def test_store_operations(self) -> None:
        """Create needs the store, and so does any message holding one such item."""
        self.assertTrue(needs_store(CREATE, 64))
        self.assertTrue(needs_store(encode(request(RNG, batch_item(Operation.CREATE, CREATE_BODY))), 64))

    def test_unreadable_needs_store(self) -> None:
        """Malformed, truncated, unknown or over-long messages go the careful way."""
        self.assertTrue(needs_store(b"", 64))
        self.assertTrue(needs_store(QUERY[:-8], 64))
        self.assertTrue(needs_store(b"\x42\x00\x78\x01\x00\x00\x00\x08garbage!", 64))
        self.assertTrue(needs_store(encode(request(batch_item(0x7FFF, payload()))), 64))
        self.assertTrue(needs_store(encode(request(Item.struct(Tag.BATCH_ITEM, []))), 64))
        self.assertTrue(needs_store(encode(request(RNG, RNG, RNG)), 2))


    def test_store_credentials_and_defaults_need_store(self) -> None:
        """A Ticket or Hashed Password credential (checked against the database) and a Query for
        Defaults Information (read from it) make a store-free message need the store; a Username
        and Password credential does not."""
        self.assertTrue(needs_store(query_with(TICKET_AUTH), 64))
        self.assertTrue(needs_store(query_with(HASHED_AUTH), 64))
        self.assertFalse(needs_store(query_with(PASSWORD_AUTH), 64))
        self.assertTrue(needs_store(DEFAULTS_QUERY, 64))
        self.assertTrue(needs_store(encode(request(RNG, batch_item(Operation.QUERY, payload(
            Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS),
            Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_DEFAULTS_INFORMATION))), version=V21)), 64))
        both = Item.struct(Tag.AUTHENTICATION, [PASSWORD_AUTH.value[0], TICKET_AUTH.value[0]])
        self.assertTrue(needs_store(query_with(both), 64))
        self.assertTrue(needs_store(query_with(Item.text(Tag.AUTHENTICATION, "not a structure")), 64))


def credential(kind: int, value: Item) -> Item:
    return Item.struct(Tag.AUTHENTICATION, [Item.struct(Tag.CREDENTIAL, [
        Item.enum(Tag.CREDENTIAL_TYPE, kind), Item.struct(Tag.CREDENTIAL_VALUE, [value])])])


V21 = (2, 1)
TICKET_AUTH = credential(CredentialType.TICKET, Item.struct(Tag.TICKET, [
    Item.enum(Tag.TICKET_TYPE, 1), Item.bytes(Tag.TICKET_VALUE, b"t" * 32)]))
HASHED_AUTH = credential(CredentialType.HASHED_PASSWORD, Item.text(Tag.USERNAME, "alice"))
PASSWORD_AUTH = credential(CredentialType.USERNAME_AND_PASSWORD, Item.text(Tag.USERNAME, "alice"))
DEFAULTS_QUERY = encode(request(batch_item(Operation.QUERY, payload(
    Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_DEFAULTS_INFORMATION))), version=V21))


def query_with(auth: Item) -> bytes:
    return encode(request(batch_item(Operation.QUERY, payload(
        Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS))), version=V21, header_extra=[auth]))


class StoreFreeRoutingTests(SynchronousTestCase):
    """Store-free messages bypass the group-commit queue."""

    def build(self, store: Any) -> tuple[Dispatcher, list[Any]]:
        jobs: list[Any] = []

        def run(f: Any, *args: Any) -> Any:
            from twisted.internet.defer import Deferred

            d: Deferred = Deferred()
            jobs.append((f, args, d))
            return d

        processor = make_processor(store, clock=FakeClock())
        return Dispatcher(processor, run, Clock(), Scheduling.for_store(store, 8)), jobs

    def test_query_not_behind_group(self) -> None:
        """With a group running and more store work queued, a Query is handed to the pool at once."""
        d, jobs = self.build(MemoryObjectStore())
        d.handle(CREATE, Caller("a"))
        d.handle(CREATE, Caller("b"))
        self.assertEqual(len(jobs), 1, "the second Create waits for the group")
        answer = d.handle(QUERY, Caller("c"))
        self.assertEqual(len(jobs), 2)
        f, args, deferred = jobs[1]
        self.assertEqual(f, d.processor.process_many)
        deferred.callback(f(*args))
        self.assertTrue(results(decode(self.successResultOf(answer).data))[0].ok)

    def test_database_credentials_queue_as_store_work(self) -> None:
        """With a group running, a Query carrying a Ticket or Hashed Password credential, or asking
        for Defaults Information, waits with the store work instead of taking a direct thread; a
        plain Query does not."""
        d, jobs = self.build(MemoryObjectStore())
        d.handle(CREATE, Caller("a"))
        for message in (query_with(TICKET_AUTH), query_with(HASHED_AUTH), DEFAULTS_QUERY):
            d.handle(message, Caller("b"))
        self.assertEqual(len(jobs), 1, "they wait for the running group")
        d.handle(query_with(PASSWORD_AUTH), Caller("c"))
        self.assertEqual(len(jobs), 2)
        f, args, deferred = jobs[0]
        deferred.callback(f(*args))  # the group ends: the waiting messages run as the next one
        self.assertEqual(len(jobs), 3)
        self.assertEqual(jobs[2][0], d.processor.process_group)
        self.assertEqual(len(jobs[2][1][0]), 3)

    def test_store_free_message_opens_no_transaction(self) -> None:
        """A Query runs without a store transaction, even inside a group's pool job."""
        store = RefusingStore()
        processor = make_processor(store, clock=FakeClock())
        reply = processor.process(QUERY, Caller("a"))
        self.assertTrue(results(decode(reply.data))[0].ok)
        (group,) = processor.process_group([([QUERY, encode(request(RNG))], Caller("a"))])
        self.assertTrue(all(results(decode(r.data))[0].ok for r in group))


class BlockedDatabaseTests(TestCase):
    """The real thread pool with a store whose transactions hang."""

    @inlineCallbacks
    def test_query_answers_while_store_hangs(self):  # type: ignore[no-untyped-def]
        """Every store job is stuck and more store work is queued: Query and RNG still answer."""
        store = BlockingStore()
        scheduling = Scheduling.for_store(store, 2)
        pool = ThreadPoolService(reactor, "test-blocked", scheduling.store_jobs + DIRECT_THREADS)
        pool.startService()
        self.addCleanup(pool.stopService)
        self.addCleanup(store.release.set)
        d = Dispatcher(make_processor(store), pool.run, reactor, scheduling)
        creates = [d.handle(CREATE, Caller(str(i))) for i in range(4)]
        for _ in range(200):
            if store.entered == 2:
                break
            yield deferLater(reactor, 0.01, lambda: None)
        self.assertEqual(store.entered, 2, "two store jobs at most")
        reply = yield d.handle(QUERY, Caller("q"))
        self.assertTrue(results(decode(reply.data))[0].ok)
        rng = yield d.handle(encode(request(RNG)), Caller("r"))
        self.assertEqual(len(results(decode(rng.data))[0].payload.get(Tag.DATA)), 16)
        self.assertEqual([c.called for c in creates], [False] * 4)
        store.release.set()
        for c in creates:
            created = yield c
            self.assertTrue(results(decode(created.data))[0].ok)


class StorageFailureTests(SynchronousTestCase):
    """A KMIP error from the store fails every item of the message, logged once, without traceback."""

    def check(self, store: Any) -> None:
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        processor = make_processor(store, clock=FakeClock())
        message = encode(request(batch_item(Operation.CREATE, CREATE_BODY), batch_item(Operation.CREATE, CREATE_BODY)))
        out = results(decode(processor.process(message, Caller("a")).data))
        self.assertEqual([(r.status, r.reason, r.message) for r in out],
                         [(ResultStatus.OPERATION_FAILED, ResultReason.GENERAL_FAILURE,
                           "the database is unreachable")] * 2)
        mine = [e for e in events if e.get("log_namespace", "").startswith("kmipd.processor")]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["log_level"], LogLevel.warn)
        self.assertNotIn("log_failure", mine[0])
        self.assertEqual(mine[0]["error"], "Unavailable")
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_refused_at_begin(self) -> None:
        self.check(RefusingStore("begin"))

    def test_refused_at_commit(self) -> None:
        self.check(RefusingStore("commit"))

    def test_refused_group_commit(self) -> None:
        """A group whose commit is refused fails every message with the store's error, logged once."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        processor = make_processor(RefusingStore("commit"), clock=FakeClock())
        groups = processor.process_group([([CREATE], Caller("a")), ([CREATE, CREATE], Caller("b"))])
        reasons = [results(decode(r.data))[0].message for replies in groups for r in replies]
        self.assertEqual(reasons, ["the database is unreachable"] * 3)
        self.assertEqual(len([e for e in events if e["log_level"] >= LogLevel.warn
                              and e.get("log_namespace", "").startswith("kmipd.processor")]), 1,
                         "one line for the whole group")
        self.assertEqual(self.flushLoggedErrors(), [])


class ResponseBuildTests(SynchronousTestCase):
    """One response build per request; one Maximum Response Size rule."""

    def count_builds(self) -> list[int]:
        calls: list[int] = []
        real = processor_module.encode_response

        def counting(*args: Any, **kwargs: Any) -> tuple[bytes, int]:
            calls.append(1)
            return real(*args, **kwargs)

        self.patch(processor_module, "encode_response", counting)
        return calls

    def test_one_build(self) -> None:
        """A request with a Maximum Response Size that fits is built once (before the commit)."""
        calls = self.count_builds()
        processor = make_processor(clock=FakeClock())
        for extra in ([], [Item.int(Tag.MAXIMUM_RESPONSE_SIZE, 100_000)]):
            del calls[:]
            reply = processor.process(encode(request(batch_item(Operation.CREATE, CREATE_BODY), header_extra=extra)),
                                      Caller("a"))
            self.assertTrue(results(decode(reply.data))[0].ok)
            self.assertEqual(len(calls), 1, extra)

    def test_too_large_rolls_back(self) -> None:
        """A response over the Maximum Response Size fails with Response Too Large and nothing is stored."""
        store = MemoryObjectStore()
        processor = make_processor(store, clock=FakeClock())
        reply = processor.process(encode(request(batch_item(Operation.CREATE, CREATE_BODY),
                                                 header_extra=[Item.int(Tag.MAXIMUM_RESPONSE_SIZE, 64)])),
                                  Caller("a"))
        (result,) = results(decode(reply.data))
        self.assertEqual(result.reason, ResultReason.RESPONSE_TOO_LARGE)
        from kmipd.store.interface import LocateQuery

        with store.transaction() as tx:
            self.assertEqual(tx.locate(LocateQuery()), [])

    def test_store_free_too_large(self) -> None:
        """The same rule for a store-free message (RNG Retrieve larger than the client accepts)."""
        processor = make_processor(clock=FakeClock())
        message = encode(request(batch_item(Operation.RNG_RETRIEVE, payload(Item.int(Tag.DATA_LENGTH, 4096))),
                                 header_extra=[Item.int(Tag.MAXIMUM_RESPONSE_SIZE, 1024)]))
        (result,) = results(decode(processor.process(message, Caller("a")).data))
        self.assertEqual(result.reason, ResultReason.RESPONSE_TOO_LARGE)


class DispatcherRunNowTests(SynchronousTestCase):
    """L{kmipd.testing.make_dispatcher}: a synchronous dispatcher still schedules through one queue."""

    def test_handle_many_in_order(self) -> None:
        from kmipd.testing import make_dispatcher

        d = make_dispatcher(run_blocking=run_now)
        replies = self.successResultOf(d.handle_many([CREATE, QUERY, CREATE], Caller("a")))
        self.assertEqual([results(decode(r.data))[0].operation for r in replies],
                         [Operation.CREATE, Operation.QUERY, Operation.CREATE])


class NoStoreGuardTests(SynchronousTestCase):
    """A handler registered without store access that touches the store is a bug, reported as one."""

    def test_store_use_is_general_failure_with_traceback(self) -> None:
        from kmipd.operations import registry

        def sneaky(ctx: Any, body: Any) -> None:
            ctx.store.new_uid()

        table = dict(registry.REGISTRY)
        table[int(Operation.NOTIFY)] = registry.OperationEntry(Operation.NOTIFY, sneaky, (1, 0), needs_store=False)
        self.patch(registry, "REGISTRY", table)
        processor = make_processor(clock=FakeClock())
        (result,) = results(decode(processor.process(encode(request(batch_item(Operation.NOTIFY, payload()))),
                                                     Caller("a")).data))
        self.assertEqual(result.reason, ResultReason.GENERAL_FAILURE)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class StorageLogRateTests(SynchronousTestCase):
    """During an outage the log gets one line per interval, counting the requests it left out."""

    def test_rate_limited(self) -> None:
        from kmipd.processor import STORAGE_LOG_INTERVAL

        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        clock = FakeClock()
        processor = make_processor(RefusingStore(), clock=clock)
        for _ in range(5):
            processor.process(CREATE, Caller("a"))
        clock.advance(STORAGE_LOG_INTERVAL)
        processor.process(CREATE, Caller("a"))
        lines = [e for e in events if e.get("log_namespace", "").startswith("kmipd.processor")]
        self.assertEqual([e["suppressed"] for e in lines], [0, 4])
        self.assertEqual(self.flushLoggedErrors(), [])
