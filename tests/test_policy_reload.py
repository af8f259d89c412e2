"""
Tests for L{kmipd.policy.reloader.PolicyDirectoryWatcher}: a real temporary
directory, a L{Clock} and a synchronous C{run_blocking}.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.task import Clock
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from kmipd.policy import BUILTIN_POLICIES, PolicyEngine, PolicyFileError
from kmipd.policy.model import Permission
from kmipd.policy.reloader import PolicyDirectoryWatcher
from kmipd.spec import ObjectType, Operation

INTERVAL = 0.5


def run_synchronously(f: Callable[..., Any], *args: Any) -> Deferred[Any]:
    """A C{run_blocking} that runs the work immediately."""
    return maybeDeferred(f, *args)


def policy_doc(permission: str, name: str = "p") -> dict[str, Any]:
    return {name: {"preset": {"SYMMETRIC_KEY": {"GET": permission}}}}


class ReloaderTests(SynchronousTestCase):
    """Directory scanning, live reload and collision handling."""

    def setUp(self) -> None:
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)
        self.clock = Clock()
        self.engine = PolicyEngine()
        self.events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        self.mtime = 1_000_000_000
        self.watcher = PolicyDirectoryWatcher(
            self.engine, self.dir, self.clock, run_synchronously, interval=INTERVAL
        )

    def tearDown(self) -> None:
        if self.watcher.running:
            self.successResultOf(self.watcher.stopService())

    def write(self, name: str, content: object) -> str:
        """Write a file and give it a strictly newer mtime than any before."""
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        self.mtime += 10
        os.utime(path, (self.mtime, self.mtime))
        return path

    def permission(self, name: str = "p") -> Permission | None:
        policy = self.engine.get(name)
        if policy is None:
            return None
        assert policy.preset is not None
        return policy.preset.get((ObjectType.SYMMETRIC_KEY, Operation.GET))

    def start(self) -> None:
        self.watcher.load_initial()
        self.watcher.startService()

    def tick(self) -> None:
        self.clock.advance(INTERVAL)

    def errors_for(self, path: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e.get("log_level") == LogLevel.error and e.get("path") == path
        ]

    def test_initial_load(self) -> None:
        """load_initial loads every *.json file synchronously and ignores other files."""
        self.write("a.json", policy_doc("ALLOW_ALL", "a"))
        self.write("b.json", policy_doc("ALLOW_OWNER", "b"))
        self.write("c.txt", policy_doc("ALLOW_ALL", "c"))
        os.makedirs(os.path.join(self.dir, "d.json"))
        self.watcher.load_initial()
        self.assertEqual(self.permission("a"), Permission.ALLOW_ALL)
        self.assertEqual(self.permission("b"), Permission.ALLOW_OWNER)
        self.assertIsNone(self.engine.get("c"))
        self.assertEqual(self.engine.names(), {"default", "public", "a", "b"})

    def test_initial_load_missing_directory(self) -> None:
        """load_initial on a missing directory raises PolicyFileError naming it."""
        watcher = PolicyDirectoryWatcher(
            self.engine, os.path.join(self.dir, "nope"), self.clock, run_synchronously
        )
        error = self.assertRaises(PolicyFileError, watcher.load_initial)
        self.assertIn(os.path.join(self.dir, "nope"), str(error))

    def test_add(self) -> None:
        """A file added while running takes effect at the next scan, not before."""
        self.start()
        self.write("a.json", policy_doc("ALLOW_ALL"))
        self.assertIsNone(self.engine.get("p"))
        self.tick()
        self.assertEqual(self.permission(), Permission.ALLOW_ALL)

    def test_applied_within_one_interval(self) -> None:
        """A change made at any moment is applied no later than one interval after it."""
        self.start()
        self.clock.advance(INTERVAL * 0.3)
        self.write("a.json", policy_doc("ALLOW_ALL"))
        self.clock.advance(INTERVAL * 0.7)
        self.assertEqual(self.permission(), Permission.ALLOW_ALL)
        self.clock.advance(INTERVAL * 0.999)
        self.write("a.json", policy_doc("DISALLOW_ALL"))
        self.clock.advance(INTERVAL)
        self.assertEqual(self.permission(), Permission.DISALLOW_ALL)

    def test_modify(self) -> None:
        """A modified file (new mtime) replaces its policies at the next scan."""
        self.write("a.json", policy_doc("ALLOW_ALL"))
        self.start()
        self.write("a.json", policy_doc("ALLOW_OWNER"))
        self.tick()
        self.assertEqual(self.permission(), Permission.ALLOW_OWNER)

    def test_unchanged_file_not_reparsed(self) -> None:
        """A file whose stamp did not change is not re-read (its content is not re-checked)."""
        path = self.write("a.json", policy_doc("ALLOW_ALL"))
        self.start()
        stat = os.stat(path)
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(policy_doc("ALLOW_XYZ")))  # same size, same inode
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        self.tick()
        self.assertEqual(self.permission(), Permission.ALLOW_ALL)
        self.assertEqual(self.errors_for(path), [])

    def test_modify_drops_policies_no_longer_defined(self) -> None:
        """A policy removed from a file disappears while the file's other policies stay."""
        self.write(
            "a.json", {**policy_doc("ALLOW_ALL", "p"), **policy_doc("ALLOW_ALL", "q")}
        )
        self.start()
        self.write("a.json", policy_doc("ALLOW_ALL", "q"))
        self.tick()
        self.assertIsNone(self.engine.get("p"))
        self.assertEqual(self.permission("q"), Permission.ALLOW_ALL)

    def test_remove(self) -> None:
        """A removed file's policies disappear at the next scan."""
        path = self.write("a.json", policy_doc("ALLOW_ALL"))
        self.start()
        os.remove(path)
        self.tick()
        self.assertIsNone(self.engine.get("p"))
        self.assertFalse(
            self.engine.is_allowed(
                "p", ObjectType.SYMMETRIC_KEY, Operation.GET, "x", None, "x"
            )
        )

    def test_collision_cache_and_restore_on_remove(self) -> None:
        """A newer file's definition wins; removing it restores the older file's."""
        self.write("b.json", policy_doc("ALLOW_ALL"))
        self.start()
        newer = self.write("a.json", policy_doc("DISALLOW_ALL"))
        self.tick()
        self.assertEqual(self.permission(), Permission.DISALLOW_ALL)
        os.remove(newer)
        self.tick()
        self.assertEqual(self.permission(), Permission.ALLOW_ALL)

    def test_collision_restore_when_redefinition_withdrawn(self) -> None:
        """When the newer file stops defining the name, the older definition comes back."""
        self.write("a.json", policy_doc("ALLOW_ALL"))
        self.write("b.json", policy_doc("DISALLOW_ALL"))
        self.start()
        self.assertEqual(self.permission(), Permission.DISALLOW_ALL)
        self.write("b.json", policy_doc("ALLOW_ALL", "other"))
        self.tick()
        self.assertEqual(self.permission(), Permission.ALLOW_ALL)

    def test_initial_scan_newest_file_wins(self) -> None:
        """In one scan, the file with the newest mtime wins a collision regardless of name order."""
        self.write("z.json", policy_doc("ALLOW_OWNER"))
        self.write("a.json", policy_doc("DISALLOW_ALL"))
        self.watcher.load_initial()
        self.assertEqual(self.permission(), Permission.DISALLOW_ALL)
        self.assertEqual(self.engine.source_of("p"), os.path.join(self.dir, "a.json"))

    def test_malformed_new_file_ignored(self) -> None:
        """A malformed file is logged with its path and ignored; other files' policies stay."""
        self.write("good.json", policy_doc("ALLOW_ALL"))
        self.start()
        bad = self.write(
            "bad.json", '{"q": {"preset": {"SYMMETRIC_KEY": {"GET": "NOPE"}}}}'
        )
        self.tick()
        self.assertEqual(self.permission(), Permission.ALLOW_ALL)
        self.assertIsNone(self.engine.get("q"))
        errors = self.errors_for(bad)
        self.assertEqual(len(errors), 1)
        self.assertIn("unknown permission 'NOPE'", errors[0]["error"])
        # Not re-parsed (or re-logged) until it changes.
        self.tick()
        self.assertEqual(len(self.errors_for(bad)), 1)

    def test_file_becoming_malformed_keeps_last_good(self) -> None:
        """A file that becomes malformed keeps its last good policies until it is fixed."""
        path = self.write("a.json", policy_doc("ALLOW_OWNER"))
        self.start()
        self.write("a.json", '{"p": ')
        self.tick()
        self.assertEqual(self.permission(), Permission.ALLOW_OWNER)
        self.assertEqual(len(self.errors_for(path)), 1)
        self.write("a.json", policy_doc("ALLOW_ALL"))
        self.tick()
        self.assertEqual(self.permission(), Permission.ALLOW_ALL)

    def test_malformed_file_removed_withdraws_last_good(self) -> None:
        """Removing a file that had become malformed withdraws its last good policies."""
        path = self.write("a.json", policy_doc("ALLOW_OWNER"))
        self.start()
        self.write("a.json", "not json")
        self.tick()
        os.remove(path)
        self.tick()
        self.assertIsNone(self.engine.get("p"))

    def test_builtin_names_not_overridable(self) -> None:
        """A file defining default/public is logged; the built-ins stay and its other policies load."""
        self.start()
        self.write(
            "evil.json",
            {
                **policy_doc("ALLOW_ALL", "default"),
                **policy_doc("ALLOW_ALL", "public"),
                **policy_doc("ALLOW_ALL", "mine"),
            },
        )
        self.tick()
        self.assertIs(self.engine.get("default"), BUILTIN_POLICIES["default"])
        self.assertIs(self.engine.get("public"), BUILTIN_POLICIES["public"])
        self.assertEqual(self.permission("mine"), Permission.ALLOW_ALL)
        self.assertFalse(
            self.engine.is_allowed(
                "default", ObjectType.SYMMETRIC_KEY, Operation.GET, "eve", None, "alice"
            )
        )
        warned = [e for e in self.events if e.get("log_level") == LogLevel.warn]
        self.assertEqual(
            sorted(e["policy_name"] for e in warned), ["default", "public"]
        )

    def test_directory_vanishes(self) -> None:
        """If the directory cannot be listed, the error is logged and current policies are kept."""
        self.write("a.json", policy_doc("ALLOW_ALL"))
        self.start()
        shutil.rmtree(self.dir)
        self.tick()
        self.assertEqual(self.permission(), Permission.ALLOW_ALL)
        errors = [e for e in self.events if e.get("log_level") == LogLevel.error]
        self.assertEqual(len(errors), 1)
        self.assertIn(self.dir, errors[0]["error"])
        # Polling continues and recovers.
        os.makedirs(self.dir)
        self.tick()
        self.assertIsNone(self.engine.get("p"))

    def test_start_without_initial_load_scans_immediately(self) -> None:
        """startService without load_initial scans at once."""
        self.write("a.json", policy_doc("ALLOW_ALL"))
        self.watcher.startService()
        self.assertEqual(self.permission(), Permission.ALLOW_ALL)

    def test_stop_cancels_polling(self) -> None:
        """stopService cancels the LoopingCall: no timers remain and later changes are not applied."""
        self.start()
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.successResultOf(self.watcher.stopService())
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.write("a.json", policy_doc("ALLOW_ALL"))
        self.clock.advance(INTERVAL * 10)
        self.assertIsNone(self.engine.get("p"))

    def test_scan_runs_through_run_blocking(self) -> None:
        """Scans go through run_blocking; results are applied when it fires and stop waits for it."""
        pending: list[tuple[Deferred[Any], Callable[..., Any], tuple[Any, ...]]] = []

        def run_later(f: Callable[..., Any], *args: Any) -> Deferred[Any]:
            d: Deferred[Any] = Deferred()
            pending.append((d, f, args))
            return d

        watcher = PolicyDirectoryWatcher(
            self.engine, self.dir, self.clock, run_later, INTERVAL
        )
        watcher.load_initial()
        watcher.startService()
        self.write("a.json", policy_doc("ALLOW_ALL"))
        self.tick()
        self.assertEqual(len(pending), 1)
        self.assertIsNone(self.engine.get("p"))
        # No overlapping scan while one is in flight.
        self.tick()
        self.assertEqual(len(pending), 1)
        stopped = watcher.stopService()
        self.assertNoResult(stopped)
        d, f, args = pending.pop()
        d.callback(f(*args))
        self.successResultOf(stopped)
        self.assertEqual(self.permission(), Permission.ALLOW_ALL)

    def test_unexpected_scan_error_logged(self) -> None:
        """An unexpected failure from run_blocking is logged and polling continues."""
        calls = []

        def broken(f: Callable[..., Any], *args: Any) -> Deferred[Any]:
            calls.append(f)
            return maybeDeferred(lambda: 1 / 0)

        watcher = PolicyDirectoryWatcher(
            self.engine, self.dir, self.clock, broken, INTERVAL
        )
        watcher.startService()
        self.tick()
        self.assertEqual(len(calls), 2)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 2)
        self.successResultOf(watcher.stopService())

    def test_invalid_interval(self) -> None:
        """A non-positive interval is rejected with ValueError."""
        self.assertRaises(
            ValueError,
            PolicyDirectoryWatcher,
            self.engine,
            self.dir,
            self.clock,
            run_synchronously,
            0,
        )
