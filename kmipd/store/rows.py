# -*- test-case-name: tests.store.test_contract -*-
"""Rows as the SQL store's write path inserts them (L{kmipd.store.sql}): the object row unless its
uid is taken, and the attribute rows, handed to the DBAPI as tuples."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from ..ttlv import Item, encode
from .models import _canonical_key, attributes_table, int_value, name_value_key, objects_table

__all__ = ["ATTRIBUTE_COLUMNS", "INSERT_NEW_OBJECT", "DriverInsert", "attribute_row"]

_o = objects_table
_INSERT_ATTRIBUTES = attributes_table.insert()
#: An object row unless its uid is taken (then no row returned), per dialect
#: (L{kmipd.store.sql._SQLTransaction._insert_object})..
INSERT_NEW_OBJECT = {
    "postgresql": postgresql.insert(_o).on_conflict_do_nothing(index_elements=[_o.c.uid]).returning(_o.c.id),
    "sqlite": sqlite.insert(_o).on_conflict_do_nothing(index_elements=[_o.c.uid]).returning(_o.c.id),
}

#: Attribute row columns in the order L{attribute_row} produces them.
ATTRIBUTE_COLUMNS = ("object_id", "name", "position", "tag", "item_type", "value", "match_key", "alt_key",
                     "int_value")


class DriverInsert:
    """The attribute INSERT compiled once for a dialect, run with C{exec_driver_sql}.

    Executing the Core statement with ~20 parameter dictionaries costs about twice as much
    CPU as handing the DBAPI the same rows as tuples (bench/README.md, Create).
    """

    def __init__(self, dialect: Any) -> None:
        compiled = _INSERT_ATTRIBUTES.compile(dialect=dialect, column_keys=list(ATTRIBUTE_COLUMNS))
        self.sql = compiled.string
        order = compiled.positiontup
        #: Turns an L{attribute_row} tuple into the DBAPI's parameter shape (tuple or dict).
        self.shape: Callable[[tuple[Any, ...]], tuple[Any, ...] | dict[str, Any]]
        if order is None:  # named parameter style: pass dictionaries keyed by bind name
            names = [compiled.binds[k].key if k in compiled.binds else k for k in ATTRIBUTE_COLUMNS]
            self.shape = lambda row: dict(zip(names, row, strict=True))
        else:
            index = [ATTRIBUTE_COLUMNS.index(k) for k in order]
            self.shape = (lambda row: row) if index == list(range(len(index))) else (
                lambda row: tuple(row[i] for i in index))


def attribute_row(object_id: int, position: int, name: str, item: Item) -> tuple[Any, ...]:
    """One attribute row, columns in L{ATTRIBUTE_COLUMNS} order (see L{kmipd.store.models.index_columns})."""
    encoded = encode(item)
    return (object_id, name, position, item.tag, int(item.type), encoded, _canonical_key(encoded),
            name_value_key(item) if name == "Name" else None, int_value(item))
