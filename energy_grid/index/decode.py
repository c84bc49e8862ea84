"""Which events the index keeps, and how a log becomes a row: the manifest's ABIs decode the logs
(web3's event decoding), and a table of events (EVENTS) names each one's row: its table and
which argument fills which column. An event whose log does not decode into its row, or whose row
the database refuses, is left out and said so (SkippedEvent)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from hexbytes import HexBytes
from sqlalchemy.exc import StatementError
from web3 import Web3
from web3.contract import Contract

from energy_grid.chain.events import EventDecoder
from energy_grid.domain.units import ZERO_ADDRESS
from energy_grid.index import models as m


def quantity(value: int | str) -> int:
    """A log's number field: JSON-RPC sends hex strings, web3 integers."""
    return int(value, 16) if isinstance(value, str) else int(value)


@dataclass(frozen=True)
class LogPlace:
    """Where a log came from."""

    block_number: int
    log_index: int
    tx_hash: str
    timestamp_s: int

    @classmethod
    def of_log(cls, log: Any, timestamp_s: int) -> LogPlace:
        return cls(
            block_number=quantity(log["blockNumber"]),
            log_index=quantity(log["logIndex"]),
            tx_hash=HexBytes(log["transactionHash"]).to_0x_hex(),
            timestamp_s=timestamp_s,
        )

    @classmethod
    def of_row(cls, row: m.EventRow) -> LogPlace:
        return cls(block_number=row.block_number, log_index=row.log_index, tx_hash=row.tx_hash, timestamp_s=row.timestamp_s)

    def columns(self) -> dict[str, Any]:
        """The event row's columns of the same names."""
        return asdict(self)


@dataclass(frozen=True)
class SkippedEvent:
    """An indexed event the index left out: where it was, which event (`Contract.Event`, the
    manifest's contract name) and why."""

    place: LogPlace
    event: str
    reason: str

    @classmethod
    def because(cls, place: LogPlace, event: str, error: BaseException) -> SkippedEvent:
        # A database error's own message, without the statement and parameters SQLAlchemy adds.
        cause = error.orig if isinstance(error, StatementError) and error.orig is not None else error
        first_line = (str(cause).strip().splitlines() or [""])[0]
        return cls(place, event, f"{type(cause).__name__}: {first_line}")

    def __str__(self) -> str:
        at = self.place
        return f"{self.event} at block {at.block_number}, log {at.log_index} (transaction {at.tx_hash}): {self.reason}"


class UndecodableEventError(Exception):
    """A log of an indexed event that does not decode into its row."""

    def __init__(self, skipped: SkippedEvent) -> None:
        super().__init__(str(skipped))
        self.skipped = skipped


@dataclass(frozen=True)
class IndexedEvent:
    """A log of an indexed event (`Contract.Event`) and its row."""

    event: str
    row: m.EventRow

    def skipped(self, error: BaseException) -> SkippedEvent:
        return SkippedEvent.because(LogPlace.of_row(self.row), self.event, error)


class RowOf:
    """How an event becomes a row of `table`: the columns `arguments` fills from the event's
    arguments (column -> argument name), and the `fixed` columns every such row has (which of a
    table's events it was). Address columns hold checksummed addresses (NULL for the zero address
    where the column says so: an order open to anyone)."""

    def __init__(self, table: type[m.EventRow], arguments: Mapping[str, str], **fixed: Any) -> None:
        self.table = table
        self.arguments = dict(arguments)
        self.fixed = fixed
        columns = table.__table__.columns
        unknown = (set(self.arguments) | set(fixed)) - set(columns.keys())
        if unknown:
            raise KeyError(f"{table.__tablename__} has no column {', '.join(sorted(unknown))}")
        self._addresses = {name for name in self.arguments if columns[name].info.get(m.ADDRESS)}
        self._zero_is_null = {name for name in self._addresses if columns[name].info[m.ADDRESS] == m.ZERO_IS_NULL}

    def build(self, args: Mapping[str, Any], at: LogPlace) -> m.EventRow:
        values = {column: args[argument] for column, argument in self.arguments.items()}
        for column in self._addresses:
            address = Web3.to_checksum_address(values[column])
            values[column] = None if column in self._zero_is_null and address == ZERO_ADDRESS else address
        return self.table(**at.columns(), **values, **self.fixed)


_ORDER_CLOSED = {"order_id": "orderId", "trader": "trader", "unfilled_wh": "unfilledWh", "refunded_escrow": "refundedEscrow"}
_SETTLEMENT = {"transaction_id": "transactionId", "buyer": "buyer", "seller": "seller", "amount_wh": "amountWh"}
_METER = {"meter": "meter"}
_DR_ENDED = {"event_id": "eventId", "refund": "refund"}

