// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TickVolumes, TickVolumesLibrary} from "../../types/TickVolumes.sol";
import {BookWords} from "./BookWords.sol";
import {Clearing, Market} from "./AuctionStorage.sol";
import {ClearingTerms} from "./CoupledClearing.sol";
import {IEnergyAuction} from "../IEnergyAuction.sol";
import {BitMath} from "../../utils/BitMath.sol";
import {PeriodOutOfRange} from "../../utils/GridErrors.sol";

/// @title AuctionState
/// @notice The one reader of the auction's storage for outside contracts, as Uniswap v4's StateLibrary is
/// for its pool manager: MarketZones and SteppedClearing clear a market across zones from the auction's
/// books without the auction carrying that code. It knows where AuctionStorage keeps each mapping the books
/// live in and how its packed words (Market, Clearing) lay out their fields, reads any words through the
/// auction's extsload, and reads every occupied tick of a market's zones in one call.
library AuctionState {
    // Where AuctionStorage keeps the mappings of markets and books: the storage slot each is hashed from
    // (tests/test_auction_zones.py holds these to the auction's own `bookSlots()`).
    uint256 internal constant MARKETS_SLOT = 4;
    uint256 internal constant CLEARINGS_SLOT = 5;
    uint256 internal constant OCCUPIED_TICKS_SLOT = 6;
    uint256 internal constant TICKS_SLOT = 7;
    uint256 internal constant ZONES_OF_SLOT = 9;

    /// @dev The bytes before the slots in a call to the auction's extsload: its selector, the array's offset and length.
    uint256 private constant EXTSLOAD_HEAD = 0x44;

    /// @notice Answers the current external call with the words at `slots` of the calling contract's storage,
    /// ABI-encoded as a bytes32[] (`values`), and ends the call. A coupled clearing reads one word per occupied
    /// tick of every zone through here, so the words go straight from storage into the answer.
    function answer(bytes32[] calldata slots) internal view returns (bytes32[] memory values) {
        // slither-disable-next-line assembly: raw storage reads returned as they are read
        assembly ("memory-safe") {
            let out := mload(0x40)
            mstore(out, 0x20)
            values := add(out, 0x20)
            mstore(values, slots.length)
            let end := add(add(values, 0x20), shl(5, slots.length))
            let slot := slots.offset
            for { let at := add(values, 0x20) } lt(at, end) { at := add(at, 0x20) } {
                mstore(at, sload(calldataload(slot)))
                slot := add(slot, 0x20)
            }
            return(out, sub(end, out))
        }
    }

    /// @notice Reads the occupied ticks of the books of `zones` in `period` from `auction`: zone z's ticks
    /// `occupied[z]` in ascending order, each as tick | bidWh << 8 | askWh << 72, and each zone's bids in all,
    /// added up as the words are laid. This runs once per occupied tick of every zone, so the call is built
    /// and answered in place: the call data holds extsload's selector, the array's offset and length, then
    /// the slot of each tick's shared word (where Solidity places a mapping's entry: keccak256 of the key and
    /// the mapping's slot; neighbouring ticks share a word, so only its first read is cold), and the answer's
    /// words are copied over the slots they answer. The words the market does not hold (BookWords) are asked
    /// for again at the market's own words, in a second call only if there are any.
    function readLevels(address auction, uint256 period, uint256[] memory zones, uint256[] memory occupied)
        internal
        view
        returns (uint256[][] memory levels, uint256[] memory bidsWh)
    {
        uint256 ticks;
        (levels, ticks) = _sized(occupied);
        // Sized for a word per tick; neighbours share a word, so fewer words are asked for.
        bytes memory data = _callHead(ticks);
        bytes memory own = _callHead(ticks);
        uint256 at = EXTSLOAD_HEAD;
        for (uint256 z; z < zones.length; ++z) {
            uint256 book = bookKey(period, zones[z]);
            at = _writeSlots(data, own, at, levels[z], BookWords.sharedKey(book, 0), book << 8, occupied[z]);
        }
        _extsload(auction, data, at);
        _readOwnWords(auction, data, own, at, period);
        bidsWh = _layWords(levels, data);
    }

    /// @dev Asks `auction` for the slots in `data` up to byte `end` and copies the answer's words over them.
    function _extsload(address auction, bytes memory data, uint256 end) private view {
        uint256 total = (end - EXTSLOAD_HEAD) / 32;
        // slither-disable-next-line assembly: one static call to the market's own auction, answered in place
        assembly ("memory-safe") {
            // The call asks for the words written: the array's length and the call's are cut to them.
            mstore(add(data, 0x44), total)
            mstore(data, end)
            if iszero(staticcall(gas(), auction, add(data, 0x20), mload(data), 0, 0)) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
            // The answer is the array's offset and length, then one word per slot; a short answer reverts here.
            returndatacopy(add(data, add(0x20, EXTSLOAD_HEAD)), 0x40, shl(5, total))
        }
    }

    /// @dev Replaces each word answered in `data` (up to byte `end`) that the market of `period` does not
    /// hold with the word at the same place in `own`'s slots, the market's own word, asked for in one call.
    function _readOwnWords(address auction, bytes memory data, bytes memory own, uint256 end, uint256 period) private view {
        uint256 holder = period + 1;
        uint256 holderBit = TickVolumesLibrary.HOLDER_BIT;
        uint256[] memory places = new uint256[]((end - EXTSLOAD_HEAD) / 32);
        uint256 missing;
        // slither-disable-next-line assembly: the answered words scanned in place
        assembly ("memory-safe") {
            for { let p := add(EXTSLOAD_HEAD, 0x20) } iszero(gt(p, end)) { p := add(p, 0x20) } {
                if iszero(eq(shr(holderBit, mload(add(data, p))), holder)) {
                    missing := add(missing, 1)
                    // The word's own slot moves to the front of `own`'s slots, never past one not yet read,
                    // and its place among the answers is listed.
                    mstore(add(own, add(EXTSLOAD_HEAD, shl(5, missing))), mload(add(own, p)))
                    mstore(add(places, shl(5, missing)), p)
                }
            }
        }
        if (missing == 0) return;
        _extsload(auction, own, EXTSLOAD_HEAD + missing * 32);
        // Each own word answered goes to its place among the first call's answers.
        assembly ("memory-safe") {
            for { let k := 1 } iszero(gt(k, missing)) { k := add(k, 1) } {
                mstore(add(data, mload(add(places, shl(5, k)))), mload(add(own, add(EXTSLOAD_HEAD, shl(5, k)))))
            }
        }
    }

    /// @dev An empty array of levels per book, sized to its occupied ticks, and their count in all.
    function _sized(uint256[] memory occupied) private pure returns (uint256[][] memory levels, uint256 total) {
        levels = new uint256[][](occupied.length);
        for (uint256 z; z < occupied.length; ++z) {
            uint256 ticks = BitMath.popCount(occupied[z]);
            levels[z] = new uint256[](ticks);
            total += ticks;
        }
    }

    /// @dev Call data for extsload of `total` slots, its head written: the selector, the array's offset and length.
    function _callHead(uint256 total) private pure returns (bytes memory data) {
        data = new bytes(EXTSLOAD_HEAD + total * 32);
        bytes4 selector = IEnergyAuction.extsload.selector;
        // slither-disable-next-line assembly: the head of call data built in place
        assembly ("memory-safe") {
            mstore(add(data, 0x20), selector)
            mstore(add(data, 0x24), 0x20)
            mstore(add(data, 0x44), total)
        }
    }

    /// @dev Lays the words answered in `data`, in order, over the levels' ticks, each word over the ticks it
    /// holds (as `_writeSlots` asked for them): each level becomes tick | bidWh << 8 | askWh << 72, its
    /// volumes read out of the word by TickVolumes. Returns each zone's bids in all.
    function _layWords(uint256[][] memory levels, bytes memory data) private pure returns (uint256[] memory bidsWh) {
        bidsWh = new uint256[](levels.length);
        uint256 at = EXTSLOAD_HEAD;
        for (uint256 z; z < levels.length; ++z) {
            (at, bidsWh[z]) = _layZone(levels[z], data, at);
        }
    }

    /// @dev Lays one zone's words, which follow byte `at` of `data`, over its levels; returns where its words
    /// end and its bids in all.
    function _layZone(uint256[] memory zoneLevels, bytes memory data, uint256 at)
        private
        pure
        returns (uint256, uint256 bidWh)
    {
        unchecked {
            uint256 wordIndex = type(uint256).max;
            TickVolumes word;
            for (uint256 j; j < zoneLevels.length; ++j) {
                uint256 tick = zoneLevels[j];
                if (tick / TickVolumesLibrary.TICKS_PER_WORD != wordIndex) {
                    wordIndex = tick / TickVolumesLibrary.TICKS_PER_WORD;
                    at += 0x20;
                    // slither-disable-next-line assembly: the answered word at its place in the call data
                    assembly ("memory-safe") {
                        word := mload(add(data, at))
                    }
                }
                (uint256 tickBidWh, uint256 tickAskWh) = word.volumesWh(tick);
                bidWh += tickBidWh;
                zoneLevels[j] = tick | (tickBidWh << 8) | (tickAskWh << 72);
            }
        }
        return (at, bidWh);
    }

    /// @dev Writes a book's ticks `bits` into its `levels`, ascending, and the slots of their words into the
    /// call `data` after byte `at`, each word once: the shared word's (keyed from `sharedKey`) there, and the
    /// book's own word's (keyed from `ownKey`) at the same place in `own`. Returns where the slots end.
    function _writeSlots(
        bytes memory data,
        bytes memory own,
        uint256 at,
        uint256[] memory levels,
        uint256 sharedKey,
        uint256 ownKey,
        uint256 bits
    ) private pure returns (uint256) {
        uint256 ticksPerWord = TickVolumesLibrary.TICKS_PER_WORD;
        // slither-disable-next-line assembly: scratch-space hashing and writes within the arrays sized by the caller
        assembly ("memory-safe") {
            let level := levels
            let lastWord := not(0)
            // The ticks in ascending order: empty runs of 16 are skipped whole. A word's slots are written
            // once, at the first of its ticks.
            for { let tick := 0 } bits {} {
                switch and(bits, 0xffff)
                case 0 {
                    bits := shr(16, bits)
                    tick := add(tick, 16)
                }
                default {
                    if and(bits, 1) {
                        level := add(level, 0x20)
                        mstore(level, tick)
                        let wordIndex := div(tick, ticksPerWord)
                        if iszero(eq(wordIndex, lastWord)) {
                            lastWord := wordIndex
                            at := add(at, 0x20)
                            mstore(0x20, TICKS_SLOT)
                            mstore(0x00, or(sharedKey, wordIndex))
                            mstore(add(data, at), keccak256(0x00, 0x40))
                            mstore(0x00, or(ownKey, wordIndex))
                            mstore(add(own, at), keccak256(0x00, 0x40))
                        }
                    }
                    bits := shr(1, bits)
                    tick := add(tick, 1)
                }
            }
        }
        return at;
    }

    // ---- A market's words ----

    /// @notice The market's grid, as fixed at its first order (all zero before), and its asks' fee rate: the
    /// terms it clears and values its fills at.
    function terms(address auction, uint256 period) internal view returns (ClearingTerms memory marketTerms) {
        bytes32[] memory slots = new bytes32[](2);
        (slots[0], slots[1]) = (slotOf(period, MARKETS_SLOT), slotOf(period, CLEARINGS_SLOT));
        bytes32[] memory words = IEnergyAuction(auction).extsload(slots);
        return _terms(uint256(words[0]), uint256(words[1]));
    }

    /// @notice What clearing the market reads besides its books, in one call: its terms and the zones other
    /// than the bus that hold orders.
    function clearingInputs(address auction, uint256 period)
        internal
        view
        returns (ClearingTerms memory marketTerms, uint256 zonesBits)
    {
        bytes32[] memory slots = new bytes32[](3);
        (slots[0], slots[1], slots[2]) = (slotOf(period, MARKETS_SLOT), slotOf(period, CLEARINGS_SLOT), slotOf(period, ZONES_OF_SLOT));
        bytes32[] memory words = IEnergyAuction(auction).extsload(slots);
        return (_terms(uint256(words[0]), uint256(words[1])), uint256(words[2]));
    }

    /// @notice Whether the market has cleared: a cleared market has a price, and every price of a grid is
    /// above zero.
    function isCleared(address auction, uint256 period) internal view returns (bool) {
        return _clearingPrice(uint256(load(auction, slotOf(period, CLEARINGS_SLOT)))) != 0;
    }

    /// @notice The zones other than the bus that hold orders in the market, one bit per zone.
    function zonesOf(address auction, uint256 period) internal view returns (uint256) {
        return uint256(load(auction, slotOf(period, ZONES_OF_SLOT)));
    }

    /// @notice A zone's result in a market cleared across zones (a ZoneResult word), or 0 if the market has not
    /// cleared across zones or the zone held no orders in it. A market cleared across zones keeps each
    /// zone's result in the zone's occupancy word: once the market has cleared its books take no more
    /// orders, so the word is free, and writing the result over it rewrites a slot clearing has just read
    /// instead of creating a fresh one. A zone in the market holds orders, so its word is never zero.
    function zoneResult(address auction, uint256 period, uint256 zone) internal view returns (uint256) {
        bytes32[] memory slots = new bytes32[](2);
        (slots[0], slots[1]) = (slotOf(period, CLEARINGS_SLOT), slotOf(bookKey(period, zone), OCCUPIED_TICKS_SLOT));
        bytes32[] memory words = IEnergyAuction(auction).extsload(slots);
        return clearedAcrossZones(uint256(words[0])) ? uint256(words[1]) : 0;
    }

    /// @notice Every tick of a grid of `tickCount` ticks, as an occupancy word: what a view of a cleared market's
    /// book reads, since its occupancy words may hold its zones' results.
    function everyTick(uint256 tickCount) internal pure returns (uint256) {
        return tickCount >= 256 ? type(uint256).max : (1 << tickCount) - 1;
    }

    /// @notice Whether a Clearing word is that of a market cleared across zones: priced, its long side ZONES
    /// (bits 24-31).
    function clearedAcrossZones(uint256 clearingWord) internal pure returns (bool) {
        return _clearingPrice(clearingWord) != 0 && uint8(clearingWord >> 24) == uint8(IEnergyAuction.LongSide.ZONES);
    }

    /// @notice The ticks that hold bids or asks in each of the books of `zones` in `period`, in one call. Only
    /// before the market clears: a market cleared across zones keeps its zones' results in these words.
    function occupancy(address auction, uint256 period, uint256[] memory zones) internal view returns (uint256[] memory occupied) {
        bytes32[] memory slots = new bytes32[](zones.length);
        for (uint256 i; i < zones.length; ++i) {
            slots[i] = slotOf(bookKey(period, zones[i]), OCCUPIED_TICKS_SLOT);
        }
        bytes32[] memory words = IEnergyAuction(auction).extsload(slots);
        occupied = new uint256[](zones.length);
        for (uint256 i; i < zones.length; ++i) {
            occupied[i] = uint256(words[i]);
        }
    }

    /// @dev A market's terms from its Market word (its grid's tick count in bits 32-47, lowest price in
    /// 48-127, tick size in 128-207) and its Clearing word (the fee rate in bits 32-47).
    function _terms(uint256 market, uint256 clearing) private pure returns (ClearingTerms memory) {
        return ClearingTerms(uint80(market >> 48), uint80(market >> 128), uint16(market >> 32), uint16(clearing >> 32));
    }

    /// @dev A Clearing word's price (bits 48-127).
    function _clearingPrice(uint256 word) private pure returns (uint256) {
        return uint80(word >> 48);
    }

    // ---- Keys and slots ----

    /// @notice The slot of `key` in the mapping at `mappingSlot`, as Solidity places it.
    function slotOf(uint256 key, uint256 mappingSlot) internal pure returns (bytes32) {
        return keccak256(abi.encode(key, mappingSlot));
    }

    /// @notice The last period a market can have: a unix time over a period length of at least one second
    /// stays far below it, and the zones' ratings are keyed by 48-bit periods.
    uint256 internal constant MAX_PERIOD = type(uint48).max;

    /// @notice The key of a zone's book in a period, as the auction keys its books. A period beyond
    /// MAX_PERIOD is refused, since its key would drop the period's top bits and name another market's book.
    function bookKey(uint256 period, uint256 zone) internal pure returns (uint256) {
        if (period > MAX_PERIOD) revert PeriodOutOfRange(period, MAX_PERIOD);
        return (period << 8) | zone;
    }

    /// @notice The word at one slot of `auction`'s storage.
    function load(address auction, bytes32 at) internal view returns (bytes32) {
        bytes32[] memory slots = new bytes32[](1);
        slots[0] = at;
        return IEnergyAuction(auction).extsload(slots)[0];
    }

    /// @notice The zones whose bits are set, lowest first.
    function zonesIn(uint256 zonesBits) internal pure returns (uint256[] memory zones) {
        zones = new uint256[](BitMath.popCount(zonesBits));
        for (uint256 i; zonesBits != 0; ++i) {
            zones[i] = BitMath.lowestBit(zonesBits);
            zonesBits &= zonesBits - 1;
        }
    }

    /// @notice The slot of a mapping of markets, from which Solidity hashes each key's slot.
    function slotOf(mapping(uint256 => Market) storage map) internal pure returns (uint256 slot) {
        // slither-disable-next-line assembly: a mapping's slot is only known to assembly
        assembly ("memory-safe") {
            slot := map.slot
        }
    }

    /// @notice The slot of a mapping of market results.
    function slotOf(mapping(uint256 => Clearing) storage map) internal pure returns (uint256 slot) {
        // slither-disable-next-line assembly: a mapping's slot is only known to assembly
        assembly ("memory-safe") {
            slot := map.slot
        }
    }

    /// @notice The slot of a mapping of words (the occupancy bitmaps, the zones of each market).
    function slotOf(mapping(uint256 => uint256) storage map) internal pure returns (uint256 slot) {
        // slither-disable-next-line assembly: a mapping's slot is only known to assembly
        assembly ("memory-safe") {
            slot := map.slot
        }
    }

    /// @notice The slot of the mapping of tick words.
    function slotOf(mapping(uint256 => TickVolumes) storage map) internal pure returns (uint256 slot) {
        // slither-disable-next-line assembly: a mapping's slot is only known to assembly
        assembly ("memory-safe") {
            slot := map.slot
        }
    }
}
