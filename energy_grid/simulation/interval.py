"""The interval step: one simulated interval on chain, in three flushes, and the run's close.

All of an interval's blocks carry its end time. The flushes follow each other because a
transaction that needs another's effect must come in a later block:
1. report: the meters' readings (which place the households' standing orders), at the end of each
   hour the oracles' grid state and weather (ORACLE_REPORT_SECONDS), the operator's grid status and
   the transformers' load reports (feeders.py); the keeper clears the previous interval's market,
   and the operator starts a demand-response event due to open next;
2. trade: the keeper verifies an event whose window ended and, at the end of each day, issues
   carbon credits;
3. settle: the keeper pays the rewards of an event verified in the flush before.

The auction and demand response are step objects of their own (auction_steps.py, demand_events.py);
this object calls them at their place in the interval.
"""

from __future__ import annotations

from energy_grid.community.model import IntervalResult
from energy_grid.contracts.carbon import MAX_ISSUE_BATCH
from energy_grid.contracts.sender import prepare
from energy_grid.domain.units import INTERVALS_PER_DAY, ends_oracle_report_period
from energy_grid.simulation.auction_steps import Auction
from energy_grid.simulation.demand_events import DemandResponse
from energy_grid.simulation.feeders import Feeders
from energy_grid.simulation.gateway import MeterGateway
from energy_grid.simulation.run_state import (
    GAS_GRID_STATUS,
    GAS_ISSUE_CREDITS,
    GAS_ORACLE,
    REGION_ID,
    RunState,
)


class Interval:
    """Sends one simulated interval's transactions, and closes the run after the last one."""

    def __init__(
        self, state: RunState, gateway: MeterGateway, auction: Auction, demand_response: DemandResponse, feeders: Feeders
    ) -> None:
        self.state = state
        self.gateway = gateway
        self.auction = auction
        self.demand_response = demand_response
        self.feeders = feeders

    def step(self, i: int, result: IntervalResult, check: bool) -> None:
        """Interval `i` of the simulated days, from the model's `result`. With `check` (the first
        intervals of a resumed run), each transaction is sent only when the chain lacks its effect."""
        at = self.state.calendar.step_time_s(i)
        self._report(i, result, at, check)
        self.state.flush_at(at)
        self._trade(i)
        self.state.flush_at(at)
        self.demand_response.pay_ended(i)
        self.state.flush_at(at)

    def close(self, total: int) -> None:
        """After the last interval: its market clears once its reading deadline has passed (the end of
        the interval after it), then the keeper settles what the last readings left open."""
        state = self.state
        at = state.calendar.step_time_s(total)
        # Checked even on a fresh close: a run killed after its close is resumed from its last interval.
        self.auction.clear(state.calendar.period_of(total - 1), check=True)
        state.flush_at(at)
        self.auction.settle_all()
        state.flush_at(at)

    # ---- The report flush ----

    def _report(self, i: int, result: IntervalResult, at: int, check: bool) -> None:
        state = self.state
        a, c, sender = state.actors, state.client.contracts, state.sender
        reading_s = state.calendar.reading_time_s(i)
        latest = self.gateway.latest_reading_times() if check else [0] * len(a.meters)
        self.gateway.submit([self.gateway.reading(reading_s, hh) for hh in result.households if latest[hh.household_id] < reading_s])
        grid, weather = result.grid, result.weather
        voltage = grid.voltage_min_per_mille
        # The oracles hear the state of an hour's last interval, at the hour's end, as the live reporter reports it.
        oracles_due = ends_oracle_report_period(state.calendar.period_of(i))
        if oracles_due and (not check or int(c["GridOracle"].functions.getGridData(REGION_ID).call().updatedAt) < at):
            call = prepare(c["GridOracle"], "submitGridData", REGION_ID, grid.frequency_millihz, voltage, grid.generation_w, grid.load_w)
            sender.send(a.oracle, call, gas=GAS_ORACLE, actor="oracles")
        if oracles_due and (not check or int(c["WeatherOracle"].functions.getWeather(REGION_ID).call().updatedAt) < at):
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
        self.feeders.report_loads(result, at, check)
        if i >= 1:
            # The previous interval's readings are all in: its market's clearing time is now.
            self.auction.clear(state.calendar.period_of(i - 1), check)
        self.demand_response.start_due(i, check)

    # ---- The trade flush and carbon credits ----

    def _trade(self, i: int) -> None:
        """The households trade without a transaction (their readings placed their standing orders);
        the keeper verifies an event that ended and, at the end of each day, issues carbon credits."""
        self.demand_response.verify_ended(i)
        if i == 0 and self.state.zoned:
            self.feeders.sync_ratings()  # the feeders' first load reports are in
        if (i + 1) % INTERVALS_PER_DAY == 0 or i + 1 == self.state.config.interval_count:
            self._issue_credits()

    def _issue_credits(self) -> None:
        """The keeper issues the credits of every clean meter with production counted since its last
        issue, up to MAX_ISSUE_BATCH meters a transaction."""
        state = self.state
        carbon = state.client["CarbonCredits"]
        meters = [state.actors.meters[i] for i in state.pv_households]
        pending = state.sender.read([prepare(carbon, "pendingWh", m) for m in meters])
        due = [meter for meter, pending_wh in zip(meters, pending, strict=True) if pending_wh > 0]
        for start in range(0, len(due), MAX_ISSUE_BATCH):
            batch = due[start : start + MAX_ISSUE_BATCH]
            call = prepare(carbon, "issueCarbonCreditsBatch", batch)
            state.sender.send(state.actors.keeper, call, gas=GAS_ISSUE_CREDITS * len(batch), actor="keeper")
