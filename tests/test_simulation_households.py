"""What a household consumes (energy_grid.community.households): holidays on H0's Sunday profile,
heat pumps that follow the temperature, behaviour that lasts (AR(1) noise, days away), appliances'
bursts, the annual energy kept, and a day's figures whatever day a run starts from.

Pure Python, no chain: `.venv/bin/python -m pytest tests/test_simulation_households.py -p no:ape_test -q`.
"""

from __future__ import annotations

import dataclasses
import datetime

import numpy as np
import pytest
from dateutil.easter import easter

from energy_grid.community import HouseholdDraw, HouseholdSpec, draw_households, load_typical_year
from energy_grid.community.holidays import easter_sunday, public_holidays
from energy_grid.community.households import (
    APPLIANCE_POWER_W,
    APPLIANCE_SHARE,
    AWAY_LEVEL,
    AWAY_PROBABILITY,
    NOISE_PHI,
    appliance_bursts_w,
    consumption_power_w,
    day_factors,
    h0_profile_w_per_kwh_a,
    heat_pump_power_w,
    household_load_w,
    log_ar1_noise,
)
from energy_grid.community.weather import interval_temperature_c
from energy_grid.domain.units import INTERVALS_PER_DAY

YEAR = 2025
DAYS = 365
HOURS_PER_INTERVAL = 0.25
WH_PER_KWH = 1_000


@pytest.fixture(scope="module")
def community() -> tuple[HouseholdSpec, ...]:
    return draw_households(100, seed=7)


def day_of_year(day: datetime.date) -> int:
    return day.timetuple().tm_yday


def daily(values: np.ndarray) -> np.ndarray:
    return values.reshape(-1, INTERVALS_PER_DAY)


def annual_kwh(power_w: np.ndarray) -> float:
    return float(power_w.sum()) * HOURS_PER_INTERVAL / WH_PER_KWH


# ----------------------------------------------------------------------------- holidays


def test_easter_by_the_computus_and_germany_s_nine_national_holidays() -> None:
    for year in range(1900, 2201):
        assert easter_sunday(year) == easter(year), year  # dateutil's own computus
    holidays = public_holidays(YEAR)
    assert len(holidays) == 9 and all(day.year == YEAR for day in holidays)
    by_name = {name: day for day, name in holidays.items()}
    easter_day = easter_sunday(YEAR)
    assert by_name["Good Friday"].weekday() == 4 and by_name["Good Friday"] < easter_day
    assert by_name["Easter Monday"].weekday() == by_name["Whit Monday"].weekday() == 0
    assert by_name["Ascension Day"].weekday() == 3
    assert {(day.month, day.day) for day in holidays} >= {(1, 1), (5, 1), (10, 3), (12, 25), (12, 26)}


def test_a_holiday_on_a_weekday_takes_the_sunday_profile() -> None:
    profile = daily(h0_profile_w_per_kwh_a(YEAR))
    weekday_holidays = [day for day in public_holidays(YEAR) if day.weekday() < 5]
    assert len(weekday_holidays) >= 5
    for holiday in weekday_holidays:
        shape = profile[day_of_year(holiday) - 1]
        # The Sunday of the same week or the next (one of them lies in the same H0 season).
        sundays = [holiday + datetime.timedelta(days=6 - holiday.weekday() + offset) for offset in (-7, 0)]
        assert any(np.array_equal(shape, profile[day_of_year(sunday) - 1]) for sunday in sundays if sunday.year == YEAR), holiday
        # A working day of the same kind a week away keeps its weekday shape.
        for other in (holiday - datetime.timedelta(days=7), holiday + datetime.timedelta(days=7)):
            if other.year == YEAR and other not in public_holidays(YEAR):
                assert not np.allclose(shape, profile[day_of_year(other) - 1]), (holiday, other)


# ----------------------------------------------------------------------------- heat pumps


