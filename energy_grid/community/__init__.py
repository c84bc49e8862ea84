"""The community model: households, PV, batteries, flexible load, weather and its forecast, the LV grid.

Pure Python (numpy, pandas, pvlib, demandlib, pandapower); nothing here touches a chain. The
simulation's run (energy_grid.simulation) steps a `CommunityModel` one 15-minute interval at a time
and sends what each interval gives (meter registers, grid state, weather) wherever it belongs; the
live services read the weather from here too. Units as the contracts use them: Wh, W, per mille of
nominal voltage, mHz, m°C, mm/s, bps.
"""

from energy_grid.community.battery import Battery, BatteryFlow, BatterySpec
from energy_grid.community.grid import (
    FEEDER_BUS_STRIDE,
    NETWORKS,
    BusLoad,
    GridState,
    LowVoltageGrid,
    sum_by_bus,
)
from energy_grid.community.holidays import public_holidays
from energy_grid.community.households import (
    EvSpec,
    HeatPumpSpec,
    HouseholdDraw,
    HouseholdSpec,
    consumption_power_w,
    draw_household,
    draw_households,
    ev_charging_power_w,
    h0_profile_w_per_kwh_a,
    heat_pump_power_w,
    household_load_w,
)
from energy_grid.community.metering import EnergySplit, Meter, WhCounter, split_interval
from energy_grid.community.model import (
    CommunityConfig,
    CommunityModel,
    HouseholdInterval,
    IntervalResult,
)
from energy_grid.community.pv import PvSystem, plane_of_array_w_per_m2, pv_ac_power_w
from energy_grid.community.weather import (
    Site,
    TypicalYear,
    WeatherSample,
    WeatherWindow,
    load_typical_year,
    solar_noon_hour,
    weather_window,
)

__all__ = [
    "FEEDER_BUS_STRIDE",
    "NETWORKS",
    "Battery",
    "BatteryFlow",
    "BatterySpec",
    "BusLoad",
    "CommunityConfig",
    "CommunityModel",
    "EnergySplit",
    "EvSpec",
    "GridState",
    "HeatPumpSpec",
    "HouseholdDraw",
    "HouseholdInterval",
    "HouseholdSpec",
    "IntervalResult",
    "LowVoltageGrid",
    "Meter",
    "PvSystem",
    "Site",
    "TypicalYear",
    "WeatherSample",
    "WeatherWindow",
    "WhCounter",
    "consumption_power_w",
    "draw_household",
    "draw_households",
    "ev_charging_power_w",
    "h0_profile_w_per_kwh_a",
    "heat_pump_power_w",
    "household_load_w",
    "load_typical_year",
    "plane_of_array_w_per_m2",
    "public_holidays",
    "pv_ac_power_w",
    "solar_noon_hour",
    "split_interval",
    "sum_by_bus",
    "weather_window",
]
