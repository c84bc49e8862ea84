"""Every column filled from a uint256 or int256 event argument is 256 bits wide: ids, periods,
times and a zone's net export, kept in 64 bits before, take whatever value the contracts emit.

Revision ID: 0008_uint256_values
Revises: 0007_zone_links
Create Date: 2026-11-27
"""

from __future__ import annotations

from energy_grid.index.migrations import build
from energy_grid.index.models import UINT256_VALUES_REVISION, ZONE_LINKS_REVISION

revision = UINT256_VALUES_REVISION
down_revision = ZONE_LINKS_REVISION

upgrade, downgrade = build.steps(revision)
