"""Tests for L{kmipd.tap}: C{twistd kmip} options, the service maker and process exit codes."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from typing import Any

from twisted.internet import defer
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase

from kmipd.service import KMIPService
from kmipd.tap import ConfigurationError, Options, makeService

from . import busy_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TWISTD = os.path.join(os.path.dirname(sys.executable), "twistd")


class OptionsTests(SynchronousTestCase):
    """Command-line parsing into a Config."""

    def setUp(self) -> None:
        self.data = os.path.abspath(self.mktemp())

    def parse(self, *argv: str) -> Options:
        options = Options()
        options.parseOptions(["--data-dir", self.data, *argv])
        return options

    def write(self, text: str) -> str:
        path = os.path.abspath(self.mktemp()) + ".conf"
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_defaults(self) -> None:
        """No options: 127.0.0.1:5696, INFO logging, the given data directory."""
        config = self.parse()["configuration"]
        self.assertEqual(config.effective_listen, ("tcp:5696:interface=127.0.0.1",))
        self.assertEqual(config.logging_level, "INFO")
        self.assertEqual(config.data_dir, self.data)
        self.assertTrue(config.uses_dev_pki)

    def test_listen_repeatable(self) -> None:
        """--listen may be given several times, in order; -l is its short form."""
        config = self.parse("--listen", "tcp:5697:interface=127.0.0.1", "-l", "tcp:5698")["configuration"]
        self.assertEqual(config.effective_listen, ("tcp:5697:interface=127.0.0.1", "tcp:5698"))

    def test_listen_tls_rejected(self) -> None:
        """ssl: and tls: endpoints are refused: kmipd adds mutual TLS itself."""
        for description in ("ssl:5696", "tls:5696", "SSL:5696:privateKey=x"):
            e = self.assertRaises(UsageError, self.parse, "--listen", description)
            self.assertIn("TLS", str(e))

    def test_https_listen_repeatable(self) -> None:
        """--https-listen may be given several times, in order, and leaves --listen alone."""
        config = self.parse("--https-listen", "tcp:8443:interface=127.0.0.1", "--https-listen", "tcp:8444",
                            "--listen", "tcp:5697")["configuration"]
        self.assertEqual(config.https_listen, ("tcp:8443:interface=127.0.0.1", "tcp:8444"))
        self.assertEqual(config.effective_listen, ("tcp:5697",))
        self.assertEqual(self.parse()["configuration"].https_listen, ())

    def test_https_listen_tls_rejected(self) -> None:
        """ssl: and tls: endpoints are refused for --https-listen too."""
        for description in ("ssl:8443", "TLS:8443"):
            e = self.assertRaises(UsageError, self.parse, "--https-listen", description)
            self.assertIn("TLS", str(e))

    def test_https_listen_overrides_file(self) -> None:
        """--https-listen replaces the file's https_listen."""
        path = self.write("[server]\nhttps_listen=tcp:9000\n")
        self.assertEqual(self.parse("--config", path)["configuration"].https_listen, ("tcp:9000",))
        config = self.parse("--config", path, "--https-listen", "tcp:9001")["configuration"]
        self.assertEqual(config.https_listen, ("tcp:9001",))

    def test_config_file(self) -> None:
        """--config reads a PyKMIP-style server.conf."""
        path = self.write("[server]\nhostname=127.0.0.1\nport=5999\nlogging_level=DEBUG\n")
        config = self.parse("--config", path)["configuration"]
        self.assertEqual(config.port, 5999)
        self.assertEqual(config.logging_level, "DEBUG")
        self.assertEqual(config.effective_listen, ("tcp:5999:interface=127.0.0.1",))

    def test_command_line_wins(self) -> None:
        """Command-line options override the configuration file."""
        path = self.write("[server]\nlogging_level=DEBUG\n")
        config = self.parse("--config", path, "--logging-level", "ERROR", "--thread-pool-size", "3",
                            "--idle-timeout", "12.5")["configuration"]
        self.assertEqual((config.logging_level, config.thread_pool_size, config.limits.idle_timeout),
                         ("ERROR", 3, 12.5))

    def fails(self, *argv: str) -> str:
        """The one line a refused command line writes (exit status 2)."""
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        e = self.assertRaises(ConfigurationError, self.parse, *argv)
        self.assertEqual(e.code, 2)
        self.assertEqual(err.getvalue(), f"kmipd: {e.message}\n")
        return e.message

    def test_bad_config_value(self) -> None:
        """A bad value in the file is one line naming the key and the file."""
        path = self.write("[server]\nport=notanumber\n")
        message = self.fails("--config", path)
        self.assertIn("port", message)
        self.assertIn(path, message)

    def test_missing_config_file(self) -> None:
        """A configuration file that does not exist is one line naming it."""
        path = os.path.abspath(self.mktemp())
        self.assertIn(path, self.fails("--config", path))

    def test_bad_command_line_value(self) -> None:
        """A bad command-line value names the option as typed, not an internal key."""
        self.assertEqual(self.fails("--thread-pool-size", "lots"), "--thread-pool-size: 'lots' is not an integer")
        self.assertTrue(self.fails("--idle-timeout", "-5").startswith("--idle-timeout: "))


