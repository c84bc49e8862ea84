"""The baseline step: the model's days before the simulated one, uploaded as backdated meter batches.

DemandResponse measures a household's reduction against its meter's history, so the run gives
every meter BASELINE_DAYS of readings before the simulated day. They are uploaded once the chain
stands at the day's start D, and only then are the PV meters registered as clean producers, so
that the carbon credits are the simulated days' own.
"""

from __future__ import annotations

from collections.abc import Sequence

from energy_grid.community.model import IntervalResult
from energy_grid.contracts.sender import prepare
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.simulation.gateway import MeterGateway, Reading
from energy_grid.simulation.run_state import GAS_REGISTER, SOLAR, RunState


class Baseline:
    """Uploads the baseline days' readings and registers the clean producers after them."""

    def __init__(self, state: RunState, gateway: MeterGateway) -> None:
        self.state = state
        self.gateway = gateway

    def upload(self, baseline: Sequence[IntervalResult]) -> None:
        """The BASELINE_DAYS before D as backdated gateway batches, once the chain stands at D;
        per meter only the readings after its latest on chain."""
        state = self.state
        day_start_s = state.calendar.day_start_s
        latest = self.gateway.latest_reading_times()
        pending: list[Reading] = []
        for k, result in enumerate(baseline):
            timestamp = day_start_s + (k - len(baseline) + 1) * INTERVAL_SECONDS - 1
            pending += [self.gateway.reading(timestamp, hh) for hh in result.households if latest[hh.household_id] < timestamp]
        self.gateway.submit(pending)
        state.flush_at(day_start_s)
        self._register_clean_producers()
        state.flush_at(day_start_s)

    def _register_clean_producers(self) -> None:
        """Each PV meter becomes a clean (SOLAR) producer from D on: SmartMeter never credits the
        production it counted before the registration."""
        state = self.state
        a, carbon = state.actors, state.client["CarbonCredits"]
        registered = state.sender.read([prepare(carbon, "isCleanEnergyProducer", a.meters[i]) for i in state.pv_households])
        for i, done in zip(state.pv_households, registered, strict=True):
            if not done:
                # By the operator of the meter's region (each feeder's own in a zoned run).
                call = prepare(carbon, "registerCleanEnergyProducer", a.meters[i], SOLAR)
                state.sender.send(state.feeder_operator(state.feeder_of[i]), call, gas=GAS_REGISTER, actor="operator")
