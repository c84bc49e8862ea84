"""The simulation's physical models (energy_grid.simulation): pure Python, no chain.

Run alone with `.venv/bin/python -m pytest tests/test_simulation_models.py -p no:ape_test -q`.
The default community (30 households, one day) is simulated once per module and shared.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random

import numpy as np
import pytest

from energy_grid.community import (
    FEEDER_BUS_STRIDE,
    NETWORKS,
    Battery,
    BatterySpec,
    BusLoad,
    CommunityConfig,
    CommunityModel,
    HouseholdDraw,
    IntervalResult,
    LowVoltageGrid,
    WhCounter,
    consumption_power_w,
    draw_households,
    ev_charging_power_w,
    h0_profile_w_per_kwh_a,
    load_typical_year,
    pv_ac_power_w,
    solar_noon_hour,
    split_interval,
    weather_window,
)
from energy_grid.community.grid import LOAD_POWER_FACTOR
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, INTERVALS_PER_DAY

HOURS_PER_INTERVAL = 0.25


@pytest.fixture(scope="module")
def grid() -> LowVoltageGrid:
    return LowVoltageGrid()


@pytest.fixture(scope="module")
def default_model(grid: LowVoltageGrid) -> CommunityModel:
    return CommunityModel(CommunityConfig(), grid=grid)


@pytest.fixture(scope="module")
def default_run(default_model: CommunityModel) -> list[IntervalResult]:
    return default_model.run()


def midpoint_hour(result: IntervalResult) -> float:
    return result.local_start.hour + result.local_start.minute / 60 + HOURS_PER_INTERVAL / 2


# ----------------------------------------------------------------------------- the default case


def test_default_case_runs(
    default_model: CommunityModel, default_run: list[IntervalResult]
) -> None:
    assert default_model.config.households == 30
    assert len(default_run) == INTERVALS_PER_DAY == 96
    assert [r.interval for r in default_run] == list(range(96))
    assert all(len(r.households) == 30 for r in default_run)
    starts = [r.interval_start_unix_s for r in default_run]
    assert all(b - a == 900 for a, b in itertools.pairwise(starts))
    assert default_run[0].local_start.hour == 0 and default_run[0].local_start.minute == 0
    assert default_run[0].local_start.timetuple().tm_yday == default_model.config.start_day_of_year
    # Half have PV (every second household), half of those a battery (every second PV owner).
    assert sum(spec.pv is not None for spec in default_model.households) == 15
    assert sum(spec.battery is not None for spec in default_model.households) == 7
    with pytest.raises(IndexError):
        default_model.step()


def test_weather_in_the_oracle_units_and_ranges(default_run: list[IntervalResult]) -> None:
    typical_year = load_typical_year()
    for result in default_run:
        weather = result.weather
        # WeatherOracle's bounds (IWeatherOracle.sol).
        assert 0 <= weather.irradiance_w_per_m2 <= 1_500
        assert -90_000 <= weather.temperature_milli_celsius <= 60_000
        assert 0 <= weather.wind_speed_mm_per_s <= 100_000
        assert 0 <= weather.cloud_cover_bps <= 10_000
        assert weather.cloud_cover_bps % 1_000 == 0  # whole tenths of the TMY
    # A June day in North Carolina: warm, sunny at noon, dark at midnight.
    temperatures = [r.weather.temperature_milli_celsius for r in default_run]
    assert 10_000 < min(temperatures) < max(temperatures) < 40_000
    assert default_run[0].weather.irradiance_w_per_m2 == 0
    assert max(r.weather.irradiance_w_per_m2 for r in default_run) > 700
    # The temperature at 12:00 lies between the TMY's observations at 12:00 and 13:00 (record
    # index = hour of the year − 1: the file labels each record with its hour's end).
    day_start_hour = (CommunityConfig().start_day_of_year - 1) * 24
    noon = next(r for r in default_run if r.local_start.hour == 12 and r.local_start.minute == 0)
    observed = typical_year.temperature_c[day_start_hour + 11 : day_start_hour + 13] * 1_000
    assert min(observed) <= noon.weather.temperature_milli_celsius <= max(observed)


# ----------------------------------------------------------------------------- PV


def test_pv_is_zero_at_night_and_peaks_near_solar_noon(
    default_model: CommunityModel, default_run: list[IntervalResult]
) -> None:
    weather = default_model.weather
    for result in default_run:
        hour = midpoint_hour(result)
        if hour < 4.0 or hour > 21.0 or weather.solar_zenith_deg[result.interval] >= 90.0:
            assert result.pv_wh == 0, result.local_start
    pv_by_interval = [r.pv_wh for r in default_run]
    assert max(pv_by_interval) > 0
    peak_hour = midpoint_hour(default_run[int(np.argmax(pv_by_interval))])
    noon_hour = solar_noon_hour(default_model.site, default_model.config.start_day_of_year)
    assert 11.5 < noon_hour < 13.0  # Greensboro, 80° W, on UTC−5: noon comes about 20 min late
    assert abs(peak_hour - noon_hour) <= 2.0
    # Households without PV never produce.
    for spec in default_model.households:
        if spec.pv is None:
            assert all(r.households[spec.household_id].pv_wh == 0 for r in default_run)


def test_pv_yield_is_plausible_for_a_clear_june_day(default_model: CommunityModel) -> None:
    for spec in default_model.households:
        if spec.pv is None:
            continue
        power_w = pv_ac_power_w(spec.pv, default_model.weather)
        kwh_per_kwp = power_w.sum() * HOURS_PER_INTERVAL / spec.pv.peak_power_w
        assert 3.5 < kwh_per_kwp < 8.0, spec
        # The inverter's rating caps the output.
        assert power_w.max() <= spec.pv.inverter_rating_w + 1e-6


# ----------------------------------------------------------------------------- consumption


def test_h0_profile_peaks_in_the_evening_on_weekdays() -> None:
    profile = h0_profile_w_per_kwh_a(2025)
    # One kWh a year is 1000 Wh / 8760 h on average.
    assert math.isclose(profile.mean(), 1_000 / 8_760, rel_tol=1e-6)
    # Wednesdays of 2025 in winter, spring, summer and autumn.
    for day_of_year in (15, 120, 169, 300):
        day = profile[(day_of_year - 1) * 96 : day_of_year * 96]
        peak_hour = int(np.argmax(day)) / 4
        assert 17.0 <= peak_hour <= 22.0, (day_of_year, peak_hour)
        assert day[: 5 * 4].mean() < day[17 * 4 : 22 * 4].mean() / 2  # night well below evening


def test_community_consumption_peaks_in_the_evening(default_run: list[IntervalResult]) -> None:
    consumption = [r.consumption_wh for r in default_run]
    peak_hour = midpoint_hour(default_run[int(np.argmax(consumption))])
    assert 17.0 <= peak_hour <= 22.5
    winter = CommunityModel(CommunityConfig(start_day_of_year=15, seed=3), grid=LowVoltageGrid())
    power_w = sum(consumption_power_w(spec, 2025, 15, 1) for spec in winter.households)
    assert 17.0 <= int(np.argmax(power_w)) / 4 <= 22.0


def test_households_are_drawn_in_range_and_independent_of_the_community_size() -> None:
    draw = HouseholdDraw()
    households = draw_households(40, seed=11)
    low, high = draw.annual_consumption_kwh
    assert all(low <= h.annual_consumption_kwh <= high for h in households)
    assert len({h.annual_consumption_kwh for h in households}) == 40
    assert draw_households(10, seed=11) == households[:10]
    assert draw_households(10, seed=12) != households[:10]
    for h in households:
        if h.pv is not None:
            assert 3_000 <= h.pv.peak_power_w <= 9_000
            assert 120 <= h.pv.azimuth_deg <= 240
        if h.battery is not None:
            assert h.pv is not None
            assert 0 < h.battery.initial_soc_wh < h.battery.capacity_wh


def test_cars_charge_each_evening_within_their_drawn_energy_and_arrival() -> None:
    draw = HouseholdDraw()
    households = draw_households(30, seed=0)
    with_car = [h for h in households if h.ev is not None]
    assert len(with_car) == round(30 * draw.ev_share)
    for h in with_car:
        assert h.ev is not None
        week = ev_charging_power_w(h, 150, 7)
        for day in range(1, 7):  # the first day may still carry the night before's tail
            energy_kwh = week[day * 96 : (day + 1) * 96].sum() * HOURS_PER_INTERVAL / 1_000
            # Today's charge, plus any tail of yesterday's past midnight, less today's own tail.
            assert draw.ev_daily_energy_kwh[0] - 3 <= energy_kwh <= draw.ev_daily_energy_kwh[1] + 3
            charging = np.flatnonzero(week[day * 96 + 4 * 4 : (day + 1) * 96])  # from 04:00
            assert charging.size > 0
            first_hour = (charging[0] + 16) / 4
            assert draw.ev_arrival_hour[0] - 0.25 <= first_hour <= draw.ev_arrival_hour[1]
            assert week.max() <= h.ev.charge_power_w + 1e-9
        # A day charges the same whichever day the window starts from.
        assert np.array_equal(week[96:192], ev_charging_power_w(h, 151, 1))
    without = next(h for h in households if h.ev is None)
    assert not ev_charging_power_w(without, 150, 7).any()


def test_the_default_evening_loads_the_transformer_past_the_high_threshold(
    default_run: list[IntervalResult],
) -> None:
    """The demo's demand-response event starts when the loading crosses GridOperations' HIGH
    threshold (80 %): the default day's evening, when the cars come home, must reach it."""
    peak = max(default_run, key=lambda r: r.grid.transformer_loading_per_mille)
    assert peak.grid.transformer_loading_per_mille >= 800
    assert 17.0 <= midpoint_hour(peak) <= 21.0
    assert all(r.grid.transformer_loading_per_mille < 800 for r in default_run[: 16 * 4])


