// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IEnergyAuction} from "../IEnergyAuction.sol";
import {IEnergyVault} from "../../vault/IEnergyVault.sol";
import {VaultCalls} from "../../vault/VaultCalls.sol";
import {AuctionStorage, Clearing, Market} from "./AuctionStorage.sol";
import {ZoneResult} from "../../types/ZoneResult.sol";

/// @title AuctionCommon
/// @notice The rules the auction and its extension share over the auction's storage: the grid fees'
/// hooks, the price grid a market opens with, the times a market's gate closes and it clears, and the
/// result that pays an order of a zone.
abstract contract AuctionCommon is AuctionStorage {
    constructor(
        IEnergyVault vault_,
        address meterRegistry_,
        address feeRecipient_,
        uint256 gridFeeBps_,
        uint256 periodLengthSeconds,
        uint256 gateClosureSeconds
    ) AuctionStorage(vault_, meterRegistry_, feeRecipient_, gridFeeBps_, periodLengthSeconds, gateClosureSeconds) {}

    // ---- Grid fees ----

    function _gridFee() internal view override returns (uint256) {
        return _gridFeeBps;
    }

    /// @dev Records the time of a fee cut, because an ask lowers its market's rate only if the cut came
    /// after the market could open.
    function _storeGridFee(uint256 previousBps, uint256 newBps) internal override {
        _gridFeeBps = uint16(newBps);
        if (newBps < previousBps) _feeCutAt = uint40(block.timestamp);
    }

    /// @dev The fees are held as the auction's vault balance, so the recipient is credited in the vault.
    function _payFees(address recipient, uint256 amount) internal override {
        VaultCalls.give(_vault, recipient, 0, amount);
    }

    function _feesAccrued() internal view override returns (uint256) {
        return _accruedFeesPlusOne - 1;
    }

    function _clearFeesAccrued() internal override {
        _accruedFeesPlusOne = 1;
    }

    /// @dev The key of zone `zone`'s book in the market of `period`.
    function _bookKey(uint256 period, uint256 zone) internal pure returns (uint256) {
        unchecked {
            return (period << 8) | zone;
        }
    }

    /// @dev Returns the Clearing that pays an order on side `isBid` of zone `zone` in a market that cleared
    /// across zones (LongSide.ZONES in `c`, the market's own result), from the zone's result that clearing
    /// kept in the zone's occupancy word (AuctionState.zoneResult): its zone's side with that side as the
    /// long one, so that orders better than its marginal tick fill in full, orders at it share L of T and
    /// worse ones get nothing. The volume is only marked non-zero, since the marginal fields decide. A
    /// market that cleared alone pays from its own result, so callers ask this only of a market cleared
    /// across zones: a function that returns a struct in memory allocates one, and claims and standing
    /// settlements would otherwise pay for it every time.
    function _zoneClearing(Clearing memory c, uint256 period, uint256 zone, bool isBid)
        internal
        view
        returns (Clearing memory)
    {
        ZoneResult result = ZoneResult.wrap(_occupiedTicks[_bookKey(period, zone)]);
        uint256 tick = result.tick();
        (uint256 marginalTick, uint256 rationedWh, uint256 levelWh) = result.marginal(isBid);
        Market storage market = _markets[period];
        return Clearing(
            true,
            uint8(tick),
            uint8(marginalTick),
            isBid ? IEnergyAuction.LongSide.BIDS : IEnergyAuction.LongSide.ASKS,
            c.feeBps,
            uint80(market.minPricePerKWh + tick * market.tickSizePerKWh),
            1,
            uint40(rationedWh),
            uint40(levelWh)
        );
    }

    // ---- Price grid ----

    function _setPriceGrid(uint256 minPricePerKWh, uint256 tickSizePerKWh, uint256 maxPricePerKWh) internal {
        if (
            minPricePerKWh == 0 || tickSizePerKWh == 0 || maxPricePerKWh < minPricePerKWh
                || maxPricePerKWh > MAX_PRICE_PER_KWH || (maxPricePerKWh - minPricePerKWh) % tickSizePerKWh != 0
                || (maxPricePerKWh - minPricePerKWh) / tickSizePerKWh >= MAX_TICKS
        ) revert IEnergyAuction.InvalidPriceGrid(minPricePerKWh, tickSizePerKWh, maxPricePerKWh);
        _minPricePerKWh = uint80(minPricePerKWh);
        _tickSizePerKWh = uint80(tickSizePerKWh);
        _tickCount = uint16((maxPricePerKWh - minPricePerKWh) / tickSizePerKWh + 1);
        emit IEnergyAuction.PriceGridUpdated(minPricePerKWh, tickSizePerKWh, maxPricePerKWh);
    }

    /// @dev Returns `market` with the current price grid fixed in it.
    function _currentGrid(Market memory market) internal view returns (Market memory) {
        market.tickCount = _tickCount;
        market.minPricePerKWh = _minPricePerKWh;
        market.tickSizePerKWh = _tickSizePerKWh;
        return market;
    }

    // ---- Time ----

    function _gateClosureTime(uint256 period) internal view returns (uint256) {
        return Math.saturatingSub(Math.saturatingMul(period, _periodLength), _gateClosure);
    }

    /// @dev With standing orders, a market waits for its interval's readings, so it clears at the end of
    /// the interval plus the reading deadline.
    function _clearingTime(uint256 period) internal view returns (uint256) {
        if (_meterRegistry == address(0)) return _gateClosureTime(period);
        return Math.saturatingAdd(Math.saturatingMul(Math.saturatingAdd(period, 1), _periodLength), _readingDeadlineSeconds);
    }

    /// @dev Returns `_clearingTime` for a period that a reading measured, which is the reading's time
    /// divided by the period length. For such a period the sum cannot overflow, so the reading path
    /// skips the saturating arithmetic.
    function _meteredClearingTime(uint256 period) internal view returns (uint256) {
        unchecked {
            return (period + 1) * _periodLength + _readingDeadlineSeconds;
        }
    }
}
