// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev The number of measurements in one regional report.
uint256 constant REPORT_FIELDS = 4;

/// @notice One regional oracle report, or a region's value, packed into a single storage word. From the
/// low bits up:
/// - four int48 measurements in two's complement, with field k at bit 48 * k;
/// - reportedAt or updatedAt as a uint40, where zero means none;
/// - count as a uint4, which for a region's value is the number of fresh reports its medians came from;
/// - round in 20 bits, which is the round a report joined, or the round of the region's value.
/// @dev Rounds count modulo 2^20. A report cannot be told apart from one exactly 2^20 rounds older, but
/// that would take a million quorums within one heartbeat. The oracles keep every field within int48
/// and the count within the reporter limit before they pack.
type RegionalReport is uint256;

using RegionalReportLibrary for RegionalReport global;

/// @title RegionalReportLibrary
/// @notice Packs and reads a RegionalReport, so that gathering a round's medians costs one storage read
/// per report.
library RegionalReportLibrary {
    uint256 private constant FIELD_BITS = 48;
    // Each derived from the one before, written in literals so that solc folds them: a constant made of
    // other constants is computed where it is used, with checked arithmetic.
    uint256 private constant FIELD_MASK = (1 << 48) - 1; // FIELD_BITS wide
    uint256 private constant TIMESTAMP_SHIFT = 4 * 48; // REPORT_FIELDS fields of FIELD_BITS
    uint256 private constant COUNT_SHIFT = 4 * 48 + 40; // after the 40-bit timestamp
    uint256 private constant COUNT_MASK = 0xf;
    uint256 private constant ROUND_SHIFT = 4 * 48 + 44; // after the 4-bit count
    uint256 private constant ROUND_MASK = (1 << 20) - 1;

    /// @dev Packs a report of `fields` made at `timestampSeconds` from `count_` reports in `round_`.
    function pack(int256[REPORT_FIELDS] memory fields, uint256 timestampSeconds, uint256 count_, uint256 round_)
        internal
        pure
        returns (RegionalReport)
    {
        uint256 packed = 0;
        for (uint256 k; k < REPORT_FIELDS; ++k) {
            packed |= (uint256(fields[k]) & FIELD_MASK) << (FIELD_BITS * k);
        }
        packed |= (timestampSeconds << TIMESTAMP_SHIFT) | (count_ << COUNT_SHIFT) | (round_ << ROUND_SHIFT);
        return RegionalReport.wrap(packed);
    }

    /// @dev Returns measurement `k`, sign-extended from its 48 bits.
    function field(RegionalReport report, uint256 k) internal pure returns (int256) {
        return int256(int48(uint48(RegionalReport.unwrap(report) >> (FIELD_BITS * k))));
    }

    /// @dev Returns when the report was made or the value was written, or zero for none.
    function timestamp(RegionalReport report) internal pure returns (uint256) {
        return uint40(RegionalReport.unwrap(report) >> TIMESTAMP_SHIFT);
    }

    /// @dev Returns, for a region's value, the number of fresh reports its medians came from.
    function count(RegionalReport report) internal pure returns (uint256) {
        return (RegionalReport.unwrap(report) >> COUNT_SHIFT) & COUNT_MASK;
    }

    /// @dev Returns the round the report joined, or the round of the region's value.
    function round(RegionalReport report) internal pure returns (uint256) {
        return RegionalReport.unwrap(report) >> ROUND_SHIFT;
    }

    /// @dev Returns the round after `round_`, wrapping around at 2^20.
    function nextRound(uint256 round_) internal pure returns (uint256) {
        return (round_ + 1) & ROUND_MASK;
    }
}
