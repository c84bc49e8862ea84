"""The index's tables: one append-only table per event (or per pair of closely related events),
the blocks the index has seen and its cursor. State (an order's fill, a meter's activity, the grid's
latest status) is derived in queries, so rolling back a reorganized block is a DELETE of the rows
above the fork.

Every event row keeps where it came from: block number, log index (unique together, so a replayed
range never duplicates a row), transaction hash and the block's timestamp (unix s).

The models are the schema's one description: the migrations build each revision's tables and
columns from them (migrations/build.py), so a table or column added after the first revision is
marked with the revision that added it (`info=added_in(...)`), a column a later revision renamed
with that revision and its former name (`info=renamed_in(...)`), and a column a later revision
widened from a 64-bit integer to the contracts' 256 bits with that revision (`info=widened_in(...)`).

Every column filled from a uint256 or int256 event argument is 256 bits wide: the index stores
whatever value the contracts emit, however unlikely (a far-future period, an order that never
expires). Only region ids (uint32), enums (uint8) and the node's block numbers are narrower. A
forecast's vectors of int32 (Wh per interval, at most 96) are kept as JSON arrays.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, declared_attr, mapped_column

from energy_grid.index.types import Hash32, Int256, Uint256

ADDRESS_LENGTH = 42
HASH_LENGTH = 66
# SQLite makes only an INTEGER PRIMARY KEY an auto-increment row id.
RowId = BigInteger().with_variant(Integer(), "sqlite")
# A column's (or table's) `info` key: the migration revision that added it.
ADDED_IN = "added_in"
# A column's `info` key: it holds a checksummed address, "zero is null" where the zero address
# (none on chain) is stored as NULL.
ADDRESS = "address"
ZERO_IS_NULL = "zero is null"
# A column's `info` key: (the revision that renamed it, its name before).
RENAMED_IN = "renamed_in"
# A column's `info` key: the revision that widened it from a 64-bit integer (BIGINT) to 256 bits.
WIDENED_IN = "widened_in"
METERED_ORDERS_REVISION = "0004_metered_orders_settled"
ZONES_REVISION = "0006_market_zones"
ZONE_LINKS_REVISION = "0007_zone_links"
GRID_POWER_KW_REVISION = "0005_grid_power_kw"
UINT256_VALUES_REVISION = "0008_uint256_values"
ZONE_ROLES_REVISION = "0009_zone_roles"
FORECASTS_REVISION = "0010_forecasts"


def added_in(revision: str) -> dict[str, str]:
    """The `info` of a table or column a later migration revision added."""
    return {ADDED_IN: revision}


def renamed_in(revision: str, former_name: str) -> dict[str, tuple[str, str]]:
    """The `info` of a column `revision` renamed: the revisions before it build it as `former_name`."""
    return {RENAMED_IN: (revision, former_name)}


def widened_in(revision: str) -> dict[str, str]:
    """The `info` of a column `revision` widened: the revisions before it build it as a BIGINT."""
    return {WIDENED_IN: revision}


# The columns UINT256_VALUES_REVISION widened: event arguments the index first kept in 64 bits.
WIDENED = widened_in(UINT256_VALUES_REVISION)


# The column kinds (nullable where the annotation says `| None`).


def address(*, index: bool = False, zero_is_null: bool = False) -> MappedColumn[Any]:
    return mapped_column(String(ADDRESS_LENGTH), index=index, info={ADDRESS: ZERO_IS_NULL if zero_is_null else True})


def uint256(*, index: bool = False, info: dict[str, Any] | None = None) -> MappedColumn[Any]:
    return mapped_column(Uint256, index=index, info=dict(info or {}))


def int256(*, info: dict[str, Any] | None = None) -> MappedColumn[Any]:
    return mapped_column(Int256, info=dict(info or {}))


def int64(*, index: bool = False) -> MappedColumn[Any]:
    return mapped_column(BigInteger, index=index)


class Base(DeclarativeBase):
    pass


def _one_row_per_log(table_name: str) -> UniqueConstraint:
    return UniqueConstraint("block_number", "log_index", name=f"uq_{table_name}_log")


class EventRow(Base):
    """The columns every event row has."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    block_number: Mapped[int] = int64()
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    timestamp_s: Mapped[int] = int64()  # the block's

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (_one_row_per_log(cls.__tablename__),)


