// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGridOracle} from "./IGridOracle.sol";
import {PublishedGridLimits} from "../utils/GridLimits.sol";
import {RegionalOracle} from "./RegionalOracle.sol";

/// @title GridOracle
/// @notice This contract publishes the grid state of each region as the reporter set reports it: the
/// per-field median of the fresh reports, gathered as RegionalOracle describes. Frequency and voltage
/// are held to SmartMeter's bounds, while supply and demand are bounded only by what a report can
/// store. PriceDiscovery reads all four values to derive its demand and stability factors.
contract GridOracle is PublishedGridLimits, RegionalOracle, IGridOracle {
    /// @notice Largest supply or demand: int48's maximum, about 140.7 TW (far beyond any grid).
    uint256 public constant MAX_POWER_W = uint256(uint48(type(int48).max));

    /// @param admin Holds DEFAULT_ADMIN_ROLE: reporters, heartbeat and minimum quorum.
    /// @param heartbeatSeconds A report older than this is stale (MIN_HEARTBEAT_SECONDS..MAX_HEARTBEAT_SECONDS).
    /// @param minQuorum_ The fewest fresh reports a region's value needs, 0..MAX_REPORTERS (0 = more
    /// than half of the reporters, which the quorum never goes below; a single-reporter deployment may say 1).
    constructor(address admin, uint256 heartbeatSeconds, uint256 minQuorum_)
        RegionalOracle(admin, heartbeatSeconds, minQuorum_)
    {}

    /// @inheritdoc IGridOracle
    function submitGridData(
        uint32 regionId,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        uint256 supplyW,
        uint256 demandW
    ) external {
        // Cast to int256 and back, a uint256 keeps its value, so _checkFields reports it as given.
        (bool written, int256[FIELD_COUNT] memory m, uint256 reportCount) = _submit(
            regionId, [int256(frequencyMilliHz), int256(voltagePerMille), int256(supplyW), int256(demandW)]
        );
        emit GridDataReported(regionId, msg.sender, frequencyMilliHz, voltagePerMille, supplyW, demandW);
        if (written) emit GridDataUpdated(regionId, uint256(m[0]), uint256(m[1]), uint256(m[2]), uint256(m[3]), reportCount);
    }

    /// @inheritdoc RegionalOracle
    function _checkFields(int256[FIELD_COUNT] memory fields) internal pure override {
        uint256 frequencyMilliHz = uint256(fields[0]);
        if (frequencyMilliHz < MIN_FREQUENCY_MILLIHZ || frequencyMilliHz > MAX_FREQUENCY_MILLIHZ) {
            revert FrequencyOutOfRange(frequencyMilliHz, MIN_FREQUENCY_MILLIHZ, MAX_FREQUENCY_MILLIHZ);
        }
        uint256 voltagePerMille = uint256(fields[1]);
        if (voltagePerMille < MIN_VOLTAGE_PER_MILLE || voltagePerMille > MAX_VOLTAGE_PER_MILLE) {
            revert VoltageOutOfRange(voltagePerMille, MIN_VOLTAGE_PER_MILLE, MAX_VOLTAGE_PER_MILLE);
        }
        uint256 supplyW = uint256(fields[2]);
        if (supplyW > MAX_POWER_W) revert SupplyOutOfRange(supplyW, MAX_POWER_W);
        uint256 demandW = uint256(fields[3]);
        if (demandW > MAX_POWER_W) revert DemandOutOfRange(demandW, MAX_POWER_W);
    }

    /// @inheritdoc IGridOracle
    function getGridData(uint32 regionId) external view returns (GridData memory) {
        (int256[FIELD_COUNT] memory v, uint256 reportCount, uint256 updatedAt) = _value(regionId);
        return GridData(uint256(v[0]), uint256(v[1]), uint256(v[2]), uint256(v[3]), reportCount, updatedAt);
    }
}
