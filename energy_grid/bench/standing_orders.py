"""Gas of standing orders, the ex-post interval market driven by the meter: a gateway batch of 100
readings in steady state delivered three ways (to the owners' wallets, into their vault balances, and
into the vault with standing orders placed and settled), a market of standing orders cleared with 10
and with 1,000 households on the same ticks, and the settlement batch of meters that stopped reading.

A household sets its limits once in SmartMeter (setStandingOrder, which also turns vault delivery
on). Each accepted reading of its meter then credits the export to the owner's vault balance, places
the export as an ask and the import as a bid in the reading market of the interval measured, and
settles the meter's orders of two intervals before (whose market has cleared by then): one vault
batch for the whole gateway batch.

Storage costs behind the budgets as in bench/auction.py: a fresh slot 22,100, a cold slot rewritten
5,000, a cold read 2,100, a warm access 100; a call to a cold contract 2,600.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_account import Account

from energy_grid.bench.auction import BUDGET_CLEAR_64_TICKS
from energy_grid.bench.bulk import BulkNode
from energy_grid.bench.core import BUDGET_BATCHED_PER_READING_AT_100, BUDGETED_BATCH_SIZE, GasReport, within_scale
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE

# Budgets, each from the storage it must write:
# A standing reading's extra over the same reading delivered to the wallet, in a batch of 100.
# Per reading: the meter's standing limits read (2,100; a vault-delivered meter reads them too) and
# handed to the market as they are stored, in a 3-word entry with the meter, owner, time and energy;
# the meter's order slot of the period's parity read and rewritten as one word (5,000), its tick's
# slot rewritten warm (one word for both sides); the orders of two intervals before settled from the
# result of their market (read once a batch), with the one event a standing order has (~2,900); the
# owner's free payment read from the vault (a cold read for an importer: its balance is not
# credited) and its net move in the batch's one settleBatch (an importer's balance rewritten:
# 2,900). The export is credited to the owner's vault balance instead of minted to its wallet (a
# rewrite either way). Per batch, shared by its readings: the market of the interval (read and
# written once) and, for a new period, its result, two bitmap slots and one slot per occupied tick
# (all fresh, 20,000-22,100 each: ~2,200 a reading at ten ticks), the mint to the vault and the calls
# to the vault and the market, the energy bought retired (a burn).
# As measured (debug_traceCall of the batch): the market's own ~16,800 a reading (slot 5,100, event
# 2,900, ticks 2,900, ~5,900 of execution), its two vault calls ~5,800 (paymentsFor 2,100,
# settleBatch 3,700), the registry's entries ~500 and vault delivery's own extra ~1,600.
# Held to 25,000; the goal is 12,000, which needs the per-meter slot and the event gone. Since the
# vault records every balance change, each reading adds its owner's entry to the vault's
# ArrivedCredited (64 bytes of log) and MarketBatchSettled (96 bytes): ~1,300 a reading, which the
# 25,000 did not have room for. Held to 25,500. Each reading then carried its meter's market zone (read
# with the meter's slot, written into its order slot, its book keyed by it, and a claim's check of
# whether its market cleared across zones): ~500 a reading, measured 25,738, and held to 26,000.
# Traced per source line (debug_traceTransaction of the standing batch against the wallet batch),
# that 25,738 was the market's ~17,400 a reading (its slot 5,200, the event 2,900, the ticks 3,100,
# ~6,200 of execution), the vault's ~9,100 (the credit 2,500, paymentsFor's read 1,200 and
# settleBatch's write 1,600, the logs 1,100, ~2,700 of execution) and the registry's ~3,000 (the
# limits read 2,100), less the wallet's mint (~3,800). Much of the execution paid for no work: each
# settled slot built three structs in memory (a zone's result that a market cleared alone does not
# need, and its outcome twice) and packed the slot into an order word only to take it apart again,
# the owners' lock table checked the bounds at every probe, the vault's three batch loops checked
# every calldata access, and settleBatch hashed each account's slot twice. The outcome now stays on
# the stack (AuctionClearing.outcomeOf, which the claims use too), the zone's result is built only
# for a market cleared across zones, and the lock table (OwnerLocks), the registry's entries and the
# vault's loops (CalldataArrays; VaultAccountLibrary.load and store) are read and written in place:
# the market ~16,500, the vault ~8,600, the registry ~2,800, measured 24,140. Back to 25,000.
BUDGET_STANDING_EXTRA_PER_READING = 25_000
# A steady reading delivered to the vault: the wallet delivery's budget (the credit replaces the
# mint); with standing orders, that plus their extra.
BUDGET_VAULT_PER_READING = BUDGET_BATCHED_PER_READING_AT_100
BUDGET_STANDING_PER_READING = BUDGET_BATCHED_PER_READING_AT_100 + BUDGET_STANDING_EXTRA_PER_READING
# settleStandingOrders, per meter in a batch of 100 with one interval due: the meter's address in
# calldata (~400), its record read for the owner (2,100) and a 3-word entry to the market; both of
# its order slots read (4,200), the due one rewritten as settled (2,900), the outcome of its ask or
# bid (the market's result and grid read once a batch), MeteredOrdersSettled (~2,900); the owner's
# balance read by the market's paymentsFor call (2,100 + ~900) and rewritten in the batch's one
# settleBatch (2,900 + ~2,000). ~28,000, and the batch's calls, the market's balance and the
# retirement shared by 100: 32,000.
BUDGET_SETTLE_STANDING_PER_METER = 32_000

HOUSEHOLDS = BUDGETED_BATCH_SIZE  # the gateway batch measured
SMALL_MARKET_HOUSEHOLDS = 10
LARGE_MARKET_HOUSEHOLDS = 1_000
ASK_TICKS = tuple(range(100, 105))  # sell limits: the asks of the market sit on these ticks...
BID_TICKS = tuple(range(105, 110))  # ...and the buy limits above them: every limit crosses
EXPORT_WH = 120  # an exporting household's export per interval
IMPORT_WH = 100  # an importing household's import per interval: the asks are long
CASH_PER_OWNER = 10  # whole payment-token units each owner holds in the vault
OWNER_WEI = 10**18  # gas money for the owners' own transactions (approvals, standing limits)
REGION = 1
# Gas limits of the setup transactions, sent a block's worth at a time (unused gas is not charged).
GAS_REGISTER = 200_000
GAS_CREDIT_100 = 5_000_000  # creditArrived of 100 owners' first balances
GAS_OWNER_SETTING = 150_000
STEADY_INTERVALS = 3  # readings before the measured one of each delivery (slots exist, as on a running system)


@dataclass
class Household:
    """One meter and its owner; the meter's registers as last read."""

    meter: str
    owner: str
    exports: bool  # exports each interval (a sell limit) or imports (a buy limit)
    tick: int  # its limit's tick on the market's grid
    consumption_wh: int = 0
    production_wh: int = 0