# ----------------------------------------------------------------------------- energy balance


def test_energy_balances_to_the_wh_per_household_and_interval(
    default_run: list[IntervalResult],
) -> None:
    for result in default_run:
        for h in result.households:
            values = dataclasses.asdict(h)
            assert all(v >= 0 for k, v in values.items() if k.endswith("_wh")), h
            assert h.consumption_wh + h.battery_grid_charge_wh == h.pv_self_used_wh + h.battery_discharge_wh + h.import_wh, h
            assert h.pv_wh == h.pv_self_used_wh + h.battery_charge_wh - h.battery_grid_charge_wh + h.export_wh, h
            assert h.battery_grid_charge_wh == 0, h  # no flexible load: batteries only self-consume
            assert h.import_wh == 0 or h.export_wh == 0, h  # a meter sees the net flow only
            assert h.battery_charge_wh == 0 or h.battery_discharge_wh == 0, h
    # Both directions actually occur today.
    assert sum(r.import_wh for r in default_run) > 0
    assert sum(r.export_wh for r in default_run) > 0


def test_registers_equal_the_sum_of_interval_wh_and_nothing_is_lost_to_rounding(
    default_model: CommunityModel, default_run: list[IntervalResult]
) -> None:
    config = default_model.config
    for spec in default_model.households:
        rows = [r.households[spec.household_id] for r in default_run]
        imported = exported = 0
        for row in rows:
            imported += row.import_wh
            exported += row.export_wh
            assert row.import_register_wh == imported
            assert row.export_register_wh == exported
        # Integer interval energies add up to the floor of the models' exact totals.
        exact_consumption_wh = (
            consumption_power_w(
                spec, config.calendar_year, config.start_day_of_year, config.days
            ).sum()
            * HOURS_PER_INTERVAL
        )
        assert sum(row.consumption_wh for row in rows) == math.floor(exact_consumption_wh)
        if spec.pv is not None:
            exact_pv_wh = pv_ac_power_w(spec.pv, default_model.weather).sum() * HOURS_PER_INTERVAL
            assert sum(row.pv_wh for row in rows) == math.floor(exact_pv_wh)


