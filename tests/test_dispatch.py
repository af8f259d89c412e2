"""Tests for L{kmipd.dispatch}: the decode -> dispatch -> handler -> encode path, synchronously."""

from __future__ import annotations

import struct
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from kmipd.auth.credentials import CredentialStore, hash_password
from kmipd.auth.request import CredentialChecker
from kmipd.dispatch import Caller
from kmipd.errors import InvalidField
from kmipd.messages import version_item
from kmipd.messages.versions import strip_for_version
from kmipd.model.objects import ManagedObject
from kmipd.operations import registry
from kmipd.spec import (
    AsynchronousIndicator,
    BatchErrorContinuationOption,
    CredentialType,
    ObjectType,
    Operation,
    QueryFunction,
    ResultReason,
    ResultStatus,
    Tag,
    tag_in_version,
)
from kmipd.store.interface import LocateQuery
from kmipd.testing import FakeClock, batch_item, call, make_processor, payload, request, results, send
from kmipd.ttlv import Item, decode, encode

QUERY_OPS = payload(Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS))


def failing_query() -> Item:
    """A Query batch item that fails (Query needs a payload): Invalid Field."""
    return batch_item(Operation.QUERY)


def response_version(response: Item) -> tuple[int, int]:
    header = response.find(Tag.RESPONSE_HEADER)
    assert header is not None
    pv = header.find(Tag.PROTOCOL_VERSION)
    assert pv is not None
    return pv.get(Tag.PROTOCOL_VERSION_MAJOR), pv.get(Tag.PROTOCOL_VERSION_MINOR)


class FakeOperations:
    """Temporarily replace the operation table with Query plus test handlers."""

    def __init__(self, test: SynchronousTestCase) -> None:
        self.table = dict(registry.REGISTRY)
        test.patch(registry, "REGISTRY", self.table)

    def add(self, op: Operation, handler: Any, min_version: tuple[int, int] = (1, 0)) -> None:
        self.table[int(op)] = registry.OperationEntry(op, handler, min_version)


def writer(ctx: Any, body: Item | None) -> Item:
    """A handler that stores a new object and returns its uid."""
    uid = ctx.store.new_uid()
    ctx.store.add(ManagedObject(uid, ObjectType.SECRET_DATA, ctx.identity, created=ctx.now))
    ctx.id_placeholder = uid
    return Item.struct(Tag.RESPONSE_PAYLOAD, [Item.text(Tag.UNIQUE_IDENTIFIER, uid)])


