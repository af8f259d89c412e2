# -*- test-case-name: tests.operations.test_asynchronous -*-
"""Asynchronous batch items: deferred work, its results kept for Poll, Cancel and Process.

A request whose header allows asynchronous processing (1.x Asynchronous Indicator True, 2.x
Optional or Mandatory) may have an item answered with Result Status Pending and an Asynchronous
Correlation Value instead of its result. kmipd defers only what is slow (L{SLOW}: RSA key pairs of
3072 bits or more, Certify) when the client makes it Optional, and every item when it is
Mandatory. The deferred item runs later in the operation pool, in its own store transaction,
through the same handler it would have run synchronously; its outcome (response payload or
KMIP error) is kept for Poll.

Kept state is per node and in memory (a restart forgets pending work, a Poll then answers
Invalid Asynchronous Correlation Value): at most L{AsyncWork.max_jobs} jobs, and a finished
result is forgotten L{AsyncWork.keep_for} seconds after it finished, or when polled.

Thread safety: every method may run on any operation pool thread; the job table is guarded by
one lock, and a job runs at most once (whoever claims it first: the pool, or a Poll after
Process).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from .errors import FailureOf, FeatureNotSupported, KmipError, PermissionDenied
from .log import Logger
from .spec import CancellationResult, CryptographicAlgorithm, Operation, ProcessingStage, Tag
from .ttlv import Item

_log = Logger()

#: Operations whose responses SHALL NOT be asynchronous (2.1 6.1.5, 6.1.38, 6.1.39, 6.1.41).
NEVER_ASYNCHRONOUS = frozenset({Operation.POLL, Operation.CANCEL, Operation.PROCESS,
                                Operation.QUERY_ASYNCHRONOUS_REQUESTS})


def _large_rsa(payload: Item | None) -> bool:
    """A Create Key Pair for RSA of 3072 bits or more (seconds of prime search)."""
    if payload is None:
        return False
    algorithm = length = None
    for node in payload.walk():
        if node.tag == Tag.CRYPTOGRAPHIC_ALGORITHM and isinstance(node.value, int):
            algorithm = node.value
        elif node.tag == Tag.CRYPTOGRAPHIC_LENGTH and isinstance(node.value, int):
            length = node.value
    if algorithm is None or length is None:
        algorithm, length = _template_1x(payload, algorithm, length)
    return algorithm == CryptographicAlgorithm.RSA and isinstance(length, int) and length >= 3072


def _template_1x(payload: Item, algorithm: Any, length: Any) -> tuple[Any, Any]:
    """Algorithm and length from 1.x C{Attribute} (name, value) pairs."""
    for node in payload.walk():
        if node.tag != Tag.ATTRIBUTE:
            continue
        name, value = node.get(Tag.ATTRIBUTE_NAME), node.get(Tag.ATTRIBUTE_VALUE)
        if name == "Cryptographic Algorithm" and algorithm is None:
            algorithm = value
        elif name == "Cryptographic Length" and length is None:
            length = value
    return algorithm, length


SLOW: dict[int, Callable[[Item | None], bool]] = {
    Operation.CREATE_KEY_PAIR: _large_rsa,
    Operation.CERTIFY: lambda payload: True,
}
"""Operation -> predicate on its request payload: worth deferring when the client allows it."""


class Pending(Exception):
    """Raised by L{AsyncWork.run} (and Poll): answer the item with Result Status Pending."""

    def __init__(self, correlation: bytes) -> None:
        super().__init__("pending")
        self.correlation = correlation


class InvalidAsynchronousCorrelationValue(KmipError):
    """No pending or kept work has that Asynchronous Correlation Value (2.x 0x2B; 1.x Invalid Field)."""

    reason = 0x07
    reason_v2 = 0x2B


class _State(IntEnum):
    SUBMITTED = ProcessingStage.SUBMITTED
    IN_PROCESS = ProcessingStage.IN_PROCESS
    COMPLETED = ProcessingStage.COMPLETED


@dataclass
class AsyncJob:
    """One deferred batch item."""

    correlation: bytes
    operation: int
    owner: str | None
    submitted: float
    run: Callable[[Any], Item | None]  # run(store transaction or None) -> response payload
    state: _State = _State.SUBMITTED
    payload: Item | None = None
    error: KmipError | None = None
    finished: float | None = None
    synchronous: bool = False  # Process was called: the next Poll waits for the result
    done: threading.Event = field(default_factory=threading.Event)


class AsyncWork:
    """The node's table of asynchronous jobs.

    @param start: C{start(job_function)} hands a no-argument function to the operation pool
        (from any thread); C{None} leaves submitted jobs waiting until a Poll after Process or
        L{run_submitted} runs them (tests, and the in-process conformance runner).
    @param seconds: the clock.
    @param max_jobs: most jobs kept (pending and finished); beyond it work runs synchronously.
    @param keep_for: seconds a finished result is kept for Poll.
    @param wait_timeout: most seconds a Poll after Process waits for a running job.
    """

    def __init__(self, *, start: Callable[[Callable[[], None]], Any] | None = None,
                 seconds: Callable[[], float] = time.time, max_jobs: int = 256, keep_for: float = 600.0,
                 wait_timeout: float = 30.0) -> None:
        self.start = start
        self.seconds = seconds
        self.max_jobs = max_jobs
        self.keep_for = keep_for
        self.wait_timeout = wait_timeout
        self._jobs: dict[bytes, AsyncJob] = {}
        self._lock = threading.Lock()

    # Submission -----------------------------------------------------------------------------

    def wants(self, operation: int, payload: Item | None, mandatory: bool) -> bool:
        """Whether an item the client allows to be asynchronous is deferred."""
        if operation in NEVER_ASYNCHRONOUS:
            if mandatory:
                raise FeatureNotSupported(f"{Operation(operation).name} cannot be processed asynchronously")
            return False
        if mandatory:
            return True
        slow = SLOW.get(operation)
        return slow is not None and slow(payload)

    def submit(self, operation: int, owner: str | None, run: Callable[[Any], Item | None],
               *, mandatory: bool = False, hold: bool = False) -> bytes | None:
        """Record a job and start it (with C{hold}, only once L{release}d); its correlation
        value, or C{None} if the table is full (the caller then runs the item synchronously,
        unless C{mandatory})."""
        now = self.seconds()
        with self._lock:
            self._expire(now)
            if len(self._jobs) >= self.max_jobs:
                if mandatory:
                    raise FeatureNotSupported("too many asynchronous requests outstanding; retry later")
                return None
            job = AsyncJob(os.urandom(16), int(operation), owner, now, run)
            self._jobs[job.correlation] = job
        if not hold:
            self._start(job)
        return job.correlation

    def _start(self, job: AsyncJob) -> None:
        if self.start is not None:
            self.start(lambda: self._execute(job, None))

    def release(self, correlation: bytes) -> None:
        """Start a held job (its request message was answered Pending and committed)."""
        with self._lock:
            job = self._jobs.get(correlation)
        if job is not None:
            self._start(job)

    def discard(self, correlation: bytes) -> None:
        """Forget a held job whose request message was undone or failed: it never runs."""
        with self._lock:
            job = self._jobs.get(correlation)
            if job is not None and job.state == _State.SUBMITTED:
                del self._jobs[correlation]

    def _claim(self, job: AsyncJob) -> bool:
        with self._lock:
            if job.state != _State.SUBMITTED or self._jobs.get(job.correlation) is not job:
                return False
            job.state = _State.IN_PROCESS
            return True

    def _execute(self, job: AsyncJob, tx: Any) -> None:
        """Run C{job} once (in C{tx}, or in a transaction of its own when C{tx} is None)."""
        if not self._claim(job):
            return
        payload: Item | None = None
        error: KmipError | None = None
        try:
            payload = job.run(tx)
        except KmipError as e:
            error = e
        except Exception:
            _log.failure("asynchronous {operation} failed unexpectedly", operation=Operation(job.operation).name)
            from .errors import GeneralFailure
            error = GeneralFailure("internal error")
        with self._lock:
            job.payload, job.error = payload, error
            job.state, job.finished = _State.COMPLETED, self.seconds()
        job.done.set()

    def run_submitted(self) -> int:
        """Run every job still waiting (in transactions of their own); how many ran."""
        with self._lock:
            waiting = [j for j in self._jobs.values() if j.state == _State.SUBMITTED]
        for job in waiting:
            self._execute(job, None)
        return len(waiting)

    # Poll, Cancel, Process, Query Asynchronous Requests ------------------------------------------

    def _find(self, correlation: Any, identity: str | None) -> AsyncJob:
        now = self.seconds()
        with self._lock:
            self._expire(now)
            job = self._jobs.get(correlation) if isinstance(correlation, bytes) else None
        if job is None:
            raise InvalidAsynchronousCorrelationValue("no outstanding asynchronous request has that "
                                                      "Asynchronous Correlation Value")
        if job.owner != identity:
            raise PermissionDenied("the asynchronous request belongs to another client")
        return job

    def poll(self, correlation: Any, identity: str | None, tx: Any) -> Item | None:
        """The finished job's response payload (forgotten once returned); L{Pending} if not done;
        its failure (L{FailureOf} the job's operation) if it failed.

        After Process, a job still waiting runs here, in the Poll's transaction C{tx}; a job
        running elsewhere is waited for (at most C{wait_timeout} seconds).
        """
        job = self._find(correlation, identity)
        if job.synchronous:
            self._execute(job, tx)
            job.done.wait(self.wait_timeout)
        with self._lock:
            if job.state != _State.COMPLETED:
                raise Pending(job.correlation)
            self._jobs.pop(job.correlation, None)
        if job.error is not None:
            raise FailureOf(job.error, job.operation)  # 2.x: the reason the item's own table lists
        return job.payload

    def cancel(self, correlation: Any, identity: str | None) -> int:
        """Cancel a job: its Cancellation Result."""
        job = self._find(correlation, identity)
        with self._lock:
            if job.state == _State.SUBMITTED:
                self._jobs.pop(job.correlation, None)
                return int(CancellationResult.CANCELED)
            if job.state == _State.IN_PROCESS:
                return int(CancellationResult.UNABLE_TO_CANCEL)
            return int(CancellationResult.FAILED if job.error is not None else CancellationResult.COMPLETED)

    def process(self, correlation: Any, identity: str | None) -> None:
        """Make the next Poll of a job return its result rather than Pending."""
        self._find(correlation, identity).synchronous = True

    def outstanding(self, identity: str | None, correlations: list[bytes] | None,
                    operations: list[int] | None) -> list[AsyncJob]:
        """The caller's jobs whose results were not obtained yet, filtered as Query Asynchronous
        Requests asks, in submission order."""
        now = self.seconds()
        with self._lock:
            self._expire(now)
            jobs = [j for j in self._jobs.values() if j.owner == identity]
        if correlations:
            jobs = [j for j in jobs if j.correlation in correlations]
        if operations:
            jobs = [j for j in jobs if j.operation in operations]
        return sorted(jobs, key=lambda j: j.submitted)

    def _expire(self, now: float) -> None:
        """Forget results finished more than C{keep_for} seconds ago (lock held)."""
        for key in [k for k, j in self._jobs.items()
                    if j.finished is not None and now - j.finished > self.keep_for]:
            del self._jobs[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)


__all__ = ["NEVER_ASYNCHRONOUS", "SLOW", "AsyncJob", "AsyncWork", "InvalidAsynchronousCorrelationValue",
           "Pending"]
