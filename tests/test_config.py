"""
Tests for L{kmipd.config}.
"""

from __future__ import annotations

import os
import textwrap

from twisted.internet.endpoints import serverFromString
from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import SynchronousTestCase

from kmipd.config import Config, ConfigError, SlugsConfig, default_data_dir, load_config
from kmipd.limits import Limits
from kmipd.settings import Settings, StreamLimits
from kmipd.spec import DRBGAlgorithm, HashingAlgorithm, RNGAlgorithm, Tag

ENV = {"KMIPD_DATA_DIR": "/srv/kmipd-test"}

# The sample from PyKMIP's server documentation, as PyKMIP ships it
# (examples/server.conf: list continuation lines indented).
PYKMIP_SAMPLE = """\
[server]
hostname=127.0.0.1
port=5696
certificate_path=/path/to/certificate/file
key_path=/path/to/certificate/key/file
ca_path=/path/to/ca/certificate/file
auth_suite=Basic
policy_path=/path/to/policy/file
enable_tls_client_auth=True
tls_cipher_suites=
    TLS_RSA_WITH_AES_128_CBC_SHA256
    TLS_RSA_WITH_AES_256_CBC_SHA256
    TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
logging_level=DEBUG
database_path=/tmp/pykmip.db

[auth:slugs]
enabled=False
url=http://127.0.0.1:8080/slugs/
"""

EXAMPLE_CONF = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "etc", "server.conf"
)


class ConfigTestsMixin:
    """Helpers to write configuration files."""

    def write(self, text: str) -> str:
        """Write C{text} (dedented) to a fresh file and return its path."""
        path = self.mktemp()  # type: ignore[attr-defined]
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))
        return path

    def load_error(self, text: str, overrides: dict | None = None) -> tuple[str, str]:
        """Load C{text}, expect a L{ConfigError}; return (path, message)."""
        path = self.write(text)
        error = self.assertRaises(  # type: ignore[attr-defined]
            ConfigError, load_config, path, overrides, environ=ENV
        )
        return path, str(error)