# (manifest contract name, event name) -> its row. Only the quarter-hourly "EnergyAuction" is
# indexed: the API's auction routes describe that market.
EVENTS: dict[tuple[str, str], RowOf] = {
    ("EnergyTrading", "OrderCreated"): RowOf(
        m.OrderCreated,
        {
            "order_id": "orderId", "trader": "trader", "side": "orderType", "amount_wh": "amountWh",
            "price_per_kwh": "pricePerKWh", "expiry_s": "expiry", "counterparty": "counterparty",
        },
    ),
    ("EnergyTrading", "OrderCancelled"): RowOf(m.OrderClosed, _ORDER_CLOSED, reason="CANCELLED"),
    ("EnergyTrading", "ExpiredOrderReleased"): RowOf(m.OrderClosed, _ORDER_CLOSED, reason="RELEASED"),
    ("EnergyTrading", "OrdersMatched"): RowOf(
        m.Fill,
        {
            "transaction_id": "transactionId", "buy_order_id": "buyOrderId", "sell_order_id": "sellOrderId",
            "amount_wh": "amountWh", "price_per_kwh": "pricePerKWh",
        },
    ),
    # The taken order's side decides which id it is and whether the taker bought or sold: the
    # index resolves it from the order's creation when it stores the row.
    ("EnergyTrading", "OrderTaken"): RowOf(
        m.Fill,
        {
            "transaction_id": "transactionId", "taken_order_id": "orderId", "taker": "taker",
            "amount_wh": "amountWh", "price_per_kwh": "pricePerKWh",
        },
    ),
    ("EnergyTrading", "TransactionSettled"): RowOf(
        m.SettlementRow, {**_SETTLEMENT, "payment": "payment", "fee": "fee", "buyer_refund": "buyerRefund"}, status="SETTLED"
    ),
    ("EnergyTrading", "TransactionVoided"): RowOf(
        m.SettlementRow, {**_SETTLEMENT, "returned_payment": "returnedPayment"}, status="VOIDED"
    ),
    ("SmartMeter", "MeterRegistered"): RowOf(
        m.MeterRegistered,
        {
            "meter": "meter", "owner": "owner", "region_id": "regionId",
            "consumption_register_wh": "consumptionRegisterWh", "production_register_wh": "productionRegisterWh",
        },
    ),
    ("SmartMeter", "MeterDeactivated"): RowOf(m.MeterStatusChanged, _METER, active=False),
    ("SmartMeter", "MeterReactivated"): RowOf(m.MeterStatusChanged, _METER, active=True),
    ("SmartMeter", "ReadingAccepted"): RowOf(
        m.ReadingAccepted,
        {"meter": "meter", "reading_timestamp_s": "timestamp", "consumption_wh": "consumptionWh", "production_wh": "productionWh"},
    ),
    ("GridManagement", "GridStatusUpdated"): RowOf(
        m.GridStatusUpdated,
        {
            "operator": "operator", "supply_w": "supplyW", "demand_w": "demandW",
            "frequency_millihz": "frequencyMilliHz", "voltage_per_mille": "voltagePerMille",
        },
    ),
    ("GridManagement", "EmergencyModeChanged"): RowOf(
        m.EmergencyModeChanged, {"region_id": "regionId", "active": "active", "changed_by": "changedBy"}
    ),
    ("GridOperations", "LoadReported"): RowOf(
        m.LoadReported,
        {
            "region_id": "regionId", "operator": "operator", "sequence": "sequence", "capacity_kw": "capacityKW",
            "demand_kw": "demandKW", "load_percentage": "loadPercentage", "status": "status",
        },
    ),
    ("GridOracle", "GridDataUpdated"): RowOf(
        m.GridDataUpdated,
        {
            "region_id": "regionId", "frequency_millihz": "frequencyMilliHz", "voltage_per_mille": "voltagePerMille",
            "supply_w": "supplyW", "demand_w": "demandW", "report_count": "reportCount",
        },
    ),
    ("EnergyAuction", "OrderSubmitted"): RowOf(
        m.AuctionOrderSubmitted,
        {
            "order_id": "orderId", "period": "period", "trader": "trader", "is_bid": "isBid", "amount_wh": "amountWh",
            "limit_price_per_kwh": "limitPricePerKWh", "escrow": "escrow",
        },
    ),
    ("EnergyAuction", "MarketCleared"): RowOf(
        m.AuctionMarketCleared,
        {
            "period": "period", "clearing_tick": "clearingTick", "clearing_price_per_kwh": "clearingPricePerKWh",
            "volume_wh": "volumeWh", "long_side": "longSide", "marginal_tick": "marginalTick", "rationed_wh": "rationedWh",
            "marginal_level_wh": "marginalLevelWh", "fee_bps": "feeBps",
        },
    ),
    ("EnergyAuction", "OrderClaimed"): RowOf(
        m.AuctionOrderClaimed,
        {
            "order_id": "orderId", "trader": "trader", "is_bid": "isBid", "filled_wh": "filledWh",
            "payment": "payment", "fee": "fee", "refund": "refund",
        },
    ),
    ("EnergyAuction", "MeteredOrdersSettled"): RowOf(
        m.MeteredOrdersSettled,
        {
            "meter": "meter", "period": "period", "ask_wh": "askWh", "sold_wh": "soldWh", "proceeds": "proceeds",
            "bid_wh": "bidWh", "bought_wh": "boughtWh", "paid": "paid",
        },
    ),
    ("MarketZones", "ZoneCleared"): RowOf(
        m.ZoneCleared,
        {
            "period": "period", "zone": "zone", "role": "role", "clearing_tick": "clearingTick",
            "clearing_price_per_kwh": "clearingPricePerKWh", "net_export_wh": "netExportWh",
        },
    ),
    ("MarketZones", "LinkLimitsSet"): RowOf(
        m.LinkLimitsSet,
        {
            "region_id": "regionId", "first_period": "firstPeriod", "period_count": "periodCount",
            "import_limit_kw": "importLimitKW", "export_limit_kw": "exportLimitKW", "operator": "operator",
        },
    ),
    ("MarketZones", "ZoneAdded"): RowOf(m.ZoneAdded, {"region_id": "regionId", "zone": "zone", "rating_kw": "ratingKW"}),
    ("MarketZones", "ZoneRatingUpdated"): RowOf(
        m.ZoneRatingUpdated, {"region_id": "regionId", "rating_kw": "ratingKW", "from_period": "fromPeriod"}
    ),
    ("ForecastLedger", "ForecastCommitted"): RowOf(
        m.ForecastCommitted,
        {
            "region_id": "regionId", "first_interval": "firstInterval", "operator": "operator", "forecast_hash": "forecastHash",
            "p10_wh": "p10Wh", "p50_wh": "p50Wh", "p90_wh": "p90Wh",
        },
    ),
    ("ForecastLedger", "ForecastScored"): RowOf(
        m.ForecastScored,
        {
            "region_id": "regionId", "first_interval": "firstInterval", "scorer": "scorer", "interval_count": "intervalCount",
            "covered_intervals": "coveredIntervals", "exceeded_p90_intervals": "exceededP90Intervals",
            "pinball_p10_wh": "pinballP10Wh", "pinball_p50_wh": "pinballP50Wh", "pinball_p90_wh": "pinballP90Wh",
            "meters_tallied": "metersTallied",
        },
    ),
    ("DemandResponse", "EventStarted"): RowOf(
        m.DemandEventStarted,
        {
            "event_id": "eventId", "operator": "gridOperator", "region_id": "regionId",
            "target_reduction_kw": "targetReductionKW", "reward_per_kw": "rewardPerKW",
            "start_time_s": "startTime", "end_time_s": "endTime", "budget": "budget",
        },
    ),
    ("DemandResponse", "EventCompleted"): RowOf(m.DemandEventEnded, _DR_ENDED, status="COMPLETED"),
    ("DemandResponse", "EventCancelled"): RowOf(m.DemandEventEnded, _DR_ENDED, status="CANCELLED"),
    ("DemandResponse", "EventJoined"): RowOf(
        m.DemandEventJoined, {"event_id": "eventId", "consumer": "consumer", "participation_id": "participationId"}
    ),
    ("DemandResponse", "ReductionVerified"): RowOf(
        m.DemandReductionVerified,
        {"event_id": "eventId", "consumer": "consumer", "reduction_w": "reductionW", "reward_amount": "rewardAmount"},
    ),
}


