"""The zones of the reading market: each zone's result when a market clears across zones and the
operators' link limits (MarketZones' ZoneCleared and LinkLimitsSet).

Revision ID: 0006_market_zones
Revises: 0005_grid_power_kw
Create Date: 2026-11-25
"""

from __future__ import annotations

from energy_grid.index.migrations import build
from energy_grid.index.models import ZONES_REVISION

revision = ZONES_REVISION
down_revision = "0005_grid_power_kw"

upgrade, downgrade = build.steps(revision)