class RegionReport(EventRow):
    """A row about one grid region."""

    __abstract__ = True

    region_id: Mapped[int] = mapped_column(BigInteger, index=True, sort_order=-1)


class DemandEventRow(EventRow):
    """A row about one demand-response event."""

    __abstract__ = True

    event_id: Mapped[int] = mapped_column(Uint256, index=True, sort_order=-1, info=dict(WIDENED))


# ---------------------------------------------------------------- EnergyTrading (and Settlement)


class OrderCreated(EventRow):
    __tablename__ = "trading_order_created"
    order_id: Mapped[int] = uint256(index=True, info=WIDENED)
    trader: Mapped[str] = address(index=True)
    side: Mapped[int] = mapped_column(SmallInteger)  # OrderType: 0 BUY, 1 SELL
    amount_wh: Mapped[int] = uint256()
    price_per_kwh: Mapped[int] = uint256()
    expiry_s: Mapped[int] = uint256(info=WIDENED)
    counterparty: Mapped[str | None] = address(zero_is_null=True)  # None: open to anyone


class OrderClosed(EventRow):
    """OrderCancelled (reason CANCELLED) and ExpiredOrderReleased (reason RELEASED)."""

    __tablename__ = "trading_order_closed"
    order_id: Mapped[int] = uint256(index=True, info=WIDENED)
    trader: Mapped[str] = address()
    reason: Mapped[str] = mapped_column(String(16))
    unfilled_wh: Mapped[int] = uint256()
    refunded_escrow: Mapped[int] = uint256()


class Fill(EventRow):
    """OrdersMatched (both order ids) and OrderTaken (the taken order's id on its side). Buyer and
    seller are resolved from the orders when the fill is indexed."""

    __tablename__ = "trading_fill"
    transaction_id: Mapped[int] = uint256(index=True, info=WIDENED)
    buy_order_id: Mapped[int | None] = uint256(index=True, info=WIDENED)
    sell_order_id: Mapped[int | None] = uint256(index=True, info=WIDENED)
    taken_order_id: Mapped[int | None] = uint256(info=WIDENED)  # OrderTaken only
    taker: Mapped[str | None] = address()  # OrderTaken only
    buyer: Mapped[str | None] = address(index=True)
    seller: Mapped[str | None] = address(index=True)
    amount_wh: Mapped[int] = uint256()
    price_per_kwh: Mapped[int] = uint256()


class SettlementRow(EventRow):
    """TransactionSettled (status SETTLED) and TransactionVoided (status VOIDED)."""

    __tablename__ = "trading_settlement"
    transaction_id: Mapped[int] = uint256(index=True, info=WIDENED)
    status: Mapped[str] = mapped_column(String(16))
    buyer: Mapped[str] = address()
    seller: Mapped[str] = address()
    amount_wh: Mapped[int] = uint256()
    payment: Mapped[int | None] = uint256()
    fee: Mapped[int | None] = uint256()
    buyer_refund: Mapped[int | None] = uint256()
    returned_payment: Mapped[int | None] = uint256()  # voided only


# ---------------------------------------------------------------- SmartMeter


class MeterRegistered(EventRow):
    __tablename__ = "meter_registered"
    meter: Mapped[str] = address(index=True)
    owner: Mapped[str] = address(index=True)
    region_id: Mapped[int] = int64()
    consumption_register_wh: Mapped[int] = uint256()
    production_register_wh: Mapped[int] = uint256()


class MeterStatusChanged(EventRow):
    """MeterDeactivated (active False) and MeterReactivated (active True)."""

    __tablename__ = "meter_status_changed"
    meter: Mapped[str] = address(index=True)
    active: Mapped[bool] = mapped_column(Boolean)


