"""The index's tables: one append-only table per event (or per pair of closely related events),
the blocks the index has seen and its cursor. State (an order's fill, a meter's activity, the grid's
latest status) is derived in queries, so rolling back a reorganized block is a DELETE of the rows
above the fork.

Every event row keeps where it came from: block number, log index (unique together, so a replayed
range never duplicates a row), transaction hash and the block's timestamp (unix s).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from energy_grid.index.types import Uint256

ADDRESS_LENGTH = 42
HASH_LENGTH = 66
# SQLite makes only an INTEGER PRIMARY KEY an auto-increment row id.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class EventRow(Base):
    """The columns every event row has."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    timestamp_s: Mapped[int] = mapped_column(BigInteger)  # the block's

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (UniqueConstraint("block_number", "log_index", name=f"uq_{cls.__tablename__}_log"),)


# ---------------------------------------------------------------- EnergyTrading (and Settlement)


class OrderCreated(EventRow):
    __tablename__ = "trading_order_created"
    order_id: Mapped[int] = mapped_column(BigInteger, index=True)
    trader: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), index=True)
    side: Mapped[int] = mapped_column(SmallInteger)  # OrderType: 0 BUY, 1 SELL
    amount_wh: Mapped[int] = mapped_column(Uint256)
    price_per_kwh: Mapped[int] = mapped_column(Uint256)
    expiry_s: Mapped[int] = mapped_column(BigInteger)
    counterparty: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH))  # None: open to anyone


class OrderClosed(EventRow):
    """OrderCancelled (reason CANCELLED) and ExpiredOrderReleased (reason RELEASED)."""

    __tablename__ = "trading_order_closed"
    order_id: Mapped[int] = mapped_column(BigInteger, index=True)
    trader: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    reason: Mapped[str] = mapped_column(String(16))
    unfilled_wh: Mapped[int] = mapped_column(Uint256)
    refunded_escrow: Mapped[int] = mapped_column(Uint256)


class Fill(EventRow):
    """OrdersMatched (both order ids) and OrderTaken (the taken order's id on its side). Buyer and
    seller are resolved from the orders when the fill is indexed."""

    __tablename__ = "trading_fill"
    transaction_id: Mapped[int] = mapped_column(BigInteger, index=True)
    buy_order_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    sell_order_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    taken_order_id: Mapped[int | None] = mapped_column(BigInteger)  # OrderTaken only
    taker: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH))  # OrderTaken only
    buyer: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH), index=True)
    seller: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH), index=True)
    amount_wh: Mapped[int] = mapped_column(Uint256)
    price_per_kwh: Mapped[int] = mapped_column(Uint256)


class SettlementRow(EventRow):
    """TransactionSettled (status SETTLED) and TransactionVoided (status VOIDED)."""

    __tablename__ = "trading_settlement"
    transaction_id: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(16))
    buyer: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    seller: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    amount_wh: Mapped[int] = mapped_column(Uint256)
    payment: Mapped[int | None] = mapped_column(Uint256)
    fee: Mapped[int | None] = mapped_column(Uint256)
    buyer_refund: Mapped[int | None] = mapped_column(Uint256)
    returned_payment: Mapped[int | None] = mapped_column(Uint256)  # voided only


# ---------------------------------------------------------------- SmartMeter


class MeterRegistered(EventRow):
    __tablename__ = "meter_registered"
    meter: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), index=True)
    owner: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), index=True)
    region_id: Mapped[int] = mapped_column(BigInteger)
    consumption_register_wh: Mapped[int] = mapped_column(Uint256)
    production_register_wh: Mapped[int] = mapped_column(Uint256)


class MeterStatusChanged(EventRow):
    """MeterDeactivated (active False) and MeterReactivated (active True)."""

    __tablename__ = "meter_status_changed"
    meter: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), index=True)
    active: Mapped[bool] = mapped_column(Boolean)


class ReadingAccepted(EventRow):
    """Interval energy: what the meter's registers rose by since its previous reading."""

    __tablename__ = "meter_reading"
    __table_args__ = (
        UniqueConstraint("block_number", "log_index", name="uq_meter_reading_log"),
        Index("ix_meter_reading_meter_time", "meter", "reading_timestamp_s"),
        Index("ix_meter_reading_time", "reading_timestamp_s"),
    )
    meter: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    reading_timestamp_s: Mapped[int] = mapped_column(BigInteger)
    consumption_wh: Mapped[int] = mapped_column(Uint256)
    production_wh: Mapped[int] = mapped_column(Uint256)


# ---------------------------------------------------------------- grid


class GridStatusUpdated(EventRow):
    __tablename__ = "grid_status_updated"
    operator: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    supply_w: Mapped[int] = mapped_column(Uint256)
    demand_w: Mapped[int] = mapped_column(Uint256)
    frequency_millihz: Mapped[int] = mapped_column(Uint256)
    voltage_per_mille: Mapped[int] = mapped_column(Uint256)


class EmergencyModeChanged(EventRow):
    """A region's emergency mode switched on or off."""

    __tablename__ = "grid_emergency_mode_changed"
    region_id: Mapped[int] = mapped_column(BigInteger, index=True)
    active: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))


