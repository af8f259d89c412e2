# -*- test-case-name: tests.test_dispatch,tests.test_group_commit -*-
"""The request processor: request bytes in, response bytes out (operation thread pool side).

The one place where a message is decoded, its version negotiated, its request credentials
checked, its batch items run through the operation table inside one store transaction (or none,
when no item needs the store), every failure translated into a KMIP result, the Maximum Response
Size rule applied and the response built. Everything here is blocking and runs in the service's
operation thread pool; what runs when is decided on the reactor side by
L{kmipd.dispatch.Dispatcher}.
"""

from __future__ import annotations

import functools
import struct
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from twisted.internet.interfaces import IReactorTime

import kmipd.operations  # noqa: F401  (registers the handlers)
from kmipd.log import Logger

from .asynchronous import Pending
from .audit import summarise
from .auth.identify import Caller  # callers are made by identification (kmipd.auth)
from .auth.request import check_credential_types
from .context import RequestContext, ServiceContext
from .errors import (
    FeatureNotSupported,
    GeneralFailure,
    InvalidMessage,
    KmipError,
    OperationNotSupported,
    StoreBusy,
    StoreUnavailable,
    table_reason,
)
from .limits import Limits
from .messages import (
    SUPPORTED_VERSIONS,
    BatchItem,
    BatchResult,
    Request,
    Version,
    build_response,
    encode_response,
    negotiate,
    parse_request,
)
from .node import MessageSession, NodeState, new_correlation
from .operations.registry import lookup
from .spec import BatchErrorContinuationOption, Operation, ResultReason, ResultStatus, Tag, enum_value_in_version
from .store.interface import ConcurrentUpdateError, ObjectStore
from .ttlv import DecodeError, decode, encode

_log = Logger()

#: Seconds between two "storage refused" log lines (the ones in between are counted, not logged).
STORAGE_LOG_INTERVAL = 1.0

_CONTINUE = BatchErrorContinuationOption.CONTINUE
_UNDO = BatchErrorContinuationOption.UNDO
_RETRIES = 3
_NOT_FAILED = (int(ResultStatus.SUCCESS), int(ResultStatus.OPERATION_PENDING))


class ItemOutcome(NamedTuple):
    """What the reactor side reads of one batch item's result (metrics, audit, the log line).

    No payload: a Get's key material is not kept past the encoding of its response.
    """

    operation: int | None
    status: int
    reason: int | None


@dataclass
class Reply:
    """The outcome of one request message: the one place a reply is finished.

    @ivar data: the encoded response.
    @ivar close: close the connection after sending (the stream can no longer be trusted).
    @ivar version: the version the response is encoded in.
    @ivar operations: operation names, for the request log event.
    @ivar status: overall result (the first failure's reason name, or "success").
    @ivar results: the per-item outcomes (empty for a message-level failure): operation, status and
        reason only, no payload.
    @ivar caller: who sent the request.
    @ivar received: server time (seconds) the request was taken up.
    @ivar audit: one L{kmipd.audit.ItemRecord} per batch item that ran, when the service has an audit
        trail (none otherwise: metrics read C{results}); the request's batch items (key material of a
        Register or Import) are not kept for it.
    @ivar correlation: the Server Correlation Value generated for this message (sent in 2.x
        response headers; the request log and audit events carry it).
    @ivar client_correlation: the request's Client Correlation Value, if any (2.x).
    """

    data: bytes
    close: bool = False
    version: Version | None = None
    operations: list[str] = field(default_factory=list)
    status: str = "success"
    results: list[ItemOutcome] = field(default_factory=list)
    caller: Caller | None = None
    received: int = 0
    audit: list[Any] = field(default_factory=list)
    correlation: str | None = None
    client_correlation: str | None = None


class _Undo(Exception):
    """Raised inside the transaction to roll it back (Undo, or a lone failed item)."""


