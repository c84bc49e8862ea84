// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IOracleReporters} from "./IOracleReporters.sol";
import {ZeroAddress} from "../utils/GridErrors.sol";

/// @title OracleReporters
/// @notice The reporter set, heartbeat and quorum behind every oracle. The admin (DEFAULT_ADMIN_ROLE)
/// adds and removes up to MAX_REPORTERS reporters and sets the heartbeat and the minimum quorum. A
/// report is fresh while `block.timestamp - reportedAt <= heartbeat` and it was made since its
/// reporter was last added (a reporter removed and added again starts over; a report made in the
/// very block of the re-adding counts). A value needs `quorum()` fresh reports in one round: more
/// than half of the reporters, or the minimum quorum if that is higher, so a minority of reporters
/// never writes a value on its own however the others' reports age.
/// @dev The reporters sit in a fixed array (swap-and-pop on removal), one slot each with the time
/// they were added; the count shares a slot with the heartbeat and the minimum quorum. A submission
/// loads them all once (at most MAX_REPORTERS + 1 slots), which both authorizes the caller and drives
/// the median walk, so no membership mapping is read on the hot path; admin calls and views scan the
/// same ≤ 15 slots.
abstract contract OracleReporters is AccessControl, IOracleReporters {
    /// @notice Most reporters an oracle takes (bounds every median loop).
    uint256 public constant MAX_REPORTERS = 15;
    /// @notice Shortest heartbeat.
    uint256 public constant MIN_HEARTBEAT_SECONDS = 1;
    /// @notice Longest heartbeat.
    uint256 public constant MAX_HEARTBEAT_SECONDS = 7 days;

    /// @dev What a submission needs of the set, read in one pass.
    struct Roster {
        Reporter[] reporters;
        uint256 heartbeatSeconds;
        uint256 quorum; // fresh reports a round needs
        uint256 callerAddedAt; // unix s
    }

    /// @dev One slot.
    struct Reporter {
        address account;
        uint40 addedAt; // unix s; reports made before it do not count
    }

    Reporter[MAX_REPORTERS] private _reporters; // the first _reporterCount are set
    // One slot: every submission reads all three.
    uint8 private _reporterCount;
    uint32 private _heartbeatSeconds;
    uint8 private _minQuorum; // 0 = more than half of the reporters

    constructor(address admin, uint256 heartbeatSeconds, uint256 minQuorum_) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setHeartbeat(heartbeatSeconds);
        // No reporter is added yet: the bound is the most there can be.
        _setMinQuorum(minQuorum_, MAX_REPORTERS);
    }

    /// @inheritdoc IOracleReporters
    function addReporter(address reporter) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (reporter == address(0)) revert ZeroAddress();
        uint256 count = _reporterCount;
        if (_positionOf(reporter, count) < count) revert ReporterAlreadyAdded(reporter);
        if (count == MAX_REPORTERS) revert TooManyReporters(MAX_REPORTERS);
        _reporters[count] = Reporter(reporter, uint40(block.timestamp));
        _reporterCount = uint8(count + 1);
        emit ReporterAdded(reporter);
    }

    /// @inheritdoc IOracleReporters
    function removeReporter(address reporter) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 count = _reporterCount;
        uint256 position = _positionOf(reporter, count);
        if (position == count) revert UnknownReporter(reporter);
        uint256 last = count - 1;
        uint256 minReports = _minQuorum;
        if (last < minReports) revert MinQuorumAboveReporterCount(minReports, last);
        if (position != last) _reporters[position] = _reporters[last];
        delete _reporters[last];
        _reporterCount = uint8(last);
        emit ReporterRemoved(reporter);
    }

    /// @inheritdoc IOracleReporters
    function setHeartbeat(uint256 heartbeatSeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setHeartbeat(heartbeatSeconds);
    }

    /// @inheritdoc IOracleReporters
    function setMinQuorum(uint256 minReports) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMinQuorum(minReports, _reporterCount);
    }

    /// @inheritdoc IOracleReporters
    function minQuorum() external view returns (uint256 minReports) {
        return _minQuorum;
    }

    /// @inheritdoc IOracleReporters
    function quorum() external view returns (uint256 reports) {
        return _quorum(_reporterCount, _minQuorum);
    }

    /// @inheritdoc IOracleReporters
    function isReporter(address account) external view returns (bool) {
        uint256 count = _reporterCount;
        return _positionOf(account, count) < count;
    }

    /// @inheritdoc IOracleReporters
    function getReporters() external view returns (address[] memory accounts) {
        uint256 count = _reporterCount;
        accounts = new address[](count);
        for (uint256 i; i < count; ++i) {
            accounts[i] = _reporters[i].account;
        }
    }

    /// @inheritdoc IOracleReporters
    function heartbeat() external view returns (uint256 heartbeatSeconds) {
        return _heartbeatSeconds;
    }

    /// @dev The reporters (with the time each was added), the heartbeat, the quorum and when the
    /// caller was added, for a median walk; reverts with UnknownReporter unless `caller` is a reporter.
    function _rosterWith(address caller) internal view returns (Roster memory roster) {
        uint256 count = _reporterCount;
        roster.heartbeatSeconds = _heartbeatSeconds;
        roster.quorum = _quorum(count, _minQuorum);
        roster.reporters = new Reporter[](count);
        bool found = false;
        for (uint256 i; i < count; ++i) {
            Reporter memory reporter = _reporters[i];
            roster.reporters[i] = reporter;
            if (reporter.account == caller) {
                found = true;
                roster.callerAddedAt = reporter.addedAt;
            }
        }
        if (!found) revert UnknownReporter(caller);
    }

    /// @dev Whether a report made at `reportedAt` by a reporter added at `addedAt` counts now.
    function _isFresh(uint256 reportedAt, uint256 addedAt, uint256 heartbeatSeconds) internal view returns (bool) {
        return reportedAt != 0 && reportedAt >= addedAt && block.timestamp - reportedAt <= heartbeatSeconds;
    }

    /// @dev `account`'s index among the first `count` reporters; `count` if it is not one.
    function _positionOf(address account, uint256 count) private view returns (uint256 position) {
        while (position < count && _reporters[position].account != account) ++position;
    }

    /// @dev More than half of `count` reporters, or `minReports` if higher.
    function _quorum(uint256 count, uint256 minReports) private pure returns (uint256) {
        uint256 majority = count / 2 + 1;
        return minReports > majority ? minReports : majority;
    }

    function _setMinQuorum(uint256 minReports, uint256 maxReports) private {
        if (minReports > maxReports) revert MinQuorumOutOfRange(minReports, maxReports);
        uint256 previousReports = _minQuorum;
        _minQuorum = uint8(minReports);
        emit MinQuorumUpdated(previousReports, minReports);
    }

    function _setHeartbeat(uint256 heartbeatSeconds) private {
        if (heartbeatSeconds < MIN_HEARTBEAT_SECONDS || heartbeatSeconds > MAX_HEARTBEAT_SECONDS) {
            revert HeartbeatOutOfRange(heartbeatSeconds, MIN_HEARTBEAT_SECONDS, MAX_HEARTBEAT_SECONDS);
        }
        uint256 previousSeconds = _heartbeatSeconds;
        _heartbeatSeconds = uint32(heartbeatSeconds);
        emit HeartbeatUpdated(previousSeconds, heartbeatSeconds);
    }
}
