// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMarketZones} from "../market/IMarketZones.sol";

/// @title MarketZonesEventsHarness
/// @notice Emits MarketZones' own events with whatever arguments it is given, values the market
/// would never emit included, for the event index's tests.
contract MarketZonesEventsHarness {
    /// @notice Emits one LinkLimitsSet per first period, in one transaction, the caller as the operator.
    function emitLinkLimitsSet(
        uint32 regionId,
        uint256[] calldata firstPeriods,
        uint256 periodCount,
        uint256 importLimitKW,
        uint256 exportLimitKW
    ) external {
        for (uint256 i = 0; i < firstPeriods.length; ++i) {
            emit IMarketZones.LinkLimitsSet(regionId, firstPeriods[i], periodCount, importLimitKW, exportLimitKW, msg.sender);
        }
    }

    /// @notice Emits ZoneCleared.
    function emitZoneCleared(
        uint256 period,
        uint256 zone,
        IMarketZones.ZoneRole role,
        uint256 clearingTick,
        uint256 clearingPricePerKWh,
        int256 netExportWh
    ) external {
        emit IMarketZones.ZoneCleared(period, zone, role, clearingTick, clearingPricePerKWh, netExportWh);
    }
}
