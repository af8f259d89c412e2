# -*- test-case-name: tests.test_metrics -*-
"""Prometheus metrics, served with the health endpoints on their own listener.

One L{Metrics} per service, each with its own C{CollectorRegistry} (an embedding application
or a test suite may run many services in one process). The transports report every answered
request through L{kmipd.audit.request_done}; everything else (connections, pools, SLUGS,
policy reloads) is read from the objects that own it when Prometheus scrapes, and the object
counts by type and state are queried in the operation pool every C{objects_interval} seconds.
See C{docs/monitoring.md} for the metric names and suggested alerts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import make_wsgi_app
from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall
from twisted.web.wsgi import WSGIResource

from kmipd.log import Logger

_log = Logger()

__all__ = ["Metrics", "ObjectCountService", "count_objects", "metrics_resource"]

#: Latency buckets (seconds): KMIP operations run from well under a millisecond (Get from the
#: cache) to seconds (RSA-4096 key pairs, a slow database).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Sources:
    """A collector reading counters owned by other objects at scrape time."""

    def __init__(self) -> None:
        self.slugs: list[Any] = []
        self.policy: list[Any] = []
        self.pools: dict[str, Any] = {}
        self.connections: dict[str, Callable[[], int]] = {}
        self.audit: list[Any] = []
        self.counter: Any = None
        self.handshake_failures = 0

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        lookups = CounterMetricFamily("kmipd_slugs_lookups", "SLUGS group lookups asked for", labels=["plugin"])
        hits = CounterMetricFamily("kmipd_slugs_cache_hits", "SLUGS lookups answered from the cache",
                                   labels=["plugin"])
        failures = CounterMetricFamily("kmipd_slugs_failures", "SLUGS lookups that failed (unknown user, "
                                       "unreachable or malformed answer)", labels=["plugin"])
        for plugin in self.slugs:
            name = str(getattr(plugin, "name", "slugs"))
            lookups.add_metric([name], getattr(plugin, "lookups", 0))
            hits.add_metric([name], getattr(plugin, "cache_hits", 0))
            failures.add_metric([name], getattr(plugin, "failures", 0))
        yield from (lookups, hits, failures)
        reloads = CounterMetricFamily("kmipd_policy_reloads", "policy files loaded (at start too), "
                                      "reloaded or removed")
        refused = CounterMetricFamily("kmipd_policy_reload_failures", "policy files refused (kept the last "
                                      "good policies)")
        reloads.add_metric([], sum(getattr(w, "reloads", 0) for w in self.policy))
        refused.add_metric([], sum(getattr(w, "reload_failures", 0) for w in self.policy))
        yield from (reloads, refused)
        queued = GaugeMetricFamily("kmipd_pool_queue_depth", "jobs waiting for a worker thread", labels=["pool"])
        busy = GaugeMetricFamily("kmipd_pool_busy_workers", "worker threads running jobs", labels=["pool"])
        size = GaugeMetricFamily("kmipd_pool_size", "most worker threads", labels=["pool"])
        for name, pool in self.pools.items():
            queued.add_metric([name], len(getattr(pool, "_jobs", ())))
            busy.add_metric([name], getattr(pool, "_active", 0))
            size.add_metric([name], getattr(pool, "size", 0))
        yield from (queued, busy, size)
        connections = GaugeMetricFamily("kmipd_open_connections", "open client connections",
                                        labels=["transport"])
        by_transport = getattr(self.counter, "open_by_transport", None)
        if isinstance(by_transport, dict):
            for transport in sorted(set(by_transport) | set(self.connections)):
                connections.add_metric([transport], by_transport.get(transport, 0))
        else:
            for transport, count in self.connections.items():
                connections.add_metric([transport], count())
        yield connections
        failures = CounterMetricFamily("kmipd_tls_handshake_failures", "connections closed before their TLS "
                                       "handshake completed")
        failures.add_metric([], getattr(self.counter, "handshake_failures", self.handshake_failures))
        yield failures
        if self.audit:
            written = CounterMetricFamily("kmipd_audit_events_written", "audit events written")
            failed = CounterMetricFamily("kmipd_audit_write_failures", "audit events that could not be written")
            written.add_metric([], sum(t.written for t in self.audit))
            failed.add_metric([], sum(t.failures for t in self.audit))
            # ops: the bounded audit queue (kmipd.audit.AuditTrail.queue_size)
            dropped = CounterMetricFamily("kmipd_audit_events_dropped", "audit events dropped: audit_queue_size "
                                          "events were already waiting for the writer")
            depth = GaugeMetricFamily("kmipd_audit_queue_depth", "audit events waiting for the writer")
            dropped.add_metric([], sum(getattr(t, "dropped", 0) for t in self.audit))
            depth.add_metric([], sum(getattr(t, "waiting", 0) for t in self.audit))
            yield from (written, failed, dropped, depth)


class Metrics:
    """The metrics of one service.

    @ivar registry: its own C{CollectorRegistry} (serve it with L{metrics_resource}).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = Counter("kmipd_requests", "KMIP operations (batch items) answered",
                                ["operation", "result", "version", "transport"], registry=r)
        self.latency = Histogram("kmipd_request_duration_seconds", "time from a request message's arrival "
                                 "to its reply", ["operation", "transport"], buckets=LATENCY_BUCKETS, registry=r)
        self.refused = Counter("kmipd_clients_refused", "clients refused after the TLS handshake (no usable "
                               "identity, SLUGS refusal, per-client connection cap)", ["transport"], registry=r)
        self.database_errors = Counter("kmipd_database_errors", "errors raised by the database driver",
                                       registry=r)
        self.commit_latency = Histogram("kmipd_database_commit_seconds", "database commit time",
                                        buckets=LATENCY_BUCKETS, registry=r)
        self.objects = Gauge("kmipd_objects", "managed objects by type and state (refreshed periodically)",
                             ["object_type", "state"], registry=r)
        self.objects_refreshed = Gauge("kmipd_objects_refreshed_timestamp_seconds",
                                       "when kmipd_objects was last computed", registry=r)
        self.sources = _Sources()
        r.register(self.sources)
        self._request_counters: dict[tuple[str, str, str, str], Any] = {}
        self._latency_children: dict[tuple[str, str], Any] = {}

    # Called by the transports (reactor thread) ---------------------------------------------

    def request_done(self, records: Iterable[Any], version: str | None, transport: str, duration: float) -> None:
        """Count one answered request message: one sample per batch item, one latency sample."""
        first = None
        counters = self._request_counters
        for record in records:
            first = first or record.operation
            result = "success" if record.status == "SUCCESS" else (record.reason or record.status).lower()
            key = (record.operation, result, version or "unknown", transport)
            counter = counters.get(key)
            if counter is None:  # labels() validates and locks: once per label set, not per request
                counter = counters[key] = self.requests.labels(*key)
            counter.inc()
        key2 = (first or "none", transport)
        histogram = self._latency_children.get(key2)
        if histogram is None:
            histogram = self._latency_children[key2] = self.latency.labels(*key2)
        histogram.observe(duration)

    def client_refused(self, transport: str) -> None:
        self.refused.labels(transport).inc()

    def handshake_failed(self, transport: str) -> None:
        """A connection closed before its TLS handshake completed (counted by the protocol)."""
        self.sources.handshake_failures += 1

    def watch_counter(self, counter: Any) -> None:
        """The connection counter the listeners share: when it counts handshake failures and open
        connections per transport itself, those figures are reported instead of the protocol's."""
        self.sources.counter = counter

    # Wiring (service construction) -----------------------------------------------------------

    def watch_connections(self, transport: str, count: Callable[[], int]) -> None:
        """Report C{count()} as the open connections of C{transport}."""
        self.sources.connections[transport] = count

    def watch_pool(self, name: str, pool: Any) -> None:
        """Report a L{kmipd.threads.ThreadPoolService}'s queue and workers."""
        self.sources.pools[name] = pool

    def watch_slugs(self, authenticators: Iterable[Any]) -> None:
        self.sources.slugs.extend(a for a in authenticators if hasattr(a, "lookups"))

    def watch_audit(self, trail: Any) -> None:
        """Report an L{kmipd.audit.AuditTrail}'s written events and write failures."""
        self.sources.audit.append(trail)

    def watch_policy(self, watcher: Any) -> None:
        self.sources.policy.append(watcher)

    def watch_store(self, store: Any) -> None:
        """Count driver errors and time commits of a SQL store (other stores have neither)."""
        engine = getattr(store, "engine", None)
        if engine is None:
            return
        import sqlalchemy as sa

        sa.event.listen(engine, "handle_error", lambda context: self.database_errors.inc())
        dialect = engine.dialect
        do_commit = dialect.do_commit
        histogram = self.commit_latency

        def timed_commit(dbapi_connection: Any) -> None:
            started = time.perf_counter()
            try:
                do_commit(dbapi_connection)
            finally:
                histogram.observe(time.perf_counter() - started)

        dialect.do_commit = timed_commit

    def set_object_counts(self, counts: dict[tuple[str, str], int], now: float) -> None:
        """Replace the object gauge's samples (reactor thread)."""
        self.objects.clear()
        for (object_type, state), n in sorted(counts.items()):
            self.objects.labels(object_type, state).set(n)
        self.objects_refreshed.set(now)


