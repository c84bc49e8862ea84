"""The event index: the contracts' events in SQL, kept in step with the chain. (Being written: issue 11.)"""

from __future__ import annotations

import threading
from typing import Any


class EventIndex:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def upgrade(self) -> None:
        """Brings the database's schema to the newest migration."""


class Follower:
    def __init__(self, index: EventIndex, client: Any, poll_interval_s: float = 1.0) -> None:
        self.index = index
        self.client = client
        self.poll_interval_s = poll_interval_s
        self._stop = threading.Event()

    def start(self) -> None:
        """Follows the chain in a background thread."""

    def stop(self) -> None:
        self._stop.set()