class LoadReported(EventRow):
    """GridOperations' load report of a region."""

    __tablename__ = "grid_load_reported"
    region_id: Mapped[int] = mapped_column(BigInteger, index=True)
    operator: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    sequence: Mapped[int] = mapped_column(Uint256)
    capacity_mw: Mapped[int] = mapped_column(Uint256)
    demand_mw: Mapped[int] = mapped_column(Uint256)
    load_percentage: Mapped[int] = mapped_column(Uint256)
    status: Mapped[int] = mapped_column(SmallInteger)  # LoadStatus


class GridDataUpdated(EventRow):
    """GridOracle's aggregate (median of reporters) for a region."""

    __tablename__ = "oracle_grid_data_updated"
    region_id: Mapped[int] = mapped_column(BigInteger, index=True)
    frequency_millihz: Mapped[int] = mapped_column(Uint256)
    voltage_per_mille: Mapped[int] = mapped_column(Uint256)
    supply_w: Mapped[int] = mapped_column(Uint256)
    demand_w: Mapped[int] = mapped_column(Uint256)
    report_count: Mapped[int] = mapped_column(Uint256)


# ---------------------------------------------------------------- EnergyAuction


class AuctionOrderSubmitted(EventRow):
    __tablename__ = "auction_order_submitted"
    order_id: Mapped[int] = mapped_column(Uint256, index=True)  # period << 64 | sequence: above 2^63
    period: Mapped[int] = mapped_column(BigInteger)
    trader: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), index=True)
    is_bid: Mapped[bool] = mapped_column(Boolean)
    amount_wh: Mapped[int] = mapped_column(Uint256)
    limit_price_per_kwh: Mapped[int] = mapped_column(Uint256)
    escrow: Mapped[int] = mapped_column(Uint256)


class AuctionMarketCleared(EventRow):
    __tablename__ = "auction_market_cleared"
    period: Mapped[int] = mapped_column(BigInteger, index=True)
    clearing_tick: Mapped[int] = mapped_column(Uint256)
    clearing_price_per_kwh: Mapped[int] = mapped_column(Uint256)
    volume_wh: Mapped[int] = mapped_column(Uint256)
    long_side: Mapped[int] = mapped_column(SmallInteger)
    marginal_tick: Mapped[int] = mapped_column(Uint256)
    rationed_wh: Mapped[int] = mapped_column(Uint256)
    marginal_level_wh: Mapped[int] = mapped_column(Uint256)
    fee_bps: Mapped[int] = mapped_column(Uint256)


class AuctionOrderClaimed(EventRow):
    __tablename__ = "auction_order_claimed"
    order_id: Mapped[int] = mapped_column(Uint256, index=True)  # period << 64 | sequence: above 2^63
    trader: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    is_bid: Mapped[bool] = mapped_column(Boolean)
    filled_wh: Mapped[int] = mapped_column(Uint256)
    payment: Mapped[int] = mapped_column(Uint256)
    fee: Mapped[int] = mapped_column(Uint256)
    refund: Mapped[int] = mapped_column(Uint256)


# ---------------------------------------------------------------- DemandResponse


class DemandEventStarted(EventRow):
    __tablename__ = "dr_event_started"
    event_id: Mapped[int] = mapped_column(BigInteger, index=True)
    operator: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    region_id: Mapped[int] = mapped_column(BigInteger)
    target_reduction_kw: Mapped[int] = mapped_column(Uint256)
    reward_per_kw: Mapped[int] = mapped_column(Uint256)
    start_time_s: Mapped[int] = mapped_column(BigInteger)
    end_time_s: Mapped[int] = mapped_column(BigInteger)
    budget: Mapped[int] = mapped_column(Uint256)


class DemandEventEnded(EventRow):
    """EventCompleted (status COMPLETED) and EventCancelled (status CANCELLED)."""

    __tablename__ = "dr_event_ended"
    event_id: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(16))
    refund: Mapped[int] = mapped_column(Uint256)


class DemandEventJoined(EventRow):
    __tablename__ = "dr_event_joined"
    event_id: Mapped[int] = mapped_column(BigInteger, index=True)
    consumer: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    participation_id: Mapped[int] = mapped_column(Uint256)


class DemandReductionVerified(EventRow):
    """A consumer's reduction verified from its meter (joined or enrolled by the operator), and its reward."""

    __tablename__ = "dr_reduction_verified"
    event_id: Mapped[int] = mapped_column(BigInteger, index=True)
    consumer: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    reduction_w: Mapped[int] = mapped_column(Uint256)
    reward_amount: Mapped[int] = mapped_column(Uint256)


# ---------------------------------------------------------------- the index's own state


class Block(Base):
    """Blocks the index holds rows of, and the last block of every indexed range: their hashes
    are what a reorganization is detected by."""

    __tablename__ = "index_block"
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    timestamp_s: Mapped[int] = mapped_column(BigInteger)


class Cursor(Base):
    """One row: the chain followed and the last block indexed (-1: none yet)."""

    __tablename__ = "index_cursor"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)


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
    DemandEventStarted,
    DemandEventEnded,
    DemandEventJoined,
    DemandReductionVerified,
)
