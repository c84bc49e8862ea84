"""DemandPrograms: demand-response programs (create, join, report reduction) run by
GridManagement operators in their region, every reported reduction checked against the
participant's meter, paid from a budget like DemandResponse's events."""

from __future__ import annotations

import pytest
from eth_account import Account

from energy_grid.domain.demand_response import MeterWriter
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS

from support.helpers import (
    NO_FREEZE_QUERY,
    ZERO_ADDRESS,
    assert_logs,
    deploy_reverts,
    log,
    reverts,
    unexercised_abi_items,
    vault_funding_logs,
)

REGION, OTHER_REGION = 1, 2  # conftest's grid_operator and other_region_operator regions
NAME = "Evening peak shaving"
PEAK_SHAVING, LOAD_SHIFTING, EMERGENCY_RESPONSE = 0, 1, 2
TARGET_MW = 10
RATE_PER_MW = 1_000_000  # 1 MOCKUSD per MW
BUDGET = TARGET_MW * RATE_PER_MW
DURATION = INTERVAL_SECONDS
BASELINE_WH = 500_000  # per interval: 2 MW
HISTORY_SECONDS = 6 * DAY_SECONDS
MAX_UINT = 2**256 - 1
PENDING, VERIFIED, REWARDED = 0, 1, 2
ACTIVE, COMPLETED, CANCELLED = 0, 1, 2


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, owner, other, stranger, grid_operator, other_region_operator, keeper, accounts):
    """Resolves the session-scoped account fixtures before ape's per-test isolation (no rebasing)."""


@pytest.fixture(scope="module")
def funded_operators(grid_operations, demand_response, demand_programs, stablecoin, admin, grid_operator, other_region_operator):
    """Both GridManagement operators registered in DemandResponse, funded, approving DemandPrograms."""
    for operator in (grid_operator, other_region_operator):
        demand_response.registerGridOperator(operator, sender=admin)
        stablecoin.addConsumerBalance(operator, 1_000_000, sender=admin)
        stablecoin.approve(demand_programs, MAX_UINT, sender=operator)
    return demand_programs


@pytest.fixture
def dp(funded_operators):
    return funded_operators


@pytest.fixture
def writer(smart_meter, admin):
    return MeterWriter(smart_meter, admin)


@pytest.fixture
def meters(dp, demand_response, writer, owner, other, stranger, grid_operator):
    """owner and other with meters in REGION; stranger with one in OTHER_REGION (all consumers)."""
    owned = {owner.address: Account.create().address, other.address: Account.create().address}
    writer.register(owned.values(), owned.keys(), REGION)
    far = Account.create().address
    writer.register([far], [stranger.address], OTHER_REGION)
    for consumer, meter in [*owned.items(), (stranger.address, far)]:
        demand_response.registerConsumer(consumer, meter, sender=grid_operator)
    return owned | {stranger.address: far}


def create(dp, operator, chain, target=TARGET_MW, rate=RATE_PER_MW, duration=DURATION, region=REGION, offset=100):
    chain.pending_timestamp = (chain.pending_timestamp + HISTORY_SECONDS) // INTERVAL_SECONDS * INTERVAL_SECONDS + offset
    tx = dp.createDemandProgram(NAME, PEAK_SHAVING, region, target, rate, duration, sender=operator)
    program = dp.getProgram(tx.return_value)
    return tx.return_value, program.startTime, program.endTime, tx


def finish(chain, writer, meters, start, end, window_wh):
    """Writes 2 MW baselines and `window_wh` per window interval; the window is over."""
    chain.pending_timestamp = end
    writer.write_event_days(list(meters), start, end, BASELINE_WH, window_wh)


# ----------------------------------------------------------------------------- deployment


def test_wiring_and_size(demand_programs, demand_response, chain):
    dp = demand_programs
    assert dp.demandResponse() == demand_response.address
    assert dp.MAX_NAME_BYTES() == 64
    assert dp.MAX_DURATION_SECONDS() == DAY_SECONDS
    assert dp.MAX_DISTRIBUTION_BATCH() == 50
    assert dp.W_PER_MW() == 1_000_000
    assert dp.programCount() == 0
    assert len(chain.provider.get_code(dp.address)) < 20_000


