# -*- test-case-name: tests.store.test_sql,tests.store.test_contract -*-
"""SQLObjectStore: the L{ObjectStore} on SQLAlchemy 2.x Core (SQLite, PostgreSQL, MariaDB/MySQL).

Blocking: the service calls it from the database thread pool. One L{SQLObjectStore.transaction}
is one database connection and transaction (commit on normal exit, rollback on exception);
L{_SQLTransaction.savepoint} is a nested transaction (C{SAVEPOINT}).

Concurrency is optimistic: every object row has a C{revision}; C{save()} updates the row only
if its revision is still the one the object was read at, and otherwise raises
L{ConcurrentUpdateError} (retry the whole transaction). Deadlocks, serialization failures and
SQLite C{database is locked} are reported as L{ConcurrentUpdateError} too. C{get(uid,
for_update=True)} additionally takes a row lock (C{SELECT ... FOR UPDATE}) on PostgreSQL and
MariaDB, so a read-modify-write holds the row until commit; on SQLite it is a plain read
(SQLite serialises writers itself). PostgreSQL and MariaDB run at READ COMMITTED.

Every wait has a deadline and a database found unreachable fails requests at once
(L{kmipd.store.deadlines}); material is sealed under the current key of the master-key ring
(L{kmipd.store.keyring}); a database holding another schema is refused (L{kmipd.store.foreign}).

SQLite: WAL journal, C{foreign_keys=ON}, a busy timeout (C{db_lock_timeout}), a connection pool (one
connection per concurrent transaction). pysqlite starts the database transaction at the first
write, so reads before it see the latest committed data and the revision check decides; the
object row and Locate run on the transaction's sqlite3 cursor (L{_SQLTransaction._sqlite3});
a savepoint first takes the write lock (C{BEGIN IMMEDIATE}) so that releasing it can never
commit the outer transaction early. Savepoints are begun lazily, at the first write inside them.
"""

from __future__ import annotations

import collections
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from kmipd.log import Logger

from ..model.objects import ManagedObject
from ..ttlv import Item, decode, encode
from .cache import ObjectCache
from .deadlines import (
    CircuitBreaker,
    DatabaseDeadlines,
    unavailability,
)
from .engine import _db_errors, _first_line, create_store_engine, safe_url
from .foreign import refuse_foreign_schema
from .frozen import frozen
from .interface import (
    Candidate,
    ConcurrentUpdateError,
    DatabaseUnavailable,
    LocateQuery,
    SchemaError,
    StoreError,
)
from .keyring import KeyRing, open_ring
from .locating import DESTROYED_STATES, locate_statement, sqlite3_statement
from .masterkey import MASTER_KEY_SIZE
from .models import (
    attributes_table,
    objects_table,
)
from .rows import INSERT_NEW_OBJECT, DriverInsert, attribute_row

__all__ = ["DESTROYED_STATES", "SQLObjectStore", "create_store_engine", "safe_url"]

_log = Logger()
_NOT_RUN = object()  # see _SQLTransaction._sqlite3

def _decode_value(blob: bytes) -> Item:
    return decode(blob)


def _place(attributes: dict[str, list[Item | None]], name: str, position: int, item: Item) -> None:
    """Put a read attribute row at its position (its stable Attribute Index), holes as C{None}."""
    values = attributes.setdefault(name, [])
    if position >= len(values):
        values.extend([None] * (position + 1 - len(values)))
    values[position] = item


