"""The feeders as market zones: each feeder's region, its operator, its zone, its link limits and
its load reports.

A community larger than one transformer serves is several feeders (grid.py). With
`SimulationConfig.zonal_limits` each feeder is a grid region of its own (REGION_ID + its index), run
by an operator of its own (the first feeder's by the run's operator), and a zone of the interval
market (MarketZones): every household's meter is registered in its feeder's region, so its
standing orders trade in that zone. Energy bought across feeders leaves through one transformer and
enters through another, so each feeder's operator limits what the market may move through its own.

The operators' rule, set day-ahead from the baseline days: in each interval a feeder's link may
carry, in either direction, the headroom its transformer's forecast loading leaves (rating × (1 −
forecast loading)), rounded down to 5 kW steps (so that whole runs of intervals share one
transaction): domain.link_limits.headroom_kw, which flexible load forecasts its zone's tariff with
too. The forecast is the highest loading the baseline days saw at that time of day (the cautious
forecast demand response plans with). The limits are set before the day, in runs of equal limits,
so that each market clears with limits in force at its gate: what lies within the market's lead time
before the baseline days are uploaded (the first intervals among it), the rest once the chain stands
at the day's start.

Each interval the run's operator reports every feeder's transformer load in one transaction
(GridOperations.reportLoads, kVA taken as kW): it holds LOAD_REPORTER_ROLE, as a grid's head-end
system that reads every transformer would. After the first report the keeper has each zone's link
rated from it (MarketZones.syncRating), which caps any later limit.

Each action checks the chain first, so a resumed run sends only what is missing.
"""

from __future__ import annotations

from collections.abc import Sequence

from web3.exceptions import ContractCustomError

from energy_grid.community.model import IntervalResult
from energy_grid.contracts.client import GridError
from energy_grid.contracts.sender import prepare
from energy_grid.domain.demand_response import day_loading_forecast
from energy_grid.domain.link_limits import headroom_kw, limit_runs
from energy_grid.domain.units import INTERVALS_PER_DAY
from energy_grid.simulation.run_state import GAS_LOAD_REPORT, GAS_REGISTER, GAS_ROLE, HOUSEHOLD_ETH, MIN_ETH, RunState

GAS_LINK_LIMITS = 3_000_000  # setLinkLimits of up to 96 periods: 96 fresh slots
GAS_ZONE = 200_000
FEEDER_OPERATOR_CAPACITY_KW = 100  # registered capacity; the rating the market uses comes from load reports
# Fields of GridOperations.LoadReport, as a batch read decodes it (a tuple in the struct's order).
LOAD_CAPACITY_KW = 1
LOAD_REPORTED_AT = 5


