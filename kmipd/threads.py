# -*- test-case-name: tests.test_service -*-
"""Thread pools owned by the service: started and stopped with it, never with reactor triggers."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool


class ThreadPoolService(Service):
    """Owns one named L{ThreadPool}; C{run(f, *args)} runs C{f} in it and returns a Deferred."""

    def __init__(self, reactor: Any, name: str, size: int) -> None:
        self.reactor = reactor
        self.pool = ThreadPool(minthreads=1, maxthreads=size, name=name)
        self.run: Callable[..., Deferred] = partial(deferToThreadPool, reactor, self.pool)

    def startService(self) -> None:
        super().startService()
        self.pool.start()

    def stopService(self) -> None:
        super().stopService()
        self.pool.stop()
