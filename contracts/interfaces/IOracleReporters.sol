// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ZeroAddress} from "./GridErrors.sol";

/// @title IOracleReporters
/// @notice The reporter set every oracle shares: the admin names up to MAX_REPORTERS reporters and
/// a heartbeat. A report counts toward an oracle's median while it is fresh: no older than the
/// heartbeat, and made since its reporter was (last) added.
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

    /// @notice Adds a reporter. DEFAULT_ADMIN_ROLE only.
    function addReporter(address reporter) external;

    /// @notice Removes a reporter; its reports no longer count. DEFAULT_ADMIN_ROLE only.
    function removeReporter(address reporter) external;

    /// @notice Sets the heartbeat, in seconds: a report older than it is stale. DEFAULT_ADMIN_ROLE only.
    function setHeartbeat(uint256 heartbeatSeconds) external;

    /// @notice Whether `account` is a reporter.
    function isReporter(address account) external view returns (bool);

    /// @notice The reporters, in storage order (a removal moves the last one into the gap).
    function getReporters() external view returns (address[] memory);

    /// @notice Seconds a report stays fresh.
    function heartbeat() external view returns (uint256 heartbeatSeconds);
}
