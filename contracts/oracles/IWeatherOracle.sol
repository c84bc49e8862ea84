// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOracleReporters} from "./IOracleReporters.sol";

/// @title IWeatherOracle
/// @notice Weather per region, from a network of oracles: solar irradiance, temperature, wind speed
/// and cloud cover. Reports gather in rounds per region, one per reporter per round; a
/// region's value is the per-field median of a round's fresh reports, written only once they reach
/// the quorum (more than half of the reporters, or the admin's higher minimum).
interface IWeatherOracle is IOracleReporters {
    /// @notice A region's weather.
    struct WeatherData {
        uint256 irradianceWPerM2; // global horizontal irradiance, W/m²
        int256 temperatureMilliCelsius; // air temperature, m°C
        uint256 windSpeedMmPerS; // wind speed, mm/s
        uint256 cloudCoverBps; // share of the sky covered, bps
        uint256 reportCount; // fresh reports the medians came from, at least the quorum when written
        uint256 updatedAt; // unix s of the submission that set it; 0 = nothing reported
    }

    /// @notice `reporter` reported the weather in `regionId`.
    /// @param regionId The region reported.
    /// @param reporter The reporter, the caller.
    /// @param irradianceWPerM2 The global horizontal irradiance it reported, W/m².
    /// @param temperatureMilliCelsius The air temperature it reported, m°C.
    /// @param windSpeedMmPerS The wind speed it reported, mm/s.
    /// @param cloudCoverBps The share of the sky covered it reported, bps.
    event WeatherReported(
        uint32 indexed regionId,
        address indexed reporter,
        uint256 irradianceWPerM2,
        int256 temperatureMilliCelsius,
        uint256 windSpeedMmPerS,
        uint256 cloudCoverBps
    );
    /// @notice `regionId`'s weather is now the per-field median of `reportCount` fresh reports
    /// (with an even count, the point between the two middle values nearest the last value; for a
    /// region's first value, their mean rounded toward zero). Emitted only when the round holds a quorum.
    /// @param regionId The region.
    /// @param irradianceWPerM2 The median irradiance, W/m².
    /// @param temperatureMilliCelsius The median temperature, m°C.
    /// @param windSpeedMmPerS The median wind speed, mm/s.
    /// @param cloudCoverBps The median cloud cover, bps.
    /// @param reportCount The fresh reports the medians came from, this submission's included.
    event WeatherUpdated(
        uint32 indexed regionId,
        uint256 irradianceWPerM2,
        int256 temperatureMilliCelsius,
        uint256 windSpeedMmPerS,
        uint256 cloudCoverBps,
        uint256 reportCount
    );

    /// @notice Irradiance above MAX_IRRADIANCE_W_PER_M2 (no sunlight at the surface is stronger).
    /// @param irradianceWPerM2 The irradiance given, W/m².
    /// @param maxWPerM2 MAX_IRRADIANCE_W_PER_M2, W/m².
    error IrradianceOutOfRange(uint256 irradianceWPerM2, uint256 maxWPerM2);
    /// @notice Temperature outside MIN_TEMPERATURE_MILLI_CELSIUS..MAX_TEMPERATURE_MILLI_CELSIUS.
    /// @param temperatureMilliCelsius The temperature given, m°C.
    /// @param minMilliCelsius MIN_TEMPERATURE_MILLI_CELSIUS (−90 °C), m°C.
    /// @param maxMilliCelsius MAX_TEMPERATURE_MILLI_CELSIUS (+60 °C), m°C.
    error TemperatureOutOfRange(int256 temperatureMilliCelsius, int256 minMilliCelsius, int256 maxMilliCelsius);
    /// @notice Wind speed above MAX_WIND_SPEED_MM_PER_S.
    /// @param windSpeedMmPerS The wind speed given, mm/s.
    /// @param maxMmPerS MAX_WIND_SPEED_MM_PER_S (100 m/s), mm/s.
    error WindSpeedOutOfRange(uint256 windSpeedMmPerS, uint256 maxMmPerS);
    /// @notice Cloud cover above 10,000 bps (a fully covered sky).
    /// @param cloudCoverBps The cloud cover given, bps.
    /// @param maxBps MAX_CLOUD_COVER_BPS (10,000), bps.
    error CloudCoverOutOfRange(uint256 cloudCoverBps, uint256 maxBps);

    /// @notice Reports the weather in `regionId` (reporters only) into the region's round being gathered, and
    /// writes the region's medians once the round holds a quorum of fresh reports. Refused with
    /// AlreadyReported while the caller's report waits in that round.
    function submitWeather(
        uint32 regionId,
        uint256 irradianceWPerM2,
        int256 temperatureMilliCelsius,
        uint256 windSpeedMmPerS,
        uint256 cloudCoverBps
    ) external;

    /// @notice `regionId`'s weather: the medians of the fresh reports of its latest round to reach a quorum
    /// (`updatedAt` = 0 and all fields 0 when nothing was reported).
    function getWeather(uint32 regionId) external view returns (WeatherData memory);
}
