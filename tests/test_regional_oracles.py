"""The regional oracles, GridOracle and WeatherOracle, on what they share (RegionalOracle and
OracleReporters): four fields per region from the reporter set, one report per reporter per round,
a value written once more than half of the reporters (or the admin's higher minimum) have a fresh
report in the round, the per-field median of those reports (an even count takes the mean at first,
then the middle value nearest the last value), reports older than the heartbeat dropping out, and
the reporter set, quorum and access control. Every test runs on both oracles; each oracle's own
module has its constants and the bounds of its fields.

Every custom error is asserted with all of its arguments and every event with all of its fields.
"""

from __future__ import annotations

import pytest
from conftest import ORACLE_HEARTBEAT_SECONDS, ORACLE_REGION

from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, log, reverts
from support.oracle_helpers import (
    GRID,
    MAX_HEARTBEAT_SECONDS,
    MAX_REPORTERS,
    REPORTER_ADMIN_CALLS,
    UNREPORTED,
    WEATHER,
    RegionalOracleCase,
    assert_deploy_reverts,
    assert_submitted,
    creation_events,
    exercise_access_control,
    exercise_admin_only,
    exercise_quorum,
    exercise_reporter_set,
    submit,
    value_of,
)

HEARTBEAT = ORACLE_HEARTBEAT_SECONDS
REGION = ORACLE_REGION
LAST_REGION = 2**32 - 1  # the largest uint32 region id
CASES = [GRID, WEATHER]


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(grid_oracle, weather_oracle, admin, other, stranger):
    """Deploy both oracles, and name the accounts, before any test's own state (ape isolation)."""


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
def case(request: pytest.FixtureRequest) -> RegionalOracleCase:
    return request.param


@pytest.fixture
def oracle(case, request):
    return request.getfixturevalue(case.fixture)


# ----------------------------------------------------------------------------- deployment


def test_deployment(oracle, admin, reporters):
    assert oracle.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert oracle.heartbeat() == HEARTBEAT
    assert (oracle.minQuorum(), oracle.quorum()) == (0, 2)
    assert oracle.getReporters() == [r.address for r in reporters]
    assert creation_events(oracle) == [
        log(oracle.RoleGranted, role=DEFAULT_ADMIN_ROLE, account=admin.address, sender=admin.address),
        log(oracle.HeartbeatUpdated, previousSeconds=0, newSeconds=HEARTBEAT),
        log(oracle.MinQuorumUpdated, previousReports=0, newReports=0),
    ]


def test_constructor_rejects_bad_arguments(case, project, admin):
    container = getattr(project, case.name)
    assert_deploy_reverts(container, admin, (ZERO_ADDRESS, HEARTBEAT, 0), container.ZeroAddress)
    for bad in (0, MAX_HEARTBEAT_SECONDS + 1):
        assert_deploy_reverts(container, admin, (admin, bad, 0), container.HeartbeatOutOfRange, bad, 1, MAX_HEARTBEAT_SECONDS)
    assert_deploy_reverts(
        container, admin, (admin, HEARTBEAT, MAX_REPORTERS + 1), container.MinQuorumOutOfRange, MAX_REPORTERS + 1, MAX_REPORTERS
    )


# ----------------------------------------------------------------------------- rounds and quorum


def test_an_unreported_region_reads_all_zeros(case, oracle):
    assert value_of(case, oracle) == UNREPORTED
    assert value_of(case, oracle, LAST_REGION) == UNREPORTED


def test_a_regions_first_value_needs_two_of_the_three_reporters(case, oracle, reporters):
    values = case.typical
    tx = submit(case, oracle, reporters[0], values)
    assert_submitted(case, oracle, tx, reporters[0], values)
    assert value_of(case, oracle) == UNREPORTED
    with reverts(oracle.AlreadyReported, reporter=reporters[0].address, roundId=1):
        submit(case, oracle, reporters[0], values)
    tx = submit(case, oracle, reporters[1], values)
    assert_submitted(case, oracle, tx, reporters[1], values, values, 2)
    assert value_of(case, oracle) == (*values, 2, tx.timestamp)
    assert value_of(case, oracle, REGION + 1) == UNREPORTED  # regions are separate


