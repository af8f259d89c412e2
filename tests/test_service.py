"""Tests for L{kmipd.service.KMIPService}: composition, lifecycle, zero-config defaults, file modes."""

from __future__ import annotations

import os
import socket
import stat
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet.testing import MemoryReactorClock, StringTransportWithDisconnection
from twisted.trial.unittest import TestCase

from kmipd.config import Config, load_config
from kmipd.devcerts import DevPKI
from kmipd.dispatch import DIRECT_THREADS, Scheduling
from kmipd.service import KMIPService, ListenError
from kmipd.store.memory import MemoryObjectStore
from kmipd.tls import IdentityError


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


class ServiceTestMixin:
    """Temporary data directories and service cleanup."""

    def data_dir(self) -> str:
        path = self.mktemp()  # type: ignore[attr-defined]
        return os.path.abspath(path)

    def config(self, **overrides: Any) -> Config:
        overrides.setdefault("data_dir", self.data_dir())
        overrides.setdefault("listen", ("tcp:0:interface=127.0.0.1",))
        return load_config(None, overrides)


class LifecycleTests(ServiceTestMixin, TestCase):
    """The service starts and stops its pool, store and listeners cleanly."""

    @defer.inlineCallbacks
    def test_start_stop(self):  # type: ignore[no-untyped-def]
        """startService binds the endpoints and starts the pool; stopService undoes both and closes the store."""
        service = KMIPService(self.config())
        closed = []
        original_close = service.store.close
        service.store.close = lambda: (closed.append(True), original_close())  # type: ignore[method-assign]
        service.startService()
        self.addCleanup(lambda: service.running and service.stopService())
        self.assertTrue(service.running)
        self.assertEqual(len(service.ports), 1)
        host = service.ports[0].getHost()
        self.assertEqual(host.host, "127.0.0.1")
        self.assertNotEqual(host.port, 0)
        self.assertTrue(service.pool.pool.started)
        yield service.stopService()
        self.assertFalse(service.running)
        self.assertEqual(service.ports, [])
        self.assertFalse(service.pool.pool.started)
        self.assertEqual(closed, [True])
        probe = socket.socket()
        try:
            self.assertNotEqual(probe.connect_ex(("127.0.0.1", host.port)), 0, "the port is closed")
        finally:
            probe.close()

    @defer.inlineCallbacks
    def test_several_listeners(self):  # type: ignore[no-untyped-def]
        """Every configured endpoint is bound."""
        service = KMIPService(self.config(listen=("tcp:0:interface=127.0.0.1",
                                                          "tcp:0:interface=127.0.0.1:backlog=5")))
        service.startService()
        try:
            self.assertEqual(len(service.ports), 2)
        finally:
            yield service.stopService()

    @defer.inlineCallbacks
    def test_operations_run_in_pool(self):  # type: ignore[no-untyped-def]
        """The dispatcher's blocking work runs in the service's pool, not on the reactor thread."""
        import threading

        from kmipd.dispatch import Caller
        from kmipd.spec import Operation, QueryFunction, Tag
        from kmipd.testing import batch_item, payload, request, results
        from kmipd.ttlv import Item, decode, encode

        service = KMIPService(self.config(), store=MemoryObjectStore(), tls=False)
        service.startService()
        threads = []
        original = service.dispatcher.processor.process

        def process(data: bytes, caller: Caller) -> Any:
            threads.append(threading.current_thread().name)
            return original(data, caller)

        service.dispatcher.processor.process = process  # type: ignore[method-assign]
        try:
            reply = yield service.dispatcher.handle(encode(request(batch_item(Operation.QUERY, payload(
                Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS))))), Caller("x"))
        finally:
            yield service.stopService()
        self.assertTrue(results(decode(reply.data))[0].ok)
        self.assertNotEqual(threads, [threading.current_thread().name])
        self.assertEqual(len(threads), 1)

    @defer.inlineCallbacks
    def test_stop_closes_connections(self):  # type: ignore[no-untyped-def]
        """stopService drops open client connections."""
        service = KMIPService(self.config(), store=MemoryObjectStore(), tls=False)
        service.startService()
        proto = service.factory.buildProtocol(None)
        transport = StringTransportWithDisconnection()
        transport.protocol = proto
        proto.makeConnection(transport)
        self.assertIn(proto, service.factory.connections)
        yield service.stopService()
        self.assertFalse(transport.connected)
        self.assertNotIn(proto, service.factory.connections)

    @defer.inlineCallbacks
    def test_asynchronous_item_runs_in_pool(self):  # type: ignore[no-untyped-def]
        """An item answered Pending runs in the service's pool; Poll then returns its result.
        Interop is off in a served kmipd (2.1 6.1.26)."""
        from twisted.internet import reactor, task

        from kmipd.dispatch import Caller
        from kmipd.spec import AsynchronousIndicator, Operation, ResultReason, ResultStatus, Tag
        from kmipd.testing import batch_item, payload, request, results
        from kmipd.ttlv import Item, decode, encode

        service = KMIPService(self.config(), store=MemoryObjectStore(), tls=False)
        service.startService()
        self.assertFalse(service.dispatcher.processor.node.interop_enabled)

        def send(op: int, body: Item, extra: list[Item] = ()) -> Any:  # type: ignore[assignment]
            message = request(batch_item(op, body), version=(2, 1), header_extra=list(extra))
            return service.dispatcher.handle(encode(message), Caller("x")).addCallback(
                lambda reply: (results(decode(reply.data))[0], decode(reply.data)))

        try:
            body = payload(Item.enum(Tag.OBJECT_TYPE, 7), Item.struct(Tag.ATTRIBUTES, [
                Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128)]))  # Secret Data
            first, response = yield send(Operation.CREATE, body, [
                Item.enum(Tag.ASYNCHRONOUS_INDICATOR, AsynchronousIndicator.MANDATORY)])
            self.assertEqual(first.status, ResultStatus.OPERATION_PENDING)
            value = response.find(Tag.BATCH_ITEM).get(Tag.ASYNCHRONOUS_CORRELATION_VALUE)
            poll = payload(Item.bytes(Tag.ASYNCHRONOUS_CORRELATION_VALUE, value))
            for _ in range(500):
                result, _ = yield send(Operation.POLL, poll)
                if result.status != ResultStatus.OPERATION_PENDING:
                    break
                yield task.deferLater(reactor, 0.01, lambda: None)
            interop, _ = yield send(Operation.INTEROP, payload(Item.enum(Tag.INTEROP_FUNCTION, 1),
                                                               Item.text(Tag.INTEROP_IDENTIFIER, "t")))
        finally:
            yield service.stopService()
        self.assertEqual(result.status, ResultStatus.SUCCESS, result.message)
        self.assertEqual(result.payload.get(Tag.OBJECT_TYPE), 7)
        self.assertEqual(interop.reason, ResultReason.OPERATION_NOT_SUPPORTED)

    @defer.inlineCallbacks
    def test_interop_test_server(self):  # type: ignore[no-untyped-def]
        """interop_test_server = True offers Interop (for test runs such as the OASIS 2.1 profile
        test cases, which begin each case with it) and lists it in Query Operations."""
        from kmipd.dispatch import Caller
        from kmipd.spec import Operation, QueryFunction, ResultStatus, Tag
        from kmipd.testing import batch_item, payload, request, results
        from kmipd.ttlv import Item, decode, encode

        service = KMIPService(self.config(interop_test_server=True), store=MemoryObjectStore(), tls=False)
        service.startService()

        def send(op: int, body: Item) -> Any:
            message = request(batch_item(op, body), version=(2, 1))
            return service.dispatcher.handle(encode(message), Caller("x")).addCallback(
                lambda reply: results(decode(reply.data))[0])

        try:
            begin = yield send(Operation.INTEROP, payload(Item.enum(Tag.INTEROP_FUNCTION, 1),
                                                          Item.text(Tag.INTEROP_IDENTIFIER, "BL-M-1-21")))
            end = yield send(Operation.INTEROP, payload(Item.enum(Tag.INTEROP_FUNCTION, 2),
                                                        Item.text(Tag.INTEROP_IDENTIFIER, "BL-M-1-21")))
            query = yield send(Operation.QUERY, payload(Item.enum(Tag.QUERY_FUNCTION,
                                                                  QueryFunction.QUERY_OPERATIONS)))
        finally:
            yield service.stopService()
        self.assertEqual((begin.status, end.status), (ResultStatus.SUCCESS, ResultStatus.SUCCESS), begin.message)
        self.assertIn(Operation.INTEROP, [i.value for i in query.payload.value if i.tag == Tag.OPERATION])

    def test_port_in_use(self) -> None:
        """A port already in use raises a clear ListenError and leaves nothing bound."""
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        self.addCleanup(busy.close)
        port = busy.getsockname()[1]
        service = KMIPService(self.config(listen=("tcp:0:interface=127.0.0.1",
                                                  f"tcp:{port}:interface=127.0.0.1")),
                              store=MemoryObjectStore(), tls=False)
        e = self.assertRaises(ListenError, service.privilegedStartService)
        self.assertIn(str(port), str(e))
        self.assertIn("in use", str(e))
        self.assertEqual(service.ports, [])

    def test_bad_endpoint(self) -> None:
        """A malformed endpoint description is a ListenError naming it."""
        service = KMIPService(self.config(listen=("bogus:1",)), store=MemoryObjectStore(), tls=False)
        e = self.assertRaises(ListenError, service.privilegedStartService)
        self.assertIn("bogus:1", str(e))