class DefaultsTests(SynchronousTestCase):
    """Defaults without a file."""

    def test_defaults(self) -> None:
        """Without file or overrides every field has its documented default."""
        config = load_config(environ=ENV)
        self.assertEqual(
            config,
            Config(
                hostname="127.0.0.1",
                port=5696,
                auth_suite="TLS1.2",
                enable_tls_client_auth=True,
                tls_cipher_suites=(),
                logging_level="INFO",
                data_dir="/srv/kmipd-test",
                listen=(),
                thread_pool_size=8,
                db_pool_size=4,
                limits=Limits(max_message_size=1048576, max_depth=32, max_batch_count=64, idle_timeout=300.0,
                              message_timeout=30.0, max_connections=10000, max_connections_per_client=1000),
                settings=Settings(lease_time=3600, process_inactive_keys=False, compatibility="kmip"),
                slugs_timeout=5.0,
                slugs_cache_ttl=30.0,
                policy_reload_interval=0.5,
                slugs=(),
            ),
        )
        self.assertTrue(config.uses_dev_pki)

    def test_data_dir_environment(self) -> None:
        """KMIPD_DATA_DIR wins over XDG_DATA_HOME, which wins over ~/.local/share."""
        self.assertEqual(
            default_data_dir({"KMIPD_DATA_DIR": "/a", "XDG_DATA_HOME": "/x"}), "/a"
        )
        self.assertEqual(default_data_dir({"XDG_DATA_HOME": "/x"}), "/x/kmipd")
        self.assertEqual(
            default_data_dir({}),
            os.path.join(os.path.expanduser("~"), ".local", "share", "kmipd"),
        )

    def test_effective_database_url(self) -> None:
        """database_url wins, then database_path, then a file in data_dir."""
        base = load_config(environ=ENV)
        self.assertEqual(
            base.effective_database_url, "sqlite:////srv/kmipd-test/kmipd.sqlite"
        )
        with_path = load_config(
            overrides={"database_path": "/var/db/k.db"}, environ=ENV
        )
        self.assertEqual(with_path.effective_database_url, "sqlite:////var/db/k.db")
        with_url = load_config(
            overrides={
                "database_path": "/var/db/k.db",
                "database_url": "postgresql://h/db",
            },
            environ=ENV,
        )
        self.assertEqual(with_url.effective_database_url, "postgresql://h/db")

    def test_effective_master_key_path(self) -> None:
        """master_key_path defaults to master.key in data_dir."""
        self.assertEqual(
            load_config(environ=ENV).effective_master_key_path,
            "/srv/kmipd-test/master.key",
        )
        self.assertEqual(
            load_config(
                overrides={"master_key_path": "/k/m.key"}, environ=ENV
            ).effective_master_key_path,
            "/k/m.key",
        )

    def test_effective_listen_ipv4(self) -> None:
        """Without listen, one TCP endpoint is derived from hostname and port."""
        config = load_config(overrides={"port": 5697}, environ=ENV)
        self.assertEqual(config.effective_listen, ("tcp:5697:interface=127.0.0.1",))

    def test_effective_listen_ipv6(self) -> None:
        """An IPv6 hostname has its colons escaped so the endpoint parser accepts it."""
        config = load_config(overrides={"hostname": "::"}, environ=ENV)
        (desc,) = config.effective_listen
        self.assertEqual(desc, "tcp:5696:interface=\\:\\:")
        endpoint = serverFromString(MemoryReactor(), desc)
        self.assertEqual(endpoint._interface, "::")  # type: ignore[attr-defined]

    def test_explicit_listen_kept(self) -> None:
        """An explicit listen list replaces the derived endpoint."""
        config = load_config(overrides={"listen": ["tcp:1", "unix:/s"]}, environ=ENV)
        self.assertEqual(config.effective_listen, ("tcp:1", "unix:/s"))

    def test_https_listen_default_empty(self) -> None:
        """Without https_listen there is no HTTPS endpoint (it is never derived from hostname/port)."""
        self.assertEqual(load_config(environ=ENV).https_listen, ())
        self.assertEqual(load_config(overrides={"port": 5697}, environ=ENV).https_listen, ())

    def test_https_listen_override(self) -> None:
        """https_listen overrides are kept in order, duplicates removed; ssl:/tls: are refused."""
        config = load_config(overrides={"https_listen": ["tcp:8443", "unix:/h", "tcp:8443"]}, environ=ENV)
        self.assertEqual(config.https_listen, ("tcp:8443", "unix:/h"))
        self.assertEqual(config.effective_listen, ("tcp:5696:interface=127.0.0.1",))
        error = self.assertRaises(ConfigError, load_config, overrides={"https_listen": ["ssl:443"]}, environ=ENV)
        self.assertEqual(error.key, "https_listen")
        self.assertIn("kmipd adds mutual TLS itself", str(error))


