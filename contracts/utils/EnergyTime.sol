// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title EnergyTime
/// @notice The grid's clock. It counts 900-second delivery intervals, the settlement period of European
/// markets, and UTC days, both from the unix epoch.
library EnergyTime {
    uint256 internal constant INTERVAL_SECONDS = 900;
    uint256 internal constant DAY_SECONDS = 86_400;
    uint256 internal constant INTERVALS_PER_DAY = DAY_SECONDS / INTERVAL_SECONDS;

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
