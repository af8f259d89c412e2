# -*- test-case-name: tests.test_config -*-
"""
Load kmipd configuration: a PyKMIP C{server.conf} plus kmipd's own keys.

Precedence is defaults < configuration file < overrides (the command line).
Every error is a L{ConfigError} whose message names the offending key and,
when a file was read, the file.
"""

from __future__ import annotations

import configparser
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from .ciphersuites import IANA_TO_OPENSSL, OPENSSL_NAMES
from .limits import Limits
from .settings import Settings, StreamLimits
from .spec import ENUM_FOR_TAG, ItemType, Tag, enum_from_name, tag_from_name, tag_type
from .store.deadlines import DatabaseDeadlines

__all__ = [
    "Config",
    "ConfigError",
    "SlugsConfig",
    "default_data_dir",
    "load_config",
]


class ConfigError(Exception):
    """
    The configuration is unreadable or holds a bad value.

    @ivar key: the offending key (or section), when there is one.
    @ivar section: the section the key was read from, when there is one.
    @ivar path: the configuration file, when one was read.
    """

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        section: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.key = key
        self.section = section
        self.path = path


@dataclass(frozen=True)
class SlugsConfig:
    """One C{[auth:slugs]} / C{[auth:slugs:<suffix>]} block."""

    section: str
    enabled: bool
    url: str


def default_data_dir(environ: Mapping[str, str] | None = None) -> str:
    """
    The data directory: C{$KMIPD_DATA_DIR}, else C{$XDG_DATA_HOME/kmipd}, else
    C{~/.local/share/kmipd}.
    """
    env = os.environ if environ is None else environ
    explicit = env.get("KMIPD_DATA_DIR")
    if explicit:
        return os.path.expanduser(explicit)
    xdg = env.get("XDG_DATA_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "kmipd")
    return os.path.join(os.path.expanduser("~"), ".local", "share", "kmipd")


def _escape_endpoint(value: str) -> str:
    """Escape C{:} and C{=} (and backslashes) for an endpoint description."""
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


@dataclass(frozen=True)
class Config:
    """
    The complete kmipd configuration (PyKMIP keys first, then kmipd keys).

    Path fields left at C{None} mean "use the default"; see the C{effective_*}
    properties. The protocol limits (C{max_message_size}, ...) are read into C{limits}
    (L{kmipd.limits.Limits}); the database deadlines (C{db_connect_timeout}, ...) into C{database}
    (L{kmipd.store.deadlines.DatabaseDeadlines}); the handlers' settings (C{lease_time}, ...) into C{settings}
    (L{kmipd.settings.Settings}).
    """

    # PyKMIP server.conf keys
    hostname: str = "127.0.0.1"
    port: int = 5696
    certificate_path: str | None = None
    key_path: str | None = None
    ca_path: str | None = None
    auth_suite: str = "TLS1.2"
    policy_path: str | None = None
    enable_tls_client_auth: bool = True
    tls_cipher_suites: tuple[str, ...] = ()
    logging_level: str = "INFO"
    database_path: str | None = None
    # kmipd keys
    database_url: str | None = None
    data_dir: str = field(default_factory=default_data_dir)
    listen: tuple[str, ...] = ()
    https_listen: tuple[str, ...] = ()
    thread_pool_size: int = 8
    workers: int = 1  # 0: auto (see kmipd.workers.worker_count)
    db_pool_size: int = 4
    limits: Limits = field(default_factory=Limits)
    database: DatabaseDeadlines = field(default_factory=DatabaseDeadlines)
    settings: Settings = field(default_factory=Settings)
    master_key_path: str | None = None
    tls_ticket_key_path: str | None = None  # else the master key file (kmipd.tls_tickets)
    tls_ticket_rotation: int = 3600  # seconds per session-ticket key (and session lifetime)
    credentials_path: str | None = None
    hashed_password_window: float = 300.0
    slugs_timeout: float = 5.0
    slugs_cache_ttl: float = 30.0
    slugs_failure_cache_ttl: float = 5.0
    policy_reload_interval: float = 0.5
    slugs: tuple[SlugsConfig, ...] = ()
    # ops: audit trail, metrics and health (kmipd.audit, kmipd.metrics)
    audit_log_path: str | None = None
    audit_syslog: bool = False
    audit_syslog_address: str = "/dev/log"
    audit_queue_size: int = 10000
    audit_overflow: str = "drop"
    metrics_listen: tuple[str, ...] = ()
    metrics_tls: bool = False
    certificate_groups: bool = False
    # Offer the KMIP 2.x Interop operation (2.1 6.1.26: "SHALL NOT be available in a production
    # server"): for interoperability test runs only, e.g. the OASIS 2.1 profile test cases.
    interop_test_server: bool = False

    @property
    def effective_database_url(self) -> str:
        """C{database_url}, else SQLite at C{database_path}, else in C{data_dir}."""
        if self.database_url:
            return self.database_url
        if self.database_path:
            return "sqlite:///" + self.database_path
        return "sqlite:///" + os.path.join(self.data_dir, "kmipd.sqlite")

    @property
    def effective_listen(self) -> tuple[str, ...]:
        """C{listen}, else one TCP endpoint derived from C{hostname}/C{port}."""
        if self.listen:
            return self.listen
        host = self.hostname
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return (f"tcp:{self.port}:interface={_escape_endpoint(host)}",)

    @property
    def effective_master_key_path(self) -> str:
        """C{master_key_path}, else C{<data_dir>/master.key}."""
        if self.master_key_path:
            return self.master_key_path
        return os.path.join(self.data_dir, "master.key")

    @property
    def uses_dev_pki(self) -> bool:
        """True when no certificate is configured (the dev PKI is used)."""
        return (
            self.certificate_path is None
            and self.key_path is None
            and self.ca_path is None
        )

    @property
    def enabled_slugs(self) -> tuple[SlugsConfig, ...]:
        """The enabled SLUGS blocks, in file order."""
        return tuple(s for s in self.slugs if s.enabled)


# --- value parsers ---------------------------------------------------------
# Each takes a raw value (a string from a file, or an already typed value from
# overrides) and returns the typed value, or raises ValueError(problem).

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_AUTH_SUITES = {"basic": "Basic", "tls1.2": "TLS1.2"}


def _parse_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"{raw!r} is not a boolean (use True/False, yes/no or 1/0)")


