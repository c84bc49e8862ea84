// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev An auction order packed into one storage word, so that the auction reads and writes an order
/// as a single slot. The fields, from the lowest bit:
/// - bits 0-63: the period of the order's market. Zero means the place has never been used.
/// - bits 64-103: amountWh, the most energy the order trades.
/// - bits 104-143: volumeBeforeWh, the order's C(i-1), which is the volume of its side and tick that
///   was submitted before it.
/// - bits 144-151: the order's tick.
/// - bit 152: claimed, set once the order has been paid out.
/// - bits 160-239: limitPricePerKWh. Keeping the limit price here lets a bid's claim find its escrow
///   without reading the market's price grid.
/// - bits 240-247: the zone the order trades in (0 for the bus), so that its claim reads its zone's result.
type AuctionOrder is uint256;

using AuctionOrderLibrary for AuctionOrder global;

/// @title AuctionOrderLibrary
/// @notice Packs and reads an auction order's one storage word.
/// @dev Callers must pass values that fit their fields: a period below 2^64, volumes below 2^40, a tick
/// below 2^8 and a price below 2^80. The auction's bounds already guarantee this, so nothing here
/// checks the values again.
library AuctionOrderLibrary {
    uint256 private constant AMOUNT_SHIFT = 64;
    uint256 private constant BEFORE_SHIFT = 104;
    uint256 private constant TICK_SHIFT = 144;
    uint256 private constant CLAIMED_BIT = 1 << 152;
    uint256 private constant LIMIT_SHIFT = 160;
    uint256 private constant ZONE_SHIFT = 240;

    /// @notice Packs a new order, which starts out unclaimed.
    function pack(uint256 period_, uint256 amountWh_, uint256 volumeBeforeWh_, uint256 tick_, uint256 limitPricePerKWh_)
        internal
        pure
        returns (AuctionOrder)
    {
        return AuctionOrder.wrap(
            period_ | (amountWh_ << AMOUNT_SHIFT) | (volumeBeforeWh_ << BEFORE_SHIFT) | (tick_ << TICK_SHIFT)
                | (limitPricePerKWh_ << LIMIT_SHIFT)
        );
    }

    /// @notice Returns the period of the order's market, or zero for a place that has never been used.
    function period(AuctionOrder order) internal pure returns (uint256) {
        return uint64(AuctionOrder.unwrap(order));
    }

    /// @notice Returns the most energy the order trades, in Wh.
    function amountWh(AuctionOrder order) internal pure returns (uint256) {
        return uint40(AuctionOrder.unwrap(order) >> AMOUNT_SHIFT);
    }

    /// @notice Returns the order's C(i-1), the volume of its side and tick submitted before it, in Wh.
    function volumeBeforeWh(AuctionOrder order) internal pure returns (uint256) {
        return uint40(AuctionOrder.unwrap(order) >> BEFORE_SHIFT);
    }

    /// @notice Returns the order's tick on its market's price grid.
    function tick(AuctionOrder order) internal pure returns (uint256) {
        return uint8(AuctionOrder.unwrap(order) >> TICK_SHIFT);
    }

    /// @notice Returns whether the order has been paid out.
    function claimed(AuctionOrder order) internal pure returns (bool) {
        return AuctionOrder.unwrap(order) & CLAIMED_BIT != 0;
    }

    /// @notice Returns the order's limit price, in PaymentToken base units per kWh.
    function limitPricePerKWh(AuctionOrder order) internal pure returns (uint256) {
        return uint80(AuctionOrder.unwrap(order) >> LIMIT_SHIFT);
    }

    /// @notice Returns the order marked as paid out.
    /// @notice The zone the order trades in: 0 for the bus, which orders without a region trade in.
    function zone(AuctionOrder order) internal pure returns (uint256) {
        return AuctionOrder.unwrap(order) >> ZONE_SHIFT;
    }

    /// @notice Returns the order placed in `zone_`, which is below 256.
    function inZone(AuctionOrder order, uint256 zone_) internal pure returns (AuctionOrder) {
        return AuctionOrder.wrap(AuctionOrder.unwrap(order) | (zone_ << ZONE_SHIFT));
    }

    function markClaimed(AuctionOrder order) internal pure returns (AuctionOrder) {
        return AuctionOrder.wrap(AuctionOrder.unwrap(order) | CLAIMED_BIT);
    }
}
