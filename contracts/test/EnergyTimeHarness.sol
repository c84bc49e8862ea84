// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyTime} from "../utils/EnergyTime.sol";

/// @title EnergyTimeHarness
/// @notice Exposes the EnergyTime library to tests: the grid's 900-second intervals and UTC days.
contract EnergyTimeHarness {
    /// @notice Returns the library's constants: the interval length, the day length and the number of
    /// intervals in a day.
    function constants() external pure returns (uint256, uint256, uint256) {
        return (EnergyTime.INTERVAL_SECONDS, EnergyTime.DAY_SECONDS, EnergyTime.INTERVALS_PER_DAY);
    }

    /// @notice Calls EnergyTime.intervalOf.
    function intervalOf(uint256 timestamp) external pure returns (uint256) {
        return EnergyTime.intervalOf(timestamp);
    }

    /// @notice Calls EnergyTime.dayOf.
    function dayOf(uint256 timestamp) external pure returns (uint256) {
        return EnergyTime.dayOf(timestamp);
    }

    /// @notice Calls EnergyTime.firstIntervalOfDay.
    function firstIntervalOfDay(uint256 day) external pure returns (uint256) {
        return EnergyTime.firstIntervalOfDay(day);
    }
}
