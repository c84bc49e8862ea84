"""The baseline days: the model's days before the simulated one, as backdated meter batches.
"""

from __future__ import annotations

from collections.abc import Sequence

from energy_grid.sender import prepare
from energy_grid.simulation.model import IntervalResult
from energy_grid.simulation.run_state import (
    GAS_PER_READING,
    GAS_READINGS_BASE,
    GAS_REGISTER,
    READINGS_PER_BATCH,
    SOLAR,
    RunState,
    reading_args,
)
from energy_grid.units import INTERVAL_SECONDS


class BaselineSteps(RunState):
    """The baseline days: the model's days before the simulated one, as backdated meter batches."""

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
                    reading = reading_args(timestamp, hh.import_register_wh, hh.export_register_wh, hh.voltage_per_mille)
                    pending.append((a.meters[hh.household_id], reading))
        self._send_readings(pending)
        self.sender.flush(max(self._now(), self.calendar.day_start_s))
        # Clean producers from D on: SmartMeter's production counted before registration is never
        # credited, so the credits are the simulated days' own.
        carbon = self.client["CarbonCredits"]
        registered = self.sender.read([prepare(carbon, "isCleanEnergyProducer", a.meters[i]) for i in self.pv_households])
        for i, done in zip(self.pv_households, registered, strict=True):
            if not done:
                call = prepare(carbon, "registerCleanEnergyProducer", a.meters[i], SOLAR)
                self.sender.send(a.operator, call, gas=GAS_REGISTER, actor="operator")
        self.sender.flush(max(self._now(), self.calendar.day_start_s))

    def _send_readings(self, readings: list[tuple[str, tuple[int, ...]]]) -> None:
        for start in range(0, len(readings), READINGS_PER_BATCH):
            chunk = readings[start : start + READINGS_PER_BATCH]
            call = prepare(self.meter_registry, "submitReadings", [meter for meter, _ in chunk], [reading for _, reading in chunk])
            self.sender.send(self.actors.gateway, call, gas=GAS_READINGS_BASE + GAS_PER_READING * len(chunk), actor="gateway")