def test_wh_counter_carries_remainders() -> None:
    counter = WhCounter()
    pieces = [0.4] * 10 + [2.7, 0.35, 1e-9, 5.55]
    handed_out = [counter.add(piece) for piece in pieces]
    assert handed_out[:3] == [0, 0, 1]
    assert sum(handed_out) == math.floor(sum(pieces)) == counter.counted_wh
    with pytest.raises(ValueError):
        counter.add(-1.0)


def test_split_interval_without_a_battery() -> None:
    split = split_interval(consumption_wh=300, pv_wh=1_000, battery=None)
    assert (split.pv_self_used_wh, split.export_wh, split.import_wh) == (300, 700, 0)
    split = split_interval(consumption_wh=300, pv_wh=100, battery=None)
    assert (split.pv_self_used_wh, split.export_wh, split.import_wh) == (100, 0, 200)


# ----------------------------------------------------------------------------- batteries


def test_battery_soc_stays_within_capacity_and_obeys_its_power_limit(
    default_model: CommunityModel, default_run: list[IntervalResult]
) -> None:
    charged = discharged = 0
    for spec in default_model.households:
        battery = spec.battery
        rows = [r.households[spec.household_id] for r in default_run]
        if battery is None:
            assert all(
                r.battery_soc_wh == r.battery_charge_wh == r.battery_discharge_wh == 0 for r in rows
            )
            continue
        soc_wh = battery.initial_soc_wh
        for row in rows:
            assert 0 <= row.battery_soc_wh <= battery.capacity_wh
            assert row.battery_charge_wh * 4 <= battery.max_charge_w
            assert row.battery_discharge_wh * 4 <= battery.max_discharge_w
            assert (
                row.battery_soc_wh
                == soc_wh + row.battery_charge_wh - row.battery_discharge_wh - row.battery_loss_wh
            )
            # Losses: √η each way, give or take the rounding to whole Wh.
            flow_wh = row.battery_charge_wh + row.battery_discharge_wh
            assert (
                0
                <= row.battery_loss_wh
                <= flow_wh * (1 - math.sqrt(battery.round_trip_efficiency)) * 1.2 + 1
            )
            soc_wh = row.battery_soc_wh
            charged += row.battery_charge_wh
            discharged += row.battery_discharge_wh
        # Self-consumption: charging only from surplus, discharging only into a deficit.
        assert all(r.battery_charge_wh == 0 or r.import_wh == 0 for r in rows)
        assert all(r.battery_discharge_wh == 0 or r.export_wh == 0 for r in rows)
    assert charged > 0 and discharged > 0


