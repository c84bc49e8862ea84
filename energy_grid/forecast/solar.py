"""PV production learned in proportion to the clear sky, so that its model does not learn a season.

A model that reads the forecast irradiance as it comes learns the season it was trained in. As
autumn comes and the sun sinks, a tilted roof turns more of the same horizontal irradiance into
power (the simulated community's production per unit of irradiance rose by half from September to
December), and trees, which cannot extrapolate, fall short: their P50 missed 8 % of the held-out
autumn's energy. So the production is learned as a share of what a typical roof would receive under
a clear sky at that moment (`CLEAR_SKY_TILTED`, never less than SCALE_FLOOR_W_PER_M2), and the
forecast irradiance enters as its share of the clear sky's, the clear-sky index: per interval, and
over the whole day, where most of a day-ahead forecast's error lies (a day forecast sunny that comes
cloudy). Both are free of the season; the forecasts are multiplied back. And the PV model reads
the sun's position, never the calendar: a weekday or a holiday makes no difference to the sun, and
the clock's relation to the sun moves with the season; in 42 days of training, a day of the week
would only let the trees learn which days happened to be cloudy.

The clear sky's irradiance comes with the weather forecast, as weather services give it: it depends
only on the site and the sun's position (community.weather_forecast computes it with pvlib). Load
models do not read it: a household's load follows the weather, not the sun's geometry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from energy_grid.domain.units import INTERVALS_PER_DAY
from energy_grid.forecast.features import CALENDAR, feature_names
from energy_grid.forecast.model import QuantileForecaster

FloatArray = NDArray[np.float64]

GHI = "ghi_w_per_m2"
CLEAR_SKY_GHI = "clear_sky_ghi_w_per_m2"  # horizontal irradiance under a clear sky
CLEAR_SKY_TILTED = "clear_sky_tilted_w_per_m2"  # … on a typical roof (community.weather_forecast)
CLEAR_SKY_INDEX = "clear_sky_index"
DAY_CLEAR_SKY_INDEX = "day_clear_sky_index"
# Dawn and dusk: the clear sky's irradiance is a few W/m², and a ratio to it would be all noise.
SCALE_FLOOR_W_PER_M2 = 50.0


def load_weather(weather: Mapping[str, FloatArray] | None) -> dict[str, FloatArray] | None:
    """The weather columns a load model reads: all but the clear sky's."""
    if weather is None:
        return None
    return {name: column for name, column in weather.items() if name not in (CLEAR_SKY_GHI, CLEAR_SKY_TILTED)}


@dataclass(frozen=True)
class PvInputs:
    """What the PV model is given: its weather columns, the scale its target is learned in
    proportion to (None: as it comes), and its forecaster."""

    weather: dict[str, FloatArray] | None
    scale: FloatArray | None
    forecaster: QuantileForecaster


def pv_inputs(weather: Mapping[str, FloatArray] | None, template: QuantileForecaster) -> PvInputs:
    """The PV model's inputs from weather columns aligned with a series that starts at a midnight,
    and a forecaster like `template`. Without the clear sky's irradiance (or without weather) the
    columns as they are, no scale, and `template` itself, calendar and all: without the sun's
    position only the clock tells the night."""
    if weather is None or CLEAR_SKY_GHI not in weather or CLEAR_SKY_TILTED not in weather:
        return PvInputs(None if weather is None else dict(weather), None, template)
    ghi = np.asarray(weather[GHI], dtype=np.float64)
    clear_ghi = np.asarray(weather[CLEAR_SKY_GHI], dtype=np.float64)
    day = np.arange(len(ghi)) // INTERVALS_PER_DAY
    clear_per_day = np.bincount(day, weights=clear_ghi)
    forecast_per_day = np.bincount(day, weights=ghi)
    day_index = np.divide(forecast_per_day, clear_per_day, out=np.zeros_like(clear_per_day), where=clear_per_day > 0)
    columns = {name: np.asarray(column, dtype=np.float64) for name, column in weather.items() if name not in (GHI, CLEAR_SKY_GHI)}
    columns[CLEAR_SKY_INDEX] = np.where(clear_ghi > 0, ghi / np.maximum(clear_ghi, SCALE_FLOOR_W_PER_M2), 0.0)
    columns[DAY_CLEAR_SKY_INDEX] = day_index[day]
    scale = np.maximum(np.asarray(weather[CLEAR_SKY_TILTED], dtype=np.float64), SCALE_FLOOR_W_PER_M2)
    names = feature_names()
    calendar_blind = dataclasses.replace(template, ignored_columns=tuple(names.index(name) for name in CALENDAR), models=[], columns=None)
    return PvInputs(columns, scale, calendar_blind)
