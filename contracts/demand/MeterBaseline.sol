// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeterRegistry} from "../metering/ISmartMeterRegistry.sol";
import {EnergyTime} from "../utils/EnergyTime.sol";

/// @title MeterBaseline
/// @notice Demand-response measurement from a SmartMeter load profile, shared by DemandResponse
/// (events) and DemandPrograms.
///
/// Window: from the first 900 s boundary at or after the start, `durationSeconds` rounded up to
/// whole intervals. Actual energy: the meter's consumption in the window's intervals. Baseline
/// energy: consumption in the same clock intervals of each of the BASELINE_DAYS previous days,
/// summed and divided by BASELINE_DAYS, rounded down (intervals without a reading count 0).
/// Both are reported as average power in W: Wh × 3600 / window seconds, rounded down.
library MeterBaseline {
    /// @notice Days before the window whose same-clock intervals make the baseline.
    uint256 internal constant BASELINE_DAYS = 5;
    /// @notice Longest window: the baseline reads same-clock intervals of earlier days, so one day.
    uint256 internal constant MAX_DURATION_SECONDS = EnergyTime.DAY_SECONDS;

    /// @notice The window's last interval has no meter reading, so consumption inside the window
    /// may still be unreported (and would be booked after it).
    /// @param meter The meter measured.
    /// @param interval The window's last interval, which has no reading.
    error MeterDataIncomplete(address meter, uint256 interval);

    /// @dev The window for a start at `timestamp`; callers bound `durationSeconds` to 1..MAX_DURATION_SECONDS.
    function window(uint256 timestamp, uint256 durationSeconds)
        internal
        pure
        returns (uint256 startTime, uint256 endTime)
    {
        uint256 s = EnergyTime.INTERVAL_SECONDS;
        // slither-disable-next-line divide-before-multiply: rounds the start up to a whole interval on purpose
        startTime = (timestamp + s - 1) / s * s;
        // slither-disable-next-line divide-before-multiply: rounds the duration up to whole intervals on purpose
        endTime = startTime + (durationSeconds + s - 1) / s * s;
    }

    /// @dev First and last interval index of a window.
    function intervals(uint256 startTime, uint256 endTime) internal pure returns (uint256 first, uint256 last) {
        first = EnergyTime.intervalOf(startTime);
        last = EnergyTime.intervalOf(endTime) - 1;
    }

    /// @dev Baseline and actual average power (W) of `meter` over the window [startTime, endTime).
    /// SmartMeter books energy in the interval of the reading that reports it: a meter that
    /// withheld its readings during the window and sent them afterwards would show an empty window.
    /// A reading inside the window's last interval closes that gap (consumption before the window
    /// reported inside it only raises the actual figure, the consumer's loss). Every accepted
    /// reading carries a grid frequency of at least 45 Hz, so a zero frequency in the interval's
    /// record means no reading there.
    function measure(ISmartMeterRegistry smartMeter, address meter, uint256 startTime, uint256 endTime)
        internal
        view
        returns (uint256 baselineW, uint256 actualW)
    {
        (uint256 first, uint256 last) = intervals(startTime, endTime);
        if (smartMeter.getIntervalHistory(meter, last, 1)[0].gridFrequencyMilliHz == 0) {
            revert MeterDataIncomplete(meter, last);
        }
        uint256 count = last - first + 1;
        // slither-disable-next-line unused-return: demand response measures consumption only, not production
        (uint256 actualWh,) = smartMeter.getEnergyInRange(meter, first, count);
        uint256 baselineSumWh = 0;
        for (uint256 day = 1; day <= BASELINE_DAYS; ++day) {
            // slither-disable-next-line unused-return: demand response measures consumption only, not production
            (uint256 wh,) = smartMeter.getEnergyInRange(meter, first - day * EnergyTime.INTERVALS_PER_DAY, count);
            baselineSumWh += wh;
        }
        uint256 windowSeconds = endTime - startTime;
        baselineW = baselineSumWh * 3600 / (BASELINE_DAYS * windowSeconds);
        actualW = actualWh * 3600 / windowSeconds;
    }
}