def test_battery_limits_at_full_and_empty() -> None:
    spec = BatterySpec(
        capacity_wh=1_000,
        max_charge_w=2_000,
        max_discharge_w=800,
        round_trip_efficiency=0.81,
        initial_soc_wh=0,
    )
    battery = Battery.new(spec)
    assert battery.discharge(500).discharge_wh == 0  # empty
    flow = battery.charge(10_000)
    assert flow.charge_wh == 500  # 2 kW for 15 minutes
    assert flow.soc_wh == 450 and flow.loss_wh == 50  # √0.81 = 0.9
    for _ in range(5):
        battery.charge(10_000)
    assert battery.soc_wh <= spec.capacity_wh
    assert battery.soc_wh > spec.capacity_wh - 2  # full, to the rounding
    assert battery.charge(10_000).charge_wh == 0  # nothing taken that it could not store
    flow = battery.discharge(10_000)
    assert flow.discharge_wh == 200  # 0.8 kW for 15 minutes
    assert flow.loss_wh == math.ceil(200 / 0.9) - 200
    with pytest.raises(ValueError):
        BatterySpec(
            capacity_wh=10,
            max_charge_w=1,
            max_discharge_w=1,
            round_trip_efficiency=0.9,
            initial_soc_wh=11,
        )


# ----------------------------------------------------------------------------- the grid


def uniform_loads(
    grid: LowVoltageGrid, net_w: float, consumption_w: float, generation_w: float
) -> dict[int, BusLoad]:
    return {
        bus: BusLoad(consumption_w=consumption_w, generation_w=generation_w, net_active_w=net_w)
        for bus in grid.load_buses
    }


