"""The audit of a run: every figure read back from the chain, and the balances it must satisfy.

Energy (Wh, exact):
- the meters' export registers on chain = EnergyToken minted: to the households' wallets in the
  baseline days, into the vault (credited to their balances) on the simulated day; both registers
  = the model's;
- every standing order placed was settled: no meter's slot in the auction (`getMeteredOrders`) holds
  unsettled orders at the end (a slot is settled before it is reused), and each settlement
  (MeteredOrdersSettled) sold and bought at most what it placed;
- Σ bought = Σ sold = the volume of the run's markets (MarketCleared), and the energy bought was
  retired (the vault's EnergyRetired);
- each household's wallet holds what was minted to it, and its vault balance = export credited
  there − sold.
Money (PaymentToken base units, exact):
- what buyers paid − what sellers got = the grid fees and the buyers' rounding surplus the auction
  accrued in the run, which is what the auction's vault balance grew by once everything is settled
  (counted from the run's start: orders others left unclaimed before it still hold their escrow);
- demand-response rewards are paid into the households' vault balances out of DemandResponse's own
  (a vault market holding the events' budgets): the run's events' budgets booked as paid = the
  rewards paid to the households, and DemandResponse's vault balance = what its events' budgets hold
  still (budget − paid − refunded, over every event);
- each household's vault balance = deposited − paid + proceeds + rewards, and its wallet = faucet −
  deposited;
- the vault's reserves are what it holds of each token.
Grid: one load report of the operator's in GridOperations per simulated interval, in order, each
the model's transformers' rating (capacity) and apparent power (demand), kVA taken as kW; or, for a
load reporter that knows only the meters (the live community's), their net import as the demand.

Figures come from the chain's events and balances, not from the driver's bookkeeping; the
model's own figures (consumption, PV) fill in what no contract records.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from energy_grid.chain.events import EventDecoder, address_topic, first_block_at, uint_topic
from energy_grid.community.model import IntervalResult
from energy_grid.contracts.client import GridError
from energy_grid.contracts.sender import prepare
from energy_grid.domain.units import ZERO_ADDRESS, transformer_load_kw
from energy_grid.simulation.run_state import RunState

BLOCKS_PER_REQUEST = 200  # eth_getBlockByNumber calls (transaction hashes only) a JSON-RPC batch
RECEIPTS_PER_REQUEST = 100  # eth_getTransactionReceipt calls a JSON-RPC batch

LOAD_STATUS_HIGH = 2  # IGridOperations.LoadStatus.HIGH (CRITICAL above it)


class SimulationImbalance(GridError):
    """Energy or money on chain does not balance; the message lists every failed check."""


@dataclass(frozen=True)
class IntervalFigures:
    """One simulated interval: the model's energies and grid, the market that traded its energy."""

    interval: int
    local_time: str  # local standard time at the site, "YYYY-MM-DD HH:MM" (interval start)
    consumption_wh: int
    pv_wh: int
    import_wh: int
    export_wh: int
    transformer_loading_per_mille: int
    transformer_loading_without_dr_per_mille: int  # the same model had no event been called
    transformer_apparent_kva: int  # the transformers' apparent power: the demand the operator reports
    voltage_min_per_mille: int
    reference_price_per_kwh: int
    demand_response: bool  # registered households were answering an event
    traded_wh: int = 0  # in the auction that traded this interval's metered energy
    clearing_price_per_kwh: int | None = None  # None when nothing traded
    feeder_loading_per_mille: tuple[int, ...] = ()  # each feeder's transformer (pandapower)
    feeder_apparent_kva: tuple[int, ...] = ()  # each feeder's transformer: a zoned run's load reports
    battery_grid_charge_wh: int = 0  # what batteries drew through the meters to charge (flexible load)
    feeder_net_import_wh: tuple[int, ...] = ()  # each feeder's meters' import − export: its metered load


@dataclass(frozen=True)
class BalanceCheck:
    name: str
    left: int
    right: int

    @property
    def ok(self) -> bool:
        return self.left == self.right


@dataclass
class SimulationResult:
    """What a run produced; `figures` are the summary table's, all read back from the chain."""

    config: dict[str, Any]
    day_start_s: int
    figures: dict[str, int | float]
    series: list[IntervalFigures]
    gas_by_actor: dict[str, int]
    transactions_by_actor: dict[str, int]
    checks: list[BalanceCheck]
    seconds: float
    payment_symbol: str  # PaymentToken's: every money figure is in its base units
    payment_decimals: int
    # The deployment's zone (PriceDiscovery's UTC offset): the plots' clock, as in every view.
    utc_offset_minutes: int = 0
    households_failing: list[str] = field(default_factory=list)
    # The simulated day alone: from its first interval's blocks on (no set-up, no baseline upload).
    day_gas_by_actor: dict[str, int] = field(default_factory=dict)
    day_transactions_by_actor: dict[str, int] = field(default_factory=dict)
    # The household `SimulationConfig.household_owner` got: {"household", "owner", "meter"}; None without one.
    owned_household: dict[str, Any] | None = None

    @property
    def balanced(self) -> bool:
        return all(check.ok for check in self.checks)

    def totals(self) -> dict[str, Any]:
        """Every figure that must not depend on how the run went (restarts, timing, gas)."""
        series = [asdict(s) for s in self.series]
        return {"figures": dict(self.figures), "series": series}

    def as_json(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "dayStartUnixS": self.day_start_s,
            "figures": self.figures,
            "gasByActor": self.gas_by_actor,
            "transactionsByActor": self.transactions_by_actor,
            "simulatedDayGasByActor": self.day_gas_by_actor,
            "simulatedDayTransactionsByActor": self.day_transactions_by_actor,
            "checks": [asdict(c) | {"ok": c.ok} for c in self.checks],
            "seconds": round(self.seconds, 1),
            "ownedHousehold": self.owned_household,
            "payment": {"symbol": self.payment_symbol, "decimals": self.payment_decimals},
            "utcOffsetMinutes": self.utc_offset_minutes,
            "series": [asdict(s) for s in self.series],
        }


