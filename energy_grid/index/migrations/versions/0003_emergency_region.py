"""Emergency mode is switched per region (EmergencyModeChanged's regionId).

Revision ID: 0003_emergency_region
Revises: 0002_dr_event_region
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_emergency_region"
down_revision = "0002_dr_event_region"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows indexed before were grid-wide switches: 0 marks them (the server default).
    with op.batch_alter_table("grid_emergency_mode_changed", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region_id", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.create_index(batch_op.f("ix_grid_emergency_mode_changed_region_id"), ["region_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grid_emergency_mode_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_emergency_mode_changed_region_id"))
        batch_op.drop_column("region_id")
