"""The event index's tables: one per event kind, its blocks and its cursor.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from energy_grid.index.types import Uint256

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:  # noqa: PLR0915 (one statement per table and index)
    op.create_table(
        "auction_market_cleared",
        sa.Column("period", sa.BigInteger(), nullable=False),
        sa.Column("clearing_tick", Uint256(), nullable=False),
        sa.Column("clearing_price_per_kwh", Uint256(), nullable=False),
        sa.Column("volume_wh", Uint256(), nullable=False),
        sa.Column("long_side", sa.SmallInteger(), nullable=False),
        sa.Column("marginal_tick", Uint256(), nullable=False),
        sa.Column("rationed_wh", Uint256(), nullable=False),
        sa.Column("marginal_level_wh", Uint256(), nullable=False),
        sa.Column("fee_bps", Uint256(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_auction_market_cleared_log"),
    )
    with op.batch_alter_table("auction_market_cleared", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auction_market_cleared_period"), ["period"], unique=False)

    op.create_table(
        "auction_order_claimed",
        sa.Column("order_id", Uint256(), nullable=False),
        sa.Column("trader", sa.String(length=42), nullable=False),
        sa.Column("is_bid", sa.Boolean(), nullable=False),
        sa.Column("filled_wh", Uint256(), nullable=False),
        sa.Column("payment", Uint256(), nullable=False),
        sa.Column("fee", Uint256(), nullable=False),
        sa.Column("refund", Uint256(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_auction_order_claimed_log"),
    )
    with op.batch_alter_table("auction_order_claimed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auction_order_claimed_order_id"), ["order_id"], unique=False)

    op.create_table(
        "auction_order_submitted",
        sa.Column("order_id", Uint256(), nullable=False),
        sa.Column("period", sa.BigInteger(), nullable=False),
        sa.Column("trader", sa.String(length=42), nullable=False),
        sa.Column("is_bid", sa.Boolean(), nullable=False),
        sa.Column("amount_wh", Uint256(), nullable=False),
        sa.Column("limit_price_per_kwh", Uint256(), nullable=False),
        sa.Column("escrow", Uint256(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_auction_order_submitted_log"),
    )
    with op.batch_alter_table("auction_order_submitted", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auction_order_submitted_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_auction_order_submitted_trader"), ["trader"], unique=False)

    op.create_table(
        "dr_event_ended",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("refund", Uint256(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_dr_event_ended_log"),
    )
    with op.batch_alter_table("dr_event_ended", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dr_event_ended_event_id"), ["event_id"], unique=False)

    op.create_table(
        "dr_event_joined",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("consumer", sa.String(length=42), nullable=False),
        sa.Column("participation_id", Uint256(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_dr_event_joined_log"),
    )
    with op.batch_alter_table("dr_event_joined", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dr_event_joined_event_id"), ["event_id"], unique=False)

    op.create_table(
        "dr_reduction_verified",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("consumer", sa.String(length=42), nullable=False),
        sa.Column("reduction_w", Uint256(), nullable=False),
        sa.Column("reward_amount", Uint256(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_dr_reduction_verified_log"),
    )
    with op.batch_alter_table("dr_reduction_verified", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dr_reduction_verified_event_id"), ["event_id"], unique=False)

    op.create_table(
        "dr_event_started",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("operator", sa.String(length=42), nullable=False),
        sa.Column("target_reduction_kw", Uint256(), nullable=False),
        sa.Column("reward_per_kw", Uint256(), nullable=False),
        sa.Column("start_time_s", sa.BigInteger(), nullable=False),
        sa.Column("end_time_s", sa.BigInteger(), nullable=False),
        sa.Column("budget", Uint256(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_dr_event_started_log"),
    )
    with op.batch_alter_table("dr_event_started", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dr_event_started_event_id"), ["event_id"], unique=False)

    op.create_table(
        "grid_emergency_mode_changed",
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=42), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_grid_emergency_mode_changed_log"),
    )
    op.create_table(
        "grid_load_reported",
        sa.Column("region_id", sa.BigInteger(), nullable=False),
        sa.Column("operator", sa.String(length=42), nullable=False),
        sa.Column("sequence", Uint256(), nullable=False),
        sa.Column("capacity_mw", Uint256(), nullable=False),
        sa.Column("demand_mw", Uint256(), nullable=False),
        sa.Column("load_percentage", Uint256(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_grid_load_reported_log"),
    )
    with op.batch_alter_table("grid_load_reported", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_load_reported_region_id"), ["region_id"], unique=False)

    op.create_table(
        "grid_status_updated",
        sa.Column("operator", sa.String(length=42), nullable=False),
        sa.Column("supply_w", Uint256(), nullable=False),
        sa.Column("demand_w", Uint256(), nullable=False),
        sa.Column("frequency_millihz", Uint256(), nullable=False),
        sa.Column("voltage_per_mille", Uint256(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_grid_status_updated_log"),
    )
    op.create_table(
        "index_block",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "index_cursor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "meter_reading",
        sa.Column("meter", sa.String(length=42), nullable=False),
        sa.Column("reading_timestamp_s", sa.BigInteger(), nullable=False),
        sa.Column("consumption_wh", Uint256(), nullable=False),
        sa.Column("production_wh", Uint256(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_meter_reading_log"),
    )
    with op.batch_alter_table("meter_reading", schema=None) as batch_op:
        batch_op.create_index("ix_meter_reading_meter_time", ["meter", "reading_timestamp_s"], unique=False)
        batch_op.create_index("ix_meter_reading_time", ["reading_timestamp_s"], unique=False)

    op.create_table(
        "meter_registered",
        sa.Column("meter", sa.String(length=42), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=False),
        sa.Column("region_id", sa.BigInteger(), nullable=False),
        sa.Column("consumption_register_wh", Uint256(), nullable=False),
        sa.Column("production_register_wh", Uint256(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_meter_registered_log"),
    )
    with op.batch_alter_table("meter_registered", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meter_registered_meter"), ["meter"], unique=False)
        batch_op.create_index(batch_op.f("ix_meter_registered_owner"), ["owner"], unique=False)

    op.create_table(
        "meter_status_changed",
        sa.Column("meter", sa.String(length=42), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_meter_status_changed_log"),
    )
    with op.batch_alter_table("meter_status_changed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meter_status_changed_meter"), ["meter"], unique=False)

    op.create_table(
        "oracle_grid_data_updated",
        sa.Column("region_id", sa.BigInteger(), nullable=False),
        sa.Column("frequency_millihz", Uint256(), nullable=False),
        sa.Column("voltage_per_mille", Uint256(), nullable=False),
        sa.Column("supply_w", Uint256(), nullable=False),
        sa.Column("demand_w", Uint256(), nullable=False),
        sa.Column("report_count", Uint256(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_oracle_grid_data_updated_log"),
    )
    with op.batch_alter_table("oracle_grid_data_updated", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oracle_grid_data_updated_region_id"), ["region_id"], unique=False)

    op.create_table(
        "trading_fill",
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("buy_order_id", sa.BigInteger(), nullable=True),
        sa.Column("sell_order_id", sa.BigInteger(), nullable=True),
        sa.Column("taken_order_id", sa.BigInteger(), nullable=True),
        sa.Column("taker", sa.String(length=42), nullable=True),
        sa.Column("buyer", sa.String(length=42), nullable=True),
        sa.Column("seller", sa.String(length=42), nullable=True),
        sa.Column("amount_wh", Uint256(), nullable=False),
        sa.Column("price_per_kwh", Uint256(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_trading_fill_log"),
    )
    with op.batch_alter_table("trading_fill", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trading_fill_buy_order_id"), ["buy_order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_trading_fill_buyer"), ["buyer"], unique=False)
        batch_op.create_index(batch_op.f("ix_trading_fill_sell_order_id"), ["sell_order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_trading_fill_seller"), ["seller"], unique=False)
        batch_op.create_index(batch_op.f("ix_trading_fill_transaction_id"), ["transaction_id"], unique=False)

    op.create_table(
        "trading_order_closed",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("trader", sa.String(length=42), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("unfilled_wh", Uint256(), nullable=False),
        sa.Column("refunded_escrow", Uint256(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_trading_order_closed_log"),
    )
    with op.batch_alter_table("trading_order_closed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trading_order_closed_order_id"), ["order_id"], unique=False)

    op.create_table(
        "trading_order_created",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("trader", sa.String(length=42), nullable=False),
        sa.Column("side", sa.SmallInteger(), nullable=False),
        sa.Column("amount_wh", Uint256(), nullable=False),
        sa.Column("price_per_kwh", Uint256(), nullable=False),
        sa.Column("expiry_s", sa.BigInteger(), nullable=False),
        sa.Column("counterparty", sa.String(length=42), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_trading_order_created_log"),
    )
    with op.batch_alter_table("trading_order_created", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trading_order_created_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_trading_order_created_trader"), ["trader"], unique=False)

    op.create_table(
        "trading_settlement",
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("buyer", sa.String(length=42), nullable=False),
        sa.Column("seller", sa.String(length=42), nullable=False),
        sa.Column("amount_wh", Uint256(), nullable=False),
        sa.Column("payment", Uint256(), nullable=True),
        sa.Column("fee", Uint256(), nullable=True),
        sa.Column("buyer_refund", Uint256(), nullable=True),
        sa.Column("returned_payment", Uint256(), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_trading_settlement_log"),
    )
    with op.batch_alter_table("trading_settlement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trading_settlement_transaction_id"), ["transaction_id"], unique=False)


def downgrade() -> None:  # noqa: PLR0915
    with op.batch_alter_table("trading_settlement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trading_settlement_transaction_id"))

    op.drop_table("trading_settlement")
    with op.batch_alter_table("trading_order_created", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trading_order_created_trader"))
        batch_op.drop_index(batch_op.f("ix_trading_order_created_order_id"))

    op.drop_table("trading_order_created")
    with op.batch_alter_table("trading_order_closed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trading_order_closed_order_id"))

    op.drop_table("trading_order_closed")
    with op.batch_alter_table("trading_fill", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trading_fill_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_trading_fill_seller"))
        batch_op.drop_index(batch_op.f("ix_trading_fill_sell_order_id"))
        batch_op.drop_index(batch_op.f("ix_trading_fill_buyer"))
        batch_op.drop_index(batch_op.f("ix_trading_fill_buy_order_id"))

    op.drop_table("trading_fill")
    with op.batch_alter_table("oracle_grid_data_updated", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oracle_grid_data_updated_region_id"))

    op.drop_table("oracle_grid_data_updated")
    with op.batch_alter_table("meter_status_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meter_status_changed_meter"))

    op.drop_table("meter_status_changed")
    with op.batch_alter_table("meter_registered", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meter_registered_owner"))
        batch_op.drop_index(batch_op.f("ix_meter_registered_meter"))

    op.drop_table("meter_registered")
    with op.batch_alter_table("meter_reading", schema=None) as batch_op:
        batch_op.drop_index("ix_meter_reading_time")
        batch_op.drop_index("ix_meter_reading_meter_time")

    op.drop_table("meter_reading")
    op.drop_table("index_cursor")
    op.drop_table("index_block")
    op.drop_table("grid_status_updated")
    with op.batch_alter_table("grid_load_reported", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_load_reported_region_id"))

    op.drop_table("grid_load_reported")
    op.drop_table("grid_emergency_mode_changed")
    with op.batch_alter_table("dr_event_started", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dr_event_started_event_id"))

    op.drop_table("dr_event_started")
    with op.batch_alter_table("dr_event_joined", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dr_event_joined_event_id"))

    op.drop_table("dr_event_joined")
    with op.batch_alter_table("dr_reduction_verified", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dr_reduction_verified_event_id"))

    op.drop_table("dr_reduction_verified")
    with op.batch_alter_table("dr_event_ended", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dr_event_ended_event_id"))

    op.drop_table("dr_event_ended")
    with op.batch_alter_table("auction_order_submitted", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auction_order_submitted_trader"))
        batch_op.drop_index(batch_op.f("ix_auction_order_submitted_order_id"))

    op.drop_table("auction_order_submitted")
    with op.batch_alter_table("auction_order_claimed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auction_order_claimed_order_id"))

    op.drop_table("auction_order_claimed")
    with op.batch_alter_table("auction_market_cleared", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auction_market_cleared_period"))

    op.drop_table("auction_market_cleared")