@dataclass(frozen=True)
class _LoadReport:
    """One of the operator's load reports to GridOperations (kW)."""

    capacity_kw: int
    demand_kw: int
    status: int  # IGridOperations.LoadStatus
    block: int  # the block it was reported in
    interval: int  # the simulated interval it reports: the latest that ended before its block
    feeder: int = 0  # whose transformer (a zoned run's feeders report one each)


class _Flows:
    """Per household (by index), what moved, in Wh or PaymentToken base units."""

    def __init__(self, households: int) -> None:
        self.minted, self.funded, self.deposited, self.rewards = ([0] * households for _ in range(4))
        self.rewards_from_budgets = 0  # paid out of the run's events' budgets (getEventBudget)
        self.dr_in_vault = 0  # DemandResponse's own vault balance
        self.dr_budgets_held = 0  # every event's budget − paid − refunded
        self.sold, self.bought, self.paid, self.proceeds = ([0] * households for _ in range(4))
        self.unsettled_slots = 0  # meters' slots holding orders not settled at the end
        self.overfilled = 0  # settlements that sold or bought more than they placed
        self.retired_wh = 0  # by the run's meters' purchases
        self.outside_kept = 0  # fees and rounding the auction kept of other meters' settlements in the run
        self.minted_to_vault_wh = 0
        self.import_registers: list[int] = []
        self.export_registers: list[int] = []


def audit(
    state: RunState,
    series: list[IntervalFigures],
    baseline_end: IntervalResult,
    last: IntervalResult,
    started: float,
    *,
    metered_load_delay_s: int | None = None,
) -> SimulationResult:
    """Reads the run back from the chain and checks it; raises SimulationImbalance if it does not balance.

    `series` holds the model's figures of each simulated interval, `baseline_end` the model's last
    baseline interval (the registers the simulated days start from), `last` its latest interval
    (the registers the chain must show), and `started` the run's start (time.monotonic()).

    The operator's load reports are checked against the model's transformers (apparent power, from
    the power flow), as the simulation reports them; with `metered_load_delay_s`, against the
    meters' net import (energy_grid.domain.units.transformer_load_kw), as a load reporter that has
    only the meters' readings reports them, waiting up to that long after an interval's end for them."""
    return _Auditor(state, series, baseline_end, last, started, metered_load_delay_s).result()


