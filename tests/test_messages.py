"""Tests for L{kmipd.messages}: version negotiation, request parsing and response building."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.errors import InvalidMessage
from kmipd.messages import (
    SUPPORTED_VERSIONS,
    BatchResult,
    build_response,
    negotiate,
    parse_request,
    parse_version,
    version_item,
)
from kmipd.spec import AsynchronousIndicator, BatchErrorContinuationOption, Operation, ResultStatus, Tag
from kmipd.testing import batch_item, request
from kmipd.ttlv import Item, decode, encode


def parse(message: Item, max_batch_count: int = 64):  # type: ignore[no-untyped-def]
    """parse_request after an encode/decode round trip."""
    return parse_request(decode(encode(message)), max_batch_count=max_batch_count)


def header_of(message: Item) -> Item:
    header = message.find(Tag.REQUEST_HEADER)
    assert header is not None
    return header


class NegotiateTests(SynchronousTestCase):
    """negotiate() picks the version to answer in."""

    def test_every_supported_version(self) -> None:
        """Every version kmipd speaks, 1.0 through 2.1, is answered as is."""
        self.assertEqual(set(SUPPORTED_VERSIONS), {(1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (2, 0), (2, 1)})
        for v in SUPPORTED_VERSIONS:
            self.assertEqual(negotiate(v), v)

    def test_newer_minor(self) -> None:
        """A newer minor version is answered in kmipd's highest minor of that major."""
        self.assertEqual(negotiate((1, 5)), (1, 4))
        self.assertEqual(negotiate((1, 99)), (1, 4))
        self.assertEqual(negotiate((2, 3)), (2, 1))

    def test_other_major_refused(self) -> None:
        """Major versions other than 1 and 2 are refused."""
        for v in ((0, 9), (3, 0), (3, 5), (255, 0)):
            self.assertIsNone(negotiate(v))

    def test_preference_order(self) -> None:
        """SUPPORTED_VERSIONS is in decreasing order (DiscoverVersions relies on it)."""
        self.assertEqual(list(SUPPORTED_VERSIONS), sorted(SUPPORTED_VERSIONS, reverse=True))


class VersionItemTests(SynchronousTestCase):
    """Protocol Version structures."""

    def test_round_trip(self) -> None:
        """version_item() and parse_version() are inverses."""
        self.assertEqual(parse_version(version_item((1, 2))), (1, 2))

    def test_malformed(self) -> None:
        """A missing, primitive or incomplete Protocol Version is an Invalid Message."""
        self.assertRaises(InvalidMessage, parse_version, None)
        self.assertRaises(InvalidMessage, parse_version, Item.int(Tag.PROTOCOL_VERSION, 1))
        self.assertRaises(InvalidMessage, parse_version,
                          Item.struct(Tag.PROTOCOL_VERSION, [Item.int(Tag.PROTOCOL_VERSION_MAJOR, 1)]))
        self.assertRaises(InvalidMessage, parse_version, Item.struct(Tag.PROTOCOL_VERSION, [
            Item.text(Tag.PROTOCOL_VERSION_MAJOR, "1"), Item.int(Tag.PROTOCOL_VERSION_MINOR, 0)]))


