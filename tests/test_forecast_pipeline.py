"""The forecasting pipeline on small synthetic data: validation flags what must not be learned,
features hold only what is known at the issue time, the quantile models beat yesterday's value, and
split-conformal calibration makes the bands cover what they claim."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_info, threadpool_limits

from energy_grid.domain.units import INTERVAL_SECONDS, INTERVALS_PER_DAY
from energy_grid.forecast.backtest import backtest_day_ahead
from energy_grid.forecast.calibrate import Calibration, calibrate, conformal_quantile
from energy_grid.forecast.day_ahead import (
    CALIBRATION_BLOCKS,
    LOADING_COVERAGE,
    MIN_DAYS,
    calibrated,
    day_ahead_horizons,
    windows,
    worst_loading,
)
from energy_grid.forecast.features import feature_names, features, known_day
from energy_grid.forecast.metrics import coverage, daily_energy_error, exceeded, mae, pinball, skill
from energy_grid.forecast.model import QUANTILES, QuantileForecaster
from energy_grid.forecast.validate import validate

START_S = 1_796_083_200  # 2026-12-01 00:00 UTC, a Tuesday
NOISE_KW = 0.3


def feeder_load(days: int, rng: np.random.Generator) -> np.ndarray:
    """A feeder's load in kW: a morning and an evening peak, lower and later at weekends, plus noise."""
    index = np.arange(days * INTERVALS_PER_DAY)
    hours = (index % INTERVALS_PER_DAY) / 4
    weekend = ((START_S // 86_400 + index // INTERVALS_PER_DAY + 3) % 7) >= 5
    morning = np.exp(-((hours - np.where(weekend, 9.5, 7.5)) ** 2) / 2)
    evening = np.exp(-((hours - 19) ** 2) / 4)
    return 2 + 3 * morning * np.where(weekend, 0.6, 1) + 4 * evening + rng.normal(0, NOISE_KW, len(index))


def days(first: int, last: int) -> slice:
    return slice(first * INTERVALS_PER_DAY, (last + 1) * INTERVALS_PER_DAY)


# ------------------------------------------------------------------------------------ metrics


def test_the_scores_by_hand():
    truth = np.array([1.0, 3.0, np.nan])
    assert mae(truth, np.array([2.0, 2.0, 9.0])) == 1.0  # the interval without a reading is not scored
    assert pinball(truth, np.array([2.0, 2.0, 0.0]), 0.9) == pytest.approx((0.1 + 0.9) / 2)
    assert pinball(truth, np.array([2.0, 2.0, 0.0]), 0.5) == pytest.approx(mae(truth, np.array([2.0, 2.0, 0.0])) / 2)
    assert coverage(truth, np.array([0.0, 3.5, 0.0]), np.array([2.0, 4.0, 1.0])) == 0.5
    assert exceeded(truth, np.array([0.5, 3.0, 0.0])) == 0.5
    assert skill(truth, np.array([1.5, 3.0, 0.0]), np.array([2.0, 2.0, 0.0])) == pytest.approx(1 - 0.25 / 1.0)
    with pytest.raises(ValueError, match="reference is perfect"):
        skill(truth, np.array([2.0, 2.0, 0.0]), truth)
    with pytest.raises(ValueError, match="no interval has both"):
        mae(np.array([np.nan]), np.array([1.0]))
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        pinball(truth, truth, 1.0)
    # Days of two intervals: a day's errors cancel within it, not across days; a day with a gap is left out.
    days = np.array([1.0, 3.0, 2.0, 2.0, 5.0, np.nan])
    assert daily_energy_error(days, np.array([3.0, 1.0, 1.0, 1.0, 0.0, 0.0]), 2) == pytest.approx((0 + 2) / 8)
    with pytest.raises(ValueError, match="no whole day with energy"):
        daily_energy_error(np.zeros(4), np.ones(4), 2)


# ------------------------------------------------------------------------------------ validation


def test_validation_flags_gaps_stuck_meters_and_outliers_and_nothing_else():
    load = feeder_load(21, np.random.default_rng(1))
    assert validate(load, START_S).counts() == {"gap": 0, "stuck": 0, "outlier": 0}
    broken = load.copy()
    broken[100:104] = np.nan
    broken[500:510] = broken[500]  # the meter repeats one reading for two and a half hours
    broken[1_200] += 50  # a spike far outside what that time of day sees
    flags = validate(broken, START_S)
    assert np.flatnonzero(flags.gap).tolist() == list(range(100, 104))
    assert np.flatnonzero(flags.stuck).tolist() == list(range(500, 510))
    assert np.flatnonzero(flags.outlier).tolist() == [1_200]
    assert flags.usable.sum() == len(broken) - 4 - 10 - 1
    # A night without production is a run of zeros, not a stuck meter.
    pv = np.where(np.arange(len(load)) % INTERVALS_PER_DAY < 24, 0.0, load)
    assert validate(pv, START_S).counts()["stuck"] == 0
    with pytest.raises(ValueError, match="at least 2 intervals"):
        validate(load, START_S, stuck_intervals=1)


# ------------------------------------------------------------------------------------ features


def test_features_hold_only_what_is_known_at_the_issue_time():
    load = feeder_load(10, np.random.default_rng(2))
    horizons = day_ahead_horizons(len(load))
    known = features(load, START_S, horizons)
    assert known.shape == (len(load), len(feature_names()))
    rng = np.random.default_rng(3)
    for t in rng.integers(2 * INTERVALS_PER_DAY, len(load), 20):
        changed = load.copy()
        changed[t - horizons[t] :] += 100  # everything from the issue time on is unknown then
        assert np.array_equal(features(changed, START_S, horizons)[t], known[t], equal_nan=True), t
        before = load.copy()
        before[t - horizons[t] - 1] += 100  # the interval that ended at the issue time is known
        assert not np.array_equal(features(before, START_S, horizons)[t], known[t], equal_nan=True), t


def test_the_calendar_knows_weekends_holidays_and_the_weather_columns():
    load = feeder_load(7, np.random.default_rng(4))
    weather = {"irradiance_w_per_m2": np.arange(len(load), dtype=float)}
    rows = features(load, START_S, 4, holidays=[date(2026, 12, 3)], weather=weather)
    names = feature_names(weather)
    day_of_week, day_off = rows[:, names.index("day_of_week")], rows[:, names.index("day_off")]
    first_of_each_day = rows[:: INTERVALS_PER_DAY]
    assert first_of_each_day[:, names.index("day_of_week")].tolist() == [1, 2, 3, 4, 5, 6, 0]  # Tuesday first
    assert first_of_each_day[:, names.index("day_off")].tolist() == [0, 0, 1, 0, 1, 1, 0]  # the holiday, the weekend
    assert len(day_of_week) == len(day_off) == len(load)
    assert np.array_equal(rows[:, names.index("irradiance_w_per_m2")], weather["irradiance_w_per_m2"])
    with pytest.raises(ValueError, match="at least one interval ahead"):
        features(load, START_S, 0)
    with pytest.raises(ValueError, match="starts at an interval's start"):
        features(load, START_S + 1, 4)
    with pytest.raises(ValueError, match="weather column"):
        features(load, START_S, 4, weather={"temperature_c": np.zeros(3)})


# ------------------------------------------------------------------------------------ calibration


def test_calibration_makes_an_overconfident_band_cover_what_it_claims():
    rng = np.random.default_rng(5)
    truth = rng.normal(0, 1, 4_000)
    raw = np.tile([-0.3, 0.0, 0.3], (len(truth), 1))  # a band far too narrow for the noise
    assert coverage(truth, raw[:, 0], raw[:, 2]) < 0.3
    fitted = calibrate(QUANTILES, raw[:1_000], truth[:1_000])
    calibrated = fitted.apply(raw[1_000:])
    assert coverage(truth[1_000:], calibrated[:, 0], calibrated[:, 2]) == pytest.approx(0.80, abs=0.04)
    assert exceeded(truth[1_000:], calibrated[:, 2]) == pytest.approx(0.10, abs=0.03)
    assert np.all(np.diff(calibrated, axis=1) >= 0)
    with pytest.raises(ValueError, match="at least 48"):
        calibrate(QUANTILES, raw[:10], truth[:10])
    with pytest.raises(ValueError, match="calibration of 3"):
        Calibration(QUANTILES, fitted.shifts).apply(raw[:, :2])


# ------------------------------------------------------------------------------------ the pipeline


def test_day_ahead_quantiles_beat_yesterday_and_hold_their_band_once_calibrated():
    """Trained on six weeks, calibrated on the ten days after, scored on the ten days after those."""
    load = feeder_load(70, np.random.default_rng(6))
    rows = features(load, START_S, day_ahead_horizons(len(load)))
    usable = validate(load, START_S).usable
    train, held, scored = days(7, 49), days(50, 59), days(60, 69)
    forecaster = QuantileForecaster().fit(rows[train], load[train], usable[train])
    calibration = calibrate(forecaster.quantiles, forecaster.predict(rows[held]), load[held])
    forecast = calibration.apply(forecaster.predict(rows[scored]))
    truth = load[scored]
    yesterday = load[days(59, 68)]
    p10, p50, p90 = forecast.T
    # Noise alone: yesterday's value errs by √2 the noise, the best forecast by the noise itself (skill ≈ 0.29).
    assert skill(truth, p50, yesterday) >= 0.2
    assert coverage(truth, p10, p90) == pytest.approx(0.80, abs=0.07)
    assert exceeded(truth, p90) <= 0.15
    assert pinball(truth, p90, 0.9) < pinball(truth, yesterday, 0.9)


def test_the_loading_bound_holds_nine_intervals_in_ten_of_a_load_that_swings_between_import_and_export():
    """A feeder whose PV export at midday outweighs its load on sunny days: its loading is the net load's magnitude,
    which the band's worst end under- or overstates; the calibrated margin makes the bound hold what
    it claims on the days after the calibration days, block by block."""
    rng = np.random.default_rng(8)
    hours = (np.arange(100 * INTERVALS_PER_DAY) % INTERVALS_PER_DAY) / 4
    sun = np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None) * rng.uniform(0.2, 1.0, 100).repeat(INTERVALS_PER_DAY)
    net = feeder_load(100, rng) - 5 * sun
    rows = features(net, START_S, day_ahead_horizons(len(net)))
    usable = validate(net, START_S).usable
    train, held, scored = days(7, 49), days(50, 63), days(64, 99)
    model = QuantileForecaster(max_iter=50).fit(rows[train], net[train], usable[train])
    calibration = calibrated(model, rows[held], net[held])
    # Each block's margin is the conformal 90 % quantile of how far the loading went beyond the band.
    held_band = calibration.apply(rows[held], model.predict(rows[held]))
    beyond = np.abs(net[held]) - worst_loading(held_band)
    morning = slice(2 * INTERVALS_PER_DAY // CALIBRATION_BLOCKS, 3 * INTERVALS_PER_DAY // CALIBRATION_BLOCKS)
    morning_beyond = beyond.reshape(-1, INTERVALS_PER_DAY)[:, morning].ravel()
    assert calibration.loading_margins[2] == conformal_quantile(morning_beyond, LOADING_COVERAGE)
    assert np.mean(beyond <= np.asarray(calibration.margin_per_interval() * 14)) >= LOADING_COVERAGE
    band = calibration.apply(rows[scored], model.predict(rows[scored]))
    bound = calibration.loading_bound(rows[scored], band)
    assert np.all(bound >= 0)
    assert np.mean(np.abs(net[scored]) <= bound) == pytest.approx(LOADING_COVERAGE, abs=0.04)


def test_flagged_spikes_are_not_learned():
    """A feeder whose readings hold spikes an interval in eight: learning from what validation leaves
    keeps the P90 where the load is, learning from everything lifts it towards the spikes."""
    rng = np.random.default_rng(7)
    load = feeder_load(42, rng)
    spiky = load.copy()
    spikes = rng.random(len(load)) < 0.125
    spiky[spikes] += 20
    flags = validate(spiky, START_S)
    assert flags.outlier[spikes].mean() >= 0.95 and flags.outlier[~spikes].mean() <= 0.01
    rows = features(spiky, START_S, day_ahead_horizons(len(load)))
    train, scored = days(7, 34), days(35, 41)
    everything = np.ones(len(load), dtype=bool)
    clean = QuantileForecaster().fit(rows[train], spiky[train], flags.usable[train]).predict(rows[scored])
    polluted = QuantileForecaster().fit(rows[train], spiky[train], everything[train]).predict(rows[scored])
    truth = load[scored]
    assert pinball(truth, clean[:, 2], 0.9) < pinball(truth, polluted[:, 2], 0.9) / 2


def test_a_forecaster_refuses_too_little_to_learn_from_and_to_predict_untrained():
    load = feeder_load(2, np.random.default_rng(8))
    rows = features(load, START_S, 4)
    usable = np.zeros(len(load), dtype=bool)
    usable[:50] = True
    with pytest.raises(ValueError, match="50 usable intervals"):
        QuantileForecaster().fit(rows, load, usable)
    with pytest.raises(ValueError, match="not learned yet"):
        QuantileForecaster().predict(rows)
    with pytest.raises(ValueError, match="quantiles rise"):
        QuantileForecaster(quantiles=(0.9, 0.1)).fit(rows, load, ~usable | usable)
    assert INTERVAL_SECONDS * INTERVALS_PER_DAY == 86_400


def test_the_median_learns_in_detail_and_the_band_ends_coarser():
    """The ends take half the median's rounds at twice its rate, on trees of at most 15 leaves."""
    load = feeder_load(10, np.random.default_rng(5))
    rows = features(load, START_S, 4)
    forecaster = QuantileForecaster(max_iter=40).fit(rows, load, np.ones(len(load), dtype=bool))
    learned = [(model.quantile, model.n_iter_, model.learning_rate, model.max_leaf_nodes) for model in forecaster.models]
    assert learned == [(0.1, 20, 0.2, 15), (0.5, 40, 0.1, 31), (0.9, 20, 0.2, 15)]
    # A single round still gives every quantile its model.
    assert [model.n_iter_ for model in QuantileForecaster(max_iter=1).fit(rows, load, np.ones(len(load), dtype=bool)).models] == [1, 1, 1]


def test_the_models_learn_and_predict_on_one_thread(monkeypatch):
    """OpenMP's threads spin while they wait for each other, so on a machine busy with a node and other
    services the models keep to one thread; outside them the process's own limit is left alone."""
    seen: list[int] = []
    fit, predict = HistGradientBoostingRegressor.fit, HistGradientBoostingRegressor.predict

    def openmp_threads() -> int:
        return max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp")

    def fit_watched(self, *args, **kwargs):
        seen.append(openmp_threads())
        return fit(self, *args, **kwargs)

    def predict_watched(self, *args, **kwargs):
        seen.append(openmp_threads())
        return predict(self, *args, **kwargs)

    monkeypatch.setattr(HistGradientBoostingRegressor, "fit", fit_watched)
    monkeypatch.setattr(HistGradientBoostingRegressor, "predict", predict_watched)
    load = feeder_load(3, np.random.default_rng(4))
    rows = features(load, START_S, 4)
    with threadpool_limits(limits=2, user_api="openmp"):
        QuantileForecaster(max_iter=5).fit(rows, load, np.ones(len(load), dtype=bool)).predict(rows[:4])
        assert openmp_threads() == 2
    assert seen == [1] * 2 * len(QUANTILES)


def test_a_rolling_day_ahead_backtest_scores_the_forecasts_against_todays_rules():
    """Three weeks of days, each forecast at 12:00 the day before by models retrained weekly; the P90
    as a link limit covers the load in most intervals while holding back less capacity above it than
    the max-of-5-days rule."""
    load = feeder_load(80, np.random.default_rng(9))
    result = backtest_day_ahead(load, START_S, 59, 79, train_days=42, calibration_days=14)
    assert result.trainings == 3 and result.forecast.shape == (21 * INTERVALS_PER_DAY, 3)
    figures = result.figures()
    assert figures["skill_over_latest_day"] >= 0.2 and figures["skill_over_recent_mean"] > 0
    assert figures["band_coverage"] == pytest.approx(0.80, abs=0.08)
    assert figures["upper_exceeded"] <= 0.15 and figures["pinball_skill"] > 0
    assert figures["upper_held_back"] < figures["rule_held_back"]
    assert figures["upper_covered"] >= 0.85 and 0 < figures["rule_covered"] < 1
    # The references are what was known at 12:00 the day before: a morning interval's latest day is
    # yesterday, an afternoon's the day before yesterday.
    day, morning, afternoon = 59, 8 * 4, 18 * 4
    first = day * INTERVALS_PER_DAY
    assert result.latest_day[morning] == load[first + morning - INTERVALS_PER_DAY]
    assert result.latest_day[afternoon] == load[first + afternoon - 2 * INTERVALS_PER_DAY]
    # Persistence with its spread: the latest day's value shifted by the quantiles of its errors on the
    # calibration days (days 44..57 for day 59).
    errors = (load - known_day(load, day_ahead_horizons(len(load)), 0))[days(44, 57)]
    for column, q in enumerate(QUANTILES):
        assert result.persistence[morning, column] == pytest.approx(result.latest_day[morning] + conformal_quantile(errors, q))
    assert figures["pinball_skill_over_climatology"] > 0
    with pytest.raises(ValueError, match="need 57 days before the first"):
        backtest_day_ahead(load, START_S, 30, 40)
    with pytest.raises(ValueError, match="midnight UTC"):
        backtest_day_ahead(load, START_S + INTERVAL_SECONDS, 59, 60)


# ------------------------------------------------------------------------------------ a community's first weeks, PV, several series


def test_the_day_ahead_windows_shrink_with_a_short_history_and_none_below_three_days():
    assert day_ahead_horizons(2 * INTERVALS_PER_DAY)[[0, 95, 96]].tolist() == [48, 143, 48]
    assert windows(MIN_DAYS) is None  # two whole days known by 12:00 of the day before: too few
    first = windows(MIN_DAYS + 1)
    assert first is not None and (first.train_first, first.calibration_first, first.calibration_end) == (0, 2, 3)
    settled = windows(100)
    assert settled is not None and (settled.train_first, settled.calibration_first, settled.calibration_end) == (43, 85, 99)


def test_a_target_that_is_zero_most_of_the_time_still_gets_its_quantiles():
    """PV: zero through the night, more than half the intervals. Quantile boosting must not stall at 0."""
    rng = np.random.default_rng(3)
    n = 30 * INTERVALS_PER_DAY
    hours = (np.arange(n) % INTERVALS_PER_DAY) / 4
    sun = np.clip(np.sin((hours - 8) / 9 * np.pi), 0, None)  # 08:00 to 17:00: 62 % of intervals dark
    pv = 40 * sun * rng.uniform(0.3, 1.0, n // INTERVALS_PER_DAY).repeat(INTERVALS_PER_DAY)
    assert np.mean(pv == 0) > 0.6
    rows = features(pv, START_S, day_ahead_horizons(n), weather={"sun": sun})
    model = QuantileForecaster().fit(rows[: 25 * INTERVALS_PER_DAY], pv[: 25 * INTERVALS_PER_DAY], np.ones(25 * INTERVALS_PER_DAY, bool))
    noon = model.predict(rows[days(26, 26)])[48]
    assert 0 < noon[0] < noon[1] < noon[2] < 45  # every quantile of a noon above 0
    assert np.abs(model.predict(rows[days(26, 26)])[:16]).max() < 1  # and the night near 0


def test_one_model_learns_several_series_each_on_its_own_scale():
    rng = np.random.default_rng(4)
    small, large = feeder_load(70, rng), 10 * feeder_load(70, rng)
    together = backtest_day_ahead(np.stack([small, large]), START_S, 59, 64, max_training_rows=5_000)
    scored = 6 * INTERVALS_PER_DAY
    assert together.truth.shape == (2 * scored,) and together.forecast.shape == (2 * scored, 3)
    small_mae = mae(together.truth[:scored], together.forecast[:scored, 1])
    large_mae = mae(together.truth[scored:], together.forecast[scored:, 1])
    assert 5 < large_mae / small_mae < 20  # each forecast in its own series' units
    assert skill(together.truth, together.forecast[:, 1], together.latest_day) > 0.1
