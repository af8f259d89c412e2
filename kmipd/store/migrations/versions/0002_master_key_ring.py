"""Master-key ring: kmipd_objects.key_id, kmipd_master_keys, kmipd_master_key_wraps.

Existing rows get key_id NULL; the first server (or rotation) that opens the database records
its master key as the current one and stamps those rows with it (L{kmipd.store.keyring}).

Revision ID: 0002_master_key_ring
Revises: 0001_initial
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002_master_key_ring"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_Blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite too): recreating kmipd_objects would cascade to its attributes.
    op.add_column("kmipd_objects", sa.Column("key_id", sa.String(32), nullable=True))
    op.create_table(
        "kmipd_master_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "kmipd_master_key_wraps",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("wrapping_key_id", sa.String(32), primary_key=True),
        sa.Column("wrapped", _Blob, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kmipd_master_key_wraps")
    op.drop_table("kmipd_master_keys")
    with op.batch_alter_table("kmipd_objects") as batch:
        batch.drop_column("key_id")
