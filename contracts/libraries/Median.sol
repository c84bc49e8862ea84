// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Median
/// @notice The median of a small array (the oracles' reports: at most 15 values).
library Median {
    /// @notice Sorts `values` in place (ascending) and returns their median; with an even count, the
    /// mean of the two middle values rounded toward zero.
    /// @dev Insertion sort: O(n²) comparisons, cheapest for the n ≤ 15 the oracles pass. `values`
    /// must not be empty (callers always include the report being submitted), and the two middle
    /// values must sum within int256 (the oracles store 48- and 192-bit values).
    function median(int256[] memory values) internal pure returns (int256) {
        uint256 n = values.length;
        for (uint256 i = 1; i < n; ++i) {
            int256 value = values[i];
            uint256 j = i;
            while (j > 0 && values[j - 1] > value) {
                values[j] = values[j - 1];
                --j;
            }
            values[j] = value;
        }
        uint256 middle = n / 2;
        if (n % 2 == 1) return values[middle];
        // Solidity's signed division rounds toward zero.
        return (values[middle - 1] + values[middle]) / 2;
    }
}
