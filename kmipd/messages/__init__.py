# -*- test-case-name: tests.test_messages -*-
"""The message layer: request/response headers, batch items and protocol versions.

Typed views over L{kmipd.ttlv.Item} trees. The Request Message, its header and its batch items are
checked against declarative shapes (L{kmipd.messages.schema}, the same machinery as the request
payloads): a repeated or mistyped field is Invalid Message; unknown header and batch item fields
are ignored (those of a newer minor version must be, as the spec requires). Building is exact for
the negotiated version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidMessage, KmipError
from ..spec import BatchErrorContinuationOption, ResultStatus, Tag
from ..ttlv import Item, ItemType
from .schema import Compiled, Field, check, compile_shape

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
    #: made in a newer minor version than kmipd speaks (answered in an older one): unknown
    #: payload fields are ignored rather than refused
    newer_minor: bool = False


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


_ALL = (1, 0)  # message-level fields: accepted in every version (the shapes below are open)
_ANY_TYPE = tuple(ItemType)


def _open_shape(*fields: Field) -> Compiled:
    return compile_shape(fields, SUPPORTED_VERSIONS[0], open=True)


#: Request Message: one Request Header, Batch Items (a non-structure item fails on its own).
_MESSAGE = _open_shape(
    Field(Tag.REQUEST_HEADER, required=True, since=_ALL, missing=InvalidMessage),
    Field(Tag.BATCH_ITEM, types=_ANY_TYPE, repeat=True, since=_ALL),
)
#: Request Header (1.x/2.x 7.2): the fields kmipd reads; others (a newer minor version's) are ignored.
_HEADER = _open_shape(
    Field(Tag.PROTOCOL_VERSION, required=True, since=_ALL, missing=InvalidMessage, fields=(
        Field(Tag.PROTOCOL_VERSION_MAJOR, required=True, since=_ALL, missing=InvalidMessage),
        Field(Tag.PROTOCOL_VERSION_MINOR, required=True, since=_ALL, missing=InvalidMessage))),
    Field(Tag.MAXIMUM_RESPONSE_SIZE, since=_ALL),
    Field(Tag.ASYNCHRONOUS_INDICATOR, types=(ItemType.BOOLEAN, ItemType.ENUMERATION), since=_ALL),
    Field(Tag.ATTESTATION_CAPABLE_INDICATOR, since=_ALL),
    Field(Tag.ATTESTATION_TYPE, repeat=True, since=_ALL),
    Field(Tag.CLIENT_CORRELATION_VALUE, since=_ALL),
    Field(Tag.SERVER_CORRELATION_VALUE, since=_ALL),
    Field(Tag.AUTHENTICATION, since=_ALL),
    Field(Tag.BATCH_ERROR_CONTINUATION_OPTION, since=_ALL),
    Field(Tag.BATCH_ORDER_OPTION, since=_ALL),
    Field(Tag.TIME_STAMP, since=_ALL),
    Field(Tag.BATCH_COUNT, required=True, since=_ALL, missing=InvalidMessage),
)
#: Request Batch Item: Operation (required, checked per item), the payload, the extension.
_BATCH_ITEM = _open_shape(
    Field(Tag.OPERATION, since=_ALL),
    Field(Tag.UNIQUE_BATCH_ITEM_ID, since=_ALL),
    Field(Tag.REQUEST_PAYLOAD, types=(ItemType.STRUCTURE,), since=_ALL),
    Field(Tag.MESSAGE_EXTENSION, since=_ALL),
)
#: Header fields copied to L{Request} attributes (the structure itself for Authentication).
_HEADER_VALUES = (
    (Tag.MAXIMUM_RESPONSE_SIZE, "maximum_response_size"),
    (Tag.BATCH_ERROR_CONTINUATION_OPTION, "continuation"),
    (Tag.BATCH_ORDER_OPTION, "batch_order"),
    (Tag.AUTHENTICATION, "authentication"),
    (Tag.TIME_STAMP, "time_stamp"),
    (Tag.ATTESTATION_CAPABLE_INDICATOR, "attestation_capable"),
    (Tag.CLIENT_CORRELATION_VALUE, "client_correlation"),  # 2.x: logged with the request
    (Tag.SERVER_CORRELATION_VALUE, "server_correlation"),
)


def _checked(shape: Compiled, item: Item, where: str) -> None:
    """Check C{item} against a message-level shape: any failure is Invalid Message."""
    try:
        check(shape, item, where, SUPPORTED_VERSIONS[0])
    except KmipError as e:
        raise InvalidMessage(e.message) from None


def parse_request(message: Item, *, max_batch_count: int) -> Request:
    """Read a Request Message; L{InvalidMessage} when it cannot be processed at all."""
    if message.tag != Tag.REQUEST_MESSAGE or message.type != ItemType.STRUCTURE:
        raise InvalidMessage("not a Request Message")
    _checked(_MESSAGE, message, "Request Message")
    header = message.find(Tag.REQUEST_HEADER)
    assert header is not None
    _checked(_HEADER, header, "Request Header")
    request = Request(version=parse_version(header.find(Tag.PROTOCOL_VERSION)))
    count = header.get(Tag.BATCH_COUNT)
    _read_asynchronous(header, request)
    for tag, attr in _HEADER_VALUES:
        found = header.find(tag)
        if found is not None:
            setattr(request, attr, found if found.type == ItemType.STRUCTURE else found.value)
    request.attestation_types = [a.value for a in header.findall(Tag.ATTESTATION_TYPE)]
    if request.continuation not in (1, 2, 3):
        raise InvalidMessage(f"unknown Batch Error Continuation Option {request.continuation}")
    batch = message.findall(Tag.BATCH_ITEM)
    if count != len(batch):
        raise InvalidMessage(f"Batch Count {count} does not match {len(batch)} batch items")
    if not batch:
        raise InvalidMessage("no batch items")
    if len(batch) > max_batch_count:
        raise InvalidMessage(f"{len(batch)} batch items exceed the limit of {max_batch_count}")
    newer_minor = request.version not in SUPPORTED_VERSIONS
    for entry in batch:
        item = _parse_batch_item(entry)
        item.newer_minor = newer_minor
        request.items.append(item)
    return request


def _read_asynchronous(header: Item, request: Request) -> None:
    """Asynchronous Indicator: a Boolean in 1.x, an Enumeration (Mandatory/Optional/Prohibited) in 2.x."""
    found = header.find(Tag.ASYNCHRONOUS_INDICATOR)  # single, one of the two types: checked
    if found is None:
        return
    if found.type == ItemType.BOOLEAN:
        request.asynchronous = found.value
    else:
        if found.value not in (1, 2, 3):
            raise InvalidMessage(f"unknown Asynchronous Indicator {found.value}")
        request.asynchronous = found.value in (1, 2)
        request.asynchronous_mandatory = found.value == 1


def _parse_batch_item(entry: Item) -> BatchItem:
    if entry.type != ItemType.STRUCTURE:
        return BatchItem(None, error="Batch Item is not a structure")
    try:
        _checked(_BATCH_ITEM, entry, "Batch Item")
    except InvalidMessage as e:
        found = entry.find(Tag.OPERATION)
        return BatchItem(found.value if found is not None and found.type == ItemType.ENUMERATION else None,
                         error=e.message)
    op = entry.get(Tag.OPERATION)
    item = BatchItem(op, entry.get(Tag.UNIQUE_BATCH_ITEM_ID), entry.find(Tag.REQUEST_PAYLOAD),
                     entry.find(Tag.MESSAGE_EXTENSION))
    if op is None:
        item.error = "Batch Item has no Operation"
    return item


def build_response(version: Version, now: int, results: list[BatchResult], *,
                   correlation: str | None = None, server_hashed_password: bytes | None = None) -> Item:
    """A Response Message for C{results} in C{version}.

    @param correlation: the Server Correlation Value, sent in 2.x response headers (KMIP 2.1 9.10:
        provided by the server in every client-to-server response); 1.x headers have no such field.
    @param server_hashed_password: the 2.x Server Hashed Password, when a Hashed Password credential
        verified (2.1 8.5, L{kmipd.auth.request}).
    """
    items: list[Item | None] = [
        Item.struct(Tag.RESPONSE_HEADER, [
            version_item(version),
            Item.datetime(Tag.TIME_STAMP, now),
            Item.bytes(Tag.SERVER_HASHED_PASSWORD, server_hashed_password)
            if server_hashed_password is not None and version >= (2, 0) else None,
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