class Feeders:
    """Regions, operators, zones and limits of a zoned run (nothing when unzoned), and every run's
    load reports."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    # ---- Set-up ----

    def register_operators(self) -> None:
        """Each later feeder's operator gets gas money and registers for its region (first flush)."""
        state = self.state
        if not state.zoned:
            return
        grid = state.client["GridManagement"]
        max_zones = int(state.market_zones.functions.MAX_ZONES().call())
        if state.feeders > max_zones:
            raise GridError(
                f"{state.feeders} feeders are more zones than the market's {max_zones}: "
                "give each feeder more households (--households-per-feeder) or run without zonal limits"
            )
        for feeder in range(1, state.feeders):
            operator = state.feeder_operator(feeder)
            if state.w3.eth.get_balance(operator.address) < MIN_ETH:
                state.sender.rpc("anvil_setBalance", [operator.address, hex(HOUSEHOLD_ETH)])
            if not self._registered(operator.address):
                call = prepare(grid, "registerOperator", f"Feeder {feeder}", state.feeder_region(feeder), FEEDER_OPERATOR_CAPACITY_KW)
                state.sender.send(operator, call, gas=GAS_REGISTER, actor="operator")

    def verify_operators_and_add_zones(self) -> None:
        """The admin verifies each later feeder's operator (in GridManagement and as a
        demand-response operator) and makes every feeder's region a zone (second flush)."""
        state = self.state
        if not state.zoned:
            return
        c, admin, sender = state.client.contracts, state.actors.operator, state.sender
        operators = [state.feeder_operator(feeder).address for feeder in range(1, state.feeders)]
        verified = sender.read([prepare(c["GridManagement"], "isVerifiedOperator", operator) for operator in operators])
        dr_operators = sender.read([prepare(state.dr, "isGridOperator", operator) for operator in operators])
        for operator, is_verified, is_dr_operator in zip(operators, verified, dr_operators, strict=True):
            if not is_verified:
                sender.send(admin, prepare(c["GridManagement"], "verifyOperator", operator), gas=GAS_ROLE, actor="operator")
            if not is_dr_operator:
                sender.send(admin, prepare(state.dr, "registerGridOperator", operator), gas=GAS_ROLE, actor="operator")
        zones = state.market_zones
        for feeder, zone in enumerate(self._zone_of_feeder()):
            if zone == 0:
                sender.send(admin, prepare(zones, "addZone", state.feeder_region(feeder)), gas=GAS_ZONE, actor="operator")

    def _regions(self) -> list[int]:
        """Each feeder's grid region, in feeder order."""
        return [self.state.feeder_region(feeder) for feeder in range(self.state.feeders)]

    def _zone_of_feeder(self) -> list[int]:
        """Each feeder's zone in the market (0: its region is no zone yet)."""
        zones = self.state.market_zones
        return [int(zone) for zone in self.state.sender.read([prepare(zones, "zoneOf", region) for region in self._regions()])]

    def sync_meter_zones(self) -> None:
        """Every meter takes its region's zone (after the zones are added and the meters registered)."""
        state = self.state
        if not state.zoned:
            return
        registry = state.meter_registry
        zone_of_feeder = self._zone_of_feeder()
        expected = [zone_of_feeder[feeder] for feeder in state.feeder_of]
        held = state.sender.read([prepare(registry, "meterZone", m) for m in state.actors.meters])
        for meter, zone, on_chain in zip(state.actors.meters, expected, held, strict=True):
            if int(on_chain) != zone:
                state.sender.send(state.actors.keeper, prepare(registry, "syncMeterZone", meter), gas=GAS_ROLE, actor="keeper")

    def _registered(self, operator: str) -> bool:
        try:
            self.state.client["GridManagement"].functions.getOperator(operator).call()
        except ContractCustomError:  # OperatorUnknown
            return False
        return True

    # ---- The operators' link limits, day-ahead ----

    def set_limits(self, baseline: Sequence[IntervalResult]) -> None:
        """Each feeder's operator sets its link's limits for the simulated intervals, in runs of
        equal limits (at most a day's periods a transaction); runs the chain holds already are
        skipped, and so are periods whose gate has closed (a resumed run) and periods further ahead
        than the market takes limits (its lead time): the run sets those once the chain is nearer."""
        state = self.state
        if not state.zoned:
            return
        zones, calendar = state.market_zones, state.calendar
        max_periods = int(zones.functions.MAX_LIMIT_PERIODS().call())
        now_s = int(state.w3.eth.get_block("latest")["timestamp"])
        gate_s = int(zones.functions.gateClosure().call())
        lead_s = int(state.client["EnergyAuction"].functions.MAX_LEAD_TIME().call())
        furthest_period = (now_s + lead_s + gate_s) // int(zones.functions.periodLength().call())
        for feeder, limits in enumerate(link_limits_kw(baseline, state.feeders, state.config.interval_count)):
            region = state.feeder_region(feeder)
            periods = [calendar.period_of(i) for i in range(len(limits))]
            held = state.sender.read([prepare(zones, "linkLimitsKW", region, p) for p in periods])
            wanted: list[int | None] = []  # None: a period to leave as it is
            for i, (period, limit, (import_kw, export_kw)) in enumerate(zip(periods, limits, held, strict=True)):
                in_force = (int(import_kw), int(export_kw)) == (limit, limit)
                takes_limits = calendar.interval_start_s(i) - gate_s > now_s and period <= furthest_period
                wanted.append(limit if takes_limits and not in_force else None)
            for first, count, limit in limit_runs(periods[0], wanted, max_periods):
                call = prepare(zones, "setLinkLimits", region, first, count, limit, limit)
                state.sender.send(state.feeder_operator(feeder), call, gas=GAS_LINK_LIMITS, actor="operator")

    # ---- Each interval ----

    def report_loads(self, result: IntervalResult, at_s: int, check: bool) -> None:
        """The transformers' load (kVA taken as kW), all in one reportLoads of the run's operator: in
        a zoned run each feeder's transformer in its own region; otherwise the feeders' summed rating
        and apparent power for the one region, so that its load percentage is the feeders' loading
        (with one feeder, the transformer's own). With `check`, a report the chain holds already is
        not sent again."""
        state = self.state
        grid = result.grid
        if state.zoned:
            reports = [(f, grid.feeder_rating_kva, grid.feeder_apparent_kva[f]) for f in range(state.feeders)]
        else:
            reports = [(0, grid.transformer_rating_kva, grid.transformer_apparent_kva)]
        operations = state.client["GridOperations"]
        reported_at = self._loads_reported_at([state.feeder_region(feeder) for feeder, _, _ in reports]) if check else None
        loads = [
            (state.feeder_region(feeder), rating_kva, apparent_kva)
            for i, (feeder, rating_kva, apparent_kva) in enumerate(reports)
            if reported_at is None or reported_at[i] < at_s
        ]
        if loads:
            call = prepare(operations, "reportLoads", loads)
            state.sender.send(state.actors.operator, call, gas=GAS_LOAD_REPORT * len(loads), actor="operator")

    def sync_ratings(self) -> None:
        """The keeper rates each zone's link from its latest load report, where the rating differs."""
        state = self.state
        zones, operations = state.market_zones, state.client["GridOperations"]
        period = state.calendar.period_of(0)
        regions = self._regions()
        loads = state.sender.read([prepare(operations, "getCurrentLoad", region) for region in regions])
        ratings = state.sender.read([prepare(zones, "ratingKW", region, period + INTERVALS_PER_DAY) for region in regions])
        for region, load, rating_kw in zip(regions, loads, ratings, strict=True):
            if int(rating_kw) != int(load[LOAD_CAPACITY_KW]):
                state.sender.send(state.actors.keeper, prepare(zones, "syncRating", region), gas=GAS_ZONE, actor="keeper")

    def _loads_reported_at(self, regions: Sequence[int]) -> list[int]:
        """When each region's latest load report was made (0 before its first)."""
        sender, operations = self.state.sender, self.state.client["GridOperations"]
        counts = sender.read([prepare(operations, "loadReportCount", region) for region in regions])
        reported = [region for region, count in zip(regions, counts, strict=True) if int(count) > 0]
        loads = dict(zip(reported, sender.read([prepare(operations, "getCurrentLoad", region) for region in reported]), strict=True))
        return [int(loads[region][LOAD_REPORTED_AT]) if region in loads else 0 for region in regions]


def link_limits_kw(baseline: Sequence[IntervalResult], feeders: int, intervals: int) -> list[list[int]]:
    """Each feeder's link limit (kW, both directions) in each of the first `intervals` simulated
    intervals: its transformer's headroom at the forecast loading, in 5 kW steps (module
    docstring; domain.link_limits.headroom_kw).
    `baseline`: the baseline days' intervals, whole days from midnight."""
    days = len(baseline) // INTERVALS_PER_DAY
    whole = baseline[: days * INTERVALS_PER_DAY]
    rating_kw = whole[0].grid.feeder_rating_kva
    limits = []
    for feeder in range(feeders):
        loading = [r.grid.feeder_loading_per_mille[feeder] for r in whole]
        forecast = day_loading_forecast([loading[d * INTERVALS_PER_DAY : (d + 1) * INTERVALS_PER_DAY] for d in range(days)])
        headroom = headroom_kw(forecast, rating_kw)
        limits.append([headroom[i % INTERVALS_PER_DAY] for i in range(intervals)])
    return limits
