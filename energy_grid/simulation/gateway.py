"""The meters' gateway: it reads where each meter stands on chain and submits the model's readings.

Both the baseline upload and every simulated interval send readings, and both (like a resumed run)
first ask which readings the chain has already, so the two operations live in one object that the
driver builds once and hands to the steps that need it.
"""

from __future__ import annotations

from energy_grid.community.model import HouseholdInterval
from energy_grid.contracts.sender import prepare
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ
from energy_grid.signing.packed_readings import pack_readings
from energy_grid.simulation.run_state import GAS_PER_READING, GAS_READINGS_BASE, READINGS_PER_BATCH, RunState

# A meter's device address and its reading (ISmartMeter.MeterReading's fields).
Reading = tuple[str, tuple[int, ...]]


class MeterGateway:
    """Submits meter readings as the gateway account, in SmartMeter's largest batches."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    def latest_reading_times(self) -> list[int]:
        """Each meter's latest reading's timestamp on chain (0 before its first)."""
        state = self.state
        signature = "getLatestReading(address)"
        calls = [prepare(state.meter_registry, "getLatestReading", m, signature=signature) for m in state.actors.meters]
        return [int(reading[0]) for reading in state.sender.read(calls)]

    def reading(self, timestamp_s: int, household: HouseholdInterval) -> Reading:
        """The household's meter and its registers at `timestamp_s`; the model's grid has no
        frequency of its own, so each reading carries the nominal one."""
        args = (
            timestamp_s,
            household.import_register_wh,
            household.export_register_wh,
            FREQUENCY_NOMINAL_MILLIHZ,
            household.voltage_per_mille,
        )
        return self.state.actors.meters[household.household_id], args

    def submit(self, readings: list[Reading]) -> None:
        """Queues the readings with the sender, one SmartMeter.submitPackedReadings transaction per batch."""
        state = self.state
        for start in range(0, len(readings), READINGS_PER_BATCH):
            chunk = readings[start : start + READINGS_PER_BATCH]
            # Packed calldata: about a quarter of the ABI encoding's bytes and half its calldata gas.
            call = prepare(state.meter_registry, "submitPackedReadings", pack_readings(chunk))
            gas = GAS_READINGS_BASE + GAS_PER_READING * len(chunk)
            state.sender.send(state.actors.gateway, call, gas=gas, actor="gateway")
