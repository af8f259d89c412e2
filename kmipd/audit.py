# -*- test-case-name: tests.test_audit -*-
"""The audit trail: one JSON line per KMIP operation, written off the reactor thread.

Who did what to which object, and how it ended. Every batch item of every request message
(and every refused client) becomes one event; see C{docs/audit.md} for the fields. Events name
objects by Unique Identifier only: key material, passwords and wrapped keys are never read
into an event (they are never looked at: only identifier fields of the payloads are).

The trail is a L{AuditTrail} service: C{emit} is non-blocking and thread-safe (pool threads and
the reactor both call it); a dedicated writer thread appends the lines to C{audit_log_path}
(reopened on C{SIGHUP}, for logrotate) and, optionally, sends them to syslog. At most
C{audit_queue_size} events wait for the writer: when it is that far behind (a stuck or very slow
disk or syslog) further events are dropped, counted (C{kmipd_audit_events_dropped_total}) and
reported by an ERROR log at most once per L{OVERFLOW_LOG_INTERVAL} (see C{docs/audit.md}).

The transports call L{request_done} once per reply; the 2.x Log operation calls L{client_log}.
"""

from __future__ import annotations

import functools
import json
import logging
import logging.handlers
import os
import queue
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, succeed
from twisted.logger import ILogObserver, globalLogPublisher
from zope.interface import implementer

from kmipd.log import Logger

from .spec import Operation, ResultReason, ResultStatus, Tag

_log = Logger()

__all__ = ["AuditTrail", "ItemRecord", "client_log", "request_done", "summarise", "refused"]

#: Payload fields that name managed objects (the only fields an audit record reads).
_ID_TAGS = frozenset({int(Tag.UNIQUE_IDENTIFIER), int(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER),
                      int(Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER)})
#: Operations whose successful response names objects they created.
_CREATING = frozenset(int(op) for op in (
    Operation.CREATE, Operation.CREATE_KEY_PAIR, Operation.REGISTER, Operation.DERIVE_KEY,
    Operation.RE_KEY, Operation.RE_KEY_KEY_PAIR, Operation.CERTIFY, Operation.RE_CERTIFY,
    Operation.CREATE_SPLIT_KEY, Operation.JOIN_SPLIT_KEY, Operation.IMPORT))
#: Most identifiers recorded per payload (a Locate may answer thousands).
MAX_IDS = 100
#: Default most events waiting for the writer thread (C{audit_queue_size}).
DEFAULT_QUEUE_SIZE = 10000
#: Seconds between two ERROR logs about dropped events.
OVERFLOW_LOG_INTERVAL = 60.0


@dataclass(frozen=True)
class ItemRecord:
    """What one batch item did, computed in the pool thread (see L{summarise})."""

    operation: str
    status: str
    reason: str | None = None
    message: str | None = None
    objects: tuple[str, ...] = ()
    created: tuple[str, ...] = ()
    destroyed: tuple[str, ...] = ()


def _ids(payload: Any) -> list[str]:
    """The object identifiers among C{payload}'s direct fields (never anything else)."""
    if payload is None or not isinstance(getattr(payload, "value", None), list):
        return []
    found = [child.value for child in payload.value
             if child.tag in _ID_TAGS and isinstance(child.value, str)]
    return found[:MAX_IDS]


def _name(enum: Any, value: int | None, default: str) -> str:
    if value is None:
        return default
    try:
        return str(enum(value).name)
    except ValueError:
        return f"0x{value:08X}"


def summarise(items: Sequence[Any], results: Sequence[Any], *, identifiers: bool = True) -> list[ItemRecord]:
    """One L{ItemRecord} per batch item result (C{items}: the request's L{BatchItem}s).

    @param identifiers: with C{False} only operation, status and reason (what the metrics count):
        no payload is read and C{items} may be empty.
    """
    records = []
    for index, result in enumerate(results):
        ok = result.status == ResultStatus.SUCCESS
        op = result.operation
        operation = _cached_name(Operation, op, "none")
        status = _cached_name(ResultStatus, result.status, "none")
        reason = None if ok else _cached_name(ResultReason, result.reason, "none")
        if not identifiers:
            records.append(ItemRecord(operation, status, reason))
            continue
        request_payload = items[index].payload if index < len(items) else None
        asked = _ids(request_payload)
        # an undone item keeps its payload (Table 399): a uid it made no longer exists
        answered = _ids(result.payload) if result.status != ResultStatus.OPERATION_UNDONE else []
        records.append(ItemRecord(
            operation=operation,
            status=status,
            reason=reason,
            message=None if ok else result.message,
            objects=tuple(dict.fromkeys(asked + answered)),
            created=tuple(u for u in answered if u not in asked) if ok and op in _CREATING else (),
            destroyed=tuple(answered or asked) if ok and op == Operation.DESTROY else (),
        ))
    return records