class ParseRequestTests(SynchronousTestCase):
    """parse_request() accepts well-formed requests and names what is wrong with others."""

    def test_minimal(self) -> None:
        """A request with one batch item parses with the spec defaults."""
        req = parse(request(batch_item(Operation.QUERY, unique_id=b"\x01"), version=(1, 2)))
        self.assertEqual(req.version, (1, 2))
        self.assertEqual(req.continuation, BatchErrorContinuationOption.STOP)
        self.assertFalse(req.asynchronous)
        self.assertTrue(req.batch_order)
        self.assertIsNone(req.maximum_response_size)
        self.assertEqual(len(req.items), 1)
        self.assertEqual(req.items[0].operation, Operation.QUERY)
        self.assertEqual(req.items[0].unique_id, b"\x01")
        self.assertIsNone(req.items[0].error)

    def test_header_options(self) -> None:
        """Maximum Response Size, Asynchronous Indicator, continuation and order are read."""
        req = parse(request(batch_item(Operation.QUERY), header_extra=[
            Item.int(Tag.MAXIMUM_RESPONSE_SIZE, 256),
            Item.bool(Tag.ASYNCHRONOUS_INDICATOR, True),
            Item.enum(Tag.BATCH_ERROR_CONTINUATION_OPTION, BatchErrorContinuationOption.UNDO),
            Item.bool(Tag.BATCH_ORDER_OPTION, False),
            Item.datetime(Tag.TIME_STAMP, 5),
        ]))
        self.assertEqual(req.maximum_response_size, 256)
        self.assertTrue(req.asynchronous)
        self.assertEqual(req.continuation, BatchErrorContinuationOption.UNDO)
        self.assertFalse(req.batch_order)
        self.assertEqual(req.time_stamp, 5)

    def test_asynchronous_indicator_2x(self) -> None:
        """In KMIP 2.x the Asynchronous Indicator is an Enumeration, and is accepted as one."""
        for value, asynchronous, mandatory in ((AsynchronousIndicator.PROHIBITED, False, False),
                                               (AsynchronousIndicator.OPTIONAL, True, False),
                                               (AsynchronousIndicator.MANDATORY, True, True)):
            req = parse(request(batch_item(Operation.QUERY), version=(2, 0), header_extra=[
                Item.enum(Tag.ASYNCHRONOUS_INDICATOR, value)]))
            self.assertEqual((req.asynchronous, req.asynchronous_mandatory), (asynchronous, mandatory))

    def test_not_a_request(self) -> None:
        """A Response Message (or a primitive) is not a request."""
        self.assertRaises(InvalidMessage, parse, Item.struct(Tag.RESPONSE_MESSAGE, []))
        self.assertRaises(InvalidMessage, parse, Item.int(Tag.REQUEST_MESSAGE, 1))

    def test_missing_header(self) -> None:
        """A request without a Request Header is an Invalid Message."""
        message = Item.struct(Tag.REQUEST_MESSAGE, [batch_item(Operation.QUERY)])
        e = self.assertRaises(InvalidMessage, parse, message)
        self.assertIn("Request Header", e.message)

    def test_missing_batch_count(self) -> None:
        """A header without Batch Count is an Invalid Message."""
        message = request(batch_item(Operation.QUERY))
        header = header_of(message)
        header.value = [c for c in header.value if c.tag != Tag.BATCH_COUNT]
        e = self.assertRaises(InvalidMessage, parse, message)
        self.assertIn("Batch Count", e.message)

    def test_batch_count_mismatch(self) -> None:
        """A Batch Count that does not match the number of batch items is refused."""
        message = request(batch_item(Operation.QUERY), batch_item(Operation.QUERY))
        header_of(message).find(Tag.BATCH_COUNT).value = 3  # type: ignore[union-attr]
        e = self.assertRaises(InvalidMessage, parse, message)
        self.assertIn("Batch Count 3", e.message)

    def test_no_batch_items(self) -> None:
        """A request with zero batch items is refused."""
        self.assertRaises(InvalidMessage, parse, request())

    def test_duplicate_header_fields(self) -> None:
        """A header field that appears twice is refused."""
        for dup in (Item.int(Tag.MAXIMUM_RESPONSE_SIZE, 1), version_item((1, 4)),
                    Item.bool(Tag.ASYNCHRONOUS_INDICATOR, False)):
            message = request(batch_item(Operation.QUERY), header_extra=[dup, dup.copy()])
            e = self.assertRaises(InvalidMessage, parse, message)
            self.assertIn("more than once", e.message)

    def test_duplicate_header(self) -> None:
        """Two Request Headers are refused."""
        message = request(batch_item(Operation.QUERY))
        message.value.insert(0, header_of(message).copy())
        self.assertRaises(InvalidMessage, parse, message)

    def test_wrong_type_header_field(self) -> None:
        """A header field of the wrong item type is refused."""
        message = request(batch_item(Operation.QUERY), header_extra=[Item.text(Tag.MAXIMUM_RESPONSE_SIZE, "1")])
        e = self.assertRaises(InvalidMessage, parse, message)
        self.assertIn("wrong item type", e.message)

    def test_too_many_batch_items(self) -> None:
        """More batch items than max_batch_count are refused."""
        message = request(*[batch_item(Operation.QUERY) for _ in range(5)])
        self.assertEqual(len(parse(message, max_batch_count=5).items), 5)
        e = self.assertRaises(InvalidMessage, parse, message, 4)
        self.assertIn("limit of 4", e.message)

    def test_unknown_continuation_option(self) -> None:
        """A Batch Error Continuation Option other than Continue/Stop/Undo is refused."""
        message = request(batch_item(Operation.QUERY),
                          header_extra=[Item.enum(Tag.BATCH_ERROR_CONTINUATION_OPTION, 9)])
        e = self.assertRaises(InvalidMessage, parse, message)
        self.assertIn("Batch Error Continuation Option 9", e.message)

    def test_bad_batch_item_is_per_item(self) -> None:
        """A malformed batch item is reported on that item, not on the whole message."""
        dup_op = batch_item(Operation.QUERY)
        dup_op.value.append(Item.enum(Tag.OPERATION, Operation.QUERY))
        no_op = Item.struct(Tag.BATCH_ITEM, [])
        req = parse(request(batch_item(Operation.QUERY), dup_op, no_op))
        self.assertEqual([i.error is None for i in req.items], [True, False, False])
        self.assertEqual(req.items[1].operation, Operation.QUERY)
        self.assertIn("Operation", req.items[2].error or "")

    def test_unknown_header_fields_ignored(self) -> None:
        """Header fields kmipd does not use (e.g. Client Correlation Value) are ignored."""
        req = parse(request(batch_item(Operation.QUERY), version=(1, 4),
                            header_extra=[Item.text(Tag.CLIENT_CORRELATION_VALUE, "x")]))
        self.assertEqual(req.version, (1, 4))


class BuildResponseTests(SynchronousTestCase):
    """build_response() shapes."""

    def test_fields_in_order(self) -> None:
        """A response carries header then batch items, with optional fields omitted when unset."""
        message = build_response((1, 1), 1234, [
            BatchResult(Operation.QUERY, b"id", ResultStatus.SUCCESS, payload=Item.struct(Tag.RESPONSE_PAYLOAD)),
            BatchResult(None, None, ResultStatus.OPERATION_FAILED, 4, "bad"),
        ])
        header = message.find(Tag.RESPONSE_HEADER)
        assert header is not None
        self.assertEqual([c.tag for c in header.value], [Tag.PROTOCOL_VERSION, Tag.TIME_STAMP, Tag.BATCH_COUNT])
        self.assertEqual(header.get(Tag.BATCH_COUNT), 2)
        self.assertEqual(header.get(Tag.TIME_STAMP), 1234)
        first, second = message.findall(Tag.BATCH_ITEM)
        self.assertEqual([c.tag for c in first.value],
                         [Tag.OPERATION, Tag.UNIQUE_BATCH_ITEM_ID, Tag.RESULT_STATUS, Tag.RESPONSE_PAYLOAD])
        self.assertEqual([c.tag for c in second.value], [Tag.RESULT_STATUS, Tag.RESULT_REASON, Tag.RESULT_MESSAGE])
