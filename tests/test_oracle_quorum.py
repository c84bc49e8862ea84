"""Oracle quorum: a price round or a region's value is written only when more than half of the
reporters (or the admin's higher minimum) have a fresh report in the same round; a reporter reports
once per round; the deviation bound is measured against the last answer that had a quorum; an even
count of reports settles on the middle value nearer the last value, so one reporter of two cannot
pull it; consumers refuse data whose quorum no longer holds.

Every custom error is asserted with all of its arguments and every event with all of its fields.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ORACLE_HEARTBEAT_SECONDS, ORACLE_REGION, PRICE_MAX_DEVIATION_BPS

from support.helpers import DEFAULT_ADMIN_ROLE, log, reverts
from support.oracle_helpers import MAX_REPORTERS, assert_deploy_reverts

HEARTBEAT = ORACLE_HEARTBEAT_SECONDS
REGION = ORACLE_REGION
GRID = 2  # IPriceDiscovery.DataSource.GRID
PRICE = 200_000
MAX_FREQUENCY = 65_000
MAX_POWER_W = 2**47 - 1
NOMINAL_GRID = (50_000, 1_000, 1_200_000_000, 1_000_000_000)  # 50 Hz, 100 %, 1.2 GW available, 1 GW load


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(price_discovery, admin, other, stranger, reporters):
    """Deploy the oracles and PriceDiscovery, and name the accounts, before any test's own state."""


def at(chain: Any, timestamp: int) -> int:
    chain.pending_timestamp = timestamp
    return timestamp


# ----------------------------------------------------------------------------- the attacks