@dataclass(frozen=True)
class _Decoder:
    name: str  # Contract.Event
    event: EventDecoder
    row: RowOf


class RowDecoder:
    """Decodes the logs of the indexed events of the deployment's `contracts` (by manifest name)
    into the index's rows."""

    def __init__(self, contracts: Mapping[str, Contract]) -> None:
        self._decoders: dict[tuple[str, bytes], _Decoder] = {}
        for (contract_name, event_name), row in EVENTS.items():
            contract = contracts.get(contract_name)
            if contract is None:
                continue
            if not any(item.get("type") == "event" and item.get("name") == event_name for item in contract.abi):
                continue
            event = EventDecoder(contract, event_name)
            self._decoders[(event.address, bytes(HexBytes(event.topic)))] = _Decoder(f"{contract_name}.{event_name}", event, row)
        self.addresses = sorted({Web3.to_checksum_address(address) for address, _ in self._decoders})
        self.topics = sorted({topic for _, topic in self._decoders})

    def decode(self, log: Any, timestamp_s: int) -> IndexedEvent | None:
        """The event and row of `log`, None for an event the index does not keep;
        UndecodableEventError when its data does not make its row."""
        topics = log.get("topics") or []
        if not topics:
            return None
        decoder = self._decoders.get((str(log["address"]).lower(), bytes(HexBytes(topics[0]))))
        if decoder is None:
            return None
        place = LogPlace.of_log(log, timestamp_s)
        try:
            row = decoder.row.build(decoder.event.decode(log), place)
        except Exception as err:  # whatever the log holds: one event must not stop the index
            raise UndecodableEventError(SkippedEvent.because(place, decoder.name, err)) from err
        return IndexedEvent(decoder.name, row)