class VersionTests(SynchronousTestCase):
    """Protocol version negotiation end to end."""

    def test_answer_in_client_version(self) -> None:
        """Every supported version is answered in that same version."""
        d = make_processor()
        for v in ((1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (2, 0), (2, 1)):
            response = send(d, request(batch_item(Operation.QUERY, QUERY_OPS), version=v))
            self.assertEqual(response_version(response), v)
            self.assertTrue(results(response)[0].ok, v)

    def test_newer_minor(self) -> None:
        """A 1.5 request is answered in 1.4 and a 2.3 request in 2.1."""
        d = make_processor()
        for asked, answered in (((1, 5), (1, 4)), ((2, 3), (2, 1))):
            response = send(d, request(batch_item(Operation.QUERY, QUERY_OPS), version=asked))
            self.assertEqual(response_version(response), answered)
            self.assertTrue(results(response)[0].ok)

    def test_unsupported_major(self) -> None:
        """A 3.0 request gets one Invalid Message batch item without Operation, and no close."""
        d = make_processor()
        reply = d.process(encode(request(batch_item(Operation.QUERY, QUERY_OPS), version=(3, 0))), Caller("a"))
        self.assertFalse(reply.close)
        response = decode(reply.data)
        (result,) = results(response)
        self.assertIsNone(result.operation)
        self.assertEqual(result.status, ResultStatus.OPERATION_FAILED)
        self.assertEqual(result.reason, ResultReason.INVALID_MESSAGE)
        self.assertIn("3.0", result.message)
        self.assertIn(response_version(response), ((2, 1), (1, 0)))

    def test_operation_absent_from_version(self) -> None:
        """DiscoverVersions does not exist in KMIP 1.0: Operation Not Supported there, success in 1.1."""
        d = make_processor()
        r10 = call(d, Operation.DISCOVER_VERSIONS, payload(), version=(1, 0))
        self.assertEqual(r10.reason, ResultReason.OPERATION_NOT_SUPPORTED)
        self.assertEqual(r10.operation, Operation.DISCOVER_VERSIONS)
        self.assertTrue(call(d, Operation.DISCOVER_VERSIONS, payload(), version=(1, 1)).ok)

    def test_unknown_operation(self) -> None:
        """An operation value kmipd does not know is Operation Not Supported, echoing the value."""
        d = make_processor()
        result = call(d, 0xFF, payload())
        self.assertEqual(result.status, ResultStatus.OPERATION_FAILED)
        self.assertEqual(result.reason, ResultReason.OPERATION_NOT_SUPPORTED)
        self.assertEqual(result.operation, 0xFF)

    def test_unregistered_operation(self) -> None:
        """A spec operation with no handler is Operation Not Supported."""
        FakeOperations(self)
        registry.REGISTRY.pop(int(Operation.DISCOVER_VERSIONS))
        result = call(make_processor(), Operation.DISCOVER_VERSIONS, payload())
        self.assertEqual(result.reason, ResultReason.OPERATION_NOT_SUPPORTED)


class BatchTests(SynchronousTestCase):
    """Batch Count, continuation options, ids and size limits."""

    def test_several_items(self) -> None:
        """Several batch items are answered in order with a matching Batch Count."""
        d = make_processor()
        response = send(d, request(batch_item(Operation.QUERY, QUERY_OPS, b"a"),
                                   batch_item(Operation.DISCOVER_VERSIONS, payload(), b"b"),
                                   batch_item(Operation.QUERY, QUERY_OPS, b"c")))
        header = response.find(Tag.RESPONSE_HEADER)
        assert header is not None
        self.assertEqual(header.get(Tag.BATCH_COUNT), 3)
        rs = results(response)
        self.assertEqual([r.unique_id for r in rs], [b"a", b"b", b"c"])
        self.assertEqual([r.operation for r in rs], [Operation.QUERY, Operation.DISCOVER_VERSIONS, Operation.QUERY])
        self.assertTrue(all(r.ok for r in rs))

    def test_unique_batch_item_id_echoed(self) -> None:
        """The Unique Batch Item ID is echoed on success and on failure."""
        d = make_processor()
        rs = results(send(d, request(batch_item(Operation.QUERY, QUERY_OPS, b"\x00\x01"),
                                     batch_item(Operation.QUERY, None, b"\xff"),
                                     header_extra=[Item.enum(Tag.BATCH_ERROR_CONTINUATION_OPTION,
                                                             BatchErrorContinuationOption.CONTINUE)])))
        self.assertEqual([(r.unique_id, r.ok) for r in rs], [(b"\x00\x01", True), (b"\xff", False)])

    def continuation(self, option: int, *items: Item, dispatcher: Any = None) -> list[Any]:
        d = dispatcher or make_processor()
        return results(send(d, request(*items, header_extra=[
            Item.enum(Tag.BATCH_ERROR_CONTINUATION_OPTION, option)])))

    def test_continue(self) -> None:
        """With Continue, items after a failure are still processed."""
        rs = self.continuation(BatchErrorContinuationOption.CONTINUE,
                               batch_item(Operation.QUERY, QUERY_OPS), failing_query(),
                               batch_item(Operation.QUERY, QUERY_OPS))
        self.assertEqual([r.status for r in rs], [ResultStatus.SUCCESS, ResultStatus.OPERATION_FAILED,
                                                  ResultStatus.SUCCESS])
        self.assertEqual(rs[1].reason, ResultReason.INVALID_FIELD)

    def test_stop(self) -> None:
        """With Stop (the default), processing stops at the first failure."""
        rs = self.continuation(BatchErrorContinuationOption.STOP,
                               batch_item(Operation.QUERY, QUERY_OPS), failing_query(),
                               batch_item(Operation.QUERY, QUERY_OPS))
        self.assertEqual([r.status for r in rs], [ResultStatus.SUCCESS, ResultStatus.OPERATION_FAILED])
        default = results(send(make_processor(), request(failing_query(), batch_item(Operation.QUERY, QUERY_OPS))))
        self.assertEqual(len(default), 1)

    def test_undo(self) -> None:
        """With Undo, items that succeeded before a failure report Operation Undone and keep their
        Response Payload (required unless the item failed: 2.1 Table 399)."""
        rs = self.continuation(BatchErrorContinuationOption.UNDO,
                               batch_item(Operation.QUERY, QUERY_OPS), failing_query(),
                               batch_item(Operation.QUERY, QUERY_OPS))
        self.assertEqual([r.status for r in rs], [ResultStatus.OPERATION_UNDONE, ResultStatus.OPERATION_FAILED])
        self.assertIsNotNone(rs[0].payload)
        self.assertIsNotNone(rs[0].payload.find(Tag.OPERATION))  # type: ignore[union-attr]

    def test_undo_rolls_back_writes(self) -> None:
        """With Undo, store writes of the successful items are rolled back; with Continue they stay."""
        ops = FakeOperations(self)
        ops.add(Operation.ACTIVATE, writer)
        for option, kept in ((BatchErrorContinuationOption.UNDO, False),
                             (BatchErrorContinuationOption.CONTINUE, True)):
            d = make_processor()
            rs = self.continuation(option, batch_item(Operation.ACTIVATE, payload()), failing_query(),
                                   dispatcher=d)
            with d.store.transaction() as tx:
                stored = [c.uid for c in tx.locate(LocateQuery())]
            if kept:
                self.assertTrue(rs[0].ok)
                self.assertEqual(stored, [rs[0].payload.get(Tag.UNIQUE_IDENTIFIER)])  # type: ignore[union-attr]
            else:
                self.assertEqual(rs[0].status, ResultStatus.OPERATION_UNDONE)
                self.assertEqual(stored, [])

    def test_failed_item_writes_rolled_back(self) -> None:
        """A handler that writes and then raises leaves nothing written (savepoint per item)."""
        ops = FakeOperations(self)

        def write_then_fail(ctx: Any, body: Item | None) -> Item:
            writer(ctx, body)
            raise InvalidField("nope")

        ops.add(Operation.ACTIVATE, writer)
        ops.add(Operation.ARCHIVE, write_then_fail)
        d = make_processor()
        rs = self.continuation(BatchErrorContinuationOption.CONTINUE, batch_item(Operation.ARCHIVE, payload()),
                               batch_item(Operation.ACTIVATE, payload()), dispatcher=d)
        self.assertEqual(rs[0].reason, ResultReason.INVALID_FIELD)
        uid = rs[1].payload.get(Tag.UNIQUE_IDENTIFIER)
        with d.store.transaction() as tx:
            self.assertEqual([c.uid for c in tx.locate(LocateQuery())], [uid])

    def test_undo_with_create(self) -> None:
        """Create followed by a failing item with Undo leaves no object behind."""
        from kmipd.spec import CryptographicAlgorithm, CryptographicUsageMask
        from kmipd.testing import attribute as attr

        create = payload(
            Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
            Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
                attr("Cryptographic Algorithm", Item.enum(Tag.ATTRIBUTE_VALUE, CryptographicAlgorithm.AES)),
                attr("Cryptographic Length", Item.int(Tag.ATTRIBUTE_VALUE, 256)),
                attr("Cryptographic Usage Mask", Item.int(
                    Tag.ATTRIBUTE_VALUE, CryptographicUsageMask.ENCRYPT | CryptographicUsageMask.DECRYPT)),
            ]))
        d = make_processor()
        ok = call(d, Operation.CREATE, create)
        self.assertTrue(ok.ok, ok.message)
        rs = self.continuation(BatchErrorContinuationOption.UNDO, batch_item(Operation.CREATE, create),
                               failing_query(), dispatcher=d)
        self.assertEqual([r.status for r in rs], [ResultStatus.OPERATION_UNDONE, ResultStatus.OPERATION_FAILED])
        with d.store.transaction() as tx:
            self.assertEqual(len(tx.locate(LocateQuery())), 1, "only the first, separately created key")

    def test_maximum_response_size(self) -> None:
        """A response larger than Maximum Response Size becomes Response Too Large without payload."""
        d = make_processor()
        rs = results(send(d, request(batch_item(Operation.QUERY, QUERY_OPS), header_extra=[
            Item.int(Tag.MAXIMUM_RESPONSE_SIZE, 64)])))
        self.assertEqual(rs[0].status, ResultStatus.OPERATION_FAILED)
        self.assertEqual(rs[0].reason, ResultReason.RESPONSE_TOO_LARGE)
        self.assertIsNone(rs[0].payload)
        big = results(send(d, request(batch_item(Operation.QUERY, QUERY_OPS), header_extra=[
            Item.int(Tag.MAXIMUM_RESPONSE_SIZE, 100000)])))
        self.assertTrue(big[0].ok)

    def test_asynchronous_indicator_1x(self) -> None:
        """A 1.x Asynchronous Indicator True is accepted and the request processed synchronously."""
        rs = results(send(make_processor(), request(batch_item(Operation.QUERY, QUERY_OPS), header_extra=[
            Item.bool(Tag.ASYNCHRONOUS_INDICATOR, True)])))
        self.assertTrue(rs[0].ok)
        self.assertIsNotNone(rs[0].payload)

    def test_asynchronous_indicator_2x(self) -> None:
        """2.x Optional runs a fast operation synchronously; Mandatory defers even a Query (Pending,
        then its result by Poll: tests.operations.test_asynchronous)."""
        d = make_processor()
        optional = results(send(d, request(batch_item(Operation.QUERY, QUERY_OPS), version=(2, 0), header_extra=[
            Item.enum(Tag.ASYNCHRONOUS_INDICATOR, AsynchronousIndicator.OPTIONAL)])))
        self.assertTrue(optional[0].ok)
        mandatory = results(send(d, request(batch_item(Operation.QUERY, QUERY_OPS, b"x"), version=(2, 1),
                                            header_extra=[Item.enum(Tag.ASYNCHRONOUS_INDICATOR,
                                                                    AsynchronousIndicator.MANDATORY)])))
        self.assertEqual(mandatory[0].status, ResultStatus.OPERATION_PENDING)
        self.assertIsNone(mandatory[0].payload)
        self.assertEqual((mandatory[0].operation, mandatory[0].unique_id), (Operation.QUERY, b"x"))


