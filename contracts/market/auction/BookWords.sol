// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TickVolumes, TickVolumesLibrary} from "../../types/TickVolumes.sol";
import {Clearing} from "./AuctionStorage.sol";

/// @title BookWords
/// @notice Where a market's tick volumes live: the rule every writer and reader of the auction's books follows.
/// @dev A market's books are read only until it clears, so the markets of RING_PERIODS periods in a row
/// take turns in one set of shared words: a market whose period is RING_PERIODS after a cleared one
/// rewrites that market's words (5,000 gas a word) instead of creating words of its own (22,100). Each
/// shared word names the market that holds it (TickVolumes). A market writes its first order into a word
/// by taking it over from an earlier market; if that market has not cleared yet, its volumes move to a word
/// of its own first, where its clearing reads them. A word held by a later market (an order far ahead of
/// the markets before it) is left alone, and the earlier market keeps its own word for that tick. Since a
/// word only ever passes to a later market, a market that once found its shared word held by a later one
/// finds it so at every later order, so that each market's volumes of a word are in one place: the shared
/// word while the market holds it, its own word otherwise.
library BookWords {
    /// @notice The periods whose markets take turns in the same shared words. A market's books are done with
    /// when it clears, which the keeper does an interval or two after it closes; these four hours at 900 s
    /// periods leave the keeper room to be late before an uncleared market's words must move.
    uint256 internal constant RING_PERIODS = 16;
    /// @dev Shared words are keyed apart from every book's own words (whose keys stay below 2^64).
    uint256 private constant SHARED = 1 << 255;

    /// @notice The key of the shared word that holds tick `tick` of book `book` (a period << 8 | a zone)
    /// while its market holds it.
    function sharedKey(uint256 book, uint256 tick) internal pure returns (uint256) {
        unchecked {
            return SHARED | (((book >> 8) % RING_PERIODS) << 16) | ((book & 0xff) << 8) | (tick / TickVolumesLibrary.TICKS_PER_WORD);
        }
    }

    /// @notice The word that holds tick `tick` of book `book`: the shared word while the book's market holds
    /// it, else the market's own word (empty if the market never wrote there). A market that has cleared may
    /// have passed its shared words on, so its volumes then read as zero.
    function read(mapping(uint256 => TickVolumes) storage ticks, uint256 book, uint256 tick)
        internal
        view
        returns (TickVolumes word)
    {
        word = ticks[sharedKey(book, tick)];
        if (!word.isHeldBy(book >> 8)) word = ticks[TickVolumesLibrary.key(book, tick)];
    }

    /// @notice Adds `amountWh` to one side of tick `tick` of book `book` in `ticks`. If that side held no
    /// volume at the tick, it also marks the tick in the book's occupancy bitmap (one for both sides), which
    /// `occupied` keeps by book, unless the other side has marked it already. Nothing is added if the side would then pass `maxWh` (at most MAX_SIDE_WH). Returns the side's
    /// volume before, which is the order's C(i-1), and the volume with the amount added; when that is above
    /// `maxWh`, nothing was added. `clearings` tells whether an earlier market has cleared. The period stays
    /// within what a word can name (TickVolumesLibrary.heldBy): the auction takes orders at most
    /// MAX_LEAD_TIME ahead of now.
    /// @dev Every order takes this path, so the word's slot is computed once for both its read and its write.
    function addTo(
        mapping(uint256 => TickVolumes) storage ticks,
        mapping(uint256 => uint256) storage occupied,
        mapping(uint256 => Clearing) storage clearings,
        uint256 book,
        uint256 tick,
        uint256 amountWh,
        bool isBid,
        uint256 maxWh
    ) internal returns (uint256 beforeWh, uint256 afterWh) {
        uint256 period = book >> 8;
        uint256 slot = _slotOf(ticks, sharedKey(book, tick));
        TickVolumes word = _load(slot);
        uint256 holder = word.holder();
        if (holder != period + 1) {
            if (holder > period + 1) {
                // A later market holds the shared word, so this market keeps its volumes in its own.
                slot = _slotOf(ticks, TickVolumesLibrary.key(book, tick));
                word = _load(slot);
            } else {
                // An earlier market's word, or none: this market takes it over. An earlier market that has
                // not cleared keeps its volumes, in its own word.
                if (holder != 0 && clearings[holder - 1].clearingPricePerKWh == 0) {
                    ticks[TickVolumesLibrary.key(((holder - 1) << 8) | (book & 0xff), tick)] = word;
                }
                word = TickVolumesLibrary.heldBy(period);
            }
        }
        uint256 shift = TickVolumesLibrary.shift(tick, isBid);
        beforeWh = (TickVolumes.unwrap(word) >> shift) & TickVolumesLibrary.MAX_SIDE_WH;
        unchecked {
            // The callers bound amountWh below 2^63, so this cannot overflow.
            afterWh = beforeWh + amountWh;
        }
        if (afterWh > maxWh) return (beforeWh, afterWh);
        // Writes the side's new volume into the word; maxWh keeps it within the side's bits.
        // slither-disable-next-line assembly: the packed tick word written at the slot computed for its read
        assembly ("memory-safe") {
            sstore(slot, add(word, shl(shift, amountWh)))
        }
        if (beforeWh == 0) {
            uint256 bits = occupied[book];
            if (bits & (1 << tick) == 0) occupied[book] = bits | (1 << tick);
        }
    }

    /// @dev The storage slot of `key` in `ticks`, as Solidity places a mapping's entry.
    function _slotOf(mapping(uint256 => TickVolumes) storage ticks, uint256 key) private pure returns (uint256 slot) {
        // slither-disable-next-line assembly: a mapping entry's slot, hashed in scratch space
        assembly ("memory-safe") {
            mstore(0x00, key)
            mstore(0x20, ticks.slot)
            slot := keccak256(0x00, 0x40)
        }
    }

    function _load(uint256 slot) private view returns (TickVolumes word) {
        // slither-disable-next-line assembly: one packed word read at a computed slot
        assembly ("memory-safe") {
            word := sload(slot)
        }
    }
}
