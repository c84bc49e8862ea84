// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ZeroAddress} from "../utils/GridErrors.sol";

/// @title IReferencePrice
/// @notice A reference energy price per region, as EnergyTrading's price band reads it.
interface IReferencePrice {
    /// @notice The reference price in `regionId` now, in PaymentToken base units per kWh. Reverts
    /// when a source it needs is missing or stale.
    function getReferencePrice(uint32 regionId) external view returns (uint256 pricePerKWh);
}

/// @title IPriceDiscovery
/// @notice The reference price calculated over the oracles: base × weighted_average([(demand, 0.3),
/// (supply, 0.3), (time, 0.2), (stability, 0.2)]), each factor in bps (PriceFormula).
/// The base is a Chainlink-style feed's latest answer (PriceOracle); demand, supply and stability
/// come from GridOracle and WeatherOracle for the region; time from an hourly table in local time.
/// Every read is checked as a Chainlink consumer should: the data exists (`updatedAt != 0`), is
/// not from the future, is no older than that source's max age, and the base price is positive; a
/// region's weather and grid state must still have their oracle's quorum.
interface IPriceDiscovery is IReferencePrice {
    /// @notice Where an input comes from.
    enum DataSource {
        PRICE, // the base price feed (AggregatorV3Interface)
        WEATHER, // WeatherOracle
        GRID // GridOracle
    }

    /// @notice A reference price with every factor and input behind it.
    struct PriceFactors {
        uint256 pricePerKWh; // the reference price, PaymentToken base units per kWh
        uint256 basePricePerKWh; // the feed's latest answer
        uint256 demandFactorBps; // D
        uint256 supplyFactorBps; // S
        uint256 timeFactorBps; // T
        uint256 stabilityFactorBps; // G
        uint256 demandW; // GridOracle
        uint256 supplyW; // GridOracle
        uint256 frequencyMilliHz; // GridOracle
        uint256 voltagePerMille; // GridOracle
        uint256 irradianceWPerM2; // WeatherOracle
        uint256 windSpeedMmPerS; // WeatherOracle
        uint256 renewableAvailabilityBps; // a, from irradiance and wind speed
        uint256 localHour; // 0-23, the time table's row
        uint256 basePriceUpdatedAt; // unix s
        uint256 weatherUpdatedAt; // unix s
        uint256 gridUpdatedAt; // unix s
    }

    /// @notice The time factor of every local hour was set (by the admin, or at construction).
    /// @param factorsBps The factor of each local hour 0-23, bps (10,000 = ×1.0).
    event TimeFactorsUpdated(uint256[24] factorsBps);
    /// @notice The local time zone's offset from UTC was set (by the admin, or at construction).
    /// @param previousMinutes The offset before (0 at construction), minutes.
    /// @param newMinutes The offset from now on, minutes.
    event UtcOffsetUpdated(int256 previousMinutes, int256 newMinutes);
    /// @notice How old `source`'s data may be was set (by the admin, or at construction).
    /// @param source The data source.
    /// @param previousSeconds Its max age before (0 at construction), seconds.
    /// @param newSeconds Its max age from now on, seconds.
    event MaxAgeUpdated(DataSource indexed source, uint256 previousSeconds, uint256 newSeconds);