def test_one_reporter_cannot_walk_the_price_after_the_others_go_stale(
    price_oracle, price_discovery, reporters, chain
):
    """Thirteen 20 % steps by one reporter once the others' reports are a second past the heartbeat
    would take 200,000 to 2,139,856; it gets one report into a round that never reaches a quorum."""
    r0, r1 = reporters[:2]
    t0 = at(chain, chain.pending_timestamp)
    for reporter in reporters:
        at(chain, t0)
        price_oracle.submitPrice(PRICE, sender=reporter)
    latest = tuple(price_oracle.latestRoundData())
    assert latest == (1, PRICE, t0, t0, 1)

    at(chain, t0 + HEARTBEAT + 1)
    tx = price_oracle.submitPrice(PRICE * 12 // 10, sender=r0)
    assert tuple(price_oracle.latestRoundData()) == latest
    assert tx.events == [
        log(price_oracle.PriceReported, reporter=r0.address, roundId=2, reportedAnswer=240_000, reportCount=1)
    ]
    answer = 240_000
    for _ in range(12):
        answer = answer * 12 // 10
        with reverts(price_oracle.AlreadyReported, reporter=r0.address, roundId=2):
            price_oracle.submitPrice(answer, sender=r0)
    assert answer == 2_139_856  # the thirteenth 20 % step: 10.7 times the answer
    assert tuple(price_oracle.latestRoundData()) == latest
    with reverts(price_oracle.RoundNotFound, roundId=2):
        price_oracle.getRoundData(2)
    chain.mine()
    age = chain.blocks.head.timestamp - t0
    with reverts(price_discovery.StaleOracleData, source=0, oracle=price_oracle.address, ageSeconds=age, maxAgeSeconds=HEARTBEAT):
        price_discovery.getReferencePrice(REGION)

    # An honest second report makes the quorum; of the two, the one nearer the last answer counts.
    tx = price_oracle.submitPrice(PRICE, sender=r1)
    t1 = tx.timestamp
    assert tx.events == [
        log(price_oracle.PriceReported, reporter=r1.address, roundId=2, reportedAnswer=PRICE, reportCount=2),
        log(price_oracle.AnswerUpdated, current=PRICE, roundId=2, updatedAt=t1),
    ]
    assert tuple(price_oracle.latestRoundData()) == (2, PRICE, t1, t1, 2)


def test_the_deviation_bound_is_measured_against_the_last_quorum_answer(price_oracle, reporters):
    r0, r1 = reporters[:2]
    price_oracle.submitPrice(PRICE, sender=r0)
    price_oracle.submitPrice(PRICE, sender=r1)
    assert price_oracle.latestRoundData().answer == PRICE
    price_oracle.submitPrice(PRICE * 12 // 10, sender=r0)  # a new round, no quorum yet
    # 288,000 is 20 % above r0's 240,000 but 44 % above the last quorum answer.
    with reverts(
        price_oracle.AnswerDeviationTooLarge,
        answer=288_000,
        latestAnswer=PRICE,
        deviationBps=4_400,
        maxDeviationBps=PRICE_MAX_DEVIATION_BPS,
    ):
        price_oracle.submitPrice(288_000, sender=r1)


def test_one_stale_report_of_three_does_not_let_one_reporter_set_the_grid_state(
    grid_oracle, reporters, chain
):
    r0, r1 = reporters[:2]
    t0 = at(chain, chain.pending_timestamp)
    for reporter in reporters:
        at(chain, t0)
        grid_oracle.submitGridData(REGION, *NOMINAL_GRID, sender=reporter)
    before = tuple(grid_oracle.getGridData(REGION))
    assert before == (*NOMINAL_GRID, 3, t0)
    attack = (MAX_FREQUENCY, 1_000, 0, MAX_POWER_W)

    # Alone, after everyone else's report went stale: reported, nothing written.
    at(chain, t0 + HEARTBEAT + 1)
    tx = grid_oracle.submitGridData(REGION, *attack, sender=r0)
    assert tuple(grid_oracle.getGridData(REGION)) == before
    assert [e.event_name for e in tx.events] == ["GridDataReported"]
    with reverts(grid_oracle.AlreadyReported, reporter=r0.address, roundId=2):
        grid_oracle.submitGridData(REGION, *attack, sender=r0)

    # With one honest fresh report in the round (r2's is stale): the pair settles on the value
    # nearer the last one, the honest one; the mean (57.5 Hz, about 70 TW of demand) is not taken.
    tx = grid_oracle.submitGridData(REGION, *NOMINAL_GRID, sender=r1)
    assert tuple(grid_oracle.getGridData(REGION)) == (*NOMINAL_GRID, 2, tx.timestamp)


def test_one_reporter_cannot_move_a_weather_value_alone(weather_oracle, reporters, chain):
    r0 = reporters[0]
    for reporter in reporters:
        weather_oracle.submitWeather(REGION, 500, 15_000, 3_000, 2_000, sender=reporter)
    before = tuple(weather_oracle.getWeather(REGION))
    weather_oracle.submitWeather(REGION, 1_500, 60_000, 100_000, 10_000, sender=r0)
    assert tuple(weather_oracle.getWeather(REGION)) == before
    with reverts(weather_oracle.AlreadyReported, reporter=r0.address, roundId=2):
        weather_oracle.submitWeather(REGION, 1_500, 60_000, 100_000, 10_000, sender=r0)


# ----------------------------------------------------------------------------- the quorum setting


def test_the_quorum_is_a_majority_of_the_reporters_as_they_are_added_and_removed(
    grid_oracle, admin, reporters, accounts
):
    r0, r1 = reporters[:2]
    assert grid_oracle.minQuorum() == 0
    assert grid_oracle.quorum() == 2
    extra = [accounts.generate_test_account() for _ in range(2)]
    for account in extra:
        grid_oracle.addReporter(account, sender=admin)
        accounts[0].transfer(account, 10**18)
    assert grid_oracle.quorum() == 3
    everyone = [*reporters, *extra]
    for reporter in everyone:
        grid_oracle.submitGridData(REGION, *NOMINAL_GRID, sender=reporter)
    assert tuple(grid_oracle.getGridData(REGION))[:5] == (*NOMINAL_GRID, 5)

    # Two of five agree on a new state: a minority, nothing moves.
    moved = (49_900, 990, 1_100_000_000, 1_050_000_000)
    for reporter in everyone[:2]:
        grid_oracle.submitGridData(REGION, *moved, sender=reporter)
    assert tuple(grid_oracle.getGridData(REGION))[:5] == (*NOMINAL_GRID, 5)
    # The third makes a majority: the state moves.
    grid_oracle.submitGridData(REGION, *moved, sender=everyone[2])
    assert tuple(grid_oracle.getGridData(REGION))[:5] == (*moved, 3)

    # Two removed: three reporters again, two make a majority.
    for account in extra:
        grid_oracle.removeReporter(account, sender=admin)
    assert grid_oracle.quorum() == 2
    grid_oracle.submitGridData(REGION, *NOMINAL_GRID, sender=r0)
    assert tuple(grid_oracle.getGridData(REGION))[:5] == (*moved, 3)
    tx = grid_oracle.submitGridData(REGION, *NOMINAL_GRID, sender=r1)
    assert tuple(grid_oracle.getGridData(REGION)) == (*NOMINAL_GRID, 2, tx.timestamp)


def test_a_higher_minimum_quorum_and_its_bounds(price_oracle, admin, reporters, stranger):
    r0, r1, r2 = reporters
    tx = price_oracle.setMinQuorum(3, sender=admin)
    assert tx.events == [log(price_oracle.MinQuorumUpdated, previousReports=0, newReports=3)]
    assert (price_oracle.minQuorum(), price_oracle.quorum()) == (3, 3)
    price_oracle.submitPrice(PRICE, sender=r0)
    price_oracle.submitPrice(PRICE, sender=r1)
    assert price_oracle.latestRoundData().updatedAt == 0
    price_oracle.submitPrice(PRICE, sender=r2)
    assert price_oracle.latestRoundData().answer == PRICE

    with reverts(price_oracle.MinQuorumOutOfRange, minReports=4, maxReports=3):
        price_oracle.setMinQuorum(4, sender=admin)
    # Removing a reporter would leave fewer reporters than the quorum: refused until it is lowered.
    with reverts(price_oracle.MinQuorumAboveReporterCount, minReports=3, reporterCount=2):
        price_oracle.removeReporter(r2, sender=admin)
    price_oracle.setMinQuorum(0, sender=admin)
    price_oracle.removeReporter(r2, sender=admin)
    assert price_oracle.quorum() == 2
    with reverts(price_oracle.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        price_oracle.setMinQuorum(1, sender=stranger)


def test_the_minimum_quorum_at_deployment(project, admin):
    assert_deploy_reverts(
        project.GridOracle, admin, (admin, HEARTBEAT, MAX_REPORTERS + 1), project.GridOracle.MinQuorumOutOfRange,
        MAX_REPORTERS + 1, MAX_REPORTERS,
    )
    oracle = project.WeatherOracle.deploy(admin, HEARTBEAT, MAX_REPORTERS, sender=admin)
    assert oracle.minQuorum() == MAX_REPORTERS


def test_a_single_reporter_deployment_with_quorum_one(project, admin, reporters, chain):
    r0 = reporters[0]
    oracle = project.PriceOracle.deploy(admin, HEARTBEAT, 6, "kWh", PRICE_MAX_DEVIATION_BPS, 1, sender=admin)
    oracle.addReporter(r0, sender=admin)
    assert (oracle.minQuorum(), oracle.quorum()) == (1, 1)
    for round_id, answer in enumerate((PRICE, 210_000, 220_000), start=1):
        tx = oracle.submitPrice(answer, sender=r0)
        assert tx.return_value == round_id
        assert tuple(oracle.latestRoundData()) == (round_id, answer, tx.timestamp, tx.timestamp, round_id)
    grid = project.GridOracle.deploy(admin, HEARTBEAT, 1, sender=admin)
    grid.addReporter(r0, sender=admin)
    for frequency in (50_000, 50_100):
        tx = grid.submitGridData(REGION, frequency, 1_000, 1, 1, sender=r0)
        assert tuple(grid.getGridData(REGION)) == (frequency, 1_000, 1, 1, 1, tx.timestamp)


# ----------------------------------------------------------------------------- consumers


def test_price_discovery_refuses_data_whose_quorum_no_longer_holds(
    project, admin, price_oracle, weather_oracle, grid_oracle, reporters, accounts
):
    """A region's value written by one reporter of one stops counting once more reporters join."""
    lone = project.GridOracle.deploy(admin, HEARTBEAT, 0, sender=admin)
    lone.addReporter(reporters[0], sender=admin)
    discovery = project.PriceDiscovery.deploy(
        admin, price_oracle, weather_oracle, lone, 0, HEARTBEAT, HEARTBEAT, HEARTBEAT, sender=admin
    )
    for reporter in reporters[:2]:
        price_oracle.submitPrice(PRICE, sender=reporter)
        weather_oracle.submitWeather(REGION, 500, 15_000, 3_000, 2_000, sender=reporter)
    lone.submitGridData(REGION, *NOMINAL_GRID, sender=reporters[0])
    assert discovery.getReferencePrice(REGION) > 0
    for reporter in reporters[1:]:
        lone.addReporter(reporter, sender=admin)
    with reverts(discovery.OracleDataWithoutQuorum, source=GRID, oracle=lone.address, reportCount=1, quorum=2):
        discovery.getReferencePrice(REGION)
    with reverts(discovery.OracleDataWithoutQuorum, source=GRID, oracle=lone.address, reportCount=1, quorum=2):
        discovery.getPriceFactors(REGION)
    lone.submitGridData(REGION, *NOMINAL_GRID, sender=reporters[1])  # joins the round: two of three
    assert discovery.getReferencePrice(REGION) > 0
