"""What a forecaster must not learn from: intervals with no reading, a meter stuck on one value, and
values far outside what the same time of day of the same kind of day (weekday or weekend) usually
sees. They are flagged, counted and left out of
training and calibration; the series itself is not changed, so a flagged value stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from energy_grid.domain.units import INTERVALS_PER_DAY
from energy_grid.forecast.calendar import calendar

# A meter that repeats one non-zero value for two hours is stuck (real load wanders by at least a
# watt-hour; a run of zeros is a night without sun, or a house away, and stays usable).
STUCK_INTERVALS = 8
MIN_STUCK_RUN = 2
# How far from its time of day's median a value may lie, in robust standard deviations (1.4826 ×
# the median absolute deviation), before it is an outlier. Robust statistics, so that the spikes
# being looked for do not widen the yardstick.
OUTLIER_DEVIATIONS = 6.0
MAD_TO_SIGMA = 1.4826
# Too few days of a time of day (and kind of day) give no yardstick: no value is called an outlier then.
MIN_DAYS_FOR_OUTLIERS = 5
NEIGHBOUR_INTERVALS = 2  # the spread of a time of day is measured over it and two intervals each side

BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Validated:
    """A series' flags, one per interval; `usable` is where none is set."""

    gap: BoolArray
    stuck: BoolArray
    outlier: BoolArray

    @property
    def usable(self) -> BoolArray:
        return ~(self.gap | self.stuck | self.outlier)

    def counts(self) -> dict[str, int]:
        """How many intervals each flag holds (an interval may hold several)."""
        return {"gap": int(self.gap.sum()), "stuck": int(self.stuck.sum()), "outlier": int(self.outlier.sum())}


def validate(
    values: NDArray[np.float64],
    start_s: int,
    *,
    stuck_intervals: int = STUCK_INTERVALS,
    outlier_deviations: float = OUTLIER_DEVIATIONS,
) -> Validated:
    """The flags of `values`, one float per interval from `start_s` (NaN: no reading)."""
    if stuck_intervals < MIN_STUCK_RUN:
        raise ValueError(f"a stuck run is at least {MIN_STUCK_RUN} intervals, not {stuck_intervals}")
    values = np.asarray(values, dtype=np.float64)
    gap = np.isnan(values)
    return Validated(gap, _stuck(values, stuck_intervals), _outliers(values, start_s, outlier_deviations) & ~gap)


def _stuck(values: NDArray[np.float64], run_length: int) -> BoolArray:
    """Every interval of a run of at least `run_length` equal non-zero values."""
    stuck = np.zeros(values.shape, dtype=bool)
    start = 0
    for i in range(1, len(values) + 1):
        if i < len(values) and values[i] == values[start]:
            continue
        if i - start >= run_length and values[start] != 0 and not np.isnan(values[start]):
            stuck[start:i] = True
        start = i
    return stuck


def _outliers(values: NDArray[np.float64], start_s: int, deviations: float) -> BoolArray:
    """Values beyond `deviations` robust standard deviations of the median of their time of day on
    their kind of day (a weekend morning is not a weekday's). The spread is measured over the
    neighbouring times of day too (NEIGHBOUR_INTERVALS each side), so that a few weeks of days give
    a steady yardstick."""
    days = calendar(start_s, len(values))
    group = days.time_of_day + INTERVALS_PER_DAY * days.weekend
    residual = np.full(values.shape, np.nan)
    for slot in np.unique(group):
        at = np.flatnonzero(group == slot)
        known = values[at][~np.isnan(values[at])]
        if len(known) >= MIN_DAYS_FOR_OUTLIERS:
            residual[at] = values[at] - np.median(known)
    outlier = np.zeros(values.shape, dtype=bool)
    for slot in np.unique(group):
        at = np.flatnonzero(group == slot)
        kind, time_of_day = divmod(int(slot), INTERVALS_PER_DAY)
        near = np.abs((days.time_of_day - time_of_day + INTERVALS_PER_DAY // 2) % INTERVALS_PER_DAY - INTERVALS_PER_DAY // 2)
        pooled = residual[(near <= NEIGHBOUR_INTERVALS) & (days.weekend == bool(kind))]
        pooled = pooled[~np.isnan(pooled)]
        spread = MAD_TO_SIGMA * np.median(np.abs(pooled)) if len(pooled) else 0.0
        if spread == 0:
            continue  # too few days, or a time of day that never varies (no sun at night): nothing to measure against
        outlier[at] = np.abs(residual[at]) > deviations * spread
    return outlier