class _Auditor:
    def __init__(
        self,
        state: RunState,
        series: list[IntervalFigures],
        baseline_end: IntervalResult,
        last: IntervalResult,
        started: float,
        metered_load_delay_s: int | None,
    ) -> None:
        self.state = state
        self.metered_load = metered_load_delay_s is not None
        self.reading_delay_s = metered_load_delay_s or 0
        self._latest: int | None = None
        self._day_first: int | None = None
        self.client = state.client
        self.series = series
        self.baseline_end = baseline_end
        self.last = last
        self.started = started
        self.households = [a.address for a in state.actors.households]
        self.meters = state.actors.meters
        self.index = {address: i for i, address in enumerate(self.households)}

    def _logs(self, contract: str, event: str, topics: list[Any]) -> list[dict[str, Any]]:
        decoder = EventDecoder(self.client[contract], event)
        logs = self.state.logs(decoder, [decoder.topic, *topics])
        return [decoder.decode(log) for log in logs]

    def _topics(self, addresses: Sequence[str]) -> list[str]:
        return [address_topic(a) for a in addresses]

    def result(self) -> SimulationResult:
        state = self.state
        flows = self._flows()
        cleared, series = self._markets()
        _event_ids, windows, verified = self._demand_response()
        load_reports = self._load_reports()
        checks, failing, kept = self._checks(flows, cleared)
        load_checks, reported_early = self._load_report_checks(load_reports, series)
        checks += load_checks
        fills = self._run_fills()
        zone_prices = self._zone_prices()
        zone_figures, zone_checks = self._feeders_in_the_market(fills, zone_prices)
        checks += zone_checks
        average_price, peak_price = prices_paid(fills, {int(m["period"]): int(m["clearingPricePerKWh"]) for m in cleared},
                                                zone_prices, self._zone_of_meter())  # fmt: skip
        figures = self._figures(flows, cleared, series, kept) | {
            "average_price_per_kwh": average_price,
            "peak_price_per_kwh": peak_price,
            "dr_events": windows,
            "dr_participants_verified": len(verified),
            # Every registered household is measured after each event (its feeder's, in a zoned
            # run); who was not verified showed less than the minimum reduction.
            "dr_participants_skipped": windows * len(state.members) - len(verified),
            "dr_reduction_w": sum(int(v["reductionW"]) for v in verified),
            "dr_rewards_paid": sum(flows.rewards),
            "load_reports": len(load_reports),
            "load_reports_high": sum(1 for report in load_reports if report.status >= LOAD_STATUS_HIGH),
        } | zone_figures
        if self.metered_load:
            figures["load_reports_before_every_meter_read"] = reported_early
        credits = self._logs("CarbonCredits", "CarbonCreditsIssued", [self._topics(self.meters)])
        figures["carbon_credits_grams"] = sum(int(x["grams"]) for x in credits)
        figures["carbon_credited_wh"] = sum(int(x["amountWh"]) for x in credits)
        gas, transactions, day_gas, day_transactions = self._gas_by_actor()
        payment = self.client["PaymentToken"].functions
        result = SimulationResult(
            config=state.config.run_key(),
            day_start_s=state.calendar.day_start_s,
            figures=figures,
            series=series,
            gas_by_actor=gas,
            transactions_by_actor=transactions,
            checks=checks,
            day_gas_by_actor=day_gas,
            day_transactions_by_actor=day_transactions,
            seconds=time.monotonic() - self.started,
            payment_symbol=str(payment.symbol().call()),
            utc_offset_minutes=int(self.client["PriceDiscovery"].functions.utcOffsetMinutes().call()),
            payment_decimals=int(payment.decimals().call()),
            households_failing=failing,
            owned_household=self._owned_household(),
        )
        if not result.balanced:
            lines = [f"{c.name}: {c.left} != {c.right}" for c in checks if not c.ok] + failing[:10]
            raise SimulationImbalance("the run does not balance: " + "; ".join(lines))
        return result

    def _flows(self) -> _Flows:
        """What moved to and from each household, from the events; the registers from SmartMeter."""
        n = len(self.households)
        household_topics = self._topics(self.households)
        zero_topic = self._topics([ZERO_ADDRESS])[0]
        flows = _Flows(n)
        for t in self._logs("EnergyToken", "Transfer", [zero_topic, household_topics]):
            flows.minted[self.index[t["to"]]] += int(t["value"])
        flows.minted_to_vault_wh = self._minted_to_vault_for_meters()
        for t in self._logs("PaymentToken", "Transfer", [zero_topic, household_topics]):
            flows.funded[self.index[t["to"]]] += int(t["value"])
        payment_topic = self._topics([self.client["PaymentToken"].address])[0]
        for d in self._logs("EnergyVault", "Deposited", [household_topics, payment_topic]):
            flows.deposited[self.index[d["account"]]] += int(d["amount"])
        auction_topic = self._topics([self.client["EnergyAuction"].address])[0]
        retired_wh = sum(int(r["amountWh"]) for r in self._logs("EnergyVault", "EnergyRetired", [auction_topic]))
        outside = self._outside_settlements()
        # A batch retires what every meter it settles bought: what meters not of the run bought
        # (an example's, a household's of the web app) was retired with it.
        flows.retired_wh = retired_wh - sum(int(r["boughtWh"]) for r in outside)
        flows.outside_kept = sum(int(r["paid"]) - int(r["proceeds"]) for r in outside)
        meter = self.client["SmartMeter"]
        latest = self.state.sender.read([prepare(meter, "getLatestReading", m, signature="getLatestReading(address)") for m in self.meters])
        flows.import_registers = [int(r[1]) for r in latest]
        flows.export_registers = [int(r[2]) for r in latest]
        meter_index = {m: i for i, m in enumerate(self.meters)}
        meter_topics = [self._topics(self.meters)]
        auction = self.client["EnergyAuction"]
        slots = self.state.sender.read([prepare(auction, "getMeteredOrders", m) for m in self.meters])
        flows.unsettled_slots = sum(1 for pair in slots for slot in pair if int(slot[0]) != 0 and not slot[1])
        for r in self._logs("EnergyAuction", "MeteredOrdersSettled", meter_topics):
            h = meter_index[r["meter"]]
            flows.overfilled += int(r["soldWh"]) > int(r["askWh"]) or int(r["boughtWh"]) > int(r["bidWh"])
            flows.sold[h] += int(r["soldWh"])
            flows.proceeds[h] += int(r["proceeds"])
            flows.bought[h] += int(r["boughtWh"])
            flows.paid[h] += int(r["paid"])
        for r in self._logs("DemandResponse", "RewardPaid", [None, household_topics]):
            flows.rewards[self.index[r["consumer"]]] += int(r["amount"])
        self._budgets(flows)
        return flows

    def _owned_household(self) -> dict[str, Any] | None:
        owned = self.state.actors.owned
        if owned is None:
            return None
        return {"household": owned, "owner": self.households[owned], "meter": self.meters[owned]}

    def _balances_at_start(self) -> list[tuple[int, int, int, int]]:
        """Each household's (EnergyToken, PaymentToken, vault energy, vault payment) when the run
        began: nothing for the run's own fresh accounts, what an outside owner already held."""
        start = [(0, 0, 0, 0)] * len(self.households)
        owned = self.state.actors.owned
        if owned is not None:
            start[owned] = self.state.record.owner_balances_at_start
        return start

    def _outside_settlements(self) -> list[dict[str, Any]]:
        """The run's settlements of standing orders of meters that are not the run's: other
        people's activity on the same chain, left out of the run's books."""
        ours = set(self.meters)
        return [r for r in self._logs("EnergyAuction", "MeteredOrdersSettled", []) if r["meter"] not in ours]

    def _minted_to_vault_for_meters(self) -> int:
        """EnergyToken minted to the vault (export credited to the meters' owners' vault balances) in
        the transactions that took the run's meters' readings; another meter's readings, in a
        transaction of its own, mint for that meter's owner."""
        reading = EventDecoder(self.client["SmartMeter"], "ReadingAccepted")
        ours = {log["transactionHash"] for log in self.state.logs(reading, [reading.topic, self._topics(self.meters)])}
        transfer = EventDecoder(self.client["EnergyToken"], "Transfer")
        vault_topic = self._topics([self.client["EnergyVault"].address])[0]
        mints = self.state.logs(transfer, [transfer.topic, self._topics([ZERO_ADDRESS])[0], vault_topic])
        return sum(int(transfer.decode(log)["value"]) for log in mints if log["transactionHash"] in ours)

    def _budgets(self, flows: _Flows) -> None:
        """What DemandResponse's budgets paid in the run and what it holds for them in the vault."""
        dr, vault = self.client["DemandResponse"], self.client["EnergyVault"]
        run_events, _, _ = self._demand_response()
        event_count = int(dr.functions.eventCount().call())
        budgets = self.state.sender.read([prepare(dr, "getEventBudget", e) for e in range(1, event_count + 1)])
        # EventBudget: budget, reserved, paid, refunded, ...
        flows.rewards_from_budgets = sum(int(b[2]) for e, b in enumerate(budgets, start=1) if e in run_events)
        flows.dr_budgets_held = sum(int(b[0]) - int(b[2]) - int(b[3]) for b in budgets)
        flows.dr_in_vault = int(vault.functions.balancesOf(dr.address).call()[1])

    def _markets(self) -> tuple[list[dict[str, Any]], list[IntervalFigures]]:
        """The run's cleared markets (the period of interval i traded interval i's metered energy)
        and the interval series with each interval's market."""
        period_of_interval = {self.state.calendar.period_of(i): i for i in range(len(self.series))}
        cleared = [m for m in self._logs("EnergyAuction", "MarketCleared", []) if int(m["period"]) in period_of_interval]
        traded_by_interval = {period_of_interval[int(m["period"])]: m for m in cleared}
        return cleared, [_with_market(s, traded_by_interval.get(s.interval)) for s in self.series]

    def _run_periods(self) -> set[int]:
        """The markets of the run's simulated intervals."""
        return {self.state.calendar.period_of(i) for i in range(len(self.series))}

    def _run_fills(self) -> list[dict[str, Any]]:
        """The settlements of the run's meters' standing orders in the run's markets (MeteredOrdersSettled)."""
        periods = self._run_periods()
        return [f for f in self._logs("EnergyAuction", "MeteredOrdersSettled", [self._topics(self.meters)]) if int(f["period"]) in periods]

    def _zone_of_feeder(self) -> list[int]:
        """Each feeder's market zone (MarketZones.zoneOf its region) in a zoned run; all 0 (the bus) otherwise."""
        state = self.state
        if not state.zoned:
            return [0] * state.feeders
        return [int(state.market_zones.functions.zoneOf(state.feeder_region(f)).call()) for f in range(state.feeders)]

    def _zone_of_meter(self) -> dict[str, int]:
        zone_of_feeder = self._zone_of_feeder()
        return {meter: zone_of_feeder[self.state.feeder_of[i]] for i, meter in enumerate(self.meters)}

    def _zone_prices(self) -> dict[tuple[int, int], int]:
        """(period, zone) → the zone's price in the run's markets cleared across zones (MarketZones' ZoneCleared)."""
        if not self.state.zoned:
            return {}
        periods = self._run_periods()
        cleared = [z for z in self._logs("MarketZones", "ZoneCleared", []) if int(z["period"]) in periods]
        return {(int(z["period"]), int(z["zone"])): int(z["clearingPricePerKWh"]) for z in cleared}

    def _feeders_in_the_market(
        self, fills: list[dict[str, Any]], zone_prices: dict[tuple[int, int], int]
    ) -> tuple[dict[str, Any], list[BalanceCheck]]:
        """What crossed between feeders and what the links cost, from the settled fills of the
        households' standing orders (either run: a feeder's net sale in a market left through its
        transformer), and in a zoned run from the zones' clearing too (MarketZones' ZoneCleared and
        CongestionRentAccrued), which must agree with the fills to the Wh."""
        state = self.state
        periods = self._run_periods()
        feeder_of_meter = {meter: state.feeder_of[i] for i, meter in enumerate(self.meters)}
        net_wh: dict[tuple[int, int], int] = defaultdict(int)  # (period, feeder) → sold − bought
        for fill in fills:
            net_wh[(int(fill["period"]), feeder_of_meter[fill["meter"]])] += int(fill["soldWh"]) - int(fill["boughtWh"])
        across_wh = sum(max(0, wh) for wh in net_wh.values())
        peaks = [max((s.feeder_loading_per_mille[f] for s in self.series), default=0) for f in range(state.feeders)]
        figures: dict[str, Any] = {
            "feeders": state.feeders,
            "market_zones": state.feeders if state.zoned else 1,
            # Each feeder's peak over the day: of the feeder whose peak is highest, and lowest.
            "peak_loading_most_loaded_feeder_per_mille": max(peaks),
            "peak_loading_least_loaded_feeder_per_mille": min(peaks),
            "traded_across_feeders_wh": across_wh,
            "congestion_rent": 0,
            "markets_with_zone_prices_apart": 0,
            "max_zone_price_spread_per_kwh": 0,
        }
        if not state.zoned:
            return figures, []
        feeder_of_zone = {zone: feeder for feeder, zone in enumerate(self._zone_of_feeder())}
        cleared = [z for z in self._logs("MarketZones", "ZoneCleared", []) if int(z["period"]) in periods]
        zone_export_wh = sum(max(0, int(z["netExportWh"])) for z in cleared if int(z["zone"]) in feeder_of_zone)
        zone_of_meter = self._zone_of_meter()
        traded = {(int(f["period"]), zone_of_meter[f["meter"]]) for f in fills if int(f["soldWh"]) or int(f["boughtWh"])}
        spreads = zone_price_spreads(zone_prices, traded)
        rents = [r for r in self._logs("MarketZones", "CongestionRentAccrued", []) if int(r["period"]) in periods]
        figures |= {
            "congestion_rent": sum(int(r["rent"]) for r in rents),
            "markets_with_zone_prices_apart": sum(1 for spread in spreads if spread > 0),
            "max_zone_price_spread_per_kwh": max(spreads, default=0),
        }
        return figures, [BalanceCheck("energy across feeders: the zones' net exports = the settled fills (Wh)", zone_export_wh, across_wh)]

    def _demand_response(self) -> tuple[set[int], int, list[dict[str, Any]]]:
        """The run's events (started by its operators: one a window in each region with members),
        how many windows they cover, and the reductions verified in them."""
        operators = [self.state.actors.operator.address, *(o.address for o in self.state.actors.feeder_operators)]
        started = self._logs("DemandResponse", "EventStarted", [None, self._topics(operators)])
        event_ids = {int(e["eventId"]) for e in started}
        verified = self._logs("DemandResponse", "ReductionVerified", [None, self._topics(self.households)])
        windows = len({int(e["startTime"]) for e in started})
        return event_ids, windows, [v for v in verified if int(v["eventId"]) in event_ids]

    def _load_reports(self) -> list[_LoadReport]:
        """Every feeder's load reports in a zoned run, else the whole community's
        (_region_load_reports)."""
        state = self.state
        if not state.zoned:
            return self._region_load_reports(0)
        return [report for feeder in range(state.feeders) for report in self._region_load_reports(feeder)]

    def _region_load_reports(self, feeder: int) -> list[_LoadReport]:
        """The feeder's load reports of the simulated days, in order: from the first interval's
        end on (a set-up may declare the transformers' rating before). Either the feeder's operator
        sent them (the live load reporter) or the run's operator, holding GridOperations'
        LOAD_REPORTER_ROLE (the simulation: one reportLoads for every feeder); a report by anyone
        else is not the run's.

        From the LoadReported events, and from the region's report history where it holds a report
        no event tells of: a node restarted from its last state dump (anvil) may hold storage a
        little newer than its last block, so a report can stand in the state while its block, and
        its event, are gone. Such a report counts as made in the first block stamped at its time or
        later."""
        reporters = {self.state.feeder_operator(feeder).address, self.state.actors.operator.address}
        region = self.state.feeder_region(feeder)
        decoder = EventDecoder(self.client["GridOperations"], "LoadReported")
        topics = [decoder.topic, uint_topic(region), self._topics(sorted(reporters))]
        logs = self.state.logs(decoder, topics, from_block=self._day_first_block())
        blocks = [int(log["blockNumber"], 16) for log in logs]
        by_sequence: dict[int, _LoadReport] = {}
        for log, block, timestamp_s in zip(logs, blocks, self.state.sender.block_timestamps(blocks), strict=True):
            # By position, as the event declares them: the names carry the power unit.
            _region, _operator, sequence, capacity, demand, _percentage, status = decoder.decode(log).values()
            interval = self.state.calendar.interval_of(timestamp_s) - 1
            by_sequence[int(sequence)] = _LoadReport(int(capacity), int(demand), int(status), block, interval, feeder)
        operations = self.client["GridOperations"].functions
        count = int(operations.loadReportCount(region).call())
        held = int(operations.LOAD_HISTORY_CAPACITY().call())
        history = self.client.grid_operations.load_history(region, max(0, count - held), min(count, held)) if count else []
        latest_block = int(self.client.w3.eth.block_number)
        for r in history:
            if r.sequence in by_sequence or r.reported_by not in reporters or r.reported_at <= self.state.calendar.day_start_s:
                continue
            block = first_block_at(self.client.w3, r.reported_at, self._day_first_block(), latest_block)
            interval = self.state.calendar.interval_of(r.reported_at) - 1
            by_sequence[r.sequence] = _LoadReport(r.capacity_kw, r.demand_kw, int(r.status), block, interval, feeder)
        return [by_sequence[sequence] for sequence in sorted(by_sequence)]

    def _load_report_checks(self, reports: list[_LoadReport], series: list[IntervalFigures]) -> tuple[list[BalanceCheck], int]:
        """One load report per simulated interval and feeder (one feeder for the whole community
        when the market is not zoned; a report is the latest interval's that ended before its
        block), each the transformers' rating as the capacity and, as the demand, their apparent
        power in the model (kVA taken as kW) or, with a reading delay, the meters' net import (kW).
        Returns the checks and, with a reading delay, how many reports were made before every meter
        of their feeder had its reading of their interval on chain.

        A load reporter that has only the meters' readings waits for them a while after the
        interval's end, then reports from those on chain (a meter that is down must not hold up the
        grid's figures). Such an early report, made when readings came late (after a fault), is
        counted, not checked: the readings it was made from are those the reporter had read, which
        the chain does not record. Every other report must equal the meters' net import exactly."""
        grid = self.last.grid
        zoned = self.state.zoned
        feeders = self.state.feeders if zoned else 1
        rating_kva = grid.feeder_rating_kva if zoned else grid.transformer_rating_kva
        by_key = {(r.feeder, r.interval): r for r in reports}
        reported = [
            (report, s, feeder) for s in series for feeder in range(feeders) if (report := by_key.get((feeder, s.interval))) is not None
        ]
        if zoned:
            counted = BalanceCheck("load reports = simulated intervals × feeders", len(reports), len(series) * feeders)
        else:
            counted = BalanceCheck("load reports = simulated intervals", len(reports), len(series))
        if not self.metered_load:
            def modelled_kva(s: IntervalFigures, feeder: int) -> int:
                return s.feeder_apparent_kva[feeder] if zoned else s.transformer_apparent_kva

            matching = sum(1 for r, s, f in reported if (r.capacity_kw, r.demand_kw) == (rating_kva, modelled_kva(s, f)))
            what = (
                "load reports = each feeder's transformer in the model (kVA)" if zoned else "load reports = the model's transformers (kVA)"
            )
            return [counted, BalanceCheck(what, matching, len(series) * feeders)], 0
        complete = matching = 0
        last_arrival = self._last_reading_blocks()
        calendar, w3, latest = self.state.calendar, self.client.w3, self._latest_block()
        gave_up: dict[int, int] = {}
        for report, figures, feeder in reported:
            # The reporter reports once every meter of the feeder has read, or, with readings still
            # out, once the reading delay after the interval's end has passed, from what it has then:
            # every reading was in it when the last came in a block before both that time and the report.
            if figures.interval not in gave_up:
                delay_ends_s = calendar.step_time_s(figures.interval) + self.reading_delay_s
                gave_up[figures.interval] = first_block_at(w3, delay_ends_s, self._day_first_block(), latest)
            made_from_all_before = min(report.block, gave_up[figures.interval])
            if last_arrival.get((feeder, figures.interval), made_from_all_before) >= made_from_all_before:
                continue
            complete += 1
            net_wh = figures.feeder_net_import_wh[feeder] if zoned else figures.import_wh - figures.export_wh
            matching += (report.capacity_kw, report.demand_kw) == (rating_kva, transformer_load_kw(net_wh))
        what = "load reports made once every meter had read = the meters' net import (kW)"
        return [counted, BalanceCheck(what, matching, complete)], len(reported) - complete

    def _last_reading_blocks(self) -> dict[tuple[int, int], int]:
        """By feeder (0 for every meter when the market is not zoned) and simulated interval: the
        block the feeder's last meter's reading of the interval arrived in, for the intervals every
        meter of the feeder read (a reading books its energy in the interval of its timestamp)."""
        state = self.state
        feeder_of_meter = {meter: (state.feeder_of[household] if state.zoned else 0) for household, meter in enumerate(self.meters)}
        meters_of_feeder = Counter(feeder_of_meter.values())
        decoder = EventDecoder(self.client["SmartMeter"], "ReadingAccepted")
        arrivals: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
        for log in state.logs(decoder, [decoder.topic], from_block=self._day_first_block()):
            reading = decoder.decode(log)
            feeder = feeder_of_meter.get(reading["meter"])
            if feeder is None:
                continue
            interval = state.calendar.interval_of(int(reading["timestamp"]))
            arrivals[(feeder, interval)].setdefault(reading["meter"], int(log["blockNumber"], 16))
        return {key: max(blocks.values()) for key, blocks in arrivals.items() if len(blocks) == meters_of_feeder[key[0]]}

    def _checks(self, flows: _Flows, cleared: list[dict[str, Any]]) -> tuple[list[BalanceCheck], list[str], int]:
        """The balances (module docstring), the households whose balances do not add up, and what
        the auction kept of the buyers' payments (fees and rounding)."""
        c = self.client.contracts
        auction, vault = c["EnergyAuction"], c["EnergyVault"]
        last = self._last_registers()
        kept = sum(flows.paid) - sum(flows.proceeds)
        record = self.state.record
        accrued = int(auction.functions.accruedFees().call())
        accrued_in_run = accrued - record.auction_fees_at_start - flows.outside_kept
        auction_cash = int(vault.functions.balancesOf(auction.address).call()[1])
        cash_at_start = record.auction_fees_at_start if record.auction_cash_at_start is None else record.auction_cash_at_start
        reserves = vault.functions.reserves().call()
        held = self.state.sender.read([prepare(c[token], "balanceOf", vault.address) for token in ("EnergyToken", "PaymentToken")])
        minted = sum(flows.minted) + flows.minted_to_vault_wh
        checks = [
            BalanceCheck("export registers on chain = EnergyToken minted (Wh)", sum(flows.export_registers), minted),
            BalanceCheck("export registers on chain = model (Wh)", sum(flows.export_registers), sum(e for _, e in last)),
            BalanceCheck("import registers on chain = model (Wh)", sum(flows.import_registers), sum(i for i, _ in last)),
            BalanceCheck("standing orders placed and not settled", flows.unsettled_slots, 0),
            BalanceCheck("standing settlements that filled more than they placed", flows.overfilled, 0),
            BalanceCheck("bought = sold (Wh)", sum(flows.bought), sum(flows.sold)),
            BalanceCheck("sold = markets' cleared volume (Wh)", sum(flows.sold), sum(int(m["volumeWh"]) for m in cleared)),
            BalanceCheck("energy retired = bought (Wh)", flows.retired_wh, sum(flows.bought)),
            BalanceCheck("paid by buyers - proceeds = fees and rounding accrued in the run", kept, accrued_in_run),
            # Counted from the run's start: orders others left unclaimed before it hold their escrow there.
            BalanceCheck(
                "the auction's vault balance grew by its fees accrued in the run",
                auction_cash - cash_at_start,
                accrued - record.auction_fees_at_start,
            ),
            BalanceCheck("rewards paid from the events' budgets = rewards paid", flows.rewards_from_budgets, sum(flows.rewards)),
            BalanceCheck("DemandResponse's vault balance = its budgets unpaid", flows.dr_in_vault, flows.dr_budgets_held),
            BalanceCheck("vault energy reserve = EnergyToken it holds (Wh)", int(reserves[0]), int(held[0])),
            BalanceCheck("vault payment reserve = PaymentToken it holds", int(reserves[1]), int(held[1])),
        ]
        failing: list[str] = []
        # One JSON-RPC batch for every household's wallet and vault balances.
        wallets = self.state.sender.read(
            [prepare(c[token], "balanceOf", a) for token in ("EnergyToken", "PaymentToken") for a in self.households]
        )
        in_vault = self.state.sender.read([prepare(vault, "balancesOf", a) for a in self.households])
        n = len(self.households)
        f = flows
        start = self._balances_at_start()
        for h in range(n):
            energy_wh, cash = wallets[h] - start[h][0], wallets[n + h] - start[h][1]
            vault_wh, vault_cash = int(in_vault[h][0]) - start[h][2], int(in_vault[h][1]) - start[h][3]
            credited_wh = f.export_registers[h] - f.minted[h]
            if energy_wh != f.minted[h]:
                failing.append(f"household {h}: EnergyToken {energy_wh} != minted to its wallet {f.minted[h]}")
            if vault_wh != credited_wh - f.sold[h]:
                failing.append(f"household {h}: vault energy {vault_wh} != credited {credited_wh} - sold {f.sold[h]}")
            if vault_cash != f.deposited[h] - f.paid[h] + f.proceeds[h] + f.rewards[h]:
                failing.append(
                    f"household {h}: vault payment {vault_cash} != deposited {f.deposited[h]} - paid {f.paid[h]}"
                    f" + proceeds {f.proceeds[h]} + rewards {f.rewards[h]}"
                )
            if cash != f.funded[h] - f.deposited[h]:
                failing.append(f"household {h}: PaymentToken {cash} != faucet {f.funded[h]} - deposited {f.deposited[h]}")
        checks.append(BalanceCheck("households whose balances do not add up", len(failing), 0))
        return checks, failing, kept

    def _figures(self, flows: _Flows, cleared: list[dict[str, Any]], series: list[IntervalFigures], kept: int) -> dict[str, int | float]:
        """The energy and market figures of the summary."""
        baseline_end = self.baseline_end.households
        markets_with_volume = [m for m in cleared if int(m["volumeWh"]) > 0]
        consumed = sum(s.consumption_wh for s in series)
        imported_outside = sum(max(0, s.import_wh - s.export_wh) for s in series)
        traded_wh = sum(flows.sold)
        exported_wh = sum(flows.export_registers) - sum(h.export_register_wh for h in baseline_end)
        not_traded_wh, beyond_import_wh = export_not_traded(series, exported_wh, traded_wh)
        return {
            "households": len(self.households),
            "intervals": len(series),
            "produced_wh": sum(s.pv_wh for s in series),
            "consumed_wh": consumed,
            "exported_wh": exported_wh,
            "imported_wh": sum(flows.import_registers) - sum(h.import_register_wh for h in baseline_end),
            "traded_p2p_wh": traded_wh,
            "exported_not_traded_wh": not_traded_wh,
            "exported_beyond_neighbours_import_wh": beyond_import_wh,
            "retired_wh": flows.retired_wh,
            "self_sufficiency": round(1 - imported_outside / consumed, 4) if consumed else 0.0,
            "p2p_share_of_consumption": round(traded_wh / consumed, 4) if consumed else 0.0,
            "markets_cleared": len(cleared),
            "markets_with_trades": len(markets_with_volume),
            "paid_by_buyers": sum(flows.paid),
            "proceeds_to_sellers": sum(flows.proceeds),
            "fees_and_rounding": kept,
            "peak_transformer_loading_per_mille": max((s.transformer_loading_per_mille for s in series), default=0),
            "peak_transformer_loading_without_dr_per_mille": max((s.transformer_loading_without_dr_per_mille for s in series), default=0),
            "battery_grid_charge_wh": sum(s.battery_grid_charge_wh for s in series),
        }

    def _last_registers(self) -> list[tuple[int, int]]:
        """The model's import and export registers after the last simulated interval."""
        return [(h.import_register_wh, h.export_register_wh) for h in self.last.households]

    def _gas_by_actor(self) -> tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, int]]:
        """Gas used on chain and transactions sent since the run began, by actor (every block's
        receipts), and the same from the simulated day's first block on."""
        a = self.state.actors
        actor_of = {a.operator.address.lower(): "operator", a.gateway.address.lower(): "gateway"}
        # A zoned community's other feeders each have an operator of their own, reporting its transformer.
        actor_of |= {operator.address.lower(): "operator" for operator in a.feeder_operators}
        actor_of |= {a.oracle.address.lower(): "oracles", a.keeper.address.lower(): "keeper"}
        actor_of |= {h.lower(): "households" for h in self.households}
        latest = self._latest_block()
        first = self.state.record.anchor_block + 1
        day_first = self._day_first_block()
        gas: dict[str, int] = defaultdict(int)
        count: dict[str, int] = defaultdict(int)
        day_gas: dict[str, int] = defaultdict(int)
        day_count: dict[str, int] = defaultdict(int)
        numbers = range(first, latest + 1)
        sender = self.state.sender
        blocks = sender.rpc_batch([("eth_getBlockByNumber", [hex(b), False]) for b in numbers], chunk=BLOCKS_PER_REQUEST)
        hashes = [(number, h) for number, block in zip(numbers, blocks, strict=True) for h in block["transactions"]]
        # One block of a large community's baseline days holds thousands of gateway batches with a hundred
        # logs each: its receipts in one answer (eth_getBlockReceipts) outlast any timeout, so receipts are
        # asked a hundred transactions a request.
        receipts = sender.rpc_batch([("eth_getTransactionReceipt", [h]) for _, h in hashes], chunk=RECEIPTS_PER_REQUEST)
        for (number, _), receipt in zip(hashes, receipts, strict=True):
            actor = actor_of.get(str(receipt["from"]).lower())
            if actor is not None:
                used = int(receipt["gasUsed"], 16)
                gas[actor] += used
                count[actor] += 1
                if number >= day_first:
                    day_gas[actor] += used
                    day_count[actor] += 1
        order = ("households", "gateway", "operator", "oracles", "keeper")

        def by_actor(table: dict[str, int]) -> dict[str, int]:
            return {k: table[k] for k in order}

        return by_actor(gas), by_actor(count), by_actor(day_gas), by_actor(day_count)

    def _latest_block(self) -> int:
        """The chain's latest block, read once for the audit."""
        if self._latest is None:
            self._latest = int(self.state.w3.eth.block_number)
        return self._latest

    def _day_first_block(self) -> int:
        """The simulated day's first block (the first stamped at its first interval's end or later),
        found once for the audit."""
        if self._day_first is None:
            first, latest = self.state.record.anchor_block + 1, self._latest_block()
            self._day_first = first_block_at(self.state.w3, self.state.calendar.step_time_s(0), first, latest)
        return self._day_first


