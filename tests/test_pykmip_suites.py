"""PyKMIP 0.11.0's own test suites, unchanged, against kmipd over real TLS (issue 8).

Each test starts a L{KMIPService} on an ephemeral loopback port with a generated PKI and runs
PyKMIP's pytest files from the pinned sdist (L{tests.pykmip.harness}) in a subprocess, while the
reactor serves the requests:

 - the integration suites (KMIPProxy, ProxyKmipClient: 37 tests) with C{compatibility = pykmip}
   must all pass;
 - the same suites with the default setting must fail exactly the tests that
   C{docs/compatibility.md} lists, each with the clause that makes kmipd answer differently;
 - the functional suite (SLUGS groups and live policy files: 4 tests) must pass in both modes.

With C{KMIPD_PYKMIP_REPORT} set (C{.ci/run} does), each test appends its counts to that file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SkipTest, TestCase

from kmipd.config import SlugsConfig, load_config
from kmipd.service import KMIPService

from .pykmip import harness

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "compatibility.md")

#: A row of the default-mode table in docs/compatibility.md: C{| `file.py::Class::test` | ... |}.
_ROW = re.compile(r"^\|\s*`(test_\w+\.py::\w+::\w+)`\s*\|(.+)\|\s*$", re.M)


def documented_failures(path: str = DOCS) -> dict[str, str]:
    """The PyKMIP suite tests docs/compatibility.md says fail in the default mode, with why."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return {m.group(1): m.group(2).strip() for m in _ROW.finditer(text)}


