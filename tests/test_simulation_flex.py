"""Flexible load (energy_grid.community.flex): the zone's price forecast, the car chargers' plans
and the batteries' grid charging, as pure functions and in the model on a copper plate (no chain)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from energy_grid.community.battery import Battery, BatterySpec
from energy_grid.community.flex import (
    EV_PRICE_BAND_BPS,
    PRICE_HOLD_INTERVALS,
    ClearedPrice,
    FlexSettings,
    ev_charging_plan_wh,
    expected_tariff_per_kwh,
    grid_charge_pays,
    own_load_forecast_wh,
    price_forecast_per_kwh,
    stored_need_wh,
)
from energy_grid.community.households import ev_sessions
from energy_grid.community.metering import split_interval
from energy_grid.community.model import CommunityConfig, CommunityModel, IntervalResult
from energy_grid.domain.demand_response import LoadingForecast, day_loading_forecast
from energy_grid.domain.link_limits import headroom_kw, limit_runs
from energy_grid.domain.units import INTERVALS_PER_DAY

BASE = 200_000  # PaymentToken base units per kWh
RATING_KW = 100
HOUR = 4  # intervals


# ----------------------------------------------------------------------------- the forecast


def test_headroom_is_the_operators_rule_on_the_highest_loading_each_time_of_day() -> None:
    # Highest loading per time of day: 300, 873, 0 per mille → 70, 12.7 → 10, 100 kW in 5 kW steps.
    assert headroom_kw(day_loading_forecast([[200, 873, 0], [300, 850, 0]]), RATING_KW) == [70, 10, 100]
    assert headroom_kw(day_loading_forecast([[1_200]]), RATING_KW) == [0]  # overloaded: no headroom, never negative
    with pytest.raises(ValueError):
        day_loading_forecast([])


def test_the_headroom_of_a_committed_forecast_leaves_room_for_either_end_of_its_band() -> None:
    # P10 −20 kWh (export) and P90 5 kWh: the worst case is 20 kWh in 900 s, 80 kW of a 100 kW rating.
    committed = day_loading_forecast([[0, 0]], ([-20_000, 1_000], [5_000, 2_000]), RATING_KW)
    assert committed.source == "committed"
    assert headroom_kw(committed, RATING_KW) == [20, 90]
    assert headroom_kw(LoadingForecast([0, 999, 1_000], "cautious"), RATING_KW) == [100, 0, 0]
    # The forecaster's loading margin widens the bound (2.5 kWh more: 10 kW less room), or narrows it,
    # never below no loading at all.
    widened = day_loading_forecast([[0, 0]], ([-20_000, 1_000], [5_000, 2_000]), RATING_KW, [2_500, -5_000])
    assert headroom_kw(widened, RATING_KW) == [10, 100]


def test_runs_of_equal_limits_break_at_a_period_left_alone_and_at_the_most_a_call_holds() -> None:
    assert limit_runs(10, [5, 5, None, 5, 7, 7, 7], max_periods=2) == [(10, 2, 5), (13, 1, 5), (14, 2, 7), (16, 1, 7)]
    assert limit_runs(0, [None, None], max_periods=96) == []


def test_the_expected_tariff_is_dearer_where_the_headroom_is_smaller() -> None:
    tariff = expected_tariff_per_kwh([100, 70, 10, 0], RATING_KW, BASE)
    assert tariff[0] == BASE  # no load: the base price
    assert tariff[-1] == BASE * 3 // 2  # at the rating: half as much again
    assert tariff == sorted(tariff) and len(set(tariff)) == 4


def test_a_cheap_cleared_price_holds_for_an_hour_then_the_tariff_by_time_of_day() -> None:
    tariff = list(range(BASE, BASE + INTERVALS_PER_DAY))  # a different price each time of day
    now = 3 * INTERVALS_PER_DAY + 10  # a later day: the tariff repeats by time of day
    assert list(price_forecast_per_kwh(now, 3, tariff, None, BASE)) == tariff[10:13]
    cheap = ClearedPrice(interval=now - 2, price_per_kwh=BASE - 7_000)
    forecast = price_forecast_per_kwh(now, 8, tariff, cheap, BASE)
    held = PRICE_HOLD_INTERVALS - 2  # the price is two intervals old when the step sees it
    assert list(forecast[: held + 1]) == [BASE - 7_000] * (held + 1)
    assert list(forecast[held + 1 :]) == tariff[10 + held + 1 : 18]
    # A price at or above the base price says the zone is short: the tariff stands.
    dear = ClearedPrice(interval=now - 2, price_per_kwh=BASE)
    assert list(price_forecast_per_kwh(now, 8, tariff, dear, BASE)) == tariff[10:18]
    # Across midnight the time of day wraps.
    assert list(price_forecast_per_kwh(INTERVALS_PER_DAY - 1, 2, tariff, None, BASE)) == [tariff[-1], tariff[0]]


# ----------------------------------------------------------------------------- car chargers


def test_a_car_charges_its_need_in_the_cheapest_intervals_never_above_its_power() -> None:
    power_w = 11_000
    available_h = [0.1, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.05]  # plugged in at x:09, gone at y:03
    prices = [300, 300, 250, 120, 100, 100, 290, 100]
    plan = ev_charging_plan_wh(5_000.0, available_h, power_w, prices, band_per_kwh=1)
    room = np.asarray(available_h) * power_w
    assert plan.sum() == pytest.approx(5_000.0)
    assert all(0 <= wh <= r + 1e-9 for wh, r in zip(plan, room, strict=True))
    # The three intervals at 100 (room 2,750 + 2,750 + 550) take all of it, in proportion to their room.
    cheapest = [4, 5, 7]
    assert plan[cheapest].sum() == pytest.approx(5_000.0)
    assert plan[4] == pytest.approx(plan[5]) and plan[7] == pytest.approx(plan[4] * 0.05 / 0.25)
    # More than the cheapest level holds: it is filled to the charger's power, the rest goes to the next.
    plan = ev_charging_plan_wh(7_000.0, available_h, power_w, prices, band_per_kwh=1)
    assert list(plan[cheapest]) == pytest.approx(list(room[cheapest]))
    assert plan[3] == pytest.approx(7_000.0 - room[cheapest].sum()) and plan[[0, 1, 2, 6]].sum() == 0


def test_prices_within_the_band_count_as_one_and_a_short_session_charges_what_it_can() -> None:
    plan = ev_charging_plan_wh(2_000.0, [0.25] * 4, 11_000, [100, 102, 105, 103], band_per_kwh=3)
    assert plan[[0, 1, 3]] == pytest.approx([2_000.0 / 3] * 3) and plan[2] == 0  # 105 is outside 100..103
    plan = ev_charging_plan_wh(20_000.0, [0.25, 0.25], 11_000, [100, 200], band_per_kwh=1)
    assert list(plan) == pytest.approx([2_750.0, 2_750.0])  # the session's whole room, no more
    with pytest.raises(ValueError):
        ev_charging_plan_wh(1.0, [0.25], 11_000, [100, 100], band_per_kwh=1)


# ----------------------------------------------------------------------------- batteries


def test_a_battery_charges_from_the_grid_only_below_the_base_price_and_when_it_pays() -> None:
    assert grid_charge_pays(BASE - 1, BASE * 3 // 2, BASE, 0.9)
    assert not grid_charge_pays(BASE, BASE * 3 // 2, BASE, 0.9)  # at the tariff's floor: nothing to gain
    # Below the base price, but the dearest price to come does not pay the round trip's losses.
    assert not grid_charge_pays(BASE - 1_000, BASE, BASE, 0.9)


def test_a_household_forecasts_its_own_load_and_its_battery_holds_what_the_deficit_before_its_pv_needs() -> None:
    past = np.zeros((2, INTERVALS_PER_DAY))
    past[0, :] = 100.0
    past[1, :] = 300.0
    past[:, 40:60] = -500.0  # its PV covers the house around noon
    forecast = own_load_forecast_wh(past, INTERVALS_PER_DAY + 30, 20)  # from 07:30 tomorrow, by time of day
    assert list(forecast[:10]) == [200.0] * 10 and list(forecast[10:]) == [-500.0] * 10
    # The deficit until the PV covers the house again: ten intervals of 200 Wh, at a one-way 0.9.
    assert stored_need_wh(forecast, 0.9) == math.ceil(2_000 / 0.9)
    assert stored_need_wh(forecast[10:], 0.9) == 0  # the PV covers the house now: nothing to store
    assert stored_need_wh([150.0, 150.0], 1.0) == 300  # no surplus in sight: the whole horizon's deficit
    # A small surplus refills part of what the evening needs: the rest must be held now.
    assert stored_need_wh([100.0, -200.0, 900.0], 0.9) == math.ceil(100 / 0.9 + 900 / 0.9 - 200 * 0.9)
    assert stored_need_wh([100.0, -2_000.0, 900.0], 0.9) == math.ceil(100 / 0.9)  # a large one refills it all
    with pytest.raises(ValueError):
        own_load_forecast_wh(np.zeros((0, INTERVALS_PER_DAY)), 0, 4)  # no past day to forecast from


def test_grid_charging_keeps_the_identities_and_the_batterys_limits() -> None:
    spec = BatterySpec(capacity_wh=5_000, max_charge_w=2_500, max_discharge_w=2_500, round_trip_efficiency=0.9, initial_soc_wh=4_000)
    battery = Battery.new(spec)
    soc_wh = spec.initial_soc_wh
    for consumption_wh, pv_wh in [(300, 0), (100, 400), (200, 200), (500, 0), (0, 2_000)]:
        split = split_interval(consumption_wh, pv_wh, battery, grid_charge=True)
        assert split.consumption_wh + split.battery_grid_charge_wh == split.pv_self_used_wh + split.battery_discharge_wh + split.import_wh
        assert split.pv_wh == split.pv_self_used_wh + split.battery_charge_wh - split.battery_grid_charge_wh + split.export_wh
        assert split.battery_soc_wh == soc_wh + split.battery_charge_wh - split.battery_loss_wh
        assert split.battery_charge_wh <= spec.max_charge_wh_per_interval and split.battery_soc_wh <= spec.capacity_wh
        assert split.battery_discharge_wh == 0 and (split.import_wh == 0 or split.export_wh == 0)
        soc_wh = split.battery_soc_wh
    assert soc_wh > spec.capacity_wh - 10  # full but for a Wh or two lost to rounding
    # From the PV surplus first: 300 Wh of surplus and 325 Wh from the grid make the interval's 625 Wh.
    split = split_interval(100, 400, Battery(spec=spec, soc_wh=0), grid_charge=True)
    assert (split.battery_charge_wh, split.battery_grid_charge_wh, split.export_wh) == (625, 325, 0)


# ----------------------------------------------------------------------------- in the model


Flexible = tuple[CommunityModel, list[IntervalResult]]
NIGHT = range(INTERVALS_PER_DAY, INTERVALS_PER_DAY + 5 * HOUR)
MORNING = range(INTERVALS_PER_DAY + 7 * HOUR, INTERVALS_PER_DAY + 10 * HOUR)


@pytest.fixture(scope="module")
def flexible() -> Flexible:
    """8 households on two feeders, three days on a copper plate: the second and third answer
    prices, the zones' market clearing below the base price in the second night's first hours
    (NIGHT) and on the second morning (MORNING)."""
    model = CommunityModel(
        CommunityConfig(households=8, households_per_feeder=4, days=3, seed=3, flex=FlexSettings(BASE, zoned=True))
    )
    results: list[IntervalResult] = []
    for i in range(model.interval_count):
        prices = {zone: ClearedPrice(i - 2, BASE - 5_000) for zone in (0, 1)} if i in NIGHT or i in MORNING else {}
        results.append(model.step(power_flow=False, cleared_prices=prices))
    return model, results


def test_cars_charge_their_sessions_need_in_the_cheapest_forecast_band(flexible: Flexible) -> None:
    model, _ = flexible
    flex = model._flex
    assert flex is not None
    tariff = flex._tariff_of(1)
    config = model.config
    first = (config.start_day_of_year - 1) * INTERVALS_PER_DAY
    checked = 0
    for spec in model.households:
        if spec.ev is None:
            continue
        # The session that arrives on the second day and leaves on the third morning, inside the window.
        session = ev_sessions(spec, config.start_day_of_year, config.days)[-2]
        start = math.floor(session.arrival_h * HOUR) - first
        end = math.ceil(session.departure_h * HOUR) - first
        assert INTERVALS_PER_DAY <= start < end <= model.interval_count
        charged = flex.ev_wh[spec.household_id, start:end]
        assert charged.sum() == pytest.approx(session.energy_wh)  # its whole need, before it leaves
        assert max(charged) <= spec.ev.charge_power_w / HOUR + 1e-9
        prices = np.array([tariff[flex.feeder_of[spec.household_id]][k % INTERVALS_PER_DAY] for k in range(start, end)])
        used = prices[charged > 0]
        assert max(used) <= min(prices) + BASE * EV_PRICE_BAND_BPS // 10_000  # within the session's cheapest band
        # No dearer on average than charging at full power on arrival, as without flexible load.
        room_wh = spec.ev.charge_power_w / HOUR
        on_arrival = np.clip(session.energy_wh - room_wh * np.arange(len(prices)), 0, room_wh)
        assert (charged * prices).sum() <= (on_arrival * prices).sum() + 1e-6
        checked += 1
    assert checked >= 2


def test_batteries_charge_from_the_zone_when_it_sells_cheap_up_to_what_their_house_will_need(flexible: Flexible) -> None:
    model, results = flexible
    batteries = {spec.household_id: spec.battery for spec in model.households if spec.battery is not None}
    assert batteries
    load_wh = np.array([[h.consumption_wh - h.pv_wh for h in result.households] for result in results])
    from_grid = 0
    for i, result in enumerate(results):
        for h in result.households:
            assert h.consumption_wh + h.battery_grid_charge_wh == h.pv_self_used_wh + h.battery_discharge_wh + h.import_wh
            assert h.pv_wh == h.pv_self_used_wh + h.battery_charge_wh - h.battery_grid_charge_wh + h.export_wh
            battery = batteries.get(h.household_id)
            if battery is None:
                assert h.battery_grid_charge_wh == 0
                continue
            assert 0 <= h.battery_soc_wh <= battery.capacity_wh
            assert h.battery_charge_wh <= battery.max_charge_wh_per_interval
            if h.battery_grid_charge_wh:
                # Only where the zone sold cheap, and not in the morning, when every battery held what
                # its house needs before its PV covers it again.
                assert i in NIGHT
                # … and only while the battery held less than its household's own forecast says it will need.
                day = i // INTERVALS_PER_DAY
                past = load_wh[: day * INTERVALS_PER_DAY, h.household_id].reshape(day, INTERVALS_PER_DAY)
                need_wh = stored_need_wh(own_load_forecast_wh(past, i, INTERVALS_PER_DAY), battery.one_way_efficiency)
                assert results[i - 1].households[h.household_id].battery_soc_wh < need_wh
                from_grid += h.battery_grid_charge_wh
    assert from_grid > 0
