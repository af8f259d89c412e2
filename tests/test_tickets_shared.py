"""Tickets shared by several kmipd services on one database (L{kmipd.store.tickets}): Login on one
node, the ticket used on another; Request Count, Usage Limits and Logout seen by every node, never
overspent by concurrent requests; tickets kept as digests, expired ones refused and deleted.

SQLite always runs; PostgreSQL and MariaDB when C{KMIPD_TEST_POSTGRES_URL} / C{KMIPD_TEST_MYSQL_URL}
are set (as in tests/test_multinode.py).
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

import sqlalchemy as sa
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from kmipd.auth.tickets import Right, TicketBook
from kmipd.config import load_config
from kmipd.dispatch import Caller
from kmipd.errors import AuthenticationNotSuccessful, StoreUnavailable
from kmipd.service import KMIPService
from kmipd.spec import BatchErrorContinuationOption, Operation, ResultReason, Tag
from kmipd.store.node_state import SQLReplayGuard
from kmipd.store.tickets import MAX_OWNER, SQLTickets, ticket_limits_table, tickets_table
from kmipd.testing import FakeClock, batch_item, payload, request, results
from kmipd.ttlv import Item, decode, encode

from .operations.test_create import aes_attrs, template
from .operations.test_session import ticket_auth
from .store.test_contract import _mysql_url, _postgres_url
from .test_tickets import limits

V21 = (2, 1)


def _send(node: KMIPService, items: list[Item], auth: Item | None = None, caller: str = "alice",
          header: list[Item] | None = None) -> list[Any]:
    extra = ([auth] if auth is not None else []) + list(header or [])
    reply = node.dispatcher.processor.process(encode(request(*items, version=V21, header_extra=extra)),
                                              Caller(caller))
    return results(decode(reply.data))


def _create_item() -> Item:
    return batch_item(Operation.CREATE, payload(Item.enum(Tag.OBJECT_TYPE, 2), template(V21, aes_attrs())))


class _SharedTicketsMixin:
    """Two services on the URL returned by C{make_url}."""

    def make_url(self) -> str:
        raise NotImplementedError

    def setUp(self) -> None:
        url = self.make_url()
        data_dir = self.mktemp()
        os.makedirs(data_dir)
        key_path = os.path.join(data_dir, "master.key")
        self.nodes = []
        for _ in range(2):
            config = load_config(None, {"data_dir": data_dir, "database_url": url, "master_key_path": key_path,
                                        "listen": ("tcp:0:interface=127.0.0.1",)})
            service = KMIPService(config, tls=False)
            self.addCleanup(service.store.close)
            self.nodes.append(service)

    def login(self, node: KMIPService, *fields: Item, operation: int = Operation.LOGIN,
              caller: str = "alice") -> tuple[Item, bytes]:
        (r,) = _send(node, [batch_item(operation, payload(*fields))], caller=caller)
        self.assertTrue(r.ok, r.message)
        ticket = r.payload.find(Tag.TICKET)
        return ticket_auth(ticket), ticket.get(Tag.TICKET_VALUE)

    def ping(self, node: KMIPService, auth: Item, caller: str = "alice") -> Any:
        return _send(node, [batch_item(Operation.PING, payload())], auth, caller)[0]

    def test_backend_is_the_database(self) -> None:
        """Each node's ticket book is on its store's engine."""
        for node in self.nodes:
            backend = node.dispatcher.processor.node.tickets.backend
            self.assertIsInstance(backend, SQLTickets)
            self.assertIs(backend.engine, node.store.engine)

    def test_login_on_one_node_used_on_the_other(self) -> None:
        """A Login ticket from node 0 authenticates its owner on node 1, and nobody else."""
        a, b = self.nodes
        auth, _ = self.login(a)
        self.assertTrue(self.ping(b, auth).ok)
        self.assertTrue(self.ping(a, auth).ok)
        self.assertEqual(self.ping(b, auth, caller="bob").reason,
                         ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)

    def test_logout_on_the_other_node(self) -> None:
        """Logout on node 1 ends the ticket node 0 issued, for both; a second Logout is Invalid Ticket."""
        a, b = self.nodes
        auth, value = self.login(a)
        ticket = Item.struct(Tag.TICKET, [Item.enum(Tag.TICKET_TYPE, 1), Item.bytes(Tag.TICKET_VALUE, value)])
        (other,) = _send(b, [batch_item(Operation.LOGOUT, payload(ticket))], caller="bob")
        self.assertEqual(other.reason, ResultReason.INVALID_TICKET)
        (done,) = _send(b, [batch_item(Operation.LOGOUT, payload(ticket))])
        self.assertTrue(done.ok, done.message)
        for node in (a, b):
            self.assertEqual(self.ping(node, auth).reason,
                             ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
        (again,) = _send(a, [batch_item(Operation.LOGOUT, payload(ticket))])
        self.assertEqual(again.reason, ResultReason.INVALID_TICKET)

    def test_delegated_ticket_across_nodes(self) -> None:
        """A Delegated Login ticket's Rights and their Usage Limits hold on every node."""
        a, b = self.nodes
        (created,) = _send(a, [_create_item()])
        uid = created.payload.get(Tag.UNIQUE_IDENTIFIER)
        right = Item.struct(Tag.RIGHT, [limits(2), Item.struct(Tag.OPERATIONS, [
            Item.enum(Tag.OPERATION, Operation.GET)])])
        auth, _ = self.login(a, Item.struct(Tag.RIGHTS, [right]), operation=Operation.DELEGATED_LOGIN)

        def get(node: KMIPService) -> Any:
            return _send(node, [batch_item(Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)))],
                         auth, caller="bob")[0]

        self.assertTrue(get(b).ok)
        self.assertTrue(get(a).ok)
        self.assertEqual(get(b).reason, ResultReason.USAGE_LIMIT_EXCEEDED)
        (destroy,) = _send(b, [batch_item(Operation.DESTROY, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)))],
                           auth, caller="bob")
        self.assertEqual(destroy.reason, ResultReason.PERMISSION_DENIED)

    def _parallel(self, jobs: list[Any]) -> None:
        errors: list[BaseException] = []

        def run(job: Any) -> None:
            try:
                job()
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])

    def test_request_count_shared_and_not_overspent(self) -> None:
        """Request Count 6, 16 messages at once through both nodes: exactly 6 succeed, the rest are
        Usage Limit Exceeded."""
        auth, _ = self.login(self.nodes[0], Item.int(Tag.REQUEST_COUNT, 6))
        reasons: list[Any] = []
        lock = threading.Lock()

        def job(node: KMIPService) -> Any:
            def run() -> None:
                for _ in range(4):
                    r = self.ping(node, auth)
                    with lock:
                        reasons.append(r.reason)
            return run

        self._parallel([job(n) for n in self.nodes * 2])
        self.assertEqual(reasons.count(None), 6)
        self.assertEqual(reasons.count(ResultReason.USAGE_LIMIT_EXCEEDED), 10)

    def test_usage_limits_shared_and_not_overspent(self) -> None:
        """Usage Limits 5, Creates (store transactions) at once through both nodes: exactly 5 run."""
        auth, _ = self.login(self.nodes[1], limits(5))
        reasons: list[Any] = []
        lock = threading.Lock()

        def job(node: KMIPService) -> Any:
            def run() -> None:
                for _ in range(3):
                    (r,) = _send(node, [_create_item()], auth)
                    with lock:
                        reasons.append(r.reason)
            return run

        self._parallel([job(n) for n in self.nodes * 2])
        self.assertEqual(reasons.count(None), 5, reasons)
        self.assertEqual(reasons.count(ResultReason.USAGE_LIMIT_EXCEEDED), 7)

    def test_store_free_operations_counted(self) -> None:
        """Operations that run without a store transaction (Ping, Query) count too, in their own."""
        a, b = self.nodes
        auth, _ = self.login(a, limits(2))
        self.assertTrue(self.ping(b, auth).ok)
        self.assertTrue(self.ping(a, auth).ok)
        self.assertEqual(self.ping(b, auth).reason, ResultReason.USAGE_LIMIT_EXCEEDED)

    def test_undone_operations_give_their_units_back(self) -> None:
        """Uses are counted in the request's transaction: a batch undone (Undo) uses nothing."""
        a, b = self.nodes
        auth, _ = self.login(a, limits(2))
        undo = [Item.enum(Tag.BATCH_ERROR_CONTINUATION_OPTION, BatchErrorContinuationOption.UNDO)]
        missing = batch_item(Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, "no-such-object")))
        out = _send(b, [_create_item(), missing], auth, header=undo)
        self.assertFalse(any(r.ok for r in out))
        both = _send(a, [_create_item(), _create_item()], auth)
        self.assertEqual([r.ok for r in both], [True, True])
        self.assertEqual(_send(b, [_create_item()], auth)[0].reason,
                         ResultReason.USAGE_LIMIT_EXCEEDED)

    def test_stored_as_digests(self) -> None:
        """The database holds the SHA-256 of the ticket value, never the value."""
        _, value = self.login(self.nodes[0], Item.int(Tag.REQUEST_COUNT, 3))
        with self.nodes[0].store.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(sa.select(tickets_table))]
            counters = [tuple(r) for r in conn.execute(sa.select(ticket_limits_table))]
        self.assertEqual([r[0] for r in rows], [hashlib.sha256(value).hexdigest()])
        text = repr(rows + counters)
        self.assertNotIn(value.hex(), text)
        self.assertNotIn(repr(value), text)

    def test_per_owner_cap(self) -> None:
        """Beyond the cap, a Login forgets that identity's oldest tickets, never another's."""
        clock = FakeClock()
        books = [TicketBook(clock.seconds, SQLTickets(n.store, max_per_owner=3)) for n in self.nodes]
        bob = books[0].issue("bob", None, 100, None)
        alice = []
        for i in range(5):
            clock.advance(1)
            alice.append(books[i % 2].issue("alice", None, 100, None))
        for old in alice[:2]:
            self.assertRaises(AuthenticationNotSuccessful, books[1].use, old.value, "alice")
        for live in alice[2:]:
            self.assertEqual(books[0].use(live.value, "alice").identity, "alice")
        self.assertEqual(books[1].use(bob.value, "bob").identity, "bob")

    def test_expiry_and_purge(self) -> None:
        """An expired ticket is refused on every node, and deleted by the next issue after the purge
        interval."""
        engine = self.nodes[0].store.engine
        clock = FakeClock()
        books = [TicketBook(clock.seconds, SQLTickets(n.store, purge_interval=60)) for n in self.nodes]
        old = books[0].issue("alice", ("g",), 10, 2, (Right(uses=1),), 4)
        self.assertEqual(books[1].use(old.value, "bob").groups, ("g",))  # delegated: any holder
        clock.advance(11)
        self.assertRaises(AuthenticationNotSuccessful, books[1].use, old.value, "alice")
        books[0].issue("alice", None, 100, None)  # within its purge interval: deletes nothing
        clock.advance(61)
        books[1].issue("alice", None, 100, None)  # this node's first issue: purges
        with engine.connect() as conn:
            left = conn.execute(sa.select(sa.func.count()).select_from(tickets_table)).scalar_one()
            counters = conn.execute(sa.select(sa.func.count()).select_from(ticket_limits_table)).scalar_one()
        self.assertEqual((left, counters), (2, 0))


    def test_long_identity(self) -> None:
        """An identity of 1024 characters logs in and uses its ticket on the other node; a longer one
        is refused with Permission Denied (the database records at most 1024), not General Failure."""
        longest = "c" * MAX_OWNER
        auth, _ = self.login(self.nodes[0], caller=longest)
        self.assertTrue(self.ping(self.nodes[1], auth, caller=longest).ok)
        for operation in (Operation.LOGIN, Operation.DELEGATED_LOGIN):
            body = payload() if operation == Operation.LOGIN else payload(Item.struct(Tag.RIGHTS, [
                Item.struct(Tag.RIGHT, [])]))
            (r,) = _send(self.nodes[0], [batch_item(operation, body)], caller=longest + "é")
            self.assertEqual(r.reason, ResultReason.PERMISSION_DENIED, r.message)
            self.assertIn("longer than 1024 characters", r.message)

    def test_breaker_open_fails_fast(self) -> None:
        """With the store's circuit breaker open (the database known unreachable), a request with a
        ticket, and one with a Hashed Password credential, get the store's usual answer at once
        (General Failure, retry) without opening a connection; three requests log one line."""
        auth, _ = self.login(self.nodes[0])
        node = self.nodes[1]
        breaker = node.store.breaker
        breaker._clock = lambda: 1000.0  # no probe is admitted while the test runs
        breaker.failure("connection refused")
        node.dispatcher.processor.clock = FakeClock(2_000_000_000.0)  # storage log lines: one a second
        events: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        checkouts: list[object] = []
        sa.event.listen(node.store.engine, "checkout", lambda *a: checkouts.append(a))
        for _ in range(3):
            r = self.ping(node, auth)
            self.assertEqual(r.reason, ResultReason.GENERAL_FAILURE)
            self.assertEqual(r.message, "storage temporarily unavailable; retry")
        self.assertEqual(checkouts, [])
        self.assertEqual(len([e for e in events if "storage refused" in e.get("log_format", "")]), 1)
        replay = SQLReplayGuard(node.store)
        self.assertRaises(StoreUnavailable, replay.advance, "alice", 1)
        self.assertRaises(StoreUnavailable, node.dispatcher.processor.node.tickets.backend.find, b"x" * 32, 0.0)
        self.assertEqual(checkouts, [])


