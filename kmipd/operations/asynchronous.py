# -*- test-case-name: tests.operations.test_asynchronous -*-
"""Poll, Cancel, Process and Query Asynchronous Requests (KMIP 2.1 6.1.38, 6.1.5, 6.1.39, 6.1.41).

The work itself is kept by L{kmipd.asynchronous.AsyncWork}; a caller sees only its own requests
(another client's correlation value is Permission Denied).
"""

from __future__ import annotations

from ..context import RequestContext
from ..errors import InvalidField
from ..node import node_of
from ..spec import Operation, Tag
from ..ttlv import Item, ItemType
from .registry import operation


def _correlation(payload: Item) -> bytes:
    """The request's Asynchronous Correlation Value (required, a Byte String: the schema checked)."""
    return payload.get(Tag.ASYNCHRONOUS_CORRELATION_VALUE)


@operation(Operation.POLL)
def poll(ctx: RequestContext, payload: Item) -> Item | None:
    """The result of a finished asynchronous item (as it would have been answered synchronously),
    or Pending while it runs."""
    return node_of(ctx).jobs.poll(_correlation(payload), ctx.identity, ctx.store)


@operation(Operation.CANCEL)
def cancel(ctx: RequestContext, payload: Item) -> Item:
    """Cancel an asynchronous item that has not started: its Cancellation Result."""
    correlation = _correlation(payload)
    outcome = node_of(ctx).jobs.cancel(correlation, ctx.identity)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [
        Item.bytes(Tag.ASYNCHRONOUS_CORRELATION_VALUE, correlation),
        Item.enum(Tag.CANCELLATION_RESULT, outcome),
    ])


@operation(Operation.PROCESS, min_version=(2, 0))
def process(ctx: RequestContext, payload: Item) -> Item:
    """Make the next Poll of an asynchronous item return its result, not Pending."""
    node_of(ctx).jobs.process(_correlation(payload), ctx.identity)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [])


def _listed(payload: Item | None, outer: int, inner: int, item_type: int) -> list:
    container = payload.find(outer) if payload is not None else None
    if container is None:
        return []
    values = container.findall(inner)
    if any(v.type != item_type for v in values):
        raise InvalidField(f"{Tag(outer).name.title().replace('_', ' ')} holds a malformed value")
    return [v.value for v in values]


@operation(Operation.QUERY_ASYNCHRONOUS_REQUESTS, min_version=(2, 0))
def query_asynchronous_requests(ctx: RequestContext, payload: Item | None) -> Item:
    """The caller's asynchronous requests whose results were not obtained yet (filtered by the
    Asynchronous Correlation Values and Operations given)."""
    correlations = _listed(payload, Tag.ASYNCHRONOUS_CORRELATION_VALUES, Tag.ASYNCHRONOUS_CORRELATION_VALUE,
                           ItemType.BYTE_STRING)
    operations = _listed(payload, Tag.OPERATIONS, Tag.OPERATION, ItemType.ENUMERATION)
    jobs = node_of(ctx).jobs.outstanding(ctx.identity, correlations, operations)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [
        Item.struct(Tag.ASYNCHRONOUS_REQUEST, [
            Item.bytes(Tag.ASYNCHRONOUS_CORRELATION_VALUE, job.correlation),
            Item.enum(Tag.OPERATION, job.operation),
            Item(Tag.SUBMISSION_DATE, ItemType.DATE_TIME_EXTENDED, int(job.submitted * 1_000_000)),
            Item.enum(Tag.PROCESSING_STAGE, int(job.state)),
        ])
        for job in jobs
    ])
