"""GridOracle: frequency, voltage, supply and demand per region from the reporter set, the
per-field median of a round's fresh reports once two of the three reporters report, bounds on every field (SmartMeter's for frequency and
voltage, the packing's for power), and the reporter set and access control it shares with the
other oracles (support/oracle_helpers.py).

Every custom error is asserted with all of its arguments and every event with all of its fields.
"""

from __future__ import annotations

import pytest
from conftest import ORACLE_HEARTBEAT_SECONDS, ORACLE_REGION

from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, log, reverts, unexercised_abi_items
from support.oracle_helpers import (
    MAX_HEARTBEAT_SECONDS,
    MAX_REPORTERS,
    REPORTER_ADMIN_CALLS,
    assert_deploy_reverts,
    creation_events,
    exercise_access_control,
    exercise_admin_only,
    exercise_quorum,
    exercise_reporter_set,
)

HEARTBEAT = ORACLE_HEARTBEAT_SECONDS
REGION = ORACLE_REGION
MIN_FREQUENCY, MAX_FREQUENCY = 45_000, 65_000
MIN_VOLTAGE, MAX_VOLTAGE = 500, 1_500
MAX_POWER_W = 2**47 - 1  # int48's maximum
FIELDS = ("frequencyMilliHz", "voltagePerMille", "supplyW", "demandW")
NOMINAL = (50_000, 1_000, 12_000_000, 9_000_000)  # 50 Hz, 100 %, 12 MW available, 9 MW load


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(grid_oracle, admin, other, stranger):
    """Deploy the oracle, and name the accounts, before any test's own state (ape isolation)."""


def submit(oracle, reporter, values, region=REGION):
    return oracle.submitGridData(region, *values, sender=reporter)


def assert_submitted(oracle, tx, reporter, values, medians=None, report_count=None, region=REGION) -> None:
    """`tx` emitted the report and, when `medians` are given, the region's new medians, and nothing else."""
    events = [
        log(oracle.GridDataReported, regionId=region, reporter=reporter.address, **dict(zip(FIELDS, values, strict=True)))
    ]
    if medians is not None:
        events.append(
            log(oracle.GridDataUpdated, regionId=region, reportCount=report_count, **dict(zip(FIELDS, medians, strict=True)))
        )
    assert tx.events == events


def submit_both(oracle, reporters, values, region=REGION):
    """Two of the three reporters report `values`: a quorum; returns the second's transaction."""
    submit(oracle, reporters[0], values, region)
    return submit(oracle, reporters[1], values, region)


def grid_data(oracle, region=REGION) -> tuple:
    return tuple(oracle.getGridData(region))


# ----------------------------------------------------------------------------- deployment


def test_constants_and_constructor(grid_oracle, admin, reporters):
    assert (grid_oracle.MIN_FREQUENCY_MILLIHZ(), grid_oracle.MAX_FREQUENCY_MILLIHZ()) == (MIN_FREQUENCY, MAX_FREQUENCY)
    assert (grid_oracle.MIN_VOLTAGE_PER_MILLE(), grid_oracle.MAX_VOLTAGE_PER_MILLE()) == (MIN_VOLTAGE, MAX_VOLTAGE)
    assert grid_oracle.MAX_POWER_W() == MAX_POWER_W
    assert grid_oracle.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert grid_oracle.heartbeat() == HEARTBEAT
    assert grid_oracle.getReporters() == [r.address for r in reporters]
    assert creation_events(grid_oracle) == [
        log(grid_oracle.RoleGranted, role=DEFAULT_ADMIN_ROLE, account=admin.address, sender=admin.address),
        log(grid_oracle.HeartbeatUpdated, previousSeconds=0, newSeconds=HEARTBEAT),
        log(grid_oracle.MinQuorumUpdated, previousReports=0, newReports=0),
    ]


