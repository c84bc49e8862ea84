"""SmartMeter: the meter registry, readings (single, gateway batches, device-signed) and history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from energy_grid.contracts.base import (
    ContractClient,
    decode_struct,
    decode_structs,
    require,
    require_amount,
)
from energy_grid.contracts.structs import IntervalRecord, MeterInfo, MeterReading
from energy_grid.signed_readings import SignedReading


class MeteredEnergy(NamedTuple):
    """A meter's counted energy since registration."""

    consumption_wh: int
    production_wh: int
    redeemed_consumption_wh: int


class IntervalEnergy(NamedTuple):
    consumption_wh: int
    production_wh: int


class SmartMeter(ContractClient):
    _max_batch: int | None = None

    # ----------------------------------------------------------------- registry (operator)

    def register_meter(
        self,
        operator: LocalAccount,
        meter: str,
        owner: str,
        region_id: int,
        consumption_register_wh: int | None = None,
        production_register_wh: int | None = None,
    ) -> TxReceipt:
        """Registers `meter` for `owner`; with both registers given, they are the installation
        reading (else the first reading sets the baseline)."""
        if consumption_register_wh is None and production_register_wh is None:
            return self._send(operator, "registerMeter", meter, owner, region_id, signature="registerMeter(address,address,uint32)")
        require(
            consumption_register_wh is not None and production_register_wh is not None,
            "register_meter: give both installation registers or neither",
        )
        return self._send(
            operator,
            "registerMeter",
            meter,
            owner,
            region_id,
            consumption_register_wh,
            production_register_wh,
            signature="registerMeter(address,address,uint32,uint256,uint256)",
        )

    def deactivate_meter(self, operator: LocalAccount, meter: str) -> TxReceipt:
        return self._send(operator, "deactivateMeter", meter)

    def reactivate_meter(self, operator: LocalAccount, meter: str) -> TxReceipt:
        return self._send(operator, "reactivateMeter", meter)

    # ----------------------------------------------------------------- readings

    def submit_reading(self, device: LocalAccount, reading: MeterReading) -> TxReceipt:
        """submitReading: the device (the meter's own key) reports its registers."""
        return self._send(device, "submitReading", reading.as_tuple())

    def max_batch_size(self) -> int:
        if self._max_batch is None:
            self._max_batch = self._int("MAX_BATCH_SIZE")
        return self._max_batch

    def submit_readings(self, gateway: LocalAccount, meters: Sequence[str], readings: Sequence[MeterReading]) -> TxReceipt:
        """A gateway batch: one reading per entry, for up to MAX_BATCH_SIZE entries; a bad entry
        reverts the batch with that entry's error."""
        require(len(meters) == len(readings), f"submit_readings: {len(meters)} meters but {len(readings)} readings")
        require(0 < len(meters) <= self.max_batch_size(), f"submit_readings: {len(meters)} entries, not 1-{self.max_batch_size()}")
        return self._send(gateway, "submitReadings", list(meters), [r.as_tuple() for r in readings])

    def submit_signed_readings(self, relayer: LocalAccount, entries: Sequence[SignedReading]) -> TxReceipt:
        """Relays device-signed readings (energy_grid.signed_readings.sign_readings); anyone may."""
        require(0 < len(entries) <= self.max_batch_size(), f"submit_signed_readings: {len(entries)} entries")
        return self._send(relayer, "submitSignedReadings", [e.as_tuple() for e in entries])

    def redeem_consumption(self, owner: LocalAccount, meter: str, amount_wh: int) -> TxReceipt:
        """Burns the owner's EnergyToken against energy the meter imported and nobody redeemed."""
        require_amount("amount_wh", amount_wh)
        return self._send(owner, "redeemConsumption", meter, amount_wh)

    # ----------------------------------------------------------------- reads

    def get_meter(self, meter: str) -> MeterInfo:
        return decode_struct(MeterInfo, self._call("getMeter", meter))

    def latest_reading(self, meter: str) -> MeterReading:
        return decode_struct(MeterReading, self._call("getLatestReading", meter, signature="getLatestReading(address)"))

    def daily_production_wh(self, meter: str, day: int) -> int:
        return self._int_sig("getDailyProduction(address,uint256)", meter, day)

    def daily_consumption_wh(self, meter: str, day: int) -> int:
        return self._int_sig("getDailyConsumption(address,uint256)", meter, day)

    def interval_energy(self, meter: str, interval: int) -> IntervalEnergy:
        consumption, production = self._call("getIntervalEnergy", meter, interval)
        return IntervalEnergy(int(consumption), int(production))

    def energy_in_range(self, meter: str, from_interval: int, count: int) -> IntervalEnergy:
        consumption, production = self._call("getEnergyInRange", meter, from_interval, count)
        return IntervalEnergy(int(consumption), int(production))

    def interval_history(self, meter: str, from_interval: int, count: int) -> list[IntervalRecord]:
        """Up to MAX_HISTORY_PAGE (96) intervals of the load profile, with register snapshots."""
        return decode_structs(IntervalRecord, self._call("getIntervalHistory", meter, from_interval, count))

    def metered_energy(self, meter: str) -> MeteredEnergy:
        return MeteredEnergy(*(int(v) for v in self._call("getMeteredEnergy", meter)))

    def nonce(self, meter: str) -> int:
        """The next nonce a device-signed reading of `meter` must carry."""
        return self._int("nonces", meter)

    def invalidate_nonces(self, device: LocalAccount, new_nonce: int) -> TxReceipt:
        """The meter's own key raises its signed-reading nonce to `new_nonce`: readings it signed
        with a lower nonce and no relayer submitted yet are void (ReadingNonceNotRaised unless it
        goes up, at most MAX_READING_NONCE). Only the device may: its owner cannot."""
        require(new_nonce > 0, "invalidate_nonces: new_nonce must be above the current nonce")
        return self._send(device, "invalidateNonces", new_nonce)

    def min_reading_interval_s(self) -> int:
        return self._int("minReadingInterval")

    def max_reading_age_s(self) -> int:
        return self._int("maxReadingAge")

    def _int_sig(self, signature: str, *args: object) -> int:
        return int(self._call(signature.split("(")[0], *args, signature=signature))
