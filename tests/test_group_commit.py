"""Tests for group commit in L{kmipd.dispatch.Dispatcher}: many connections' messages, one commit."""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks, maybeDeferred
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase, TestCase

from kmipd.dispatch import MAX_GROUP, Caller, Dispatcher, Reply, Scheduling
from kmipd.limits import Limits
from kmipd.model.objects import ManagedObject
from kmipd.operations import registry
from kmipd.protocol import KMIPServerFactory
from kmipd.spec import (
    BatchErrorContinuationOption,
    CryptographicAlgorithm,
    CryptographicUsageMask,
    ObjectType,
    Operation,
    QueryFunction,
    ResultReason,
    ResultStatus,
    Tag,
)
from kmipd.store.interface import ConcurrentUpdateError, LocateQuery, StoreError
from kmipd.store.sql import SQLObjectStore
from kmipd.testing import FakeClock, attribute, batch_item, make_processor, payload, request, results
from kmipd.threads import ThreadPoolService
from kmipd.ttlv import Item, decode, encode, peek_header

CREATE = payload(
    Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
    Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
        attribute("Cryptographic Algorithm", Item.enum(Tag.ATTRIBUTE_VALUE, CryptographicAlgorithm.AES)),
        attribute("Cryptographic Length", Item.int(Tag.ATTRIBUTE_VALUE, 256)),
        attribute("Cryptographic Usage Mask", Item.int(
            Tag.ATTRIBUTE_VALUE, CryptographicUsageMask.ENCRYPT | CryptographicUsageMask.DECRYPT)),
    ]))
QUERY_OPS = payload(Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS))
#: A message that needs the store but writes nothing.
LOCATE_ALL = encode(request(batch_item(Operation.LOCATE, payload())))


def create_message(n: int = 0) -> bytes:
    """A Create request whose Unique Batch Item ID is C{n}."""
    return encode(request(batch_item(Operation.CREATE, CREATE, struct.pack(">I", n))))


def message(*items: Item, undo: bool = False) -> bytes:
    extra = [Item.enum(Tag.BATCH_ERROR_CONTINUATION_OPTION, BatchErrorContinuationOption.UNDO)] if undo else None
    return encode(request(*items, header_extra=extra))


def outcome(reply: Reply) -> list[Any]:
    return results(decode(reply.data))


class CountingStore:
    """Wraps a store: counts commits; C{before_commit} may block or raise to fail the commit."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.url = getattr(inner, "url", None)
        self.commits = 0
        self.transactions = 0
        self.before_commit: Any = None

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        self.transactions += 1
        with self.inner.transaction() as tx:
            yield tx
            if self.before_commit is not None:
                self.before_commit()  # raising here rolls the inner transaction back
        self.commits += 1

    def count(self) -> int:
        with self.inner.transaction() as tx:
            return len(tx.locate(LocateQuery()))


class ManualPool:
    """A synchronous stand-in for the operation pool: jobs run when the test says so."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Any, tuple, Deferred]] = []

    def run(self, f: Any, *args: Any) -> Deferred:
        d: Deferred = Deferred()
        self.jobs.append((f, args, d))
        return d

    def run_next(self) -> None:
        f, args, d = self.jobs.pop(0)
        maybeDeferred(f, *args).chainDeferred(d)

    def run_all(self) -> None:
        while self.jobs:
            self.run_next()


class FakeOperations:
    """Temporarily add test handlers to the operation table."""

    def __init__(self, test: SynchronousTestCase) -> None:
        self.table = dict(registry.REGISTRY)
        test.patch(registry, "REGISTRY", self.table)

    def add(self, op: Operation, handler: Any) -> None:
        self.table[int(op)] = registry.OperationEntry(op, handler, (1, 0))


def write_then_fail(ctx: Any, body: Item | None) -> Item:
    """Stores an object, then fails: its write must be rolled back."""
    uid = ctx.store.new_uid()
    ctx.store.add(ManagedObject(uid, ObjectType.SECRET_DATA, ctx.identity, created=ctx.now))
    from kmipd.errors import InvalidField

    raise InvalidField("written, then failed")