def test_heat_pumps_are_spread_over_the_households_and_a_third_of_them_cool(community: tuple[HouseholdSpec, ...]) -> None:
    draw = HouseholdDraw()
    heat_pumps = [spec for spec in community if spec.heat_pump is not None]
    assert len(heat_pumps) == round(len(community) * draw.heat_pump_share)
    assert sum(spec.heat_pump.cools for spec in heat_pumps if spec.heat_pump) == round(len(community) * 0.1)
    # Spread evenly: every block of ten households has three.
    for block in range(0, len(community), 10):
        assert sum(spec.heat_pump is not None for spec in community[block : block + 10]) == 3
    # The other traits are those drawn before heat pumps existed: the same draws in the same order.
    assert draw_households(10, seed=7) == community[:10]


def test_a_heat_pump_draws_more_the_colder_the_day_and_none_without_one(community: tuple[HouseholdSpec, ...]) -> None:
    mean_c = daily(interval_temperature_c(load_typical_year(), 1, DAYS)).mean(axis=1)
    cold_day, mild_day = int(np.argmin(mean_c)) + 1, int(np.argmin(np.abs(mean_c - 10.0))) + 1
    assert mean_c[cold_day - 1] < 0 < mean_c[mild_day - 1] < 15
    heated = next(spec for spec in community if spec.heat_pump is not None and not spec.heat_pump.cools)
    cold_wh, mild_wh = (annual_kwh(heat_pump_power_w(heated, day, 1)) for day in (cold_day, mild_day))
    assert cold_wh > 2 * mild_wh > 0
    # Over the year, the day's electricity falls as its mean temperature rises, to nothing in summer.
    by_day_kwh = daily(heat_pump_power_w(heated, 1, DAYS)).sum(axis=1) * HOURS_PER_INTERVAL / WH_PER_KWH
    heating_days = mean_c < 12
    assert np.corrcoef(mean_c[heating_days], by_day_kwh[heating_days])[0, 1] < -0.9
    assert by_day_kwh[mean_c > 22].max() == 0  # no cooling without a reversible heat pump
    # The same household without its heat pump draws nothing for heat, the rest unchanged.
    without = dataclasses.replace(heated, heat_pump=None)
    assert not heat_pump_power_w(without, cold_day, 1).any()
    assert np.allclose(
        consumption_power_w(heated, YEAR, cold_day, 1) - consumption_power_w(without, YEAR, cold_day, 1),
        heat_pump_power_w(heated, cold_day, 1),
    )


def test_a_reversible_heat_pump_cools_on_hot_afternoons(community: tuple[HouseholdSpec, ...]) -> None:
    cooling = next(spec for spec in community if spec.heat_pump is not None and spec.heat_pump.cools)
    temperature_c = daily(interval_temperature_c(load_typical_year(), 1, DAYS))
    hot_day = int(np.argmax(temperature_c.min(axis=1))) + 1  # the warmest night: no heating at all
    power_w = heat_pump_power_w(cooling, hot_day, 1)
    assert power_w.max() > 0
    assert power_w[: 6 * 4].sum() < power_w[12 * 4 : 18 * 4].sum()  # more in the afternoon than before dawn


def test_a_heat_pump_adds_2500_to_5000_kwh_of_heating_a_year(community: tuple[HouseholdSpec, ...]) -> None:
    for spec in community:
        if spec.heat_pump is None:
            continue
        heating = dataclasses.replace(spec, heat_pump=dataclasses.replace(spec.heat_pump, cools=False))
        heating_kwh = annual_kwh(heat_pump_power_w(heating, 1, DAYS))
        assert 2_500 <= heating_kwh <= 5_000, spec
        if spec.heat_pump.cools:
            assert heating_kwh < annual_kwh(heat_pump_power_w(spec, 1, DAYS)) < heating_kwh + 1_000, spec


# ----------------------------------------------------------------------------- behaviour