# Statements built once: executing them with parameter dicts hits SQLAlchemy's compiled cache.
_o, _a = objects_table, attributes_table
_ID_BY_UID = sa.select(_o.c.id).where(_o.c.uid == sa.bindparam("b_uid"))
_INSERT_OBJECT = _o.insert()
_UPDATE_OBJECT = (
    sa.update(_o)
    .where(_o.c.id == sa.bindparam("b_id"), _o.c.revision == sa.bindparam("b_revision"))
    .values(revision=_o.c.revision + 1)
)
_DELETE_ATTRIBUTES = sa.delete(_a).where(_a.c.object_id == sa.bindparam("b_id"))
_BUMP_REVISION = (
    sa.update(_o)
    .where(_o.c.id == sa.bindparam("b_id"), _o.c.uid == sa.bindparam("b_uid"),
           _o.c.revision == sa.bindparam("b_revision"))
    .values(revision=_o.c.revision + 1)
)
_DELETE_NAMED_ATTRIBUTE = sa.delete(_a).where(_a.c.object_id == sa.bindparam("b_id"),
                                              _a.c.name == sa.bindparam("b_name"))
#: Attributes kept in object columns too: writing one back needs the whole row (L{save}).
_COLUMN_ATTRIBUTES = frozenset({"State", "Operation Policy Name"})
_DELETE_OBJECT = sa.delete(_o).where(_o.c.id == sa.bindparam("b_id"))
_GET_OBJECT = sa.select(
    _o.c.id, _o.c.object_type, _o.c.owner, _o.c.created, _o.c.revision, _o.c.archived, _o.c.material,
    _o.c.key_id,
).where(
    _o.c.uid == sa.bindparam("b_uid")
)
_GET_ATTRIBUTES = (
    sa.select(_a.c.name, _a.c.value, _a.c.position).where(_a.c.object_id == sa.bindparam("b_id")).order_by(_a.c.id)
)
# With the object's revision read in the same statement, so a cache entry is never built from
# attributes of another revision than the one it is filed under (READ COMMITTED databases).
_GET_ATTRIBUTES_AT = (
    sa.select(_a.c.name, _a.c.value, _o.c.revision, _a.c.position)
    .select_from(_a.join(_o, _o.c.id == _a.c.object_id))
    .where(_a.c.object_id == sa.bindparam("b_id"))
    .order_by(_a.c.id)
)
_OBJECT_COLUMNS = ("id", "object_type", "owner", "created", "revision", "archived", "material", "key_id")
_ObjectRow = collections.namedtuple("_ObjectRow", _OBJECT_COLUMNS)  # type: ignore[misc]
#: L{_GET_OBJECT} for the sqlite3 module, run on its cursor (see L{_SQLTransaction._read_object}).
_GET_OBJECT_SQLITE = (f"SELECT {', '.join(_OBJECT_COLUMNS)} FROM {objects_table.name} WHERE uid = ?")
def _savepoint_name(depth: int) -> str:
    return f"kmipd_sp{depth}"


