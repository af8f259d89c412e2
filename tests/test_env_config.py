"""Settings from C{KMIPD_*} environment variables (containers): above the file, below the command line."""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from kmipd.config import ConfigError, load_config


class EnvironmentTests(SynchronousTestCase):
    def conf(self, text: str) -> str:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_precedence(self) -> None:
        """File < KMIPD_<KEY> < overrides; other KMIPD_* variables are ignored."""
        path = self.conf("[server]\nthread_pool_size = 3\nidle_timeout = 10\n[kmipd]\nmetrics_listen = 9000\n")
        env = {"KMIPD_THREAD_POOL_SIZE": "5", "KMIPD_IDLE_TIMEOUT": "20", "KMIPD_TEST_POSTGRES_URL": "x",
               "KMIPD_DATABASE_URL": "postgresql+psycopg://kmipd@db/kmipd", "KMIPD_AUDIT_SYSLOG": "yes"}
        config = load_config(path, {"idle_timeout": 30}, environ=env)
        self.assertEqual((config.thread_pool_size, config.limits.idle_timeout, config.database_url,
                          config.audit_syslog),
                         (5, 30.0, "postgresql+psycopg://kmipd@db/kmipd", True))
        self.assertEqual(config.metrics_listen, ("tcp:9000:interface=127.0.0.1",))

    def test_bad_value_names_the_variable(self) -> None:
        """A bad value is a configuration error naming the variable."""
        with self.assertRaises(ConfigError) as e:
            load_config(None, environ={"KMIPD_THREAD_POOL_SIZE": "many"})
        self.assertIn("$KMIPD_THREAD_POOL_SIZE", str(e.exception))
        self.assertEqual(e.exception.key, "thread_pool_size")

    def test_process_environment_by_default(self) -> None:
        """Without an explicit environment the process's is read."""
        os.environ["KMIPD_MAX_DEPTH"] = "7"
        self.addCleanup(os.environ.pop, "KMIPD_MAX_DEPTH", None)
        self.assertEqual(load_config(None).limits.max_depth, 7)
