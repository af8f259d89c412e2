# -*- test-case-name: tests.test_service -*-
"""The composition root and embedding API: L{KMIPService}.

C{KMIPService(config)} owns every resource with a lifecycle: the operation thread pool, the
object store, the policy directory watcher, the SLUGS HTTP client and the listening endpoints.
A C{.tac} file or another Twisted application attaches it with C{setServiceParent}; C{twistd kmip}
builds it through L{kmipd.tap.makeService}. Blocking start-up work (development PKI, master key,
schema check, first policy scan) happens in the constructor, before the reactor serves.

C{twistd kmip} listens first: L{listen_first} binds every configured endpoint (KMIP, HTTPS,
metrics) before the constructor creates any data file, and the service adopts those ports when it
starts; a start that cannot listen leaves nothing behind. An embedder may do the same
(C{KMIPService(config, listeners=listen_first(config, reactor))}).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

import treq
from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred, succeed
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort, IProtocolFactory, IStreamServerEndpoint
from twisted.internet.protocol import Factory
from twisted.web.client import Agent, HTTPConnectionPool

from kmipd.log import Logger

from ._version import __version__
from .auth.chain import build_auth_chain
from .auth.credentials import CredentialFileError, CredentialStore
from .auth.identify import Identifier
from .auth.request import CredentialChecker
from .config import Config, ConfigError
from .context import ServiceContext
from .devcerts import DevPKI, dev_pki_for
from .dispatch import DIRECT_THREADS, Dispatcher, Scheduling
from .http import build_site
from .monitoring import attach_monitoring
from .node import NodeState, shared_replay_guard
from .policy.loader import PolicyFileError
from .policy.model import PolicyEngine
from .policy.reloader import PolicyDirectoryWatcher
from .processor import Processor, Reply, sniff_version
from .protocol import KMIPServerFactory
from .spec import ResultReason, enum_value_in_version
from .store.foreign import refuse_foreign_schema
from .store.keyring import refuse_missing_key_file
from .store.masterkey import load_or_create_master_key
from .store.sql import SQLObjectStore
from .threads import ThreadPoolService
from .tls import build_https_tls_options, build_server_tls_options, wrap_factory

_log = Logger()


class ListenError(Exception):
    """An endpoint cannot be bound (address in use, permission denied, bad description)."""


class _LateFactory(Factory):
    """Stands in for a port's factory until the service that serves the port exists.

    Refuses connections until L{attach}ed (the reactor does not run before that under twistd);
    then starts, stops and builds through the real factory.
    """

    noisy = False

    def __init__(self) -> None:
        self.target: Factory | None = None

    def attach(self, target: Any) -> None:
        self.target = target
        if self.numPorts:
            target.doStart()

    def startFactory(self) -> None:
        if self.target is not None:
            self.target.doStart()

    def stopFactory(self) -> None:
        if self.target is not None:
            self.target.doStop()

    def buildProtocol(self, addr: Any) -> Any:
        return None if self.target is None else self.target.buildProtocol(addr)

    def logPrefix(self) -> str:
        return self.target.__class__.__name__ if self.target is not None else "kmipd"


@dataclass
class Listeners:
    """Ports bound by L{listen_first} before the service and its data files exist.

    @ivar bound: C{(kind, description, port, stand-in factory)}, kind C{"kmip"}, C{"https"} or
        C{"metrics"}, in configuration order.
    """

    bound: list[tuple[str, str, Any, _LateFactory]] = field(default_factory=list)

    def of(self, kind: str) -> list[tuple[str, Any, _LateFactory]]:
        return [(d, port, late) for k, d, port, late in self.bound if k == kind]

    def close(self) -> Deferred[Any]:
        """Stop listening on every port (a start that failed after binding)."""
        bound, self.bound = self.bound, []
        return DeferredList([maybeDeferred(port.stopListening) for _, _, port, _ in bound])


def listen_first(config: Config, reactor: Any = None) -> Listeners:
    """Bind every endpoint C{config} names (C{listen}, C{https_listen}, C{metrics_listen}) now.

    @raise ListenError: one cannot be bound (those already bound are released).
    """
    if reactor is None:
        from twisted.internet import reactor as _reactor

        reactor = _reactor
    listeners = Listeners()
    wanted = [("kmip", d) for d in config.effective_listen] + [("https", d) for d in config.https_listen]
    wanted += [("metrics", d) for d in config.metrics_listen]
    for kind, description in wanted:
        late = _LateFactory()
        result: list[Any] = []
        try:
            d = serverFromString(reactor, description).listen(late)
            d.addBoth(result.append)
            if not result:  # an endpoint that listens later: kmipd must know now
                d.cancel()
                result.insert(0, ListenError("the endpoint does not listen at once"))
        except Exception as e:
            result.append(e)
        outcome = result[0]
        if not IListeningPort.providedBy(outcome):
            listeners.close()
            error = outcome.value if hasattr(outcome, "value") else outcome
            option = "metrics_listen: " if kind == "metrics" else ""
            raise ListenError(f"{option}cannot listen on {description!r}: {error}")
        listeners.bound.append((kind, description, outcome, late))
    return listeners


class _AuditGatedDispatcher(Dispatcher):
    """The dispatcher; with C{audit_overflow = refuse}, request messages arriving while the audit
    trail is behind are answered with an error before any operation runs (nothing unrecorded
    happens)."""

    #: The L{kmipd.audit.AuditTrail} that gates requests, or C{None} (C{audit_overflow = drop}).
    audit_gate: Any = None

    def handle_many(self, messages: list[bytes], caller: Any) -> Deferred[list[Reply]]:
        trail = self.audit_gate
        if trail is not None and trail.behind:
            now = int(self.seconds())
            return succeed([self._audit_refusal(sniff_version(m), now) for m in messages])
        return super().handle_many(messages, caller)

    def _audit_refusal(self, version: Any, now: int) -> Reply:
        reason = ResultReason.SERVER_LIMIT_EXCEEDED  # 2.x; 1.x has only General Failure for this
        if not enum_value_in_version(ResultReason, int(reason), version):
            reason = ResultReason.GENERAL_FAILURE
        return self.error_reply(version, now, int(reason), "the audit trail is behind (audit_overflow = refuse): "
                                "try again later")


class _RecordingEndpoint:
    """An endpoint that reports the port it listens on (for L{KMIPService.ports})."""

    def __init__(self, endpoint: IStreamServerEndpoint, bound: Any) -> None:
        self.endpoint = endpoint
        self.bound = bound

    def listen(self, factory: IProtocolFactory) -> Deferred[IListeningPort]:
        return self.endpoint.listen(factory).addCallback(self.bound)


class KMIPService(MultiService):
    """A complete KMIP server.

    @param config: the configuration (see L{kmipd.config.load_config}).
    @param reactor: the reactor (injectable for tests); the only place kmipd falls back to the
        global one.
    @param store: an L{kmipd.store.interface.ObjectStore} to use instead of the configured database.
    @param tls: serve TLS (always, except in tests that speak plain TTLV).
    @ivar ports: the listening ports once started (TTLV and HTTPS).
    @ivar https_ports: those of C{ports} serving KMIP over HTTPS (L{kmipd.http}).
    @ivar site: the HTTPS L{kmipd.http.KMIPSite} when C{https_listen} is configured, else C{None}.
    @ivar dev_pki: the development PKI in use (no certificates configured), else C{None}.
    """

    def __init__(self, config: Config, *, reactor: Any = None, store: Any = None, tls: bool = True,
                 http_client: Any = None, listeners: Listeners | None = None) -> None:
        super().__init__()
        #: Ports bound before this service existed (L{listen_first}), adopted when it starts.
        self._listeners = listeners
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor
        self.reactor = reactor
        # The one place the development PKI is made (and only when serving TLS without certificates).
        self.dev_pki: DevPKI | None = None
        if tls and config.uses_dev_pki:
            self.dev_pki = pki = dev_pki_for(config)
            config = replace(config, certificate_path=pki.server_cert, key_path=pki.server_key, ca_path=pki.ca_cert)
        self.config = config
        self.limits = config.limits
        self.ports: list[IListeningPort] = []
        self.https_ports: list[IListeningPort] = []
        self._endpoints: list[StreamServerEndpointService] = []
        self._adopted: list[Any] = []

        # Store work uses at most thread_pool_size threads (the scheduler sees to it); the extra
        # threads serve messages that need no store, whatever the database is doing.
        self.pool = ThreadPoolService(reactor, "kmipd-operations", config.thread_pool_size + DIRECT_THREADS)
        self.pool.setServiceParent(self)

        self.store = store if store is not None else self._open_store(config)
        self.policy = PolicyEngine()
        if config.policy_path:
            self._watch_policies(config.policy_path, config.policy_reload_interval)

        self._http_pool = None
        if config.enabled_slugs and http_client is None:
            self._http_pool = HTTPConnectionPool(reactor, persistent=True)
            http_client = treq.client.HTTPClient(Agent(reactor, pool=self._http_pool))
        self.auth = build_auth_chain(config.slugs, http_client, reactor, timeout=config.slugs_timeout,
                                     cache_ttl=config.slugs_cache_ttl,
                                     failure_cache_ttl=config.slugs_failure_cache_ttl)
        #: Certificate -> Deferred Caller (CN, then the chain), for both ports.
        self.identify = Identifier(self.auth, require_client_auth_eku=config.enable_tls_client_auth,
                                   require_certificate=tls,
                                   certificate_groups=config.certificate_groups and not config.enabled_slugs)

        processor = Processor(self.store, ServiceContext(policy=self.policy, settings=config.settings),
                              reactor, limits=self.limits, credentials=self._credentials(config),
                              node=self._node_state(reactor))
        self.dispatcher = _AuditGatedDispatcher(processor, self.pool.run, reactor,
                                     Scheduling.for_store(self.store, config.thread_pool_size))
        # With SLUGS, group membership can change: a connection's caller is resolved again
        # (through the cached chain) once slugs_cache_ttl has passed since the last resolution.
        self.factory = KMIPServerFactory(self.dispatcher, limits=self.limits, clock=reactor,
                                         identify=self.identify, tls=tls,
                                         reidentify_after=config.slugs_cache_ttl if config.enabled_slugs else None)
        tls_options = build_server_tls_options(config) if tls else None
        self._listen_factory = wrap_factory(self.factory, tls_options) if tls_options else self.factory
        # KMIP over HTTPS (POST /kmip, TTLV/XML/JSON): same dispatcher, identity and mutual TLS.
        self.site: Any = None
        self._https_factory: Any = None
        if config.https_listen:
            # Its connections count against the TTLV port's caps; SLUGS re-resolution as there.
            self.site = build_site(self.dispatcher, self.identify, limits=self.limits, reactor=reactor,
                                   counter=self.factory.counter, reidentify_after=self.factory.reidentify_after,
                                   tls=tls)
            self._https_factory = wrap_factory(self.site, build_https_tls_options(config)) if tls else self.site
        # ops: audit trail, metrics, health endpoints (kmipd.monitoring)
        attach_monitoring(self, config, reactor, tls)
        monitoring, audit = getattr(self, "monitoring", None), getattr(self, "audit", None)
        if listeners is not None and monitoring is not None and listeners.of("metrics"):
            for _, _port, late in listeners.of("metrics"):
                late.attach(monitoring.factory)
            monitoring.ports = [port for _, port, _ in listeners.of("metrics")]
        if audit is not None:
            audit.queue_size = config.audit_queue_size
            if config.audit_overflow == "refuse":
                self.dispatcher.audit_gate = audit

    def _node_state(self, reactor: Any) -> NodeState:
        """Session state of this node: asynchronous items start in the operation pool (handed
        over through the reactor thread, as they are submitted from pool threads); Interop is off
        (2.1 6.1.26: not available in a production server)."""
        pool_run = self.pool.run

        def start(job: Any) -> None:
            reactor.callFromThread(lambda: pool_run(job).addErrback(
                lambda f: _log.failure("asynchronous job failed", failure=f)))

        if self.config.interop_test_server:
            _log.warn("interop_test_server is set: the Interop operation is offered (a test server; "
                      "KMIP 2.1 6.1.26: never in production)")
        return NodeState(seconds=reactor.seconds, start=start, interop_enabled=self.config.interop_test_server)

    def _watch_policies(self, path: str, interval: float) -> None:
        # Its own thread: policy reloads must not wait behind busy operation workers.
        self.policy_pool = ThreadPoolService(self.reactor, "kmipd-policy", 1)
        self.policy_pool.setServiceParent(self)
        watcher = PolicyDirectoryWatcher(self.policy, path, self.reactor, self.policy_pool.run, interval=interval)
        try:
            watcher.load_initial()
        except PolicyFileError as e:  # the directory itself is unusable (bad files are skipped)
            raise ConfigError(f"[server] policy_path: {e}", key="policy_path") from None
        watcher.setServiceParent(self)

    def _credentials(self, config: Config) -> Any:
        """The request credential checker (C{credentials_path}), or C{None}."""
        if not config.credentials_path:
            return None
        try:
            return CredentialChecker(CredentialStore.load(config.credentials_path), seconds=self.reactor.seconds,
                                     window=config.hashed_password_window, replay=shared_replay_guard(self.store))
        except CredentialFileError as e:
            raise ConfigError(f"[server] credentials_path: {e}", key="credentials_path") from None

    @staticmethod
    def _open_store(config: Config) -> Any:
        url = config.effective_database_url
        # Before any file of ours is created: never initialise kmipd beside PyKMIP's (or another) schema.
        refuse_foreign_schema(url, hint=os.path.join(config.data_dir, "kmipd.sqlite"))
        os.makedirs(config.data_dir, mode=0o700, exist_ok=True)
        if url.startswith("sqlite:///"):
            path = url[len("sqlite:///"):].split("?", 1)[0]
            if path and path != ":memory:":
                path = os.path.abspath(path)
                os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
                # The database holds (wrapped) key material: create it owner-only; SQLite gives
                # its journal and WAL files the same mode.
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        if not os.path.exists(config.effective_master_key_path):
            refuse_missing_key_file(url, config.effective_master_key_path)
        key = load_or_create_master_key(config.effective_master_key_path)
        return SQLObjectStore(url, key, pool_size=config.db_pool_size,
                              deadlines=config.database,
                              key_path=config.effective_master_key_path)

    # Service lifecycle ----------------------------------------------------------------------

    def privilegedStartService(self) -> None:
        """Bind the endpoints (possibly privileged ports) and fail loudly if one cannot be bound."""
        super().privilegedStartService()
        if self._endpoints or self._adopted:
            return
        _log.info("kmipd {version} starting", version=__version__)  # ops: version in the startup log
        if self._listeners is not None:
            self._serve_listeners(self._listeners)
            return
        listeners = [(d, self._listen_factory, False) for d in self.config.effective_listen]
        listeners += [(d, self._https_factory, True) for d in self.config.https_listen]
        for description, factory, https in listeners:
            try:
                endpoint = _RecordingEndpoint(serverFromString(self.reactor, description),
                                              lambda port, https=https: self._bound(port, https))
                service = StreamServerEndpointService(endpoint, factory)
                service._raiseSynchronously = True  # a port that cannot be bound fails start-up
                service.privilegedStartService()
            except Exception as e:
                self._unbind()
                raise ListenError(f"cannot listen on {description!r}: {e}") from None
            self._endpoints.append(service)
        self._log_ports()

    def _serve_listeners(self, listeners: Listeners) -> None:
        """Serve the ports L{listen_first} bound (once: they are released on stop)."""
        self._listeners = None
        for kind in ("kmip", "https"):
            for _, port, late in listeners.of(kind):
                late.attach(self._https_factory if kind == "https" else self._listen_factory)
                self._bound(port, kind == "https")
                self._adopted.append(port)
        self._log_ports()
        for _, port, _ in listeners.of("metrics"):
            _log.info("kmipd metrics and health on {address}", address=str(port.getHost()))

    def _log_ports(self) -> None:
        for port in self.ports:
            if port in self.https_ports:
                _log.info("kmipd listening for HTTPS on {address}", address=str(port.getHost()))
            else:
                _log.info("kmipd listening on {address}", address=str(port.getHost()))

    def _bound(self, port: IListeningPort, https: bool) -> IListeningPort:
        self.ports.append(port)
        if https:
            self.https_ports.append(port)
        return port

    def _unbind(self) -> Deferred[Any]:
        endpoints, self._endpoints = self._endpoints, []
        adopted, self._adopted = self._adopted, []
        self.ports = []
        self.https_ports = []
        stops = [maybeDeferred(e.stopService) for e in endpoints] + [maybeDeferred(p.stopListening) for p in adopted]
        return DeferredList(stops)

    def startService(self) -> None:
        if not self._endpoints and not self._adopted:
            self.privilegedStartService()
        for endpoint in self._endpoints:
            endpoint.startService()
        super().startService()

    def stopService(self) -> Deferred[None]:
        d = self._unbind()
        for protocol in list(self.factory.connections):
            protocol.transport.loseConnection()
        if self.site is not None:
            self.site.close_connections()
        self.dispatcher.stop()
        d.addCallback(lambda _: super(KMIPService, self).stopService())
        http_pool = self._http_pool
        if http_pool is not None:
            d.addCallback(lambda _: http_pool.closeCachedConnections())
        d.addCallback(lambda _: self.store.close())
        return d
