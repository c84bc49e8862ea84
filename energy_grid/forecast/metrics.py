"""How good a forecast is: the figures a forecaster is judged by, on arrays of one target.

Every function ignores intervals where the truth is NaN (nothing was read), so a gap is neither a
hit nor a miss.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def _known(truth: FloatArray, *forecasts: FloatArray) -> tuple[FloatArray, ...]:
    keep = ~np.isnan(truth)
    for forecast in forecasts:
        keep &= ~np.isnan(forecast)
    if not keep.any():
        raise ValueError("no interval has both a reading and a forecast to score")
    return (truth[keep], *(forecast[keep] for forecast in forecasts))


def mae(truth: FloatArray, forecast: FloatArray) -> float:
    """Mean absolute error, in the target's unit."""
    y, f = _known(truth, forecast)
    return float(np.mean(np.abs(y - f)))


def skill(truth: FloatArray, forecast: FloatArray, reference: FloatArray) -> float:
    """1 − MAE(forecast) / MAE(reference), on the intervals both forecasts cover: 0 is no better than
    the reference (same interval yesterday, say), 1 is perfect, below 0 is worse."""
    y, f, r = _known(truth, forecast, reference)
    reference_error = float(np.mean(np.abs(y - r)))
    if reference_error == 0:
        raise ValueError("the reference is perfect on these intervals: skill over it is undefined")
    return 1 - float(np.mean(np.abs(y - f))) / reference_error


def pinball(truth: FloatArray, forecast: FloatArray, quantile: float) -> float:
    """The mean pinball (quantile) loss of `forecast` as the `quantile` of the truth: what a quantile
    forecast minimises, and 0.5 × MAE for the median."""
    if not 0 < quantile < 1:
        raise ValueError(f"a quantile lies strictly between 0 and 1, not {quantile}")
    y, f = _known(truth, forecast)
    error = y - f
    return float(np.mean(np.maximum(quantile * error, (quantile - 1) * error)))


def coverage(truth: FloatArray, lower: FloatArray, upper: FloatArray) -> float:
    """The share of intervals whose truth lies within [lower, upper] (P10–P90 should hold 80 %)."""
    y, lo, hi = _known(truth, lower, upper)
    return float(np.mean((lo <= y) & (y <= hi)))


def exceeded(truth: FloatArray, upper: FloatArray) -> float:
    """The share of intervals whose truth is above `upper` (a P90 should be exceeded 10 % of the time)."""
    y, hi = _known(truth, upper)
    return float(np.mean(y > hi))


def daily_energy_error(truth: FloatArray, forecast: FloatArray, intervals_per_day: int) -> float:
    """The days' absolute energy errors over their energy: Σ |Σ forecast − Σ truth| / Σ truth, each
    day's sums over its `intervals_per_day` intervals (whole days from the first). What a day-ahead PV
    forecast is judged by, whose intervals' errors partly cancel over a day. Intervals without a
    reading leave their day out."""
    days = np.asarray(truth, dtype=np.float64).reshape(-1, intervals_per_day)
    forecast_days = np.asarray(forecast, dtype=np.float64).reshape(-1, intervals_per_day)
    whole = ~np.isnan(days).any(axis=1) & ~np.isnan(forecast_days).any(axis=1)
    energy = float(days[whole].sum())
    if energy <= 0:
        raise ValueError("no whole day with energy to score")
    return float(np.abs(forecast_days[whole].sum(axis=1) - days[whole].sum(axis=1)).sum()) / energy