def test_one_report_per_reporter_per_round(case, oracle, reporters):
    values = case.typical
    submit(case, oracle, reporters[0], values)
    with reverts(oracle.AlreadyReported, reporter=reporters[0].address, roundId=1):
        submit(case, oracle, reporters[0], values)
    submit(case, oracle, reporters[0], values, region=REGION + 1)  # another region's round
    submit(case, oracle, reporters[1], values)
    submit(case, oracle, reporters[0], values)  # round 1 is answered: round 2 opens
    with reverts(oracle.AlreadyReported, reporter=reporters[0].address, roundId=2):
        submit(case, oracle, reporters[0], values)


def test_reports_count_only_in_their_own_region(case, oracle, reporters):
    submit(case, oracle, reporters[0], case.level(1), region=REGION)
    tx = submit(case, oracle, reporters[1], case.level(3), region=REGION + 1)
    # One report in each region: no quorum in either.
    assert_submitted(case, oracle, tx, reporters[1], case.level(3), region=REGION + 1)
    tx = submit(case, oracle, reporters[1], case.level(1), region=REGION)
    assert_submitted(case, oracle, tx, reporters[1], case.level(1), case.level(1), 2)
    assert value_of(case, oracle, REGION + 1) == UNREPORTED


def test_only_reporters_submit(case, oracle, admin, reporters, stranger):
    with reverts(oracle.UnknownReporter, account=stranger.address):
        submit(case, oracle, stranger, case.typical)
    with reverts(oracle.UnknownReporter, account=stranger.address):
        submit(case, oracle, stranger, case.refused)  # the reporter check comes first
    with reverts(oracle.UnknownReporter, account=admin.address):
        submit(case, oracle, admin, case.typical)
    oracle.removeReporter(reporters[2], sender=admin)
    with reverts(oracle.UnknownReporter, account=reporters[2].address):
        submit(case, oracle, reporters[2], case.typical)
    assert value_of(case, oracle) == UNREPORTED


def test_a_readded_reporter_starts_over(case, oracle, admin, reporters, chain):
    submit(case, oracle, reporters[0], case.level(1))
    oracle.removeReporter(reporters[0], sender=admin)
    chain.pending_timestamp += 10
    oracle.addReporter(reporters[0], sender=admin)
    tx = submit(case, oracle, reporters[1], case.level(3))  # reporters[0]'s report predates its return
    assert_submitted(case, oracle, tx, reporters[1], case.level(3))
    tx = submit(case, oracle, reporters[0], case.level(1))  # its report in round 1 starts over
    assert_submitted(case, oracle, tx, reporters[0], case.level(1), case.level(2), 2)


# ----------------------------------------------------------------------------- medians


def test_each_field_is_the_median_of_its_own_column_and_an_outlier_is_filtered(case, oracle, reporters, chain):
    """The medians come from different reporters: no single report is the answer."""
    reports = case.column_reports
    for reporter, values in zip(reporters[:2], reports[:2], strict=True):
        submit(case, oracle, reporter, values)
    ts = chain.pending_timestamp
    chain.pending_timestamp = ts
    tx = submit(case, oracle, reporters[2], reports[2])
    assert_submitted(case, oracle, tx, reporters[2], reports[2], case.column_medians, 3)
    assert value_of(case, oracle) == (*case.column_medians, 3, ts)


def test_an_even_count_takes_the_mean_at_first_then_the_middle_value_nearest_the_last(case, oracle, reporters):
    """The first value of two reports is their mean, rounded toward zero; once a value is written,
    two reports settle on the point between them nearest it."""
    for first, second, medians in case.even_rounds:
        tx = submit(case, oracle, reporters[0], first)
        assert_submitted(case, oracle, tx, reporters[0], first)
        tx = submit(case, oracle, reporters[1], second)
        assert_submitted(case, oracle, tx, reporters[1], second, medians, 2)
        assert value_of(case, oracle)[:5] == (*medians, 2)


