"""Metrics and health endpoints (L{kmipd.metrics}, L{kmipd.health}) scraped over real HTTP."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from typing import Any

import sqlalchemy as sa
from cryptography.x509.oid import ExtendedKeyUsageOID
from twisted.internet import defer, reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from kmipd.config import load_config
from kmipd.dispatch import DIRECT_THREADS
from kmipd.metrics import Metrics
from kmipd.monitoring import syslog_address
from kmipd.store.migrations import VERSION_TABLE

from .test_interop_pykmip import (
    CLIENT_TIMEOUT,
    LiveServiceMixin,
    make_ca,
    make_client,
    pykmip_client,
    refused,
    run_connected,
)


def fetch(port: int, path: str) -> tuple[int, bytes]:
    """GET http://127.0.0.1:port/path (blocking); (status, body) also for error statuses."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=CLIENT_TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus text exposition, or C{None}."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(4))
    return None


class LiveMetricsTests(LiveServiceMixin, TestCase):
    """Real traffic, then a scrape."""

    timeout = 120

    @defer.inlineCallbacks
    def start_monitored(self, **overrides: Any):  # type: ignore[no-untyped-def]
        yield self.start(metrics_listen=("tcp:0:interface=127.0.0.1",), **overrides)
        self.metrics_port = self.service.monitoring.ports[0].getHost().port

    @defer.inlineCallbacks
    def test_scrape_after_traffic(self):  # type: ignore[no-untyped-def]
        """Requests, failures, handshake failures, commits, pools, connections and objects are counted."""
        yield self.start_monitored()
        from kmip.core import enums
        from kmip.pie import exceptions

        pki = self.dev_pki

        def work(c: Any) -> str:
            uid = c.create(enums.CryptographicAlgorithm.AES, 128)
            c.get(uid)
            try:
                c.get("missing")
            except exceptions.KmipOperationFailure:
                pass
            return uid

        yield run_connected(lambda: pykmip_client(self.port, pki.client_cert, pki.client_key, pki.ca_cert), work)
        _, other_key, other_cert = make_ca(self.data, "other-ca")
        cert, key = make_client(self.data, "mallory", other_key, other_cert, [ExtendedKeyUsageOID.CLIENT_AUTH])
        how = yield deferToThread(refused, self.port, pki.ca_cert, cert, key)
        self.assertTrue(how)
        yield _refresh(self.service)
        yield deferLater(reactor, 0.05, lambda: None)  # the refused connection's close is counted

        status, body = yield deferToThread(fetch, self.metrics_port, "/metrics")
        self.assertEqual(status, 200)
        text = body.decode()
        labels = {"version": "1.2", "transport": "ttlv"}
        self.assertEqual(sample(text, "kmipd_requests_total", operation="CREATE", result="success", **labels), 1)
        self.assertEqual(sample(text, "kmipd_requests_total", operation="GET", result="success", **labels), 1)
        self.assertEqual(sample(text, "kmipd_requests_total", operation="GET", result="item_not_found", **labels), 1)
        self.assertEqual(sample(text, "kmipd_request_duration_seconds_count", operation="GET", transport="ttlv"), 2)
        self.assertGreaterEqual(sample(text, "kmipd_tls_handshake_failures_total") or 0, 1)
        self.assertGreaterEqual(sample(text, "kmipd_database_commit_seconds_count") or 0, 1)
        self.assertEqual(sample(text, "kmipd_objects", object_type="SYMMETRIC_KEY", state="PRE_ACTIVE"), 1)
        self.assertEqual(sample(text, "kmipd_open_connections", transport="ttlv"), 0)
        self.assertEqual(sample(text, "kmipd_pool_size", pool="operations"),
                         self.service.config.thread_pool_size + DIRECT_THREADS)
        self.assertIsNotNone(sample(text, "kmipd_pool_queue_depth", pool="operations"))
        self.assertEqual(sample(text, "kmipd_database_errors_total"), 0)

    @defer.inlineCallbacks
    def test_readiness_flips(self):  # type: ignore[no-untyped-def]
        """/readyz: ready; 503 while the database is unreachable or its schema is behind; ready again."""
        yield self.start_monitored()
        status, body = yield deferToThread(fetch, self.metrics_port, "/healthz")
        self.assertEqual((status, json.loads(body)), (200, {"status": "ok"}))
        status, body = yield deferToThread(fetch, self.metrics_port, "/readyz")
        self.assertEqual((status, json.loads(body)), (200, {"status": "ready"}))

        engine = self.service.health.engine
        self.assertIsNot(engine, self.service.store.engine, "readiness has a connection of its own")
        original = engine.connect

        def unreachable() -> Any:
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

        engine.connect = unreachable
        try:
            status, body = yield deferToThread(fetch, self.metrics_port, "/readyz")
        finally:
            engine.connect = original
        self.assertEqual(status, 503)
        self.assertIn("unreachable", json.loads(body)["reason"])
        status, _ = yield deferToThread(fetch, self.metrics_port, "/healthz")
        self.assertEqual(status, 200, "liveness does not depend on the database")

        with engine.begin() as conn:
            (revision,) = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).one()
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = 'older'"))
        status, body = yield deferToThread(fetch, self.metrics_port, "/readyz")
        self.assertEqual(status, 503)
        self.assertIn("kmipd-admin db upgrade", json.loads(body)["reason"])
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = :r"), {"r": revision})
        status, _ = yield deferToThread(fetch, self.metrics_port, "/readyz")
        self.assertEqual(status, 200)

    @defer.inlineCallbacks
    def test_readiness_timeout(self):  # type: ignore[no-untyped-def]
        """A check that hangs answers 503 after the timeout, and the next request waits for the same check."""
        yield self.start_monitored()
        readiness = self.service.monitoring.factory.resource.children[b"readyz"]
        readiness.timeout = 0.2
        release = []
        readiness.check = lambda: (time.sleep(0.6), release.append(True), None)[2]
        status, body = yield deferToThread(fetch, self.metrics_port, "/readyz")
        self.assertEqual(status, 503)
        self.assertIn("did not finish", json.loads(body)["reason"])
        yield deferLater(reactor, 0.8, lambda: None)
        self.assertEqual(release, [True])
        status, _ = yield deferToThread(fetch, self.metrics_port, "/readyz")
        self.assertEqual(status, 503, "the slow check is slow every time")

    @defer.inlineCallbacks
    def test_metrics_mutual_tls(self):  # type: ignore[no-untyped-def]
        """With metrics_tls the endpoint needs a client certificate from the kmipd CA."""
        yield self.start_monitored(metrics_tls=True)
        import ssl

        pki = self.dev_pki

        def get(cert: str | None) -> int:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.load_verify_locations(pki.ca_cert)
            if cert:
                context.load_cert_chain(cert, pki.client_key)
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{self.metrics_port}/healthz",
                                            timeout=CLIENT_TIMEOUT, context=context) as r:
                    return int(r.status)
            except (urllib.error.URLError, ssl.SSLError, ConnectionError):
                return 0

        self.assertEqual((yield deferToThread(get, pki.client_cert)), 200)
        self.assertEqual((yield deferToThread(get, None)), 0)


