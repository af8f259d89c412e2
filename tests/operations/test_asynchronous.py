"""Asynchronous items (Pending + Asynchronous Correlation Value) and Poll, Cancel, Process and
Query Asynchronous Requests, with the rows of their 2.1 error tables kmipd can produce."""

from __future__ import annotations

import threading

from twisted.trial.unittest import SynchronousTestCase

from kmipd.asynchronous import SLOW, AsyncWork, Pending
from kmipd.errors import FeatureNotSupported
from kmipd.node import NodeState
from kmipd.spec import (
    AsynchronousIndicator,
    CancellationResult,
    ObjectType,
    Operation,
    ProcessingStage,
    ResultReason,
    ResultStatus,
    Tag,
)
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as CUM
from kmipd.testing import FakeClock, Result, batch_item, call, make_dispatcher, payload, request, results, send
from kmipd.ttlv import Item, ItemType

from .test_create import Assertions, a_alg, a_len, a_mask, aes_attrs, template

V14, V21 = (1, 4), (2, 1)
OPTIONAL = [Item.enum(Tag.ASYNCHRONOUS_INDICATOR, AsynchronousIndicator.OPTIONAL)]
MANDATORY = [Item.enum(Tag.ASYNCHRONOUS_INDICATOR, AsynchronousIndicator.MANDATORY)]


def send_one(d, operation: int, body: Item | None, *, version=V21, header=(), caller="alice") -> Result:
    (r,) = results(send(d, request(batch_item(operation, body), version=version, header_extra=list(header)),
                        caller))
    return r


def create_body(version=V21, length: int = 128) -> Item:
    return payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), template(version, aes_attrs(length)))


def rsa_pair_body(version=V21, bits: int = 3072) -> Item:
    return payload(template(version, [a_alg(CA.RSA), a_len(bits)], "common"),
                   template(version, [a_mask(CUM.SIGN)], "private"),
                   template(version, [a_mask(CUM.VERIFY)], "public"))


def correlation_of(d, response: Item) -> bytes:
    return response.find(Tag.BATCH_ITEM).get(Tag.ASYNCHRONOUS_CORRELATION_VALUE)  # type: ignore[union-attr]


def by_value(value: bytes) -> Item:
    return payload(Item.bytes(Tag.ASYNCHRONOUS_CORRELATION_VALUE, value))


