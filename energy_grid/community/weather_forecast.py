"""A weather service's forecast of the simulated weather: what a forecaster knows of tomorrow.

The model's weather (weather.py) is what happens; a day-ahead forecast of it is wrong in the ways
forecasts are. Irradiance is multiplied by a log-normal error with a part that holds all day (the
forecast got the day's clouds wrong) and a part that wanders within the day (AR(1) per interval),
each with mean 1, so that the forecast is unbiased; the sun's position is known exactly, so the
forecast is zero at night like the weather. Temperature is off by a normal error that holds for
the day plus a smaller one per interval. With the defaults, daylight irradiance is off by about
20 % of its mean (mean absolute error), temperature by about 1.5 °C, as day-ahead numerical
weather forecasts are.

Like a weather service's forecast, it also gives the irradiance of a clear sky, horizontal and on a
typical roof (TYPICAL_ROOF_TILT_DEG, facing the equator): what the PV forecast is learned in
proportion to (forecast.solar). It depends on the site and the sun's position alone, so it is exact:
pvlib's Ineichen model with its monthly Linke turbidity, turned onto the roof by the PV model's own
transposition (community.pv).

The errors come from `seed` alone and are drawn for the whole window at once: the same window and
seed give the same forecast.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib

from energy_grid.community.pv import PvSystem, plane_of_array_w_per_m2
from energy_grid.community.weather import HORIZON_ZENITH_DEG, FloatArray, WeatherWindow
from energy_grid.domain.units import INTERVAL_SECONDS, INTERVALS_PER_DAY
from energy_grid.forecast.solar import CLEAR_SKY_GHI, CLEAR_SKY_TILTED, GHI

TYPICAL_ROOF_TILT_DEG = 30.0


@dataclass(frozen=True)
class ForecastError:
    """How wrong the forecast is (log-space σ for irradiance, °C for temperature)."""

    irradiance_day_sigma: float = 0.25
    irradiance_interval_sigma: float = 0.12
    irradiance_persistence: float = 0.9  # AR(1) coefficient from one interval to the next
    temperature_day_sigma_c: float = 1.8
    temperature_interval_sigma_c: float = 0.5


@dataclass(frozen=True)
class WeatherForecast:
    """The forecast of each interval of a window, aligned with it."""

    ghi_w_per_m2: FloatArray
    temperature_c: FloatArray
    sun_height: FloatArray  # cos(zenith), 0 at night: the sun's position, known exactly
    clear_sky_ghi_w_per_m2: FloatArray  # the irradiance of a clear sky, known exactly as well
    clear_sky_tilted_w_per_m2: FloatArray  # … on a typical roof

    def columns(self) -> dict[str, FloatArray]:
        """The forecast as a forecasting model's weather columns."""
        return {
            GHI: self.ghi_w_per_m2,
            "temperature_c": self.temperature_c,
            "sun_height": self.sun_height,
            CLEAR_SKY_GHI: self.clear_sky_ghi_w_per_m2,
            CLEAR_SKY_TILTED: self.clear_sky_tilted_w_per_m2,
        }


def forecast_weather(window: WeatherWindow, seed: int, error: ForecastError = ForecastError()) -> WeatherForecast:
    """A forecast of `window`'s weather with `error`, drawn from `seed`."""
    count = window.interval_count
    days = -(-count // INTERVALS_PER_DAY)
    rng = np.random.default_rng(seed)
    day_of = np.arange(count) // INTERVALS_PER_DAY
    day_error = rng.normal(0.0, error.irradiance_day_sigma, days)[day_of]
    interval_error = _ar1(rng, count, error.irradiance_persistence, error.irradiance_interval_sigma)
    log_error = day_error + interval_error
    variance = error.irradiance_day_sigma**2 + error.irradiance_interval_sigma**2
    ghi = window.ghi_w_per_m2 * np.exp(log_error - variance / 2)  # mean 1: an unbiased forecast
    temperature = (
        window.temperature_c
        + rng.normal(0.0, error.temperature_day_sigma_c, days)[day_of]
        + rng.normal(0.0, error.temperature_interval_sigma_c, count)
    )
    sun_height = np.clip(np.cos(np.radians(window.solar_zenith_deg)), 0.0, None)
    return WeatherForecast(ghi, temperature, sun_height, *clear_sky(window))


def clear_sky(window: WeatherWindow) -> tuple[FloatArray, FloatArray]:
    """The irradiance of a clear sky over `window`'s site in each interval (W/m², at its midpoint):
    horizontal, and on a roof tilted TYPICAL_ROOF_TILT_DEG facing the equator."""
    site = window.site
    midpoints = pd.DatetimeIndex(pd.to_datetime(window.interval_start_unix_s + INTERVAL_SECONDS // 2, unit="s", utc=True))
    zenith = window.solar_zenith_deg
    position = pd.DataFrame({"apparent_zenith": zenith, "apparent_elevation": 90.0 - zenith}, index=midpoints)
    location = pvlib.location.Location(site.latitude_deg, site.longitude_deg, altitude=site.altitude_m)
    sky = location.get_clearsky(midpoints, model="ineichen", solar_position=position)
    night = zenith >= HORIZON_ZENITH_DEG
    ghi, dni, dhi = (np.where(night, 0.0, np.nan_to_num(sky[name].to_numpy(dtype=np.float64))) for name in ("ghi", "dni", "dhi"))
    clear = dataclasses.replace(window, ghi_w_per_m2=ghi, dni_w_per_m2=dni, dhi_w_per_m2=dhi)
    roof = PvSystem(peak_power_w=1_000, tilt_deg=TYPICAL_ROOF_TILT_DEG, azimuth_deg=180.0 if site.latitude_deg >= 0 else 0.0)
    tilted = plane_of_array_w_per_m2(roof, clear)
    tilted[night] = 0.0
    return ghi, tilted


def _ar1(rng: np.random.Generator, count: int, persistence: float, sigma: float) -> FloatArray:
    """An AR(1) series of `count` values with stationary standard deviation `sigma`."""
    innovations = rng.normal(0.0, sigma * np.sqrt(1 - persistence**2), count)
    values = np.empty(count)
    values[0] = rng.normal(0.0, sigma)
    for k in range(1, count):
        values[k] = persistence * values[k - 1] + innovations[k]
    return values
