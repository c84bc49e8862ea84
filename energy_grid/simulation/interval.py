"""One simulated interval on chain, in three flushes: meters and oracles report, agents trade and
the keeper works, buyers redeem and rewards are paid; then the run's close and its carbon credits.
"""

from __future__ import annotations

from typing import Any

from energy_grid.pricing import dynamic_price
from energy_grid.sender import prepare
from energy_grid.simulation.agents import limit_price_per_kwh
from energy_grid.simulation.auction_steps import AuctionSteps
from energy_grid.simulation.baseline import BaselineSteps
from energy_grid.simulation.demand_events import DemandResponseSteps
from energy_grid.simulation.ledger import IntervalFigures
from energy_grid.simulation.model import IntervalResult
from energy_grid.simulation.run_state import (
    GAS_CLEAR,
    GAS_GRID_STATUS,
    GAS_ISSUE_CREDITS,
    GAS_ORACLE,
    GAS_ORDER,
    INTERVALS_PER_HOUR,
    ORDER_LEAD_INTERVALS,
    REGION_ID,
    OrderRecord,
    reading_args,
)


class IntervalSteps(BaselineSteps, AuctionSteps, DemandResponseSteps):
    """One simulated interval on chain, in three flushes: meters and oracles report, agents trade and"""

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
                order = OrderRecord(int(record["orderId"]), household, bool(record["isBid"]))
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
            voltage_min_per_mille=grid.voltage_min_per_mille,
            reference_price_per_kwh=dynamic_price(self.base_price_per_kwh, grid.load_w, grid.transformer_rating_va),
            demand_response=bool(self._consumption_factors(i)),
        )
