"""The ObjectStore contract, run against every store: memory, SQLite, PostgreSQL, MariaDB.

PostgreSQL and MariaDB run when C{KMIPD_TEST_POSTGRES_URL} / C{KMIPD_TEST_MYSQL_URL} name a
server (e.g. C{postgresql+psycopg://postgres@127.0.0.1:5432/test},
C{mysql+pymysql://root@127.0.0.1:3306/test}); each test gets its own schema / database,
dropped afterwards.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from twisted.trial.unittest import SynchronousTestCase

from kmipd.model.objects import ManagedObject
from kmipd.store import (
    AttributeFilter,
    Candidate,
    ConcurrentUpdateError,
    LocateQuery,
    MemoryObjectStore,
    RangeFilter,
    SQLObjectStore,
    StoreError,
)
from kmipd.store.models import attributes_table, objects_table
from kmipd.ttlv import Item, ItemType

MASTER_KEY = bytes(range(32))

# Tags (KMIP 1.x/2.x tag table).
ACTIVATION_DATE = 0x420001
ATTRIBUTE_VALUE = 0x42000B
CRYPTO_ALGORITHM = 0x420028
CRYPTO_LENGTH = 0x42002A
CRYPTO_USAGE_MASK = 0x42002C
KEY_BLOCK = 0x420040
KEY_FORMAT_TYPE = 0x420042
KEY_MATERIAL = 0x420043
KEY_VALUE = 0x420045
NAME = 0x420053
NAME_TYPE = 0x420054
NAME_VALUE = 0x420055
OBJECT_TYPE = 0x420057
OPERATION_POLICY_NAME = 0x42005D
STATE = 0x42008D
SYMMETRIC_KEY = 0x42008F
UNIQUE_IDENTIFIER = 0x420094

SYMMETRIC = 2
SECRET_DATA = 7
PRE_ACTIVE, ACTIVE, DEACTIVATED, DESTROYED = 1, 2, 3, 5
AES, TRIPLE_DES = 3, 2
UNINTERPRETED_TEXT = 1
ENCRYPT, DECRYPT, SIGN = 0x4, 0x8, 0x1
KEY_PATTERN = bytes.fromhex("5a17c0de" * 8)


def name_item(text: str, name_type: int | None = UNINTERPRETED_TEXT) -> Item:
    """A Name structure (KMIP 2.x form)."""
    children = [Item.text(NAME_VALUE, text)]
    if name_type is not None:
        children.append(Item.enum(NAME_TYPE, name_type))
    return Item.struct(NAME, children)


def symmetric_key(material: bytes = KEY_PATTERN) -> Item:
    """A Symmetric Key object body with raw key bytes."""
    return Item.struct(SYMMETRIC_KEY, [
        Item.struct(KEY_BLOCK, [
            Item.enum(KEY_FORMAT_TYPE, 1),
            Item.struct(KEY_VALUE, [Item.bytes(KEY_MATERIAL, material)]),
            Item.enum(CRYPTO_ALGORITHM, AES),
            Item.int(CRYPTO_LENGTH, len(material) * 8),
        ])
    ])


def make_object(
    uid: str,
    *,
    object_type: int = SYMMETRIC,
    state: int = PRE_ACTIVE,
    names: tuple[str, ...] = (),
    algorithm: int | None = AES,
    mask: int | None = None,
    activation: int | None = None,
    owner: str | None = "alice",
    policy: str | None = None,
    material: Item | None = None,
    extra: dict[str, list[Item]] | None = None,
) -> ManagedObject:
    """A ManagedObject with the usual attributes."""
    attrs: dict[str, list[Item]] = {
        "Unique Identifier": [Item.text(UNIQUE_IDENTIFIER, uid)],
        "Object Type": [Item.enum(OBJECT_TYPE, object_type)],
        "State": [Item.enum(STATE, state)],
    }
    if names:
        attrs["Name"] = [name_item(n) for n in names]
    if algorithm is not None:
        attrs["Cryptographic Algorithm"] = [Item.enum(CRYPTO_ALGORITHM, algorithm)]
    if mask is not None:
        attrs["Cryptographic Usage Mask"] = [Item.int(CRYPTO_USAGE_MASK, mask)]
    if activation is not None:
        attrs["Activation Date"] = [Item.datetime(ACTIVATION_DATE, activation)]
    if policy is not None:
        attrs["Operation Policy Name"] = [Item.text(OPERATION_POLICY_NAME, policy)]
    attrs.update(extra or {})
    return ManagedObject(
        uid=uid, object_type=object_type, owner=owner, attributes=attrs,
        material=material if material is not None else symmetric_key(), created=1700000000,
    )


def every_type_attributes() -> dict[str, list[Item]]:
    """Custom attributes covering every TTLV item type."""
    return {
        "x-integer": [Item.int(ATTRIBUTE_VALUE, -7), Item.int(ATTRIBUTE_VALUE, 2**31 - 1)],
        "x-long": [Item.long(ATTRIBUTE_VALUE, -(2**63))],
        "x-big": [Item.big(ATTRIBUTE_VALUE, 2**200 + 12345)],
        "x-enum": [Item.enum(ATTRIBUTE_VALUE, 0xFFFFFFFF)],
        "x-bool": [Item.bool(ATTRIBUTE_VALUE, True), Item.bool(ATTRIBUTE_VALUE, False)],
        "x-text": [Item.text(ATTRIBUTE_VALUE, "h\u00e9llo \u2603 world")],
        "x-bytes": [Item.bytes(ATTRIBUTE_VALUE, b"\x00\xff\x10")],
        "x-datetime": [Item.datetime(ATTRIBUTE_VALUE, 1700000000)],
        "x-interval": [Item.interval(ATTRIBUTE_VALUE, 86400)],
        "x-datetime-ext": [Item(ATTRIBUTE_VALUE, ItemType.DATE_TIME_EXTENDED, 1700000000123456)],
        "x-struct": [Item.struct(ATTRIBUTE_VALUE, [
            Item.text(NAME_VALUE, "inner"), Item.struct(KEY_VALUE, [Item.int(CRYPTO_LENGTH, 1)])
        ])],
    }


class Boom(Exception):
    """A deliberate failure inside a transaction."""


def uids(candidates: list[Candidate]) -> list[str]:
    """The uids of Locate results, in order."""
    return [c.uid for c in candidates]


def run_threads(n: int, target: Callable[[int], None]) -> list[BaseException]:
    """Run C{target(i)} in C{n} threads at once; return the exceptions they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as e:  # noqa: BLE001 - collected and reported by the test
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


