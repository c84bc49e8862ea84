// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOracleReporters} from "./IOracleReporters.sol";

/// @title IGridOracle
/// @notice Grid state per region, from a network of oracles: frequency, voltage, the power supplied
/// (available generation) and the power demanded. Reports gather in rounds per region, one per reporter per
/// round; a region's value is the per-field median of a round's fresh reports, written only once
/// they reach the quorum (more than half of the reporters, or the admin's higher minimum).
interface IGridOracle is IOracleReporters {
    /// @notice A region's grid state.
    struct GridData {
        uint256 frequencyMilliHz; // grid frequency, mHz (50 Hz = 50,000)
        uint256 voltagePerMille; // voltage, per-mille of nominal (1,000 = 100 %)
        uint256 supplyW; // generation available now, W
        uint256 demandW; // load now, W
        uint256 reportCount; // fresh reports the medians came from, at least the quorum when written
        uint256 updatedAt; // unix s of the submission that set it; 0 = nothing reported
    }

    /// @notice `reporter` reported the grid state in `regionId`.
    /// @param regionId The region reported.
    /// @param reporter The reporter, the caller.
    /// @param frequencyMilliHz The grid frequency it reported, mHz (50 Hz = 50,000).
    /// @param voltagePerMille The voltage it reported, per mille of nominal (1,000 = 100 %).
    /// @param supplyW The generation available it reported, W.
    /// @param demandW The load it reported, W.
    event GridDataReported(
        uint32 indexed regionId,
        address indexed reporter,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        uint256 supplyW,
        uint256 demandW
    );
    /// @notice `regionId`'s grid state is now the per-field median of `reportCount` fresh reports
    /// (with an even count, the point between the two middle values nearest the last value; for a
    /// region's first value, their mean rounded down). Emitted only when the round holds a quorum.
    /// @param regionId The region.
    /// @param frequencyMilliHz The median frequency, mHz.
    /// @param voltagePerMille The median voltage, per mille of nominal.
    /// @param supplyW The median supply, W.
    /// @param demandW The median demand, W.
    /// @param reportCount The fresh reports the medians came from, this submission's included.
    event GridDataUpdated(
        uint32 indexed regionId,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        uint256 supplyW,
        uint256 demandW,
        uint256 reportCount
    );

    /// @notice Frequency outside MIN_FREQUENCY_MILLIHZ..MAX_FREQUENCY_MILLIHZ (SmartMeter's bounds).
    /// @param frequencyMilliHz The frequency given, mHz.
    /// @param minMilliHz MIN_FREQUENCY_MILLIHZ (45 Hz), mHz.
    /// @param maxMilliHz MAX_FREQUENCY_MILLIHZ (65 Hz), mHz.
    error FrequencyOutOfRange(uint256 frequencyMilliHz, uint256 minMilliHz, uint256 maxMilliHz);
    /// @notice Voltage outside MIN_VOLTAGE_PER_MILLE..MAX_VOLTAGE_PER_MILLE (SmartMeter's bounds).
    /// @param voltagePerMille The voltage given, per mille of nominal.
    /// @param minPerMille MIN_VOLTAGE_PER_MILLE (50 %), per mille of nominal.
    /// @param maxPerMille MAX_VOLTAGE_PER_MILLE (150 %), per mille of nominal.
    error VoltageOutOfRange(uint256 voltagePerMille, uint256 minPerMille, uint256 maxPerMille);
    /// @notice Supply above MAX_POWER_W (what a report stores).
    /// @param supplyW The supply given, W.
    /// @param maxW MAX_POWER_W, W.
    error SupplyOutOfRange(uint256 supplyW, uint256 maxW);
    /// @notice Demand above MAX_POWER_W (what a report stores).
    /// @param demandW The demand given, W.
    /// @param maxW MAX_POWER_W, W.
    error DemandOutOfRange(uint256 demandW, uint256 maxW);

    /// @notice Reports the grid state in `regionId` (reporters only) into the region's round being gathered, and
    /// writes the region's medians once the round holds a quorum of fresh reports. Refused with
    /// AlreadyReported while the caller's report waits in that round.
    function submitGridData(
        uint32 regionId,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        uint256 supplyW,
        uint256 demandW
    ) external;

    /// @notice `regionId`'s grid state: the medians of the fresh reports of its latest round to reach a quorum
    /// (`updatedAt` = 0 and all fields 0 when nothing was reported).
    function getGridData(uint32 regionId) external view returns (GridData memory);
}
