"""Several kmipd services on one database: unique identifiers, no lost updates, consistent Locate.

Two complete L{KMIPService}s (each with its own engine, pool and dispatcher) share one database
and are driven from several threads at once, through the real decode -> dispatch -> handler ->
encode path. SQLite always runs; PostgreSQL and MariaDB run when C{KMIPD_TEST_POSTGRES_URL} /
C{KMIPD_TEST_MYSQL_URL} are set (as C{.ci/run} does).
"""

from __future__ import annotations

import os
import threading

from twisted.trial.unittest import SynchronousTestCase

from kmipd.config import load_config
from kmipd.dispatch import Caller
from kmipd.service import KMIPService
from kmipd.spec import CryptographicAlgorithm, CryptographicUsageMask, ObjectType, Operation, ResultStatus, Tag
from kmipd.testing import attribute, batch_item, payload, request, results
from kmipd.ttlv import Item, decode, encode

from .store.test_contract import _mysql_url, _postgres_url

V = (1, 4)
OWNER = Caller("node-test")


def _create(group: str) -> bytes:
    return encode(request(batch_item(Operation.CREATE, payload(
        Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
        Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
            attribute("Cryptographic Algorithm", Item.enum(0, CryptographicAlgorithm.AES)),
            attribute("Cryptographic Length", Item.int(0, 128)),
            attribute("Cryptographic Usage Mask", Item.int(0, CryptographicUsageMask.ENCRYPT)),
            attribute("Object Group", Item.text(0, group)),
        ]))), version=V))


def _call(service: KMIPService, data: bytes):
    (result,) = results(decode(service.dispatcher.processor.process(data, OWNER).data))
    return result


def _call_grouped(service: KMIPService, datas: list[bytes]):
    """Run several messages as one group commit (the SQLite path of the real server)."""
    (replies,) = service.dispatcher.processor.process_group([(datas, OWNER)])
    return [results(decode(reply.data))[0] for reply in replies]


class _MultiNodeMixin:
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

    def _parallel(self, jobs) -> None:
        errors: list[BaseException] = []

        def run(job):
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

    def test_parallel_creates_are_unique_and_visible_everywhere(self) -> None:
        """Objects created at once through both services get distinct identifiers and both see all of them."""
        created: list[str] = []
        lock = threading.Lock()

        def creator(node):
            def job():
                for _ in range(15):
                    r = _call(node, _create("multi"))
                    self.assertEqual(r.status, ResultStatus.SUCCESS, r.message)
                    with lock:
                        created.append(r.payload.get(Tag.UNIQUE_IDENTIFIER))
            return job

        self._parallel([creator(self.nodes[0]), creator(self.nodes[1]), creator(self.nodes[0])])
        self.assertEqual(len(created), 45)
        self.assertEqual(len(set(created)), 45)
        locate = encode(request(batch_item(Operation.LOCATE, payload(
            attribute("Object Group", Item.text(0, "multi")))), version=V))
        for node in self.nodes:
            r = _call(node, locate)
            self.assertEqual(r.status, ResultStatus.SUCCESS, r.message)
            self.assertEqual(sorted(i.value for i in r.payload.findall(Tag.UNIQUE_IDENTIFIER)), sorted(created))

    def test_concurrent_modifications_lose_no_update(self) -> None:
        """Attribute additions racing on one object through both services are all kept (or cleanly refused)."""
        uid = _call(self.nodes[0], _create("race")).payload.get(Tag.UNIQUE_IDENTIFIER)
        accepted = []
        lock = threading.Lock()

        def adder(node, tag):
            def job():
                for i in range(10):
                    data = encode(request(batch_item(Operation.ADD_ATTRIBUTE, payload(
                        Item.text(Tag.UNIQUE_IDENTIFIER, uid),
                        attribute("x-writer", Item.text(0, f"{tag}-{i}")))), version=V))
                    r = _call(node, data)
                    if r.status == ResultStatus.SUCCESS:
                        with lock:
                            accepted.append(f"{tag}-{i}")
            return job

        def grouped_adder(node, tag):
            def job():
                for i in range(5):
                    datas = [encode(request(batch_item(Operation.ADD_ATTRIBUTE, payload(
                        Item.text(Tag.UNIQUE_IDENTIFIER, uid),
                        attribute("x-writer", Item.text(0, f"{tag}-{i}-{j}")))), version=V)) for j in range(2)]
                    for j, r in enumerate(_call_grouped(node, datas)):
                        if r.status == ResultStatus.SUCCESS:
                            with lock:
                                accepted.append(f"{tag}-{i}-{j}")
            return job

        self._parallel([adder(self.nodes[0], "a"), adder(self.nodes[1], "b"), grouped_adder(self.nodes[0], "g")])
        get = encode(request(batch_item(Operation.GET_ATTRIBUTES, payload(
            Item.text(Tag.UNIQUE_IDENTIFIER, uid), Item.text(Tag.ATTRIBUTE_NAME, "x-writer"))), version=V))
        r = _call(self.nodes[1], get)
        stored = sorted(a.get(Tag.ATTRIBUTE_VALUE) for a in r.payload.findall(Tag.ATTRIBUTE))
        self.assertEqual(stored, sorted(accepted))
        self.assertGreater(len(accepted), 10)


class SQLiteMultiNodeTests(_MultiNodeMixin, SynchronousTestCase):
    """Two services on one SQLite file."""

    def make_url(self) -> str:
        path = self.mktemp()
        os.makedirs(path)
        return "sqlite:///" + os.path.join(path, "shared.sqlite")


class PostgreSQLMultiNodeTests(_MultiNodeMixin, SynchronousTestCase):
    """Two services on one PostgreSQL database."""

    if not os.environ.get("KMIPD_TEST_POSTGRES_URL"):
        skip = "set KMIPD_TEST_POSTGRES_URL to run"

    def make_url(self) -> str:
        return _postgres_url(self)


class MariaDBMultiNodeTests(_MultiNodeMixin, SynchronousTestCase):
    """Two services on one MariaDB database."""

    if not os.environ.get("KMIPD_TEST_MYSQL_URL"):
        skip = "set KMIPD_TEST_MYSQL_URL to run"

    def make_url(self) -> str:
        return _mysql_url(self)
