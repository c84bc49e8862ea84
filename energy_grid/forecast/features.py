"""What a model may know when it forecasts interval t at the start of interval t − horizon: the
calendar of t, the target's own past up to the issue time (the latest known value is that of
t − horizon − 1, the interval that just ended), and the weather forecast for t. One row per interval of the
series; a feature that is not known is NaN, which the trees take as its own branch.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime

import numpy as np
from numpy.typing import NDArray

from energy_grid.domain.units import DAY_SECONDS, INTERVALS_PER_DAY
from energy_grid.forecast.calendar import calendar

WEEK_INTERVALS = 7 * INTERVALS_PER_DAY
RECENT_DAYS = 5  # the mean of the same time of day over the latest days known: today's rule of thumb
CALENDAR = ("time_of_day", "time_of_day_sin", "time_of_day_cos", "day_of_week", "day_off")
LAGS = ("same_time_latest_day", "same_time_day_before", "same_time_last_week", "same_time_recent_mean", "latest", "horizon")


def feature_names(weather: Mapping[str, NDArray[np.float64]] | None = None) -> tuple[str, ...]:
    return (*CALENDAR, *LAGS, *sorted(weather or {}))


def features(
    values: NDArray[np.float64],
    start_s: int,
    horizon: int | NDArray[np.int64],
    *,
    holidays: Collection[date] = (),
    weather: Mapping[str, NDArray[np.float64]] | None = None,
) -> NDArray[np.float64]:
    """The feature matrix of `values` (one float per interval from `start_s`, a multiple of 900 s),
    each row as known `horizon` intervals before its interval (one horizon for all rows, or one per
    row); `holidays` are days off besides weekends; `weather` columns are forecasts aligned with
    `values`. Columns in feature_names' order."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    horizons = np.broadcast_to(np.asarray(horizon, dtype=np.int64), (n,))
    if (horizons < 1).any():
        raise ValueError("a forecast is made at least one interval ahead (horizon ≥ 1)")
    index = np.arange(n)
    days = calendar(start_s, n)
    time_of_day, day_of_week = days.time_of_day, days.day_of_week
    day_off = days.weekend | np.isin(days.day, [_day_number(day) for day in holidays])
    angle = 2 * np.pi * time_of_day / INTERVALS_PER_DAY
    latest_day, day_before = known_day(values, horizons, 0), known_day(values, horizons, 1)
    last_week = np.where(horizons < WEEK_INTERVALS, _at(values, index - WEEK_INTERVALS), np.nan)
    recent = np.stack([known_day(values, horizons, k) for k in range(RECENT_DAYS)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no day known yet (the series' first days): NaN
        recent_mean = np.nanmean(recent, axis=0)
    latest = _at(values, index - horizons - 1)
    columns = [time_of_day, np.sin(angle), np.cos(angle), day_of_week, day_off, latest_day, day_before, last_week, recent_mean, latest,
               horizons]  # fmt: skip
    for name, given in sorted((weather or {}).items()):
        column = np.asarray(given, dtype=np.float64)
        if column.shape != (n,):
            raise ValueError(f"the weather column {name} has {column.shape[0] if column.ndim else 0} values, the series {n}")
        columns.append(column)
    return np.column_stack([np.asarray(column, dtype=np.float64) for column in columns])


def known_day(values: NDArray[np.float64], horizons: NDArray[np.int64], k: int) -> NDArray[np.float64]:
    """Each row's same time of day on the (k + 1)-th latest whole day known at its issue time: d days
    back, the fewest with d × 96 ≥ horizon + 1, then k more."""
    index = np.arange(len(values))
    days_back = (horizons + INTERVALS_PER_DAY) // INTERVALS_PER_DAY
    return _at(values, index - (days_back + k) * INTERVALS_PER_DAY)


def _at(values: NDArray[np.float64], positions: NDArray[np.int64]) -> NDArray[np.float64]:
    """values[positions], NaN where a position falls before the series."""
    known = positions >= 0
    out = np.full(positions.shape, np.nan)
    out[known] = values[positions[known]]
    return out


def _day_number(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) // DAY_SECONDS