class MalformedTests(SynchronousTestCase):
    """Messages that cannot be processed."""

    def test_undecodable(self) -> None:
        """Bytes that do not decode give Invalid Message and close=True."""
        d = make_processor()
        data = encode(request(batch_item(Operation.QUERY, QUERY_OPS), version=(1, 2)))
        bad = data[:-1] + b"\x07"  # non-zero padding in the last item
        reply = d.process(bad, Caller("a"))
        self.assertTrue(reply.close)
        response = decode(reply.data)
        (result,) = results(response)
        self.assertEqual(result.reason, ResultReason.INVALID_MESSAGE)
        self.assertIsNone(result.operation)
        self.assertEqual(response_version(response), (1, 2), "the version is sniffed from the raw bytes")

    def test_unparseable(self) -> None:
        """A decodable but invalid message (Batch Count mismatch) gives Invalid Message and close=True."""
        message = request(batch_item(Operation.QUERY, QUERY_OPS))
        message.find(Tag.REQUEST_HEADER).find(Tag.BATCH_COUNT).value = 2  # type: ignore[union-attr]
        reply = make_processor().process(encode(message), Caller("a"))
        self.assertTrue(reply.close)
        self.assertEqual(results(decode(reply.data))[0].reason, ResultReason.INVALID_MESSAGE)

    def test_garbage(self) -> None:
        """Random bytes give an Invalid Message response in some supported version."""
        reply = make_processor().process(b"\x00" * 5, Caller("a"))
        self.assertTrue(reply.close)
        self.assertEqual(results(decode(reply.data))[0].reason, ResultReason.INVALID_MESSAGE)

    def test_too_large(self) -> None:
        """A message larger than max_message_size is refused as Invalid Message."""
        from kmipd.limits import Limits

        d = make_processor(limits=Limits(max_message_size=64))
        reply = d.process(encode(request(batch_item(Operation.QUERY, QUERY_OPS))), Caller("a"))
        self.assertTrue(reply.close)
        self.assertEqual(results(decode(reply.data))[0].reason, ResultReason.INVALID_MESSAGE)

    def test_bad_batch_item(self) -> None:
        """A batch item without Operation fails alone with Invalid Message; the connection stays."""
        reply = make_processor().process(encode(request(
            Item.struct(Tag.BATCH_ITEM, []), batch_item(Operation.QUERY, QUERY_OPS),
            header_extra=[Item.enum(Tag.BATCH_ERROR_CONTINUATION_OPTION, BatchErrorContinuationOption.CONTINUE)],
        )), Caller("a"))
        self.assertFalse(reply.close)
        rs = results(decode(reply.data))
        self.assertEqual(rs[0].reason, ResultReason.INVALID_MESSAGE)
        self.assertTrue(rs[1].ok)

    def test_unexpected_exception(self) -> None:
        """A handler bug becomes General Failure, logged, with its details not sent to the client."""
        ops = FakeOperations(self)

        def boom(ctx: Any, body: Item | None) -> Item:
            raise RuntimeError("secret-detail-xyzzy")

        ops.add(Operation.ACTIVATE, boom)
        reply = make_processor().process(encode(request(batch_item(Operation.ACTIVATE, payload()))), Caller("a"))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertNotIn(b"xyzzy", reply.data)
        (result,) = results(decode(reply.data))
        self.assertEqual(result.reason, ResultReason.GENERAL_FAILURE)
        self.assertEqual(reply.status, "GENERAL_FAILURE")

    def test_reply_metadata(self) -> None:
        """The Reply names operations and the first failure's reason for the request log."""
        reply = make_processor().process(encode(request(
            batch_item(Operation.QUERY, QUERY_OPS), failing_query(),
            header_extra=[Item.enum(Tag.BATCH_ERROR_CONTINUATION_OPTION, BatchErrorContinuationOption.CONTINUE)],
        )), Caller("a"))
        self.assertEqual(reply.operations, ["QUERY", "QUERY"])
        self.assertEqual(reply.status, "INVALID_FIELD")
        self.assertEqual(reply.version, (1, 4))

    def test_time_stamp_from_clock(self) -> None:
        """The response Time Stamp comes from the injected clock."""
        response = send(make_processor(clock=FakeClock(1_234_567_890)),
                        request(batch_item(Operation.QUERY, QUERY_OPS)))
        self.assertEqual(response.find(Tag.RESPONSE_HEADER).get(Tag.TIME_STAMP), 1_234_567_890)  # type: ignore