class FileTests(ConfigTestsMixin, SynchronousTestCase):
    """Reading files."""

    def test_pykmip_sample(self) -> None:
        """PyKMIP's documented server.conf loads unchanged with PyKMIP's meaning."""
        config = load_config(self.write(PYKMIP_SAMPLE), environ=ENV)
        self.assertEqual(config.hostname, "127.0.0.1")
        self.assertEqual(config.port, 5696)
        self.assertEqual(config.certificate_path, "/path/to/certificate/file")
        self.assertEqual(config.key_path, "/path/to/certificate/key/file")
        self.assertEqual(config.ca_path, "/path/to/ca/certificate/file")
        self.assertEqual(config.auth_suite, "Basic")
        self.assertEqual(config.policy_path, "/path/to/policy/file")
        self.assertIs(config.enable_tls_client_auth, True)
        self.assertEqual(
            config.tls_cipher_suites,
            (
                "TLS_RSA_WITH_AES_128_CBC_SHA256",
                "TLS_RSA_WITH_AES_256_CBC_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
            ),
        )
        self.assertEqual(config.logging_level, "DEBUG")
        self.assertEqual(config.database_path, "/tmp/pykmip.db")
        self.assertEqual(
            config.slugs,
            (SlugsConfig("auth:slugs", False, "http://127.0.0.1:8080/slugs/"),),
        )

    def test_pykmip_sample_unindented(self) -> None:
        """The sample as printed in the docs (list lines not indented) loads the same."""
        flat = "\n".join(line.strip() for line in PYKMIP_SAMPLE.splitlines())
        self.assertEqual(
            load_config(self.write(flat), environ=ENV),
            load_config(self.write(PYKMIP_SAMPLE), environ=ENV),
        )

    def test_example_config_loads(self) -> None:
        """The annotated etc/server.conf shipped with kmipd is accepted."""
        config = load_config(EXAMPLE_CONF, environ=ENV)
        self.assertEqual(config.port, 5696)
        self.assertEqual(config.limits.max_message_size, 1048576)
        self.assertEqual(config.limits.idle_timeout, 300.0)
        self.assertEqual(
            (config.limits.message_timeout, config.limits.max_connections, config.limits.max_connections_per_client),
            (30.0, 10000, 1000),
        )
        self.assertEqual(
            config.slugs,
            (SlugsConfig("auth:slugs", False, "http://127.0.0.1:8080/slugs/"),),
        )
        self.assertTrue(config.uses_dev_pki)

    def test_kmipd_section(self) -> None:
        """kmipd keys are read from [server] or [kmipd] alike."""
        config = load_config(
            self.write(
                """\
                [server]
                port=6000
                max_depth=10
                [kmipd]
                thread_pool_size=3
                listen=
                    tcp:6000
                    tcp6:6000:interface=\\:\\:1
                """
            ),
            environ=ENV,
        )
        self.assertEqual(
            (config.port, config.limits.max_depth, config.thread_pool_size, config.listen),
            (6000, 10, 3, ("tcp:6000", "tcp6:6000:interface=\\:\\:1")),
        )

    def test_connection_limits_in_file(self) -> None:
        """message_timeout, max_connections and max_connections_per_client are read from [server]."""
        config = load_config(
            self.write(
                """\
                [server]
                message_timeout=12.5
                max_connections=200
                max_connections_per_client=7
                """
            ),
            environ=ENV,
        )
        self.assertEqual(
            (config.limits.message_timeout, config.limits.max_connections, config.limits.max_connections_per_client),
            (12.5, 200, 7),
        )

    def test_handler_settings_in_file(self) -> None:
        """Lease time, inactive-key processing, the compatibility mode, RNG parameters and the
        multi-part stream bounds are read from the file into C{config.settings}."""
        config = load_config(
            self.write(
                """\
                [kmipd]
                lease_time=60
                process_inactive_keys=yes
                compatibility=PyKMIP
                rng_parameters=RNG Algorithm: DRBG, DRBG Algorithm: Hash, Hashing Algorithm: SHA-256,
                  Prediction Resistance: yes
                max_streams=10
                max_streams_per_identity=2
                stream_ttl=30
                stream_max_buffer=1024
                stream_max_total_buffer=4096
                """
            ),
            environ=ENV,
        )
        settings = config.settings
        self.assertEqual((settings.lease_time, settings.process_inactive_keys, settings.compatibility),
                         (60, True, "pykmip"))
        self.assertEqual(settings.rng_parameters, (
            (Tag.RNG_ALGORITHM, RNGAlgorithm.DRBG), (Tag.DRBG_ALGORITHM, DRBGAlgorithm.HASH),
            (Tag.HASHING_ALGORITHM, HashingAlgorithm.SHA_256), (Tag.PREDICTION_RESISTANCE, 1)))
        self.assertEqual(settings.streams, StreamLimits(max_streams=10, max_streams_per_identity=2, ttl=30,
                                                        max_buffer=1024, max_total_buffer=4096))
        table = settings.streams.table()
        self.assertEqual((table.max_streams, table.ttl, table.max_total_buffer), (10, 30, 4096))
        rng = settings.rng_item()
        self.assertEqual((rng.get(Tag.RNG_ALGORITHM), rng.get(Tag.PREDICTION_RESISTANCE)), (RNGAlgorithm.DRBG, True))

    def test_bad_handler_settings(self) -> None:
        """Bad settings values name their key."""
        for key, value, fragment in (
            ("lease_time", "0", "out of range"),
            ("rng_parameters", "DRBG", "'Field: value'"),
            ("rng_parameters", "RNG Algorithm: Quantum", "is not a RNG Algorithm value"),
            ("rng_parameters", "DRBG Algorithm: Hash", "RNG Algorithm is required"),
            ("rng_parameters", "Colour: blue", "'Field: value'"),
            ("stream_ttl", "x", "is not an integer"),
        ):
            path, message = self.load_error(f"[kmipd]\n{key}={value}\n")
            self.assertIn(f"[kmipd] {key}: ", message)
            self.assertIn(fragment, message)

    def test_https_listen_in_file(self) -> None:
        """https_listen is a list key like listen: indented continuation lines, in [server] or [kmipd]."""
        config = load_config(
            self.write(
                """\
                [kmipd]
                https_listen=
                    tcp:8443:interface=127.0.0.1
                    tcp6:8443:interface=\\:\\:1
                """
            ),
            environ=ENV,
        )
        self.assertEqual(config.https_listen, ("tcp:8443:interface=127.0.0.1", "tcp6:8443:interface=\\:\\:1"))
        self.assertEqual(config.listen, ())

    def test_key_in_both_sections(self) -> None:
        """A key set in both [server] and [kmipd] is an error naming it."""
        path, message = self.load_error("[server]\nport=1\n[kmipd]\nport=2\n")
        self.assertEqual(message, f"{path}: [kmipd] port: also set in [server]")

    def test_unknown_key(self) -> None:
        """A misspelt key is an error naming the key, section and file."""
        path, message = self.load_error("[server]\nhostnme=127.0.0.1\n")
        self.assertEqual(message, f"{path}: [server] hostnme: unknown key")

    def test_unknown_key_kmipd_section(self) -> None:
        """Unknown keys in [kmipd] are errors too."""
        path, message = self.load_error("[kmipd]\nthreads=4\n")
        self.assertEqual(message, f"{path}: [kmipd] threads: unknown key")

    def test_unknown_section(self) -> None:
        """An unknown section is an error naming it."""
        path, message = self.load_error("[server]\nport=1\n[sever]\nport=2\n")
        self.assertTrue(
            message.startswith(f"{path}: [sever]: unknown section"), message
        )

    def test_missing_file(self) -> None:
        """A missing file is an error naming the file."""
        path = self.mktemp()
        error = self.assertRaises(ConfigError, load_config, path, environ=ENV)
        self.assertEqual(str(error), f"{path}: configuration file not found")

    def test_directory_not_file(self) -> None:
        """An unreadable path (a directory) is an error naming it."""
        path = self.mktemp()
        os.mkdir(path)
        error = self.assertRaises(ConfigError, load_config, path, environ=ENV)
        self.assertTrue(
            str(error).startswith(f"{path}: cannot read configuration file")
        )

    def test_malformed_file(self) -> None:
        """A file without section headers is an error naming the file."""
        path, message = self.load_error("port=5696\n")
        self.assertTrue(
            message.startswith(f"{path}: malformed configuration file"), message
        )

    def test_duplicate_key(self) -> None:
        """A key repeated in one section is an error naming it."""
        path, message = self.load_error("[server]\nport=1\nport=2\n")
        self.assertEqual(message, f"{path}: [server] port: key appears more than once")

    def test_no_interpolation(self) -> None:
        """Percent signs in values are taken literally."""
        config = load_config(
            self.write("[kmipd]\ndatabase_url=postgresql://u:p%40ss@h/db\n"),
            environ=ENV,
        )
        self.assertEqual(config.database_url, "postgresql://u:p%40ss@h/db")

    def test_bad_values_name_key_and_file(self) -> None:
        """Every bad value is reported with the file, section and key."""
        cases = [
            ("port", "abc", "'abc' is not an integer"),
            ("port", "70000", "out of range"),
            ("hostname", "", "must not be empty"),
            ("auth_suite", "TLS1.0", "is not one of 'Basic', 'TLS1.2'"),
            ("enable_tls_client_auth", "maybe", "is not a boolean"),
            ("tls_cipher_suites", "TLS_FOO", "unknown cipher suite 'TLS_FOO'"),
            ("logging_level", "LOUD", "is not one of DEBUG"),
            ("thread_pool_size", "0", "out of range"),
            ("db_pool_size", "x", "is not an integer"),
            ("max_message_size", "4", "out of range"),
            ("max_depth", "1.5", "is not an integer"),
            ("max_batch_count", "-1", "out of range"),
            ("idle_timeout", "0", "out of range"),
            ("idle_timeout", "soon", "is not a number"),
            ("message_timeout", "0", "out of range"),
            ("message_timeout", "inf", "is not a finite number"),
            ("max_connections", "0", "out of range"),
            ("max_connections", "many", "is not an integer"),
            ("max_connections_per_client", "0", "out of range"),
            ("max_connections_per_client", "2.5", "is not an integer"),
            ("slugs_timeout", "nan", "is not a finite number"),
            ("slugs_cache_ttl", "-1", "out of range"),
            ("policy_reload_interval", "0", "out of range"),
            ("database_url", "not a url", "is not a database URL"),
            ("listen", "ssl:5696", "kmipd adds mutual TLS itself"),
            ("https_listen", "tls:8443", "kmipd adds mutual TLS itself"),
            ("data_dir", " ", "must not be empty"),
        ]
        for key, value, problem in cases:
            path, message = self.load_error(f"[server]\n{key}={value}\n")
            prefix = f"{path}: [server] {key}: "
            self.assertTrue(message.startswith(prefix), (key, message))
            self.assertIn(problem, message, key)

    def test_bool_parsing(self) -> None:
        """Booleans accept True/False, yes/no and 1/0 in any case."""
        for text, expected in [
            ("True", True),
            ("true", True),
            ("YES", True),
            ("yes", True),
            ("1", True),
            ("False", False),
            ("FALSE", False),
            ("no", False),
            ("No", False),
            ("0", False),
        ]:
            config = load_config(
                self.write(f"[server]\nenable_tls_client_auth={text}\n"), environ=ENV
            )
            self.assertIs(config.enable_tls_client_auth, expected, text)

    def test_case_insensitive_choices(self) -> None:
        """auth_suite and logging_level are case-insensitive and normalised."""
        config = load_config(
            self.write("[server]\nauth_suite=tls1.2\nlogging_level=warning\n"),
            environ=ENV,
        )
        self.assertEqual(
            (config.auth_suite, config.logging_level), ("TLS1.2", "WARNING")
        )
        config = load_config(self.write("[server]\nauth_suite=BASIC\n"), environ=ENV)
        self.assertEqual(config.auth_suite, "Basic")

    def test_cipher_suites_forms(self) -> None:
        """Cipher suites may be space, comma or newline separated; duplicates collapse."""
        config = load_config(
            self.write(
                "[server]\ntls_cipher_suites=TLS_AES_128_GCM_SHA256, "
                "AES128-SHA256\n  TLS_AES_128_GCM_SHA256\n"
            ),
            environ=ENV,
        )
        self.assertEqual(
            config.tls_cipher_suites, ("TLS_AES_128_GCM_SHA256", "AES128-SHA256")
        )

    def test_tls_paths_together(self) -> None:
        """certificate_path without key_path or ca_path is an error naming the missing key."""
        path, message = self.load_error(
            "[server]\ncertificate_path=/c.pem\nca_path=/ca.pem\n"
        )
        self.assertTrue(
            message.startswith(f"{path}: [server] key_path: required"), message
        )
        path, message = self.load_error(
            "[server]\ncertificate_path=/c.pem\nkey_path=/k.pem\n"
        )
        self.assertTrue(
            message.startswith(f"{path}: [server] ca_path: required"), message
        )
        path, message = self.load_error("[server]\nca_path=/ca.pem\n")
        self.assertTrue(
            message.startswith(f"{path}: [server] certificate_path: required"), message
        )

    def test_home_expanded(self) -> None:
        """Paths starting with ~ are expanded."""
        config = load_config(
            self.write("[server]\npolicy_path=~/policies\n"), environ=ENV
        )
        self.assertEqual(config.policy_path, os.path.expanduser("~/policies"))