class _ObjectStoreContractMixin:
    """Tests every ObjectStore must pass; subclasses provide C{make_store}."""

    store: MemoryObjectStore | SQLObjectStore

    def make_store(self) -> MemoryObjectStore | SQLObjectStore:
        raise NotImplementedError

    def setUp(self) -> None:
        self.store = self.make_store()
        self.addCleanup(self.store.close)  # type: ignore[attr-defined]

    def add(self, obj: ManagedObject) -> ManagedObject:
        with self.store.transaction() as tx:
            tx.add(obj)
        return obj

    def fetch(self, uid: str) -> ManagedObject | None:
        with self.store.transaction() as tx:
            return tx.get(uid)

    def locate(self, **kwargs: object) -> list[str]:
        with self.store.transaction() as tx:
            return uids(tx.locate(LocateQuery(**kwargs)))  # type: ignore[arg-type]

    # -- what a reader may change ---------------------------------------------------
    def test_readers_changes_stay_private(self) -> None:
        """Replacing, adding or deleting instances in what C{get} returned (as handlers do) never
        shows in the next read, for reads from the database and from the object cache alike."""
        self.add(make_object("u-1", names=("one", "two")))
        for _ in range(3):  # the first read fills the SQL store's object cache, the others hit it
            got = self.fetch("u-1")
            assert got is not None
            got.set_single("State", Item.enum(STATE, 2))
            got.add_instance("Name", name_item("three"))
            got.delete_instance("Name", 0)
            got.attributes["Name"].clear()
            got.attributes.clear()
            again = self.fetch("u-1")
            assert again is not None
            self.assertEqual(again.live("Name"), [name_item("one"), name_item("two")])
            self.assertEqual(again.attributes["State"], [Item.enum(STATE, PRE_ACTIVE)])

    def test_stored_items_cannot_change_in_place(self) -> None:
        """An attribute item a store handed out refuses a change in place (it may be the store's own,
        shared with every reader); its copy() is an ordinary item, and the store is unchanged."""
        self.add(make_object("u-1", names=("kept",)))
        for _ in range(2):
            got = self.fetch("u-1")
            self.assert_read_only(got)
            assert got is not None
            name = got.attributes["Name"][0]
            assert name is not None
            mine = name.copy()
            mine.value[0].value = "changed"
            self.assertEqual(mine.value[0], Item.text(NAME_VALUE, "changed"))
        again = self.fetch("u-1")
        assert again is not None
        self.assertEqual(again.live("Name"), [name_item("kept")])

    def make_uncached_store(self) -> MemoryObjectStore | SQLObjectStore:
        """A store on the same data without an object cache (the SQL store's cache_size=0)."""
        raise NotImplementedError

    def assert_read_only(self, obj: ManagedObject | None) -> None:
        """Every attribute item of C{obj} (as a store handed it out) refuses a change in place."""
        assert obj is not None
        name = obj.attributes["Name"][0]
        assert name is not None
        with self.assertRaises(TypeError):  # type: ignore[attr-defined]
            name.value[0].value = "changed"
        with self.assertRaises(TypeError):  # type: ignore[attr-defined]
            name.value.append(Item.text(NAME_VALUE, "extra"))
        with self.assertRaises(TypeError):  # type: ignore[attr-defined]
            name.value[0] = Item.text(NAME_VALUE, "other")
        with self.assertRaises(TypeError):  # type: ignore[attr-defined]
            obj.attributes["State"][0].value = 2  # type: ignore[union-attr]

    def test_items_read_after_a_write_are_read_only(self) -> None:
        """Items read in a transaction that has already written (which bypasses the SQL store's
        object cache) are read-only too: a handler's change in place fails the same way wherever
        it stands in a batch."""
        self.add(make_object("u-1", names=("one",)))
        with self.store.transaction() as tx:
            tx.add(make_object("u-2", names=("two",)))  # this transaction has written
            self.assert_read_only(tx.get("u-1"))
            self.assert_read_only(tx.get("u-2"))  # written in this very transaction
            first = tx.get("u-1")
            assert first is not None
            first.set_single("State", Item.enum(STATE, 2))
            tx.save(first)
            again = tx.get("u-1")
            self.assert_read_only(again)
            assert again is not None
            self.assertEqual(again.attributes["State"], [Item.enum(STATE, 2)])
        again = self.fetch("u-1")
        self.assert_read_only(again)
        assert again is not None
        self.assertEqual(again.live("Name"), [name_item("one")])

    def test_items_read_without_a_cache_are_read_only(self) -> None:
        """A store without an object cache hands out read-only items as well, and is unchanged."""
        self.add(make_object("u-1", names=("kept",)))
        store = self.make_uncached_store()
        for _ in range(2):
            with store.transaction() as tx:
                self.assert_read_only(tx.get("u-1"))
        with store.transaction() as tx:
            got = tx.get("u-1")
        assert got is not None
        self.assertEqual(got.live("Name"), [name_item("kept")])

    def test_writer_keeps_its_items(self) -> None:
        """The items a writer passed to add()/save() stay its own: changing them afterwards
        changes nothing stored."""
        obj = make_object("u-1", names=("as-added",))
        self.add(obj)
        obj.attributes["Name"][0].value[0].value = "after"  # type: ignore[union-attr]
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual(got.live("Name"), [name_item("as-added")])

    # -- basic CRUD ------------------------------------------------------------
    def test_round_trip_every_item_type(self) -> None:
        """Every attribute item type and the material come back exactly as added."""
        obj = make_object("u-1", names=("a", "b"), mask=ENCRYPT | DECRYPT, activation=1700000001,
                          policy="default", extra=every_type_attributes())
        self.add(obj)
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual(got.attributes, obj.attributes)
        self.assertEqual(list(got.attributes), list(obj.attributes))
        self.assertEqual(got.material, symmetric_key())
        self.assertEqual((got.uid, got.object_type, got.owner, got.created),
                         ("u-1", SYMMETRIC, "alice", 1700000000))
        self.assertEqual((got.sequence, got.revision), (obj.sequence, 1))

    def test_object_without_material(self) -> None:
        """An object whose material is None (destroyed) round-trips with None material."""
        obj = make_object("u-1", state=DESTROYED)
        obj.material = None
        self.add(obj)
        got = self.fetch("u-1")
        assert got is not None
        self.assertIsNone(got.material)
        self.assertEqual(got.state, DESTROYED)

    def test_get_missing(self) -> None:
        """get() of an unknown uid returns None."""
        self.assertIsNone(self.fetch("no-such-object"))

    def test_new_uid_unique(self) -> None:
        """new_uid() returns distinct uuid4 strings."""
        with self.store.transaction() as tx:
            made = {tx.new_uid() for _ in range(50)}
        self.assertEqual(len(made), 50)
        for uid in made:
            self.assertEqual(uuid.UUID(uid).version, 4)

    def test_add_assigns_increasing_sequence(self) -> None:
        """add() sets sequence (strictly increasing) and revision 1 on the caller's object."""
        first = self.add(make_object("u-1"))
        second = self.add(make_object("u-2"))
        self.assertGreater(second.sequence, first.sequence)
        self.assertEqual((first.revision, second.revision), (1, 1))

    def test_add_duplicate_uid(self) -> None:
        """Adding a second object with an existing uid raises StoreError."""
        self.add(make_object("u-1"))
        with self.store.transaction() as tx:
            self.assertRaises(StoreError, tx.add, make_object("u-1"))
            tx.add(make_object("u-2"))
        self.assertIsNotNone(self.fetch("u-2"))

    def test_stored_state_is_not_shared(self) -> None:
        """Mutating an object after add() or after get() does not change what is stored."""
        obj = make_object("u-1", names=("orig",))
        self.add(obj)
        obj.attributes["Name"][0].value[0].value = "changed-after-add"
        got = self.fetch("u-1")
        assert got is not None
        got.attributes["Name"].append(name_item("changed-after-get"))
        got.material = None
        again = self.fetch("u-1")
        assert again is not None
        self.assertEqual(again.attributes["Name"], [name_item("orig")])
        self.assertEqual(again.material, symmetric_key())

    def test_save_bumps_revision(self) -> None:
        """save() persists changes and increments the revision each time."""
        self.add(make_object("u-1"))
        with self.store.transaction() as tx:
            obj = tx.get("u-1")
            assert obj is not None
            obj.set_single("State", Item.enum(STATE, ACTIVE))
            obj.attributes["x-note"] = [Item.text(ATTRIBUTE_VALUE, "n")]
            tx.save(obj)
            self.assertEqual(obj.revision, 2)
            obj.material = None
            tx.save(obj)
            self.assertEqual(obj.revision, 3)
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual((got.revision, got.state, got.material), (3, ACTIVE, None))
        self.assertEqual(got.attributes["x-note"], [Item.text(ATTRIBUTE_VALUE, "n")])

    def test_save_missing(self) -> None:
        """save() of an object that is not stored raises StoreError."""
        with self.store.transaction() as tx:
            self.assertRaises(StoreError, tx.save, make_object("ghost"))

    def test_save_attributes(self) -> None:
        """save_attributes() persists the named attributes, keeps the rest and bumps the revision;
        a reader that cached the object sees the new revision's value."""
        self.add(make_object("u-1", names=("a", "b")))
        self.fetch("u-1")  # (SQL: fills the object cache)
        with self.store.transaction() as tx:
            obj = tx.get("u-1")
            assert obj is not None
            obj.set_single("x-fresh", Item.bool(ATTRIBUTE_VALUE, False))
            tx.save_attributes(obj, ("x-fresh",))
            self.assertEqual(obj.revision, 2)
            obj.delete_instance("Name", 0)
            obj.set_single("State", Item.enum(STATE, ACTIVE))  # a column attribute: the whole object
            tx.save_attributes(obj, ("Name", "State"))
            self.assertEqual(obj.revision, 3)
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual((got.revision, got.state, got.value("x-fresh")), (3, ACTIVE, False))
        self.assertEqual(got.instances("Name"), [(1, name_item("b"))])  # the index kept, the hole too
        self.assertEqual(got.material, symmetric_key())
        self.assertEqual(self.locate(states=(ACTIVE,)), ["u-1"])

    def test_save_attributes_checks_revision(self) -> None:
        """save_attributes() of a stale read raises ConcurrentUpdateError and writes nothing; of a
        missing object, StoreError."""
        self.add(make_object("u-1"))
        with self.store.transaction() as late:
            stale = late.get("u-1")
            assert stale is not None
            with self.store.transaction() as early:
                fresh = early.get("u-1")
                assert fresh is not None
                fresh.set_single("x-note", Item.text(ATTRIBUTE_VALUE, "early"))
                early.save_attributes(fresh, ("x-note",))
            stale.set_single("x-note", Item.text(ATTRIBUTE_VALUE, "late"))
            self.assertRaises(ConcurrentUpdateError, late.save_attributes, stale, ("x-note",))
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual((got.value("x-note"), got.revision), ("early", 2))
        with self.store.transaction() as tx:
            ghost = make_object("ghost")
            ghost.sequence = got.sequence
            self.assertRaises(StoreError, tx.save_attributes, ghost, ("x-note",))

    def test_concurrent_update_detected(self) -> None:
        """Two transactions read one object and both save: the second raises ConcurrentUpdateError."""
        self.add(make_object("u-1"))
        with self.store.transaction() as late:
            stale = late.get("u-1")
            assert stale is not None
            with self.store.transaction() as early:
                fresh = early.get("u-1")
                assert fresh is not None
                fresh.set_single("State", Item.enum(STATE, ACTIVE))
                early.save(fresh)
            stale.set_single("State", Item.enum(STATE, DEACTIVATED))
            self.assertRaises(ConcurrentUpdateError, late.save, stale)
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual((got.state, got.revision), (ACTIVE, 2))

    def test_uncommitted_add_invisible(self) -> None:
        """An object added in an open transaction is invisible to other transactions until commit."""
        with self.store.transaction() as writer:
            writer.add(make_object("u-1"))
            self.assertIsNotNone(writer.get("u-1"))
            self.assertEqual(uids(writer.locate(LocateQuery())), ["u-1"])
            with self.store.transaction() as reader:
                self.assertIsNone(reader.get("u-1"))
        self.assertIsNotNone(self.fetch("u-1"))

    def test_rollback_on_exception(self) -> None:
        """An exception leaving transaction() discards every change made in it."""
        self.add(make_object("keep"))
        with self.assertRaises(Boom), self.store.transaction() as tx:  # type: ignore[attr-defined]
            tx.add(make_object("new"))
            obj = tx.get("keep")
            assert obj is not None
            obj.set_single("State", Item.enum(STATE, ACTIVE))
            tx.save(obj)
            tx.set_archived("keep", True)
            raise Boom()
        self.assertIsNone(self.fetch("new"))
        kept = self.fetch("keep")
        assert kept is not None
        self.assertEqual((kept.state, kept.revision), (PRE_ACTIVE, 1))
        with self.store.transaction() as tx:
            self.assertFalse(tx.is_archived("keep"))

    def test_savepoint_isolates_failure(self) -> None:
        """A failure inside savepoint() undoes only that block; the rest of the transaction commits."""
        self.add(make_object("existing"))
        with self.store.transaction() as tx:
            tx.add(make_object("before"))
            with self.assertRaises(Boom), tx.savepoint():  # type: ignore[attr-defined]
                tx.add(make_object("inside"))
                obj = tx.get("existing")
                assert obj is not None
                obj.set_single("State", Item.enum(STATE, ACTIVE))
                tx.save(obj)
                tx.remove("before")
                raise Boom()
            self.assertIsNone(tx.get("inside"))
            with tx.savepoint():
                tx.add(make_object("after"))
        self.assertIsNone(self.fetch("inside"))
        self.assertIsNotNone(self.fetch("before"))
        self.assertIsNotNone(self.fetch("after"))
        existing = self.fetch("existing")
        assert existing is not None
        self.assertEqual((existing.state, existing.revision), (PRE_ACTIVE, 1))

    def test_savepoint_store_error_then_continue(self) -> None:
        """A StoreError (duplicate uid) inside a savepoint leaves the transaction usable."""
        self.add(make_object("dup"))
        with self.store.transaction() as tx:
            with self.assertRaises(StoreError), tx.savepoint():  # type: ignore[attr-defined]
                tx.add(make_object("dup"))
            tx.add(make_object("later"))
        self.assertIsNotNone(self.fetch("later"))

    def test_released_savepoint_rolled_back_with_transaction(self) -> None:
        """Work from a completed savepoint is still undone when the whole transaction fails."""
        with self.assertRaises(Boom), self.store.transaction() as tx:  # type: ignore[attr-defined]
            with tx.savepoint():
                tx.add(make_object("in-savepoint"))
            raise Boom()
        self.assertIsNone(self.fetch("in-savepoint"))

    def test_remove(self) -> None:
        """remove() deletes the object and its attributes; removing it again raises StoreError."""
        self.add(make_object("u-1", names=("gone",)))
        self.add(make_object("u-2"))
        with self.store.transaction() as tx:
            tx.remove("u-1")
        self.assertIsNone(self.fetch("u-1"))
        self.assertEqual(self.locate(attributes=[AttributeFilter("Name")]), [])
        self.assertEqual(self.locate(), ["u-2"])
        with self.store.transaction() as tx:
            self.assertRaises(StoreError, tx.remove, "u-1")

    def test_archived_flag(self) -> None:
        """set_archived()/is_archived() round trip; unknown uids raise StoreError."""
        self.add(make_object("u-1"))
        with self.store.transaction() as tx:
            self.assertFalse(tx.is_archived("u-1"))
            tx.set_archived("u-1", True)
            self.assertTrue(tx.is_archived("u-1"))
        with self.store.transaction() as tx:
            self.assertTrue(tx.is_archived("u-1"))
            self.assertRaises(StoreError, tx.is_archived, "nope")
            self.assertRaises(StoreError, tx.set_archived, "nope", True)

    # -- locate ------------------------------------------------------------------
    def populate(self) -> None:
        """Six objects added in order k1..k6 (k6 newest)."""
        self.add(make_object("k1", names=("alpha",), mask=ENCRYPT | DECRYPT, activation=100, owner="alice",
                             policy="default"))
        self.add(make_object("k2", names=("beta",), state=ACTIVE, mask=ENCRYPT, activation=200,
                             algorithm=TRIPLE_DES, owner="bob"))
        self.add(make_object("k3", object_type=SECRET_DATA, names=("alpha",), state=ACTIVE, algorithm=None))
        self.add(make_object("k4", names=("gamma", "alpha-2"), mask=SIGN | ENCRYPT | DECRYPT, activation=300,
                             extra={"x-tag": [Item.text(ATTRIBUTE_VALUE, "blue")]}))
        self.add(make_object("k5", state=DESTROYED, names=("delta",)))
        self.add(make_object("k6", state=DEACTIVATED, names=("archived-one",), owner=None))
        with self.store.transaction() as tx:
            tx.set_archived("k6", True)

    def test_locate_all_newest_first(self) -> None:
        """With no criteria Locate returns every on-line and destroyed object, newest first."""
        self.populate()
        self.assertEqual(self.locate(), ["k5", "k4", "k3", "k2", "k1"])

    def test_locate_candidate_fields(self) -> None:
        """Candidates carry uid, object type, owner and operation policy name."""
        self.populate()
        with self.store.transaction() as tx:
            found = tx.locate(LocateQuery(attributes=[AttributeFilter("Name", name_item("alpha"))]))
        self.assertEqual(found, [Candidate("k3", SECRET_DATA, "alice", None),
                                 Candidate("k1", SYMMETRIC, "alice", "default")])

    def test_locate_by_object_type(self) -> None:
        """object_types restricts to those types."""
        self.populate()
        self.assertEqual(self.locate(object_types=(SECRET_DATA,)), ["k3"])
        self.assertEqual(self.locate(object_types=(SYMMETRIC, SECRET_DATA), states=(ACTIVE,)), ["k3", "k2"])

    def test_locate_by_state(self) -> None:
        """states restricts to those states."""
        self.populate()
        self.assertEqual(self.locate(states=(ACTIVE,)), ["k3", "k2"])
        self.assertEqual(self.locate(states=(DESTROYED, PRE_ACTIVE)), ["k5", "k4", "k1"])

    def test_locate_by_name(self) -> None:
        """A full Name structure matches objects having that name (any of their names)."""
        self.populate()
        self.assertEqual(self.locate(attributes=[AttributeFilter("Name", name_item("alpha"))]), ["k3", "k1"])
        self.assertEqual(self.locate(attributes=[AttributeFilter("Name", name_item("alpha-2"))]), ["k4"])
        self.assertEqual(self.locate(attributes=[AttributeFilter("Name", name_item("alph"))]), [])

    def test_locate_by_name_type_must_match(self) -> None:
        """A full Name filter with a different Name Type does not match."""
        self.populate()
        self.assertEqual(self.locate(attributes=[AttributeFilter("Name", name_item("alpha", name_type=2))]), [])

    def test_locate_by_name_value_only(self) -> None:
        """A Name filter without a Name Type matches on the name text alone."""
        self.populate()
        self.add(make_object("k7", extra={"Name": [name_item("alpha", name_type=2)]}))
        self.assertEqual(self.locate(attributes=[AttributeFilter("Name", name_item("alpha", name_type=None))]),
                         ["k7", "k3", "k1"])

    def test_locate_by_attribute_equality(self) -> None:
        """Equality on enumeration and custom text attributes, whatever the filter item's tag."""
        self.populate()
        self.assertEqual(
            self.locate(attributes=[AttributeFilter("Cryptographic Algorithm", Item.enum(CRYPTO_ALGORITHM, AES))]),
            ["k5", "k4", "k1"],
        )
        self.assertEqual(
            self.locate(attributes=[AttributeFilter("x-tag", Item.text(ATTRIBUTE_VALUE, "blue"))]), ["k4"])
        self.assertEqual(
            self.locate(attributes=[AttributeFilter("x-tag", Item.text(0x540001, "blue"))]), ["k4"])
        self.assertEqual(
            self.locate(attributes=[AttributeFilter("x-tag", Item.text(ATTRIBUTE_VALUE, "Blue"))]), [])
        # Same value in a differently named attribute does not match.
        self.assertEqual(self.locate(attributes=[AttributeFilter("x-other", Item.text(ATTRIBUTE_VALUE, "blue"))]), [])

    def test_locate_item_type_matters(self) -> None:
        """An Integer filter does not match an Enumeration of the same number."""
        self.populate()
        self.assertEqual(
            self.locate(attributes=[AttributeFilter("Cryptographic Algorithm", Item.int(CRYPTO_ALGORITHM, AES))]), [])

    def test_locate_attribute_presence(self) -> None:
        """A filter without a value matches objects that have the attribute."""
        self.populate()
        self.assertEqual(self.locate(attributes=[AttributeFilter("Cryptographic Usage Mask")]), ["k4", "k2", "k1"])

    def test_locate_by_mask(self) -> None:
        """A mask filter matches when every bit of the filter value is set."""
        self.populate()
        usage = "Cryptographic Usage Mask"
        self.assertEqual(self.locate(attributes=[AttributeFilter(usage, Item.int(CRYPTO_USAGE_MASK, ENCRYPT), True)]),
                         ["k4", "k2", "k1"])
        self.assertEqual(
            self.locate(attributes=[AttributeFilter(usage, Item.int(CRYPTO_USAGE_MASK, ENCRYPT | DECRYPT), True)]),
            ["k4", "k1"])
        self.assertEqual(
            self.locate(attributes=[AttributeFilter(usage, Item.int(CRYPTO_USAGE_MASK, SIGN | DECRYPT), True)]),
            ["k4"])
        # Without mask=True the same value is an exact match.
        self.assertEqual(
            self.locate(attributes=[AttributeFilter(usage, Item.int(CRYPTO_USAGE_MASK, ENCRYPT | DECRYPT))]), ["k1"])

    def test_locate_mask_high_bit(self) -> None:
        """A mask filter on bit 31 (a negative 32-bit Integer) works."""
        self.add(make_object("hi", mask=-(2**31) | ENCRYPT))
        self.add(make_object("lo", mask=ENCRYPT))
        usage = "Cryptographic Usage Mask"
        self.assertEqual(self.locate(attributes=[AttributeFilter(usage, Item.int(CRYPTO_USAGE_MASK, -(2**31)), True)]),
                         ["hi"])

    def test_locate_mask_needs_integer(self) -> None:
        """A mask filter with a text value raises StoreError."""
        self.populate()
        with self.store.transaction() as tx:
            self.assertRaises(StoreError, tx.locate, LocateQuery(
                attributes=[AttributeFilter("Cryptographic Usage Mask", Item.text(CRYPTO_USAGE_MASK, "x"), True)]))

    def test_locate_by_range(self) -> None:
        """A range filter matches date attributes within [low, high]; open ends are allowed."""
        self.populate()
        self.assertEqual(self.locate(ranges=[RangeFilter("Activation Date", 150, 300)]), ["k4", "k2"])
        self.assertEqual(self.locate(ranges=[RangeFilter("Activation Date", low=200)]), ["k4", "k2"])
        self.assertEqual(self.locate(ranges=[RangeFilter("Activation Date", high=100)]), ["k1"])
        self.assertEqual(self.locate(ranges=[RangeFilter("Activation Date")]), ["k4", "k2", "k1"])
        self.assertEqual(self.locate(ranges=[RangeFilter("Activation Date", 101, 199)]), [])

    def test_locate_storage_status(self) -> None:
        """Archived objects only with include_archived; destroyed and on-line ones can be excluded."""
        self.populate()
        self.assertEqual(self.locate(include_archived=True), ["k6", "k5", "k4", "k3", "k2", "k1"])
        self.assertEqual(self.locate(include_archived=True, include_online=False, include_destroyed=False), ["k6"])
        self.assertEqual(self.locate(include_destroyed=False), ["k4", "k3", "k2", "k1"])
        self.assertEqual(self.locate(include_online=False), ["k5"])
        self.assertEqual(self.locate(include_online=False, include_destroyed=False), [])
        self.assertEqual(self.locate(attributes=[AttributeFilter("Name", name_item("archived-one"))]), [])

    def test_locate_combined(self) -> None:
        """All criteria combine with AND."""
        self.populate()
        self.assertEqual(self.locate(
            object_types=(SYMMETRIC,),
            states=(PRE_ACTIVE, ACTIVE),
            attributes=[
                AttributeFilter("Cryptographic Usage Mask", Item.int(CRYPTO_USAGE_MASK, ENCRYPT), True),
                AttributeFilter("Cryptographic Algorithm", Item.enum(CRYPTO_ALGORITHM, AES)),
            ],
            ranges=[RangeFilter("Activation Date", 0, 1000)],
        ), ["k4", "k1"])
        self.assertEqual(self.locate(attributes=[
            AttributeFilter("Name", name_item("alpha")), AttributeFilter("Name", name_item("beta"))]), [])
        self.assertEqual(self.locate(attributes=[
            AttributeFilter("Name", name_item("gamma")), AttributeFilter("Name", name_item("alpha-2"))]), ["k4"])

    def test_locate_sees_saved_changes(self) -> None:
        """Locate reflects attributes changed by save()."""
        self.populate()
        with self.store.transaction() as tx:
            obj = tx.get("k2")
            assert obj is not None
            obj.attributes["Name"] = [name_item("renamed")]
            tx.save(obj)
        self.assertEqual(self.locate(attributes=[AttributeFilter("Name", name_item("beta"))]), [])
        self.assertEqual(self.locate(attributes=[AttributeFilter("Name", name_item("renamed"))]), ["k2"])

    # -- concurrency -------------------------------------------------------------
    def test_parallel_adds(self) -> None:
        """Objects added from several threads at once all get stored with unique uids and sequences."""
        per_thread, n = 15, 6
        made: list[tuple[str, int]] = []
        lock = threading.Lock()

        def work(i: int) -> None:
            for _ in range(per_thread):
                with self.store.transaction() as tx:
                    obj = make_object(tx.new_uid(), names=(f"t{i}",))
                    tx.add(obj)
                with lock:
                    made.append((obj.uid, obj.sequence))

        self.assertEqual(run_threads(n, work), [])
        self.assertEqual(len({u for u, _ in made}), n * per_thread)
        self.assertEqual(len({s for _, s in made}), n * per_thread)
        self.assertEqual(sorted(self.locate()), sorted(u for u, _ in made))

    def test_concurrent_modifiers_lose_no_update(self) -> None:
        """Threads incrementing one counter with retry on ConcurrentUpdateError lose no increment."""
        self.add(make_object("counter", extra={"x-count": [Item.int(ATTRIBUTE_VALUE, 0)]}))
        n, per_thread = 4, 10

        def work(i: int) -> None:
            for _ in range(per_thread):
                for _attempt in range(1000):
                    try:
                        with self.store.transaction() as tx:
                            obj = tx.get("counter")
                            assert obj is not None
                            count = obj.value("x-count")
                            obj.set_single("x-count", Item.int(ATTRIBUTE_VALUE, count + 1))  # type: ignore[operator]
                            tx.save(obj)
                        break
                    except ConcurrentUpdateError:
                        continue
                else:
                    raise AssertionError("too many retries")

        self.assertEqual(run_threads(n, work), [])
        got = self.fetch("counter")
        assert got is not None
        self.assertEqual(got.value("x-count"), n * per_thread)
        self.assertEqual(got.revision, 1 + n * per_thread)

    # -- stable Attribute Indexes (deleted instances leave holes) -----------------
    def _with_hole(self) -> ManagedObject:
        """Store u-1 with Names n0, n1, n2, then delete instance 1 and save."""
        self.add(make_object("u-1", names=("n0", "n1", "n2")))
        with self.store.transaction() as tx:
            obj = tx.get("u-1")
            assert obj is not None
            self.assertEqual(obj.delete_instance("Name", 1), name_item("n1"))
            tx.save(obj)
        got = self.fetch("u-1")
        assert got is not None
        return got

    def test_attribute_holes_round_trip(self) -> None:
        """A deleted instance's slot comes back as a hole: the later instance keeps its position (index)."""
        got = self._with_hole()
        self.assertEqual(got.attributes["Name"], [name_item("n0"), None, name_item("n2")])
        self.assertEqual(got.instances("Name"), [(0, name_item("n0")), (2, name_item("n2"))])
        again = self.fetch("u-1")  # a second read (the SQL store's object cache)
        assert again is not None
        self.assertEqual(again.attributes["Name"], [name_item("n0"), None, name_item("n2")])

    def test_attribute_hole_at_index_zero(self) -> None:
        """With index 0 deleted, first() and value() give the lowest live instance."""
        self.add(make_object("u-1", extra={"x-n": [Item.int(ATTRIBUTE_VALUE, 1), Item.int(ATTRIBUTE_VALUE, 2)]}))
        with self.store.transaction() as tx:
            obj = tx.get("u-1")
            assert obj is not None
            obj.delete_instance("x-n", 0)
            tx.save(obj)
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual(got.attributes["x-n"], [None, Item.int(ATTRIBUTE_VALUE, 2)])
        self.assertEqual((got.value("x-n"), got.add_instance("x-n", Item.int(ATTRIBUTE_VALUE, 3))), (2, 2))

    def test_deleting_last_instances_trims(self) -> None:
        """Deleting the highest instance drops trailing holes; deleting every instance removes the attribute."""
        self._with_hole()
        with self.store.transaction() as tx:
            obj = tx.get("u-1")
            assert obj is not None
            obj.delete_instance("Name", 2)
            self.assertEqual(obj.attributes["Name"], [name_item("n0")])
            obj.delete_instance("Name", 0)
            self.assertNotIn("Name", obj.attributes)
            self.assertRaises(KeyError, obj.delete_instance, "Name", 0)
            tx.save(obj)
        got = self.fetch("u-1")
        assert got is not None
        self.assertNotIn("Name", got.attributes)

    def test_locate_skips_holes(self) -> None:
        """Locate matches live instances only; an attribute with a hole is still present."""
        self._with_hole()
        self.assertEqual(self.locate(attributes=[AttributeFilter("Name", name_item("n1"))]), [])
        self.assertEqual(self.locate(attributes=[AttributeFilter("Name", name_item("n2"))]), ["u-1"])
        self.assertEqual(self.locate(attributes=[AttributeFilter("Name")]), ["u-1"])


