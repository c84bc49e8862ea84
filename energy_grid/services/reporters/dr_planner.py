"""The operator's demand-response planner: plans each day's event from the meters' history, starts
it on chain at its interval boundary, then verifies the participants' reductions and pays them, as
the simulation's demand-response step does (energy_grid.simulation.demand_events).

Planning. When a local day begins (the deployment's zone, PriceDiscovery.utcOffsetMinutes), the
planner forecasts the day's transformer loading (domain.demand_response.day_loading_forecast). When
the region's operator committed a forecast of the whole day in ForecastLedger (from the day's first
interval), the forecast is its P10 and P90: in each interval the larger magnitude, as mean kW against
the transformers' rating. Otherwise the planner falls back on the region's meters, and logs that it
did: for each interval of the five whole days before (DemandResponse's baseline days), the magnitude
of the meters' net import as mean kW against the rating (region.py), and for each time of day the
highest of the five (the cautious forecast). Where the forecast peaks at the trigger or above
(GridOperations' HIGH threshold unless `trigger_per_mille` is given) the day gets one event of
`duration_s`, centred on the peak (centred_window). The plan depends only on the chain's history,
so a restarted planner plans the same event.

Starting. The event is started in the interval before its window (startEvent opens the window at
the next interval boundary), with a target of `target_kw_per_member` kW per consumer registered in
DemandResponse with a meter of the region, and `reward_per_kw`; the budget is approved first.
Before sending, the planner looks for an event of its own in the region whose window overlaps the
planned one: if there is one, the event was started already. A planner down through the interval
before the window skips that day's event (`missed`): started later, the window would not be the
one planned.

Finishing. For each of its own events whose window has ended, the planner verifies every consumer
of the region not verified yet (previewReduction, then verifyReductions of those with a reduction
in one transaction, which checks each against its meter's figures; should the contract refuse the
batch, verifyReduction of each on its own), once the meter's reading of the window's last interval
is in and until the verification deadline; a consumer whose reduction is below DemandResponse's
minimum is left out (`no_reduction`). It then pays the verified rewards with distributeRewards, each
call paying up to MAX_DISTRIBUTION_BATCH participants, and after the deadline completes the event
(the unreserved budget returns to the operator's vault balance). Every step reads the participation
or the budget first, so nothing is verified or paid twice. At most `max_batch` consumers are verified
and `max_batch` distributions sent a round; the rest follow in the next rounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import DISCARD

from energy_grid.chain.events import EventDecoder
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.demand import MAX_VERIFICATION_BATCH
from energy_grid.domain.demand_response import BASELINE_DAYS, ForecastSource, centred_window, day_loading_forecast
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, INTERVALS_PER_DAY, interval_of
from energy_grid.services.reporters.region import RegionMeters, transformer_rating_kva
from energy_grid.services.reporters.schedule import LOG_CHUNK_BLOCKS, interval_label, interval_start_s
from energy_grid.services.reporters.service import RegionalServices, ReportingService
from energy_grid.services.runtime import ChainHead

KINDS = ("approval", "event", "verification", "distribution")
DEFAULT_DURATION_S = 7_200
DEFAULT_REWARD_PER_KW = 500_000  # PaymentToken base units per kW of verified reduction
DEFAULT_TARGET_KW_PER_MEMBER = 1
DEFAULT_MAX_BATCH = 20
ACTIVE = 0  # IDemandResponse.EventStatus.Active
PENDING = 0  # IDemandResponse.ParticipationStatus.Pending
SECONDS_PER_MINUTE = 60
PERCENT_TO_PER_MILLE = 10


@dataclass(frozen=True)
class PlannedEvent:
    """The day's event as planned: its window's intervals and the forecast peak that called it."""

    first_interval: int
    last_interval: int
    peak_per_mille: int

    @property
    def start_s(self) -> int:
        return interval_start_s(self.first_interval)

    @property
    def end_s(self) -> int:
        return interval_start_s(self.last_interval + 1)


@dataclass(frozen=True)
class DayPlan:
    day_start_s: int
    forecast_peak_per_mille: int
    event: PlannedEvent | None
    forecast_source: ForecastSource  # the forecast committed on chain, or the cautious fallback


class DemandResponsePlanner(ReportingService):
    """Plans, starts, verifies and pays one region's demand-response events, signed by its operator."""

    def __init__(
        self,
        client: GridClient,
        account: LocalAccount,
        *,
        region_id: int,
        rating_kva: int | None = None,
        trigger_per_mille: int | None = None,
        duration_s: int = DEFAULT_DURATION_S,
        reward_per_kw: int = DEFAULT_REWARD_PER_KW,
        target_kw_per_member: int = DEFAULT_TARGET_KW_PER_MEMBER,
        max_batch: int = DEFAULT_MAX_BATCH,
        from_block: int = 0,
        shared: ReportingService | None = None,
    ) -> None:
        super().__init__("dr_planner", client, account, KINDS, shared)
        self.region_id = region_id
        self.rating_kva = rating_kva
        self.duration_s = duration_s
        self.reward_per_kw = reward_per_kw
        self.target_kw_per_member = target_kw_per_member
        self.max_batch = max_batch
        self.meters = RegionMeters(client, region_id, from_block=from_block)
        self.dr = client["DemandResponse"]
        high_percent = int(client["GridOperations"].functions.HIGH_LOAD_MIN_PERCENT().call())
        self.trigger_per_mille = trigger_per_mille or high_percent * PERCENT_TO_PER_MILLE
        self.utc_offset_s = int(client["PriceDiscovery"].functions.utcOffsetMinutes().call()) * SECONDS_PER_MINUTE
        self.plans: dict[int, DayPlan] = {}
        self.members: dict[str, str] = {}  # consumer -> meter, the region's DemandResponse consumers
        self._consumers_from = from_block
        self._consumer_registered = EventDecoder(self.dr, "ConsumerRegistered")
        self._next_event_id = 1  # events before it are finished or not this planner's
        self._settled: set[tuple[int, str]] = set()  # (event, consumer) verified, rejected or without a reduction
        self._missed_days: set[int] = set()

    # -------------------------------------------------------------------- a round

    def run_round(self, head: ChainHead) -> None:
        now_s = head.timestamp_s
        self.meters.refresh()
        self._refresh_members()
        plan = self.plan_day(self.day_start_s(now_s))
        if plan.event is not None:
            self._start_if_due(plan, now_s)
        self._finish_ended(now_s)

    def day_start_s(self, timestamp_s: int) -> int:
        """The local midnight at or before `timestamp_s`."""
        return (timestamp_s + self.utc_offset_s) // DAY_SECONDS * DAY_SECONDS - self.utc_offset_s

    # -------------------------------------------------------------------- planning

    def plan_day(self, day_start_s: int) -> DayPlan:
        """The day's plan from the five whole days before it (kept once made)."""
        if day_start_s in self.plans:
            return self.plans[day_start_s]
        rating_kva = transformer_rating_kva(self.client, self.region_id, self.rating_kva)
        first_interval = interval_of(day_start_s)
        days = self.meters.baseline_loading_per_mille(first_interval, rating_kva)
        day_forecast = day_loading_forecast(days, self._committed_wh(first_interval), rating_kva)
        if day_forecast.source == "cautious":
            self.log.info(
                "no forecast of region %d's day from %s committed in ForecastLedger: falling back on the highest "
                "loading of the %d days before at each time of day",
                self.region_id, interval_label(first_interval), BASELINE_DAYS,
            )
        forecast = day_forecast.loading_per_mille
        length = -(-self.duration_s // INTERVAL_SECONDS)
        window = centred_window(forecast, INTERVALS_PER_DAY, length, self.trigger_per_mille)
        peak = max(forecast)
        event = None
        if window is not None:
            first, at = window
            event = PlannedEvent(first_interval + first, first_interval + first + length - 1, forecast[at])
            self.log.info(
                "planned the day from %s (%s forecast): an event in %s..%s, forecast peak %d ‰ of %d kVA at or above the trigger %d ‰",
                interval_label(first_interval), day_forecast.source, interval_label(event.first_interval),
                interval_label(event.last_interval), event.peak_per_mille, rating_kva, self.trigger_per_mille,
            )
        else:
            self.log.info(
                "planned the day from %s (%s forecast): no event, forecast peak %d ‰ of %d kVA below the trigger %d ‰",
                interval_label(first_interval), day_forecast.source, peak, rating_kva, self.trigger_per_mille,
            )
        plan = DayPlan(day_start_s, peak, event, day_forecast.source)
        self.plans[day_start_s] = plan
        return plan

    def _committed_wh(self, first_interval: int) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """P10 and P90 of the region's forecast committed from `first_interval`, if the deployment has a
        ForecastLedger and the operator committed one."""
        ledger = self.client.forecast_ledger
        committed = None if ledger is None else ledger.committed_forecast(self.region_id, first_interval)
        return None if committed is None else (committed.p10_wh, committed.p90_wh)

    # -------------------------------------------------------------------- starting

    def _start_if_due(self, plan: DayPlan, now_s: int) -> None:
        event = plan.event
        assert event is not None
        now_interval = interval_of(now_s)
        if now_interval < event.first_interval - 1 or plan.day_start_s in self._missed_days:
            return
        if self.find_event(event) is not None:
            return
        if now_interval >= event.first_interval:
            self._missed_days.add(plan.day_start_s)
            self.skip("missed", f"the event of {interval_label(event.first_interval)}: its start passed while the planner was down")
            return
        target_kw = self.target_kw_per_member * max(1, len(self.members))
        budget = target_kw * self.reward_per_kw
        token = self.client["PaymentToken"]
        if int(token.functions.allowance(self.account.address, self.dr.address).call()) < budget:
            approve = token.functions.approve(self.dr.address, budget)
            self.send(f"approve DemandResponse for {budget} PaymentToken units", "approval", approve)
        call = self.dr.functions.startEvent(self.region_id, target_kw, self.reward_per_kw, self.duration_s)
        receipt = self.send(
            f"startEvent in region {self.region_id} for {interval_label(event.first_interval)}..{interval_label(event.last_interval)}: "
            f"{target_kw} kW at {self.reward_per_kw} per kW",
            "event",
            call,
        )
        if receipt is not None:
            started = self.dr.events.EventStarted().process_receipt(receipt, errors=DISCARD)
            for entry in started:
                self.log.info("event %d's window: %d..%d", entry["args"]["eventId"], entry["args"]["startTime"], entry["args"]["endTime"])

    def find_event(self, event: PlannedEvent) -> int | None:
        """The id of this operator's event in the region whose window overlaps the planned one."""
        functions = self.dr.functions
        for event_id in range(int(functions.eventCount().call()), 0, -1):
            on_chain = functions.getEvent(event_id).call()
            if int(on_chain.startTime) < event.start_s - DAY_SECONDS:
                break  # events are numbered in the order they start
            if (
                on_chain.gridOperator == self.account.address
                and int(on_chain.regionId) == self.region_id
                and int(on_chain.startTime) < event.end_s
                and int(on_chain.endTime) > event.start_s
            ):
                return event_id
        return None

    # -------------------------------------------------------------------- verifying and paying

    def _refresh_members(self) -> None:
        w3 = self.client.w3
        head = int(w3.eth.block_number)
        while self._consumers_from <= head:
            end = min(self._consumers_from + LOG_CHUNK_BLOCKS - 1, head)
            logs = w3.eth.get_logs(
                {"address": self.dr.address, "topics": [self._consumer_registered.topic], "fromBlock": self._consumers_from, "toBlock": end}
            )
            for log in logs:
                args = self._consumer_registered.decode(dict(log))
                meter = Web3.to_checksum_address(args["meter"])
                if int(self.client["SmartMeter"].functions.getMeter(meter).call().regionId) == self.region_id:
                    self.members[Web3.to_checksum_address(args["consumer"])] = meter
            self._consumers_from = end + 1

    def _finish_ended(self, now_s: int) -> None:
        functions = self.dr.functions
        count = int(functions.eventCount().call())
        for event_id in range(self._next_event_id, count + 1):
            on_chain = functions.getEvent(event_id).call()
            mine = on_chain.gridOperator == self.account.address and int(on_chain.regionId) == self.region_id
            if (not mine or int(on_chain.status) != ACTIVE) and event_id == self._next_event_id:
                self._next_event_id += 1
                continue
            if mine and int(on_chain.status) == ACTIVE and int(on_chain.endTime) <= now_s:
                self._finish(event_id, now_s)

    def _finish(self, event_id: int, now_s: int) -> None:
        functions = self.dr.functions
        deadline_s = int(functions.getEventBudget(event_id).call().verificationDeadline)
        if now_s <= deadline_s:
            self._verify(event_id)
        budget = functions.getEventBudget(event_id).call()
        remaining = int(budget.verifiedParticipants) - int(budget.distributionCursor)
        batch = int(functions.MAX_DISTRIBUTION_BATCH().call())
        calls = min(-(-remaining // batch), self.max_batch) if remaining > 0 else 0
        if calls == 0 and now_s > deadline_s:
            calls = 1  # everyone paid: the call after the deadline completes the event and refunds the rest
        for _ in range(calls):
            what = f"distributeRewards({event_id}): up to {batch} of {max(remaining, 0)} verified participants left to pay"
            if self.send(what, "distribution", functions.distributeRewards(event_id)) is None:
                break

    def _verify(self, event_id: int) -> None:
        functions = self.dr.functions
        minimum_w = int(functions.minimumReductionW().call())
        reduced: dict[str, tuple[Any, ...]] = {}
        for consumer in sorted(self.members):
            if (event_id, consumer) in self._settled or len(reduced) == min(self.max_batch, MAX_VERIFICATION_BATCH):
                continue
            participation = functions.getParticipation(event_id, consumer).call()
            if int(participation.participationId) != 0 and int(participation.status) != PENDING:
                self._settled.add((event_id, consumer))  # verified, paid or rejected already
                continue
            figures = self._preview(event_id, consumer)
            if figures is None:
                continue  # the window's last reading is not in yet
            baseline_w, actual_w = int(figures[0]), int(figures[1])
            if baseline_w < actual_w or baseline_w - actual_w < minimum_w:
                self._settled.add((event_id, consumer))
                self.skip("no_reduction", f"verifying {consumer} in event {event_id}: {baseline_w} W baseline, {actual_w} W in the window")
                continue
            reduced[consumer] = figures
        if not reduced:
            return
        # One transaction for all (neighbouring meters share their load-profile words); should the
        # contract refuse it, each consumer on its own, so that one refusal holds up no other.
        what = f"verifyReductions({event_id}) of {len(reduced)} consumers"
        if self.send(what, "verification", functions.verifyReductions(event_id, list(reduced))) is None:
            for consumer, figures in reduced.items():
                what = f"verifyReduction({event_id}, {consumer}): {figures[0]} W baseline, {figures[1]} W in the window"
                self.send(what, "verification", functions.verifyReduction(event_id, consumer, *figures))
        self._settled.update((event_id, consumer) for consumer in reduced)

    def _preview(self, event_id: int, consumer: str) -> tuple[Any, ...] | None:
        """What the consumer's meter gives for the event; None while the meter lacks the window's last reading."""
        try:
            return tuple(self.dr.functions.previewReduction(event_id, consumer).call())
        except (ContractCustomError, ContractLogicError):
            return None


def every_region(client: GridClient, operators: dict[int, LocalAccount], *, from_block: int = 0, **options: Any) -> RegionalServices:
    """One planner per region, each signed by the region's operator in `operators`, run as one
    service. `options`: DemandResponsePlanner's."""

    def planner(region: int, shared: ReportingService | None) -> ReportingService:
        return DemandResponsePlanner(client, operators[region], region_id=region, from_block=from_block, shared=shared, **options)

    return RegionalServices.of(operators, planner)


__all__ = ["DayPlan", "DemandResponsePlanner", "PlannedEvent", "every_region"]