def test_transformer_loading_rises_with_load_and_voltages_follow(grid: LowVoltageGrid) -> None:
    idle = grid.solve(uniform_loads(grid, 0.0, 0.0, 0.0))
    light = grid.solve(uniform_loads(grid, 2_000.0, 2_000.0, 0.0))
    heavy = grid.solve(uniform_loads(grid, 8_000.0, 8_000.0, 0.0))
    export = grid.solve(uniform_loads(grid, -8_000.0, 1_000.0, 9_000.0))

    assert idle.transformer_loading_per_mille < light.transformer_loading_per_mille
    assert light.transformer_loading_per_mille < heavy.transformer_loading_per_mille
    assert heavy.transformer_loading_per_mille == round(heavy.transformer_loading_percent * 10)
    # 8 buses × 8 kW = 64 kW (+ reactive) through a 100 kVA transformer.
    assert 600 < heavy.transformer_loading_per_mille < 800
    assert grid.transformer_rating_va == 100_000
    # The apparent power the loading stands for: at least the active power through the transformer.
    for state in (idle, light, heavy, export):
        assert state.transformer_apparent_va == round(state.transformer_loading_percent * 1_000)
        assert state.transformer_apparent_va >= abs(state.grid_import_w)
        assert state.transformer_rating_kva == 100
    assert heavy.transformer_apparent_kva == round(heavy.transformer_loading_percent)
    # 8 × 8 kW at cos φ 0.95 plus the cables' losses, within a few per cent (the loading reads the
    # current at rated voltage; the busbar sags).
    assert heavy.transformer_apparent_va == pytest.approx(heavy.grid_import_w / LOAD_POWER_FACTOR, rel=0.05)

    assert light.voltage_min_per_mille < idle.voltage_min_per_mille
    assert heavy.voltage_min_per_mille < light.voltage_min_per_mille
    assert heavy.voltage_max_per_mille <= idle.voltage_max_per_mille
    assert export.voltage_max_per_mille > idle.voltage_max_per_mille
    assert export.voltage_min_per_mille >= idle.voltage_min_per_mille

    assert heavy.grid_import_w > heavy.load_w  # losses come on top
    assert export.grid_import_w < 0
    assert heavy.load_w == 64_000 and heavy.generation_w == 0
    assert export.generation_w == 72_000
    assert all(
        state.frequency_millihz == FREQUENCY_NOMINAL_MILLIHZ for state in (idle, heavy, export)
    )
    assert set(heavy.bus_voltage_per_mille) == set(grid.lv_buses)
    # A DC start every time: the same loads give the same state whatever ran before.
    assert grid.solve(uniform_loads(grid, 2_000.0, 2_000.0, 0.0)) == light


def test_a_copper_plate_carries_the_net_power_at_nominal_voltage(grid: LowVoltageGrid) -> None:
    for loads in (uniform_loads(grid, 8_000.0, 8_000.0, 0.0), uniform_loads(grid, -8_000.0, 1_000.0, 9_000.0)):
        plate, solved = grid.copper_plate(loads), grid.solve(loads)
        assert set(plate.bus_voltage_per_mille.values()) == {1_000}
        assert plate.voltage_min_per_mille == plate.voltage_max_per_mille == 1_000 and plate.losses_w == 0
        assert plate.grid_import_w == round(sum(load.net_active_w for load in loads.values()))
        assert (plate.load_w, plate.generation_w) == (solved.load_w, solved.generation_w)
        # Without the cables' losses and voltage drop, within a few per cent of the power flow's loading.
        assert plate.transformer_loading_percent == pytest.approx(solved.transformer_loading_percent, rel=0.06)
        net_w = sum(load.net_active_w for load in loads.values())
        assert plate.transformer_apparent_va == round(math.hypot(net_w, sum(load.reactive_var for load in loads.values())))
    with pytest.raises(ValueError, match="not load buses"):
        grid.copper_plate({grid.lv_buses[0] + 10_000: BusLoad(0.0, 0.0, 0.0)})