def test_the_bounds_match_smart_meters(grid_oracle, smart_meter):
    assert grid_oracle.MIN_FREQUENCY_MILLIHZ() == smart_meter.MIN_FREQUENCY_MILLIHZ()
    assert grid_oracle.MAX_FREQUENCY_MILLIHZ() == smart_meter.MAX_FREQUENCY_MILLIHZ()
    assert grid_oracle.MIN_VOLTAGE_PER_MILLE() == smart_meter.MIN_VOLTAGE_PER_MILLE()
    assert grid_oracle.MAX_VOLTAGE_PER_MILLE() == smart_meter.MAX_VOLTAGE_PER_MILLE()


def test_constructor_rejects_bad_arguments(project, admin):
    container = project.GridOracle
    assert_deploy_reverts(container, admin, (ZERO_ADDRESS, HEARTBEAT, 0), container.ZeroAddress)
    for bad in (0, MAX_HEARTBEAT_SECONDS + 1):
        assert_deploy_reverts(
            container, admin, (admin, bad, 0), container.HeartbeatOutOfRange, bad, 1, MAX_HEARTBEAT_SECONDS
        )
    assert_deploy_reverts(
        container, admin, (admin, HEARTBEAT, MAX_REPORTERS + 1), container.MinQuorumOutOfRange, MAX_REPORTERS + 1, MAX_REPORTERS
    )



# ----------------------------------------------------------------------------- reports and medians


def test_an_unreported_region_reads_all_zeros(grid_oracle):
    assert grid_data(grid_oracle) == (0, 0, 0, 0, 0, 0)


def test_a_regions_first_value_needs_two_of_the_three_reporters(grid_oracle, reporters):
    tx = submit(grid_oracle, reporters[0], NOMINAL)
    assert_submitted(grid_oracle, tx, reporters[0], NOMINAL)
    assert grid_data(grid_oracle) == (0, 0, 0, 0, 0, 0)
    tx = submit(grid_oracle, reporters[1], NOMINAL)
    assert_submitted(grid_oracle, tx, reporters[1], NOMINAL, NOMINAL, 2)
    assert grid_data(grid_oracle) == (*NOMINAL, 2, tx.timestamp)
    assert grid_data(grid_oracle, REGION + 1) == (0, 0, 0, 0, 0, 0)


def test_one_report_per_reporter_per_round(grid_oracle, reporters):
    submit(grid_oracle, reporters[0], NOMINAL)
    with reverts(grid_oracle.AlreadyReported, reporter=reporters[0].address, roundId=1):
        submit(grid_oracle, reporters[0], NOMINAL)
    submit(grid_oracle, reporters[0], NOMINAL, region=REGION + 1)  # another region's round
    submit(grid_oracle, reporters[1], NOMINAL)
    submit(grid_oracle, reporters[0], NOMINAL)  # round 1 is answered: round 2 opens
    with reverts(grid_oracle.AlreadyReported, reporter=reporters[0].address, roundId=2):
        submit(grid_oracle, reporters[0], NOMINAL)


def test_each_field_is_the_median_of_its_own_column_and_an_outlier_is_filtered(grid_oracle, reporters):
    reports = [
        (50_010, 1_010, 10_000_000, 9_500_000),
        (49_990, 990, 11_000_000, 9_000_000),
        (59_000, 1_400, 0, MAX_POWER_W),  # a faulty reporter: every field far out, inside the bounds
    ]
    for reporter, values in zip(reporters[:2], reports[:2], strict=True):
        submit(grid_oracle, reporter, values)
    tx = submit(grid_oracle, reporters[2], reports[2])
    medians = (50_010, 1_010, 10_000_000, 9_500_000)
    assert_submitted(grid_oracle, tx, reporters[2], reports[2], medians, 3)


def test_an_even_count_takes_the_mean_at_first_then_the_middle_value_nearest_the_last(grid_oracle, reporters):
    submit(grid_oracle, reporters[0], (50_001, 1_001, 3, MAX_POWER_W))
    tx = submit(grid_oracle, reporters[1], (50_000, 1_000, 0, MAX_POWER_W - 2))
    assert_submitted(
        grid_oracle, tx, reporters[1], (50_000, 1_000, 0, MAX_POWER_W - 2), (50_000, 1_000, 1, MAX_POWER_W - 1), 2
    )
    # The next round: frequency settles on the report nearer 50,000; the others straddle the last value.
    submit(grid_oracle, reporters[0], (50_020, 1_010, 0, 0))
    tx = submit(grid_oracle, reporters[1], (50_040, 990, 4, MAX_POWER_W))
    assert_submitted(
        grid_oracle, tx, reporters[1], (50_040, 990, 4, MAX_POWER_W), (50_020, 1_000, 1, MAX_POWER_W - 1), 2
    )


