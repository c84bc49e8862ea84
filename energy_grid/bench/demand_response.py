"""Gas of DemandResponse's operations against their budgets, and claimReward's independence of the
number of participants (10 vs 1,000 verified in one event).

Storage costs behind the budgets (EIP-2929/2200): a fresh slot (zero to non-zero) costs 22,100, a
cold slot rewritten 5,000, a cold read 2,100, a call to a cold contract 2,600; every transaction
pays 21,000 plus calldata. An ERC-20 transfer to an account already holding the token costs about
30,000 (two balances, the event), to an empty one about 47,000. DemandResponse is a registered
EnergyVault market holding the budgets in its own vault balance: a budget's one token transfer (the
operator's wallet to the vault, booked to DemandResponse with `creditArrived`) is at the start, and
every payout and refund is a vault move (`give`, a batch's `settleBatch`): a call to the cold vault
(2,600), DemandResponse's balance slot and each payee's rewritten (5,000 each, 22,100 fresh), no token
and no vault event.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account

from energy_grid.bench.core import GasReport
from energy_grid.domain.demand_response import BASELINE_DAYS, MeterWriter, send_bulk, verify_from_meter
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, INTERVALS_PER_DAY

# Budgets, each from the storage it must write:
BUDGET_REGISTER_GRID_OPERATOR = 55_000  # 21,000 + role check 2,100 + one fresh slot 22,100 + event
BUDGET_REGISTER_CONSUMER = 65_000  # 21,000 + getMeter call into SmartMeter (~7,000) + one fresh slot + event
# 21,000 + GridManagement.operatorStatus (~7,000) + counter 5,000 + 3 fresh event slots + budget slot (88,400)
# + transferFrom to the vault (~30,000) + the credit to DemandResponse's vault balance (~17,000: the vault
# call, the token balance read back, reserve and balance rewritten, its event) + event. Measured 169,500.
BUDGET_START_EVENT = 190_000
BUDGET_JOIN_EVENT = (
    130_000  # participation slot, the consumer's list (length + element), the id counter: 4 fresh slots (88,400) + 21,000 + event
)
BUDGET_REJECT = 40_000  # the participation slot rewritten
# status rewritten (5,000), the refund in the budget's slot (read anyway: 2,900), its `give` to the operator's vault
# balance (the vault call, DemandResponse's balance 5,000, the operator's 22,100 on its first refund), event.
# Measured 73,300 on the operator's first refund, 56,200 once it holds a vault balance.
BUDGET_CANCEL = 85_000
# steady: 7 SmartMeter calls (1 history + 6 range sums, each a cold load-profile word per interval, the
# cell of the meter's among three), 2 fresh participation slots, 2 list pushes,
# counters, the meter's once-only record (a fresh slot on its first reward)
BUDGET_VERIFY = 245_000
# The participation's two slots read and its status rewritten, `paid` rewritten (it shares its slot with
# `reserved`, so a pool's first claim writes no fresh slot), RewardPaid, one `give` from DemandResponse's
# vault balance to the claimant's existing one (the cold vault call and two balances rewritten, ~13,000).
# Measured 54,200 (88,800 when a claim sent the reward to the vault and credited it with creditArrived).
BUDGET_CLAIM = 80_000
# per participant: its list entry and participation read, status 5,000, a fresh vault balance 22,100,
# RewardPaid, memory and calldata; once per batch one settleBatch. Measured 1,904,000 for 50 fresh vault balances.
BUDGET_DISTRIBUTE_50 = 2_100_000
# 9 fresh vault balances (~30,000 each) + one settleBatch + completion: status, refunded, the refund's give
BUDGET_DISTRIBUTE_TAIL = 400_000
BUDGET_ADMIN_SETTING = 40_000  # one slot rewritten + event
CLAIM_SCALE_TOLERANCE = 0.05

READING_BATCH = 50  # readings per gateway batch: see MeterWriter on anvil's step tracing
PARTICIPANTS_SMALL = 10
PARTICIPANTS_LARGE = 1_000
REGION_ID = 1
BASELINE_WH = 500  # per baseline interval (2,000 W)
WINDOW_WH = 250  # per window interval (1,000 W): a 1,000 W reduction each
TARGET_KW = 2_000  # covers 1,000 participants × 1 kW
RATE_PER_KW = 1_000


def _register_participants(
    report: GasReport, dr: Any, writer: MeterWriter, operator: Any, claimant: Any, count: int
) -> tuple[list[str], list[str]]:
    """The claimant plus fresh consumers, `count` in all, each with a fresh meter in REGION_ID,
    registered by the operator (the claimant's registration measured). Returns consumers, meters."""
    consumers = [claimant.address] + [Account.create().address for _ in range(count - 1)]
    meters = [Account.create().address for _ in consumers]
    writer.register(meters, consumers, REGION_ID)
    registered = dr.registerConsumer(consumers[0], meters[0], sender=operator).gas_used
    report.add("registerConsumer (by the operator)", registered, BUDGET_REGISTER_CONSUMER)
    send_bulk(dr, "registerConsumer", list(zip(consumers[1:], meters[1:], strict=True)), operator)
    return consumers, meters


def _start_events(report: GasReport, dr: Any, operator: Any, claimant: Any, chain: Any) -> tuple[int, int, int, int]:
    """startEvent, joinEvent, rejectParticipation and cancelEvent measured. Room for 5 baseline days
    after the meters' registration, then two events on one interval (one is cancelled) and a large
    one on the next: a meter's interval is rewarded once, so the claimant's two rewards need two
    windows. Returns the small and large events, the small one's start and the large one's end."""
    chain.pending_timestamp = (chain.pending_timestamp + 6 * DAY_SECONDS) // INTERVAL_SECONDS * INTERVAL_SECONDS + 100
    started = [dr.startEvent(REGION_ID, TARGET_KW, RATE_PER_KW, INTERVAL_SECONDS, sender=operator) for _ in range(2)]
    report.add("startEvent", started[1].gas_used, BUDGET_START_EVENT, f"first event ever: {started[0].gas_used:,}")
    small, cancelled = (tx.return_value for tx in started)

    joined = dr.joinEvent(cancelled, sender=claimant)
    report.add("joinEvent", joined.gas_used, BUDGET_JOIN_EVENT)
    rejected = dr.rejectParticipation(cancelled, claimant, b"BENCH".ljust(32, b"\0"), sender=operator)
    report.add("rejectParticipation", rejected.gas_used, BUDGET_REJECT)
    report.add("cancelEvent", dr.cancelEvent(cancelled, sender=operator).gas_used, BUDGET_CANCEL)

    start = dr.getEvent(small).startTime
    chain.pending_timestamp = start + 1
    large = dr.startEvent(REGION_ID, TARGET_KW, RATE_PER_KW, INTERVAL_SECONDS, sender=operator).return_value
    return small, large, start, dr.getEvent(large).endTime


def bench_demand_response(
    report: GasReport,
    demand_response: Any,
    smart_meter: Any,
    payment_token: Any,
    grid_management: Any,
    vault: Any,
    admin: Any,
    operator: Any,
    chain: Any,
    claimant: Any,
    large_participants: int = PARTICIPANTS_LARGE,
) -> dict[str, int]:
    """DemandResponse's state-changing operations against their budgets; claimReward with
    PARTICIPANTS_SMALL and PARTICIPANTS_LARGE verified participants (must be within 5 %).

    `admin`: DemandResponse's and GridManagement's DEFAULT_ADMIN, SmartMeter's OPERATOR and GATEWAY,
    and the payment token's faucet operator (MockStablecoin.addConsumerBalance). `operator`: any
    account that is no GridManagement operator of another region; it is registered as grid operator
    (and as GridManagement's operator of REGION_ID) if it is not one. `claimant`: an account that is not yet a
    DemandResponse consumer; it gets a fresh meter and claims the measured rewards. The other
    participants are fresh eth_account addresses (meters and consumers), registered by the operator.
    Moves the chain 8 days ahead. Returns the two claim figures.

    About 3,100 transactions, most sent through `send_bulk`: ~60 s on a plain anvil. ape-foundry's
    embedded anvil runs with --steps-tracing and keeps every step of every transaction in memory:
    1,000 verifications there took over 12 GB before they were done, so on it pass a smaller
    `large_participants` (300 peaked near 4 GB) or point the bench at a node without step tracing.
    """
    dr = demand_response
    if not grid_management.operatorStatus(operator)[0]:
        grid_management.registerOperator("Bench Grid Co", REGION_ID, 100, sender=operator)
        grid_management.verifyOperator(operator, sender=admin)
    if not dr.isGridOperator(operator):
        report.add("registerGridOperator", dr.registerGridOperator(operator, sender=admin).gas_used, BUDGET_REGISTER_GRID_OPERATOR)
    payment_token.addConsumerBalance(operator, 1_000, sender=admin)
    # The claimant holds a vault balance already, so both measured claims credit an existing balance.
    payment_token.addConsumerBalance(claimant, 1, sender=admin)
    payment_token.approve(vault, 1, sender=claimant)
    vault.deposit(payment_token, 1, sender=claimant)
    payment_token.approve(dr, 2**256 - 1, sender=operator)

    writer = MeterWriter(smart_meter, admin, bulk=True, batch_size=READING_BATCH)
    consumers, meters = _register_participants(report, dr, writer, operator, claimant, large_participants)

    small, large, start, large_end = _start_events(report, dr, operator, claimant, chain)

    # Two readings per meter and window suffice: the previous day's window interval (all energy
    # since the previous reading lands there: 5 × 500 Wh, a 2,500 / 5 = 500 Wh baseline, 2,000 W)
    # and the window (250 Wh, 1,000 W).
    chain.pending_timestamp = large_end
    window = start // INTERVAL_SECONDS
    writer.write(meters, [window - INTERVALS_PER_DAY, window + 1 - INTERVALS_PER_DAY], BASELINE_DAYS * BASELINE_WH)
    writer.write(meters, [window, window + 1], WINDOW_WH)

    # Every meter has the same pattern, so the same figures. The claimant is verified last in both
    # events: its reward sits at the end of a 10- and a 1,000-long list. Each consumer's first
    # verification writes its meter's once-only record fresh, the large event's rewrites it.
    figures = {event_id: tuple(dr.previewReduction(event_id, claimant)) for event_id in (small, large)}
    verified = [verify_from_meter(dr, small, c, operator).gas_used for c in consumers[1:3]]  # first of the event, steady
    send_bulk(dr, "verifyReduction", [(small, c, *figures[small]) for c in consumers[3:PARTICIPANTS_SMALL]], operator)
    verify_from_meter(dr, small, claimant, operator)
    rewarded_before = [verify_from_meter(dr, large, c, operator).gas_used for c in consumers[1:3]]
    send_bulk(dr, "verifyReduction", [(large, c, *figures[large]) for c in consumers[3:]], operator)
    verify_from_meter(dr, large, claimant, operator)
    report.add(
        "verifyReduction (1-interval window)",
        verified[1],
        BUDGET_VERIFY,
        f"first of an event: {verified[0]:,}; the meter rewarded before (its once-only record rewritten): {rewarded_before[1]:,}",
    )

    claim_small = dr.claimReward(small, sender=claimant).gas_used
    claim_large = dr.claimReward(large, sender=claimant).gas_used
    report.add(f"claimReward ({PARTICIPANTS_SMALL} verified)", claim_small, BUDGET_CLAIM, "claimant holds a vault balance already")
    report.add(
        f"claimReward ({large_participants} verified)",
        claim_large,
        BUDGET_CLAIM,
        f"{(claim_large - claim_small) / claim_small:+.2%} vs {PARTICIPANTS_SMALL}",
    )
    if abs(claim_large - claim_small) > CLAIM_SCALE_TOLERANCE * claim_small:
        raise AssertionError(f"claimReward depends on participants: {claim_small:,} vs {claim_large:,}")

    distributed = dr.distributeRewards(large, sender=operator).gas_used
    report.add("distributeRewards (batch of 50)", distributed, BUDGET_DISTRIBUTE_50, "50 fresh vault balances")
    chain.pending_timestamp = large_end + int(dr.verificationPeriod()) + 1
    while dr.getEventBudget(large).distributionCursor < large_participants:
        dr.distributeRewards(large, sender=operator)
    tail = dr.distributeRewards(small, sender=operator).gas_used
    report.add("distributeRewards (pays 9, completes, refunds)", tail, BUDGET_DISTRIBUTE_TAIL)

    report.add("setMinimumReductionW", dr.setMinimumReductionW(150, sender=admin).gas_used, BUDGET_ADMIN_SETTING)
    report.add("setVerificationPeriod", dr.setVerificationPeriod(2 * DAY_SECONDS, sender=admin).gas_used, BUDGET_ADMIN_SETTING)
    return {"claimSmall": claim_small, "claimLarge": claim_large}
