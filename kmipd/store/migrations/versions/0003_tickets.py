"""Login / Delegated Login tickets shared by every node: kmipd_tickets, kmipd_ticket_limits.

Tickets are kept as the SHA-256 of their value (L{kmipd.store.tickets}); nothing to migrate (a node
kept its tickets in memory before this revision, so they end with the upgrade's restart).

Revision ID: 0003_tickets
Revises: 0002_master_key_ring
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_tickets"
down_revision = "0002_master_key_ring"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kmipd_tickets",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(1024), nullable=True),
        sa.Column("group_names", sa.Text, nullable=True),
        sa.Column("rights", sa.Text, nullable=True),
        sa.Column("expires", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_kmipd_tickets_expires", "kmipd_tickets", ["expires"])
    op.create_table(
        "kmipd_ticket_limits",
        sa.Column("digest", sa.String(64),
                  sa.ForeignKey("kmipd_tickets.digest", ondelete="CASCADE", name="fk_kmipd_ticket_limits_ticket"),
                  primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("remaining", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kmipd_ticket_limits")
    op.drop_index("ix_kmipd_tickets_expires", table_name="kmipd_tickets")
    op.drop_table("kmipd_tickets")
