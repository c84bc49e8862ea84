"""The regions' committed forecasts and their scores (ForecastLedger's ForecastCommitted and
ForecastScored): each forecast's P10, P50 and P90 per interval, seen against what the region's meters
metered.

Revision ID: 0010_forecasts
Revises: 0009_zone_roles
Create Date: 2026-11-27
"""

from __future__ import annotations

from energy_grid.index.migrations import build
from energy_grid.index.models import FORECASTS_REVISION, ZONE_ROLES_REVISION

revision = FORECASTS_REVISION
down_revision = ZONE_ROLES_REVISION

upgrade, downgrade = build.steps(revision)
