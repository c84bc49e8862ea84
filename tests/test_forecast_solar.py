"""PV learned in proportion to the clear sky (energy_grid.forecast.solar): the weather forecast gives
the clear sky's irradiance, the PV model reads it as clear-sky indices and no calendar, and a target
learned in proportion to a known scale follows a season that trees alone cannot extrapolate."""

from __future__ import annotations

import numpy as np
import pytest

from energy_grid.community.weather import load_typical_year, weather_window
from energy_grid.community.weather_forecast import forecast_weather
from energy_grid.domain.units import INTERVALS_PER_DAY
from energy_grid.forecast.backtest import backtest_day_ahead
from energy_grid.forecast.day_ahead import forecast_day
from energy_grid.forecast.features import CALENDAR, feature_names, features
from energy_grid.forecast.model import QuantileForecaster
from energy_grid.forecast.solar import (
    CLEAR_SKY_GHI,
    CLEAR_SKY_INDEX,
    CLEAR_SKY_TILTED,
    DAY_CLEAR_SKY_INDEX,
    GHI,
    SCALE_FLOOR_W_PER_M2,
    load_weather,
    pv_inputs,
)

START_S = 1_796_083_200  # 2026-12-01 00:00 UTC
QUICK = QuantileForecaster(max_iter=40)


def test_the_weather_forecast_gives_the_clear_sky_dark_at_night_and_turned_to_the_winter_sun():
    for day_of_year, roof_gains in ((355, True), (172, False)):
        window = weather_window(load_typical_year(), 2026, day_of_year, 2)
        forecast = forecast_weather(window, seed=3)
        night = window.solar_zenith_deg >= 90
        clear, tilted = forecast.clear_sky_ghi_w_per_m2, forecast.clear_sky_tilted_w_per_m2
        assert (clear[night] == 0).all() and (tilted[night] == 0).all() and (clear[~night] > 0).all()
        noon = int(np.argmax(clear[:INTERVALS_PER_DAY]))
        # A roof tilted towards the equator takes the low winter sun better than the ground, the high
        # summer sun a little worse.
        assert (tilted[noon] > 1.4 * clear[noon]) if roof_gains else (0.9 * clear[noon] < tilted[noon] < clear[noon])
        assert np.array_equal(forecast_weather(window, seed=4).clear_sky_tilted_w_per_m2, tilted)  # exact: no forecast error
        assert {CLEAR_SKY_GHI, CLEAR_SKY_TILTED} <= set(forecast.columns())


def synthetic_weather(days: int) -> dict[str, np.ndarray]:
    hours = (np.arange(days * INTERVALS_PER_DAY) % INTERVALS_PER_DAY) / 4
    bell = np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None)
    return {
        GHI: 600 * bell * np.repeat(np.linspace(0.5, 1.0, days), INTERVALS_PER_DAY),
        CLEAR_SKY_GHI: 800 * bell,
        CLEAR_SKY_TILTED: 900 * bell,
        "temperature_c": np.full(days * INTERVALS_PER_DAY, 10.0),
    }


