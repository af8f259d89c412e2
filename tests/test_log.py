"""Tests for L{kmipd.log}: level filtering at the source, the events' shape, the classic text lines."""

from __future__ import annotations

import calendar
import io
import os
import time
from math import floor
from typing import Any
from unittest import SkipTest

from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    formatEventAsClassicLogText,
    formatTime,
    textFileLogObserver,
    timeFormatRFC3339,
)
from twisted.logger import Logger as TwistedLogger
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from kmipd import log


class LoggerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.addCleanup(log.set_level, "DEBUG")
        log.set_level("DEBUG")
        self.events: list[dict[str, Any]] = []
        self.logger = log.Logger(namespace="kmipd.test", observer=self.events.append)

    def test_same_fields_as_twisted(self) -> None:
        """An event has exactly the fields Twisted's own Logger gives it, with the same values."""
        theirs: list[dict[str, Any]] = []
        TwistedLogger(namespace="kmipd.test", observer=theirs.append).info("x {n}", n=1)
        self.logger.info("x {n}", n=1)
        (mine,) = self.events
        self.assertEqual(sorted(mine), sorted(theirs[0]))
        for key in ("log_level", "log_namespace", "log_format", "n", "log_source"):
            self.assertEqual(mine[key], theirs[0][key])
        self.assertIs(mine["log_logger"], self.logger)

    def test_level_drops_below(self) -> None:
        """Events below the configured level never reach an observer; others do."""
        log.set_level("WARNING")
        self.logger.info("dropped")
        self.logger.debug("dropped")
        self.logger.warn("kept")
        self.logger.error("kept")
        self.assertEqual([e["log_level"] for e in self.events], [LogLevel.warn, LogLevel.error])
        self.assertFalse(log.enabled(LogLevel.info))
        self.assertTrue(log.enabled(LogLevel.critical))

    def test_invalid_level_reported(self) -> None:
        """A level that is not a LogLevel is reported as Twisted does, not emitted."""
        self.logger.emit("loud", "x")  # type: ignore[arg-type]
        (event,) = self.events
        self.assertEqual(event["log_level"], LogLevel.critical)
        self.assertIn("invalid log level", event["log_format"])

    def test_trace(self) -> None:
        """C{log_trace} events record this logger, as Twisted's do."""
        trace: list[Any] = []
        self.logger.info("x", log_trace=trace)
        self.assertEqual(trace, [(self.logger, self.events.append)])


def _twisted_line(event: dict[str, Any]) -> str | None:
    """The line twistd's own text file observer writes for C{event}."""
    return formatEventAsClassicLogText(event, formatTime=lambda when: formatTime(when, timeFormatRFC3339))


