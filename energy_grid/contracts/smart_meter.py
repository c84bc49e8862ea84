"""SmartMeter: the meter registry, readings (single, gateway batches, device-signed), history, and
the meters' standing orders in the reading market (the auction its readings place orders in)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, cast

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from energy_grid.contracts.base import (
    ContractClient,
    decode_event,
    decode_struct,
    decode_structs,
    require,
    require_amount,
)
from energy_grid.contracts.structs import IntervalRecord, MeterInfo, MeterReading, StandingOrder
from energy_grid.chain.errors import ContractRevertError, ManifestError
from energy_grid.chain.events import unpacked
from energy_grid.signing.readings import SignedReading, relay_arguments
from energy_grid.signing.vault import StandingLimits, standing_order_typed_data
from energy_grid.domain.units import ZERO_ADDRESS

# What a standing limit's field holds (SmartMeter stores prices in 96 bits, caps in 32).
MAX_STANDING_PRICE_PER_KWH = 2**96 - 1
MAX_STANDING_CAP_WH = 2**32 - 1
# The highest standing-order nonce invalidate_standing_order_nonces may set (SmartMeter.MAX_STANDING_ORDER_NONCE).
MAX_STANDING_ORDER_NONCE = 2**32 - 1


class MeteredEnergy(NamedTuple):
    """A meter's counted energy since registration."""

    consumption_wh: int
    production_wh: int
    redeemed_consumption_wh: int


class IntervalEnergy(NamedTuple):
    consumption_wh: int
    production_wh: int


class SettledStandingOrder(NamedTuple):
    """A meter's standing orders of one interval paid into its owner's vault balance
    (IMeteredMarket.MeteredOrdersSettled)."""

    meter: str
    period: int
    ask_wh: int  # export offered (0: no ask)
    sold_wh: int
    proceeds: int  # PaymentToken base units, after the grid fee
    bid_wh: int  # import bid for (0: no bid)
    bought_wh: int  # retired against the consumption it was bid for
    paid: int  # PaymentToken base units


def _settled_orders(market: Contract, receipt: TxReceipt) -> list[SettledStandingOrder]:
    """The MeteredOrdersSettled events `market` emitted in the receipt."""
    logs = market.events.MeteredOrdersSettled().process_receipt(receipt, errors=DISCARD)
    mine = [log for log in logs if log["address"].lower() == market.address.lower()]
    return [decode_event(SettledStandingOrder, unpacked("MeteredOrdersSettled", log["args"])) for log in mine]


