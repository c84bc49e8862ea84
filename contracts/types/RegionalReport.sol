// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev Measurements in one regional report.
uint256 constant REPORT_FIELDS = 4;

/// @notice One regional oracle report, or a region's value, packed into a single storage word, low
/// bits first: four int48 measurements (field k at bit 48 * k, two's complement) | reportedAt or
/// updatedAt, uint40 (0 = none) | count, uint4 (for a region's value, the fresh reports its medians
/// came from) | round, 20 bits (the round a report joined, or the round of the region's value).
/// @dev Rounds count modulo 2^20: a report is told apart from one 2^20 rounds older only by that wrap,
/// which takes a million quorums within a heartbeat. The oracles bound every field within int48 and
/// the count within the reporter limit before they pack.
type RegionalReport is uint256;

using RegionalReportLibrary for RegionalReport global;

/// @title RegionalReportLibrary
/// @notice Packing for RegionalReport: one storage read per report while a round's medians are gathered.
library RegionalReportLibrary {
    uint256 private constant FIELD_BITS = 48;
    uint256 private constant FIELD_MASK = (1 << FIELD_BITS) - 1;
    uint256 private constant TIMESTAMP_SHIFT = REPORT_FIELDS * FIELD_BITS;
    uint256 private constant COUNT_SHIFT = TIMESTAMP_SHIFT + 40;
    uint256 private constant COUNT_MASK = 0xf;
    uint256 private constant ROUND_SHIFT = COUNT_SHIFT + 4;
    uint256 private constant ROUND_MASK = (1 << 20) - 1;

    /// @dev A report of `fields` at `timestampSeconds`, from `count` reports, in `round`.
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

    /// @dev Measurement `k`, sign-extended from its 48 bits.
    function field(RegionalReport report, uint256 k) internal pure returns (int256) {
        return int256(int48(uint48(RegionalReport.unwrap(report) >> (FIELD_BITS * k))));
    }

    /// @dev When the report was made, or the value written (0 = none).
    function timestamp(RegionalReport report) internal pure returns (uint256) {
        return uint40(RegionalReport.unwrap(report) >> TIMESTAMP_SHIFT);
    }

    /// @dev For a region's value, the fresh reports its medians came from.
    function count(RegionalReport report) internal pure returns (uint256) {
        return (RegionalReport.unwrap(report) >> COUNT_SHIFT) & COUNT_MASK;
    }

    /// @dev The round the report joined, or the round of the region's value.
    function round(RegionalReport report) internal pure returns (uint256) {
        return RegionalReport.unwrap(report) >> ROUND_SHIFT;
    }

    /// @dev The round after `round_`, wrapping at 2^20.
    function nextRound(uint256 round_) internal pure returns (uint256) {
        return (round_ + 1) & ROUND_MASK;
    }
}