def _refresh(service: Any) -> defer.Deferred:
    from kmipd.metrics import ObjectCountService

    (counter,) = [c for c in service if isinstance(c, ObjectCountService)]
    return counter.refresh()


class _NullTrail:
    def emit(self, event: dict[str, Any]) -> None:
        pass


class UnitTests(TestCase):
    """Small pieces."""

    def test_registries_independent(self) -> None:
        """Two services' metrics never share samples."""
        a, b = Metrics(), Metrics()
        a.client_refused("ttlv")
        self.assertEqual(a.registry.get_sample_value("kmipd_clients_refused_total", {"transport": "ttlv"}), 1)
        self.assertIsNone(b.registry.get_sample_value("kmipd_clients_refused_total", {"transport": "ttlv"}))

    def test_counts_without_audit_trail(self) -> None:
        """Without an audit trail no audit records are built, and the metrics count each batch item's
        operation and result (and a message-level failure) exactly as with one."""
        from kmipd.audit import request_done
        from kmipd.auth.identify import Caller
        from kmipd.spec import Operation, QueryFunction, Tag
        from kmipd.testing import batch_item, make_dispatcher, payload, request
        from kmipd.ttlv import Item, encode

        processor = make_dispatcher().processor
        self.assertIsNone(processor.service.audit)
        messages = (encode(request(batch_item(Operation.QUERY, payload(
            Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS))))),
            encode(request(batch_item(Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, "nope"))))),
            b"garbage!")
        counts = []
        for trail in (None, _NullTrail()):
            metrics = Metrics()
            services: dict[str, Any] = {"metrics": metrics}
            if trail is not None:
                services["audit"] = trail
            for data in messages:
                reply = processor.process(data, Caller("x"))
                self.assertEqual(reply.audit, [])
                request_done(services, reply, Caller("x"), peer="p", transport="ttlv", duration=0.01)
            sample = metrics.registry.get_sample_value
            counts.append((
                sample("kmipd_requests_total", {"operation": "QUERY", "result": "success", "version": "1.4",
                                                "transport": "ttlv"}),
                sample("kmipd_requests_total", {"operation": "GET", "result": "item_not_found", "version": "1.4",
                                                "transport": "ttlv"}),
                sample("kmipd_requests_total", {"operation": "none", "result": "invalid_message",
                                                "version": "1.0", "transport": "ttlv"}),
                sample("kmipd_request_duration_seconds_count", {"operation": "QUERY", "transport": "ttlv"})))
        self.assertEqual(counts, [(1.0, 1.0, 1.0, 1.0)] * 2)

    def test_config_keys(self) -> None:
        """A bare metrics port listens on loopback; syslog addresses are paths or host:port."""
        config = load_config(None, {"metrics_listen": "9464", "audit_syslog": "yes"})
        self.assertEqual(config.metrics_listen, ("tcp:9464:interface=127.0.0.1",))
        self.assertTrue(config.audit_syslog)
        self.assertEqual(syslog_address("/dev/log"), "/dev/log")
        self.assertEqual(syslog_address("logs.example:514"), ("logs.example", 514))
        self.assertRaises(ValueError, syslog_address, "nonsense")


