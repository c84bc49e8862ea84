"""Demand-response events carry the grid region whose meters take part (EventStarted's regionId).

Revision ID: 0002_dr_event_region
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from energy_grid.index.migrations import build

revision = "0002_dr_event_region"
down_revision = "0001"

upgrade, downgrade = build.steps(revision)
