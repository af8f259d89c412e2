"""kmipd's loggers: C{twisted.logger} events, filtered by the configured C{logging_level}.

Every kmipd module logs through C{Logger()} from here; events below the configured level are
dropped at the source (before any event is built or formatted), so the level applies whatever
observers twistd or an embedding application installs.
"""

from __future__ import annotations

from time import time
from typing import Any

from twisted.logger import Logger as _TwistedLogger
from twisted.logger import LogLevel

_PRIORITY = {LogLevel.debug: 0, LogLevel.info: 1, LogLevel.warn: 2, LogLevel.error: 3, LogLevel.critical: 4}
_NAMES = {"DEBUG": LogLevel.debug, "INFO": LogLevel.info, "WARNING": LogLevel.warn,
          "ERROR": LogLevel.error, "CRITICAL": LogLevel.critical}
_minimum = 0


def set_level(name: str) -> None:
    """Drop kmipd events below C{name} (DEBUG, INFO, WARNING, ERROR, CRITICAL)."""
    global _minimum
    _minimum = _PRIORITY[_NAMES[name.upper()]]


def enabled(level: LogLevel) -> bool:
    """Whether an event at C{level} would be emitted (to skip building costly event fields)."""
    return _PRIORITY.get(level, 4) >= _minimum


class Logger(_TwistedLogger):
    """A L{twisted.logger.Logger} that honours L{set_level}.

    Events carry exactly the fields L{twisted.logger.Logger.emit} gives them; the level is checked
    against kmipd's own table instead of Twisted's C{LogLevel.iterconstants()} (which sorts the
    constants on every call: measurable on the per-request path, see bench/README.md).
    """

    def emit(self, level: LogLevel, format: str | None = None, **kwargs: Any) -> None:
        priority = _PRIORITY.get(level)
        if priority is None:  # not a LogLevel: Twisted reports it
            super().emit(level, format, **kwargs)
            return
        if priority < _minimum:
            return
        event = kwargs
        event.update(log_logger=self, log_level=level, log_namespace=self.namespace, log_source=self.source,
                     log_format=format, log_time=time())
        if "log_trace" in event:
            event["log_trace"].append((self, self.observer))
        self.observer(event)
