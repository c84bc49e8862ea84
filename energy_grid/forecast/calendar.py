"""The calendar of a series on the market's 900 s grid (UTC), shared by validation and features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, INTERVALS_PER_DAY

SATURDAY = 5  # day_of_week: Monday is 0
THURSDAY = 3  # 1 January 1970, day 0 of unix time

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Calendar:
    """Each interval's time of day (an interval number, 0 at midnight UTC), day (since 1970) and
    day of the week (Monday 0)."""

    time_of_day: IntArray
    day: IntArray
    day_of_week: IntArray

    @property
    def weekend(self) -> NDArray[np.bool_]:
        return self.day_of_week >= SATURDAY


def calendar(start_s: int, intervals: int) -> Calendar:
    """The calendar of `intervals` intervals from `start_s`, which must be an interval's start."""
    if start_s % INTERVAL_SECONDS:
        raise ValueError(f"a series starts at an interval's start (a multiple of {INTERVAL_SECONDS} s), not at {start_s}")
    interval = start_s // INTERVAL_SECONDS + np.arange(intervals, dtype=np.int64)
    day = interval * INTERVAL_SECONDS // DAY_SECONDS
    return Calendar(interval % INTERVALS_PER_DAY, day, (day + THURSDAY) % 7)