class Pendings(SynchronousTestCase, Assertions):
    """Which items are deferred, and how Pending is answered."""

    def submit(self, d, body=None, header=MANDATORY, operation=Operation.CREATE, version=V21,
               caller="alice") -> bytes:
        response = send(d, request(batch_item(operation, body if body is not None else create_body(version)),
                                   version=version, header_extra=list(header)), caller)
        (r,) = results(response)
        self.assertEqual(r.status, ResultStatus.OPERATION_PENDING, r.message)
        self.assertIsNone(r.payload)
        value = correlation_of(d, response)
        self.assertIsInstance(value, bytes)
        self.assertEqual(len(value), 16)
        return value

    def test_optional_fast_item_is_synchronous(self) -> None:
        """Optional: a Create of an AES key is answered at once (the server decides; it is fast)."""
        r = send_one(make_dispatcher(), Operation.CREATE, create_body(), header=OPTIONAL)
        self.assertOK(r)

    def test_optional_large_rsa_is_deferred(self) -> None:
        """Optional: a Create Key Pair of RSA-3072 is Pending; nothing is generated until it runs."""
        d = make_dispatcher()
        value = self.submit(d, rsa_pair_body(), header=OPTIONAL, operation=Operation.CREATE_KEY_PAIR)
        self.assertEqual(len(d.processor.node.jobs), 1)
        cancel = send_one(d, Operation.CANCEL, by_value(value))
        self.assertOK(cancel)
        self.assertEqual(cancel.payload.get(Tag.CANCELLATION_RESULT), CancellationResult.CANCELED)
        self.assertEqual(cancel.payload.get(Tag.ASYNCHRONOUS_CORRELATION_VALUE), value)
        self.assertEqual(len(d.processor.node.jobs), 0)

    def test_slow_predicates(self) -> None:
        """RSA of 3072 bits or more (2.x and 1.x templates) and Certify are slow; RSA-2048 and EC are not."""
        slow = SLOW[Operation.CREATE_KEY_PAIR]
        self.assertTrue(slow(rsa_pair_body(V21, 3072)))
        self.assertTrue(slow(rsa_pair_body(V14, 4096)))
        self.assertFalse(slow(rsa_pair_body(V21, 2048)))
        self.assertFalse(slow(None))
        self.assertTrue(SLOW[Operation.CERTIFY](None))

    def test_1x_boolean_indicator(self) -> None:
        """1.x: Asynchronous Indicator True defers a large RSA pair; Poll answers Pending in 1.4."""
        d = make_dispatcher()
        value = self.submit(d, rsa_pair_body(V14), header=[Item.bool(Tag.ASYNCHRONOUS_INDICATOR, True)],
                            operation=Operation.CREATE_KEY_PAIR, version=V14)
        poll = send_one(d, Operation.POLL, by_value(value), version=V14)
        self.assertEqual(poll.status, ResultStatus.OPERATION_PENDING)
        self.assertEqual(send_one(d, Operation.CANCEL, by_value(value), version=V14).payload.get(
            Tag.CANCELLATION_RESULT), CancellationResult.CANCELED)
        self.assertFails(send_one(d, Operation.POLL, by_value(value), version=V14), ResultReason.INVALID_FIELD)

    def test_mandatory_poll_result(self) -> None:
        """Mandatory defers every item; Poll is Pending until it ran, then returns the result once."""
        d = make_dispatcher()
        value = self.submit(d)
        self.assertEqual(send_one(d, Operation.POLL, by_value(value)).status, ResultStatus.OPERATION_PENDING)
        self.assertEqual(d.processor.node.jobs.run_submitted(), 1)
        done = send_one(d, Operation.POLL, by_value(value))
        self.assertOK(done)
        self.assertEqual(done.payload.get(Tag.OBJECT_TYPE), ObjectType.SYMMETRIC_KEY)
        uid = done.payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertOK(call(d, Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)), version=V21,
                           caller="alice"))
        self.assertFails(send_one(d, Operation.POLL, by_value(value)),
                         ResultReason.INVALID_ASYNCHRONOUS_CORRELATION_VALUE)

    def test_process_then_poll(self) -> None:
        """After Process, the next Poll returns the result (the job runs in the Poll's transaction)."""
        d = make_dispatcher()
        value = self.submit(d)
        self.assertOK(send_one(d, Operation.PROCESS, by_value(value)))
        done = send_one(d, Operation.POLL, by_value(value))
        self.assertOK(done)
        uid = done.payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertOK(call(d, Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)), version=V21,
                           caller="alice"))

    def test_failed_item_reports_its_error(self) -> None:
        """A deferred item that fails is answered by Poll with its own Result Reason."""
        d = make_dispatcher()
        value = self.submit(d, payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
                                       template(V21, [a_alg(CA.AES), a_mask(CUM.ENCRYPT)])))
        d.processor.node.jobs.run_submitted()
        self.assertEqual(send_one(d, Operation.CANCEL, by_value(value)).payload.get(Tag.CANCELLATION_RESULT),
                         CancellationResult.FAILED)
        r = send_one(d, Operation.POLL, by_value(value))
        self.assertEqual(r.status, ResultStatus.OPERATION_FAILED)
        self.assertNotEqual(r.reason, ResultReason.INVALID_ASYNCHRONOUS_CORRELATION_VALUE)

    def test_cancel_completed(self) -> None:
        """Cancel of finished work: Completed, and its result stays available to Poll."""
        d = make_dispatcher()
        value = self.submit(d)
        d.processor.node.jobs.run_submitted()
        self.assertEqual(send_one(d, Operation.CANCEL, by_value(value)).payload.get(Tag.CANCELLATION_RESULT),
                         CancellationResult.COMPLETED)
        self.assertOK(send_one(d, Operation.POLL, by_value(value)))

    def test_started_in_pool(self) -> None:
        """With a pool hand-off (as twistd kmip wires it), the job runs there and Poll gets it."""
        handed: list = []
        d = make_dispatcher(node=NodeState(start=handed.append))
        value = self.submit(d)
        self.assertEqual(len(handed), 1)
        handed[0]()
        self.assertOK(send_one(d, Operation.POLL, by_value(value)))

    def test_started_only_once_answered(self) -> None:
        """The job starts once its message is answered Pending; an Undone batch drops it unrun."""
        from kmipd.spec import BatchErrorContinuationOption

        for option, started in ((BatchErrorContinuationOption.UNDO, 0), (BatchErrorContinuationOption.CONTINUE, 1)):
            handed: list = []
            d = make_dispatcher(node=NodeState(start=handed.append))
            rs = results(send(d, request(
                batch_item(Operation.CREATE_KEY_PAIR, rsa_pair_body(), b"1"),
                batch_item(Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, "missing")), b"2"),
                version=V21, header_extra=OPTIONAL + [Item.enum(Tag.BATCH_ERROR_CONTINUATION_OPTION, option)]),
                "alice"))
            self.assertEqual((len(handed), len(d.processor.node.jobs)), (started, started), option)
            expected = ResultStatus.OPERATION_UNDONE if started == 0 else ResultStatus.OPERATION_PENDING
            self.assertEqual(rs[0].status, expected)
            if handed:
                (job,) = d.processor.node.jobs.outstanding("alice", None, None)
                send_one(d, Operation.CANCEL, by_value(job.correlation))

    def test_other_client(self) -> None:
        """Another client's correlation value: Permission Denied for Poll, Cancel and Process."""
        d = make_dispatcher()
        value = self.submit(d)
        for op in (Operation.POLL, Operation.CANCEL, Operation.PROCESS):
            self.assertFails(send_one(d, op, by_value(value), caller="mallory"), ResultReason.PERMISSION_DENIED)
        self.assertEqual(send_one(d, Operation.QUERY_ASYNCHRONOUS_REQUESTS, payload(),
                                  caller="mallory").payload.value, [])

    def test_bad_correlation_values(self) -> None:
        """Missing or not a Byte String: Invalid Field; unknown: Invalid Asynchronous Correlation Value."""
        d = make_dispatcher()
        for op in (Operation.POLL, Operation.CANCEL, Operation.PROCESS):
            self.assertFails(send_one(d, op, payload()), ResultReason.INVALID_FIELD)
            self.assertFails(send_one(d, op, by_value(b"\x00" * 16)),
                             ResultReason.INVALID_ASYNCHRONOUS_CORRELATION_VALUE)
            self.assertFails(send_one(d, op, payload(Item.text(Tag.ASYNCHRONOUS_CORRELATION_VALUE, "x"))),
                             ResultReason.INVALID_FIELD)

    def test_control_operations_never_asynchronous(self) -> None:
        """Poll/Cancel/Process/Query Asynchronous Requests with Mandatory: Feature Not Supported."""
        d = make_dispatcher()
        value = self.submit(d)
        for op, body in ((Operation.POLL, by_value(value)), (Operation.CANCEL, by_value(value)),
                         (Operation.PROCESS, by_value(value)), (Operation.QUERY_ASYNCHRONOUS_REQUESTS, payload())):
            self.assertFails(send_one(d, op, body, header=MANDATORY), ResultReason.FEATURE_NOT_SUPPORTED)
        self.assertEqual(send_one(d, Operation.POLL, by_value(value), header=OPTIONAL).status,
                         ResultStatus.OPERATION_PENDING)

    def test_mandatory_batch_refused(self) -> None:
        """Mandatory with several batch items: each refused with Feature Not Supported."""
        d = make_dispatcher()
        rs = results(send(d, request(batch_item(Operation.CREATE, create_body(), b"1"),
                                     batch_item(Operation.CREATE, create_body(), b"2"),
                                     version=V21, header_extra=MANDATORY)))
        self.assertEqual([r.reason for r in rs], [ResultReason.FEATURE_NOT_SUPPORTED] * 2)

    def test_operations_by_version(self) -> None:
        """Process and Query Asynchronous Requests do not exist before 2.1: Operation Not Supported."""
        d = make_dispatcher()
        for op in (Operation.PROCESS, Operation.QUERY_ASYNCHRONOUS_REQUESTS):
            self.assertFails(send_one(d, op, by_value(b"x"), version=V14), ResultReason.OPERATION_NOT_SUPPORTED)

    def test_expiry(self) -> None:
        """A finished result is forgotten keep_for seconds after it finished."""
        clock = FakeClock()
        d = make_dispatcher(clock=clock)
        value = self.submit(d)
        d.processor.node.jobs.run_submitted()
        clock.advance(d.processor.node.jobs.keep_for + 1)
        self.assertFails(send_one(d, Operation.POLL, by_value(value)),
                         ResultReason.INVALID_ASYNCHRONOUS_CORRELATION_VALUE)


