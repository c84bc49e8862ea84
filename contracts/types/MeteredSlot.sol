// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev One of a meter's two standing-order slots, packed into one word. A meter has one slot for even
/// periods and one for odd periods. The fields, from the lowest bit:
/// - bits 0-31: the period. Zero means the slot has never been used.
/// - bit 32: settled.
/// - bits 33-120: the ask's tick, Wh and C(i-1), which take 8, 40 and 40 bits.
/// - bits 121-208: the bid's tick, Wh and C(i-1), laid out the same way.
/// - bits 209-216: the zone the interval's orders trade in (0 for the bus): the meter's when it read.
/// - bits 217-255: the ledger, the Wh that the meter's standing bids of this parity bought over every
///   interval. A new interval in the slot carries the ledger on.
type MeteredSlot is uint256;

using MeteredSlotLibrary for MeteredSlot global;

/// @title MeteredSlotLibrary
/// @notice Reads and writes the fields of a meter's standing-order slot.
/// @dev Callers keep each side's volumes below 2^40, which is the auction's bound on a tick, and ticks
/// below 2^8. The ledger stops at RETIRED_MAX instead of overflowing and losing its count.
library MeteredSlotLibrary {
    /// @notice The ledger's upper bound. A slot whose ledger reaches it stops counting.
    uint256 internal constant RETIRED_MAX = (1 << 39) - 1;

    uint256 private constant SETTLED_BIT = 1 << 32;
    uint256 private constant ASK_SHIFT = 33;
    uint256 private constant BID_SHIFT = 121;
    uint256 private constant ASK_WH_SHIFT = 41; // ASK_SHIFT plus the tick's 8 bits.
    uint256 private constant BID_WH_SHIFT = 129; // BID_SHIFT plus the tick's 8 bits.
    uint256 private constant ZONE_SHIFT = 209;
    uint256 private constant RETIRED_SHIFT = 217;

    /// @notice Returns the storage key of `meter`'s slot for `period_`. Each parity has its own key.
    function key(address meter, uint256 period_) internal pure returns (uint256) {
        return (uint256(uint160(meter)) << 1) | (period_ & 1);
    }

    /// @notice Returns the interval whose orders the slot holds, or zero for a slot never used.
    function period(MeteredSlot slot) internal pure returns (uint256) {
        return uint32(MeteredSlot.unwrap(slot));
    }

    /// @notice Returns whether the slot's orders have been paid out. A slot that placed no orders also
    /// counts as settled.
    function isSettled(MeteredSlot slot) internal pure returns (bool) {
        return MeteredSlot.unwrap(slot) & SETTLED_BIT != 0;
    }

    /// @notice Returns the slot marked as settled.
    function markSettled(MeteredSlot slot) internal pure returns (MeteredSlot) {
        return MeteredSlot.wrap(MeteredSlot.unwrap(slot) | SETTLED_BIT);
    }

    /// @notice Returns the slot marked as holding orders to settle.
    function markUnsettled(MeteredSlot slot) internal pure returns (MeteredSlot) {
        return MeteredSlot.wrap(MeteredSlot.unwrap(slot) & ~SETTLED_BIT);
    }

    /// @notice Returns the slot started over for `period_` in `zone_` (below 256). It holds no orders yet,
    /// so it is marked settled, and only the ledger carries on from before.
    function startInterval(MeteredSlot slot, uint256 period_, uint256 zone_) internal pure returns (MeteredSlot) {
        return MeteredSlot.wrap(
            ((MeteredSlot.unwrap(slot) >> RETIRED_SHIFT) << RETIRED_SHIFT) | period_ | SETTLED_BIT | (zone_ << ZONE_SHIFT)
        );
    }

    /// @notice Returns the zone the slot's orders trade in: 0 for the bus.
    function zone(MeteredSlot slot) internal pure returns (uint256) {
        return uint8(MeteredSlot.unwrap(slot) >> ZONE_SHIFT);
    }

    // Each side has its own accessors without branches, so that the optimizer inlines them.

    /// @notice Returns the ask's tick, Wh and C(i-1). The Wh is zero when no ask was placed.
    function ask(MeteredSlot slot) internal pure returns (uint256 tick, uint256 amountWh, uint256 volumeBeforeWh) {
        return _sideAt(MeteredSlot.unwrap(slot) >> ASK_SHIFT);
    }

    /// @notice Returns the bid's tick, Wh and C(i-1). The Wh is zero when no bid was placed.
    function bid(MeteredSlot slot) internal pure returns (uint256 tick, uint256 amountWh, uint256 volumeBeforeWh) {
        return _sideAt(MeteredSlot.unwrap(slot) >> BID_SHIFT);
    }

    /// @notice Returns the ask's Wh, which is zero when no ask was placed.
    function askWh(MeteredSlot slot) internal pure returns (uint256) {
        return uint40(MeteredSlot.unwrap(slot) >> ASK_WH_SHIFT);
    }

    /// @notice Returns the bid's Wh, which is zero when no bid was placed.
    function bidWh(MeteredSlot slot) internal pure returns (uint256) {
        return uint40(MeteredSlot.unwrap(slot) >> BID_WH_SHIFT);
    }

    /// @notice Returns the slot with its ask placed. The ask must have been empty before.
    function withAsk(MeteredSlot slot, uint256 tick, uint256 amountWh, uint256 volumeBeforeWh)
        internal
        pure
        returns (MeteredSlot)
    {
        return MeteredSlot.wrap(MeteredSlot.unwrap(slot) | (_sideFields(tick, amountWh, volumeBeforeWh) << ASK_SHIFT));
    }

    /// @notice Returns the slot with its bid placed. The bid must have been empty before.
    function withBid(MeteredSlot slot, uint256 tick, uint256 amountWh, uint256 volumeBeforeWh)
        internal
        pure
        returns (MeteredSlot)
    {
        return MeteredSlot.wrap(MeteredSlot.unwrap(slot) | (_sideFields(tick, amountWh, volumeBeforeWh) << BID_SHIFT));
    }

    /// @notice Returns the ledger, the Wh that the meter's standing bids of this parity bought. It reads
    /// RETIRED_MAX once the ledger is full.
    function retiredWh(MeteredSlot slot) internal pure returns (uint256) {
        return MeteredSlot.unwrap(slot) >> RETIRED_SHIFT;
    }

    /// @notice Returns the slot with `boughtWh` added to its ledger. The ledger stops at RETIRED_MAX.
    function addRetired(MeteredSlot slot, uint256 boughtWh) internal pure returns (MeteredSlot) {
        uint256 raw = MeteredSlot.unwrap(slot);
        // The ledger is below 2^39 and a bid adds at most 40 bits, so the sum is far from overflowing.
        unchecked {
            uint256 ledgerWh = (raw >> RETIRED_SHIFT) + boughtWh;
            if (ledgerWh > RETIRED_MAX) ledgerWh = RETIRED_MAX;
            return MeteredSlot.wrap((raw & ((1 << RETIRED_SHIFT) - 1)) | (ledgerWh << RETIRED_SHIFT));
        }
    }

    /// @dev Reads a side's fields. From its lowest bit, a side holds the tick in 8 bits, the Wh in 40
    /// bits and C(i-1) in 40 bits.
    function _sideAt(uint256 fields) private pure returns (uint256 tick, uint256 amountWh, uint256 volumeBeforeWh) {
        return (uint8(fields), uint40(fields >> 8), uint40(fields >> 48));
    }

    function _sideFields(uint256 tick, uint256 amountWh, uint256 volumeBeforeWh) private pure returns (uint256) {
        return tick | (amountWh << 8) | (volumeBeforeWh << 48);
    }
}
