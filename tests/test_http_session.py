"""The HTTPS port's session: handshake deadline and counting, partial-request budget, ALPN choice."""

from __future__ import annotations

from typing import Any

from OpenSSL import SSL
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from kmipd.auth.identify import Caller
from kmipd.http import build_site
from kmipd.limits import Limits
from kmipd.protocol import KMIPServerFactory
from kmipd.testing import make_dispatcher
from kmipd.tls import select_alpn
from kmipd.ttlv import encode
from tests.test_http import DISCOVER, CertTransport, Response, http_request


def identify(certificate: Any) -> Deferred[Caller]:
    return succeed(Caller(certificate))


class TLSSiteTests(SynchronousTestCase):
    """A site wrapped in TLS counts a connection only once its handshake is done."""

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.limits = Limits(max_connections=1, handshake_timeout=4, max_partial_bytes=1000)
        self.site = build_site(make_dispatcher(limits=self.limits), identify, limits=self.limits,
                               reactor=self.reactor, tls=True)
        self.counter = self.site.connection_counter

    def connect(self, certificate: Any = "alice", port: int = 40000) -> tuple[Any, CertTransport]:
        proto = self.site.buildProtocol(IPv4Address("TCP", "192.0.2.7", port))
        transport = CertTransport(certificate)
        proto.makeConnection(transport)
        return proto, transport

    def test_pending_until_handshake(self) -> None:
        """Before its handshake a connection is pending, not open; after it, it counts against max_connections."""
        first, _ = self.connect()
        second, over = self.connect(port=40001)
        self.assertEqual((self.counter.open, self.counter.pending), (0, 2))
        first.handshakeCompleted()
        self.assertEqual((self.counter.open, self.counter.open_by_transport), (1, {"https": 1}))
        second.handshakeCompleted()
        self.assertTrue(over.disconnected, "over max_connections once identified")
        first.dataReceived(http_request(encode(DISCOVER)))
        self.assertEqual(Response(first.transport.value()).status, 200)

    def test_handshake_deadline(self) -> None:
        """A connection that never finishes its handshake is aborted at handshake_timeout."""
        _, transport = self.connect()
        self.reactor.advance(3.9)
        self.assertFalse(transport.disconnected)
        self.reactor.advance(0.1)
        self.assertTrue(transport.disconnected)
        self.assertEqual((self.counter.pending, self.counter.handshake_failures), (0, 1))

    def test_partial_request_budget(self) -> None:
        """Bytes of unfinished HTTPS requests count against max_partial_bytes; the largest holder is dropped."""
        a, ta = self.connect()
        b, tb = self.connect(port=40001)
        a.handshakeCompleted()
        raw = http_request(b"\0" * 900)
        a.dataReceived(raw[:600])
        b.dataReceived(raw[:300])
        self.assertEqual(self.counter.partial_bytes, 900)
        b.dataReceived(raw[300:500])  # 1100 > 1000: a (600) holds the most
        self.assertTrue(ta.disconnected)
        self.assertFalse(tb.disconnected)
        self.assertEqual(self.counter.partial_bytes, 500)
        a.dataReceived(raw[600:])
        self.assertEqual(ta.value(), b"", "a dropped connection is not served")


class OutputBudgetTests(SynchronousTestCase):
    """While the server's output budget is spent, an HTTPS request waits; it runs once output drains."""

    def test_request_waits_for_budget(self) -> None:
        limits = Limits(max_output_bytes=1000)
        reactor = MemoryReactorClock()
        site = build_site(make_dispatcher(limits=limits), identify, limits=limits, reactor=reactor)
        counter = site.connection_counter
        stuck = site.buildProtocol(IPv4Address("TCP", "192.0.2.8", 40000))
        stuck.makeConnection(CertTransport("bob"))
        stuck.session.wrote(5000, paused=True)  # a client that does not read holds 5000 bytes
        proto = site.buildProtocol(IPv4Address("TCP", "192.0.2.7", 40000))
        transport = CertTransport("alice")
        proto.makeConnection(transport)
        proto.dataReceived(http_request(encode(DISCOVER)))
        self.assertEqual(transport.value(), b"")
        stuck.session.drained()
        self.assertEqual(Response(transport.value()).status, 200)
        self.assertEqual(counter.output_bytes, 0)


class SharedCounterTests(SynchronousTestCase):
    """TTLV and HTTPS connections report separately in one counter."""

    def test_open_by_transport(self) -> None:
        limits = Limits()
        reactor = MemoryReactorClock()
        dispatcher = make_dispatcher(limits=limits)
        factory = KMIPServerFactory(dispatcher, limits=limits, clock=reactor, tls=False)
        site = build_site(dispatcher, identify, limits=limits, reactor=reactor, counter=factory.counter)
        ttlv = factory.buildProtocol(None)
        ttlv.makeConnection(StringTransport())
        web = site.buildProtocol(IPv4Address("TCP", "192.0.2.7", 40000))
        web.makeConnection(CertTransport("alice"))
        self.assertEqual(factory.counter.open_by_transport, {"ttlv": 1, "https": 1})
        web.connectionLost(None)
        self.assertEqual(factory.counter.open_by_transport, {"ttlv": 1})


class ALPNTests(SynchronousTestCase):
    """The HTTPS port's ALPN selection."""

    def test_http1_only(self) -> None:
        """http/1.1 is preferred, http/1.0 accepted, h2 never; no overlap means no ALPN (not a failure)."""
        self.assertEqual(select_alpn([b"h2", b"http/1.1"]), b"http/1.1")
        self.assertEqual(select_alpn([b"http/1.0"]), b"http/1.0")
        self.assertEqual(select_alpn([b"http/1.0", b"http/1.1"]), b"http/1.1")
        self.assertIs(select_alpn([b"h2"]), SSL.NO_OVERLAPPING_PROTOCOLS)
