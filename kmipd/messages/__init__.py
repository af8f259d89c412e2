# -*- test-case-name: tests.test_messages -*-
"""The message layer: request/response headers, batch items and protocol versions.

Typed views over L{kmipd.ttlv.Item} trees. Parsing is tolerant of what real clients send (unknown
header fields of a newer minor version are ignored, as the spec requires) and strict about what
kmipd needs; building is exact for the negotiated version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidMessage
from ..spec import BatchErrorContinuationOption, ResultStatus, Tag
from ..ttlv import Item, ItemType

Version = tuple[int, int]

SUPPORTED_VERSIONS: tuple[Version, ...] = ((2, 1), (2, 0), (1, 4), (1, 3), (1, 2), (1, 1), (1, 0))
"""Every protocol version kmipd speaks, in decreasing order of preference."""


def negotiate(requested: Version) -> Version | None:
    """The version to answer a request made in C{requested}, or C{None} if none fits.

    An exact match is used as is; a newer minor version of a major version kmipd speaks is
    answered in kmipd's highest minor version of that major (backward compatibility within a
    major version is mandatory in KMIP); another major version is refused.
    """
    if requested in SUPPORTED_VERSIONS:
        return requested
    same_major = [v for v in SUPPORTED_VERSIONS if v[0] == requested[0] and v[1] < requested[1]]
    return same_major[0] if same_major else None


def version_item(version: Version) -> Item:
    """A Protocol Version structure."""
    return Item.struct(Tag.PROTOCOL_VERSION, [
        Item.int(Tag.PROTOCOL_VERSION_MAJOR, version[0]),
        Item.int(Tag.PROTOCOL_VERSION_MINOR, version[1]),
    ])


def parse_version(item: Item | None) -> Version:
    """Read a Protocol Version structure; L{InvalidMessage} if it is malformed."""
    if item is None or item.type != ItemType.STRUCTURE:
        raise InvalidMessage("missing or malformed Protocol Version")
    major = item.get(Tag.PROTOCOL_VERSION_MAJOR)
    minor = item.get(Tag.PROTOCOL_VERSION_MINOR)
    if not isinstance(major, int) or not isinstance(minor, int) or isinstance(major, bool):
        raise InvalidMessage("malformed Protocol Version")
    return (major, minor)


@dataclass
class BatchItem:
    """One request batch item."""

    operation: int | None
    unique_id: bytes | None = None
    payload: Item | None = None
    extension: Item | None = None
    error: str | None = None  # set when the item itself could not be parsed


@dataclass
class Request:
    """A parsed Request Message."""

    version: Version
    maximum_response_size: int | None = None
    asynchronous: bool = False
    asynchronous_mandatory: bool = False  # 2.x Asynchronous Indicator Mandatory
    continuation: int = BatchErrorContinuationOption.STOP
    batch_order: bool = True
    authentication: Item | None = None
    time_stamp: int | None = None
    attestation_capable: bool = False
    attestation_types: list[int] = field(default_factory=list)  # 2.x, may be repeated
    client_correlation: str | None = None  # 2.x Client Correlation Value (logged)
    server_correlation: str | None = None  # 2.x; meaningful only in server-to-client requests
    items: list[BatchItem] = field(default_factory=list)


@dataclass
class BatchResult:
    """One response batch item."""

    operation: int | None
    unique_id: bytes | None = None
    status: int = ResultStatus.SUCCESS
    reason: int | None = None
    message: str | None = None
    payload: Item | None = None
    correlation: bytes | None = None  # Asynchronous Correlation Value of a Pending item


def _single(parent: Item, tag: int, type_: int, what: str) -> Item | None:
    """The one child with C{tag} (of C{type_}); L{InvalidMessage} if repeated or mistyped."""
    found = None
    for child in parent.value:
        if child.tag == tag:
            if found is not None:
                raise InvalidMessage(f"{what} appears more than once")
            if child.type != type_:
                raise InvalidMessage(f"{what} has the wrong item type")
            found = child
    return found


def peek_version(message: Item) -> Version | None:
    """The protocol version a Request Message claims, if it can be read at all."""
    try:
        header = message.find(Tag.REQUEST_HEADER) if message.type == ItemType.STRUCTURE else None
        return parse_version(header.find(Tag.PROTOCOL_VERSION)) if header is not None else None
    except (InvalidMessage, AttributeError, TypeError):
        return None


def parse_request(message: Item, *, max_batch_count: int) -> Request:
    """Read a Request Message; L{InvalidMessage} when it cannot be processed at all."""
    if message.tag != Tag.REQUEST_MESSAGE or message.type != ItemType.STRUCTURE:
        raise InvalidMessage("not a Request Message")
    header = _single(message, Tag.REQUEST_HEADER, ItemType.STRUCTURE, "Request Header")
    if header is None:
        raise InvalidMessage("missing Request Header")
    request = Request(version=parse_version(_single(header, Tag.PROTOCOL_VERSION, ItemType.STRUCTURE,
                                                       "Protocol Version")))
    count_item = _single(header, Tag.BATCH_COUNT, ItemType.INTEGER, "Batch Count")
    if count_item is None:
        raise InvalidMessage("missing Batch Count")
    _read_asynchronous(header, request)
    for tag, type_, attr in (
        (Tag.MAXIMUM_RESPONSE_SIZE, ItemType.INTEGER, "maximum_response_size"),
        (Tag.BATCH_ERROR_CONTINUATION_OPTION, ItemType.ENUMERATION, "continuation"),
        (Tag.BATCH_ORDER_OPTION, ItemType.BOOLEAN, "batch_order"),
        (Tag.AUTHENTICATION, ItemType.STRUCTURE, "authentication"),
        (Tag.TIME_STAMP, ItemType.DATE_TIME, "time_stamp"),
        (Tag.ATTESTATION_CAPABLE_INDICATOR, ItemType.BOOLEAN, "attestation_capable"),
        (Tag.CLIENT_CORRELATION_VALUE, ItemType.TEXT_STRING, "client_correlation"),
        (Tag.SERVER_CORRELATION_VALUE, ItemType.TEXT_STRING, "server_correlation"),
    ):
        found = _single(header, tag, type_, attr.replace("_", " "))
        if found is not None:
            setattr(request, attr, found if type_ == ItemType.STRUCTURE else found.value)
    for attestation in header.findall(Tag.ATTESTATION_TYPE):
        if attestation.type != ItemType.ENUMERATION:
            raise InvalidMessage("attestation type has the wrong item type")
        request.attestation_types.append(attestation.value)
    if request.continuation not in (1, 2, 3):
        raise InvalidMessage(f"unknown Batch Error Continuation Option {request.continuation}")
    batch = message.findall(Tag.BATCH_ITEM)
    if count_item.value != len(batch):
        raise InvalidMessage(f"Batch Count {count_item.value} does not match {len(batch)} batch items")
    if not batch:
        raise InvalidMessage("no batch items")
    if len(batch) > max_batch_count:
        raise InvalidMessage(f"{len(batch)} batch items exceed the limit of {max_batch_count}")
    for entry in batch:
        request.items.append(_parse_batch_item(entry))
    return request


def _read_asynchronous(header: Item, request: Request) -> None:
    """Asynchronous Indicator: a Boolean in 1.x, an Enumeration (Mandatory/Optional/Prohibited) in 2.x."""
    found = None
    for child in header.value:
        if child.tag == Tag.ASYNCHRONOUS_INDICATOR:
            if found is not None:
                raise InvalidMessage("asynchronous indicator appears more than once")
            found = child
    if found is None:
        return
    if found.type == ItemType.BOOLEAN:
        request.asynchronous = found.value
    elif found.type == ItemType.ENUMERATION:
        if found.value not in (1, 2, 3):
            raise InvalidMessage(f"unknown Asynchronous Indicator {found.value}")
        request.asynchronous = found.value in (1, 2)
        request.asynchronous_mandatory = found.value == 1
    else:
        raise InvalidMessage("asynchronous indicator has the wrong item type")


def _parse_batch_item(entry: Item) -> BatchItem:
    if entry.type != ItemType.STRUCTURE:
        return BatchItem(None, error="Batch Item is not a structure")
    try:
        op = _single(entry, Tag.OPERATION, ItemType.ENUMERATION, "Operation")
        uid = _single(entry, Tag.UNIQUE_BATCH_ITEM_ID, ItemType.BYTE_STRING, "Unique Batch Item ID")
        payload = _single(entry, Tag.REQUEST_PAYLOAD, ItemType.STRUCTURE, "Request Payload")
        ext = _single(entry, Tag.MESSAGE_EXTENSION, ItemType.STRUCTURE, "Message Extension")
    except InvalidMessage as e:
        found = entry.find(Tag.OPERATION)
        return BatchItem(found.value if found is not None and found.type == ItemType.ENUMERATION else None,
                         error=e.message)
    item = BatchItem(op.value if op is not None else None, uid.value if uid is not None else None,
                     payload, ext)
    if op is None:
        item.error = "Batch Item has no Operation"
    return item


def build_response(version: Version, now: int, results: list[BatchResult], *,
                   correlation: str | None = None) -> Item:
    """A Response Message for C{results} in C{version}.

    @param correlation: the Server Correlation Value, sent in 2.x response headers (KMIP 2.1 9.10:
        provided by the server in every client-to-server response); 1.x headers have no such field.
    """
    items: list[Item | None] = [
        Item.struct(Tag.RESPONSE_HEADER, [
            version_item(version),
            Item.datetime(Tag.TIME_STAMP, now),
            Item.text(Tag.SERVER_CORRELATION_VALUE, correlation)
            if correlation is not None and version >= (2, 0) else None,
            Item.int(Tag.BATCH_COUNT, len(results)),
        ])
    ]
    for r in results:
        items.append(Item.struct(Tag.BATCH_ITEM, [
            Item.enum(Tag.OPERATION, r.operation) if r.operation is not None else None,
            Item.bytes(Tag.UNIQUE_BATCH_ITEM_ID, r.unique_id) if r.unique_id is not None else None,
            Item.enum(Tag.RESULT_STATUS, r.status),
            Item.enum(Tag.RESULT_REASON, r.reason) if r.reason is not None else None,
            Item.text(Tag.RESULT_MESSAGE, r.message) if r.message is not None else None,
            Item.bytes(Tag.ASYNCHRONOUS_CORRELATION_VALUE, r.correlation) if r.correlation is not None else None,
            r.payload,
        ]))
    return Item.struct(Tag.RESPONSE_MESSAGE, items)