class DefaultsTests(ServiceTestMixin, TestCase):
    """Zero-config defaults, checked on a memory reactor (nothing binds 5696)."""

    @defer.inlineCallbacks
    def test_zero_config_loopback_5696(self):  # type: ignore[no-untyped-def]
        """With no listen option the service listens on 127.0.0.1:5696 only."""
        config = load_config(None, {"data_dir": self.data_dir()})
        self.assertEqual(config.effective_listen, ("tcp:5696:interface=127.0.0.1",))
        memory = MemoryReactorClock()
        service = KMIPService(config, reactor=memory)
        service.startService()
        try:
            self.assertEqual([(p, i) for p, _, _, i in memory.tcpServers], [(5696, "127.0.0.1")])
        finally:
            yield service.stopService()

    def test_dev_pki_and_modes(self) -> None:
        """Zero-config creates the data directory (0700), dev PKI, master key and database; secrets are 0600."""
        config = load_config(None, {"data_dir": self.data_dir()})
        service = KMIPService(config, reactor=MemoryReactorClock())
        self.addCleanup(service.store.close)
        d = config.data_dir
        self.assertEqual(mode(d), 0o700)
        for name in ("master.key", "kmipd.sqlite", "pki/ca.key", "pki/server.key", "pki/client.key"):
            self.assertEqual(mode(os.path.join(d, name)), 0o600, name)
        for name in ("pki/ca.pem", "pki/server.pem", "pki/client.pem"):
            self.assertTrue(os.path.exists(os.path.join(d, name)), name)
        self.assertEqual(service.config.ca_path, os.path.join(d, "pki", "ca.pem"))
        self.assertEqual(service.dev_pki, DevPKI.in_directory(os.path.join(d, "pki")))

    def test_plain_data_dir_private(self) -> None:
        """Without TLS (no dev PKI) the data directory is still created 0700 and the database 0600."""
        config = load_config(None, {"data_dir": self.data_dir()})
        service = KMIPService(config, reactor=MemoryReactorClock(), tls=False)
        self.addCleanup(service.store.close)
        self.assertEqual(mode(config.data_dir), 0o700)
        self.assertEqual(mode(os.path.join(config.data_dir, "kmipd.sqlite")), 0o600)

    def test_limits_from_config(self) -> None:
        """Protocol limits and pool size come from the configuration."""
        config = self.config(max_message_size=4096, idle_timeout=7, max_batch_count=3, thread_pool_size=2)
        service = KMIPService(config, reactor=MemoryReactorClock(), store=MemoryObjectStore(), tls=False)
        self.assertEqual((service.limits.max_message_size, service.limits.idle_timeout,
                          service.limits.max_batch_count), (4096, 7, 3))
        self.assertEqual(service.factory.limits, service.limits)
        self.assertEqual(service.pool.pool.max, 2 + DIRECT_THREADS)

    def test_settings_reach_handlers(self) -> None:
        """Handler settings from the configuration are what the operations use (here: lease_time)."""
        from kmipd.spec import ObjectType, Operation, Tag
        from kmipd.testing import call, payload
        from kmipd.ttlv import Item

        config = self.config(lease_time=60, rng_parameters="RNG Algorithm: ANSI X9.31")
        service = KMIPService(config, reactor=MemoryReactorClock(), store=MemoryObjectStore(), tls=False)
        processor = service.dispatcher.processor
        self.assertIs(processor.service.settings, config.settings)
        created = call(processor, Operation.REGISTER, payload(
            Item.enum(Tag.OBJECT_TYPE, ObjectType.SECRET_DATA), Item.struct(Tag.TEMPLATE_ATTRIBUTE, []),
            Item.struct(Tag.SECRET_DATA, [Item.enum(Tag.SECRET_DATA_TYPE, 1), Item.struct(Tag.KEY_BLOCK, [
                Item.enum(Tag.KEY_FORMAT_TYPE, 2),
                Item.struct(Tag.KEY_VALUE, [Item.bytes(Tag.KEY_MATERIAL, b"s" * 16)])])])))
        self.assertTrue(created.ok, created.message)
        uid = created.payload.get(Tag.UNIQUE_IDENTIFIER)
        lease = call(processor, Operation.OBTAIN_LEASE, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)))
        self.assertTrue(lease.ok, lease.message)
        self.assertEqual(lease.payload.get(Tag.LEASE_TIME), 60)

    def test_connection_limits_from_config(self) -> None:
        """message_timeout and the connection caps reach the factory's limits."""
        config = self.config(message_timeout=9, max_connections=50, max_connections_per_client=5)
        service = KMIPService(config, reactor=MemoryReactorClock(), store=MemoryObjectStore(), tls=False)
        limits = service.factory.limits
        self.assertEqual((limits.message_timeout, limits.max_connections, limits.max_connections_per_client),
                         (9.0, 50, 5))

    def test_reidentify_only_with_slugs(self) -> None:
        """Connections re-resolve their caller after slugs_cache_ttl only when a SLUGS block is enabled."""
        from kmipd.config import SlugsConfig

        url = "http://127.0.0.1:1/slugs/"
        cases = [((), None), ((SlugsConfig("auth:slugs", False, url),), None),
                 ((SlugsConfig("auth:slugs", True, url),), 12.0)]
        for slugs, expected in cases:
            config = self.config(slugs=slugs, slugs_cache_ttl=12)
            service = KMIPService(config, reactor=MemoryReactorClock(), store=MemoryObjectStore(), tls=False,
                                  http_client=object())
            self.assertEqual(service.factory.reidentify_after, expected, slugs)


