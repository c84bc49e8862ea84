"""Gas of CarbonCredits' state-changing operations against their budgets.

Storage costs behind the budgets (EIP-2929/2200): a cold slot rewritten with a new non-zero value
costs 5,000 (2,100 cold access + 2,900), a fresh slot (zero to non-zero) 22,100. Every transaction
pays 21,000 base plus calldata. Reading SmartMeter costs about 12,500 per issue, registration or
deregistration: its cold account (2,600), getMeter (3,300: the meter's slot) and getMeteredEnergy
(6,400: the meter's, its latest profile and its account slots), with the calls' ABI overhead.
GridManagement's operatorStatus (cold account, one cold slot) costs about 5,500.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account

from energy_grid.bench.core import GasReport
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, INTERVAL_SECONDS, VOLTAGE_NOMINAL_PER_MILLE

SOLAR = 0  # IGridManagement.EnergyType.SOLAR
EXPORT_PER_READING_WH = 2_500  # 1,000 g at 400 g/kWh

# 21,000 + operatorStatus 5,500 + SmartMeter 12,500 + the producer's two fresh slots 44,200 (the
# second holds the counted production at registration, non-zero for a meter already in use)
# + event ~2,000 + execution ~4,000: ~89,000.
BUDGET_REGISTER_CLEAN_PRODUCER = 95_000
# Steady: 21,000 + SmartMeter 12,500 + the producer's first slot rewritten 5,000 + the owner's
# balance and the total supply rewritten 2 × 5,000 + Transfer and CarbonCreditsIssued ~4,000
# + execution ~6,000: ~59,000.
BUDGET_ISSUE = 65_000
# The owner's first credits: the balance slot is fresh (+17,100): ~76,000.
BUDGET_ISSUE_FIRST = 82_000
# A meter's share of a keeper's batch of two steady issues: each meter's own reads and writes (about
# 30,000) and half of what the batch pays once: 21,000 base, SmartMeter's cold account, the factor and
# the total supply (about 30,700): ~45,400.
BUDGET_ISSUE_BATCH_SHARE = 50_000
# An ERC-20 transfer between two holders: 21,000 + two balances rewritten 2 × 5,000 + event: ~34,000.
BUDGET_TRANSFER = 40_000
# Steady: the record's two fresh slots and its reason's (up to 31 bytes: one slot) 3 × 22,100, the
# beneficiary's index entry 22,100, the global and the beneficiary's totals slots 2 × 5,000, the
# burn (balance and supply) 2 × 5,000, 21,000 base, ~1,000 calldata, the event with its reason
# ~3,500, execution ~5,000: ~139,000. A longer reason adds 22,100 per further 32 bytes.
BUDGET_RETIRE = 150_000
# A beneficiary's first retirement: its totals slot is fresh (+17,100): ~156,000.
BUDGET_RETIRE_FIRST = 170_000
# The factor slot rewritten: 21,000 + 5,000 + the role check (2,100) + event: ~30,000.
BUDGET_SET_FACTOR = 35_000
# 21,000 + operatorStatus 5,500 + SmartMeter 12,500 + the producer's slot rewritten 5,000 + event
# ~2,000 + execution ~3,000: ~49,000.
BUDGET_DEREGISTER = 55_000


def bench_carbon_credits(
    report: GasReport,
    carbon_credits: Any,
    smart_meter: Any,
    operator: Any,
    chain: Any,
    grid_operator: Any,
    region_id: int,
    owner: Any,
    beneficiary: Any,
) -> None:
    """registerCleanEnergyProducer, issueCarbonCredits (first and steady) and in a batch, transferCarbonCredits,
    retire (first and steady), setAvoidedEmissionFactor and deregisterCleanEnergyProducer.

    `operator` holds SmartMeter's OPERATOR_ROLE and GATEWAY_ROLE and CarbonCredits'
    DEFAULT_ADMIN_ROLE (the local deployer); `grid_operator` is a verified, authorized
    GridManagement operator of `region_id`; `owner` (who receives the credits, then transfers and
    retires them) must hold no credits yet and `beneficiary` neither credits nor retirements, so
    the first-time figures are first times. The factor is set back to what it was.
    """
    cc = carbon_credits
    meters = [Account.create().address for _ in range(2)]
    registers = dict.fromkeys(meters, 0)

    def export(meter: str) -> None:
        chain.pending_timestamp += INTERVAL_SECONDS
        registers[meter] += EXPORT_PER_READING_WH
        reading = (chain.pending_timestamp, 0, registers[meter], FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
        smart_meter.submitReadings([meter], [reading], sender=operator)

    # meters[0] is the owner's; meters[1] belongs to a bystander and is issued first, so the owner's
    # first issue pays for the owner's fresh balance, not for a fresh total supply.
    for meter, meter_owner in zip(meters, [owner, Account.create().address], strict=True):
        # Installation registers: the meter's first reading already counts.
        smart_meter.registerMeter(meter, meter_owner, region_id, 0, 0, sender=operator)
        export(meter)  # counted before registration, so registeredFromWh is a fresh non-zero slot too
    registered = [cc.registerCleanEnergyProducer(m, SOLAR, sender=grid_operator).gas_used for m in meters]
    report.add("registerCleanEnergyProducer", max(registered), BUDGET_REGISTER_CLEAN_PRODUCER, "2 fresh slots")

    export(meters[1])
    cc.issueCarbonCredits(meters[1], sender=owner)
    meter = meters[0]
    export(meter)
    first = cc.issueCarbonCredits(meter, sender=owner).gas_used
    report.add("issueCarbonCredits (owner's first credits)", first, BUDGET_ISSUE_FIRST, "fresh balance slot")
    export(meter)
    steady = cc.issueCarbonCredits(meter, sender=owner).gas_used
    report.add("issueCarbonCredits", steady, BUDGET_ISSUE, "steady: owner and meter seen before")
    for m in meters:
        export(m)
    batch = cc.issueCarbonCreditsBatch(meters, sender=owner).gas_used
    report.add("issueCarbonCreditsBatch, a meter's share", batch // len(meters), BUDGET_ISSUE_BATCH_SHARE,
               f"{len(meters)} steady meters in one transaction: {batch:,}")

    first_transfer = cc.transferCarbonCredits(beneficiary, 100, sender=owner).gas_used
    steady_transfer = cc.transferCarbonCredits(beneficiary, 100, sender=owner).gas_used
    report.add(
        "transferCarbonCredits",
        steady_transfer,
        BUDGET_TRANSFER,
        f"to a first-time holder: {first_transfer:,}",
    )

    reason = "2025 office electricity"  # up to 31 bytes: the reason takes one slot
    # Warm-up for the owner as beneficiary: on a new deployment the first retirement ever also
    # creates the global totals slot, which is not what a beneficiary's first retirement costs.
    cc.retire(300, owner, reason, sender=owner)
    first_retire = cc.retire(300, beneficiary, reason, sender=owner).gas_used
    report.add("retire (beneficiary's first)", first_retire, BUDGET_RETIRE_FIRST, "fresh beneficiary totals slot")
    steady_retire = cc.retire(300, beneficiary, reason, sender=owner).gas_used
    report.add("retire", steady_retire, BUDGET_RETIRE, "reason up to 31 bytes; each further 32 bytes adds a slot")

    factor = cc.avoidedEmissionFactor()
    changed = cc.setAvoidedEmissionFactor(factor + 1, sender=operator).gas_used
    cc.setAvoidedEmissionFactor(factor, sender=operator)
    report.add("setAvoidedEmissionFactor", changed, BUDGET_SET_FACTOR)

    export(meters[1])
    deregistered = cc.deregisterCleanEnergyProducer(meters[1], sender=grid_operator).gas_used
    report.add("deregisterCleanEnergyProducer", deregistered, BUDGET_DEREGISTER, "unissued energy forfeited")