def test_the_pv_model_reads_clear_sky_indices_and_learns_in_proportion_to_the_tilted_clear_sky():
    weather = synthetic_weather(2)
    solar = pv_inputs(weather, QUICK)
    columns, scale = solar.weather, solar.scale
    assert columns is not None and scale is not None
    assert set(columns) == {CLEAR_SKY_TILTED, "temperature_c", CLEAR_SKY_INDEX, DAY_CLEAR_SKY_INDEX}
    day = weather[CLEAR_SKY_GHI] > 0
    assert columns[CLEAR_SKY_INDEX][~day].max() == 0
    noon = INTERVALS_PER_DAY // 2
    assert columns[CLEAR_SKY_INDEX][noon] == pytest.approx(weather[GHI][noon] / 800)
    first, second = columns[DAY_CLEAR_SKY_INDEX][:INTERVALS_PER_DAY], columns[DAY_CLEAR_SKY_INDEX][INTERVALS_PER_DAY:]
    assert (first == first[0]).all() and (second == second[0]).all()  # one figure for the whole day, night included
    assert first[0] == pytest.approx(weather[GHI][:INTERVALS_PER_DAY].sum() / weather[CLEAR_SKY_GHI][:INTERVALS_PER_DAY].sum())
    assert second[0] == pytest.approx(first[0] * 2)  # the synthetic second day is twice as bright
    assert scale.min() == SCALE_FLOOR_W_PER_M2 and scale[noon] == pytest.approx(900)
    # Load models read the forecast as it comes, without the clear sky's; without it PV reads them as well.
    assert set(load_weather(weather) or {}) == {GHI, "temperature_c"}
    # Without the sun's position, the PV model reads the weather as it comes, the calendar included.
    assert load_weather(None) is None
    unseen = pv_inputs(None, QUICK)
    assert unseen.weather is None and unseen.scale is None and unseen.forecaster is QUICK
    plain = load_weather(weather)
    assert plain is not None
    as_it_comes = pv_inputs(plain, QUICK)
    assert as_it_comes.weather is not None and set(as_it_comes.weather) == set(plain)
    assert all(as_it_comes.weather[name] is plain[name] for name in plain)
    assert as_it_comes.scale is None and as_it_comes.forecaster is QUICK


def test_with_the_sun_s_position_the_pv_model_learns_nothing_from_the_calendar():
    weather = synthetic_weather(10)
    values = weather[GHI] * 0.2
    solar = pv_inputs(weather, QUICK)
    rows = features(values, START_S, 60, weather=solar.weather)
    model = solar.forecaster.fit(rows, values, np.ones(len(values), dtype=bool))
    names = feature_names(solar.weather)
    assert model.columns is not None
    learned = {name for name, used in zip(names, model.columns, strict=True) if used}
    assert not learned & set(CALENDAR)
    assert {CLEAR_SKY_INDEX, DAY_CLEAR_SKY_INDEX, CLEAR_SKY_TILTED} <= learned
    assert QUICK.ignored_columns == ()  # the template is left as it was


def test_a_target_learned_in_proportion_to_a_known_scale_follows_a_season_the_trees_never_saw():
    """Production growing 1.5 % a day with the season (the sun's height, known ahead) and a day's
    cloudiness given by its forecast: learned as it comes, the trees cannot forecast more than the
    brightest days they learned from; learned in proportion to the scale, they follow the season."""
    days = 62
    rng = np.random.default_rng(5)
    hours = (np.arange(days * INTERVALS_PER_DAY) % INTERVALS_PER_DAY) / 4
    season = np.repeat(1.015 ** np.arange(days), INTERVALS_PER_DAY)
    scale = np.maximum(900 * np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None) * season, SCALE_FLOOR_W_PER_M2)
    cloudiness = np.repeat(np.append(rng.uniform(0.3, 1.0, days - 1), 0.9), INTERVALS_PER_DAY)  # the forecast day: bright
    values = np.where(scale > SCALE_FLOOR_W_PER_M2, scale * cloudiness * 0.2, 0.0)
    weather = {DAY_CLEAR_SKY_INDEX: cloudiness}
    day = days - 1
    known = values.copy()
    known[(day - 1) * INTERVALS_PER_DAY + INTERVALS_PER_DAY // 2 :] = np.nan  # the forecast is made at 12:00 the day before
    truth = values[day * INTERVALS_PER_DAY :].sum()

    def shortfall(scale: np.ndarray | None = None) -> float:
        made = forecast_day(known, day, START_S, QuantileForecaster(), weather=weather, scale=scale)
        return 1 - made.quantiles[:, 1].sum() / truth

    assert shortfall() > 0.1
    assert abs(shortfall(scale=scale)) < 0.03
    # The rolling backtest takes the same scale, and scores its forecasts in the target's own units.
    backtest = backtest_day_ahead(values, START_S, day, day, weather=weather, scale=scale)
    assert np.array_equal(backtest.truth, values[day * INTERVALS_PER_DAY :])
    assert abs(1 - backtest.forecast[:, 1].sum() / truth) < 0.03
