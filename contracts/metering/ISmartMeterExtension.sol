// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ISmartMeterExtension
/// @notice The meter registry's rarely called functions: registering, deactivating and reactivating
/// meters, the two bounds every reading is checked against, and the regions' views. The SmartMeter serves
/// them at its own address through its extension (SmartMeterExtension), which it calls by delegatecall
/// for any function it does not hold itself, so callers see one contract whose whole interface is
/// ISmartMeterRegistry and this one. Their errors and events are ISmartMeterRegistry's.
interface ISmartMeterExtension {
    /// @notice The extension was called directly rather than through its SmartMeter: it holds no meters.
    error NotThroughSmartMeter();

    /// @notice Registers `meter`; its first reading sets the baseline. OPERATOR_ROLE only.
    /// @param meter The meter's address (its device key's address, which signs its readings).
    /// @param owner Receives the meter's minted Wh.
    /// @param regionId Grid region the meter is connected in.
    function registerMeter(address meter, address owner, uint32 regionId) external;

    /// @notice Registers `meter` with its registers read at installation as the baseline. OPERATOR_ROLE only.
    /// @param meter The meter's address (its device key's address, which signs its readings).
    /// @param owner Receives the meter's minted Wh.
    /// @param regionId Grid region the meter is connected in.
    /// @param consumptionRegisterWh Import register at installation, Wh.
    /// @param productionRegisterWh Export register at installation, Wh.
    function registerMeter(
        address meter,
        address owner,
        uint32 regionId,
        uint256 consumptionRegisterWh,
        uint256 productionRegisterWh
    ) external;

    /// @notice Suspends `meter`. OPERATOR_ROLE only.
    function deactivateMeter(address meter) external;

    /// @notice Restores `meter`; energy metered while it was suspended is not counted. OPERATOR_ROLE only.
    function reactivateMeter(address meter) external;

    /// @notice Sets the minimum seconds between two readings of one meter. DEFAULT_ADMIN_ROLE only.
    function setMinReadingInterval(uint256 secondsBetweenReadings) external;

    /// @notice Sets how old a reading may be when it arrives (block time minus reading time), within
    /// MAX_READING_AGE_FLOOR_SECONDS..MAX_READING_AGE_CEILING_SECONDS. DEFAULT_ADMIN_ROLE only.
    /// @dev The bound keeps a meter from back-dating readings at will (choosing after the fact which
    /// intervals and days its energy lands in, as a demand-response baseline reads them) while a
    /// gateway can still deliver what it buffered through an outage. Readings of an outage longer
    /// than the limit are dropped down to the ones still young enough: registers are cumulative, so
    /// the energy still counts, only booked in a later interval.
    /// @param maxAgeSeconds The new limit, seconds.
    function setMaxReadingAge(uint256 maxAgeSeconds) external;

    /// @notice How many meters were ever registered in `regionId`. The registry never moves or removes a
    /// meter (a deactivated one stays registered), so the count only grows, and the region's meters at
    /// any moment are exactly those whose regionMeterIndex is below the count taken then.
    /// @param regionId The grid region.
    function regionMeterCount(uint32 regionId) external view returns (uint256);

    /// @notice `meter`'s place among the meters of its region, in registration order, from 0.
    /// MeterUnknown for a meter that is not registered.
    /// @param meter The meter.
    function regionMeterIndex(address meter) external view returns (uint256);

    /// @notice The fewest seconds between two readings of one meter.
    function minReadingInterval() external view returns (uint256);

    /// @notice The oldest a reading may be when it arrives, seconds (DEFAULT_MAX_READING_AGE_SECONDS at deploy).
    function maxReadingAge() external view returns (uint256);
}