def prices_paid(
    fills: Sequence[dict[str, Any]], bus_prices: dict[int, int], zone_prices: dict[tuple[int, int], int], zone_of_meter: dict[str, int]
) -> tuple[int, int]:
    """(the average, the peak) price per kWh the run's households bought at: each settled fill's
    bought Wh at its zone's price (ZoneCleared) in a market cleared across zones, else at the
    market's price (MarketCleared). A zoned market's own price is the bus's, which nobody pays where
    the zones' prices are apart, and the middle of the price grid when every link is shut."""
    money = bought_wh = peak = 0
    for fill in fills:
        wh = int(fill["boughtWh"])
        if wh == 0:
            continue
        period = int(fill["period"])
        price = zone_prices.get((period, zone_of_meter[fill["meter"]]), bus_prices[period])
        money += wh * price
        bought_wh += wh
        peak = max(peak, price)
    return (round(money / bought_wh) if bought_wh else 0), peak


def zone_price_spreads(zone_prices: dict[tuple[int, int], int], traded: set[tuple[int, int]]) -> list[int]:
    """Per market cleared across zones, the spread between the prices of the zones that traded in it
    (`traded`: (period, zone)). A zone that traded nothing is left out whatever its price; tick 0, the
    bottom of the price grid, is a price a zone trades at like any other."""
    by_period: dict[int, list[int]] = defaultdict(list)
    for (period, zone), price in zone_prices.items():
        if (period, zone) in traded:
            by_period[period].append(price)
    return [max(prices) - min(prices) for prices in by_period.values()]


