// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev A word of one auction book holding the volumes of three neighbouring ticks (3k, 3k + 1 and 3k + 2),
/// 72 bits each from the low bits up; within a tick, its bids' volume in the low 36 bits and its asks'
/// volume in the next 36. The top 40 bits name the market that holds the word, as its period plus one (zero:
/// none), because the markets of a few periods take turns in the same words (BookWords). Limit prices gather
/// around a reference price, so a book's occupied ticks are mostly neighbours: three to a word, their orders
/// write a third of the words and a clearing reads a third of them cold.
type TickVolumes is uint256;

using TickVolumesLibrary for TickVolumes global;

/// @title TickVolumesLibrary
/// @notice Reads one tick's two volumes out of a word and says which market holds the word.
library TickVolumesLibrary {
    /// @notice The ticks that share one word.
    uint256 internal constant TICKS_PER_WORD = 3;
    /// @notice The most volume one side of one tick holds, in Wh (36 bits: 68.7 GWh).
    uint256 internal constant MAX_SIDE_WH = (1 << 36) - 1;
    /// @dev The bits of one tick in its word, and of one side in its tick. A side's volume stays within
    /// MAX_SIDE_WH, so neither side carries into its neighbour.
    uint256 private constant TICK_BITS = 72;
    uint256 private constant SIDE_BITS = 36;
    /// @notice Where the holding market's period plus one starts in the word.
    uint256 internal constant HOLDER_BIT = 216; // TICKS_PER_WORD * TICK_BITS, in literals so that solc folds it

    /// @notice Returns the storage key of the word of a book's own that holds tick `tick` of the book
    /// `book`: the word it keeps when the words it shares are held by another market.
    function key(uint256 book, uint256 tick) internal pure returns (uint256) {
        return (book << 8) | (tick / TICKS_PER_WORD);
    }

    /// @notice Returns both volumes at tick `tick` of the word, bids' then asks', in Wh.
    function volumesWh(TickVolumes word, uint256 tick) internal pure returns (uint256, uint256) {
        uint256 volumes = TickVolumes.unwrap(word) >> shift(tick, true);
        return (volumes & MAX_SIDE_WH, (volumes >> SIDE_BITS) & MAX_SIDE_WH);
    }

    /// @notice Returns one side's volume at tick `tick` of the word, in Wh.
    function sideWh(TickVolumes word, uint256 tick, bool isBid) internal pure returns (uint256) {
        return (TickVolumes.unwrap(word) >> shift(tick, isBid)) & MAX_SIDE_WH;
    }

    /// @notice Whether the market of `period` holds the word.
    function isHeldBy(TickVolumes word, uint256 period) internal pure returns (bool) {
        return TickVolumes.unwrap(word) >> HOLDER_BIT == period + 1;
    }

    /// @notice The period plus one of the market that holds the word, or zero if none has.
    function holder(TickVolumes word) internal pure returns (uint256) {
        return TickVolumes.unwrap(word) >> HOLDER_BIT;
    }

    /// @notice An empty word held by the market of `period`. Its period plus one fills the word's 40 bits up
    /// to period 2^40 - 2, which a unix time over a period length of at least a second reaches in the year
    /// 36,812; the auction takes orders only for periods up to a week or two ahead of now.
    function heldBy(uint256 period) internal pure returns (TickVolumes) {
        return TickVolumes.wrap((period + 1) << HOLDER_BIT);
    }

    /// @notice Where one side of tick `tick` starts in its word.
    function shift(uint256 tick, bool isBid) internal pure returns (uint256) {
        unchecked {
            return (tick % TICKS_PER_WORD) * TICK_BITS + (isBid ? 0 : SIDE_BITS);
        }
    }
}
