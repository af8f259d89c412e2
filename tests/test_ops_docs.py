"""The operator docs (deployment, monitoring, audit, backup, migration) agree with the code."""

from __future__ import annotations

import os
import re

from twisted.trial.unittest import SynchronousTestCase

from kmipd.metrics import Metrics

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")


def read(name: str) -> str:
    with open(os.path.join(DOCS, name), encoding="utf-8") as f:
        return f.read()


class MonitoringDocsTests(SynchronousTestCase):
    def test_every_metric_documented(self) -> None:
        """Each metric a service exposes has a row in docs/monitoring.md, and no row names a missing one."""
        from prometheus_client.exposition import generate_latest

        metrics = Metrics()

        class _Trail:
            written = failures = 0

        metrics.watch_audit(_Trail())
        metrics.requests.labels("GET", "success", "1.2", "ttlv").inc()
        metrics.latency.labels("GET", "ttlv").observe(0.1)
        metrics.refused.labels("ttlv").inc()
        text = generate_latest(metrics.registry).decode()
        exposed = set(re.findall(r"^# TYPE (\S+) (\S+)", text, re.MULTILINE))
        # (Counters and histograms also export a *_created gauge: a client library detail.)
        names = {name for name, kind in exposed if not name.endswith("_created")}
        documented = set(re.findall(r"^\| `(kmipd_[a-z_]+)`", read("monitoring.md"), re.MULTILINE))
        self.assertEqual(names - documented, set())
        self.assertEqual(documented - names, set())

    def test_alerts_use_real_metrics(self) -> None:
        """Every kmipd_ series an alert uses exists."""
        doc = read("monitoring.md")
        documented = set(re.findall(r"^\| `(kmipd_[a-z_]+)`", doc, re.MULTILINE))
        used = set(re.findall(r"(kmipd_[a-z_]+?)(?:_bucket)?\b", doc.split("## Suggested alerts", 1)[1]))
        self.assertEqual(used - documented, set())


class AuditDocsTests(SynchronousTestCase):
    def test_every_field_documented(self) -> None:
        """The audit event reference lists exactly the fields events carry."""
        from .test_audit import FIELDS

        section = read("audit.md").split("### `kmip.refused`", 1)[0]
        rows = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))
        self.assertEqual(rows, FIELDS)


class AdminDocsTests(SynchronousTestCase):
    def test_commands_documented(self) -> None:
        """Every kmipd-admin command the docs use exists, and the new ones are documented."""
        from kmipd.admin import _parser

        parser = _parser()
        sub = next(a for a in parser._actions if a.dest == "command")
        commands = set(sub.choices)  # type: ignore[attr-defined]
        text = "".join(read(n) for n in ("deployment.md", "backup.md", "migrating-from-pykmip.md"))
        used = set(re.findall(r"kmipd-admin ([a-z][a-z-]+)", text))
        self.assertEqual(used - commands, set())
        for command in ("pki", "objects", "import-pykmip", "export", "import", "check"):
            self.assertIn(command, used)

    def test_deployment_matches_compose(self) -> None:
        """The compose file the deployment doc describes has its services."""
        doc = read("deployment.md")
        with open(os.path.join(os.path.dirname(DOCS), "compose.yaml"), encoding="utf-8") as f:
            compose = f.read()
        for name in ("postgres", "migrate", "kmipd1", "kmipd2", "haproxy"):
            self.assertRegex(compose, rf"(?m)^  {name}:$")
        self.assertIn("etc/haproxy.cfg", doc)
        self.assertIn("kmipd[postgres]", doc)
        self.assertIn("kmipd[mysql]", doc)