def _households(first: int, count: int) -> list[Household]:
    """Households `first`..`first + count - 1`: the even ones export, the odd ones import, each side
    spread evenly over its five ticks, so that any ten consecutive from an even index hold one
    household per tick."""
    return [
        Household(
            Account.create().address,
            Account.create().address,
            exports=i % 2 == 0,
            tick=(ASK_TICKS if i % 2 == 0 else BID_TICKS)[(i // 2) % len(ASK_TICKS)],
        )
        for i in range(first, first + count)
    ]


@dataclass
class StandingBench:
    """The contracts and actors of the bench. `operator` holds SmartMeter's OPERATOR and GATEWAY roles,
    is the payment token's faucet operator and an account the node holds unlocked; it also clears the
    markets (the keeper)."""

    auction: Any
    smart_meter: Any
    vault: Any
    payment_token: Any
    operator: Any
    chain: Any
    node: BulkNode = field(init=False)
    grid: tuple[int, int] = field(init=False)  # the auction's lowest price and tick size

    def __post_init__(self) -> None:
        self.node = BulkNode(self.chain.provider.uri)
        self.grid = (int(self.auction.minPrice()), int(self.auction.tickSize()))

    @property
    def period_length(self) -> int:
        return int(self.auction.periodLength())

    def enroll(self, households: list[Household]) -> None:
        """Registers the meters (installation registers 0), funds each owner's vault balance with
        CASH_PER_OWNER from the operator (one transfer to the vault, then creditArrived per 100
        owners), gives the owners gas money, impersonates them in the node and has each approve the
        auction in the vault."""
        operator = self.operator.address
        self.node.send_all(
            self.smart_meter, "registerMeter", [(operator, (h.meter, h.owner, REGION, 0, 0)) for h in households], GAS_REGISTER
        )
        cash = CASH_PER_OWNER * 10 ** int(self.payment_token.decimals())
        self.payment_token.addConsumerBalance(operator, CASH_PER_OWNER * len(households), sender=self.operator)
        self.payment_token.transfer(self.vault, cash * len(households), sender=self.operator)
        # The bench's own funding shortcut: the operator (the vault's admin on the local chain) books
        # the transfer to the owners as a creditor would.
        self.vault.grantRole(self.vault.CREDITOR_ROLE(), operator, sender=self.operator)
        credits = [
            (operator, (self.payment_token.address, [h.owner for h in chunk], [cash] * len(chunk)))
            for chunk in _chunks(households, BUDGETED_BATCH_SIZE)
        ]
        self.node.send_all(self.vault, "creditArrived", credits, GAS_CREDIT_100)
        self.node.batch(
            [("anvil_setBalance", [h.owner, hex(OWNER_WEI)]) for h in households]
            + [("anvil_impersonateAccount", [h.owner]) for h in households]
        )
        approvals = [(h.owner, (self.auction.address, True)) for h in households]
        self.node.send_all(self.vault, "setMarketApproval", approvals, GAS_OWNER_SETTING)

    def release(self, households: list[Household]) -> None:
        """The node no longer impersonates the owners."""
        self.node.batch([("anvil_stopImpersonatingAccount", [h.owner]) for h in households])

    def set_vault_delivery(self, households: list[Household]) -> None:
        calls = [(h.owner, (h.meter, True)) for h in households]
        self.node.send_all(self.smart_meter, "setVaultDelivery", calls, GAS_OWNER_SETTING)

    def set_standing_orders(self, households: list[Household]) -> None:
        """Each owner's limits: a sell limit at its tick's price for an exporter, a buy limit for an importer."""
        calls = []
        for h in households:
            price = self.price(h.tick)
            calls.append((h.owner, (h.meter, price, 0, 0, 0) if h.exports else (h.meter, 0, 0, price, 0)))
        self.node.send_all(self.smart_meter, "setStandingOrder", calls, GAS_OWNER_SETTING)

    def price(self, tick: int) -> int:
        min_price, tick_size = self.grid
        return min_price + tick * tick_size

    def read(self, households: list[Household], period: int, scale: int = 1) -> list[Any]:
        """One reading per household at the last second of `period`, in gateway batches of 100: an
        exporter's export register rises by EXPORT_WH x `scale`, an importer's import register by
        IMPORT_WH x `scale`. Returns the batches' receipts."""
        timestamp = (period + 1) * self.period_length - 1
        self.chain.pending_timestamp = max(self.chain.pending_timestamp, timestamp)
        receipts = []
        for chunk in _chunks(households, BUDGETED_BATCH_SIZE):
            readings = []
            for h in chunk:
                if h.exports:
                    h.production_wh += EXPORT_WH * scale
                else:
                    h.consumption_wh += IMPORT_WH * scale
                readings.append(
                    (timestamp, h.consumption_wh, h.production_wh, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
                )
            receipts.append(self.smart_meter.submitReadings([h.meter for h in chunk], readings, sender=self.operator))
        return receipts

    def clear(self, period: int) -> Any:
        """The keeper clears the market of `period` at its clearing time."""
        self.chain.pending_timestamp = max(self.chain.pending_timestamp, int(self.auction.clearingTime(period)))
        return self.auction.clear(period, sender=self.operator)


def _chunks(items: list[Household], size: int) -> list[list[Household]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def bench_standing_orders(
    report: GasReport, auction: Any, smart_meter: Any, vault: Any, payment_token: Any, operator: Any, chain: Any
) -> dict[str, int]:
    """Standing orders against their budgets, on `auction`, the reading market of `smart_meter` (a
    registered market of `vault`).

    - HOUSEHOLDS fresh meters of as many fresh owners, read in one gateway batch per interval (each
      reading in a new interval: its load-profile entry is a fresh slot, as in bench_meter): half
      export, half import every interval. Measured after STEADY_INTERVALS readings of each delivery,
      in turn: (a) to the owners' wallets, (b) into their vault balances (setVaultDelivery), (c)
      with standing orders whose limits cross (the exporters' sell limits on five ticks, the
      importers' buy limits on the five above), interval after interval, the keeper clearing each
      market at its clearing time, so that each reading also settles its meter's orders of two
      intervals before. The extra per reading is (c) - (a).
    - settleStandingOrders of the HOUSEHOLDS meters once their last-but-one interval's market has
      cleared (one interval due per meter; the last still open).
    - clear of a market of SMALL_MARKET_HOUSEHOLDS and of one of LARGE_MARKET_HOUSEHOLDS standing
      households on the same ten ticks with the same volume per tick (within 5 %).

    `operator`: SmartMeter's OPERATOR and GATEWAY, the payment token's faucet operator, an account
    the node holds unlocked. The fresh owners are unlocked in the node (anvil's impersonation) for
    their own transactions while the bench runs. Moves the chain about 20 periods on. Returns the
    main figures. About 3,000 setup transactions, sent in JSON-RPC batches a block at a time, and 40
    gateway batches: ~30 s on a plain anvil.
    """
    bench = StandingBench(auction, smart_meter, vault, payment_token, operator, chain)
    households = _households(0, HOUSEHOLDS)
    bench.enroll(households)
    period = int(auction.currentPeriod()) + 1

    def steady_batch() -> int:
        """STEADY_INTERVALS readings, then the measured one; its gas per reading."""
        nonlocal period
        for _ in range(STEADY_INTERVALS):
            bench.read(households, period)
            period += 1
        (receipt,) = bench.read(households, period)
        period += 1
        return int(receipt.gas_used) // HOUSEHOLDS

    wallet = steady_batch()
    bench.set_vault_delivery(households)
    vault_delivery = steady_batch()
    bench.set_standing_orders(households)
    standing_from = period
    readings: list[int] = []
    for _ in range(STEADY_INTERVALS + 1):
        if period - 2 >= standing_from:
            bench.clear(period - 2)  # its orders settle with this interval's readings
        (receipt,) = bench.read(households, period)
        readings.append(int(receipt.gas_used) // HOUSEHOLDS)
        period += 1
    standing = readings[-1]
    extra = standing - wallet
    label = f"submitReadings x{HOUSEHOLDS}, per reading"
    report.add(f"{label} (wallet delivery)", wallet, BUDGET_BATCHED_PER_READING_AT_100, "half export, half import")
    report.add(f"{label} (vault delivery)", vault_delivery, BUDGET_VAULT_PER_READING, "the export credited in the vault")
    report.add(
        f"{label} (standing orders)",
        standing,
        BUDGET_STANDING_PER_READING,
        f"places this interval's orders, settles those of two before; first interval: {readings[0]:,}",
    )
    report.add(
        f"standing order: extra gas per reading in a batch of {HOUSEHOLDS}",
        extra,
        BUDGET_STANDING_EXTRA_PER_READING,
        "standing orders - wallet delivery",
    )

    # Meters that stopped reading: their last-but-one interval is due, the last is not yet.
    bench.clear(period - 2)
    meters = [h.meter for h in households]
    settle = int(smart_meter.settleStandingOrders(meters, sender=operator).gas_used) // HOUSEHOLDS
    bench.clear(period - 1)
    settle_next = int(smart_meter.settleStandingOrders(meters, sender=operator).gas_used) // HOUSEHOLDS
    report.add(
        f"settleStandingOrders x{HOUSEHOLDS}, per meter",
        settle,
        BUDGET_SETTLE_STANDING_PER_METER,
        f"one interval due per meter; the next interval: {settle_next:,}",
    )

    clear_small, clear_large = _clear_at_two_scales(bench, households, period)
    within_scale(
        report,
        "clear",
        "standing households",
        (SMALL_MARKET_HOUSEHOLDS, clear_small),
        (LARGE_MARKET_HOUSEHOLDS, clear_large),
        BUDGET_CLEAR_64_TICKS,
        f"{len(ASK_TICKS) + len(BID_TICKS)} occupied ticks, the same volume per tick",
    )
    return {
        "readingWallet": wallet,
        "readingVault": vault_delivery,
        "readingStanding": standing,
        "standingExtra": extra,
        "settleStandingPerMeter": settle,
        "clearStandingSmall": clear_small,
        "clearStandingLarge": clear_large,
    }


def _clear_at_two_scales(bench: StandingBench, households: list[Household], period: int) -> tuple[int, int]:
    """clear of a market where SMALL_MARKET_HOUSEHOLDS standing households placed their orders, one
    per tick, and of the next, where LARGE_MARKET_HOUSEHOLDS did, as many per tick, each with a
    hundredth of the energy: the same volume on the same ten ticks. Returns both figures."""
    crowd = _households(len(households), LARGE_MARKET_HOUSEHOLDS - len(households))
    bench.enroll(crowd)
    bench.set_standing_orders(crowd)
    everyone = households + crowd
    scale = LARGE_MARKET_HOUSEHOLDS // SMALL_MARKET_HOUSEHOLDS
    small_market = max(period, int(bench.auction.currentPeriod()) + 1)
    large_market = small_market + 1
    bench.read(everyone[:SMALL_MARKET_HOUSEHOLDS], small_market, scale)
    bench.read(everyone, large_market)
    bench.release(everyone)
    small_ticks, large_ticks = (bench.auction.getTickVolumes(m) for m in (small_market, large_market))
    if [list(side) for side in small_ticks] != [list(side) for side in large_ticks]:
        raise AssertionError("the two markets' standing orders do not hold the same volume per tick")
    return int(bench.clear(small_market).gas_used), int(bench.clear(large_market).gas_used)