class SlugsTests(ConfigTestsMixin, SynchronousTestCase):
    """[auth:slugs] sections."""

    def test_sections_in_file_order(self) -> None:
        """SLUGS blocks are returned in file order with their settings."""
        config = load_config(
            self.write(
                """\
                [auth:slugs:zeta]
                enabled=yes
                url=https://z.example/slugs/
                [server]
                port=5696
                [auth:slugs]
                enabled=False
                url=http://127.0.0.1:8080/slugs/
                [auth:slugs:alpha]
                enabled=1
                url=http://a.example/
                """
            ),
            environ=ENV,
        )
        self.assertEqual(
            config.slugs,
            (
                SlugsConfig("auth:slugs:zeta", True, "https://z.example/slugs/"),
                SlugsConfig("auth:slugs", False, "http://127.0.0.1:8080/slugs/"),
                SlugsConfig("auth:slugs:alpha", True, "http://a.example/"),
            ),
        )
        self.assertEqual(
            [s.section for s in config.enabled_slugs],
            ["auth:slugs:zeta", "auth:slugs:alpha"],
        )

    def test_unknown_plugin(self) -> None:
        """An auth section of an unknown type is an error naming it."""
        path, message = self.load_error("[auth:ldap]\nenabled=True\n")
        self.assertEqual(
            message,
            f"{path}: [auth:ldap]: unknown authentication plugin 'ldap' (supported: slugs)",
        )

    def test_enabled_without_url(self) -> None:
        """An enabled SLUGS block needs a url."""
        path, message = self.load_error("[auth:slugs:x]\nenabled=True\n")
        self.assertEqual(
            message, f"{path}: [auth:slugs:x] url: required when the plugin is enabled"
        )

    def test_bad_enabled(self) -> None:
        """A non-boolean enabled value names the section and key."""
        path, message = self.load_error("[auth:slugs]\nenabled=sure\nurl=http://h/\n")
        self.assertTrue(message.startswith(f"{path}: [auth:slugs] enabled: "), message)

    def test_bad_url(self) -> None:
        """A url that is not http(s) names the section and key."""
        path, message = self.load_error("[auth:slugs]\nenabled=True\nurl=ftp://h/\n")
        self.assertTrue(message.startswith(f"{path}: [auth:slugs] url: "), message)

    def test_unknown_slugs_key(self) -> None:
        """Unknown keys in a SLUGS block are errors."""
        path, message = self.load_error("[auth:slugs]\nenabled=True\nurls=http://h/\n")
        self.assertTrue(
            message.startswith(f"{path}: [auth:slugs] urls: unknown key"), message
        )

    def test_empty_suffix(self) -> None:
        """[auth:slugs:] with an empty suffix is an error."""
        path, message = self.load_error("[auth:slugs:]\nenabled=False\n")
        self.assertTrue(
            message.startswith(f"{path}: [auth:slugs:]: empty suffix"), message
        )