def sqlite_store(test: SynchronousTestCase) -> SQLObjectStore:
    directory = test.mktemp()
    os.makedirs(directory)
    store = SQLObjectStore("sqlite:///" + os.path.join(directory, "group.sqlite"), b"k" * 32)
    test.addCleanup(store.close)
    return store


class GroupTestMixin:
    def build(self, *, group_commit: bool = True, store: Any = None, max_group: int = MAX_GROUP,
              clock: Any = None) -> Dispatcher:
        self.store = CountingStore(store if store is not None else sqlite_store(self))  # type: ignore[arg-type]
        self.pool = ManualPool()
        scheduling = Scheduling(group_commit=group_commit, store_jobs=2 if group_commit else 8, max_group=max_group)
        return Dispatcher(make_processor(self.store, clock=FakeClock()), self.pool.run, clock or Clock(), scheduling)

    def group_of(self, d: Dispatcher, messages: list[bytes]) -> list[Reply]:
        """Start a group with a Locate, queue C{messages} from different connections behind it, run all."""
        first = d.handle(LOCATE_ALL, Caller("zero"))
        self.assertEqual(len(self.pool.jobs), 1)  # type: ignore[attr-defined]
        ds = [d.handle(m, Caller(f"client{i}")) for i, m in enumerate(messages)]
        self.pool.run_next()
        self.assertTrue(first.called)  # type: ignore[attr-defined]
        self.assertEqual(len(self.pool.jobs), 1, "everything queued meanwhile is one group")  # type: ignore
        commits = self.store.commits
        self.pool.run_all()
        self.group_commits = self.store.commits - commits
        return [self.successResultOf(x) for x in ds]  # type: ignore[attr-defined]


