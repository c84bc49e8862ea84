"""Training and calibrating the day-ahead models: what the rolling backtest does for each day it
scores, and what the forecasting service does each day at 12:00 for the next day.

A model learns from the `train_days` whole days before a calibration window, and is calibrated on
the `calibration_days` whole days before the day before the forecast day, whose readings are all in
by its 12:00. With a short history (a community's first weeks), both windows shrink: the
calibration window to a third of the days known, the training to the rest; below MIN_DAYS whole
days known there is no forecast, and whoever steers by it falls back to its rule.

The calibration also gives the transformer's loading bound, what the operator's link limits leave
room for: the worst loading the calibrated band allows (the larger magnitude of P10 and P90,
domain.demand_response.worst_loading_wh) widened, block by block, by how far the metered loading
went beyond it on the calibration days, so that the bound holds LOADING_COVERAGE of the intervals.
The band's two ends each miss a tenth of the time, on either side; the loading, which counts export
as much as import, is missed only beyond the end it lies at, so a band that drifts (heating in
autumn lifts the load week by week) leaves the bound short or long unless it is calibrated itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from energy_grid.domain.demand_response import worst_loading_wh
from energy_grid.domain.units import DAY_SECONDS, INTERVALS_PER_DAY
from energy_grid.forecast.calibrate import MIN_CALIBRATION_ROWS, Calibration, calibrate, conformal_quantile
from energy_grid.forecast.features import CALENDAR, features
from energy_grid.forecast.model import QuantileForecaster
from energy_grid.forecast.validate import validate

FloatArray = NDArray[np.float64]

TRAIN_DAYS = 42
CALIBRATION_DAYS = 14
MIN_DAYS = 3  # whole days known before the day before: two to learn from, one to calibrate on
CALIBRATION_BLOCKS = 8  # the day calibrated in blocks of 3 hours (the tuning community's best; 4 and 24 did worse)
TIME_OF_DAY_COLUMN = CALENDAR.index("time_of_day")
ISSUE_INTERVAL = INTERVALS_PER_DAY // 2  # 12:00, the day before
HOUR_AHEAD = 4  # intervals: the intraday forecast's lead
LOADING_COVERAGE = 0.9  # the share of intervals whose loading the bound holds, as a P90 does


@dataclass(frozen=True)
class Windows:
    """The days a forecast of day `day` learns from and is calibrated on (day numbers of the series)."""

    train_first: int
    calibration_first: int
    calibration_end: int  # exclusive: the day before the forecast day

    def train(self) -> slice:
        return days(self.train_first, self.calibration_first)

    def calibration(self) -> slice:
        return days(self.calibration_first, self.calibration_end)


def windows(day: int, train_days: int = TRAIN_DAYS, calibration_days: int = CALIBRATION_DAYS) -> Windows | None:
    """The windows for forecasting day `day` of a series whose day 0 is its first whole day; None
    with fewer than MIN_DAYS whole days before the day before."""
    known = day - 1  # days 0 .. day − 2 are whole by 12:00 of day − 1
    if known < MIN_DAYS:
        return None
    calibration = min(calibration_days, max(1, known // 3))
    end = day - 1
    first = end - calibration
    return Windows(max(0, first - train_days), first, end)


def train(
    rows: FloatArray,
    target: FloatArray,
    usable: NDArray[np.bool_],
    template: QuantileForecaster,
    *,
    max_rows: int | None = None,
) -> QuantileForecaster:
    """A fresh model like `template` learned from the usable rows (at most `max_rows`, drawn with
    the template's seed)."""
    if max_rows is not None and usable.sum() > max_rows:
        keep = np.zeros_like(usable)
        keep[np.random.default_rng(template.seed).choice(np.flatnonzero(usable), max_rows, replace=False)] = True
        usable = keep
    model = dataclasses.replace(template, models=[], columns=None)
    return model.fit(rows, target, usable)


@dataclass(frozen=True)
class DayCalibration:
    """A calibration for each block of the day (the evening's spread is not the night's), and each
    block's loading margin: what the worst loading of the calibrated band is widened by."""

    blocks: tuple[Calibration, ...]
    loading_margins: tuple[float, ...]

    def apply(self, rows: FloatArray, forecast: FloatArray) -> FloatArray:
        """`forecast` of `rows` (feature rows: their time of day picks the block) calibrated."""
        block = _block(rows)
        out = np.empty_like(forecast)
        for b, calibration in enumerate(self.blocks):
            out[block == b] = calibration.apply(forecast[block == b])
        return out

    def loading_bound(self, rows: FloatArray, calibrated_forecast: FloatArray) -> FloatArray:
        """The loading bound of each row (the module docstring), never below 0."""
        margins = np.asarray(self.loading_margins)[_block(rows)]
        return np.maximum(worst_loading(calibrated_forecast) + margins, 0.0)

    def margin_per_interval(self) -> tuple[float, ...]:
        """The loading margin of each interval of a day, from its first."""
        per_block = INTERVALS_PER_DAY // CALIBRATION_BLOCKS
        return tuple(margin for margin in self.loading_margins for _ in range(per_block))


def calibrated(model: QuantileForecaster, held_rows: FloatArray, held_truth: FloatArray) -> DayCalibration:
    """The model's calibration on held-out rows (truth NaN where it must not count), block by block;
    a block with too few known intervals (a short history) takes the whole day's."""
    predicted = model.predict(held_rows)
    whole = calibrate(model.quantiles, predicted, held_truth)
    block = _block(held_rows)
    known = ~np.isnan(held_truth)
    enough = [int(known[block == b].sum()) >= MIN_CALIBRATION_ROWS for b in range(CALIBRATION_BLOCKS)]
    blocks = tuple(
        calibrate(model.quantiles, predicted[block == b], held_truth[block == b]) if enough[b] else whole for b in range(CALIBRATION_BLOCKS)
    )
    # How far the metered loading went beyond the calibrated band's worst loading, block by block.
    beyond = np.abs(held_truth) - worst_loading(DayCalibration(blocks, (0.0,) * CALIBRATION_BLOCKS).apply(held_rows, predicted))
    whole_margin = conformal_quantile(beyond[known], LOADING_COVERAGE)
    margins = tuple(
        conformal_quantile(beyond[known & (block == b)], LOADING_COVERAGE) if enough[b] else whole_margin for b in range(CALIBRATION_BLOCKS)
    )
    return DayCalibration(blocks, margins)


def worst_loading(forecast: FloatArray) -> FloatArray:
    """Each row's worst loading within its band: worst_loading_wh of its lowest and highest quantile."""
    return np.asarray(np.vectorize(worst_loading_wh, otypes=[np.float64])(forecast[:, 0], forecast[:, -1]))


class TooLittleHistoryError(ValueError):
    """Too little history to learn from or to calibrate on: whoever steers by the forecast falls back to its rule."""


@dataclass(frozen=True)
class NextDay:
    """A day's calibrated forecast (a row per interval, a column per quantile), its calibration and
    the model that made it (both in the units the model learned: divided by the scale, if any)."""

    quantiles: FloatArray
    calibration: DayCalibration
    model: QuantileForecaster


def forecast_day(
    values: FloatArray,
    day: int,
    start_s: int,
    template: QuantileForecaster,
    *,
    holidays: Collection[date] = (),
    weather: Mapping[str, FloatArray] | None = None,
    model: QuantileForecaster | None = None,
    lead_intervals: int | None = None,
    scale: FloatArray | None = None,
) -> NextDay:
    """Day `day` of `values` forecast at 12:00 the day before, as the forecasting service and a
    household's own forecast make it: `values` is one figure per interval from `start_s` (a midnight
    of the calendar's clock) through day `day`, NaN where nothing is known (from 12:00 of day − 1 on,
    among others), `weather` forecast columns aligned with it. A fresh model like `template` learns
    from the training window unless `model` is given; the days before the first with a reading do not
    count. TooLittleHistoryError with too few days to learn from or to calibrate on.

    With `lead_intervals` each interval of the day is forecast that many intervals before it starts
    instead (intraday, from the latest interval known then: interval t from t − lead − 1), by a model
    learned at that lead; a row whose latest interval is not known yet has no forecast to trust, and
    the caller takes only the rows it knows enough for.

    With `scale` (a positive figure per interval of `values`, known ahead, e.g. PV's clear sky:
    forecast.solar) the model learns the values divided by it and its forecast is multiplied back."""
    read = np.flatnonzero(~np.isnan(values.reshape(-1, INTERVALS_PER_DAY)).all(axis=1))
    if len(read) == 0:
        raise TooLittleHistoryError("no reading yet")
    first = int(read[0])
    values, day, start_s = values[first * INTERVALS_PER_DAY :], day - first, start_s + first * DAY_SECONDS
    interval_scale = np.ones(len(values)) if scale is None else np.asarray(scale, dtype=np.float64)[first * INTERVALS_PER_DAY :]
    window = windows(day)
    if window is None:
        raise TooLittleHistoryError(f"{day - 1} whole days metered before the day the forecast is made: at least {MIN_DAYS} are needed")
    aligned = None if weather is None else {name: column[first * INTERVALS_PER_DAY :] for name, column in weather.items()}
    usable = validate(values, start_s).usable  # as metered: a stuck meter repeats its value, not its share of the scale
    values = values / interval_scale
    rows = features(values, start_s, horizons(len(values), lead_intervals), holidays=holidays, weather=aligned)
    try:
        if model is None:
            model = train(rows[window.train()], values[window.train()], usable[window.train()], template)
        held = window.calibration()
        calibration = calibrated(model, rows[held], np.where(usable[held], values[held], np.nan))
    except ValueError as too_little:  # fewer usable intervals than a model learns from or a calibration needs
        raise TooLittleHistoryError(str(too_little)) from too_little
    day_rows = rows[days(day, day + 1)]
    forecast = calibration.apply(day_rows, model.predict(day_rows)) * interval_scale[days(day, day + 1), None]
    return NextDay(forecast, calibration, model)


def horizons(intervals: int, lead_intervals: int | None = None) -> NDArray[np.int64]:
    """Each interval's horizon: day-ahead (day_ahead_horizons), or `lead_intervals` for all."""
    return day_ahead_horizons(intervals) if lead_intervals is None else np.full(intervals, lead_intervals, dtype=np.int64)


def day_ahead_horizons(intervals: int) -> NDArray[np.int64]:
    """Each interval's horizon when its day is forecast at 12:00 the day before (the series starting at
    a midnight): 48 intervals ahead for the first of the day, 143 for the last."""
    return (INTERVALS_PER_DAY - ISSUE_INTERVAL + np.arange(intervals) % INTERVALS_PER_DAY).astype(np.int64)


def _block(rows: FloatArray) -> NDArray[np.int64]:
    return (rows[:, TIME_OF_DAY_COLUMN] * CALIBRATION_BLOCKS // INTERVALS_PER_DAY).astype(np.int64)


def days(first: int, last: int) -> slice:
    """The intervals of days first, …, last − 1."""
    return slice(first * INTERVALS_PER_DAY, last * INTERVALS_PER_DAY)
