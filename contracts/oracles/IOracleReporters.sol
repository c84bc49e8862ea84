// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ZeroAddress} from "../utils/GridErrors.sol";

/// @title IOracleReporters
/// @notice The reporter set every oracle shares: the admin names up to MAX_REPORTERS reporters, a
/// heartbeat and a minimum quorum. A report counts toward an oracle's median while it is fresh: no
/// older than the heartbeat, and made since its reporter was (last) added. Reports gather in rounds,
/// one report per reporter per round; a value is written only once a round holds `quorum()` fresh
/// reports: more than half of the reporters, or the admin's higher minimum.
interface IOracleReporters {
    /// @notice The admin added `reporter` to the reporter set; only its reports from now on count.
    /// @param reporter The reporter added.
    event ReporterAdded(address indexed reporter);
    /// @notice The admin removed `reporter` from the reporter set; its reports stop counting.
    /// @param reporter The reporter removed.
    event ReporterRemoved(address indexed reporter);
    /// @notice The heartbeat was set (by the admin, or at construction): reports older than it are stale.
    /// @param previousSeconds The heartbeat before (0 at construction), seconds.
    /// @param newSeconds The heartbeat from now on, seconds.
    event HeartbeatUpdated(uint256 previousSeconds, uint256 newSeconds);
    /// @notice The minimum quorum was set (by the admin, or at construction): a value needs at least
    /// this many fresh reports in its round, and never fewer than more than half of the reporters.
    /// @param previousReports The minimum before (0 at construction), reports.
    /// @param newReports The minimum from now on (0 = more than half of the reporters), reports.
    event MinQuorumUpdated(uint256 previousReports, uint256 newReports);

    /// @notice `account` is not a reporter (a submission from it, or its removal).
    /// @param account The caller submitting, or the reporter to remove.
    error UnknownReporter(address account);
    /// @notice `account` is a reporter already.
    /// @param account The reporter to add.
    error ReporterAlreadyAdded(address account);
    /// @notice The reporter set is full.
    /// @param maxReporters MAX_REPORTERS, the most reporters an oracle takes.
    error TooManyReporters(uint256 maxReporters);
    /// @notice A heartbeat outside MIN_HEARTBEAT_SECONDS..MAX_HEARTBEAT_SECONDS.
    /// @param heartbeatSeconds The heartbeat given, seconds.
    /// @param minSeconds MIN_HEARTBEAT_SECONDS, seconds.
    /// @param maxSeconds MAX_HEARTBEAT_SECONDS, seconds.
    error HeartbeatOutOfRange(uint256 heartbeatSeconds, uint256 minSeconds, uint256 maxSeconds);
    /// @notice A minimum quorum above the reporters there are (MAX_REPORTERS at construction).
    /// @param minReports The minimum given, reports.
    /// @param maxReports The reporter count now (MAX_REPORTERS at construction), reports.
    error MinQuorumOutOfRange(uint256 minReports, uint256 maxReports);
    /// @notice Removing the reporter would leave fewer reporters than the minimum quorum, so no value
    /// could be written again: lower the minimum first.
    /// @param minReports The minimum quorum, reports.
    /// @param reporterCount The reporters there would be left.
    error MinQuorumAboveReporterCount(uint256 minReports, uint256 reporterCount);
    /// @notice The reporter has a fresh report in the round being gathered already: one report per
    /// reporter per round, until the round reaches its quorum or the report goes stale.
    /// @param reporter The reporter, the caller.
    /// @param roundId The round being gathered (for a regional oracle, the region's round).
    error AlreadyReported(address reporter, uint256 roundId);

    /// @notice Adds a reporter. DEFAULT_ADMIN_ROLE only.
    function addReporter(address reporter) external;

    /// @notice Removes a reporter; its reports no longer count. Refused while it would leave fewer
    /// reporters than the minimum quorum. DEFAULT_ADMIN_ROLE only.
    function removeReporter(address reporter) external;

    /// @notice Sets the heartbeat, in seconds: a report older than it is stale. DEFAULT_ADMIN_ROLE only.
    function setHeartbeat(uint256 heartbeatSeconds) external;

    /// @notice Sets the minimum quorum, in reports: 0 (more than half of the reporters) up to the
    /// reporter count. DEFAULT_ADMIN_ROLE only.
    function setMinQuorum(uint256 minReports) external;

    /// @notice The minimum quorum the admin set, in reports (0 = more than half of the reporters).
    function minQuorum() external view returns (uint256 minReports);

    /// @notice The fresh reports a round needs now before its value is written: the minimum quorum
    /// or more than half of the reporters, whichever is larger (at least 1).
    function quorum() external view returns (uint256 reports);

    /// @notice Whether `account` is a reporter.
    function isReporter(address account) external view returns (bool);

    /// @notice The reporters, in storage order (a removal moves the last one into the gap).
    function getReporters() external view returns (address[] memory);

    /// @notice Seconds a report stays fresh.
    function heartbeat() external view returns (uint256 heartbeatSeconds);
}
