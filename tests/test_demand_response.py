"""DemandResponse: demand-response events, every reduction measured from the consumer's
SmartMeter load profile (baseline = same clock intervals of the 5 previous days), budgets paid in
up front, rewards reserved at verification and paid by claim or in bounded batches.

Meter history is written the cheap way (energy_grid.domain.demand_response.MeterWriter): meters are
registered, the chain moves 6 days ahead, and backdated gateway batches write one reading per
needed interval.
"""

from __future__ import annotations

import pytest
from eth_account import Account

from energy_grid.domain.demand_response import MeterWriter, baseline_intervals, verify_from_meter, window_intervals
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS

from support.helpers import (
    DEFAULT_ADMIN_ROLE,
    NO_FREEZE_QUERY,
    ZERO_ADDRESS,
    assert_logs,
    deploy_reverts,
    log,
    reverts,
    unexercised_abi_items,
    vault_funding_logs,
)

REGION = 1
TARGET_KW = 1_000
RATE_PER_KW = 10_000  # 0.01 MOCKUSD per kW reduced
BUDGET = TARGET_KW * RATE_PER_KW
DURATION = 3_600  # 4 intervals
BASELINE_WH = 500  # per interval on each baseline day: 2,000 Wh per hour, 2,000 W
WINDOW_WH = 250  # per window interval: 1,000 W, a 1,000 W reduction
REDUCTION_W = 1_000
REWARD = RATE_PER_KW * REDUCTION_W // 1_000
HISTORY_SECONDS = 6 * DAY_SECONDS
MAX_UINT = 2**256 - 1
PENDING, VERIFIED, REWARDED, REJECTED = 0, 1, 2, 3
ACTIVE, COMPLETED, CANCELLED = 0, 1, 2
REASON = b"NO_SHOW".ljust(32, b"\0")


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, owner, other, stranger, grid_operator, keeper, accounts):
    """Resolves the session-scoped account fixtures before ape's per-test isolation (no rebasing)."""


@pytest.fixture(scope="module", autouse=True)
def _region_operators(grid_operations, grid_management, admin):
    """grid_operator (grid_operations registers it) and `admin`, which some tests make the operator
    of their own DemandResponse, are GridManagement operators of REGION: only they start its events."""
    grid_management.registerOperator("Admin Grid Co", REGION, 100, sender=admin)
    grid_management.verifyOperator(admin, sender=admin)


@pytest.fixture
def dr(demand_response, stablecoin, admin, grid_operator):
    """DemandResponse with grid_operator registered, funded and approving it."""
    demand_response.registerGridOperator(grid_operator, sender=admin)
    stablecoin.addConsumerBalance(grid_operator, 1_000_000, sender=admin)
    stablecoin.approve(demand_response, MAX_UINT, sender=grid_operator)
    return demand_response


@pytest.fixture
def writer(smart_meter, admin):
    return MeterWriter(smart_meter, admin)


@pytest.fixture
def meters(dr, writer, owner, other, grid_operator):
    """A fresh meter each for `owner` (who registers itself) and `other` (registered by the operator)."""
    owned = {owner.address: Account.create().address, other.address: Account.create().address}
    writer.register(owned.values(), owned.keys(), REGION)
    dr.registerConsumer(owner, owned[owner.address], sender=owner)
    dr.registerConsumer(other, owned[other.address], sender=grid_operator)
    return owned


def start_event(dr, operator, chain, target=TARGET_KW, rate=RATE_PER_KW, duration=DURATION, offset=100):
    """Moves HISTORY_SECONDS ahead (room for 5 baseline days after registration), `offset` s into an
    interval, and starts an event; returns (eventId, startTime, endTime, receipt)."""
    chain.pending_timestamp = (chain.pending_timestamp + HISTORY_SECONDS) // INTERVAL_SECONDS * INTERVAL_SECONDS + offset
    tx = dr.startEvent(REGION, target, rate, duration, sender=operator)
    event = dr.getEvent(tx.return_value)
    return tx.return_value, event.startTime, event.endTime, tx


def run_event(dr, operator, chain, writer, meters, window_wh=WINDOW_WH, baseline_wh=BASELINE_WH, **kwargs):
    """An event whose window is over with the meters' baseline and window consumption written."""
    event_id, start, end, _ = start_event(dr, operator, chain, **kwargs)
    chain.pending_timestamp = end
    writer.write_event_days(list(meters), start, end, baseline_wh, window_wh)
    return event_id, start, end


@pytest.fixture
def ended(dr, grid_operator, chain, writer, meters):
    """An event over: owner's and other's meters reduced from 2,000 W to 1,000 W."""
    return run_event(dr, grid_operator, chain, writer, meters.values())


def expected_record(event_id, consumer, start, end, pid, status, baseline=0, actual=0, reward=0, verified_at=0):
    return (
        pid,
        event_id,
        consumer,
        baseline,
        actual,
        baseline - actual,
        reward,
        start // INTERVAL_SECONDS,
        end // INTERVAL_SECONDS - 1,
        verified_at,
        status,
    )


# ----------------------------------------------------------------------------- deployment and completeness


def test_constants_wiring_and_size(demand_response, smart_meter, vault, stablecoin, grid_management, admin, chain):
    dr = demand_response
    assert dr.smartMeter() == smart_meter.address
    assert dr.vault() == vault.address
    assert dr.paymentToken() == stablecoin.address == vault.paymentToken()
    assert dr.gridManagement() == grid_management.address
    assert dr.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert dr.DEFAULT_MINIMUM_REDUCTION_W() == dr.minimumReductionW() == 100
    assert dr.DEFAULT_VERIFICATION_PERIOD() == dr.verificationPeriod() == DAY_SECONDS
    assert (dr.MIN_VERIFICATION_PERIOD(), dr.MAX_VERIFICATION_PERIOD()) == (3_600, 7 * DAY_SECONDS)
    assert dr.MAX_DURATION_SECONDS() == DAY_SECONDS
    assert dr.BASELINE_DAYS() == 5
    assert dr.MAX_DISTRIBUTION_BATCH() == 50
    assert dr.MAX_VERIFICATION_BATCH() == 10
    assert dr.MAX_PAGE_LIMIT() == 100
    assert dr.eventCount() == 0
    assert len(chain.provider.get_code(dr.address)) < 20_000


def test_every_function_error_and_event_is_exercised(demand_response):
    # RoleAdminChanged cannot happen: nothing calls OpenZeppelin's internal _setRoleAdmin.
    modules = ["test_demand_response.py", "test_one_reward_per_reduction.py"]
    assert unexercised_abi_items("DemandResponse", modules, ("function", "event", "error"), {"RoleAdminChanged"}) == []


