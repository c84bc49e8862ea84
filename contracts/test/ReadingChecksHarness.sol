// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeter} from "../metering/ISmartMeter.sol";
import {ReadingChecks} from "../metering/ReadingChecks.sol";
import {MeterFlags} from "../types/MeterFlags.sol";

/// @title ReadingChecksHarness
/// @notice Exposes ReadingChecks.passes to tests, with the reading's time and the record's latest reading
/// time given relative to the block's time, so that a test can put them exactly at the bounds the check sees.
contract ReadingChecksHarness {
    /// @notice Calls ReadingChecks.passes for a reading `timeOffsetSeconds` from the block's time, of a meter
    /// whose latest reading was `lastOffsetSeconds` from it (or that has none, when `hasLastReading` is false).
    function passes(
        uint256 ownerIndex,
        uint8 flags,
        bool hasLastReading,
        int256 lastOffsetSeconds,
        uint256[2] calldata registersWh,
        int256 timeOffsetSeconds,
        uint256[4] calldata readingFields,
        uint256[2] calldata limitsSeconds
    ) external view returns (bool) {
        uint256 lastReadingAt = hasLastReading ? uint256(int256(block.timestamp) + lastOffsetSeconds) : 0;
        ISmartMeter.MeterReading memory reading = ISmartMeter.MeterReading(
            uint256(int256(block.timestamp) + timeOffsetSeconds),
            readingFields[0],
            readingFields[1],
            readingFields[2],
            readingFields[3]
        );
        return ReadingChecks.passes(
            ownerIndex,
            MeterFlags.wrap(flags),
            lastReadingAt,
            registersWh[0],
            registersWh[1],
            reading,
            limitsSeconds[0],
            limitsSeconds[1]
        );
    }
}
