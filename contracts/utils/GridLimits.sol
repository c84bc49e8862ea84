// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title GridLimits
/// @notice The physical bounds that every grid measurement is checked against, whether it comes from a
/// meter reading, an operator report or oracle data. They are kept in one place so that the contracts
/// agree.
library GridLimits {
    /// @dev Outside 45-65 Hz a measurement is faulty or the grid is islanded, on 50 Hz and 60 Hz grids alike.
    uint256 internal constant MIN_FREQUENCY_MILLIHZ = 45_000;
    uint256 internal constant MAX_FREQUENCY_MILLIHZ = 65_000;
    /// @dev Voltages are in per mille of nominal. Outside 50-150 % nothing connected is measuring a live grid.
    uint256 internal constant MIN_VOLTAGE_PER_MILLE = 500;
    uint256 internal constant MAX_VOLTAGE_PER_MILLE = 1500;
}

/// @title PublishedGridLimits
/// @notice The bounds of GridLimits as public constants, so that a contract's callers can read from the
/// contract itself the bounds their reports are checked against.
/// @dev The contract is abstract and has no storage. Inheriting it adds the four getters to a contract's
/// ABI and nothing else, so the contracts that publish the bounds declare them once, here.
abstract contract PublishedGridLimits {
    /// @notice The lowest and highest grid frequency a report may carry, in mHz, which is 45-65 Hz.
    uint256 public constant MIN_FREQUENCY_MILLIHZ = GridLimits.MIN_FREQUENCY_MILLIHZ;
    uint256 public constant MAX_FREQUENCY_MILLIHZ = GridLimits.MAX_FREQUENCY_MILLIHZ;
    /// @notice The lowest and highest voltage a report may carry, in per mille of nominal, which is
    /// 50-150 %.
    uint256 public constant MIN_VOLTAGE_PER_MILLE = GridLimits.MIN_VOLTAGE_PER_MILLE;
    uint256 public constant MAX_VOLTAGE_PER_MILLE = GridLimits.MAX_VOLTAGE_PER_MILLE;
}
