"""A hypothesis state machine over the whole deployed system, with the invariants it checks after
every step.

`SystemWorld` deploys and seeds the system once (ape, slow, before the first example) and takes an
anvil snapshot; every example reverts to it, so it starts from the same deployed system. Steps and
checks then go through raw JSON-RPC (`fuzz_rpc`): transactions from anvil's unlocked dev accounts,
invariant reads as one batch of eth_calls.

Chain time is deterministic: every block is 1 s after the previous one (anvil's block timestamp
interval), and the `advance_time` rule mines a block further ahead. So a derandomized run replays
exactly (its draws leave out hypothesis's pool of the package's literal constants, which depends on the
modules the session imported: tests/test_system_invariants.py, `without_the_projects_constants`).

`walk_every_stage` takes a machine through every stage and milestone the bounded test asks for, in a
fixed order: those are reached by construction, not by a seed's luck.

Rules mostly pick valid inputs (ids the model knows, amounts the accounts hold); a share are
invalid on purpose. Every revert must be a custom error some contract declares (fuzz_rpc.ErrorBook),
and a revert moves nothing by construction, which the invariants then see.

Every transaction that moves value is its own step (its own rule, or one stage of a `*_step` flow
rule), so the invariants are checked in every intermediate state: an auction cleared but not
claimed, a trade matched but not settled, a reduction verified but not paid.

The hook token: `build_world(..., hook_token=True)` deploys the same system with a hostile payment
token (contracts/test/ReentrantToken.sol: once armed, its next transfer calls a target from inside the
transfer, as an ERC-777 hook would), and `HookTokenMachine` drives it: SystemMachine's rules and its
`reentry_*` rules, which arm the token with a value-moving call (a settlement, a claim, a relayed
signed reading, withdrawal, approval or deposit, a signed order, a standing-order settlement, a reward
payout) and then send a call that transfers the token from inside a vault call (a deposit, a
withdrawal, a market's pull of a shortfall from the wallet): a reentry that would move vault state on
its own must be refused with ReentrancyGuardReentrantCall, and the step then moved nothing.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from energy_grid.chain.events import unpacked
from energy_grid.deploy.system import (
    DEFAULT_AUCTION_PRICE_GRID,
    LOCAL_FAUCET_WHOLE_UNITS,
    DeploymentSettings,
    deploy_energy_auction,
    deploy_system,
    fund_local_accounts,
    setup_local_roles,
)
from energy_grid.domain.demand_response import MeterWriter
from energy_grid.domain.enums import OrderType
from energy_grid.domain.units import DAY_SECONDS, FREQUENCY_NOMINAL_MILLIHZ, INTERVAL_SECONDS, VOLTAGE_NOMINAL_PER_MILLE, ZERO_ADDRESS
from energy_grid.signing.orders import SignedOrder, sign_order, sign_permit
from energy_grid.signing.readings import sign_reading
from energy_grid.signing.vault import sign_market_approval, sign_withdrawal

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

# Zones of the reading market: the meters' region, its link rated by a load report, and a second region
# with no report (no limit). The region's operator (the admin) lowers its link for coming periods.
ZONE_REGIONS = (REGION, 2)
ZONE_RATING_KW = 40  # 10,000 Wh over a quarter hour
LINK_LIMITS_KW = (0, 1, 4, 40, 1_000)
WH_PER_KW_PERIOD = AUCTION_PERIOD_SECONDS * 5 // 18  # what 1 kW carries over a period: 250 Wh
# How far ahead a link limit may be set: the auction's MAX_LEAD_TIME (MarketTime.furthestPeriod).
MAX_LEAD_SECONDS = 7 * DAY_SECONDS
MAX_PERIOD = 2**48 - 1  # AuctionState.MAX_PERIOD: a later period is refused by MarketZones' views
ALIAS_OFFSET = 2**248  # period + 2**248 once shared period's book key (period << 8 | zone)
# A stepped clearing's steps: at most 1 occupied tick takes one zone a step (each zone holds one tick or
# more); SteppedClearing.MAX_STEP_TICKS takes a whole stage (three books of 256 ticks at most).
STEP_TICKS = (0, 1, 1, 2_560)
STAGE_NONE, STAGE_STEPS, STAGE_FINISHED = 0, 1, 3  # ISteppedClearing.Stage: NONE, STEPS, ZONES, FINISHED
LONG_SIDE_ZONES = 3  # IEnergyAuction.LongSide.ZONES: a market cleared across zones
# The reading deadlines the admin sets: none, a minute, half a period, a period (the deployed one).
READING_DEADLINES = (0, 60, AUCTION_PERIOD_SECONDS // 2, AUCTION_PERIOD_SECONDS)
# The standing-order auctions the meters' readings go to: the deployed one, with zones, and a second one
# without zones that the admin migrates the reading market to and back.
READING_MARKETS = ("auction", "auction2")

# Households: meters the gateway reads, with standing orders in the reading market (the auction).
# Owners: traders 0, 1, 0 (two meters of one owner share its free balance within a batch).
HOUSEHOLD_OWNERS = (0, 1, 0)
HOUSEHOLD_DEPOSIT = 1_000_000  # payment base units each trader deposits at setup: bids of a few kWh
# (sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh) as set at setup: a seller, a buyer, both.
HOUSEHOLD_STANDING = ((60_000, 0, 0, 0), (0, 0, 250_000, 0), (100_500, 300, 199_999, 0))
AUCTION_TICKS = 256
MAX_VAULT_BALANCE = 2**112 - 1  # EnergyVault.MAX_RESERVE: one balance and one reserve fit it
# The hook token's world: each account's wallet, as the MockStablecoin faucet tops it up (6 decimals).
HOOK_TOKEN_FAUCET = LOCAL_FAUCET_WHOLE_UNITS * 10**6
# The value-moving calls the hook token makes from inside a transfer, and the calls whose transfer it is
# inside: deposits and withdrawals (the vault's own transfer), bids, BUY orders and revenue deposits
# larger than the trader's vault balance (the vault pulls the rest from the wallet).
REENTRY_INNERS = (
    "settle",
    "settle_batch",
    "release",
    "claim",
    "claim_batch",
    "settle_standing",
    "settle_standing_in",
    "relay_reading",
    "withdraw_by_sig",
    "order_by_sig",
    "approve_by_sig",
    "deposit_for",
    "distribute",
)
# The vault's functions that write a balance, an approval or a nonce: a call that reaches one moves vault state.
VAULT_WRITES = (
    "deposit",
    "depositWithPermit",
    "depositWithPermitFor",
    "withdraw",
    "withdrawBySig",
    "setMarketApproval",
    "approveMarketBySig",
    "creditArrived",
    "take",
    "give",
    "settleBatch",
    "retireEnergy",
)
SIGNATURE_LIFETIME = DAY_SECONDS
PICK = st.integers(0, 10**6)


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
    households: list[str]  # meters read by the gateway, with standing orders; owners by HOUSEHOLD_OWNERS
    household_read_at: dict[str, int]  # each household meter's registration baseline, unix s
    functions: dict[str, list[str]]  # contract name -> its state-changing functions (the coverage table's rows)
    hook_token: bool = False  # the payment token is ReentrantToken (the reentry rules run)
    keys: dict[str, Any] = field(default_factory=dict)  # the traders' and households' private keys, by address
    chain_id: int = 0
    actions: int = 0
    outcomes: Counter = field(default_factory=Counter)  # "contract.function:ok" or ":<custom error>" -> count
    seconds: float = 0.0
    milestones: Counter = field(default_factory=Counter)  # what the standing-order world reached (the bounded test asks)

    def restore(self) -> None:
        """Back to the world as built. Its snapshot predates the test runner's per-test one, which the
        first revert drops: one test per world (per module), so the runner's isolation cannot undo ours."""
        self.node.revert(self.snapshot_id)
        self.snapshot_id = self.node.snapshot()
        rpc = self.node.rpc
        rpc.request("anvil_setBlockTimestampInterval", [1])
        rpc.request("evm_setNextBlockTimestamp", [self.start_timestamp + 1])


def build_world(project: Any, chain: Any, accounts: Any, hook_token: bool = False) -> SystemWorld:
    """The deployed, seeded system; with `hook_token`, its payment token is ReentrantToken, each account's
    wallet minted as the MockStablecoin faucet would top it up."""
    admin, traders, devices, stranger = accounts[0], [accounts[i] for i in (1, 2, 3)], [accounts[i] for i in (4, 5, 6)], accounts[9]
    system = _deploy_and_fund(project, admin, [*traders, stranger], hook_token)
    setup_local_roles(system, admin)
    second_auction = _deploy_second_auction(project, system, admin)
    # The markets take no token themselves: their escrow (and the shares' revenue deposits) comes from
    # vault balances, and the vault pulls a shortfall from the wallet with its allowance. Funds stay in
    # the wallets (DemandResponse pulls event budgets from there); claims, rewards and the book's payouts
    # then build vault balances that later orders and deposits spend first.
    spenders = (system.energy_vault, system.demand_response)
    for account in (*traders, admin, stranger):
        for spender in spenders:
            system.energy_token.approve(spender, MAX_UINT, sender=account)
            system.payment_token.approve(spender, MAX_UINT, sender=account)
        for market in (system.energy_auction, second_auction, system.energy_trading, system.energy_asset_shares):
            system.energy_vault.setMarketApproval(market, True, sender=account)
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
    # Households: a meter each (two for traders[0]) with standing orders, and a deposit for their bids.
    household_keys = [bytes([0x5F] * 31 + [i + 1]) for i in range(len(HOUSEHOLD_OWNERS))]
    households = [Account.from_key(key).address for key in household_keys]
    for household, owner, limits in zip(households, HOUSEHOLD_OWNERS, HOUSEHOLD_STANDING, strict=True):
        meter.registerMeter(household, traders[owner], REGION, 0, 0, sender=admin)
        meter.setStandingOrder(household, *limits, sender=traders[owner])
    _add_zones(system, admin, households[:2])
    for trader in traders:
        system.energy_vault.deposit(system.payment_token, HOUSEHOLD_DEPOSIT, sender=trader)
    household_read_at = {h: int(meter.getMeter(h).lastReadingAt) for h in households}
    chain.mine()

    contracts = {
        "energy": system.energy_token,
        "payment": system.payment_token,
        "meter": meter,
        "trading": system.energy_trading,
        "auction": system.energy_auction,
        "auction2": second_auction,
        "vault": system.energy_vault,
        "grid": system.grid_management,
        "dr": system.demand_response,
        "carbon": system.carbon_credits,
        "nft": nft,
        "shares": shares,
        "zones": system.market_zones,
        "stepped": system.stepped_clearing,
        "ops": system.grid_operations,
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
        households=households,
        household_read_at=household_read_at,
        hook_token=hook_token,
        keys={**{t.address: t.private_key for t in traders}, **dict(zip(households, household_keys, strict=True))},
        chain_id=chain.chain_id,
    )
    return world


def _deploy_second_auction(project: Any, system: Any, admin: Any) -> Any:
    """A second standing-order auction of the same vault and meters, as the first but without zones: the
    machine migrates the reading market to it and back (SmartMeter.setVault), so that orders left in the
    market named before settle there (settleStandingOrdersIn) and zoned meters trade on its bus."""
    first = system.energy_auction
    auction = deploy_energy_auction(project,
        admin,
        system.energy_vault,
        system.smart_meter,
        first.feeRecipient(),
        first.gridFeeBps(),
        AUCTION_PERIOD_SECONDS,
        AUCTION_GATE_SECONDS,
        *DEFAULT_AUCTION_PRICE_GRID,
        sender=admin,
    )
    system.energy_vault.registerMarket(auction, sender=admin)
    return auction


def _add_zones(system: Any, admin: Any, zoned_meters: list[str]) -> None:
    """Two zones of the reading market; the meters' region is rated by its load report. The standing
    orders of `zoned_meters` trade in its zone (syncMeterZone), the other households' on the bus."""
    system.grid_operations.reportLoad(REGION, ZONE_RATING_KW, 1, sender=admin)
    for region in ZONE_REGIONS:
        system.market_zones.addZone(region, sender=admin)
    for meter in zoned_meters:
        system.smart_meter.syncMeterZone(meter, sender=admin)


