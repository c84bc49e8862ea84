// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IWeatherOracle} from "./IWeatherOracle.sol";
import {RegionalOracle} from "./RegionalOracle.sol";

/// @title WeatherOracle
/// @notice Weather per region from the reporter set: the per-field median of the fresh reports
/// (RegionalOracle). Every field is checked against physical bounds. PriceDiscovery reads
/// irradiance and wind speed for renewable availability.
contract WeatherOracle is RegionalOracle, IWeatherOracle {
    /// @notice Highest irradiance: above the ~1,360 W/m² solar constant reaching the ground under any sky.
    uint256 public constant MAX_IRRADIANCE_W_PER_M2 = 1_500;
    /// @notice Lowest temperature: −90 °C (the coldest ever measured is −89.2 °C).
    int256 public constant MIN_TEMPERATURE_MILLI_CELSIUS = -90_000;
    /// @notice Highest temperature: +60 °C (the hottest reliably measured is 56.7 °C).
    int256 public constant MAX_TEMPERATURE_MILLI_CELSIUS = 60_000;
    /// @notice Highest wind speed: 100 m/s (beyond any measured surface gust).
    uint256 public constant MAX_WIND_SPEED_MM_PER_S = 100_000;
    /// @notice A fully covered sky.
    uint256 public constant MAX_CLOUD_COVER_BPS = 10_000;

    /// @param admin Holds DEFAULT_ADMIN_ROLE: reporters, heartbeat and minimum quorum.
    /// @param heartbeatSeconds A report older than this is stale (MIN_HEARTBEAT_SECONDS..MAX_HEARTBEAT_SECONDS).
    /// @param minQuorum_ The fewest fresh reports a region's value needs, 0..MAX_REPORTERS (0 = more
    /// than half of the reporters, which the quorum never goes below; a single-reporter deployment may say 1).
    constructor(address admin, uint256 heartbeatSeconds, uint256 minQuorum_)
        RegionalOracle(admin, heartbeatSeconds, minQuorum_)
    {}

    /// @inheritdoc IWeatherOracle
    function submitWeather(
        uint32 regionId,
        uint256 irradianceWPerM2,
        int256 temperatureMilliCelsius,
        uint256 windSpeedMmPerS,
        uint256 cloudCoverBps
    ) external {
        // Cast to int256 and back, a uint256 keeps its value, so _checkFields reports it as given.
        (bool written, int256[FIELD_COUNT] memory m, uint256 reportCount) = _submit(
            regionId,
            [int256(irradianceWPerM2), temperatureMilliCelsius, int256(windSpeedMmPerS), int256(cloudCoverBps)]
        );
        emit WeatherReported(
            regionId, msg.sender, irradianceWPerM2, temperatureMilliCelsius, windSpeedMmPerS, cloudCoverBps
        );
        if (written) emit WeatherUpdated(regionId, uint256(m[0]), m[1], uint256(m[2]), uint256(m[3]), reportCount);
    }

    /// @inheritdoc RegionalOracle
    function _checkFields(int256[FIELD_COUNT] memory fields) internal pure override {
        uint256 irradianceWPerM2 = uint256(fields[0]);
        if (irradianceWPerM2 > MAX_IRRADIANCE_W_PER_M2) {
            revert IrradianceOutOfRange(irradianceWPerM2, MAX_IRRADIANCE_W_PER_M2);
        }
        int256 temperatureMilliCelsius = fields[1];
        if (temperatureMilliCelsius < MIN_TEMPERATURE_MILLI_CELSIUS || temperatureMilliCelsius > MAX_TEMPERATURE_MILLI_CELSIUS) {
            revert TemperatureOutOfRange(
                temperatureMilliCelsius, MIN_TEMPERATURE_MILLI_CELSIUS, MAX_TEMPERATURE_MILLI_CELSIUS
            );
        }
        uint256 windSpeedMmPerS = uint256(fields[2]);
        if (windSpeedMmPerS > MAX_WIND_SPEED_MM_PER_S) revert WindSpeedOutOfRange(windSpeedMmPerS, MAX_WIND_SPEED_MM_PER_S);
        uint256 cloudCoverBps = uint256(fields[3]);
        if (cloudCoverBps > MAX_CLOUD_COVER_BPS) revert CloudCoverOutOfRange(cloudCoverBps, MAX_CLOUD_COVER_BPS);
    }

    /// @inheritdoc IWeatherOracle
    function getWeather(uint32 regionId) external view returns (WeatherData memory) {
        (int256[FIELD_COUNT] memory v, uint256 reportCount, uint256 updatedAt) = _value(regionId);
        return WeatherData(uint256(v[0]), v[1], uint256(v[2]), uint256(v[3]), reportCount, updatedAt);
    }
}
