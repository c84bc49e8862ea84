"""GridOracle: frequency, voltage, supply and demand per region, each field within its bounds
(SmartMeter's for frequency and voltage, the packing's for power). What it shares with
WeatherOracle (rounds, quorum, medians, staleness, the reporter set and access control) is tested
on both in test_regional_oracles.py.

Every custom error is asserted with all of its arguments and every event with all of its fields.
"""

from __future__ import annotations

import pytest
from conftest import ORACLE_REGION

from support.helpers import reverts, unexercised_abi_items
from support.oracle_helpers import GRID, MAX_POWER_W, UNREPORTED, assert_submitted, submit, value_of

REGION = ORACLE_REGION
MIN_FREQUENCY, MAX_FREQUENCY = 45_000, 65_000
MIN_VOLTAGE, MAX_VOLTAGE = 500, 1_500


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(grid_oracle, admin, other, stranger):
    """Deploy the oracle, and name the accounts, before any test's own state (ape isolation)."""


def submit_both(oracle, reporters, values, region=REGION):
    """Two of the three reporters report `values`: a quorum; returns the second's transaction."""
    submit(GRID, oracle, reporters[0], values, region)
    return submit(GRID, oracle, reporters[1], values, region)


def test_constants(grid_oracle):
    assert (grid_oracle.MIN_FREQUENCY_MILLIHZ(), grid_oracle.MAX_FREQUENCY_MILLIHZ()) == (MIN_FREQUENCY, MAX_FREQUENCY)
    assert (grid_oracle.MIN_VOLTAGE_PER_MILLE(), grid_oracle.MAX_VOLTAGE_PER_MILLE()) == (MIN_VOLTAGE, MAX_VOLTAGE)
    assert grid_oracle.MAX_POWER_W() == MAX_POWER_W


def test_the_bounds_match_smart_meters(grid_oracle, smart_meter):
    assert grid_oracle.MIN_FREQUENCY_MILLIHZ() == smart_meter.MIN_FREQUENCY_MILLIHZ()
    assert grid_oracle.MAX_FREQUENCY_MILLIHZ() == smart_meter.MAX_FREQUENCY_MILLIHZ()
    assert grid_oracle.MIN_VOLTAGE_PER_MILLE() == smart_meter.MIN_VOLTAGE_PER_MILLE()
    assert grid_oracle.MAX_VOLTAGE_PER_MILLE() == smart_meter.MAX_VOLTAGE_PER_MILLE()


def test_the_bounds_are_inclusive_and_power_is_stored_whole(grid_oracle, reporters):
    low = (MIN_FREQUENCY, MIN_VOLTAGE, 0, 0)
    tx = submit_both(grid_oracle, reporters, low)
    assert_submitted(GRID, grid_oracle, tx, reporters[1], low, low, 2)
    high = (MAX_FREQUENCY, MAX_VOLTAGE, MAX_POWER_W, MAX_POWER_W)
    tx = submit_both(grid_oracle, reporters, high, region=0)
    assert_submitted(GRID, grid_oracle, tx, reporters[1], high, high, 2, 0)
    assert value_of(GRID, grid_oracle, 0)[:5] == (*high, 2)


@pytest.mark.parametrize(
    ("values", "error", "fields"),
    [
        (
            (44_999, 1_000, 0, 0),
            lambda o: o.FrequencyOutOfRange,
            {"frequencyMilliHz": 44_999, "minMilliHz": MIN_FREQUENCY, "maxMilliHz": MAX_FREQUENCY},
        ),
        (
            (65_001, 1_000, 0, 0),
            lambda o: o.FrequencyOutOfRange,
            {"frequencyMilliHz": 65_001, "minMilliHz": MIN_FREQUENCY, "maxMilliHz": MAX_FREQUENCY},
        ),
        (
            (2**256 - 1, 1_000, 0, 0),
            lambda o: o.FrequencyOutOfRange,
            {"frequencyMilliHz": 2**256 - 1, "minMilliHz": MIN_FREQUENCY, "maxMilliHz": MAX_FREQUENCY},
        ),
        (
            (50_000, 499, 0, 0),
            lambda o: o.VoltageOutOfRange,
            {"voltagePerMille": 499, "minPerMille": MIN_VOLTAGE, "maxPerMille": MAX_VOLTAGE},
        ),
        (
            (50_000, 1_501, 0, 0),
            lambda o: o.VoltageOutOfRange,
            {"voltagePerMille": 1_501, "minPerMille": MIN_VOLTAGE, "maxPerMille": MAX_VOLTAGE},
        ),
        (
            (50_000, 1_000, MAX_POWER_W + 1, 0),
            lambda o: o.SupplyOutOfRange,
            {"supplyW": MAX_POWER_W + 1, "maxW": MAX_POWER_W},
        ),
        ((50_000, 1_000, 2**255, 0), lambda o: o.SupplyOutOfRange, {"supplyW": 2**255, "maxW": MAX_POWER_W}),
        (
            (50_000, 1_000, 0, MAX_POWER_W + 1),
            lambda o: o.DemandOutOfRange,
            {"demandW": MAX_POWER_W + 1, "maxW": MAX_POWER_W},
        ),
    ],
    ids=["under-45Hz", "over-65Hz", "frequency-max-uint", "under-50%", "over-150%", "supply", "supply-2^255", "demand"],
)
def test_a_field_outside_its_bounds_is_rejected(grid_oracle, reporters, values, error, fields):
    with reverts(error(grid_oracle), **fields):
        submit(GRID, grid_oracle, reporters[0], values)
    assert value_of(GRID, grid_oracle) == UNREPORTED


def test_every_function_event_and_error_is_exercised(grid_oracle):
    """GridOracle's ABI, item by item, is named in this module, in the shared regional oracle module or
    in the shared oracle helpers."""
    kinds = ("function", "event", "error")
    exempt = {"RoleAdminChanged"}  # no role admin is ever changed
    modules = ["test_grid_oracle.py", "test_regional_oracles.py", "support/oracle_helpers.py"]
    assert unexercised_abi_items("GridOracle", modules, kinds, exempt) == []