    /// @notice `oracle` has no data (`updatedAt` = 0): nothing reported yet (for the region).
    /// @param source Which input it is.
    /// @param oracle The oracle read.
    error MissingOracleData(DataSource source, address oracle);
    /// @notice `oracle`'s data is `ageSeconds` old, older than `maxAgeSeconds`.
    /// @param source Which input it is.
    /// @param oracle The oracle read.
    /// @param ageSeconds block.timestamp - its updatedAt, seconds.
    /// @param maxAgeSeconds The source's max age, seconds.
    error StaleOracleData(DataSource source, address oracle, uint256 ageSeconds, uint256 maxAgeSeconds);
    /// @notice `oracle`'s value for the region came from fewer fresh reports than its quorum asks now
    /// (reporters were added, or the minimum quorum raised, since it was written).
    /// @param source Which input it is.
    /// @param oracle The oracle read.
    /// @param reportCount The fresh reports the value came from.
    /// @param quorum The oracle's quorum now, reports.
    error OracleDataWithoutQuorum(DataSource source, address oracle, uint256 reportCount, uint256 quorum);
    /// @notice `oracle`'s data claims to be updated after the current block.
    /// @param source Which input it is.
    /// @param oracle The oracle read.
    /// @param updatedAt Its updatedAt, unix s.
    /// @param blockTimestamp The current block's timestamp, unix s.
    error OracleDataFromFuture(DataSource source, address oracle, uint256 updatedAt, uint256 blockTimestamp);
    /// @notice The price feed's answer is zero or negative.
    /// @param oracle The price feed.
    /// @param answer Its latest answer, PaymentToken base units per kWh.
    error NonPositiveBasePrice(address oracle, int256 answer);
    /// @notice The price feed's answer is above MAX_BASE_PRICE_PER_KWH (PriceOracle's own bound),
    /// where base price x factors would overflow.
    /// @param oracle The price feed.
    /// @param answer Its latest answer, PaymentToken base units per kWh.
    /// @param maxAnswer MAX_BASE_PRICE_PER_KWH, PaymentToken base units per kWh.
    error BasePriceTooLarge(address oracle, int256 answer, int256 maxAnswer);
    /// @notice A data source number that is not a DataSource (0 PRICE, 1 WEATHER, 2 GRID).
    /// @param source The number given.
    error UnknownDataSource(uint256 source);
    /// @notice A max age outside SHORTEST_MAX_AGE_SECONDS..LONGEST_MAX_AGE_SECONDS.
    /// @param maxAgeSeconds The max age given, seconds.
    /// @param minSeconds SHORTEST_MAX_AGE_SECONDS, seconds.
    /// @param maxSeconds LONGEST_MAX_AGE_SECONDS, seconds.
    error MaxAgeOutOfRange(uint256 maxAgeSeconds, uint256 minSeconds, uint256 maxSeconds);
    /// @notice A UTC offset outside MIN_UTC_OFFSET_MINUTES..MAX_UTC_OFFSET_MINUTES (UTC−12..UTC+14).
    /// @param utcOffsetMinutes The offset given, minutes.
    /// @param minMinutes MIN_UTC_OFFSET_MINUTES (−720), minutes.
    /// @param maxMinutes MAX_UTC_OFFSET_MINUTES (840), minutes.
    error UtcOffsetOutOfRange(int256 utcOffsetMinutes, int256 minMinutes, int256 maxMinutes);
    /// @notice A time factor outside MIN_TIME_FACTOR_BPS..MAX_TIME_FACTOR_BPS.
    /// @param hour The local hour (0-23) of the first factor out of range.
    /// @param factorBps That factor, bps.
    /// @param minBps MIN_TIME_FACTOR_BPS (×0.1), bps.
    /// @param maxBps MAX_TIME_FACTOR_BPS (×3.0), bps.
    error TimeFactorOutOfRange(uint256 hour, uint256 factorBps, uint256 minBps, uint256 maxBps);

    /// @notice The reference price in `regionId` with every factor and input behind it.
    function getPriceFactors(uint32 regionId) external view returns (PriceFactors memory);

    /// @notice Sets the time factor of each local hour 0-23, in bps. DEFAULT_ADMIN_ROLE only.
    function setTimeFactors(uint256[24] calldata factorsBps) external;

    /// @notice Sets the local time zone's offset from UTC, in minutes. DEFAULT_ADMIN_ROLE only.
    function setUtcOffset(int256 utcOffsetMinutes_) external;

    /// @notice Sets how old `source`'s data (a DataSource number) may be, in seconds. DEFAULT_ADMIN_ROLE only.
    function setMaxAge(uint8 source, uint256 maxAgeSeconds) external;

    /// @notice The time factor of each local hour 0-23, in bps.
    function getTimeFactors() external view returns (uint256[24] memory factorsBps);

    /// @notice The local time zone's offset from UTC, in minutes.
    function utcOffsetMinutes() external view returns (int256);

    /// @notice How old `source`'s data (a DataSource number) may be, in seconds.
    function maxAge(uint8 source) external view returns (uint256 maxAgeSeconds);

    /// @notice The base price feed (PriceOracle or any AggregatorV3Interface in PaymentToken base units per kWh).
    function priceFeed() external view returns (address);

    /// @notice The WeatherOracle read for renewable availability.
    function weatherOracle() external view returns (address);

    /// @notice The GridOracle read for demand, supply and stability.
    function gridOracle() external view returns (address);
}
