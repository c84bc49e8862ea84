"""A hypothesis state machine over the whole deployed system, with the invariants it checks after
every step.

`SystemWorld` deploys and seeds the system once (ape, slow, before the first example) and takes an
anvil snapshot; every example reverts to it, so it starts from the same deployed system. Steps and
checks then go through raw JSON-RPC (`fuzz_rpc`): transactions from anvil's unlocked dev accounts,
invariant reads as one batch of eth_calls.

Chain time is deterministic: every block is 1 s after the previous one (anvil's block timestamp
interval), and the `advance_time` rule mines a block further ahead. So a derandomized run replays
exactly.

Rules mostly pick valid inputs (ids the model knows, amounts the accounts hold); a share are
invalid on purpose. Every revert must be a custom error some contract declares (fuzz_rpc.ErrorBook),
and a revert moves nothing by construction, which the invariants then see.

Every transaction that moves value is its own step (its own rule, or one stage of a `*_step` flow
rule), so the invariants are checked in every intermediate state: an auction cleared but not
claimed, a trade matched but not settled, a reduction verified but not paid.

To extend:
- a rule: a method with `@rule(...)` (and `@precondition` when it needs model state) that sends at
  most one value-moving transaction through `self.send(...)` (which counts the action, records its
  outcome for the coverage table and keeps the model's clock); update the model only from a
  successful outcome (its logs). A lifecycle the machine should walk often gets a stage in a
  `*_step` flow rule (one transaction per call, the next stage chosen from the model).
- an invariant: add the views it needs to `_reads` (one batch of eth_calls per step), keep in the
  model what no view tells, and add a `_check_*` method called from `_check`.
- a contract: add it to `contracts` in `build_world`; its state-changing functions then appear in
  the coverage table (`coverage_table`), listed as never called until a rule calls them.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from energy_grid.demand_response import MeterWriter
from energy_grid.deployment import deploy_system, fund_local_accounts, setup_local_roles
from energy_grid.units import DAY_SECONDS, FREQUENCY_NOMINAL_MILLIHZ, INTERVAL_SECONDS, VOLTAGE_NOMINAL_PER_MILLE

from support.fuzz_rpc import (
    TRANSFER_SINGLE_TOPIC,
    TRANSFER_TOPIC,
    Contract,
    ErrorBook,
    Node,
    Outcome,
    Reverted,
    Rpc,
    topic,
    topic_address,
    topic_int,
    word,
)

MAX_UINT = 2**256 - 1
BUY, SELL = 0, 1
ACTIVE, FILLED, CANCELLED = 0, 1, 2
PENDING, SETTLED, VOIDED = 0, 1, 2
REGION = 1
SOLAR = 0
INITIAL_EXPORT_WH = 2_000_000  # metered into each trader's wallet at setup
SHARE_COUNT = 1_000
DR_BASELINE_WH = 500  # per interval before the machine starts: 2,000 W
DR_WINDOW_WH = 250  # per interval while it runs: 1,000 W, a 1,000 W reduction in any event
HISTORY_DAYS = 6
REJECTION_REASON = b"not eligible".ljust(32, b"\0")
# An example moves the clock at most this far: DR baselines (the 5 days before a window) stay inside
# the history written at setup.
MAX_ELAPSED_SECONDS = 20 * 3_600
SETTLEMENT_WINDOW_SECONDS = 300
AUCTION_PERIOD_SECONDS = 900
AUCTION_GATE_SECONDS = 300
ORDER_PAGE = 100  # EnergyTrading.MAX_PAGE_SIZE
DR_PAGE = 100  # DemandResponse.MAX_PAGE_LIMIT
DR_VERIFIED, DR_REWARDED = 1, 2

# The auction's deployed price grid (deployment.DEFAULT_AUCTION_PRICE_GRID): ticks 0..255.
AUCTION_MIN_PRICE, AUCTION_TICK_SIZE = 50_000, 1_000
AUCTION_MID_TICK = 128
# Bids at AUCTION_MID_TICK + level, asks at AUCTION_MID_TICK - level: most pairs cross; -40 does not
# cross 10 or less, and 128 puts a bid off the grid (tick 256) and an ask on its lowest tick.
AUCTION_LEVELS = (-40, 0, 10, 10, 60, 127, 128)
PRICES = (150_000, 190_000, 200_000, 210_000, 250_000)  # per kWh: a few levels, so orders cross
AMOUNTS = (1, 999, 10_000, 250_000)


def ceil_cost(amount_wh: int, price_per_kwh: int) -> int:
    return -(-amount_wh * price_per_kwh // 1_000)


# ----------------------------------------------------------------------------- parameter changes


def apply_parameter(world: SystemWorld, name: str, value: int) -> Outcome:
    """Every admin parameter change of the machine goes through here: today the admin sends it;
    under governance this becomes propose → vote → queue → execute on the timelock."""
    target, fn = PARAMETERS[name]
    return world.node.transact(world.c[target], fn, (value,), world.admin)


PARAMETERS: dict[str, tuple[str, str]] = {
    "grid_fee_bps": ("trading", "setGridFee"),
    "auction_fee_bps": ("auction", "setGridFee"),
    "base_price_per_kwh": ("grid", "setBasePrice"),
    "min_order_wh": ("trading", "setMinOrderAmount"),
    "max_price_per_kwh": ("trading", "setMaxPrice"),
    "settlement_window_s": ("trading", "setSettlementWindow"),
    "emission_factor": ("carbon", "setAvoidedEmissionFactor"),
    "min_reading_interval_s": ("meter", "setMinReadingInterval"),
}
PARAMETER_VALUES: dict[str, tuple[int, ...]] = {
    "grid_fee_bps": (0, 50, 1_000, 1_001),  # 1,001: FeeTooHigh
    "auction_fee_bps": (0, 50, 1_000, 1_001),
    "base_price_per_kwh": (100_000, 200_000, 0),
    "min_order_wh": (1, 1_000, 0),  # 0: MinOrderAmountOutOfRange
    "max_price_per_kwh": (240_000, 2**72 - 1, 0),
    "settlement_window_s": (0, SETTLEMENT_WINDOW_SECONDS, 3_600, 7 * DAY_SECONDS + 1),
    "emission_factor": (400, 123, 0),
    "min_reading_interval_s": (60, 1, 10**9),
}


# ----------------------------------------------------------------------------- the deployed world


@dataclass
class SystemWorld:
    """The deployed, seeded system and the raw-RPC handles the machine uses (built once per session)."""

    node: Node
    c: dict[str, Contract]
    admin: str
    traders: list[str]
    devices: list[str]  # traders[i]'s producing meter, which signs its own readings
    dr_meters: list[str]  # traders[i]'s consumption meter (i < 2), written by the gateway
    stranger: str
    asset_id: int
    snapshot_id: str
    start_timestamp: int
    holders: dict[str, set[str]]  # token name -> every account that ever held it
    dr_registers: dict[str, int]
    dr_written_interval: int  # the DR meters' last written interval
    functions: dict[str, list[str]]  # contract name -> its state-changing functions (the coverage table's rows)
    actions: int = 0
    outcomes: Counter = field(default_factory=Counter)  # "contract.function:ok" or ":<custom error>" -> count
    seconds: float = 0.0

    def restore(self) -> None:
        """Back to the world as built. Its snapshot predates the test runner's per-test one, which the
        first revert drops: one test per world (per module), so the runner's isolation cannot undo ours."""
        self.node.revert(self.snapshot_id)
        self.snapshot_id = self.node.snapshot()
        rpc = self.node.rpc
        rpc.request("anvil_setBlockTimestampInterval", [1])
        rpc.request("evm_setNextBlockTimestamp", [self.start_timestamp + 1])


