"""What a forecaster is given of the simulated world: a weather forecast that is off as a day-ahead
forecast is, and re-runs of the same community with fresh behaviour (the noise floor)."""

from __future__ import annotations

import numpy as np

from energy_grid.community.model import CommunityConfig, CommunityModel
from energy_grid.community.weather import load_typical_year, weather_window
from energy_grid.community.weather_forecast import forecast_weather
from energy_grid.services.reporters.weather_model import weather_forecast_at


def test_the_weather_forecast_is_unbiased_wrong_by_about_a_fifth_and_dark_at_night():
    window = weather_window(load_typical_year(), 2025, 100, 120)
    forecast = forecast_weather(window, seed=7)
    daylight = window.ghi_w_per_m2 > 0
    assert (forecast.ghi_w_per_m2[~daylight] == 0).all() and (forecast.sun_height[~daylight] == 0).all()
    assert abs(forecast.ghi_w_per_m2[daylight].sum() / window.ghi_w_per_m2[daylight].sum() - 1) < 0.05
    error = np.abs(forecast.ghi_w_per_m2 - window.ghi_w_per_m2)[daylight].mean() / window.ghi_w_per_m2[daylight].mean()
    assert 0.15 < error < 0.3
    assert 0.8 < np.abs(forecast.temperature_c - window.temperature_c).mean() < 2.5
    again = forecast_weather(window, seed=7)
    assert np.array_equal(again.ghi_w_per_m2, forecast.ghi_w_per_m2)
    assert not np.array_equal(forecast_weather(window, seed=8).ghi_w_per_m2, forecast.ghi_w_per_m2)


def test_the_live_weather_forecast_follows_the_chain_s_clock():
    day_s = 1_796_083_200 + 5 * 3_600  # a local midnight at the site (UTC−5)
    starts = day_s + np.arange(96, dtype=np.int64) * 900
    columns = weather_forecast_at(starts)
    assert set(columns) == {"ghi_w_per_m2", "temperature_c", "sun_height", "clear_sky_ghi_w_per_m2", "clear_sky_tilted_w_per_m2"}
    assert columns["ghi_w_per_m2"][:20].max() == 0 and columns["ghi_w_per_m2"][44:52].min() > 0  # night, then noon
    assert np.array_equal(weather_forecast_at(starts)["ghi_w_per_m2"], columns["ghi_w_per_m2"])


def test_a_re_run_keeps_the_households_and_the_sun_and_draws_their_behaviour_afresh():
    config = CommunityConfig(households=6, days=3)
    first, rerun = CommunityModel(config), CommunityModel(CommunityConfig(households=6, days=3, noise_run=1))
    for a, b in zip(first.households, rerun.households, strict=True):
        assert (a.annual_consumption_kwh, a.pv, a.battery, a.ev) == (b.annual_consumption_kwh, b.pv, b.battery, b.ev)
        assert a.noise_seed != b.noise_seed
    one = [first.step(power_flow=False) for _ in range(96)]
    two = [rerun.step(power_flow=False) for _ in range(96)]
    assert [r.pv_wh for r in one] == [r.pv_wh for r in two]
    assert [r.consumption_wh for r in one] != [r.consumption_wh for r in two]
    ratio = sum(r.consumption_wh for r in one) / sum(r.consumption_wh for r in two)
    assert 0.6 < ratio < 1.6
