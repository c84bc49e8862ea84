// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BitMath} from "../utils/BitMath.sol";

/// @title BitMathHarness
/// @notice Exposes the BitMath library to tests.
contract BitMathHarness {
    /// @notice Calls BitMath.lowestBit.
    function lowestBit(uint256 bits) external pure returns (uint256) {
        return BitMath.lowestBit(bits);
    }

    /// @notice Calls BitMath.highestBit.
    function highestBit(uint256 bits) external pure returns (uint256) {
        return BitMath.highestBit(bits);
    }

    /// @notice Calls BitMath.popCount.
    function popCount(uint256 bits) external pure returns (uint256) {
        return BitMath.popCount(bits);
    }
}
