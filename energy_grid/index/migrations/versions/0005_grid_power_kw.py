"""Grid power in kW: a load report's capacity and demand (GridOperations' LoadReported) are kW.

The rows indexed before carried MW: they are converted (× 1,000), so the load history reads the
same power before and after. Taking the revision back converts to whole MW, rounded down (a report
below 1 MW reads 0).

Revision ID: 0005_grid_power_kw
Revises: 0004_metered_orders_settled
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

from energy_grid.index.models import GRID_POWER_KW_REVISION, LoadReported

revision = GRID_POWER_KW_REVISION
down_revision = "0004_metered_orders_settled"

KW_PER_MW = 1_000
TABLE = LoadReported.__tablename__
RENAMED = (("capacity_mw", "capacity_kw"), ("demand_mw", "demand_kw"))


def upgrade() -> None:
    for former, name in RENAMED:
        op.alter_column(TABLE, former, new_column_name=name)
    # MW values are at most 10,000,000: × 1,000 stays a 64-bit integer on SQLite.
    op.execute(f"UPDATE {TABLE} SET " + ", ".join(f"{name} = {name} * {KW_PER_MW}" for _, name in RENAMED))


def downgrade() -> None:
    # PostgreSQL's NUMERIC divides exactly; div() rounds down as SQLite's integer division does.
    exact_division = op.get_bind().dialect.name == "postgresql"
    whole_mw = "div({0}, {1})" if exact_division else "{0} / {1}"
    op.execute(f"UPDATE {TABLE} SET " + ", ".join(f"{name} = " + whole_mw.format(name, KW_PER_MW) for _, name in RENAMED))
    for former, name in RENAMED:
        op.alter_column(TABLE, name, new_column_name=former)
