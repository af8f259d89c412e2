"""Set Defaults and Set Constraints shared by several kmipd services on one database
(L{kmipd.store.node_state}): set on one node, applied and reported by the other, written in the
request's transaction (undone: nothing changes).

SQLite always runs; PostgreSQL and MariaDB when C{KMIPD_TEST_POSTGRES_URL} / C{KMIPD_TEST_MYSQL_URL}
are set.
"""

from __future__ import annotations

import os
import time

import sqlalchemy as sa
from twisted.trial.unittest import SynchronousTestCase

from kmipd.auth.credentials import hash_password_kmip
from kmipd.config import load_config
from kmipd.dispatch import Caller
from kmipd.service import KMIPService
from kmipd.spec import BatchErrorContinuationOption, ObjectType, Operation, ResultReason, Tag
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as CUM
from kmipd.store.node_state import SQLNodeSettings, SQLReplayGuard
from kmipd.testing import batch_item, call, payload, request, results
from kmipd.ttlv import Item, decode, encode

from .operations.test_create import a_mask, aes_attrs, attrs_of, create, get_attributes
from .operations.test_housekeeping import (
    AES256,
    constraint,
    object_defaults,
    query_defaults,
    set_constraints,
    set_defaults,
)
from .store.test_contract import _mysql_url, _postgres_url
from .test_hashed_password import QUERY_OPS, hashed_credential, independent_value

V21 = (2, 1)


