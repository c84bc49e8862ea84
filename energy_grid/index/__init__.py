"""The event index: the contracts' events in SQL (SQLite by default, PostgreSQL by URL), kept in
step with the chain by a follower that resumes from its cursor and rolls back reorganized blocks.

    index = EventIndex("sqlite:///index.sqlite")
    index.upgrade()                                  # the shipped Alembic migrations
    follower = Follower(index, GridClient.from_manifest(manifest, rpc_url), poll_interval_s=1.0)
    follower.start()                                 # a daemon thread; follower.stop() ends it
"""

from __future__ import annotations

from energy_grid.index.follower import Follower
from energy_grid.index.store import EventIndex, IndexChainMismatchError, IndexedRange

__all__ = ["EventIndex", "Follower", "IndexChainMismatchError", "IndexedRange"]
