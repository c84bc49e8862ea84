"""Each zone's role in a market cleared across zones (MarketZones' ZoneCleared): whether it traded at
the bus price or its link held it below (export-bound) or above (import-bound) it. Rows indexed
before have none.

Revision ID: 0009_zone_roles
Revises: 0008_uint256_values
Create Date: 2026-11-27
"""

from __future__ import annotations

from energy_grid.index.migrations import build
from energy_grid.index.models import UINT256_VALUES_REVISION, ZONE_ROLES_REVISION

revision = ZONE_ROLES_REVISION
down_revision = UINT256_VALUES_REVISION

upgrade, downgrade = build.steps(revision)
