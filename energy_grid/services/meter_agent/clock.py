"""The chain's clock as the gateway publishes it: the latest block's number and time, retained on
`energy-grid/<chainId>/clock` (energy_grid.services.gateway.messages.clock_message).

A meter agent stamps its readings by it, never by the wall's clock: a local chain's clock runs 60
times the wall's in `make live`, and a reading stamped with the wall's time would be refused there
as too old. The broker hands a new subscriber the retained message at once; until one has come the
agent waits. A message that goes back (a node restarted on an older state) is taken as it is: the
chain's clock is what the gateway checks readings against.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from energy_grid.services.gateway.messages import parse_clock

log = logging.getLogger("energy_grid.meter_agent")


@dataclass(frozen=True)
class ChainTime:
    block_number: int
    timestamp_s: int


class ChainClockView:
    """The latest clock message; fed on the MQTT client's thread, read on the agent's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: ChainTime | None = None

    def take(self, payload: bytes) -> None:
        """A clock message; one that does not read as one is logged and ignored."""
        try:
            block_number, timestamp_s = parse_clock(payload)
        except ValueError as err:
            log.warning("ignored a clock message: %s", err)
            return
        with self._lock:
            self._latest = ChainTime(block_number, timestamp_s)

    def now(self) -> ChainTime | None:
        with self._lock:
            return self._latest


__all__ = ["ChainClockView", "ChainTime"]
