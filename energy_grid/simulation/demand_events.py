"""The demand-response step: events planned from a forecast of the transformer loading, then
started, verified and paid on chain.

A utility announces an event ahead, so the run plans its events before the simulated day, from the
baseline days alone (a resumed run plans the same ones). During the day this object starts each
event in the interval before its window, has the keeper verify the registered households' meters
once the window has ended, and pays their rewards. It keeps the planned events and the loading
that starts one (the trigger), both set here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from energy_grid.community.model import IntervalResult
from energy_grid.contracts.client import GridError
from energy_grid.contracts.demand import MAX_VERIFICATION_BATCH
from energy_grid.contracts.sender import prepare
from energy_grid.domain.demand_response import centred_window, day_loading_forecast
from energy_grid.domain.units import INTERVALS_PER_DAY
from energy_grid.simulation.run_state import (
    GAS_APPROVE,
    GAS_DISTRIBUTE,
    GAS_START_EVENT,
    GAS_VERIFY,
    RunState,
)

EVENTS_PER_READ = 50  # getEvent calls a JSON-RPC batch, newest first
# Fields of DemandResponse.DemandResponseEvent, as a batch read decodes it (a tuple in the struct's order).
EVENT_GRID_OPERATOR = 1
EVENT_START_TIME = 4

@dataclass
class DemandEvent:
    """A demand-response event the driver planned from its forecast (pure model: a resumed run plans the same)."""

    decided_at: int  # the interval in whose step it is started on chain: the one before its window
    first_interval: int
    last_interval: int
    # Its id on chain in each feeder's region, once found (one event per region: a zoned run's
    # feeders each have an operator of their own; otherwise every meter is in feeder 0's region).
    event_ids: dict[int, int] = field(default_factory=dict)
    # The feeders whose registered households it asks to cut; None: every feeder's (a run starts
    # its planned event in each feeder's region).
    feeders: frozenset[int] | None = None

    def covers(self, feeder: int, interval: int) -> bool:
        """Whether the event asks `feeder`'s registered households to cut in `interval`."""
        in_window = self.first_interval <= interval <= self.last_interval
        return in_window and (self.feeders is None or feeder in self.feeders)


def consumption_factors(
    events: Sequence[DemandEvent], members_by_feeder: Mapping[int, Sequence[int]], factor: float, interval: int
) -> dict[int, float]:
    """What each registered household consumes of its usual load in `interval`: `factor` while an
    event of its feeder's region covers the interval, nothing to change (no entry) otherwise."""
    return {
        member: factor
        for feeder, members in members_by_feeder.items()
        if any(event.covers(feeder, interval) for event in events)
        for member in members
    }


def feeders_by_region(feeders: Iterable[int], region_of: Callable[[int], int]) -> dict[int, frozenset[int]]:
    """The feeders in each grid region: one each when the market is zoned, all of them in the first
    feeder's region otherwise. An event started in a region asks all of its feeders' households to cut."""
    grouped: dict[int, set[int]] = {}
    for feeder in feeders:
        grouped.setdefault(region_of(feeder), set()).add(feeder)
    return {region: frozenset(members) for region, members in grouped.items()}


def forecast_loading_per_mille(baseline: Sequence[IntervalResult]) -> list[int]:
    """Each interval of the day's forecast transformer loading: the highest the baseline days (whole
    days, from midnight) saw at that time of day: domain.demand_response.day_loading_forecast, whose
    cautious rule applies, as a simulated run commits no forecast on chain."""
    days = len(baseline) // INTERVALS_PER_DAY
    loading = [r.grid.transformer_loading_per_mille for r in baseline[: days * INTERVALS_PER_DAY]]
    whole_days = [loading[day * INTERVALS_PER_DAY : (day + 1) * INTERVALS_PER_DAY] for day in range(days)]
    return day_loading_forecast(whole_days).loading_per_mille