@dataclass
class _Work:
    """One decoded request message (pool thread only).

    @ivar data: the encoded response, once built before the commit (Maximum Response Size).
    """

    request: Request
    version: Version
    caller: Caller
    now: int
    results: list[BatchResult] = field(default_factory=list)
    data: bytes | None = None
    session: MessageSession | None = None

    @property
    def needs_store(self) -> bool:
        """Whether any item's operation needs the store (unknown operations do not)."""
        version = self.version
        for item in self.request.items:
            entry = lookup(item.operation, version) if item.operation is not None else None
            if entry is not None and entry.needs_store:
                return True
        return False


class _NoStore:
    """The store "transaction" of a message none of whose operations needs the store."""

    def savepoint(self) -> Any:
        return nullcontext()

    def __getattr__(self, name: str) -> Any:
        # A bug (the registry entry should say needs_store=True): General Failure with a traceback.
        raise RuntimeError(f"an operation registered with needs_store=False used the store ({name})")


_NO_STORE = _NoStore()


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


def error_reply(version: Version, now: int, reason: int, message: str, close: bool = False) -> Reply:
    """A response with one batch item, without Operation, reporting a message-level failure."""
    result = BatchResult(None, None, ResultStatus.OPERATION_FAILED, int(reason), message)
    correlation = new_correlation()
    return Reply(encode(build_response(version, now, [result], correlation=correlation)), close=close,
                 version=version, status=_reason_name(reason), received=now, correlation=correlation)


def error_result(item: BatchItem, version: Version, error: KmipError) -> BatchResult:
    """The failed result of C{item} for C{error}, with a Result Reason C{version} defines."""
    reason = error.reason_for(version)
    if version >= (2, 0):
        reason = table_reason(item.operation, reason)
    if not enum_value_in_version(ResultReason, reason, version):
        reason = int(ResultReason.GENERAL_FAILURE)
    return BatchResult(item.operation, item.unique_id, ResultStatus.OPERATION_FAILED, reason, error.message)


