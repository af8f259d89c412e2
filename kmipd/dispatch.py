# -*- test-case-name: tests.test_group_commit,tests.test_dispatch -*-
"""The scheduler: when each request message runs in the operation thread pool (reactor side).

One policy, parameterised by what the store declares (C{serialises_writers}, see
L{kmipd.store.interface.ObjectStore}):

  - Messages whose operations all need no store (Query, Discover Versions, RNG, Hash: the
    registry's C{needs_store}) go to the pool at once and never queue behind store work.
  - Store work runs in at most L{Scheduling.store_jobs} pool jobs at once; the rest waits here,
    in one queue, in arrival order.
  - For a store whose writers serialise anyway and whose commit is expensive (SQLite; the
    in-memory store, whose work is all CPU under the GIL), the queued messages of every
    connection run as one group: one transaction, each message in its own savepoint, one commit,
    and only then every reply (L{kmipd.processor.Processor.process_group}). A second group starts
    only when the running one has been busy for C{spill_after} seconds (a slow key generation
    must not hold everybody up).
  - For other stores (PostgreSQL, MariaDB), each connection's run of pipelined messages is one
    job, up to C{store_jobs} (the operation pool's size) at once.

The pool itself keeps extra threads beyond C{store_jobs} for the store-free messages, so they
answer even while every store job is stuck on an unreachable database.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from .limits import Limits
from .messages import Version
from .operations.registry import REGISTRY
from .processor import Caller, Processor, Reply, error_reply, sniff_version
from .spec import CredentialType, Operation, QueryFunction, Tag
from .ttlv import ItemType

#: Most request messages run in one group-commit transaction.
MAX_GROUP = 64
#: Seconds queued store work waits behind a running group before a second group starts.
SPILL_AFTER = 0.05
#: Pool threads kept for messages that need no store, beyond the store jobs.
DIRECT_THREADS = 2


@dataclass(frozen=True)
class Scheduling:
    """How store work is scheduled (see the module docstring).

    @ivar group_commit: run queued messages as groups sharing one transaction.
    @ivar store_jobs: most store jobs in the pool at once (groups, or connections' runs).
    @ivar spill_after: with C{group_commit}, seconds queued work waits behind a running group
        before another one starts.
    @ivar max_group: most messages in one group.
    """

    group_commit: bool = False
    store_jobs: int = 8
    spill_after: float = SPILL_AFTER
    max_group: int = MAX_GROUP

    @classmethod
    def for_store(cls, store: Any, pool_size: int) -> Scheduling:
        """The policy for C{store} with C{pool_size} operation threads for store work."""
        if getattr(store, "serialises_writers", False):
            return cls(group_commit=True, store_jobs=min(2, max(1, pool_size)))
        return cls(group_commit=False, store_jobs=max(1, pool_size))


@dataclass
class _Pending:
    """Messages of one connection waiting for the store (reactor thread only)."""

    messages: list[bytes]
    caller: Caller
    deferred: Deferred


class Dispatcher:
    """Hands request messages to the L{Processor} in the operation pool (reactor thread only).

    @param processor: runs messages (blocking).
    @param run_blocking: C{run_blocking(f, *args) -> Deferred}: runs C{f} in the operation pool.
    @param clock: the reactor's C{IReactorTime} (spill timer, time stamps of early refusals).
    @param scheduling: the store work policy (L{Scheduling.for_store}).
    @ivar services: transport-side hooks found by name (C{"audit"}: the L{kmipd.audit.AuditTrail},
        C{"metrics"}: the L{kmipd.metrics.Metrics}; see L{kmipd.monitoring}); handlers never see them
        (they get L{kmipd.settings.Settings}).
    """

    def __init__(self, processor: Processor, run_blocking: Callable[..., Deferred], clock: IReactorTime,
                 scheduling: Scheduling = Scheduling()) -> None:
        self.processor = processor
        self.run_blocking = run_blocking
        self.clock = clock
        self.scheduling = scheduling
        self.services: dict[str, Any] = {}
        self._pending: list[_Pending] = []
        self._running = 0
        self._delivering = False
        self._spill_timer: Any = None

    @property
    def limits(self) -> Limits:
        """The processor's decoding limits (the transports frame with the same ones)."""
        return self.processor.limits

    @property
    def group_commit(self) -> bool:
        return self.scheduling.group_commit

    def seconds(self) -> float:
        """The current server time."""
        return self.clock.seconds()

    def error_reply(self, version: Version, now: int, reason: int, message: str, close: bool = False) -> Reply:
        """A message-level failure reply (see L{kmipd.processor.error_reply})."""
        return error_reply(version, now, reason, message, close)

    def handle(self, data: bytes, caller: Caller) -> Deferred[Reply]:
        """Process one framed request message; the Deferred fires with its L{Reply}."""
        return self.handle_many([data], caller).addCallback(_first)  # through handle_many: subclasses gate it

    def handle_many(self, messages: list[bytes], caller: Caller) -> Deferred[list[Reply]]:
        """Process several pipelined messages of one connection, in order, in one pool hand-off."""
        if not any(needs_store(m, self.limits.max_batch_count) for m in messages):
            return self.run_blocking(self.processor.process_many, messages, caller)
        d: Deferred = Deferred()
        self._pending.append(_Pending(list(messages), caller, d))
        self._maybe_start()
        return d

    # Store work ----------------------------------------------------------------------------

    def _maybe_start(self) -> None:
        policy = self.scheduling
        while not self._delivering and self._pending:
            if self._running == 0 or (not policy.group_commit and self._running < policy.store_jobs):
                self._start()
                continue
            if policy.group_commit and self._running < policy.store_jobs and self._spill_timer is None:
                self._spill_timer = self.clock.callLater(policy.spill_after, self._spill)
            return

    def _spill(self) -> None:
        """Work has waited C{spill_after} behind a running group: start another one."""
        self._spill_timer = None
        if self._pending and self._running < self.scheduling.store_jobs:
            self._start()
        self._maybe_start()

    def _start(self) -> None:
        """One pool job: a group (up to C{max_group} messages, whole connections' runs) or one run."""
        units = [self._pending.pop(0)]
        if self.scheduling.group_commit:
            count, limit = len(units[0].messages), self.scheduling.max_group
            while self._pending and count + len(self._pending[0].messages) <= limit:
                count += len(self._pending[0].messages)
                units.append(self._pending.pop(0))
            d = self.run_blocking(self.processor.process_group, [(u.messages, u.caller) for u in units])
        else:
            d = self.run_blocking(self.processor.process_many, units[0].messages, units[0].caller)
        self._running += 1
        d.addBoth(self._done, units, self.scheduling.group_commit)

    def _done(self, outcome: list[list[Reply]] | list[Reply] | Failure, units: list[_Pending], grouped: bool) -> None:
        """Fire every reply of a finished job, then start what queued up meanwhile as one job."""
        self._running -= 1
        self._delivering = True  # replies trigger the connections' next requests: collect them
        try:
            for i, unit in enumerate(units):
                if isinstance(outcome, Failure):
                    unit.deferred.errback(outcome)
                else:
                    unit.deferred.callback(outcome[i] if grouped else outcome)  # one unit when not grouped
        finally:
            self._delivering = False
        self._maybe_start()

    def stop(self) -> None:
        """Cancel the spill timer (the service is stopping)."""
        if self._spill_timer is not None and self._spill_timer.active():
            self._spill_timer.cancel()
        self._spill_timer = None


def _first(replies: list[Reply]) -> Reply:
    return replies[0]


# Store-free messages, recognised without decoding ---------------------------------------------

_HEADER = struct.Struct(">II")
_REQUEST_MESSAGE = int(Tag.REQUEST_MESSAGE)
_BATCH_ITEM = int(Tag.BATCH_ITEM)
_OPERATION = int(Tag.OPERATION)
_REQUEST_HEADER = int(Tag.REQUEST_HEADER)
_REQUEST_PAYLOAD = int(Tag.REQUEST_PAYLOAD)
_AUTHENTICATION = int(Tag.AUTHENTICATION)
_CREDENTIAL = int(Tag.CREDENTIAL)
_CREDENTIAL_TYPE = int(Tag.CREDENTIAL_TYPE)
_QUERY_FUNCTION = int(Tag.QUERY_FUNCTION)
_QUERY = int(Operation.QUERY)
_DEFAULTS = int(QueryFunction.QUERY_DEFAULTS_INFORMATION)
#: Credentials checked against the database (the ticket; the last Hashed Password Timestamp).
_STORE_CREDENTIALS = frozenset({int(CredentialType.TICKET), int(CredentialType.HASHED_PASSWORD)})
#: Most fields looked at in a header, an Authentication, a Credential or a batch item.
_HEADER_FIELDS = 64
#: Most Query Functions looked at in one Query request payload.
_QUERY_FUNCTIONS = 256
_STRUCTURE = int(ItemType.STRUCTURE)
_ENUMERATION = int(ItemType.ENUMERATION)


def needs_store(data: bytes, max_items: int) -> bool:
    """Whether the message in C{data} may need the store.

    A message needs it when one of its operations does (the registry's C{needs_store}), when its
    header carries a Ticket or Hashed Password credential (the ticket and the last Timestamp are in
    the database), and for a Query asking for Defaults Information (read from the database).
    Reads only item headers (a few per batch item, at most C{max_items} batch items), so it is
    cheap enough for the reactor thread; anything unexpected answers C{True}: the processor then
    decodes the message properly and refuses it if it is malformed.
    """
    try:
        return _needs_store(data, max_items)
    except struct.error:
        return True


def _needs_store(data: bytes, max_items: int) -> bool:
    tag, kind, length = _read(data, 0)
    if tag != _REQUEST_MESSAGE or kind != _STRUCTURE or length + 8 != len(data):
        return True
    items = 0
    for tag, kind, start, end in _children(data, 8, len(data), max_items + 2):
        if tag == _REQUEST_HEADER:
            if kind != _STRUCTURE or _credentials_need_store(data, start, end):
                return True
        elif tag == _BATCH_ITEM:
            items += 1
            if kind != _STRUCTURE or items > max_items or _item_needs_store(data, start, end):
                return True
    return items == 0


def _children(data: bytes, start: int, end: int, limit: int) -> Iterator[tuple[int, int, int, int]]:
    """(tag, type, value start, value end) of the items in C{data[start:end]}; C{struct.error} when
    they do not fit exactly or there are more than C{limit}."""
    offset = start
    for _ in range(limit):
        if offset >= end:
            return
        tag, kind, length = _read(data, offset)
        value_end = offset + 8 + length
        offset += 8 + _padded(kind, length)
        if offset > end:
            raise struct.error("item beyond its structure")
        yield tag, kind, value_end - length, value_end
    if offset < end:
        raise struct.error("too many items")


def _enum(data: bytes, kind: int, start: int, end: int) -> int:
    if kind != _ENUMERATION or end - start != 4:
        raise struct.error("not an enumeration")
    return int(struct.unpack_from(">I", data, start)[0])


def _credentials_need_store(data: bytes, start: int, end: int) -> bool:
    """Whether the Request Header carries a credential checked against the database."""
    for tag, kind, a_start, a_end in _children(data, start, end, _HEADER_FIELDS):
        if tag != _AUTHENTICATION:
            continue
        if kind != _STRUCTURE:
            return True
        for c_tag, c_kind, c_start, c_end in _children(data, a_start, a_end, _HEADER_FIELDS):
            if c_tag != _CREDENTIAL:
                continue
            if c_kind != _STRUCTURE:
                return True
            for t_tag, t_kind, t_start, t_end in _children(data, c_start, c_end, _HEADER_FIELDS):
                if t_tag == _CREDENTIAL_TYPE and _enum(data, t_kind, t_start, t_end) in _STORE_CREDENTIALS:
                    return True
    return False


def _item_needs_store(data: bytes, start: int, end: int) -> bool:
    """Whether one batch item needs the store: its operation, or Query's Defaults Information."""
    operation = None
    for tag, kind, i_start, i_end in _children(data, start, end, _HEADER_FIELDS):
        if tag == _OPERATION:
            operation = _enum(data, kind, i_start, i_end)
            entry = REGISTRY.get(operation)
            if entry is None or entry.needs_store:
                return True
        elif tag == _REQUEST_PAYLOAD and operation is None:
            return True  # the Operation comes first
        elif tag == _REQUEST_PAYLOAD and operation == _QUERY:
            if kind != _STRUCTURE:
                return True
            for p_tag, p_kind, p_start, p_end in _children(data, i_start, i_end, _QUERY_FUNCTIONS):
                if p_tag == _QUERY_FUNCTION and _enum(data, p_kind, p_start, p_end) == _DEFAULTS:
                    return True
    return operation is None


def _read(data: bytes, offset: int) -> tuple[int, int, int]:
    word, length = _HEADER.unpack_from(data, offset)
    return word >> 8, word & 0xFF, length


def _padded(kind: int, length: int) -> int:
    return length if kind == _STRUCTURE else (length + 7) // 8 * 8


__all__ = ["Caller", "Dispatcher", "Reply", "Scheduling", "needs_store", "sniff_version"]
