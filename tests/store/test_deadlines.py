"""Database deadlines, the watchdog and the circuit breaker (issue 11: a sick database).

The end-to-end tests put L{ControlledProxy} between the store and a real PostgreSQL / MariaDB
(skipped when C{KMIPD_TEST_POSTGRES_URL} / C{KMIPD_TEST_MYSQL_URL} are unset) and freeze or
refuse the network path: requests needing the database fail within the configured deadline
with L{kmipd.errors.StoreUnavailable}, later ones fail at once while the database is known down,
and everything works again (nothing acknowledged lost) once the path is back.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid

import sqlalchemy as sa
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from kmipd.config import load_config
from kmipd.errors import KmipError, StoreUnavailable
from kmipd.store import ConcurrentUpdateError, DatabaseBusy, SQLObjectStore
from kmipd.store.deadlines import CircuitBreaker, DatabaseDeadlines, Watchdog, engine_options, unavailability

from .proxy import ControlledProxy
from .test_contract import MASTER_KEY, _mysql_url, _postgres_url, make_object
from .test_sql import sqlite_url

FAST = DatabaseDeadlines(connect_timeout=1.0, statement_timeout=1.0, lock_timeout=1.0, pool_timeout=2.0,
                         keepalive_idle=5.0, retry_interval=0.5)
#: psycopg, like libpq, waits at least 2 s for a connection whatever connect_timeout says.
CONNECT_FLOOR = 2.0
#: The longest a request may take when the database stops answering: the check of an idle pooled
#: connection or a new connection (connect_timeout; no second attempt once the check got no
#: answer), or a statement already sent (the statement deadline); plus slack for a loaded machine.
DEADLINE = max(FAST.connect_timeout, CONNECT_FLOOR, FAST.round_trip) + 1.0
FAIL_FAST = 0.5


class BreakerTests(SynchronousTestCase):
    """The circuit breaker on a fake clock."""

    def setUp(self) -> None:
        self.now = 100.0
        self.breaker = CircuitBreaker(2.0, url="db", clock=lambda: self.now)
        self.events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)

    def test_closed_admits(self) -> None:
        """With no failure every transaction goes ahead."""
        self.assertTrue(all(self.breaker.admit() for _ in range(5)))
        self.assertFalse(self.breaker.is_open)

    def test_open_refuses_then_one_probe(self) -> None:
        """After a failure: refuse until retry_interval, then admit exactly one probe."""
        self.breaker.failure("connection refused")
        self.assertTrue(self.breaker.is_open)
        self.assertFalse(self.breaker.admit())
        self.now += 2.0
        self.assertTrue(self.breaker.admit())  # the probe
        self.assertFalse(self.breaker.admit())  # others still fail fast while it runs
        self.breaker.success()
        self.assertFalse(self.breaker.is_open)
        self.assertTrue(self.breaker.admit())

    def test_failed_probe_reopens(self) -> None:
        """A probe that fails keeps the breaker open for another interval."""
        self.breaker.failure("down")
        self.now += 2.5
        self.assertTrue(self.breaker.admit())
        self.breaker.failure("still down")
        self.assertFalse(self.breaker.admit())
        self.now += 2.0
        self.assertTrue(self.breaker.admit())

    def test_released_probe_lets_another_try(self) -> None:
        """A probe that ended for another reason (a bad statement) does not wedge the breaker."""
        self.breaker.failure("down")
        self.now += 2.0
        self.assertTrue(self.breaker.admit())
        self.breaker.release()
        self.assertTrue(self.breaker.admit())

    def test_outage_logged_once_with_rate_limit(self) -> None:
        """An outage is one error line, a warning per interval with the refused count, one info
        line at its end: never a line (or traceback) per request."""
        self.breaker.failure("connection refused")
        for _ in range(300):
            self.breaker.admit()
            self.now += 0.01  # 3 s of refused requests
        self.breaker.success()
        levels = [e["log_level"] for e in self.events]
        self.assertEqual(levels, [LogLevel.error, LogLevel.warn, LogLevel.info])
        self.assertNotIn("log_failure", self.events[0])
        self.assertEqual(self.events[0]["reason"], "connection refused")
        self.assertGreater(self.events[2]["n"], 250)


class WatchdogTests(SynchronousTestCase):
    """The watchdog ends a blocked socket call at its deadline."""

    def test_blocked_recv_ends_at_deadline(self) -> None:
        """A recv on a peer that never answers returns within the deadline, not never."""
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        dog = Watchdog()
        self.addCleanup(dog.stop)
        start = time.monotonic()
        with dog.guard(a.fileno(), 0.2):
            data = a.recv(10)
        elapsed = time.monotonic() - start
        self.assertEqual(data, b"")
        self.assertLess(elapsed, 2.0)
        self.assertGreaterEqual(elapsed, 0.15)
        self.assertEqual(dog.fired, 1)

    def test_call_in_time_untouched(self) -> None:
        """A call that ends before its deadline leaves the socket working."""
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        dog = Watchdog()
        self.addCleanup(dog.stop)
        b.sendall(b"x")
        with dog.guard(a.fileno(), 0.1):
            self.assertEqual(a.recv(1), b"x")
        time.sleep(0.3)
        b.sendall(b"y")
        self.assertEqual(a.recv(1), b"y")
        self.assertEqual(dog.fired, 0)


class OptionsTests(SynchronousTestCase):
    """What each dialect is told."""

    def test_config_keys(self) -> None:
        """The db_* keys of server.conf reach the deadlines."""
        config = load_config(None, {"db_connect_timeout": "3", "db_statement_timeout": "7.5",
                                    "db_lock_timeout": "2", "db_pool_timeout": "4",
                                    "db_keepalive_idle": "20", "db_retry_interval": "1"})
        self.assertEqual(config.database,
                         DatabaseDeadlines(3.0, 7.5, 2.0, 4.0, 20.0, 1.0))

    def test_postgresql_keeps_url_options(self) -> None:
        """PostgreSQL: statement/lock timeouts join the URL's own C{options}; keepalives on."""
        kw = engine_options("postgresql", {"options": "-csearch_path=s1"}, FAST)
        args = kw["connect_args"]
        self.assertEqual(args["options"], "-csearch_path=s1 -c statement_timeout=1000 -c lock_timeout=1000")
        self.assertEqual((args["keepalives"], args["connect_timeout"]), (1, 1))
        self.assertEqual(kw["pool_timeout"], 2.0)

    def test_sqlite_busy_timeout(self) -> None:
        """SQLite waits for a lock at most db_lock_timeout."""
        url, _ = sqlite_url(self)
        store = SQLObjectStore(url, MASTER_KEY, deadlines=FAST)
        self.addCleanup(store.close)
        with store.engine.connect() as conn:
            self.assertEqual(conn.exec_driver_sql("PRAGMA busy_timeout").scalar(), 1000)