class GroupCommitTests(GroupTestMixin, SynchronousTestCase):
    """Grouping, isolation, commit failure and fallback on the real SQLite store."""

    def test_creates_share_one_commit(self) -> None:
        """Creates from several connections queued behind a running group are committed once, together."""
        d = self.build()
        replies = self.group_of(d, [create_message(i) for i in range(5)])
        self.assertEqual(self.group_commits, 1)
        self.assertEqual([[r.status for r in outcome(x)] for x in replies], [[ResultStatus.SUCCESS]] * 5)
        self.assertEqual([outcome(x)[0].unique_id for x in replies], [struct.pack(">I", i) for i in range(5)])
        self.assertEqual(self.store.count(), 5)

    def test_undo_rolls_back_only_that_message(self) -> None:
        """A message whose batch is undone rolls back its own Create; the group's other Creates commit."""
        d = self.build()
        undone = message(batch_item(Operation.CREATE, CREATE), batch_item(Operation.QUERY), undo=True)
        replies = self.group_of(d, [create_message(1), undone, create_message(2)])
        self.assertEqual(self.group_commits, 1)
        self.assertEqual([r.status for r in outcome(replies[1])],
                         [ResultStatus.OPERATION_UNDONE, ResultStatus.OPERATION_FAILED])
        self.assertTrue(outcome(replies[0])[0].ok and outcome(replies[2])[0].ok)
        self.assertEqual(self.store.count(), 2)

    def test_lone_failing_item_rolled_back(self) -> None:
        """A one-item message that wrote and then failed leaves nothing; the others in the group commit."""
        FakeOperations(self).add(Operation.NOTIFY, write_then_fail)
        d = self.build()
        failing = message(batch_item(Operation.NOTIFY, payload()))
        replies = self.group_of(d, [create_message(1), failing, create_message(2)])
        self.assertEqual(self.group_commits, 1)
        self.assertEqual(outcome(replies[1])[0].reason, ResultReason.INVALID_FIELD)
        self.assertEqual(self.store.count(), 2)

    def test_commit_failure_fails_every_message(self) -> None:
        """If the group's commit fails, every message gets General Failure and nothing is stored."""
        d = self.build()

        def boom() -> None:
            raise StoreError("disk full")

        self.store.before_commit = boom
        replies = self.group_of(d, [create_message(i) for i in range(3)])
        for reply in replies:
            (result,) = outcome(reply)
            self.assertEqual((result.status, result.reason),
                             (ResultStatus.OPERATION_FAILED, ResultReason.GENERAL_FAILURE))
        self.store.before_commit = None
        self.assertEqual(self.store.count(), 0)
        self.assertTrue(self.flushLoggedErrors(StoreError))

    def test_concurrent_update_falls_back_to_one_by_one(self) -> None:
        """A ConcurrentUpdateError rolls the group back and re-runs each message in its own transaction."""
        calls = []

        def conflicted_once(ctx: Any, body: Item | None) -> None:
            calls.append(ctx.store)
            if len(calls) == 1:
                raise ConcurrentUpdateError("database is locked")
            return None

        FakeOperations(self).add(Operation.NOTIFY, conflicted_once)
        d = self.build()
        replies = self.group_of(d, [create_message(1), message(batch_item(Operation.NOTIFY, payload())),
                                    create_message(2)])
        self.assertEqual([outcome(x)[0].status for x in replies], [ResultStatus.SUCCESS] * 3)
        self.assertEqual(len(calls), 2)
        self.assertEqual(self.group_commits, 3, "one commit per message after the fallback")
        self.assertEqual(self.store.count(), 2, "the rolled-back group left no duplicate")

    def test_storage_failure_in_a_message_falls_back(self) -> None:
        """A storage failure escaping one message does not fail the others: they are re-run alone."""
        d = self.build()
        real = self.store.inner.transaction
        broken = []

        @contextmanager
        def transaction() -> Iterator[Any]:
            with real() as tx:
                savepoint = tx.savepoint

                @contextmanager
                def failing_savepoint() -> Iterator[None]:
                    if not broken:
                        broken.append(True)
                        raise StoreError("cannot start a savepoint")
                    with savepoint():
                        yield

                tx.savepoint = failing_savepoint
                yield tx

        self.patch(self.store.inner, "transaction", transaction)
        replies = self.group_of(d, [create_message(1), create_message(2)])
        self.assertEqual([outcome(x)[0].status for x in replies], [ResultStatus.SUCCESS] * 2)
        self.assertEqual(self.store.count(), 2)
        self.assertEqual(len(self.flushLoggedErrors(StoreError)), 1)

    def test_pipelined_runs_keep_order(self) -> None:
        """Each connection's pipelined run is answered in order, and stops after a closing reply."""
        d = self.build()
        first = d.handle(message(batch_item(Operation.QUERY, QUERY_OPS)), Caller("zero"))
        a = d.handle_many([create_message(1), create_message(2), create_message(3)], Caller("a"))
        b = d.handle_many([create_message(10), b"\x42\x00\x78\x01\x00\x00\x00\x08garbage!",
                           create_message(11)], Caller("b"))
        c = d.handle(create_message(20), Caller("c"))
        self.pool.run_all()
        self.successResultOf(first)
        ids = [outcome(r)[0].unique_id for r in self.successResultOf(a)]
        self.assertEqual(ids, [struct.pack(">I", i) for i in (1, 2, 3)])
        rb = self.successResultOf(b)
        self.assertEqual(len(rb), 2)
        self.assertEqual(outcome(rb[0])[0].unique_id, struct.pack(">I", 10))
        self.assertTrue(rb[1].close)
        self.assertTrue(outcome(self.successResultOf(c))[0].ok)
        self.assertEqual(self.store.count(), 5)

    def test_group_size_bounded(self) -> None:
        """A group takes at most C{max_group} messages; the rest wait for the next group."""
        d = self.build(max_group=2)
        d.handle(LOCATE_ALL, Caller("zero"))
        ds = [d.handle(create_message(i), Caller(str(i))) for i in range(5)]
        self.pool.run_next()
        self.pool.run_next()
        self.assertEqual([x.called for x in ds], [True, True, False, False, False])
        self.pool.run_all()
        self.assertEqual(self.store.count(), 5)

    def test_spill_starts_second_group(self) -> None:
        """Messages waiting C{spill_after} behind a running group get a second, concurrent group."""
        clock = Clock()
        d = self.build(clock=clock)
        d.handle(create_message(0), Caller("slow"))
        waiting = d.handle(create_message(1), Caller("other"))
        self.assertEqual(len(self.pool.jobs), 1)
        clock.advance(0.05)
        self.assertEqual(len(self.pool.jobs), 2)
        self.pool.jobs.reverse()  # the second group finishes first
        self.pool.run_next()
        self.assertTrue(outcome(self.successResultOf(waiting))[0].ok)
        self.pool.run_all()
        self.assertEqual(self.store.count(), 2)

    def test_off_runs_each_message_alone(self) -> None:
        """With group commit off (PostgreSQL, MariaDB) each message is its own pool job and commit."""
        d = self.build(group_commit=False)
        ds = [d.handle(create_message(i), Caller(str(i))) for i in range(3)]
        self.assertEqual([job[0] for job in self.pool.jobs], [d.processor.process_many] * 3)
        many = d.handle_many([create_message(7), create_message(8)], Caller("p"))
        self.assertEqual(self.pool.jobs[-1][0], d.processor.process_many)
        self.pool.run_all()
        self.assertEqual(self.store.commits, 5)
        self.assertTrue(all(outcome(self.successResultOf(x))[0].ok for x in ds))
        self.assertEqual(len(self.successResultOf(many)), 2)

    def test_memory_store(self) -> None:
        """Group commit works on the memory store too (savepoints, one commit)."""
        from kmipd.store.memory import MemoryObjectStore

        d = self.build(store=MemoryObjectStore())
        undone = message(batch_item(Operation.CREATE, CREATE), batch_item(Operation.QUERY), undo=True)
        replies = self.group_of(d, [create_message(1), undone, create_message(2)])
        self.assertEqual(self.group_commits, 1)
        self.assertEqual(outcome(replies[1])[0].status, ResultStatus.OPERATION_UNDONE)
        self.assertEqual(self.store.count(), 2)


