"""The meters' standing orders settled per interval (EnergyAuction's MeteredOrdersSettled).

Revision ID: 0004_metered_orders_settled
Revises: 0003_emergency_region
Create Date: 2026-11-24
"""

from __future__ import annotations

from energy_grid.index.migrations import build

revision = "0004_metered_orders_settled"
down_revision = "0003_emergency_region"

upgrade, downgrade = build.steps(revision)
