"""The event index's tables: one per event kind, its blocks and its cursor.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from energy_grid.index.migrations import build

revision = "0001"
down_revision = None

upgrade, downgrade = build.steps(revision)