def count_objects(store: Any) -> dict[tuple[str, str], int] | None:
    """Objects by type and state, by one grouped query (blocking: run it in a pool).

    C{None} for a store that cannot count (the memory store counts its own dictionary).
    """
    from .spec import ObjectType, State

    def names(object_type: int, state: int | None) -> tuple[str, str]:
        try:
            t = ObjectType(object_type).name
        except ValueError:
            t = f"0x{object_type:08X}"
        try:
            s = State(state).name if state is not None else "NONE"
        except ValueError:
            s = f"0x{state:08X}"
        return t, s

    engine = getattr(store, "engine", None)
    if engine is not None:
        import sqlalchemy as sa

        from .store.models import objects_table as t

        query = sa.select(t.c.object_type, t.c.state, sa.func.count()).group_by(t.c.object_type, t.c.state)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        return {names(int(ot), st): int(n) for ot, st, n in rows}
    objects = getattr(store, "_objects", None)
    if isinstance(objects, dict):
        counts: dict[tuple[str, str], int] = {}
        for entry in list(objects.values()):
            obj = getattr(entry, "obj", entry)
            key = names(int(getattr(obj, "object_type", 0)), getattr(obj, "state", None))
            counts[key] = counts.get(key, 0) + 1
        return counts
    return None


class ObjectCountService(Service):
    """Refresh L{Metrics.objects} every C{interval} seconds with a query run in C{run_blocking}."""

    def __init__(self, metrics: Metrics, store: Any, run_blocking: Callable[..., Deferred], clock: Any,
                 interval: float = 60.0) -> None:
        self.metrics = metrics
        self.store = store
        self.run_blocking = run_blocking
        self.clock = clock
        self.interval = interval
        self._loop: LoopingCall | None = None
        self._first: Any = None

    def refresh(self) -> Deferred[None]:
        d = self.run_blocking(count_objects, self.store)

        def done(counts: dict[tuple[str, str], int] | None) -> None:
            if counts is not None:
                self.metrics.set_object_counts(counts, self.clock.seconds())

        def failed(failure: Any) -> None:
            _log.warn("cannot count objects for the metrics: {error}", error=failure.getErrorMessage())

        return d.addCallbacks(done, failed)

    def startService(self) -> None:
        super().startService()
        loop = LoopingCall(self.refresh)
        loop.clock = self.clock
        self._loop = loop
        loop.start(self.interval, now=False).addErrback(lambda f: None)
        # The first count as soon as the reactor runs (not inside startService).
        self._first = self.clock.callLater(0, self.refresh)

    def stopService(self) -> None:
        super().stopService()
        if self._first is not None and self._first.active():
            self._first.cancel()
        self._first = None
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None


def metrics_resource(metrics: Metrics, reactor: Any) -> Any:
    """The C{/metrics} resource: the registry rendered by prometheus-client in a reactor pool thread."""
    return WSGIResource(reactor, reactor.getThreadPool(), make_wsgi_app(metrics.registry))
