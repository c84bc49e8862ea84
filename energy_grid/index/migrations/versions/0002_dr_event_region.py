"""Demand-response events carry the grid region whose meters take part (EventStarted's regionId).

Revision ID: 0002_dr_event_region
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_dr_event_region"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows indexed before have no region on chain: 0 marks them (the server default), new rows carry theirs.
    with op.batch_alter_table("dr_event_started", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region_id", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("dr_event_started", schema=None) as batch_op:
        batch_op.drop_column("region_id")
