"""Which events the index keeps, and how a log becomes a row: the manifest's ABIs decode the logs
(web3's event decoding), one builder per event maps the arguments to its table's columns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from energy_grid.events import EventDecoder
from energy_grid.index import models as m
from energy_grid.units import ZERO_ADDRESS


@dataclass(frozen=True)
class LogPlace:
    """Where a log came from."""

    block_number: int
    log_index: int
    tx_hash: str
    timestamp_s: int

    def columns(self) -> dict[str, Any]:
        return {
            "block_number": self.block_number,
            "log_index": self.log_index,
            "tx_hash": self.tx_hash,
            "timestamp_s": self.timestamp_s,
        }


Builder = Callable[[dict[str, Any], LogPlace], m.EventRow]


def _address(value: str) -> str:
    return Web3.to_checksum_address(value)


def _order_created(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    counterparty = _address(a["counterparty"])
    return m.OrderCreated(
        **at.columns(),
        order_id=a["orderId"],
        trader=_address(a["trader"]),
        side=a["orderType"],
        amount_wh=a["amountWh"],
        price_per_kwh=a["pricePerKWh"],
        expiry_s=a["expiry"],
        counterparty=None if counterparty == ZERO_ADDRESS else counterparty,
    )


def _order_closed(reason: str) -> Builder:
    def build(a: dict[str, Any], at: LogPlace) -> m.EventRow:
        return m.OrderClosed(
            **at.columns(),
            order_id=a["orderId"],
            trader=_address(a["trader"]),
            reason=reason,
            unfilled_wh=a["unfilledWh"],
            refunded_escrow=a["refundedEscrow"],
        )

    return build


def _orders_matched(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.Fill(
        **at.columns(),
        transaction_id=a["transactionId"],
        buy_order_id=a["buyOrderId"],
        sell_order_id=a["sellOrderId"],
        amount_wh=a["amountWh"],
        price_per_kwh=a["pricePerKWh"],
    )


def _order_taken(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    # The taken order's side decides which id it is and whether the taker bought or sold: the
    # index resolves it from the order's creation when it stores the row.
    return m.Fill(
        **at.columns(),
        transaction_id=a["transactionId"],
        taken_order_id=a["orderId"],
        taker=_address(a["taker"]),
        amount_wh=a["amountWh"],
        price_per_kwh=a["pricePerKWh"],
    )


def _settled(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.SettlementRow(
        **at.columns(),
        transaction_id=a["transactionId"],
        status="SETTLED",
        buyer=_address(a["buyer"]),
        seller=_address(a["seller"]),
        amount_wh=a["amountWh"],
        payment=a["payment"],
        fee=a["fee"],
        buyer_refund=a["buyerRefund"],
    )


def _voided(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.SettlementRow(
        **at.columns(),
        transaction_id=a["transactionId"],
        status="VOIDED",
        buyer=_address(a["buyer"]),
        seller=_address(a["seller"]),
        amount_wh=a["amountWh"],
        returned_payment=a["returnedPayment"],
    )


def _meter_registered(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.MeterRegistered(
        **at.columns(),
        meter=_address(a["meter"]),
        owner=_address(a["owner"]),
        region_id=a["regionId"],
        consumption_register_wh=a["consumptionRegisterWh"],
        production_register_wh=a["productionRegisterWh"],
    )


def _meter_status(active: bool) -> Builder:
    def build(a: dict[str, Any], at: LogPlace) -> m.EventRow:
        return m.MeterStatusChanged(**at.columns(), meter=_address(a["meter"]), active=active)

    return build


def _reading(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.ReadingAccepted(
        **at.columns(),
        meter=_address(a["meter"]),
        reading_timestamp_s=a["timestamp"],
        consumption_wh=a["consumptionWh"],
        production_wh=a["productionWh"],
    )


def _grid_status(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.GridStatusUpdated(
        **at.columns(),
        operator=_address(a["operator"]),
        supply_w=a["supplyW"],
        demand_w=a["demandW"],
        frequency_millihz=a["frequencyMilliHz"],
        voltage_per_mille=a["voltagePerMille"],
    )


def _emergency(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.EmergencyModeChanged(
        **at.columns(), region_id=a["regionId"], active=a["active"], changed_by=_address(a["changedBy"])
    )


def _load(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.LoadReported(
        **at.columns(),
        region_id=a["regionId"],
        operator=_address(a["operator"]),
        sequence=a["sequence"],
        capacity_mw=a["capacityMW"],
        demand_mw=a["demandMW"],
        load_percentage=a["loadPercentage"],
        status=a["status"],
    )


def _grid_data(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.GridDataUpdated(
        **at.columns(),
        region_id=a["regionId"],
        frequency_millihz=a["frequencyMilliHz"],
        voltage_per_mille=a["voltagePerMille"],
        supply_w=a["supplyW"],
        demand_w=a["demandW"],
        report_count=a["reportCount"],
    )


def _auction_order(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.AuctionOrderSubmitted(
        **at.columns(),
        order_id=a["orderId"],
        period=a["period"],
        trader=_address(a["trader"]),
        is_bid=a["isBid"],
        amount_wh=a["amountWh"],
        limit_price_per_kwh=a["limitPricePerKWh"],
        escrow=a["escrow"],
    )


def _cleared(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.AuctionMarketCleared(
        **at.columns(),
        period=a["period"],
        clearing_tick=a["clearingTick"],
        clearing_price_per_kwh=a["clearingPricePerKWh"],
        volume_wh=a["volumeWh"],
        long_side=a["longSide"],
        marginal_tick=a["marginalTick"],
        rationed_wh=a["rationedWh"],
        marginal_level_wh=a["marginalLevelWh"],
        fee_bps=a["feeBps"],
    )


def _claimed(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.AuctionOrderClaimed(
        **at.columns(),
        order_id=a["orderId"],
        trader=_address(a["trader"]),
        is_bid=a["isBid"],
        filled_wh=a["filledWh"],
        payment=a["payment"],
        fee=a["fee"],
        refund=a["refund"],
    )


def _dr_started(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.DemandEventStarted(
        **at.columns(),
        event_id=a["eventId"],
        operator=_address(a["gridOperator"]),
        region_id=a["regionId"],
        target_reduction_kw=a["targetReductionKW"],
        reward_per_kw=a["rewardPerKW"],
        start_time_s=a["startTime"],
        end_time_s=a["endTime"],
        budget=a["budget"],
    )


def _dr_ended(status: str) -> Builder:
    def build(a: dict[str, Any], at: LogPlace) -> m.EventRow:
        return m.DemandEventEnded(**at.columns(), event_id=a["eventId"], status=status, refund=a["refund"])

    return build


def _dr_joined(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.DemandEventJoined(
        **at.columns(), event_id=a["eventId"], consumer=_address(a["consumer"]), participation_id=a["participationId"]
    )


def _dr_verified(a: dict[str, Any], at: LogPlace) -> m.EventRow:
    return m.DemandReductionVerified(
        **at.columns(),
        event_id=a["eventId"],
        consumer=_address(a["consumer"]),
        reduction_w=a["reductionW"],
        reward_amount=a["rewardAmount"],
    )


# (manifest contract name, event name) -> builder. Only the quarter-hourly "EnergyAuction" is
# indexed: the API's auction routes describe that market.
EVENTS: dict[tuple[str, str], Builder] = {
    ("EnergyTrading", "OrderCreated"): _order_created,
    ("EnergyTrading", "OrderCancelled"): _order_closed("CANCELLED"),
    ("EnergyTrading", "ExpiredOrderReleased"): _order_closed("RELEASED"),
    ("EnergyTrading", "OrdersMatched"): _orders_matched,
    ("EnergyTrading", "OrderTaken"): _order_taken,
    ("EnergyTrading", "TransactionSettled"): _settled,
    ("EnergyTrading", "TransactionVoided"): _voided,
    ("SmartMeter", "MeterRegistered"): _meter_registered,
    ("SmartMeter", "MeterDeactivated"): _meter_status(active=False),
    ("SmartMeter", "MeterReactivated"): _meter_status(active=True),
    ("SmartMeter", "ReadingAccepted"): _reading,
    ("GridManagement", "GridStatusUpdated"): _grid_status,
    ("GridManagement", "EmergencyModeChanged"): _emergency,
    ("GridOperations", "LoadReported"): _load,
    ("GridOracle", "GridDataUpdated"): _grid_data,
    ("EnergyAuction", "OrderSubmitted"): _auction_order,
    ("EnergyAuction", "MarketCleared"): _cleared,
    ("EnergyAuction", "OrderClaimed"): _claimed,
    ("DemandResponse", "EventStarted"): _dr_started,
    ("DemandResponse", "EventCompleted"): _dr_ended("COMPLETED"),
    ("DemandResponse", "EventCancelled"): _dr_ended("CANCELLED"),
    ("DemandResponse", "EventJoined"): _dr_joined,
    ("DemandResponse", "ReductionVerified"): _dr_verified,
}


@dataclass(frozen=True)
class _Decoder:
    event: EventDecoder
    build: Builder


class RowDecoder:
    """Decodes the logs of the indexed events of the deployment's `contracts` (by manifest name)
    into the index's rows."""

    def __init__(self, contracts: dict[str, Contract]) -> None:
        self._decoders: dict[tuple[str, bytes], _Decoder] = {}
        for (contract_name, event_name), build in EVENTS.items():
            contract = contracts.get(contract_name)
            if contract is None:
                continue
            if not any(item.get("type") == "event" and item.get("name") == event_name for item in contract.abi):
                continue
            event = EventDecoder(contract, event_name)
            self._decoders[(event.address, bytes(HexBytes(event.topic)))] = _Decoder(event, build)
        self.addresses = sorted({Web3.to_checksum_address(address) for address, _ in self._decoders})
        self.topics = sorted({topic for _, topic in self._decoders})

    def decode(self, log: Any, timestamp_s: int) -> m.EventRow | None:
        """The row of `log`, None for an event the index does not keep."""
        topics = log.get("topics") or []
        if not topics:
            return None
        decoder = self._decoders.get((str(log["address"]).lower(), bytes(HexBytes(topics[0]))))
        if decoder is None:
            return None
        args = decoder.event.decode(log)
        place = LogPlace(
            block_number=int(log["blockNumber"]),
            log_index=int(log["logIndex"]),
            tx_hash=HexBytes(log["transactionHash"]).to_0x_hex(),
            timestamp_s=timestamp_s,
        )
        return decoder.build(args, place)