class ReadingAccepted(EventRow):
    """Interval energy: what the meter's registers rose by since its previous reading."""

    __tablename__ = "meter_reading"
    __table_args__ = (
        _one_row_per_log("meter_reading"),
        Index("ix_meter_reading_meter_time", "meter", "reading_timestamp_s"),
        Index("ix_meter_reading_time", "reading_timestamp_s"),
    )
    meter: Mapped[str] = address()
    reading_timestamp_s: Mapped[int] = uint256(info=WIDENED)
    consumption_wh: Mapped[int] = uint256()
    production_wh: Mapped[int] = uint256()


# ---------------------------------------------------------------- grid


class GridStatusUpdated(EventRow):
    __tablename__ = "grid_status_updated"
    operator: Mapped[str] = address()
    supply_w: Mapped[int] = uint256()
    demand_w: Mapped[int] = uint256()
    frequency_millihz: Mapped[int] = uint256()
    voltage_per_mille: Mapped[int] = uint256()


class EmergencyModeChanged(EventRow):
    """A region's emergency mode switched on or off."""

    __tablename__ = "grid_emergency_mode_changed"
    # Rows indexed before emergencies were regional were grid-wide switches: region 0 marks them.
    region_id: Mapped[int] = mapped_column(BigInteger, index=True, server_default="0", info=added_in("0003_emergency_region"))
    active: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = address()


class LoadReported(RegionReport):
    """GridOperations' load report of a region."""

    __tablename__ = "grid_load_reported"
    operator: Mapped[str] = address()
    sequence: Mapped[int] = uint256()
    # kW; rows indexed before the grid reported kW carried MW and were converted (× 1,000).
    capacity_kw: Mapped[int] = mapped_column(Uint256, info=renamed_in(GRID_POWER_KW_REVISION, "capacity_mw"))
    demand_kw: Mapped[int] = mapped_column(Uint256, info=renamed_in(GRID_POWER_KW_REVISION, "demand_mw"))
    load_percentage: Mapped[int] = uint256()
    status: Mapped[int] = mapped_column(SmallInteger)  # LoadStatus


class GridDataUpdated(RegionReport):
    """GridOracle's aggregate (median of reporters) for a region."""

    __tablename__ = "oracle_grid_data_updated"
    frequency_millihz: Mapped[int] = uint256()
    voltage_per_mille: Mapped[int] = uint256()
    supply_w: Mapped[int] = uint256()
    demand_w: Mapped[int] = uint256()
    report_count: Mapped[int] = uint256()


# ---------------------------------------------------------------- EnergyAuction


class AuctionOrderSubmitted(EventRow):
    __tablename__ = "auction_order_submitted"
    order_id: Mapped[int] = uint256(index=True)  # period << 192 | side << 191 | place << 160 | trader: above 2^63
    period: Mapped[int] = uint256(info=WIDENED)
    trader: Mapped[str] = address(index=True)
    is_bid: Mapped[bool] = mapped_column(Boolean)
    amount_wh: Mapped[int] = uint256()
    limit_price_per_kwh: Mapped[int] = uint256()
    escrow: Mapped[int] = uint256()


class AuctionMarketCleared(EventRow):
    __tablename__ = "auction_market_cleared"
    period: Mapped[int] = uint256(index=True, info=WIDENED)
    clearing_tick: Mapped[int] = uint256()
    clearing_price_per_kwh: Mapped[int] = uint256()
    volume_wh: Mapped[int] = uint256()
    long_side: Mapped[int] = mapped_column(SmallInteger)
    marginal_tick: Mapped[int] = uint256()
    rationed_wh: Mapped[int] = uint256()
    marginal_level_wh: Mapped[int] = uint256()
    fee_bps: Mapped[int] = uint256()


class AuctionOrderClaimed(EventRow):
    __tablename__ = "auction_order_claimed"
    order_id: Mapped[int] = uint256(index=True)  # period << 192 | side << 191 | place << 160 | trader: above 2^63
    trader: Mapped[str] = address()
    is_bid: Mapped[bool] = mapped_column(Boolean)
    filled_wh: Mapped[int] = uint256()
    payment: Mapped[int] = uint256()
    fee: Mapped[int] = uint256()
    refund: Mapped[int] = uint256()