class StripTests(SynchronousTestCase):
    """strip_for_version() is the safety net under version-exact handlers."""

    def test_removes_undefined_tags(self) -> None:
        """Tags a version does not define are removed recursively and counted."""
        self.assertFalse(tag_in_version(Tag.ATTRIBUTES, (1, 4)))
        tree = Item.struct(Tag.RESPONSE_PAYLOAD, [
            Item.text(Tag.UNIQUE_IDENTIFIER, "1"),
            Item.struct(Tag.ATTRIBUTES, [Item.text(Tag.NAME, "x")]),
            Item.struct(Tag.TEMPLATE_ATTRIBUTE, [Item.struct(Tag.ATTRIBUTES, []),
                                                 Item.text(Tag.ATTRIBUTE_NAME, "y")]),
        ])
        self.assertEqual(strip_for_version(tree, (1, 4)), 2)
        self.assertEqual([c.tag for c in tree.value], [Tag.UNIQUE_IDENTIFIER, Tag.TEMPLATE_ATTRIBUTE])
        self.assertEqual([c.tag for c in tree.value[1].value], [Tag.ATTRIBUTE_NAME])

    def test_keeps_defined_tags(self) -> None:
        """Nothing is removed when every tag exists in the version."""
        tree = Item.struct(Tag.RESPONSE_PAYLOAD, [Item.struct(Tag.ATTRIBUTES, [])])
        self.assertEqual(strip_for_version(tree, (2, 0)), 0)
        self.assertEqual(len(tree.value), 1)

    def test_applied_to_responses(self) -> None:
        """A handler returning a 2.x-only tag to a 1.x client has it stripped from the response."""
        ops = FakeOperations(self)
        ops.add(Operation.ACTIVATE, lambda ctx, body: Item.struct(Tag.RESPONSE_PAYLOAD, [
            Item.text(Tag.UNIQUE_IDENTIFIER, "1"), Item.struct(Tag.ATTRIBUTES, [])]))
        r14 = call(make_processor(), Operation.ACTIVATE, payload(), version=(1, 4))
        self.assertEqual([c.tag for c in r14.payload.value], [Tag.UNIQUE_IDENTIFIER])  # type: ignore[union-attr]
        r20 = call(make_processor(), Operation.ACTIVATE, payload(), version=(2, 0))
        self.assertEqual(len(r20.payload.value), 2)  # type: ignore[union-attr]


