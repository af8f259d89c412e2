# -*- test-case-name: tests.test_tap -*-
"""C{twistd kmip}: command-line options and the service maker.

Start-up order: options and configuration, then every endpoint is bound (L{listen_first}), then
the service is built (development PKI, master key, database): a start that cannot listen exits
with one line and creates nothing. All of that happens in C{makeService}, before a daemonising
twistd forks, so the launching process reports it (no pid file is written yet). A failure after the
fork (in C{privilegedStartService}/C{startService}) is raised as an ordinary exception, which
twistd writes to its status pipe (the launching process prints it and exits 1) before removing
its pid file. C{logging_level} also filters Twisted's own events: L{Options} gives twistd a log
observer factory (its C{--logger} option) that wraps twistd's usual observer in a level filter,
its text file observer writing with L{kmipd.log.ClassicFormatter} (the same lines, cheaper).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from twisted.logger import ILogObserver, LegacyLogObserverWrapper, LogLevel, textFileLogObserver
from twisted.python import usage
from twisted.python.logfile import LogFile

from .config import ConfigError, load_config
from .log import LevelFilter, classic_file_observer, set_level
from .service import KMIPService, ListenError, listen_first
from .store.interface import StoreError

#: Command-line options that set a configuration key: option as typed -> the key.
_OPTION_KEYS = (("data-dir", "data_dir"), ("database-url", "database_url"), ("policy-path", "policy_path"),
                ("logging-level", "logging_level"), ("thread-pool-size", "thread_pool_size"),
                ("idle-timeout", "idle_timeout"))


class ConfigurationError(SystemExit):
    """A bad configuration file or command-line value: one line on stderr and exit status 2, without
    the usage text (twistd prints the whole usage for a C{UsageError}, burying the one line that matters)."""

    def __init__(self, message: str) -> None:
        super().__init__(2)
        self.message = message


def _as_typed(error: ConfigError) -> str:
    """C{error}'s message, naming a command-line value by the option as the user typed it."""
    message = str(error)
    for option, key in _OPTION_KEYS:
        prefix = f"overrides: {key}:"
        if error.key == key and message.startswith(prefix):
            return f"--{option}:{message[len(prefix):]}"
    return message