class MeteredOrdersSettled(EventRow):
    """A meter's standing orders of one interval settled (IMeteredMarket.MeteredOrdersSettled)."""

    __tablename__ = "metered_orders_settled"
    meter: Mapped[str] = address(index=True)
    period: Mapped[int] = uint256(info=WIDENED)
    ask_wh: Mapped[int] = uint256()
    sold_wh: Mapped[int] = uint256()
    proceeds: Mapped[int] = uint256()
    bid_wh: Mapped[int] = uint256()
    bought_wh: Mapped[int] = uint256()
    paid: Mapped[int] = uint256()

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (_one_row_per_log(cls.__tablename__), {"info": added_in(METERED_ORDERS_REVISION)})


class ZoneCleared(EventRow):
    """A zone's result in a market cleared across zones (IMarketZones.ZoneCleared)."""

    __tablename__ = "zone_cleared"
    period: Mapped[int] = uint256(index=True, info=WIDENED)
    zone: Mapped[int] = uint256(info=WIDENED)
    clearing_tick: Mapped[int] = uint256()
    clearing_price_per_kwh: Mapped[int] = uint256()
    net_export_wh: Mapped[int] = int256(info=WIDENED)  # negative when the zone imported
    # ZoneRole: 0 COUPLED, 1 EXPORT_BOUND, 2 IMPORT_BOUND; None in rows indexed before the event named it.
    role: Mapped[int | None] = mapped_column(SmallInteger, info=added_in(ZONE_ROLES_REVISION))

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (_one_row_per_log(cls.__tablename__), {"info": added_in(ZONES_REVISION)})


class LinkLimitsSet(EventRow):
    """A region's operator limited its zone's link for coming periods (IMarketZones.LinkLimitsSet)."""

    __tablename__ = "link_limits_set"
    region_id: Mapped[int] = int64(index=True)
    first_period: Mapped[int] = uint256(info=WIDENED)
    period_count: Mapped[int] = uint256(info=WIDENED)
    import_limit_kw: Mapped[int] = uint256()
    export_limit_kw: Mapped[int] = uint256()
    operator: Mapped[str] = address()

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (_one_row_per_log(cls.__tablename__), {"info": added_in(ZONES_REVISION)})


class ZoneAdded(EventRow):
    """The admin added a region as a zone of the market, rated at its transformer's capacity
    (IMarketZones.ZoneAdded): how a zone's number names its region."""

    __tablename__ = "zone_added"
    region_id: Mapped[int] = int64(index=True)
    zone: Mapped[int] = uint256(info=WIDENED)
    rating_kw: Mapped[int] = uint256()  # NO_LIMIT (2^64 - 1) when the grid reported no capacity

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (_one_row_per_log(cls.__tablename__), {"info": added_in(ZONE_LINKS_REVISION)})


class ZoneRatingUpdated(EventRow):
    """A zone's link was rated again from the grid's latest load report, from `from_period` on
    (IMarketZones.ZoneRatingUpdated)."""

    __tablename__ = "zone_rating_updated"
    region_id: Mapped[int] = int64(index=True)
    rating_kw: Mapped[int] = uint256()
    from_period: Mapped[int] = uint256(info=WIDENED)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (_one_row_per_log(cls.__tablename__), {"info": added_in(ZONE_LINKS_REVISION)})


# ---------------------------------------------------------------- ForecastLedger


class ForecastCommitted(RegionReport):
    """A region's operator committed its forecast of the region's net import (consumption − production
    over its meters, Wh per 900 s interval, negative while the feeder exports) for the intervals from
    `first_interval` (IForecastLedger.ForecastCommitted). The three vectors are kept whole, one entry
    per interval of the window (at most a day's 96): one row per log, as every event row, so a replayed
    or rolled back range never splits a forecast."""

    __tablename__ = "forecast_committed"
    first_interval: Mapped[int] = uint256(index=True)  # unix s / 900
    operator: Mapped[str] = address()
    forecast_hash: Mapped[str] = mapped_column(Hash32)  # keccak256(abi.encode(p10Wh, p50Wh, p90Wh))
    p10_wh: Mapped[list[int]] = mapped_column(JSON)
    p50_wh: Mapped[list[int]] = mapped_column(JSON)
    p90_wh: Mapped[list[int]] = mapped_column(JSON)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (_one_row_per_log(cls.__tablename__), {"info": added_in(FORECASTS_REVISION)})