def test_every_function_error_and_event_is_exercised(demand_programs):
    modules = ["test_demand_programs.py", "test_one_reward_per_reduction.py"]
    assert unexercised_abi_items("DemandPrograms", modules, ("function", "event", "error"), set()) == []


def test_constructor_rejects_zero_address(project, demand_programs, admin):
    with deploy_reverts(demand_programs.NotInitialized, "demandResponse"):
        project.DemandPrograms.deploy(ZERO_ADDRESS, sender=admin)


# ----------------------------------------------------------------------------- creation


def test_create_program(dp, vault, stablecoin, grid_operator, chain):
    balance = stablecoin.balanceOf(grid_operator)
    program_id, start, end, tx = create(dp, grid_operator, chain, duration=3_600)
    assert program_id == dp.programCount() == 1
    assert end - start == 3_600 and start % INTERVAL_SECONDS == 0
    assert_logs(
        tx,
        log(dp.DemandProgramCreated, programId=1, gridOperator=grid_operator.address, regionId=REGION,
            programType=PEAK_SHAVING, name=NAME, targetReductionMW=TARGET_MW, incentiveRatePerMW=RATE_PER_MW,
            startTime=start, endTime=end, budget=BUDGET),
        *vault_funding_logs(vault, stablecoin, grid_operator, dp, BUDGET),
    )
    assert dp.getProgram(1) == (1, NAME, PEAK_SHAVING, REGION, grid_operator.address, TARGET_MW, RATE_PER_MW,
                                start, end, ACTIVE, 0, 0, 0)
    assert dp.getProgramBudget(1) == (BUDGET, 0, 0, 0, end + DAY_SECONDS, 0, 0)
    assert stablecoin.balanceOf(grid_operator) == balance - BUDGET
    # Held in DemandPrograms' own vault balance.
    assert (vault.balanceOf(stablecoin, dp), stablecoin.balanceOf(dp)) == (BUDGET, 0)


@pytest.mark.parametrize("program_type", [LOAD_SHIFTING, EMERGENCY_RESPONSE])
def test_every_program_type(dp, grid_operator, program_type):
    tx = dp.createDemandProgram("x" * 64, program_type, REGION, 1, 1, 1, sender=grid_operator)
    assert dp.getProgram(tx.return_value).programType == program_type


def test_create_errors_move_nothing(
    dp, stablecoin, demand_response, grid_operator, other_region_operator, stranger, admin, grid_management
):
    balance = stablecoin.balanceOf(grid_operator)
    with reverts(dp.GridOperatorNotRegistered, account=stranger.address):
        dp.createDemandProgram(NAME, 0, REGION, TARGET_MW, RATE_PER_MW, DURATION, sender=stranger)
    # Registered in DemandResponse but not GridManagement's operator of the region (or suspended).
    with reverts(dp.OperatorNotAuthorizedForRegion, operator=other_region_operator.address, regionId=REGION):
        dp.createDemandProgram(NAME, 0, REGION, TARGET_MW, RATE_PER_MW, DURATION, sender=other_region_operator)
    demand_response.registerGridOperator(admin, sender=admin)
    with reverts(dp.OperatorNotAuthorizedForRegion, operator=admin.address, regionId=REGION):
        dp.createDemandProgram(NAME, 0, REGION, TARGET_MW, RATE_PER_MW, DURATION, sender=admin)
    for name in ("", "x" * 65):
        with reverts(dp.InvalidProgramName, lengthBytes=len(name)):
            dp.createDemandProgram(name, 0, REGION, TARGET_MW, RATE_PER_MW, DURATION, sender=grid_operator)
    with reverts(dp.InvalidProgramType, programType=3):
        dp.createDemandProgram(NAME, 3, REGION, TARGET_MW, RATE_PER_MW, DURATION, sender=grid_operator)
    for target, rate in ((0, RATE_PER_MW), (TARGET_MW, 0)):
        with reverts(dp.ZeroProgramParameter):
            dp.createDemandProgram(NAME, 0, REGION, target, rate, DURATION, sender=grid_operator)
    for duration in (0, DAY_SECONDS + 1):
        with reverts(dp.DurationOutOfRange, durationSeconds=duration, maxSeconds=DAY_SECONDS):
            dp.createDemandProgram(NAME, 0, REGION, TARGET_MW, RATE_PER_MW, duration, sender=grid_operator)
    assert stablecoin.balanceOf(grid_operator) == balance
    assert dp.programCount() == 0
    with reverts(dp.ProgramNotFound, programId=1):
        dp.getProgram(1)
    with reverts(dp.ProgramNotFound, programId=1):
        dp.getProgramBudget(1)
    with reverts(dp.ProgramNotFound, programId=1):
        dp.getParticipant(1, stranger)


