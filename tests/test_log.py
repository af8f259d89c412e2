"""Tests for L{kmipd.log}: level filtering at the source and the events' shape."""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger as TwistedLogger
from twisted.logger import LogLevel
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