class PoolTimeoutTests(SynchronousTestCase):
    """A request waits for a pooled connection at most db_pool_timeout."""

    def test_pool_wait_bounded(self) -> None:
        """With every connection taken, the next transaction fails with StoreUnavailable after
        db_pool_timeout (not forever), and the database is not taken for down."""
        url, _ = sqlite_url(self)
        deadlines = DatabaseDeadlines(pool_timeout=0.3)
        store = SQLObjectStore(url, MASTER_KEY, pool_size=1, deadlines=deadlines)
        self.addCleanup(store.close)
        with store.transaction() as a, store.transaction() as b:  # pool_size + max_overflow = 2
            a.get("x")
            b.get("x")
            start = time.monotonic()
            with self.assertRaises(StoreUnavailable):
                with store.transaction() as c:
                    c.get("x")
            waited = time.monotonic() - start
        self.assertGreaterEqual(waited, 0.25)
        self.assertLess(waited, 3.0)
        self.assertFalse(store.breaker.is_open)
        with store.transaction() as tx:
            self.assertIsNone(tx.get("x"))


def _aes_create() -> object:
    """A Create payload for an AES-256 key."""
    from kmipd.spec import Tag
    from kmipd.testing import attribute, payload
    from kmipd.ttlv import Item

    return payload(Item.enum(Tag.OBJECT_TYPE, 2), Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
        attribute("Cryptographic Algorithm", Item.enum(Tag.ATTRIBUTE_VALUE, 3)),
        attribute("Cryptographic Length", Item.int(Tag.ATTRIBUTE_VALUE, 256)),
        attribute("Cryptographic Usage Mask", Item.int(Tag.ATTRIBUTE_VALUE, 12))]))


