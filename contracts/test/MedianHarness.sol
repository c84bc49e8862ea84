// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Median} from "../oracles/Median.sol";

/// @title MedianHarness
/// @notice Exposes the Median library to tests: the median of a list of reports as the oracles take it.
contract MedianHarness {
    /// @notice Median.median of `values` (sorted in a memory copy).
    function median(int256[] memory values) external pure returns (int256) {
        return Median.median(values);
    }

    /// @notice Median.medianNear of `values` around `anchor`.
    function medianNear(int256[] memory values, int256 anchor) external pure returns (int256) {
        return Median.medianNear(values, anchor);
    }
}