class Processor:
    """Turns request messages into response messages (blocking; operation thread pool only).

    @param store: the object store; its transactions are opened here.
    @param service: what handlers see besides the store (policy, settings, streams, server facts).
    @param clock: C{IReactorTime}: its C{seconds()} stamps each message (time stamps and dates).
    @param limits: decoding limits (message size, depth, batch count).
    @param credentials: checks a request's Authentication credentials
        (L{kmipd.auth.request.CredentialChecker}), or C{None}: credentials are not checked.
    """

    def __init__(self, store: ObjectStore, service: ServiceContext, clock: IReactorTime, *,
                 limits: Limits = Limits(), credentials: Any = None, node: NodeState | None = None) -> None:
        self.store = store
        #: Node-local session state: asynchronous items, tickets, Object Defaults, Constraints
        #: (by default deferred items wait for a Poll after Process; the service starts them in the pool).
        self.node = node if node is not None else NodeState(seconds=clock.seconds)
        if self.node.store is None:
            self.node.store = store
        self.service = service
        self.clock = clock
        self.limits = limits
        self.credentials = credentials
        self._log_lock = threading.Lock()
        self._next_storage_log = float("-inf")
        self._suppressed = 0

    def seconds(self) -> int:
        """The current server time in whole seconds."""
        return int(self.clock.seconds())

    # Entry points --------------------------------------------------------------------------

    def process(self, data: bytes, caller: Caller) -> Reply:
        """Decode, run and encode one request message."""
        prepared = self._prepare(data, caller)
        if isinstance(prepared, Reply):
            return prepared
        self._run_alone(prepared)
        return self._finish(prepared)

    def process_many(self, messages: list[bytes], caller: Caller) -> list[Reply]:
        """L{process} each message in turn (each its own transaction); stop after a closing reply."""
        replies = []
        for data in messages:
            reply = self.process(data, caller)
            replies.append(reply)
            if reply.close:
                break
        return replies

    def process_group(self, units: list[tuple[list[bytes], Caller]]) -> list[list[Reply]]:
        """Run the messages of several connections in one store transaction.

        Each message runs in its own savepoint, so its Undo or failure rolls back only its own
        writes; the transaction commits once, after the last message, and the replies are
        returned (and so sent) only after that commit. A commit that fails fails every message
        of the group (nothing was written). A L{ConcurrentUpdateError} (the SQLite write lock
        held by another process, an optimistic check) or another storage failure while running
        rolls the group back and runs its messages one by one, each in its own transaction with
        the usual retries. Messages that need no store run outside the group's transaction.
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
                elif prepared.needs_store:
                    work.append(prepared)
                else:
                    self._run_alone(prepared)
            replies.append(out)
        if len(work) == 1:
            self._run_alone(work[0])
        elif work:
            self._run_group(work)
        return [[r if isinstance(r, Reply) else self._finish(r) for r in out] for out in replies]

    # Decoding ----------------------------------------------------------------------------------

    def _prepare(self, data: bytes, caller: Caller) -> Reply | _Work:
        """Decode and check one message: a final L{Reply} (an error) or the L{_Work} to run."""
        now = self.seconds()
        limits = self.limits
        try:
            message = decode(data, max_depth=limits.max_depth, max_size=limits.max_message_size)
            request = parse_request(message, max_batch_count=limits.max_batch_count)
        except DecodeError as e:
            return error_reply(sniff_version(data), now, ResultReason.INVALID_MESSAGE,
                               f"cannot decode message: {e}", close=True)
        except InvalidMessage as e:
            return error_reply(sniff_version(data), now, ResultReason.INVALID_MESSAGE, e.message, close=True)
        version = negotiate(request.version)
        if version is None:
            return error_reply(_closest(request.version), now, ResultReason.INVALID_MESSAGE,
                               f"protocol version {request.version[0]}.{request.version[1]} is not supported")
        work = _Work(request, version, caller, now)
        proof = None
        try:
            if request.authentication is not None:
                check_credential_types(request.authentication, version)
                if self.credentials is not None:
                    proof = self.credentials.check(request.authentication, caller, version)
            work.session, work.caller = self.node.open(request, caller)
        except KmipError as e:  # credentials, a ticket (Authentication Not Successful, ...), its store
            if isinstance(e, StoreUnavailable):
                self._log_storage_refusal(work, e)  # at most one line a second during an outage
            return error_reply(version, now, e.reason_for(version), e.message)
        work.session.server_hashed_password = proof
        if request.asynchronous_mandatory and len(request.items) > 1:
            self._fail_all(work, FeatureNotSupported(
                "Asynchronous Indicator Mandatory is supported for one batch item per request message"))
            return self._finish(work)
        return work

    # Transactions ------------------------------------------------------------------------------

    def _run_alone(self, w: _Work) -> None:
        """Run one message in its own transaction (none if it needs no store), retrying on
        concurrent-update conflicts."""
        if not w.needs_store:
            w.results, w.data = [], None
            try:
                self._run_items(_NO_STORE, w)
            except _Undo:
                _mark_undone(w.results)
            return
        for attempt in range(_RETRIES):
            w.results, w.data = [], None
            try:
                with self.store.transaction() as tx:
                    self._run_items(tx, w)
                return
            except _Undo:
                _mark_undone(w.results)
                return
            except ConcurrentUpdateError:
                if attempt == _RETRIES - 1:
                    _log.warn("giving up after {n} concurrent-update conflicts", n=_RETRIES)
                    self._fail_all(w, GeneralFailure("concurrent update conflict; retry"))
            except KmipError as e:
                self._storage_refused(w, e)
                return
            except Exception:
                _log.failure("storage failure while processing a request")
                self._fail_all(w, GeneralFailure("internal storage error"))
                return

    def _run_group(self, work: list[_Work]) -> None:
        ran = False
        try:
            with self.store.transaction() as tx:
                for w in work:
                    w.results, w.data = [], None
                    try:
                        with tx.savepoint():
                            self._run_items(tx, w)
                    except _Undo:
                        _mark_undone(w.results)
                ran = True
        except ConcurrentUpdateError:
            _log.info("group of {n} messages hit a concurrent update; running them one by one", n=len(work))
        except KmipError as e:
            if ran or isinstance(e, StoreBusy):  # busy: one by one, each would wait for the lock again
                for w in work:
                    self._storage_refused(w, e, log=w is work[0])
                return
            _log.info("storage refused a group of {n} messages ({reason}); running them one by one",
                      n=len(work), reason=e.message)
        except Exception:
            if ran:
                _log.failure("committing a group of {n} messages failed", n=len(work))
                for w in work:
                    self._fail_all(w, GeneralFailure("internal storage error"))
                return
            _log.failure("storage failure in a group of {n} messages; running them one by one", n=len(work))
        else:
            return
        for w in work:
            self._run_alone(w)

    def _storage_refused(self, w: _Work, error: KmipError, log: bool = True) -> None:
        """An expected storage failure (e.g. the database is unreachable): one line, no traceback."""
        if log:
            self._log_storage_refusal(w, error)
        self._fail_all(w, error)

    def _log_storage_refusal(self, w: _Work, error: KmipError) -> None:
        """One line per L{STORAGE_LOG_INTERVAL} at most; the next line says how many were not logged."""
        now = self.clock.seconds()
        with self._log_lock:
            if now < self._next_storage_log:
                self._suppressed += 1
                return
            self._next_storage_log = now + STORAGE_LOG_INTERVAL
            suppressed, self._suppressed = self._suppressed, 0
        _log.warn("storage refused the request: {detail} ({suppressed} more not logged)", reason=error.message,
                  detail=str(error), error=type(error).__name__, client=w.caller.identity, suppressed=suppressed)

    def _fail_all(self, w: _Work, error: KmipError) -> None:
        w.results = [error_result(b, w.version, error) for b in w.request.items]
        w.data = None

    # Batch items -------------------------------------------------------------------------------

    def _run_items(self, tx: Any, w: _Work) -> None:
        """Run the batch items of one message, appending to C{w.results}; raise L{_Undo} to roll back.

        With several items each runs in a savepoint, so a failed item leaves nothing behind while
        the others' work stands (Continue, Stop) or is rolled back with the enclosing transaction
        or savepoint (Undo). A lone item needs no savepoint of its own: if it fails, L{_Undo}
        rolls back the enclosing transaction (or the message's savepoint in a group). The
        response is built here, before the commit, and checked against the response size limits:
        what the client is told failed must not have happened.
        """
        request = w.request
        isolate = len(request.items) > 1
        service = self.service
        ctx = RequestContext(version=w.version, identity=w.caller.identity, groups=w.caller.groups, now=w.now,
                             store=tx, policy=service.policy, server=service.server, settings=service.settings,
                             streams=service.streams, audit=service.audit, limits=self.limits, session=w.session)
        failed = False
        for item in request.items:
            result = self._run_item(ctx, item, tx, isolate)
            w.results.append(result)
            if result.status not in _NOT_FAILED:
                failed = True
                if request.continuation != _CONTINUE:
                    break
        if failed and (request.continuation == _UNDO or not isolate):
            raise _Undo()
        if not self._fits(w):
            raise _Undo()

    def _run_item(self, ctx: RequestContext, item: BatchItem, tx: Any, isolate: bool) -> BatchResult:
        version = ctx.version
        if item.error is not None:
            return error_result(item, version, InvalidMessage(item.error))
        entry = lookup(item.operation, version) if item.operation is not None else None
        if entry is None:
            return error_result(item, version, OperationNotSupported(
                f"operation {_op_name(item.operation)} is not supported in KMIP {version[0]}.{version[1]}"))
        placeholder = ctx.id_placeholder
        try:
            request_payload = entry.check_request(version, item)  # the payload schema (kmipd.messages)
            if isolate:
                with tx.savepoint():
                    payload = self.node.run_item(ctx, item.operation, request_payload, entry.handler)
            else:
                payload = self.node.run_item(ctx, item.operation, request_payload, entry.handler)
        except Pending as p:
            ctx.id_placeholder = placeholder
            return BatchResult(item.operation, item.unique_id, ResultStatus.OPERATION_PENDING,
                               correlation=p.correlation)
        except KmipError as e:
            ctx.id_placeholder = placeholder
            return error_result(item, version, e)
        except ConcurrentUpdateError:
            raise
        except Exception:
            ctx.id_placeholder = placeholder
            _log.failure("operation {operation} failed unexpectedly", operation=_op_name(item.operation))
            return error_result(item, version, GeneralFailure("internal error"))
        if payload is not None:
            payload.tag = Tag.RESPONSE_PAYLOAD
        return BatchResult(item.operation, item.unique_id, ResultStatus.SUCCESS, payload=payload)

    # Responses ---------------------------------------------------------------------------------

    def _fits(self, w: _Work) -> bool:
        """The one response size rule: build the response; if it is larger than the client's Maximum
        Response Size or the server's C{max_response_size}, fail the items."""
        client, server = w.request.maximum_response_size, self.limits.max_response_size
        limit = server if client is None else min(client, server)
        data = self._encode(w)
        if len(data) <= limit:
            w.data = data
            return True
        for r in w.results:
            if r.status in _NOT_FAILED:
                r.status, r.payload, r.correlation = ResultStatus.OPERATION_FAILED, None, None
                r.reason = int(ResultReason.RESPONSE_TOO_LARGE)
                r.message = f"response of {len(data)} bytes exceeds Maximum Response Size {limit}"
        return False

    def _encode(self, w: _Work) -> bytes:
        """Build, strip to the version and encode C{w}'s response (the one response build)."""
        session = w.session
        data, removed = encode_response(w.version, w.now, w.results,
                                        correlation=session.correlation if session is not None else None,
                                        server_hashed_password=session.server_hashed_password if session else None)
        if removed:
            _log.warn("removed {removed} fields undefined in KMIP {version}", removed=removed, version=w.version)
        return data

    def _finish(self, w: _Work) -> Reply:
        """The reply of a processed message (every request that ran ends here)."""
        if w.session is None:
            w.session = MessageSession(self.node, new_correlation())
        data = w.data if w.data is not None else self._encode(w)
        self.node.settle(w.session, w.results)  # start the deferred work the client is told is Pending
        failures = [r for r in w.results if r.status not in _NOT_FAILED]
        return Reply(data, version=w.version, operations=[_op_name(b.operation) for b in w.request.items],
                     status=_reason_name(failures[0].reason) if failures else "success",
                     results=[ItemOutcome(r.operation, r.status, r.reason) for r in w.results],
                     caller=w.caller, received=w.now,
                     # ops: audit records, computed in the pool when the service has an audit trail
                     audit=summarise(w.request.items, w.results) if self.service.audit is not None else [],
                     correlation=w.session.correlation, client_correlation=w.request.client_correlation)


def _mark_undone(results: list[BatchResult]) -> None:
    """Items that ran before an Undo report Operation Undone and keep their Response Payload: the
    payload is required unless the item failed (2.1 Table 399; Undone is not a failure, 9.19), as
    the 2.1 profile vector BL-M-2 expects. A Pending item's deferred work is dropped with the rest
    (L{NodeState.settle}), so its Asynchronous Correlation Value goes."""
    for r in results:
        if r.status in _NOT_FAILED:
            r.status = ResultStatus.OPERATION_UNDONE
            r.correlation = None


@functools.lru_cache(maxsize=1024)
def _op_name(op: int | None) -> str:
    try:
        return Operation(op).name if op is not None else "none"
    except ValueError:
        return f"0x{op:08X}"


@functools.lru_cache(maxsize=1024)
def _reason_name(reason: int | None) -> str:
    try:
        return ResultReason(reason).name if reason is not None else "failure"
    except ValueError:
        return f"0x{reason:08X}"


__all__ = ["Caller", "ItemOutcome", "Processor", "Reply", "error_reply", "error_result", "sniff_version"]
