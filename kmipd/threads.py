# -*- test-case-name: tests.test_threads,tests.test_service -*-
"""Thread pools owned by the service: started and stopped with it, never with reactor triggers.

L{ThreadPoolService.run} is the service's C{deferToThreadPool}: a new worker starts for every
queued job while fewer than C{size} are busy; a worker takes jobs until the queue is empty, so
a burst of requests costs one pool hand-off, not one per request. Results travel back to the
reactor in batches: a worker schedules a delivery only when none is pending, and every result
finished meanwhile rides along (see bench/README.md for the measurements behind it). How many
jobs are handed to the pool at once is the scheduler's decision (L{kmipd.dispatch.Scheduling}),
not the pool's.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from kmipd.log import Logger

__all__ = ["ThreadPoolService"]

_log = Logger()


class ThreadPoolService(Service):
    """Owns one named L{ThreadPool}; C{run(f, *args)} runs C{f} in it and returns a Deferred.

    @param reactor: C{IReactorFromThreads}: results are delivered through C{callFromThread}.
    @param size: the most threads running jobs at once.
    """

    def __init__(self, reactor: IReactorFromThreads, name: str, size: int) -> None:
        self.reactor = reactor
        self.size = size
        self.pool = ThreadPool(minthreads=1, maxthreads=size, name=name)
        self._lock = threading.Lock()
        self._jobs: deque[tuple[Deferred, Callable[..., Any], tuple, dict]] = deque()
        self._active = 0  # workers taking jobs (draining)
        self._done: list[tuple[Deferred, bool, Any]] = []

    # Reactor thread ---------------------------------------------------------------------

    def run(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred:
        """Run C{f(*args, **kwargs)} in the pool; the Deferred fires (in the reactor) with its result."""
        d: Deferred = Deferred()
        with self._lock:
            self._jobs.append((d, f, args, kwargs))
            start = self._active < self.size
            if start:
                self._active += 1
        if start:
            self.pool.callInThread(self._drain)
        return d

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
                d, f, args, kwargs = self._jobs.popleft()
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
        self.pool.stop()
