"""The live demo's weather: the simulation's typical year (energy_grid.community.weather) read at
the chain's time.

The chain's time is mapped to the model's by date and clock alone: the chain timestamp in the TMY
site's local standard time (UTC−5 for the file pvlib ships) gives a day of the year and a time of
day, and the weather is the model's for that day's interval, at its midpoint, in WeatherOracle's
units. The year is the chain's own (it places the sun; the TMY's months come from various years
anyway). Dec 31 of a leap year takes Dec 30's weather: a TMY year has 365 days.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from energy_grid.community.weather import (
    DAYS_PER_TMY_YEAR,
    FloatArray,
    WeatherSample,
    WeatherWindow,
    load_typical_year,
    weather_window,
)
from energy_grid.community.weather_forecast import WeatherForecast, forecast_weather
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS

SECONDS_PER_MINUTE = 60


@functools.lru_cache(maxsize=4)
def _day(calendar_year: int, day_of_year: int) -> WeatherWindow:
    """One day of the model's weather: 96 intervals (a window costs a solar-position run, so it is kept)."""
    return weather_window(load_typical_year(), calendar_year, day_of_year, 1)


@functools.lru_cache(maxsize=64)
def _forecast_day(calendar_year: int, day_of_year: int) -> WeatherForecast:
    """The forecast of one day of the model's weather, its errors drawn from the day alone."""
    return forecast_weather(_day(calendar_year, day_of_year), seed=calendar_year * 1_000 + day_of_year)


def weather_forecast_at(starts_s: npt.NDArray[np.int64]) -> dict[str, FloatArray]:
    """A weather service's forecast of the model's weather for the intervals starting at chain times
    `starts_s` (simulation.weather_forecast: off as a day-ahead forecast is), as a forecasting model's
    columns. Local only: a real community takes its weather service's forecast instead."""
    columns: dict[str, list[float]] = {}
    for start_s in starts_s:
        calendar_year, day_of_year, interval = _tmy_position(int(start_s))
        for name, values in _forecast_day(calendar_year, day_of_year).columns().items():
            columns.setdefault(name, []).append(float(values[interval]))
    return {name: np.asarray(values) for name, values in columns.items()}


def _tmy_position(timestamp_s: int) -> tuple[int, int, int]:
    """The model's year, day of the year and interval of chain time `timestamp_s`."""
    offset_minutes = load_typical_year().site.utc_offset_minutes
    local = datetime.fromtimestamp(timestamp_s, UTC) + timedelta(minutes=offset_minutes)
    local_s = timestamp_s + offset_minutes * SECONDS_PER_MINUTE
    return local.year, min(local.timetuple().tm_yday, DAYS_PER_TMY_YEAR), (local_s % DAY_SECONDS) // INTERVAL_SECONDS


def weather_at(timestamp_s: int) -> WeatherSample:
    """The model's weather of the interval that chain time `timestamp_s` falls in."""
    calendar_year, day_of_year, interval = _tmy_position(timestamp_s)
    return _day(calendar_year, day_of_year).sample(interval)


__all__ = ["weather_at", "weather_forecast_at"]