def test_fifteen_reporters_stay_bounded(case, oracle, admin, reporters, accounts):
    more = [accounts.generate_test_account() for _ in range(12)]
    for account in more:
        account.balance = 10**18
        oracle.addReporter(account, sender=admin)
    for i, reporter in enumerate(list(reporters) + more):
        tx = submit(case, oracle, reporter, case.level(i))
    assert value_of(case, oracle)[:5] == (*case.level(7), 15)
    assert tx.gas_used < 250_000  # at most 15 reports read, four columns sorted


# ----------------------------------------------------------------------------- staleness


def test_a_stale_report_drops_out_of_an_answered_round(case, oracle, reporters, chain):
    t0 = chain.pending_timestamp
    chain.pending_timestamp = t0
    submit(case, oracle, reporters[0], case.level(0))
    chain.pending_timestamp = t0 + HEARTBEAT  # reporters[0]'s report is exactly one heartbeat old: fresh
    tx = submit(case, oracle, reporters[1], case.level(10))
    assert_submitted(case, oracle, tx, reporters[1], case.level(10), case.level(5), 2)
    chain.pending_timestamp = t0 + HEARTBEAT + 1
    # reporters[2] joins round 1, where reporters[0]'s report is stale now: two reports count, not three.
    tx = submit(case, oracle, reporters[2], case.level(10))
    assert_submitted(case, oracle, tx, reporters[2], case.level(10), case.level(10), 2)
    assert value_of(case, oracle) == (*case.level(10), 2, t0 + HEARTBEAT + 1)


def test_a_waiting_report_goes_stale_after_the_heartbeat(case, oracle, reporters, chain):
    t0 = chain.pending_timestamp
    chain.pending_timestamp = t0
    submit(case, oracle, reporters[0], case.level(10))
    chain.pending_timestamp = t0 + 5
    submit(case, oracle, reporters[1], case.level(2))
    chain.pending_timestamp = t0 + HEARTBEAT  # reporters[0]'s report is exactly one heartbeat old: fresh
    tx = submit(case, oracle, reporters[2], case.level(4))
    assert_submitted(case, oracle, tx, reporters[2], case.level(4), case.level(4), 3)
    chain.pending_timestamp = t0 + HEARTBEAT + 1
    tx = submit(case, oracle, reporters[0], case.level(6))  # round 2 opens
    assert_submitted(case, oracle, tx, reporters[0], case.level(6))
    t1 = t0 + 2 * HEARTBEAT + 2  # reporters[0]'s waiting report is stale: it no longer counts
    chain.pending_timestamp = t1
    tx = submit(case, oracle, reporters[1], case.level(2))
    assert_submitted(case, oracle, tx, reporters[1], case.level(2))
    chain.pending_timestamp = t1
    tx = submit(case, oracle, reporters[2], case.level(4))
    assert_submitted(case, oracle, tx, reporters[2], case.level(4), case.level(4), 2)
    assert value_of(case, oracle) == (*case.level(4), 2, t1)


# ----------------------------------------------------------------------------- reporters and roles


def test_reporter_set_and_heartbeat(oracle, admin, reporters, stranger, accounts):
    exercise_reporter_set(oracle, admin, reporters, stranger, accounts)


def test_quorum_setting(oracle, admin, reporters, accounts):
    exercise_quorum(oracle, admin, reporters, accounts)


def test_access_control(oracle, admin, other, stranger):
    exercise_access_control(oracle, admin, other, stranger)


def test_role_restricted_functions_reject_stranger(oracle, stranger):
    exercise_admin_only(oracle, stranger, REPORTER_ADMIN_CALLS)