class MemoryStoreContractTests(_ObjectStoreContractMixin, SynchronousTestCase):
    """The contract on MemoryObjectStore."""

    def make_store(self) -> MemoryObjectStore:
        return MemoryObjectStore()

    def make_uncached_store(self) -> MemoryObjectStore:
        return self.store  # the memory store has no object cache: its reads are the same

    def test_commit_time_conflict(self) -> None:
        """Two open transactions saving one object: the later commit raises ConcurrentUpdateError."""
        self.add(make_object("u-1"))
        with self.assertRaises(ConcurrentUpdateError):
            with self.store.transaction() as second:
                b = second.get("u-1")
                assert b is not None
                with self.store.transaction() as first:
                    a = first.get("u-1")
                    assert a is not None
                    second.save(b)
                    first.save(a)
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual(got.revision, 2)


class _SQLStoreMixin(_ObjectStoreContractMixin):
    """SQL-only contract additions: persistence, several store instances, sealed material."""

    url: str

    def make_url(self) -> str:
        raise NotImplementedError

    def make_store(self) -> SQLObjectStore:
        self.url = self.make_url()
        return SQLObjectStore(self.url, MASTER_KEY)

    def make_uncached_store(self) -> SQLObjectStore:
        store = SQLObjectStore(self.url, MASTER_KEY, cache_size=0)
        self.addCleanup(store.close)  # type: ignore[attr-defined]
        return store

    def test_persistence_across_reopen(self) -> None:
        """Objects, attributes and the archived flag survive closing and reopening the store."""
        self.add(make_object("u-1", names=("persist",), extra=every_type_attributes()))
        with self.store.transaction() as tx:
            tx.set_archived("u-1", True)
        self.store.close()
        self.store = SQLObjectStore(self.url, MASTER_KEY)
        self.addCleanup(self.store.close)  # type: ignore[attr-defined]
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual(got.material, symmetric_key())
        self.assertEqual(got.attributes["x-big"], every_type_attributes()["x-big"])
        self.assertEqual(self.locate(include_archived=True, attributes=[AttributeFilter("Name", name_item("persist"))]),
                         ["u-1"])

    def test_attribute_holes_survive_reopen(self) -> None:
        """Attribute positions (indexes) with holes are persisted and restored by a new store instance."""
        self._with_hole()
        self.store.close()
        self.store = SQLObjectStore(self.url, MASTER_KEY)
        self.addCleanup(self.store.close)  # type: ignore[attr-defined]
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual(got.attributes["Name"], [name_item("n0"), None, name_item("n2")])

    def test_wrong_master_key(self) -> None:
        """A store with a master key the database does not know is refused at open (naming the
        key file and the key the database expects), never serving garbage."""
        self.add(make_object("u-1"))
        e = self.assertRaises(StoreError, SQLObjectStore, self.url, b"\x01" * 32,  # type: ignore[attr-defined]
                              key_path="/etc/kmipd/other.key")
        self.assertIn("/etc/kmipd/other.key", str(e))  # type: ignore[attr-defined]
        self.assertIn("unknown to the database", str(e))  # type: ignore[attr-defined]

    def test_tables_hold_no_key_bytes(self) -> None:
        """No column of any row contains the key material (it is sealed; attributes are separate)."""
        self.add(make_object("u-1", names=("k",), material=symmetric_key(KEY_PATTERN)))
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(objects_table)).all() + conn.execute(sa.select(attributes_table)).all()
        self.assertTrue(rows)
        for row in rows:
            for value in row:
                if isinstance(value, (bytes, bytearray, memoryview)):
                    self.assertNotIn(KEY_PATTERN[:16], bytes(value))
                else:
                    self.assertNotIn(KEY_PATTERN[:16].hex(), str(value))

    def test_get_for_update(self) -> None:
        """get(uid, for_update=True) returns the object and allows save in the same transaction."""
        self.add(make_object("u-1"))
        with self.store.transaction() as tx:
            obj = tx.get("u-1", for_update=True)
            assert obj is not None
            tx.save(obj)
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual(got.revision, 2)

    def _relabel(self, store: SQLObjectStore, uid: str, text: str) -> None:
        """Commit a change of the object's x-label attribute through C{store}."""
        with store.transaction() as tx:
            obj = tx.get(uid)
            assert obj is not None
            obj.attributes["x-label"] = [Item.text(0x540000, text)]
            tx.save(obj)

    def test_cached_reads_share_read_only_items(self) -> None:
        """A second read (from the object cache) comes from the cache and equals the first."""
        self.add(make_object("u-1", names=("cached",)))
        first = self.fetch("u-1")
        assert first is not None
        self.assertIn("u-1", self.store._cache._entries)  # type: ignore[attr-defined]
        second = self.fetch("u-1")
        assert second is not None
        self.assertEqual(second.attributes, first.attributes)
        self.assertIsNot(second.attributes["Name"], first.attributes["Name"])  # each reader's own lists
        self.assertEqual(second.material, symmetric_key())

    def test_cache_sees_other_store_commits(self) -> None:
        """A cached object changed through another store instance on the same database is read fresh."""
        self.add(make_object("u-1"))
        other = SQLObjectStore(self.url, MASTER_KEY)
        self.addCleanup(other.close)  # type: ignore[attr-defined]
        self._relabel(self.store, "u-1", "one")
        self.assertEqual(self.fetch("u-1").value("x-label"), "one")  # type: ignore[union-attr]
        self._relabel(other, "u-1", "two")
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual((got.value("x-label"), got.revision), ("two", 3))

    def test_rolled_back_write_is_never_cached(self) -> None:
        """A transaction sees its own uncommitted write; after rollback, another commit of that revision wins."""
        self.add(make_object("u-1"))
        self.fetch("u-1")
        with self.assertRaises(Boom), self.store.transaction() as tx:
            obj = tx.get("u-1")
            assert obj is not None
            obj.attributes["x-label"] = [Item.text(0x540000, "rolled back")]
            tx.save(obj)
            again = tx.get("u-1")
            assert again is not None
            self.assertEqual((again.value("x-label"), again.revision), ("rolled back", 2))
            raise Boom()
        other = SQLObjectStore(self.url, MASTER_KEY)
        self.addCleanup(other.close)  # type: ignore[attr-defined]
        self._relabel(other, "u-1", "committed")
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual((got.value("x-label"), got.revision), ("committed", 2))

    def test_cache_disabled(self) -> None:
        """With cache_size=0 nothing is cached and reads still work."""
        store = SQLObjectStore(self.url, MASTER_KEY, cache_size=0)
        self.addCleanup(store.close)  # type: ignore[attr-defined]
        self.add(make_object("u-1", names=("plain",)))
        with store.transaction() as tx:
            self.assertEqual(tx.get("u-1").attributes["Name"], [name_item("plain")])  # type: ignore[union-attr]
        self.assertEqual(store._cache._entries, {})

    def test_two_stores_parallel_adds(self) -> None:
        """Two store instances on one database adding from several threads: unique uids, nothing lost."""
        other = SQLObjectStore(self.url, MASTER_KEY)
        self.addCleanup(other.close)  # type: ignore[attr-defined]
        stores = [self.store, other]
        made: list[tuple[str, int]] = []
        lock = threading.Lock()

        def work(i: int) -> None:
            store = stores[i % 2]
            for _ in range(10):
                with store.transaction() as tx:
                    obj = make_object(tx.new_uid())
                    tx.add(obj)
                with lock:
                    made.append((obj.uid, obj.sequence))

        self.assertEqual(run_threads(6, work), [])
        self.assertEqual(len({u for u, _ in made}), 60)
        self.assertEqual(len({s for _, s in made}), 60)
        with other.transaction() as tx:
            self.assertEqual(sorted(uids(tx.locate(LocateQuery()))), sorted(u for u, _ in made))


