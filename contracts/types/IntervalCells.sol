// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {GridLimits} from "../utils/GridLimits.sol";

/// @notice One 900 s interval of the load profile of three meters, packed into a single storage word: a cell
/// per meter, each with the Wh the meter imported and exported in the interval, whether a reading landed
/// in it, and the frequency and voltage of its latest reading there. From the low bits up: the lap (16
/// bits, the ring's lap the interval lies in), then three cells of 80 bits, each holding consumptionWh
/// (27), productionWh (27), read (1), the frequency above MIN_FREQUENCY_MILLIHZ (15) and the voltage
/// above MIN_VOLTAGE_PER_MILLE (10).
type IntervalCells is uint256;

using IntervalCellsLibrary for IntervalCells global;

/// @title IntervalCellsLibrary
/// @notice Packs and reads an IntervalCells word.
/// @dev Three meters registered one after another share their intervals' words, so that the batch of
/// readings that carries all three writes each word once from cold and twice warm: in a meter's first
/// weeks, whose readings find the ring empty, a reading pays a third of a fresh slot instead of half of
/// one. The meters' registers live in their records, so a cell needs none.
library IntervalCellsLibrary {
    /// @dev The meters that share a word.
    uint256 internal constant CELLS = 3;
    /// @dev The most energy one cell holds on a side, in Wh (27 bits: 134 MWh a quarter hour).
    uint256 internal constant MAX_INTERVAL_WH = (1 << 27) - 1;
    /// @dev The largest lap (16 bits).
    uint256 internal constant MAX_LAP = type(uint16).max;

    uint256 private constant LAP_MASK = type(uint16).max;
    uint256 private constant FIRST_CELL_BIT = 16;
    uint256 private constant CELL_BITS = 80;
    uint256 private constant CELL_MASK = (1 << 80) - 1; // CELL_BITS wide, in literals so that solc folds it
    uint256 private constant WH_BITS = 27;
    uint256 private constant READ_BIT = 54;
    uint256 private constant FREQUENCY_BIT = 55;
    uint256 private constant FREQUENCY_MASK = (1 << 15) - 1;
    uint256 private constant VOLTAGE_BIT = 70;
    uint256 private constant VOLTAGE_MASK = (1 << 10) - 1;

    /// @dev The interval's word once a reading of the meter in cell `position` brought its cell to
    /// `consumptionWh` and `productionWh`, with `frequencyMilliHz` and `voltagePerMille` as its latest.
    /// `cells` must be of the interval's lap (see `ofLap`). Callers guarantee that every field is within
    /// its bounds; the meter registry checks them first.
    function withReading(
        IntervalCells cells,
        uint256 position,
        uint256 consumptionWh,
        uint256 productionWh,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille
    ) internal pure returns (IntervalCells) {
        uint256 shift = _shift(position);
        uint256 cell = consumptionWh | (productionWh << WH_BITS) | (1 << READ_BIT)
            | ((frequencyMilliHz - GridLimits.MIN_FREQUENCY_MILLIHZ) << FREQUENCY_BIT)
            | ((voltagePerMille - GridLimits.MIN_VOLTAGE_PER_MILLE) << VOLTAGE_BIT);
        return IntervalCells.wrap((IntervalCells.unwrap(cells) & ~(CELL_MASK << shift)) | (cell << shift));
    }

    /// @dev `cells` if it is of `lap_`, else an empty word of `lap_`: a word of an earlier lap holds the
    /// meters' cells of the interval 35 days (or a multiple) before. `lap_` must be at most MAX_LAP.
    function ofLap(IntervalCells cells, uint256 lap_) internal pure returns (IntervalCells) {
        return lap(cells) == lap_ ? cells : IntervalCells.wrap(lap_);
    }

    function lap(IntervalCells cells) internal pure returns (uint256) {
        return IntervalCells.unwrap(cells) & LAP_MASK;
    }

    /// @dev The Wh that the meter in cell `position` imported and exported in the interval.
    function energy(IntervalCells cells, uint256 position)
        internal
        pure
        returns (uint256 consumptionWh, uint256 productionWh)
    {
        uint256 cell = _cell(cells, position);
        return (cell & MAX_INTERVAL_WH, (cell >> WH_BITS) & MAX_INTERVAL_WH);
    }

    /// @dev The frequency and voltage of the latest reading of the meter in cell `position` in the interval,
    /// or zeros if none landed there.
    function frequencyAndVoltage(IntervalCells cells, uint256 position)
        internal
        pure
        returns (uint256 frequencyMilliHz, uint256 voltagePerMille)
    {
        uint256 cell = _cell(cells, position);
        if ((cell >> READ_BIT) & 1 == 0) return (0, 0);
        return (
            ((cell >> FREQUENCY_BIT) & FREQUENCY_MASK) + GridLimits.MIN_FREQUENCY_MILLIHZ,
            ((cell >> VOLTAGE_BIT) & VOLTAGE_MASK) + GridLimits.MIN_VOLTAGE_PER_MILLE
        );
    }

    function _cell(IntervalCells cells, uint256 position) private pure returns (uint256) {
        return (IntervalCells.unwrap(cells) >> _shift(position)) & CELL_MASK;
    }

    function _shift(uint256 position) private pure returns (uint256) {
        return FIRST_CELL_BIT + position * CELL_BITS;
    }
}