def test_meter_history_steps_without_a_power_flow_and_meters_the_same(grid: LowVoltageGrid) -> None:
    config = CommunityConfig(households=5, seed=2)
    solved, plated = CommunityModel(config, grid=grid), CommunityModel(config, grid=grid)
    for _ in range(8):
        a, b = solved.step(), plated.step(power_flow=False)
        assert [dataclasses.replace(h, voltage_per_mille=0) for h in a.households] == [
            dataclasses.replace(h, voltage_per_mille=0) for h in b.households
        ]
        assert all(h.voltage_per_mille == 1_000 for h in b.households)


def test_households_sit_on_load_buses_round_robin(
    grid: LowVoltageGrid, default_model: CommunityModel
) -> None:
    buses = default_model.household_buses
    assert set(buses) == set(grid.load_buses)
    counts = [buses.count(bus) for bus in grid.load_buses]
    assert max(counts) - min(counts) <= 1
    with pytest.raises(ValueError):
        grid.solve(
            {0: BusLoad(consumption_w=1.0, generation_w=0.0, net_active_w=1.0)}
        )  # the MV bus


def test_a_larger_community_fills_one_feeder_after_another() -> None:
    model = CommunityModel(CommunityConfig(households=70, households_per_feeder=30))
    grid = model.grid
    assert grid.feeders == 3 and grid.transformer_rating_va == 3 * grid.feeder_rating_va == 300_000
    feeder_of = [bus // FEEDER_BUS_STRIDE for bus in model.household_buses]
    assert feeder_of == [0] * 30 + [1] * 30 + [2] * 10
    one = LowVoltageGrid()
    # Within a feeder, the same buses as a community of its own.
    assert [bus % FEEDER_BUS_STRIDE for bus in model.household_buses[30:60]] == list(one.assign_buses(30))
    assert set(grid.lv_buses) == {f * FEEDER_BUS_STRIDE + bus for f in range(3) for bus in one.lv_buses}
    with pytest.raises(ValueError, match="do not fit"):
        grid.assign_buses(91, 30)
    with pytest.raises(ValueError, match="at least one feeder"):
        LowVoltageGrid(feeders=0)
    with pytest.raises(ValueError, match="at least one household"):
        CommunityConfig(households_per_feeder=0)
    with pytest.raises(ValueError, match="not load buses"):
        grid.solve({3 * FEEDER_BUS_STRIDE + one.load_buses[0]: BusLoad(1.0, 0.0, 1.0)})  # no fourth feeder


def test_feeders_share_one_power_flow_and_each_flows_as_it_would_alone() -> None:
    grid, one = LowVoltageGrid(feeders=2), LowVoltageGrid()
    heavy, light = uniform_loads(one, 8_000.0, 8_000.0, 0.0), uniform_loads(one, -2_000.0, 500.0, 2_500.0)
    both = {**heavy, **{FEEDER_BUS_STRIDE + bus: load for bus, load in light.items()}}
    for run in (LowVoltageGrid.solve, LowVoltageGrid.copper_plate):
        state, first, second = run(grid, both), run(one, heavy), run(one, light)
        # The worst transformer, every bus's own voltage, the power and the losses summed.
        assert state.transformer_loading_percent == first.transformer_loading_percent
        assert state.transformer_rating_va == 200_000
        assert state.transformer_apparent_va == pytest.approx(first.transformer_apparent_va + second.transformer_apparent_va, abs=1)
        assert state.bus_voltage_per_mille == {
            **first.bus_voltage_per_mille,
            **{FEEDER_BUS_STRIDE + bus: v for bus, v in second.bus_voltage_per_mille.items()},
        }
        assert state.voltage_min_per_mille == first.voltage_min_per_mille
        assert state.voltage_max_per_mille == second.voltage_max_per_mille
        assert state.grid_import_w == pytest.approx(first.grid_import_w + second.grid_import_w, abs=1)
        assert state.losses_w == pytest.approx(first.losses_w + second.losses_w, abs=1)
        assert (state.load_w, state.generation_w) == (first.load_w + second.load_w, first.generation_w + second.generation_w)


@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_every_offered_network_carries_a_community(network: str) -> None:
    grid = LowVoltageGrid(network)
    buses = grid.assign_buses(100)  # all on its one feeder
    assert set(buses) == set(grid.load_buses) and set(grid.load_buses) <= set(grid.lv_buses)
    loads = {
        bus: BusLoad(consumption_w=1_500.0, generation_w=0.0, net_active_w=1_500.0) for bus in buses
    }
    state = grid.solve(loads)
    assert state.load_w == 1_500 * len(grid.load_buses)
    assert state.transformer_loading_per_mille > 0
    assert state.voltage_min_per_mille < 1_000
    # Two of its feeders behind one MV bus: each loaded as it would be alone (the second, empty,
    # only by its transformer's magnetizing current).
    two = LowVoltageGrid(network, feeders=2).solve(loads)
    assert two.feeder_loading_per_mille == (state.transformer_loading_per_mille, grid.solve({}).transformer_loading_per_mille)
    assert two.voltage_min_per_mille == state.voltage_min_per_mille


def test_community_grid_state_follows_the_meters(default_run: list[IntervalResult]) -> None:
    for result in default_run:
        meters_net_w = (result.import_wh - result.export_wh) * 4
        # The transformer carries the meters' net power plus the grid's losses.
        assert result.grid.grid_import_w == pytest.approx(
            meters_net_w + result.grid.losses_w, abs=50
        )
        assert result.grid.load_w == result.consumption_wh * 4
        assert result.grid.generation_w == result.pv_wh * 4
        for h in result.households:
            assert h.voltage_per_mille == result.grid.bus_voltage_per_mille[h.bus]
    # Evening import lowers voltages; noon export raises them above nominal.
    noon = max(default_run, key=lambda r: r.export_wh)
    evening = max(default_run, key=lambda r: r.import_wh)
    assert noon.grid.voltage_max_per_mille > 1_000 > evening.grid.voltage_min_per_mille


# ----------------------------------------------------------------------------- determinism


def test_the_grid_is_the_same_every_time_and_leaves_random_alone() -> None:
    """Kerber's generators draw cable types from Python's global random: the model fixes them
    (a resumed run in another process must see the same grid) without touching the caller's
    random state."""
    random.seed(1234)
    expected_next = random.Random(1234).random()
    loads = {bus: BusLoad(3_000.0, 0.0, 3_000.0) for bus in LowVoltageGrid().load_buses}
    first = LowVoltageGrid().solve(loads)
    assert random.random() == expected_next
    random.seed(99)  # whatever the caller's state, the same network
    assert LowVoltageGrid().solve(loads) == first


def test_same_seed_same_figures_another_seed_others(
    grid: LowVoltageGrid, default_run: list[IntervalResult]
) -> None:
    assert CommunityModel(CommunityConfig(), grid=grid).run() == default_run
    other = CommunityModel(CommunityConfig(seed=1), grid=grid).run()
    assert [r.households for r in other] != [r.households for r in default_run]
    assert [r.weather for r in other] == [r.weather for r in default_run]  # the same sky


def test_consumption_factor_scales_one_interval_of_one_household(grid: LowVoltageGrid) -> None:
    config = CommunityConfig(households=4, start_day_of_year=15)
    plain, curtailed = CommunityModel(config, grid=grid), CommunityModel(config, grid=grid)
    for _ in range(76):  # to 19:00, the evening peak
        assert plain.step() == curtailed.step()
    as_modelled = plain.step()
    reduced = curtailed.step(consumption_factor={2: 0.5})
    assert reduced.households[2].consumption_wh < as_modelled.households[2].consumption_wh * 0.6
    assert reduced.households[0] == as_modelled.households[0]
    assert reduced.grid.transformer_loading_percent < as_modelled.grid.transformer_loading_percent


def test_windows_outside_the_year_are_refused() -> None:
    with pytest.raises(ValueError):
        CommunityConfig(start_day_of_year=365, days=2)
    with pytest.raises(ValueError):
        CommunityConfig(households=0)
    with pytest.raises(ValueError):
        weather_window(load_typical_year(), 2025, 0, 1)
