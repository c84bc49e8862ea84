// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Median} from "../libraries/Median.sol";
import {OracleReporters} from "./OracleReporters.sol";

/// @title RegionalOracle
/// @notice Four measurements per region (uint32 regionId), reported by the reporter set. A region's
/// value is the per-field median of its reporters' fresh reports (see OracleReporters), computed
/// and stored at each submission with `updatedAt = block.timestamp`. Children name the fields,
/// check their physical bounds (`_checkFields`, called after the caller is known to be a reporter)
/// and emit their events.
/// @dev One packed word per report (keyed by region and reporter) and per region value:
/// bits 0-191 four int48 fields (field i at bit 48 * i, two's complement), bits 192-231 a uint40
/// timestamp (reportedAt or updatedAt; 0 = none), bits 232-239 a uint8 count (for a region value,
/// the fresh reports its medians came from). Children bound every field within int48.
abstract contract RegionalOracle is OracleReporters {
    /// @dev Measurements per report.
    uint256 internal constant FIELD_COUNT = 4;
    uint256 private constant FIELD_BITS = 48;
    uint256 private constant FIELD_MASK = (1 << FIELD_BITS) - 1;
    uint256 private constant TIMESTAMP_SHIFT = FIELD_COUNT * FIELD_BITS;
    uint256 private constant COUNT_SHIFT = TIMESTAMP_SHIFT + 40;

    mapping(uint32 regionId => mapping(address reporter => uint256 packedReport)) private _reports;
    mapping(uint32 regionId => uint256 packedValue) private _values;

    constructor(address admin, uint256 heartbeatSeconds) OracleReporters(admin, heartbeatSeconds) {}

    /// @dev Checks that the caller is a reporter and `fields` are in bounds, stores the caller's
    /// report for `regionId`, then the region's new value: the per-field median of the fresh
    /// reports. Returns that value and how many reports it came from.
    function _submit(uint32 regionId, int256[FIELD_COUNT] memory fields)
        internal
        returns (int256[FIELD_COUNT] memory medians, uint256 reportCount)
    {
        (Reporter[] memory reporters, uint256 heartbeatSeconds) = _reportersWith(msg.sender);
        _checkFields(fields);
        uint256 own = _pack(fields, block.timestamp, 0);
        mapping(address => uint256) storage reports = _reports[regionId];
        reports[msg.sender] = own;

        int256[][FIELD_COUNT] memory columns;
        for (uint256 k; k < FIELD_COUNT; ++k) {
            columns[k] = new int256[](reporters.length);
        }
        for (uint256 i; i < reporters.length; ++i) {
            Reporter memory reporter = reporters[i];
            uint256 report = reporter.account == msg.sender ? own : reports[reporter.account];
            if (!_isFresh(_timestamp(report), reporter.addedAt, heartbeatSeconds)) continue;
            for (uint256 k; k < FIELD_COUNT; ++k) {
                columns[k][reportCount] = _field(report, k);
            }
            ++reportCount;
        }
        for (uint256 k; k < FIELD_COUNT; ++k) {
            int256[] memory column = columns[k];
            // slither-disable-next-line assembly: shortens each column to its fresh reports in place, so the median sees no empty slots
            assembly ("memory-safe") {
                mstore(column, reportCount)
            }
            medians[k] = Median.median(column);
        }
        _values[regionId] = _pack(medians, block.timestamp, reportCount);
    }

    /// @dev Reverts with the child's custom error when a field is outside its physical bounds
    /// (which must lie within int48).
    function _checkFields(int256[FIELD_COUNT] memory fields) internal pure virtual;

    /// @dev The region's value: fields, the count of reports behind it and its updatedAt (all 0 = none).
    function _value(uint32 regionId)
        internal
        view
        returns (int256[FIELD_COUNT] memory fields, uint256 reportCount, uint256 updatedAt)
    {
        uint256 packed = _values[regionId];
        for (uint256 k; k < FIELD_COUNT; ++k) {
            fields[k] = _field(packed, k);
        }
        return (fields, packed >> COUNT_SHIFT, _timestamp(packed));
    }

    function _pack(int256[FIELD_COUNT] memory fields, uint256 timestamp, uint256 count)
        private
        pure
        returns (uint256 packed)
    {
        for (uint256 k; k < FIELD_COUNT; ++k) {
            packed |= (uint256(fields[k]) & FIELD_MASK) << (FIELD_BITS * k);
        }
        packed |= (timestamp << TIMESTAMP_SHIFT) | (count << COUNT_SHIFT);
    }

    function _field(uint256 packed, uint256 k) private pure returns (int256) {
        return int256(int48(uint48(packed >> (FIELD_BITS * k))));
    }

    function _timestamp(uint256 packed) private pure returns (uint256) {
        return uint40(packed >> TIMESTAMP_SHIFT);
    }
}