class _SQLTransaction:
    """One database transaction (see L{kmipd.store.interface.StoreTransaction}).

    The connection is checked out and the transaction begun on first use, so a request that never
    touches the store (Query, DiscoverVersions, RNG, Hash) costs no database round trip.
    """

    def __init__(self, engine: Engine, ring: KeyRing, cache: ObjectCache | None = None,
                 insert: DriverInsert | None = None, breaker: CircuitBreaker | None = None) -> None:
        self._engine = engine
        self._breaker = breaker
        self._ring = ring
        self._dialect = engine.dialect.name
        self._connection: Connection | None = None
        self._trans: Any = None
        self._cache = cache
        self._insert = insert if insert is not None else DriverInsert(engine.dialect)
        self._wrote = False  # after a write, reads bypass the object cache
        # SQLite (local, no watchdog): the object row is read on the sqlite3 cursor directly.
        self._fast_reads = self._dialect == "sqlite" and not engine.echo
        # Open savepoints, innermost last: None until the first write inside it begins it.
        self._savepoints: list[list[Any]] = []

    @property
    def _conn(self) -> Connection:
        if self._connection is None:
            breaker = self._breaker
            if breaker is not None and not breaker.admit():
                raise DatabaseUnavailable("the database is known to be unavailable; failing fast")
            try:
                with _db_errors("opening a database connection"):
                    conn = self._engine.connect()
            except BaseException:
                if breaker is not None:
                    breaker.release()  # a "down" failure has already opened it (see _on_error)
                raise
            if breaker is not None:
                breaker.success()
            try:
                with _db_errors("starting a transaction"):
                    self._trans = conn.begin()
                    # A rotation publishes its new key in the ring: every active server learns it in time.
                    self._ring.refresh_if_stale(conn)
            except BaseException:
                conn.close()
                raise
            self._connection = conn
        return self._connection

    def _end(self, commit: bool) -> None:
        """Commit or roll back (if anything was begun) and return the connection to the pool."""
        conn, trans = self._connection, self._trans
        self._connection = self._trans = None
        if conn is None:
            return
        try:
            if commit:
                with _db_errors("committing a transaction"):
                    trans.commit()
            elif trans.is_active and not conn.invalidated:
                try:
                    trans.rollback()
                except sa.exc.SQLAlchemyError as e:
                    if unavailability(e) is None:
                        _log.failure("Rolling back a store transaction failed")
        finally:
            conn.close()

    # -- helpers ---------------------------------------------------------------
    def _object_values(self, obj: ManagedObject) -> dict[str, Any]:
        material = None
        if obj.material is not None:
            self._ring.refresh_if_stale(self._conn)  # a rotation may have made another key current
            key_id, material = self._ring.seal(encode(obj.material), obj.uid.encode("utf-8"))
        else:
            key_id = None
        policy = obj.policy_name
        state = obj.state
        return {
            "object_type": int(obj.object_type),
            "owner": obj.owner,
            "policy_name": policy if isinstance(policy, str) else None,
            "state": state if isinstance(state, int) else None,
            "created": int(obj.created),
            "material": material,
            "key_id": key_id,
        }

    def _insert_object(self, values: dict[str, Any]) -> int | None:
        """Insert an object row; its id, or C{None} when its uid is taken.

        One statement: PostgreSQL and SQLite skip a taken uid (C{ON CONFLICT (uid) DO NOTHING
        RETURNING id}; a failed INSERT would abort the whole transaction on PostgreSQL); MariaDB
        rolls back only the failed statement, so its duplicate-key error is checked afterwards.
        """
        insert = INSERT_NEW_OBJECT.get(self._dialect)
        if insert is not None:
            row = self._conn.execute(insert, values).first()
            return None if row is None else int(row[0])
        try:
            result = self._conn.execute(_INSERT_OBJECT, values)
        except sa.exc.IntegrityError:
            if self._conn.execute(_ID_BY_UID, {"b_uid": values["uid"]}).first() is not None:
                return None
            raise
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def _insert_attributes(self, object_id: int, obj: ManagedObject) -> None:
        shape = self._insert.shape
        rows = [shape(attribute_row(object_id, position, name, item))
                for name, values in obj.attributes.items() for position, item in enumerate(values)
                if item is not None]  # position = Attribute Index; deleted instances leave holes
        if rows:
            self._conn.exec_driver_sql(self._insert.sql, rows)

    def _read_object(self, uid: str) -> Any:
        """The object row of C{uid} (or C{None}) on SQLite, on the sqlite3 cursor (L{_sqlite3}).

        Executing the Core statement costs ~20 us of CPU, the same query on the sqlite3 cursor ~4 us
        (bench/README.md): this read is on every Get, Encrypt, Activate...
        """
        values = self._sqlite3(_GET_OBJECT_SQLITE, (uid,), one=True)
        if values is _NOT_RUN:
            return self._conn.execute(_GET_OBJECT, {"b_uid": uid}).first()
        return None if values is None else _ObjectRow._make(values)

    def _sqlite3(self, sql: str, params: tuple[Any, ...], one: bool) -> Any:
        """The first row (C{one}) or all rows of C{sql} on this transaction's sqlite3 connection.

        Without SQLAlchemy's statement machinery. A database error (C{sqlite3.DatabaseError}:
        "database is locked" after busy_timeout, a damaged file...) goes through SQLAlchemy's error
        handling as if SQLAlchemy had run the statement: the C{handle_error} listeners (error
        metric, circuit breaker) see it once, and the caller's L{_db_errors} converts it; it is not
        run again. Any other error (this connection's sqlite3 objects not as expected) returns
        C{_NOT_RUN}: the caller runs the statement through SQLAlchemy.
        """
        conn = self._conn
        dbapi = conn.connection.dbapi_connection
        try:
            cursor = dbapi.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(sql, params)
                return cursor.fetchone() if one else cursor.fetchall()
            finally:
                cursor.close()
        except sqlite3.DatabaseError as e:  # OperationalError and the other database errors
            # What Connection.execute() does with a DBAPI error: wrap, fire handle_error, raise.
            conn._handle_dbapi_exception(e, sql, params, None, None)
            raise  # pragma: no cover -- the line above raises
        except Exception:
            return _NOT_RUN

    # -- StoreTransaction ------------------------------------------------------
    def new_uid(self) -> str:
        """A fresh Unique Identifier (a uuid4 string)."""
        return str(uuid.uuid4())

    def add(self, obj: ManagedObject) -> None:
        """Insert C{obj}; sets C{obj.sequence} and C{obj.revision} (1).

        @raise StoreError: an object with this uid exists.
        """
        if not obj.uid:
            raise StoreError("cannot add an object without a unique identifier")
        self._before_write()
        values = self._object_values(obj)
        values.update(uid=obj.uid, archived=False, revision=1)
        with _db_errors(f"adding object {obj.uid}"):
            object_id = self._insert_object(values)
            if object_id is None:
                raise StoreError(f"an object with unique identifier {obj.uid!r} already exists")
            self._insert_attributes(object_id, obj)
        obj.sequence = object_id
        obj.revision = 1

    def get(self, uid: str, *, for_update: bool = False) -> ManagedObject | None:
        """The object C{uid} (a fresh copy) or C{None}; C{for_update} row-locks it (not SQLite)."""
        stmt = _GET_OBJECT
        if for_update and self._dialect != "sqlite":
            stmt = stmt.with_for_update()
        cache = None if self._wrote else self._cache
        with _db_errors(f"reading object {uid}"):
            row = self._read_object(uid) if self._fast_reads else self._conn.execute(stmt, {"b_uid": uid}).first()
            if row is None:
                return None
            attributes = cache.get(uid, row.id, row.revision) if cache is not None else None
            if attributes is None:
                attributes = {}
                # Frozen on every read (cached or not, before or after this transaction wrote), as
                # the memory store's: a handler's change in place fails the same way everywhere.
                if cache is None:
                    for name, value, position in self._conn.execute(_GET_ATTRIBUTES, {"b_id": row.id}):
                        _place(attributes, name, position, frozen(_decode_value(value)))
                else:
                    consistent = True
                    for name, value, revision, position in self._conn.execute(_GET_ATTRIBUTES_AT, {"b_id": row.id}):
                        _place(attributes, name, position, frozen(_decode_value(value)))
                        consistent = consistent and revision == row.revision
                    if consistent:
                        cache.put(uid, row.id, row.revision, attributes)
        material = None
        if row.material is not None:
            material = decode(self._ring.unseal(row.key_id, row.material, uid.encode("utf-8"), f"object {uid}",
                                                reload=lambda: self._ring.load(self._conn)))
        return ManagedObject(
            uid=uid,
            object_type=row.object_type,
            owner=row.owner,
            attributes=attributes,
            material=material,
            created=row.created,
            sequence=row.id,
            revision=row.revision,
            archived=bool(row.archived),
        )

    def save(self, obj: ManagedObject) -> None:
        """Write back C{obj} (read with C{get}); bumps C{obj.revision}.

        @raise ConcurrentUpdateError: the stored revision is no longer C{obj.revision}.
        @raise StoreError: the object does not exist.
        """
        self._before_write()
        with _db_errors(f"saving object {obj.uid}"):
            row = self._conn.execute(_ID_BY_UID, {"b_uid": obj.uid}).first()
            if row is None:
                raise StoreError(f"no object with unique identifier {obj.uid!r} to save")
            params = self._object_values(obj)
            params.update(b_id=row.id, b_revision=obj.revision)
            result = self._conn.execute(_UPDATE_OBJECT, params)
            if result.rowcount != 1:
                raise ConcurrentUpdateError(
                    f"object {obj.uid} changed since revision {obj.revision} was read; retry"
                )
            self._conn.execute(_DELETE_ATTRIBUTES, {"b_id": row.id})
            self._insert_attributes(row.id, obj)
        obj.revision += 1

    def save_attributes(self, obj: ManagedObject, names: tuple[str, ...]) -> None:
        """Write back only the attributes C{names} of C{obj} (read with C{get}); bumps C{obj.revision}.

        For a change of a few attributes (the first Get clears C{Fresh}): one revision update
        and the named attributes' rows, instead of every attribute row and the sealed material.
        Attributes kept in object columns too (State, Operation Policy Name) go through L{save}.

        @raise ConcurrentUpdateError: the stored revision is no longer C{obj.revision}.
        @raise StoreError: the object does not exist.
        """
        if _COLUMN_ATTRIBUTES.intersection(names) or not obj.sequence:
            self.save(obj)
            return
        self._before_write()
        with _db_errors(f"saving object {obj.uid}"):
            result = self._conn.execute(_BUMP_REVISION, {"b_id": obj.sequence, "b_uid": obj.uid,
                                                         "b_revision": obj.revision})
            if result.rowcount != 1:
                if self._conn.execute(_ID_BY_UID, {"b_uid": obj.uid}).first() is None:
                    raise StoreError(f"no object with unique identifier {obj.uid!r} to save")
                raise ConcurrentUpdateError(
                    f"object {obj.uid} changed since revision {obj.revision} was read; retry"
                )
            shape = self._insert.shape
            rows: list[Any] = []
            for name in names:
                self._conn.execute(_DELETE_NAMED_ATTRIBUTE, {"b_id": obj.sequence, "b_name": name})
                rows.extend(shape(attribute_row(obj.sequence, position, name, item))
                            for position, item in enumerate(obj.attributes.get(name, ())) if item is not None)
            if rows:
                self._conn.exec_driver_sql(self._insert.sql, rows)
        obj.revision += 1

    def remove(self, uid: str) -> None:
        """Delete the object C{uid} and its attributes.

        @raise StoreError: there is no such object.
        """
        self._before_write()
        with _db_errors(f"removing object {uid}"):
            row = self._conn.execute(_ID_BY_UID, {"b_uid": uid}).first()
            if row is None:
                raise StoreError(f"no object with unique identifier {uid!r} to remove")
            self._conn.execute(_DELETE_ATTRIBUTES, {"b_id": row.id})
            self._conn.execute(_DELETE_OBJECT, {"b_id": row.id})

    def set_archived(self, uid: str, archived: bool) -> None:
        """Mark C{uid} archived (or back on-line); does not change its revision."""
        self._before_write()
        o = objects_table
        with _db_errors(f"archiving object {uid}"):
            result = self._conn.execute(sa.update(o).where(o.c.uid == uid).values(archived=bool(archived)))
        if result.rowcount != 1:
            raise StoreError(f"no object with unique identifier {uid!r}")

    def is_archived(self, uid: str) -> bool:
        """Whether C{uid} is archived."""
        o = objects_table
        with _db_errors(f"reading object {uid}"):
            row = self._conn.execute(sa.select(o.c.archived).where(o.c.uid == uid)).first()
        if row is None:
            raise StoreError(f"no object with unique identifier {uid!r}")
        return bool(row.archived)

    def execute(self, statement: Any, parameters: Any = None, *, write: bool = True) -> Any:
        """Run a Core statement on a table outside the object schema in this transaction (node
        state: L{kmipd.store.tickets}, L{kmipd.store.node_state}); savepoints apply to writes."""
        if write:
            self._before_write()
        with _db_errors("node state"):
            return self._conn.execute(statement, parameters)

    def _before_write(self) -> None:
        """Mark the transaction written and begin every savepoint not begun yet (outermost first)."""
        self._wrote = True
        for depth, level in enumerate(self._savepoints, 1):
            if not level[0]:
                if self._dialect == "sqlite":
                    dbapi = self._conn.connection.dbapi_connection
                    if dbapi is not None and not dbapi.in_transaction:
                        with _db_errors("starting a transaction"):
                            self._conn.exec_driver_sql("BEGIN IMMEDIATE")
                with _db_errors("starting a savepoint"):
                    self._conn.exec_driver_sql(f"SAVEPOINT {_savepoint_name(depth)}")
                level[0] = True

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an exception inside rolls back only what was done inside.

        Lazy: the C{SAVEPOINT} is issued before the first write inside the block, so a block
        that only reads costs no statement (and, on SQLite, does not take the write lock). The
        savepoint is named by its nesting depth (C{kmipd_sp1}, ...), issued as plain SQL: the
        same few statements every time, nothing compiled per request (SQLAlchemy's
        C{begin_nested()} names each savepoint anew and compiles its statement each time).
        """
        level = [False]
        self._savepoints.append(level)
        depth = len(self._savepoints)
        try:
            yield
        except BaseException:
            self._savepoints.pop()
            if level[0] and self._live():
                name = _savepoint_name(depth)
                with _db_errors("rolling back a savepoint"):
                    self._conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {name}")
                    self._conn.exec_driver_sql(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            self._savepoints.pop()
            if level[0] and self._live():
                with _db_errors("releasing a savepoint"):
                    self._conn.exec_driver_sql(f"RELEASE SAVEPOINT {_savepoint_name(depth)}")

    def _live(self) -> bool:
        """Whether the transaction can still take statements (not ended, connection not lost)."""
        conn = self._connection
        return conn is not None and not conn.invalidated and self._trans is not None and self._trans.is_active

    def locate(self, query: LocateQuery) -> list[Candidate]:
        """Objects matching every criterion of C{query}, newest (highest sequence) first."""
        prepared = locate_statement(self._dialect, query)
        if prepared is None:
            return []
        stmt, params = prepared
        with _db_errors("locating objects"):
            rows: Any = _NOT_RUN
            if self._fast_reads:  # SQLite: on the sqlite3 cursor, the SQL text compiled once per shape
                rows = self._sqlite3(*sqlite3_statement(stmt, params, self._engine.dialect), one=False)
            if rows is _NOT_RUN:
                rows = self._conn.execute(stmt, params).all()
        return [Candidate(uid, object_type, owner, policy) for uid, object_type, owner, policy in rows]

class SQLObjectStore:
    """The L{ObjectStore} on a SQL database (see the module docstring).

    Opening checks the schema revision: a brand-new database (no kmipd tables) is initialised;
    a missing, older or unknown revision raises L{SchemaError}.
    """

    def __init__(self, url: str, master_key: bytes, *, pool_size: int = 4, echo: bool = False,
                 cache_size: int = 4096, deadlines: DatabaseDeadlines | None = None,
                 key_path: str = "the master key file") -> None:
        if not isinstance(master_key, (bytes, bytearray)) or len(master_key) != MASTER_KEY_SIZE:
            raise StoreError(f"the master key must be {MASTER_KEY_SIZE} bytes")
        self.url = url
        self.deadlines = deadlines if deadlines is not None else DatabaseDeadlines()
        refuse_foreign_schema(url)  # before the engine: its SQLite pragmas would write to the file
        #: Open while the database is known to be unreachable (see L{kmipd.store.deadlines}).
        self.breaker = CircuitBreaker(self.deadlines.retry_interval, url=safe_url(url))
        self._engine = create_store_engine(url, pool_size=pool_size, echo=echo, deadlines=self.deadlines,
                                           breaker=self.breaker)
        event.listen(self._engine, "handle_error", self._on_error)
        self._cache = ObjectCache(cache_size)
        self._insert = DriverInsert(self._engine.dialect)
        try:
            self._check_schema()
            #: The master keys this store seals and opens with (see L{kmipd.store.keyring}).
            self.ring = self._open_ring(bytes(master_key), key_path)
        except BaseException:
            self._engine.dispose()
            raise

    def _on_error(self, context: Any) -> None:
        """Open the circuit breaker when a round trip shows the database unreachable."""
        if context.is_pre_ping:
            return  # the pool reconnects; a failed reconnection is reported on its own
        exc = context.sqlalchemy_exception
        if context.is_disconnect or (exc is not None and unavailability(exc) == "down"):
            self.breaker.failure(_first_line(exc) if exc is not None else "connection lost")

    @property
    def serialises_writers(self) -> bool:
        """SQLite runs one writer at a time (L{ObjectStore.serialises_writers}); the others do not."""
        return self._engine.dialect.name == "sqlite"

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tests and tools)."""
        return self._engine

    def _check_schema(self) -> None:
        # migrations (Alembic) load only when a store opens a database, not on import
        from .migrations import VERSION_TABLE, current_revision, head_revision, known_revisions

        head = head_revision()
        where = f"database at {safe_url(self.url)}"
        with _db_errors(f"opening {where}"), self._engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            refuse_foreign_schema(self.url, tables)
            fresh = not ({VERSION_TABLE, objects_table.name, attributes_table.name} & tables)
            revision = None if fresh else current_revision(conn)
        if fresh:
            try:
                self.create_schema()
                _log.info("Initialised a new kmipd database at {url}", url=safe_url(self.url))
                return
            except StoreError:
                # Another process may have initialised it at the same moment: check again.
                with _db_errors(f"opening {where}"), self._engine.connect() as conn:
                    revision = current_revision(conn)
                if revision != head:
                    raise
        if revision == head:
            return
        if revision is None:
            raise SchemaError(
                f"{where} has kmipd tables but no schema revision, this kmipd needs {head}: "
                "run `kmipd-admin db upgrade` (or restore the version table)"
            )
        if revision in known_revisions():
            raise SchemaError(
                f"{where} has schema revision {revision}, this kmipd needs {head}: "
                "run `kmipd-admin db upgrade`"
            )
        raise SchemaError(
            f"{where} has schema revision {revision}, this kmipd needs {head}: "
            f"run `kmipd-admin db upgrade` ({revision} is unknown to this kmipd: was the database "
            "upgraded by a newer version?)"
        )

    def _open_ring(self, key: bytes, key_path: str) -> KeyRing:
        where = f"database at {safe_url(self.url)}"
        for attempt in (0, 1):  # twice: another server may adopt its key into an empty ring meanwhile
            try:
                with _db_errors(f"reading the master-key ring of the {where}"), self._engine.begin() as conn:
                    return open_ring(conn, key, where, key_path)
            except StoreError:
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def create_schema(self) -> None:
        """Create (or upgrade) the schema to this kmipd's revision via the migrations."""
        from .migrations import upgrade

        with _db_errors(f"initialising database at {safe_url(self.url)}"), self._engine.begin() as conn:
            upgrade(self.url, connection=conn)

    @contextmanager
    def transaction(self) -> Iterator[_SQLTransaction]:
        """One transaction: commit on normal exit, roll back on exception."""
        tx = _SQLTransaction(self._engine, self.ring, self._cache, self._insert, self.breaker)
        try:
            yield tx
        except BaseException:
            tx._end(commit=False)
            raise
        tx._end(commit=True)

    def close(self) -> None:
        """Release every pooled connection (and forget cached objects)."""
        self._cache.clear()
        self._engine.dispose()
