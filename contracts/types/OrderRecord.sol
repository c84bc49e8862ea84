// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyTrading} from "../market/IEnergyTrading.sol";
import {OrderId} from "./OrderId.sol";

/// @dev An order in EnergyTrading, packed into one storage slot. The fields from the low bits up, with
/// their widths in bits:
///   traderIndex   32  The trader's index among EnergyTrading's trader records. Zero means no order.
///   pricePerKWh   64  The limit price.
///   amountWh      40
///   filledWh      40
///   expiry        32  Unix seconds, which fit until 2106. The order trades while block.timestamp
///                     is below expiry.
///   link          32  For an undirected order, the next order in its price level's queue, or zero
///                     for the last. For a directed order, the trader index of the only account it
///                     trades with. A directed order never rests in a level, so one field serves both.
///   paymentCarry  10  For a BUY order, the sum of fillWh * tradePrice modulo 1000 (see OrderMath).
///   orderType      1
///   status         2
///   directed       1
/// A new order writes one fresh slot, and every later write rewrites that one slot whole.
type OrderRecord is uint256;

/// @dev An order's fields unpacked into whole words in memory. `unpack` reads them from the record and
/// `pack` writes them back whole, because masking each field on every use would take longer code.
struct StoredOrder {
    uint256 traderIndex;
    uint256 pricePerKWh;
    uint256 amountWh;
    uint256 filledWh;
    uint256 expiry;
    OrderId nextInLevel; // Used by undirected orders only.
    uint256 counterpartyIndex; // Used by directed orders only.
    uint256 paymentCarry;
    IEnergyTrading.OrderType orderType;
    IEnergyTrading.OrderStatus status;
    bool directed;
}

using OrderRecordLibrary for OrderRecord global;
using OrderRecordLibrary for StoredOrder global;

/// @title OrderRecordLibrary
/// @notice Packs an order into its record and back. It also reads the few fields that a walk along a
/// price level's queue needs, without unpacking the rest.
library OrderRecordLibrary {
    uint256 private constant PRICE_OFFSET = 32;
    uint256 private constant AMOUNT_OFFSET = 96;
    uint256 private constant FILLED_OFFSET = 136;
    uint256 private constant EXPIRY_OFFSET = 176;
    uint256 private constant LINK_OFFSET = 208;
    uint256 private constant PAYMENT_CARRY_OFFSET = 240;
    uint256 private constant ORDER_TYPE_OFFSET = 250;
    uint256 private constant STATUS_OFFSET = 251;
    uint256 private constant DIRECTED_OFFSET = 253;
    uint256 private constant PAYMENT_CARRY_MASK = 0x3ff;
    uint256 private constant STATUS_MASK = 3;
    uint256 private constant LINK_MASK = uint256(type(uint32).max) << LINK_OFFSET;

    // ---- Whole order ----

    /// @notice Returns the record of `o`. Every field must fit its width: amounts below 2^40, prices
    /// below 2^64, expiries below 2^32, indexes below 2^32 and the carry below 1,000. Nothing is
    /// checked here.
    /// @param o The order's fields.
    function pack(StoredOrder memory o) internal pure returns (OrderRecord) {
        uint256 link = o.directed ? o.counterpartyIndex : OrderId.unwrap(o.nextInLevel);
        return OrderRecord.wrap(
            o.traderIndex | (o.pricePerKWh << PRICE_OFFSET) | (o.amountWh << AMOUNT_OFFSET)
                | (o.filledWh << FILLED_OFFSET) | (o.expiry << EXPIRY_OFFSET) | (link << LINK_OFFSET)
                | (o.paymentCarry << PAYMENT_CARRY_OFFSET) | (uint256(o.orderType) << ORDER_TYPE_OFFSET)
                | (uint256(o.status) << STATUS_OFFSET) | (o.directed ? 1 << DIRECTED_OFFSET : 0)
        );
    }

    /// @notice Returns the fields of `record`. They are all zero for a slot that holds no order.
    /// @param record The order's record.
    function unpack(OrderRecord record) internal pure returns (StoredOrder memory o) {
        uint256 word = OrderRecord.unwrap(record);
        o.traderIndex = uint32(word);
        o.pricePerKWh = uint64(word >> PRICE_OFFSET);
        o.amountWh = uint40(word >> AMOUNT_OFFSET);
        o.filledWh = uint40(word >> FILLED_OFFSET);
        o.expiry = uint32(word >> EXPIRY_OFFSET);
        o.paymentCarry = (word >> PAYMENT_CARRY_OFFSET) & PAYMENT_CARRY_MASK;
        o.orderType = IEnergyTrading.OrderType((word >> ORDER_TYPE_OFFSET) & 1);
        o.status = IEnergyTrading.OrderStatus((word >> STATUS_OFFSET) & STATUS_MASK);
        o.directed = (word >> DIRECTED_OFFSET) & 1 != 0;
        // The link is read here directly rather than through nextInLevel, because an order is unpacked
        // on every trade and the extra call would cost each of them.
        if (o.directed) o.counterpartyIndex = uint32(word >> LINK_OFFSET);
        else o.nextInLevel = OrderId.wrap(uint32(word >> LINK_OFFSET));
    }

    // ---- Single fields ----

    /// @notice Returns the trader's index, which is zero when the slot holds no order.
    /// @param record The order's record.
    function traderIndex(OrderRecord record) internal pure returns (uint256) {
        return uint32(OrderRecord.unwrap(record));
    }

    /// @notice Returns the limit price, in PaymentToken base units per kWh.
    /// @param record The order's record.
    function pricePerKWh(OrderRecord record) internal pure returns (uint256) {
        return uint64(OrderRecord.unwrap(record) >> PRICE_OFFSET);
    }

    /// @notice Returns the order's status: ACTIVE, FILLED or CANCELLED.
    /// @param record The order's record.
    function status(OrderRecord record) internal pure returns (IEnergyTrading.OrderStatus) {
        return IEnergyTrading.OrderStatus((OrderRecord.unwrap(record) >> STATUS_OFFSET) & STATUS_MASK);
    }

    /// @notice Returns the next order in the queue of an undirected order's price level, or NO_ORDER
    /// when the order is the last.
    /// @param record The order's record (undirected).
    function nextInLevel(OrderRecord record) internal pure returns (OrderId) {
        return OrderId.wrap(uint32(OrderRecord.unwrap(record) >> LINK_OFFSET));
    }

    /// @notice Returns whether the order can still trade, which means it is ACTIVE and not expired. The
    /// record alone tells whether a queue entry is dead, so skipping a dead entry costs one storage read.
    /// @param record The order's record.
    function isLive(OrderRecord record) internal view returns (bool) {
        return status(record) == IEnergyTrading.OrderStatus.ACTIVE
            && block.timestamp < uint32(OrderRecord.unwrap(record) >> EXPIRY_OFFSET);
    }

    /// @notice Returns `record` with its queue link pointing at `nextId` and every other field unchanged.
    /// @param record The order's record (undirected).
    /// @param nextId The order that follows it in its price level's queue, or NO_ORDER for none.
    function withNextInLevel(OrderRecord record, OrderId nextId) internal pure returns (OrderRecord) {
        return OrderRecord.wrap(
            (OrderRecord.unwrap(record) & ~LINK_MASK) | (uint256(OrderId.unwrap(nextId)) << LINK_OFFSET)
        );
    }
}
