// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title EnergyTime
/// @notice The grid's clock. It counts 900-second delivery intervals, the settlement period of European
/// markets, and UTC days, both from the unix epoch.
library EnergyTime {
    uint256 internal constant INTERVAL_SECONDS = 900;
    uint256 internal constant DAY_SECONDS = 86_400;
    // DAY_SECONDS / INTERVAL_SECONDS, written in literals: solc computes a constant defined from other
    // constants at each use, with checked arithmetic, and readings and clearing use this one.
    uint256 internal constant INTERVALS_PER_DAY = 86_400 / 900;

    function intervalOf(uint256 timestamp) internal pure returns (uint256) {
        return timestamp / INTERVAL_SECONDS;
    }

    function dayOf(uint256 timestamp) internal pure returns (uint256) {
        return timestamp / DAY_SECONDS;
    }

    function firstIntervalOfDay(uint256 day) internal pure returns (uint256) {
        return day * INTERVALS_PER_DAY;
    }
}
