"""The attribute indexes on C{alt_key} and C{int_value} hold only the rows that have one (partial
indexes on SQLite and PostgreSQL; MariaDB/MySQL have none, their indexes are unchanged).

Most attribute rows have neither column set (C{alt_key}: Name rows only; C{int_value}:
integer-typed attributes), so every Create wrote index entries Locate never reads. The upgrade
rebuilds the two indexes: on a large database it takes a while (one pass over
C{kmipd_attributes}) and holds the table's write lock meanwhile.

Revision ID: 0004_partial_indexes
Revises: 0003_node_state
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_partial_indexes"
down_revision = "0003_node_state"
branch_labels = None
depends_on = None

_TABLE = "kmipd_attributes"
#: index name -> (columns, the rows it holds)
_INDEXES = {
    "ix_kmipd_attributes_alt": (["name", "alt_key", "object_id"], "alt_key IS NOT NULL"),
    "ix_kmipd_attributes_int": (["name", "int_value", "object_id"], "int_value IS NOT NULL"),
}


def _partial() -> bool:
    return op.get_bind().dialect.name in ("sqlite", "postgresql")


def upgrade() -> None:
    if not _partial():
        return
    for name, (columns, condition) in _INDEXES.items():
        op.drop_index(name, table_name=_TABLE)
        op.create_index(name, _TABLE, columns, sqlite_where=sa.text(condition),
                        postgresql_where=sa.text(condition))


def downgrade() -> None:
    if not _partial():
        return
    for name, (columns, _condition) in _INDEXES.items():
        op.drop_index(name, table_name=_TABLE)
        op.create_index(name, _TABLE, columns)
