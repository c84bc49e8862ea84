"""Split-conformal calibration of quantile forecasts: each quantile q is shifted by the q-quantile
of its errors (truth − forecast) on recent intervals the models did not learn from, so that on
such intervals it is exceeded 1 − q of the time. Raw quantile models are overconfident (their P10–P90
covers far less than 80 % of what comes); shifted this way they hold what they claim, as long as the
recent days are like the coming ones.

The finite-sample rule of split-conformal prediction: with n calibration errors, the level is
rounded outwards, to ⌈(n + 1) q⌉ / n above the median and ⌊(n + 1) q⌋ / n below it, so a band is
never narrower than its n points support.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MIN_CALIBRATION_ROWS = 48  # half a day of intervals
MEDIAN = 0.5


@dataclass(frozen=True)
class Calibration:
    """What to add to each quantile's forecast (negative: the model was too cautious there)."""

    quantiles: tuple[float, ...]
    shifts: tuple[float, ...]

    def apply(self, forecast: NDArray[np.float64]) -> NDArray[np.float64]:
        """`forecast` (a column per quantile) shifted, each row still rising."""
        if forecast.shape[1] != len(self.shifts):
            raise ValueError(f"a forecast of {forecast.shape[1]} quantiles, a calibration of {len(self.shifts)}")
        return np.sort(forecast + np.asarray(self.shifts), axis=1)


def calibrate(quantiles: tuple[float, ...], forecast: NDArray[np.float64], truth: NDArray[np.float64]) -> Calibration:
    """The calibration of `forecast` (a column per quantile of `quantiles`) against `truth` on the
    rows where the truth is known; ValueError with fewer than half a day of them."""
    known = ~np.isnan(truth)
    n = int(known.sum())
    if n < MIN_CALIBRATION_ROWS:
        raise ValueError(f"{n} intervals to calibrate on: at least {MIN_CALIBRATION_ROWS} are needed")
    shifts = tuple(conformal_quantile(truth[known] - forecast[known, column], q) for column, q in enumerate(quantiles))
    return Calibration(tuple(quantiles), shifts)


def conformal_quantile(errors: NDArray[np.float64], q: float) -> float:
    """The q-quantile of `errors` by the finite-sample rule (the module docstring): what a forecast
    shifted by it is exceeded 1 − q of the time by."""
    n = len(errors)
    if n == 0:
        raise ValueError("no errors to take a quantile of")
    rank = math.ceil((n + 1) * q) if q >= MEDIAN else math.floor((n + 1) * q)
    return float(np.sort(errors)[min(max(rank, 1), n) - 1])
