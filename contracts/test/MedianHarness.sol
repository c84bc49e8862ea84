// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Median} from "../oracles/Median.sol";

/// @title MedianHarness
/// @notice Exposes the Median library to tests: the median of a list of reports, taken as the oracles
/// take it.
contract MedianHarness {
    /// @notice Calls Median.median on `values`. The library sorts them in place, which here is a memory
    /// copy of the call's arguments.
    function median(int256[] memory values) external pure returns (int256) {
        return Median.median(values);
    }

    /// @notice Calls Median.medianNear on `values` around `anchor`.
    function medianNear(int256[] memory values, int256 anchor) external pure returns (int256) {
        return Median.medianNear(values, anchor);
    }
}
