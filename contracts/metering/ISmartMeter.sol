// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ISmartMeter
/// @notice What a meter device and its readers call: readings in, latest reading and daily totals
/// out. Called by a meter device, the no-argument getters answer for the calling meter.
interface ISmartMeter {
    /// @notice One reading of a meter's cumulative registers.
    struct MeterReading {
        uint256 timestamp; // unix seconds at measurement
        uint256 consumption; // cumulative import register, Wh
        uint256 production; // cumulative export register, Wh
        uint256 gridFrequency; // mHz (50 Hz = 50_000)
        uint256 voltage; // per-mille of nominal (1000 = 100 %)
    }

    /// @notice Submits the calling meter's reading.
    function submitReading(MeterReading calldata reading) external;

    /// @notice The calling meter's latest accepted reading.
    function getLatestReading() external view returns (MeterReading memory);

    /// @notice Wh the calling meter exported today (UTC, by block time).
    function getDailyProduction() external view returns (uint256);

    /// @notice Wh the calling meter imported today (UTC, by block time).
    function getDailyConsumption() external view returns (uint256);
}