def export_not_traded(series: Sequence[IntervalFigures], exported_wh: int, traded_wh: int) -> tuple[int, int]:
    """(the export not sold peer to peer, the part of it exported beyond what the neighbours drew in
    its interval), Wh. A household's standing bid is its import, so in an interval the community
    exports more than its households import, no neighbour bids for the rest; the remainder of what
    was not sold met neighbours drawing energy whose bids did not match it (a price limit, a full
    link between feeders, rounding)."""
    not_traded_wh = max(0, exported_wh - traded_wh)
    beyond_import_wh = sum(max(0, s.export_wh - s.import_wh) for s in series)
    return not_traded_wh, min(not_traded_wh, beyond_import_wh)


def _with_market(figures: IntervalFigures, market: dict[str, Any] | None) -> IntervalFigures:
    if market is None or int(market["volumeWh"]) == 0:
        return figures
    return IntervalFigures(
        **{**asdict(figures), "traded_wh": int(market["volumeWh"]), "clearing_price_per_kwh": int(market["clearingPricePerKWh"])}
    )


__all__ = [
    "BalanceCheck",
    "IntervalFigures",
    "SimulationImbalance",
    "SimulationResult",
    "audit",
    "export_not_traded",
    "prices_paid",
    "zone_price_spreads",
]
