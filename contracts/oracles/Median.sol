// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Median
/// @notice The median of a small array (the oracles' reports: at most 15 values).
library Median {
    /// @notice Sorts `values` in place (ascending) and returns their median; with an even count, the
    /// mean of the two middle values rounded toward zero.
    /// @dev `values` must not be empty (callers always include the report being submitted), and the
    /// two middle values must sum within int256 (the oracles store 48- and 128-bit values).
    function median(int256[] memory values) internal pure returns (int256) {
        (int256 lower, int256 upper) = _middle(values);
        // Solidity's signed division rounds toward zero.
        return lower == upper ? lower : (lower + upper) / 2;
    }

    /// @notice Sorts `values` in place (ascending) and returns their median, an even count settling
    /// on the point between the two middle values nearest `anchor` (the last value written): with
    /// two reports, the one that stays nearer the last value, so one reporter of two cannot pull
    /// the value away from it.
    /// @dev `values` must not be empty.
    function medianNear(int256[] memory values, int256 anchor) internal pure returns (int256) {
        (int256 lower, int256 upper) = _middle(values);
        if (anchor < lower) return lower;
        if (anchor > upper) return upper;
        return anchor;
    }

    /// @dev Insertion sort (O(n²) comparisons, cheapest for the n ≤ 15 the oracles pass), then the
    /// two middle values (the same one twice for an odd count).
    function _middle(int256[] memory values) private pure returns (int256 lower, int256 upper) {
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
        upper = values[n / 2];
        lower = n % 2 == 1 ? upper : values[n / 2 - 1];
    }
}
