# -*- test-case-name: tests.test_messages -*-
"""The message layer: request/response headers, batch items and protocol versions.

Typed views over L{kmipd.ttlv.Item} trees. The Request Message, its header and its batch items are
checked against declarative shapes (L{kmipd.messages.schema}, the same machinery as the request
payloads): a repeated or mistyped field is Invalid Message; unknown header and batch item fields
are ignored (those of a newer minor version must be, as the spec requires). Building is exact for
the negotiated version.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..errors import InvalidMessage, KmipError
from ..spec import BatchErrorContinuationOption, ResultStatus, Tag
from ..ttlv import Item, ItemType, encode
from .schema import Compiled, Field, check, compile_shape
from .versions import encode_for_version

Version = tuple[int, int]

SUPPORTED_VERSIONS: tuple[Version, ...] = ((2, 1), (2, 0), (1, 4), (1, 3), (1, 2), (1, 1), (1, 0))
"""Every protocol version kmipd speaks, in decreasing order of preference."""

# plain ints for the item trees built and read per message (no enum lookups)
_STRUCTURE = int(ItemType.STRUCTURE)
_ENUMERATION = int(ItemType.ENUMERATION)
_INTEGER = int(ItemType.INTEGER)
_TEXT_STRING = int(ItemType.TEXT_STRING)
_DATE_TIME = int(ItemType.DATE_TIME)
_RESPONSE_MESSAGE = int(Tag.RESPONSE_MESSAGE)
_RESPONSE_HEADER = int(Tag.RESPONSE_HEADER)
_PROTOCOL_VERSION = int(Tag.PROTOCOL_VERSION)
_PROTOCOL_VERSION_MAJOR = int(Tag.PROTOCOL_VERSION_MAJOR)
_PROTOCOL_VERSION_MINOR = int(Tag.PROTOCOL_VERSION_MINOR)
_BATCH_ITEM_TAG = int(Tag.BATCH_ITEM)
_TIME_STAMP = int(Tag.TIME_STAMP)
_SERVER_CORRELATION_VALUE = int(Tag.SERVER_CORRELATION_VALUE)
_RESULT_STATUS = int(Tag.RESULT_STATUS)
_RESULT_REASON = int(Tag.RESULT_REASON)
_RESULT_MESSAGE = int(Tag.RESULT_MESSAGE)
_BATCH_COUNT = int(Tag.BATCH_COUNT)
_ATTESTATION_TYPE = int(Tag.ATTESTATION_TYPE)
_OPERATION = int(Tag.OPERATION)
_UNIQUE_BATCH_ITEM_ID = int(Tag.UNIQUE_BATCH_ITEM_ID)
_REQUEST_PAYLOAD = int(Tag.REQUEST_PAYLOAD)
_MESSAGE_EXTENSION = int(Tag.MESSAGE_EXTENSION)


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
    return Item(_PROTOCOL_VERSION, _STRUCTURE, [
        Item(_PROTOCOL_VERSION_MAJOR, _INTEGER, version[0]),
        Item(_PROTOCOL_VERSION_MINOR, _INTEGER, version[1]),
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
_HEADER_VALUES = {
    int(Tag.MAXIMUM_RESPONSE_SIZE): "maximum_response_size",
    int(Tag.BATCH_ERROR_CONTINUATION_OPTION): "continuation",
    int(Tag.BATCH_ORDER_OPTION): "batch_order",
    int(Tag.AUTHENTICATION): "authentication",
    int(Tag.TIME_STAMP): "time_stamp",
    int(Tag.ATTESTATION_CAPABLE_INDICATOR): "attestation_capable",
    int(Tag.CLIENT_CORRELATION_VALUE): "client_correlation",  # 2.x: logged with the request
    int(Tag.SERVER_CORRELATION_VALUE): "server_correlation",
}


def _checked(shape: Compiled, item: Item, where: str) -> None:
    """Check C{item} against a message-level shape: any failure is Invalid Message."""
    try:
        check(shape, item, where, SUPPORTED_VERSIONS[0])
    except KmipError as e:
        raise InvalidMessage(e.message) from None


def parse_request(message: Item, *, max_batch_count: int) -> Request:
    """Read a Request Message; L{InvalidMessage} when it cannot be processed at all."""
    if message.tag != Tag.REQUEST_MESSAGE or message.type != _STRUCTURE:
        raise InvalidMessage("not a Request Message")
    _checked(_MESSAGE, message, "Request Message")
    header = message.find(Tag.REQUEST_HEADER)
    assert header is not None
    _checked(_HEADER, header, "Request Header")
    request = Request(version=parse_version(header.find(Tag.PROTOCOL_VERSION)))
    # one pass over the header: every field read here is single (checked), Attestation Type repeats
    count = None
    attestation_types = request.attestation_types
    for child in header.value:
        tag = child.tag
        attr = _HEADER_VALUES.get(tag)
        if attr is not None:
            setattr(request, attr, child if child.type == _STRUCTURE else child.value)
        elif tag == _BATCH_COUNT:
            count = child.value
        elif tag == _ATTESTATION_TYPE:
            attestation_types.append(child.value)
    _read_asynchronous(header, request)
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
    if entry.type != _STRUCTURE:
        return BatchItem(None, error="Batch Item is not a structure")
    try:
        _checked(_BATCH_ITEM, entry, "Batch Item")
    except InvalidMessage as e:
        found = entry.find(Tag.OPERATION)
        return BatchItem(found.value if found is not None and found.type == _ENUMERATION else None,
                         error=e.message)
    item = BatchItem(None)
    for child in entry.value:  # each of these is single (checked)
        tag = child.tag
        if tag == _OPERATION:
            item.operation = child.value
        elif tag == _UNIQUE_BATCH_ITEM_ID:
            item.unique_id = child.value
        elif tag == _REQUEST_PAYLOAD:
            item.payload = child
        elif tag == _MESSAGE_EXTENSION:
            item.extension = child
    if item.operation is None:
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
    header = [version_item(version), *_header_fields(version, now, len(results), correlation, server_hashed_password)]
    items = [Item(_RESPONSE_HEADER, _STRUCTURE, header)]
    items.extend(_batch_item(r) for r in results)
    return Item(_RESPONSE_MESSAGE, _STRUCTURE, items)


def encode_response(version: Version, now: int, results: list[BatchResult], *,
                    correlation: str | None = None, server_hashed_password: bytes | None = None) -> tuple[bytes, int]:
    """L{build_response} stripped for C{version} and encoded, and how many items were removed.

    The same bytes as C{strip_for_version} and C{encode} of the built message; the Protocol Version
    structure (the same in every response of a version) is encoded once per version, and the batch
    items go through L{kmipd.messages.versions.encode_for_version} (the header fields exist in
    every version they are sent in).
    """
    prefix = _VERSION_BYTES.get(version)
    if prefix is None:
        prefix = _VERSION_BYTES.setdefault(version, encode(version_item(version)))
    header = prefix + b"".join(encode(f) for f in _header_fields(version, now, len(results), correlation,
                                                                 server_hashed_password))
    parts = [_STRUCTURE_HEADER(_RESPONSE_HEADER << 8 | _STRUCTURE, len(header)), header]
    removed = 0
    for r in results:
        data, gone = encode_for_version(_batch_item(r), version)
        parts.append(data)
        removed += gone
    body = b"".join(parts)
    return _STRUCTURE_HEADER(_RESPONSE_MESSAGE << 8 | _STRUCTURE, len(body)) + body, removed


#: the encoded Protocol Version structure per negotiated version
_VERSION_BYTES: dict[Version, bytes] = {}
_STRUCTURE_HEADER = struct.Struct(">II").pack  # (tag << 8) | type, length


def _header_fields(version: Version, now: int, count: int, correlation: str | None,
                   server_hashed_password: bytes | None) -> list[Item]:
    """The Response Header fields after the Protocol Version."""
    fields = [Item(_TIME_STAMP, _DATE_TIME, int(now))]
    if server_hashed_password is not None and version >= (2, 0):
        fields.append(Item.bytes(Tag.SERVER_HASHED_PASSWORD, server_hashed_password))
    if correlation is not None and version >= (2, 0):
        fields.append(Item(_SERVER_CORRELATION_VALUE, _TEXT_STRING, correlation))
    fields.append(Item(_BATCH_COUNT, _INTEGER, count))
    return fields


def _batch_item(r: BatchResult) -> Item:
    """A response Batch Item."""
    fields = []
    if r.operation is not None:
        fields.append(Item(_OPERATION, _ENUMERATION, int(r.operation)))
    if r.unique_id is not None:
        fields.append(Item.bytes(Tag.UNIQUE_BATCH_ITEM_ID, r.unique_id))
    fields.append(Item(_RESULT_STATUS, _ENUMERATION, int(r.status)))
    if r.reason is not None:
        fields.append(Item(_RESULT_REASON, _ENUMERATION, int(r.reason)))
    if r.message is not None:
        fields.append(Item(_RESULT_MESSAGE, _TEXT_STRING, r.message))
    if r.correlation is not None:
        fields.append(Item.bytes(Tag.ASYNCHRONOUS_CORRELATION_VALUE, r.correlation))
    if r.payload is not None:
        fields.append(r.payload)
    return Item(_BATCH_ITEM_TAG, _STRUCTURE, fields)