class ClassicFormatterTests(SynchronousTestCase):
    """L{log.ClassicFormatter} writes exactly Twisted's classic lines (events at chosen times)."""

    def setUp(self) -> None:
        self.formatter = log.ClassicFormatter()

    def event(self, when: float | None, format: Any = "{client} {operation} -> {result_status}",
              **fields: Any) -> dict[str, Any]:
        event = dict(log_format=format, log_level=LogLevel.info, log_namespace="kmipd.protocol",
                     client="alice", operation="Get", result_status="Success", duration=0.25)
        event.update(fields)
        if when is not None:
            event["log_time"] = when
        return event

    def test_request_line(self) -> None:
        """kmipd's per-request event gives twistd's line: RFC 3339 time stamp, [namespace#level], text."""
        event = self.event(1_700_000_000.75)
        line = self.formatter(event)
        self.assertEqual(line, _twisted_line(event))
        stamp = formatTime(1_700_000_000, timeFormatRFC3339)
        self.assertEqual(line, f"{stamp} [kmipd.protocol#info] alice Get -> Success\n")

    def test_same_as_twisted(self) -> None:
        """Every kind of event, the fast ones and those Twisted formats itself, as Twisted writes it."""
        events = [
            self.event(5.5, "{duration:.3f} s, {client!r}, {operation.upper()}"),  # a () call
            self.event(5.5, "multi\nline {client}"),
            self.event(5.5, "missing {nowhere}"),  # unformattable
            self.event(5.5, "positional {}"),
            self.event(5.5, b"bytes {client}"),
            self.event(5.5, None),
            self.event(5.5, ""),
            self.event(None),
            self.event(5.5, log_system="pool-1"),
            self.event(5.5, log_system="worker-4242", kmipd_worker=4242),
            self.event(5.5, log_system=42),  # not text: Twisted's str()
            self.event(5.5, log_system=None),
            self.event(5.5, "multi\nline {client}", log_system="worker-1"),
            self.event(5.5, log_namespace=None),
            self.event(5.5, log_level=None),
            self.event(5.5, "{duration:.3f} {client!r} {x[k]} {x[k].real}", x={"k": 2}),
            self.event(5.5, "braces {{literal}} {client:>8}"),
        ]
        events.append(self.event(5.5, "crashed", log_failure=Failure(ZeroDivisionError("boom"))))
        for event in events:
            self.assertEqual(self.formatter(event), _twisted_line(event), event.get("log_format"))

    def test_stamp_per_second(self) -> None:
        """The time stamp changes with the second, backwards too, and matches Twisted's at each step."""
        seen = []
        for when in (100.0, 100.2, 100.999, 101.0, 99.5, 99.0, 1e9 + 0.5, -0.5):
            event = self.event(when)
            self.assertEqual(self.formatter(event), _twisted_line(event), when)
            seen.append(self.formatter.stamp(when))
        self.assertEqual(seen[0], seen[1])
        self.assertEqual(seen[1], seen[2])
        self.assertNotEqual(seen[2], seen[3])
        self.assertEqual(seen[4], formatTime(99.5, timeFormatRFC3339))

    def test_stamp_consistent_across_threads(self) -> None:
        """Another thread may run between any two attribute writes of an update (pool threads log
        concurrently): whenever it does, its stamp is its own second's, never the neighbour's."""
        interleaved: list[tuple[float, str]] = []

        class Interleaving(log.ClassicFormatter):
            busy = True  # until constructed

            def __setattr__(self, name: str, value: Any) -> None:
                self.other()
                super().__setattr__(name, value)
                self.other()

            def other(self) -> None:  # the event another thread formats at that point
                if self.busy:
                    return
                object.__setattr__(self, "busy", True)
                try:
                    interleaved.append((99.5, self.stamp(99.5)))
                finally:
                    object.__setattr__(self, "busy", False)

        formatter = Interleaving()
        object.__setattr__(formatter, "busy", False)
        for when in (99.25, 100.5, 99.75, 101.5, 99.0):
            self.assertEqual(formatter.stamp(when), formatTime(floor(when), timeFormatRFC3339), when)
        self.assertGreater(len(interleaved), 4)
        for when, stamp in interleaved:
            self.assertEqual(stamp, formatTime(floor(when), timeFormatRFC3339))

    def test_utc_offset_change(self) -> None:
        """Across a daylight saving change the offset changes on the second, as Twisted's does."""
        if not hasattr(time, "tzset"):
            raise SkipTest("no time.tzset")
        old = os.environ.get("TZ")

        def restore() -> None:
            if old is None:
                os.environ.pop("TZ", None)
            else:
                os.environ["TZ"] = old
            time.tzset()

        self.addCleanup(restore)
        os.environ["TZ"] = "Europe/Paris"
        time.tzset()
        change = calendar.timegm((2026, 3, 29, 1, 0, 0))  # 02:00 CET -> 03:00 CEST
        lines = []
        for when in (change - 1.5, change - 0.25, change, change + 0.5):
            event = self.event(when)
            lines.append(self.formatter(event))
            self.assertEqual(lines[-1], _twisted_line(event))
        self.assertIn("+0100", lines[1])
        self.assertIn("+0200", lines[2])

    def test_custom_time_format(self) -> None:
        """A format with sub-second fields is formatted per event; C{None} writes "-"."""
        precise = log.ClassicFormatter("%S.%f")
        self.assertTrue(precise(self.event(7.25)).startswith("07.250000 "))
        self.assertTrue(precise(self.event(7.5)).startswith("07.500000 "))
        self.assertTrue(log.ClassicFormatter(None)(self.event(7.5)).startswith("- [kmipd.protocol#info] "))

    def test_installed_on_text_file_observer(self) -> None:
        """L{log.classic_file_observer} gives Twisted's text file observer the formatter (same lines,
        same file), and leaves other observers alone."""
        out = io.StringIO()
        observer = log.classic_file_observer(textFileLogObserver(out))
        self.assertIsInstance(observer.formatEvent, log.ClassicFormatter)
        event = self.event(42.0)
        observer(event)
        self.assertEqual(out.getvalue(), _twisted_line(event))
        other = [].append
        self.assertIs(log.classic_file_observer(other), other)


