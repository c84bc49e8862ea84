// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev One tick of one auction market, with its bids' volume in the low 64 bits and its asks' volume in
/// the next 64. Both sides share one storage slot, so that adding an order or reading a tick at
/// clearing costs one read, whichever side it needs.
type TickVolumes is uint256;

using TickVolumesLibrary for TickVolumes global;

/// @title TickVolumesLibrary
/// @notice Reads and adds to the two volumes of an auction tick, and keys a tick's storage slot.
library TickVolumesLibrary {
    uint256 private constant ASK_SHIFT = 64;

    /// @notice Returns the storage key of tick `tick` in the market of `period`.
    function key(uint256 period, uint256 tick) internal pure returns (uint256) {
        return (period << 8) | tick;
    }

    /// @notice Returns the bids' volume at the tick, in Wh.
    function bidWh(TickVolumes volumes) internal pure returns (uint256) {
        return uint64(TickVolumes.unwrap(volumes));
    }

    /// @notice Returns the asks' volume at the tick, in Wh.
    function askWh(TickVolumes volumes) internal pure returns (uint256) {
        return uint64(TickVolumes.unwrap(volumes) >> ASK_SHIFT);
    }

    /// @notice Returns one side's volume at the tick, in Wh.
    function sideWh(TickVolumes volumes, bool isBid) internal pure returns (uint256) {
        return isBid ? bidWh(volumes) : askWh(volumes);
    }

    /// @notice Returns whether neither side holds any volume.
    function isEmpty(TickVolumes volumes) internal pure returns (bool) {
        return TickVolumes.unwrap(volumes) == 0;
    }

    /// @notice Adds `amountWh` to one side of tick `tick` in the market of `period` in `ticks`. If that
    /// side held no volume at the tick, it also marks the tick in the side's occupancy bitmap, which
    /// `occupied` keeps by period. Nothing is added if the side would then pass `maxWh`. Returns the
    /// side's volume before, which is the order's C(i-1), and the volume with the amount added; when
    /// that is above `maxWh`, nothing was added. The amount and `maxWh` are below 2^63, so one side
    /// never carries into the other.
    /// @dev Every order takes this path, so the tick's slot is computed once for both its read and its
    /// write.
    function addTo(
        mapping(uint256 => TickVolumes) storage ticks,
        mapping(uint256 => uint256) storage occupied,
        uint256 period,
        uint256 tick,
        uint256 amountWh,
        bool isBid,
        uint256 maxWh
    ) internal returns (uint256 beforeWh, uint256 afterWh) {
        uint256 shift = isBid ? 0 : ASK_SHIFT;
        uint256 slot;
        uint256 word;
        // slither-disable-next-line assembly: the packed tick slot read as one word, on every order's path
        assembly ("memory-safe") {
            mstore(0x00, or(shl(8, period), tick))
            mstore(0x20, ticks.slot)
            slot := keccak256(0x00, 0x40)
            word := sload(slot)
        }
        beforeWh = uint64(word >> shift);
        unchecked {
            afterWh = beforeWh + amountWh;
        }
        if (afterWh > maxWh) return (beforeWh, afterWh);
        // Writes the side's new volume into the same word.
        assembly ("memory-safe") {
            sstore(slot, add(word, shl(shift, amountWh)))
        }
        if (beforeWh == 0) occupied[period] |= 1 << tick;
    }
}