class SQLiteStoreContractTests(_SQLStoreMixin, SynchronousTestCase):
    """The contract on SQLObjectStore with a temporary SQLite file."""

    def make_url(self) -> str:
        path = self.mktemp()
        os.makedirs(path)
        return "sqlite:///" + os.path.join(path, "kmipd.sqlite")

    def test_object_read_falls_back_to_sqlalchemy(self) -> None:
        """When the direct sqlite3 read of the object row fails other than with a database error
        (here the cursor refuses the statement: TypeError), the statement runs through SQLAlchemy
        and the read still answers (the same object, or None). Database errors are not retried:
        see tests.store.test_sql.SQLiteTests.test_fast_read_error_handled_once."""
        import kmipd.store.sql as sql

        self.add(make_object("u-1", names=("n",)))
        self.patch(sql, "_GET_OBJECT_SQLITE", b"SELECT id FROM kmipd_objects WHERE uid = ?")
        got = self.fetch("u-1")
        assert got is not None
        self.assertEqual((got.live("Name"), got.material, got.revision), ([name_item("n")], symmetric_key(), 1))
        self.assertIsNone(self.fetch("u-2"))

    def test_locate_falls_back_to_sqlalchemy(self) -> None:
        """Locate on the sqlite3 cursor falls back to the Core statement the same way: the same
        candidates, newest first."""
        import kmipd.store.sql as sql

        self.add(make_object("u-1", names=("n",)))
        self.add(make_object("u-2", names=("n",)))
        query = LocateQuery(attributes=[AttributeFilter("Name", name_item("n"))])
        with self.store.transaction() as tx:
            direct = uids(tx.locate(query))
        self.patch(sql, "sqlite3_statement", lambda stmt, params, dialect: (b"SELECT 1", ()))
        with self.store.transaction() as tx:
            self.assertEqual(uids(tx.locate(query)), direct)
        self.assertEqual(direct, ["u-2", "u-1"])


