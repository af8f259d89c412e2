# -*- test-case-name: tests.test_threads,tests.test_service -*-
"""Thread pools owned by the service: started and stopped with it, never with reactor triggers.

L{ThreadPoolService.run} is the service's C{deferToThreadPool}, with two policies that matter
for throughput (see bench/README.md for the measurements behind them):

  - B{Draining workers.} Jobs wait in one queue; a pool thread takes jobs from it until it is
    empty, so a burst of requests (many connections, pipelining) costs one pool hand-off, not
    one per request. Results travel back to the reactor in batches: a worker schedules a
    delivery only when none is pending, and every result finished meanwhile rides along.
  - B{Spill-over.} With C{spill_after=None} a new worker is started for every queued job while
    fewer than C{size} are busy (good when jobs wait on a network database: the GIL is free
    while they wait). With C{spill_after=S} (CPU-bound work, e.g. SQLite or the memory store),
    jobs share one worker and a second one starts only when a job has waited C{S} seconds:
    concurrent Python threads contend for the GIL and cost more CPU per job, so one busy worker
    is faster, and extra workers are kept for the case where one job is slow (RSA key
    generation) and would otherwise hold up everything behind it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from kmipd.log import Logger

__all__ = ["ThreadPoolService"]

_log = Logger()


class ThreadPoolService(Service):
    """Owns one named L{ThreadPool}; C{run(f, *args)} runs C{f} in it and returns a Deferred.

    @param size: the most threads running jobs at once.
    @param spill_after: C{None}: start a worker per queued job (up to C{size}); a number of
        seconds: keep one worker and start another only when the oldest queued job has waited
        that long.
    @param clock: C{seconds()} for queue ages (tests); defaults to C{time.monotonic}.
    """

    def __init__(self, reactor: Any, name: str, size: int, *, spill_after: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.reactor = reactor
        self.size = size
        self.spill_after = spill_after
        self.pool = ThreadPool(minthreads=1, maxthreads=size, name=name)
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: deque[tuple[Deferred, Callable[..., Any], tuple, dict, float]] = deque()
        self._active = 0  # workers taking jobs (draining)
        self._done: list[tuple[Deferred, bool, Any]] = []
        self._spill_timer: Any = None

    # Reactor thread ---------------------------------------------------------------------

    def run(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred:
        """Run C{f(*args, **kwargs)} in the pool; the Deferred fires (in the reactor) with its result."""
        d: Deferred = Deferred()
        now = self._clock()
        with self._lock:
            self._jobs.append((d, f, args, kwargs, now))
            start = self._active < self.size and (self._active == 0 or self.spill_after is None)
            if start:
                self._active += 1
        if start:
            self.pool.callInThread(self._drain)
        elif self.spill_after is not None and self._active < self.size and self._spill_timer is None:
            self._spill_timer = self.reactor.callLater(self.spill_after, self._spill)
        return d

    def _spill(self) -> None:
        """Start one more worker if the oldest queued job has waited C{spill_after} seconds."""
        self._spill_timer = None
        after = self.spill_after
        assert after is not None
        with self._lock:
            if not self._jobs or self._active >= self.size:
                return
            waited = self._clock() - self._jobs[0][4]
            start = waited >= after
            if start:
                self._active += 1
        if start:
            self.pool.callInThread(self._drain)
        # Look again while jobs are queued (each new worker needs another full wait).
        self._spill_timer = self.reactor.callLater(after if start else max(after - waited, 0.001), self._spill)

    def _deliver(self) -> None:
        """Fire the Deferreds of every job finished since the last delivery."""
        with self._lock:
            done, self._done = self._done, []
        for d, ok, value in done:
            if ok:
                d.callback(value)
            else:
                d.errback(value)

    # Pool threads -----------------------------------------------------------------------

    def _drain(self) -> None:
        """Take jobs until the queue is empty, handing each result to the reactor as it is done."""
        while True:
            with self._lock:
                if not self._jobs:
                    self._active -= 1
                    return
                d, f, args, kwargs, _ = self._jobs.popleft()
            try:
                outcome = (d, True, f(*args, **kwargs))
            except BaseException:
                outcome = (d, False, Failure())
            with self._lock:
                self._done.append(outcome)
                first = len(self._done) == 1
            if first:
                self.reactor.callFromThread(self._deliver)

    # Service ----------------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self.pool.start()

    def stopService(self) -> None:
        super().stopService()
        if self._spill_timer is not None and self._spill_timer.active():
            self._spill_timer.cancel()
        self._spill_timer = None
        self.pool.stop()
