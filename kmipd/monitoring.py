# -*- test-case-name: tests.test_metrics -*-
"""Attach the audit trail, the metrics and the health endpoints to a L{kmipd.service.KMIPService}.

Kept out of C{service.py} (one call there): everything here is optional plumbing around the
dispatcher's C{services} dictionary, where the transports find C{"audit"} and C{"metrics"}.
"""

from __future__ import annotations

from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.endpoints import serverFromString
from twisted.python.threadpool import ThreadPool

from kmipd.log import Logger

from .audit import AuditTrail
from .config import Config
from .health import ReadinessResource, StoreHealth, build_site
from .metrics import Metrics, ObjectCountService

_log = Logger()

__all__ = ["MonitoringListener", "attach_monitoring", "syslog_address"]


class MonitoringError(Exception):
    """The metrics endpoint cannot be bound."""


def syslog_address(value: str) -> str | tuple[str, int]:
    """C{audit_syslog_address}: a socket path, or C{host:port} for UDP."""
    if value.startswith("/"):
        return value
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{value!r} is neither a socket path nor host:port")
    return (host.strip("[]"), int(port))


class MonitoringListener(Service):
    """Serves C{/metrics}, C{/healthz} and C{/readyz} on the C{metrics_listen} endpoints.

    @ivar ports: the listening ports once started.
    """

    name: str | None = "kmipd-monitoring"  # type: ignore[assignment]

    def __init__(self, endpoints: tuple[str, ...], factory: Any, reactor: Any, health_pool: ThreadPool,
                 health: StoreHealth | None = None) -> None:
        self.endpoints = endpoints
        self.factory = factory
        self.reactor = reactor
        self.health_pool = health_pool
        self.health = health
        self.ports: list[Any] = []

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        if self.ports:
            return
        errors: list[str] = []
        for description in self.endpoints:
            try:
                d = serverFromString(self.reactor, description).listen(self.factory)
            except Exception as e:
                errors.append(f"metrics_listen: cannot listen on {description!r}: {e}")
                continue
            d.addCallbacks(self.ports.append, lambda f, desc=description: errors.append(
                f"metrics_listen: cannot listen on {desc!r}: {f.getErrorMessage()}"))
        if errors:
            for port in self.ports:
                port.stopListening()
            self.ports = []
            raise MonitoringError(errors[0])
        for port in self.ports:
            _log.info("kmipd metrics and health on {address}", address=str(port.getHost()))

    def startService(self) -> None:
        if not self.ports:
            self.privilegedStartService()
        super().startService()
        self.health_pool.start()

    def stopService(self) -> Deferred[Any]:
        super().stopService()
        stops = [maybeDeferred(port.stopListening) for port in self.ports]
        self.ports = []
        self.health_pool.stop()
        if self.health is not None:
            self.health.close()
        return DeferredList(stops)


def _check_writable(path: str) -> None:
    """Start-up check: an audit trail that cannot be written is a configuration error, not a silent gap."""
    import os

    from .config import ConfigError

    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
    except OSError as e:
        raise ConfigError(f"[server] audit_log_path: cannot open {path} for appending: {e.strerror or e}",
                          key="audit_log_path") from None


def attach_monitoring(service: Any, config: Config, reactor: Any, tls: bool) -> None:
    """Create the trail, metrics and monitoring listener of C{service} and register them.

    Sets C{service.audit} (an L{AuditTrail} or C{None}), C{service.metrics} (L{Metrics}) and
    C{service.monitoring} (a L{MonitoringListener} or C{None}).
    """
    services = service.dispatcher.services
    service.audit = None
    if config.audit_log_path or config.audit_syslog:
        from .config import ConfigError

        address = None
        if config.audit_syslog:
            try:
                address = syslog_address(config.audit_syslog_address)
            except ValueError as e:
                raise ConfigError(f"[server] audit_syslog_address: {e}", key="audit_syslog_address") from None
        if config.audit_log_path:
            _check_writable(config.audit_log_path)
        service.audit = AuditTrail(config.audit_log_path, syslog_address=address, reactor=reactor,
                                   seconds=reactor.seconds)
        service.audit.setServiceParent(service)
        services["audit"] = service.audit
        service.dispatcher.processor.service.audit = service.audit  # the Log operation's trail

    metrics = Metrics()
    service.metrics = metrics
    services["metrics"] = metrics
    metrics.watch_counter(service.factory.counter)
    metrics.watch_connections("ttlv", lambda: len(service.factory.connections))
    if service.site is not None:
        metrics.watch_connections("https", lambda: len(service.site.connections))
    metrics.watch_pool("operations", service.pool)
    policy_pool = getattr(service, "policy_pool", None)
    if policy_pool is not None:
        metrics.watch_pool("policy", policy_pool)
    metrics.watch_slugs(getattr(service.auth, "authenticators", ()))
    from .policy.reloader import PolicyDirectoryWatcher

    for child in service:
        if isinstance(child, PolicyDirectoryWatcher):
            metrics.watch_policy(child)
    metrics.watch_store(service.store)
    if service.audit is not None:
        metrics.watch_audit(service.audit)
    ObjectCountService(metrics, service.store, service.pool.run, reactor).setServiceParent(service)

    service.monitoring = None
    service.health = None
    if config.metrics_listen:
        health_pool = ThreadPool(minthreads=0, maxthreads=1, name="kmipd-health")
        service.health = StoreHealth(service.store)
        readiness = ReadinessResource(service.health.check, reactor=reactor, pool=health_pool)
        site: Any = build_site(metrics, readiness, reactor)
        if config.metrics_tls and tls:
            from .tls import build_server_tls_options, wrap_factory

            site = wrap_factory(site, build_server_tls_options(config))
        service.monitoring = MonitoringListener(config.metrics_listen, site, reactor, health_pool, service.health)
        service.monitoring.setServiceParent(service)
