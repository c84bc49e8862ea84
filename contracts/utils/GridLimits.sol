// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title GridLimits
/// @notice Physical bounds every grid measurement is checked against (meter readings, operator
/// reports, oracle data), kept in one place so the contracts agree.
library GridLimits {
    /// @dev Outside 45-65 Hz a measurement is faulty or the grid islanded, on 50 and 60 Hz grids alike.
    uint256 internal constant MIN_FREQUENCY_MILLIHZ = 45_000;
    uint256 internal constant MAX_FREQUENCY_MILLIHZ = 65_000;
    /// @dev Per-mille of nominal: outside 50-150 % nothing connected is measuring a live grid.
    uint256 internal constant MIN_VOLTAGE_PER_MILLE = 500;
    uint256 internal constant MAX_VOLTAGE_PER_MILLE = 1500;
}
