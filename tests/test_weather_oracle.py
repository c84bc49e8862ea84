"""WeatherOracle: irradiance, temperature, wind speed and cloud cover per region, each field within
its physical bounds. What it shares with GridOracle (rounds, quorum, medians, staleness, the
reporter set and access control) is tested on both in test_regional_oracles.py.

Every custom error is asserted with all of its arguments and every event with all of its fields.
"""

from __future__ import annotations

import pytest

from support.helpers import reverts, unexercised_abi_items
from support.oracle_helpers import UNREPORTED, WEATHER, assert_submitted, submit, value_of

MAX_IRRADIANCE = 1_500
MIN_TEMPERATURE, MAX_TEMPERATURE = -90_000, 60_000
MAX_WIND = 100_000
MAX_CLOUD = 10_000
LAST_REGION = 2**32 - 1  # the largest uint32 region id


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(weather_oracle, admin, other, stranger):
    """Deploy the oracle, and name the accounts, before any test's own state (ape isolation)."""


def test_constants(weather_oracle):
    assert weather_oracle.MAX_IRRADIANCE_W_PER_M2() == MAX_IRRADIANCE
    assert weather_oracle.MIN_TEMPERATURE_MILLI_CELSIUS() == MIN_TEMPERATURE
    assert weather_oracle.MAX_TEMPERATURE_MILLI_CELSIUS() == MAX_TEMPERATURE
    assert weather_oracle.MAX_WIND_SPEED_MM_PER_S() == MAX_WIND
    assert weather_oracle.MAX_CLOUD_COVER_BPS() == MAX_CLOUD


def test_the_bounds_are_inclusive(weather_oracle, reporters):
    edge = (MAX_IRRADIANCE, MIN_TEMPERATURE, MAX_WIND, MAX_CLOUD)
    submit(WEATHER, weather_oracle, reporters[0], edge)
    tx = submit(WEATHER, weather_oracle, reporters[1], edge)
    assert_submitted(WEATHER, weather_oracle, tx, reporters[1], edge, edge, 2)
    other_edge = (0, MAX_TEMPERATURE, 0, 0)
    submit(WEATHER, weather_oracle, reporters[0], other_edge, region=LAST_REGION)
    tx = submit(WEATHER, weather_oracle, reporters[1], other_edge, region=LAST_REGION)
    assert_submitted(WEATHER, weather_oracle, tx, reporters[1], other_edge, other_edge, 2, LAST_REGION)
    assert value_of(WEATHER, weather_oracle)[:5] == (*edge, 2)


@pytest.mark.parametrize(
    ("values", "error", "fields"),
    [
        ((1_501, 0, 0, 0), lambda o: o.IrradianceOutOfRange, {"irradianceWPerM2": 1_501, "maxWPerM2": MAX_IRRADIANCE}),
        (
            (2**256 - 1, 0, 0, 0),
            lambda o: o.IrradianceOutOfRange,
            {"irradianceWPerM2": 2**256 - 1, "maxWPerM2": MAX_IRRADIANCE},
        ),
        (
            (0, -90_001, 0, 0),
            lambda o: o.TemperatureOutOfRange,
            {
                "temperatureMilliCelsius": -90_001,
                "minMilliCelsius": MIN_TEMPERATURE,
                "maxMilliCelsius": MAX_TEMPERATURE,
            },
        ),
        (
            (0, 60_001, 0, 0),
            lambda o: o.TemperatureOutOfRange,
            {"temperatureMilliCelsius": 60_001, "minMilliCelsius": MIN_TEMPERATURE, "maxMilliCelsius": MAX_TEMPERATURE},
        ),
        ((0, 0, 100_001, 0), lambda o: o.WindSpeedOutOfRange, {"windSpeedMmPerS": 100_001, "maxMmPerS": MAX_WIND}),
        ((0, 0, 2**255, 0), lambda o: o.WindSpeedOutOfRange, {"windSpeedMmPerS": 2**255, "maxMmPerS": MAX_WIND}),
        ((0, 0, 0, 10_001), lambda o: o.CloudCoverOutOfRange, {"cloudCoverBps": 10_001, "maxBps": MAX_CLOUD}),
    ],
    ids=["irradiance", "irradiance-max-uint", "too-cold", "too-hot", "wind", "wind-2^255", "cloud"],
)
def test_a_field_outside_its_physical_bounds_is_rejected(weather_oracle, reporters, values, error, fields):
    with reverts(error(weather_oracle), **fields):
        submit(WEATHER, weather_oracle, reporters[0], values)
    assert value_of(WEATHER, weather_oracle) == UNREPORTED


def test_every_function_event_and_error_is_exercised(weather_oracle):
    """WeatherOracle's ABI, item by item, is named in this module, in the shared regional oracle
    module or in the shared oracle helpers."""
    kinds = ("function", "event", "error")
    exempt = {"RoleAdminChanged"}  # no role admin is ever changed
    modules = ["test_weather_oracle.py", "test_regional_oracles.py", "support/oracle_helpers.py"]
    assert unexercised_abi_items("WeatherOracle", modules, kinds, exempt) == []