class SQLiteBusyTests(SynchronousTestCase):
    """SQLite's "database is locked" after the busy timeout is lock contention, not an outage."""

    def _locked(self) -> tuple[SQLObjectStore, sqlite3.Connection]:
        """A store with a 0.2 s lock timeout and another connection holding the write lock."""
        url, _ = sqlite_url(self)
        store = SQLObjectStore(url, MASTER_KEY, deadlines=DatabaseDeadlines(lock_timeout=0.2, retry_interval=30))
        self.addCleanup(store.close)
        other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        self.addCleanup(other.close)
        other.execute("BEGIN IMMEDIATE")  # holds the write lock
        return store, other

    def test_locked_is_busy_not_down(self) -> None:
        """A write while another connection holds the write lock waits db_lock_timeout, then fails
        as DatabaseBusy (General Failure, retry later: not a conflict to retry, which would wait
        as long again) with the circuit breaker closed, so the next request is admitted and
        succeeds once the lock is gone."""
        store, other = self._locked()
        start = time.monotonic()
        with self.assertRaises(DatabaseBusy) as raised:
            with store.transaction() as tx:
                tx.add(make_object("u-1"))
        self.assertGreaterEqual(time.monotonic() - start, 0.15)
        self.assertNotIsInstance(raised.exception, ConcurrentUpdateError)
        self.assertIsInstance(raised.exception, StoreUnavailable)
        self.assertIn("database is locked", str(raised.exception))
        self.assertFalse(store.breaker.is_open)
        other.execute("ROLLBACK")
        with store.transaction() as tx:
            tx.add(make_object("u-1"))
        with store.transaction() as tx:
            self.assertIsNotNone(tx.get("u-1"))

    def _counting(self, store: SQLObjectStore) -> list[int]:
        """Count the store's transactions from now on."""
        count = [0]
        begin = store.transaction

        def transaction(*args: object, **kwargs: object) -> object:
            count[0] += 1
            return begin(*args, **kwargs)

        store.transaction = transaction  # type: ignore[method-assign]
        return count

    def test_busy_message_answered_without_retry(self) -> None:
        """Through the processor: a Create that meets the held lock is answered General Failure
        after one wait for the lock (one transaction, not the conflict retries)."""
        from kmipd.spec import Operation, ResultReason
        from kmipd.testing import call, make_processor

        store, _other = self._locked()
        processor = make_processor(store)
        count = self._counting(store)
        result = call(processor, Operation.CREATE, _aes_create())
        self.assertEqual(result.reason, ResultReason.GENERAL_FAILURE)
        self.assertIn("database is locked", result.message or "")
        self.assertEqual(count[0], 1)
        self.assertFalse(store.breaker.is_open)

    def test_busy_group_answered_at_once(self) -> None:
        """A group commit that meets the held lock answers every message General Failure after
        one wait (it does not run the messages one by one, each waiting for the lock again)."""
        from kmipd.auth.identify import Caller
        from kmipd.spec import ResultReason
        from kmipd.testing import batch_item as item
        from kmipd.testing import make_processor, request, results
        from kmipd.ttlv import decode, encode

        store, _other = self._locked()
        processor = make_processor(store)
        count = self._counting(store)
        message = encode(request(item(0x01, _aes_create())))  # Create
        groups = processor.process_group([([message], Caller("a")), ([message, message], Caller("b"))])
        answers = [results(decode(reply.data))[0] for replies in groups for reply in replies]
        self.assertEqual([a.reason for a in answers], [ResultReason.GENERAL_FAILURE] * 3)
        self.assertEqual(count[0], 1)
        self.assertFalse(store.breaker.is_open)

    def test_classification(self) -> None:
        """unavailability() of the real sqlite3 errors: locked is not "down", a missing file is."""
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        path = os.path.join(directory, "db.sqlite")
        holder = sqlite3.connect(path, isolation_level=None)
        self.addCleanup(holder.close)
        holder.execute("CREATE TABLE t (x INTEGER)")
        holder.execute("BEGIN IMMEDIATE")
        waiter = sqlite3.connect(path, timeout=0.05, isolation_level=None)
        self.addCleanup(waiter.close)
        errors = []
        for connect, sql in ((lambda: waiter, "INSERT INTO t VALUES (1)"),
                             (lambda: sqlite3.connect(os.path.join(directory, "no", "such.db")), "SELECT 1")):
            try:
                connect().execute(sql)
            except sqlite3.Error as e:
                errors.append(sa.exc.OperationalError(sql, None, e))
        self.assertEqual([unavailability(e) for e in errors], [None, "down"])


