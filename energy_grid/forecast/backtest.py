"""A rolling backtest: each day's 96 intervals forecast at 12:00 the day before (day-ahead), or each
interval a fixed number of intervals before it (intraday, e.g. 4 for an hour ahead), by models that
learned only from what was known then, scored against what came and against today's rules of thumb.

Day D is forecast with the models of its week. They are trained every `retrain_every_days` days on
the `train_days` before a calibration window, and calibrated on the `calibration_days` before D − 1,
whose readings are all in by D − 1 at 12:00. References, each known at the issue time like the
forecast: the same time of day on the latest whole day known (d days back, the fewest with
d × 96 ≥ horizon + 1: "yesterday" for the morning, the day before for the afternoon), the mean of
the 5 latest such days, and their maximum, the rule the operator's link limits use today. For
quantiles, two references: persistence, the latest day's value shifted by the quantiles of its
errors over the `calibration_days` latest known days (the same interval yesterday, with its spread),
and climatology, the same quantiles of the same time of day over those days.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from energy_grid.domain.units import DAY_SECONDS, INTERVALS_PER_DAY
from energy_grid.forecast.calibrate import conformal_quantile
from energy_grid.forecast.day_ahead import CALIBRATION_DAYS, TRAIN_DAYS, calibrated, days, horizons, train, windows
from energy_grid.forecast.features import RECENT_DAYS, features, known_day
from energy_grid.forecast.metrics import coverage, exceeded, mae, pinball, skill
from energy_grid.forecast.model import QuantileForecaster
from energy_grid.forecast.validate import validate

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
    climatology: FloatArray  # the same time of day's quantiles over the calibration days (a column per quantile)
    persistence: FloatArray  # the latest day's value shifted by its errors' quantiles on the calibration days
    loading_bound: FloatArray  # the calibrated bound of the loading (day_ahead's module docstring)
    trainings: int

    def figures(self) -> dict[str, float]:
        """The backtest's figures: skill of the P50, the band's coverage, pinball skill over each
        reference, and P90 as a link limit against the max-of-5-days rule (the share of intervals
        whose load it covers, and the mean capacity it holds back above the load)."""
        y, low, median, high = self.truth, self.forecast[:, 0], self.forecast[:, len(self.quantiles) // 2], self.forecast[:, -1]

        def mean_pinball(quantiles: FloatArray) -> float:
            return float(np.mean([pinball(y, quantiles[:, i], q) for i, q in enumerate(self.quantiles)]))

        model_pinball = mean_pinball(self.forecast)
        known = ~np.isnan(y)
        return {
            "mae": mae(y, median),
            "skill_over_latest_day": skill(y, median, self.latest_day),
            "skill_over_recent_mean": skill(y, median, self.recent_mean),
            "band_coverage": coverage(y, low, high),
            "upper_exceeded": exceeded(y, high),
            "pinball_skill": 1 - model_pinball / mean_pinball(self.persistence),
            "pinball_skill_over_climatology": 1 - model_pinball / mean_pinball(self.climatology),
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
    train_days: int = TRAIN_DAYS,
    calibration_days: int = CALIBRATION_DAYS,
    retrain_every_days: int = 7,
    holidays: Collection[date] = (),
    weather: Mapping[str, FloatArray] | None = None,
    forecaster: QuantileForecaster | None = None,
    lead_intervals: int | None = None,
    max_training_rows: int | None = None,
    scale: FloatArray | None = None,
) -> Backtest:
    """Days `first_day`..`last_day` of `values` (day 0 starts at `start_s`, a midnight UTC),
    each forecast at 12:00 the day before, or with `lead_intervals` each interval that many
    intervals before it starts.

    `values` is one series, or several (a row each, e.g. households) that one model learns together:
    each row divided by its mean magnitude before the first calibration window (known before anything
    is scored), so that large and small households teach the same shapes; forecasts are scaled back,
    and the result lists the rows' scored intervals one row after the other. `max_training_rows`
    caps the rows a training learns from (drawn at random, seeded), which bounds its time. With
    `scale` (a positive figure per interval, known ahead, e.g. PV's clear sky: forecast.solar), the
    models learn the values divided by it, and their forecasts are multiplied back."""
    series = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if start_s % DAY_SECONDS:
        raise ValueError("a day-ahead backtest starts its series at midnight UTC")
    needed = train_days + calibration_days + 1
    n = series.shape[1]
    if first_day < needed or (last_day + 1) * INTERVALS_PER_DAY > n:
        raise ValueError(f"days {first_day}..{last_day} need {needed} days before the first and the series to reach the last")
    template = forecaster or QuantileForecaster()
    row_scale = _scales(series, first_day - 1 - calibration_days) if series.shape[0] > 1 else np.ones(1)
    interval_scale = np.ones(n) if scale is None else np.asarray(scale, dtype=np.float64)
    scale_of = row_scale[:, None] * interval_scale[None, :]  # series × intervals
    scaled = series / scale_of
    row_horizons = horizons(n, lead_intervals)
    rows = np.stack([features(row, start_s, row_horizons, holidays=holidays, weather=weather) for row in scaled])
    usable = np.stack([validate(row, start_s).usable for row in series])
    recent = np.stack([np.stack([known_day(row, row_horizons, k) for k in range(RECENT_DAYS)]) for row in series])
    forecasts, bounds, climatology, persistence, trainings, model = [], [], [], [], 0, None
    for day in range(first_day, last_day + 1):
        window = windows(day, train_days, calibration_days)
        assert window is not None  # first_day leaves room for both windows
        if model is None or (day - first_day) % retrain_every_days == 0:
            train_rows = window.train()
            model = train(
                _flat(rows[:, train_rows]), scaled[:, train_rows].ravel(), usable[:, train_rows].ravel(), template,
                max_rows=max_training_rows,
            )  # fmt: skip
            trainings += 1
        held = window.calibration()
        calibration = calibrated(model, _flat(rows[:, held]), np.where(usable[:, held], scaled[:, held], np.nan).ravel())
        scored = days(day, day + 1)
        day_rows = _flat(rows[:, scored])
        predicted = calibration.apply(day_rows, model.predict(day_rows))
        bounds.append(calibration.loading_bound(day_rows, predicted).reshape(len(series), INTERVALS_PER_DAY) * scale_of[:, scored])
        forecasts.append(predicted.reshape(len(series), INTERVALS_PER_DAY, -1) * scale_of[:, scored, None])
        history = series[:, held].reshape(len(series), -1, INTERVALS_PER_DAY)
        climatology.append(np.moveaxis(np.nanquantile(history, model.quantiles, axis=1), 0, -1))
        persistence.append(_persistence(series[:, held] - recent[:, 0, held], recent[:, 0, scored], model.quantiles))
    scored_all = days(first_day, last_day + 1)
    recent_scored = recent[:, :, scored_all]  # a scored day has its 5 days before it
    return Backtest(
        quantiles=template.quantiles,
        truth=series[:, scored_all].ravel(),
        forecast=_flat(np.concatenate(forecasts, axis=1)),
        latest_day=recent_scored[:, 0].ravel(),
        recent_mean=np.nanmean(recent_scored, axis=1).ravel(),
        recent_max=np.nanmax(recent_scored, axis=1).ravel(),
        climatology=_flat(np.concatenate(climatology, axis=1)),
        persistence=_flat(np.concatenate(persistence, axis=1)),
        loading_bound=np.concatenate(bounds, axis=1).ravel(),
        trainings=trainings,
    )


def _persistence(held_errors: FloatArray, latest_day: FloatArray, quantiles: tuple[float, ...]) -> FloatArray:
    """The persistence reference of each series (a row each): its latest day's value shifted by the
    quantiles of that value's errors on the calibration days (series × intervals × quantiles)."""
    shifts = np.array([[conformal_quantile(row[~np.isnan(row)], q) for q in quantiles] for row in held_errors])
    return latest_day[:, :, None] + shifts[:, None, :]


def _scales(series: FloatArray, days: int) -> FloatArray:
    """Each row's mean magnitude over its first `days` days (1 where it was always 0)."""
    magnitude = np.nanmean(np.abs(series[:, : days * INTERVALS_PER_DAY]), axis=1)
    return np.where(magnitude > 0, magnitude, 1.0)


def _flat(rows: FloatArray) -> FloatArray:
    """Rows of several series side by side (series × intervals × columns) as one table."""
    return rows.reshape(-1, rows.shape[-1])