class ForecastScored(RegionReport):
    """A region's forecast scored against its meters' tally (IForecastLedger.ForecastScored): intervals
    within [P10, P90], above P90, and each quantile's pinball loss summed over the window."""

    __tablename__ = "forecast_scored"
    first_interval: Mapped[int] = uint256(index=True)
    scorer: Mapped[str] = address()
    interval_count: Mapped[int] = uint256()
    covered_intervals: Mapped[int] = uint256()
    exceeded_p90_intervals: Mapped[int] = uint256()
    pinball_p10_wh: Mapped[int] = uint256()
    pinball_p50_wh: Mapped[int] = uint256()
    pinball_p90_wh: Mapped[int] = uint256()
    meters_tallied: Mapped[int] = uint256()

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (_one_row_per_log(cls.__tablename__), {"info": added_in(FORECASTS_REVISION)})


# ---------------------------------------------------------------- DemandResponse


class DemandEventStarted(DemandEventRow):
    __tablename__ = "dr_event_started"
    operator: Mapped[str] = address()
    # Rows indexed before events named their region have none on chain: region 0 marks them.
    region_id: Mapped[int] = mapped_column(BigInteger, server_default="0", info=added_in("0002_dr_event_region"))
    target_reduction_kw: Mapped[int] = uint256()
    reward_per_kw: Mapped[int] = uint256()
    start_time_s: Mapped[int] = uint256(info=WIDENED)
    end_time_s: Mapped[int] = uint256(info=WIDENED)
    budget: Mapped[int] = uint256()


class DemandEventEnded(DemandEventRow):
    """EventCompleted (status COMPLETED) and EventCancelled (status CANCELLED)."""

    __tablename__ = "dr_event_ended"
    status: Mapped[str] = mapped_column(String(16))
    refund: Mapped[int] = uint256()


class DemandEventJoined(DemandEventRow):
    __tablename__ = "dr_event_joined"
    consumer: Mapped[str] = address()
    participation_id: Mapped[int] = uint256()


class DemandReductionVerified(DemandEventRow):
    """A consumer's reduction verified from its meter (joined or enrolled by the operator), and its reward."""

    __tablename__ = "dr_reduction_verified"
    consumer: Mapped[str] = address()
    reduction_w: Mapped[int] = uint256()
    reward_amount: Mapped[int] = uint256()


# ---------------------------------------------------------------- the index's own state


class Block(Base):
    """Blocks the index holds rows of, and the last block of every indexed range: their hashes
    are what a reorganization is detected by."""

    __tablename__ = "index_block"
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    timestamp_s: Mapped[int] = int64()


class Cursor(Base):
    """One row: the chain followed and the last block indexed (-1: none yet)."""

    __tablename__ = "index_cursor"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    chain_id: Mapped[int] = int64()
    block_number: Mapped[int] = int64()


EVENT_TABLES: tuple[type[EventRow], ...] = (
    OrderCreated,
    OrderClosed,
    Fill,
    SettlementRow,
    MeterRegistered,
    MeterStatusChanged,
    ReadingAccepted,
    GridStatusUpdated,
    EmergencyModeChanged,
    LoadReported,
    GridDataUpdated,
    AuctionOrderSubmitted,
    AuctionMarketCleared,
    AuctionOrderClaimed,
    MeteredOrdersSettled,
    ZoneCleared,
    LinkLimitsSet,
    ZoneAdded,
    ZoneRatingUpdated,
    ForecastCommitted,
    ForecastScored,
    DemandEventStarted,
    DemandEventEnded,
    DemandEventJoined,
    DemandReductionVerified,
)