class MakeServiceTests(TestCase):
    """makeService builds a working KMIPService."""

    @defer.inlineCallbacks
    def test_make_service(self):  # type: ignore[no-untyped-def]
        """makeService returns a KMIPService that prints where the dev PKI is, starts and stops cleanly."""
        data = os.path.abspath(self.mktemp())
        options = Options()
        options.parseOptions(["--data-dir", data, "--listen", "tcp:0:interface=127.0.0.1"])
        written: list[str] = []
        self.patch(sys, "stderr", type("W", (), {"write": lambda _, s: written.append(s),
                                                 "flush": lambda _: None})())
        service = makeService(options)
        self.assertIsInstance(service, KMIPService)
        self.assertEqual(service.config.data_dir, data)
        self.assertIn(os.path.join(data, "pki", "client.key"), "".join(written))
        service.startService()
        try:
            self.assertEqual(len(service.ports), 1)
            self.assertTrue(service.pool.pool.started)
        finally:
            yield service.stopService()
        self.assertEqual(service.ports, [])
        self.assertFalse(service.pool.pool.started)

    def test_listen_failure_exits(self) -> None:
        """A busy port: exit status 1, one line, and no data directory (kmipd listens before creating files)."""
        data = os.path.abspath(self.mktemp())
        options = Options()
        options.parseOptions(["--data-dir", data, "--listen", "tcp:0:interface=127.0.0.1",
                              "--https-listen", f"tcp:{busy_port(self)}:interface=127.0.0.1"])
        written: list[str] = []
        self.patch(sys, "stderr", type("W", (), {"write": lambda _, s: written.append(s),
                                                 "flush": lambda _: None})())
        e = self.assertRaises(SystemExit, makeService, options)
        self.assertEqual(e.code, 1)
        self.assertEqual(len(written), 1)
        self.assertTrue(written[0].startswith("kmipd: cannot listen on "), written)
        self.assertIn("in use", written[0])
        self.assertFalse(os.path.exists(data))

    def test_busy_metrics_port_creates_nothing(self) -> None:
        """A busy metrics_listen port fails the start the same way, before any data file."""
        data = os.path.abspath(self.mktemp())
        conf = os.path.abspath(self.mktemp()) + ".conf"
        with open(conf, "w") as f:
            f.write(f"[server]\nmetrics_listen=tcp:{busy_port(self)}:interface=127.0.0.1\n"
                    f"audit_log_path={data}/audit.jsonl\n")
        options = Options()
        options.parseOptions(["--config", conf, "--data-dir", data, "--listen", "tcp:0:interface=127.0.0.1"])
        written: list[str] = []
        self.patch(sys, "stderr", type("W", (), {"write": lambda _, s: written.append(s),
                                                 "flush": lambda _: None})())
        self.assertEqual(self.assertRaises(SystemExit, makeService, options).code, 1)
        self.assertTrue(written[0].startswith("kmipd: metrics_listen: cannot listen on "), written)
        self.assertFalse(os.path.exists(data))

    @defer.inlineCallbacks
    def test_adopts_bound_ports(self):  # type: ignore[no-untyped-def]
        """The service answers KMIP (mutual TLS, dev PKI) on the port bound before it existed, and
        releases the port on stop."""
        import socket

        from twisted.internet.threads import deferToThread

        from .test_interop_pykmip import tls_exchange

        data = os.path.abspath(self.mktemp())
        options = Options()
        options.parseOptions(["--data-dir", data, "--listen", "tcp:0:interface=127.0.0.1"])
        self.patch(sys, "stderr", io.StringIO())
        service = makeService(options)
        service.privilegedStartService()
        service.startService()
        try:
            (port,) = service.ports
            number = port.getHost().port
            pki = service.dev_pki
            answer = yield deferToThread(tls_exchange, number, pki.ca_cert, pki.client_cert, pki.client_key)
            self.assertEqual(answer[:3], b"\x42\x00\x7b")  # a Response Message
        finally:
            yield service.stopService()
        self.assertEqual(service.ports, [])
        self.assertRaises(ConnectionRefusedError, socket.create_connection, ("127.0.0.1", number), 5)

    def test_failure_after_fork_goes_to_status_pipe(self) -> None:
        """Daemonised (twistd holds a status pipe), a start failure is an ordinary exception, which
        twistd writes to the pipe for the launching process (a SystemExit would leave it waiting)."""
        from kmipd.tap import StartError, _command_line_service

        options = Options()
        options.parseOptions(["--data-dir", os.path.abspath(self.mktemp()),
                              "--listen", f"tcp:{busy_port(self)}:interface=127.0.0.1"])
        config = options["configuration"]
        service = _command_line_service(config, None, {"statusPipe": 99, "pidfile": "twistd.pid"})
        self.addCleanup(service.store.close)
        e = self.assertRaises(StartError, service.privilegedStartService)
        self.assertIn("in use", str(e))

    def test_failure_in_foreground_removes_pid_file(self) -> None:
        """In the foreground the failure is one line, exit status 1, and twistd's pid file is removed."""
        from kmipd.tap import _command_line_service

        options = Options()
        options.parseOptions(["--data-dir", os.path.abspath(self.mktemp()),
                              "--listen", f"tcp:{busy_port(self)}:interface=127.0.0.1"])
        pidfile = os.path.abspath(self.mktemp())
        with open(pidfile, "w") as f:
            f.write(str(os.getpid()))
        service = _command_line_service(options["configuration"], None, {"statusPipe": None, "pidfile": pidfile})
        self.addCleanup(service.store.close)
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        self.assertEqual(self.assertRaises(SystemExit, service.startService).code, 1)
        self.assertEqual(err.getvalue().count("\n"), 1)
        self.assertIn("cannot listen", err.getvalue())
        self.assertFalse(os.path.exists(pidfile))


