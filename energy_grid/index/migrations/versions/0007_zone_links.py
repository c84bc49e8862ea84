"""The zones' regions and their links' ratings (MarketZones' ZoneAdded and ZoneRatingUpdated): with
the operators' limits they give the limits in force for each market and zone.

Revision ID: 0007_zone_links
Revises: 0006_market_zones
Create Date: 2026-11-26
"""

from __future__ import annotations

from energy_grid.index.migrations import build
from energy_grid.index.models import ZONE_LINKS_REVISION

revision = ZONE_LINKS_REVISION
down_revision = "0006_market_zones"

upgrade, downgrade = build.steps(revision)