@functools.lru_cache(maxsize=1024)
def _cached_name(enum: Any, value: int | None, default: str) -> str:
    return _name(enum, value, default)


def _message_failure(reply: Any) -> ItemRecord:
    return ItemRecord("none", "OPERATION_FAILED" if reply.status != "success" else "SUCCESS",
                      None if reply.status == "success" else reply.status)


def outcomes(reply: Any) -> list[ItemRecord]:
    """What the metrics count of C{reply}: L{summarise} without identifiers, or the message-level
    failure when no batch item ran."""
    return summarise((), getattr(reply, "results", None) or (), identifiers=False) or [_message_failure(reply)]


def _now_iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _version(version: Any) -> str | None:
    return f"{version[0]}.{version[1]}" if version else None


_ADDRESS = re.compile(r"host='([^']*)', port=(\d+)")


def peer_text(peer: Any) -> str:
    """C{host:port} (C{[host]:port} for IPv6) of an address object or its C{str}; else C{str(peer)}."""
    host, port = getattr(peer, "host", None), getattr(peer, "port", None)
    if host is None or port is None:
        match = _ADDRESS.search(str(peer))
        if match is None:
            return str(peer)
        host, port = match.group(1), match.group(2)
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def request_done(services: dict[str, Any] | None, reply: Any, caller: Any, *, peer: Any, transport: str,
                 duration: float) -> None:
    """Record one answered request message (reactor thread; cheap: the writes happen elsewhere).

    @param services: the dispatcher's C{services} (the trail is C{services["audit"]}, the metrics
        C{services["metrics"]}); a dispatcher without them records nothing.
    @param reply: the dispatcher's L{kmipd.dispatch.Reply}.
    @param caller: the connection's L{kmipd.dispatch.Caller}, or C{None}.
    @param transport: C{"ttlv"} or C{"https"}.
    @param duration: seconds from the message's arrival to its reply.
    """
    if not services:
        return
    metrics = services.get("metrics")
    trail = services.get("audit")
    if trail is None:  # metrics only: no audit records (object identifiers) needed
        if metrics is not None:
            metrics.request_done(outcomes(reply), _version(reply.version), transport, duration)
        return
    # Built in the pool (the processor's service shares this trail, see kmipd.monitoring); without
    # them (a message-level failure, or a processor not told of the trail) the identifier-less ones.
    records: list[ItemRecord] = list(getattr(reply, "audit", None) or ()) or outcomes(reply)
    if metrics is not None:
        metrics.request_done(records, _version(reply.version), transport, duration)
    correlation = getattr(reply, "correlation", None) or uuid.uuid4().hex
    identity = getattr(caller, "identity", None)
    groups = getattr(caller, "groups", None)
    for index, record in enumerate(records):
        trail.emit({
            "event": "kmip.operation",
            "client": identity,
            "groups": list(groups) if groups is not None else None,
            "peer": peer_text(peer),
            "transport": transport,
            "version": _version(reply.version),
            "operation": record.operation,
            "batch_index": index,
            "objects": list(record.objects),
            "created": list(record.created),
            "destroyed": list(record.destroyed),
            "status": record.status,
            "reason": record.reason,
            "message": record.message,
            "duration_ms": round(duration * 1000.0, 3),
            "correlation": correlation,
        })


def refused(services: dict[str, Any] | None, *, peer: Any, transport: str, reason: str,
            client: str | None = None) -> None:
    """Record a client refused before any operation ran (no or a bad certificate, SLUGS refusal)."""
    trail = (services or {}).get("audit")
    metrics = (services or {}).get("metrics")
    if metrics is not None:
        metrics.client_refused(transport)
    if trail is not None:
        trail.emit({"event": "kmip.refused", "client": client, "peer": peer_text(peer), "transport": transport,
                    "status": "OPERATION_FAILED", "reason": "AUTHENTICATION_NOT_SUCCESSFUL",
                    "message": reason})


