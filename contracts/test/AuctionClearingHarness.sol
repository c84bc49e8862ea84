// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyAuction} from "../market/IEnergyAuction.sol";
import {AuctionClearing} from "../market/auction/AuctionClearing.sol";
import {Clearing, Market} from "../market/auction/AuctionStorage.sol";
import {AuctionOrder, AuctionOrderLibrary} from "../types/AuctionOrder.sol";
import {TickVolumes} from "../types/TickVolumes.sol";
import {BookWords} from "../market/auction/BookWords.sol";

/// @title AuctionClearingHarness
/// @notice Exposes the AuctionClearing library to tests. One call joins a book of orders in their order
/// of arrival, clears it and returns every order's outcome. Tests read it with eth_call, so that each
/// call starts from an empty book.
contract AuctionClearingHarness {
    /// @notice A test book put more than a tick may gather on one side of one tick.
    /// @param volumeWh The side's volume at the tick with the order, Wh.
    error TickFull(uint256 volumeWh);

    /// @notice An order in the book, given by its side, its Wh and its tick.
    struct BookOrder {
        bool isBid;
        uint256 amountWh;
        uint256 tick;
    }

    uint256 private constant PERIOD = 1;

    mapping(uint256 => TickVolumes) private _ticks;
    mapping(uint256 => uint256) private _occupiedTicks;
    mapping(uint256 => Clearing) private _clearings;

    /// @notice Joins `orders`, in the order given, to an empty book of `tickCount` ticks and clears it at
    /// fee rate `feeBps`. Returns the clearing result, the surplus the clearing accrues and each order's
    /// outcome.
    function clearBook(
        uint256 tickCount,
        uint256 minPricePerKWh,
        uint256 tickSizePerKWh,
        uint256 feeBps,
        BookOrder[] calldata orders
    ) external returns (Clearing memory result, uint256 surplus, IEnergyAuction.OrderOutcome[] memory outcomes) {
        Market memory market = Market(0, uint16(tickCount), uint80(minPricePerKWh), uint80(tickSizePerKWh), 0);
        AuctionOrder[] memory placed = new AuctionOrder[](orders.length);
        for (uint256 i; i < orders.length; ++i) {
            placed[i] = _join(orders[i], market);
        }
        (result, surplus) = AuctionClearing.clear(_ticks, PERIOD, market, _occupiedTicks[PERIOD], feeBps);
        outcomes = new IEnergyAuction.OrderOutcome[](orders.length);
        for (uint256 i; i < orders.length; ++i) {
            outcomes[i] = AuctionClearing.outcome(orders[i].isBid, placed[i], result);
        }
    }

    /// @dev Joins one order to the book as the auction does, with its tick's price as its limit.
    function _join(BookOrder calldata o, Market memory market) private returns (AuctionOrder) {
        (uint256 beforeWh, uint256 afterWh) = BookWords.addTo(
            _ticks, _occupiedTicks, _clearings, PERIOD, o.tick, o.amountWh, o.isBid, AuctionClearing.MAX_TICK_VOLUME_WH
        );
        if (afterWh > AuctionClearing.MAX_TICK_VOLUME_WH) revert TickFull(afterWh);
        if (o.isBid) market.bidVolumeWh += uint48(o.amountWh);
        uint256 limitPricePerKWh = market.minPricePerKWh + o.tick * market.tickSizePerKWh;
        return AuctionOrderLibrary.pack(PERIOD, o.amountWh, beforeWh, o.tick, limitPricePerKWh);
    }
}
