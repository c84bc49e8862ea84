// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TickVolumes, TickVolumesLibrary} from "../../types/TickVolumes.sol";
import {Clearing} from "./AuctionStorage.sol";

/// @title BookWords
/// @notice Where a market's tick volumes and occupancy bitmaps live: the rule every writer and reader of the
/// auction's books follows.
/// @dev A market's books are read only until it clears, so the markets of RING_PERIODS periods in a row
/// take turns in one set of shared words, and likewise in one pair of occupancy bitmaps per zone, whose
/// holder a word beside them names: a market whose period is RING_PERIODS after a cleared one
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
    /// @dev Shared words and bitmaps are keyed apart from every book's own (whose keys stay below 2^64), and
    /// the bitmaps' holders apart from both.
    uint256 private constant SHARED = 1 << 255;
    uint256 private constant HOLDER = 1 << 254;

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

    /// @notice The key of book `book`'s occupancy bitmaps in the auction's two bitmap mappings: the shared
    /// bitmaps while its market holds them, else the market's own (`book` itself), as for its words.
    function occupancyKey(mapping(uint256 => uint256) storage bidTicks, uint256 book) internal view returns (uint256) {
        return bidTicks[holderKey(book)] == (book >> 8) + 1 ? sharedBook(book) : book;
    }

    /// @notice The key of the shared occupancy bitmaps that book `book` (a period << 8 | a zone) uses while
    /// its market holds them.
    function sharedBook(uint256 book) internal pure returns (uint256) {
        unchecked {
            return SHARED | (((book >> 8) % RING_PERIODS) << 8) | (book & 0xff);
        }
    }

    /// @notice The key, in the bids' bitmap mapping, of the word naming the market that holds the shared
    /// bitmaps of book `book`'s zone and place in the ring, as its period plus one (zero: none). The bitmaps
    /// use all 256 bits, so their holder is kept beside them.
    function holderKey(uint256 book) internal pure returns (uint256) {
        return HOLDER | sharedBook(book);
    }

    /// @notice Adds `amountWh` to one side of tick `tick` of book `book` in `ticks`. If that side held no
    /// volume at the tick, it also marks the tick in the side's occupancy bitmap (`bidTicks` or `askTicks`,
    /// keyed by occupancyKey). Nothing is added if the side would then pass `maxWh` (at most MAX_SIDE_WH).
    /// Returns the side's volume before, which is the order's C(i-1), and the volume with the amount added;
    /// when that is above `maxWh`, nothing was added. `clearings` tells whether an earlier market has
    /// cleared. The period is at most TickVolumesLibrary.MAX_HELD_PERIOD: the auction takes orders at most
    /// MAX_LEAD_TIME ahead of now.
    function addTo(
        mapping(uint256 => TickVolumes) storage ticks,
        mapping(uint256 => uint256) storage bidTicks,
        mapping(uint256 => uint256) storage askTicks,
        mapping(uint256 => Clearing) storage clearings,
        uint256 book,
        uint256 tick,
        uint256 amountWh,
        bool isBid,
        uint256 maxWh
    ) internal returns (uint256 beforeWh, uint256 afterWh) {
        (beforeWh, afterWh) = _addToWord(ticks, clearings, book, tick, amountWh, isBid, maxWh);
        if (beforeWh != 0 || afterWh > maxWh) return (beforeWh, afterWh);
        // The side's first volume at the tick, which is also how a market's first order in a book begins.
        uint256 key = _bitmapsToMark(bidTicks, askTicks, clearings, book);
        if (isBid) bidTicks[key] |= 1 << tick;
        else askTicks[key] |= 1 << tick;
    }

    /// @dev Adds the amount to the tick's word (see addTo) and returns the side's volume before and after.
    function _addToWord(
        mapping(uint256 => TickVolumes) storage ticks,
        mapping(uint256 => Clearing) storage clearings,
        uint256 book,
        uint256 tick,
        uint256 amountWh,
        bool isBid,
        uint256 maxWh
    ) private returns (uint256 beforeWh, uint256 afterWh) {
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
                if (holder != 0 && !_cleared(clearings, holder - 1)) {
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
    }

    /// @dev The key of the bitmaps an order of book `book` marks its tick in, by the rule of its words: the
    /// shared bitmaps if its market holds them or takes them over from an earlier market (whose bitmaps move
    /// to its own key first if it has not cleared, and are emptied for the new holder), its own if a later
    /// market holds them.
    function _bitmapsToMark(
        mapping(uint256 => uint256) storage bidTicks,
        mapping(uint256 => uint256) storage askTicks,
        mapping(uint256 => Clearing) storage clearings,
        uint256 book
    ) private returns (uint256) {
        uint256 holderAt = holderKey(book);
        uint256 holder = bidTicks[holderAt];
        uint256 next = (book >> 8) + 1;
        if (holder == next) return sharedBook(book);
        if (holder > next) return book;
        uint256 shared = sharedBook(book);
        (uint256 bids, uint256 asks) = (bidTicks[shared], askTicks[shared]);
        if (holder != 0 && !_cleared(clearings, holder - 1)) {
            uint256 earlier = ((holder - 1) << 8) | (book & 0xff);
            if (bids != 0) bidTicks[earlier] = bids;
            if (asks != 0) askTicks[earlier] = asks;
        }
        if (bids != 0) bidTicks[shared] = 0;
        if (asks != 0) askTicks[shared] = 0;
        bidTicks[holderAt] = next;
        return shared;
    }

    /// @dev Whether the market of `period` has cleared: a cleared market's price is above zero.
    function _cleared(mapping(uint256 => Clearing) storage clearings, uint256 period) private view returns (bool) {
        return clearings[period].clearingPricePerKWh != 0;
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