def client_log(ctx: Any, message: str) -> bool:
    """The 2.x Log operation: write the client's C{message} into the audit trail.

    Events logged with C{twisted.logger} in the C{kmipd.audit} namespace with
    C{audit_event="client_log"} (and C{client}, C{log_message}, C{correlation} fields) reach the
    trail too (see L{AuditTrail}).

    @param ctx: the operation's L{kmipd.context.RequestContext} (the trail is
        C{ctx.audit}; the correlation values come from C{ctx.session} when it has one).
    @return: whether a trail received it (C{False} when no C{audit_log_path} is configured).
    """
    trail = getattr(ctx, "audit", None)
    if trail is None:
        return False
    session = getattr(ctx, "session", None)
    event = {"event": "kmip.client_log", "client": ctx.identity,
             "groups": list(ctx.groups) if ctx.groups is not None else None,
             "version": _version(ctx.version), "message": str(message)[:MAX_LOG_MESSAGE]}
    if session is not None:
        event["correlation"] = getattr(session, "correlation", None)
        event["client_correlation"] = getattr(session, "client_correlation", None)
    trail.emit(event)
    return True


#: The log namespace whose C{audit_event} events become audit events (see L{AuditTrail}).
AUDIT_NAMESPACE = "kmipd.audit"
#: The longest client Log Message kept.
MAX_LOG_MESSAGE = 4096


def audit_event_from_log(event: dict[str, Any]) -> dict[str, Any] | None:
    """The audit event for a C{twisted.logger} event of the C{kmipd.audit} namespace, or C{None}."""
    if event.get("log_namespace") != AUDIT_NAMESPACE or event.get("audit_event") != "client_log":
        return None
    return {"event": "kmip.client_log", "client": event.get("client"),
            "message": str(event.get("log_message", ""))[:MAX_LOG_MESSAGE],
            "correlation": event.get("correlation"), "client_correlation": event.get("client_correlation")}


class _Marker:
    """A queue entry that is not an event: a reopen request, a flush point or the end."""

    def __init__(self, kind: str, deferred: Deferred | None = None) -> None:
        self.kind = kind
        self.deferred = deferred


@implementer(ILogObserver)
class _NamespaceObserver:
    """Forwards audit events logged in the C{kmipd.audit} namespace to a trail."""

    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail

    def __call__(self, event: dict[str, Any]) -> None:
        audit_event = audit_event_from_log(event)
        if audit_event is not None:
            self.trail.emit(audit_event)


