// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOracleReporters} from "./IOracleReporters.sol";

/// @title IGridOracle
/// @notice Grid state per region (seed 002 Oracle Network): frequency, voltage, the power supplied
/// (available generation) and the power demanded. A region's value is the per-field median of its
/// reporters' fresh reports, recomputed at every submission.
interface IGridOracle is IOracleReporters {
    /// @notice A region's grid state.
    struct GridData {
        uint256 frequencyMilliHz; // grid frequency, mHz (50 Hz = 50,000)
        uint256 voltagePerMille; // voltage, per-mille of nominal (1,000 = 100 %)
        uint256 supplyW; // generation available now, W
        uint256 demandW; // load now, W
        uint256 reportCount; // fresh reports the medians came from
        uint256 updatedAt; // unix s of the submission that set it; 0 = nothing reported
    }

    /// @notice `reporter` reported the grid state in `regionId`.
    event GridDataReported(
        uint32 indexed regionId,
        address indexed reporter,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        uint256 supplyW,
        uint256 demandW
    );
    /// @notice `regionId`'s grid state is now the median of `reportCount` fresh reports.
    event GridDataUpdated(
        uint32 indexed regionId,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        uint256 supplyW,
        uint256 demandW,
        uint256 reportCount
    );

    /// @notice Frequency outside MIN_FREQUENCY_MILLIHZ..MAX_FREQUENCY_MILLIHZ (SmartMeter's bounds).
    error FrequencyOutOfRange(uint256 frequencyMilliHz, uint256 minMilliHz, uint256 maxMilliHz);
    /// @notice Voltage outside MIN_VOLTAGE_PER_MILLE..MAX_VOLTAGE_PER_MILLE (SmartMeter's bounds).
    error VoltageOutOfRange(uint256 voltagePerMille, uint256 minPerMille, uint256 maxPerMille);
    /// @notice Supply above MAX_POWER_W (what a report stores).
    error SupplyOutOfRange(uint256 supplyW, uint256 maxW);
    /// @notice Demand above MAX_POWER_W (what a report stores).
    error DemandOutOfRange(uint256 demandW, uint256 maxW);

    /// @notice Reports the grid state in `regionId` (reporters only) and updates the region's medians.
    function submitGridData(
        uint32 regionId,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        uint256 supplyW,
        uint256 demandW
    ) external;

    /// @notice `regionId`'s grid state: the medians of the fresh reports at the latest submission
    /// (`updatedAt` = 0 and all fields 0 when nothing was reported).
    function getGridData(uint32 regionId) external view returns (GridData memory);
}
