"""Node state shared by every node: Login / Delegated Login tickets (kmipd_tickets,
kmipd_ticket_limits), Set Defaults / Set Constraints (kmipd_node_settings) and the Hashed Password
replay check (kmipd_credential_timestamps).

Tickets are kept as the SHA-256 of their value (L{kmipd.store.tickets}); settings as TTLV
(L{kmipd.store.node_state}). Nothing to migrate: a node kept all of it in memory before this
revision, so it ends with the upgrade's restart.

Revision ID: 0003_node_state
Revises: 0002_master_key_ring
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003_node_state"
down_revision = "0002_master_key_ring"
branch_labels = None
depends_on = None

_Blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "kmipd_tickets",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(1024), nullable=True),
        sa.Column("owner_key", sa.String(64), nullable=False),
        sa.Column("group_names", sa.Text, nullable=True),
        sa.Column("rights", sa.Text, nullable=True),
        sa.Column("expires", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_kmipd_tickets_expires", "kmipd_tickets", ["expires"])
    op.create_index("ix_kmipd_tickets_owner", "kmipd_tickets", ["owner_key", "expires"])
    op.create_table(
        "kmipd_ticket_limits",
        sa.Column("digest", sa.String(64),
                  sa.ForeignKey("kmipd_tickets.digest", ondelete="CASCADE", name="fk_kmipd_ticket_limits_ticket"),
                  primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("remaining", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "kmipd_node_settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", _Blob, nullable=False),
    )
    op.create_table(
        "kmipd_credential_timestamps",
        sa.Column("user_key", sa.String(64), primary_key=True),
        sa.Column("last", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kmipd_credential_timestamps")
    op.drop_table("kmipd_node_settings")
    op.drop_table("kmipd_ticket_limits")
    op.drop_index("ix_kmipd_tickets_owner", table_name="kmipd_tickets")
    op.drop_index("ix_kmipd_tickets_expires", table_name="kmipd_tickets")
    op.drop_table("kmipd_tickets")