# ----------------------------------------------------------------------------- joining


def test_join_program(dp, grid_operator, owner, other, stranger, keeper, meters, chain):
    program_id, _, end, _ = create(dp, grid_operator, chain)
    tx = dp.joinProgram(program_id, 3, sender=owner)
    assert_logs(tx, log(dp.ProgramJoined, programId=program_id, participant=owner.address, committedReductionMW=3))
    joined_at = chain.provider.get_block(tx.block_number).timestamp
    assert dp.getParticipant(program_id, owner) == (meters[owner.address], 3, 0, 0, 0, joined_at, 0, PENDING)
    assert dp.getProgram(program_id).totalParticipants == 1 and dp.getProgram(program_id).totalCommittedMW == 3
    with reverts(dp.AlreadyParticipating, programId=program_id, participant=owner.address):
        dp.joinProgram(program_id, 3, sender=owner)
    with reverts(dp.ZeroProgramParameter):
        dp.joinProgram(program_id, 0, sender=other)
    with reverts(dp.ConsumerNotRegistered, consumer=keeper.address):
        dp.joinProgram(program_id, 1, sender=keeper)
    with reverts(dp.MeterNotInRegion, meter=meters[stranger.address], meterRegionId=OTHER_REGION, programRegionId=REGION):
        dp.joinProgram(program_id, 1, sender=stranger)
    with reverts(dp.ProgramNotFound, programId=program_id + 1):
        dp.joinProgram(program_id + 1, 1, sender=other)
    chain.pending_timestamp = end
    with reverts(dp.ProgramExpired, programId=program_id, deadline=end):
        dp.joinProgram(program_id, 1, sender=other)


def test_cancel_program(dp, vault, stablecoin, grid_operator, owner, meters, chain):
    held = vault.balanceOf(stablecoin, grid_operator)
    program_id, start, _, _ = create(dp, grid_operator, chain)
    with reverts(dp.NotProgramOperator, programId=program_id, account=owner.address):
        dp.cancelProgram(program_id, sender=owner)
    tx = dp.cancelProgram(program_id, sender=grid_operator)
    assert_logs(tx, log(dp.ProgramCancelled, programId=program_id, refund=BUDGET))  # a vault move, no token
    assert dp.getProgram(program_id).status == CANCELLED
    assert dp.getProgramBudget(program_id).refunded == BUDGET
    assert vault.balanceOf(stablecoin, grid_operator) == held + BUDGET
    assert vault.balanceOf(stablecoin, dp) == 0
    with reverts(dp.ProgramNotActive, programId=program_id, status=CANCELLED):
        dp.joinProgram(program_id, 1, sender=owner)
    program_id, start, _, _ = create(dp, grid_operator, chain)
    chain.pending_timestamp = start
    with reverts(dp.ProgramAlreadyStarted, programId=program_id, startTime=start):
        dp.cancelProgram(program_id, sender=grid_operator)


# ----------------------------------------------------------------------------- reporting and payouts