class _SharedSettingsMixin:
    """Two services on the URL returned by C{make_url}."""

    def make_url(self) -> str:
        raise NotImplementedError

    def setUp(self) -> None:
        self.url = self.make_url()
        self.data_dir = self.mktemp()
        os.makedirs(self.data_dir)
        self.nodes = [self.service().dispatcher.processor for _ in range(2)]

    def service(self, **extra: object) -> KMIPService:
        config = load_config(None, {"data_dir": self.data_dir, "database_url": self.url,
                                    "master_key_path": os.path.join(self.data_dir, "master.key"),
                                    "listen": ("tcp:0:interface=127.0.0.1",), **extra})
        service = KMIPService(config, tls=False)
        self.addCleanup(service.store.close)
        return service

    def test_hashed_password_replay_refused_on_every_node(self) -> None:
        """A Hashed Password credential accepted by one node is refused by the other (and by the
        first): the last Timestamp per user is in the database."""
        path = os.path.join(self.data_dir, "credentials")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"alice:{hash_password_kmip('alice', 'wonderland', n=16, r=1, p=1)}\n")
        a, b = (self.service(credentials_path=path).dispatcher.processor for _ in range(2))
        self.assertIsInstance(a.credentials.replay, SQLReplayGuard)

        def query(processor: object, timestamp: int) -> object:
            auth = Item.struct(Tag.AUTHENTICATION, [hashed_credential(
                "alice", timestamp, independent_value("alice", "wonderland", timestamp))])
            message = request(batch_item(Operation.QUERY, QUERY_OPS), version=V21, header_extra=[auth])
            return results(decode(processor.process(encode(message), Caller("alice")).data))[0]

        now = int(time.time() * 1_000_000)
        self.assertTrue(query(a, now).ok)
        for node in (b, a):
            refused = query(node, now)
            self.assertEqual(refused.reason, ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
            self.assertIn("does not increase", refused.message)
        self.assertEqual(query(b, now - 1).reason, ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
        self.assertTrue(query(b, now + 1).ok)
        self.assertEqual(query(a, now + 1).reason, ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)

    def test_replay_guard(self) -> None:
        """SQLReplayGuard: the first Timestamp is recorded, later ones advance it, others are refused."""
        guards = [SQLReplayGuard(n.store) for n in self.nodes]
        self.assertTrue(guards[0].advance("bob", 10))
        self.assertFalse(guards[1].advance("bob", 10))
        self.assertFalse(guards[1].advance("bob", 9))
        self.assertTrue(guards[1].advance("bob", 11))
        self.assertTrue(guards[0].advance("carol", 5))  # per user
        self.assertFalse(guards[0].advance("bob", 11))

    def test_in_the_database(self) -> None:
        """Each node keeps its settings on its store's engine."""
        for node in self.nodes:
            self.assertIsInstance(node.node.settings, SQLNodeSettings)

    def test_defaults_set_on_one_node_apply_on_the_other(self) -> None:
        """Set Defaults on node 0: a Create on node 1 gets them, and node 1's Query reports them."""
        a, b = self.nodes
        self.assertTrue(set_defaults(a, object_defaults(ObjectType.SYMMETRIC_KEY, *AES256)).ok)
        r = create(b, [a_mask(CUM.ENCRYPT)], version=V21)
        self.assertTrue(r.ok, r.message)
        attrs = attrs_of(get_attributes(b, r.payload.get(Tag.UNIQUE_IDENTIFIER), version=V21), V21)
        self.assertEqual((attrs["Cryptographic Algorithm"][0].value, attrs["Cryptographic Length"][0].value),
                         (CA.AES, 256))
        tags = {x.tag: x.value for x in query_defaults(b)[ObjectType.SYMMETRIC_KEY]}
        self.assertEqual(tags[Tag.CRYPTOGRAPHIC_LENGTH], 256)
        self.assertTrue(set_defaults(b).ok)  # cleared on node 1: node 0 refuses the bare Create again
        self.assertFalse(create(a, [a_mask(CUM.ENCRYPT)], version=V21).ok)

    def test_constraints_set_on_one_node_hold_on_the_other(self) -> None:
        """Set Constraints on node 1: node 0 enforces them and Get Constraints there returns them."""
        a, b = self.nodes
        c = constraint(Item.struct(Tag.ATTRIBUTES, [Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256)]))
        self.assertTrue(set_constraints(b, c).ok)
        self.assertEqual(create(a, aes_attrs(128), version=V21).reason,
                         ResultReason.CONSTRAINT_VIOLATION)
        self.assertTrue(create(a, aes_attrs(256), version=V21).ok)
        got = call(a, Operation.GET_CONSTRAINTS, payload(), version=V21)
        self.assertEqual(got.payload.find(Tag.CONSTRAINTS).value, [c])

    def test_settings_read_once_per_item(self) -> None:
        """A Create reads the settings table once (Object Defaults and Constraints together), each
        batch item reads it afresh, and an item after a Set Defaults in the same message sees it."""
        a, b = self.nodes
        c = constraint(Item.struct(Tag.ATTRIBUTES, [Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256)]))
        self.assertTrue(set_constraints(a, c).ok)
        reads: list[str] = []

        def executed(conn: object, cursor: object, statement: str, *_: object) -> None:
            if "kmipd_node_settings" in statement and statement.lstrip().upper().startswith("SELECT"):
                reads.append(statement)

        sa.event.listen(b.store.engine, "before_cursor_execute", executed)
        self.addCleanup(sa.event.remove, b.store.engine, "before_cursor_execute", executed)
        self.assertTrue(create(b, aes_attrs(256), version=V21).ok)
        self.assertEqual(len(reads), 1)
        reads.clear()
        body = payload(Item.struct(Tag.DEFAULTS_INFORMATION, [object_defaults(ObjectType.SYMMETRIC_KEY, *AES256)]))
        bare = payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
                       Item.struct(Tag.ATTRIBUTES, [Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, CUM.ENCRYPT)]))
        message = request(batch_item(Operation.CREATE, bare), batch_item(Operation.SET_DEFAULTS, body),
                          batch_item(Operation.CREATE, bare), version=V21, header_extra=[Item.enum(
                              Tag.BATCH_ERROR_CONTINUATION_OPTION, BatchErrorContinuationOption.CONTINUE)])
        out = results(decode(b.process(encode(message), Caller("tester")).data))
        self.assertEqual([r.ok for r in out], [False, True, True])  # no defaults yet, then AES-256
        self.assertEqual(len(reads), 2)

    def test_undone_set_defaults_changes_nothing(self) -> None:
        """A Set Defaults in a batch that is undone (Undo) leaves the defaults as they were."""
        a, b = self.nodes
        body = payload(Item.struct(Tag.DEFAULTS_INFORMATION, [object_defaults(ObjectType.SYMMETRIC_KEY, *AES256)]))
        missing = batch_item(Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, "no-such-object")))
        undo = [Item.enum(Tag.BATCH_ERROR_CONTINUATION_OPTION, BatchErrorContinuationOption.UNDO)]
        message = request(batch_item(Operation.SET_DEFAULTS, body), missing, version=V21, header_extra=undo)
        out = results(decode(a.process(encode(message), Caller("tester")).data))
        self.assertFalse(any(r.ok for r in out))
        self.assertFalse(create(b, [a_mask(CUM.ENCRYPT)], version=V21).ok)


class SQLiteSharedSettingsTests(_SharedSettingsMixin, SynchronousTestCase):
    """Two services on one SQLite file."""

    def make_url(self) -> str:
        path = self.mktemp()
        os.makedirs(path)
        return "sqlite:///" + os.path.join(path, "shared.sqlite")


class PostgreSQLSharedSettingsTests(_SharedSettingsMixin, SynchronousTestCase):
    """Two services on one PostgreSQL database."""

    if not os.environ.get("KMIPD_TEST_POSTGRES_URL"):
        skip = "set KMIPD_TEST_POSTGRES_URL to run"

    def make_url(self) -> str:
        return _postgres_url(self)


class MariaDBSharedSettingsTests(_SharedSettingsMixin, SynchronousTestCase):
    """Two services on one MariaDB database."""

    if not os.environ.get("KMIPD_TEST_MYSQL_URL"):
        skip = "set KMIPD_TEST_MYSQL_URL to run"

    def make_url(self) -> str:
        return _mysql_url(self)
