# -*- test-case-name: tests.store.test_contract -*-
"""Locate on the SQL store: one statement per query shape, values as bound parameters."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from .interface import LocateQuery, StoreError
from .models import attributes_table, is_partial_name, match_key, name_value_key, objects_table

__all__ = ["DESTROYED_STATES", "locate_statement", "sqlite3_statement"]

#: C{State} values counted as "destroyed storage" by Locate (Destroyed, Destroyed Compromised).
DESTROYED_STATES = (5, 6)
_UINT64 = 2**64 - 1


def locate_statement(dialect: str, query: LocateQuery) -> tuple[sa.Select[Any], dict[str, Any]] | None:
    """The statement for C{query}'s shape (built once per shape) and its parameter values.

    Building a SQLAlchemy statement costs more than running it on an indexed table, so the
    statement depends only on which criteria are present (object types and states, storage
    flags, each filter's attribute name and kind); values travel as bound parameters.
    """
    shape: list[Any] = [dialect, tuple(int(t) for t in query.object_types),
                        tuple(int(s) for s in query.states),
                        query.include_online, query.include_destroyed, query.include_archived]
    params: dict[str, Any] = {}
    for i, f in enumerate(query.attributes):
        key = f"f{i}"
        params[key + "n"] = f.name
        if f.value is None:
            shape.append("present")
        elif f.mask:
            if not isinstance(f.value.value, int) or isinstance(f.value.value, bool):
                raise StoreError(f"mask filter on {f.name!r} needs an integer value")
            mask = int(f.value.value)
            params[key + "m"] = mask
            params[key + "r"] = mask & _UINT64 if dialect in ("mysql", "mariadb") else mask
            shape.append("mask")
        elif f.name == "Name" and is_partial_name(f.value):
            params[key + "v"] = name_value_key(f.value)
            shape.append("name")
        else:
            params[key + "v"] = match_key(f.value)
            shape.append("equal")
    for i, r in enumerate(query.ranges):
        key = f"r{i}"
        params[key + "n"] = r.name
        if r.low is not None:
            params[key + "l"] = int(r.low)
        if r.high is not None:
            params[key + "h"] = int(r.high)
        shape.append((r.low is not None, r.high is not None))
    cache_key = tuple(shape)
    stmt = _LOCATE_STATEMENTS.get(cache_key, _MISSING)  # one lookup: another thread may evict it
    if stmt is _MISSING:
        stmt = _build_locate_statement(query)
        _remember(_LOCATE_STATEMENTS, cache_key, stmt)
    return None if stmt is None else (stmt, params)


_LOCATE_CACHE_SIZE = 512
_LOCATE_STATEMENTS: dict[tuple[Any, ...], sa.Select[Any] | None] = {}
_MISSING: Any = object()
#: Serialises the evictions and insertions of the caches shared by the pool threads.
_CACHE_LOCK = threading.Lock()


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    """File C{value} under C{key}, first dropping the oldest entry when C{cache} is full."""
    with _CACHE_LOCK:
        if len(cache) >= _LOCATE_CACHE_SIZE:
            cache.pop(next(iter(cache)), None)
        cache[key] = value


def _build_locate_statement(query: LocateQuery) -> sa.Select[Any] | None:
    """The Locate statement for C{query}'s shape, with bound parameters named as in C{locate}."""
    o, a = objects_table, attributes_table
    stmt = sa.select(o.c.uid, o.c.object_type, o.c.owner, o.c.policy_name)
    if query.object_types:
        stmt = stmt.where(o.c.object_type.in_([int(t) for t in query.object_types]))
    if query.states:
        stmt = stmt.where(o.c.state.in_([int(s) for s in query.states]))
    storage = _storage_condition(query)
    if storage is False:
        return None
    if storage is not True:
        stmt = stmt.where(storage)
    for i, f in enumerate(query.attributes):
        key = f"f{i}"
        sub = sa.select(a.c.object_id).where(a.c.name == sa.bindparam(key + "n", type_=sa.String))
        if f.value is None:
            pass
        elif f.mask:
            mask = sa.bindparam(key + "m", type_=sa.BigInteger)
            # IS NOT NULL (implied anyway) lets the planner use the partial int_value index
            sub = sub.where(a.c.int_value.is_not(None),
                            a.c.int_value.op("&")(mask) == sa.bindparam(key + "r", type_=sa.BigInteger))
        elif f.name == "Name" and is_partial_name(f.value):
            sub = sub.where(a.c.alt_key == sa.bindparam(key + "v", type_=a.c.alt_key.type))
        else:
            sub = sub.where(a.c.match_key == sa.bindparam(key + "v", type_=a.c.match_key.type))
        stmt = stmt.where(o.c.id.in_(sub))
    for i, r in enumerate(query.ranges):
        key = f"r{i}"
        sub = sa.select(a.c.object_id).where(a.c.name == sa.bindparam(key + "n", type_=sa.String),
                                             a.c.int_value.is_not(None))
        if r.low is not None:
            sub = sub.where(a.c.int_value >= sa.bindparam(key + "l", type_=sa.BigInteger))
        if r.high is not None:
            sub = sub.where(a.c.int_value <= sa.bindparam(key + "h", type_=sa.BigInteger))
        stmt = stmt.where(o.c.id.in_(sub))
    return stmt.order_by(o.c.id.desc())


def _storage_condition(query: LocateQuery) -> Any:
    """The Storage Status Mask condition: C{True} (no condition), C{False} (nothing), or SQL."""
    o = objects_table
    destroyed = sa.func.coalesce(o.c.state, 0).in_(DESTROYED_STATES)
    parts = []
    if query.include_online and query.include_destroyed:
        parts.append(o.c.archived == sa.false())
    elif query.include_online:
        parts.append(sa.and_(o.c.archived == sa.false(), sa.not_(destroyed)))
    elif query.include_destroyed:
        parts.append(sa.and_(o.c.archived == sa.false(), destroyed))
    if query.include_archived:
        if parts and query.include_online and query.include_destroyed:
            return True
        parts.append(o.c.archived == sa.true())
    if not parts:
        return False
    return sa.or_(*parts) if len(parts) > 1 else parts[0]


#: id(statement) -> (statement, SQL text for the sqlite3 module, parameter names in order, fixed
#: values, bind processors in order or None).
_SQLITE3: dict[int, tuple[sa.Select[Any], str, tuple[str, ...], dict[str, Any], tuple[Any, ...] | None]] = {}


def sqlite3_statement(stmt: sa.Select[Any], params: dict[str, Any], dialect: Any) -> tuple[str, tuple[Any, ...]]:
    """C{stmt} (from L{locate_statement}) as SQL text and positional values for the sqlite3 module.

    Compiled once per statement, with its IN lists (fixed per shape) expanded; executing the Core
    statement compiles nothing either, but expands them and builds its parameters per call. Values
    go through the types' bind processors as in a Core execution (binary keys as C{sqlite3.Binary}).
    """
    entry = _SQLITE3.get(id(stmt))
    if entry is None or entry[0] is not stmt:
        compiled = stmt.compile(dialect=dialect)
        state = compiled.construct_expanded_state(params)
        names = tuple(state.positiontup or ())
        fixed = {name: value for name, value in state.parameters.items() if name not in params}
        by_name = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                   for name, bind in compiled.binds.items()}
        by_name.update(state.processors)  # the expanded IN-list parameters'
        found = tuple(by_name.get(name) for name in names)
        entry = (stmt, state.statement, names, fixed, found if any(found) else None)
        _remember(_SQLITE3, id(stmt), entry)
    _, sql, names, fixed, processors = entry
    values = tuple(params[name] if name in params else fixed[name] for name in names)
    if processors is not None:
        values = tuple(value if process is None else process(value)
                       for process, value in zip(processors, values, strict=True))
    return sql, values