def test_report_checked_against_meter_and_paid(
    dp, vault, stablecoin, grid_operator, owner, other, stranger, keeper, writer, meters, chain
):
    program_id, start, end, _ = create(dp, grid_operator, chain)
    dp.joinProgram(program_id, 1, sender=owner)  # commits 1 MW, achieves 2
    dp.joinProgram(program_id, 5, sender=other)  # commits 5 MW, achieves 2
    with reverts(dp.ProgramWindowNotEnded, programId=program_id, endTime=end):
        dp.reportReduction(program_id, owner, 1, sender=grid_operator)
    finish(chain, writer, [meters[owner.address], meters[other.address]], start, end, window_wh=0)

    with reverts(dp.NotProgramOperator, programId=program_id, account=stranger.address):
        dp.reportReduction(program_id, owner, 1, sender=stranger)
    with reverts(dp.NotProgramParticipant, programId=program_id, participant=stranger.address):
        dp.reportReduction(program_id, stranger, 1, sender=grid_operator)
    with reverts(dp.ZeroProgramParameter):
        dp.reportReduction(program_id, owner, 0, sender=grid_operator)
    # The meter shows 2 MW (2,000,000 W below the baseline): 3 MW is more than it shows.
    with reverts(dp.InvalidMeterReading, meter=meters[owner.address], claimedReductionW=3_000_000, meteredReductionW=2_000_000):
        dp.reportReduction(program_id, owner, 3, sender=grid_operator)

    tx = dp.reportReduction(program_id, owner, 2, sender=grid_operator)
    assert_logs(
        tx,
        log(
            dp.ReductionReported,
            programId=program_id,
            participant=owner.address,
            actualReductionMW=2,
            meteredReductionW=2_000_000,
            rewardAmount=RATE_PER_MW,
        ),
    )  # min(2, committed 1) MW
    reported_at = chain.provider.get_block(tx.block_number).timestamp
    part = dp.getParticipant(program_id, owner)
    assert (part.actualReductionMW, part.meteredReductionW, part.rewardAmount, part.reportedAt, part.status) == (
        2,
        2_000_000,
        RATE_PER_MW,
        reported_at,
        VERIFIED,
    )
    with reverts(dp.AlreadyReported, programId=program_id, participant=owner.address):
        dp.reportReduction(program_id, owner, 2, sender=grid_operator)
    dp.reportReduction(program_id, other, 2, sender=grid_operator)
    assert dp.getParticipant(program_id, other).rewardAmount == 2 * RATE_PER_MW
    assert dp.getProgram(program_id).totalReportedMW == 3
    assert dp.getProgramBudget(program_id).reserved == 3 * RATE_PER_MW

    with reverts(dp.ParticipationNotVerified, programId=program_id, participant=stranger.address):
        dp.claimReward(program_id, sender=stranger)
    with reverts(dp.ProgramNotFound, programId=program_id + 1):
        dp.claimReward(program_id + 1, sender=owner)
    wallets = [stablecoin.balanceOf(a) for a in (owner, other)]
    credited = [vault.balanceOf(stablecoin, a) for a in (owner, other)]
    tx = dp.claimReward(program_id, sender=owner)
    assert tx.return_value == RATE_PER_MW
    assert_logs(tx, log(dp.RewardPaid, programId=program_id, participant=owner.address, amount=RATE_PER_MW))
    assert vault.balanceOf(stablecoin, owner) == credited[0] + RATE_PER_MW
    assert vault.balanceOf(stablecoin, dp) == BUDGET - RATE_PER_MW
    with reverts(dp.RewardAlreadyClaimed, programId=program_id, participant=owner.address):
        dp.claimReward(program_id, sender=owner)

    tx = dp.distributeRewards(program_id, sender=keeper)
    assert tx.return_value == 1  # other; owner claimed
    assert_logs(tx, log(dp.RewardPaid, programId=program_id, participant=other.address, amount=2 * RATE_PER_MW))
    assert vault.balanceOf(stablecoin, other) == credited[1] + 2 * RATE_PER_MW
    assert [stablecoin.balanceOf(a) for a in (owner, other)] == wallets  # paid in the vault, not to wallets
    assert dp.getParticipant(program_id, other).status == REWARDED
    with reverts(dp.NothingToDistribute, programId=program_id):
        dp.distributeRewards(program_id, sender=keeper)
    deadline = end + DAY_SECONDS
    chain.pending_timestamp = deadline + 1
    with reverts(dp.ProgramExpired, programId=program_id, deadline=deadline):
        dp.reportReduction(program_id, owner, 1, sender=grid_operator)
    balance = vault.balanceOf(stablecoin, grid_operator)
    refund = BUDGET - 3 * RATE_PER_MW
    tx = dp.distributeRewards(program_id, sender=keeper)
    assert_logs(tx, log(dp.ProgramCompleted, programId=program_id, refund=refund))
    assert vault.balanceOf(stablecoin, grid_operator) == balance + refund
    assert dp.getProgramBudget(program_id) == (BUDGET, 3 * RATE_PER_MW, 3 * RATE_PER_MW, refund, deadline, 2, 2)
    assert dp.getProgram(program_id).status == COMPLETED
    assert vault.balanceOf(stablecoin, dp) == 0
    with reverts(dp.ProgramNotActive, programId=program_id, status=COMPLETED):
        dp.distributeRewards(program_id, sender=keeper)