def _deploy_and_fund(project: Any, admin: Any, accounts: list[Any], hook_token: bool) -> Any:
    """The system, and the payment token in the accounts' and the admin's wallets."""
    if not hook_token:
        system = deploy_system(project, admin)
        fund_local_accounts(system, admin, accounts)
        system.payment_token.addConsumerBalance(admin, 10_000, sender=admin)
        return system
    system = deploy_system(project, admin, DeploymentSettings(payment_token=project.ReentrantToken.deploy(sender=admin)))
    for account in (*accounts, admin):
        system.payment_token.mint(account, HOOK_TOKEN_FAUCET, sender=admin)
    return system


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
ARRIVED_CREDITED = topic("ArrivedCredited(address,address,address[],uint256[])")
DR_CLOSED = (topic("EventCompleted(uint256,uint256)"), topic("EventCancelled(uint256,uint256)"))
TRANSFER = topic("Transfer(address,address,uint256)")
CREDITS_ISSUED = topic("CarbonCreditsIssued(address,address,uint256,uint256,uint256)")
ZONE_CLEARED = topic("ZoneCleared(uint256,uint256,uint8,uint256,uint256,int256)")
ZONE_RATING_UPDATED = topic("ZoneRatingUpdated(uint32,uint256,uint256)")
CLEARING_STEPPED = topic("ClearingStepped(uint256,uint8,uint256,address)")
STEPPED_RESULT_REFUSED = topic("SteppedResultRefused(uint256)")
MARKET_CLEARED = topic("MarketCleared(uint256,uint256,uint256,uint256,uint8,uint256,uint256,uint256,uint256)")
AUCTION_CLAIMED = topic("OrderClaimed(uint256,address,bool,uint256,uint256,uint256,uint256)")
METERED_SETTLED = topic("MeteredOrdersSettled(address,uint256,uint256)")
FEES_WITHDRAWN = topic("FeesWithdrawn(address,uint256)")
ENERGY_RETIRED = topic("EnergyRetired(address,uint256)")
REENTRY_EXECUTED = topic("ReentryExecuted(address)")


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


@dataclass
class StandingSlot:
    """A household meter's standing orders placed in one market (one interval)."""

    owner: str
    ask_wh: int = 0
    ask_tick: int = 0
    bid_wh: int = 0
    bid_tick: int = 0
    lock: int = 0  # payment the bid took from the owner's free balance
    settled: bool = False
    zone: int = 0  # the zone its orders trade in (0: the bus)


@dataclass
class MarketFills:
    """What a market's claims and settlements paid out: energy bought and sold, money paid and netted."""

    bought_wh: int = 0
    sold_wh: int = 0
    paid: int = 0
    proceeds: int = 0  # what sellers got after the fee


@dataclass
class AuctionBooks:
    """What the model keeps of one standing-order auction: its reading deadline, the households' slots in
    it, the zones holding orders in each market, the markets it cleared and what they paid out, and its
    vault balance as what came in less what went out."""

    deadline: int
    flow: list[int]  # its vault balance, energy and payment, from its snapshot value on
    fees_accrued: int
    slots: dict[tuple[str, int], StandingSlot] = field(default_factory=dict)  # (meter, period)
    zones: dict[int, set[int]] = field(default_factory=dict)  # period -> the zones holding orders (0: the bus)
    cleared: set[int] = field(default_factory=set)
    volume: dict[int, int] = field(default_factory=dict)  # cleared period -> volume traded
    fills: dict[int, MarketFills] = field(default_factory=dict)
    claimed: set[int] = field(default_factory=set)
    # Markets cleared in one transaction and what the accrued fees grew by in it.
    clear_groups: list[tuple[tuple[int, ...], int]] = field(default_factory=list)

    def clears_at(self, period: int) -> int:
        """When the market may clear (IMeteredMarket.clearingTime): the period's end plus the deadline in force."""
        return (period + 1) * AUCTION_PERIOD_SECONDS + self.deadline

    def zone_bits(self, period: int) -> int:
        """MarketZones.zonesOf: the zones holding orders, the bus among them, or none when no order names a zone."""
        zones = self.zones.get(period, set())
        return sum(1 << z for z in zones) if zones - {0} else 0


