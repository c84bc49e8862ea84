"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from __future__ import annotations

from energy_grid.index.migrations import build

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}

# Adds what the models mark with this revision (info=added_in(revision)). A revision that changes
# or drops what an earlier one made writes its own upgrade() and downgrade() instead.
upgrade, downgrade = build.steps(revision)