def test_distribute_before_window_end(dp, grid_operator, keeper, chain):
    program_id, _, end, _ = create(dp, grid_operator, chain)
    with reverts(dp.ProgramWindowNotEnded, programId=program_id, endTime=end):
        dp.distributeRewards(program_id, sender=keeper)


def test_budget_caps_rewards(dp, grid_operator, owner, other, writer, meters, chain):
    """Budget for 3 MW: the first 2 MW report is paid in full, the second gets the 1 MW left."""
    program_id, start, end, _ = create(dp, grid_operator, chain, target=3)
    dp.joinProgram(program_id, 2, sender=owner)
    dp.joinProgram(program_id, 2, sender=other)
    finish(chain, writer, [meters[owner.address], meters[other.address]], start, end, window_wh=0)
    dp.reportReduction(program_id, owner, 2, sender=grid_operator)
    dp.reportReduction(program_id, other, 2, sender=grid_operator)
    assert dp.getParticipant(program_id, owner).rewardAmount == 2 * RATE_PER_MW
    assert dp.getParticipant(program_id, other).rewardAmount == RATE_PER_MW
    assert dp.getProgramBudget(program_id).reserved == 3 * RATE_PER_MW == dp.getProgramBudget(program_id).budget


def test_report_needs_a_reading_in_the_last_interval(dp, grid_operator, owner, writer, meters, chain):
    program_id, start, end, _ = create(dp, grid_operator, chain)
    dp.joinProgram(program_id, 1, sender=owner)
    chain.pending_timestamp = end
    writer.write([meters[owner.address]], [start // INTERVAL_SECONDS - 96 * k for k in range(5, 0, -1)], BASELINE_WH)
    with reverts(dp.MeterDataIncomplete, meter=meters[owner.address], interval=end // INTERVAL_SECONDS - 1):
        dp.reportReduction(program_id, owner, 1, sender=grid_operator)


@pytest.fixture
def token_programs(project, admin, smart_meter, grid_management, grid_operations, energy_token, grid_operator):
    """A DemandResponse + DemandPrograms pair whose vault pays in a test token of kind `name` (both
    registered markets there), grid_operator funded. Returns (token, dr, dp, vault)."""

    def build(name):
        kinds = {"failing": project.FailingToken, "reentrant": project.ReentrantToken, "blacklist": project.BlacklistToken}
        token = kinds[name].deploy(sender=admin)
        vault = project.EnergyVault.deploy(admin, energy_token, token, NO_FREEZE_QUERY, sender=admin)
        dr = project.DemandResponse.deploy(admin, smart_meter, vault, grid_management, sender=admin)
        dp = project.DemandPrograms.deploy(dr, sender=admin)
        dr.grantRole(dr.REDUCTION_RECORDER_ROLE(), dp, sender=admin)
        for market in (dr, dp):
            vault.registerMarket(market, sender=admin)
        dr.registerGridOperator(grid_operator, sender=admin)
        token.mint(grid_operator, 2 * BUDGET, sender=admin)
        token.approve(dp, MAX_UINT, sender=grid_operator)
        return token, dr, dp, vault

    return build


@pytest.mark.parametrize("mode", [1, 2])  # transfers return false / revert
def test_payouts_move_no_token(token_programs, admin, grid_operator, owner, keeper, writer, chain, mode):
    """Claims, batches and refunds move vault balances only: a token refusing every transfer once the
    budget is in cannot stop them (there is no payout failure left to report)."""
    token, dr, dp, vault = token_programs("failing")
    meter = Account.create().address
    writer.register([meter], [owner.address], REGION)
    dr.registerConsumer(owner, meter, sender=owner)
    program_id, start, end, _ = create(dp, grid_operator, chain)
    dp.joinProgram(program_id, 1, sender=owner)
    finish(chain, writer, [meter], start, end, window_wh=0)
    dp.reportReduction(program_id, owner, 1, sender=grid_operator)
    token.setMode(mode, sender=admin)
    assert dp.claimReward(program_id, sender=owner).return_value == RATE_PER_MW
    chain.pending_timestamp = end + DAY_SECONDS + 1
    assert dp.distributeRewards(program_id, sender=keeper).return_value == 0  # completes, refunds
    assert dp.getProgram(program_id).status == COMPLETED
    refund = BUDGET - RATE_PER_MW
    assert [vault.balanceOf(token, a) for a in (owner, grid_operator, dp)] == [RATE_PER_MW, refund, 0]
    assert token.balanceOf(vault) == BUDGET and token.balanceOf(dp) == 0


def test_frozen_accounts_and_a_frozen_vault_cannot_hold_up_payouts(
    token_programs, admin, grid_operator, owner, other, keeper, writer, chain
):
    """A participant the token refuses (a USDC-style frozen account), and even the vault frozen, cannot
    hold up a batch or a claim: payouts move vault balances, and the operator's refund (budget -
    reserved) lands in its vault balance."""
    token, dr, dp, vault = token_programs("blacklist")
    owned = {owner.address: Account.create().address, other.address: Account.create().address}
    writer.register(owned.values(), owned.keys(), REGION)
    for consumer, meter in owned.items():
        dr.registerConsumer(consumer, meter, sender=grid_operator)

    def reported_program():
        program_id, start, end, _ = create(dp, grid_operator, chain)
        dp.joinProgram(program_id, 1, sender=owner)
        dp.joinProgram(program_id, 2, sender=other)
        finish(chain, writer, owned.values(), start, end, window_wh=0)
        dp.reportReduction(program_id, owner, 1, sender=grid_operator)
        dp.reportReduction(program_id, other, 2, sender=grid_operator)
        return program_id, end + DAY_SECONDS

    program_id, deadline = reported_program()
    token.freeze(owner, sender=admin)
    token.freeze(vault, sender=admin)
    chain.pending_timestamp = deadline + 1
    refund = BUDGET - 3 * RATE_PER_MW
    tx = dp.distributeRewards(program_id, sender=keeper)
    assert tx.return_value == 2
    assert_logs(
        tx,
        log(dp.RewardPaid, programId=program_id, participant=owner.address, amount=RATE_PER_MW),
        log(dp.RewardPaid, programId=program_id, participant=other.address, amount=2 * RATE_PER_MW),
        log(dp.ProgramCompleted, programId=program_id, refund=refund),
    )
    assert dp.getProgram(program_id).status == COMPLETED
    assert dp.getProgramBudget(program_id) == (BUDGET, 3 * RATE_PER_MW, 3 * RATE_PER_MW, refund, deadline, 2, 2)
    assert [vault.balanceOf(token, a) for a in (owner, other, grid_operator, dp)] == [RATE_PER_MW, 2 * RATE_PER_MW, refund, 0]
    assert (token.balanceOf(dp), token.balanceOf(vault)) == (0, BUDGET)

    # A claim too, with the vault frozen after the budget came in.
    token.unfreeze(vault, sender=admin)
    program_id, deadline = reported_program()
    token.freeze(vault, sender=admin)
    tx = dp.claimReward(program_id, sender=owner)
    assert_logs(tx, log(dp.RewardPaid, programId=program_id, participant=owner.address, amount=RATE_PER_MW))
    assert vault.balanceOf(token, owner) == 2 * RATE_PER_MW
    with reverts(dp.RewardAlreadyClaimed, programId=program_id, participant=owner.address):
        dp.claimReward(program_id, sender=owner)


@pytest.mark.parametrize("mode", [3, 4])  # transferFrom returns false / reverts with no error
def test_a_token_refusing_a_pull_silently_stops_the_creation(token_programs, admin, grid_operator, chain, mode):
    """The budget's pull from the operator's wallet is the program's only token transfer: a token
    that refuses it without an error of its own makes the creation revert RewardDistributionFailed."""
    token, _, dp, vault = token_programs("failing")
    token.setMode(mode, sender=admin)
    with reverts(dp.RewardDistributionFailed, token=token.address, payer=grid_operator.address, amount=BUDGET):
        create(dp, grid_operator, chain)
    assert dp.programCount() == 0 and vault.balanceOf(token, dp) == 0


def test_token_reentry_is_refused(token_programs, admin, grid_operator, chain):
    """The budget's pull is the one token call: a token calling back into DemandPrograms from it is refused."""
    token, _, dp, vault = token_programs("reentrant")
    token.arm(dp, dp.cancelProgram.encode_input(1), sender=admin)
    with reverts(dp.ReentrancyGuardReentrantCall):
        create(dp, grid_operator, chain)
    assert dp.programCount() == 0 and token.balanceOf(vault) == 0
