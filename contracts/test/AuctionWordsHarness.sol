// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AuctionOrder, AuctionOrderLibrary} from "../types/AuctionOrder.sol";
import {AuctionOrderId, AuctionOrderIdLibrary} from "../types/AuctionOrderId.sol";
import {MeteredSlot} from "../types/MeteredSlot.sol";
import {TickVolumes, TickVolumesLibrary} from "../types/TickVolumes.sol";
import {BookWords} from "../market/auction/BookWords.sol";
import {Clearing} from "../market/auction/AuctionStorage.sol";
import {MeteredEntries} from "../metering/MeteredEntries.sol";
import {FreeMemory} from "../utils/FreeMemory.sol";

/// @title AuctionWordsHarness
/// @notice Exposes to tests the auction's packed words, which are the order, the order id, the tick
/// volumes and the meter slot. It also exposes the reading of metered entries and the free memory
/// pointer.
contract AuctionWordsHarness {
    mapping(uint256 => TickVolumes) private _ticks;
    mapping(uint256 => uint256) private _occupied;
    mapping(uint256 => Clearing) private _clearings;

    /// @notice Packs an order, reads it back field by field, then marks it claimed.
    function orderRoundTrip(uint256 period, uint256 amountWh, uint256 beforeWh, uint256 tick, uint256 limitPricePerKWh)
        external
        pure
        returns (uint256 word, uint256[5] memory fields, bool claimed, bool claimedAfter)
    {
        AuctionOrder order = AuctionOrderLibrary.pack(period, amountWh, beforeWh, tick, limitPricePerKWh);
        word = AuctionOrder.unwrap(order);
        fields = [order.period(), order.amountWh(), order.volumeBeforeWh(), order.tick(), order.limitPricePerKWh()];
        claimed = order.claimed();
        claimedAfter = order.markClaimed().claimed();
    }

    /// @notice Builds an id from a place and a period, and returns it, its fields read back and its
    /// storage key.
    function orderId(address trader, bool isBid, uint256 place, uint256 period)
        external
        pure
        returns (uint256 id, uint256 period_, bool isBid_, address trader_, uint256 storageKey)
    {
        AuctionOrderId placeId = AuctionOrderIdLibrary.placeOf(trader, isBid, place);
        AuctionOrderId full = placeId.inPeriod(period);
        return (AuctionOrderId.unwrap(full), full.period(), full.isBid(), full.trader(), full.storageKey());
    }

    /// @notice Calls BookWords.addTo on the harness's book `book` (a period << 8 | a zone). Returns the side's
    /// volume before and with the amount, the tick's two volumes afterwards, and the side's occupancy bitmap.
    function addToTick(uint256 book, uint256 tick, uint256 amountWh, bool isBid, uint256 maxWh)
        external
        returns (uint256[5] memory out)
    {
        (out[0], out[1]) = BookWords.addTo(_ticks, _occupied, _clearings, book, tick, amountWh, isBid, maxWh);
        (out[2], out[3]) = BookWords.read(_ticks, book, tick).volumesWh(tick);
        out[4] = _occupied[book];
    }

    /// @notice The tick's two volumes in book `book`, as its clearing reads them, and the raw words: the
    /// shared one and the book's own.
    function tickWords(uint256 book, uint256 tick) external view returns (uint256 bidWh, uint256 askWh, uint256 shared, uint256 own) {
        (bidWh, askWh) = BookWords.read(_ticks, book, tick).volumesWh(tick);
        shared = TickVolumes.unwrap(_ticks[BookWords.sharedKey(book, tick)]);
        own = TickVolumes.unwrap(_ticks[TickVolumesLibrary.key(book, tick)]);
    }

    /// @notice Marks the market of `period` cleared, at a price of one.
    function markCleared(uint256 period) external {
        _clearings[period].clearingPricePerKWh = 1;
    }

    /// @notice Starts a meter slot for `period` over `word`, places both sides, then settles it and adds
    /// `boughtWh` to its ledger. Returns the word after it was started, after it was placed and after it
    /// was settled, then the six side fields and the ledger.
    function meteredSlot(uint256 word, uint256 period, uint256[3] memory ask, uint256[3] memory bid, uint256 boughtWh)
        external
        pure
        returns (uint256[10] memory out)
    {
        MeteredSlot slot = MeteredSlot.wrap(word).startInterval(period, 0);
        out[0] = MeteredSlot.unwrap(slot);
        slot = slot.withAsk(ask[0], ask[1], ask[2]);
        slot = slot.withBid(bid[0], bid[1], bid[2]).markUnsettled();
        out[1] = MeteredSlot.unwrap(slot);
        (out[3], out[4], out[5]) = slot.ask();
        (out[6], out[7], out[8]) = slot.bid();
        slot = slot.markSettled().addRetired(boughtWh);
        (out[2], out[9]) = (MeteredSlot.unwrap(slot), slot.retiredWh());
    }

    /// @notice Reads a batch with MeteredEntries against a stand-in answer from the vault, and fills the
    /// two delta arrays.
    function readEntries(uint256[] calldata entries, uint256[] memory free, bool[] memory approved)
        external
        pure
        returns (address[] memory owners, uint256[] memory words, int256[] memory energyDeltasWh, int256[] memory paymentDeltas)
    {
        uint256 count = MeteredEntries.count(entries);
        owners = MeteredEntries.owners(entries, count);
        words = new uint256[](5 * count);
        energyDeltasWh = new int256[](count);
        paymentDeltas = new int256[](count);
        for (uint256 i; i < count; ++i) {
            _readEntry(entries, free, approved, i, words);
            MeteredEntries.setDeltas(energyDeltasWh, paymentDeltas, i, -int256(i + 1), int256(i + 1));
        }
    }

    function _readEntry(uint256[] calldata entries, uint256[] memory free, bool[] memory approved, uint256 i, uint256[] memory words)
        private
        pure
    {
        (uint256 meterAndEnergy, uint256 ownerAndTime, uint256 limits, uint256 freePayment, bool isApproved) =
            MeteredEntries.at(entries, free, approved, i);
        words[5 * i] = meterAndEnergy;
        words[5 * i + 1] = ownerAndTime;
        words[5 * i + 2] = limits;
        words[5 * i + 3] = freePayment;
        words[5 * i + 4] = isApproved ? 1 : 0;
    }

    /// @notice Returns the free memory pointer before an allocation, during it, and after it is released.
    function releasedAllocation(uint256 size) external pure returns (uint256 before, uint256 during, uint256 afterRelease) {
        before = FreeMemory.pointer();
        uint256[] memory scratch = new uint256[](size);
        during = FreeMemory.pointer();
        scratch[0] = 1;
        FreeMemory.release(before);
        afterRelease = FreeMemory.pointer();
    }
}
