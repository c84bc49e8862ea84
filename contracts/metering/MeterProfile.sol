// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MeterRegistry} from "./MeterRegistry.sol";
import {ISmartMeter} from "./ISmartMeter.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {EnergyTime} from "../utils/EnergyTime.sol";
import {ProfileEntry} from "../types/ProfileEntry.sol";
import {InvalidHistoryPage} from "../utils/GridErrors.sol";

/// @title MeterProfile
/// @notice This contract reads back what a meter measured from its load profile: the latest reading,
/// the energy of one interval, of a day or of a range of intervals, a page of interval records, and the
/// energy counted since the meter's baseline.
/// @dev The load profile is kept the way a meter keeps its own, as a DLMS/COSEM "profile generic" with a
/// 900 s capture period. It is a ring of PROFILE_CAPACITY interval entries per meter, one storage slot
/// each, and the ring also holds the latest reading's registers. Daily totals are summed from
/// the ring instead of being stored, so that a reading writes at most one fresh slot. An interval that
/// the ring no longer holds is refused rather than read as empty, and an interval in which the meter
/// read nothing reads as zero.
abstract contract MeterProfile is MeterRegistry {
    using EnergyTime for uint256;

    /// @notice The largest number of intervals that one getIntervalHistory page may hold.
    uint256 public constant MAX_HISTORY_PAGE = EnergyTime.INTERVALS_PER_DAY;

    // ----------------------------------------------------------------------------- the calling meter

    /// @inheritdoc ISmartMeter
    function getLatestReading() external view returns (MeterReading memory) {
        return getLatestReading(msg.sender);
    }

    /// @inheritdoc ISmartMeter
    function getDailyProduction() external view returns (uint256) {
        return getDailyProduction(msg.sender, block.timestamp.dayOf());
    }

    /// @inheritdoc ISmartMeter
    function getDailyConsumption() external view returns (uint256) {
        return getDailyConsumption(msg.sender, block.timestamp.dayOf());
    }

    // ----------------------------------------------------------------------------- any meter

    /// @inheritdoc ISmartMeterRegistry
    function getLatestReading(address meter) public view returns (MeterReading memory) {
        uint256 lastReadingAt = _knownMeter(meter).lastReadingAt;
        if (lastReadingAt == 0) return MeterReading(0, 0, 0, 0, 0);
        ProfileEntry e = _profiles[meter][_ringSlot(lastReadingAt.intervalOf())];
        return MeterReading(
            lastReadingAt,
            e.consumptionRegisterWh(),
            e.productionRegisterWh(),
            e.gridFrequencyMilliHz(),
            e.voltagePerMille()
        );
    }

    /// @inheritdoc ISmartMeterRegistry
    function getDailyProduction(address meter, uint256 day) public view returns (uint256 productionWh) {
        (, productionWh) = _dailyEnergy(meter, day);
    }

    /// @inheritdoc ISmartMeterRegistry
    function getDailyConsumption(address meter, uint256 day) public view returns (uint256 consumptionWh) {
        (consumptionWh,) = _dailyEnergy(meter, day);
    }

    /// @inheritdoc ISmartMeterRegistry
    function getIntervalEnergy(address meter, uint256 interval)
        external
        view
        returns (uint256 consumptionWh, uint256 productionWh)
    {
        uint256 latestInterval = _retainedFrom(meter, interval);
        ProfileEntry e = _entryAt(meter, interval, latestInterval);
        return (e.consumptionWh(), e.productionWh());
    }

    /// @inheritdoc ISmartMeterRegistry
    function getIntervalHistory(address meter, uint256 fromInterval, uint256 count)
        external
        view
        returns (IntervalRecord[] memory records)
    {
        _checkHistoryPage(count);
        uint256 latestInterval = _retainedFrom(meter, fromInterval);
        records = new IntervalRecord[](count);
        for (uint256 i; i < count; ++i) {
            uint256 interval = fromInterval + i;
            ProfileEntry e = _entryAt(meter, interval, latestInterval);
            records[i] = IntervalRecord(
                interval,
                e.consumptionWh(),
                e.productionWh(),
                e.consumptionRegisterWh(),
                e.productionRegisterWh(),
                e.gridFrequencyMilliHz(),
                e.voltagePerMille()
            );
        }
    }

    /// @inheritdoc ISmartMeterRegistry
    function getEnergyInRange(address meter, uint256 fromInterval, uint256 count)
        external
        view
        returns (uint256 consumptionWh, uint256 productionWh)
    {
        _checkHistoryPage(count);
        return _energyInRange(meter, fromInterval, count);
    }

    /// @inheritdoc ISmartMeterRegistry
    function getMeteredEnergy(address meter)
        public
        view
        returns (uint256 consumptionWh, uint256 productionWh, uint256 redeemedConsumptionWh)
    {
        MeterReading memory latest = getLatestReading(meter);
        Account memory account = _accounts[meter];
        // The registers never fall below what was left uncounted at the baseline, so this cannot underflow.
        return (
            latest.consumption - account.uncountedConsumptionWh,
            latest.production - account.uncountedProductionWh,
            account.redeemedConsumptionWh
        );
    }

    // ----------------------------------------------------------------------------- internals

    function _checkHistoryPage(uint256 count) private pure {
        if (count == 0 || count > MAX_HISTORY_PAGE) revert InvalidHistoryPage(count, MAX_HISTORY_PAGE);
    }

    /// @dev Reverts unless the ring still holds `interval`, and returns the meter's latest interval.
    function _retainedFrom(address meter, uint256 interval) private view returns (uint256 latestInterval) {
        uint256 lastReadingAt = _knownMeter(meter).lastReadingAt;
        if (interval > MAX_INTERVAL) revert IntervalOutOfRange(interval);
        latestInterval = lastReadingAt.intervalOf();
        if (lastReadingAt != 0 && interval + PROFILE_CAPACITY <= latestInterval) {
            revert IntervalNotRetained(meter, interval);
        }
    }

    /// @dev Returns the ring entry for `interval`, or an empty entry when the meter read nothing in it.
    function _entryAt(address meter, uint256 interval, uint256 latestInterval)
        private
        view
        returns (ProfileEntry e)
    {
        if (interval > latestInterval) return e;
        e = _profiles[meter][_ringSlot(interval)];
        if (e.interval() != interval) e = ProfileEntry.wrap(0);
    }

    function _dailyEnergy(address meter, uint256 day) private view returns (uint256 consumptionWh, uint256 productionWh) {
        if (day > MAX_INTERVAL / EnergyTime.INTERVALS_PER_DAY) revert DayOutOfRange(day);
        return _energyInRange(meter, day.firstIntervalOfDay(), EnergyTime.INTERVALS_PER_DAY);
    }

    /// @dev Sums the energy of `count` intervals starting at `fromInterval`. The callers bound `count`.
    function _energyInRange(address meter, uint256 fromInterval, uint256 count)
        private
        view
        returns (uint256 consumptionWh, uint256 productionWh)
    {
        uint256 latestInterval = _retainedFrom(meter, fromInterval);
        for (uint256 i; i < count; ++i) {
            ProfileEntry e = _entryAt(meter, fromInterval + i, latestInterval);
            consumptionWh += e.consumptionWh();
            productionWh += e.productionWh();
        }
    }
}
