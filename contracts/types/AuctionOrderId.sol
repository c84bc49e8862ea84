// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev An auction order's id. From the top, it holds the period shifted left by 192 bits, bit 191 set
/// for a bid, the place shifted left by 160 bits, and the trader's address in the low 160 bits. The
/// external ABI carries the id as a uint256, so the auction wraps it on the way in and unwraps it on
/// the way out.
type AuctionOrderId is uint256;

using AuctionOrderIdLibrary for AuctionOrderId global;

/// @title AuctionOrderIdLibrary
/// @notice Builds and reads auction order ids, and names the storage place an id's order lives in.
/// @dev Each trader has REUSABLE_PLACES places per side, numbered 0 to REUSABLE_PLACES - 1. An order
/// that finds none of them free takes a one-off place in its market instead, numbered REUSABLE_PLACES
/// plus the order's sequence number in that market. The place field has 31 bits, which is enough:
/// sequence numbers stay below 2^32, and no market takes 2^31 orders within its lead time. A reusable
/// place is stored under the id without its period, so that the trader's next order in that place
/// rewrites the same slot. A one-off place is stored under the whole id.
library AuctionOrderIdLibrary {
    /// @notice The number of reusable places each trader has on each side.
    uint256 internal constant REUSABLE_PLACES = 16;

    uint256 private constant PERIOD_SHIFT = 192;
    uint256 private constant BID_BIT = 1 << 191;
    uint256 private constant PLACE_SHIFT = 160;
    uint256 private constant PLACE_MASK = (1 << 31) - 1;
    uint256 private constant BELOW_PERIOD = type(uint192).max;

    /// @notice Returns the id, without a period, of place number `place` on one side for `trader_`. For a
    /// reusable place this is its storage key, and `inPeriod` turns it into the id of the order in it.
    function placeOf(address trader_, bool isBid_, uint256 place) internal pure returns (AuctionOrderId) {
        return AuctionOrderId.wrap(uint256(uint160(trader_)) | (isBid_ ? BID_BIT : 0) | (place << PLACE_SHIFT));
    }

    /// @notice Returns the id of the order for `period_` in a place that `placeOf` named.
    function inPeriod(AuctionOrderId place, uint256 period_) internal pure returns (AuctionOrderId) {
        return AuctionOrderId.wrap((period_ << PERIOD_SHIFT) | AuctionOrderId.unwrap(place));
    }

    /// @notice Returns the period of the market the order trades in.
    function period(AuctionOrderId id) internal pure returns (uint256) {
        return AuctionOrderId.unwrap(id) >> PERIOD_SHIFT;
    }

    /// @notice Returns whether the order is a bid.
    function isBid(AuctionOrderId id) internal pure returns (bool) {
        return AuctionOrderId.unwrap(id) & BID_BIT != 0;
    }

    /// @notice Returns the trader who submitted the order.
    function trader(AuctionOrderId id) internal pure returns (address) {
        return address(uint160(AuctionOrderId.unwrap(id)));
    }

    /// @notice Returns the key of the storage slot that holds the id's place. For a reusable place the
    /// key is the id without its period, and that slot may by now hold a later order. For a one-off
    /// place the key is the whole id.
    function storageKey(AuctionOrderId id) internal pure returns (uint256) {
        uint256 raw = AuctionOrderId.unwrap(id);
        return (raw >> PLACE_SHIFT) & PLACE_MASK < REUSABLE_PLACES ? raw & BELOW_PERIOD : raw;
    }
}
