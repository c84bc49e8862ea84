// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice One half hour of a meter's load profile, packed into a single storage word: its two 900 s
/// intervals' energy, each with whether a reading landed in it, and the registers, grid frequency and
/// voltage of the half hour's latest reading. From the low bits up, the fields and their widths in bits
/// are: lap (16, the ring's lap the half hour lies in), latest (1, which of the two intervals holds the
/// latest reading or the registration's baseline), the first interval's consumptionWh (27),
/// productionWh (27) and read flag (1), the same three for the second interval, consumptionRegisterWh
/// (48), productionRegisterWh (48), gridFrequencyMilliHz (16) and voltagePerMille (16).
type ProfileEntry is uint256;

using ProfileEntryLibrary for ProfileEntry global;

/// @title ProfileEntryLibrary
/// @notice Packs and reads a ProfileEntry. Every reading reads one entry and writes one on its hot path,
/// so the library works on the raw word instead of a memory struct.
/// @dev Two intervals share a word so that a meter's first weeks, whose readings find every slot of the
/// ring empty, pay for a fresh slot once every two readings instead of at every reading.
library ProfileEntryLibrary {
    /// @dev The width of one interval's consumptionWh and of its productionWh.
    uint256 private constant WH_BITS = 27;
    /// @dev The most energy one interval's entry holds, in Wh (27 bits: 134 MWh a quarter hour).
    uint256 internal constant MAX_INTERVAL_WH = (1 << 27) - 1;
    /// @dev The largest lap (16 bits).
    uint256 internal constant MAX_LAP = type(uint16).max;

    uint256 private constant MASK_16 = type(uint16).max;
    uint256 private constant MASK_48 = type(uint48).max;
    uint256 private constant LATEST_BIT = 16;
    uint256 private constant FIRST_INTERVAL_BIT = 17;
    uint256 private constant INTERVAL_WIDTH = 55; // consumptionWh, productionWh, read
    uint256 private constant INTERVAL_MASK = (1 << INTERVAL_WIDTH) - 1;
    uint256 private constant READ_BIT = 54; // within an interval's 55 bits
    uint256 private constant REGISTERS_BIT = 127;
    uint256 private constant PRODUCTION_REGISTER_BIT = REGISTERS_BIT + 48;
    uint256 private constant FREQUENCY_BIT = 223;
    uint256 private constant VOLTAGE_BIT = 239;
    /// @dev Everything but the two intervals' fields: what a reading rewrites besides its own interval.
    uint256 private constant INTERVALS_MASK = ((1 << (2 * INTERVAL_WIDTH)) - 1) << FIRST_INTERVAL_BIT;

    /// @dev The entry of a half hour in `lap_` after a reading in its interval `second` (0 the first, 1 the
    /// second) that brings that interval to `consumedWh` and `producedWh` and leaves `readingFields`
    /// (latestReading's word). `carried` is the half hour's entry before the reading, or empty when the
    /// reading opens the half hour; its other interval is kept. Callers guarantee that every field fits
    /// its width; the meter registry checks them first.
    function withReading(
        ProfileEntry carried,
        uint256 lap_,
        uint256 second,
        uint256 consumedWh,
        uint256 producedWh,
        uint256 readingFields
    ) internal pure returns (ProfileEntry) {
        uint256 shift = _shift(second);
        uint256 kept = ProfileEntry.unwrap(carried) & INTERVALS_MASK & ~(INTERVAL_MASK << shift);
        uint256 counted = consumedWh | (producedWh << WH_BITS) | (1 << READ_BIT);
        return ProfileEntry.wrap(lap_ | (second << LATEST_BIT) | kept | (counted << shift) | readingFields);
    }

    /// @dev The entry's fields of the half hour's latest reading, in place: its registers, frequency and voltage.
    function latestReading(uint256 importRegisterWh, uint256 exportRegisterWh, uint256 frequencyMilliHz, uint256 voltage)
        internal
        pure
        returns (uint256)
    {
        return (importRegisterWh << REGISTERS_BIT) | (exportRegisterWh << PRODUCTION_REGISTER_BIT)
            | (frequencyMilliHz << FREQUENCY_BIT) | (voltage << VOLTAGE_BIT);
    }

    /// @dev The entry a registration with known registers opens: the registers in interval `second` of
    /// the half hour, no reading and no energy.
    function baseline(uint256 lap_, uint256 second, uint256 importRegisterWh, uint256 exportRegisterWh)
        internal
        pure
        returns (ProfileEntry)
    {
        return ProfileEntry.wrap(lap_ | (second << LATEST_BIT) | latestReading(importRegisterWh, exportRegisterWh, 0, 0));
    }

    function lap(ProfileEntry e) internal pure returns (uint256) {
        return ProfileEntry.unwrap(e) & MASK_16;
    }

    /// @dev Which interval of the half hour (0 the first, 1 the second) holds its latest reading.
    function latest(ProfileEntry e) internal pure returns (uint256) {
        return (ProfileEntry.unwrap(e) >> LATEST_BIT) & 1;
    }

    /// @dev Interval `second`'s imported and exported Wh.
    function energy(ProfileEntry e, uint256 second) internal pure returns (uint256 consumptionWh, uint256 productionWh) {
        uint256 fields = ProfileEntry.unwrap(e) >> _shift(second);
        return (fields & MAX_INTERVAL_WH, (fields >> WH_BITS) & MAX_INTERVAL_WH);
    }

    /// @dev Whether a reading landed in interval `second` of the half hour.
    function isRead(ProfileEntry e, uint256 second) internal pure returns (bool) {
        return (ProfileEntry.unwrap(e) >> _shift(second)) >> READ_BIT & 1 == 1;
    }

    /// @dev Where interval `second` (0 or 1) of the half hour begins in the word.
    function _shift(uint256 second) private pure returns (uint256) {
        return second == 0 ? FIRST_INTERVAL_BIT : FIRST_INTERVAL_BIT + INTERVAL_WIDTH;
    }

    function consumptionRegisterWh(ProfileEntry e) internal pure returns (uint256) {
        return (ProfileEntry.unwrap(e) >> REGISTERS_BIT) & MASK_48;
    }

    function productionRegisterWh(ProfileEntry e) internal pure returns (uint256) {
        return (ProfileEntry.unwrap(e) >> PRODUCTION_REGISTER_BIT) & MASK_48;
    }

    function gridFrequencyMilliHz(ProfileEntry e) internal pure returns (uint256) {
        return (ProfileEntry.unwrap(e) >> FREQUENCY_BIT) & MASK_16;
    }

    function voltagePerMille(ProfileEntry e) internal pure returns (uint256) {
        return (ProfileEntry.unwrap(e) >> VOLTAGE_BIT) & MASK_16;
    }
}
