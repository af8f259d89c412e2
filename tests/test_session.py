"""Tests for L{kmipd.session} and L{kmipd.auth.identify}: what both ports share about a connection."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from kmipd.auth.chain import AuthChain, AuthenticationFailed
from kmipd.auth.identify import Caller, Identifier, IdentityError
from kmipd.limits import Limits
from kmipd.session import ConnectionCounter, ConnectionLimitExceeded, IdleTimer, Session


class Conn:
    """A connection stand-in: a transport that records aborts."""

    def __init__(self) -> None:
        self.transport = StringTransport()


def named(certificate: Any) -> Deferred[Caller]:
    return succeed(Caller(certificate))


class SessionMixin:
    def setUp(self) -> None:
        self.clock = Clock()

    def counter(self, **limits: Any) -> ConnectionCounter:
        self.shared = ConnectionCounter(Limits(**limits))
        return self.shared

    def session(self, address: str = "192.0.2.1", identify: Any = named,
                reidentify_after: float | None = None) -> tuple[Session, Conn]:
        conn = Conn()
        return Session(self.shared, conn, address, "ttlv", identify, reidentify_after, self.clock), conn


class HandshakeTests(SessionMixin, SynchronousTestCase):
    """Before its handshake a TLS connection is pending, limited per address and in all, and timed."""

    def test_counted_only_after_handshake(self) -> None:
        """Pending connections do not count against max_connections; a finished handshake does."""
        counter = self.counter(max_connections=2)
        sessions = [self.session()[0] for _ in range(5)]
        for s in sessions:
            self.assertTrue(s.open(tls=True))
        self.assertEqual((counter.open, counter.pending), (0, 5))
        self.assertTrue(sessions[0].handshake_done())
        self.assertTrue(sessions[1].handshake_done())
        self.assertFalse(sessions[2].handshake_done(), "over max_connections")
        self.assertEqual((counter.open, counter.pending, counter.refused), (2, 2, 1))
        self.assertEqual(counter.open_by_transport, {"ttlv": 2})
        sessions[0].lost()
        self.assertTrue(sessions[3].handshake_done())

    def test_deadline(self) -> None:
        """A handshake not finished within handshake_timeout is aborted and counted as a failure."""
        counter = self.counter(handshake_timeout=3)
        session, conn = self.session()
        session.open(tls=True)
        self.clock.advance(2.9)
        self.assertFalse(conn.transport.disconnected)
        self.clock.advance(0.1)
        self.assertTrue(conn.transport.disconnected)
        self.assertEqual((counter.pending, counter.handshake_failures), (0, 1))

    def test_finished_handshake_stops_deadline(self) -> None:
        """A finished handshake leaves no timer behind."""
        self.counter(handshake_timeout=3)
        session, conn = self.session()
        session.open(tls=True)
        session.handshake_done()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(10)
        self.assertFalse(conn.transport.disconnected)

    def test_per_address_limit(self) -> None:
        """Past max_handshakes_per_address pending from one address, more from it are refused; others are not."""
        counter = self.counter(max_handshakes_per_address=2)
        first, _ = self.session("198.51.100.1")
        self.assertTrue(first.open(tls=True))
        self.assertTrue(self.session("198.51.100.1")[0].open(tls=True))
        self.assertFalse(self.session("198.51.100.1")[0].open(tls=True))
        self.assertTrue(self.session("198.51.100.2")[0].open(tls=True))
        first.handshake_done()
        self.assertTrue(self.session("198.51.100.1")[0].open(tls=True), "a finished handshake frees its slot")
        self.assertEqual(counter.handshake_failures, 1)

    def test_global_pending_drops_oldest(self) -> None:
        """Past max_pending_handshakes in all, the oldest pending connection is dropped for the new one."""
        counter = self.counter(max_pending_handshakes=3)
        opened = [self.session(f"203.0.113.{i}") for i in range(3)]
        for s, _ in opened:
            s.open(tls=True)
        newest, conn = self.session("192.0.2.99")
        self.assertTrue(newest.open(tls=True))
        self.assertTrue(opened[0][1].transport.disconnected)
        self.assertFalse(any(c.transport.disconnected for _, c in opened[1:]))
        self.assertFalse(conn.transport.disconnected)
        self.assertEqual(counter.pending, 3)
        opened[0][0].lost()  # its connectionLost follows the abort: nothing counted twice
        self.assertEqual(counter.pending, 3)

    def test_gone_before_handshake_counts_as_failure(self) -> None:
        """A connection lost while pending (refused certificate, client gone) is a handshake failure, once."""
        counter = self.counter()
        session, _ = self.session()
        session.open(tls=True)
        session.lost()
        session.lost()
        self.assertEqual((counter.pending, counter.handshake_failures), (0, 1))
        done, _ = self.session()
        done.open(tls=True)
        done.handshake_done()
        done.lost()
        self.assertEqual(counter.handshake_failures, 1)

    def test_plain_admitted_at_once(self) -> None:
        """Without TLS a connection counts at once (there is no handshake to wait for)."""
        counter = self.counter(max_connections=1)
        self.assertTrue(self.session()[0].open(tls=False))
        self.assertFalse(self.session()[0].open(tls=False))
        self.assertEqual(counter.open, 1)


class IdentityTests(SessionMixin, SynchronousTestCase):
    """Identification, the per-client cap and re-identification."""

    def test_per_client_cap(self) -> None:
        """A connection over max_connections_per_client fails with ConnectionLimitExceeded; lost ones free slots."""
        counter = self.counter(max_connections_per_client=1)
        first, _ = self.session()
        self.assertEqual(self.successResultOf(first.resolve("alice")), Caller("alice"))
        second, _ = self.session()
        self.failureResultOf(second.resolve("alice"), ConnectionLimitExceeded)
        first.lost()
        self.assertEqual(counter.clients, {})
        self.successResultOf(second.resolve("alice"))
        self.assertEqual(counter.clients, {"alice": 1})

    def test_identity_change_moves_the_count(self) -> None:
        """Re-identified as someone else, the connection counts for the new identity only."""
        counter = self.counter()
        session, _ = self.session()
        self.successResultOf(session.resolve("alice"))
        self.successResultOf(session.resolve("bob"))
        self.assertEqual(counter.clients, {"bob": 1})

    def test_lost_during_lookup(self) -> None:
        """An identity that arrives after the connection is gone is not counted."""
        counter = self.counter()
        pending: Deferred[Caller] = Deferred()
        session, _ = self.session(identify=lambda cert: pending)
        d = session.resolve("alice")
        session.lost()
        pending.callback(Caller("alice"))
        self.failureResultOf(d, ConnectionLimitExceeded)
        self.assertEqual(counter.clients, {})

    def test_current_reidentifies_when_stale(self) -> None:
        """current() reuses the caller within reidentify_after and resolves again after it."""
        self.counter()
        seen: list[Any] = []
        session, _ = self.session(identify=lambda cert: seen.append(cert) or succeed(Caller("alice")),
                                  reidentify_after=30)
        self.successResultOf(session.current("C"))
        self.clock.advance(29)
        self.successResultOf(session.current("C"))
        self.assertEqual(len(seen), 1)
        self.clock.advance(1)
        self.successResultOf(session.current("C"))
        self.assertEqual(len(seen), 2)


class BudgetTests(SessionMixin, SynchronousTestCase):
    """Global budgets for partial requests and unsent output."""

    def test_partial_budget_drops_largest(self) -> None:
        """Over max_partial_bytes the connection holding the largest partial request is dropped, once."""
        counter = self.counter(max_partial_bytes=1000)
        (a, ca), (b, cb), (c, cc) = self.session(), self.session(), self.session()
        a.partial(300)
        b.partial(500)
        c.partial(150)
        self.assertEqual(counter.partial_bytes, 950)
        a.partial(400)  # 1050: b (500) is the largest
        self.assertTrue(cb.transport.disconnected)
        self.assertFalse(ca.transport.disconnected or cc.transport.disconnected)
        self.assertEqual((counter.partial_bytes, counter.dropped_partial), (550, 1))
        b.partial(700)  # a dropped connection no longer counts
        b.lost()
        self.assertEqual(counter.partial_bytes, 550)
        a.partial(0)
        self.assertEqual(counter.partial_bytes, 150)

    def test_output_budget_holds_and_wakes(self) -> None:
        """Bytes written while paused count; over max_output_bytes sessions wait until one drains."""
        counter = self.counter(max_output_bytes=1000)
        (a, _), (b, _) = self.session(), self.session()
        a.wrote(5000, paused=False)
        self.assertEqual(counter.output_bytes, 0, "taken by the transport: not held")
        a.wrote(1200, paused=True)
        self.assertEqual(counter.output_bytes, 1200)
        woken: list[str] = []
        b.resume = lambda: woken.append("b")
        self.assertFalse(b.may_dispatch())
        self.assertEqual(woken, [])
        a.drained()
        self.assertEqual((counter.output_bytes, woken), (0, ["b"]))
        self.assertTrue(b.may_dispatch())

    def test_lost_releases_output(self) -> None:
        """A connection closed with unsent output gives its share of the budget back."""
        counter = self.counter(max_output_bytes=10)
        a, _ = self.session()
        a.wrote(100, paused=True)
        a.lost()
        self.assertEqual(counter.output_bytes, 0)


class IdentifierTests(SynchronousTestCase):
    """L{Identifier}: certificate -> Caller through the authentication chain."""

    def test_no_certificate(self) -> None:
        """Over TLS a missing certificate is refused; without TLS it is an anonymous caller."""
        self.failureResultOf(Identifier(AuthChain())(None), IdentityError)
        self.assertEqual(self.successResultOf(Identifier(AuthChain(), require_certificate=False)(None)),
                         Caller(None))

    def test_chain_supplies_groups(self) -> None:
        """The chain's answer (groups) makes the caller; its refusal fails the identification."""
        from cryptography.x509.oid import ExtendedKeyUsageOID

        from tests.test_tls import _make_cert

        cert = _make_cert("alice", eku=[ExtendedKeyUsageOID.CLIENT_AUTH])

        class Chain:
            def __init__(self, result: Any) -> None:
                self.result = result

            def authenticate(self, user: str) -> Deferred[Any]:
                return self.result(user)

        from kmipd.auth.chain import Identity

        ok = Identifier(Chain(lambda user: succeed(Identity(user, ("G",)))))  # type: ignore[arg-type]
        self.assertEqual(self.successResultOf(ok(cert)), Caller("alice", ("G",)))
        no = Identifier(Chain(lambda user: fail(AuthenticationFailed("auth", user, "unknown user"))))  # type: ignore[arg-type]
        self.failureResultOf(no(cert), AuthenticationFailed)


