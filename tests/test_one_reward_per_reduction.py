"""A meter's reduction earns one reward, and only in its own region: DemandResponse events carry a
region that only the region's GridManagement operators start and only its meters take part in,
and DemandResponse keeps, per meter, the last interval rewarded by any event or DemandPrograms
program, so overlapping events and programs cannot pay the same intervals twice.

The invariant the fuzz state machine checks is asserted here directly: a meter's rewarded Wh
(rewardedReductionWh) never exceeds the reductions its meter measured over the windows it was
rewarded for, and those windows never overlap.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from energy_grid.domain.demand_response import MeterWriter, verify_from_meter
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS

from support.helpers import assert_logs, log, reverts, vault_funding_logs

REGION, OTHER_REGION = 1, 2  # conftest's grid_operator and other_region_operator regions
TARGET_KW = 1_000
RATE_PER_KW = 10  # per kW: a 1,000,000 W reduction earns 10,000
BASELINE_WH = 500_000  # per interval: 2 MW, so DemandPrograms' MW figures apply too
WINDOW_WH = 250_000  # per interval: 1 MW, a 1,000,000 W reduction
REDUCTION_W = 1_000_000
DURATION = 3_600  # 4 intervals: the window's reduction is REDUCTION_W × 1 h
REDUCTION_WH = REDUCTION_W * DURATION // 3_600
TARGET_MW, RATE_PER_MW = 10, 1_000
HISTORY_SECONDS = 6 * DAY_SECONDS
MAX_UINT = 2**256 - 1


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, owner, other, stranger, grid_operator, other_region_operator, keeper, accounts):
    """Resolves the session-scoped account fixtures before ape's per-test isolation (no rebasing)."""


@pytest.fixture(scope="module")
def second_operator(accounts):
    """A second verified GridManagement operator of REGION."""
    return accounts[3]


@pytest.fixture(scope="module")
def operators(grid_operations, grid_management, demand_response, demand_programs, stablecoin, admin,
              grid_operator, other_region_operator, second_operator):
    """Three DemandResponse grid operators, funded and approving both contracts: grid_operator and
    second_operator of REGION, other_region_operator of OTHER_REGION (grid_operations registers the
    first and last in GridManagement)."""
    grid_management.registerOperator("East Grid Co", REGION, 100, sender=second_operator)
    grid_management.verifyOperator(second_operator, sender=admin)
    for operator in (grid_operator, second_operator, other_region_operator):
        demand_response.registerGridOperator(operator, sender=admin)
        stablecoin.addConsumerBalance(operator, 1_000_000, sender=admin)
        stablecoin.approve(demand_response, MAX_UINT, sender=operator)
        stablecoin.approve(demand_programs, MAX_UINT, sender=operator)
    return grid_operator, second_operator, other_region_operator


@pytest.fixture
def writer(smart_meter, admin):
    return MeterWriter(smart_meter, admin)


@pytest.fixture
def household(operators, demand_response, writer, owner):
    """`owner`, a region-1 household with a fresh meter, enrolled by its region's operator."""
    meter = Account.create().address
    writer.register([meter], [owner], REGION)
    demand_response.registerConsumer(owner, meter, sender=operators[0])
    return meter


def move_to_next_window(chain):
    """HISTORY_SECONDS ahead (room for the baseline days), 100 s into an interval."""
    chain.pending_timestamp = (chain.pending_timestamp + HISTORY_SECONDS) // INTERVAL_SECONDS * INTERVAL_SECONDS + 100


def start_event(dr, operator, region=REGION):
    tx = dr.startEvent(region, TARGET_KW, RATE_PER_KW, DURATION, sender=operator)
    event = dr.getEvent(tx.return_value)
    return tx.return_value, event.startTime, event.endTime


def finish(chain, writer, meter, start, end):
    """The window is over; the meter went from 2 MW on the baseline days to 1 MW in it."""
    chain.pending_timestamp = end
    writer.write_event_days([meter], start, end, BASELINE_WH, WINDOW_WH)


def measured_reduction_wh(dr, event_id, consumer, start, end):
    """The reduction the meter measured over an event's window, Wh: (baseline − actual) W × hours."""
    baseline_w, actual_w, _, _ = dr.previewReduction(event_id, consumer)
    return max(baseline_w - actual_w, 0) * (end - start) // 3_600


