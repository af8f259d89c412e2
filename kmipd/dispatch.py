# -*- test-case-name: tests.test_dispatch -*-
"""Dispatch: request bytes in, response bytes out.

The one place where a message is decoded, its version negotiated, its batch items run through
the operation table inside one store transaction, and every failure translated into a KMIP
result. All of it is blocking work and runs in the service's operation thread pool through the
injected C{run_blocking}; the reactor thread only frames bytes and logs.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from kmipd.log import Logger

from . import operations  # noqa: F401  (registers the handlers)
from .audit import summarise
from .auth.identify import Caller  # re-exported: callers are made by identification (kmipd.auth)
from .context import RequestContext, ServerInfo
from .errors import (
    AuthenticationNotSuccessful,
    FeatureNotSupported,
    GeneralFailure,
    InvalidMessage,
    KmipError,
    OperationNotSupported,
    ResponseTooLarge,
)
from .limits import Limits
from .messages import (
    SUPPORTED_VERSIONS,
    BatchItem,
    BatchResult,
    Request,
    Version,
    build_response,
    negotiate,
    parse_request,
)
from .operations.registry import lookup
from .spec import (
    ENUM_FOR_TAG,
    BatchErrorContinuationOption,
    ResultReason,
    ResultStatus,
    Tag,
    enum_value_in_version,
    tag_from_name,
    tag_in_version,
)
from .store.interface import ConcurrentUpdateError, ObjectStore
from .ttlv import DecodeError, Item, ItemType, decode, encode

_log = Logger()

_STRUCTURE = int(ItemType.STRUCTURE)
_ENUMERATION = int(ItemType.ENUMERATION)
_ATTRIBUTE = int(Tag.ATTRIBUTE)
_OPERATION = int(Tag.OPERATION)
_CONTINUE = BatchErrorContinuationOption.CONTINUE
_UNDO = BatchErrorContinuationOption.UNDO
_RETRIES = 3
#: Most request messages run in one group-commit transaction (see L{Dispatcher}).
MAX_GROUP = 64


@dataclass
class Reply:
    """The outcome of one request message.

    @ivar data: the encoded response.
    @ivar close: close the connection after sending (the stream can no longer be trusted).
    @ivar operations: operation names, for the request log event.
    @ivar status: overall result (the first failure's reason name, or "success").
    """

    data: bytes
    close: bool = False
    version: Version | None = None
    operations: list[str] = field(default_factory=list)
    status: str = "success"
    #: one L{kmipd.audit.ItemRecord} per batch item that ran (ops: audit trail and metrics)
    audit: list[Any] = field(default_factory=list)


class _Undo(Exception):
    """Raised inside the transaction to roll it back (Undo, or a lone failed item)."""


@dataclass
class _Pending:
    """Messages of one connection waiting for a group (reactor thread only)."""

    messages: list[bytes]
    caller: Caller
    deferred: Deferred


@dataclass
class _Work:
    """One decoded request message inside a group (pool thread only)."""

    request: Request
    version: Version
    caller: Caller
    now: int
    results: list[BatchResult] = field(default_factory=list)


def sniff_version(data: bytes) -> Version:
    """Best guess of a malformed request's version, read at fixed offsets of the usual layout."""
    try:
        tag_major, major = struct.unpack_from(">I4xi", data, 24)
        tag_minor, minor = struct.unpack_from(">I4xi", data, 40)
        if tag_major >> 8 == Tag.PROTOCOL_VERSION_MAJOR and tag_minor >> 8 == Tag.PROTOCOL_VERSION_MINOR:
            return negotiate((major, minor)) or _closest((major, minor))
    except struct.error:
        pass
    return (1, 0)


def _closest(version: Version) -> Version:
    return SUPPORTED_VERSIONS[0] if version > SUPPORTED_VERSIONS[0] else SUPPORTED_VERSIONS[-1]


def strip_for_version(item: Item, version: Version) -> int:
    """Remove, in place, everything C{version} does not define; return how many items went.

    A safety net under the handlers (which build version-exact payloads): a 1.x client must
    never see a 2.x tag or a 2.x enumeration value (real 1.x clients fail on either). Tags the
    version lacks are removed; so are Enumerations whose value the version lacks, and 1.x
    C{Attribute}s whose enumerated value the version lacks (an object made by a 2.x client with
    ChaCha20 or Ed25519, read by a 1.0 client).
    """
    removed = 0
    if item.type == _STRUCTURE:
        kept = []
        for child in item.value:
            tag = child.tag
            if not tag_in_version(tag, version):
                removed += 1
                continue
            kind = child.type
            if kind == _ENUMERATION and tag != _OPERATION:  # the Operation echoes the client's own value
                cls = ENUM_FOR_TAG.get(tag)
                if cls is not None and not enum_value_in_version(cls, child.value, version):
                    removed += 1
                    continue
            elif kind == _STRUCTURE:
                if tag == _ATTRIBUTE and not _attribute_value_defined(child, version):
                    removed += 1
                    continue
                removed += strip_for_version(child, version)
            kept.append(child)
        item.value = kept
    return removed


def _attribute_value_defined(attribute: Item, version: Version) -> bool:
    """False if a 1.x Attribute's enumerated value does not exist in C{version}."""
    value = attribute.find(Tag.ATTRIBUTE_VALUE)
    if value is None or value.type != _ENUMERATION:
        return True
    name = attribute.get(Tag.ATTRIBUTE_NAME)
    tag = tag_from_name(name) if isinstance(name, str) else None
    cls = ENUM_FOR_TAG.get(tag) if tag is not None else None
    return cls is None or enum_value_in_version(cls, value.value, version)


class Dispatcher:
    """Turns request messages into response messages.

    @param store: the object store (its transactions are opened in the pool thread).
    @param run_blocking: C{run_blocking(f, *args) -> Deferred}: runs C{f} in the operation pool.
    @param clock: seconds since the epoch (C{IReactorTime.seconds}) for time stamps and dates.
    @param group_commit: run the messages that arrive (from any connection) while a group is
        running as the next group: one store transaction, each message in its own savepoint,
        one commit, and only then every reply. For stores whose writers serialise anyway and
        whose commit waits on a disk flush (SQLite); see L{process_group}.
    @param call_later: C{IReactorTime.callLater}, to start a second group when messages have
        waited C{group_spill_after} seconds behind a slow one (without it, groups never overlap).
    @param max_group: most messages in one group.
    """

    def __init__(
        self,
        *,
        store: ObjectStore,
        run_blocking: Callable[..., Deferred],
        policy: Any = None,
        limits: Limits = Limits(),
        seconds: Callable[[], float] = time.time,
        server: ServerInfo = ServerInfo(),
        credentials: Any = None,
        services: dict[str, Any] | None = None,
        group_commit: bool = False,
        call_later: Callable[..., Any] | None = None,
        group_spill_after: float = 0.05,
        max_group: int = MAX_GROUP,
        max_groups: int = 2,
    ) -> None:
        self.store = store
        self.run_blocking = run_blocking
        self.policy = policy
        self.limits = limits
        self.seconds = seconds
        self.server = server
        self.credentials = credentials
        self.services = services if services is not None else {}
        # The server's caps, for handlers whose output size the client chooses (RNG Retrieve).
        self.services.setdefault("max_rng_length", limits.max_rng_length)
        self.services.setdefault("max_response_size", limits.max_response_size)
        self.group_commit = group_commit
        self.call_later = call_later
        self.group_spill_after = group_spill_after
        self.max_group = max(1, max_group)
        self.max_groups = max(1, max_groups)
        # Group commit state (reactor thread only).
        self._pending: list[_Pending] = []
        self._groups_running = 0
        self._delivering = False
        self._spill_timer: Any = None

    def handle(self, data: bytes, caller: Caller) -> Deferred[Reply]:
        """Process one framed request message in the pool; the Deferred fires with a L{Reply}."""
        if not self.group_commit:
            return self.run_blocking(self.process, data, caller)
        d: Deferred = Deferred()
        self._enqueue(_Pending([data], caller, d))
        return d.addCallback(lambda replies: replies[0])

    def handle_many(self, messages: list[bytes], caller: Caller) -> Deferred[list[Reply]]:
        """Process several pipelined messages of one connection, in order, in one pool hand-off."""
        if not self.group_commit:
            return self.run_blocking(self.process_many, messages, caller)
        d: Deferred = Deferred()
        self._enqueue(_Pending(list(messages), caller, d))
        return d

    # Group commit: the reactor side. -------------------------------------------------------

    def _enqueue(self, pending: _Pending) -> None:
        self._pending.append(pending)
        self._maybe_start()

    def _maybe_start(self) -> None:
        if self._delivering or not self._pending:
            return
        if self._groups_running == 0:
            self._start_group()
        elif (self.call_later is not None and self._spill_timer is None
              and self._groups_running < self.max_groups):
            self._spill_timer = self.call_later(self.group_spill_after, self._spill)

    def _spill(self) -> None:
        """Messages have waited C{group_spill_after} behind a running group: start another one."""
        self._spill_timer = None
        if self._pending and self._groups_running < self.max_groups:
            self._start_group()
        self._maybe_start()

    def _start_group(self) -> None:
        """Hand the queued messages (up to C{max_group}, whole connections' runs) to one pool job."""
        units: list[_Pending] = []
        count = 0
        while self._pending and (not units or count + len(self._pending[0].messages) <= self.max_group):
            unit = self._pending.pop(0)
            units.append(unit)
            count += len(unit.messages)
        self._groups_running += 1
        d = self.run_blocking(self.process_group, [(u.messages, u.caller) for u in units])
        d.addBoth(self._group_done, units)

    def _group_done(self, outcome: list[list[Reply]] | Failure, units: list[_Pending]) -> None:
        """Fire every reply of a committed group, then start the next group with what queued up."""
        self._groups_running -= 1
        self._delivering = True  # replies trigger the connections' next requests: collect them
        try:
            for i, unit in enumerate(units):
                if isinstance(outcome, Failure):
                    unit.deferred.errback(outcome)
                else:
                    unit.deferred.callback(outcome[i])
        finally:
            self._delivering = False
        self._maybe_start()

    # Everything below runs in the operation thread pool. ----------------------------------

    def process_many(self, messages: list[bytes], caller: Caller) -> list[Reply]:
        """L{process} each message in turn (each its own transaction); stop after a closing reply."""
        replies = []
        for data in messages:
            reply = self.process(data, caller)
            replies.append(reply)
            if reply.close:
                break
        return replies

    def process(self, data: bytes, caller: Caller) -> Reply:
        """Decode, run and encode one request message (blocking)."""
        prepared = self._prepare(data, caller)
        if isinstance(prepared, Reply):
            return prepared
        prepared.results = self._run_alone(prepared)
        return self._finish(prepared.request, prepared.version, prepared.now, prepared.results)

    def process_group(self, units: list[tuple[list[bytes], Caller]]) -> list[list[Reply]]:
        """Run the messages of several connections in one store transaction (blocking).

        Each message runs in its own savepoint, so its Undo or failure rolls back only its own
        writes; the transaction commits once, after the last message, and the replies are
        returned (and so sent) only after that commit. A commit that fails fails every message
        of the group (General Failure: nothing was written). A L{ConcurrentUpdateError} (the
        SQLite write lock held by another process, an optimistic check) or another storage
        failure while running rolls the group back and runs its messages one by one, each in
        its own transaction with the usual retries.
        """
        replies: list[list[Reply | _Work]] = []
        work: list[_Work] = []
        for messages, caller in units:
            out: list[Reply | _Work] = []
            for data in messages:
                prepared = self._prepare(data, caller)
                out.append(prepared)
                if isinstance(prepared, Reply):
                    if prepared.close:
                        break
                else:
                    work.append(prepared)
            replies.append(out)
        if len(work) == 1:
            work[0].results = self._run_alone(work[0])
        elif work:
            self._run_group(work)
        return [[r if isinstance(r, Reply) else self._finish(r.request, r.version, r.now, r.results)
                 for r in out] for out in replies]

    def _run_group(self, work: list[_Work]) -> None:
        ran = False
        try:
            with self.store.transaction() as tx:
                for w in work:
                    w.results = []
                    try:
                        with tx.savepoint():
                            self._run_items(tx, w.request, w.version, w.caller, w.now, w.results)
                    except _Undo:
                        _mark_undone(w.results)
                ran = True
        except ConcurrentUpdateError:
            _log.info("group of {n} messages hit a concurrent update; running them one by one", n=len(work))
        except Exception:
            if ran:
                _log.failure("committing a group of {n} messages failed", n=len(work))
                for w in work:
                    w.results = [self._error_result(b, w.version, GeneralFailure("internal storage error"))
                                 for b in w.request.items]
                return
            _log.failure("storage failure in a group of {n} messages; running them one by one", n=len(work))
        else:
            return
        for w in work:
            w.results = self._run_alone(w)

    def _prepare(self, data: bytes, caller: Caller) -> Reply | _Work:
        """Decode and check one message: a final L{Reply} (an error) or the L{_Work} to run."""
        now = int(self.seconds())
        try:
            message = decode(data, max_depth=self.limits.max_depth, max_size=self.limits.max_message_size)
        except DecodeError as e:
            return self.error_reply(sniff_version(data), now, ResultReason.INVALID_MESSAGE,
                                 f"cannot decode message: {e}", close=True)
        try:
            request = parse_request(message, max_batch_count=self.limits.max_batch_count)
        except InvalidMessage as e:
            return self.error_reply(sniff_version(data), now, ResultReason.INVALID_MESSAGE, e.message, close=True)
        version = negotiate(request.version)
        if version is None:
            return self.error_reply(_closest(request.version), now, ResultReason.INVALID_MESSAGE,
                                 f"protocol version {request.version[0]}.{request.version[1]} is not supported")
        if request.authentication is not None and self.credentials is not None:
            try:
                self.credentials.check(request.authentication, caller)
            except AuthenticationNotSuccessful as e:
                return self.error_reply(version, now, e.reason_for(version), e.message)
        if request.asynchronous_mandatory:
            refusal = FeatureNotSupported("asynchronous processing (Asynchronous Indicator Mandatory) "
                                          "is not supported")
            results = [self._error_result(b, version, refusal) for b in request.items]
            return self._finish(request, version, now, results)
        return _Work(request, version, caller, now)

    def _run_alone(self, w: _Work) -> list[BatchResult]:
        """Run one message in its own transaction, retrying on concurrent-update conflicts."""
        request, version = w.request, w.version
        for attempt in range(_RETRIES):
            try:
                return self._run_batch(request, version, w.caller, w.now)
            except ConcurrentUpdateError:
                if attempt == _RETRIES - 1:
                    _log.warn("giving up after {n} concurrent-update conflicts", n=_RETRIES)
                    return [self._error_result(b, version, GeneralFailure("concurrent update conflict; retry"))
                            for b in request.items]
            except Exception:
                _log.failure("storage failure while processing a request")
                break
        return [self._error_result(b, version, GeneralFailure("internal storage error")) for b in request.items]

    def _finish(self, request: Request, version: Version, now: int, results: list[BatchResult]) -> Reply:
        limit = request.maximum_response_size
        server_cap = self.limits.max_response_size
        reply = self._encode(version, now, results, server_cap if limit is None else min(limit, server_cap))
        reply.operations = [_op_name(b.operation) for b in request.items]
        reply.audit = summarise(request.items, results)  # ops: audit records, computed in the pool
        failures = [r for r in results if r.status != ResultStatus.SUCCESS]
        if failures:
            reply.status = _reason_name(failures[0].reason)
        return reply

    def _run_batch(self, request: Request, version: Version, caller: Caller, now: int) -> list[BatchResult]:
        """Run the batch items in one store transaction (see L{_run_items})."""
        results: list[BatchResult] = []
        try:
            with self.store.transaction() as tx:
                self._run_items(tx, request, version, caller, now, results)
        except _Undo:
            _mark_undone(results)
        return results

    def _run_items(self, tx: Any, request: Request, version: Version, caller: Caller, now: int,
                   results: list[BatchResult]) -> None:
        """Run the batch items of one message, appending to C{results}; raise L{_Undo} to roll back.

        With several items each runs in a savepoint, so a failed item leaves nothing behind while
        the others' work stands (Continue, Stop) or is rolled back with the enclosing transaction
        or savepoint (Undo). A lone item needs no savepoint of its own: if it fails, L{_Undo}
        rolls back the enclosing transaction (or the message's savepoint in a group).
        """
        isolate = len(request.items) > 1
        ctx = RequestContext(version=version, identity=caller.identity, groups=caller.groups, now=now,
                             store=tx, policy=self.policy, server=self.server, services=self.services)
        failed = False
        for item in request.items:
            result = self._run_item(ctx, item, tx, isolate)
            results.append(result)
            if result.status != ResultStatus.SUCCESS:
                failed = True
                if request.continuation != _CONTINUE:
                    break
        if failed and (request.continuation == _UNDO or not isolate):
            raise _Undo()
        limit = request.maximum_response_size
        if limit is not None:
            size = len(encode(build_response(version, now, results)))
            if size > limit:
                # Checked before the commit: what the client is told failed must not have happened.
                for r in results:
                    if r.status == ResultStatus.SUCCESS:
                        r.status, r.payload = ResultStatus.OPERATION_FAILED, None
                        r.reason = int(ResultReason.RESPONSE_TOO_LARGE)
                        r.message = f"response of {size} bytes exceeds Maximum Response Size {limit}"
                raise _Undo()

    def _run_item(self, ctx: RequestContext, item: BatchItem, tx: Any, isolate: bool) -> BatchResult:
        version = ctx.version
        if item.error is not None:
            return self._error_result(item, version, InvalidMessage(item.error))
        entry = lookup(item.operation, version) if item.operation is not None else None
        if entry is None:
            return self._error_result(item, version, OperationNotSupported(
                f"operation {_op_name(item.operation)} is not supported in KMIP {version[0]}.{version[1]}"))
        placeholder = ctx.id_placeholder
        try:
            request_payload = entry.check_request(version, item)
            if isolate:
                with tx.savepoint():
                    payload = entry.handler(ctx, request_payload)
            else:
                payload = entry.handler(ctx, request_payload)
        except KmipError as e:
            ctx.id_placeholder = placeholder
            return self._error_result(item, version, e)
        except ConcurrentUpdateError:
            raise
        except Exception:
            ctx.id_placeholder = placeholder
            _log.failure("operation {operation} failed unexpectedly", operation=_op_name(item.operation))
            return self._error_result(item, version, GeneralFailure("internal error"))
        if payload is not None:
            payload.tag = Tag.RESPONSE_PAYLOAD
        return BatchResult(item.operation, item.unique_id, ResultStatus.SUCCESS, payload=payload)

    @staticmethod
    def _error_result(item: BatchItem, version: Version, error: KmipError) -> BatchResult:
        reason = error.reason_for(version)
        if not enum_value_in_version(ResultReason, reason, version):
            reason = int(ResultReason.GENERAL_FAILURE)
        return BatchResult(item.operation, item.unique_id, ResultStatus.OPERATION_FAILED, reason, error.message)

    def _encode(self, version: Version, now: int, results: list[BatchResult],
                maximum_response_size: int | None) -> Reply:
        message = build_response(version, now, results)
        removed = strip_for_version(message, version)
        if removed:
            _log.warn("removed {removed} fields undefined in KMIP {version}", removed=removed, version=version)
        data = encode(message)
        if maximum_response_size is not None and len(data) > maximum_response_size:
            for r in results:
                if r.payload is not None:
                    r.status, r.payload = ResultStatus.OPERATION_FAILED, None
                    r.reason = int(ResultReason.RESPONSE_TOO_LARGE)
                    r.message = (f"response of {len(data)} bytes exceeds Maximum Response Size "
                                 f"{maximum_response_size}")
            data = encode(build_response(version, now, results))
        return Reply(data, version=version)

    def error_reply(self, version: Version, now: int, reason: int, message: str, close: bool = False) -> Reply:
        """A response with one batch item, without Operation, reporting a message-level failure."""
        result = BatchResult(None, None, ResultStatus.OPERATION_FAILED, int(reason), message)
        return Reply(encode(build_response(version, now, [result])), close=close, version=version,
                     status=_reason_name(reason))


def _mark_undone(results: list[BatchResult]) -> None:
    for r in results:
        if r.status == ResultStatus.SUCCESS:
            r.status = ResultStatus.OPERATION_UNDONE
            r.payload = None


def _op_name(op: int | None) -> str:
    from .spec import Operation
    try:
        return Operation(op).name if op is not None else "none"
    except ValueError:
        return f"0x{op:08X}"


def _reason_name(reason: int | None) -> str:
    try:
        return ResultReason(reason).name if reason is not None else "failure"
    except ValueError:
        return f"0x{reason:08X}"


__all__ = ["Caller", "Dispatcher", "Reply", "ResponseTooLarge", "strip_for_version"]
