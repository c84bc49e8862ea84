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
/// 900 s capture period. It is a ring of PROFILE_CAPACITY intervals per meter, two to a storage slot (a
/// half hour's entry), and each entry also holds the registers, frequency and voltage of its half hour's
/// latest reading. Daily totals are summed from the ring instead of being stored, so that a reading
/// writes at most one fresh slot. An interval that the ring no longer holds is refused rather than read
/// as empty, and an interval in which the meter read nothing reads as zero.
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
        // The latest reading is its half hour's latest, whose registers, frequency and voltage the entry holds.
        (uint256 slot,) = _ringPlace(lastReadingAt.intervalOf());
        ProfileEntry e = _profiles[meter][slot];
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
        return _energyInRange(meter, interval, 1);
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
            records[i] = _record(_entryAt(meter, interval, latestInterval), interval);
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

    /// @dev `interval`'s record from its half hour's entry. The registers are those at the interval's last
    /// reading: the entry's own for the half hour's latest interval, and for the first interval when the
    /// second also holds a reading, the entry's less what the second interval counted (exact, since a
    /// baseline reading is a meter's first). The frequency and voltage are the half hour's latest
    /// reading's, on each interval that holds a reading; an interval without one reads zero there, which
    /// is how demand response tells it apart.
    function _record(ProfileEntry e, uint256 interval) private pure returns (IntervalRecord memory r) {
        uint256 second = interval & 1;
        r.interval = interval;
        (r.consumptionWh, r.productionWh) = e.energy(second);
        bool read = e.isRead(second);
        if (second == e.latest()) {
            (r.consumptionRegisterWh, r.productionRegisterWh) = (e.consumptionRegisterWh(), e.productionRegisterWh());
        } else if (read) {
            // The first interval holds a reading and the second the half hour's latest: the registers
            // rose by exactly what the second counted, so neither difference underflows.
            (uint256 secondConsumptionWh, uint256 secondProductionWh) = e.energy(1);
            unchecked {
                r.consumptionRegisterWh = e.consumptionRegisterWh() - secondConsumptionWh;
                r.productionRegisterWh = e.productionRegisterWh() - secondProductionWh;
            }
        }
        if (read) (r.gridFrequencyMilliHz, r.voltagePerMille) = (e.gridFrequencyMilliHz(), e.voltagePerMille());
    }

    /// @dev Reverts unless the ring still holds `interval`, and returns the meter's latest interval.
    function _retainedFrom(address meter, uint256 interval) private view returns (uint256 latestInterval) {
        uint256 lastReadingAt = _knownMeter(meter).lastReadingAt;
        if (interval > MAX_INTERVAL) revert IntervalOutOfRange(interval);
        latestInterval = lastReadingAt.intervalOf();
        // The ring holds PROFILE_SLOTS half hours: the latest one's and those before it. The interval
        // is at most MAX_INTERVAL, so the sum cannot overflow.
        unchecked {
            if (lastReadingAt != 0 && (interval >> 1) + PROFILE_SLOTS <= latestInterval >> 1) {
                revert IntervalNotRetained(meter, interval);
            }
        }
    }

    /// @dev Returns the entry of `interval`'s half hour, or an empty entry when the meter read nothing in
    /// that half hour, or nothing up to `interval`.
    function _entryAt(address meter, uint256 interval, uint256 latestInterval)
        private
        view
        returns (ProfileEntry e)
    {
        if (interval > latestInterval) return e;
        (uint256 slot, uint256 lap) = _ringPlace(interval);
        e = _profiles[meter][slot];
        // An entry of an earlier lap is what the ring held 35 days (or a multiple) before.
        if (e.lap() != lap) e = ProfileEntry.wrap(0);
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
            uint256 interval = fromInterval + i;
            (uint256 c, uint256 p) = _entryAt(meter, interval, latestInterval).energy(interval & 1);
            consumptionWh += c;
            productionWh += p;
        }
    }
}