def test_two_overlapping_events_pay_one_reduction_once(demand_response, vault, stablecoin, operators, household, owner,
                                                       writer, chain):
    dr = demand_response
    first_operator, second_operator, _ = operators
    move_to_next_window(chain)
    first, start, end = start_event(dr, first_operator)
    second, second_start, second_end = start_event(dr, second_operator)
    assert (second_start, second_end) == (start, end)
    for event_id in (first, second):
        dr.joinEvent(event_id, sender=owner)
    finish(chain, writer, household, start, end)
    measured = measured_reduction_wh(dr, first, owner, start, end)
    assert measured == REDUCTION_WH

    verify_from_meter(dr, first, owner, owner)
    last_interval = end // INTERVAL_SECONDS - 1
    assert dr.rewardedThroughInterval(household) == last_interval
    assert dr.rewardedReductionWh(household) == REDUCTION_WH
    figures = dr.previewReduction(second, owner)
    with reverts(dr.ReductionAlreadyRewarded, meter=household, firstInterval=start // INTERVAL_SECONDS,
                 rewardedThroughInterval=last_interval):
        dr.verifyReduction(second, owner, *figures, sender=owner)

    # One reward paid, the second event's whole budget back to its operator.
    balance = vault.balanceOf(stablecoin, owner)
    dr.claimReward(first, sender=owner)
    assert vault.balanceOf(stablecoin, owner) - balance == RATE_PER_KW * REDUCTION_W // 1_000
    chain.pending_timestamp = end + int(dr.verificationPeriod()) + 1
    refunded = vault.balanceOf(stablecoin, second_operator)
    dr.distributeRewards(second, sender=second_operator)
    assert vault.balanceOf(stablecoin, second_operator) - refunded == TARGET_KW * RATE_PER_KW  # into its vault balance
    assert dr.rewardedReductionWh(household) <= measured


