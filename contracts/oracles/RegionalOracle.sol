// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Median} from "./Median.sol";
import {MemoryArrays} from "../utils/MemoryArrays.sol";
import {OracleReporters} from "./OracleReporters.sol";

/// @title RegionalOracle
/// @notice Four measurements per region (uint32 regionId), reported by the reporter set in rounds.
/// A reporter's report joins the region's round being gathered, one fresh report per reporter per
/// round (see OracleReporters); once the round holds `quorum()` fresh reports, the region's value
/// becomes their per-field median, stored with `updatedAt = block.timestamp`, and later reports to
/// the same round refine it. An even count settles each field on the point between its two middle
/// reports nearest the region's last value (the mean of the two for a region's first value), so
/// one reporter of two cannot pull a field away from it. Below the quorum the value stays as it was.
/// Children name the fields, check their physical bounds (`_checkFields`, called after the caller
/// is known to be a reporter) and emit their events.
/// @dev One packed word per report (keyed by region and reporter) and per region value:
/// bits 0-191 four int48 fields (field i at bit 48 * i, two's complement), bits 192-231 a uint40
/// timestamp (reportedAt or updatedAt; 0 = none), bits 232-235 a uint4 count (for a region value,
/// the fresh reports its medians came from; MAX_REPORTERS fits), bits 236-255 a 20-bit round (the
/// round a report joined, or the round of the region's value), counted modulo 2^20: a report is
/// told apart from one 2^20 rounds older only by that wrap, which takes a million quorums within a
/// heartbeat. Children bound every field within int48.
abstract contract RegionalOracle is OracleReporters {
    /// @dev Measurements per report.
    uint256 internal constant FIELD_COUNT = 4;
    uint256 private constant FIELD_BITS = 48;
    uint256 private constant FIELD_MASK = (1 << FIELD_BITS) - 1;
    uint256 private constant TIMESTAMP_SHIFT = FIELD_COUNT * FIELD_BITS;
    uint256 private constant COUNT_SHIFT = TIMESTAMP_SHIFT + 40;
    uint256 private constant COUNT_MASK = 0xf;
    uint256 private constant ROUND_SHIFT = COUNT_SHIFT + 4;
    uint256 private constant ROUND_MASK = (1 << 20) - 1;

    mapping(uint32 regionId => mapping(address reporter => uint256 packedReport)) private _reports;
    mapping(uint32 regionId => uint256 packedValue) private _values;

    constructor(address admin, uint256 heartbeatSeconds, uint256 minQuorum_)
        OracleReporters(admin, heartbeatSeconds, minQuorum_)
    {}

    /// @dev Checks that the caller is a reporter and `fields` are in bounds, stores the caller's
    /// report for `regionId` in the round it joins and, once that round holds a quorum of fresh
    /// reports, the region's new value. Returns whether a value was written, the value and how many
    /// fresh reports the round holds.
    function _submit(uint32 regionId, int256[FIELD_COUNT] memory fields)
        internal
        returns (bool written, int256[FIELD_COUNT] memory medians, uint256 reportCount)
    {
        Roster memory roster = _rosterWith(msg.sender);
        _checkFields(fields);
        mapping(address => uint256) storage reports = _reports[regionId];
        uint256 value = _values[regionId];
        uint256 round = _joinedRound(reports, roster, _round(value));
        uint256 own = _pack(fields, block.timestamp, 0, round);
        reports[msg.sender] = own;

        Reporter[] memory reporters = roster.reporters;
        // slither-disable-next-line uninitialized-local: each column is allocated in the loop just below
        int256[][FIELD_COUNT] memory columns;
        for (uint256 k; k < FIELD_COUNT; ++k) {
            columns[k] = new int256[](reporters.length);
        }
        for (uint256 i; i < reporters.length; ++i) {
            Reporter memory reporter = reporters[i];
            uint256 report = reporter.account == msg.sender ? own : reports[reporter.account];
            if (_round(report) != round || !_isFresh(_timestamp(report), reporter.addedAt, roster.heartbeatSeconds)) {
                continue;
            }
            for (uint256 k; k < FIELD_COUNT; ++k) {
                columns[k][reportCount] = _field(report, k);
            }
            ++reportCount;
        }
        if (reportCount < roster.quorum) return (false, medians, reportCount);

        bool anchored = _timestamp(value) != 0;
        for (uint256 k; k < FIELD_COUNT; ++k) {
            int256[] memory column = columns[k];
            // Only the fresh reports: the median must see no empty slots.
            MemoryArrays.shorten(column, reportCount);
            medians[k] = anchored ? Median.medianNear(column, _field(value, k)) : Median.median(column);
        }
        _values[regionId] = _pack(medians, block.timestamp, reportCount, round);
        written = true;
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
        return (fields, (packed >> COUNT_SHIFT) & COUNT_MASK, _timestamp(packed));
    }

    /// @dev The round the caller's report joins: the one after the value's round (`latestRound`)
    /// when the caller reported in the value's round or another reporter has a fresh report waiting
    /// there, else the value's round itself, which the report then refines. A caller with a fresh
    /// report waiting in the next round already is refused: one report per reporter per round.
    function _joinedRound(mapping(address => uint256) storage reports, Roster memory roster, uint256 latestRound)
        private
        view
        returns (uint256 next)
    {
        next = (latestRound + 1) & ROUND_MASK;
        uint256 own = reports[msg.sender];
        uint256 ownRound = _round(own);
        // slither-disable-next-line incorrect-equality: round ids are counters compared for identity, not balances or times
        if (ownRound == next) {
            if (_isFresh(_timestamp(own), roster.callerAddedAt, roster.heartbeatSeconds)) {
                revert AlreadyReported(msg.sender, next);
            }
            return next;
        }
        // slither-disable-next-line incorrect-equality: round ids are counters compared for identity, not balances or times
        if (ownRound == latestRound) return next;
        Reporter[] memory reporters = roster.reporters;
        for (uint256 i; i < reporters.length; ++i) {
            uint256 report = reports[reporters[i].account];
            // slither-disable-next-line incorrect-equality: round ids are counters compared for identity, not balances or times
            if (_round(report) == next && _isFresh(_timestamp(report), reporters[i].addedAt, roster.heartbeatSeconds)) {
                return next;
            }
        }
        return latestRound;
    }

    function _pack(int256[FIELD_COUNT] memory fields, uint256 timestamp, uint256 count, uint256 round)
        private
        pure
        returns (uint256 packed)
    {
        for (uint256 k; k < FIELD_COUNT; ++k) {
            packed |= (uint256(fields[k]) & FIELD_MASK) << (FIELD_BITS * k);
        }
        packed |= (timestamp << TIMESTAMP_SHIFT) | (count << COUNT_SHIFT) | (round << ROUND_SHIFT);
    }

    function _field(uint256 packed, uint256 k) private pure returns (int256) {
        return int256(int48(uint48(packed >> (FIELD_BITS * k))));
    }

    function _timestamp(uint256 packed) private pure returns (uint256) {
        return uint40(packed >> TIMESTAMP_SHIFT);
    }

    function _round(uint256 packed) private pure returns (uint256) {
        return packed >> ROUND_SHIFT;
    }
}