class DemandResponse:
    """Plans the run's events, then starts, verifies and pays each on chain in its interval."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        high_percent = int(state.client["GridOperations"].functions.HIGH_LOAD_MIN_PERCENT().call())
        # The transformer loading that calls an event: GridOperations' HIGH threshold unless the
        # configuration names its own.
        self.trigger_per_mille = state.config.dr_trigger_per_mille or high_percent * 10
        self.events: list[DemandEvent] = []  # filled by plan(), before the simulated day
        # The registered households by the feeder whose region their meters are in (all in feeder
        # 0's region unless the run is zoned): each region's operator runs its own event.
        self.members_by_feeder: dict[int, list[int]] = {}
        for i in state.members:
            self.members_by_feeder.setdefault(state.feeder_of[i] if state.zoned else 0, []).append(i)

    def plan(self, baseline: Sequence[IntervalResult]) -> None:
        """Plans the events ahead, as a utility announces them: in each simulated day, where the
        forecast loading (forecast_loading_per_mille) peaks at the trigger or above, an event whose
        window is centred on the peak (within the run, started at least an interval ahead)."""
        config = self.state.config
        if not self.state.members:
            return
        forecast = forecast_loading_per_mille(baseline)
        length, count = config.dr_intervals, config.interval_count
        for day_start in range(0, count, INTERVALS_PER_DAY):
            span = min(INTERVALS_PER_DAY, count - day_start)  # the day's intervals in the run
            window = centred_window(forecast, span, length, self.trigger_per_mille)
            if window is None:
                continue
            first = day_start + window[0]
            self.events.append(DemandEvent(first - 1, first, first + length - 1))

    def consumption_factors(self, interval: int) -> dict[int, float]:
        """What each registered household consumes of its usual load in `interval` (see
        consumption_factors)."""
        return consumption_factors(self.events, self.members_by_feeder, self.state.config.dr_consumption_factor, interval)

    # ---- On chain, interval by interval ----

    def start_due(self, interval: int, check: bool) -> None:
        """The operators start the events decided in `interval`; with `check`, only those the chain
        does not show started."""
        for event in self.events:
            if event.decided_at != interval:
                continue
            for feeder in self.members_by_feeder:
                if not check or self._find_event(event, feeder) == 0:
                    self._start_event(feeder)

    def verify_ended(self, interval: int) -> None:
        """The keeper verifies the events whose window ended with `interval`."""
        for event in self.events:
            if event.last_interval == interval:
                for feeder, members in self.members_by_feeder.items():
                    self._verify_event(event, feeder, members)

    def pay_ended(self, interval: int) -> None:
        """The keeper pays the verified rewards of the events whose window ended with `interval`."""
        for event in self.events:
            if event.last_interval == interval:
                for feeder in self.members_by_feeder:
                    self._distribute(event, feeder)

    def _start_event(self, feeder: int) -> None:
        state = self.state
        config, operator, dr = state.config, state.feeder_operator(feeder), state.dr
        target_kw = config.dr_target_kw_per_member * len(self.members_by_feeder[feeder])
        budget = target_kw * config.dr_reward_per_kw
        approve = prepare(state.client["PaymentToken"], "approve", dr.address, budget)
        state.sender.send(operator, approve, gas=GAS_APPROVE, actor="operator")
        # Each operator runs one region in GridManagement, where its feeder's meters are.
        call = prepare(
            dr,
            "startEvent",
            state.feeder_region(feeder),
            target_kw,
            config.dr_reward_per_kw,
            config.dr_duration_seconds,
            signature="startEvent(uint32,uint64,uint128,uint256)",
        )
        state.sender.send(operator, call, gas=GAS_START_EVENT, actor="operator")

    def _find_event(self, event: DemandEvent, feeder: int) -> int:
        """The id of `feeder`'s operator's event whose window opens at the event's first interval,
        or 0; remembered in the event once found. The chain's events are read newest first, a
        batch at a time, down to the first that opens before the window, and every feeder's event
        found on the way is remembered with it."""
        if feeder in event.event_ids:
            return event.event_ids[feeder]
        state = self.state
        dr = state.dr
        start_s = state.calendar.interval_start_s(event.first_interval)
        feeder_of_operator = {state.feeder_operator(f).address.lower(): f for f in self.members_by_feeder}
        newest = int(dr.functions.eventCount().call())
        for top in range(newest, 0, -EVENTS_PER_READ):
            ids = range(top, max(0, top - EVENTS_PER_READ), -1)
            for event_id, on_chain in zip(ids, state.sender.read([prepare(dr, "getEvent", i) for i in ids]), strict=True):
                opens_s, operator = int(on_chain[EVENT_START_TIME]), str(on_chain[EVENT_GRID_OPERATOR]).lower()
                if opens_s < start_s:
                    return event.event_ids.get(feeder, 0)
                if opens_s == start_s and operator in feeder_of_operator:
                    event.event_ids.setdefault(feeder_of_operator[operator], event_id)
        return event.event_ids.get(feeder, 0)

    def _verify_event(self, event: DemandEvent, feeder: int, members: list[int]) -> None:
        """The keeper verifies the registered households of `feeder` with their meters' own figures,
        in batches; one whose reduction is below the contract's minimum is skipped, and one verified
        already (a resumed run) is left as it is."""
        state = self.state
        event_id = self._find_event(event, feeder)
        if event_id == 0:
            raise GridError(f"the demand-response event of intervals {event.first_interval}..{event.last_interval} is not on chain")
        dr, sender = state.dr, state.sender
        minimum_w = int(dr.functions.minimumReductionW().call())
        consumers = [state.actors.households[i].address for i in members]
        participations = sender.read([prepare(dr, "getParticipation", event_id, c) for c in consumers])
        previews = sender.read([prepare(dr, "previewReduction", event_id, c) for c in consumers])
        reduced = []
        for consumer, participation, figures in zip(consumers, participations, previews, strict=True):
            if int(participation[0]) != 0:  # participationId
                continue
            baseline_w, actual_w = int(figures[0]), int(figures[1])
            if baseline_w < actual_w or baseline_w - actual_w < minimum_w:
                continue
            reduced.append(consumer)
        # Neighbouring meters share their load-profile words, so one batch reads each word once.
        for start in range(0, len(reduced), MAX_VERIFICATION_BATCH):
            batch = reduced[start : start + MAX_VERIFICATION_BATCH]
            call = prepare(dr, "verifyReductions", event_id, batch)
            sender.send(state.actors.keeper, call, gas=GAS_VERIFY * len(batch), actor="keeper")

    def _distribute(self, event: DemandEvent, feeder: int) -> None:
        """The keeper pays the event's verified participants in DemandResponse's bounded batches."""
        state = self.state
        event_id = self._find_event(event, feeder)
        dr = state.dr
        budget = dr.functions.getEventBudget(event_id).call()
        remaining = int(budget.verifiedParticipants) - int(budget.distributionCursor)
        batch = int(dr.functions.MAX_DISTRIBUTION_BATCH().call())
        for _ in range(-(-remaining // batch) if remaining > 0 else 0):
            call = prepare(dr, "distributeRewards", event_id)
            state.sender.send(state.actors.keeper, call, gas=GAS_DISTRIBUTE, actor="keeper")
