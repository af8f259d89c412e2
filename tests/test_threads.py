"""Tests for L{kmipd.threads.ThreadPoolService}: draining workers, batched delivery."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from kmipd.threads import ThreadPoolService

WAIT = 10.0


class FakeReactor(Clock):
    """A Clock whose callFromThread only records (the test runs the calls on its own thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.from_thread: list[Callable[[], Any]] = []
        self._lock = threading.Lock()

    def callFromThread(self, f: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            self.from_thread.append(lambda: f(*args))

    def run_from_thread(self) -> int:
        """Run the recorded calls; return how many there were."""
        with self._lock:
            calls, self.from_thread = self.from_thread, []
        for call in calls:
            call()
        return len(calls)


def wait_for(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the pool")
        time.sleep(0.001)


class ThreadPoolServiceTests(SynchronousTestCase):
    """Jobs run in pool threads; results come back to the reactor in batches."""

    def make(self, size: int = 4) -> tuple[ThreadPoolService, FakeReactor]:
        reactor = FakeReactor()
        service = ThreadPoolService(reactor, "test", size)
        service.startService()
        self.addCleanup(service.stopService)
        return service, reactor

    def gate(self) -> tuple[threading.Event, threading.Event, Callable[[], str]]:
        """A job that signals it started and blocks until released."""
        started, release = threading.Event(), threading.Event()

        def job() -> str:
            started.set()
            if not release.wait(WAIT):
                raise AssertionError("never released")
            return "gated"

        return started, release, job

    def test_results_and_errors(self) -> None:
        """Each Deferred fires with its job's result or failure, not on the pool thread."""
        service, reactor = self.make()
        threads: list[str] = []

        def job(x: int) -> int:
            threads.append(threading.current_thread().name)
            return x * 2

        ok = service.run(job, 21)
        bad = service.run(lambda: 1 // 0)
        wait_for(lambda: len(service._done) == 2)
        self.assertNoResult(ok)
        reactor.run_from_thread()
        self.assertEqual(self.successResultOf(ok), 42)
        self.failureResultOf(bad, ZeroDivisionError)
        self.assertNotEqual(threads, [threading.current_thread().name])

    def test_one_delivery_for_results_finished_together(self) -> None:
        """Results finished before the reactor ran the pending delivery ride along with it: one wake-up."""
        service, reactor = self.make(size=1)
        started, release, job = self.gate()
        first = service.run(job)
        self.assertTrue(started.wait(WAIT))
        rest = [service.run(lambda i=i: i) for i in range(3)]
        release.set()
        wait_for(lambda: len(service._done) == 4)
        self.assertEqual(reactor.run_from_thread(), 1)
        self.assertEqual(self.successResultOf(first), "gated")
        self.assertEqual([self.successResultOf(d) for d in rest], [0, 1, 2])

    def test_workers_start_at_once(self) -> None:
        """A queued job gets its own worker right away while fewer than size are busy."""
        service, reactor = self.make(size=4)
        started, release, job = self.gate()
        service.run(job)
        self.assertTrue(started.wait(WAIT))
        quick = service.run(lambda: "quick")
        wait_for(lambda: len(service._done) == 1)
        reactor.run_from_thread()
        self.assertEqual(self.successResultOf(quick), "quick")
        release.set()

    def test_size_caps_workers(self) -> None:
        """No more than size workers take jobs at once."""
        service, reactor = self.make(size=2)
        gates = [self.gate() for _ in range(3)]
        for _, _, job in gates:
            service.run(job)
        self.assertTrue(gates[0][0].wait(WAIT) and gates[1][0].wait(WAIT))
        time.sleep(0.05)
        self.assertFalse(gates[2][0].is_set(), "the third job waits for a free worker")
        self.assertEqual(service._active, 2)
        gates[0][1].set()
        self.assertTrue(gates[2][0].wait(WAIT))
        for _, release, _ in gates:
            release.set()