def sell_tick(price_per_kwh: int) -> int | None:
    """A sell limit's tick, rounded up (to the seller's advantage); None above the grid."""
    tick = 0 if price_per_kwh <= AUCTION_MIN_PRICE else -(-(price_per_kwh - AUCTION_MIN_PRICE) // AUCTION_TICK_SIZE)
    return tick if tick < AUCTION_TICKS else None


def buy_tick(price_per_kwh: int) -> int | None:
    """A buy limit's tick, rounded down (to the buyer's advantage); None below the grid."""
    if price_per_kwh < AUCTION_MIN_PRICE:
        return None
    return min((price_per_kwh - AUCTION_MIN_PRICE) // AUCTION_TICK_SIZE, AUCTION_TICKS - 1)


def tick_price(tick: int) -> int:
    return AUCTION_MIN_PRICE + tick * AUCTION_TICK_SIZE


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
        # The zone link's ratings by the first period they apply to, and the operator's limits per period, kW.
        self.link_ratings: list[tuple[int, int]] = [(0, ZONE_RATING_KW)]
        self.link_limits: dict[int, tuple[int, int]] = {}
        # The stepped clearings of the zoned auction: each run's (stage, zones left in it), and a finished
        # run's result (zones, ZoneResult words), which the market's clear must record.
        self.runs: dict[int, tuple[int, int]] = {}
        self.run_results: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        self._init_standing_world()

    def _init_standing_world(self) -> None:
        """The model of the vault, the households' standing orders and the auction's flows."""
        w = self.world
        self.standing = {h: HOUSEHOLD_STANDING[k] for k, h in enumerate(w.households)}
        self.household_owner = {h: w.traders[HOUSEHOLD_OWNERS[k]] for k, h in enumerate(w.households)}
        self.household_registers = {h: [0, 0] for h in w.households}  # import, export
        self.household_last = dict(w.household_read_at)
        self.approved = {a: True for a in (*w.traders, w.admin, w.stranger)}  # of the auction, in the vault
        # Each auction's vault balance is what came in (escrows, asks, locks) less what went out (claims,
        # settlements, retirements, fee withdrawals), from its snapshot value on. Both take the meters'
        # readings: a market clears its reading deadline after its period ends, not at its gate.
        self.books: dict[str, AuctionBooks] = {}
        for name in READING_MARKETS:
            auction = w.c[name]
            registry, deadline, balances, fees = w.node.calls([
                (auction, "meterRegistry", ()), (auction, "readingDeadline", ()),
                (w.c["vault"], "balancesOf", (auction.address,)), (auction, "accruedFees", ()),
            ])
            assert registry.lower() == w.c["meter"].address.lower()
            self.books[name] = AuctionBooks(int(deadline), list(balances), fees)
        # The meters' reading market, the markets SmartMeter has named (settleStandingOrdersIn takes those),
        # and each household's zone with the market it was synced with (its zone holds only there).
        self.reading, self.migrated_at = "auction", self.now
        self.named_markets = ["auction"]
        self.meter_zone = {h: (1, "auction") if k < 2 else (0, "") for k, h in enumerate(w.households)}
        self.vault_holders = sorted({w.admin, *w.traders, w.stranger, *(c.address for c in w.c.values())})
        self.values_before: dict[Any, Any] | None = None  # the last check's balances
        self.step_moved = False  # a transaction of this step succeeded
        self.settled_now: list[tuple[str, str, int]] = []  # (auction, meter, period) the last transaction settled

    def wait_until(self, timestamp: int) -> None:
        """Time passes until the next block can be at `timestamp` (a device waiting for its slot, a
        keeper waiting for a window): mines an empty block just before it."""
        if timestamp - 1 > self.now:
            self.now = timestamp - 1
            self.world.node.mine_at(self.now)

    # ----------------------------------------------------------------------------- plumbing

    def send(self, target: str, fn: str, args: tuple[Any, ...], sender: str, expect_ok: bool = False, moves: bool = True) -> Outcome:
        """Sends one transaction; `moves` False for one that moves no token or vault balance (arming the hook
        token), so that a step whose other calls all reverted is still checked to have moved nothing."""
        started = time.perf_counter()
        w = self.world
        out = w.node.transact(w.c[target], fn, args, sender)
        self._record(target, fn, out, moves)
        if expect_ok:
            assert out.ok, f"{target}.{fn}{args} from {sender}: the model expected success, got {out.error}"
        w.seconds += time.perf_counter() - started
        return out

    def _record(self, target: str, fn: str, out: Outcome, moves: bool = True) -> None:
        """Counts a sent transaction (reverted or not, it took a block) and collects new token holders."""
        w = self.world
        w.actions += 1
        w.outcomes[f"{target}.{fn}:{'ok' if out.ok else out.error}"] += 1
        self.now += 1
        if out.ok:
            self._collect_holders(out)
            self._observe_auction(out)
            self.step_moved = self.step_moved or moves

    def _collect_holders(self, out: Outcome) -> None:
        c = self.world.c
        for token in ("energy", "payment", "carbon"):
            for log in out.events(c[token], TRANSFER_TOPIC):
                self.holders[token].add(topic_address(log, 2))
        for log in out.events(c["shares"], TRANSFER_SINGLE_TOPIC):
            self.holders["shares"].add(topic_address(log, 3))

    @staticmethod
    def pick(items: Iterable[Any], index: int) -> Any:
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
        region=st.sampled_from((0, 0, *ZONE_REGIONS, 7)),
    )
    def auction_submit(
        self, who: int, is_bid: bool, ahead: int, amount: int, level: int, off_grid: int, join: int, region: int = 0
    ) -> None:
        """Mostly into a period that has orders and is still open (join > 0), so bids meet asks; else
        `ahead` periods from now (0: its gate has closed). A bid's tick is AUCTION_MID_TICK + level, an
        ask's AUCTION_MID_TICK - level: a bid and an ask cross when their levels add up to 0 or more. In a
        zone's region (`region`; 0: on the bus; 7 is no zone, which the auction refuses)."""
        open_periods = [p for p in self._auction_periods(cleared=False) if self.now + 1 < self._gate_closes(p)]
        period = self.pick(open_periods, join) if open_periods and join else (self.now + 1) // AUCTION_PERIOD_SECONDS + ahead
        tick = AUCTION_MID_TICK + level if is_bid else AUCTION_MID_TICK - level
        limit = AUCTION_MIN_PRICE + tick * AUCTION_TICK_SIZE + (1 if off_grid == 0 else 0)
        trader = self.world.traders[who]
        function = ("submitBid" if is_bid else "submitAsk") + ("In" if region else "")
        out = self.send("auction", function, (region, period, amount, limit) if region else (period, amount, limit), trader)
        if out.ok:
            self._book_firm_orders(out, trader, period, is_bid, amount, limit, ZONE_REGIONS.index(region) + 1 if region else 0)

    def _book_firm_orders(self, out: Outcome, trader: str, period: int, is_bid: bool, amount: int, limit: int, zone: int) -> None:
        for log in out.events(self.world.c["auction"], AUCTION_SUBMITTED):
            self.auction_orders[topic_int(log, 1)] = AuctionOrder(trader, period, is_bid, amount, limit)
            self.books["auction"].zones.setdefault(period, set()).add(zone)

    @rule(
        ahead=st.sampled_from((-1, 0, 1, 1, 2)),
        import_kw=st.sampled_from(LINK_LIMITS_KW),
        export_kw=st.sampled_from(LINK_LIMITS_KW),
        count=st.sampled_from((1, 3)),
        far=st.sampled_from((0, 0, 0, 0, 1, 2, 3, 4)),
    )
    def zone_link_limits(self, ahead: int, import_kw: int, export_kw: int, count: int, far: int = 0) -> None:
        """The operator of the meters' region (the admin) limits its link for `count` periods: refused once
        the first one's gate has closed, so a market clears with the limits in force at its gate (a run of
        steps under way among them), and refused for a period further ahead than the auction takes orders:
        far 1: from the furthest period it allows (a count of 3 passes it); 2: one beyond it; 3: the
        period's alias, period + 2**248, which once rewrote the period's limits; 4: 2**256 - 1. The views
        then give the model's limits for the period and refuse periods past 2**48 - 1."""
        # Mostly a market that has orders, whose gate may still be open; else `ahead` periods from now.
        periods = self._auction_periods(cleared=False)
        period = self.pick(periods, ahead) if periods and ahead > 0 else (self.now + 1) // AUCTION_PERIOD_SECONDS + ahead
        if far == 3 and self.runs:  # a run under way: its gate has closed, its alias is far ahead
            period = self.pick(self.runs, ahead)
        furthest = (self.now + 1 + MAX_LEAD_SECONDS + AUCTION_GATE_SECONDS) // AUCTION_PERIOD_SECONDS
        first = (period, furthest, furthest + 1, period + ALIAS_OFFSET, MAX_UINT)[far]
        gate = max(min(first * AUCTION_PERIOD_SECONDS, MAX_UINT) - AUCTION_GATE_SECONDS, 0)
        expected = ("LinkPeriodClosed" if self.now + 1 >= gate else
                    "PeriodTooFarAhead" if first + count - 1 > furthest else None)
        out = self.send("zones", "setLinkLimits", (REGION, first, count, import_kw, export_kw), self.world.admin, moves=False)
        assert out.error == expected, f"link limits from period {first} ({count}): {out.error}, model {expected}"
        w = self.world
        if out.ok:
            for p in range(first, first + count):
                self.link_limits[p] = (import_kw, export_kw)
        elif expected == "LinkPeriodClosed":
            w.milestones["link limit after the gate refused"] += 1
        else:
            w.milestones["link limit too far ahead refused" if far < 3 else "link limit of an aliased period refused"] += 1
        self._check_link_views(period)

    def _check_link_views(self, period: int) -> None:
        """MarketZones' views of the link: the model's limits for `period` (and for the furthest period 48 bits
        hold), and PeriodOutOfRange for any period past it: the period's alias, 2**48 and 2**256 - 1."""
        w, zones = self.world, self.world.c["zones"]
        periods = (period, MAX_PERIOD, period + ALIAS_OFFSET, MAX_PERIOD + 1, MAX_UINT)
        views = [(zones, "linkLimitsKW", (REGION, p)) for p in periods] + [(zones, "linkLimitsWh", (1, p)) for p in periods]
        views += [(zones, "ratingKW", (REGION, p)) for p in periods]
        got = w.node.calls(views)
        for k, p in enumerate(periods):
            kw, wh, rating = got[k], got[len(periods) + k], got[2 * len(periods) + k]
            if p > MAX_PERIOD:
                assert kw == wh == rating == Reverted("PeriodOutOfRange"), f"views of period {p}: {kw}, {wh}, {rating}"
                continue
            import_kw, export_kw = self._link_limits_kw(p)
            assert tuple(kw) == (import_kw, export_kw), f"period {p}: limits {kw} kW, model {(import_kw, export_kw)}"
            assert tuple(wh) == (import_kw * WH_PER_KW_PERIOD, export_kw * WH_PER_KW_PERIOD), f"period {p}: limits {wh} Wh"
            assert rating == self._link_rating_kw(p), f"period {p}: rating {rating} kW"
        w.milestones["views of periods past 2**48 - 1 refused"] += 1

    @rule(capacity_kw=st.sampled_from((2, 40, 400)))
    def zone_rating(self, capacity_kw: int) -> None:
        """A new load report of the meters' region rates its link again (anyone syncs it): from the first
        period whose gate is still open, never for one whose gate has closed."""
        w = self.world
        if not self.send("ops", "reportLoad", (REGION, capacity_kw, 1), w.admin, moves=False).ok:
            return
        out = self.send("zones", "syncRating", (REGION,), w.stranger, expect_ok=True, moves=False)
        (log,) = out.events(w.c["zones"], ZONE_RATING_UPDATED)
        from_period = word(log["data"], 1)
        assert self.now // AUCTION_PERIOD_SECONDS < from_period, "a rating reached a period under way"
        self.link_ratings.append((from_period, capacity_kw))

    def _link_rating_kw(self, period: int) -> int:
        return [kw for first, kw in self.link_ratings if first <= period][-1]

    def _link_limits_kw(self, period: int) -> tuple[int, int]:
        """The meters' zone's link limits in force for `period`, kW: the rating then, capped by the operator's."""
        rating = self._link_rating_kw(period)
        import_kw, export_kw = self.link_limits.get(period, (rating, rating))
        return min(import_kw, rating), min(export_kw, rating)

    def _link_limits_wh(self, period: int) -> tuple[int, int]:
        import_kw, export_kw = self._link_limits_kw(period)
        return import_kw * WH_PER_KW_PERIOD, export_kw * WH_PER_KW_PERIOD

    @rule(pick=PICK, max_ticks=st.sampled_from(STEP_TICKS), wait=st.integers(0, 4))
    def clearing_step(self, pick: int, max_ticks: int, wait: int) -> None:
        """Anyone takes a coupled market's clearing a step on (SteppedClearing): mostly a market with zoned
        orders not cleared yet, its run under way first, once it may clear (wait 0: when the step comes,
        refused before its clearing time; with no such market, one with no zoned orders). A step of one
        zone (max_ticks 0 or 1) leaves the run half done, so that limit and deadline changes, readings and
        clears meet it; MAX_STEP_TICKS takes a whole stage. A finished run's result is the
        one-transaction clearing's, and its market is cleared next (wait 0: one more step, refused), which
        records that result."""
        books = self.books["auction"]
        runs = {stage == STAGE_FINISHED: sorted(p for p, (s, _) in self.runs.items() if (s == STAGE_FINISHED) == (stage == STAGE_FINISHED)
                                                 and p not in books.cleared) for stage in (STAGE_NONE, STAGE_FINISHED)}
        zoned = [p for p in books.zones if p not in books.cleared and books.zone_bits(p)]
        candidates = runs[False] or runs[True] or zoned
        period = self.pick(candidates, pick) if candidates else (self.now + 1) // AUCTION_PERIOD_SECONDS - 1
        if wait and period in runs[True]:
            self._clear(period)
        else:
            self._step(period, max_ticks, bool(wait))

    def _step(self, period: int, max_ticks: int, wait: bool) -> None:
        """One step of `period`'s clearing (after waiting for its clearing time), checked against the run's
        model: its outcome, then the stage and zones left that its event reports."""
        w, books = self.world, self.books["auction"]
        if wait:
            self.wait_until(books.clears_at(period))
        stage, left = self.runs.get(period, (STAGE_NONE, 0))
        zones = bin(books.zone_bits(period)).count("1")
        expected = ("StepsFinished" if stage == STAGE_FINISHED else "MarketAlreadyCleared" if period in books.cleared else
                    "StepsNotOpen" if stage == STAGE_NONE and self.now + 1 < books.clears_at(period) else
                    "NoZonedOrders" if stage == STAGE_NONE and not zones else None)
        out = self.send("stepped", "step", (period, max_ticks), w.stranger, moves=False)
        assert out.error == expected, f"step of market {period} at stage {stage}: {out.error}, model {expected}"
        if not out.ok:
            return
        if stage == STAGE_NONE:
            stage, left = STAGE_STEPS, zones
        left -= 1 if max_ticks <= 1 else left
        if not left:
            stage, left = stage + 1, 0 if stage + 1 == STAGE_FINISHED else zones
        (log,) = out.events(w.c["stepped"], CLEARING_STEPPED)
        assert (word(log["data"], 0), word(log["data"], 1)) == (stage, left), f"market {period}: step gave {log['data']}"
        self.runs[period] = (stage, left)
        w.milestones["clearing steps"] += 1
        if stage == STAGE_FINISHED:
            stepped, coupled = w.node.calls([(w.c["stepped"], "result", (period,)), (w.c["zones"], "clearMarket", (period,))])
            assert stepped == coupled, f"market {period}: steps gave {stepped}, one transaction {coupled}"
            self.run_results[period] = (tuple(stepped[6]), tuple(stepped[7]))
            w.milestones["stepped runs finished"] += 1

    @rule(who=st.integers(0, 2), level=st.sampled_from((0, 10, 60)), max_ticks=st.sampled_from(STEP_TICKS))
    def zones_step(self, who: int, level: int, max_ticks: int) -> None:
        """A coupled market's lifecycle, one transaction a step: the earliest market with zoned orders not
        cleared yet, once its gate has closed, is taken a step on at its clearing time (a whole stage,
        or one zone when max_ticks is 0), and cleared once its run has finished (recording the steps'
        result); while its gate is open, an ask in the other zone joins it; with none, a bid in the
        meters' zone two periods ahead."""
        books = self.books["auction"]
        zoned = sorted(p for p in books.zones if p not in books.cleared and books.zone_bits(p))
        if not zoned:
            self.auction_submit(who, True, 2, 1_000, level, 1, 0, REGION)
        elif self.now + 1 < self._gate_closes(zoned[0]):
            open_periods = [p for p in self._auction_periods(cleared=False) if self.now + 1 < self._gate_closes(p)]
            join = open_periods.index(zoned[0]) if zoned[0] in open_periods else 0
            self.auction_submit((who + 1) % 3, False, 2, 1_000, level, 1, join + len(open_periods) * (join == 0), ZONE_REGIONS[1])
        elif self.runs.get(zoned[0], (STAGE_NONE, 0))[0] == STAGE_FINISHED:
            self._clear(zoned[0])
        else:
            self._step(zoned[0], max_ticks and STEP_TICKS[-1], True)

    def _auction_periods(self, cleared: bool) -> list[int]:
        """The periods the model's orders are in, cleared or not, earliest first."""
        done = self.books["auction"].cleared
        return sorted({o.period for o in self.auction_orders.values() if (o.period in done) == cleared})

    @staticmethod
    def _gate_closes(period: int) -> int:
        return period * AUCTION_PERIOD_SECONDS - AUCTION_GATE_SECONDS

    @rule(ahead=st.sampled_from((-2, -1, 0, 1, 2)))
    def auction_clear(self, ahead: int) -> None:
        """Anyone clears: mostly the earliest period with orders, after waiting for its clearing time."""
        periods = self._auction_periods(cleared=False)
        if periods and ahead < 1:
            self._clear(periods[0])
        else:
            self._clear((self.now + 1) // AUCTION_PERIOD_SECONDS + ahead)

    def _clear(self, period: int, market: str = "auction") -> None:
        """Anyone clears `market`'s market of `period` at its clearing time: once only."""
        books = self.books[market]
        self.wait_until(books.clears_at(period))
        cleared = period in books.cleared
        out = self.send(market, "clear", (period,), self.world.stranger, expect_ok=not cleared)
        assert out.ok or out.error == "MarketAlreadyCleared", out.error

    @precondition(lambda self: self.auction_orders)
    @rule(pick=st.integers(0, 10**6), batch=st.sampled_from((0, 0, 1, 3)))
    def auction_claim(self, pick: int, batch: int = 0) -> None:
        """Its trader claims: mostly an order of a cleared market not claimed yet. Or a keeper claims
        `batch` orders at once (claimBatch; an order claimed before is skipped): each OrderClaimed
        event books its claim."""
        claimable = self._claimable()
        if batch:
            orders = [self.pick(claimable or self.auction_orders, pick + k) for k in range(batch)]
            self.send("auction", "claimBatch", (orders,), self.world.stranger)
            return
        order_id = self.pick(claimable or self.auction_orders, pick)
        order = self.auction_orders[order_id]
        if self.send("auction", "claim", (order_id,), order.trader).ok:
            order.claimed = True

    def _claimable(self) -> list[int]:
        """The firm orders of cleared markets not claimed yet."""
        cleared = self.books["auction"].cleared
        return [i for i, o in self.auction_orders.items() if o.period in cleared and not o.claimed]

    # ----------------------------------------------------------------------------- the auction's books

    def _observe_auction(self, out: Outcome) -> None:
        """Books what a successful transaction moved through each auction; the energy its standing bids
        bought is what the vault retired."""
        retired = sum(self._observe_market(out, name, books) for name, books in self.books.items())
        retired_logged = sum(word(log["data"], 0) for log in out.events(self.world.c["vault"], ENERGY_RETIRED))
        assert retired_logged == retired, f"retired {retired_logged} Wh, standing bids bought {retired}"

    def _observe_market(self, out: Outcome, name: str, books: AuctionBooks) -> int:
        """Books what the transaction moved through auction `name`: escrows in; claims, standing
        settlements and fee withdrawals out; the markets it cleared and what their clearing accrued.
        Nothing is claimed, settled or cleared twice. Returns the energy its standing bids bought."""
        w, auction = self.world, self.world.c[name]
        cleared = []
        for log in out.events(auction, MARKET_CLEARED):
            period = topic_int(log, 1)
            assert period not in books.volume, f"{name}: market {period} cleared twice"
            books.volume[period] = word(log["data"], 2)
            books.cleared.add(period)
            cleared.append(period)
            if name != "auction":  # no zones: its zoned meters' orders traded on the bus
                assert word(log["data"], 3) != LONG_SIDE_ZONES, f"{name}: market {period} cleared across zones"
        if name == "auction" and cleared:
            self._observe_zones(out, cleared)
        if cleared:
            fees = w.node.call(auction, "accruedFees")
            assert fees >= books.fees_accrued, f"{name}: clearing {cleared} lowered the accrued fees"
            books.clear_groups.append((tuple(cleared), fees - books.fees_accrued))
            books.fees_accrued = fees
        for log in out.events(auction, AUCTION_SUBMITTED):
            is_bid, amount, limit, escrow = (word(log["data"], i) for i in range(4))
            assert escrow == (ceil_cost(amount, limit) if is_bid else amount), f"order {topic_int(log, 1)}: escrow {escrow}"
            books.flow[1 if is_bid else 0] += escrow
        for log in out.events(auction, AUCTION_CLAIMED):
            order_id = topic_int(log, 1)
            assert order_id not in books.claimed, f"{name}: order {order_id} claimed twice"
            books.claimed.add(order_id)
            if name == "auction" and order_id in self.auction_orders:  # a claim, or the trader's next order claiming it in line
                self.auction_orders[order_id].claimed = True
            is_bid, filled, payment, fee, refund = (word(log["data"], i) for i in range(5))
            fills = books.fills.setdefault(order_id >> 192, MarketFills())  # the id's period
            if is_bid:
                fills.bought_wh += filled
                fills.paid += payment
                books.flow[0] -= filled
                books.flow[1] -= refund
            else:
                fills.sold_wh += filled
                fills.proceeds += payment - fee
                books.flow[0] -= refund
                books.flow[1] -= payment - fee
        retired = 0
        for log in out.events(auction, METERED_SETTLED):
            fill = unpacked("MeteredOrdersSettled", {"periodAndVolumes": word(log["data"], 0), "payments": word(log["data"], 1)})
            key = (topic_address(log, 1), fill["period"])
            slot = books.slots.get(key)
            assert slot is not None and (slot.ask_wh or slot.bid_wh), f"{name}: standing orders {key} settled, none placed"
            assert not slot.settled, f"{name}: standing orders {key} settled twice"
            slot.settled = True
            ask_wh, sold, proceeds, bid_wh, bought, paid = (
                fill[f] for f in ("askWh", "soldWh", "proceeds", "bidWh", "boughtWh", "paid")
            )
            assert (ask_wh, bid_wh) == (slot.ask_wh, slot.bid_wh), f"{name}: standing orders {key} settled other amounts"
            assert sold <= slot.ask_wh and bought <= slot.bid_wh and paid <= slot.lock, (key, slot, sold, bought, paid)
            fills = books.fills.setdefault(key[1], MarketFills())
            fills.sold_wh += sold
            fills.proceeds += proceeds
            fills.bought_wh += bought
            fills.paid += paid
            books.flow[0] -= slot.ask_wh - sold + bought  # unsold energy back, bought energy retired
            books.flow[1] -= proceeds + slot.lock - paid
            retired += bought
            self.settled_now.append((name, *key))
        for log in out.events(auction, FEES_WITHDRAWN):
            assert word(log["data"], 0) == books.fees_accrued, f"{name}: fees withdrawn are not the fees accrued"
            books.flow[1] -= books.fees_accrued
            books.fees_accrued = 0
        return retired

    def _observe_zones(self, out: Outcome, cleared: list[int]) -> None:
        """The zones' results of the markets the zoned auction cleared: each zone's net export within its
        link's limits; a market's net exports add up to zero (the links carry what the zones trade with
        each other) and its energy bought is its energy sold; a finished run of steps is what was recorded
        (never refused), and a run left half done cleared in one transaction."""
        w = self.world
        refused = [topic_int(log, 1) for log in out.events(w.c["zones"], STEPPED_RESULT_REFUSED)]
        assert not refused, f"the steps' results of markets {refused} were refused: they do not balance"
        net: dict[int, int] = {}
        recorded: dict[int, list[tuple[int, int, int, int]]] = {}
        for log in out.events(w.c["zones"], ZONE_CLEARED):
            period, zone = topic_int(log, 1), topic_int(log, 2)
            net_export_wh = word(log["data"], 3)
            net_export_wh -= (net_export_wh >= 2**255) * 2**256
            if zone == 1:
                import_wh, export_wh = self._link_limits_wh(period)
                assert -import_wh <= net_export_wh <= export_wh, f"zone 1 in {period}: {net_export_wh} Wh past ({import_wh}, {export_wh})"
                w.milestones["a zone's link held its limit"] += net_export_wh in (-import_wh, export_wh)
            net[period] = net.get(period, 0) + net_export_wh
            recorded.setdefault(period, []).append((zone, word(log["data"], 0), word(log["data"], 1), net_export_wh))
            w.milestones["zones cleared"] += 1
        for period in cleared:
            if period not in recorded:
                assert not self.books["auction"].zone_bits(period), f"market {period} had zoned orders, cleared alone"
                continue
            assert net[period] == 0, f"market {period}: the zones' net exports add up to {net[period]} Wh"
            # A cleared market's books hold its zones' results: the preview is refused, and the auction's
            # record of the volume sold in all zones is what the model's books traded.
            preview, market = w.node.calls([(w.c["zones"], "clearMarket", (period,)), (w.c["auction"], "getMarket", (period,))])
            assert preview == Reverted("MarketAlreadyCleared"), f"market {period}: {preview}"
            sold_wh = market[7]
            assert sold_wh == self.books["auction"].volume[period], f"market {period}: {sold_wh} Wh sold"
            if period in self.run_results:
                zones, results = self.run_results[period]
                # ZoneResult: the tick in the low byte, the role at bit 184, the net export a signed 64-bit number from bit 192.
                steps = [(z, (r >> 184) & 0xFF, r & 0xFF, (r >> 192) - (r >> 255) * 2**64) for z, r in zip(zones, results, strict=True)]
                assert recorded[period] == steps, f"market {period}: recorded {recorded[period]}, its steps gave {steps}"
                w.milestones["stepped results recorded"] += 1
            elif period in self.runs:
                w.milestones["runs left half done cleared in one transaction"] += 1

    # ----------------------------------------------------------------------------- the vault

    def _account(self, who: int) -> str:
        w = self.world
        return (*w.traders, w.stranger)[who]

    @rule(who=st.integers(0, 3), energy=st.booleans(), amount=st.sampled_from((1, 50_000, HOUSEHOLD_DEPOSIT, 10**30)))
    def vault_deposit(self, who: int, energy: bool, amount: int) -> None:
        """A trader (or the stranger) deposits from its wallet; 10**30 is more than any wallet holds."""
        w = self.world
        account, token = self._account(who), w.c["energy" if energy else "payment"]
        wallet = w.node.call(token, "balanceOf", account)
        out = self.send("vault", "deposit", (token.address, amount), account, expect_ok=amount <= wallet)
        assert out.ok == (amount <= wallet), f"deposit of {amount} from a wallet of {wallet}: {out.error}"

    @rule(who=st.integers(0, 3), energy=st.booleans(), share=st.sampled_from((1, 2, 10, 0)), to_other=st.booleans())
    def vault_withdraw(self, who: int, energy: bool, share: int, to_other: bool) -> None:
        """All, half or a tenth of a balance, to the wallet or to another address; share 0: one unit
        more than the balance, which the vault refuses."""
        w = self.world
        account, token = self._account(who), w.c["energy" if energy else "payment"]
        held = w.node.call(w.c["vault"], "balancesOf", account)[0 if energy else 1]
        amount = held + 1 if share == 0 or held == 0 else max(held // share, 1)
        to = w.stranger if to_other else account
        out = self.send("vault", "withdraw", (token.address, amount, to), account, expect_ok=amount <= held)
        if amount > held:
            assert out.error == ("InsufficientEnergy" if energy else "InsufficientPayment"), out.error
            w.milestones["over-withdrawal refused"] += 1

    @rule(who=st.integers(0, 4), approve=st.sampled_from((True, True, True, False)), registered=st.integers(0, 9))
    def market_approval(self, who: int, approve: bool, registered: int) -> None:
        """An account approves the auction in the vault, or revokes it; registered 0: a contract that is
        no market, which the vault refuses."""
        w = self.world
        account = (*w.traders, w.admin, w.stranger)[who]
        market = w.c["auction"] if registered else w.c["carbon"]
        out = self.send("vault", "setMarketApproval", (market.address, approve), account, expect_ok=bool(registered))
        if registered:
            self.approved[account] = approve
        else:
            assert out.error == "NotMarket", out.error

    @rule(who=st.integers(0, 2), is_bid=st.booleans())
    def unapproved_order(self, who: int, is_bid: bool) -> None:
        """A trader that revoked the auction's approval orders, and the vault refuses the auction's take;
        a trader still approving it revokes first (a step of its own)."""
        w = self.world
        trader = w.traders[who]
        if self.approved[trader]:
            self.market_approval(who, False, 1)
            return
        period = (self.now + 1) // AUCTION_PERIOD_SECONDS + 2
        paused = w.node.call(w.c["auction"], "paused")
        out = self.send("auction", "submitBid" if is_bid else "submitAsk", (period, 1_000, tick_price(AUCTION_MID_TICK)), trader)
        assert out.error == ("EnforcedPause" if paused else "MarketNotApproved"), out.error
        w.milestones["unapproved order refused"] += not paused

    # ----------------------------------------------------------------------------- standing orders

    @rule(
        k=st.integers(0, 2),
        sell=st.sampled_from((0, 60_000, 60_000, 128_500, 10**9)),
        sell_cap=st.sampled_from((0, 0, 300)),
        buy=st.sampled_from((0, 250_000, 250_000, 99_999, 10)),
        buy_cap=st.sampled_from((0, 0, 500)),
        by_owner=st.integers(0, 9),
        change=st.sampled_from((0, 0, 1, 2, 3, 4, 5, 6, 7)),  # removals twice as often as each other change
    )
    def standing_limits(self, k: int, sell: int, sell_cap: int, buy: int, buy_cap: int, by_owner: int, change: int) -> None:
        """A household's owner sets or changes its limits (off the grid now and then; by someone else:
        refused); change 0: removes them; 1 and 2: a price or a cap out of range, refused."""
        w = self.world
        meter = w.households[k]
        sender = self.household_owner[meter] if by_owner else w.traders[2]  # traders[2] owns no household
        if not change:
            out = self.send("meter", "removeStandingOrder", (meter,), sender, expect_ok=bool(by_owner))
            limits = (0, 0, 0, 0)
        else:
            limits = (2**96 if change == 1 else sell, sell_cap, buy, 2**32 if change == 2 else buy_cap)
            out = self.send("meter", "setStandingOrder", (meter, *limits), sender, expect_ok=bool(by_owner) and change > 2)
        if out.ok:
            # Both prices 0 remove the limits, caps and all.
            self.standing[meter] = limits if limits[0] or limits[2] else (0, 0, 0, 0)
        else:
            assert out.error == ("StandingOrderOutOfRange" if by_owner else "NotMeterOwner"), out.error

    @rule(
        mask=st.integers(1, 7),
        export=st.sampled_from((0, 400, 20_000)),
        imported=st.sampled_from((0, 300, 40_000)),
        jump=st.sampled_from((0, 1, 1, 2)),
        back=st.integers(0, 3),
    )
    def household_readings(self, mask: int, export: int, imported: int, jump: int, back: int) -> None:
        """The gateway reads some households `jump` intervals on; back 1: at the last second of the
        interval before, whose market still takes readings until its deadline; back 2: of the interval
        two before, whose market takes none."""
        meters = [h for k, h in enumerate(self.world.households) if mask >> k & 1]
        self._read_households(meters, export, imported, jump, back if back < 3 else 0)

    def _read_households(self, meters: list[str], export: int, imported: int, jump: int, back: int = 0) -> None:
        """One gateway batch, `jump` intervals on (back n: timed at the last second of the n-th interval
        before the current one, if the meters' last readings allow): each meter adds `export` and
        `imported` Wh (the first meter a third of them, so that the sides differ). Predicts what each
        reading places in the current reading market (the limits rounded to the owner's advantage, the
        caps, a bid cut to what the owner's free balance covers, the skips, the meter's zone there) and
        which earlier intervals it settles there (a meter's slot of the same parity), then books what it
        placed."""
        w = self.world
        earliest = max(self.household_last[m] for m in meters) + self.min_reading_interval
        if earliest - self.now < 2 * 3_600:  # else the rate limit refuses the batch, as it should
            period = (self.now + 1) // AUCTION_PERIOD_SECONDS + jump
            self.wait_until(max(earliest, period * AUCTION_PERIOD_SECONDS if jump else 0))
        block_ts = self.now + 1
        ts = block_ts
        if back and (block_ts // AUCTION_PERIOD_SECONDS - back + 1) * AUCTION_PERIOD_SECONDS - 1 >= earliest:
            ts = (block_ts // AUCTION_PERIOD_SECONDS - back + 1) * AUCTION_PERIOD_SECONDS - 1
        period = ts // AUCTION_PERIOD_SECONDS
        amounts = [(export // 3, imported // 3) if i == 0 else (export, imported) for i in range(len(meters))]
        readings = []
        for m, (e, i) in zip(meters, amounts, strict=True):
            cons, prod = self.household_registers[m]
            readings.append((ts, cons + i, prod + e, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE))
        market, books = self.reading, self.books[self.reading]
        owners = sorted({self.household_owner[m] for m in meters})
        *balances, paused = w.node.calls([*((w.c["vault"], "balancesOf", (o,)) for o in owners), (w.c[market], "paused", ())])
        free = dict(zip(owners, (b[1] for b in balances), strict=True))
        placed = self._expected_placements(meters, amounts, period, block_ts, free, paused)
        w.milestones["readings while the auction is paused"] += paused
        trading = {m for m in meters if self.standing[m][0] or self.standing[m][2]}
        due = {(market, m, p) for (m, p), s in books.slots.items()
               if m in trading and not s.settled and p % 2 == period % 2 and p != period}
        self.settled_now = []
        out = self.send("meter", "submitReadings", (meters, readings), w.admin)
        if not out.ok:
            return
        for m, r in zip(meters, readings, strict=True):
            self.household_registers[m] = [r[1], r[2]]
            self.household_last[m] = ts
        assert set(self.settled_now) == due, f"reading of period {period} settled {self.settled_now}, due {due}"
        w.milestones["standing orders settled by a reading"] += len(due)
        w.milestones["readings after their market closed"] += period + 1 < block_ts // AUCTION_PERIOD_SECONDS
        for m, (ask_wh, ask_tick, bid_wh, bid_tick, cut) in placed.items():
            w.milestones["standing bid cut to the free balance"] += cut
            slot = books.slots.setdefault((m, period), StandingSlot(self.household_owner[m], zone=self._standing_zone(m)))
            if ask_wh:
                slot.ask_wh, slot.ask_tick = ask_wh, ask_tick
                books.flow[0] += ask_wh
            if bid_wh:
                lock = ceil_cost(bid_wh, tick_price(bid_tick))
                slot.bid_wh, slot.bid_tick, slot.lock = bid_wh, bid_tick, lock
                books.flow[1] += lock
            books.zones.setdefault(period, set()).add(slot.zone)
            w.milestones["standing orders placed" + ("" if market == "auction" else " in the second auction")] += 1
            w.milestones["zoned meters' orders on the second auction's bus"] += market != "auction" and self.meter_zone[m][0] != 0

    def _standing_zone(self, meter: str) -> int:
        """The zone `meter`'s readings trade in now: the zone it was synced with, in the market it was synced
        with only (SmartMeter.meterZone); the second auction has no zones, so its orders trade on the bus."""
        zone, synced_with = self.meter_zone[meter]
        return zone if synced_with == self.reading == "auction" else 0

    def _expected_placements(
        self, meters: list[str], amounts: list[tuple[int, int]], period: int, block_ts: int, free: dict[str, int], paused: bool
    ) -> dict[str, tuple[int, int, int, int, bool]]:
        """Per meter, the (ask Wh, ask tick, bid Wh, bid tick, whether the bid was cut to the free
        balance) its reading places in the reading market, as IMeteredMarket specifies (a paused auction
        places nothing); meters that place nothing are left out."""
        books = self.books[self.reading]
        market_open = not paused and block_ts < books.clears_at(period) and period not in books.cleared
        spent: Counter = Counter()  # what the batch's bids locked of each owner's free balance
        placed = {}
        for m, (export, imported) in zip(meters, amounts, strict=True):
            sell, sell_cap, buy, buy_cap = self.standing[m]
            owner = self.household_owner[m]
            # The machine revokes and grants approvals of the first auction only.
            approved = self.approved[owner] or self.reading != "auction"
            if not (sell or buy) or not (export or imported) or not approved or not market_open:
                continue
            slot = books.slots.get((m, period))
            ask_wh, ask_tick, bid_wh, bid_tick, cut = 0, 0, 0, 0, False
            tick = sell_tick(sell)
            if sell and export and tick is not None and not (slot and slot.ask_wh):
                ask_wh, ask_tick = min(export, sell_cap or export), tick
            tick = buy_tick(buy)
            if buy and imported and tick is not None:
                wanted = min(imported, buy_cap or imported)
                left = free[owner] - spent[owner]
                affordable = min(wanted, left * 1_000 // tick_price(tick) if left > 0 else 0)
                if affordable and not (slot and slot.bid_wh):
                    bid_wh, bid_tick = affordable, tick
                    spent[owner] += ceil_cost(affordable, tick_price(tick))
                    cut = affordable < wanted
            if ask_wh or bid_wh:
                placed[m] = (ask_wh, ask_tick, bid_wh, bid_tick, cut)
        return placed

    @rule(
        picks=st.lists(st.integers(0, 3), min_size=0, max_size=4),
        who=st.integers(0, 10),
        wait=st.booleans(),
        market=st.sampled_from(("", "", "auction", "auction2")),
    )
    def settle_standing(self, picks: list[int], who: int, wait: bool, market: str = "") -> None:
        """Anyone settles households' standing orders whose markets may clear (3: an address that is
        no meter; no pick: an empty batch): in the reading market, or in a named one (settleStandingOrdersIn,
        refused for a market SmartMeter never named)."""
        w = self.world
        meters = [(*w.households, w.stranger)[p] for p in picks]
        books = self.books[market or self.reading]
        open_slots = [p for (m, p), s in books.slots.items() if m in meters and not s.settled]
        if wait and open_slots:
            self.wait_until(books.clears_at(min(open_slots)))
        self._settle_households(meters, self.actor(who), market)

    def _settle_households(self, meters: list[str], sender: str, market: str = "") -> None:
        """A settlement batch: in the reading market, or in `market` (settleStandingOrdersIn)."""
        w = self.world
        name = market or self.reading
        books = self.books[name]
        due = {(name, m, p) for (m, p), s in books.slots.items() if m in meters and not s.settled and books.clears_at(p) <= self.now + 1}
        self.settled_now = []
        expected_error = ("EmptyBatch" if not meters else "UnknownReadingMarket" if name not in self.named_markets else
                          "MeterUnknown" if w.stranger in meters else None)
        if market:
            out = self.send("meter", "settleStandingOrdersIn", (w.c[market].address, meters), sender, expect_ok=expected_error is None)
        else:
            out = self.send("meter", "settleStandingOrders", (meters,), sender, expect_ok=expected_error is None)
        assert out.error == expected_error, out.error
        if out.ok:
            assert set(self.settled_now) == due, f"settled {self.settled_now}, due {due}"
            w.milestones["standing orders settled by a batch"] += len(due)
            w.milestones["standing orders settled in a market named before"] += len(due) * (name != self.reading)

    @rule(early=st.integers(0, 3), pick=st.integers(0, 10**6))
    def standing_clear(self, early: int, pick: int) -> None:
        """Anyone clears a market households placed in (in either auction), at its clearing time (the
        period's end plus the auction's reading deadline); early 0: a second before it, which the market
        refuses."""
        w = self.world
        periods = sorted({(name, p) for name, b in self.books.items() for (_, p) in b.slots if p not in b.cleared})
        name, period = self.pick(periods, pick) if periods else (self.reading, (self.now + 1) // AUCTION_PERIOD_SECONDS)
        clears_at = self.books[name].clears_at(period)
        if early == 0 and self.now + 1 < clears_at:
            self.wait_until(clears_at - 1)
            out = self.send(name, "clear", (period,), w.stranger)
            assert out.error == "GateNotClosed", out.error
            w.milestones["early clearing refused"] += 1
            return
        self._clear(period, name)

    @rule(how=st.integers(0, 2), export=st.sampled_from((400, 20_000)), imported=st.sampled_from((300, 40_000)))
    def standing_step(self, how: int, export: int, imported: int) -> None:
        """The households' interval market one transaction a step: the earliest unsettled interval (of
        either auction), once its market may clear, is settled (how 0: by the meters' next-but-one
        reading, in the reading market; 1: a settlement batch by anyone, in a market named before by
        settleStandingOrdersIn; 2: its market cleared first, then a batch); else every household's next
        reading places its export and import, or now and then (how 2) the reading market migrates to the
        other auction first."""
        w = self.world
        unsettled = sorted((p, name, m) for name, b in self.books.items() for (m, p), s in b.slots.items() if not s.settled)
        if not unsettled:
            if how == 2 and self.now >= self.migrated_at + 2 * AUCTION_PERIOD_SECONDS:
                self._migrate_reading_market(1)
            else:
                self._read_households(list(w.households), export, imported, 1)
            return
        period, name = unsettled[0][:2]
        meters = sorted({m for p, n, m in unsettled if (p, n) == (period, name)})
        books = self.books[name]
        if how == 0 and name == self.reading:
            current = (self.now + 1) // AUCTION_PERIOD_SECONDS
            target = max(current, period + 2)
            target += (target - period) % 2  # the same parity: the meter's slot of `period`
            self._read_households(meters, export, imported, target - current)
        elif how == 2 and period not in books.cleared:
            self._clear(period, name)
        else:
            self.wait_until(books.clears_at(period))
            self._settle_households(meters, w.stranger, "" if name == self.reading else name)

    @rule(
        change=st.sampled_from(("deadline", "deadline", "migration", "sync")),
        market=st.sampled_from(READING_MARKETS),
        deadline=st.sampled_from(READING_DEADLINES),
        by_admin=st.integers(0, 9),
        passed=st.booleans(),
        k=st.integers(0, 2),
    )
    def reading_market(self, change: str, market: str, deadline: int, by_admin: int, passed: bool, k: int) -> None:
        """The reading markets' settings, one change a step: an auction's reading deadline; the meters'
        reading market migrated to the other auction (at most once in two intervals, so that each market
        gathers readings in between; else a household's zone synced); a household's zone synced."""
        if change == "deadline":
            self._set_reading_deadline(market, deadline, by_admin, passed)
        elif change == "migration" and self.now >= self.migrated_at + 2 * AUCTION_PERIOD_SECONDS:
            self._migrate_reading_market(by_admin)
        else:
            self._sync_meter_zone(k)

    def _set_reading_deadline(self, market: str, deadline: int, by_admin: int, passed: bool) -> None:
        """The admin sets an auction's reading deadline: refused when it would reopen the market of the
        interval just ended once that market's clearing time has passed (it may be cleared, or its steps
        under way): then the longest allowed is the time since the interval's end (passed: first waits
        for that clearing time, when it falls before the next interval ends). The model's clearing times,
        placements and settlements follow the deadline in force."""
        w = self.world
        books = self.books[market]
        if passed:
            self.wait_until(books.clears_at((self.now + 1) // AUCTION_PERIOD_SECONDS - 1))
        since_end = (self.now + 1) % AUCTION_PERIOD_SECONDS
        longest = since_end if books.deadline <= since_end else AUCTION_PERIOD_SECONDS
        expected = None if deadline <= longest else "InvalidReadingDeadline"
        sender = w.admin if by_admin else w.stranger
        out = self.send(market, "setReadingDeadline", (deadline,), sender, moves=False)
        assert out.error == (expected if by_admin else "AccessControlUnauthorizedAccount"), f"deadline {deadline} ({longest}): {out.error}"
        if out.ok:
            books.deadline = deadline
        elif by_admin:
            w.milestones["a reading deadline that would reopen a market refused"] += 1

    def _migrate_reading_market(self, by_admin: int) -> None:
        """The admin points the meters' readings at the other standing-order auction of the same vault
        (SmartMeter.setVault): readings place there from now on, orders left in the market named before
        settle there (settleStandingOrdersIn), and a meter's zone holds only in the market it was synced
        with."""
        w = self.world
        target = "auction2" if self.reading == "auction" else "auction"
        sender = w.admin if by_admin else w.stranger
        out = self.send("meter", "setVault", (w.c["vault"].address, w.c[target].address), sender, expect_ok=bool(by_admin), moves=False)
        if not out.ok:
            assert out.error == "AccessControlUnauthorizedAccount", out.error
            return
        self.reading, self.migrated_at = target, self.now
        if target not in self.named_markets:
            self.named_markets.append(target)
        w.milestones["reading market migrated"] += 1

    def _sync_meter_zone(self, k: int) -> None:
        """Anyone syncs a household's zone from the reading market's zones: its region's zone in the first
        auction, the bus in the second (it has none); the zone holds in that market only."""
        meter = self.world.households[k]
        self.send("meter", "syncMeterZone", (meter,), self.world.stranger, expect_ok=True, moves=False)
        self.meter_zone[meter] = (1 if self.reading == "auction" else 0, self.reading)

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
        """The operator verifies with the meter's figures (tamper 0: one figure off by 1 W, and no waiting;
        7 and 8: in a batch, of both consumers or of one)."""
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
        if tamper >= 7:
            consumers = [consumer, w.traders[1 - who]] if tamper == 7 else [consumer]
            out = self.send("dr", "verifyReductions", (event_id, consumers), w.admin)
            self.dr_visited |= {(event_id, c) for c in consumers}
            if out.ok:
                self.dr_verified |= {(event_id, c) for c in consumers}
            return
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
        before = self._vault_payments()
        out = self.send("dr", "claimReward", (self.pick(self.dr_events, pick),), self.world.traders[who])
        self._record_rewards(out, before)

    def _record_rewards(self, out: Outcome, before: dict[str, int]) -> None:
        paid = []
        for log in out.events(self.world.c["dr"], REWARD_PAID):
            self.dr_claimed += word(log["data"], 0)
            self.dr_paid.add((topic_int(log, 1), topic_address(log, 2)))
            paid.append((topic_address(log, 2), word(log["data"], 0)))
        self._check_vault_credits(out, "dr", paid, before)

    def _vault_payments(self) -> dict[str, int]:
        """The PaymentToken balance in the vault of every account that claims rewards or revenue or
        gets a budget back (they are paid there), and of the paying contracts."""
        w = self.world
        holders = (*w.traders, w.admin, w.stranger, w.c["dr"].address, w.c["shares"].address)
        balances = w.node.calls([(w.c["vault"], "balancesOf", (h,)) for h in holders])
        return {h: int(b[1]) for h, b in zip(holders, balances, strict=True)}

    def _check_vault_credits(self, out: Outcome, payer: str, paid: list[tuple[str, int]], before: dict[str, int]) -> None:
        """The payouts `paid` (account, amount) of one transaction, and a DR event's refund to its
        operator, moved from `payer`'s vault balance to the payees' and nothing else: no token
        transfer, no credit of arrived tokens."""
        w = self.world
        assert out.events(w.c["vault"], ARRIVED_CREDITED) == [] and out.events(w.c["payment"], TRANSFER) == []
        expected = dict(before)
        for account, amount in paid:
            expected[account] += amount
            expected[w.c[payer].address] -= amount
        for closed in DR_CLOSED if payer == "dr" else ():
            for log in out.events(w.c["dr"], closed):
                expected[w.admin] += word(log["data"], 0)  # the machine's events are all the admin's
                expected[w.c["dr"].address] -= word(log["data"], 0)
        assert self._vault_payments() == expected, f"{payer} payouts {paid}: vault balances moved otherwise"

    @precondition(lambda self: self.dr_events)
    @rule(pick=st.integers(0, 10**6), distribute=st.booleans())
    def dr_close(self, pick: int, distribute: bool) -> None:
        """The operator cancels an event not started yet, or anyone pays out verified rewards in a batch."""
        event_id = self.pick(self.dr_events, pick)
        before = self._vault_payments()
        out = self.send("dr", "distributeRewards" if distribute else "cancelEvent", (event_id,), self.world.admin)
        self._record_rewards(out, before)

    # ----------------------------------------------------------------------------- carbon credits

    @rule(i=st.sampled_from((0, 1, 2, 0, 1, 2, 3, 4)))
    def issue_credits(self, i: int) -> None:
        w = self.world
        pending = w.node.calls([(w.c["carbon"], "pendingWh", (d,)) for d in w.devices])
        ready = [d for d, wh in zip(w.devices, pending, strict=True) if not isinstance(wh, Reverted) and wh > 0]
        if i == 4:
            # A keeper's batch: every producer with energy to credit, or two that may have none (refused whole).
            out = self.send("carbon", "issueCarbonCreditsBatch", (ready or w.devices[:2],), w.stranger)
        else:
            # Mostly a producer with energy to credit; i = 3: a DR meter, which is no clean producer.
            meter = w.dr_meters[0] if i == 3 else ready[i % len(ready)] if ready and i < 2 else w.devices[i]
            out = self.send("carbon", "issueCarbonCredits", (meter,), w.stranger)
        for log in out.events(w.c["carbon"], CREDITS_ISSUED):
            amount_wh, factor = word(log["data"], 0), word(log["data"], 2)
            self.issued_milligrams_bound[topic_address(log, 1)] += amount_wh * factor

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
        before = self._vault_payments()
        out = self.send("shares", "claimRevenue", (w.asset_id,), claimer)
        paid = []
        for log in out.events(self.world.c["shares"], REVENUE_CLAIMED):
            self.revenue_claimed += word(log["data"], 0)
            paid.append((topic_address(log, 2), word(log["data"], 0)))
        self._check_vault_credits(out, "shares", paid, before)

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
        unclaimed = self._claimable()
        if unclaimed:
            self.auction_claim(unclaimed.index(min(unclaimed)))
            return
        sides: dict[int, set[bool]] = {}
        for o in self.auction_orders.values():
            if o.period not in self.books["auction"].cleared:
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

    def teardown(self) -> None:
        """At the end of an example every market clears or pays out: a market whose run of steps has
        finished is cleared (its clear records the steps' result), and each auction's standing orders
        left unsettled are settled in one batch once their markets may clear (in a market named before,
        by settleStandingOrdersIn); the invariants then see those markets conserved."""
        w = self.world
        books = self.books["auction"]
        finished = sorted(p for p, (stage, _) in self.runs.items() if stage == STAGE_FINISHED and p not in books.cleared)
        for period in finished:
            self._clear(period)
        unsettled = {name: {(m, p) for (m, p), s in b.slots.items() if not s.settled} for name, b in self.books.items()}
        for name, slots in unsettled.items():
            if slots:
                self.wait_until(self.books[name].clears_at(max(p for _, p in slots)))
                self._settle_households(sorted({m for m, _ in slots}), w.stranger, "" if name == self.reading else name)
        if finished or any(unsettled.values()):
            self.system_invariants()

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
        reads += [(("vault", "@" + name), c["vault"], "balancesOf", (c[name].address,)) for name in READING_MARKETS]
        reads.append((("vault", "reserves"), c["vault"], "reserves", ()))
        reads.append((("payment", "@dr"), c["payment"], "balanceOf", (c["dr"].address,)))
        reads.append((("payment", "@shares"), c["payment"], "balanceOf", (c["shares"].address,)))
        reads += [(("orders", t), c["trading"], "getTraderOrders", (t, 0, ORDER_PAGE)) for t in (*w.traders, w.stranger)]
        reads += [(("tx", i), c["trading"], "getTransaction", (i,)) for i in sorted(self.pending_txs)]
        reads.append((("trading", "fees"), c["trading"], "accruedFees", ()))
        reads.append((("trading", "txCount"), c["trading"], "transactionCount", ()))
        reads += [((name, "fees"), c[name], "accruedFees", ()) for name in READING_MARKETS]
        reads += [
            (("aorder", i), c["auction"], "getOrderOutcome", (i,))
            for i, o in self.auction_orders.items()
            if not o.claimed and o.period in self.books["auction"].cleared
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
        reads += [(("vault balance", a), c["vault"], "balancesOf", (a,)) for a in self.vault_holders]
        reads += [(("approved", a), c["vault"], "isMarketApproved", (a, c["auction"].address)) for a in sorted(self.approved)]
        for meter in w.households:
            reads.append((("standing", meter), c["meter"], "getStandingOrder", (meter,)))
            reads.append((("meter zone", meter), c["meter"], "meterZone", (meter,)))
            reads += [(("metered orders", (name, meter)), c[name], "getMeteredOrders", (meter,)) for name in READING_MARKETS]
        books = self.books["auction"]
        reads += [(("zones of", p), c["zones"], "zonesOf", (p,)) for p in sorted(books.zones) if p not in books.cleared]
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
        self._check_standing_orders(got)
        self._check_zones(got)
        self._check_market_conservation()
        self._check_reverts_moved_nothing(got)

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
                (order_id, owner, amount, filled, _price, _expiry, side, status, _cp, escrow) = info
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
        """Each auction's vault balance is what came in (firm escrows, standing asks and bid locks) less
        what went out (claims, standing settlements and the energy they retired, fee withdrawals), and
        its accrued fees are what its clearings accrued less what was withdrawn. An unclaimed order of a
        cleared market is owed exactly the rest of its escrow."""
        for order_id, o in self.auction_orders.items():
            if o.claimed or o.period not in self.books["auction"].cleared:
                continue
            filled, payment, fee, refund, claimed = got[("aorder", order_id)]
            assert not claimed
            if o.is_bid:
                assert payment + refund == ceil_cost(o.amount_wh, o.limit), f"order {order_id}: {got[('aorder', order_id)]}"
            else:
                assert filled + refund == o.amount_wh and fee <= payment, f"order {order_id}: {got[('aorder', order_id)]}"
        for name, books in self.books.items():
            assert got[(name, "fees")] == books.fees_accrued, f"{name} fees {got[(name, 'fees')]} != {books.fees_accrued}"
            held = list(got[("vault", "@" + name)])
            assert held == books.flow, f"{name} holds {held} (energy, payment), came in less went out {books.flow}"

    def _check_vault_reserves(self, got: dict[Any, Any]) -> None:
        """The vault holds of each token exactly its reserve (nothing here sends it a token outside a
        deposit, a pull, or an event budget credited to DemandResponse in the same transaction), and the
        balances of every account and market add up to the reserve, none past what a balance holds
        (so none wrapped below zero either)."""
        vault = self.world.c["vault"].address
        balances = [got[("vault balance", a)] for a in self.vault_holders]
        for i, (token, reserve) in enumerate(zip(("energy", "payment"), got[("vault", "reserves")], strict=True)):
            held = got.get((token, vault), 0)
            assert held == reserve, f"vault {token}: holds {held}, reserve {reserve}"
            total = sum(b[i] for b in balances)
            assert total == reserve, f"vault {token}: balances add up to {total}, reserve {reserve}"
            assert reserve <= MAX_VAULT_BALANCE

    def _check_demand_response(self, got: dict[Any, Any]) -> None:
        """Demand response: paid ≤ reserved ≤ budget; the contract's vault balance holds what is neither paid nor refunded."""
        dr_held, dr_paid = 0, 0
        for event_id in self.dr_events:
            budget, reserved, paid, refunded, *_ = got[("dr", event_id)]
            assert paid <= reserved <= budget and paid + refunded <= budget, f"DR event {event_id}: {got[('dr', event_id)]}"
            dr_held += budget - paid - refunded
            dr_paid += paid
        assert dr_paid == self.dr_claimed
        # Budgets are held in DemandResponse's vault balance, no token in its wallet.
        assert (got[("vault balance", self.world.c["dr"].address)][1], got[("payment", "@dr")]) == (dr_held, 0)

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
        """Asset revenue: claimed ≤ deposited; the shares contract's vault balance holds the difference."""
        deposited, claimed, _per_share, _carried = got[("revenue", "info")]
        assert (deposited, claimed) == (self.revenue_deposited, self.revenue_claimed)
        assert claimed <= deposited
        assert (got[("vault balance", self.world.c["shares"].address)][1], got[("payment", "@shares")]) == (deposited - claimed, 0)

    def _check_standing_orders(self, got: dict[Any, Any]) -> None:
        """Approvals and standing limits are what the model set; each household's two interval slots in
        each auction hold exactly the orders the model placed there, settled when the model saw them
        settled."""
        for account, approved in self.approved.items():
            assert got[("approved", account)] == approved, f"{account}: approval {got[('approved', account)]}, model {approved}"
        for meter in self.world.households:
            assert tuple(got[("standing", meter)]) == self.standing[meter], f"{meter}: limits {got[('standing', meter)]}"
            for name, books in self.books.items():
                for period, settled, ask_wh, ask_tick, _ask_before, bid_wh, bid_tick, _bid_before in got[("metered orders", (name, meter))]:
                    slot = books.slots.get((meter, period))
                    if slot is None:
                        assert ask_wh == bid_wh == 0, f"{name}: {meter}'s orders in period {period} the model did not place"
                        continue
                    expected = (slot.ask_wh, slot.ask_tick, slot.bid_wh, slot.bid_tick, slot.settled)
                    got_slot = (ask_wh, ask_tick, bid_wh, bid_tick, settled)
                    assert got_slot == expected, f"{name}: {meter}, period {period}: {got_slot}, model {expected}"

    def _check_zones(self, got: dict[Any, Any]) -> None:
        """Each household's zone is the one it was synced with, in that reading market only; each open
        market of the zoned auction holds orders in the zones the model placed them in (its zoned meters'
        readings in the second auction named none)."""
        for meter in self.world.households:
            zone, synced_with = self.meter_zone[meter]
            expected = zone if synced_with == self.reading else 0
            assert got[("meter zone", meter)] == expected, f"{meter}: zone {got[('meter zone', meter)]}, model {expected}"
        books = self.books["auction"]
        for period in books.zones:
            if period not in books.cleared:
                assert got[("zones of", period)] == books.zone_bits(period), f"market {period}: zones {got[('zones of', period)]:b}"

    def _check_market_conservation(self) -> None:
        """In each auction, once every order of a market is paid out (cleared, firm orders claimed,
        standing orders settled): energy bought = energy sold = the volume it cleared, and what buyers
        paid less what sellers netted is what its clearing accrued (grid fees, rounding surplus and, across
        zones, the congestion rent). Markets cleared in one transaction are checked together (their
        accrual is one number)."""
        for name, books in self.books.items():
            open_periods = {o.period for o in self.auction_orders.values() if not o.claimed} if name == "auction" else set()
            open_periods |= {p for (_, p), s in books.slots.items() if not s.settled}
            standing = {p for (_, p) in books.slots}
            pending = []
            for periods, surplus in books.clear_groups:
                if open_periods.intersection(periods):
                    pending.append((periods, surplus))
                    continue
                margin = 0
                for period in periods:
                    fills = books.fills.get(period, MarketFills())
                    volume = books.volume[period]
                    assert fills.bought_wh == fills.sold_wh == volume, f"{name}: market {period}: {fills}, cleared {volume}"
                    margin += fills.paid - fills.proceeds
                    kind = " with standing orders" if period in standing else ""
                    self.world.milestones[("markets conserved" if name == "auction" else "second auction's markets conserved") + kind] += 1
                assert margin == surplus, f"{name}: markets {periods}: paid - proceeds {margin}, fees accrued {surplus}"
            books.clear_groups = pending

    def _check_reverts_moved_nothing(self, got: dict[Any, Any]) -> None:
        """A step whose transactions all reverted (or that sent none) moved no token and no vault balance."""
        values = {k: v for k, v in got.items() if k[0] in ("energy", "payment", "carbon", "shares", "vault balance", "vault")}
        if self.values_before is not None and not self.step_moved:
            moved = {k for k, v in self.values_before.items() if values.get(k) != v}
            assert not moved, f"a step without a successful transaction moved {sorted(moved, key=str)}"
        self.values_before = values
        self.step_moved = False


class HookTokenMachine(SystemMachine):
    """SystemMachine with the hook token's rules, for its world (`build_world(..., hook_token=True)`): one
    rule per outer call, so that a good share of steps are reentries. A class of its own, so that the
    MockStablecoin world's derandomized run draws the same rules, and so the same steps, as before.

    The coupled markets' steps and the reading markets' settings are no rules here: they move no token, so
    they add no reentry to refuse, and the other world walks them."""

    clearing_step = zones_step = reading_market = None  # type: ignore[assignment]

    @rule(inner=st.sampled_from(REENTRY_INNERS), who=st.integers(0, 2), pick=PICK)
    def reentry_in_deposit(self, inner: str, who: int, pick: int) -> None:
        self._reentry(inner, "deposit", who, pick)

    @rule(inner=st.sampled_from(REENTRY_INNERS), who=st.integers(0, 2), pick=PICK)
    def reentry_in_withdrawal(self, inner: str, who: int, pick: int) -> None:
        self._reentry(inner, "withdraw", who, pick)

    @rule(inner=st.sampled_from(REENTRY_INNERS), who=st.integers(0, 2), pick=PICK)
    def reentry_in_bid(self, inner: str, who: int, pick: int) -> None:
        self._reentry(inner, "bid", who, pick)

    @rule(inner=st.sampled_from(REENTRY_INNERS), who=st.integers(0, 2), pick=PICK)
    def reentry_in_buy(self, inner: str, who: int, pick: int) -> None:
        self._reentry(inner, "buy", who, pick)

    @rule(inner=st.sampled_from(REENTRY_INNERS), who=st.integers(0, 2), pick=PICK)
    def reentry_in_revenue_deposit(self, inner: str, who: int, pick: int) -> None:
        self._reentry(inner, "revenue", who, pick)

    def _reentry(self, first_kind: str, outer: str, who: int, pick: int) -> None:
        """The hook token armed with a value-moving call (`first_kind`, picked from the model; the next kind in
        REENTRY_INNERS when the model has nothing for it yet), then a trader's call that transfers the token
        from inside a vault call (`outer`). Both are first traced on their own: a reentry that would move
        vault state on its own, inside an outer call that would succeed on its own, must be refused with
        ReentrancyGuardReentrantCall; none may run inside the transfer. The token is disarmed afterwards (a
        refused call leaves it armed)."""
        w = self.world
        start = REENTRY_INNERS.index(first_kind)
        calls = ((kind, self._reentry_call(kind, pick)) for kind in REENTRY_INNERS[start:] + REENTRY_INNERS[:start])
        kind, inner = next(((kind, call) for kind, call in calls if call is not None), (first_kind, None))
        if inner is None:
            return
        target, fn, args = inner
        inner_error, reaches_vault = self._trace(target, fn, args, w.c["payment"].address)
        if inner_error is None and not reaches_vault:
            return  # it would run without touching a vault balance (a batch of settled ids): nothing to refuse
        trader = w.traders[who]
        outer_target, outer_fn, outer_args = self._reentry_outer(outer, trader)
        outer_error, _ = self._trace(outer_target, outer_fn, outer_args, trader)
        self.send("payment", "arm", (w.c[target].address, bytes.fromhex(w.c[target].calldata(fn, *args)[2:])), w.stranger, moves=False)
        out = self.send(outer_target, outer_fn, outer_args, trader)
        ran = bool(out.ok and out.events(w.c["payment"], REENTRY_EXECUTED))
        assert not ran, f"{target}.{fn}{args} ran inside {outer_target}.{outer_fn}'s transfer of the hook token"
        if out.ok:
            self._book_reentry_outer(outer, outer_args, trader, out)  # it transferred nothing: the hook did not fire
        elif inner_error is None and outer_error is None:
            assert out.error == "ReentrancyGuardReentrantCall", f"{target}.{fn} inside {outer_target}.{outer_fn}: {out.error}"
            w.milestones["reentries refused"] += 1
            w.milestones[f"reentry refused: {kind}"] += 1
        else:
            w.milestones["reentries of a call that fails on its own"] += 1
        self.send("payment", "arm", (ZERO_ADDRESS, b""), w.stranger, moves=False)

    def _trace(self, target: str, fn: str, args: tuple[Any, ...], sender: str) -> tuple[str | None, bool]:
        """`target.fn(*args)` from `sender`, run on the latest state without a transaction: the custom error
        it reverts with (None: it succeeds), and whether it reaches a vault function that writes."""
        w = self.world
        tx = {"from": sender, "to": w.c[target].address, "data": w.c[target].calldata(fn, *args), "gas": Node.GAS_LIMIT}
        trace = w.node.rpc.request("debug_traceCall", [tx, "latest", {"tracer": "callTracer"}])
        if trace.get("error"):
            return w.node.errors.name(trace.get("output")), False
        vault = w.c["vault"]
        writes = {"0x" + vault.method(m, arity).selector.hex() for (m, arity) in vault.methods if m in VAULT_WRITES}
        frames, reaches = [trace], False
        while frames:
            frame = frames.pop()
            frames += frame.get("calls", [])
            to_vault = frame.get("to", "").lower() == vault.address.lower()
            reaches |= to_vault and frame.get("input", "")[:10] in writes and not frame.get("error")
        return None, reaches

    def _reentry_call(self, kind: str, pick: int) -> tuple[str, str, tuple[Any, ...]] | None:
        """The value-moving call the hook token makes: one a keeper or relayer can make for anyone (a
        settlement, a claim, a payout), or a trader's or a household meter's signed message relayed."""
        w, node = self.world, self.world.node
        claimable = self._claimable()
        trader = self.pick(w.traders, pick)
        deadline = self.now + SIGNATURE_LIFETIME
        calls: dict[str, Callable[[], tuple[str, str, tuple[Any, ...]]]] = {
            "settle": lambda: ("trading", "settleTransaction", (self._settleable(pick),)),
            # One pending transaction at least (a batch of settled ones only skips them).
            "settle_batch": lambda: ("trading", "settleTransactions", ([self._settleable(pick), self.pick(self.all_txs, -pick)],)),
            "release": lambda: ("trading", "releaseExpiredOrder", (self._expired(pick),)),
            "claim": lambda: ("auction", "claim", (self.pick(claimable or self.auction_orders, pick),)),
            "claim_batch": lambda: ("auction", "claimBatch", ([self.pick(claimable, pick), self.pick(self.auction_orders, pick + 1)],)),
            "settle_standing": lambda: ("meter", "settleStandingOrders", (list(w.households),)),
            "settle_standing_in": lambda: ("meter", "settleStandingOrdersIn", (w.c["auction"].address, list(w.households))),
            "relay_reading": lambda: self._relayed_reading(pick),
            "distribute": lambda: ("dr", "distributeRewards", (self.pick(self.dr_events, pick),)),
        }
        # What each needs from the model first: something to settle, release, claim or pay out.
        needs = {"settle": self.all_txs, "settle_batch": self.pending_txs, "release": self.orders, "claim": self.auction_orders,
                 "claim_batch": claimable, "distribute": self.dr_events}
        if kind in calls:
            return calls[kind]() if needs.get(kind, True) else None
        key, vault = w.keys[trader], w.c["vault"].address
        if kind == "withdraw_by_sig":
            amount = max(node.call(w.c["vault"], "balancesOf", trader)[1] // 2, 1)
            nonce = node.call(w.c["vault"], "nonces", trader)
            payment = w.c["payment"].address
            signature = sign_withdrawal(trader, payment, amount, trader, nonce, deadline, key, vault, w.chain_id)
            return "vault", "withdrawBySig", (trader, payment, amount, trader, deadline, signature)
        if kind == "approve_by_sig":
            auction = w.c["auction"].address
            signature = sign_market_approval(trader, auction, node.call(w.c["vault"], "nonces", trader), deadline, key, vault, w.chain_id)
            return "vault", "approveMarketBySig", (trader, auction, deadline, signature)
        if kind == "order_by_sig":
            nonce = node.call(w.c["trading"], "nonces", trader)
            order = SignedOrder(trader, 1_000, PRICES[1], self.now + 3_600, OrderType.BUY, nonce=nonce, deadline=deadline)
            return "trading", "createOrderBySig", (order.as_tuple(), *sign_order(order, key, w.c["trading"].address, w.chain_id).args(), [])
        # deposit_for: the trader's EnergyToken permit of the vault, relayed.
        energy = w.c["energy"]
        nonce, name = node.call(energy, "nonces", trader), node.call(energy, "name")
        _, _, v, r, s = sign_permit(name, energy.address, trader, vault, 1_000, nonce, deadline, key, w.chain_id)
        return "vault", "depositWithPermitFor", (trader, energy.address, 1_000, deadline, v, r, s)

    def _settleable(self, pick: int) -> int:
        """A pending transaction (else any), its settlement window waited out (by the latest block already,
        which the call is traced on)."""
        tx_id = self.pick(self.pending_txs or self.all_txs, pick)
        self.wait_until(self.tx_matched_at[tx_id] + self.settlement_window + 2)
        return tx_id

    def _expired(self, pick: int) -> int:
        """An open order past its expiry, or one within the hour waited out (else any order)."""
        soon = [i for i, o in self.orders.items() if o.open() and o.expiry <= self.now + 3_600] or list(self.orders)
        order_id = self.pick(soon, pick)
        if self.orders[order_id].open():
            self.wait_until(self.orders[order_id].expiry + 2)
        return order_id

    def _relayed_reading(self, pick: int) -> tuple[str, str, tuple[Any, ...]]:
        """A household meter's signed reading (its next import and export), relayed: its standing bid locks
        the owner's free balance, its ask takes the export, and it settles the slot two intervals before."""
        w = self.world
        meter = self.pick(w.households, pick)
        self.wait_until(self.household_last[meter] + self.min_reading_interval + 2)
        consumption, production = self.household_registers[meter]
        reading = (self.now, consumption + 40_000, production + 400, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
        nonce = w.node.call(w.c["meter"], "nonces", meter)
        signed = sign_reading(w.keys[meter], w.chain_id, w.c["meter"].address, nonce, self.now + SIGNATURE_LIFETIME, reading)
        return "meter", "submitSignedReadings", ([signed.as_tuple()],)

    def _reentry_outer(self, outer: str, trader: str) -> tuple[str, str, tuple[Any, ...]]:
        """A trader's call that transfers the hook token from inside a vault call: a deposit, a withdrawal of
        half its balance, or a bid, BUY or revenue deposit larger than its vault balance (the vault pulls the
        rest from its wallet)."""
        w = self.world
        payment = w.c["payment"].address
        held = w.node.call(w.c["vault"], "balancesOf", trader)[1]
        if outer == "withdraw" and held:
            return "vault", "withdraw", (payment, max(held // 2, 1), trader)
        if outer == "bid":
            price = tick_price(AUCTION_MID_TICK)
            return "auction", "submitBid", ((self.now + 1) // AUCTION_PERIOD_SECONDS + 2, held * 1_000 // price + 1_000, price)
        if outer == "buy":
            return "trading", "createOrder", (held * 1_000 // PRICES[0] + 1_000, PRICES[0], self.now + 3_600, BUY)
        if outer == "revenue":
            return "shares", "depositRevenue", (w.asset_id, held + 1_000_003)
        return "vault", "deposit", (payment, 50_000)

    def _book_reentry_outer(self, outer: str, args: tuple[Any, ...], trader: str, out: Outcome) -> None:
        """What a reentry step's outer call did when it went through without a transfer, booked as its own
        rule books it."""
        if outer == "buy":
            self._record_market_logs(out)
        elif outer == "bid":
            period, amount, limit = args
            self._book_firm_orders(out, trader, period, True, amount, limit, 0)
        elif outer == "revenue":
            self.revenue_deposited += args[1]


def walk_every_stage(machine: SystemMachine) -> None:
    """Every stage of the main flows, and every milestone, that the bounded test asks for, walked once
    in a fixed order by the machine's own rules (mostly its lifecycle steps), the invariants checked
    after each step, then the example's teardown.

    hypothesis draws rules unevenly and disables a share of them in each example, so a derandomized run
    of a few thousand actions reaches a rare stage (a fill of the order book, a void) only when its
    seed happens to: a new rule, or any change to what a rule draws, can take it away. Walked here, each
    stage is reached by construction, and the derandomized examples then fuzz around it."""
    w = machine.world

    def ok(*names: str) -> Callable[[], bool]:
        before = sum(w.outcomes[f"{name}:ok"] for name in names)
        return lambda: sum(w.outcomes[f"{name}:ok"] for name in names) > before

    def milestone(name: str) -> Callable[[], bool]:
        before = w.milestones[name]
        return lambda: w.milestones[name] > before

    # Called with no arguments; `...` lets a lambda bind its loop's period as a default argument.
    def until(what: str, reached: Callable[..., bool], step: Callable[..., None], most: int = 1) -> None:
        """Takes `step` (each one step: at most one value-moving transaction) until `reached`."""
        before, steps = Counter(w.outcomes), 0
        while not reached():
            assert steps < most, f"the walk did not reach {what} in {most} steps: they sent {dict(w.outcomes - before)}"
            step()
            machine.system_invariants()
            steps += 1

    # Link limits first, while no market has orders: one for a period two ahead; refused, one for the period
    # just closed, one past the auction's lead time and one for an aliased period; then a new rating synced.
    until("a link limit", ok("zones.setLinkLimits"), lambda: machine.zone_link_limits(2, 40, 40, 1))
    until("a link limit after the gate", milestone("link limit after the gate refused"), lambda: machine.zone_link_limits(-1, 40, 40, 1))
    until("a link limit too far ahead", milestone("link limit too far ahead refused"), lambda: machine.zone_link_limits(2, 40, 40, 1, 2))
    until("a link limit of an aliased period", milestone("link limit of an aliased period refused"),
          lambda: machine.zone_link_limits(2, 40, 40, 1, 3))
    until("a rating synced", ok("zones.syncRating"), lambda: machine.zone_rating(40))
    # The order book: an ask, a taker's fill, the trade voided; an ask filled and settled alone, then one
    # settled in a batch.
    until("an ask", ok("trading.createOrder"), lambda: machine.market_step(0, 0, 10_000, False, True, 1))
    until("a fill", ok("trading.fillOrder"), lambda: machine.market_step(0, 0, 10_000, False, True, 1))
    until("a void", ok("trading.voidTransaction"), lambda: machine.market_step(0, 0, 10_000, False, True, 0))
    until("a settlement", ok("trading.settleTransaction"), lambda: machine.market_step(1, 0, 10_000, False, True, 1), most=3)
    until("a batch settlement", ok("trading.settleTransactions"), lambda: machine.market_step(2, 1, 10_000, True, False, 1), most=3)
    # The auction: a bid, a crossing ask, the clearing, the claims.
    until("an auction claim", ok("auction.claim"), lambda: machine.auction_step(0, 10, 10, 1_000), most=5)
    # Coupled markets (no rules of the hook token's machine): a bid in the meters' zone, an ask in the other;
    # once the gate has closed, the steps of its clearing, whole stages, and the clear, which records their
    # result; then a second such market whose run is left half done (one zone's step) and cleared in one
    # transaction.
    if not isinstance(machine, HookTokenMachine):
        for half_done in (False, True):
            until("a zoned bid", ok("auction.submitBidIn"), lambda: machine.zones_step(0, 10, 1))
            until("a zoned ask", ok("auction.submitAskIn"), lambda: machine.zones_step(0, 10, 1))
            zoned = max(machine.books["auction"].zones)
            until("the zoned market's gate", lambda p=zoned: machine.now + 1 >= machine._gate_closes(p),
                  lambda: machine.advance_time(AUCTION_PERIOD_SECONDS), most=3)
            if half_done:
                until("a run half done", lambda p=zoned: p in machine.runs, lambda: machine.clearing_step(0, 1, 1))
                until("a half-done run cleared", milestone("runs left half done cleared in one transaction"),
                      lambda p=zoned: machine._clear(p))
            else:
                until("a stepped result recorded", milestone("stepped results recorded"), lambda: machine.zones_step(0, 10, 1), most=8)
    # Demand response: an event, a consumer joining, the meters' readings, the verification, the reward.
    until("a reward", ok("dr.claimReward", "dr.distributeRewards"), lambda: machine.dr_step(0, False), most=6)
    # Asset revenue, carbon credits for a batch of readings, a parameter change.
    until("a revenue deposit", ok("shares.depositRevenue"), lambda: machine.revenue_step(0, 1_000_003))
    until("a revenue claim", ok("shares.claimRevenue"), lambda: machine.revenue_step(1, 1_000_003))
    until("readings", ok("meter.submitReadings"), lambda: machine.gateway_batch(2_000))
    until("carbon credits", ok("carbon.issueCarbonCredits"), lambda: machine.issue_credits(0))

    def readings_then_credits_batch() -> None:
        """Readings give the producers energy to credit; then the keeper's batch issues it."""
        machine.gateway_batch(2_000)
        machine.system_invariants()
        machine.issue_credits(4)

    until("a keeper's batch of carbon credits", ok("carbon.issueCarbonCreditsBatch"), readings_then_credits_batch)
    until("a parameter change", ok("trading.setGridFee"), lambda: machine.change_parameter("grid_fee_bps", 1, 1))
    # The vault: a deposit, a withdrawal, one of more than the balance (refused), an approval; a trader that
    # revoked the auction's approval orders (refused), and approves it again.
    until("a deposit", ok("vault.deposit"), lambda: machine.vault_deposit(0, False, 50_000))
    until("a withdrawal", ok("vault.withdraw"), lambda: machine.vault_withdraw(0, False, 2, False))
    until("an over-withdrawal", milestone("over-withdrawal refused"), lambda: machine.vault_withdraw(0, False, 0, False))
    until("an unapproved order", milestone("unapproved order refused"), lambda: machine.unapproved_order(2, True), most=2)
    until("an approval", ok("vault.setMarketApproval"), lambda: machine.market_approval(2, True, 1))
    # Standing orders: limits removed and set again; the households' readings place orders (a bid cut to
    # its owner's free balance); a clearing a second early (refused); the orders settled by the meters'
    # next-but-one readings, then by a batch, until their markets are paid out and conserved.
    until("limits removed", ok("meter.removeStandingOrder"), lambda: machine.standing_limits(2, 0, 0, 0, 0, 1, 0))
    until("limits set", ok("meter.setStandingOrder"), lambda: machine.standing_limits(2, 128_500, 0, 250_000, 0, 1, 3))
    until("a bid cut", milestone("standing bid cut to the free balance"), lambda: machine.household_readings(7, 20_000, 40_000, 1, 0))
    until("an early clearing", milestone("early clearing refused"), lambda: machine.standing_clear(0, 0))
    until("a settlement by a reading", milestone("standing orders settled by a reading"),
          lambda: machine.standing_step(0, 400, 300), most=3)
    until("a settlement batch", milestone("standing orders settled by a batch"), lambda: machine.standing_step(1, 400, 300), most=3)
    until("a market conserved with standing orders", milestone("markets conserved with standing orders"),
          lambda: machine.standing_step(1, 400, 300), most=6)
    if not isinstance(machine, HookTokenMachine):
        # The reading markets' settings (no rules of the hook token's machine): the reading deadline shortened
        # to a minute; once the interval just ended has passed it, a longer one, which would reopen its
        # market, refused. The reading market migrated to the second auction, where the households'
        # readings place their orders (the zoned meters' on its bus); migrated back, those orders settle
        # there (settleStandingOrdersIn) and its market is conserved; a household's zone synced again.
        until("a shorter deadline", ok("auction.setReadingDeadline"),
              lambda: machine.reading_market("deadline", "auction", 60, 1, False, 0))
        until("a deadline that would reopen a market", milestone("a reading deadline that would reopen a market refused"),
              lambda: machine.reading_market("deadline", "auction", AUCTION_PERIOD_SECONDS // 2, 1, True, 0))

        def migrate() -> None:
            if machine.now >= machine.migrated_at + 2 * AUCTION_PERIOD_SECONDS:
                machine.reading_market("migration", "auction", 0, 1, False, 0)
            else:
                machine.advance_time(AUCTION_PERIOD_SECONDS)

        until("a migration", ok("meter.setVault"), migrate, most=3)
        until("orders in the second auction", milestone("standing orders placed in the second auction"),
              lambda: machine.household_readings(7, 20_000, 40_000, 1, 0))
        assert w.milestones["zoned meters' orders on the second auction's bus"], "the zoned meters placed nothing on its bus"
        until("a migration back", ok("meter.setVault"), migrate, most=3)
        second = machine.books["auction2"]
        for period in sorted({p for (_, p) in second.slots} - second.cleared):
            until("the second auction's market cleared", ok("auction2.clear"), lambda p=period: machine._clear(p, "auction2"))
        conserved = milestone("second auction's markets conserved with standing orders")
        until("a settlement in a market named before", milestone("standing orders settled in a market named before"),
              lambda: machine.standing_step(1, 400, 300), most=4)
        until("the second auction's market conserved", conserved, lambda: machine.standing_step(1, 400, 300), most=6)
        until("a zone synced", ok("meter.syncMeterZone"), lambda: machine.reading_market("sync", "auction", 0, 1, False, 0))
    if isinstance(machine, HookTokenMachine):
        # Something for each kind of reentry to move: a trade pending, an auction market cleared and not
        # claimed, a reward verified and not paid, standing orders placed; then each kind armed in turn
        # before a deposit of the hook token.
        until("an ask", ok("trading.createOrder"), lambda: machine.market_step(0, 0, 10_000, False, True, 1))
        until("a fill", ok("trading.fillOrder"), lambda: machine.market_step(0, 0, 10_000, False, True, 1))
        until("an auction clearing", ok("auction.clear"), lambda: machine.auction_step(0, 10, 10, 1_000), most=4)
        until("a verification", ok("dr.verifyReduction"), lambda: machine.dr_step(0, False), most=5)
        until("standing orders placed", milestone("standing orders placed"), lambda: machine.household_readings(7, 20_000, 40_000, 1, 0))
        for kind in REENTRY_INNERS:
            machine.reentry_in_deposit(kind, 0, 0)
            machine.system_invariants()
    machine.teardown()


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