class OverrideTests(ConfigTestsMixin, SynchronousTestCase):
    """Precedence: defaults < file < overrides."""

    def test_precedence(self) -> None:
        """Overrides beat the file, which beats the defaults."""
        path = self.write("[server]\nport=6000\nhostname=::1\nlogging_level=DEBUG\n")
        config = load_config(path, {"port": "7000", "logging_level": None}, environ=ENV)
        self.assertEqual(config.port, 7000)
        self.assertEqual(config.hostname, "::1")
        self.assertEqual(config.logging_level, "DEBUG")
        self.assertEqual(config.limits.max_depth, 32)

    def test_typed_overrides(self) -> None:
        """Already-typed override values are accepted."""
        config = load_config(
            overrides={"port": 1, "enable_tls_client_auth": False, "idle_timeout": 5},
            environ=ENV,
        )
        self.assertEqual(
            (config.port, config.enable_tls_client_auth, config.limits.idle_timeout),
            (1, False, 5.0),
        )

    def test_bad_override(self) -> None:
        """A bad override names the key."""
        error = self.assertRaises(
            ConfigError, load_config, None, {"port": "x"}, environ=ENV
        )
        self.assertEqual(str(error), "overrides: port: 'x' is not an integer")
        error = self.assertRaises(
            ConfigError, load_config, None, {"port": True}, environ=ENV
        )
        self.assertEqual(str(error), "overrides: port: True is not an integer")

    def test_unknown_override(self) -> None:
        """An unknown override key is an error naming it."""
        error = self.assertRaises(
            ConfigError, load_config, None, {"prot": 1}, environ=ENV
        )
        self.assertEqual(str(error), "overrides: prot: unknown setting")
        self.assertEqual(error.key, "prot")

    def test_override_completes_tls_paths(self) -> None:
        """The all-or-none TLS path rule applies after overrides are merged."""
        path = self.write("[server]\ncertificate_path=/c\nkey_path=/k\n")
        config = load_config(path, {"ca_path": "/ca"}, environ=ENV)
        self.assertEqual(
            (config.certificate_path, config.key_path, config.ca_path),
            ("/c", "/k", "/ca"),
        )
