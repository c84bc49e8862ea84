"""A rolling day-ahead backtest: each day's 96 intervals forecast at 12:00 the day before, by models
that learned only from what was known then, scored against what came and against today's rules of
thumb.

Day D is forecast with the models of its week. They are trained every `retrain_every_days` days on
the `train_days` before a calibration window, and calibrated on the `calibration_days` before D − 1,
whose readings are all in by D − 1 at 12:00. References, each known at the issue time like the
forecast: the same time of day on the latest whole day known (d days back, the fewest with
d × 96 ≥ horizon + 1: "yesterday" for the morning, the day before for the afternoon), the mean of
the 5 latest such days, and their maximum, the rule the operator's link limits use today. For
quantiles, the reference is the same quantiles of the same time of day over the `calibration_days`
latest known days.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from energy_grid.domain.units import DAY_SECONDS, INTERVALS_PER_DAY
from energy_grid.forecast.calibrate import calibrate
from energy_grid.forecast.features import RECENT_DAYS, features, known_day
from energy_grid.forecast.metrics import coverage, exceeded, mae, pinball, skill
from energy_grid.forecast.model import QuantileForecaster
from energy_grid.forecast.validate import validate

ISSUE_INTERVAL = INTERVALS_PER_DAY // 2  # 12:00, the day before
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Backtest:
    """Every scored interval's truth, calibrated forecast (a column per quantile) and references."""

    quantiles: tuple[float, ...]
    truth: FloatArray
    forecast: FloatArray
    latest_day: FloatArray  # the same time of day on the latest whole day known
    recent_mean: FloatArray  # … the mean of the 5 latest
    recent_max: FloatArray  # … their maximum: today's link-limit rule
    climatology: FloatArray  # the reference quantiles (a column per quantile)
    trainings: int

    def figures(self) -> dict[str, float]:
        """The backtest's figures: skill of the P50, the band's coverage, pinball skill, and P90 as a
        link limit against the max-of-5-days rule (the share of intervals whose load it covers, and
        the mean capacity it holds back above the load)."""
        y, low, median, high = self.truth, self.forecast[:, 0], self.forecast[:, len(self.quantiles) // 2], self.forecast[:, -1]
        model_pinball = np.mean([pinball(y, self.forecast[:, i], q) for i, q in enumerate(self.quantiles)])
        reference_pinball = np.mean([pinball(y, self.climatology[:, i], q) for i, q in enumerate(self.quantiles)])
        known = ~np.isnan(y)
        return {
            "mae": mae(y, median),
            "skill_over_latest_day": skill(y, median, self.latest_day),
            "skill_over_recent_mean": skill(y, median, self.recent_mean),
            "band_coverage": coverage(y, low, high),
            "upper_exceeded": exceeded(y, high),
            "pinball_skill": float(1 - model_pinball / reference_pinball),
            "upper_covered": 1 - exceeded(y, high),
            "rule_covered": 1 - exceeded(y, self.recent_max),
            "upper_held_back": float(np.mean(np.maximum(high - y, 0)[known])),
            "rule_held_back": float(np.mean(np.maximum(self.recent_max - y, 0)[known])),
        }


def backtest_day_ahead(
    values: FloatArray,
    start_s: int,
    first_day: int,
    last_day: int,
    *,
    train_days: int = 42,
    calibration_days: int = 14,
    retrain_every_days: int = 7,
    holidays: Collection[date] = (),
    weather: Mapping[str, FloatArray] | None = None,
    forecaster: QuantileForecaster | None = None,
) -> Backtest:
    """Days `first_day`..`last_day` of `values` (day 0 starts at `start_s`, a midnight UTC),
    each forecast at 12:00 the day before."""
    if start_s % DAY_SECONDS:
        raise ValueError("a day-ahead backtest starts its series at midnight UTC")
    needed = train_days + calibration_days + 1
    if first_day < needed or (last_day + 1) * INTERVALS_PER_DAY > len(values):
        raise ValueError(f"days {first_day}..{last_day} need {needed} days before the first and the series to reach the last")
    template = forecaster or QuantileForecaster()
    n = len(values)
    horizons = INTERVALS_PER_DAY - ISSUE_INTERVAL + np.arange(n) % INTERVALS_PER_DAY
    rows = features(values, start_s, horizons, holidays=holidays, weather=weather)
    usable = validate(values, start_s).usable
    recent = np.stack([known_day(values, horizons, k) for k in range(RECENT_DAYS)])
    forecasts, climatology, trainings, model = [], [], 0, None
    for day in range(first_day, last_day + 1):
        calibration_start = day - 1 - calibration_days
        if model is None or (day - first_day) % retrain_every_days == 0:
            train = _days(calibration_start - train_days, calibration_start)
            model = QuantileForecaster(template.quantiles, template.max_iter, template.learning_rate, template.seed)
            model.fit(rows[train], values[train], usable[train])
            trainings += 1
        held = _days(calibration_start, day - 1)
        truth_held = np.where(usable[held], values[held], np.nan)
        calibration = calibrate(model.quantiles, model.predict(rows[held]), truth_held)
        scored = _days(day, day + 1)
        forecasts.append(calibration.apply(model.predict(rows[scored])))
        history = values[held].reshape(calibration_days, INTERVALS_PER_DAY)
        climatology.append(np.nanquantile(history, model.quantiles, axis=0).T)
    scored_all = _days(first_day, last_day + 1)
    recent_mean = np.nanmean(recent[:, scored_all], axis=0)  # a scored day has its 5 days before it
    recent_max = np.nanmax(recent[:, scored_all], axis=0)
    return Backtest(
        quantiles=template.quantiles,
        truth=values[scored_all],
        forecast=np.concatenate(forecasts),
        latest_day=recent[0, scored_all],
        recent_mean=recent_mean,
        recent_max=recent_max,
        climatology=np.concatenate(climatology),
        trainings=trainings,
    )



def _days(first: int, last: int) -> slice:
    """The intervals of days first, …, last − 1."""
    return slice(first * INTERVALS_PER_DAY, last * INTERVALS_PER_DAY)