def _parse_str(raw: object) -> str:
    if not isinstance(raw, str):
        raise TypeError(f"{raw!r} is not a string")
    text = raw.strip()
    if not text:
        raise ValueError("must not be empty")
    return text


def _parse_optional_path(raw: object) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, os.PathLike):
        raw = os.fspath(raw)
    if not isinstance(raw, str):
        raise TypeError(f"{raw!r} is not a path")
    text = raw.strip()
    if not text:
        return None
    return os.path.expanduser(text)


def _parse_path(raw: object) -> str:
    value = _parse_optional_path(raw)
    if value is None:
        raise ValueError("must not be empty")
    return value


def _int_parser(minimum: int, maximum: int | None = None) -> Callable[[object], int]:
    def parse(raw: object) -> int:
        if isinstance(raw, bool):
            raise TypeError(f"{raw!r} is not an integer")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str):
            try:
                value = int(raw.strip(), 10)
            except ValueError:
                raise ValueError(f"{raw!r} is not an integer") from None
        else:
            raise TypeError(f"{raw!r} is not an integer")
        if value < minimum or (maximum is not None and value > maximum):
            upper = "" if maximum is None else f" and at most {maximum}"
            raise ValueError(
                f"{value} is out of range (must be at least {minimum}{upper})"
            )
        return value

    return parse


