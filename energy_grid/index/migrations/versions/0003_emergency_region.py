"""Emergency mode is switched per region (EmergencyModeChanged's regionId).

Revision ID: 0003_emergency_region
Revises: 0002_dr_event_region
Create Date: 2026-11-23
"""

from __future__ import annotations

from energy_grid.index.migrations import build

revision = "0003_emergency_region"
down_revision = "0002_dr_event_region"

upgrade, downgrade = build.steps(revision)