def report(line: str) -> None:
    """Append C{line} to C{$KMIPD_PYKMIP_REPORT} (CI prints it), when that is set."""
    path = os.environ.get("KMIPD_PYKMIP_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class SuiteMixin:
    """Start kmipd for a suite and run the suite in a thread."""

    timeout = 900
    functional = False

    def setUp(self) -> None:
        missing = harness.missing_requirements(self.functional)
        if missing:
            raise SkipTest(f"PyKMIP's suites need {', '.join(missing)} (pip install -e '.[test]')")
        self.work = os.path.abspath(self.mktemp())  # type: ignore[attr-defined]
        os.makedirs(self.work)

    def start(self, pki: harness.PKI, **overrides: Any) -> int:
        """Start kmipd with C{pki} and C{overrides}; return its port."""
        settings = {"data_dir": os.path.join(self.work, "data"), "listen": ("tcp:0:interface=127.0.0.1",),
                    **pki.server_config(), **overrides}
        service = KMIPService(load_config(None, settings))
        service.startService()
        self.addCleanup(service.stopService)  # type: ignore[attr-defined]
        return int(service.ports[0].getHost().port)  # type: ignore[attr-defined]

    def prepare(self) -> defer.Deferred[tuple[str, harness.PKI]]:
        """Unpack the sdist and make a PKI (in a thread)."""
        def blocking() -> tuple[str, harness.PKI]:
            root = harness.extract(os.path.join(self.work, "sdist"))
            users = ["client", *harness.FUNCTIONAL_USERS.values()]
            return root, harness.PKI(os.path.join(self.work, "pki"), users)

        return deferToThread(blocking)

    def run_suite(self, run: Callable[..., harness.SuiteResult], *args: Any) -> defer.Deferred[harness.SuiteResult]:
        return deferToThread(run, *args)

    def show(self, result: harness.SuiteResult) -> str:
        failures = "".join(f"\n  {test}: {why}" for test, why in sorted(result.failed.items()))
        return f"{len(result.passed)}/{result.total} passed; failed:{failures}\n--- pytest output (tail) ---\n" \
               f"{result.output[-20000:]}"


class IntegrationSuiteTests(SuiteMixin, TestCase):
    """PyKMIP's integration suites (test_integration.py, test_proxykmipclient.py)."""

    @defer.inlineCallbacks
    def test_pykmip_mode(self) -> Any:
        """With C{compatibility = pykmip}, all 37 integration tests pass."""
        root, pki = yield self.prepare()
        port = self.start(pki, compatibility="pykmip")
        result = yield self.run_suite(harness.run_integration, root, self.work, port, pki)
        report(f"PyKMIP integration suites, compatibility = pykmip: {result.summary()}")
        self.assertEqual(result.total, harness.INTEGRATION_TESTS, self.show(result))
        self.assertEqual(result.failed, {}, self.show(result))
        self.assertEqual(len(result.passed), harness.INTEGRATION_TESTS, self.show(result))

    @defer.inlineCallbacks
    def test_default_mode(self) -> Any:
        """With the default setting, the failing tests are exactly those docs/compatibility.md lists."""
        documented = documented_failures()
        root, pki = yield self.prepare()
        port = self.start(pki)
        result = yield self.run_suite(harness.run_integration, root, self.work, port, pki)
        report(f"PyKMIP integration suites, default: {len(result.passed)}/{result.total} "
               f"(the {len(result.failed)} failures are those listed in docs/compatibility.md: "
               f"{sorted(result.failed) == sorted(documented)})")
        self.assertEqual(result.total, harness.INTEGRATION_TESTS, self.show(result))
        self.assertEqual(result.skipped, [], self.show(result))
        self.assertEqual(sorted(result.failed), sorted(documented), self.show(result))


class FunctionalSuiteTests(SuiteMixin, TestCase):
    """PyKMIP's functional suite: SLUGS groups and live policy files in /tmp/pykmip/policies."""

    functional = True

    @defer.inlineCallbacks
    def run_functional(self, **overrides: Any) -> Any:
        root, pki = yield self.prepare()
        fixture = harness.FunctionalFixture(self.work)
        yield deferToThread(fixture.__enter__)
        try:
            # The suite edits the SLUGS mapping and expects the change to act within a second:
            # no SLUGS answer (nor refusal) is cached.
            port = self.start(pki, policy_path=fixture.policy_dir, slugs_cache_ttl=0.0,
                              slugs_failure_cache_ttl=0.0,
                              slugs=(SlugsConfig("auth:slugs", True, fixture.slugs_url),), **overrides)
            result = yield self.run_suite(harness.run_functional, root, self.work, port, pki)
        finally:
            yield deferToThread(fixture.__exit__, None, None, None)
        mode = overrides.get("compatibility", "default")
        report(f"PyKMIP functional suite, {'compatibility = ' if mode != 'default' else ''}{mode}: "
               f"{result.summary()}")
        self.assertEqual(result.failed, {}, self.show(result))
        self.assertEqual(len(result.passed), harness.FUNCTIONAL_TESTS, self.show(result))

    def test_pykmip_mode(self) -> defer.Deferred[None]:
        """With C{compatibility = pykmip}, the 4 functional tests pass."""
        return self.run_functional(compatibility="pykmip")

    def test_default_mode(self) -> defer.Deferred[None]:
        """With the default setting, the 4 functional tests pass too."""
        return self.run_functional()


class HarnessTests(TestCase):
    """The pinned sdist and the documented failure list, without running the suites."""

    def test_sdist_hash_checked(self) -> None:
        """A copy of the sdist with one byte changed is refused before anything is unpacked."""
        with open(harness.SDIST, "rb") as f:
            data = bytearray(f.read())
        data[len(data) // 2] ^= 0xFF
        tampered = os.path.abspath(self.mktemp())
        with open(tampered, "wb") as f:
            f.write(data)
        dest = os.path.abspath(self.mktemp())
        error = self.assertRaises(harness.SuiteError, harness.extract, dest, tampered)
        self.assertIn("SHA-256", str(error))
        self.assertFalse(os.path.exists(dest))

    def test_documented_tests_exist(self) -> None:
        """Every test docs/compatibility.md lists is a test of PyKMIP's integration suites, with a reason."""
        documented = documented_failures()
        self.assertTrue(documented)
        root = harness.extract(os.path.abspath(self.mktemp()))
        sources = {}
        for path in harness.INTEGRATION_FILES:
            with open(os.path.join(root, path), encoding="utf-8") as f:
                sources[os.path.basename(path)] = f.read()
        for test, reason in documented.items():
            module, cls, name = test.split("::")
            self.assertIn(f"class {cls}(", sources[module], test)
            self.assertIn(f"    def {name}(self", sources[module], test)
            self.assertGreater(len(reason), 20, test)