class AuditTrail(Service):
    """Writes audit events as JSON lines to a file and/or syslog, from its own thread.

    @param path: the JSON-lines file (created 0600, appended to), or C{None}.
    @param syslog_address: a syslog socket path (C{/dev/log}) or C{(host, port)} for UDP, or
        C{None} for no syslog.
    @param reactor: for handing completion back to the reactor thread.
    @param seconds: the clock for event times.
    @param queue_size: most events waiting for the writer; more are dropped (and counted).
    @ivar dropped: events dropped because C{queue_size} events were already waiting.
    """

    name: str | None = "kmipd-audit"  # type: ignore[assignment]

    def __init__(self, path: str | None, *, syslog_address: str | tuple[str, int] | None = None,
                 reactor: Any, seconds: Callable[[], float] = time.time,
                 queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.path = path
        self.syslog_address = syslog_address
        self.reactor = reactor
        self.seconds = seconds
        self.queue_size = queue_size
        self.dropped = 0
        self._waiting = 0  # events queued, not yet written (guarded by _count_lock)
        self._count_lock = threading.Lock()
        self._unreported = 0  # dropped since the last ERROR log
        self._gap = 0  # dropped since the last event accepted
        self._gap_start = 0.0
        self._last_report: float | None = None
        self._queue: queue.SimpleQueue[dict[str, Any] | _Marker] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._file: Any = None
        self._syslog: logging.Logger | None = None
        self._previous_sighup: Any = None
        self.written = 0
        self.failures = 0
        self._observer = _NamespaceObserver(self)

    # Any thread -------------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """Events queued and not yet written."""
        return self._waiting

    @property
    def behind(self) -> bool:
        """Whether C{queue_size} events wait for the writer (the next one would be dropped)."""
        return self._waiting >= self.queue_size

    def emit(self, event: dict[str, Any]) -> None:
        """Queue one event (never blocks); the time is stamped now.

        When C{queue_size} events already wait for the writer the event is dropped and counted;
        the next event accepted is preceded by an C{audit.dropped} event saying how many were lost
        and since when, so the file itself shows the gap.
        """
        now = self.seconds()
        gap = report = 0
        with self._count_lock:  # held for a few integer operations only, never around I/O
            accepted = self._waiting < self.queue_size
            if accepted:
                gap, self._gap = self._gap, 0
                self._waiting += 2 if gap else 1
            else:
                self.dropped += 1
                self._unreported += 1
                if not self._gap:
                    self._gap_start = now
                self._gap += 1
                if self._last_report is None or now - self._last_report >= OVERFLOW_LOG_INTERVAL:
                    report, self._unreported, self._last_report = self._unreported, 0, now
        if accepted:
            if gap:
                self._queue.put({"time": _now_iso(now), "event": "audit.dropped", "dropped": gap,
                                 "since": _now_iso(self._gap_start)})
            self._queue.put({"time": _now_iso(now), **event})
        elif report:
            self.reactor.callFromThread(
                _log.error, "audit trail behind: {count} audit event(s) dropped ({total} in all): {size} events "
                "already wait for the writer (audit_log_path or syslog stuck or too slow; audit_queue_size "
                "bounds the wait)", count=report, total=self.dropped, size=self.queue_size)

    def reopen(self) -> None:
        """Close and reopen the file before the next event (after logrotate moved it)."""
        self._queue.put(_Marker("reopen"))

    # Reactor thread ---------------------------------------------------------------------------

    def flushed(self) -> Deferred[None]:
        """Fires once every event emitted so far is written."""
        if self._thread is None:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._queue.put(_Marker("flush", d))
        return d

    def startService(self) -> None:
        super().startService()
        self._thread = threading.Thread(target=self._run, name="kmipd-audit", daemon=True)
        self._thread.start()
        globalLogPublisher.addObserver(self._observer)
        if self.path and threading.current_thread() is threading.main_thread():
            try:
                self._previous_sighup = signal.signal(signal.SIGHUP, self._sighup)
            except (ValueError, OSError):  # pragma: no cover - no SIGHUP on this platform
                self._previous_sighup = None

    def stopService(self) -> Deferred[None]:
        super().stopService()
        globalLogPublisher.removeObserver(self._observer)
        if self._previous_sighup is not None:
            if signal.getsignal(signal.SIGHUP) == self._sighup:
                signal.signal(signal.SIGHUP, self._previous_sighup)
            self._previous_sighup = None
        if self._thread is None:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._queue.put(_Marker("stop", d))
        self._thread = None
        return d

    def _sighup(self, signum: int, frame: Any) -> None:
        self.reopen()
        previous = self._previous_sighup
        if callable(previous):
            previous(signum, frame)

    # Writer thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        self._open()
        while True:
            entry = self._queue.get()
            if isinstance(entry, _Marker):
                if entry.kind == "reopen":
                    self._close()
                    self._open()
                    continue
                if entry.kind == "stop":
                    self._close()
                if entry.deferred is not None:
                    self.reactor.callFromThread(entry.deferred.callback, None)
                if entry.kind == "stop":
                    return
                continue
            try:
                self._write(entry)
            finally:
                with self._count_lock:
                    self._waiting -= 1

    def _open(self) -> None:
        if self.path:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                self._file = os.fdopen(fd, "a", encoding="utf-8")
            except OSError as e:
                self._file = None
                self.reactor.callFromThread(_log.error, "cannot open the audit log {path}: {error}",
                                            path=self.path, error=str(e))
        if self.syslog_address is not None and self._syslog is None:
            handler = logging.handlers.SysLogHandler(address=self.syslog_address,
                                                     facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV)
            handler.setFormatter(logging.Formatter("kmipd-audit: %(message)s"))
            logger = logging.getLogger(f"kmipd.audit.{id(self)}")
            logger.propagate = False
            logger.setLevel(logging.INFO)
            logger.addHandler(handler)
            self._syslog = logger

    def _close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None
        if self._syslog is not None:
            for handler in list(self._syslog.handlers):
                handler.close()
                self._syslog.removeHandler(handler)
            self._syslog = None

    def _write(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, separators=(",", ":"), default=str)
        try:
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()
            if self._syslog is not None:
                self._syslog.info(line)
            self.written += 1
        except (OSError, ValueError) as e:
            self.failures += 1
            self.reactor.callFromThread(_log.error, "cannot write the audit log: {error}", error=str(e))


def read_events(path: str) -> Iterable[dict[str, Any]]:
    """The events of an audit file, in order (for C{kmipd-admin} and tests)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)