class LevelFilterTests(SynchronousTestCase):
    """L{log.LevelFilter} passes what Twisted's level filter passes."""

    def test_same_as_twisted_filter(self) -> None:
        """Levels below, at and above, and events without a level or a namespace."""
        events: list[dict[str, Any]] = [
            dict(log_level=level, log_namespace="kmipd.x", n=i) for i, level in enumerate(LogLevel.iterconstants())]
        events += [dict(log_namespace="kmipd.x"), dict(log_level=LogLevel.error), dict(log_level=LogLevel.error,
                                                                                       log_namespace="")]
        for level in (LogLevel.debug, LogLevel.info, LogLevel.warn, LogLevel.critical):
            mine: list[dict[str, Any]] = []
            theirs: list[dict[str, Any]] = []
            observer = log.LevelFilter(mine.append, level)
            twisted = FilteringLogObserver(theirs.append, [LogLevelFilterPredicate(defaultLogLevel=level)])
            for event in events:
                observer(event)
                twisted(event)
            self.assertEqual(mine, theirs, level)
            self.assertTrue(mine)

    def test_trace(self) -> None:
        """C{log_trace} events record the filter and its observer."""
        seen: list[dict[str, Any]] = []
        observer = log.LevelFilter(seen.append, LogLevel.info)
        trace: list[Any] = []
        observer(dict(log_level=LogLevel.info, log_namespace="kmipd.x", log_trace=trace))
        self.assertEqual(trace, [(observer, seen.append)])


class RelayTests(SynchronousTestCase):
    """L{log.relay_encode} / L{log.relay_decode}: a worker process's events reach the parent whole."""

    def request_event(self) -> dict[str, Any]:
        return dict(log_format="{client} {operation} -> {result_status}", log_level=LogLevel.info,
                    log_namespace="kmipd.protocol", log_time=1_700_000_000.5, log_logger=object(),
                    log_source=None, client="alice", operation="Get", result_status="Success",
                    version=(1, 4), duration=0.000193, correlation=None, client_correlation="c\u00e9")

    def test_request_event_plain(self) -> None:
        """kmipd's per-request event travels as plain JSON (not Twisted's flattened encoding) and
        comes back with every field, its level as the LogLevel constant, a tuple as a list."""
        event = self.request_event()
        line = log.relay_encode(event)
        self.assertTrue(line.endswith(b"\n"))
        self.assertNotIn(b"log_flattened", line)
        self.assertNotIn(b"__class_uuid__", line)
        back = log.relay_decode(line.rstrip(b"\n"))
        self.assertIs(back["log_level"], LogLevel.info)
        self.assertEqual(back["version"], [1, 4])
        self.assertNotIn("log_logger", back)
        expected = {k: v for k, v in event.items() if k not in ("log_logger", "log_level", "version")}
        self.assertEqual({k: back[k] for k in expected}, expected)
        self.assertNotIn("kmipd_flat", back)
        back["log_system"] = "worker-7"
        self.assertEqual(log.ClassicFormatter()(back), _twisted_line(back))

    def test_other_events_through_twisted(self) -> None:
        """An event carrying an object or a failure goes through Twisted's encoding, as before."""
        event = self.request_event()
        event["log_failure"] = Failure(ZeroDivisionError("boom"))
        event["x"] = {"nested": 1}
        line = log.relay_encode(event)
        self.assertIn(b"log_flattened", line)
        back = log.relay_decode(line.rstrip(b"\n"))
        self.assertIs(back["log_level"], LogLevel.info)
        self.assertIn("ZeroDivisionError", _twisted_line(back))

    def test_not_an_event(self) -> None:
        """A line that is no event is a ValueError (the parent logs it as text)."""
        for line in (b"not json", b"[1, 2]", b"\"text\""):
            self.assertRaises(ValueError, log.relay_decode, line)