def test_a_later_window_is_rewarded_and_an_earlier_one_refused(demand_response, operators, household, owner, writer, chain):
    dr = demand_response
    operator = operators[0]
    move_to_next_window(chain)
    early, early_start, early_end = start_event(dr, operator)
    # A second event whose window starts inside the first's last interval's successor: disjoint.
    chain.pending_timestamp = early_end - INTERVAL_SECONDS + 1
    late, late_start, late_end = start_event(dr, operator)
    assert late_start == early_end
    chain.pending_timestamp = late_end
    writer.write_event_days([household], early_start, late_end, BASELINE_WH, WINDOW_WH)
    measured = sum(measured_reduction_wh(dr, e, owner, s, f)
                   for e, s, f in ((early, early_start, early_end), (late, late_start, late_end)))

    verify_from_meter(dr, late, owner, owner)
    # Windows are rewarded in their order: the earlier window, verified second, is refused.
    figures = dr.previewReduction(early, owner)
    with reverts(dr.ReductionAlreadyRewarded, meter=household, firstInterval=early_start // INTERVAL_SECONDS,
                 rewardedThroughInterval=late_end // INTERVAL_SECONDS - 1):
        dr.verifyReduction(early, owner, *figures, sender=owner)
    assert dr.rewardedReductionWh(household) == REDUCTION_WH <= measured


def event_and_program_over_one_window(
    dr: Any, dp: Any, operator: Any, owner: Any, household: Any, writer: Any, chain: Any
) -> tuple[int, int, int, int]:
    """An event and a program of `operator` over the same next window, `owner` in both, the window
    metered and over: (event id, program id, window start, window end)."""
    move_to_next_window(chain)
    event_id, start, end = start_event(dr, operator)
    program_id = dp.createDemandProgram("Peak", 0, REGION, TARGET_MW, RATE_PER_MW, DURATION, sender=operator).return_value
    assert (dp.getProgram(program_id).startTime, dp.getProgram(program_id).endTime) == (start, end)
    dp.joinProgram(program_id, 1, sender=owner)
    finish(chain, writer, household, start, end)
    return event_id, program_id, start, end


def test_event_and_program_over_one_window_pay_once(demand_response, demand_programs, operators, household, owner,
                                                    writer, chain):
    dr, dp = demand_response, demand_programs
    operator = operators[0]
    event_id, program_id, start, end = event_and_program_over_one_window(dr, dp, operator, owner, household, writer, chain)

    # The program pays first (its 1 MW over the hour); the event can no longer pay the same hour.
    dp.reportReduction(program_id, owner, 1, sender=operator)
    assert dr.rewardedThroughInterval(household) == end // INTERVAL_SECONDS - 1
    assert dr.rewardedReductionWh(household) == 1 * dp.W_PER_MW() * DURATION // 3_600
    figures = dr.previewReduction(event_id, owner)
    with reverts(dr.ReductionAlreadyRewarded, meter=household, firstInterval=start // INTERVAL_SECONDS,
                 rewardedThroughInterval=end // INTERVAL_SECONDS - 1):
        dr.verifyReduction(event_id, owner, *figures, sender=owner)
    assert dr.rewardedReductionWh(household) <= measured_reduction_wh(dr, event_id, owner, start, end)


def test_program_after_event_over_one_window_is_refused(demand_response, demand_programs, operators, household, owner,
                                                        writer, chain):
    dr, dp = demand_response, demand_programs
    operator = operators[0]
    event_id, program_id, start, end = event_and_program_over_one_window(dr, dp, operator, owner, household, writer, chain)

    verify_from_meter(dr, event_id, owner, owner)
    with reverts(dp.ReductionAlreadyRewarded, meter=household, firstInterval=start // INTERVAL_SECONDS,
                 rewardedThroughInterval=end // INTERVAL_SECONDS - 1):
        dp.reportReduction(program_id, owner, 1, sender=operator)
    assert dp.getParticipant(program_id, owner).status == 0  # still Pending: nothing reserved
    assert dp.getProgramBudget(program_id).reserved == 0
    assert dr.rewardedReductionWh(household) == REDUCTION_WH


def test_operator_cannot_start_events_for_another_region(demand_response, stablecoin, operators, admin, stranger,
                                                         grid_management):
    dr = demand_response
    grid_operator, _, other_region_operator = operators
    balance = stablecoin.balanceOf(other_region_operator)
    with reverts(dr.OperatorNotAuthorizedForRegion, operator=other_region_operator.address, regionId=REGION):
        dr.startEvent(REGION, TARGET_KW, RATE_PER_KW, DURATION, sender=other_region_operator)
    # Registered here but not a GridManagement operator at all.
    dr.registerGridOperator(stranger, sender=admin)
    with reverts(dr.OperatorNotAuthorizedForRegion, operator=stranger.address, regionId=REGION):
        dr.startEvent(REGION, TARGET_KW, RATE_PER_KW, DURATION, sender=stranger)
    # Suspended by GridManagement's admin.
    grid_management.setOperatorAuthorization(grid_operator, False, sender=admin)
    with reverts(dr.OperatorNotAuthorizedForRegion, operator=grid_operator.address, regionId=REGION):
        dr.startEvent(REGION, TARGET_KW, RATE_PER_KW, DURATION, sender=grid_operator)
    assert dr.eventCount() == 0
    assert stablecoin.balanceOf(other_region_operator) == balance


def test_other_region_event_cannot_pay_a_household(demand_response, operators, household, owner, writer, chain):
    dr = demand_response
    other_region_operator = operators[2]
    move_to_next_window(chain)
    event_id, start, end = start_event(dr, other_region_operator, OTHER_REGION)
    assert dr.getEvent(event_id).regionId == OTHER_REGION
    with reverts(dr.MeterNotInRegion, meter=household, meterRegionId=REGION, eventRegionId=OTHER_REGION):
        dr.joinEvent(event_id, sender=owner)
    finish(chain, writer, household, start, end)
    with reverts(dr.MeterNotInRegion, meter=household, meterRegionId=REGION, eventRegionId=OTHER_REGION):
        dr.previewReduction(event_id, owner)
    first, last = start // INTERVAL_SECONDS, end // INTERVAL_SECONDS - 1
    with reverts(dr.MeterNotInRegion, meter=household, meterRegionId=REGION, eventRegionId=OTHER_REGION):
        dr.verifyReduction(event_id, owner, 2 * REDUCTION_W, REDUCTION_W, first, last, sender=other_region_operator)
    assert dr.rewardedReductionWh(household) == 0
    assert dr.getEventBudget(event_id).reserved == 0


def test_event_started_carries_its_region(demand_response, vault, stablecoin, operators, chain):
    dr = demand_response
    operator = operators[2]
    move_to_next_window(chain)
    tx = dr.startEvent(OTHER_REGION, TARGET_KW, RATE_PER_KW, DURATION, sender=operator)
    event = dr.getEvent(tx.return_value)
    assert event.regionId == OTHER_REGION
    assert_logs(
        tx,
        log(dr.EventStarted, eventId=tx.return_value, gridOperator=operator.address, regionId=OTHER_REGION,
            targetReductionKW=TARGET_KW, rewardPerKW=RATE_PER_KW, startTime=event.startTime, endTime=event.endTime,
            budget=TARGET_KW * RATE_PER_KW),
        *vault_funding_logs(vault, stablecoin, operator, dr, TARGET_KW * RATE_PER_KW),
    )


def test_only_the_recorder_role_writes_the_record(demand_response, demand_programs, admin, stranger, household):
    dr = demand_response
    role = dr.REDUCTION_RECORDER_ROLE()
    assert dr.hasRole(role, demand_programs)
    with reverts(dr.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=role):
        dr.recordRewardedReduction(household, 10, 13, 1_000, sender=stranger)
    dr.grantRole(role, stranger, sender=admin)
    dr.recordRewardedReduction(household, 10, 13, 1_000, sender=stranger)
    assert (dr.rewardedThroughInterval(household), dr.rewardedReductionWh(household)) == (13, 1_000)
    with reverts(dr.ReductionAlreadyRewarded, meter=household, firstInterval=13, rewardedThroughInterval=13):
        dr.recordRewardedReduction(household, 13, 20, 1_000, sender=stranger)
    # A window ending before it starts, or beyond 64 bits, would move the high-water mark wrongly.
    for first, last in ((30, 29), (30, 2**64)):
        with reverts(dr.InvalidIntervalRange, firstInterval=first, lastInterval=last):
            dr.recordRewardedReduction(household, first, last, 1, sender=stranger)
    dr.recordRewardedReduction(household, 14, 20, 500, sender=stranger)
    assert (dr.rewardedThroughInterval(household), dr.rewardedReductionWh(household)) == (20, 1_500)


# ----------------------------------------------------------------------------- the seed's form
# 004's start_event(target_reduction_kw, reward_per_kw, duration_seconds) names no region:
# startEvent(targetReductionKW, rewardPerKW, durationSeconds) starts the event in the calling
# operator's own GridManagement region, its window as the regional form's (from the next interval
# boundary, now when the block is on one).


def test_the_seeds_start_event_runs_in_the_callers_own_region(demand_response, vault, stablecoin, operators, chain):
    dr = demand_response
    for operator, region in ((operators[0], REGION), (operators[2], OTHER_REGION)):
        move_to_next_window(chain)
        start = (chain.pending_timestamp // INTERVAL_SECONDS + 1) * INTERVAL_SECONDS
        tx = dr.startEvent(TARGET_KW, RATE_PER_KW, DURATION, sender=operator)
        event = dr.getEvent(tx.return_value)
        assert (event.regionId, event.gridOperator) == (region, operator.address)
        assert (event.startTime, event.endTime) == (start, start + DURATION)
        assert_logs(
            tx,
            log(dr.EventStarted, eventId=tx.return_value, gridOperator=operator.address, regionId=region,
                targetReductionKW=TARGET_KW, rewardPerKW=RATE_PER_KW, startTime=start, endTime=start + DURATION,
                budget=TARGET_KW * RATE_PER_KW),
            *vault_funding_logs(vault, stablecoin, operator, dr, TARGET_KW * RATE_PER_KW),
        )
    assert dr.eventCount() == 2


def test_the_seeds_start_event_refuses_as_the_regional_form(demand_response, stablecoin, operators, admin, stranger,
                                                            grid_management):
    dr = demand_response
    grid_operator = operators[0]
    with reverts(dr.GridOperatorNotRegistered, account=stranger.address):
        dr.startEvent(TARGET_KW, RATE_PER_KW, DURATION, sender=stranger)
    # Registered here but no GridManagement operator: it has no region (0 there).
    dr.registerGridOperator(stranger, sender=admin)
    with reverts(dr.OperatorNotAuthorizedForRegion, operator=stranger.address, regionId=0):
        dr.startEvent(TARGET_KW, RATE_PER_KW, DURATION, sender=stranger)
    with reverts(dr.ZeroEventParameter):
        dr.startEvent(0, RATE_PER_KW, DURATION, sender=grid_operator)
    with reverts(dr.ZeroEventParameter):
        dr.startEvent(TARGET_KW, 0, DURATION, sender=grid_operator)
    max_duration = dr.MAX_DURATION_SECONDS()
    with reverts(dr.DurationOutOfRange, durationSeconds=max_duration + 1, maxSeconds=max_duration):
        dr.startEvent(TARGET_KW, RATE_PER_KW, max_duration + 1, sender=grid_operator)
    balance = stablecoin.balanceOf(grid_operator)
    # Suspended by GridManagement's admin: its region is still listed, its authorization gone.
    grid_management.setOperatorAuthorization(grid_operator, False, sender=admin)
    with reverts(dr.OperatorNotAuthorizedForRegion, operator=grid_operator.address, regionId=REGION):
        dr.startEvent(TARGET_KW, RATE_PER_KW, DURATION, sender=grid_operator)
    assert dr.eventCount() == 0
    assert stablecoin.balanceOf(grid_operator) == balance