def authentication(username: str, password: str) -> Item:
    """A header Authentication with a Username and Password credential."""
    value = [Item.text(Tag.USERNAME, username), Item.text(Tag.PASSWORD, password)]
    return Item.struct(Tag.AUTHENTICATION, [Item.struct(Tag.CREDENTIAL, [
        Item.enum(Tag.CREDENTIAL_TYPE, CredentialType.USERNAME_AND_PASSWORD),
        Item.struct(Tag.CREDENTIAL_VALUE, value),
    ])])


class CredentialTests(SynchronousTestCase):
    """Request-header credentials checked against a CredentialStore."""

    def setUp(self) -> None:
        store = CredentialStore({"alice": hash_password("s3cret", n=2**4, r=1, p=1)})
        self.dispatcher = make_processor(credentials=CredentialChecker(store))

    def send_with(self, auth: Item, dispatcher: Any = None) -> Any:
        return results(send(dispatcher or self.dispatcher, request(
            batch_item(Operation.QUERY, QUERY_OPS), header_extra=[auth])))[0]

    def test_good_password(self) -> None:
        """A credential that verifies lets the request through."""
        self.assertTrue(self.send_with(authentication("alice", "s3cret")).ok)

    def test_bad_password(self) -> None:
        """A wrong password or unknown user is refused with Authentication Not Successful."""
        for user, password in (("alice", "wrong"), ("mallory", "s3cret")):
            result = self.send_with(authentication(user, password))
            self.assertEqual(result.reason, ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
            self.assertIsNone(result.payload)

    def test_no_credential(self) -> None:
        """A request without Authentication is not checked (the certificate identity stands)."""
        self.assertTrue(results(send(self.dispatcher, request(batch_item(Operation.QUERY, QUERY_OPS))))[0].ok)

    def test_absent_store(self) -> None:
        """Without a credential store, credentials are ignored."""
        self.assertTrue(self.send_with(authentication("alice", "wrong"), make_processor()).ok)


class CountingStore:
    """A credential store wrapper counting (slow) verifications."""

    def __init__(self, store: CredentialStore) -> None:
        self.store = store
        self.calls = 0

    def verify(self, username: str, password: str) -> bool:
        self.calls += 1
        return self.store.verify(username, password)


class CredentialLimitTests(SynchronousTestCase):
    """At most one credential per request; successful verifications are cached briefly."""

    def setUp(self) -> None:
        self.now = 1000.0
        self.store = CountingStore(CredentialStore({"alice": hash_password("s3cret", n=2**4, r=1, p=1)}))
        self.checker = CredentialChecker(self.store, cache_ttl=60, cache_size=2, seconds=lambda: self.now)
        self.dispatcher = make_processor(credentials=self.checker)

    def send_with(self, auth: Item) -> Any:
        return results(send(self.dispatcher, request(
            batch_item(Operation.QUERY, QUERY_OPS), header_extra=[auth])))[0]

    def test_two_credentials_invalid_message(self) -> None:
        """Two Username and Password credentials are refused with Invalid Message before any hashing."""
        double = authentication("alice", "s3cret")
        double = Item.struct(Tag.AUTHENTICATION, double.value + authentication("alice", "s3cret").value)
        result = self.send_with(double)
        self.assertEqual(result.reason, ResultReason.INVALID_MESSAGE)
        self.assertIn("at most one", result.message)
        self.assertEqual(self.store.calls, 0)

    def test_success_cached(self) -> None:
        """A repeated good credential is verified once within the TTL, and again after it."""
        for _ in range(3):
            self.assertTrue(self.send_with(authentication("alice", "s3cret")).ok)
        self.assertEqual(self.store.calls, 1)
        self.now += 60
        self.assertTrue(self.send_with(authentication("alice", "s3cret")).ok)
        self.assertEqual(self.store.calls, 2)

    def test_failure_not_cached(self) -> None:
        """A wrong password is verified (and refused) every time, even after the right one was cached."""
        self.assertTrue(self.send_with(authentication("alice", "s3cret")).ok)
        for _ in range(2):
            result = self.send_with(authentication("alice", "wrong"))
            self.assertEqual(result.reason, ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
        self.assertEqual(self.store.calls, 3)

    def test_cache_bounded(self) -> None:
        """The cache keeps at most cache_size entries, forgetting the oldest."""
        store = CountingStore(CredentialStore({name: hash_password("pw", n=2**4, r=1, p=1)
                                               for name in ("a", "b", "c")}))
        checker = CredentialChecker(store, cache_ttl=60, cache_size=2, seconds=lambda: self.now)
        for name in ("a", "b", "c", "c", "b", "a"):
            checker.check(authentication(name, "pw"), None)
        self.assertEqual(store.calls, 4, "a was evicted by c, then verified again")
        self.assertLessEqual(len(checker._verified), 2)

    def test_cache_disabled(self) -> None:
        """With cache_ttl 0 every request is verified."""
        checker = CredentialChecker(self.store, cache_ttl=0)
        checker.check(authentication("alice", "s3cret"), None)
        checker.check(authentication("alice", "s3cret"), None)
        self.assertEqual(self.store.calls, 2)


class SniffTests(SynchronousTestCase):
    """The version of an undecodable message is read at the usual offsets."""

    def test_sniffed_version_of_truncated_message(self) -> None:
        """A truncated 2.0 request is answered in 2.0."""
        data = encode(request(batch_item(Operation.QUERY, QUERY_OPS), version=(2, 0)))
        reply = make_processor().process(data[:-8], Caller(None))
        self.assertEqual(response_version(decode(reply.data)), (2, 0))

    def test_layout_assumption(self) -> None:
        """The Protocol Version Major/Minor sit at bytes 24 and 40 of a standard request."""
        data = encode(request(batch_item(Operation.QUERY), version=(1, 3)))
        self.assertEqual(struct.unpack_from(">I4xi", data, 24), ((Tag.PROTOCOL_VERSION_MAJOR << 8) | 2, 1))
        self.assertEqual(struct.unpack_from(">I4xi", data, 40), ((Tag.PROTOCOL_VERSION_MINOR << 8) | 2, 3))
        self.assertEqual(version_item((1, 3)).tag, Tag.PROTOCOL_VERSION)
