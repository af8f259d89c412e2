"""Initial schema: kmipd_objects and kmipd_attributes.

Revision ID: 0001_initial
Revises:
Create Date: 2024-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_Blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Key = sa.LargeBinary(32).with_variant(mysql.VARBINARY(32), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "kmipd_objects",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(255), nullable=False),
        sa.Column("object_type", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(1024), nullable=True),
        sa.Column("policy_name", sa.String(255), nullable=True),
        sa.Column("state", sa.Integer, nullable=True),
        sa.Column("archived", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("material", _Blob, nullable=True),
        sa.UniqueConstraint("uid", name="uq_kmipd_objects_uid"),
    )
    op.create_index("ix_kmipd_objects_type", "kmipd_objects", ["object_type"])
    op.create_index("ix_kmipd_objects_state", "kmipd_objects", ["state"])
    op.create_table(
        "kmipd_attributes",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column(
            "object_id",
            _Id,
            sa.ForeignKey("kmipd_objects.id", ondelete="CASCADE", name="fk_kmipd_attributes_object"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("tag", sa.Integer, nullable=False),
        sa.Column("item_type", sa.Integer, nullable=False),
        sa.Column("value", _Blob, nullable=False),
        sa.Column("match_key", _Key, nullable=False),
        sa.Column("alt_key", _Key, nullable=True),
        sa.Column("int_value", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_kmipd_attributes_object", "kmipd_attributes", ["object_id", "name", "position"])
    op.create_index("ix_kmipd_attributes_match", "kmipd_attributes", ["name", "match_key", "object_id"])
    op.create_index("ix_kmipd_attributes_alt", "kmipd_attributes", ["name", "alt_key", "object_id"])
    op.create_index("ix_kmipd_attributes_int", "kmipd_attributes", ["name", "int_value", "object_id"])


def downgrade() -> None:
    op.drop_table("kmipd_attributes")
    op.drop_table("kmipd_objects")