class Options(usage.Options):
    """Options for C{twistd kmip}; each overrides the configuration file."""

    synopsis = "[options]"
    longdesc = (
        "Run the kmipd KMIP server. With no options it listens on 127.0.0.1:5696 with a SQLite "
        "database and a generated development PKI in its data directory."
    )
    optParameters = [
        ["config", "c", None, "Path to a PyKMIP-style server.conf."],
        ["data-dir", "d", None, "Data directory (database, master key, development PKI)."],
        ["database-url", None, None, "SQLAlchemy database URL (default: SQLite in the data directory)."],
        ["policy-path", None, None, "Directory of JSON operation policy files (hot reloaded)."],
        ["logging-level", None, None, "DEBUG, INFO, WARNING, ERROR or CRITICAL."],
        ["thread-pool-size", None, None, "Operation thread pool size."],
        ["idle-timeout", None, None, "Seconds before an idle connection is closed."],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["listen"] = []
        self["https-listen"] = []

    def opt_listen(self, description: str) -> None:
        """Listen on a Twisted endpoint description (repeatable), e.g. tcp:5696:interface=\\:\\:."""
        if description.split(":", 1)[0].lower() in ("ssl", "tls"):
            raise usage.UsageError("--listen takes a plain endpoint (tcp:..., unix:...); kmipd adds TLS itself")
        self["listen"].append(description)

    opt_l = opt_listen

    def opt_https_listen(self, description: str) -> None:
        """Also serve KMIP over HTTPS (POST /kmip; TTLV, XML or JSON) on an endpoint (repeatable)."""
        if description.split(":", 1)[0].lower() in ("ssl", "tls"):
            raise usage.UsageError("--https-listen takes a plain endpoint (tcp:..., unix:...); kmipd adds TLS itself")
        self["https-listen"].append(description)

    def postOptions(self) -> None:
        overrides: dict[str, Any] = {}
        for option, key in _OPTION_KEYS:
            if self[option] is not None:
                overrides[key] = self[option]
        if self["listen"]:
            overrides["listen"] = tuple(self["listen"])
        if self["https-listen"]:
            overrides["https_listen"] = tuple(self["https-listen"])
        try:
            self["configuration"] = load_config(self["config"], overrides)
        except ConfigError as e:
            message = _as_typed(e)
            sys.stderr.write(f"kmipd: {message}\n")
            sys.stderr.flush()
            raise ConfigurationError(message) from None
        _filter_runner_logging(getattr(self, "parent", None), self["configuration"].logging_level)


#: logging_level names -> Twisted's levels.
_LEVELS = {"DEBUG": LogLevel.debug, "INFO": LogLevel.info, "WARNING": LogLevel.warn, "ERROR": LogLevel.error,
           "CRITICAL": LogLevel.critical}


def level_filter(observer: ILogObserver, level: str) -> Any:
    """C{observer} seeing only events at C{level} (a C{logging_level} name) or above, whoever logs them."""
    return LevelFilter(observer, _LEVELS[level.upper()])


class _FilteredTwistdObserver:
    """twistd's C{--logger} factory: the observer twistd would have made (C{--logfile},
    C{--syslog}, stdout with C{-n}), behind a C{logging_level} filter; a text file observer
    formats with L{kmipd.log.ClassicFormatter}."""

    def __init__(self, server_options: Any, level: str) -> None:
        self.server_options = server_options
        self.level = level

    def __call__(self) -> ILogObserver:
        options = dict(self.server_options)
        options["logger"] = None
        try:  # twistd's own (private) way, with everything it does (SIGUSR1 rotation of --logfile)
            from twisted.scripts.twistd import _SomeApplicationRunner

            observer = _SomeApplicationRunner.loggerFactory(options)._getLogObserver()
        except SystemExit:  # "Daemons cannot log to stdout": twistd's own refusal stands
            raise
        except Exception:  # renamed or changed in another Twisted: the same observer, public names
            observer = twistd_observer(options)
        if not ILogObserver.providedBy(observer):  # syslog's legacy emit, as twistd's AppLogger wraps it
            observer = LegacyLogObserverWrapper(observer)
        return level_filter(classic_file_observer(observer), self.level)


def twistd_observer(options: Any) -> Any:
    """The observer twistd makes for C{options} (C{--syslog}, C{--logfile}, stdout with C{-n}),
    from public names: L{_FilteredTwistdObserver}'s fallback."""
    if options.get("syslog"):
        from twisted.python.syslog import SyslogObserver

        return SyslogObserver(options.get("prefix") or "twisted").emit
    name = options.get("logfile")
    if name == "-":
        if not options.get("nodaemon"):
            sys.exit("Daemons cannot log to stdout, exiting!")
        return textFileLogObserver(sys.stdout)
    if not name and options.get("nodaemon"):
        return textFileLogObserver(sys.stdout)
    return textFileLogObserver(LogFile.fromFullPath(name or "twistd.log"))


_runner_observer: _FilteredTwistdObserver | None = None


def runner_log_observer() -> ILogObserver:
    """The observer factory L{Options} names as twistd's C{--logger} (see L{_filter_runner_logging})."""
    if _runner_observer is None:
        raise RuntimeError("kmipd.tap.runner_log_observer is set up by twistd kmip's options")
    return _runner_observer()


def _filter_runner_logging(parent: Any, level: str) -> None:
    """Make the runner's log observer honour C{level} too (Twisted's own events: "Starting
    factory", "twistd ... starting up"), unless the user chose the observer or level themselves."""
    if parent is None:
        return
    global _runner_observer
    if "nodaemon" in parent and "logfile" in parent:  # twistd: unless --logger was given
        if not parent.get("logger"):
            _runner_observer = _FilteredTwistdObserver(parent, level)
            parent["logger"] = f"{__name__}.runner_log_observer"  # twistd imports it by name
    elif "logLevel" in parent and parent.get("logLevel") is LogLevel.info:  # twist, without --log-level
        parent["logLevel"] = _LEVELS[level.upper()]


class StartError(Exception):
    """kmipd could not start after twistd daemonised (reported through twistd's status pipe)."""


def _fail(message: str) -> SystemExit:
    sys.stderr.write(f"kmipd: {message}\n")
    sys.stderr.flush()
    return SystemExit(1)


def _command_line_service(config: Any, listeners: Any, server_options: Any) -> Any:
    """A L{KMIPService} whose start-up failures end the process cleanly under twistd.

    Daemonised (twistd holds a status pipe), a failure is raised as an ordinary exception: twistd
    writes it to the pipe, so the launching process prints it and exits 1, and removes its pid
    file. (A C{SystemExit} would skip both: the launcher would wait on the pipe for ever.) In the
    foreground it is one line on stderr, the pid file removed, exit status 1.
    """
    def failed(e: Exception) -> BaseException:
        message = str(e)
        if server_options is not None and server_options.get("statusPipe") is not None:
            return StartError(message)
        pidfile = server_options.get("pidfile") if server_options is not None else None
        if pidfile:
            try:
                os.unlink(pidfile)
            except OSError:
                pass
        return _fail(message)

    class CommandLineKMIPService(KMIPService):
        def privilegedStartService(self) -> None:
            try:
                super().privilegedStartService()
            except Exception as e:
                raise failed(e) from None

        def startService(self) -> None:
            try:
                super().startService()
            except Exception as e:
                raise failed(e) from None

    return CommandLineKMIPService(config, listeners=listeners)


def makeService(options: Options) -> Any:
    """Build the L{kmipd.service.KMIPService} for C{options}: listen first, then create data files;
    configuration and listen errors exit non-zero with one line."""
    config = options["configuration"]
    set_level(config.logging_level)
    try:
        listeners = listen_first(config)
    except ListenError as e:
        raise _fail(str(e)) from None
    try:
        service = _command_line_service(config, listeners, getattr(options, "parent", None))
        if config.workers != 1:  # perf: N reactor processes on the same sockets (kmipd/workers.py)
            from .workers import attach_workers

            attach_workers(service)
    except (ConfigError, StoreError) as e:
        listeners.close()
        raise _fail(str(e)) from None
    pki = service.dev_pki
    if pki is not None:
        sys.stderr.write(
            f"kmipd: development PKI in {pki.directory}\n  CA certificate:     {pki.ca_cert}\n"
            f"  client certificate: {pki.client_cert}\n  client key:         {pki.client_key}\n")
    return service