class IdleTimerTests(SynchronousTestCase):
    """One delayed call closes every connection exactly idle_timeout after its last activity."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.timeout = 30.0
        self.expired: list[tuple[str, float]] = []
        self.idle = IdleTimer(self.clock, lambda: self.timeout,
                              lambda conn: self.expired.append((conn, self.clock.seconds())))

    def test_each_closed_on_time(self) -> None:
        """Connections watched at different times, some active later, each expire exactly on time."""
        self.idle.touch("a")
        self.clock.advance(5)
        self.idle.touch("b")
        self.idle.touch("c")
        self.clock.advance(10)
        self.idle.refresh("a")  # t=15: a's deadline moves to 45
        for _ in range(60):
            self.clock.advance(1)
        self.assertEqual(self.expired, [("b", 35.0), ("c", 35.0), ("a", 45.0)])
        self.assertEqual((len(self.idle), self.clock.getDelayedCalls()), (0, []))

    def test_one_delayed_call(self) -> None:
        """However many connections are watched, the clock holds one delayed call."""
        for i in range(1000):
            self.idle.touch(i)
            self.clock.advance(0.01)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(30)
        self.assertEqual(len(self.expired), 1000)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_many_due_closed_in_batches(self) -> None:
        """Connections due at once are closed BATCH per reactor iteration (other delayed calls run in
        between), all at their deadline."""
        order: list[object] = []

        def expired(conn: object) -> None:
            if not order:  # another call due now, scheduled while the first batch runs
                self.clock.callLater(0, order.append, "other")
            order.append(conn)

        idle = IdleTimer(self.clock, lambda: 30.0, expired)
        for i in range(IdleTimer.BATCH * 2 + 1):
            idle.touch(i)
        self.clock.advance(30)
        self.assertEqual(order.index("other"), IdleTimer.BATCH)
        self.assertEqual([c for c in order if c != "other"], list(range(IdleTimer.BATCH * 2 + 1)))
        self.assertEqual((self.clock.seconds(), len(idle), self.clock.getDelayedCalls()), (30.0, 0, []))

    def test_refresh_unwatched_is_ignored(self) -> None:
        """Activity of a connection not (or no longer) watched does not start watching it."""
        self.idle.refresh("a")
        self.assertNotIn("a", self.idle)
        self.idle.touch("a")
        self.idle.forget("a")
        self.idle.refresh("a")
        self.clock.advance(100)
        self.assertEqual(self.expired, [])

    def test_forget_last_cancels(self) -> None:
        """Forgetting the last watched connection leaves no delayed call behind."""
        self.idle.touch("a")
        self.idle.touch("b")
        self.idle.forget("a")
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.idle.forget("b")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.idle.touch("c")
        self.clock.advance(30)
        self.assertEqual(self.expired, [("c", 30.0)])

    def test_timeout_read_when_firing(self) -> None:
        """A changed timeout applies to the connections already watched."""
        self.idle.touch("a")
        self.timeout = 60.0
        self.clock.advance(30)
        self.assertEqual(self.expired, [])
        self.clock.advance(30)
        self.assertEqual(self.expired, [("a", 60.0)])
