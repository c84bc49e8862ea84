"""The PriceFormula library through PriceFormulaHarness: each factor at its bounds and clamps, the
local hour across time zones, and the weighted price against a Python reference (all rounded down)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BPS = 10_000


def demand_reference(demand_w: int, supply_w: int) -> int:
    if supply_w == 0:
        return 20_000
    return min(max(demand_w * BPS // supply_w, 5_000), 20_000)


def availability_reference(irradiance: int, wind_mm_per_s: int) -> int:
    return min(max(irradiance * BPS // 1_000, wind_mm_per_s * BPS // 12_000), BPS)


def stability_reference(frequency_millihz: int, voltage_per_mille: int) -> int:
    return min(BPS + 10 * abs(frequency_millihz - 50_000) + 100 * abs(voltage_per_mille - 1_000), 20_000)


def price_reference(base: int, demand: int, supply: int, time: int, stability: int) -> int:
    return base * (3_000 * demand + 3_000 * supply + 2_000 * time + 2_000 * stability) // (BPS * BPS)


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.PriceFormulaHarness)


@pytest.mark.parametrize(
    ("demand_w", "supply_w", "expected"),
    [
        (0, 0, 20_000),
        (1, 0, 20_000),
        (0, 1, 5_000),
        (1_000, 1_000, 10_000),
        (1, 2, 5_000),
        (2, 1, 20_000),
        (3, 1, 20_000),
        (14_999, 10_000, 14_999),
    ],
)
def test_demand_factor_clamps(harness, demand_w, supply_w, expected):
    assert harness.demandFactorBps(demand_w, supply_w) == expected


@pytest.mark.parametrize(
    ("irradiance", "wind", "expected"),
    [(0, 0, 0), (1_000, 0, BPS), (0, 12_000, BPS), (500, 3_000, 5_000), (2_000, 0, BPS), (0, 1, 0), (1, 1, 10)],
)
def test_renewable_availability(harness, irradiance, wind, expected):
    assert harness.renewableAvailabilityBps(irradiance, wind) == expected


@pytest.mark.parametrize(("availability", "expected"), [(0, 12_500), (BPS, 7_500), (5_000, 10_000), (1, 12_500), (3, 12_499)])
def test_supply_factor(harness, availability, expected):
    assert harness.supplyFactorBps(availability) == expected


@pytest.mark.parametrize(
    ("frequency", "voltage", "expected"),
    [
        (50_000, 1_000, BPS),
        (49_900, 1_000, 11_000),
        (50_100, 990, 12_000),
        (49_000, 1_000, 20_000),
        (0, 0, 20_000),
        (50_000, 1_050, 15_000),
    ],
)
def test_stability_factor(harness, frequency, voltage, expected):
    assert harness.stabilityFactorBps(frequency, voltage) == expected


@pytest.mark.parametrize(
    ("timestamp", "offset_minutes", "hour"),
    [
        (0, 0, 0),
        (3_599, 0, 0),
        (3_600, 0, 1),
        (86_399, 0, 23),
        (86_400, -60, 23),
        (86_400, 60, 1),
        (86_400 + 1_800, 30, 1),
        (86_400, -14 * 60, 10),
        (86_400, 14 * 60, 14),
    ],
)
def test_local_hour_across_time_zones(harness, timestamp, offset_minutes, hour):
    assert harness.localHour(timestamp, offset_minutes) == hour


def test_price_at_every_factor_neutral_is_the_base(harness):
    assert harness.price(1_000, BPS, BPS, BPS, BPS) == 1_000
    assert harness.price(0, 20_000, 20_000, 20_000, 20_000) == 0
    # Rounded down: 7 × 1.03 = 7.21.
    assert harness.price(7, 11_000, 10_000, 10_000, 10_000) == 7


factors = st.integers(0, 20_000)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    demand_w=st.integers(0, 10**12),
    supply_w=st.integers(0, 10**12),
    irradiance=st.integers(0, 2_000),
    wind=st.integers(0, 40_000),
    frequency=st.integers(45_000, 55_000),
    voltage=st.integers(800, 1_200),
    base=st.integers(0, 2**96),
    time_bps=factors,
)
def test_factors_and_price_match_the_reference(harness, demand_w, supply_w, irradiance, wind, frequency, voltage, base, time_bps):
    demand = harness.demandFactorBps(demand_w, supply_w)
    availability = harness.renewableAvailabilityBps(irradiance, wind)
    supply = harness.supplyFactorBps(availability)
    stability = harness.stabilityFactorBps(frequency, voltage)
    assert demand == demand_reference(demand_w, supply_w)
    assert availability == availability_reference(irradiance, wind)
    assert supply == 12_500 - 5_000 * availability // BPS
    assert stability == stability_reference(frequency, voltage)
    assert harness.price(base, demand, supply, time_bps, stability) == price_reference(base, demand, supply, time_bps, stability)
