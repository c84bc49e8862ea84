// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev An auction order's id: period << 192 | 1 << 191 for a bid | place << 160 | trader. The external
/// ABI carries it as a uint256; the auction wraps it on the way in and unwraps it on the way out.
type AuctionOrderId is uint256;

using AuctionOrderIdLibrary for AuctionOrderId global;

/// @title AuctionOrderIdLibrary
/// @notice Builds and reads auction order ids, and names the storage place an id's order lives in.
/// @dev Each trader has REUSABLE_PLACES places per side, numbered 0 .. REUSABLE_PLACES - 1; an order that
/// finds none of them free takes a one-off place of its market, numbered REUSABLE_PLACES + its sequence
/// number there. The place field has 31 bits: sequence numbers stay below 2^32, and no market takes
/// 2^31 orders within its lead time. A reusable place is stored under the id without its period, so
/// that a trader's next order in it rewrites the slot; a one-off place is stored under the whole id.
library AuctionOrderIdLibrary {
    /// @notice Reusable places per trader and side.
    uint256 internal constant REUSABLE_PLACES = 16;

    uint256 private constant PERIOD_SHIFT = 192;
    uint256 private constant BID_BIT = 1 << 191;
    uint256 private constant PLACE_SHIFT = 160;
    uint256 private constant PLACE_MASK = (1 << 31) - 1;
    uint256 private constant BELOW_PERIOD = type(uint192).max;

    /// @notice The id, without a period, of `trader_`'s place `place` on one side: the storage key of a
    /// reusable place, and the id of the order in it once `inPeriod` adds the period.
    function placeOf(address trader_, bool isBid_, uint256 place) internal pure returns (AuctionOrderId) {
        return AuctionOrderId.wrap(uint256(uint160(trader_)) | (isBid_ ? BID_BIT : 0) | (place << PLACE_SHIFT));
    }

    /// @notice The id of the order of `period_` in a place named by `placeOf`.
    function inPeriod(AuctionOrderId place, uint256 period_) internal pure returns (AuctionOrderId) {
        return AuctionOrderId.wrap((period_ << PERIOD_SHIFT) | AuctionOrderId.unwrap(place));
    }

    /// @notice The market the order trades in.
    function period(AuctionOrderId id) internal pure returns (uint256) {
        return AuctionOrderId.unwrap(id) >> PERIOD_SHIFT;
    }

    /// @notice Whether the order is a bid.
    function isBid(AuctionOrderId id) internal pure returns (bool) {
        return AuctionOrderId.unwrap(id) & BID_BIT != 0;
    }

    /// @notice The trader who submitted the order.
    function trader(AuctionOrderId id) internal pure returns (address) {
        return address(uint160(AuctionOrderId.unwrap(id)));
    }

    /// @notice The key of the storage slot the id's place lives in: the id without its period for a
    /// reusable place (which may hold a later order by now), the whole id for a one-off place.
    function storageKey(AuctionOrderId id) internal pure returns (uint256) {
        uint256 raw = AuctionOrderId.unwrap(id);
        return (raw >> PLACE_SHIFT) & PLACE_MASK < REUSABLE_PLACES ? raw & BELOW_PERIOD : raw;
    }
}