def run(argv: list[str], cwd: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a command with the repository importable and a bounded time."""
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


class ProcessTests(SynchronousTestCase):
    """C{twistd kmip} as a process: configuration errors and busy ports exit non-zero, clearly."""

    def setUp(self) -> None:
        self.cwd = os.path.abspath(self.mktemp())
        os.makedirs(self.cwd)

    def check_fails(self, result: Any, *needles: str) -> None:
        output = result.stdout + result.stderr
        self.assertNotEqual(result.returncode, 0, output)
        for needle in needles:
            self.assertIn(needle, output)
        self.assertNotIn("Traceback", output)

    def test_bad_config_twistd(self) -> None:
        """twistd -n kmip --config bad.conf exits non-zero naming the key and the file."""
        bad = os.path.join(self.cwd, "bad.conf")
        with open(bad, "w") as f:
            f.write("[server]\nenable_tls_client_auth=maybe\n")
        result = run([TWISTD, "-n", "--pidfile=", "kmip", "--config", bad], self.cwd)
        self.check_fails(result, "enable_tls_client_auth", bad)

    def test_bad_config_twist(self) -> None:
        """python -m twisted kmip --config bad.conf exits non-zero naming the key and the file."""
        bad = os.path.join(self.cwd, "bad.conf")
        with open(bad, "w") as f:
            f.write("[server]\nport=70000\n")
        result = run([sys.executable, "-m", "twisted", "kmip", "--config", bad], self.cwd)
        self.check_fails(result, "port", bad)

    def test_bad_option_value_one_line(self) -> None:
        """twistd -n kmip --thread-pool-size lots: one line naming the flag, exit 2, no usage text."""
        result = run([TWISTD, "-n", "--pidfile=", "kmip", "--data-dir", os.path.join(self.cwd, "data"),
                      "--thread-pool-size", "lots"], self.cwd)
        self.check_fails(result, "kmipd: --thread-pool-size: 'lots' is not an integer")
        self.assertEqual(result.returncode, 2)
        self.assertEqual((result.stdout + result.stderr).strip().splitlines(),
                         ["kmipd: --thread-pool-size: 'lots' is not an integer"])
        self.assertFalse(os.path.exists(os.path.join(self.cwd, "data")))

    def test_port_in_use(self) -> None:
        """twistd -n kmip on a busy port: exit status 1, one line, no data directory, no pid file."""
        port = busy_port(self)
        data = os.path.join(self.cwd, "data")
        result = run([TWISTD, "-n", "kmip", "--data-dir", data, "--listen", f"tcp:{port}:interface=127.0.0.1"],
                     self.cwd)
        self.check_fails(result, "cannot listen", str(port), "in use")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len((result.stdout + result.stderr).strip().splitlines()), 1, result)
        self.assertEqual(os.listdir(self.cwd), [])  # neither data nor twistd.pid

    def test_port_in_use_daemon(self) -> None:
        """Daemonising twistd kmip on a busy port: the launching process exits 1 at once with the
        message, and leaves no pid file and no data directory."""
        port = busy_port(self)
        pidfile = os.path.join(self.cwd, "run", "kmipd.pid")
        os.makedirs(os.path.dirname(pidfile))
        result = run([TWISTD, "--pidfile", pidfile, "--logfile", os.path.join(self.cwd, "kmipd.log"), "kmip",
                      "--data-dir", os.path.join(self.cwd, "data"), "--listen", f"tcp:{port}:interface=127.0.0.1"],
                     self.cwd, timeout=60)
        self.check_fails(result, "cannot listen", str(port), "in use")
        self.assertEqual(result.returncode, 1)
        self.assertFalse(os.path.exists(pidfile))
        self.assertFalse(os.path.exists(os.path.join(self.cwd, "data")))

    def test_daemon_start_and_stop(self) -> None:
        """Daemonising twistd kmip: the launcher exits 0 once kmipd listens; the daemon serves, and
        SIGTERM to the pid in the pid file stops it and removes the file."""
        import signal
        import socket
        import time

        pidfile = os.path.join(self.cwd, "kmipd.pid")
        logfile = os.path.join(self.cwd, "kmipd.log")
        result = run([TWISTD, "--pidfile", pidfile, "--logfile", logfile, "kmip",
                      "--data-dir", os.path.join(self.cwd, "data"), "--listen", "tcp:0:interface=127.0.0.1"],
                     self.cwd, timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        with open(pidfile) as f:
            pid = int(f.read())

        def gone() -> bool:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            return False

        def kill() -> None:
            if not gone():
                os.kill(pid, signal.SIGKILL)
        self.addCleanup(kill)
        with open(logfile) as f:
            log = f.read()
        port = int(re.search(r"kmipd listening on .*port=(\d+)", log).group(1))  # type: ignore[union-attr]
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while not gone() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertTrue(gone(), "the daemon did not stop within 30 s of SIGTERM")
        self.assertFalse(os.path.exists(pidfile))


class LoggingLevelTests(SynchronousTestCase):
    """C{logging_level} filters every event twistd logs, Twisted's own included."""

    def serve(self, level: str) -> list[str]:
        """The log lines of C{twistd -n kmip --logging-level LEVEL} started, asked one KMIP Query, stopped."""
        import signal
        import socket
        import time

        from .test_interop_pykmip import tls_exchange

        cwd = os.path.abspath(self.mktemp())
        os.makedirs(cwd)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        out = os.path.join(cwd, "out.log")
        env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
        with open(out, "w") as f:
            process = subprocess.Popen([TWISTD, "-n", "--pidfile=", "kmip", "--data-dir", os.path.join(cwd, "data"),
                                        "--listen", f"tcp:{port}:interface=127.0.0.1", "--logging-level", level],
                                       cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        pki = os.path.join(cwd, "data", "pki")
        deadline = time.monotonic() + 60
        while True:  # it listens before it writes the PKI, and serves once the reactor runs
            try:
                answer = tls_exchange(port, os.path.join(pki, "ca.pem"), os.path.join(pki, "client.pem"),
                                      os.path.join(pki, "client.key"))
                break
            except OSError:
                self.assertIsNone(process.poll(), "twistd kmip exited before serving")
                self.assertLess(time.monotonic(), deadline, "twistd kmip did not serve within 60 s")
                time.sleep(0.1)
        self.assertEqual(answer[:3], b"\x42\x00\x7b")  # a Response Message
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=30)
        with open(out) as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        self.assertIn(status, (0, -signal.SIGTERM), lines)  # twistd ends by the signal it stopped on
        self.assertIn("Received SIGTERM, shutting down." if level == "INFO" else "", "\n".join(lines))
        return lines

    def test_warning_hides_twisted_info(self) -> None:
        """At WARNING the log holds no INFO event, neither kmipd's nor Twisted's ("twistd ... starting
        up", "Starting factory", "Main loop terminated")."""
        lines = self.serve("WARNING")
        self.assertEqual([line for line in lines if "#info]" in line], [])
        self.assertTrue(any("[kmipd.devcerts#warn]" in line for line in lines), lines)  # warnings still pass

    def test_info_shows_twisted_info(self) -> None:
        """At INFO Twisted's own INFO events are there, beside kmipd's."""
        lines = self.serve("INFO")
        self.assertTrue(any(re.search(r"\[twisted[^\]]*#info\]", line) for line in lines), lines)
        self.assertTrue(any("[kmipd.service#info] kmipd listening on" in line for line in lines), lines)
        # kmipd.log.ClassicFormatter writes twistd's lines: time stamp, [system], the event
        stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} "
        self.assertTrue(any(re.fullmatch(stamp + r"\[kmipd\.protocol#info\] kmipd-client QUERY -> success", line)
                            for line in lines), lines)
        logged = [line for line in lines if not line.startswith(("kmipd: ", "  "))]  # not makeService's stderr
        self.assertEqual([line for line in logged if not re.match(stamp + r"\[[^\]]+\] ", line)], [], lines)