def _check_limits(function: str, limits: StandingLimits) -> None:
    fields = {
        "sell_price_per_kwh": (limits.sell_price_per_kwh, MAX_STANDING_PRICE_PER_KWH),
        "sell_cap_wh": (limits.sell_cap_wh, MAX_STANDING_CAP_WH),
        "buy_price_per_kwh": (limits.buy_price_per_kwh, MAX_STANDING_PRICE_PER_KWH),
        "buy_cap_wh": (limits.buy_cap_wh, MAX_STANDING_CAP_WH),
    }
    for name, (value, most) in fields.items():
        require(
            isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most,
            f"{function}: {name} must be an integer from 0 to {most:,}, not {value!r}",
        )
    require(limits.sell_cap_wh == 0 or limits.sell_price_per_kwh > 0, f"{function}: a sell cap needs a sell price")
    require(limits.buy_cap_wh == 0 or limits.buy_price_per_kwh > 0, f"{function}: a buy cap needs a buy price")


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
        """Relays device-signed readings (energy_grid.signing.readings.sign_readings); anyone may. They
        go packed unless one does not pack (energy_grid.signing.readings.relay_arguments)."""
        require(0 < len(entries) <= self.max_batch_size(), f"submit_signed_readings: {len(entries)} entries")
        name, arguments = relay_arguments(entries)
        return self._send(relayer, name, *arguments)

    def redeem_consumption(self, owner: LocalAccount, meter: str, amount_wh: int) -> TxReceipt:
        """Burns the owner's EnergyToken against energy the meter imported and nobody redeemed."""
        require_amount("amount_wh", amount_wh)
        return self._send(owner, "redeemConsumption", meter, amount_wh)

    # ----------------------------------------------------------------- standing orders (reading market)

    def sync_meter_zone(self, sender: LocalAccount, meter: str) -> int:
        """Takes the meter's market zone from the reading market's zones (its region's, or 0: the bus);
        anyone may. Returns the zone its next readings' standing orders trade in."""
        return self._id(self._send(sender, "syncMeterZone", meter), "MeterZoneSynced", "zone")

    def meter_zone(self, meter: str) -> int:
        """The market zone the meter's standing orders trade in (0: the bus)."""
        return self._int("meterZone", meter)

    def set_standing_order(
        self,
        owner: LocalAccount,
        meter: str,
        *,
        sell_price_per_kwh: int = 0,
        sell_cap_wh: int = 0,
        buy_price_per_kwh: int = 0,
        buy_cap_wh: int = 0,
    ) -> TxReceipt:
        """The owner's standing limits for `meter`: from its next reading on, each reading offers the
        interval's export at `sell_price_per_kwh` or more and bids for its import at `buy_price_per_kwh`
        or less in the reading market, from the owner's vault balance (a price of 0 leaves that side
        out; a cap of 0 trades all of it). Turns the meter's vault delivery on. The owner also
        approves the reading market in the vault, or the readings place nothing. Spends the owner's
        standing-order nonce: limits it signed before and no relayer sent yet are void."""
        _check_limits("set_standing_order", StandingLimits(meter, sell_price_per_kwh, sell_cap_wh, buy_price_per_kwh, buy_cap_wh))
        require(
            sell_price_per_kwh > 0 or buy_price_per_kwh > 0,
            "set_standing_order: give a sell or a buy price (a price of 0 leaves that side out); "
            "remove_standing_order removes both",
        )
        return self._send(owner, "setStandingOrder", meter, sell_price_per_kwh, sell_cap_wh, buy_price_per_kwh, buy_cap_wh)

    def standing_order_nonce(self, owner: str) -> int:
        """The nonce `owner`'s next signed standing limits must carry."""
        return self._int("standingOrderNonces", owner)

    def standing_order_typed_data(self, limits: StandingLimits, deadline_s: int, nonce: int | None = None) -> dict[str, Any]:
        """The EIP-712 typed data the meter's owner signs for `set_standing_order_by_sig` (by default at
        the owner's current nonce)."""
        _check_limits("standing_order_typed_data", limits)
        if nonce is None:
            nonce = self.standing_order_nonce(self.get_meter(limits.meter).owner)
        return standing_order_typed_data(limits, nonce, deadline_s, self.address, int(self.w3.eth.chain_id))

    def set_standing_order_by_sig(self, relayer: LocalAccount, limits: StandingLimits, deadline_s: int, signature: bytes) -> TxReceipt:
        """Relays the owner's signed standing limits (both prices 0: removes them); `relayer` pays the gas."""
        _check_limits("set_standing_order_by_sig", limits)
        return self._send(relayer, "setStandingOrderBySig", *limits.args(), deadline_s, signature)

    def remove_standing_order(self, owner: LocalAccount, meter: str) -> TxReceipt:
        """The meter's readings place nothing from now on; orders already placed still settle. Like
        set_standing_order, spends the owner's standing-order nonce: limits it signed before are void."""
        return self._send(owner, "removeStandingOrder", meter)

    def invalidate_standing_order_nonces(self, owner: LocalAccount, new_nonce: int) -> TxReceipt:
        """Raises the owner's standing-order nonce to `new_nonce`: standing limits it signed with a lower
        nonce and no relayer sent yet are void, for every one of its meters (StandingOrderNonceNotRaised
        unless it goes up)."""
        require(
            isinstance(new_nonce, int) and not isinstance(new_nonce, bool) and 0 < new_nonce <= MAX_STANDING_ORDER_NONCE,
            f"invalidate_standing_order_nonces: new_nonce must be an integer from 1 to {MAX_STANDING_ORDER_NONCE:,} "
            f"above the current nonce, not {new_nonce!r}",
        )
        return self._send(owner, "invalidateStandingOrderNonces", new_nonce)

    def standing_order(self, meter: str) -> StandingOrder:
        """The meter's standing limits (all 0: none)."""
        return decode_struct(StandingOrder, self._call("getStandingOrder", meter))

    def set_vault_delivery(self, owner: LocalAccount, meter: str, enabled: bool) -> TxReceipt:
        """Where the meter's export goes: the owner's vault balance (`enabled`) or its wallet."""
        return self._send(owner, "setVaultDelivery", meter, enabled)

    def settle_standing_orders(self, sender: LocalAccount, meters: Sequence[str]) -> list[SettledStandingOrder]:
        """Pays the meters' placed standing orders whose markets may clear into their owners' vault
        balances (anyone may; up to MAX_BATCH_SIZE meters, a market not yet cleared is cleared on the
        way). Returns what was settled; a meter with nothing due is passed over."""
        require(
            0 < len(meters) <= self.max_batch_size(),
            f"settle_standing_orders: {len(meters)} meters, not 1-{self.max_batch_size()}",
        )
        market = self._reading_market_contract()
        receipt = self._send(sender, "settleStandingOrders", list(meters))
        return _settled_orders(market, receipt)

    def settle_standing_orders_in(self, sender: LocalAccount, reading_market: str, meters: Sequence[str]) -> list[SettledStandingOrder]:
        """Settles the meters' standing orders in `reading_market`, a market SmartMeter named now or
        before (reading_markets()): the orders a market held when another was named in its place settle
        there, by anyone, as settle_standing_orders settles those of the current one. Returns what was
        settled; a meter with nothing due there is passed over."""
        require(
            0 < len(meters) <= self.max_batch_size(),
            f"settle_standing_orders_in: {len(meters)} meters, not 1-{self.max_batch_size()}",
        )
        named = self.reading_markets()
        require(
            reading_market.lower() in {m.lower() for m in named},
            f"settle_standing_orders_in: {reading_market} is not one of SmartMeter's reading markets ({', '.join(named) or 'none'})",
        )
        market = self._metered_market_contract(reading_market)
        receipt = self._send(sender, "settleStandingOrdersIn", market.address, list(meters))
        return _settled_orders(market, receipt)

    def reading_market(self) -> str:
        """The auction the meters' readings place standing orders in (the zero address: none)."""
        return str(self._call("readingMarket"))

    def reading_markets(self) -> list[str]:
        """Every reading market SmartMeter has named, the current one included, in the order named."""
        return [str(address) for address in self._call("readingMarkets")]

    def vault(self) -> str:
        """The EnergyVault that vault-delivered export is credited in."""
        return str(self._call("vault"))

    def _reading_market_contract(self) -> Contract:
        address = self.reading_market()
        require(address.lower() != ZERO_ADDRESS, "SmartMeter has no reading market: standing orders have nowhere to trade")
        name = self.transactor.contracts.name_at(address)
        if name is None:
            raise ManifestError(f"SmartMeter's reading market {address} is not in the manifest.")
        return self.transactor.contracts[name]

    def _metered_market_contract(self, address: str) -> Contract:
        """The reading market at `address`: the manifest's contract there, or (a market named before and
        since left out of the manifest) that address with the ABI of a reading market the manifest has."""
        contracts = self.transactor.contracts
        name = contracts.name_at(address)
        if name is not None:
            return contracts[name]
        for abi in contracts.abis.values():
            if any(item.get("name") == "MeteredOrdersSettled" for item in abi):
                return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=cast(Any, abi))
        raise ManifestError(f"The manifest has no reading market whose events would read {address}'s settlement.")

    # ----------------------------------------------------------------- reads

    def get_meter(self, meter: str) -> MeterInfo:
        return decode_struct(MeterInfo, self._call("getMeter", meter))

    def find_meter(self, meter: str) -> MeterInfo | None:
        """The meter's record; None for a meter never registered (getMeter's MeterUnknown)."""
        try:
            return self.get_meter(meter)
        except ContractRevertError as err:
            if err.error_name == "MeterUnknown":
                return None
            raise

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
        return int(self._call(signature.split("(", maxsplit=1)[0], *args, signature=signature))
