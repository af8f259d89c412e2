"""kmipd's loggers: C{twisted.logger} events, filtered by the configured C{logging_level}.

Every kmipd module logs through C{Logger()} from here; events below the configured level are
dropped at the source, so the level applies whatever observers twistd or an embedding
application installs.
"""

from __future__ import annotations

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


class Logger(_TwistedLogger):
    """A L{twisted.logger.Logger} that honours L{set_level}."""

    def emit(self, level: LogLevel, format: str | None = None, **kwargs: Any) -> None:
        if _PRIORITY.get(level, 4) >= _minimum:
            super().emit(level, format, **kwargs)