class RunnerObserverTests(SynchronousTestCase):
    """The observer C{twistd kmip} gives twistd (its C{--logger}), built in-process."""

    def test_logfile_observer(self) -> None:
        """With C{--logfile}: twistd's file observer, writing with ClassicFormatter, behind the level
        filter; a line has twistd's layout and an event below the level is not written."""
        self.assertRegex(self.logfile_line(), r"^2023-11-1\dT\d\d:\d\d:20[+-]\d{4} \[kmipd\.protocol#info\] "
                                              r"alice -> success$")

    def logfile_line(self) -> str:
        """The line the runner observer for a C{--logfile} writes for one info event."""
        from twisted.logger import LogLevel

        from kmipd.log import ClassicFormatter, LevelFilter
        from kmipd.tap import _FilteredTwistdObserver

        path = os.path.abspath(self.mktemp())
        observer = _FilteredTwistdObserver({"logfile": path, "nodaemon": True, "syslog": False,
                                            "prefix": "twisted", "logger": None}, "info")()
        self.assertIsInstance(observer, LevelFilter)
        file_observer = observer.observer
        self.assertIsInstance(file_observer.formatEvent, ClassicFormatter)  # type: ignore[attr-defined]
        self.addCleanup(file_observer._outFile.close)  # type: ignore[attr-defined]
        observer({"log_namespace": "kmipd.protocol", "log_time": 1_700_000_000.5, "log_level": LogLevel.info,
                  "log_format": "{client} -> {result_status}", "client": "alice", "result_status": "success"})
        observer({"log_namespace": "kmipd.protocol", "log_level": LogLevel.debug, "log_format": "dropped"})
        with open(path) as f:
            (line,) = f.read().splitlines()
        return line

    def test_private_runner_missing(self) -> None:
        """Without twistd's private C{_SomeApplicationRunner} the factory still returns a working
        observer: the same file observer, formatter and level filter."""
        from twisted.scripts import twistd

        expected = self.logfile_line()
        runner = twistd._SomeApplicationRunner
        del twistd._SomeApplicationRunner
        self.addCleanup(setattr, twistd, "_SomeApplicationRunner", runner)
        self.assertEqual(self.logfile_line(), expected)

    def test_private_observer_raises(self) -> None:
        """When twistd's private C{_getLogObserver} raises (or is gone), the fallback observer writes."""
        from twisted.scripts import twistd

        expected = self.logfile_line()

        class Runner:
            @staticmethod
            def loggerFactory(options: Any) -> Any:
                raise TypeError("loggerFactory() takes a different signature now")

        self.patch(twistd, "_SomeApplicationRunner", Runner)
        self.assertEqual(self.logfile_line(), expected)
        self.patch(Runner, "loggerFactory", staticmethod(lambda options: object()))  # no _getLogObserver
        self.assertEqual(self.logfile_line(), expected)

    def test_fallback_stdout_and_syslog(self) -> None:
        """The fallback's other observers: stdout with C{-n}, syslog (legacy, wrapped) with C{--syslog}."""
        import sys

        from twisted.logger import LogLevel
        from twisted.python.syslog import SyslogObserver
        from twisted.scripts import twistd

        from kmipd.tap import _FilteredTwistdObserver

        runner_class = twistd._SomeApplicationRunner
        self.patch(twistd, "_SomeApplicationRunner", None)
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        event = {"log_namespace": "kmipd.protocol", "log_time": 1_700_000_000.5, "log_level": LogLevel.warn,
                 "log_format": "{client} refused", "client": "mallory"}
        _FilteredTwistdObserver({"logfile": None, "nodaemon": True, "syslog": False, "prefix": "twisted"},
                                "info")()(dict(event))
        self.assertRegex(out.getvalue(), r"\[kmipd\.protocol#warn\] mallory refused\n$")
        sent: list[tuple[Any, ...]] = []
        self.patch(SyslogObserver, "openlog", staticmethod(lambda *args: sent.append(("open",) + args)))
        self.patch(SyslogObserver, "syslog", staticmethod(lambda *args: sent.append(args)))
        for runner in (None, runner_class):  # the fallback, then twistd's own: both wrapped alike
            self.patch(twistd, "_SomeApplicationRunner", runner)
            del sent[:]
            _FilteredTwistdObserver({"logfile": None, "nodaemon": True, "syslog": True, "prefix": "kmipd"},
                                    "info")()(dict(event))
            self.assertEqual(sent[0][:2], ("open", "kmipd"))
            self.assertTrue(any("mallory refused" in str(args[-1]) for args in sent[1:]), sent)


class TacExampleTests(SynchronousTestCase):
    """etc/kmipd.tac, the embedding example the README points to."""

    def test_tac_builds_kmip_service(self) -> None:
        """Loading etc/kmipd.tac gives an application holding a KMIPService on 127.0.0.1:5696."""
        from twisted.application import service

        data = os.path.abspath(self.mktemp())
        self.patch(os, "environ", dict(os.environ, KMIPD_DATA_DIR=data))
        application = service.loadApplication(os.path.join(REPO, "etc", "kmipd.tac"), "python")
        (kmip,) = list(service.IServiceCollection(application))
        self.assertIsInstance(kmip, KMIPService)
        self.addCleanup(kmip.store.close)
        self.assertEqual(kmip.config.effective_listen, ("tcp:5696:interface=127.0.0.1",))
        self.assertEqual(kmip.config.data_dir, data)
