"""The community simulation on the chain: the model's meters, grid and agents, one interval at a time.

    client = GridClient.from_manifest("deployments/31337.json", "http://127.0.0.1:8545")
    result = run_simulation(client, SimulationConfig(households=30, days=1, seed=0),
                            run_file=Path("deployments/31337.simulation.json"))

Local chains only (anvil): the driver sets every block's time (`evm_mine` at the step's time),
funds accounts with `anvil_setBalance` and the MockStablecoin faucet, and signs as anvil's dev
accounts (operator = dev 0, the local deployer with every role; gateway = dev 1, oracle reporter =
dev 2, keeper = dev 3) and as households whose keys it derives from the seed.

One run:
1. Set-up (each action skipped when the chain shows it done): roles for the gateway and the
   oracle reporter (GridOracle's and WeatherOracle's only reporter, so its reports make the
   quorum), households funded and approved to the auction, one meter each (registered with zero
   registers), PV meters registered as clean (SOLAR) producers, a seeded share of
   households registered for demand response.
2. The chain's day D (chain_time.py) and BASELINE_DAYS days of the model before it, uploaded as
   backdated gateway batches once the chain stands at D; they do not trade.
3. Each simulated interval i, all blocks at its end T = D + 900 (i + 1) (anvil allows blocks of equal
   time; each flush is one or more blocks, so a transaction that needs another's effect comes in a
   later flush):
   A. meters report (gateway batches; SmartMeter mints each export to its owner); the operator
      reports the power flow (GridManagement.updateGridStatus) and the reporter the grid state and
      weather (GridOracle, WeatherOracle); the keeper clears the market whose gate closed (period
      of interval i + 1); when the transformer loading of interval i reaches the trigger and no
      event runs, the operator starts a demand-response event: its window opens at T (a block on
      an interval boundary) and covers intervals i + 1 .. i + 8, where the model steps the
      registered households with `dr_consumption_factor`;
   B. agents trade interval i's metered energy in the auction whose gate is open (period of
      interval i + 2): exporters ask their export, importers bid for their import, priced around
      the reference price (agents.py); the keeper claims every order of the market cleared in A,
      verifies the participants of an event whose window ended at T with their meters' own
      figures (previewReduction → verifyReduction; below the minimum reduction: skipped and
      counted), and, at each full hour, issues carbon credits for every clean meter with counted
      production (hourly: each hour's clean export earns its credits within the hour, the
      granularity of hourly-matched certificates, at a quarter of the transactions per interval);
   C. buyers redeem what they bought against their metered import (a bought Wh retires an
      imported Wh); the keeper pays the verified rewards (distributeRewards, bounded batches).
4. After the last interval: the last open market is cleared and claimed, its buyers redeem.
5. The audit (ledger.py) reads every figure from the chain and checks that energy and money
   balance to the unit; `SimulationImbalance` if not.

Restart: every step above is idempotent against the chain. The run file (next to the manifest)
records the run's parameters and D; a run started again with the same parameters on the same
chain steps the model from the start without sending (cheap), finds where the chain stands
(meters' latest readings, orders per trader and period, cleared markets, claimed orders, events
and verifications, redemptions against purchases) and sends only what is missing, so a run
killed at any point, node or process, ends with the same totals as an uninterrupted one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractCustomError

from energy_grid.client import GridClient, GridError, anvil_account
from energy_grid.deployment import LOCAL_OPERATOR_REGION
from energy_grid.events import EventDecoder, address_topic
from energy_grid.pricing import dynamic_price
from energy_grid.sender import TransactionSender, prepare
from energy_grid.simulation.agents import (
    PriceGrid,
    demand_response_members,
    derived_account,
    limit_price_per_kwh,
)
from energy_grid.simulation.chain_time import ChainCalendar, plan_day_start
from energy_grid.simulation.ledger import IntervalFigures, SimulationResult, audit
from energy_grid.simulation.model import (
    DEFAULT_START_DAY_OF_YEAR,
    CommunityConfig,
    CommunityModel,
    IntervalResult,
)
from energy_grid.units import (
    FREQUENCY_NOMINAL_MILLIHZ,
    INTERVAL_SECONDS,
    INTERVALS_PER_DAY,
    ZERO_ADDRESS,
)

BASELINE_DAYS = 5  # DemandResponse.BASELINE_DAYS: checked against the contract at set-up
SITE_UTC_OFFSET_MINUTES = -300  # the TMY site (Greensboro, NC) on local standard time
REGION_ID = LOCAL_OPERATOR_REGION
SOLAR = 0  # IGridManagement.EnergyType.SOLAR
MAX_UINT256 = 2**256 - 1
WEI_PER_ETH = 10**18
HOUSEHOLD_ETH = 100 * WEI_PER_ETH  # gas money on a local chain
MIN_ETH = 10 * WEI_PER_ETH
READINGS_PER_BATCH = 100  # SmartMeter.MAX_BATCH_SIZE
INTERVALS_PER_HOUR = 4
ORDER_LEAD_INTERVALS = 2  # the first period whose gate (300 s before it) is open at an interval's end

# Gas limits (no per-transaction estimate; unused gas is not charged). Each is well above what
# the operation measured on anvil; the sender names an out-of-gas failure as such.
GAS_READINGS_BASE = 200_000
GAS_PER_READING = 100_000
GAS_ORACLE = 300_000
GAS_GRID_STATUS = 150_000
GAS_CLEAR = 2_000_000
GAS_ORDER = 300_000
GAS_CLAIM = 200_000
GAS_REDEEM = 200_000
GAS_APPROVE = 100_000
GAS_FAUCET = 150_000
GAS_REGISTER = 400_000
GAS_START_EVENT = 500_000
GAS_VERIFY = 1_500_000
GAS_DISTRIBUTE = 6_000_000
GAS_ISSUE_CREDITS = 300_000
GAS_ROLE = 200_000

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate and how the agents behave."""

    households: int = 30
    days: int = 1
    seed: int = 0
    start_day_of_year: int = DEFAULT_START_DAY_OF_YEAR
    intervals: int | None = None  # simulate only the first N intervals (None: every interval of `days`)
    dr_trigger_per_mille: int | None = None  # transformer loading that starts an event; None: GridOperations' HIGH threshold
    dr_share: float = 0.5  # of households registered for demand response
    dr_consumption_factor: float = 0.6  # what a registered household consumes during an event
    dr_duration_seconds: int = 7_200
    dr_reward_per_kw: int = 500_000  # PaymentToken base units per kW of verified reduction
    dr_target_kw_per_member: int = 1  # the event's target (and so its budget) per registered household
    price_spread_bps: int = 500  # agents price up to 5 % around the reference price
    funding_whole_units: int = 10_000  # MockStablecoin each household (and the operator) gets once

    @property
    def interval_count(self) -> int:
        every = self.days * INTERVALS_PER_DAY
        return every if self.intervals is None else min(self.intervals, every)

    @property
    def dr_intervals(self) -> int:
        return -(-self.dr_duration_seconds // INTERVAL_SECONDS)

    def run_key(self) -> dict[str, Any]:
        """What must match for a run to be resumed rather than started afresh."""
        return asdict(self)


@dataclass(frozen=True)
class RunRecord:
    """The run file: the run's parameters and where it sits on the chain."""

    config: dict[str, Any]
    day_start_s: int
    anchor_block: int  # the latest block when the run started: its audit reads from here
    anchor_hash: str  # that block's hash: another chain (a fresh anvil) does not have it
    smart_meter: str

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> RunRecord | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (FileNotFoundError, json.JSONDecodeError, TypeError):
            return None


@dataclass
class Actors:
    operator: LocalAccount
    gateway: LocalAccount
    oracle: LocalAccount
    keeper: LocalAccount
    households: list[LocalAccount]
    meters: list[str]  # meter device addresses, one per household (the gateway reports for them)


@dataclass
class DemandEvent:
    """A demand-response event the driver decided on (pure model: a resumed run decides the same)."""

    decided_at: int  # the interval whose loading triggered it; the event starts at its step
    first_interval: int
    last_interval: int
    event_id: int = 0  # known once found on chain
    verified: list[int] = field(default_factory=list)  # household ids verified
    skipped: list[int] = field(default_factory=list)  # below the minimum reduction


@dataclass
class _OrderRecord:
    order_id: int
    household: int
    is_bid: bool


class SimulationRun:
    """One run; `run()` returns the audited result. See the module docstring."""

    def __init__(
        self,
        client: GridClient,
        config: SimulationConfig,
        run_file: Path | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        if config.households < 1:
            raise GridError("a community needs at least one household")
        self.client = client
        self.config = config
        self.run_file = run_file
        self.progress = progress or (lambda done, total, note: None)
        self.w3: Web3 = client.w3
        self.sender = TransactionSender(client)
        self.sender.drop_pending()  # a killed run may have left transactions in the pool
        self.started = time.monotonic()
        self.record = self._run_record()
        self.calendar = ChainCalendar(self.record.day_start_s, BASELINE_DAYS)
        self.actors = self._actors()
        self.members = demand_response_members(config.seed, config.households, config.dr_share)
        self.household_of = {account.address: i for i, account in enumerate(self.actors.households)}
        c = client.contracts
        self.auction, self.meter_registry, self.dr = c["EnergyAuction"], c["SmartMeter"], c["DemandResponse"]
        grid = self.auction.functions
        self.price_grid = PriceGrid(int(grid.minPrice().call()), int(grid.tickSize().call()), int(grid.maxPrice().call()))
        self.base_price_per_kwh = int(c["GridManagement"].functions.basePrice().call())
        high_percent = int(c["GridOperations"].functions.HIGH_LOAD_MIN_PERCENT().call())
        self.dr_trigger_per_mille = config.dr_trigger_per_mille or high_percent * 10
        self.order_submitted = EventDecoder(self.auction, "OrderSubmitted")
        self.order_claimed = EventDecoder(self.auction, "OrderClaimed")
        self.events: list[DemandEvent] = []
        self.series: list[IntervalFigures] = []
        # Orders by period, from the receipts of this process, for periods it submitted in full.
        self.pending_orders: dict[int, list[_OrderRecord]] = {}
        self.periods_sent_in_full: set[int] = set()
        self.pv_households: list[int] = []
        self.last_result: IntervalResult | None = None

    # ------------------------------------------------------------------ the run file and the actors

    def _run_record(self) -> RunRecord:
        latest = self.w3.eth.get_block("latest")
        smart_meter = self.client["SmartMeter"].address
        if self.run_file is not None:
            known = RunRecord.load(self.run_file)
            if known is not None and known.config == self.config.run_key() and known.smart_meter == smart_meter:
                block = self._block_or_none(known.anchor_block)
                if block is not None and _hex(block["hash"]) == known.anchor_hash:
                    return known
        day_start_s = plan_day_start(int(latest["timestamp"]), BASELINE_DAYS, SITE_UTC_OFFSET_MINUTES)
        record = RunRecord(self.config.run_key(), day_start_s, int(latest["number"]), _hex(latest["hash"]), smart_meter)
        if self.run_file is not None:
            record.save(self.run_file)
        return record

    def _block_or_none(self, number: int) -> Any:
        try:
            return self.w3.eth.get_block(number)
        except Exception:
            return None

    def _actors(self) -> Actors:
        seed, day = self.config.seed, self.record.day_start_s
        households = [derived_account(seed, day, "household", i) for i in range(self.config.households)]
        meters = [str(derived_account(seed, day, "meter", i).address) for i in range(self.config.households)]
        return Actors(anvil_account(0), anvil_account(1), anvil_account(2), anvil_account(3), households, meters)

    # ------------------------------------------------------------------ the run

    def run(self) -> SimulationResult:
        config = self.config
        model = CommunityModel(
            CommunityConfig(
                households=config.households,
                start_day_of_year=config.start_day_of_year - BASELINE_DAYS,
                days=config.days + BASELINE_DAYS,
                seed=config.seed,
            )
        )
        self.pv_households = [spec.household_id for spec in model.households if spec.pv is not None]
        try:
            total = config.interval_count
            self.progress(0, total, "set-up")
            self._set_up()
            baseline = [model.step() for _ in range(self.calendar.baseline_intervals)]
            self.progress(0, total, "baseline days")
            self._upload_baseline(baseline)
            resume_from = self._resume_interval()
            for i in range(total):
                result = model.step(self._consumption_factors(i))
                self.last_result = result
                self._decide_demand_response(i, result)
                self.series.append(self._figures(i, result))
                if i < resume_from:
                    continue
                self._step(i, result, check=i < resume_from + 2)
                self.progress(i + 1, total, result.local_start.strftime("%H:%M"))
            self._close(total, check=resume_from >= total)
        finally:
            self.sender.rpc("evm_setAutomine", [True])
        self.progress(config.interval_count, config.interval_count, "audit")
        return audit(self, baseline, model)

    def _resume_interval(self) -> int:
        """The first interval to check against the chain: the last one whose readings are all on
        chain (its later flushes may be missing). Flushes follow each other and a lost block takes
        the blocks after it, so every earlier interval is complete and every later one untouched
        but for the next, which is checked too."""
        done = min(self._latest_reading_times())
        if done < self.calendar.reading_time_s(0):
            return 0
        return self.calendar.interval_of(done)

    def _latest_reading_times(self) -> list[int]:
        """Each meter's latest reading's timestamp on chain (0 before its first)."""
        signature = "getLatestReading(address)"
        calls = [prepare(self.meter_registry, "getLatestReading", m, signature=signature) for m in self.actors.meters]
        return [int(reading[0]) for reading in self.sender.read(calls)]

    # ------------------------------------------------------------------ set-up

    def _set_up(self) -> None:
        """Roles, gas money, stablecoin, meters, approvals and DR members: each step checks the
        chain first, so a resumed run sends only what is missing."""
        dr_baseline_days = int(self.dr.functions.BASELINE_DAYS().call())
        if dr_baseline_days != BASELINE_DAYS:
            raise GridError(f"DemandResponse measures against {dr_baseline_days} days; the driver uploads {BASELINE_DAYS}")
        self._grant_roles()
        self._fund_accounts()
        self._register_meters()
        self._approve_auction()
        self.sender.flush()  # set-up: any time will do
        self._register_dr_members()  # needs the meters registered
        self.sender.flush()

    def _grant_roles(self) -> None:
        c, a, sender = self.client.contracts, self.actors, self.sender
        meter_c = c["SmartMeter"]
        gateway_role = meter_c.functions.GATEWAY_ROLE().call()
        if not meter_c.functions.hasRole(gateway_role, a.gateway.address).call():
            sender.send(a.operator, prepare(meter_c, "grantRole", gateway_role, a.gateway.address), gas=GAS_ROLE, actor="operator")
        # The reporter is these oracles' only one: a value needs more than half of the reporters, so
        # with the deployer reporting too, nothing the reporter sends alone would be written.
        for oracle in ("GridOracle", "WeatherOracle"):
            if not c[oracle].functions.isReporter(a.oracle.address).call():
                sender.send(a.operator, prepare(c[oracle], "addReporter", a.oracle.address), gas=GAS_ROLE, actor="operator")
            for reporter in c[oracle].functions.getReporters().call():
                if reporter != a.oracle.address:
                    sender.send(a.operator, prepare(c[oracle], "removeReporter", reporter), gas=GAS_ROLE, actor="operator")

    def _fund_accounts(self) -> None:
        c, a, sender = self.client.contracts, self.actors, self.sender
        for account in [a.operator, a.gateway, a.oracle, a.keeper, *a.households]:
            if self.w3.eth.get_balance(account.address) < MIN_ETH:
                sender.rpc("anvil_setBalance", [account.address, hex(HOUSEHOLD_ETH)])
        funded = self._faucet_recipients()
        for account in [a.operator, *a.households]:
            if account.address not in funded:
                call = prepare(c["PaymentToken"], "addConsumerBalance", account.address, self.config.funding_whole_units)
                sender.send(a.operator, call, gas=GAS_FAUCET, actor="operator")

    def _register_meters(self) -> None:
        meter_c, a = self.client.contracts["SmartMeter"], self.actors
        signature = "registerMeter(address,address,uint32,uint256,uint256)"
        for household, meter in zip(a.households, a.meters, strict=True):
            if not self._meter_registered(meter):
                call = prepare(meter_c, "registerMeter", meter, household.address, REGION_ID, 0, 0, signature=signature)
                self.sender.send(a.operator, call, gas=GAS_REGISTER, actor="operator")

    def _approve_auction(self) -> None:
        c, households, sender = self.client.contracts, self.actors.households, self.sender
        for name in ("EnergyToken", "PaymentToken"):
            allowances = sender.read([prepare(c[name], "allowance", h.address, self.auction.address) for h in households])
            for household, allowance in zip(households, allowances, strict=True):
                if allowance < MAX_UINT256 // 2:
                    call = prepare(c[name], "approve", self.auction.address, MAX_UINT256)
                    sender.send(household, call, gas=GAS_APPROVE, actor="households")

    def _register_dr_members(self) -> None:
        a = self.actors
        for i in self.members:
            consumer = a.households[i].address
            if self.dr.functions.getConsumerMeter(consumer).call() == ZERO_ADDRESS:
                call = prepare(self.dr, "registerConsumer", consumer, a.meters[i])
                self.sender.send(a.operator, call, gas=GAS_REGISTER, actor="operator")

    def _meter_registered(self, meter: str) -> bool:
        try:
            self.meter_registry.functions.getMeter(meter).call()
        except ContractCustomError:  # MeterUnknown
            return False
        return True

    def _faucet_recipients(self) -> set[str]:
        """Who got MockStablecoin minted since the run began (the faucet mints)."""
        transfer = EventDecoder(self.client["PaymentToken"], "Transfer")
        logs = self._logs(transfer, [transfer.topic, address_topic(ZERO_ADDRESS)])
        return {transfer.decode(log)["to"] for log in logs}

    # ------------------------------------------------------------------ baseline days

    def _upload_baseline(self, baseline: Sequence[IntervalResult]) -> None:
        """The BASELINE_DAYS before D as backdated gateway batches, once the chain stands at D;
        per meter only the readings after its latest on chain."""
        a = self.actors
        latest = self._latest_reading_times()
        pending: list[tuple[str, tuple[int, ...]]] = []
        for k, result in enumerate(baseline):
            timestamp = self.calendar.day_start_s + (k - len(baseline) + 1) * INTERVAL_SECONDS - 1
            for hh in result.households:
                if latest[hh.household_id] < timestamp:
                    reading = _reading(timestamp, hh.import_register_wh, hh.export_register_wh, hh.voltage_per_mille)
                    pending.append((a.meters[hh.household_id], reading))
        self._send_readings(pending)
        self.sender.flush(max(self._now(), self.calendar.day_start_s))
        # Clean producers from D on: SmartMeter's production counted before registration is never
        # credited, so the credits are the simulated days' own.
        carbon = self.client["CarbonCredits"].functions
        for i in self.pv_households:
            if not carbon.isCleanEnergyProducer(a.meters[i]).call():
                call = prepare(self.client["CarbonCredits"], "registerCleanEnergyProducer", a.meters[i], SOLAR)
                self.sender.send(a.operator, call, gas=GAS_REGISTER, actor="operator")
        self.sender.flush(max(self._now(), self.calendar.day_start_s))

    def _send_readings(self, readings: list[tuple[str, tuple[int, ...]]]) -> None:
        for start in range(0, len(readings), READINGS_PER_BATCH):
            chunk = readings[start : start + READINGS_PER_BATCH]
            call = prepare(self.meter_registry, "submitReadings", [meter for meter, _ in chunk], [reading for _, reading in chunk])
            self.sender.send(self.actors.gateway, call, gas=GAS_READINGS_BASE + GAS_PER_READING * len(chunk), actor="gateway")

    # ------------------------------------------------------------------ demand response decisions (pure model)

    def _consumption_factors(self, interval: int) -> dict[int, float]:
        if any(e.first_interval <= interval <= e.last_interval for e in self.events):
            return {i: self.config.dr_consumption_factor for i in self.members}
        return {}

    def _decide_demand_response(self, interval: int, result: IntervalResult) -> None:
        if not self.members or result.grid.transformer_loading_per_mille < self.dr_trigger_per_mille:
            return
        if any(e.last_interval > interval for e in self.events):  # one is running
            return
        last = interval + self.config.dr_intervals
        if last >= self.config.interval_count:  # its window would outlast the run: it could not be verified
            return
        self.events.append(DemandEvent(interval, interval + 1, last))

    # ------------------------------------------------------------------ one interval

    def _step(self, i: int, result: IntervalResult, check: bool) -> None:
        at = self.calendar.step_time_s(i)
        self._phase_report(i, result, at, check)
        self.sender.flush(max(at, self._now()))
        self._phase_trade(i, result, check)
        receipts = self.sender.flush(max(at, self._now()))
        self._phase_settle(i, receipts, check)
        self.sender.flush(max(at, self._now()))

    def _phase_report(self, i: int, result: IntervalResult, at: int, check: bool) -> None:
        a, c, sender = self.actors, self.client.contracts, self.sender
        reading_s = self.calendar.reading_time_s(i)
        latest = self._latest_reading_times() if check else [0] * len(a.meters)
        readings = [
            (a.meters[hh.household_id], _reading(reading_s, hh.import_register_wh, hh.export_register_wh, hh.voltage_per_mille))
            for hh in result.households
            if latest[hh.household_id] < reading_s
        ]
        self._send_readings(readings)
        grid, weather = result.grid, result.weather
        voltage = grid.voltage_min_per_mille
        if not check or int(c["GridOracle"].functions.getGridData(REGION_ID).call().updatedAt) < at:
            call = prepare(c["GridOracle"], "submitGridData", REGION_ID, grid.frequency_millihz, voltage, grid.generation_w, grid.load_w)
            sender.send(a.oracle, call, gas=GAS_ORACLE, actor="oracles")
        if not check or int(c["WeatherOracle"].functions.getWeather(REGION_ID).call().updatedAt) < at:
            call = prepare(
                c["WeatherOracle"],
                "submitWeather",
                REGION_ID,
                weather.irradiance_w_per_m2,
                weather.temperature_milli_celsius,
                weather.wind_speed_mm_per_s,
                weather.cloud_cover_bps,
            )
            sender.send(a.oracle, call, gas=GAS_ORACLE, actor="oracles")
        if not check or int(c["GridManagement"].functions.getCurrentGridStatus().call().updatedAt) < at:
            call = prepare(c["GridManagement"], "updateGridStatus", grid.generation_w, grid.load_w, grid.frequency_millihz, voltage)
            sender.send(a.operator, call, gas=GAS_GRID_STATUS, actor="operator")
        period = self.calendar.period_of(i + 1)
        if i + 1 >= ORDER_LEAD_INTERVALS and (not check or not self._cleared(period)):
            sender.send(a.keeper, prepare(self.auction, "clear", period), gas=GAS_CLEAR, actor="keeper")
        for event in self.events:
            if event.decided_at == i and (not check or self._find_event(event) == 0):
                self._start_event(event)

    def _phase_trade(self, i: int, result: IntervalResult, check: bool) -> None:
        a, sender = self.actors, self.sender
        period = self.calendar.period_of(i + ORDER_LEAD_INTERVALS)
        done = self._traders(period) if check else set()
        if not check:
            self.periods_sent_in_full.add(period)
        reference = dynamic_price(self.base_price_per_kwh, result.grid.load_w, result.grid.transformer_rating_va)
        for hh in result.households:
            household = a.households[hh.household_id]
            if household.address in done:
                continue
            for is_bid, amount_wh in ((True, hh.import_wh), (False, hh.export_wh)):
                if amount_wh <= 0:
                    continue
                price = limit_price_per_kwh(
                    self.config.seed, i, hh.household_id, reference, self.config.price_spread_bps, is_bid, self.price_grid
                )
                call = prepare(self.auction, "submitBid" if is_bid else "submitAsk", period, amount_wh, price)
                sender.send(household, call, gas=GAS_ORDER, actor="households")
        self._claim_market(self.calendar.period_of(i + 1), check)
        for event in self.events:
            if event.last_interval == i:
                self._verify_event(event)
        if (i + 1) % INTERVALS_PER_HOUR == 0 or i + 1 == self.config.interval_count:
            self._issue_credits()

    def _phase_settle(self, i: int, receipts: list[dict[str, Any]], check: bool) -> None:
        for record in self.order_submitted.in_receipts(receipts):
            household = self.household_of.get(record["trader"])
            if household is not None:
                order = _OrderRecord(int(record["orderId"]), household, bool(record["isBid"]))
                self.pending_orders.setdefault(int(record["period"]), []).append(order)
        if check:
            self._redeem_all()
        else:
            bought: dict[int, int] = {}
            for claim in self.order_claimed.in_receipts(receipts):
                household = self.household_of.get(claim["trader"])
                if household is not None and claim["isBid"] and claim["filledWh"] > 0:
                    bought[household] = bought.get(household, 0) + int(claim["filledWh"])
            for household, amount_wh in sorted(bought.items()):
                self._redeem(household, amount_wh)
        for event in self.events:
            if event.last_interval == i:
                self._distribute(event)

    def _close(self, total: int, check: bool) -> None:
        """After the last interval: clear and claim the last market traded, its buyers redeem."""
        at = self.calendar.step_time_s(total)
        period = self.calendar.period_of(total + 1)
        if not self._cleared(period):
            self.sender.send(self.actors.keeper, prepare(self.auction, "clear", period), gas=GAS_CLEAR, actor="keeper")
        self.sender.flush(max(at, self._now()))
        self._claim_market(period, check=True)
        self.sender.flush(max(at, self._now()))
        self._redeem_all()
        self.sender.flush(max(at, self._now()))

    # ------------------------------------------------------------------ market

    def _cleared(self, period: int) -> bool:
        return bool(self.auction.functions.getMarket(period).call().cleared)

    def _traders(self, period: int) -> set[str]:
        logs = self._logs(self.order_submitted, [self.order_submitted.topic, None, _topic_int(period)])
        return {self.order_submitted.decode(log)["trader"] for log in logs}

    def _orders_on_chain(self, period: int) -> list[_OrderRecord]:
        logs = self._logs(self.order_submitted, [self.order_submitted.topic, None, _topic_int(period)])
        orders = []
        for log in logs:
            event = self.order_submitted.decode(log)
            household = self.household_of.get(event["trader"])
            if household is not None:
                orders.append(_OrderRecord(int(event["orderId"]), household, bool(event["isBid"])))
        return orders

    def _claim_market(self, period: int, check: bool) -> list[_OrderRecord]:
        orders = self.pending_orders.pop(period, [])
        if check or period not in self.periods_sent_in_full:
            orders = self._orders_on_chain(period)
            infos = self.sender.read([prepare(self.auction, "getOrder", o.order_id) for o in orders])
            orders = [o for o, info in zip(orders, infos, strict=True) if not info[7]]  # OrderInfo.claimed
        for order in orders:
            call = prepare(self.auction, "claim", order.order_id)
            self.sender.send(self.actors.keeper, call, gas=GAS_CLAIM, actor="keeper")
        return orders

    def _redeem(self, household: int, amount_wh: int) -> None:
        call = prepare(self.meter_registry, "redeemConsumption", self.actors.meters[household], amount_wh)
        self.sender.send(self.actors.households[household], call, gas=GAS_REDEEM, actor="households")

    def _redeem_all(self) -> None:
        """Check mode: each buyer redeems what it bought and has not redeemed yet (from chain)."""
        bought = self._bought_by_household()
        metered = self.sender.read([prepare(self.meter_registry, "getMeteredEnergy", m) for m in self.actors.meters])
        for household, figures in enumerate(metered):
            redeemed = int(figures[2])
            if bought.get(household, 0) > redeemed:
                self._redeem(household, bought[household] - redeemed)

    def _bought_by_household(self) -> dict[int, int]:
        bought: dict[int, int] = {}
        for log in self._logs(self.order_claimed, [self.order_claimed.topic]):
            claim = self.order_claimed.decode(log)
            household = self.household_of.get(claim["trader"])
            if household is not None and claim["isBid"]:
                bought[household] = bought.get(household, 0) + int(claim["filledWh"])
        return bought

    # ------------------------------------------------------------------ demand response on chain

    def _start_event(self, event: DemandEvent) -> None:
        a, c = self.actors, self.client.contracts
        target_kw = self.config.dr_target_kw_per_member * len(self.members)
        budget = target_kw * self.config.dr_reward_per_kw
        self.sender.send(a.operator, prepare(c["PaymentToken"], "approve", self.dr.address, budget), gas=GAS_APPROVE, actor="operator")
        # The operator runs REGION_ID in GridManagement, where every household's meter is.
        call = prepare(self.dr, "startEvent", REGION_ID, target_kw, self.config.dr_reward_per_kw, self.config.dr_duration_seconds)
        self.sender.send(a.operator, call, gas=GAS_START_EVENT, actor="operator")

    def _find_event(self, event: DemandEvent) -> int:
        """The id of the operator's event whose window opens at the event's first interval, or 0."""
        if event.event_id:
            return event.event_id
        start_s = self.calendar.interval_start_s(event.first_interval)
        for event_id in range(int(self.dr.functions.eventCount().call()), 0, -1):
            on_chain = self.dr.functions.getEvent(event_id).call()
            if int(on_chain.startTime) == start_s and on_chain.gridOperator == self.actors.operator.address:
                event.event_id = event_id
                return event_id
            if int(on_chain.startTime) < start_s:
                break
        return 0

    def _verify_event(self, event: DemandEvent) -> None:
        event_id = self._find_event(event)
        if event_id == 0:
            raise GridError(f"the demand-response event of intervals {event.first_interval}..{event.last_interval} is not on chain")
        minimum_w = int(self.dr.functions.minimumReductionW().call())
        event.verified, event.skipped = [], []
        consumers = [self.actors.households[i].address for i in self.members]
        participations = self.sender.read([prepare(self.dr, "getParticipation", event_id, c) for c in consumers])
        previews = self.sender.read([prepare(self.dr, "previewReduction", event_id, c) for c in consumers])
        for i, consumer, participation, figures in zip(self.members, consumers, participations, previews, strict=True):
            if int(participation[0]) != 0:  # participationId: verified already (a resumed run)
                event.verified.append(i)
                continue
            baseline_w, actual_w = int(figures[0]), int(figures[1])
            if baseline_w < actual_w or baseline_w - actual_w < minimum_w:
                event.skipped.append(i)
                continue
            call = prepare(self.dr, "verifyReduction", event_id, consumer, *figures)
            self.sender.send(self.actors.keeper, call, gas=GAS_VERIFY, actor="keeper")
            event.verified.append(i)

    def _distribute(self, event: DemandEvent) -> None:
        event_id = self._find_event(event)
        budget = self.dr.functions.getEventBudget(event_id).call()
        remaining = int(budget.verifiedParticipants) - int(budget.distributionCursor)
        batch = int(self.dr.functions.MAX_DISTRIBUTION_BATCH().call())
        for _ in range(-(-remaining // batch) if remaining > 0 else 0):
            call = prepare(self.dr, "distributeRewards", event_id)
            self.sender.send(self.actors.keeper, call, gas=GAS_DISTRIBUTE, actor="keeper")

    # ------------------------------------------------------------------ carbon credits

    def _issue_credits(self) -> None:
        carbon = self.client["CarbonCredits"]
        meters = [self.actors.meters[i] for i in self.pv_households]
        for meter, pending_wh in zip(meters, self.sender.read([prepare(carbon, "pendingWh", m) for m in meters]), strict=True):
            if pending_wh > 0:
                self.sender.send(self.actors.keeper, prepare(carbon, "issueCarbonCredits", meter), gas=GAS_ISSUE_CREDITS, actor="keeper")

    # ------------------------------------------------------------------ helpers

    def _figures(self, i: int, result: IntervalResult) -> IntervalFigures:
        grid = result.grid
        return IntervalFigures(
            interval=i,
            local_time=result.local_start.strftime("%Y-%m-%d %H:%M"),
            consumption_wh=result.consumption_wh,
            pv_wh=result.pv_wh,
            import_wh=result.import_wh,
            export_wh=result.export_wh,
            transformer_loading_per_mille=grid.transformer_loading_per_mille,
            voltage_min_per_mille=grid.voltage_min_per_mille,
            reference_price_per_kwh=dynamic_price(self.base_price_per_kwh, grid.load_w, grid.transformer_rating_va),
            demand_response=bool(self._consumption_factors(i)),
        )

    def _now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def _logs(self, decoder: EventDecoder, topics: list[Any]) -> list[dict[str, Any]]:
        query = {"address": decoder.address, "topics": topics, "fromBlock": hex(self.record.anchor_block), "toBlock": "latest"}
        logs: list[dict[str, Any]] = self.sender.rpc("eth_getLogs", [query])
        return logs


def run_simulation(
    client: GridClient | str,
    config: SimulationConfig = SimulationConfig(),
    *,
    manifest: Path | None = None,
    run_file: Path | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Runs (or resumes) a simulation; local chains only (see the module docstring).

    `client` is a GridClient, or an RPC URL together with `manifest` (deployments/<chainId>.json).
    `run_file` (default: next to the manifest, `<chainId>.simulation.json`, when a manifest is
    given) records the run so that a run started again resumes it. `progress(done, total, note)`
    is called as intervals complete. Raises GridError on a rejected transaction and
    SimulationImbalance when the audit finds energy or money that does not balance.
    """
    if isinstance(client, str):
        if manifest is None:
            raise GridError("run_simulation needs the manifest of the deployment at that RPC URL")
        client = GridClient.from_manifest(manifest, client)
    if run_file is None and manifest is not None:
        run_file = run_file_for(manifest)
    return SimulationRun(client, config, run_file, progress).run()


def run_file_for(manifest: Path) -> Path:
    """The run file next to a manifest: deployments/31337.json → deployments/31337.simulation.json."""
    return manifest.with_name(f"{manifest.stem}.simulation.json")




def _reading(timestamp: int, import_wh: int, export_wh: int, voltage_per_mille: int) -> tuple[int, ...]:
    return (timestamp, import_wh, export_wh, FREQUENCY_NOMINAL_MILLIHZ, voltage_per_mille)


def _hex(value: Any) -> str:
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value)
    return "0x" + text.removeprefix("0x")


def _topic_int(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


__all__ = ["BASELINE_DAYS", "SimulationConfig", "SimulationRun", "run_file_for", "run_simulation"]