class SourcesTests(TestCase):
    """Counters owned by SLUGS and the policy watcher are read at scrape time."""

    def test_slugs_counters(self) -> None:
        """Lookups, cache hits and failures of each SLUGS plugin."""
        from treq.testing import StringStubbingResource, StubTreq
        from twisted.internet.task import Clock

        from kmipd.auth.slugs import SLUGSAuthenticator

        from .test_slugs import BASE, FakeSLUGS

        stub = StubTreq(StringStubbingResource(FakeSLUGS()))
        auth = SLUGSAuthenticator(BASE, stub, Clock(), name="auth:slugs")
        metrics = Metrics()
        metrics.watch_slugs([auth])
        for user in ("John Doe", "John Doe", "Nobody"):
            d = auth.authenticate(user)
            stub.flush()
            d.addErrback(lambda f: None)
        value = metrics.registry.get_sample_value
        labels = {"plugin": "auth:slugs"}
        self.assertEqual((value("kmipd_slugs_lookups_total", labels), value("kmipd_slugs_cache_hits_total", labels),
                          value("kmipd_slugs_failures_total", labels)), (3, 1, 1))

    def test_policy_reloads(self) -> None:
        """Loaded and refused policy files."""
        import os

        from twisted.internet.task import Clock

        from kmipd.policy.model import PolicyEngine
        from kmipd.policy.reloader import PolicyDirectoryWatcher

        from .test_policy_reload import policy_doc, run_synchronously

        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "good.json"), "w") as f:
            json.dump(policy_doc("ALLOW_ALL"), f)
        watcher = PolicyDirectoryWatcher(PolicyEngine(), directory, Clock(), run_synchronously, interval=1)
        watcher.load_initial()
        metrics = Metrics()
        metrics.watch_policy(watcher)
        with open(os.path.join(directory, "bad.json"), "w") as f:
            f.write("{not json")
        self.successResultOf(watcher.scan())
        value = metrics.registry.get_sample_value
        self.assertEqual((value("kmipd_policy_reloads_total"), value("kmipd_policy_reload_failures_total")), (1, 1))