class ProtocolGroupTests(GroupTestMixin, SynchronousTestCase):
    """Several connections' pipelined requests through L{KMIPProtocol} with group commit."""

    def test_connections_answered_in_order(self) -> None:
        """Two pipelining connections are each answered in request order, sharing group commits."""
        d = self.build()
        factory = KMIPServerFactory(d, limits=Limits(), clock=Clock(), tls=False)
        transports = []
        for _ in range(2):
            proto = factory.buildProtocol(None)
            transport = StringTransport()
            proto.makeConnection(transport)
            transports.append((proto, transport))
        for k, (proto, _) in enumerate(transports):
            for i in range(3):
                proto.dataReceived(create_message(100 * k + i))
        self.pool.run_all()
        for k, (_, transport) in enumerate(transports):
            data, ids, offset = transport.value(), [], 0
            while offset < len(data):
                _, _, length = peek_header(data, offset)
                ids.append(results(decode(data[offset:offset + 8 + length]))[0].unique_id)
                offset += 8 + length
            self.assertEqual(ids, [struct.pack(">I", 100 * k + i) for i in range(3)])
        self.assertEqual(self.store.count(), 6)
        self.assertLess(self.store.commits, 6)


class ThreadedGroupTests(TestCase):
    """The real L{ThreadPoolService}: replies fire only after the group's commit."""

    @inlineCallbacks
    def test_replies_wait_for_commit(self):  # type: ignore[no-untyped-def]
        """No reply Deferred fires while the group's commit is blocked; all fire once it completes."""
        store = CountingStore(sqlite_store(self))
        pool = ThreadPoolService(reactor, "test-group", 2)
        pool.startService()
        self.addCleanup(pool.stopService)
        d = Dispatcher(make_processor(store, clock=FakeClock()), pool.run, reactor, Scheduling(group_commit=True))
        reached, release = threading.Event(), threading.Event()

        def block() -> None:
            reached.set()
            release.wait(10)

        store.before_commit = block
        ds = [d.handle(create_message(i), Caller(str(i))) for i in range(4)]
        for _ in range(200):
            if reached.is_set():
                break
            yield deferLater(reactor, 0.01, lambda: None)
        self.assertTrue(reached.is_set())
        yield deferLater(reactor, 0.05, lambda: None)
        self.assertEqual([x.called for x in ds], [False] * 4)
        store.before_commit = None
        release.set()
        replies = []
        for x in ds:
            replies.append((yield x))
        self.assertTrue(all(outcome(r)[0].ok for r in replies))
        self.assertEqual(store.count(), 4)
        self.assertLessEqual(store.commits, 3)