class SQLiteSharedTicketTests(_SharedTicketsMixin, SynchronousTestCase):
    """Two services on one SQLite file."""

    def make_url(self) -> str:
        path = self.mktemp()
        os.makedirs(path)
        return "sqlite:///" + os.path.join(path, "shared.sqlite")


class PostgreSQLSharedTicketTests(_SharedTicketsMixin, SynchronousTestCase):
    """Two services on one PostgreSQL database."""

    if not os.environ.get("KMIPD_TEST_POSTGRES_URL"):
        skip = "set KMIPD_TEST_POSTGRES_URL to run"

    def make_url(self) -> str:
        return _postgres_url(self)


class MariaDBSharedTicketTests(_SharedTicketsMixin, SynchronousTestCase):
    """Two services on one MariaDB database."""

    if not os.environ.get("KMIPD_TEST_MYSQL_URL"):
        skip = "set KMIPD_TEST_MYSQL_URL to run"

    def make_url(self) -> str:
        return _mysql_url(self)


class TicketStoreFailureTests(SynchronousTestCase):
    """A ticket store that fails answers the message with an error, never a traceback."""

    def test_broken_ticket_table(self) -> None:
        """With the ticket tables gone, a request presenting a ticket gets General Failure."""
        from kmipd.store import SQLObjectStore
        from kmipd.testing import make_processor

        directory = self.mktemp()
        os.makedirs(directory)
        store = SQLObjectStore("sqlite:///" + os.path.join(directory, "t.sqlite"), b"k" * 32)
        self.addCleanup(store.close)
        processor = make_processor(store)
        message = request(batch_item(Operation.LOGIN, payload()), version=V21)
        (login,) = results(decode(processor.process(encode(message), Caller("alice")).data))
        self.assertTrue(login.ok, login.message)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE kmipd_ticket_limits")
            conn.exec_driver_sql("DROP TABLE kmipd_tickets")
        ping = request(batch_item(Operation.PING, payload()), version=V21,
                       header_extra=[ticket_auth(login.payload.find(Tag.TICKET))])
        (r,) = results(decode(processor.process(encode(ping), Caller("alice")).data))
        self.assertEqual(r.reason, ResultReason.GENERAL_FAILURE)
        self.assertIn("retry", r.message)
        self.assertNotIn("kmipd_tickets", r.message)  # the SQL detail is only logged
