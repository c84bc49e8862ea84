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

/// @title PublishedGridLimits
/// @notice The bounds of GridLimits as public constants, for a contract whose callers read the
/// bounds their reports are checked against from the contract itself.
/// @dev Abstract and without storage: inheriting it adds the four getters to a contract's ABI and
/// nothing else, so the contracts that publish the bounds declare them once, here.
abstract contract PublishedGridLimits {
    /// @notice Lowest and highest grid frequency a report may carry, mHz: 45-65 Hz.
    uint256 public constant MIN_FREQUENCY_MILLIHZ = GridLimits.MIN_FREQUENCY_MILLIHZ;
    uint256 public constant MAX_FREQUENCY_MILLIHZ = GridLimits.MAX_FREQUENCY_MILLIHZ;
    /// @notice Lowest and highest voltage a report may carry, per mille of nominal: 50-150 %.
    uint256 public constant MIN_VOLTAGE_PER_MILLE = GridLimits.MIN_VOLTAGE_PER_MILLE;
    uint256 public constant MAX_VOLTAGE_PER_MILLE = GridLimits.MAX_VOLTAGE_PER_MILLE;
}
