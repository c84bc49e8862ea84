"""One simulated interval on chain, in three flushes: meters, oracles and the operator report (the
readings place the households' standing orders) and the keeper clears the previous interval's
market, the keeper verifies and credits, rewards are paid; then the run's close and its carbon
credits.
"""

from __future__ import annotations

from typing import Any

from energy_grid.pricing import dynamic_price
from energy_grid.sender import prepare
from energy_grid.simulation.auction_steps import AuctionSteps
from energy_grid.simulation.baseline import BaselineSteps
from energy_grid.simulation.demand_events import DemandResponseSteps
from energy_grid.simulation.ledger import IntervalFigures
from energy_grid.simulation.model import IntervalResult
from energy_grid.simulation.run_state import (
    GAS_GRID_STATUS,
    GAS_ISSUE_CREDITS,
    GAS_LOAD_REPORT,
    GAS_ORACLE,
    INTERVALS_PER_HOUR,
    REGION_ID,
    reading_args,
)


class IntervalSteps(BaselineSteps, AuctionSteps, DemandResponseSteps):
    """One simulated interval on chain, in three flushes (see the module docstring)."""

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
            (a.meters[hh.household_id], reading_args(reading_s, hh.import_register_wh, hh.export_register_wh, hh.voltage_per_mille))
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
        if not check or self._load_reported_at() < at:
            # The transformers' apparent power against their rating, so that the region's load
            # percentage is the feeders' loading (with one feeder, the transformer's own).
            call = prepare(c["GridOperations"], "reportLoad", REGION_ID, grid.transformer_rating_kva, grid.transformer_apparent_kva)
            sender.send(a.operator, call, gas=GAS_LOAD_REPORT, actor="operator")
        if i >= 1:
            # The previous interval's readings are all in: its market's clearing time is now.
            self._clear(self.calendar.period_of(i - 1), check)
        for event in self.events:
            if event.decided_at == i and (not check or self._find_event(event) == 0):
                self._start_event(event)

    def _load_reported_at(self) -> int:
        """When the region's latest load report was made (0 before its first)."""
        operations = self.client.contracts["GridOperations"].functions
        if int(operations.loadReportCount(REGION_ID).call()) == 0:
            return 0
        return int(operations.getCurrentLoad(REGION_ID).call().reportedAt)

    def _phase_trade(self, i: int, result: IntervalResult, check: bool) -> None:
        """The households trade without a transaction (their readings placed their standing orders);
        the keeper verifies an event that ended and, each full hour, issues carbon credits."""
        for event in self.events:
            if event.last_interval == i:
                self._verify_event(event)
        if (i + 1) % INTERVALS_PER_HOUR == 0 or i + 1 == self.config.interval_count:
            self._issue_credits()

    def _phase_settle(self, i: int, receipts: list[dict[str, Any]], check: bool) -> None:
        for event in self.events:
            if event.last_interval == i:
                self._distribute(event)

    def _close(self, total: int) -> None:
        """After the last interval: its market clears once its reading deadline has passed (the end of
        the interval after it), then the keeper settles what the last readings left open."""
        at = self.calendar.step_time_s(total)
        # Checked even on a fresh close: a run killed after its close is resumed from its last interval.
        self._clear(self.calendar.period_of(total - 1), check=True)
        self.sender.flush(max(at, self._now()))
        self._settle_all()
        self.sender.flush(max(at, self._now()))

    # ------------------------------------------------------------------ carbon credits

    def _issue_credits(self) -> None:
        carbon = self.client["CarbonCredits"]
        meters = [self.actors.meters[i] for i in self.pv_households]
        for meter, pending_wh in zip(meters, self.sender.read([prepare(carbon, "pendingWh", m) for m in meters]), strict=True):
            if pending_wh > 0:
                self.sender.send(self.actors.keeper, prepare(carbon, "issueCarbonCredits", meter), gas=GAS_ISSUE_CREDITS, actor="keeper")


    # ------------------------------------------------------------------ figures

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
            transformer_loading_without_dr_per_mille=(
                grid.transformer_loading_per_mille if self.loading_without_dr is None else self.loading_without_dr[i]
            ),
            transformer_apparent_kva=grid.transformer_apparent_kva,
            voltage_min_per_mille=grid.voltage_min_per_mille,
            reference_price_per_kwh=dynamic_price(self.base_price_per_kwh, grid.load_w, grid.transformer_rating_va),
            demand_response=bool(self._consumption_factors(i)),
        )
