# -*- test-case-name: tests.test_service -*-
"""The composition root and embedding API: L{KMIPService}.

C{KMIPService(config)} owns every resource with a lifecycle: the operation thread pool, the
object store, the policy directory watcher, the SLUGS HTTP client and the listening endpoints.
A C{.tac} file or another Twisted application attaches it with C{setServiceParent}; C{twistd kmip}
builds it through L{kmipd.tap.makeService}. Blocking start-up work (development PKI, master key,
schema check, first policy scan) happens in the constructor, before the reactor serves.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort

from kmipd.log import Logger

from ._version import __version__
from .auth.chain import build_auth_chain
from .auth.identify import Identifier
from .config import Config, ConfigError
from .context import ServerInfo
from .dispatch import Dispatcher
from .limits import Limits
from .policy.model import PolicyEngine
from .protocol import KMIPServerFactory
from .threads import ThreadPoolService
from .tls import build_https_tls_options, build_server_tls_options, wrap_factory

_log = Logger()


class ListenError(Exception):
    """An endpoint cannot be bound (address in use, permission denied, bad description)."""


#: How long a queued request waits for the busy operation thread before another one starts, when
#: the work is CPU-bound (SQLite, the memory store): see L{kmipd.threads.ThreadPoolService}.
CPU_BOUND_SPILL_AFTER = 0.05


def spill_after_for(config: Config, store: Any = None) -> float | None:
    """The operation pool's spill-over delay for this store: C{None} (a thread per queued request,
    up to C{thread_pool_size}) for network databases, L{CPU_BOUND_SPILL_AFTER} otherwise."""
    url = getattr(store, "url", None) if store is not None else config.effective_database_url
    if not isinstance(url, str):
        return CPU_BOUND_SPILL_AFTER  # the memory store, or an embedder's store of its own
    return CPU_BOUND_SPILL_AFTER if url.startswith("sqlite") else None


def group_commit_for(config: Config, store: Any = None) -> bool:
    """Whether the dispatcher commits concurrent requests in groups (L{kmipd.dispatch.Dispatcher}):
    on for SQLite (writers serialise anyway and every commit waits on a disk flush), off for
    PostgreSQL/MariaDB (concurrent transactions work) and for the memory store or an embedder's
    own store (no flush to share)."""
    url = getattr(store, "url", None) if store is not None else config.effective_database_url
    return isinstance(url, str) and url.startswith("sqlite")


class KMIPService(MultiService):
    """A complete KMIP server.

    @param config: the configuration (see L{kmipd.config.load_config}).
    @param reactor: the reactor (injectable for tests).
    @param store: an L{kmipd.store.interface.ObjectStore} to use instead of the configured database.
    @param tls: serve TLS (always, except in tests that speak plain TTLV).
    @ivar ports: the listening ports once started (TTLV and HTTPS).
    @ivar https_ports: those of C{ports} serving KMIP over HTTPS (L{kmipd.http}).
    @ivar site: the HTTPS L{kmipd.http.KMIPSite} when C{https_listen} is configured, else C{None}.
    """

    def __init__(self, config: Config, *, reactor: Any = None, store: Any = None, tls: bool = True,
                 http_client: Any = None) -> None:
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor
        self.reactor = reactor
        if tls:
            from .devcerts import config_with_dev_pki

            config = config_with_dev_pki(config)
        self.config = config
        self.limits = Limits(max_message_size=config.max_message_size, max_depth=config.max_depth,
                             max_batch_count=config.max_batch_count, idle_timeout=config.idle_timeout,
                             message_timeout=config.message_timeout, max_connections=config.max_connections,
                             max_connections_per_client=config.max_connections_per_client,
                             handshake_timeout=config.handshake_timeout,
                             max_handshakes_per_address=config.max_handshakes_per_address,
                             max_pending_handshakes=config.max_pending_handshakes,
                             max_partial_bytes=config.max_partial_bytes,
                             max_output_bytes=config.max_output_bytes,
                             max_response_size=config.max_response_size,
                             max_rng_length=config.max_rng_length)
        self.ports: list[IListeningPort] = []

        self.pool = ThreadPoolService(reactor, "kmipd-operations", config.thread_pool_size,
                                      spill_after=spill_after_for(config, store))
        self.pool.setServiceParent(self)

        self.store = store if store is not None else self._open_store(config)
        self.policy = PolicyEngine()
        if config.policy_path:
            from .policy.loader import PolicyFileError
            from .policy.reloader import PolicyDirectoryWatcher

            # Its own thread: policy reloads must not wait behind busy operation workers.
            self.policy_pool = ThreadPoolService(reactor, "kmipd-policy", 1)
            self.policy_pool.setServiceParent(self)
            watcher = PolicyDirectoryWatcher(self.policy, config.policy_path, reactor, self.policy_pool.run,
                                             interval=config.policy_reload_interval)
            try:
                watcher.load_initial()
            except PolicyFileError as e:  # the directory itself is unusable (bad files are skipped)
                raise ConfigError(f"[server] policy_path: {e}", key="policy_path") from None
            watcher.setServiceParent(self)

        self._http_pool = None
        if config.enabled_slugs and http_client is None:
            import treq
            from twisted.web.client import Agent, HTTPConnectionPool

            self._http_pool = HTTPConnectionPool(reactor, persistent=True)
            http_client = treq.client.HTTPClient(Agent(reactor, pool=self._http_pool))
        self.auth = build_auth_chain(config.slugs, http_client, reactor, timeout=config.slugs_timeout,
                                     cache_ttl=config.slugs_cache_ttl,
                                     failure_cache_ttl=config.slugs_failure_cache_ttl)
        #: Certificate -> Deferred Caller (CN, then the chain), for both ports.
        self.identify = Identifier(self.auth, require_client_auth_eku=config.enable_tls_client_auth,
                                   require_certificate=tls,
                                   certificate_groups=config.certificate_groups and not config.enabled_slugs)

        credentials = None
        if config.credentials_path:
            from .auth.credentials import CredentialFileError, CredentialStore
            from .auth.request import CredentialChecker

            try:
                credentials = CredentialChecker(CredentialStore.load(config.credentials_path))
            except CredentialFileError as e:
                raise ConfigError(f"[server] credentials_path: {e}", key="credentials_path") from None

        self.dispatcher = Dispatcher(store=self.store, run_blocking=self.pool.run, policy=self.policy,
                                     limits=self.limits, seconds=reactor.seconds,
                                     server=ServerInfo(version=__version__), credentials=credentials,
                                     group_commit=group_commit_for(config, self.store),
                                     services={"revoke_preactive": config.revoke_preactive},
                                     call_later=reactor.callLater)
        # With SLUGS, group membership can change: a connection's caller is resolved again
        # (through the cached chain) once slugs_cache_ttl has passed since the last resolution.
        self.factory = KMIPServerFactory(self.dispatcher, limits=self.limits, clock=reactor,
                                         identify=self.identify, tls=tls,
                                         reidentify_after=config.slugs_cache_ttl if config.enabled_slugs else None)
        self._listen_factory = (wrap_factory(self.factory, build_server_tls_options(config)) if tls
                                else self.factory)
        # KMIP over HTTPS (POST /kmip, TTLV/XML/JSON): same dispatcher, identity and mutual TLS.
        self.site: Any = None
        self.https_ports: list[IListeningPort] = []
        self._https_factory: Any = None
        if config.https_listen:
            from .http import build_site

            # Its connections count against the TTLV port's caps; SLUGS re-resolution as there.
            self.site = build_site(self.dispatcher, self.identify, limits=self.limits, reactor=reactor,
                                   counter=self.factory.counter, reidentify_after=self.factory.reidentify_after,
                                   tls=tls)
            self._https_factory = (wrap_factory(self.site, build_https_tls_options(config)) if tls
                                   else self.site)
        # ops: audit trail, metrics, health endpoints (kmipd.monitoring)
        from .monitoring import attach_monitoring

        attach_monitoring(self, config, reactor, tls)

    @staticmethod
    def _open_store(config: Config) -> Any:
        from .store.deadlines import DatabaseDeadlines
        from .store.foreign import refuse_foreign_schema
        from .store.keyring import refuse_missing_key_file
        from .store.masterkey import load_or_create_master_key
        from .store.sql import SQLObjectStore

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
                              deadlines=DatabaseDeadlines.from_config(config),
                              key_path=config.effective_master_key_path)

    # Service lifecycle ----------------------------------------------------------------------

    def privilegedStartService(self) -> None:
        """Bind the endpoints (possibly privileged ports) and fail loudly if one cannot be bound."""
        super().privilegedStartService()
        _log.info("kmipd {version} starting", version=__version__)  # ops: version in the startup log
        errors: list[str] = []
        endpoints = [(desc, self._listen_factory) for desc in self.config.effective_listen]
        endpoints += [(desc, self._https_factory) for desc in self.config.https_listen]
        for description, factory in endpoints:
            try:
                d = serverFromString(self.reactor, description).listen(factory)
            except Exception as e:  # a malformed description raises synchronously
                errors.append(f"cannot listen on {description!r}: {e}")
                continue
            d.addCallbacks(self._bound, callbackArgs=(factory is self._https_factory,),
                           errback=lambda f, desc=description: errors.append(
                               f"cannot listen on {desc!r}: {f.getErrorMessage()}"))
        if errors:
            for port in self.ports:
                port.stopListening()
            self.ports = []
            self.https_ports = []
            raise ListenError(errors[0])
        for port in self.ports:
            if port in self.https_ports:
                _log.info("kmipd listening for HTTPS on {address}", address=str(port.getHost()))
            else:
                _log.info("kmipd listening on {address}", address=str(port.getHost()))

    def _bound(self, port: IListeningPort, https: bool) -> None:
        self.ports.append(port)
        if https:
            self.https_ports.append(port)

    def startService(self) -> None:
        if not self.ports:
            self.privilegedStartService()
        super().startService()

    def stopService(self) -> Deferred[None]:
        stops = [maybeDeferred(port.stopListening) for port in self.ports]
        self.ports = []
        self.https_ports = []
        for protocol in list(self.factory.connections):
            protocol.transport.loseConnection()
        if self.site is not None:
            self.site.close_connections()
        d: Deferred[Any] = DeferredList(stops)
        d.addCallback(lambda _: super(KMIPService, self).stopService())
        http_pool = self._http_pool
        if http_pool is not None:
            d.addCallback(lambda _: http_pool.closeCachedConnections())
        d.addCallback(lambda _: self.store.close())
        return d
