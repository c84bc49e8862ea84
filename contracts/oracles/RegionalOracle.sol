// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Median} from "./Median.sol";
import {MemoryArrays} from "../utils/MemoryArrays.sol";
import {OracleReporters} from "./OracleReporters.sol";
import {REPORT_FIELDS, RegionalReport, RegionalReportLibrary} from "../types/RegionalReport.sol";

/// @title RegionalOracle
/// @notice This contract keeps four measurements per region, identified by a uint32 regionId, which the
/// reporter set reports in rounds. A reporter's report joins the round that the region is gathering, and
/// each reporter counts with one fresh report per round (see OracleReporters). Once the round holds
/// `quorum()` fresh reports, the region's value becomes their per-field median, stored with
/// `updatedAt = block.timestamp`, and later reports to the same round refine it. With an even number of
/// reports, each field settles on the point between its two middle reports that is nearest the
/// region's last value, or on the mean of the two for a region's first value, so that one reporter of
/// two cannot pull a field away from that value. Below the quorum the value stays as it was. The
/// inheriting contracts name the fields, check their physical bounds in `_checkFields`, which is
/// called once the caller is known to be a reporter, and emit their events.
/// @dev Each report, keyed by region and reporter, and each region value is stored as one packed
/// RegionalReport word, whose layout that type documents.
abstract contract RegionalOracle is OracleReporters {
    /// @dev Measurements per report.
    uint256 internal constant FIELD_COUNT = REPORT_FIELDS;

    mapping(uint32 regionId => mapping(address reporter => RegionalReport)) private _reports;
    mapping(uint32 regionId => RegionalReport) private _values;

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
        mapping(address => RegionalReport) storage reports = _reports[regionId];
        RegionalReport value = _values[regionId];
        uint256 round = _joinedRound(reports, roster, value.round());
        RegionalReport own = RegionalReportLibrary.pack(fields, block.timestamp, 0, round);
        reports[msg.sender] = own;

        Reporter[] memory reporters = roster.reporters;
        // slither-disable-next-line uninitialized-local: each column is allocated in the loop just below
        int256[][FIELD_COUNT] memory columns;
        for (uint256 k; k < FIELD_COUNT; ++k) {
            columns[k] = new int256[](reporters.length);
        }
        for (uint256 i; i < reporters.length; ++i) {
            Reporter memory reporter = reporters[i];
            RegionalReport report = reporter.account == msg.sender ? own : reports[reporter.account];
            if (report.round() != round || !_isFresh(report.timestamp(), reporter.addedAt, roster.heartbeatSeconds)) {
                continue;
            }
            for (uint256 k; k < FIELD_COUNT; ++k) {
                columns[k][reportCount] = report.field(k);
            }
            ++reportCount;
        }
        if (reportCount < roster.quorum) return (false, medians, reportCount);

        bool anchored = value.timestamp() != 0;
        for (uint256 k; k < FIELD_COUNT; ++k) {
            int256[] memory column = columns[k];
            // Only the fresh reports: the median must see no empty slots.
            MemoryArrays.shorten(column, reportCount);
            medians[k] = anchored ? Median.medianNear(column, value.field(k)) : Median.median(column);
        }
        _values[regionId] = RegionalReportLibrary.pack(medians, block.timestamp, reportCount, round);
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
        RegionalReport value = _values[regionId];
        for (uint256 k; k < FIELD_COUNT; ++k) {
            fields[k] = value.field(k);
        }
        return (fields, value.count(), value.timestamp());
    }

    /// @dev The round the caller's report joins: the one after the value's round (`latestRound`)
    /// when the caller reported in the value's round or another reporter has a fresh report waiting
    /// there, else the value's round itself, which the report then refines. A caller with a fresh
    /// report waiting in the next round already is refused: one report per reporter per round.
    function _joinedRound(mapping(address => RegionalReport) storage reports, Roster memory roster, uint256 latestRound)
        private
        view
        returns (uint256 next)
    {
        next = RegionalReportLibrary.nextRound(latestRound);
        RegionalReport own = reports[msg.sender];
        uint256 ownRound = own.round();
        if (ownRound == next) {
            if (_isFresh(own.timestamp(), roster.callerAddedAt, roster.heartbeatSeconds)) {
                revert AlreadyReported(msg.sender, next);
            }
            return next;
        }
        if (ownRound == latestRound) return next;
        Reporter[] memory reporters = roster.reporters;
        for (uint256 i; i < reporters.length; ++i) {
            RegionalReport report = reports[reporters[i].account];
            if (report.round() == next && _isFresh(report.timestamp(), reporters[i].addedAt, roster.heartbeatSeconds)) {
                return next;
            }
        }
        return latestRound;
    }
}