def _float_parser(minimum: float, inclusive: bool) -> Callable[[object], float]:
    def parse(raw: object) -> float:
        if isinstance(raw, bool):
            raise TypeError(f"{raw!r} is not a number")
        if isinstance(raw, (int, float)):
            value = float(raw)
        elif isinstance(raw, str):
            try:
                value = float(raw.strip())
            except ValueError:
                raise ValueError(f"{raw!r} is not a number") from None
        else:
            raise TypeError(f"{raw!r} is not a number")
        if not math.isfinite(value):
            raise ValueError(f"{raw!r} is not a finite number")
        if value < minimum or (not inclusive and value == minimum):
            relation = "at least" if inclusive else "greater than"
            raise ValueError(
                f"{value:g} is out of range (must be {relation} {minimum:g})"
            )
        return value

    return parse


def _parse_auth_suite(raw: object) -> str:
    text = _parse_str(raw)
    try:
        return _AUTH_SUITES[text.lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not one of 'Basic', 'TLS1.2'") from None


def _parse_level(raw: object) -> str:
    text = _parse_str(raw).upper()
    if text not in _LEVELS:
        raise ValueError(f"{raw!r} is not one of {', '.join(_LEVELS)}")
    return text


def _words(raw: object) -> list[str]:
    if isinstance(raw, str):
        return [w for w in re.split(r"[\s,]+", raw) if w]
    if isinstance(raw, (list, tuple)):
        result: list[str] = []
        for item in raw:
            if not isinstance(item, str):
                raise TypeError(f"{item!r} is not a string")
            result.extend(_words(item))
        return result
    raise TypeError(f"{raw!r} is not a list of names")


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _parse_cipher_suites(raw: object) -> tuple[str, ...]:
    names = _dedupe(_words(raw))
    for name in names:
        if name not in IANA_TO_OPENSSL and name not in OPENSSL_NAMES:
            raise ValueError(f"unknown cipher suite {name!r}")
    return names


#: Values of C{compatibility}.
COMPATIBILITY_MODES = ("kmip", "pykmip")


def _parse_compatibility(raw: object) -> str:
    text = _parse_str(raw).lower()
    if text not in COMPATIBILITY_MODES:
        raise ValueError(f"{raw!r} is not one of {', '.join(COMPATIBILITY_MODES)}")
    return text


def _parse_listen(raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        # One endpoint per line (or whitespace separated).
        items = raw.split()
    elif isinstance(raw, (list, tuple)):
        items = []
        for item in raw:
            if not isinstance(item, str):
                raise TypeError(f"{item!r} is not an endpoint description")
            items.extend(item.split())
    else:
        raise TypeError(f"{raw!r} is not a list of endpoint descriptions")
    for item in items:
        prefix = item.split(":", 1)[0].lower()
        if prefix in ("ssl", "tls"):
            raise ValueError(
                f"{item!r}: use a plain endpoint such as 'tcp:5696'; "
                "kmipd adds mutual TLS itself"
            )
    return _dedupe(items)


def _parse_metrics_listen(raw: object) -> tuple[str, ...]:
    """Endpoint descriptions; a bare port number means that port on the loopback interface."""
    return tuple(f"tcp:{item}:interface=127.0.0.1" if item.isdigit() else item for item in _parse_listen(raw))


def _parse_database_url(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise TypeError(f"{raw!r} is not a database URL")
    text = raw.strip()
    if not text:
        return None
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", text):
        raise ValueError(
            f"{text!r} is not a database URL (e.g. sqlite:///path, postgresql://...)"
        )
    return text


def _parse_workers(raw: object) -> int:
    """C{workers}: 1-64 processes, or C{auto} (stored as 0: one per core, one with SQLite)."""
    if isinstance(raw, str) and raw.strip().lower() == "auto":
        return 0
    return _int_parser(1, 64)(raw)


_RNG_FIELDS = ("RNG Algorithm", "Cryptographic Algorithm", "Cryptographic Length", "Hashing Algorithm",
               "DRBG Algorithm", "Recommended Curve", "FIPS186 Variation", "Prediction Resistance")


def _parse_rng_value(tag: int, text: str) -> int:
    kind = tag_type(tag)
    if kind == ItemType.BOOLEAN:
        return int(_parse_bool(text))
    if kind == ItemType.INTEGER:
        return _int_parser(1)(text)
    value = enum_from_name(ENUM_FOR_TAG[tag], text)
    if value is None:
        raise ValueError(f"{text!r} is not a {_field_name(tag)} value")
    return value


def _field_name(tag: int) -> str:
    return next(name for name in _RNG_FIELDS if tag_from_name(name) == tag)


def _parse_rng_parameters(raw: object) -> tuple[tuple[int, int], ...]:
    """C{"RNG Algorithm: DRBG, DRBG Algorithm: Hash, Hashing Algorithm: SHA-256"}."""
    text = _parse_str(raw)
    fields_: dict[int, int] = {}
    for part in (p.strip() for p in text.split(",")):
        name, sep, value = part.partition(":")
        tag = tag_from_name(name.strip()) if sep else None
        if tag is None or name.strip() not in _RNG_FIELDS:
            raise ValueError(f"{part!r} is not 'Field: value' with a field among {', '.join(_RNG_FIELDS)}")
        fields_[tag] = _parse_rng_value(tag, value.strip())
    if Tag.RNG_ALGORITHM not in fields_:
        raise ValueError("RNG Algorithm is required")
    return tuple(fields_.items())


_PARSERS: dict[str, Callable[[object], Any]] = {
    "hostname": _parse_str,
    "port": _int_parser(0, 65535),
    "certificate_path": _parse_optional_path,
    "key_path": _parse_optional_path,
    "ca_path": _parse_optional_path,
    "auth_suite": _parse_auth_suite,
    "policy_path": _parse_optional_path,
    "enable_tls_client_auth": _parse_bool,
    "tls_cipher_suites": _parse_cipher_suites,
    "logging_level": _parse_level,
    "database_path": _parse_optional_path,
    "database_url": _parse_database_url,
    "data_dir": _parse_path,
    "listen": _parse_listen,
    "https_listen": _parse_listen,
    "thread_pool_size": _int_parser(1),
    "workers": _parse_workers,
    "interop_test_server": _parse_bool,
    "db_pool_size": _int_parser(1),
    "db_connect_timeout": _float_parser(0.0, inclusive=False),
    "db_statement_timeout": _float_parser(0.0, inclusive=False),
    "db_lock_timeout": _float_parser(0.0, inclusive=False),
    "db_pool_timeout": _float_parser(0.0, inclusive=False),
    "db_keepalive_idle": _float_parser(0.0, inclusive=False),
    "db_retry_interval": _float_parser(0.0, inclusive=False),
    "max_message_size": _int_parser(8),
    "max_depth": _int_parser(1),
    "max_batch_count": _int_parser(1),
    "idle_timeout": _float_parser(0.0, inclusive=False),
    "message_timeout": _float_parser(0.0, inclusive=False),
    "max_connections": _int_parser(1),
    "max_connections_per_client": _int_parser(1),
    "handshake_timeout": _float_parser(0.0, inclusive=False),
    "max_handshakes_per_address": _int_parser(1),
    "max_pending_handshakes": _int_parser(1),
    "max_partial_bytes": _int_parser(1),
    "max_output_bytes": _int_parser(1),
    "max_response_size": _int_parser(64),
    "max_rng_length": _int_parser(1),
    "master_key_path": _parse_optional_path,
    "tls_ticket_key_path": _parse_optional_path,
    "tls_ticket_rotation": _int_parser(60, 86400),
    "credentials_path": _parse_optional_path,
    "hashed_password_window": _float_parser(0.0, inclusive=False),
    "slugs_timeout": _float_parser(0.0, inclusive=False),
    "slugs_cache_ttl": _float_parser(0.0, inclusive=True),
    "slugs_failure_cache_ttl": _float_parser(0.0, inclusive=True),
    "policy_reload_interval": _float_parser(0.0, inclusive=False),
    "lease_time": _int_parser(1),
    "process_inactive_keys": _parse_bool,
    "rng_parameters": _parse_rng_parameters,
    "max_streams": _int_parser(1),
    "max_streams_per_identity": _int_parser(1),
    "stream_ttl": _int_parser(1),
    "stream_max_buffer": _int_parser(1),
    "stream_max_total_buffer": _int_parser(1),
    # ops: audit trail, metrics and health
    "audit_log_path": _parse_optional_path,
    "audit_syslog": _parse_bool,
    "audit_syslog_address": _parse_str,
    "audit_queue_size": _int_parser(1),
    "audit_overflow": lambda raw: _parse_choice(raw, ("drop", "refuse")),
    "metrics_listen": _parse_metrics_listen,
    "metrics_tls": _parse_bool,
    "certificate_groups": _parse_bool,
    "compatibility": _parse_compatibility,
    "revoke_preactive": lambda raw: _parse_choice(raw, ("refuse", "deactivate")),
}

#: Keys read into L{Config.limits} (same names as the L{Limits} fields).
_LIMIT_KEYS = ("max_message_size", "max_depth", "max_batch_count", "idle_timeout", "message_timeout",
               "max_connections", "max_connections_per_client", "handshake_timeout",
               "max_handshakes_per_address", "max_pending_handshakes", "max_partial_bytes", "max_output_bytes",
               "max_response_size", "max_rng_length")
#: Keys read into L{Config.database}: key -> L{DatabaseDeadlines} field.
_DATABASE_KEYS = {"db_connect_timeout": "connect_timeout", "db_statement_timeout": "statement_timeout",
                  "db_lock_timeout": "lock_timeout", "db_pool_timeout": "pool_timeout",
                  "db_keepalive_idle": "keepalive_idle", "db_retry_interval": "retry_interval"}
#: Keys read into L{Config.settings}: key -> L{Settings} field.
_SETTING_KEYS = {"lease_time": "lease_time", "process_inactive_keys": "process_inactive_keys",
                 "rng_parameters": "rng_parameters", "revoke_preactive": "revoke_preactive",
                 "compatibility": "compatibility"}
#: Keys read into L{Config.settings}C{.streams}: key -> L{StreamLimits} field.
_STREAM_KEYS = {"max_streams": "max_streams", "max_streams_per_identity": "max_streams_per_identity",
                "stream_ttl": "ttl", "stream_max_buffer": "max_buffer", "stream_max_total_buffer": "max_total_buffer"}

def _parse_choice(raw: object, choices: tuple[str, ...]) -> str:
    text = str(raw).strip().lower()
    if text not in choices:
        raise ValueError(f"{raw!r} is not one of {', '.join(choices)}")
    return text


_SERVER_SECTIONS = ("server", "kmipd")
_SLUGS_KEYS = ("enabled", "url")
_NO_DEFAULT_SECTION = "\x00kmipd-no-default"


def _where(path: str | None, section: str | None) -> str:
    prefix = f"{path}: " if path else ""
    return f"{prefix}[{section}] " if section else prefix


def _bad(path: str | None, section: str | None, key: str, message: str) -> ConfigError:
    """A L{ConfigError} naming the file, section and key: C{"path: [section] key: message"}."""
    return ConfigError(f"{_where(path, section)}{key}: {message}", key=key, section=section, path=path)


def _bad_section(path: str, section: str, message: str) -> ConfigError:
    """A L{ConfigError} about a whole section: C{"path: [section]: message"}."""
    return ConfigError(f"{path}: [{section}]: {message}", key=section, section=section, path=path)


def _parse_slugs_url(raw: str) -> str:
    text = raw.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{text!r} is not an http:// or https:// URL")
    return text


def _read_parser(path: str) -> configparser.ConfigParser:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"{path}: cannot read configuration file: {e}", path=path
        ) from None
    parser = configparser.ConfigParser(
        interpolation=None,
        allow_no_value=True,
        default_section=_NO_DEFAULT_SECTION,
        strict=True,
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text, source=path)
    except configparser.DuplicateSectionError as e:
        raise ConfigError(
            f"{path}: [{e.section}]: section appears more than once",
            section=e.section,
            path=path,
        ) from None
    except configparser.DuplicateOptionError as e:
        raise ConfigError(
            f"{path}: [{e.section}] {e.option}: key appears more than once",
            key=e.option,
            section=e.section,
            path=path,
        ) from None
    except configparser.Error as e:
        message = str(e).replace("\n", " ")
        raise ConfigError(
            f"{path}: malformed configuration file: {message}", path=path
        ) from None
    return parser


def _server_values(
    parser: configparser.ConfigParser, section: str, path: str
) -> dict[str, tuple[str, object]]:
    """Raw values of one server section: key -> (section, raw value)."""
    values: dict[str, tuple[str, object]] = {}
    list_key: str | None = None
    for raw_key, raw in parser.items(section):
        key = raw_key.strip().lower()
        if raw is None:
            # A bare line: a continuation of a list value whose indentation was
            # lost (as in the PyKMIP documentation's sample), else an error.
            if list_key is not None and " " not in raw_key.strip():
                prev_section, prev = values[list_key]
                values[list_key] = (prev_section, f"{prev}\n{raw_key.strip()}")
                continue
            if key in _PARSERS:
                raise _bad(path, section, key, "missing '=' and value")
            raise _bad(path, section, raw_key, "unknown key")
        if key not in _PARSERS:
            raise _bad(path, section, raw_key, "unknown key")
        if key in values:
            raise _bad(path, section, key, f"also set in [{values[key][0]}]")
        values[key] = (section, raw)
        list_key = key if key in ("tls_cipher_suites", "listen", "https_listen", "metrics_listen") else None
    return values


def _slugs_section(
    parser: configparser.ConfigParser, section: str, path: str
) -> SlugsConfig:
    items = {}
    for raw_key, raw in parser.items(section):
        key = raw_key.strip().lower()
        if key not in _SLUGS_KEYS:
            raise _bad(path, section, raw_key, "unknown key (expected enabled, url)")
        if raw is None:
            raise _bad(path, section, key, "missing '=' and value")
        items[key] = raw
    try:
        enabled = _parse_bool(items.get("enabled", "False"))
    except (ValueError, TypeError) as e:
        raise _bad(path, section, "enabled", f"{e}") from None
    url = str(items.get("url", "")).strip()
    if enabled and not url:
        raise _bad(path, section, "url", "required when the plugin is enabled")
    if url:
        try:
            url = _parse_slugs_url(url)
        except (ValueError, TypeError) as e:
            raise _bad(path, section, "url", f"{e}") from None
    return SlugsConfig(section=section, enabled=enabled, url=url)


def _read_file(
    path: str,
) -> tuple[dict[str, tuple[str, object]], tuple[SlugsConfig, ...]]:
    parser = _read_parser(path)
    values: dict[str, tuple[str, object]] = {}
    slugs: list[SlugsConfig] = []
    for section in parser.sections():
        if section in _SERVER_SECTIONS:
            for key, (sect, raw) in _server_values(parser, section, path).items():
                if key in values:
                    raise _bad(path, sect, key, f"also set in [{values[key][0]}]")
                values[key] = (sect, raw)
        elif section.startswith("auth:"):
            parts = section.split(":", 2)
            plugin = parts[1]
            if plugin != "slugs":
                raise _bad_section(path, section, f"unknown authentication plugin {plugin!r} (supported: slugs)")
            if len(parts) == 3 and not parts[2].strip():
                raise _bad_section(path, section, "empty suffix (use [auth:slugs:<name>])")
            slugs.append(_slugs_section(parser, section, path))
        else:
            raise _bad_section(path, section, "unknown section (expected [server], [kmipd] or [auth:...])")
    return values, tuple(slugs)


#: Settings may also come from the environment: C{KMIPD_<KEY>} (e.g. C{KMIPD_DATABASE_URL}),
#: above the file and below the command line. Other C{KMIPD_*} variables are not settings.
ENV_PREFIX = "KMIPD_"


def environment_values(environ: Mapping[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """Settings given as C{KMIPD_<KEY>} environment variables: key -> (variable, raw value)."""
    env = os.environ if environ is None else environ
    found = {}
    for key in _PARSERS:
        variable = ENV_PREFIX + key.upper()
        if variable in env:
            found[key] = (variable, env[variable])
    return found


def load_config(
    path: str | None = None,
    overrides: Mapping[str, object] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """
    Build a L{Config} from defaults, then the file at C{path}, then C{overrides}.

    @param path: a PyKMIP-style C{server.conf}; C{None} reads no file.
    @param overrides: field name -> typed value or string (from the command
        line); C{None} values are ignored.
    @param environ: the environment (default C{os.environ}): C{KMIPD_<KEY>} variables set
        settings (above the file, below C{overrides}); also the C{data_dir} default.
    @raise ConfigError: naming the key (and file) of any bad value.
    """
    values: dict[str, Any] = {"data_dir": default_data_dir(environ)}
    slugs: tuple[SlugsConfig, ...] = ()
    source_of: dict[str, str] = {}
    if path is not None:
        path = os.fspath(path)
        raw_values, slugs = _read_file(path)
        for key, (section, raw) in raw_values.items():
            try:
                values[key] = _PARSERS[key](raw)
            except (ValueError, TypeError) as e:
                raise _bad(path, section, key, f"{e}") from None
            source_of[key] = _where(path, section)

    for key, (variable, raw) in environment_values(environ).items():  # ops: KMIPD_* settings
        try:
            values[key] = _PARSERS[key](raw)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"${variable}: {e}", key=key) from None
        source_of[key] = f"${variable}: "

    known = {f.name for f in fields(Config)} - {"limits", "settings", "database"} | set(_PARSERS)
    for key, raw in (overrides or {}).items():
        if key not in known:
            raise ConfigError(f"overrides: {key}: unknown setting", key=key)
        if raw is None:
            continue
        if key == "slugs":
            if not isinstance(raw, (list, tuple)) or not all(
                isinstance(s, SlugsConfig) for s in raw
            ):
                raise ConfigError(
                    "overrides: slugs: expected SlugsConfig items", key=key
                )
            slugs = tuple(raw)
            continue
        try:
            values[key] = _PARSERS[key](raw)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"overrides: {key}: {e}", key=key) from None
        source_of[key] = "overrides: "

    config = _build(values, slugs)
    _check_tls_paths(config, source_of, path)
    return config


def _build(values: dict[str, Any], slugs: tuple[SlugsConfig, ...]) -> Config:
    """The L{Config} of flat key values: limits, database deadlines and settings gathered into their objects."""
    limits = {k: values.pop(k) for k in _LIMIT_KEYS if k in values}
    database = {f: values.pop(k) for k, f in _DATABASE_KEYS.items() if k in values}
    settings = {f: values.pop(k) for k, f in _SETTING_KEYS.items() if k in values}
    streams = {f: values.pop(k) for k, f in _STREAM_KEYS.items() if k in values}
    return Config(slugs=slugs, limits=Limits(**limits), database=DatabaseDeadlines(**database),
                  settings=Settings(streams=StreamLimits(**streams), **settings), **values)


def _check_tls_paths(
    config: Config, source_of: Mapping[str, str], path: str | None
) -> None:
    """Certificate, key and CA are configured together or not at all."""
    if config.uses_dev_pki:
        return
    default_where = _where(path, "server")
    for missing, because in (
        ("certificate_path", "key_path"),
        ("key_path", "certificate_path"),
        ("ca_path", "certificate_path"),
        ("certificate_path", "ca_path"),
    ):
        if getattr(config, missing) is None and getattr(config, because) is not None:
            where = source_of.get(because, default_where)
            raise ConfigError(
                f"{where}{missing}: required when {because} is set "
                "(set certificate_path, key_path and ca_path together, or none "
                "of them for the generated development PKI)",
                key=missing,
                path=path,
            )
