# -*- test-case-name: tests.test_tap -*-
"""C{twistd kmip}: command-line options and the service maker."""

from __future__ import annotations

import sys
from typing import Any

from twisted.python import usage

from .config import ConfigError, load_config
from .log import set_level
from .service import KMIPService, ListenError
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


def _command_line_service(config: Any) -> Any:
    """A L{KMIPService} that exits non-zero with a one-line message when it cannot listen."""
    class CommandLineKMIPService(KMIPService):
        def privilegedStartService(self) -> None:
            try:
                super().privilegedStartService()
            except ListenError as e:
                sys.stderr.write(f"kmipd: {e}\n")
                sys.stderr.flush()
                raise SystemExit(1) from None

    return CommandLineKMIPService(config)


def makeService(options: Options) -> Any:
    """Build the L{kmipd.service.KMIPService} for C{options}; configuration errors exit non-zero."""
    config = options["configuration"]
    set_level(config.logging_level)
    try:
        service = _command_line_service(config)
        if config.workers != 1:  # perf: N reactor processes on the same sockets (kmipd/workers.py)
            from .workers import attach_workers

            attach_workers(service)
    except (ConfigError, StoreError) as e:
        sys.stderr.write(f"kmipd: {e}\n")
        raise SystemExit(1) from None
    pki = service.dev_pki
    if pki is not None:
        sys.stderr.write(
            f"kmipd: development PKI in {pki.directory}\n  CA certificate:     {pki.ca_cert}\n"
            f"  client certificate: {pki.client_cert}\n  client key:         {pki.client_key}\n")
    return service