class IdentifyTests(ServiceTestMixin, TestCase):
    """KMIPService.identify maps certificates to callers."""

    def test_no_certificate_with_tls(self) -> None:
        """Under TLS a connection without a client certificate is refused."""
        service = KMIPService(self.config(), reactor=MemoryReactorClock(), store=MemoryObjectStore())
        self.failureResultOf(service.identify(None), IdentityError)

    def test_dev_client_certificate(self) -> None:
        """The dev client certificate's Common Name becomes the caller identity (no groups)."""
        from cryptography import x509

        service = KMIPService(self.config(), reactor=MemoryReactorClock(), store=MemoryObjectStore())
        with open(os.path.join(service.config.data_dir, "pki", "client.pem"), "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        caller = self.successResultOf(service.identify(cert))
        self.assertEqual((caller.identity, caller.groups), ("kmipd-client", None))

    def test_plain_without_certificate(self) -> None:
        """Without TLS the caller is anonymous."""
        service = KMIPService(self.config(), reactor=MemoryReactorClock(), store=MemoryObjectStore(), tls=False)
        self.assertIsNone(self.successResultOf(service.identify(None)).identity)


class PerformanceDefaultsTests(ServiceTestMixin, TestCase):
    """Per-backend operation pool policy and TLS session resumption."""

    def test_scheduling_per_store(self) -> None:
        """Stores that serialise writers (SQLite, memory) get group commit; others a job per connection."""
        from kmipd.store.sql import SQLObjectStore

        config = self.config()
        os.makedirs(config.data_dir)
        store = SQLObjectStore("sqlite:///" + os.path.join(config.data_dir, "s.sqlite"), b"k" * 32)
        self.addCleanup(store.close)
        self.assertTrue(store.serialises_writers)
        self.assertEqual(Scheduling.for_store(store, 8), Scheduling(group_commit=True, store_jobs=2))
        self.assertEqual(Scheduling.for_store(MemoryObjectStore(), 8), Scheduling(group_commit=True, store_jobs=2))

        class Concurrent:
            serialises_writers = False

        self.assertEqual(Scheduling.for_store(Concurrent(), 8), Scheduling(group_commit=False, store_jobs=8))
        self.assertEqual(Scheduling.for_store(object(), 3), Scheduling(group_commit=False, store_jobs=3))
        service = KMIPService(config, reactor=MemoryReactorClock(), store=Concurrent(), tls=False)
        self.assertEqual(service.dispatcher.scheduling, Scheduling(group_commit=False, store_jobs=8))
        self.assertEqual(service.pool.size, config.thread_pool_size + DIRECT_THREADS)

    @defer.inlineCallbacks
    def test_tls_session_resumed(self):  # type: ignore[no-untyped-def]
        """A client reconnecting with its previous TLS session resumes it and is still identified by its certificate."""
        import ssl

        from twisted.internet.threads import deferToThread

        from kmipd.spec import Operation, QueryFunction, ResultStatus, Tag
        from kmipd.testing import batch_item, payload, request, results
        from kmipd.ttlv import Item, decode, encode

        service = KMIPService(self.config(), store=MemoryObjectStore())
        service.startService()
        self.addCleanup(service.stopService)
        port = service.ports[0].getHost().port
        pki = os.path.join(service.config.data_dir, "pki")
        query = encode(request(batch_item(Operation.QUERY, payload(
            Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS)))))

        def client() -> list[tuple[bool, int]]:
            ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))
            ctx.load_cert_chain(os.path.join(pki, "client.pem"), os.path.join(pki, "client.key"))
            ctx.check_hostname = False
            session, seen = None, []
            for _ in range(2):
                with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                        ctx.wrap_socket(raw, session=session) as sock:
                    sock.sendall(query)
                    data = b""
                    while len(data) < 8 or len(data) < 8 + int.from_bytes(data[4:8], "big"):
                        chunk = sock.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    seen.append((sock.session_reused, results(decode(data))[0].status))
                    session = sock.session
            return seen

        seen = yield deferToThread(client)
        self.assertEqual(seen, [(False, ResultStatus.SUCCESS), (True, ResultStatus.SUCCESS)])


del reactor  # only imported to make sure the default reactor is installed for the live tests