class QueryAsynchronousRequestsTests(SynchronousTestCase, Assertions):
    """Query Asynchronous Requests lists the caller's outstanding work."""

    def test_listing_and_filters(self) -> None:
        """All outstanding requests; filtered by correlation values and by operations."""
        clock = FakeClock()
        d = make_dispatcher(clock=clock)
        first = Pendings.submit(self, d)  # type: ignore[arg-type]
        second = Pendings.submit(self, d, rsa_pair_body(), header=OPTIONAL,  # type: ignore[arg-type]
                                 operation=Operation.CREATE_KEY_PAIR)
        listed = send_one(d, Operation.QUERY_ASYNCHRONOUS_REQUESTS, payload())
        self.assertOK(listed)
        entries = listed.payload.findall(Tag.ASYNCHRONOUS_REQUEST)
        self.assertEqual([e.get(Tag.ASYNCHRONOUS_CORRELATION_VALUE) for e in entries], [first, second])
        self.assertEqual(entries[0].get(Tag.OPERATION), Operation.CREATE)
        self.assertEqual(entries[0].get(Tag.PROCESSING_STAGE), ProcessingStage.SUBMITTED)
        stamp = entries[0].find(Tag.SUBMISSION_DATE)
        self.assertEqual((stamp.type, stamp.value), (ItemType.DATE_TIME_EXTENDED, int(clock()) * 1_000_000))
        only = send_one(d, Operation.QUERY_ASYNCHRONOUS_REQUESTS, payload(
            Item.struct(Tag.OPERATIONS, [Item.enum(Tag.OPERATION, Operation.CREATE_KEY_PAIR)])))
        self.assertEqual([e.get(Tag.ASYNCHRONOUS_CORRELATION_VALUE)
                          for e in only.payload.findall(Tag.ASYNCHRONOUS_REQUEST)], [second])
        by_corr = send_one(d, Operation.QUERY_ASYNCHRONOUS_REQUESTS, payload(
            Item.struct(Tag.ASYNCHRONOUS_CORRELATION_VALUES, [Item.bytes(Tag.ASYNCHRONOUS_CORRELATION_VALUE, first)])))
        self.assertEqual(len(by_corr.payload.findall(Tag.ASYNCHRONOUS_REQUEST)), 1)
        self.assertFails(send_one(d, Operation.QUERY_ASYNCHRONOUS_REQUESTS, payload(
            Item.struct(Tag.OPERATIONS, [Item.text(Tag.OPERATION, "x")]))), ResultReason.INVALID_FIELD)