def build_world(project: Any, chain: Any, accounts: Any) -> SystemWorld:
    admin, traders, devices, stranger = accounts[0], [accounts[i] for i in (1, 2, 3)], [accounts[i] for i in (4, 5, 6)], accounts[9]
    system = deploy_system(project, admin)
    setup_local_roles(system, admin)
    fund_local_accounts(system, admin, [*traders, stranger])
    system.payment_token.addConsumerBalance(admin, 10_000, sender=admin)
    # The markets take no token themselves: their escrow comes from vault balances, and the vault pulls
    # a shortfall from the wallet with its allowance. Funds stay in the wallets (the other contracts
    # spend them there); claims and the book's payouts then build vault balances that later orders spend first.
    spenders = (system.energy_vault, system.energy_asset_shares, system.demand_response)
    for account in (*traders, admin, stranger):
        for spender in spenders:
            system.energy_token.approve(spender, MAX_UINT, sender=account)
            system.payment_token.approve(spender, MAX_UINT, sender=account)
        system.energy_vault.setMarketApproval(system.energy_auction, True, sender=account)
        system.energy_vault.setMarketApproval(system.energy_trading, True, sender=account)
    meter = system.smart_meter
    dr_meters = [Account.from_key(bytes([0x5E] * 31 + [i + 1])).address for i in range(2)]
    writer = MeterWriter(meter, admin)
    for device, trader in zip(devices, traders, strict=True):
        meter.registerMeter(device, trader, REGION, 0, 0, sender=admin)
    writer.register(dr_meters, traders[:2], REGION)
    for trader, dr_meter in zip(traders[:2], dr_meters, strict=True):
        system.demand_response.registerConsumer(trader, dr_meter, sender=trader)
    # History for the DR baselines: HISTORY_DAYS of constant load, every interval, up to now. Now is
    # a day's first second, whatever the wall clock said, so that every run's periods, gates and
    # days fall at the same steps of the machine.
    chain.pending_timestamp = (chain.pending_timestamp // DAY_SECONDS + HISTORY_DAYS + 1) * DAY_SECONDS
    chain.mine()
    now = chain.blocks.head.timestamp
    last_interval = (now - 1 - 600) // INTERVAL_SECONDS
    first_interval = last_interval - HISTORY_DAYS * 96 + 3  # clear of the registration baseline
    writer.write(dr_meters, range(first_interval, last_interval + 1), DR_BASELINE_WH)
    # Each trader's producing meter exports INITIAL_EXPORT_WH: its owner's energy to trade.
    ts = chain.pending_timestamp
    for device in devices:
        meter.submitReading((ts, 0, 0, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE), sender=device)
    ts += meter.minReadingInterval()
    chain.pending_timestamp = ts
    for device in devices:
        meter.submitReading((ts, 0, INITIAL_EXPORT_WH, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE), sender=device)
    for device in devices:
        system.carbon_credits.registerCleanEnergyProducer(device, SOLAR, sender=admin)
    # An asset on traders[0]'s meter, split into shares held by all three traders.
    nft, shares = system.energy_asset_nft, system.energy_asset_shares
    asset_id = nft.mintAsset(traders[0], SOLAR, 5_000, REGION, chain.pending_timestamp - DAY_SECONDS, devices[0], sender=admin).return_value
    nft.approve(shares, asset_id, sender=traders[0])
    shares.split(asset_id, SHARE_COUNT, sender=traders[0])
    shares.safeTransferFrom(traders[0], traders[1], asset_id, 300, b"", sender=traders[0])
    shares.safeTransferFrom(traders[0], traders[2], asset_id, 200, b"", sender=traders[0])
    system.energy_trading.setSettlementWindow(SETTLEMENT_WINDOW_SECONDS, sender=admin)
    chain.mine()

    contracts = {
        "energy": system.energy_token,
        "payment": system.payment_token,
        "meter": meter,
        "trading": system.energy_trading,
        "auction": system.energy_auction,
        "vault": system.energy_vault,
        "grid": system.grid_management,
        "dr": system.demand_response,
        "carbon": system.carbon_credits,
        "nft": nft,
        "shares": shares,
    }
    rpc = Rpc(chain.provider.uri)
    c = {name: Contract.of(name, contract) for name, contract in contracts.items()}
    # The project's contract types carry OpenZeppelin's errors too (in the ABIs of what inherits them).
    node = Node(rpc, ErrorBook(list(project.contracts.values())))
    functions = {
        name: sorted({i.name for i in contract.contract_type.abi if i.type == "function" and i.stateMutability not in ("view", "pure")})
        for name, contract in contracts.items()
    }
    holders = _holders_from_history(rpc, c)
    for token in ("energy", "payment", "carbon", "shares"):
        holders[token] |= {a.address for a in (admin, *traders, stranger)}
    world = SystemWorld(
        node=node,
        c=c,
        admin=admin.address,
        traders=[t.address for t in traders],
        devices=[d.address for d in devices],
        dr_meters=dr_meters,
        stranger=stranger.address,
        asset_id=asset_id,
        snapshot_id=node.snapshot(),
        start_timestamp=node.latest_timestamp(),
        holders=holders,
        functions=functions,
        dr_registers=dict(writer.registers_wh),
        dr_written_interval=last_interval,
    )
    return world


def _holders_from_history(rpc: Rpc, c: dict[str, Contract]) -> dict[str, set[str]]:
    holders: dict[str, set[str]] = {t: set() for t in ("energy", "payment", "carbon", "shares")}
    for token in ("energy", "payment", "carbon"):
        query = {"fromBlock": "0x0", "toBlock": "latest", "address": c[token].address, "topics": ["0x" + TRANSFER_TOPIC.hex()]}
        logs = rpc.request("eth_getLogs", [query])
        for log in logs:
            holders[token] |= {topic_address(log, 1), topic_address(log, 2)}
    logs = rpc.request(
        "eth_getLogs",
        [{"fromBlock": "0x0", "toBlock": "latest", "address": c["shares"].address, "topics": ["0x" + TRANSFER_SINGLE_TOPIC.hex()]}],
    )
    for log in logs:
        holders["shares"] |= {topic_address(log, 2), topic_address(log, 3)}
    for addresses in holders.values():
        addresses.discard("0x" + "00" * 20)
    return holders


# ----------------------------------------------------------------------------- event topics

ORDER_CREATED = topic("OrderCreated(uint256,address,uint8,uint256,uint256,uint256,address)")
ORDERS_MATCHED = topic("OrdersMatched(uint256,uint256,uint256,uint256,uint256)")
ORDER_TAKEN = topic("OrderTaken(uint256,uint256,address,uint256,uint256)")
AUCTION_SUBMITTED = topic("OrderSubmitted(uint256,uint256,address,bool,uint256,uint256,uint256)")
DR_EVENT_STARTED = topic("EventStarted(uint256,address,uint32,uint256,uint256,uint256,uint256,uint256)")
EVENT_JOINED = topic("EventJoined(uint256,address,uint256)")
REWARD_PAID = topic("RewardPaid(uint256,address,uint256)")
REVENUE_CLAIMED = topic("RevenueClaimed(uint256,address,uint256)")
CREDITS_ISSUED = topic("CarbonCreditsIssued(address,address,uint256,uint256,uint256)")


@dataclass
class MarketOrder:
    trader: str
    side: int
    amount_wh: int
    expiry: int
    filled_wh: int = 0
    closed: bool = False  # cancelled or released by this machine

    def open(self) -> bool:
        return not self.closed and self.filled_wh < self.amount_wh


@dataclass
class AuctionOrder:
    trader: str
    period: int
    is_bid: bool
    amount_wh: int
    limit: int
    claimed: bool = False


# ----------------------------------------------------------------------------- the machine


class SystemMachine(RuleBasedStateMachine):
    """Drives every part of the system; `world` is set by the test before running."""

    world: SystemWorld

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        w.restore()
        self.now = w.start_timestamp  # the latest block's timestamp
        self.orders: dict[int, MarketOrder] = {}
        self.pending_txs: set[int] = set()
        self.all_txs: set[int] = set()
        self.flow_asks: set[int] = set()  # asks market_step placed, which it then fills
        self.auction_orders: dict[int, AuctionOrder] = {}
        self.cleared_periods: set[int] = set()
        # The deployed auction is the meters' reading market: a market clears its reading deadline
        # after its period ends, not at its gate (IMeteredMarket.clearingTime).
        assert w.node.call(w.c["auction"], "meterRegistry").lower() == w.c["meter"].address.lower()
        self.auction_reading_deadline = int(w.node.call(w.c["auction"], "readingDeadline"))
        self.dr_events: dict[int, int] = {}  # eventId -> endTime
        self.dr_claimed = 0
        # (eventId, consumer) pairs: joined; verification tried (or rejected); verified; paid.
        self.dr_joined: set[tuple[int, str]] = set()
        self.dr_visited: set[tuple[int, str]] = set()
        self.dr_verified: set[tuple[int, str]] = set()
        self.dr_paid: set[tuple[int, str]] = set()
        self.revenue_deposited = 0
        self.revenue_claimed = 0
        self.issued_milligrams_bound: dict[str, int] = {d: 0 for d in w.devices}
        self.factor = int(w.node.call(w.c["carbon"], "avoidedEmissionFactor"))
        self.registers = {d: [0, INITIAL_EXPORT_WH] for d in w.devices}  # consumption, production
        self.last_reading = {d: w.start_timestamp for d in w.devices}  # setup read them before
        self.dr_registers = dict(w.dr_registers)
        self.dr_written_interval = w.dr_written_interval
        self.holders = {k: set(v) for k, v in w.holders.items()}
        self.min_reading_interval = 60
        self.settlement_window = SETTLEMENT_WINDOW_SECONDS
        self.redeemed = {d: 0 for d in w.devices}
        self.tx_matched_at: dict[int, int] = {}

    def wait_until(self, timestamp: int) -> None:
        """Time passes until the next block can be at `timestamp` (a device waiting for its slot, a
        keeper waiting for a window): mines an empty block just before it."""
        if timestamp - 1 > self.now:
            self.now = timestamp - 1
            self.world.node.mine_at(self.now)

    # ----------------------------------------------------------------------------- plumbing

    def send(self, target: str, fn: str, args: tuple[Any, ...], sender: str, expect_ok: bool = False) -> Outcome:
        started = time.perf_counter()
        w = self.world
        out = w.node.transact(w.c[target], fn, args, sender)
        self._record(target, fn, out)
        if expect_ok:
            assert out.ok, f"{target}.{fn}{args} from {sender}: the model expected success, got {out.error}"
        w.seconds += time.perf_counter() - started
        return out

    def _record(self, target: str, fn: str, out: Outcome) -> None:
        """Counts a sent transaction (reverted or not, it took a block) and collects new token holders."""
        w = self.world
        w.actions += 1
        w.outcomes[f"{target}.{fn}:{'ok' if out.ok else out.error}"] += 1
        self.now += 1
        if out.ok:
            self._collect_holders(out)

    def _collect_holders(self, out: Outcome) -> None:
        c = self.world.c
        for token in ("energy", "payment", "carbon"):
            for log in out.events(c[token], TRANSFER_TOPIC):
                self.holders[token].add(topic_address(log, 2))
        for log in out.events(c["shares"], TRANSFER_SINGLE_TOPIC):
            self.holders["shares"].add(topic_address(log, 3))

    @staticmethod
    def pick(items: list[Any] | set[Any], index: int) -> Any:
        ordered = sorted(items)
        return ordered[index % len(ordered)]

    def actor(self, index: int) -> str:
        """Mostly a trader; now and then the admin or an account without roles."""
        w = self.world
        pool = [*w.traders, *w.traders, w.admin, w.stranger]
        return pool[index % len(pool)]

    # ----------------------------------------------------------------------------- time

    @precondition(lambda self: self.now - self.world.start_timestamp < MAX_ELAPSED_SECONDS)
    @rule(seconds=st.sampled_from((1, 30, 299, 900, 3_600)))
    def advance_time(self, seconds: int) -> None:
        self.now += seconds
        self.world.node.mine_at(self.now)

    # ----------------------------------------------------------------------------- metering

    @rule(
        i=st.integers(0, 2),
        produced=st.sampled_from((0, 100, 5_000, 40_000)),
        consumed=st.sampled_from((0, 70)),
        back=st.sampled_from((0, 0, 0, 30, -1)),
    )
    def meter_reports(self, i: int, produced: int, consumed: int, back: int) -> None:
        """A device signs its own reading (back = -1: its consumption register goes backwards)."""
        device = self.world.devices[i]
        self.wait_until(self.last_reading[device] + self.min_reading_interval + max(back, 0))
        cons, prod = self.registers[device]
        new_cons = cons + consumed if back >= 0 else max(cons - 1, 0) if cons else cons
        if back < 0 and cons == 0:
            new_cons = 0
            prod -= 1  # an export register going backwards instead
        reading = (self.now + 1 - max(back, 0), new_cons, prod + produced, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
        if self.send("meter", "submitReading", (reading,), device).ok:
            self.registers[device] = [new_cons, prod + produced]
            self.last_reading[device] = reading[0]

    @rule(produced=st.sampled_from((10, 2_000)))
    def gateway_batch(self, produced: int) -> None:
        devices = self.world.devices
        self.wait_until(max(self.last_reading.values()) + self.min_reading_interval)
        readings = []
        for device in devices:
            cons, prod = self.registers[device]
            readings.append((self.now + 1, cons, prod + produced, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE))
        if self.send("meter", "submitReadings", (devices, readings), self.world.admin).ok:
            for device, r in zip(devices, readings, strict=True):
                self.registers[device] = [r[1], r[2]]
                self.last_reading[device] = r[0]

    @rule(i=st.integers(0, 2), share=st.sampled_from((1, 2, 2, 0)))
    def redeem_consumption(self, i: int, share: int) -> None:
        """The owner redeems (burns) energy for metered consumption: part, all, or 1 Wh too much (share 0)."""
        w = self.world
        with_consumption = [k for k, d in enumerate(w.devices) if self.registers[d][0] > self.redeemed[d]]
        i = with_consumption[i % len(with_consumption)] if with_consumption and share else i
        device = w.devices[i]
        redeemable = self.registers[device][0] - self.redeemed[device]
        amount = redeemable + 1 if share == 0 else max(redeemable // share, 1)
        if self.send("meter", "redeemConsumption", (device, amount), w.traders[i]).ok:
            self.redeemed[device] += amount

    # ----------------------------------------------------------------------------- order book

    @rule(
        who=st.integers(0, 20),
        side=st.sampled_from((BUY, SELL)),
        amount=st.sampled_from((*AMOUNTS, 0)),
        price=st.sampled_from((*PRICES, 0)),
        lifetime=st.sampled_from((60, 3_600, 3_600, 86_400, 0)),
        directed=st.integers(-6, 2),
    )
    def create_order(self, who: int, side: int, amount: int, price: int, lifetime: int, directed: int) -> None:
        w = self.world
        trader = w.traders[who % 3] if who < 18 else w.stranger
        expiry = self.now + 1 + lifetime
        if directed < 0:
            out = self.send("trading", "createOrder", (amount, price, expiry, side), trader)
        else:
            counterparty = w.traders[directed]
            out = self.send("trading", "createDirectedOrder", (amount, price, expiry, side, counterparty), trader)
        if out.ok:
            self._record_market_logs(out)

    def _record_market_logs(self, out: Outcome) -> None:
        trading = self.world.c["trading"]
        for log in out.events(trading, ORDER_CREATED):
            self.orders[topic_int(log, 1)] = MarketOrder(
                topic_address(log, 2), topic_int(log, 3), word(log["data"], 0), word(log["data"], 2)
            )
        for log in out.events(trading, ORDERS_MATCHED):
            tx_id, buy_id, sell_id = topic_int(log, 1), topic_int(log, 2), topic_int(log, 3)
            amount = word(log["data"], 0)
            self.orders[buy_id].filled_wh += amount
            self.orders[sell_id].filled_wh += amount
            self.pending_txs.add(tx_id)
            self.all_txs.add(tx_id)
            self.tx_matched_at[tx_id] = self.now
        for log in out.events(trading, ORDER_TAKEN):
            tx_id, order_id = topic_int(log, 1), topic_int(log, 2)
            self.orders[order_id].filled_wh += word(log["data"], 0)
            self.pending_txs.add(tx_id)
            self.all_txs.add(tx_id)
            self.tx_matched_at[tx_id] = self.now

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 10**6), who=st.integers(0, 10))
    def cancel_order(self, pick: int, who: int) -> None:
        order_id = self.pick([i for i, o in self.orders.items() if o.open()] or self.orders, pick)
        sender = self.orders[order_id].trader if who < 9 else self.world.stranger
        if self.send("trading", "cancelOrder", (order_id,), sender).ok:
            self.orders[order_id].closed = True

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 10**6))
    def release_expired(self, pick: int) -> None:
        expired = [i for i, o in self.orders.items() if o.expiry <= self.now + 1 and o.open()] or list(self.orders)
        order_id = self.pick(expired, pick)
        if self.send("trading", "releaseExpiredOrder", (order_id,), self.world.stranger).ok:
            self.orders[order_id].closed = True

    @precondition(lambda self: len(self.orders) >= 2)
    @rule(a=st.integers(0, 10**6), b=st.integers(0, 10**6))
    def match_orders(self, a: int, b: int) -> None:
        live = {i: o for i, o in self.orders.items() if o.open() and o.expiry > self.now + 1} or self.orders
        buys = [i for i, o in live.items() if o.side == BUY] or list(self.orders)
        sells = [i for i, o in live.items() if o.side == SELL] or list(self.orders)
        out = self.send("trading", "matchOrders", (self.pick(buys, a), self.pick(sells, b)), self.world.admin)
        if out.ok:
            self._record_market_logs(out)

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 10**6), who=st.integers(0, 10), amount=st.sampled_from((1, 500, 10_000, 10**7, 0)))
    def fill_order(self, pick: int, who: int, amount: int) -> None:
        order_id = self.pick([i for i, o in self.orders.items() if o.open()] or self.orders, pick)
        order = self.orders[order_id]
        left = order.amount_wh - order.filled_wh
        amount = left if amount == 10**7 and left else amount
        out = self.send("trading", "fillOrder", (order_id, amount), self.actor(who))
        if out.ok:
            self._record_market_logs(out)

    @precondition(lambda self: self.all_txs)
    @rule(pick=st.integers(0, 10**6), who=st.integers(0, 10), wait=st.integers(0, 4))
    def settle(self, pick: int, who: int, wait: int) -> None:
        """Anyone settles; mostly after waiting out the settlement window."""
        tx_id = self.pick(self.pending_txs or self.all_txs, pick)
        if wait:
            self.wait_until(self.tx_matched_at[tx_id] + self.settlement_window)
        if self.send("trading", "settleTransaction", (tx_id,), self.actor(who)).ok:
            self.pending_txs.discard(tx_id)

    @precondition(lambda self: self.all_txs)
    @rule(picks=st.lists(st.integers(0, 10**6), min_size=0, max_size=6), include_settled=st.booleans())
    def settle_batch(self, picks: list[int], include_settled: bool) -> None:
        source = self.all_txs if include_settled or not self.pending_txs else self.pending_txs
        ids = list(dict.fromkeys(self.pick(source, p) for p in picks))
        if ids:
            self.wait_until(max(self.tx_matched_at[i] for i in ids) + self.settlement_window)
        if self.send("trading", "settleTransactions", (ids,), self.world.admin).ok:
            self.pending_txs -= set(ids)

    @precondition(lambda self: self.all_txs)
    @rule(pick=st.integers(0, 10**6), by_operator=st.integers(0, 5))
    def void(self, pick: int, by_operator: int) -> None:
        tx_id = self.pick(self.pending_txs or self.all_txs, pick)
        sender = self.world.admin if by_operator else self.world.stranger
        if self.send("trading", "voidTransaction", (tx_id,), sender).ok:
            self.pending_txs.discard(tx_id)

    @rule(market=st.sampled_from(("trading", "auction")), by_recipient=st.integers(0, 9))
    def withdraw_fees(self, market: str, by_recipient: int) -> None:
        self.send(market, "withdrawFees", (), self.world.admin if by_recipient else self.world.stranger)

    # ----------------------------------------------------------------------------- auction

    @rule(
        who=st.integers(0, 2),
        is_bid=st.booleans(),
        ahead=st.sampled_from((0, 1, 1, 2, 3)),
        amount=st.sampled_from((1, 1_000, 30_000, 0)),
        level=st.sampled_from(AUCTION_LEVELS),
        off_grid=st.integers(0, 12),
        join=st.integers(0, 3),
    )
    def auction_submit(self, who: int, is_bid: bool, ahead: int, amount: int, level: int, off_grid: int, join: int) -> None:
        """Mostly into a period that has orders and is still open (join > 0), so bids meet asks; else
        `ahead` periods from now (0: its gate has closed). A bid's tick is AUCTION_MID_TICK + level, an
        ask's AUCTION_MID_TICK - level: a bid and an ask cross when their levels add up to 0 or more."""
        open_periods = [p for p in self._auction_periods(cleared=False) if self.now + 1 < self._gate_closes(p)]
        period = self.pick(open_periods, join) if open_periods and join else (self.now + 1) // AUCTION_PERIOD_SECONDS + ahead
        tick = AUCTION_MID_TICK + level if is_bid else AUCTION_MID_TICK - level
        limit = AUCTION_MIN_PRICE + tick * AUCTION_TICK_SIZE + (1 if off_grid == 0 else 0)
        trader = self.world.traders[who]
        out = self.send("auction", "submitBid" if is_bid else "submitAsk", (period, amount, limit), trader)
        if out.ok:
            for log in out.events(self.world.c["auction"], AUCTION_SUBMITTED):
                self.auction_orders[topic_int(log, 1)] = AuctionOrder(trader, period, is_bid, amount, limit)

    def _auction_periods(self, cleared: bool) -> list[int]:
        """The periods the model's orders are in, cleared or not, earliest first."""
        return sorted({o.period for o in self.auction_orders.values() if (o.period in self.cleared_periods) == cleared})

    @staticmethod
    def _gate_closes(period: int) -> int:
        return period * AUCTION_PERIOD_SECONDS - AUCTION_GATE_SECONDS

    def _clears_at(self, period: int) -> int:
        """When the market may clear: the period's end plus the reading deadline."""
        return (period + 1) * AUCTION_PERIOD_SECONDS + self.auction_reading_deadline

    @rule(ahead=st.sampled_from((-2, -1, 0, 1, 2)))
    def auction_clear(self, ahead: int) -> None:
        """Anyone clears: mostly the earliest period with orders, after waiting for its clearing time."""
        periods = self._auction_periods(cleared=False)
        if periods and ahead < 1:
            self._clear(periods[0])
        else:
            self._clear((self.now + 1) // AUCTION_PERIOD_SECONDS + ahead)

    def _clear(self, period: int) -> None:
        self.wait_until(self._clears_at(period))
        if self.send("auction", "clear", (period,), self.world.stranger).ok:
            self.cleared_periods.add(period)

    @precondition(lambda self: self.auction_orders)
    @rule(pick=st.integers(0, 10**6))
    def auction_claim(self, pick: int) -> None:
        """Its trader claims: mostly an order of a cleared market not claimed yet."""
        claimable = [i for i, o in self.auction_orders.items() if o.period in self.cleared_periods and not o.claimed]
        order_id = self.pick(claimable or self.auction_orders, pick)
        order = self.auction_orders[order_id]
        if self.send("auction", "claim", (order_id,), order.trader).ok:
            order.claimed = True

    # ----------------------------------------------------------------------------- demand response

    @rule(target_kw=st.sampled_from((1, 2, 1, 2, 0)), rate=st.sampled_from((1_000, 10_000)), duration=st.sampled_from((900, 1_800, 0)))
    def dr_start(self, target_kw: int, rate: int, duration: int) -> None:
        out = self.send("dr", "startEvent", (REGION, target_kw, rate, duration), self.world.admin)
        if out.ok:
            for log in out.events(self.world.c["dr"], DR_EVENT_STARTED):
                self.dr_events[topic_int(log, 1)] = word(log["data"], 3)

    @precondition(lambda self: self.dr_events)
    @rule(pick=st.integers(0, 10**6), who=st.sampled_from((0, 1, 0, 1, 2)))
    def dr_join(self, pick: int, who: int) -> None:
        """traders 0 and 1 are registered consumers; trader 2 is not."""
        out = self.send("dr", "joinEvent", (self.pick(self.dr_events, pick),), self.world.traders[who])
        self.dr_joined |= {(topic_int(log, 1), topic_address(log, 2)) for log in out.events(self.world.c["dr"], EVENT_JOINED)}

    @precondition(lambda self: self.dr_events)
    @rule(pick=st.integers(0, 10**6), who=st.integers(0, 1), tamper=st.integers(0, 8))
    def dr_verify(self, pick: int, who: int, tamper: int) -> None:
        """The operator verifies with the meter's figures (tamper 0: one figure off by 1 W, and no waiting)."""
        self._dr_verify_stage(self.pick(self.dr_events, pick), who, tamper)

    def _dr_verify_stage(self, event_id: int, who: int, tamper: int = 1) -> None:
        """After the event, the meters' readings through its last interval (a step of their own when
        any are missing), then the verification."""
        end = self.dr_events[event_id]
        if tamper:
            self.wait_until(end + 600 + INTERVAL_SECONDS)  # its last interval's reading can be written
        if self.dr_written_interval < (end + INTERVAL_SECONDS - 1) // INTERVAL_SECONDS and self._write_dr_meters():
            return
        w = self.world
        consumer = w.traders[who]
        preview = w.node.calls([(w.c["dr"], "previewReduction", (event_id, consumer))])[0]
        figures = [0, 0, 0, 0] if isinstance(preview, Reverted) else list(preview)
        if tamper == 0:
            figures[0] += 1
        out = self.send("dr", "verifyReduction", (event_id, consumer, *figures), w.admin)
        self.dr_visited.add((event_id, consumer))
        if out.ok:
            self.dr_verified.add((event_id, consumer))

    @precondition(lambda self: self.dr_events)
    @rule(pick=st.integers(0, 10**6), who=st.integers(0, 2))
    def dr_reject(self, pick: int, who: int) -> None:
        """The operator rejects a participation: mostly one joined and not verified yet."""
        pending = sorted(self.dr_joined - self.dr_visited)
        event_id, consumer = pending[pick % len(pending)] if pending else (self.pick(self.dr_events, pick), self.world.traders[who])
        if self.send("dr", "rejectParticipation", (event_id, consumer, REJECTION_REASON), self.world.admin).ok:
            self.dr_visited.add((event_id, consumer))

    def _write_dr_meters(self) -> bool:
        """The DR meters' load (DR_WINDOW_WH per interval) up to the last whole interval, one gateway
        batch; False when there was nothing to write."""
        w = self.world
        last = (self.now - 600) // INTERVAL_SECONDS
        intervals = list(range(self.dr_written_interval + 1, last + 1))[:100]
        if not intervals:
            return False
        meters, readings = [], []
        for interval in intervals:
            for meter in w.dr_meters:
                self.dr_registers[meter] += DR_WINDOW_WH
                meters.append(meter)
                readings.append(
                    (interval * INTERVAL_SECONDS + 600, self.dr_registers[meter], 0, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
                )
        out = self.send("meter", "submitReadings", (meters, readings), w.admin)
        if out.ok:
            self.dr_written_interval = intervals[-1]
        else:
            for meter in w.dr_meters:
                self.dr_registers[meter] -= DR_WINDOW_WH * len(intervals)
        return True

    @precondition(lambda self: self.dr_events)
    @rule(pick=st.integers(0, 10**6), who=st.integers(0, 2))
    def dr_claim(self, pick: int, who: int) -> None:
        out = self.send("dr", "claimReward", (self.pick(self.dr_events, pick),), self.world.traders[who])
        self._record_rewards(out)

    def _record_rewards(self, out: Outcome) -> None:
        for log in out.events(self.world.c["dr"], REWARD_PAID):
            self.dr_claimed += word(log["data"], 0)
            self.dr_paid.add((topic_int(log, 1), topic_address(log, 2)))

    @precondition(lambda self: self.dr_events)
    @rule(pick=st.integers(0, 10**6), distribute=st.booleans())
    def dr_close(self, pick: int, distribute: bool) -> None:
        """The operator cancels an event not started yet, or anyone pays out verified rewards in a batch."""
        event_id = self.pick(self.dr_events, pick)
        out = self.send("dr", "distributeRewards" if distribute else "cancelEvent", (event_id,), self.world.admin)
        self._record_rewards(out)

    # ----------------------------------------------------------------------------- carbon credits

    @rule(i=st.sampled_from((0, 1, 2, 0, 1, 2, 3)))
    def issue_credits(self, i: int) -> None:
        w = self.world
        pending = w.node.calls([(w.c["carbon"], "pendingWh", (d,)) for d in w.devices])
        ready = [d for d, wh in zip(w.devices, pending, strict=True) if not isinstance(wh, Reverted) and wh > 0]
        # Mostly a producer with energy to credit; i = 3: a DR meter, which is no clean producer.
        meter = w.dr_meters[0] if i == 3 else ready[i % len(ready)] if ready and i < 2 else w.devices[i]
        out = self.send("carbon", "issueCarbonCredits", (meter,), w.stranger)
        for log in out.events(w.c["carbon"], CREDITS_ISSUED):
            amount_wh, factor = word(log["data"], 0), word(log["data"], 2)
            self.issued_milligrams_bound[meter] += amount_wh * factor

    @rule(who=st.integers(0, 3), amount=st.sampled_from((1, 100, 10**6, 0)), to_other=st.booleans())
    def move_credits(self, who: int, amount: int, to_other: bool) -> None:
        w = self.world
        holder = (*w.traders, w.stranger)[who]
        if to_other:
            self.send("carbon", "transferCarbonCredits", (w.traders[(who + 1) % 3], amount), holder)
        else:
            self.send("carbon", "retire", (amount, w.stranger, "fuzzed offset"), holder)

    # ----------------------------------------------------------------------------- asset revenue

    @rule(who=st.integers(0, 4), amount=st.sampled_from((1, 7, 1_000_003, 1_000_003, 1_000_003, 0)))
    def deposit_revenue(self, who: int, amount: int) -> None:
        if self.send("shares", "depositRevenue", (self.world.asset_id, amount), self.actor(who)).ok:
            self.revenue_deposited += amount

    @rule(who=st.integers(0, 4))
    def claim_revenue(self, who: int) -> None:
        """Mostly a holder with revenue to claim (who 4: whoever `actor` gives)."""
        w = self.world
        claimable = w.node.calls([(w.c["shares"], "claimableRevenue", (w.asset_id, t)) for t in w.traders])
        ready = [t for t, amount in zip(w.traders, claimable, strict=True) if amount > 0]
        claimer = ready[who % len(ready)] if ready and who < 4 else self.actor(who)
        out = self.send("shares", "claimRevenue", (w.asset_id,), claimer)
        for log in out.events(self.world.c["shares"], REVENUE_CLAIMED):
            self.revenue_claimed += word(log["data"], 0)

    @rule(a=st.integers(0, 2), b=st.integers(0, 3), amount=st.sampled_from((1, 50, 10_000)))
    def transfer_shares(self, a: int, b: int, amount: int) -> None:
        w = self.world
        sender, to = w.traders[a], (*w.traders, w.stranger)[b]
        self.send("shares", "safeTransferFrom", (sender, to, w.asset_id, amount, b""), sender)

    # ----------------------------------------------------------------------------- admin

    @rule(name=st.sampled_from(sorted(PARAMETERS)), pick=st.integers(0, 10), by_admin=st.integers(0, 9))
    def change_parameter(self, name: str, pick: int, by_admin: int) -> None:
        values = PARAMETER_VALUES[name]
        value = values[pick % len(values)]
        w = self.world
        target, fn = PARAMETERS[name]
        out = apply_parameter(w, name, value) if by_admin else w.node.transact(w.c[target], fn, (value,), w.stranger)
        self._record(target, fn, out)
        if out.ok:
            if name == "emission_factor":
                self.factor = value
            elif name == "min_reading_interval_s":
                self.min_reading_interval = value
            elif name == "settlement_window_s":
                self.settlement_window = value

    @rule(
        which=st.sampled_from(("trading", "meter", "auction", "shares", "shutdown")),
        unpause=st.integers(0, 2),
        by_admin=st.integers(0, 9),
    )
    def pause_or_unpause(self, which: str, unpause: int, by_admin: int) -> None:
        """Unpauses twice as often as it pauses: the system is paused some of the time, not most of it."""
        w = self.world
        sender = w.admin if by_admin else w.stranger
        if which == "shutdown":
            if unpause:
                for name in ("grid", "trading", "meter", "auction"):
                    self.send(name, "unpause", (), sender)
            else:
                self.send("grid", "emergencyShutdown", (), sender)
        else:
            self.send(which, "unpause" if unpause else "pause", (), sender)

    # ----------------------------------------------------------------------------- lifecycles
    # hypothesis draws rules unevenly (and disables some in each example); these walk a lifecycle
    # one transaction per step, the next stage chosen from the model, so every bounded run trades,
    # settles, clears, claims and pays rewards, and the invariants see each stage in between.

    @rule(
        a=st.integers(0, 2),
        gap=st.sampled_from((0, 1, 2)),
        amount=st.sampled_from(AMOUNTS),
        batch=st.booleans(),
        take=st.booleans(),
        void=st.integers(0, 4),
    )
    def market_step(self, a: int, gap: int, amount: int, batch: bool, take: bool, void: int) -> None:
        """The settlement of pending transactions once their window has passed (the earliest, or all
        in a batch), or now and then the operator voiding the earliest within its window; else a
        crossing bid (or a taker's fill) for an open ask of this flow; else a new ask."""
        w = self.world
        if self.pending_txs and not void:
            self.void(0, 1)
            return
        if self.pending_txs:
            ids = sorted(self.pending_txs)[: len(self.pending_txs) if batch else 1]
            self.wait_until(max(self.tx_matched_at[i] for i in ids) + self.settlement_window)
            if batch:
                out = self.send("trading", "settleTransactions", (ids,), w.admin)
            else:
                out = self.send("trading", "settleTransaction", (ids[0],), w.traders[a])
            if out.ok:
                self.pending_txs -= set(ids)
            return
        asks = [i for i in sorted(self.flow_asks) if self.orders[i].open() and self.orders[i].expiry > self.now + 1]
        if asks:
            sell_id = asks[0]
            ask = self.orders[sell_id]
            buyer = w.traders[(w.traders.index(ask.trader) + 1 + a % 2) % 3]
            left = ask.amount_wh - ask.filled_wh
            if take:
                out = self.send("trading", "fillOrder", (sell_id, left), buyer)
            else:
                out = self.send("trading", "createOrder", (left, PRICES[1 + gap], self.now + 3_601, BUY), buyer)
        else:
            out = self.send("trading", "createOrder", (amount, PRICES[1], self.now + 3_601, SELL), w.traders[a])
            self.flow_asks |= {topic_int(log, 1) for log in out.events(w.c["trading"], ORDER_CREATED)}
        if out.ok:
            self._record_market_logs(out)

    @rule(
        a=st.integers(0, 2),
        bid_level=st.sampled_from((0, 10, 60, 127)),
        ask_level=st.sampled_from((0, 10, 60, 127)),
        amount=st.sampled_from((1, 1_000, 30_000)),
    )
    def auction_step(self, a: int, bid_level: int, ask_level: int, amount: int) -> None:
        """A claim of a cleared order; else the clearing of the earliest period that has both sides or
        whose gate has closed; else an ask crossing an open period's bid; else a bid two periods ahead."""
        unclaimed = [i for i, o in self.auction_orders.items() if o.period in self.cleared_periods and not o.claimed]
        if unclaimed:
            self.auction_claim(unclaimed.index(min(unclaimed)))
            return
        sides: dict[int, set[bool]] = {}
        for o in self.auction_orders.values():
            if o.period not in self.cleared_periods:
                sides.setdefault(o.period, set()).add(o.is_bid)
        ready = [p for p, s in sides.items() if len(s) == 2 or self.now + 1 >= self._gate_closes(p)]
        if ready:
            self._clear(min(ready))
        elif sides:  # an open period with bids only
            self.auction_submit((a + 1) % 3, False, 2, amount, ask_level, 1, 1 + sorted(sides).index(min(sides)))
        else:
            self.auction_submit(a, True, 2, amount, bid_level, 1, 0)

    @rule(who=st.integers(0, 1), distribute=st.booleans())
    def dr_step(self, who: int, distribute: bool) -> None:
        """A verified reward paid (its consumer claims, or anyone distributes); else the verification
        of a joined consumer after the event (the meters' readings written first, as a step of their
        own); else a registered consumer joining the latest event; else a new event."""
        w = self.world
        unpaid = sorted(self.dr_verified - self.dr_paid)
        if unpaid:
            event_id, consumer = unpaid[0]
            if distribute:
                self.dr_close(sorted(self.dr_events).index(event_id), True)
            else:
                self.dr_claim(sorted(self.dr_events).index(event_id), w.traders.index(consumer))
            return
        unvisited = sorted(self.dr_joined - self.dr_visited)
        if unvisited:
            event_id, consumer = unvisited[0]
            self._dr_verify_stage(event_id, w.traders.index(consumer))
            return
        latest = max(self.dr_events, default=None)
        consumer = w.traders[who]
        if latest is not None and (latest, consumer) not in self.dr_joined and self.now + 1 < self.dr_events[latest]:
            self.dr_join(len(self.dr_events) - 1, who)
        else:
            self.dr_start(1, 10_000, 900)

    @rule(who=st.integers(0, 2), amount=st.sampled_from((7, 1_000_003)))
    def revenue_step(self, who: int, amount: int) -> None:
        """A holder with revenue to claim claims it; else a trader deposits revenue."""
        w = self.world
        claimable = w.node.calls([(w.c["shares"], "claimableRevenue", (w.asset_id, t)) for t in w.traders])
        if any(claimable):
            self.claim_revenue(who)
        else:
            self.deposit_revenue(who, amount)

    # ----------------------------------------------------------------------------- invariants

    @invariant()
    def system_invariants(self) -> None:
        started = time.perf_counter()
        w = self.world
        reads = self._reads()
        values = w.node.calls([r[1:] for r in reads])
        got = {key: value for (key, *_), value in zip(reads, values, strict=True)}
        self._check(got)
        w.seconds += time.perf_counter() - started

    def _reads(self) -> list[tuple[Any, Contract, str, tuple[Any, ...]]]:
        w, c = self.world, self.world.c
        reads: list[tuple[Any, Contract, str, tuple[Any, ...]]] = []
        for token in ("energy", "payment", "carbon"):
            reads.append(((token, "supply"), c[token], "totalSupply", ()))
            reads += [((token, h), c[token], "balanceOf", (h,)) for h in sorted(self.holders[token])]
        reads.append((("shares", "supply"), c["shares"], "totalShares", (w.asset_id,)))
        reads += [(("shares", h), c["shares"], "balanceOf", (h, w.asset_id)) for h in sorted(self.holders["shares"])]
        reads.append((("vault", "@trading"), c["vault"], "balancesOf", (c["trading"].address,)))
        reads.append((("vault", "@auction"), c["vault"], "balancesOf", (c["auction"].address,)))
        reads.append((("vault", "reserves"), c["vault"], "reserves", ()))
        reads.append((("payment", "@dr"), c["payment"], "balanceOf", (c["dr"].address,)))
        reads.append((("payment", "@shares"), c["payment"], "balanceOf", (c["shares"].address,)))
        reads += [(("orders", t), c["trading"], "getTraderOrders", (t, 0, ORDER_PAGE)) for t in (*w.traders, w.stranger)]
        reads += [(("tx", i), c["trading"], "getTransaction", (i,)) for i in sorted(self.pending_txs)]
        reads.append((("trading", "fees"), c["trading"], "accruedFees", ()))
        reads.append((("trading", "txCount"), c["trading"], "transactionCount", ()))
        reads.append((("auction", "fees"), c["auction"], "accruedFees", ()))
        reads += [
            (("aorder", i), c["auction"], "getOrderOutcome", (i,))
            for i, o in self.auction_orders.items()
            if not o.claimed and o.period in self.cleared_periods
        ]
        reads += [(("dr", e), c["dr"], "getEventBudget", (e,)) for e in sorted(self.dr_events)]
        for consumer, meter in zip(w.traders, w.dr_meters, strict=False):
            reads.append((("dr participations", consumer), c["dr"], "getConsumerParticipations", (consumer, 0, DR_PAGE)))
            reads.append((("dr rewarded through", meter), c["dr"], "rewardedThroughInterval", (meter,)))
            reads.append((("dr rewarded Wh", meter), c["dr"], "rewardedReductionWh", (meter,)))
        for meter in w.devices:
            reads.append((("producer", meter), c["carbon"], "getCleanEnergyProducer", (meter,)))
            reads.append((("metered", meter), c["meter"], "getMeteredEnergy", (meter,)))
        reads.append((("retired", "carbon"), c["carbon"], "totalRetired", ()))
        reads.append((("revenue", "info"), c["shares"], "getRevenue", (w.asset_id,)))
        return reads

    def _check(self, got: dict[Any, Any]) -> None:
        w = self.world
        # Chain time is what the model thinks (deterministic blocks).
        assert w.node.latest_timestamp() == self.now, "chain time drifted from the model"
        self._check_token_supplies(got)
        self._check_trading_escrow(got)
        self._check_auction_escrow(got)
        self._check_vault_reserves(got)
        self._check_demand_response(got)
        self._check_one_reward_per_reduction(got)
        self._check_carbon_credits(got)
        self._check_asset_revenue(got)

    def _check_token_supplies(self, got: dict[Any, Any]) -> None:
        """Total supply of every token = sum of balances of every account that ever held it."""
        for token in ("energy", "payment", "carbon", "shares"):
            total = sum(v for (t, h), v in got.items() if t == token and h not in ("supply", "@trading", "@dr", "@shares"))
            assert got[(token, "supply")] == total, f"{token}: supply {got[(token, 'supply')]} != balances {total}"

    def _check_trading_escrow(self, got: dict[Any, Any]) -> None:
        """EnergyTrading's escrow (its vault balance) = open orders' remainders + pending transactions + accrued fees."""
        w = self.world
        energy_escrow, payment_escrow = 0, 0
        seen = 0
        for trader in (*w.traders, w.stranger):
            page, next_cursor = got[("orders", trader)]
            assert next_cursor == 0, "more orders than one page: raise the page or shorten examples"
            for info in page:
                (order_id, owner, amount, filled, _price, _expiry, side, status, _cp, _prev, escrow) = info
                seen += 1
                model = self.orders[order_id]
                assert (owner.lower(), side, amount) == (model.trader.lower(), model.side, model.amount_wh), (info, model)
                assert filled == model.filled_wh, f"order {order_id}: filled {filled}, model {model.filled_wh}"
                assert filled <= amount, f"order {order_id} over-filled: {filled} > {amount}"
                assert (status == FILLED) == (filled == amount), f"order {order_id}: status {status}, {filled}/{amount}"
                if status != ACTIVE:
                    assert escrow == 0
                if side == SELL:
                    energy_escrow += escrow
                    assert status != ACTIVE or escrow == amount - filled
                else:
                    payment_escrow += escrow
        assert seen == len(self.orders)
        assert got[("trading", "txCount")] == len(self.all_txs)
        for tx_id in self.pending_txs:
            info = got[("tx", tx_id)]
            assert info[9] == PENDING, f"transaction {tx_id}: status {info[9]}, model pending"
            energy_escrow += info[4]
            payment_escrow += info[6] + info[8]
        payment_escrow += got[("trading", "fees")]
        held_energy, held_payment = got[("vault", "@trading")]
        assert held_energy == energy_escrow, f"trading energy {held_energy} != {energy_escrow}"
        assert held_payment == payment_escrow, f"trading payment {held_payment} != {payment_escrow}"

    def _check_auction_escrow(self, got: dict[Any, Any]) -> None:
        """Auction escrow (its vault balance) = unclaimed orders' value + accrued fees (and rounding surplus)."""
        a_energy, a_payment = 0, got[("auction", "fees")]
        for order_id, o in self.auction_orders.items():
            if o.claimed:
                continue
            if o.period not in self.cleared_periods:
                a_energy += 0 if o.is_bid else o.amount_wh
                a_payment += ceil_cost(o.amount_wh, o.limit) if o.is_bid else 0
                continue
            filled, payment, fee, refund, claimed = got[("aorder", order_id)]
            assert not claimed
            if o.is_bid:
                # Its payment became the asks' proceeds and the fees at clearing: it is owed its refund only.
                assert payment + refund == ceil_cost(o.amount_wh, o.limit)
                a_energy += filled
                a_payment += refund
            else:
                assert filled + refund == o.amount_wh and fee <= payment
                a_energy += refund
                a_payment += payment - fee
        held_energy, held_payment = got[("vault", "@auction")]
        assert held_energy == a_energy, f"auction energy {held_energy} != {a_energy}"
        assert held_payment == a_payment, f"auction payment {held_payment} != {a_payment}"

    def _check_vault_reserves(self, got: dict[Any, Any]) -> None:
        """The vault holds of each token exactly its reserve, the sum of its balances (nothing here sends
        it a token outside a deposit or a pull)."""
        vault = self.world.c["vault"].address
        for token, reserve in zip(("energy", "payment"), got[("vault", "reserves")], strict=True):
            held = got.get((token, vault), 0)
            assert held == reserve, f"vault {token}: holds {held}, reserve {reserve}"

    def _check_demand_response(self, got: dict[Any, Any]) -> None:
        """Demand response: paid ≤ reserved ≤ budget; the contract holds what is neither paid nor refunded."""
        dr_held, dr_paid = 0, 0
        for event_id in self.dr_events:
            budget, reserved, paid, refunded, *_ = got[("dr", event_id)]
            assert paid <= reserved <= budget and paid + refunded <= budget, f"DR event {event_id}: {got[('dr', event_id)]}"
            dr_held += budget - paid - refunded
            dr_paid += paid
        assert dr_paid == self.dr_claimed
        assert got[("payment", "@dr")] == dr_held

    def _check_one_reward_per_reduction(self, got: dict[Any, Any]) -> None:
        """Each DR meter's rewarded windows (its consumer's verified or paid participations) never
        overlap; its record holds their last interval and their Wh, and no window was rewarded more
        than the meter measured: its load fell from DR_BASELINE_WH to DR_WINDOW_WH per interval at most."""
        w = self.world
        most_w = (DR_BASELINE_WH - DR_WINDOW_WH) * 3_600 // INTERVAL_SECONDS
        for consumer, meter in zip(w.traders, w.dr_meters, strict=False):
            records, total = got[("dr participations", consumer)]
            assert total <= DR_PAGE, "more DR participations than one page: shorten examples"
            windows = sorted(
                (first, last, reduction_w, baseline_w - actual_w)
                for (_id, _event, _consumer, baseline_w, actual_w, reduction_w, _reward, first, last, _at, status) in records
                if status in (DR_VERIFIED, DR_REWARDED)
            )
            through, rewarded_wh = 0, 0
            for first, last, reduction_w, measured_w in windows:
                assert first > through, f"{meter}: window from interval {first} rewarded again (through {through})"
                assert reduction_w == measured_w <= most_w, f"{meter}: rewarded {reduction_w} W, measured at most {most_w} W"
                through = last
                rewarded_wh += reduction_w * (last - first + 1) * INTERVAL_SECONDS // 3_600
            recorded = (got[("dr rewarded through", meter)], got[("dr rewarded Wh", meter)])
            assert recorded == (through, rewarded_wh), f"{meter}: record {recorded}, windows (through, Wh) {(through, rewarded_wh)}"

    def _check_carbon_credits(self, got: dict[Any, Any]) -> None:
        """Carbon credits issued ≤ clean Wh × factor (exactly its floor, remainders carried)."""
        w = self.world
        issued_total = 0
        for meter in w.devices:
            info = got[("producer", meter)]
            _consumed, produced, _redeemed = got[("metered", meter)]
            issued_through, total_issued = info[4], info[6]
            assert issued_through <= produced, f"{meter}: credited through {issued_through} Wh > metered {produced}"
            assert total_issued == self.issued_milligrams_bound[meter] // 1_000
            assert total_issued * 1_000 <= (issued_through - info[3]) * max(PARAMETER_VALUES["emission_factor"])
            issued_total += total_issued
        assert got[("carbon", "supply")] + got[("retired", "carbon")] == issued_total

    def _check_asset_revenue(self, got: dict[Any, Any]) -> None:
        """Asset revenue: claimed ≤ deposited; the shares contract holds the difference."""
        deposited, claimed, _per_share, _carried = got[("revenue", "info")]
        assert (deposited, claimed) == (self.revenue_deposited, self.revenue_claimed)
        assert claimed <= deposited
        assert got[("payment", "@shares")] == deposited - claimed


def run_settings_summary(world: SystemWorld) -> str:
    per_thousand = world.seconds / world.actions * 1_000 if world.actions else 0.0
    ok = sum(n for k, n in world.outcomes.items() if k.endswith(":ok"))
    reverted = world.actions - ok
    return f"{world.actions} actions ({ok} succeeded, {reverted} reverted with a custom error), {per_thousand:.1f} s per 1,000 actions"


def coverage_table(world: SystemWorld) -> str:
    """Every contract's state-changing functions: successful calls, then reverts by custom error. A
    function the machine called without one success is marked `!!`; those it never called are listed
    per contract at the end."""
    per_function: dict[str, Counter] = {}
    for key, count in world.outcomes.items():
        name, outcome = key.rsplit(":", 1)
        per_function.setdefault(name, Counter())[outcome] += count
    width = max(map(len, per_function), default=0)
    rows, never_called = [], []
    for contract, functions in world.functions.items():
        idle = [fn for fn in functions if f"{contract}.{fn}" not in per_function]
        if idle:
            never_called.append(f"  {contract}: {', '.join(idle)}")
        rows += [f"{contract}.{fn}" for fn in functions if f"{contract}.{fn}" in per_function]
    lines = ["coverage: successful calls per function, then reverts by custom error (!! = no success)"]
    for name in rows:
        outcomes = per_function[name]
        ok = outcomes["ok"]
        reverts = ", ".join(f"{n} {error}" for error, n in outcomes.most_common() if error != "ok")
        lines.append(f"{'!!' if not ok else '  '} {name:<{width}} {ok:7d} ok  {reverts}")
    unsucceeded = sum(1 for name in rows if not per_function[name]["ok"])
    total = sum(map(len, world.functions.values()))
    lines.append(f"{len(rows) - unsucceeded} of {total} state-changing functions succeeded; {unsucceeded} called without success;"
                 f" never called ({total - len(rows)}):")
    return "\n".join(lines + never_called)


def env_int(name: str, default: int | None = None) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else default