def test_the_noise_is_an_ar1_with_mean_one_over_a_year(community: tuple[HouseholdSpec, ...]) -> None:
    for spec in community[:5]:
        noise = log_ar1_noise(np.random.default_rng(spec.noise_seed), DAYS * INTERVALS_PER_DAY)
        assert abs(noise.mean() - 1) < 0.01
        assert 0.10 < noise.std() < 0.15
        log_noise = np.log(noise)
        assert abs(np.corrcoef(log_noise[:-1], log_noise[1:])[0, 1] - NOISE_PHI) < 0.02
        assert abs(np.corrcoef(log_noise[:-2], log_noise[2:])[0, 1] - NOISE_PHI**2) < 0.03
        # Independent draws would have none: the process is what carries it.
        shuffled = np.random.default_rng(0).permutation(log_noise)
        assert abs(np.corrcoef(shuffled[:-1], shuffled[1:])[0, 1]) < 0.03


def test_some_days_are_spent_away_and_the_days_average_one(community: tuple[HouseholdSpec, ...]) -> None:
    factors = np.concatenate([day_factors(spec.noise_seed, DAYS) for spec in community])
    assert abs(factors.mean() - 1) < 0.01
    assert abs(np.mean(factors == AWAY_LEVEL) - AWAY_PROBABILITY) < 0.01
    at_home = factors[factors != AWAY_LEVEL]
    assert at_home.min() > AWAY_LEVEL and at_home.max() / at_home.min() > 1.4  # quiet and busy days


def test_appliances_burst_a_few_times_a_day_mostly_when_the_household_is_up(community: tuple[HouseholdSpec, ...]) -> None:
    spec = community[0]
    profile_w = h0_profile_w_per_kwh_a(YEAR) * spec.annual_consumption_kwh
    bursts_w = appliance_bursts_w(spec.noise_seed, profile_w)
    starts = np.flatnonzero(np.diff(bursts_w, prepend=0.0) > 0)
    assert 0.5 * DAYS < len(starts) < 4 * DAYS
    on = bursts_w[bursts_w > 0]
    assert on.min() >= APPLIANCE_POWER_W[0]
    # The bursts carry their share of the annual energy, the evening more than the small hours.
    assert abs(annual_kwh(bursts_w) / spec.annual_consumption_kwh - APPLIANCE_SHARE) < 0.03
    by_time_of_day = daily(bursts_w).sum(axis=0)
    assert by_time_of_day[18 * 4 : 21 * 4].sum() > 3 * by_time_of_day[2 * 4 : 5 * 4].sum()


def test_a_year_consumes_the_drawn_energy_within_a_few_per_cent(community: tuple[HouseholdSpec, ...]) -> None:
    ratios = np.array([annual_kwh(household_load_w(spec, YEAR, 1, DAYS)) / spec.annual_consumption_kwh for spec in community])
    assert np.all(np.abs(ratios - 1) < 0.05)
    assert abs(ratios.mean() - 1) < 0.01
    # Households of the same size differ interval by interval.
    a, b = community[:2]
    same_size = dataclasses.replace(b, annual_consumption_kwh=a.annual_consumption_kwh)
    assert not np.allclose(household_load_w(a, YEAR, 1, 7), household_load_w(same_size, YEAR, 1, 7))


def test_a_day_is_the_same_whichever_day_the_window_starts(community: tuple[HouseholdSpec, ...]) -> None:
    everything = next(spec for spec in community if spec.heat_pump is not None and spec.ev is not None)
    for first_day in (1, 40, 200):
        window = consumption_power_w(everything, YEAR, first_day, 7)
        for offset in (1, 6):
            assert np.array_equal(window[offset * 96 : (offset + 1) * 96], consumption_power_w(everything, YEAR, first_day + offset, 1))
    year = household_load_w(everything, YEAR, 1, DAYS)
    assert np.array_equal(year[-96:], household_load_w(everything, YEAR, DAYS, 1))
