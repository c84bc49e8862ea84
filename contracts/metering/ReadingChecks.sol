// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeter} from "./ISmartMeter.sol";
import {GridLimits} from "../utils/GridLimits.sol";
import {MeterFlags} from "../types/MeterFlags.sol";

/// @title ReadingChecks
/// @notice Every check a reading must pass before the registry records it, made at once.
/// @dev A batch checks up to a hundred readings, and the usual reading passes every check. Made one by
/// one, the twelve checks cost a branch each; here they are joined into one answer without a branch
/// each. The registry makes them one by one, in its documented order, only for a reading that fails, so
/// that it reports the first check that fails with that check's error (MeterReadings._refuseReading).
library ReadingChecks {
    /// @dev The largest register value, which the meter's record stores in 48 bits.
    uint256 internal constant MAX_REGISTER_WH = type(uint48).max;

    /// @dev Returns whether a reading of a meter whose record holds `ownerIndex`, `flags`, `lastReadingAt`
    /// and the two registers passes every check: the meter is registered and active; the reading is not
    /// in the future, comes after the meter's latest reading and at least `minIntervalSeconds` after it
    /// (unless it is the meter's first), and is at most `maxAgeSeconds` old; both registers fit
    /// MAX_REGISTER_WH and neither falls below the record's; the frequency and the voltage lie within
    /// GridLimits' bounds.
    function passes(
        uint256 ownerIndex,
        MeterFlags flags,
        uint256 lastReadingAt,
        uint256 consumptionRegisterWh,
        uint256 productionRegisterWh,
        ISmartMeter.MeterReading memory reading,
        uint256 minIntervalSeconds,
        uint256 maxAgeSeconds
    ) internal view returns (bool ok) {
        bool active = flags.isActive();
        uint256 maxRegisterWh = MAX_REGISTER_WH;
        uint256 failed = _outsideGridBounds(reading);
        // slither-disable-next-line assembly: the checks of the meter, the reading's time and its registers, joined without a branch each
        assembly ("memory-safe") {
            let time := mload(reading)
            failed := or(failed, or(iszero(ownerIndex), iszero(active)))
            // A reading in the future fails here; its age below then wraps around and fails as well.
            failed := or(failed, or(gt(time, timestamp()), iszero(gt(time, lastReadingAt))))
            // The latest reading's time is below 2^40 and the interval below 2^32, so their sum cannot overflow.
            failed := or(failed, and(iszero(iszero(lastReadingAt)), lt(time, add(lastReadingAt, minIntervalSeconds))))
            failed := or(failed, gt(sub(timestamp(), time), maxAgeSeconds))
            let consumption := mload(add(reading, 0x20))
            let production := mload(add(reading, 0x40))
            failed := or(failed, or(gt(consumption, maxRegisterWh), gt(production, maxRegisterWh)))
            failed := or(failed, or(lt(consumption, consumptionRegisterWh), lt(production, productionRegisterWh)))
        }
        ok = failed == 0;
    }

    /// @dev Returns a non-zero value when the reading's frequency or voltage lies outside GridLimits' bounds.
    function _outsideGridBounds(ISmartMeter.MeterReading memory reading) private pure returns (uint256 outside) {
        uint256 minFrequency = GridLimits.MIN_FREQUENCY_MILLIHZ;
        uint256 maxFrequency = GridLimits.MAX_FREQUENCY_MILLIHZ;
        uint256 minVoltage = GridLimits.MIN_VOLTAGE_PER_MILLE;
        uint256 maxVoltage = GridLimits.MAX_VOLTAGE_PER_MILLE;
        // slither-disable-next-line assembly: the checks of the frequency and the voltage, joined without a branch each
        assembly ("memory-safe") {
            let frequency := mload(add(reading, 0x60))
            let voltage := mload(add(reading, 0x80))
            outside := or(or(lt(frequency, minFrequency), gt(frequency, maxFrequency)), or(lt(voltage, minVoltage), gt(voltage, maxVoltage)))
        }
    }
}