class _SickDatabaseMixin:
    """The store behind a proxy that can refuse and freeze; subclasses give C{base_url}."""

    default_port = 0

    def base_url(self) -> str:
        raise NotImplementedError

    def setUp(self) -> None:
        url = sa.engine.make_url(self.base_url())
        self.proxy = ControlledProxy(url.host or "127.0.0.1", url.port or self.default_port)
        self.addCleanup(self.proxy.close)  # type: ignore[attr-defined]
        self.url = url.set(host="127.0.0.1", port=self.proxy.port).render_as_string(hide_password=False)
        self.store = SQLObjectStore(self.url, MASTER_KEY, deadlines=FAST, pool_size=2)
        self.addCleanup(self.store.close)  # type: ignore[attr-defined]

    def create(self, n: int) -> list[str]:
        made = []
        for _ in range(n):
            uid = str(uuid.uuid4())
            with self.store.transaction() as tx:
                tx.add(make_object(uid))
            made.append(uid)
        return made

    def get(self, uid: str) -> object:
        with self.store.transaction() as tx:
            return tx.get(uid)

    def timed_failure(self, uid: str) -> float:
        """Seconds a Get took to fail with StoreUnavailable (a KmipError, General Failure)."""
        start = time.monotonic()
        try:
            self.get(uid)
        except StoreUnavailable as e:
            self.assertIsInstance(e, KmipError)  # type: ignore[attr-defined]
            self.assertEqual(e.reason, 0x100)  # type: ignore[attr-defined]
            self.assertEqual(e.message, "storage temporarily unavailable; retry")  # type: ignore[attr-defined]
        else:
            self.fail("Get succeeded while the database was unreachable")  # type: ignore[attr-defined]
        return time.monotonic() - start

    def recover(self, uid: str) -> float:
        """Seconds until a Get succeeds again (fails the test after 15 s)."""
        start = time.monotonic()
        while True:
            try:
                self.get(uid)
                return time.monotonic() - start
            except StoreUnavailable:
                if time.monotonic() - start > 15:
                    raise
                time.sleep(0.1)

    def test_freeze_fails_within_deadline_and_recovers(self) -> None:
        """Frozen path: Get fails within the deadline, then at once; after the freeze it works
        again and every acknowledged object is there, material intact."""
        uids = self.create(10)
        self.proxy.freeze()
        first = self.timed_failure(uids[0])
        self.assertLess(first, DEADLINE)  # type: ignore[attr-defined]
        self.assertTrue(self.store.breaker.is_open)  # type: ignore[attr-defined]
        for uid in uids[1:4]:
            self.assertLess(self.timed_failure(uid), FAIL_FAST)  # type: ignore[attr-defined]
        with self.store.transaction() as tx:  # work needing no database is not held up
            start = time.monotonic()
            tx.new_uid()
        self.assertLess(time.monotonic() - start, 0.1)  # type: ignore[attr-defined]
        self.assertRaises(StoreUnavailable, self.create, 1)  # type: ignore[attr-defined]
        time.sleep(3 * FAST.retry_interval)  # a probe during the freeze fails within the deadline too
        self.assertLess(self.timed_failure(uids[0]), DEADLINE)  # type: ignore[attr-defined]
        self.proxy.pass_through()
        self.assertLess(self.recover(uids[0]), DEADLINE + FAST.retry_interval)  # type: ignore[attr-defined]
        self.assertFalse(self.store.breaker.is_open)  # type: ignore[attr-defined]
        uids += self.create(3)
        for uid in uids:
            obj = self.get(uid)
            self.assertIsNotNone(obj)  # type: ignore[attr-defined]
            self.assertEqual(obj.material, make_object(uid).material)  # type: ignore[attr-defined,union-attr]

    def test_no_thread_held_during_freeze(self) -> None:
        """Eight threads (more than the pool's connections) reading during a freeze: every call
        ends within the deadline, most at once; none is held for the freeze's length."""
        uids = self.create(4)
        self.proxy.freeze()
        durations: list[float] = []
        unexpected: list[BaseException] = []
        stop = time.monotonic() + 4.0  # the freeze lasts longer than any deadline

        def reader(i: int) -> None:
            while time.monotonic() < stop:
                start = time.monotonic()
                try:
                    self.get(uids[i % len(uids)])
                except StoreUnavailable:
                    pass
                except BaseException as e:  # noqa: BLE001 - reported below
                    unexpected.append(e)
                durations.append(time.monotonic() - start)
                time.sleep(0.01)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.proxy.pass_through()
        self.assertEqual(unexpected, [])  # type: ignore[attr-defined]
        self.assertLess(max(durations), DEADLINE)  # type: ignore[attr-defined]
        self.assertGreater(sum(1 for d in durations if d < FAIL_FAST), 0.9 * len(durations))  # type: ignore[attr-defined]
        self.recover(uids[0])
        for uid in uids:
            self.assertIsNotNone(self.get(uid))  # type: ignore[attr-defined]

    def test_through_dispatcher(self) -> None:
        """Through the real dispatcher: during a freeze Get answers General Failure "storage
        temporarily unavailable; retry" within the deadline and logs no traceback; Query answers
        at once; after the freeze Get works again."""
        from kmipd.spec import Operation, QueryFunction, ResultReason, Tag
        from kmipd.testing import attribute, call, make_processor, payload
        from kmipd.ttlv import Item

        create = payload(Item.enum(Tag.OBJECT_TYPE, 2), Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
            attribute("Cryptographic Algorithm", Item.enum(Tag.ATTRIBUTE_VALUE, 3)),
            attribute("Cryptographic Length", Item.int(Tag.ATTRIBUTE_VALUE, 256)),
            attribute("Cryptographic Usage Mask", Item.int(Tag.ATTRIBUTE_VALUE, 12))]))
        d = make_processor(self.store)
        made = call(d, Operation.CREATE, create)
        self.assertTrue(made.ok, made.message)  # type: ignore[attr-defined]
        assert made.payload is not None
        uid = made.payload.find(Tag.UNIQUE_IDENTIFIER)
        get = payload(uid)
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)  # type: ignore[arg-type]
        self.proxy.freeze()
        start = time.monotonic()
        failed = call(d, Operation.GET, get)
        self.assertLess(time.monotonic() - start, DEADLINE)  # type: ignore[attr-defined]
        self.assertEqual((failed.reason, failed.message),  # type: ignore[attr-defined]
                         (ResultReason.GENERAL_FAILURE, "storage temporarily unavailable; retry"))
        start = time.monotonic()
        query = call(d, Operation.QUERY, payload(Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS)))
        self.assertTrue(query.ok)  # type: ignore[attr-defined]
        self.assertLess(time.monotonic() - start, 0.1)  # type: ignore[attr-defined]
        start = time.monotonic()
        self.assertEqual(call(d, Operation.GET, get).reason, ResultReason.GENERAL_FAILURE)  # type: ignore[attr-defined]
        self.assertLess(time.monotonic() - start, FAIL_FAST)  # type: ignore[attr-defined]
        self.assertEqual([e for e in events if "log_failure" in e], [])  # type: ignore[attr-defined]
        self.proxy.pass_through()
        deadline = time.monotonic() + 15
        while not call(d, Operation.GET, get).ok:
            self.assertLess(time.monotonic(), deadline)  # type: ignore[attr-defined]
            time.sleep(0.1)

    def test_refused_fails_fast_and_recovers(self) -> None:
        """Refused connections: fail within the deadline, then fast, then recover by themselves."""
        uids = self.create(3)
        self.proxy.refuse()
        self.assertLess(self.timed_failure(uids[0]), DEADLINE)  # type: ignore[attr-defined]
        self.assertLess(self.timed_failure(uids[1]), FAIL_FAST)  # type: ignore[attr-defined]
        self.proxy.pass_through()
        self.recover(uids[0])
        for uid in uids:
            self.assertIsNotNone(self.get(uid))  # type: ignore[attr-defined]

    def test_server_side_timeouts_set(self) -> None:
        """The session carries the statement and lock timeouts."""
        with self.store.engine.connect() as conn:
            for statement, expected in self.timeout_queries:  # type: ignore[attr-defined]
                self.assertEqual(str(conn.exec_driver_sql(statement).scalar()).rstrip("0"), expected)  # type: ignore[attr-defined]

    def test_slow_statement_ends_at_deadline_breaker_stays_closed(self) -> None:
        """A statement running past db_statement_timeout is cancelled (StoreUnavailable), and the
        database is not taken for down."""
        start = time.monotonic()
        with self.assertRaises(StoreUnavailable):  # type: ignore[attr-defined]
            with self.store.transaction() as tx:
                from kmipd.store.engine import _db_errors

                with _db_errors("sleeping"):
                    tx._conn.exec_driver_sql(self.sleep_statement)  # type: ignore[attr-defined]
        self.assertLess(time.monotonic() - start, FAST.round_trip + 1.5)  # type: ignore[attr-defined]
        self.assertFalse(self.store.breaker.is_open)  # type: ignore[attr-defined]
        self.assertIsNone(self.get("nothing"))  # type: ignore[attr-defined]


class PostgreSQLSickDatabaseTests(_SickDatabaseMixin, SynchronousTestCase):
    """PostgreSQL (psycopg) behind the proxy."""

    default_port = 5432
    timeout_queries = (("SHOW statement_timeout", "1s"), ("SHOW lock_timeout", "1s"))
    sleep_statement = "SELECT pg_sleep(10)"
    if not os.environ.get("KMIPD_TEST_POSTGRES_URL"):
        skip = "set KMIPD_TEST_POSTGRES_URL to run"

    def base_url(self) -> str:
        return _postgres_url(self)


class MariaDBSickDatabaseTests(_SickDatabaseMixin, SynchronousTestCase):
    """MariaDB (pymysql) behind the proxy."""

    default_port = 3306
    timeout_queries = (("SELECT @@SESSION.max_statement_time", "1."),
                       ("SELECT @@SESSION.innodb_lock_wait_timeout", "1"))
    sleep_statement = "SELECT SLEEP(10)"
    if not os.environ.get("KMIPD_TEST_MYSQL_URL"):
        skip = "set KMIPD_TEST_MYSQL_URL to run"

    def base_url(self) -> str:
        return _mysql_url(self)
