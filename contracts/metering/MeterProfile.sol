// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MeterRegistry} from "./MeterRegistry.sol";
import {ISmartMeter} from "./ISmartMeter.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {EnergyTime} from "../utils/EnergyTime.sol";
import {IntervalCells} from "../types/IntervalCells.sol";
import {InvalidHistoryPage} from "../utils/GridErrors.sol";

/// @title MeterProfile
/// @notice This contract reads back what a meter measured: the latest reading, from the meter's record,
/// and from its load profile the energy of one interval, of a day or of a range of intervals, and a page
/// of interval records; and the energy counted since the meter's baseline.
/// @dev The load profile is kept the way a meter keeps its own, as a DLMS/COSEM "profile generic" with a
/// 900 s capture period: for every meter the Wh of each interval and the frequency and voltage of its
/// latest reading there, for the PROFILE_CAPACITY intervals up to now (35 days). Three meters registered
/// one after another share each interval's storage word (IntervalCells). Daily totals are summed from
/// the profile instead of being stored, so that a reading writes at most one fresh slot. An interval the
/// profile no longer holds is refused rather than read as empty, and an interval in which the meter read
/// nothing reads as zero.
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
        Meter storage m = _knownMeter(meter);
        uint256 lastReadingAt = m.lastReadingAt;
        if (lastReadingAt == 0) return MeterReading(0, 0, 0, 0, 0);
        // The frequency and voltage are those the profile keeps for the latest reading's interval: zeros for a
        // registration baseline, or once a neighbour's reading 35 days later has taken the interval's word.
        (uint256 frequencyMilliHz, uint256 voltagePerMille) = _frequencyAndVoltage(m, lastReadingAt.intervalOf());
        return MeterReading(
            lastReadingAt, m.consumptionRegisterWh, m.productionRegisterWh, frequencyMilliHz, voltagePerMille
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
        uint256 cell = _retainedCell(meter, fromInterval);
        records = new IntervalRecord[](count);
        for (uint256 i; i < count; ++i) {
            uint256 interval = fromInterval + i;
            (IntervalCells cells, uint256 position) = _cellsAt(cell, interval);
            IntervalRecord memory r = records[i];
            r.interval = interval;
            (r.consumptionWh, r.productionWh) = cells.energy(position);
            (r.gridFrequencyMilliHz, r.voltagePerMille) = cells.frequencyAndVoltage(position);
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

    /// @dev Reverts unless the profile still holds `interval` (one of the PROFILE_CAPACITY intervals up to
    /// now, or a later one, which reads as empty), and returns the meter's cell.
    function _retainedCell(address meter, uint256 interval) private view returns (uint256 cell) {
        cell = _knownMeter(meter).cell;
        if (interval > MAX_INTERVAL) revert IntervalOutOfRange(interval);
        // The interval is at most MAX_INTERVAL, so the sum cannot overflow.
        unchecked {
            if (interval + PROFILE_CAPACITY <= block.timestamp.intervalOf()) revert IntervalNotRetained(meter, interval);
        }
    }

    /// @dev The word of `interval` holding the meter in `cell`, and the meter's place in it; an empty word
    /// when the profile holds nothing of that interval, since a word of another lap is of another interval.
    /// The whole lap is compared, so an interval past MAX_INTERVAL, whose lap the word's 16 bits cannot
    /// hold, reads as empty too.
    function _cellsAt(uint256 cell, uint256 interval) private view returns (IntervalCells cells, uint256 position) {
        uint256 key;
        uint256 lap;
        (key, position, lap) = _profilePlace(cell, interval);
        cells = _profile[key];
        if (cells.lap() != lap) cells = IntervalCells.wrap(0);
    }

    /// @dev The frequency and voltage of the meter's latest reading in `interval`, zeros if none is kept.
    function _frequencyAndVoltage(Meter storage m, uint256 interval)
        private
        view
        returns (uint256 frequencyMilliHz, uint256 voltagePerMille)
    {
        (IntervalCells cells, uint256 position) = _cellsAt(m.cell, interval);
        return cells.frequencyAndVoltage(position);
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
        uint256 cell = _retainedCell(meter, fromInterval);
        for (uint256 i; i < count; ++i) {
            (IntervalCells cells, uint256 position) = _cellsAt(cell, fromInterval + i);
            (uint256 c, uint256 p) = cells.energy(position);
            consumptionWh += c;
            productionWh += p;
        }
    }
}
