// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ZoneClearing} from "../market/auction/CoupledClearing.sol";
import {IMarketZones} from "../market/IMarketZones.sol";

/// @dev One zone's result in a coupled market, packed into the one word a claim reads. From the low bits
/// up: the zone's tick (8 bits); the bids' marginal tick (8), rationed volume L (40) and level volume T
/// (40); the asks' marginal tick (8), L (40) and T (40); the zone's role (8); and its net export in Wh as
/// a signed 64-bit number. A tick side gathers at most 10^12 Wh, below 2^40, so L and T fit their fields,
/// and a zone's 256 ticks at most 2.56 × 10^14 Wh a side, far within the net export's field.
type ZoneResult is uint256;

using ZoneResultLibrary for ZoneResult global;

/// @title ZoneResultLibrary
/// @notice Packs and reads a zone's result.
library ZoneResultLibrary {
    uint256 private constant BID_SHIFT = 8;
    uint256 private constant ASK_SHIFT = 96;
    uint256 private constant ROLE_SHIFT = 184;
    uint256 private constant NET_EXPORT_SHIFT = 192;

    function pack(ZoneClearing memory r) internal pure returns (ZoneResult) {
        unchecked {
            return ZoneResult.wrap(
                r.tick | (_side(r.bidMarginalTick, r.bidRationedWh, r.bidLevelWh) << BID_SHIFT)
                    | (_side(r.askMarginalTick, r.askRationedWh, r.askLevelWh) << ASK_SHIFT)
                    | (uint256(r.role) << ROLE_SHIFT) | (uint256(r.netExportWh) << NET_EXPORT_SHIFT)
            );
        }
    }

    /// @notice The fields `pack` keeps, the volume left at zero.
    function unpack(ZoneResult result) internal pure returns (ZoneClearing memory r) {
        r.tick = tick(result);
        r.role = role(result);
        r.netExportWh = netExportWh(result);
        (r.bidMarginalTick, r.bidRationedWh, r.bidLevelWh) = marginal(result, true);
        (r.askMarginalTick, r.askRationedWh, r.askLevelWh) = marginal(result, false);
    }

    function tick(ZoneResult result) internal pure returns (uint256) {
        return uint8(ZoneResult.unwrap(result));
    }

    function role(ZoneResult result) internal pure returns (IMarketZones.ZoneRole) {
        return IMarketZones.ZoneRole(uint8(ZoneResult.unwrap(result) >> ROLE_SHIFT));
    }

    function netExportWh(ZoneResult result) internal pure returns (int256) {
        return int256(ZoneResult.unwrap(result)) >> NET_EXPORT_SHIFT;
    }

    /// @notice Whether the net exports of a market's zones (one ZoneResult word each) add up to zero, as
    /// they do when the links carry exactly what the zones trade with each other.
    function netExportsBalance(uint256[] memory results) internal pure returns (bool) {
        int256 netWh = 0;
        for (uint256 z; z < results.length; ++z) {
            netWh += netExportWh(ZoneResult.wrap(results[z]));
        }
        return netWh == 0;
    }

    /// @notice Returns one side's marginal tick, the volume its marginal level trades (L) and that level's volume (T).
    function marginal(ZoneResult result, bool isBid)
        internal
        pure
        returns (uint256 marginalTick, uint256 rationedWh, uint256 levelWh)
    {
        uint256 fields = ZoneResult.unwrap(result) >> (isBid ? BID_SHIFT : ASK_SHIFT);
        return (uint8(fields), uint40(fields >> 8), uint40(fields >> 48));
    }

    function _side(uint256 marginalTick, uint256 rationedWh, uint256 levelWh) private pure returns (uint256) {
        return marginalTick | (rationedWh << 8) | (levelWh << 48);
    }
}