def test_a_stale_report_drops_out_after_the_heartbeat(grid_oracle, reporters, chain):
    t0 = chain.pending_timestamp
    chain.pending_timestamp = t0
    submit(grid_oracle, reporters[0], (45_000, 500, 1, 1))
    chain.pending_timestamp = t0 + HEARTBEAT
    tx = submit(grid_oracle, reporters[1], (50_000, 1_000, 5, 5))
    assert_submitted(grid_oracle, tx, reporters[1], (50_000, 1_000, 5, 5), (47_500, 750, 3, 3), 2)
    chain.pending_timestamp = t0 + HEARTBEAT + 1
    # reporters[2] joins round 1, where reporters[0]'s report is stale now: two reports count, not three.
    tx = submit(grid_oracle, reporters[2], (50_000, 1_000, 5, 5))
    assert_submitted(grid_oracle, tx, reporters[2], (50_000, 1_000, 5, 5), (50_000, 1_000, 5, 5), 2)
    assert grid_data(grid_oracle) == (50_000, 1_000, 5, 5, 2, t0 + HEARTBEAT + 1)


def test_the_bounds_are_inclusive_and_power_is_stored_whole(grid_oracle, reporters):
    low = (MIN_FREQUENCY, MIN_VOLTAGE, 0, 0)
    tx = submit_both(grid_oracle, reporters, low)
    assert_submitted(grid_oracle, tx, reporters[1], low, low, 2)
    high = (MAX_FREQUENCY, MAX_VOLTAGE, MAX_POWER_W, MAX_POWER_W)
    tx = submit_both(grid_oracle, reporters, high, region=0)
    assert_submitted(grid_oracle, tx, reporters[1], high, high, 2, 0)
    assert grid_data(grid_oracle, 0)[:5] == (*high, 2)


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
        submit(grid_oracle, reporters[0], values)
    assert grid_data(grid_oracle) == (0, 0, 0, 0, 0, 0)


def test_only_reporters_submit(grid_oracle, admin, reporters, stranger):
    with reverts(grid_oracle.UnknownReporter, account=stranger.address):
        submit(grid_oracle, stranger, NOMINAL)
    with reverts(grid_oracle.UnknownReporter, account=stranger.address):
        submit(grid_oracle, stranger, (0, 0, 0, 0))  # the reporter check comes first
    grid_oracle.removeReporter(reporters[2], sender=admin)
    with reverts(grid_oracle.UnknownReporter, account=reporters[2].address):
        submit(grid_oracle, reporters[2], NOMINAL)


# ----------------------------------------------------------------------------- reporters and roles


def test_reporter_set_and_heartbeat(grid_oracle, admin, reporters, stranger, accounts):
    exercise_reporter_set(grid_oracle, admin, reporters, stranger, accounts)


def test_quorum_setting(grid_oracle, admin, reporters, accounts):
    exercise_quorum(grid_oracle, admin, reporters, accounts)


def test_access_control(grid_oracle, admin, other, stranger):
    exercise_access_control(grid_oracle, admin, other, stranger)


def test_role_restricted_functions_reject_stranger(grid_oracle, stranger):
    exercise_admin_only(grid_oracle, stranger, REPORTER_ADMIN_CALLS)


def test_every_function_event_and_error_is_exercised(grid_oracle):
    """GridOracle's ABI, item by item, is named in this module or in the shared oracle helpers."""
    kinds = ("function", "event", "error")
    exempt = {"RoleAdminChanged"}  # no role admin is ever changed
    assert unexercised_abi_items("GridOracle", ["test_grid_oracle.py", "support/oracle_helpers.py"], kinds, exempt) == []
