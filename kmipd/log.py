"""kmipd's loggers: C{twisted.logger} events, filtered by the configured C{logging_level}.

Every kmipd module logs through C{Logger()} from here; events below the configured level are
dropped at the source (before any event is built or formatted), so the level applies whatever
observers twistd or an embedding application installs.
"""

from __future__ import annotations

import json
from math import floor
from time import time
from typing import Any

from twisted.logger import (
    FileLogObserver,
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    eventAsJSON,
    eventFromJSON,
    formatEventAsClassicLogText,
    formatTime,
    timeFormatRFC3339,
)
from twisted.logger import Logger as _TwistedLogger
from zope.interface import implementer

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


@implementer(ILogObserver)
class LevelFilter:
    """C{observer} seeing only events at C{level} or above, whoever logs them.

    What a L{FilteringLogObserver} with a L{LogLevelFilterPredicate} lets through (events without a
    level or a namespace are dropped too), in fewer steps for the usual event; an event whose level
    is not a L{LogLevel} goes through that Twisted filter.
    """

    def __init__(self, observer: ILogObserver, level: LogLevel) -> None:
        self.observer = observer
        self.minimum = _PRIORITY[level]
        self._twisted = FilteringLogObserver(observer, [LogLevelFilterPredicate(defaultLogLevel=level)])

    def __call__(self, event: dict[str, Any]) -> None:
        priority = _PRIORITY.get(event.get("log_level"))
        if priority is None:
            self._twisted(event)
            return
        if priority < self.minimum or not event.get("log_namespace"):
            return
        if "log_trace" in event:
            event["log_trace"].append((self, self.observer))
        self.observer(event)


class ClassicFormatter:
    """Twisted's classic log line (C{formatEventAsClassicLogText} with RFC 3339 time stamps), cheaper.

    The same text for every event, built with less work on the per-request path: the time stamp
    is formatted once per second (Twisted computes the UTC offset and formats a C{DateTime} per
    event), and a format without C{()} calls is formatted with C{str.format_map} (Twisted wraps
    every field in a call-aware mapping). Anything else, an event whose format fails included, is
    formatted by Twisted itself. Use it as a L{twisted.logger.FileLogObserver}'s C{formatEvent}.
    """

    def __init__(self, time_format: str | None = timeFormatRFC3339) -> None:
        self.time_format = time_format
        self._per_second = time_format is not None and "%f" not in time_format
        #: (second, its stamp): one tuple, read once and replaced whole, so a pool thread never
        #: pairs one second with a neighbour's stamp while another thread updates it.
        self._cached: tuple[int | None, str] = (None, "-")

    def _format_time(self, when: float | None) -> str:
        return formatTime(when, self.time_format)

    def stamp(self, when: float | None) -> str:
        """C{when} as Twisted's C{formatTime} writes it (cached for the current second)."""
        if when is None or not self._per_second:
            return self._format_time(when)
        second = floor(when)
        cached = self._cached
        if cached[0] == second:
            return cached[1]
        stamp = self._format_time(second)
        self._cached = (second, stamp)
        return stamp

    def __call__(self, event: dict[str, Any]) -> str | None:
        format = event.get("log_format")
        if type(format) is not str or "()" in format or "log_failure" in event or "log_flattened" in event:
            return formatEventAsClassicLogText(event, formatTime=self._format_time)
        try:
            text = format.format_map(event)
        except Exception:  # Twisted writes what it can of an unformattable event
            return formatEventAsClassicLogText(event, formatTime=self._format_time)
        if not text:
            return None
        system = event.get("log_system")
        if system is None:
            level = event.get("log_level")
            system = f"{event.get('log_namespace', '-')}#{'-' if level is None else level.name}"
        elif type(system) is not str:
            return formatEventAsClassicLogText(event, formatTime=self._format_time)
        line = f"{self.stamp(event.get('log_time'))} [{system}] {text}"
        if "\n" in line:
            line = line.replace("\n", "\n\t")
        return line + "\n"


def classic_file_observer(observer: Any) -> Any:
    """C{observer} writing with L{ClassicFormatter} if it is Twisted's text file observer (as
    twistd makes for C{--logfile} and stdout), else C{observer} unchanged (syslog, others)."""
    if type(observer) is FileLogObserver:
        observer.formatEvent = ClassicFormatter()
    return observer


# -- the worker processes' log relay (kmipd.workers) ---------------------------------------------

_PLAIN = frozenset((str, int, float, bool, type(None)))
#: Objects of the emitting process that no JSON encoding carries (Twisted's drops them too).
_LOCAL_ONLY = frozenset(("log_logger", "log_source"))
_FLAT_MARK = "kmipd_flat"


def _flat(event: dict[str, Any]) -> dict[str, Any] | None:
    """C{event} with JSON values only (its level by name), or C{None} when a field is not a plain
    value or a list or tuple of them (a failure, an object: Twisted's encoding is needed)."""
    out: dict[str, Any] = {_FLAT_MARK: 1}
    for key, value in event.items():
        kind = type(value)
        if kind in _PLAIN:
            out[key] = value
        elif key == "log_level" and value in _PRIORITY:
            out[key] = value.name
        elif key in _LOCAL_ONLY:
            continue
        elif (kind is tuple or kind is list) and all(type(v) in _PLAIN for v in value):
            out[key] = list(value)
        else:
            return None
    return out


def relay_encode(event: dict[str, Any]) -> bytes:
    """One log event as a line for another process (L{relay_decode}): plain JSON for an event of
    plain values (the per-request line: ~3x cheaper than Twisted's C{eventAsJSON}, which flattens
    the format), Twisted's JSON for the others."""
    flat = _flat(event)
    text = json.dumps(flat) if flat is not None else eventAsJSON(event)
    return text.encode("utf-8") + b"\n"


def relay_decode(line: bytes) -> dict[str, Any]:
    """The event of one line made by L{relay_encode}.

    @raise ValueError: not such a line.
    """
    text = line.decode("utf-8", "replace")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not a log event")
    if data.pop(_FLAT_MARK, None) != 1:
        return eventFromJSON(text)
    level = data.get("log_level")
    if level is not None:
        data["log_level"] = LogLevel.levelWithName(level) if level in _LEVEL_NAMES else LogLevel.info
    return data


_LEVEL_NAMES = frozenset(level.name for level in _PRIORITY)
