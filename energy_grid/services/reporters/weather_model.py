"""The live demo's weather: the simulation's typical year (energy_grid.simulation.weather) read at
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

from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS
from energy_grid.simulation.weather import (
    DAYS_PER_TMY_YEAR,
    WeatherSample,
    WeatherWindow,
    load_typical_year,
    weather_window,
)

SECONDS_PER_MINUTE = 60


@functools.lru_cache(maxsize=4)
def _day(calendar_year: int, day_of_year: int) -> WeatherWindow:
    """One day of the model's weather: 96 intervals (a window costs a solar-position run, so it is kept)."""
    return weather_window(load_typical_year(), calendar_year, day_of_year, 1)


def weather_at(timestamp_s: int) -> WeatherSample:
    """The model's weather of the interval that chain time `timestamp_s` falls in."""
    offset_minutes = load_typical_year().site.utc_offset_minutes
    local = datetime.fromtimestamp(timestamp_s, UTC) + timedelta(minutes=offset_minutes)
    day_of_year = min(local.timetuple().tm_yday, DAYS_PER_TMY_YEAR)
    local_s = timestamp_s + offset_minutes * SECONDS_PER_MINUTE
    return _day(local.year, day_of_year).sample((local_s % DAY_SECONDS) // INTERVAL_SECONDS)


__all__ = ["weather_at"]