def _postgres_url(test: SynchronousTestCase) -> str:
    """A URL on a fresh PostgreSQL schema, dropped at cleanup."""
    base = os.environ.get("KMIPD_TEST_POSTGRES_URL")
    if not base:
        raise NotImplementedError
    schema = "kmipd_test_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()

    test.addCleanup(drop)
    url = sa.engine.make_url(base)
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _mysql_url(test: SynchronousTestCase) -> str:
    """A URL on a fresh MariaDB/MySQL database, dropped at cleanup."""
    base = os.environ.get("KMIPD_TEST_MYSQL_URL")
    if not base:
        raise NotImplementedError
    name = "kmipd_test_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(base)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE `{name}`")
        admin.dispose()

    test.addCleanup(drop)
    return sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)


class PostgreSQLStoreContractTests(_SQLStoreMixin, SynchronousTestCase):
    """The contract on SQLObjectStore with PostgreSQL (psycopg)."""

    if not os.environ.get("KMIPD_TEST_POSTGRES_URL"):
        skip = "set KMIPD_TEST_POSTGRES_URL to run"

    def make_url(self) -> str:
        return _postgres_url(self)


class MariaDBStoreContractTests(_SQLStoreMixin, SynchronousTestCase):
    """The contract on SQLObjectStore with MariaDB/MySQL (pymysql)."""

    if not os.environ.get("KMIPD_TEST_MYSQL_URL"):
        skip = "set KMIPD_TEST_MYSQL_URL to run"

    def make_url(self) -> str:
        return _mysql_url(self)
