// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev One of a meter's two standing-order slots (by the parity of the period), one word: the period
/// (bits 0-31; 0 = never used), settled (bit 32), the ask's tick, Wh and C(i-1) (bits 33-120, 8 + 40
/// + 40 bits), the bid's (121-208), and the ledger of Wh the meter's standing bids of this parity
/// bought over every interval (209-255), which a new interval in the slot carries on.
type MeteredSlot is uint256;

using MeteredSlotLibrary for MeteredSlot global;

/// @title MeteredSlotLibrary
/// @notice Reads and writes the fields of a meter's standing-order slot.
/// @dev Callers keep each side's volumes below 2^40 (the auction's bound on a tick) and ticks below
/// 2^8; the ledger stops at RETIRED_MAX instead of overflowing into nothing.
library MeteredSlotLibrary {
    /// @notice The ledger's bound: a slot that reaches it stops counting.
    uint256 internal constant RETIRED_MAX = (1 << 47) - 1;

    uint256 private constant SETTLED_BIT = 1 << 32;
    uint256 private constant ASK_SHIFT = 33;
    uint256 private constant BID_SHIFT = 121;
    uint256 private constant ASK_WH_SHIFT = 41; // ASK_SHIFT + the tick's 8 bits
    uint256 private constant BID_WH_SHIFT = 129; // BID_SHIFT + the tick's 8 bits
    uint256 private constant RETIRED_SHIFT = 209;

    /// @notice The storage key of `meter`'s slot for `period_`: one per parity.
    function key(address meter, uint256 period_) internal pure returns (uint256) {
        return (uint256(uint160(meter)) << 1) | (period_ & 1);
    }

    /// @notice The interval whose orders the slot holds; 0 for a slot never used.
    function period(MeteredSlot slot) internal pure returns (uint256) {
        return uint32(MeteredSlot.unwrap(slot));
    }

    /// @notice Whether the slot's orders have been paid out (or it placed none).
    function isSettled(MeteredSlot slot) internal pure returns (bool) {
        return MeteredSlot.unwrap(slot) & SETTLED_BIT != 0;
    }

    /// @notice The slot marked settled.
    function markSettled(MeteredSlot slot) internal pure returns (MeteredSlot) {
        return MeteredSlot.wrap(MeteredSlot.unwrap(slot) | SETTLED_BIT);
    }

    /// @notice The slot marked as holding orders to settle.
    function markUnsettled(MeteredSlot slot) internal pure returns (MeteredSlot) {
        return MeteredSlot.wrap(MeteredSlot.unwrap(slot) & ~SETTLED_BIT);
    }

    /// @notice The slot started over for `period_` with no orders (so nothing to settle): only the
    /// ledger carries on.
    function startInterval(MeteredSlot slot, uint256 period_) internal pure returns (MeteredSlot) {
        return MeteredSlot.wrap(
            ((MeteredSlot.unwrap(slot) >> RETIRED_SHIFT) << RETIRED_SHIFT) | period_ | SETTLED_BIT
        );
    }

    // Each side has its own accessors, branch-free, so that the optimizer inlines them.

    /// @notice The ask: its tick, Wh (0 = none placed) and C(i-1).
    function ask(MeteredSlot slot) internal pure returns (uint256 tick, uint256 amountWh, uint256 volumeBeforeWh) {
        return _sideAt(MeteredSlot.unwrap(slot) >> ASK_SHIFT);
    }

    /// @notice The bid: its tick, Wh (0 = none placed) and C(i-1).
    function bid(MeteredSlot slot) internal pure returns (uint256 tick, uint256 amountWh, uint256 volumeBeforeWh) {
        return _sideAt(MeteredSlot.unwrap(slot) >> BID_SHIFT);
    }

    /// @notice The ask's Wh; 0 = none placed.
    function askWh(MeteredSlot slot) internal pure returns (uint256) {
        return uint40(MeteredSlot.unwrap(slot) >> ASK_WH_SHIFT);
    }

    /// @notice The bid's Wh; 0 = none placed.
    function bidWh(MeteredSlot slot) internal pure returns (uint256) {
        return uint40(MeteredSlot.unwrap(slot) >> BID_WH_SHIFT);
    }

    /// @notice The slot with its ask, empty before, placed.
    function withAsk(MeteredSlot slot, uint256 tick, uint256 amountWh, uint256 volumeBeforeWh)
        internal
        pure
        returns (MeteredSlot)
    {
        return MeteredSlot.wrap(MeteredSlot.unwrap(slot) | (_sideFields(tick, amountWh, volumeBeforeWh) << ASK_SHIFT));
    }

    /// @notice The slot with its bid, empty before, placed.
    function withBid(MeteredSlot slot, uint256 tick, uint256 amountWh, uint256 volumeBeforeWh)
        internal
        pure
        returns (MeteredSlot)
    {
        return MeteredSlot.wrap(MeteredSlot.unwrap(slot) | (_sideFields(tick, amountWh, volumeBeforeWh) << BID_SHIFT));
    }

    /// @notice The ledger: Wh the meter's standing bids of this parity bought (RETIRED_MAX once full).
    function retiredWh(MeteredSlot slot) internal pure returns (uint256) {
        return MeteredSlot.unwrap(slot) >> RETIRED_SHIFT;
    }

    /// @notice The slot with `boughtWh` added to its ledger, which stops at RETIRED_MAX.
    function addRetired(MeteredSlot slot, uint256 boughtWh) internal pure returns (MeteredSlot) {
        uint256 raw = MeteredSlot.unwrap(slot);
        // A ledger below 2^47 plus a bid's 40 bits: far from overflowing.
        unchecked {
            uint256 ledgerWh = (raw >> RETIRED_SHIFT) + boughtWh;
            if (ledgerWh > RETIRED_MAX) ledgerWh = RETIRED_MAX;
            return MeteredSlot.wrap((raw & ((1 << RETIRED_SHIFT) - 1)) | (ledgerWh << RETIRED_SHIFT));
        }
    }

    /// @dev A side's fields from its lowest bit on: tick (8 bits), Wh (40), C(i-1) (40).
    function _sideAt(uint256 fields) private pure returns (uint256 tick, uint256 amountWh, uint256 volumeBeforeWh) {
        return (uint8(fields), uint40(fields >> 8), uint40(fields >> 48));
    }

    function _sideFields(uint256 tick, uint256 amountWh, uint256 volumeBeforeWh) private pure returns (uint256) {
        return tick | (amountWh << 8) | (volumeBeforeWh << 48);
    }
}
