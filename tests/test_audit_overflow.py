"""The audit queue is bounded (L{kmipd.audit.AuditTrail}, C{audit_queue_size}, C{audit_overflow}).

The writer is made stuck by a fake file whose C{write} waits until the test releases it: the
reactor thread and the request workers must go on (never wait for the disk), memory must not grow,
and what happens to the events that do not fit must be visible (counter, ERROR log, a gap marker
in the trail) or, with C{audit_overflow = refuse}, no operation may run unrecorded.
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client.exposition import generate_latest
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SynchronousTestCase, TestCase

from kmipd.audit import OVERFLOW_LOG_INTERVAL, AuditTrail
from kmipd.config import ConfigError, load_config
from kmipd.metrics import Metrics

from .test_interop_pykmip import LiveServiceMixin, pykmip_client, run_connected, tls_exchange


class StuckFile:
    """An audit file whose writes block until L{release} (a disk or NFS mount that stalls)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._released = threading.Event()
        self._written = threading.Condition()

    def release(self) -> None:
        self._released.set()

    def write(self, text: str) -> None:
        if not self._released.wait(60):  # a bound: a broken test must not hang the run
            raise OSError("the test never released the stuck file")
        with self._written:
            self.lines.append(text)
            self._written.notify_all()

    def wait_for(self, count: int) -> None:
        """Block until C{count} lines are written (bounded)."""
        with self._written:
            if not self._written.wait_for(lambda: len(self.lines) >= count, timeout=30):
                raise AssertionError(f"only {len(self.lines)} of {count} audit lines written")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class _Reactor:
    """callFromThread runs at once (records the ERROR logs the trail hands to the reactor)."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def callFromThread(self, f: Any, *args: Any, **kwargs: Any) -> None:
        if getattr(f, "__name__", None) == "error":
            self.errors.append(kwargs)
            return
        f(*args, **kwargs)


def stuck_trail(test: Any, queue_size: int) -> tuple[AuditTrail, StuckFile, _Reactor, Clock]:
    stuck = StuckFile()
    test.patch(AuditTrail, "_open", lambda trail: setattr(trail, "_file", stuck))
    clock, reactor = Clock(), _Reactor()
    trail = AuditTrail("unused.jsonl", reactor=reactor, seconds=clock.seconds, queue_size=queue_size)
    trail.startService()

    def stop() -> None:
        stuck.release()
        if trail.running:
            trail.stopService()
    test.addCleanup(stop)
    return trail, stuck, reactor, clock


class BoundedQueueTests(SynchronousTestCase):
    """A stuck writer: bounded memory, emit never blocks, drops counted, logged, marked."""

    def test_stuck_writer(self) -> None:
        """With the writer stuck, emit returns at once; past queue_size events are dropped and counted."""
        import json

        trail, stuck, reactor, clock = stuck_trail(self, queue_size=3)
        for n in range(100):  # would block (or hang the test) if emit waited for the writer
            trail.emit({"event": "kmip.operation", "n": n})
        self.assertEqual((trail.waiting, trail.dropped, trail.behind), (3, 97, True))
        # One ERROR at the first drop, none for the next 96 within the interval.
        self.assertEqual([(e["count"], e["total"], e["size"]) for e in reactor.errors], [(1, 1, 3)])
        clock.advance(OVERFLOW_LOG_INTERVAL)
        trail.emit({"event": "kmip.operation", "n": 100})
        self.assertEqual([(e["count"], e["total"]) for e in reactor.errors], [(1, 1), (97, 98)])

        metrics = Metrics()
        metrics.watch_audit(trail)
        text = generate_latest(metrics.registry).decode()
        self.assertIn("kmipd_audit_events_dropped_total 98.0", text)
        self.assertIn("kmipd_audit_queue_depth 3.0", text)

        stuck.release()
        stuck.wait_for(3)
        trail.emit({"event": "kmip.operation", "n": 101})
        stuck.wait_for(5)
        events = [json.loads(line) for line in stuck.lines]
        self.assertEqual([e.get("n") for e in events], [0, 1, 2, None, 101])
        gap = events[3]
        self.assertEqual((gap["event"], gap["dropped"]), ("audit.dropped", 98))
        self.assertEqual(gap["since"], "1970-01-01T00:00:00.000Z")  # the clock when the first was dropped
        self.assertFalse(trail.behind)

    def test_writer_keeps_up(self) -> None:
        """A writer that keeps up drops nothing and writes no gap marker."""
        trail, stuck, reactor, _ = stuck_trail(self, queue_size=2)
        stuck.release()
        for n in range(50):
            stuck.wait_for(n)
            trail.emit({"event": "kmip.operation", "n": n})
        stuck.wait_for(50)
        self.assertEqual((trail.dropped, reactor.errors), (0, []))
        self.assertNotIn("audit.dropped", "".join(stuck.lines))

    def test_settings(self) -> None:
        """audit_queue_size (default 10000, at least 1) and audit_overflow (drop or refuse)."""
        config = load_config(None, {})
        self.assertEqual((config.audit_queue_size, config.audit_overflow), (10000, "drop"))
        config = load_config(None, {"audit_queue_size": "50", "audit_overflow": "refuse"})
        self.assertEqual((config.audit_queue_size, config.audit_overflow), (50, "refuse"))
        for key, value in (("audit_queue_size", "0"), ("audit_overflow", "block")):
            with self.assertRaises(ConfigError) as e:
                load_config(None, {key: value})
            self.assertEqual(e.exception.key, key)


class LiveOverflowTests(LiveServiceMixin, TestCase):
    """A real service over TLS with a stuck audit file, in both overflow modes."""

    timeout = 120

    @defer.inlineCallbacks
    def fill(self, **overrides: Any):  # type: ignore[no-untyped-def]
        """Start with a stuck audit file and a queue of one, then fill it with one Query."""
        self.stuck = StuckFile()
        self.patch(AuditTrail, "_open", lambda trail: setattr(trail, "_file", self.stuck))
        yield self.start(audit_log_path=self.mktemp(), audit_queue_size="1", **overrides)
        self.addCleanup(self.stuck.release)
        pki = self.dev_pki
        answer = yield deferToThread(tls_exchange, self.port, pki.ca_cert, pki.client_cert, pki.client_key)
        self.assertEqual(answer[:3], b"\x42\x00\x7b")
        self.assertEqual(self.service.audit.queue_size, 1)
        self.assertTrue(self.service.audit.behind)

    def client(self) -> Any:
        pki = self.dev_pki
        return pykmip_client(self.port, pki.client_cert, pki.client_key, pki.ca_cert)

    @defer.inlineCallbacks
    def test_refuse(self):  # type: ignore[no-untyped-def]
        """audit_overflow = refuse: while the trail is behind a Create is answered with an error and
        creates nothing; once the writer catches up requests run again, and the trail marks the gap."""
        import json

        from kmip.core import enums

        yield self.fill(audit_overflow="refuse")

        def refused_create(c: Any) -> str:
            try:
                c.create(enums.CryptographicAlgorithm.AES, 256)
            except Exception as e:
                return str(e)
            return "created"
        outcome = yield run_connected(self.client, refused_create)
        self.assertIn("audit trail is behind", outcome)

        self.stuck.release()
        yield self.service.audit.flushed()
        self.assertFalse(self.service.audit.behind)
        self.service.audit.queue_size = 1000  # (a queue of one is behind while any event is being written)

        def after(c: Any) -> tuple[list[str], str, list[str]]:
            before = c.locate()
            uid = c.create(enums.CryptographicAlgorithm.AES, 256)
            return before, uid, c.locate()
        before, uid, located = yield run_connected(self.client, after)
        self.assertEqual(before, [])  # the refused Create did not run
        self.assertEqual(located, [uid])
        yield self.service.audit.flushed()
        events = [json.loads(line) for line in self.stuck.lines]
        self.assertEqual([e.get("operation", e["event"]) for e in events],
                         ["QUERY", "audit.dropped", "LOCATE", "CREATE", "LOCATE"])
        self.assertEqual(events[1]["dropped"], 1)  # the refusal's own event, which did not fit

    @defer.inlineCallbacks
    def test_drop(self):  # type: ignore[no-untyped-def]
        """audit_overflow = drop (the default): requests go on while the trail is behind; the events
        that do not fit are counted in the metrics and marked in the trail."""
        import json

        from kmip.core import enums

        yield self.fill()
        uid = yield run_connected(self.client, lambda c: c.create(enums.CryptographicAlgorithm.AES, 256))
        self.assertTrue(uid)
        self.assertEqual(self.service.audit.dropped, 1)
        text = generate_latest(self.service.metrics.registry).decode()
        self.assertIn("kmipd_audit_events_dropped_total 1.0", text)

        self.stuck.release()
        yield self.service.audit.flushed()
        self.service.audit.queue_size = 1000
        located = yield run_connected(self.client, lambda c: c.locate())
        self.assertEqual(located, [uid])
        yield self.service.audit.flushed()
        events = [json.loads(line) for line in self.stuck.lines]
        self.assertEqual([e.get("operation", e["event"]) for e in events], ["QUERY", "audit.dropped", "LOCATE"])
        self.assertEqual(events[1]["dropped"], 1)