def test_access_control_surface(demand_response, admin, other, stranger):
    dr = demand_response
    assert dr.getRoleAdmin(DEFAULT_ADMIN_ROLE) == DEFAULT_ADMIN_ROLE == dr.DEFAULT_ADMIN_ROLE()
    assert dr.supportsInterface("0x7965db0b")  # IAccessControl
    assert not dr.supportsInterface("0xffffffff")
    with reverts(dr.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        dr.grantRole(DEFAULT_ADMIN_ROLE, stranger, sender=stranger)
    with reverts(dr.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        dr.revokeRole(DEFAULT_ADMIN_ROLE, admin, sender=stranger)
    tx = dr.grantRole(DEFAULT_ADMIN_ROLE, other, sender=admin)
    assert_logs(tx, log(dr.RoleGranted, role=DEFAULT_ADMIN_ROLE, account=other.address, sender=admin.address))
    with reverts(dr.AccessControlBadConfirmation):
        dr.renounceRole(DEFAULT_ADMIN_ROLE, stranger, sender=other)
    tx = dr.renounceRole(DEFAULT_ADMIN_ROLE, other, sender=other)
    assert_logs(tx, log(dr.RoleRevoked, role=DEFAULT_ADMIN_ROLE, account=other.address, sender=other.address))
    dr.grantRole(DEFAULT_ADMIN_ROLE, stranger, sender=admin)
    tx = dr.revokeRole(DEFAULT_ADMIN_ROLE, stranger, sender=admin)
    assert_logs(tx, log(dr.RoleRevoked, role=DEFAULT_ADMIN_ROLE, account=stranger.address, sender=admin.address))
    assert not dr.hasRole(DEFAULT_ADMIN_ROLE, stranger)


@pytest.mark.parametrize("position, dependency", [(0, "admin"), (1, "smartMeter"), (2, "vault"), (3, "gridManagement")])
def test_constructor_rejects_zero_addresses(
    project, demand_response, admin, smart_meter, vault, grid_management, position, dependency
):
    """NotInitialized: an instance cannot exist without its dependencies."""
    args = [admin, smart_meter, vault, grid_management]
    args[position] = ZERO_ADDRESS
    with deploy_reverts(demand_response.NotInitialized, dependency):
        project.DemandResponse.deploy(*args, sender=admin)


# ----------------------------------------------------------------------------- registration


def test_register_grid_operator(demand_response, admin, grid_operator, stranger):
    dr = demand_response
    assert not dr.isGridOperator(grid_operator)
    tx = dr.registerGridOperator(grid_operator, sender=admin)
    assert_logs(tx, log(dr.GridOperatorRegistered, operator=grid_operator.address))
    assert dr.isGridOperator(grid_operator)
    with reverts(dr.GridOperatorAlreadyRegistered, operator=grid_operator.address):
        dr.registerGridOperator(grid_operator, sender=admin)
    with reverts(dr.ZeroAddress):
        dr.registerGridOperator(ZERO_ADDRESS, sender=admin)
    with reverts(dr.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        dr.registerGridOperator(stranger, sender=stranger)


def test_register_consumer(dr, smart_meter, writer, owner, other, stranger, grid_operator):
    mine, theirs = Account.create().address, Account.create().address
    writer.register([mine, theirs], [owner, other], REGION)
    tx = dr.registerConsumer(owner, mine, sender=owner)
    assert_logs(tx, log(dr.ConsumerRegistered, consumer=owner.address, meter=mine, registeredBy=owner.address))
    assert dr.getConsumerMeter(owner) == mine
    with reverts(dr.ConsumerAlreadyRegistered, consumer=owner.address):
        dr.registerConsumer(owner, mine, sender=grid_operator)
    # Only the consumer itself or a registered grid operator.
    with reverts(dr.GridOperatorNotRegistered, account=stranger.address):
        dr.registerConsumer(other, theirs, sender=stranger)
    # The meter must be the consumer's in SmartMeter.
    with reverts(dr.MeterNotOwnedByConsumer, meter=mine, consumer=other.address, owner=owner.address):
        dr.registerConsumer(other, mine, sender=grid_operator)
    unknown = Account.create().address
    with reverts(smart_meter.MeterUnknown, meter=unknown):
        dr.registerConsumer(other, unknown, sender=other)
    tx = dr.registerConsumer(other, theirs, sender=grid_operator)
    assert_logs(tx, log(dr.ConsumerRegistered, consumer=other.address, meter=theirs, registeredBy=grid_operator.address))
    assert dr.getConsumerMeter(other) == theirs
    assert dr.getConsumerMeter(stranger) == ZERO_ADDRESS


# ----------------------------------------------------------------------------- starting and cancelling


@pytest.mark.parametrize("offset, duration, intervals", [(100, 3_600, 4), (0, 3_600, 4), (899, 1, 1), (1, 901, 2), (450, DAY_SECONDS, 96)])
def test_start_event_pulls_budget_and_sets_window(dr, vault, stablecoin, grid_operator, chain, offset, duration, intervals):
    balance = stablecoin.balanceOf(grid_operator)
    event_id, start, end, tx = start_event(dr, grid_operator, chain, duration=duration, offset=offset)
    block_time = chain.provider.get_block(tx.block_number).timestamp
    expected_start = -(-block_time // INTERVAL_SECONDS) * INTERVAL_SECONDS
    assert start == expected_start and start % INTERVAL_SECONDS == 0 and start - block_time < INTERVAL_SECONDS
    assert end == start + intervals * INTERVAL_SECONDS
    assert event_id == dr.eventCount() == 1
    assert_logs(
        tx,
        log(
            dr.EventStarted,
            eventId=1,
            gridOperator=grid_operator.address,
            regionId=REGION,
            targetReductionKW=TARGET_KW,
            rewardPerKW=RATE_PER_KW,
            startTime=start,
            endTime=end,
            budget=BUDGET,
        ),
        *vault_funding_logs(vault, stablecoin, grid_operator, dr, BUDGET),
    )
    assert dr.getEvent(1) == (1, grid_operator.address, TARGET_KW, RATE_PER_KW, start, end, ACTIVE, 0, 0, REGION)
    assert dr.getEventBudget(1) == (BUDGET, 0, 0, 0, end + DAY_SECONDS, 0, 0)
    assert stablecoin.balanceOf(grid_operator) == balance - BUDGET
    # The budget is held in DemandResponse's own vault balance, none in its wallet.
    assert (vault.balanceOf(stablecoin, dr), stablecoin.balanceOf(dr)) == (BUDGET, 0)


def test_start_event_errors_move_nothing(dr, stablecoin, grid_operator, stranger, chain):
    balance = stablecoin.balanceOf(grid_operator)
    with reverts(dr.GridOperatorNotRegistered, account=stranger.address):
        dr.startEvent(REGION, TARGET_KW, RATE_PER_KW, DURATION, sender=stranger)
    with reverts(dr.ZeroEventParameter):
        dr.startEvent(REGION, 0, RATE_PER_KW, DURATION, sender=grid_operator)
    with reverts(dr.ZeroEventParameter):
        dr.startEvent(REGION, TARGET_KW, 0, DURATION, sender=grid_operator)
    for duration in (0, DAY_SECONDS + 1):
        with reverts(dr.DurationOutOfRange, durationSeconds=duration, maxSeconds=DAY_SECONDS):
            dr.startEvent(REGION, TARGET_KW, RATE_PER_KW, duration, sender=grid_operator)
    stablecoin.approve(dr, BUDGET - 1, sender=grid_operator)
    with reverts(stablecoin.ERC20InsufficientAllowance, spender=dr.address, allowance=BUDGET - 1, needed=BUDGET):
        dr.startEvent(REGION, TARGET_KW, RATE_PER_KW, DURATION, sender=grid_operator)
    assert stablecoin.balanceOf(grid_operator) == balance
    assert dr.eventCount() == 0
    with reverts(dr.EventNotFound, eventId=1):
        dr.getEvent(1)
    with reverts(dr.EventNotFound, eventId=0):
        dr.getEventBudget(0)


def test_cancel_before_window_refunds_everything(dr, vault, stablecoin, grid_operator, owner, other, meters, chain):
    balance, held = stablecoin.balanceOf(grid_operator), vault.balanceOf(stablecoin, grid_operator)
    event_id, _start, end, _ = start_event(dr, grid_operator, chain)
    dr.joinEvent(event_id, sender=owner)
    with reverts(dr.NotEventOperator, eventId=event_id, account=owner.address):
        dr.cancelEvent(event_id, sender=owner)
    reserve = vault.reserves()[1]
    tx = dr.cancelEvent(event_id, sender=grid_operator)
    # The refund moves vault balances, no token: only the cancellation is logged.
    assert_logs(tx, log(dr.EventCancelled, eventId=event_id, refund=BUDGET))
    assert dr.getEvent(event_id).status == CANCELLED
    assert dr.getEventBudget(event_id) == (BUDGET, 0, 0, BUDGET, end + DAY_SECONDS, 0, 0)
    assert stablecoin.balanceOf(grid_operator) == balance - BUDGET
    assert vault.balanceOf(stablecoin, grid_operator) == held + BUDGET
    assert vault.balanceOf(stablecoin, dr) == 0
    assert vault.reserves()[1] == reserve
    with reverts(dr.EventNotActive, eventId=event_id, status=CANCELLED):
        dr.cancelEvent(event_id, sender=grid_operator)
    with reverts(dr.EventNotActive, eventId=event_id, status=CANCELLED):
        dr.joinEvent(event_id, sender=other)
    with reverts(dr.EventNotFound, eventId=9):
        dr.cancelEvent(9, sender=grid_operator)


def test_cancel_after_window_start_reverts(dr, grid_operator, chain):
    event_id, start, _, _ = start_event(dr, grid_operator, chain)
    chain.pending_timestamp = start
    with reverts(dr.EventAlreadyStarted, eventId=event_id, startTime=start):
        dr.cancelEvent(event_id, sender=grid_operator)
    # A block on a boundary starts the window at once: it can never be cancelled.
    event_id, start, _, tx = start_event(dr, grid_operator, chain, offset=0)
    assert start == chain.provider.get_block(tx.block_number).timestamp
    with reverts(dr.EventAlreadyStarted, eventId=event_id, startTime=start):
        dr.cancelEvent(event_id, sender=grid_operator)


# ----------------------------------------------------------------------------- joining and rejecting


def test_join_and_reject(dr, grid_operator, owner, other, stranger, meters, chain):
    event_id, start, end, _ = start_event(dr, grid_operator, chain)
    tx = dr.joinEvent(event_id, sender=owner)
    assert_logs(tx, log(dr.EventJoined, eventId=event_id, consumer=owner.address, participationId=1))
    assert dr.getParticipation(event_id, owner) == expected_record(event_id, owner.address, start, end, 1, PENDING)
    with reverts(dr.AlreadyParticipating, eventId=event_id, consumer=owner.address):
        dr.joinEvent(event_id, sender=owner)
    with reverts(dr.ConsumerNotRegistered, consumer=stranger.address):
        dr.joinEvent(event_id, sender=stranger)
    with reverts(dr.EventNotFound, eventId=event_id + 1):
        dr.joinEvent(event_id + 1, sender=other)

    with reverts(dr.NotEventOperator, eventId=event_id, account=stranger.address):
        dr.rejectParticipation(event_id, owner, REASON, sender=stranger)
    with reverts(dr.ParticipationNotPending, eventId=event_id, consumer=other.address):
        dr.rejectParticipation(event_id, other, REASON, sender=grid_operator)
    tx = dr.rejectParticipation(event_id, owner, REASON, sender=grid_operator)
    assert_logs(tx, log(dr.ParticipationRejected, eventId=event_id, consumer=owner.address, reason=REASON))
    assert dr.getParticipation(event_id, owner).status == REJECTED
    with reverts(dr.ParticipationNotPending, eventId=event_id, consumer=owner.address):
        dr.rejectParticipation(event_id, owner, REASON, sender=grid_operator)
    with reverts(dr.AlreadyParticipating, eventId=event_id, consumer=owner.address):
        dr.joinEvent(event_id, sender=owner)

    chain.pending_timestamp = end
    with reverts(dr.EventExpired, eventId=event_id, deadline=end):
        dr.joinEvent(event_id, sender=other)


def test_rejected_consumer_cannot_be_verified(dr, grid_operator, writer, owner, stranger, meters, chain):
    event_id, start, end, _ = start_event(dr, grid_operator, chain)
    dr.joinEvent(event_id, sender=owner)
    dr.rejectParticipation(event_id, owner, REASON, sender=grid_operator)
    chain.pending_timestamp = end
    writer.write_event_days(list(meters.values()), start, end, BASELINE_WH, WINDOW_WH)
    figures = dr.previewReduction(event_id, owner)
    with reverts(dr.ConsumerRejected, eventId=event_id, consumer=owner.address):
        dr.verifyReduction(event_id, owner, *figures, sender=stranger)
    assert dr.getEventBudget(event_id).reserved == 0


# ----------------------------------------------------------------------------- verification


def test_preview_and_verify_pay_rate_times_reduction(dr, vault, stablecoin, grid_operator, owner, other, stranger, meters, ended, chain):
    event_id, start, end = ended
    first, last = start // INTERVAL_SECONDS, end // INTERVAL_SECONDS - 1
    assert dr.previewReduction(event_id, owner) == (2_000, 1_000, first, last)
    balance = vault.balanceOf(stablecoin, dr)

    tx = dr.verifyReduction(event_id, owner, 2_000, 1_000, first, last, sender=stranger)  # anyone may submit
    assert tx.return_value == 1
    assert_logs(
        tx,
        log(
            dr.ReductionVerified,
            eventId=event_id,
            consumer=owner.address,
            participationId=1,
            baselineUsageW=2_000,
            actualUsageW=1_000,
            reductionW=REDUCTION_W,
            rewardAmount=REWARD,
        ),
    )
    verified_at = chain.provider.get_block(tx.block_number).timestamp
    assert dr.getParticipation(event_id, owner) == expected_record(
        event_id, owner.address, start, end, 1, VERIFIED, 2_000, 1_000, REWARD, verified_at
    )
    assert dr.getEvent(event_id).totalParticipants == 1
    assert dr.getEvent(event_id).totalReductionAchieved == REDUCTION_W
    assert dr.getEventBudget(event_id) == (BUDGET, REWARD, 0, 0, end + DAY_SECONDS, 1, 0)
    assert vault.balanceOf(stablecoin, dr) == balance  # reserved, not paid

    with reverts(dr.AlreadyParticipating, eventId=event_id, consumer=owner.address):
        dr.verifyReduction(event_id, owner, 2_000, 1_000, first, last, sender=stranger)

    verify_from_meter(dr, event_id, other, stranger)
    assert dr.getParticipation(event_id, other).participationId == 2
    assert dr.getEvent(event_id).totalReductionAchieved == 2 * REDUCTION_W


def test_verify_after_joining_keeps_participation_id(dr, grid_operator, writer, owner, stranger, meters, chain):
    event_id, start, end, _ = start_event(dr, grid_operator, chain)
    dr.joinEvent(event_id, sender=owner)
    chain.pending_timestamp = end
    writer.write_event_days(list(meters.values()), start, end, BASELINE_WH, WINDOW_WH)
    tx = verify_from_meter(dr, event_id, owner, stranger)
    assert tx.return_value == 1
    assert dr.getParticipation(event_id, owner).status == VERIFIED


@pytest.mark.parametrize("field", range(4))
def test_figures_disagreeing_with_the_meter_revert(dr, stablecoin, owner, stranger, meters, ended, field):
    event_id, _start, _end = ended
    figures = list(dr.previewReduction(event_id, owner))
    expected = dict(zip(("baselineUsageKW", "actualUsageKW", "meterReadingStart", "meterReadingEnd"), figures, strict=True))
    figures[field] += 1 if field != 1 else -1
    with reverts(dr.InvalidMeterReading, meter=meters[owner.address], **expected):
        dr.verifyReduction(event_id, owner, *figures, sender=stranger)
    assert dr.getEventBudget(event_id).reserved == 0
    assert dr.getParticipation(event_id, owner).participationId == 0


def test_verification_window_and_event_checks(dr, grid_operator, writer, owner, stranger, meters, chain):
    event_id, start, end, _ = start_event(dr, grid_operator, chain)
    figures = (2_000, 1_000, start // INTERVAL_SECONDS, end // INTERVAL_SECONDS - 1)
    chain.pending_timestamp = end - 1
    with reverts(dr.EventWindowNotEnded, eventId=event_id, endTime=end):
        dr.verifyReduction(event_id, owner, *figures, sender=stranger)
    chain.pending_timestamp = end
    writer.write_event_days(list(meters.values()), start, end, BASELINE_WH, WINDOW_WH)
    with reverts(dr.EventNotFound, eventId=event_id + 1):
        dr.verifyReduction(event_id + 1, owner, *figures, sender=stranger)
    with reverts(dr.EventNotFound, eventId=event_id + 1):
        dr.previewReduction(event_id + 1, owner)
    with reverts(dr.ConsumerNotRegistered, consumer=stranger.address):
        dr.verifyReduction(event_id, stranger, *figures, sender=stranger)
    with reverts(dr.ConsumerNotRegistered, consumer=stranger.address):
        dr.previewReduction(event_id, stranger)
    deadline = end + DAY_SECONDS
    chain.pending_timestamp = deadline + 1
    with reverts(dr.EventExpired, eventId=event_id, deadline=deadline):
        dr.verifyReduction(event_id, owner, *figures, sender=stranger)


def test_verification_accepted_up_to_the_deadline(dr, owner, stranger, meters, ended, chain):
    event_id, _, end = ended
    chain.pending_timestamp = end + DAY_SECONDS
    tx = verify_from_meter(dr, event_id, owner, stranger)
    assert chain.provider.get_block(tx.block_number).timestamp == dr.getEventBudget(event_id).verificationDeadline


def verification_state(dr, event_id, consumers, meters):
    """Everything a verification records: each participation, the meter's once-only record, the
    event's totals and its budget."""
    return (
        [dr.getParticipation(event_id, c) for c in consumers],
        [(dr.rewardedThroughInterval(meters[c.address]), dr.rewardedReductionWh(meters[c.address])) for c in consumers],
        dr.getEvent(event_id),
        dr.getEventBudget(event_id),
    )


def test_a_batch_verifies_as_one_call_a_consumer_does(dr, owner, other, stranger, meters, ended, chain):
    event_id, _start, _end = ended
    consumers = [other, owner]
    snapshot = chain.snapshot()
    for consumer in consumers:
        verify_from_meter(dr, event_id, consumer, stranger)
    one_by_one = verification_state(dr, event_id, consumers, meters)
    chain.restore(snapshot)

    tx = dr.verifyReductions(event_id, consumers, sender=stranger)  # anyone may submit
    assert_logs(
        tx,
        *(
            log(dr.ReductionVerified, eventId=event_id, consumer=c.address, participationId=i + 1, baselineUsageW=2_000,
                actualUsageW=1_000, reductionW=REDUCTION_W, rewardAmount=REWARD)
            for i, c in enumerate(consumers)
        ),
    )
    batched = verification_state(dr, event_id, consumers, meters)
    # The same records but for the time each was verified at.
    assert [p.participationId for p in batched[0]] == [1, 2]
    def without_times(state):
        return [tuple(p)[:9] + tuple(p)[10:] for p in state[0]], *state[1:]

    assert without_times(batched) == without_times(one_by_one)
    assert batched[3].reserved == 2 * REWARD


def test_a_batch_is_refused_whole(dr, admin, grid_operator, writer, owner, other, stranger, meters, chain):
    event_id, start, end, _ = start_event(dr, grid_operator, chain)
    with reverts(dr.EmptyBatch):
        dr.verifyReductions(event_id, [], sender=stranger)
    with reverts(dr.BatchTooLarge, size=11, maxSize=10):
        dr.verifyReductions(event_id, 11 * [owner.address], sender=stranger)
    chain.pending_timestamp = end - 1
    with reverts(dr.EventWindowNotEnded, eventId=event_id, endTime=end):
        dr.verifyReductions(event_id, [owner], sender=stranger)
    chain.pending_timestamp = end
    writer.write_event_days(list(meters.values()), start, end, BASELINE_WH, WINDOW_WH)
    with reverts(dr.ConsumerNotRegistered, consumer=stranger.address):
        dr.verifyReductions(event_id, [owner, stranger], sender=stranger)
    with reverts(dr.AlreadyParticipating, eventId=event_id, consumer=owner.address):
        dr.verifyReductions(event_id, [owner, other, owner], sender=stranger)
    dr.setMinimumReductionW(REDUCTION_W + 1, sender=admin)
    with reverts(dr.InsufficientReduction, eventId=event_id, consumer=owner.address, reductionW=REDUCTION_W,
                 minimumReductionW=REDUCTION_W + 1):
        dr.verifyReductions(event_id, [owner], sender=stranger)
    assert dr.getEventBudget(event_id).reserved == 0
    assert [dr.getParticipation(event_id, c).participationId for c in (owner, other)] == [0, 0]
    assert dr.rewardedThroughInterval(meters[owner.address]) == 0


def test_no_reduction_earns_nothing(dr, grid_operator, writer, owner, stranger, meters, chain):
    """Usage equal to or above the baseline: InsufficientReduction with a reduction of 0."""
    consumer_meters = [meters[owner.address]]
    event_id, _start, _end = run_event(dr, grid_operator, chain, writer, consumer_meters, window_wh=BASELINE_WH)
    figures = dr.previewReduction(event_id, owner)
    assert figures[:2] == (2_000, 2_000)
    with reverts(dr.InsufficientReduction, eventId=event_id, consumer=owner.address, reductionW=0, minimumReductionW=100):
        dr.verifyReduction(event_id, owner, *figures, sender=stranger)


def test_more_usage_than_baseline_earns_nothing(dr, grid_operator, writer, owner, stranger, meters, chain):
    event_id, _, _ = run_event(dr, grid_operator, chain, writer, [meters[owner.address]], window_wh=900)
    figures = dr.previewReduction(event_id, owner)
    assert figures[:2] == (2_000, 3_600)
    with reverts(dr.InsufficientReduction, eventId=event_id, consumer=owner.address, reductionW=0, minimumReductionW=100):
        dr.verifyReduction(event_id, owner, *figures, sender=stranger)


def test_minimum_reduction(dr, admin, grid_operator, writer, owner, stranger, meters, chain):
    # 99 Wh less in a one-hour window: 99 W below the 2,000 W baseline.
    start_id, start, end, _ = start_event(dr, grid_operator, chain)
    chain.pending_timestamp = end
    window = window_intervals(start, end)
    writer.write([meters[owner.address]], baseline_intervals(window), BASELINE_WH)
    writer.write([meters[owner.address]], window, lambda _m, i: 500 - 99 if i == window[0] else 500)
    figures = dr.previewReduction(start_id, owner)
    assert figures[:2] == (2_000, 1_901)
    with reverts(dr.InsufficientReduction, eventId=start_id, consumer=owner.address, reductionW=99, minimumReductionW=100):
        dr.verifyReduction(start_id, owner, *figures, sender=stranger)
    tx = dr.setMinimumReductionW(99, sender=admin)
    assert_logs(tx, log(dr.MinimumReductionUpdated, previousW=100, newW=99))
    assert dr.minimumReductionW() == 99
    tx = dr.verifyReduction(start_id, owner, *figures, sender=stranger)
    assert dr.getParticipation(start_id, owner).rewardAmount == RATE_PER_KW * 99 // 1_000
    with reverts(dr.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        dr.setMinimumReductionW(1, sender=stranger)


def test_minimum_of_zero_still_needs_a_reduction(dr, admin, grid_operator, writer, owner, stranger, meters, chain):
    dr.setMinimumReductionW(0, sender=admin)
    event_id, _, _ = run_event(dr, grid_operator, chain, writer, [meters[owner.address]], window_wh=BASELINE_WH)
    with reverts(dr.InsufficientReduction, eventId=event_id, consumer=owner.address, reductionW=0, minimumReductionW=0):
        verify_from_meter(dr, event_id, owner, stranger)


def test_withheld_window_readings_cannot_fake_a_reduction(dr, smart_meter, grid_operator, writer, owner, stranger, meters, chain):
    """The security rule: a meter that sends no reading in the window's last interval (here: none in
    the whole window, its consumption reported after the window) cannot be verified."""
    meter = meters[owner.address]
    event_id, start, end, _ = start_event(dr, grid_operator, chain)
    window = window_intervals(start, end)
    chain.pending_timestamp = end + INTERVAL_SECONDS
    writer.write([meter], baseline_intervals(window), BASELINE_WH)
    writer.write([meter], [window[-1] + 1], 4 * BASELINE_WH)  # the window's consumption, reported after it
    assert smart_meter.getEnergyInRange(meter, window[0], len(window)) == (0, 0)  # the window looks empty
    with reverts(dr.MeterDataIncomplete, meter=meter, interval=window[-1]):
        dr.previewReduction(event_id, owner)
    with reverts(dr.MeterDataIncomplete, meter=meter, interval=window[-1]):
        dr.verifyReduction(event_id, owner, 2_000, 0, window[0], window[-1], sender=stranger)
    assert dr.getEventBudget(event_id).reserved == 0


def test_reading_only_in_last_interval_books_the_whole_window(dr, grid_operator, writer, owner, stranger, meters, chain):
    """Readings withheld until the last interval land in the window anyway: no reduction appears."""
    meter = meters[owner.address]
    event_id, start, end, _ = start_event(dr, grid_operator, chain)
    window = window_intervals(start, end)
    chain.pending_timestamp = end
    writer.write([meter], baseline_intervals(window), BASELINE_WH)
    writer.write([meter], [window[-1]], 4 * BASELINE_WH)
    assert dr.previewReduction(event_id, owner)[:2] == (2_000, 2_000)
    with reverts(dr.InsufficientReduction, eventId=event_id, consumer=owner.address, reductionW=0, minimumReductionW=100):
        verify_from_meter(dr, event_id, owner, stranger)


def test_missing_baseline_days_count_zero(dr, grid_operator, writer, owner, stranger, meters, chain):
    meter = meters[owner.address]
    event_id, start, end, _ = start_event(dr, grid_operator, chain)
    window = window_intervals(start, end)
    chain.pending_timestamp = end
    two_days = [i for i in baseline_intervals(window) if i >= window[0] - 2 * 96]
    writer.write([meter], two_days, 1_000)  # 4,000 Wh on 2 of 5 days: 8,000 / 5 = 1,600 Wh
    writer.write([meter], window, 100)
    assert dr.previewReduction(event_id, owner)[:2] == (1_600, 400)


def test_baseline_is_averaged_before_rounding(dr, grid_operator, writer, owner, meters, chain):
    """9 Wh over the five baseline days of a 15-minute window: 9 x 3600 / (5 x 900) = 7.2 W, so 7 W.
    Averaging the Wh first (9 // 5 = 1 Wh, i.e. 4 W) lost up to 3.2 W of every short event's baseline."""
    meter = meters[owner.address]
    event_id, start, end, _ = start_event(dr, grid_operator, chain, duration=INTERVAL_SECONDS)
    window = window_intervals(start, end)
    assert len(window) == 1
    chain.pending_timestamp = end
    days = baseline_intervals(window)
    writer.write([meter], days[:1], 5)
    writer.write([meter], days[1:2], 4)
    writer.write([meter], window, 0)
    assert dr.previewReduction(event_id, owner)[:2] == (7, 0)


# ----------------------------------------------------------------------------- payouts


def test_claim_reward_credits_the_vault(dr, vault, stablecoin, owner, other, stranger, meters, ended):
    event_id, _, _ = ended
    verify_from_meter(dr, event_id, owner, stranger)
    with reverts(dr.ParticipationNotVerified, eventId=event_id, consumer=other.address):
        dr.claimReward(event_id, sender=other)
    with reverts(dr.EventNotFound, eventId=event_id + 1):
        dr.claimReward(event_id + 1, sender=owner)
    wallet, credited, reserve = stablecoin.balanceOf(owner), vault.balanceOf(stablecoin, owner), vault.reserves()[1]
    held = vault.balanceOf(stablecoin, dr)
    tx = dr.claimReward(event_id, sender=owner)
    assert tx.return_value == REWARD
    # One vault move from DemandResponse's balance to the consumer's: no token moves, the vault logs nothing.
    assert_logs(tx, log(dr.RewardPaid, eventId=event_id, consumer=owner.address, amount=REWARD))
    assert vault.balanceOf(stablecoin, owner) == credited + REWARD
    assert vault.balanceOf(stablecoin, dr) == held - REWARD
    assert vault.reserves()[1] == reserve
    assert stablecoin.balanceOf(owner) == wallet  # paid in the vault, not to the wallet
    assert dr.getParticipation(event_id, owner).status == REWARDED
    assert dr.getEventBudget(event_id).paid == REWARD
    with reverts(dr.RewardAlreadyClaimed, eventId=event_id, consumer=owner.address):
        dr.claimReward(event_id, sender=owner)
    assert vault.balanceOf(stablecoin, owner) == credited + REWARD


def test_a_closed_vault_market_still_pays_out(dr, vault, stablecoin, admin, owner, other, stranger, keeper, meters, ended, chain):
    """Closing DemandResponse's vault market never traps a budget: claims, batches and the refund still pay."""
    event_id, _, end = ended
    verify_from_meter(dr, event_id, owner, stranger)
    verify_from_meter(dr, event_id, other, stranger)
    vault.closeMarket(dr, sender=admin)
    assert vault.marketInfo(dr)[2]  # closed
    assert dr.claimReward(event_id, sender=owner).return_value == REWARD
    chain.pending_timestamp = end + DAY_SECONDS + 1
    assert dr.distributeRewards(event_id, sender=keeper).return_value == 1
    assert dr.getEvent(event_id).status == COMPLETED
    assert vault.balanceOf(stablecoin, dr) == 0


def test_pending_participant_cannot_claim(dr, grid_operator, owner, meters, chain):
    event_id, _, _, _ = start_event(dr, grid_operator, chain)
    dr.joinEvent(event_id, sender=owner)
    with reverts(dr.ParticipationNotVerified, eventId=event_id, consumer=owner.address):
        dr.claimReward(event_id, sender=owner)


def test_distribute_pays_unclaimed_then_completes_and_refunds(
    dr, vault, stablecoin, grid_operator, owner, other, stranger, keeper, meters, ended, chain
):
    event_id, _start, end = ended
    operator_balance = vault.balanceOf(stablecoin, grid_operator)
    with reverts(dr.NothingToDistribute, eventId=event_id):
        dr.distributeRewards(event_id, sender=keeper)
    verify_from_meter(dr, event_id, owner, stranger)
    verify_from_meter(dr, event_id, other, stranger)
    dr.claimReward(event_id, sender=owner)
    tx = dr.distributeRewards(event_id, sender=keeper)
    assert tx.return_value == 1  # owner was paid by its claim and is skipped
    assert_logs(tx, log(dr.RewardPaid, eventId=event_id, consumer=other.address, amount=REWARD))
    assert vault.balanceOf(stablecoin, other) == REWARD
    assert dr.getParticipation(event_id, other).status == REWARDED
    assert dr.getEventBudget(event_id) == (BUDGET, 2 * REWARD, 2 * REWARD, 0, end + DAY_SECONDS, 2, 2)
    with reverts(dr.NothingToDistribute, eventId=event_id):
        dr.distributeRewards(event_id, sender=keeper)

    chain.pending_timestamp = end + DAY_SECONDS + 1
    refund = BUDGET - 2 * REWARD
    tx = dr.distributeRewards(event_id, sender=keeper)
    assert tx.return_value == 0
    assert_logs(tx, log(dr.EventCompleted, eventId=event_id, refund=refund))
    assert dr.getEvent(event_id).status == COMPLETED
    assert dr.getEventBudget(event_id) == (BUDGET, 2 * REWARD, 2 * REWARD, refund, end + DAY_SECONDS, 2, 2)
    assert vault.balanceOf(stablecoin, grid_operator) == operator_balance + refund
    assert vault.balanceOf(stablecoin, dr) == 0
    with reverts(dr.EventNotActive, eventId=event_id, status=COMPLETED):
        dr.distributeRewards(event_id, sender=keeper)
    with reverts(dr.EventNotActive, eventId=event_id, status=COMPLETED):
        dr.verifyReduction(event_id, owner, 0, 0, 0, 0, sender=keeper)


def test_distribute_before_window_end_and_unknown_event(dr, grid_operator, keeper, chain):
    event_id, _, end, _ = start_event(dr, grid_operator, chain)
    with reverts(dr.EventWindowNotEnded, eventId=event_id, endTime=end):
        dr.distributeRewards(event_id, sender=keeper)
    with reverts(dr.EventNotFound, eventId=event_id + 1):
        dr.distributeRewards(event_id + 1, sender=keeper)


def test_event_without_participants_refunds_all_after_deadline(dr, vault, stablecoin, grid_operator, keeper, chain):
    held = vault.balanceOf(stablecoin, grid_operator)
    event_id, _, end, _ = start_event(dr, grid_operator, chain)
    chain.pending_timestamp = end + DAY_SECONDS + 1
    tx = dr.distributeRewards(event_id, sender=keeper)
    assert_logs(tx, log(dr.EventCompleted, eventId=event_id, refund=BUDGET))
    assert vault.balanceOf(stablecoin, grid_operator) == held + BUDGET
    assert vault.balanceOf(stablecoin, dr) == 0


def test_distribution_is_batched(dr, vault, stablecoin, smart_meter, grid_operator, writer, stranger, keeper, accounts, chain):
    """51 verified participants: the first call pays 50 in one vault batch out of DemandResponse's
    vault balance, the second 1."""
    consumers = [Account.create().address for _ in range(51)]
    devices = [Account.create().address for _ in consumers]
    writer.register(devices, consumers, REGION)
    for consumer, device in zip(consumers, devices, strict=True):
        dr.registerConsumer(consumer, device, sender=grid_operator)
    event_id, _start, _end = run_event(dr, grid_operator, chain, writer, devices, duration=INTERVAL_SECONDS)
    for consumer in consumers:
        verify_from_meter(dr, event_id, consumer, stranger)
    assert dr.getEventBudget(event_id).verifiedParticipants == 51
    tx = dr.distributeRewards(event_id, sender=keeper)
    assert tx.return_value == 50
    assert_logs(
        tx,
        *(log(dr.RewardPaid, eventId=event_id, consumer=c, amount=REWARD) for c in consumers[:50]),
    )
    assert dr.getEventBudget(event_id).distributionCursor == 50
    assert [vault.balanceOf(stablecoin, c) for c in consumers] == 50 * [REWARD] + [0]
    assert dr.distributeRewards(event_id, sender=keeper).return_value == 1
    assert vault.balanceOf(stablecoin, consumers[50]) == REWARD
    assert all(stablecoin.balanceOf(c) == 0 for c in consumers)
    assert dr.getEventBudget(event_id).paid == 51 * REWARD
    assert vault.balanceOf(stablecoin, dr) == BUDGET - 51 * REWARD


def test_budget_exhaustion(dr, vault, stablecoin, grid_operator, writer, owner, other, stranger, keeper, meters, chain):
    """Budget 1.5 rewards (target 3 kW × rate 5,000 = 15,000; each 1,000 W reduction earns 10,000 at
    rate 10,000): first full, second the 5,000 left, third 0 with its reduction recorded (the design
    choice: a zero reward, not a revert). Never more than the budget leaves the contract."""
    third = Account.create()
    third_meter = Account.create().address
    writer.register([third_meter], [third.address], REGION)
    dr.registerConsumer(third.address, third_meter, sender=grid_operator)
    all_meters = [*meters.values(), third_meter]
    # 2 kW reductions at rate 5,000 per kW: 10,000 each; budget 3 × 5,000 = 15,000.
    event_id, _, end = run_event(dr, grid_operator, chain, writer, all_meters, target=3, rate=5_000, window_wh=0)
    assert dr.previewReduction(event_id, owner)[:2] == (2_000, 0)
    verify_from_meter(dr, event_id, owner, stranger)
    tx = verify_from_meter(dr, event_id, other, stranger)
    assert_logs(
        tx,
        log(
            dr.ReductionVerified,
            eventId=event_id,
            consumer=other.address,
            participationId=2,
            baselineUsageW=2_000,
            actualUsageW=0,
            reductionW=2_000,
            rewardAmount=5_000,
        ),
    )
    verify_from_meter(dr, event_id, third.address, stranger)
    assert [dr.getParticipation(event_id, c).rewardAmount for c in (owner, other, third.address)] == [10_000, 5_000, 0]
    assert dr.getEvent(event_id).totalParticipants == 3
    assert dr.getEvent(event_id).totalReductionAchieved == 6_000
    assert dr.getEventBudget(event_id).reserved == 15_000
    chain.pending_timestamp = end + DAY_SECONDS + 1
    balance = vault.balanceOf(stablecoin, grid_operator)
    tx = dr.distributeRewards(event_id, sender=keeper)
    assert tx.return_value == 3
    # The 0 reward is paid (Rewarded, logged) without a vault entry.
    assert_logs(
        tx,
        log(dr.RewardPaid, eventId=event_id, consumer=owner.address, amount=10_000),
        log(dr.RewardPaid, eventId=event_id, consumer=other.address, amount=5_000),
        log(dr.RewardPaid, eventId=event_id, consumer=third.address, amount=0),
        log(dr.EventCompleted, eventId=event_id, refund=0),
    )
    assert dr.getParticipation(event_id, third.address).status == REWARDED
    assert dr.getEventBudget(event_id) == (15_000, 15_000, 15_000, 0, end + DAY_SECONDS, 3, 3)
    assert [vault.balanceOf(stablecoin, c) for c in (owner, other, third.address)] == [10_000, 5_000, 0]
    assert vault.balanceOf(stablecoin, grid_operator) == balance  # nothing left to refund
    assert vault.balanceOf(stablecoin, dr) == 0


@pytest.mark.parametrize("rate, window_wh, reward", [(1, 250, 1), (1, 0, 2), (1, 251, 0), (3, 0, 6)])
def test_reward_arithmetic_at_one_unit(dr, grid_operator, writer, owner, stranger, meters, chain, rate, window_wh, reward):
    """reward = rewardPerKW × reductionW / 1000, rounded down (999 W at 1 per kW earns 0)."""
    event_id, _, _ = run_event(dr, grid_operator, chain, writer, [meters[owner.address]], rate=rate, window_wh=window_wh)
    verify_from_meter(dr, event_id, owner, stranger)
    reduction = 2_000 - window_wh * 4
    assert dr.getParticipation(event_id, owner).reductionAchievedKW == reduction
    assert dr.getParticipation(event_id, owner).rewardAmount == rate * reduction // 1_000 == reward


def dr_paying_in(project, admin, smart_meter, grid_management, energy_token, token, budget=BUDGET):
    """A DemandResponse whose vault pays in `token` (a test token) and has it registered as a market:
    admin is its grid operator, holds `budget` of the token and has approved it. Returns (dr, vault)."""
    vault = project.EnergyVault.deploy(admin, energy_token, token, NO_FREEZE_QUERY, sender=admin)
    dr = project.DemandResponse.deploy(admin, smart_meter, vault, grid_management, sender=admin)
    vault.registerMarket(dr, sender=admin)
    dr.registerGridOperator(admin, sender=admin)
    token.mint(admin, budget, sender=admin)
    token.approve(dr, MAX_UINT, sender=admin)
    return dr, vault


def test_reward_arithmetic_at_the_largest_values(
    project, admin, smart_meter, grid_management, energy_token, writer, owner, stranger, chain
):
    """target uint64 max × rate uint128 max: the budget cannot overflow, and is refused at the start as
    more than a vault balance holds (2^112 - 1). The largest budget a vault holds pays its reward."""
    token = project.FailingToken.deploy(sender=admin)
    target, rate = 2**64 - 1, 2**128 - 1
    dr, vault = dr_paying_in(project, admin, smart_meter, grid_management, energy_token, token, target * rate)
    max_reserve = vault.MAX_RESERVE()
    with reverts(vault.ReserveTooLarge, token=token.address, reserve=target * rate, maxReserve=max_reserve):
        dr.startEvent(REGION, target, rate, DURATION, sender=admin)
    assert dr.eventCount() == 0 and token.balanceOf(admin) == target * rate
    meter = Account.create().address
    writer.register([meter], [owner.address], REGION)
    dr.registerConsumer(owner, meter, sender=owner)
    rate = max_reserve // target
    event_id, _, _ = run_event(dr, admin, chain, writer, [meter], target=target, rate=rate)
    assert dr.getEventBudget(event_id).budget == target * rate == vault.balanceOf(token, dr)
    verify_from_meter(dr, event_id, owner, stranger)
    assert dr.getParticipation(event_id, owner).rewardAmount == rate  # 1,000 W = 1 kW
    assert dr.claimReward(event_id, sender=owner).return_value == rate
    assert vault.balanceOf(token, owner) == rate


@pytest.mark.parametrize("mode", [3, 4])  # transferFrom returns false / reverts with no error
def test_a_token_refusing_a_pull_silently_stops_the_start(project, admin, smart_meter, grid_management, energy_token, chain, mode):
    """The budget's pull from the operator's wallet is the event's only token transfer: a token that
    refuses it without an error of its own makes the start revert RewardDistributionFailed (the
    specification's failed token transfer), with nothing booked."""
    token = project.FailingToken.deploy(sender=admin)
    dr, vault = dr_paying_in(project, admin, smart_meter, grid_management, energy_token, token)
    token.setMode(mode, sender=admin)
    with reverts(dr.RewardDistributionFailed, token=token.address, payer=admin.address, amount=BUDGET):
        start_event(dr, admin, chain)
    assert dr.eventCount() == 0 and vault.balanceOf(token, dr) == 0


@pytest.mark.parametrize("mode", [1, 2])  # transfers return false / revert
def test_payouts_move_no_token(
    project, admin, smart_meter, grid_management, energy_token, writer, owner, other, stranger, keeper, chain, mode
):
    """Claims, batches and refunds move vault balances only: a token refusing every transfer once the
    budget is in cannot stop them (there is no payout failure left to report)."""
    token = project.FailingToken.deploy(sender=admin)
    dr, vault = dr_paying_in(project, admin, smart_meter, grid_management, energy_token, token)
    owned = {owner.address: Account.create().address, other.address: Account.create().address}
    writer.register(owned.values(), owned.keys(), REGION)
    for consumer, meter in owned.items():
        dr.registerConsumer(consumer, meter, sender=admin)
    event_id, _, end = run_event(dr, admin, chain, writer, owned.values())
    verify_from_meter(dr, event_id, owner, stranger)
    verify_from_meter(dr, event_id, other, stranger)
    token.setMode(mode, sender=admin)
    assert dr.claimReward(event_id, sender=owner).return_value == REWARD
    chain.pending_timestamp = end + DAY_SECONDS + 1
    assert dr.distributeRewards(event_id, sender=keeper).return_value == 1  # other; completes, refunds
    assert dr.getEvent(event_id).status == COMPLETED
    refund = BUDGET - 2 * REWARD
    assert [vault.balanceOf(token, a) for a in (owner, other, admin, dr)] == [REWARD, REWARD, refund, 0]
    assert token.balanceOf(vault) == BUDGET and token.balanceOf(dr) == 0


def test_frozen_accounts_and_a_frozen_vault_cannot_hold_up_payouts(
    project, admin, smart_meter, grid_management, energy_token, writer, owner, other, stranger, keeper, chain
):
    """A recipient the token refuses (a USDC-style frozen account), and even the vault frozen, cannot
    hold up a batch or a claim: payouts move vault balances, and the operator's refund lands in its
    vault balance (budget - reserved)."""
    token = project.BlacklistToken.deploy(sender=admin)
    dr, vault = dr_paying_in(project, admin, smart_meter, grid_management, energy_token, token, 2 * BUDGET)
    owned = {owner.address: Account.create().address, other.address: Account.create().address}
    writer.register(owned.values(), owned.keys(), REGION)
    for consumer, meter in owned.items():
        dr.registerConsumer(consumer, meter, sender=admin)
    event_id, _, end = run_event(dr, admin, chain, writer, owned.values(), duration=INTERVAL_SECONDS)
    verify_from_meter(dr, event_id, owner, stranger)
    verify_from_meter(dr, event_id, other, stranger)
    token.freeze(owner, sender=admin)
    token.freeze(vault, sender=admin)

    deadline = end + DAY_SECONDS
    chain.pending_timestamp = deadline + 1
    refund = BUDGET - 2 * REWARD
    tx = dr.distributeRewards(event_id, sender=keeper)
    assert tx.return_value == 2
    assert_logs(
        tx,
        log(dr.RewardPaid, eventId=event_id, consumer=owner.address, amount=REWARD),
        log(dr.RewardPaid, eventId=event_id, consumer=other.address, amount=REWARD),
        log(dr.EventCompleted, eventId=event_id, refund=refund),
    )
    assert dr.getEvent(event_id).status == COMPLETED
    assert dr.getEventBudget(event_id) == (BUDGET, 2 * REWARD, 2 * REWARD, refund, deadline, 2, 2)
    assert [vault.balanceOf(token, a) for a in (owner, other, admin, dr)] == [REWARD, REWARD, refund, 0]
    assert (token.balanceOf(admin), token.balanceOf(vault)) == (BUDGET, BUDGET)

    # A claim too, with the vault still frozen.
    token.unfreeze(vault, sender=admin)
    event_id, _, _ = run_event(dr, admin, chain, writer, owned.values(), duration=INTERVAL_SECONDS)
    verify_from_meter(dr, event_id, owner, stranger)
    token.freeze(vault, sender=admin)
    tx = dr.claimReward(event_id, sender=owner)
    assert_logs(tx, log(dr.RewardPaid, eventId=event_id, consumer=owner.address, amount=REWARD))
    assert vault.balanceOf(token, owner) == 2 * REWARD
    with reverts(dr.RewardAlreadyClaimed, eventId=event_id, consumer=owner.address):
        dr.claimReward(event_id, sender=owner)


def test_token_reentry_is_refused(project, admin, smart_meter, grid_management, energy_token, chain):
    """The budget's pull is the one token call: a token calling back into DemandResponse from it is refused."""
    token = project.ReentrantToken.deploy(sender=admin)
    dr, vault = dr_paying_in(project, admin, smart_meter, grid_management, energy_token, token)
    token.arm(dr, dr.cancelEvent.encode_input(1), sender=admin)
    with reverts(dr.ReentrancyGuardReentrantCall):
        start_event(dr, admin, chain)
    assert dr.eventCount() == 0 and token.balanceOf(vault) == 0


# ----------------------------------------------------------------------------- admin and views


def test_verification_period(dr, admin, grid_operator, stranger, chain):
    for bad in (3_599, 7 * DAY_SECONDS + 1):
        with reverts(dr.VerificationPeriodOutOfRange, secondsRequested=bad, minSeconds=3_600, maxSeconds=7 * DAY_SECONDS):
            dr.setVerificationPeriod(bad, sender=admin)
    with reverts(dr.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        dr.setVerificationPeriod(3_600, sender=stranger)
    first, _, first_end, _ = start_event(dr, grid_operator, chain)
    tx = dr.setVerificationPeriod(3_600, sender=admin)
    assert_logs(tx, log(dr.VerificationPeriodUpdated, previousSeconds=DAY_SECONDS, newSeconds=3_600))
    assert dr.verificationPeriod() == 3_600
    second, _, second_end, _ = start_event(dr, grid_operator, chain)
    assert dr.getEventBudget(first).verificationDeadline == first_end + DAY_SECONDS  # fixed at the start
    assert dr.getEventBudget(second).verificationDeadline == second_end + 3_600


def test_consumer_participations_are_paged(dr, grid_operator, owner, stranger, meters, chain):
    ids = []
    for _ in range(3):
        event_id, _, _, _ = start_event(dr, grid_operator, chain)
        dr.joinEvent(event_id, sender=owner)
        ids.append(event_id)
    records, total = dr.getConsumerParticipations(owner, 0, 100)
    assert total == 3
    # Records come back as tuples in ParticipationRecord's field order: participationId, eventId, ..., status.
    assert [(r[1], r[0], r[10]) for r in records] == [(i, n + 1, PENDING) for n, i in enumerate(ids)]
    records, total = dr.getConsumerParticipations(owner, 1, 1)
    assert [r[1] for r in records] == [ids[1]] and total == 3
    records, total = dr.getConsumerParticipations(owner, 2, 5)
    assert [r[1] for r in records] == [ids[2]]
    assert tuple(dr.getConsumerParticipations(owner, 3, 5)) == ((), 3)
    assert tuple(dr.getConsumerParticipations(owner, 10, 5)) == ((), 3)
    assert tuple(dr.getConsumerParticipations(stranger, 0, 1)) == ((), 0)
    for limit in (0, 101):
        with reverts(dr.InvalidPageLimit, limit=limit, maxLimit=100):
            dr.getConsumerParticipations(owner, 0, limit)
    with reverts(dr.EventNotFound, eventId=99):
        dr.getParticipation(99, owner)
