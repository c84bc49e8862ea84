// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev An auction order's storage word: period (bits 0-63; 0 = a place never used), amountWh (64-103),
/// volumeBeforeWh, the order's C(i-1) (104-143), tick (144-151), claimed (bit 152) and
/// limitPricePerKWh (160-239), which lets a bid's claim find its escrow without the market's grid.
type AuctionOrder is uint256;

using AuctionOrderLibrary for AuctionOrder global;

/// @title AuctionOrderLibrary
/// @notice Packs and reads an auction order's one storage word.
/// @dev Callers pass values that fit their fields (a period below 2^64, volumes below 2^40, a tick below
/// 2^8, a price below 2^80), as the auction's bounds guarantee; nothing here checks them again.
library AuctionOrderLibrary {
    uint256 private constant AMOUNT_SHIFT = 64;
    uint256 private constant BEFORE_SHIFT = 104;
    uint256 private constant TICK_SHIFT = 144;
    uint256 private constant CLAIMED_BIT = 1 << 152;
    uint256 private constant LIMIT_SHIFT = 160;

    /// @notice An unclaimed order.
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

    /// @notice The order's market; 0 for a place never used.
    function period(AuctionOrder order) internal pure returns (uint256) {
        return uint64(AuctionOrder.unwrap(order));
    }

    /// @notice The most energy the order trades, Wh.
    function amountWh(AuctionOrder order) internal pure returns (uint256) {
        return uint40(AuctionOrder.unwrap(order) >> AMOUNT_SHIFT);
    }

    /// @notice C(i-1): the volume of the order's side and tick submitted before it, Wh.
    function volumeBeforeWh(AuctionOrder order) internal pure returns (uint256) {
        return uint40(AuctionOrder.unwrap(order) >> BEFORE_SHIFT);
    }

    /// @notice The order's tick on its market's grid.
    function tick(AuctionOrder order) internal pure returns (uint256) {
        return uint8(AuctionOrder.unwrap(order) >> TICK_SHIFT);
    }

    /// @notice Whether the order has been paid out.
    function claimed(AuctionOrder order) internal pure returns (bool) {
        return AuctionOrder.unwrap(order) & CLAIMED_BIT != 0;
    }

    /// @notice The order's limit price, PaymentToken base units per kWh.
    function limitPricePerKWh(AuctionOrder order) internal pure returns (uint256) {
        return uint80(AuctionOrder.unwrap(order) >> LIMIT_SHIFT);
    }

    /// @notice The order marked as paid out.
    function markClaimed(AuctionOrder order) internal pure returns (AuctionOrder) {
        return AuctionOrder.wrap(AuctionOrder.unwrap(order) | CLAIMED_BIT);
    }
}
