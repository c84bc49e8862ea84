// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IEnergyAuction} from "../IEnergyAuction.sol";
import {IMarketZones} from "../IMarketZones.sol";
import {IEnergyVault} from "../../vault/IEnergyVault.sol";
import {ZeroAddress} from "../../utils/GridErrors.sol";
import {AuctionOrder, AuctionOrderLibrary} from "../../types/AuctionOrder.sol";
import {AuctionClearing} from "./AuctionClearing.sol";
import {AuctionCommon} from "./AuctionCommon.sol";
import {AuctionState} from "./AuctionState.sol";
import {BookWords} from "./BookWords.sol";
import {Clearing, Market} from "./AuctionStorage.sol";

/// @title AuctionMarkets
/// @notice This contract holds the part of the auction that firm and standing orders share: the markets'
/// opening, their books and their clearing.
/// @dev It is abstract. EnergyAuction adds firm orders and their claims on top of it, and
/// StandingOrders adds the orders that the meters' readings place. Its storage is AuctionStorage's.
abstract contract AuctionMarkets is AuctionCommon, IEnergyAuction {
    /// @param meterRegistry_ The SmartMeter whose readings place standing orders, or zero for an auction
    /// that takes firm orders only.
    constructor(
        address admin,
        IEnergyVault vault_,
        address meterRegistry_,
        address feeRecipient_,
        uint256 gridFeeBps_,
        uint256 periodLengthSeconds,
        uint256 gateClosureSeconds,
        uint256 minPricePerKWh,
        uint256 tickSizePerKWh,
        uint256 maxPricePerKWh
    ) AuctionCommon(vault_, meterRegistry_, feeRecipient_, gridFeeBps_, periodLengthSeconds, gateClosureSeconds) {
        if (admin == address(0)) revert ZeroAddress();
        _gridFeeBps = uint16(gridFeeBps_);
        // Meters send an interval's readings when it ends, and they may take at most one period's length.
        _readingDeadlineSeconds = uint32(Math.min(periodLengthSeconds, type(uint32).max));
        _setPriceGrid(minPricePerKWh, tickSizePerKWh, maxPricePerKWh);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    // ---- Markets ----
    // A market fixes the price grid and the fee rate that are in force at its first order. Its result
    // slot is written from that first order on, so that clearing rewrites the slot (5,000 gas) instead
    // of creating it.

    /// @dev Returns the market of `period`, fixing its grid if this is its first order. For an ask, it also
    /// lowers the market's fee rate if the fee was cut after the market could open. The caller writes the
    /// market back to storage.
    function _openMarket(uint256 period, bool isBid, uint256 closesAt) internal returns (Market memory market) {
        market = _markets[period];
        if (market.tickCount == 0) {
            market = _currentGrid(market);
            Clearing storage result = _clearings[period];
            result.opened = true;
            result.feeBps = _gridFeeBps;
        } else if (!isBid) {
            _cutMarketFee(period, closesAt);
        }
    }

    /// @dev If the fee was cut after the market of `period` could open, its sellers pay at most the fee in
    /// force now. The market's gate closes at `closesAt`.
    function _cutMarketFee(uint256 period, uint256 closesAt) internal {
        if (_feeCutAt + MAX_LEAD_TIME < closesAt) return;
        Clearing storage result = _clearings[period];
        uint16 feeBps = _gridFeeBps;
        if (feeBps < result.feeBps) result.feeBps = feeBps;
    }

    /// @dev Adds an order's volume to its side of its tick in the book `book` unless the total would pass
    /// MAX_TICK_VOLUME_WH. Returns the side's volume at the tick before the order, which is the order's
    /// C(i-1), and the volume including the order.
    function _addToTick(uint256 book, uint256 tick, uint256 amountWh, bool isBid)
        internal
        returns (uint256 beforeWh, uint256 afterWh)
    {
        return BookWords.addTo(_ticks, _occupiedTicks, _clearings, book, tick, amountWh, isBid, MAX_TICK_VOLUME_WH);
    }

    /// @dev Clears a market that may clear and has not cleared yet. AuctionClearing holds the rule; this
    /// function stores the result, accrues the fees and emits the event.
    function _clear(uint256 period) internal {
        uint256 feeBps = _clearings[period].feeBps;
        Market memory market = _markets[period];
        if (market.tickCount == 0) {
            // No order came, so fix the current grid and fee now, so that the market reports a price on it.
            market = _currentGrid(market);
            _markets[period] = market;
            feeBps = _gridFeeBps;
        }
        if (_zonesOf[period] != 0) return _clearZones(period, market, feeBps);
        uint256 book = _bookKey(period, 0);
        (Clearing memory result, uint256 surplus) =
            AuctionClearing.clear(_ticks, book, market, _occupiedTicks[book], feeBps);
        _clearings[period] = result;
        // slither-disable-next-line costly-loop: it is one warm write per cleared market, and at most one per reading of a metered batch
        if (surplus != 0) _accruedFeesPlusOne += surplus;
        emit MarketCleared(
            period,
            result.clearingTick,
            result.clearingPricePerKWh,
            result.volumeWh,
            result.longSide,
            result.marginalTick,
            result.rationedWh,
            result.marginalLevelWh,
            result.feeBps
        );
    }

    // ---- Zones ----
    // A market whose orders all trade on the bus clears alone (AuctionClearing). Once any order names a
    // zone, the market clears across its zones within their links (MarketZones, CoupledClearing): each
    // zone gets its own price and its own rationing, and the market's Clearing reports the bus's price,
    // the volume sold in all zones and LongSide.ZONES, which sends claims to their zone's result.

    /// @dev Clears the market of `period` across its zones. MarketZones reads the books and computes each
    /// zone's result; the auction keeps each one in the zone's occupancy word (AuctionState.zoneResult),
    /// which clearing has just read, stores the bus's price and the volume sold in all zones, and accrues
    /// what buyers pay beyond what sellers net (fees, rounding and the congestion rent).
    function _clearZones(uint256 period, Market memory market, uint256 feeBps) private {
        // slither-disable-next-line calls-loop,reentrancy-benign,reentrancy-events: MarketZones is the admin's, set once; it computes the zones' results and calls back only to read the books
        IMarketZones.CoupledResult memory r = _marketZones.recordClearing(period);
        for (uint256 i; i < r.zones.length; ++i) {
            // A zone in the market holds orders, so this rewrites its occupancy word, which clearing has read.
            _occupiedTicks[_bookKey(period, r.zones[i])] = r.zoneResults[i];
        }
        (uint256 busTick, uint256 soldWh, uint256 surplus) = (r.busTick, r.soldWh, r.surplus);
        uint256 busPricePerKWh = market.minPricePerKWh + busTick * market.tickSizePerKWh;
        _clearings[period] =
            Clearing(true, uint8(busTick), 0, LongSide.ZONES, uint16(feeBps), uint80(busPricePerKWh), uint48(soldWh), 0, 0);
        // slither-disable-next-line costly-loop: it is one warm write per cleared market, and at most one per reading of a metered batch
        if (surplus != 0) _accruedFeesPlusOne += surplus;
        emit MarketCleared(period, busTick, busPricePerKWh, soldWh, LongSide.ZONES, 0, 0, 0, feeBps);
    }

    /// @dev Adds a firm order to its zone's book, refusing it if its tick's side would pass
    /// MAX_TICK_VOLUME_WH, and records that the zone holds orders. Returns the order's word.
    function _joinBook(uint256 period, uint256 zone, uint256 tick, uint256 amountWh, uint256 limitPricePerKWh, bool isBid)
        internal
        returns (AuctionOrder)
    {
        (uint256 beforeWh, uint256 afterWh) = _addToTick(_bookKey(period, zone), tick, amountWh, isBid);
        if (afterWh > MAX_TICK_VOLUME_WH) revert TickVolumeTooLarge(period, tick, afterWh, MAX_TICK_VOLUME_WH);
        if (zone != 0) _markZone(period, zone);
        return AuctionOrderLibrary.pack(period, amountWh, beforeWh, tick, limitPricePerKWh).inZone(zone);
    }

    /// @dev Records that zone `zone` holds orders in the market of `period`.
    function _markZone(uint256 period, uint256 zone) internal {
        uint256 bits = _zonesOf[period];
        if (bits & (1 << zone) == 0) _zonesOf[period] = bits | (1 << zone);
    }

    // ---- Storage reads ----
    // MarketZones reads a market's books straight from storage (AuctionState), as Uniswap v4's periphery
    // reads its pool manager (Extsload), so that neither the clearing across zones nor its views add to the
    // auction's code.

    /// @inheritdoc IEnergyAuction
    function extsload(bytes32[] calldata slots) external view returns (bytes32[] memory values) {
        values = AuctionState.answer(slots);
    }
}
