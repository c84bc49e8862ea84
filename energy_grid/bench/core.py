"""Gas per operation against the budgets (`make bench`, scripts/bench.py).

Steady state means a later operation of an actor whose storage already exists (a meter's later
reading, an owner whose balance is non-zero); first-time figures pay for fresh storage slots
and are reported beside them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account

from energy_grid.cli.report import print_table
from energy_grid.deploy.operations import BUY, MAX_UINT256, SELL, approve_market, deposit_to_vault, meter_energy
from energy_grid.deploy.system import extension_addresses, fund_local_accounts
from energy_grid.domain.units import INTERVAL_SECONDS


@dataclass(frozen=True)
class Measurement:
    operation: str
    gas: int
    budget: int | None = None
    note: str = ""

    @property
    def within_budget(self) -> bool:
        return self.budget is None or self.gas <= self.budget


@dataclass
class GasReport:
    measurements: list[Measurement] = field(default_factory=list)

    def add(self, operation: str, gas: int, budget: int | None = None, note: str = "") -> Measurement:
        m = Measurement(operation, int(gas), budget, note)
        self.measurements.append(m)
        return m

    @property
    def all_within_budget(self) -> bool:
        return all(m.within_budget for m in self.measurements)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [asdict(m) | {"withinBudget": m.within_budget} for m in self.measurements]
        path.write_text(json.dumps({"unit": "gas", "measurements": rows}, indent=2) + "\n")

    def print(self) -> None:
        print_table(
            "Gas per operation",
            ["operation", "gas", "budget", "", "note"],
            [
                (
                    m.operation,
                    f"{m.gas:,}",
                    f"{m.budget:,}" if m.budget else "-",
                    "ok" if m.within_budget else "OVER",
                    m.note,
                )
                for m in self.measurements
            ],
        )


SCALE_TOLERANCE = 0.05  # an operation that must not grow with the orders it spans: within 5 %


def within_scale(
    report: GasReport,
    operation: str,
    unit: str,
    small: tuple[int, int],
    large: tuple[int, int],
    budget: int,
    note: str,
) -> None:
    """Reports `operation` at a small and a large count of `unit` (each `(count, gas)`): the small
    against `budget`, the large against the small plus SCALE_TOLERANCE; raises if they differ by more."""
    (small_count, small_gas), (large_count, large_gas) = small, large
    report.add(f"{operation} ({small_count:,} {unit})", small_gas, budget, note)
    report.add(
        f"{operation} ({large_count:,} {unit})",
        large_gas,
        min(budget, int(small_gas * (1 + SCALE_TOLERANCE))),
        f"{(large_gas - small_gas) / small_gas:+.2%} vs {small_count:,} {unit} (budget: within 5 %)",
    )
    if abs(large_gas - small_gas) > SCALE_TOLERANCE * small_gas:
        raise AssertionError(f"{operation} depends on the number of {unit}: {small_gas:,} vs {large_gas:,}")


BUDGET_SUBMIT_READING = 95_000
BUDGET_BATCHED_PER_READING_AT_100 = 45_000
BUDGETED_BATCH_SIZE = 100  # the gateway batch whose per-reading cost is held to budget
BUDGET_CREATE_ORDER = 95_000
BUDGET_CANCEL_ORDER = 60_000
BUDGET_CROSSING_EXTRA_FILL = 30_000
BUDGET_MATCH_ORDERS = 100_000
BUDGET_SETTLE = 90_000
# Raised from 125,000: settling now records the two parties' vault balance changes in the vault's
# MarketBatchSettled (~4,450 a settlement: 12 words of log and its lock check).
BUDGET_MATCH_AND_SETTLE = 128_000
BOOK_GROWTH_TOLERANCE = 0.05
PRICE_PER_KWH = 250_000  # 0.25 MOCKUSD per kWh (6 decimals)
VAULT_DEPOSIT_WH = 4_000_000  # of the 5,000,000 Wh metered to each seller
VAULT_DEPOSIT_PAYMENT = 5_000 * 10**6  # half the faucet's 10,000 whole units


def next_interval(chain: Any, min_gap_s: int) -> None:
    """Moves the next block to the start of the next interval that begins at least `min_gap_s` (the
    registry's shortest time between a meter's readings) after the chain's time, so that a meter
    registered or read just before is not refused as reading too often, whatever the clock the bench
    starts at. A round of readings there writes the interval's load-profile words afresh (three meters
    registered together share one): what a reading pays in its meter's first five weeks."""
    chain.pending_timestamp = ((chain.pending_timestamp + min_gap_s) // INTERVAL_SECONDS + 1) * INTERVAL_SECONDS


class MeterFeed:
    """Registers fresh meters (each with its own owner) and builds rising readings for them."""

    def __init__(self, meter: Any, operator: Any, chain: Any) -> None:
        self.meter, self.operator, self.chain = meter, operator, chain
        self.registers: dict[str, int] = {}
        self.min_gap_s = int(meter.minReadingInterval())

    def register(self, device: str) -> str:
        # Registered with installation registers, so the very first reading already mints.
        self.meter.registerMeter(device, Account.create().address, 1, 0, 0, sender=self.operator)
        self.registers[device] = 0
        return device

    def readings(self, devices: list[str]) -> list[tuple[int, ...]]:
        """A rising reading per device, in the next interval."""
        next_interval(self.chain, self.min_gap_s)
        for d in devices:
            self.registers[d] += 1_500
        return [(self.chain.pending_timestamp, self.registers[d], self.registers[d], 50_000, 1_000) for d in devices]


# What a steady reading's figure is: the meter's record exists, and its interval's load-profile word
# is fresh, as it is for every reading in a meter's first five weeks (later it is rewritten).
STEADY_READING_NOTE = "each reading in a new interval, its load-profile word fresh (a meter's first five weeks)"


def bench_meter(report: GasReport, system: Any, operator: Any, chain: Any, device: Any) -> None:
    """submitReading and submitReadings at 1, 10 and 100 readings, steady and first-time."""
    feed = MeterFeed(system.smart_meter, operator, chain)
    feed.register(device.address)
    first = system.smart_meter.submitReading(feed.readings([device.address])[0], sender=device)
    steady = system.smart_meter.submitReading(feed.readings([device.address])[0], sender=device)
    report.add(
        "submitReading",
        steady.gas_used,
        BUDGET_SUBMIT_READING,
        f"first reading: {first.gas_used:,}; {STEADY_READING_NOTE}, alone in it",
    )

    for size in (1, 10, BUDGETED_BATCH_SIZE):
        group = [feed.register(Account.create().address) for _ in range(size)]
        first = system.smart_meter.submitReadings(group, feed.readings(group), sender=operator)
        steady = system.smart_meter.submitReadings(group, feed.readings(group), sender=operator)
        report.add(
            f"submitReadings x{size}, per reading",
            steady.gas_used // size,
            BUDGET_BATCHED_PER_READING_AT_100 if size == BUDGETED_BATCH_SIZE else None,
            f"first readings: {first.gas_used // size:,}; {STEADY_READING_NOTE}",
        )


# The continuous book's levels in a market round: bids rest at BID_LEVEL and asks at ASK_LEVEL
# (each kept occupied by an anchor order, so a new order there joins a level), crossing trades
# happen at PRICE_PER_KWH, taker fills at TAKER_LEVEL, and the crowd's resting asks lie above all.
BID_LEVEL = PRICE_PER_KWH - 50_000
ASK_LEVEL = PRICE_PER_KWH + 50_000
TAKER_LEVEL = PRICE_PER_KWH + 70_000
CROSSING_FILLS = 5


def market_round(market: Any, seller: Any, buyer: Any, expiry: int, round_index: int) -> dict[str, int]:
    """One steady-state round of every market operation; returns gas per operation (the most
    any instance of it cost in the round).

    createOrder is measured on the continuous book: an order that crosses nothing and joins a
    level that already holds orders (the steady case held to budget), one that opens a new level,
    and a BUY crossing 1 and CROSSING_FILLS resting SELLs of one level (each emptying the level,
    so both look up the next ask level). matchOrders is measured on bilateral deals (directed
    orders, which never cross on arrival)."""
    gas: dict[str, int] = {}

    def measure(key: str, tx: Any) -> Any:
        gas[key] = max(gas.get(key, 0), tx.gas_used)
        return tx

    def order(trader: Any, kind: int, amount_wh: int, price: int, key: str | None = None) -> int:
        tx = market.createOrder(amount_wh, price, expiry, kind, sender=trader)
        if key:
            measure(key, tx)
        return tx.return_value

    def directed(trader: Any, kind: int, amount_wh: int, price: int, counterparty: Any) -> int:
        return market.createDirectedOrder(amount_wh, price, expiry, kind, counterparty, sender=trader).return_value

    sell = order(seller, SELL, 1_000, ASK_LEVEL, "createOrder SELL")
    buy = order(buyer, BUY, 1_000, BID_LEVEL, "createOrder BUY")
    measure("cancelOrder SELL", market.cancelOrder(sell, sender=seller))
    measure("cancelOrder BUY", market.cancelOrder(buy, sender=buyer))
    # A level no order has used yet, in another 256-price word than the anchor's.
    fresh = order(seller, SELL, 1_000, ASK_LEVEL + 300 * (round_index + 1), "createOrder SELL (new level)")
    market.cancelOrder(fresh, sender=seller)

    order(seller, SELL, 1_000, PRICE_PER_KWH)
    order(buyer, BUY, 1_000, PRICE_PER_KWH + 10_000, "createOrder BUY crossing 1 order")
    for _ in range(CROSSING_FILLS):
        order(seller, SELL, 200, PRICE_PER_KWH)
    order(buyer, BUY, 200 * CROSSING_FILLS, PRICE_PER_KWH + 10_000, f"createOrder BUY crossing {CROSSING_FILLS} orders")

    offer = directed(seller, SELL, 2_000, PRICE_PER_KWH, buyer)
    bid = directed(buyer, BUY, 2_000, PRICE_PER_KWH + 10_000, seller)  # with price improvement
    partial = market.matchOrders(bid, directed(seller, SELL, 500, PRICE_PER_KWH, buyer), sender=seller)
    completing = market.matchOrders(bid, offer, sender=seller)  # the bid's remaining 1,500 Wh from a 2,000 Wh offer
    gas["matchOrders (partial)"] = max(partial.gas_used, completing.gas_used)
    offer2 = directed(seller, SELL, 1_000, PRICE_PER_KWH, buyer)
    bid2 = directed(buyer, BUY, 1_000, PRICE_PER_KWH, seller)
    full = market.matchOrders(bid2, offer2, sender=buyer)
    gas["matchOrders (full)"] = full.gas_used
    # The costlier settlement returns the buyer's price improvement: that is the figure held to budget.
    gas["settleTransaction"] = market.settleTransaction(completing.return_value, sender=buyer).gas_used
    gas["settleTransaction (no price improvement)"] = market.settleTransaction(full.return_value, sender=buyer).gas_used

    taken = market.fillOrder(order(seller, SELL, 800, TAKER_LEVEL), 800, sender=buyer)
    gas["fillOrder (taker)"] = taken.gas_used
    ids = [partial.return_value, taken.return_value]
    for _ in range(8):
        ids.append(market.fillOrder(order(seller, SELL, 300, TAKER_LEVEL), 300, sender=buyer).return_value)
    gas["settleTransactions x10, per transaction"] = market.settleTransactions(ids, sender=seller).gas_used // len(ids)
    return gas


def bench_market(report: GasReport, system: Any, operator: Any, chain: Any, traders: list[Any]) -> None:
    """Every market operation with 10 and with 1,000 resting orders; first-time figures beside.

    `traders`: five funded accounts (seller, buyer, a first-time seller and buyer, the crowd).

    Budgets (a fresh slot 22,100 gas, a rewritten one 2,900 plus the 2,100 cold read); the traders
    escrow from their EnergyVault balances (steady state: deposited before, the book approved):
    - createOrder, 95,000, steady (the trader has ordered before: its trader index exists): a
      non-crossing order joining a level that holds orders. The order's one fresh slot (22,100),
      the trader's slot read (its index) and the global slot rewritten, the escrow's vault
      call (`take`: the market's and the trader's balance slots rewritten, ~13,700 with the call),
      21,000 intrinsic, then the best-price slot read (2,100), the level's queue rewritten (5,000)
      and the link in the level's last order rewritten (5,000): ~86,600 measured. A trader's
      first order also writes its trader slot (fresh; the index is the low bits of its address,
      so that one slot maps both ways): reported beside. Opening a new level adds the queue slot (22,100
      instead of 5,000) and a bitmap word (up to 22,100 per height whose word was empty):
      reported beside, not held to a budget.
    - cancelOrder, 60,000: the order's slot read and rewritten, its trader's address looked up
      from the index, the escrow credited back in the vault; its queue entry stays (dead) until a
      crossing order or pruneLevel unlinks it.
    - per extra fill of a crossing createOrder, 30,000: (crossing CROSSING_FILLS orders - crossing
      1) / (CROSSING_FILLS - 1). A fill reads and rewrites the resting order's one slot (5,000),
      records a transaction in a slot that a settled transaction freed (read for its free-list
      link 2,100, rewritten 2,900) and emits OrdersMatched (~2,400); the new order's own slot and
      the global settlement slot are warm by then: ~12,400 of storage and log, ~17,900 measured
      with the walk's execution. Steady state: earlier transactions have settled, so the free
      list holds slots (a market writes a fresh record slot, 22,100, only while more
      transactions are pending than ever before: the first-time figure of a match shows it).
    - matchOrders 100,000, settleTransaction 90,000, their sum 125,000. A match (~52,400) reads
      and rewrites both orders (10,000; a directed order names its counterparty by trader index
      in its own slot, so checking it reads nothing more), reads the global settlement slot (the
      pause flag, 2,100) and rewrites it with the transaction count and the free list's new head
      (2,900), and records the transaction in the slot at the list's head (read 2,100, rewritten
      2,900). A settlement (~72,500) reads the record and rewrites its status and free-list link
      (5,000), reads the settlement window and rewrites the fees and the list's head in the
      global slot (5,000), reads both orders (prices and trader indexes, 4,200) and the two
      traders' addresses (4,200), and pays both parties in one vault call (settleBatch, its
      arguments laid out by hand: the market's, the buyer's and the seller's balance slots
      rewritten, ~22,500 with the call). Their sum is ~124,900: within the budget by little, as
      every slot left is read for a reason (a record that named the traders and both prices
      besides the two order ids would save the order reads but does not fit one slot).
    """
    seller, buyer, first_seller, first_buyer, crowd = traders
    market = system.energy_trading
    expiry = _prepare_traders(system, operator, chain, traders)
    first = _first_time_market_gas(market, operator, first_seller, first_buyer, expiry)
    small_book, large_book = _market_rounds_on_two_books(market, seller, buyer, crowd, expiry)
    _report_market(report, small_book, large_book, first)


MARKET_BUDGETS = {
    "createOrder SELL": BUDGET_CREATE_ORDER,
    "createOrder BUY": BUDGET_CREATE_ORDER,
    "cancelOrder SELL": BUDGET_CANCEL_ORDER,
    "cancelOrder BUY": BUDGET_CANCEL_ORDER,
    "createOrder crossing, per extra fill": BUDGET_CROSSING_EXTRA_FILL,
    "matchOrders (full)": BUDGET_MATCH_ORDERS,
    "matchOrders (partial)": BUDGET_MATCH_ORDERS,
    "settleTransaction": BUDGET_SETTLE,
    "settleTransaction (no price improvement)": BUDGET_SETTLE,
}


def _prepare_traders(system: Any, operator: Any, chain: Any, traders: list[Any]) -> int:
    """Funds the traders, meters energy to the sellers and the crowd, approves the market in the vault
    and deposits there; returns an expiry that outlives the bench."""
    seller, buyer, first_seller, first_buyer, crowd = traders
    fund_local_accounts(system, operator, [seller, buyer, first_seller, first_buyer, crowd])
    meter_energy(system, operator, chain, [seller, first_seller, crowd], 5_000_000)
    approve_market(system, [seller, buyer, first_seller, first_buyer, crowd])
    # Steady state trades from the vault: deposits cover every order of the bench, the rest of the
    # wallets stays for the benches that follow.
    deposit_to_vault(system, [seller, buyer, first_seller, first_buyer, crowd], VAULT_DEPOSIT_WH, VAULT_DEPOSIT_PAYMENT)
    return int(chain.pending_timestamp + 30 * 86_400)


def _first_time_market_gas(market: Any, operator: Any, first_seller: Any, first_buyer: Any, expiry: int) -> dict[str, int]:
    """First-time figures: a trader's first order (opening a level: these are the anchors that keep
    BID_LEVEL and ASK_LEVEL occupied), a bilateral deal's first match and settlement."""
    first_sell = market.createOrder(1_000, ASK_LEVEL, expiry, SELL, sender=first_seller)
    first_buy = market.createOrder(1_000, BID_LEVEL, expiry, BUY, sender=first_buyer)
    offer = market.createDirectedOrder(1_000, PRICE_PER_KWH, expiry, SELL, first_buyer, sender=first_seller)
    bid = market.createDirectedOrder(1_000, PRICE_PER_KWH + 10_000, expiry, BUY, first_seller, sender=first_buyer)
    first_match = market.matchOrders(bid.return_value, offer.return_value, sender=operator)
    first_settle = market.settleTransaction(first_match.return_value, sender=operator)
    return {
        "createOrder SELL": first_sell.gas_used,
        "createOrder BUY": first_buy.gas_used,
        "matchOrders (full)": first_match.gas_used,
        "settleTransaction": first_settle.gas_used,
    }


def _market_rounds_on_two_books(market: Any, seller: Any, buyer: Any, crowd: Any, expiry: int) -> tuple[dict[str, int], dict[str, int]]:
    """A steady-state market round with 10 and with 1,000 of the crowd's orders resting on the
    book (after a warm-up round); returns the two rounds' gas per operation, each with the derived
    cost of an extra fill."""

    def resting_orders(count: int) -> None:
        # Spread over their own levels, above every price a round trades at: nothing crosses.
        for i in range(count):
            market.createOrder(1_000, PRICE_PER_KWH * 2 + i, expiry, SELL, sender=crowd)

    market_round(market, seller, buyer, expiry, 0)  # warm-up: every later round is steady state
    resting_orders(10)
    small_book = market_round(market, seller, buyer, expiry, 1)
    resting_orders(990)
    large_book = market_round(market, seller, buyer, expiry, 2)

    one, many = "createOrder BUY crossing 1 order", f"createOrder BUY crossing {CROSSING_FILLS} orders"
    for book in (small_book, large_book):
        book["createOrder crossing, per extra fill"] = (book[many] - book[one]) // (CROSSING_FILLS - 1)
    return small_book, large_book


def _report_market(report: GasReport, small_book: dict[str, int], large_book: dict[str, int], first: dict[str, int]) -> None:
    """Each operation on the small book against its budget, the 1,000-order and first-time figures
    beside it; a match with its settlement; and each operation's growth from the small book to the
    large one, held within BOOK_GROWTH_TOLERANCE."""
    for operation, gas in small_book.items():
        notes = [f"1,000-order book: {large_book[operation]:,}"]
        if operation in first:
            notes.append(f"first time: {first[operation]:,}")
        report.add(operation, gas, MARKET_BUDGETS.get(operation), "; ".join(notes))
    report.add(
        "matchOrders + settleTransaction",
        max(small_book["matchOrders (full)"], small_book["matchOrders (partial)"]) + small_book["settleTransaction"],
        BUDGET_MATCH_AND_SETTLE,
    )
    for operation, gas in small_book.items():
        growth = abs(large_book[operation] - gas) / gas
        report.add(
            f"book 10 -> 1,000: {operation}",
            large_book[operation],
            int(gas * (1 + BOOK_GROWTH_TOLERANCE)),
            f"{growth:+.2%} vs {gas:,} (budget: within 5 %)",
        )


BUDGET_REPORT_PRODUCTION = 45_000
BUDGET_CONSUME_ENERGY = 80_000
BUDGET_STORAGE_FLOW = 55_000
BUDGET_GRID_OPERATOR_ACTION = 60_000
BUDGET_NEW_RECORD = 90_000
BUDGET_REGISTRATION = 75_000
BUDGET_EMERGENCY_SHUTDOWN = 120_000


def bench_grid_management(report: GasReport, system: Any, operator: Any, chain: Any, participants: list[Any]) -> None:
    """GridManagement's state-changing operations; steady state = a participant's later operation.

    Budgets from the storage each writes (a fresh slot 22,100 gas, a rewritten one 2,900 plus the
    2,100 cold read, 21,000 per transaction):
    - reportProduction rewrites the producer's slot, its energy counter and the grid totals: 45,000;
    - chargeStorage / dischargeStorage rewrite the unit's two slots and the interval's flows: 55,000;
    - consumeEnergy rewrites the consumer's two slots and moves PaymentToken (balance and allowance
      reads, two balances and the allowance rewritten): 80,000;
    - an operator action that rewrites state (reputation, emergency mode, grid status): 60,000;
    - a new record (metrics, an emergency) writes two fresh slots and bumps a counter: 90,000;
    - a registration writes two or three fresh slots: 75,000;
    - emergencyShutdown pauses GridManagement and three targets (the book, the meters, the
      auction: fresh pause flags, external calls, ~20,000 each): 120,000; it runs once in an
      emergency.
    """
    producer, consumer, battery, second_operator = participants
    grid = system.grid_management
    fund_local_accounts(system, operator, [consumer])
    system.payment_token.approve(grid, MAX_UINT256, sender=consumer)

    registrations = {
        "registerProducer": grid.registerProducer(50_000_000, 1, sender=producer),
        "registerConsumer": grid.registerConsumer(10_000_000, sender=consumer),
        "registerStorage": grid.registerStorage(20_000_000, 10_000_000, 10_000_000, sender=battery),
        "registerOperator": grid.registerOperator("Bench grid operator", 1, 500, sender=second_operator),
    }
    for operation, tx in registrations.items():
        report.add(operation, tx.gas_used, BUDGET_REGISTRATION, "first time (fresh slots)")
    report.add("verifyOperator", grid.verifyOperator(second_operator, sender=operator).gas_used, BUDGET_GRID_OPERATOR_ACTION)
    # Only verified producers and storage units report output and move energy.
    grid.verifyProducer(producer, sender=operator)
    grid.verifyStorage(battery, sender=operator)

    def twice(operation: str, budget: int, send: Any, first_note: str = "first time") -> None:
        """Sends `send()` twice, a 900 s interval apart: the second is the steady-state figure."""
        first = send()
        chain.pending_timestamp += INTERVAL_SECONDS
        steady = send()
        report.add(operation, steady.gas_used, budget, f"{first_note}: {first.gas_used:,}")

    outputs = iter(range(30_000_000, 40_000_000, 1_000_000))
    grid.reportProduction(next(outputs), sender=producer)  # the first report: nothing produced before it
    chain.pending_timestamp += INTERVAL_SECONDS
    twice(
        "reportProduction",
        BUDGET_REPORT_PRODUCTION,
        lambda: grid.reportProduction(next(outputs), sender=producer),
        "second report, the first to book energy",
    )
    twice("consumeEnergy", BUDGET_CONSUME_ENERGY, lambda: grid.consumeEnergy(1_500, MAX_UINT256, sender=consumer))
    twice("chargeStorage", BUDGET_STORAGE_FLOW, lambda: grid.chargeStorage(1_000_000, sender=battery))
    twice("dischargeStorage", BUDGET_STORAGE_FLOW, lambda: grid.dischargeStorage(500_000, sender=battery))
    scores = iter((90, 80))
    twice(
        "updateProducerReputation",
        BUDGET_GRID_OPERATOR_ACTION,
        lambda: grid.updateProducerReputation(producer, next(scores), sender=operator),
    )
    emergency_states = iter((True, False))
    twice(
        "toggleEmergencyMode",
        BUDGET_GRID_OPERATOR_ACTION,
        lambda: grid.toggleEmergencyMode(1, next(emergency_states), sender=operator),
    )
    twice(
        "updateGridStatus",
        BUDGET_GRID_OPERATOR_ACTION,
        lambda: grid.updateGridStatus(40_000_000, 38_000_000, 49_980, 1_004, sender=operator),
    )
    twice("recordMetrics", BUDGET_NEW_RECORD, lambda: grid.recordMetrics(900_000, 850_000, 40_000_000, 9_400, sender=operator))
    twice(
        "implementEmergencyProtocol",
        BUDGET_NEW_RECORD,
        lambda: grid.implementEmergencyProtocol(1, 3, b"BENCH".ljust(32, b"\0"), sender=operator),
    )
    targets = (system.energy_trading, system.smart_meter, *system.energy_auctions)
    shutdown = grid.emergencyShutdown(sender=operator)
    report.add("emergencyShutdown", shutdown.gas_used, BUDGET_EMERGENCY_SHUTDOWN, f"pauses {len(targets)} targets")
    for contract in (grid, *targets):
        contract.unpause(sender=operator)


# --- GridOperations ---------------------------------------------------------------------------
#
# Storage costs behind the budgets (EIP-2929/2200): a cold slot rewritten with a new non-zero value
# costs 5,000 (2,100 cold access + 2,900); a fresh slot (zero to non-zero) 22,100. Every operator
# transaction pays 21,000 base, calldata, about 5,500 for the one operatorStatus call into
# GridManagement (cold account, one cold slot there), an event of 2,000-3,000 and a few thousand
# of execution: about 32,000 before its own storage.

# The ring's word and the count's rewritten and the reporter's place read: 32,000 + 2 x 5,000 + 2,100,
# ample margin.
BUDGET_REPORT_LOAD = 60_000
# A batch's region pays its ring word rewritten (5,000), a quarter of a count word (four regions of
# neighbouring ids share one), its event (about 2,700), its 96 bytes of calldata and the loop, with no
# operatorStatus call and one read of the reporter's place: the transaction is shared.
BUDGET_REPORT_LOADS_PER_REGION = 18_000
LOAD_BATCH_REGIONS = 34  # a market's most zones (MarketZones.MAX_ZONES), each a feeder's region
BUDGET_REPORT_STABILITY = 45_000  # the region's metrics slot rewritten: 32,000 + 5,000
BUDGET_REPORT_STABILITY_FIRING = 100_000  # + config read 2,100, response counter 5,000, 2 fresh slots 44,200, event
BUDGET_CONFIGURE_RESPONSE = 60_000  # first configuration of a trigger: 1 fresh slot (22,100) + 32,000
BUDGET_SET_REGION_CAPACITY = 45_000  # the region's capacity slot rewritten: 32,000 + 5,000
BUDGET_INITIATE_BALANCING = 95_000  # capacity slot + action counter rewritten (10,000), 2 fresh action slots (44,200)
BUDGET_COMPLETE_BALANCING = 50_000  # action slots read (4,200), second rewritten (2,900), capacity slot 5,000


def bench_grid_operations(report: GasReport, grid_operations: Any, operator: Any, chain: Any, *, region_id: int) -> None:
    """GridOperations' operator functions, steady state and first time.

    `operator`: a verified, authorized GridManagement operator of `region_id`, in a region that
    has no GridOperations data yet (so the first-time figures are first times), and GridOperations'
    admin, which grants itself LOAD_REPORTER_ROLE for the batched load reports. Nothing here is
    CRITICAL, so GridManagement's emergency mode is left alone.
    """
    go, tx = grid_operations, {"sender": operator}

    # reportLoad: the first report also lists the operator as a reporter and creates the region's report
    # count; two reports share a word of the ring, so the next 95 write a fresh word every other report;
    # from the 97th on, the ring wraps and rewrites its oldest half word (steady state).
    loads = []
    for i in range(go.LOAD_HISTORY_CAPACITY() + 2):
        chain.pending_timestamp += INTERVAL_SECONDS
        loads.append(go.reportLoad(region_id, 1_000, 500 + i, **tx).gas_used)
    first_load, fresh_word, wrapped = loads[0], loads[2], loads[-1]
    report.add(
        "reportLoad (ring wrapped)",
        wrapped,
        BUDGET_REPORT_LOAD,
        f"first report: {first_load:,}; a fresh ring word (every other report): {fresh_word:,}",
    )

    # reportLoads: a head-end's one transaction for every feeder of a market coupled across its most
    # zones, steady once every region's ring has wrapped.
    go.grantRole(go.LOAD_REPORTER_ROLE(), operator, **tx)
    regions = [region_id + 1_000 + k for k in range(LOAD_BATCH_REGIONS)]
    batches = []
    for i in range(go.LOAD_HISTORY_CAPACITY() + 1):
        chain.pending_timestamp += INTERVAL_SECONDS
        batches.append(go.reportLoads([(region, 1_000, 500 + i) for region in regions], **tx).gas_used)
    report.add(
        f"reportLoads of {LOAD_BATCH_REGIONS} regions, per region (rings wrapped)",
        batches[-1] // LOAD_BATCH_REGIONS,
        BUDGET_REPORT_LOADS_PER_REGION,
        f"the whole transaction: {batches[-1]:,}; each region's first report: {batches[0] // LOAD_BATCH_REGIONS:,} a region",
    )

    first = go.reportStabilityMetrics(region_id, 50_000, 1_000, 0, **tx).gas_used
    steady = go.reportStabilityMetrics(region_id, 50_100, 1_010, 1_500, **tx).gas_used
    report.add("reportStabilityMetrics (NORMAL)", steady, BUDGET_REPORT_STABILITY, f"first report: {first:,}")

    under_frequency, over_voltage, generation_up, generation_down = 1, 4, 1, 2
    configured = go.configureAutomatedResponse(under_frequency, generation_up, 50, 2, **tx).gas_used
    reconfigured = go.configureAutomatedResponse(under_frequency, generation_up, 60, 2, **tx).gas_used
    report.add("configureAutomatedResponse", configured, BUDGET_CONFIGURE_RESPONSE, f"reconfigure: {reconfigured:,}")

    go.reportStabilityMetrics(region_id, 49_400, 1_000, 0, **tx)  # the response counter's first write
    one = go.reportStabilityMetrics(region_id, 49_300, 1_000, 0, **tx).gas_used
    go.configureAutomatedResponse(over_voltage, generation_down, 40, 3, **tx)
    two = go.reportStabilityMetrics(region_id, 49_300, 1_080, 0, **tx).gas_used
    report.add(
        "reportStabilityMetrics (1 response fires)",
        one,
        BUDGET_REPORT_STABILITY_FIRING,
        f"2 responses fire (the most one report can): {two:,}",
    )
    manual = go.triggerStabilityResponse(region_id, 49_000, 1_000, 2, **tx).gas_used
    report.add("triggerStabilityResponse (EMERGENCY)", manual, BUDGET_NEW_RECORD, "2 fresh record slots")

    first = go.setRegionCapacity(region_id, 1_000, 600, 300, **tx).gas_used
    steady = go.setRegionCapacity(region_id, 1_000, 600, 350, **tx).gas_used
    report.add("setRegionCapacity", steady, BUDGET_SET_REGION_CAPACITY, f"first time: {first:,}")

    def initiate(action_type: int, target_kw: int) -> Any:
        return go.initiateBalancingAction(region_id, action_type, target_kw, 1, **tx)

    first = initiate(generation_up, 10)
    steady = initiate(generation_up, 10)
    report.add(
        "initiateBalancingAction",
        steady.gas_used,
        BUDGET_INITIATE_BALANCING,
        f"first action: {first.gas_used:,}",
    )
    completed = go.completeBalancingAction(steady.return_value, **tx).gas_used
    completed_down = go.completeBalancingAction(initiate(generation_down, 10).return_value, **tx).gas_used
    report.add(
        "completeBalancingAction",
        max(completed, completed_down),
        BUDGET_COMPLETE_BALANCING,
        f"GENERATION_UP: {completed:,}; GENERATION_DOWN: {completed_down:,}",
    )
    cancelled = go.cancelBalancingAction(first.return_value, **tx).gas_used
    report.add("cancelBalancingAction", cancelled, BUDGET_COMPLETE_BALANCING)


BUDGET_SUBMIT_PRICE = 80_000
BUDGET_SUBMIT_WEATHER = 80_000
BUDGET_SUBMIT_GRID_DATA = 80_000
BUDGET_CREATE_ORDER_BAND_ON = 160_000
ORACLE_REGION = 1


def bench_oracles(report: GasReport, system: Any, operator: Any, chain: Any, reporters: list[Any], trader: Any) -> None:
    """The oracles' submissions with 3 reporters, steady and first-time, and createOrder with the
    price band on.

    The system's PriceOracle, WeatherOracle and GridOracle get the 3 `reporters` (`operator`, their
    admin and the market's, may be one already). `trader` must hold EnergyToken and PaymentToken
    and have approved the market. The market's price band is off again at the end.

    Rounds need a quorum of 2 of the 3 reporters, so in each steady pass the first reporter's report
    opens a round and waits, the second's makes the quorum and writes the value, and the third's
    refines the answered round. The figure is the costliest of the three; the note gives each.
    Budgets, from what a steady submission that writes a value (every slot already stored) must pay:

    - submitPrice, 80,000: 21,000 intrinsic; cold loads of the reporter list (count with
      heartbeat and quorum, 3 reporters: 4 x 2,100), of the reporter's own report (2,100) and of the
      other 2 reports (2 x 2,100); the reporter's report rewritten (2,900); the state slot read and
      rewritten (2,100 + 2,900); a fresh round slot (22,100); two events (~4,000): ~70,000 before
      execution.
    - submitWeather and submitGridData, 80,000 each: 21,000 intrinsic and ~700 calldata; the same
      reporter list and report loads (6 x 2,100); the report and the region's value rewritten
      (2 x 5,000); two events, the report and the new medians (~4,700): ~49,000 before
      execution, then four per-field medians in memory. The costliest is the report refining an
      answered round: it reads the others' reports twice (to find the round it joins, then for
      the medians) and sorts three values per field; measured ~75,500.
    - createOrder with the band on, 160,000: createOrder's own 120,000 budget plus the band's reads,
      all cold: the band's source slot (2,100), PriceDiscovery (account 2,600, settings and time
      table 2 x 2,100), the three oracles (3 x 2,600 accounts + 3 x 2,100 slots), 23,000 in all;
      then three external calls with their ABI encoding and decoding, the oracles' unpacking and
      the factor math (~13,000 measured): ~36,000 over band off, leaving ~8,000 for inputs that
      take other branches.
    """
    admin = {"sender": operator}
    price_oracle, weather, grid = system.price_oracle, system.weather_oracle, system.grid_oracle
    discovery = system.price_discovery
    for oracle in (price_oracle, weather, grid):
        for reporter in reporters:
            if not oracle.isReporter(reporter):
                oracle.addReporter(reporter, **admin)
        assert len(oracle.getReporters()) == len(reporters)

    def submissions(step: int) -> dict[str, list[int]]:
        """Every reporter submits to every oracle once, in order; each submission's gas, per oracle."""
        gas: dict[str, list[int]] = {"submitPrice": [], "submitWeather": [], "submitGridData": []}
        for i, reporter in enumerate(reporters):
            v = step + i  # distinct values, so the medians have something to sort
            gas["submitPrice"].append(price_oracle.submitPrice(PRICE_PER_KWH + 100 * v, sender=reporter).gas_used)
            gas["submitWeather"].append(
                weather.submitWeather(ORACLE_REGION, 400 + v, 12_000 - v, 5_000 + v, 4_000, sender=reporter).gas_used
            )
            gas["submitGridData"].append(
                grid.submitGridData(
                    ORACLE_REGION, 50_010 - v, 1_002, 20_000_000 + v, 18_000_000 - v, sender=reporter
                ).gas_used
            )
        return gas

    first = submissions(0)
    chain.pending_timestamp += 60
    submissions(3)  # warm-up: every slot exists from here on
    chain.pending_timestamp += 60
    steady = submissions(1)
    budgets = {
        "submitPrice": BUDGET_SUBMIT_PRICE,
        "submitWeather": BUDGET_SUBMIT_WEATHER,
        "submitGridData": BUDGET_SUBMIT_GRID_DATA,
    }
    for operation, (waiting, quorate, refining) in steady.items():
        report.add(
            f"{operation} (3 reporters)",
            max(waiting, quorate, refining),
            budgets[operation],
            f"making the quorum: {quorate:,}; waiting for it: {waiting:,}; refining an answered round:"
            f" {refining:,}; first round: {max(first[operation]):,}",
        )
    view_gas = discovery.getReferencePrice.estimate_gas_cost(ORACLE_REGION, sender=operator)
    report.add("getReferencePrice (view)", view_gas, None, "as a transaction, 21,000 intrinsic included")

    market = system.energy_trading
    expiry = chain.pending_timestamp + 86_400
    reference = discovery.getReferencePrice(ORACLE_REGION)

    def order_gas(kind: int) -> int:
        # Asks above and bids below the reference (inside a ±20 % band): they rest without crossing.
        price = reference + reference // 10 if kind == SELL else reference - reference // 10
        return market.createOrder(1_000, price, expiry, kind, sender=trader).gas_used

    order_gas(SELL), order_gas(BUY)  # the trader's slots exist from here on
    band_off = max(order_gas(SELL), order_gas(BUY))
    market.setPriceBand(discovery, ORACLE_REGION, 2_000, **admin)
    band_on = {SELL: order_gas(SELL), BUY: order_gas(BUY)}
    market.setPriceBand(discovery, ORACLE_REGION, 0, **admin)
    for kind, name in ((SELL, "SELL"), (BUY, "BUY")):
        report.add(
            f"createOrder {name}, price band on",
            band_on[kind],
            BUDGET_CREATE_ORDER_BAND_ON,
            f"band off (costlier side): {band_off:,}",
        )


BUDGET_SETTING = 60_000
BUDGET_LIST_SETTING = 100_000


def bench_settings(report: GasReport, system: Any, admin: Any, participant: Any) -> None:
    """The remaining state-changing operations: activation, the admin's parameters and lists.

    A setting rewrites one or two slots and emits an event: 60,000. A list setting writes up to
    three fresh slots (shutdown targets, a reporter and its index, the time-of-day table packed in
    two slots): 100,000. `admin` also holds the local operator and guardian roles; `participant`
    has no GridManagement registration yet.
    """
    grid, ops, market = system.grid_management, system.grid_operations, system.energy_trading
    price_oracle, discovery = system.price_oracle, system.price_discovery
    tx = {"sender": admin}
    grid.registerProducer(1_000_000, 0, sender=participant)
    grid.registerConsumer(100_000, sender=participant)
    measured = {
        "deactivateParticipant (producer)": (grid.deactivateParticipant(participant, True, **tx), BUDGET_SETTING),
        "reactivateParticipant (producer)": (grid.reactivateParticipant(participant, True, **tx), BUDGET_SETTING),
        "deactivateParticipant (consumer)": (grid.deactivateParticipant(participant, False, **tx), BUDGET_SETTING),
        "reactivateParticipant (consumer)": (grid.reactivateParticipant(participant, False, **tx), BUDGET_SETTING),
        "setOperatorAuthorization": (grid.setOperatorAuthorization(admin, True, **tx), BUDGET_SETTING),
        "setBasePrice": (grid.setBasePrice(210_000, **tx), BUDGET_SETTING),
        "setFeeRecipient (GridManagement)": (grid.setFeeRecipient(admin, **tx), BUDGET_SETTING),
        "setShutdownTargets (2)": (grid.setShutdownTargets([market, system.smart_meter], **tx), BUDGET_LIST_SETTING),
    }
    ops.configureAutomatedResponse(2, 2, 5, 3, **tx)  # over-frequency: generation down 5 kW
    measured["removeAutomatedResponse"] = (ops.removeAutomatedResponse(1, 2, **tx), BUDGET_SETTING)
    newcomer = Account.create().address
    measured["addReporter"] = (price_oracle.addReporter(newcomer, **tx), BUDGET_LIST_SETTING)
    measured["removeReporter"] = (price_oracle.removeReporter(newcomer, **tx), BUDGET_SETTING)
    measured["setHeartbeat"] = (price_oracle.setHeartbeat(1_800, **tx), BUDGET_SETTING)
    measured["setMaxDeviation"] = (price_oracle.setMaxDeviation(3_000, **tx), BUDGET_SETTING)
    measured["setMinQuorum"] = (price_oracle.setMinQuorum(0, **tx), BUDGET_SETTING)
    measured["setTimeFactors"] = (discovery.setTimeFactors([10_000] * 24, **tx), BUDGET_LIST_SETTING)
    measured["setUtcOffset"] = (discovery.setUtcOffset(60, **tx), BUDGET_SETTING)
    measured["setMaxAge"] = (discovery.setMaxAge(0, 1_800, **tx), BUDGET_SETTING)
    measured["setPriceBand (on)"] = (market.setPriceBand(discovery, 1, 1_000, **tx), BUDGET_SETTING)
    measured["setPriceBand (off)"] = (market.setPriceBand(discovery, 1, 0, **tx), BUDGET_SETTING)
    for operation, (receipt, budget) in measured.items():
        report.add(operation, receipt.gas_used, budget)


# The runtime code budget of every deployed contract: 22,000 bytes, below EIP-170's 24,576 with room for
# what the next change adds (the optimizer stays at 600 runs without via-IR). The auction and the
# SmartMeter keep their rarely called functions in extensions of their own, as Balancer's vault does.
BUDGET_LARGEST_CONTRACT_BYTES = 22_000


def bench_code_size(report: GasReport, system: Any, chain: Any) -> None:
    """The largest runtime code of the deployed contracts (in bytes, in the gas column), named in the note."""
    by_address: dict[str, str] = {}  # the first name of each address (Settlement is EnergyTrading's too)
    for name, contract in system.contracts().items():
        by_address.setdefault(str(contract.address), name)
    # Each extension is deployed code too, at the address its contract names.
    for name, address in extension_addresses(system.contracts()).items():
        by_address.setdefault(address, name)
    sizes = {name: len(chain.provider.get_code(address)) for address, name in by_address.items()}
    largest, runner_up = sorted(sizes, key=lambda name: sizes[name], reverse=True)[:2]
    report.add(
        "largest deployed contract (bytes)",
        sizes[largest],
        BUDGET_LARGEST_CONTRACT_BYTES,
        f"{largest}; the next, {runner_up}: {sizes[runner_up]:,}",
    )
