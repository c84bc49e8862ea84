"""Demand response: planning events from a forecast of the transformer loading, then starting,
verifying and paying them on chain.
"""

from __future__ import annotations

from collections.abc import Sequence

from energy_grid.client import GridError
from energy_grid.sender import prepare
from energy_grid.simulation.model import IntervalResult
from energy_grid.simulation.run_state import (
    GAS_APPROVE,
    GAS_DISTRIBUTE,
    GAS_START_EVENT,
    GAS_VERIFY,
    REGION_ID,
    DemandEvent,
    RunState,
)
from energy_grid.units import INTERVALS_PER_DAY


def forecast_loading_per_mille(baseline: Sequence[IntervalResult]) -> list[int]:
    """Each interval of the day's forecast transformer loading: the highest the baseline days (whole
    days, from midnight) saw at that time of day. A planner's cautious forecast: the mean of five
    days smooths away the evening peak (the cars come home at a different time each day)."""
    days = len(baseline) // INTERVALS_PER_DAY
    if days == 0:
        raise ValueError("a forecast needs at least one whole baseline day")
    return [
        max(baseline[day * INTERVALS_PER_DAY + k].grid.transformer_loading_per_mille for day in range(days))
        for k in range(INTERVALS_PER_DAY)
    ]


class DemandResponseSteps(RunState):
    """Demand response: planning events from a forecast of the transformer loading, then starting,
    verifying and paying them on chain."""

    def _consumption_factors(self, interval: int) -> dict[int, float]:
        if any(e.first_interval <= interval <= e.last_interval for e in self.events):
            return {i: self.config.dr_consumption_factor for i in self.members}
        return {}

    def _plan_demand_response(self, baseline: Sequence[IntervalResult]) -> None:
        """Plans the events ahead, as a utility announces them: in each simulated day, where the
        forecast loading (forecast_loading_per_mille) peaks at the trigger or above, an event whose
        window is centred on the peak (within the run, started at least an interval ahead)."""
        if not self.members:
            return
        forecast = forecast_loading_per_mille(baseline)
        length, count = self.config.dr_intervals, self.config.interval_count
        for day_start in range(0, count, INTERVALS_PER_DAY):
            span = min(INTERVALS_PER_DAY, count - day_start)  # the day's intervals in the run
            if span <= length:  # no window fits after the day's first interval
                continue
            peak = max(range(1, span), key=lambda k: forecast[k])
            if forecast[peak] < self.dr_trigger_per_mille:
                continue
            first = day_start + min(max(1, peak - length // 2), span - length)
            self.events.append(DemandEvent(first - 1, first, first + length - 1))

    # ------------------------------------------------------------------ on chain

    def _start_event(self, event: DemandEvent) -> None:
        a, c = self.actors, self.client.contracts
        target_kw = self.config.dr_target_kw_per_member * len(self.members)
        budget = target_kw * self.config.dr_reward_per_kw
        self.sender.send(a.operator, prepare(c["PaymentToken"], "approve", self.dr.address, budget), gas=GAS_APPROVE, actor="operator")
        # The operator runs REGION_ID in GridManagement, where every household's meter is.
        call = prepare(
            self.dr,
            "startEvent",
            REGION_ID,
            target_kw,
            self.config.dr_reward_per_kw,
            self.config.dr_duration_seconds,
            signature="startEvent(uint32,uint64,uint128,uint256)",
        )
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