class AsyncWorkTests(SynchronousTestCase):
    """The job table itself: bounds, running jobs."""

    def test_bounded(self) -> None:
        """A full table runs Optional items synchronously (None) and refuses Mandatory ones."""
        work = AsyncWork(max_jobs=1)
        self.assertIsNotNone(work.submit(Operation.CREATE, "a", lambda tx: None))
        self.assertIsNone(work.submit(Operation.CREATE, "a", lambda tx: None))
        self.assertRaises(FeatureNotSupported, work.submit, Operation.CREATE, "a", lambda tx: None, mandatory=True)

    def test_running_job_cannot_be_canceled(self) -> None:
        """Cancel of a running job: Unable To Cancel; Poll after Process waits for it (bounded)."""
        release, started = threading.Event(), threading.Event()

        def run(tx):
            started.set()
            release.wait(10)
            return Item.struct(Tag.RESPONSE_PAYLOAD, [])

        threads: list[threading.Thread] = []
        work = AsyncWork(start=lambda job: threads.append(threading.Thread(target=job)) or threads[-1].start())
        value = work.submit(Operation.CREATE, "a", run)
        self.assertTrue(started.wait(10))
        self.assertEqual(work.cancel(value, "a"), CancellationResult.UNABLE_TO_CANCEL)
        self.assertRaises(Pending, work.poll, value, "a", None)
        work.process(value, "a")
        threading.Timer(0.05, release.set).start()
        self.assertEqual(work.poll(value, "a", None).value, [])
        threads[0].join(10)

    def test_poll_wait_is_bounded(self) -> None:
        """A Poll after Process waits at most wait_timeout for a running job, then says Pending."""
        release = threading.Event()
        work = AsyncWork(start=lambda job: threading.Thread(target=job).start(), wait_timeout=0.01)
        value = work.submit(Operation.CREATE, "a", lambda tx: release.wait(10))
        work.process(value, "a")
        try:
            self.assertRaises(Pending, work.poll, value, "a", None)
        finally:
            release.set()


class _FlakyTransaction:
    """A store transaction factory whose first C{conflicts} commits fail with a conflict."""

    def __init__(self, real, conflicts: int) -> None:
        self.real, self.left = real, conflicts

    def __call__(self) -> _FlakyTransaction:
        self.inner = self.real()
        return self

    def __enter__(self):
        return self.inner.__enter__()

    def __exit__(self, *exc):
        from kmipd.store.interface import ConcurrentUpdateError

        if exc[0] is None and self.left > 0:
            self.left -= 1
            self.inner.__exit__(ConcurrentUpdateError, ConcurrentUpdateError(), None)
            raise ConcurrentUpdateError("conflict")
        return self.inner.__exit__(*exc)


class JobTransactionTests(SynchronousTestCase, Assertions):
    """A deferred item's own transaction is retried on concurrent-update conflicts."""

    def test_retry_then_give_up(self) -> None:
        """One conflict: retried and done; conflicts every time: General Failure, reported by Poll."""
        for conflicts, ok in ((1, True), (99, False)):
            d = make_dispatcher()
            real = d.processor.store.transaction
            value = Pendings.submit(self, d)  # type: ignore[arg-type]
            d.processor.store.transaction = _FlakyTransaction(real, conflicts)  # type: ignore[method-assign]
            d.processor.node.jobs.run_submitted()
            d.processor.store.transaction = real  # type: ignore[method-assign]
            r = send_one(d, Operation.POLL, by_value(value))
            if ok:
                self.assertOK(r)
            else:
                self.assertFails(r, ResultReason.GENERAL_FAILURE)
