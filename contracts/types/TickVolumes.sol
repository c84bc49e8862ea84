// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev A word of one auction book holding the volumes of three neighbouring ticks (3k, 3k + 1 and 3k + 2),
/// 80 bits each from the low bits up; within a tick, its bids' volume in the low 40 bits and its asks'
/// volume in the next 40. The top 16 bits stay zero. Limit prices gather around a reference price, so a
/// book's occupied ticks are mostly neighbours: three to a word, their orders create a third of the words
/// and a clearing reads a third of them cold.
type TickVolumes is uint256;

using TickVolumesLibrary for TickVolumes global;

/// @title TickVolumesLibrary
/// @notice Reads and adds to the two volumes of an auction tick, and keys the storage word of a tick.
library TickVolumesLibrary {
    /// @notice The ticks that share one word.
    uint256 internal constant TICKS_PER_WORD = 3;
    /// @dev The bits of one tick in its word, and of one side in its tick. A side's volume stays below
    /// AuctionClearing.MAX_TICK_VOLUME_WH < 2^40, so neither side carries into its neighbour.
    uint256 private constant TICK_BITS = 80;
    uint256 private constant SIDE_BITS = 40;
    uint256 private constant SIDE_MASK = type(uint40).max;

    /// @notice Returns the storage key of the word that holds tick `tick` of the book `book`.
    function key(uint256 book, uint256 tick) internal pure returns (uint256) {
        return (book << 8) | (tick / TICKS_PER_WORD);
    }

    /// @notice Returns both volumes at tick `tick` of the word, bids' then asks', in Wh.
    function volumesWh(TickVolumes word, uint256 tick) internal pure returns (uint256, uint256) {
        uint256 volumes = TickVolumes.unwrap(word) >> _shift(tick, true);
        return (volumes & SIDE_MASK, (volumes >> SIDE_BITS) & SIDE_MASK);
    }

    /// @notice Returns one side's volume at tick `tick` of the word, in Wh.
    function sideWh(TickVolumes word, uint256 tick, bool isBid) internal pure returns (uint256) {
        return (TickVolumes.unwrap(word) >> _shift(tick, isBid)) & SIDE_MASK;
    }

    /// @notice Adds `amountWh` to one side of tick `tick` of the book `book` in `ticks`. If that side held
    /// no volume at the tick, it also marks the tick in the side's occupancy bitmap, which `occupied` keeps
    /// by book. Nothing is added if the side would then pass `maxWh`. Returns the side's volume before,
    /// which is the order's C(i-1), and the volume with the amount added; when that is above `maxWh`,
    /// nothing was added. `maxWh` is below 2^40, so an added amount never carries into the next field.
    /// @dev Every order takes this path, so the word's slot is computed once for both its read and its write.
    function addTo(
        mapping(uint256 => TickVolumes) storage ticks,
        mapping(uint256 => uint256) storage occupied,
        uint256 book,
        uint256 tick,
        uint256 amountWh,
        bool isBid,
        uint256 maxWh
    ) internal returns (uint256 beforeWh, uint256 afterWh) {
        uint256 shift = _shift(tick, isBid);
        uint256 wordKey = key(book, tick);
        uint256 slot;
        uint256 word;
        // slither-disable-next-line assembly: the packed tick word read as one word, on every order's path
        assembly ("memory-safe") {
            mstore(0x00, wordKey)
            mstore(0x20, ticks.slot)
            slot := keccak256(0x00, 0x40)
            word := sload(slot)
        }
        beforeWh = (word >> shift) & SIDE_MASK;
        unchecked {
            // The callers bound amountWh below 2^63, so this cannot overflow.
            afterWh = beforeWh + amountWh;
        }
        if (afterWh > maxWh) return (beforeWh, afterWh);
        // Writes the side's new volume into the same word.
        assembly ("memory-safe") {
            sstore(slot, add(word, shl(shift, amountWh)))
        }
        if (beforeWh == 0) occupied[book] |= 1 << tick;
    }

    /// @dev Where one side of tick `tick` starts in its word.
    function _shift(uint256 tick, bool isBid) private pure returns (uint256) {
        unchecked {
            return (tick % TICKS_PER_WORD) * TICK_BITS + (isBid ? 0 : SIDE_BITS);
        }
    }
}
