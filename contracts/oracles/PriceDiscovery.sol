// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IGridOracle} from "./IGridOracle.sol";
import {IPriceDiscovery, IReferencePrice} from "./IPriceDiscovery.sol";
import {IWeatherOracle} from "./IWeatherOracle.sol";
import {PriceFormula} from "./PriceFormula.sol";
import {ZeroAddress} from "../utils/GridErrors.sol";

/// @title PriceDiscovery
/// @notice The reference energy price per region: the base price
/// feed's latest answer × the weighted average of demand (0.3), supply (0.3), time (0.2) and grid
/// stability (0.2) factors, see PriceFormula. Units: PaymentToken base units per kWh, as the feed.
/// Every oracle read is checked the way Chainlink asks of consumers: `updatedAt != 0` (else
/// MissingOracleData), not after the block (OracleDataFromFuture), `block.timestamp - updatedAt <=
/// maxAge(source)` (else StaleOracleData, naming the oracle and the age) and, for the base price,
/// `answer > 0` (NonPositiveBasePrice); a region's weather and grid state must also still have the
/// quorum its oracle asks now (`reportCount >= quorum()`, else OracleDataWithoutQuorum), as a value
/// written before reporters were added no longer speaks for a majority of them. (PriceOracle answers
/// only with a quorum; a Chainlink feed publishes none to check.) The max ages are PriceDiscovery's own settings, one per
/// source, because AggregatorV3Interface does not publish a heartbeat: set each to the feed's
/// heartbeat (PriceOracle's `heartbeat()`, a Chainlink feed's published heartbeat).
/// The time factor comes from an admin-set table of 24 local hours; the local hour is
/// block.timestamp shifted by the admin-set UTC offset.
contract PriceDiscovery is AccessControl, IPriceDiscovery {
    /// @notice Shortest and longest max age of a source's data.
    /// @notice The largest base price read from the feed: PriceOracle's MAX_ANSWER, far below where
    /// base x factors would overflow.
    int256 public constant MAX_BASE_PRICE_PER_KWH = type(int128).max;
    uint256 public constant SHORTEST_MAX_AGE_SECONDS = 1;
    uint256 public constant LONGEST_MAX_AGE_SECONDS = 7 days;
    /// @notice UTC offset bounds, minutes: UTC−12:00..UTC+14:00, the zones in use.
    int256 public constant MIN_UTC_OFFSET_MINUTES = -720;
    int256 public constant MAX_UTC_OFFSET_MINUTES = 840;
    /// @notice Time factor bounds: ×0.1..×3.0.
    uint256 public constant MIN_TIME_FACTOR_BPS = 1_000;
    uint256 public constant MAX_TIME_FACTOR_BPS = 30_000;
    uint256 private constant HOURS = 24;

    AggregatorV3Interface private immutable _priceFeed;
    IWeatherOracle private immutable _weatherOracle;
    IGridOracle private immutable _gridOracle;
    // One slot: a price reads all of it.
    uint32 private _priceMaxAgeSeconds;
    uint32 private _weatherMaxAgeSeconds;
    uint32 private _gridMaxAgeSeconds;
    int16 private _utcOffsetMinutes;
    uint16[HOURS] private _timeFactorsBps; // by local hour; two slots

    /// @param admin Holds DEFAULT_ADMIN_ROLE: time table, UTC offset, max ages.
    /// @param priceFeed_ The base price: PriceOracle, or any AggregatorV3Interface answering in
    /// PaymentToken base units per kWh.
    /// @param weatherOracle_ Read for renewable availability (supply factor).
    /// @param gridOracle_ Read for demand, supply and stability.
    /// @param utcOffsetMinutes_ The local zone's offset from UTC (MIN_UTC_OFFSET_MINUTES..MAX_UTC_OFFSET_MINUTES).
    /// @param priceMaxAgeSeconds Oldest base price accepted (SHORTEST_MAX_AGE_SECONDS..LONGEST_MAX_AGE_SECONDS).
    /// @param weatherMaxAgeSeconds Oldest weather accepted.
    /// @param gridMaxAgeSeconds Oldest grid state accepted.
    constructor(
        address admin,
        AggregatorV3Interface priceFeed_,
        IWeatherOracle weatherOracle_,
        IGridOracle gridOracle_,
        int256 utcOffsetMinutes_,
        uint256 priceMaxAgeSeconds,
        uint256 weatherMaxAgeSeconds,
        uint256 gridMaxAgeSeconds
    ) {
        if (
            admin == address(0) || address(priceFeed_) == address(0) || address(weatherOracle_) == address(0)
                || address(gridOracle_) == address(0)
        ) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _priceFeed = priceFeed_;
        _weatherOracle = weatherOracle_;
        _gridOracle = gridOracle_;
        _setUtcOffset(utcOffsetMinutes_);
        _setMaxAge(DataSource.PRICE, priceMaxAgeSeconds);
        _setMaxAge(DataSource.WEATHER, weatherMaxAgeSeconds);
        _setMaxAge(DataSource.GRID, gridMaxAgeSeconds);
        // Night 00-06 h ×0.8, day 07-16 h ×1.0, evening peak 17-20 h ×1.3, late evening 21-23 h ×1.0.
        // slither-disable-next-line uninitialized-local: the loop below writes every hour
        uint256[HOURS] memory factorsBps;
        for (uint256 hour; hour < HOURS; ++hour) {
            factorsBps[hour] = hour <= 6 ? 8_000 : hour >= 17 && hour <= 20 ? 13_000 : 10_000;
        }
        _setTimeFactors(factorsBps);
    }

    // ----------------------------------------------------------------------------- prices

    /// @inheritdoc IReferencePrice
    function getReferencePrice(uint32 regionId) external view returns (uint256 pricePerKWh) {
        (uint256 basePricePerKWh,, IWeatherOracle.WeatherData memory weather, IGridOracle.GridData memory grid) =
            _read(regionId);
        return PriceFormula.price(
            basePricePerKWh,
            PriceFormula.demandFactorBps(grid.demandW, grid.supplyW),
            PriceFormula.supplyFactorBps(
                PriceFormula.renewableAvailabilityBps(weather.irradianceWPerM2, weather.windSpeedMmPerS)
            ),
            _timeFactorsBps[PriceFormula.localHour(block.timestamp, _utcOffsetMinutes)],
            PriceFormula.stabilityFactorBps(grid.frequencyMilliHz, grid.voltagePerMille)
        );
    }

    /// @inheritdoc IPriceDiscovery
    /// @dev The same reads and formula as getReferencePrice, with every step kept.
    function getPriceFactors(uint32 regionId) external view returns (PriceFactors memory) {
        return _factors(regionId);
    }

    // ----------------------------------------------------------------------------- admin

    /// @inheritdoc IPriceDiscovery
    function setTimeFactors(uint256[24] calldata factorsBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTimeFactors(factorsBps);
    }

    /// @inheritdoc IPriceDiscovery
    function setUtcOffset(int256 utcOffsetMinutes_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setUtcOffset(utcOffsetMinutes_);
    }

    /// @inheritdoc IPriceDiscovery
    function setMaxAge(uint8 source, uint256 maxAgeSeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMaxAge(_source(source), maxAgeSeconds);
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc IPriceDiscovery
    function getTimeFactors() external view returns (uint256[24] memory factorsBps) {
        for (uint256 hour; hour < HOURS; ++hour) {
            factorsBps[hour] = _timeFactorsBps[hour];
        }
    }

    /// @inheritdoc IPriceDiscovery
    function utcOffsetMinutes() external view returns (int256) {
        return _utcOffsetMinutes;
    }

    /// @inheritdoc IPriceDiscovery
    function maxAge(uint8 source) external view returns (uint256 maxAgeSeconds) {
        return _maxAge(_source(source));
    }

    /// @inheritdoc IPriceDiscovery
    function priceFeed() external view returns (address) {
        return address(_priceFeed);
    }

    /// @inheritdoc IPriceDiscovery
    function weatherOracle() external view returns (address) {
        return address(_weatherOracle);
    }

    /// @inheritdoc IPriceDiscovery
    function gridOracle() external view returns (address) {
        return address(_gridOracle);
    }

    // ----------------------------------------------------------------------------- internals

    /// @dev Reads the three sources, each checked as a Chainlink consumer checks a feed.
    function _read(uint32 regionId)
        private
        view
        returns (
            uint256 basePricePerKWh,
            uint256 basePriceUpdatedAt,
            IWeatherOracle.WeatherData memory weather,
            IGridOracle.GridData memory grid
        )
    {
        int256 answer;
        // slither-disable-next-line unused-return: roundId, startedAt and answeredInRound are not needed; answer and updatedAt are checked below
        (, answer,, basePriceUpdatedAt,) = _priceFeed.latestRoundData();
        _checkAge(DataSource.PRICE, address(_priceFeed), basePriceUpdatedAt, _priceMaxAgeSeconds);
        if (answer <= 0) revert NonPositiveBasePrice(address(_priceFeed), answer);
        if (answer > MAX_BASE_PRICE_PER_KWH) revert BasePriceTooLarge(address(_priceFeed), answer, MAX_BASE_PRICE_PER_KWH);
        basePricePerKWh = uint256(answer);
        weather = _weatherOracle.getWeather(regionId);
        _checkAge(DataSource.WEATHER, address(_weatherOracle), weather.updatedAt, _weatherMaxAgeSeconds);
        _checkQuorum(DataSource.WEATHER, address(_weatherOracle), weather.reportCount, _weatherOracle.quorum());
        grid = _gridOracle.getGridData(regionId);
        _checkAge(DataSource.GRID, address(_gridOracle), grid.updatedAt, _gridMaxAgeSeconds);
        _checkQuorum(DataSource.GRID, address(_gridOracle), grid.reportCount, _gridOracle.quorum());
    }

    function _factors(uint32 regionId) private view returns (PriceFactors memory f) {
        IWeatherOracle.WeatherData memory weather;
        IGridOracle.GridData memory grid;
        (f.basePricePerKWh, f.basePriceUpdatedAt, weather, grid) = _read(regionId);
        f.demandW = grid.demandW;
        f.supplyW = grid.supplyW;
        f.frequencyMilliHz = grid.frequencyMilliHz;
        f.voltagePerMille = grid.voltagePerMille;
        f.gridUpdatedAt = grid.updatedAt;
        f.irradianceWPerM2 = weather.irradianceWPerM2;
        f.windSpeedMmPerS = weather.windSpeedMmPerS;
        f.weatherUpdatedAt = weather.updatedAt;

        f.demandFactorBps = PriceFormula.demandFactorBps(grid.demandW, grid.supplyW);
        f.renewableAvailabilityBps = PriceFormula.renewableAvailabilityBps(weather.irradianceWPerM2, weather.windSpeedMmPerS);
        f.supplyFactorBps = PriceFormula.supplyFactorBps(f.renewableAvailabilityBps);
        f.localHour = PriceFormula.localHour(block.timestamp, _utcOffsetMinutes);
        f.timeFactorBps = _timeFactorsBps[f.localHour];
        f.stabilityFactorBps = PriceFormula.stabilityFactorBps(grid.frequencyMilliHz, grid.voltagePerMille);
        f.pricePerKWh = PriceFormula.price(
            f.basePricePerKWh, f.demandFactorBps, f.supplyFactorBps, f.timeFactorBps, f.stabilityFactorBps
        );
    }

    /// @dev Chainlink's consumer checks on `updatedAt`.
    function _checkAge(DataSource source, address oracle, uint256 updatedAt, uint256 maxAgeSeconds) private view {
        if (updatedAt == 0) revert MissingOracleData(source, oracle);
        if (updatedAt > block.timestamp) revert OracleDataFromFuture(source, oracle, updatedAt, block.timestamp);
        uint256 ageSeconds = block.timestamp - updatedAt;
        if (ageSeconds > maxAgeSeconds) revert StaleOracleData(source, oracle, ageSeconds, maxAgeSeconds);
    }

    function _checkQuorum(DataSource source, address oracle, uint256 reportCount, uint256 quorum) private pure {
        if (reportCount < quorum) revert OracleDataWithoutQuorum(source, oracle, reportCount, quorum);
    }

    function _source(uint8 source) private pure returns (DataSource) {
        if (source > uint8(DataSource.GRID)) revert UnknownDataSource(source);
        return DataSource(source);
    }

    function _maxAge(DataSource source) private view returns (uint256) {
        if (source == DataSource.PRICE) return _priceMaxAgeSeconds;
        if (source == DataSource.WEATHER) return _weatherMaxAgeSeconds;
        return _gridMaxAgeSeconds;
    }

    function _setMaxAge(DataSource source, uint256 maxAgeSeconds) private {
        if (maxAgeSeconds < SHORTEST_MAX_AGE_SECONDS || maxAgeSeconds > LONGEST_MAX_AGE_SECONDS) {
            revert MaxAgeOutOfRange(maxAgeSeconds, SHORTEST_MAX_AGE_SECONDS, LONGEST_MAX_AGE_SECONDS);
        }
        uint256 previousSeconds = _maxAge(source);
        if (source == DataSource.PRICE) _priceMaxAgeSeconds = uint32(maxAgeSeconds);
        else if (source == DataSource.WEATHER) _weatherMaxAgeSeconds = uint32(maxAgeSeconds);
        else _gridMaxAgeSeconds = uint32(maxAgeSeconds);
        emit MaxAgeUpdated(source, previousSeconds, maxAgeSeconds);
    }

    function _setUtcOffset(int256 utcOffsetMinutes_) private {
        if (utcOffsetMinutes_ < MIN_UTC_OFFSET_MINUTES || utcOffsetMinutes_ > MAX_UTC_OFFSET_MINUTES) {
            revert UtcOffsetOutOfRange(utcOffsetMinutes_, MIN_UTC_OFFSET_MINUTES, MAX_UTC_OFFSET_MINUTES);
        }
        int256 previousMinutes = _utcOffsetMinutes;
        _utcOffsetMinutes = int16(utcOffsetMinutes_);
        emit UtcOffsetUpdated(previousMinutes, utcOffsetMinutes_);
    }

    function _setTimeFactors(uint256[HOURS] memory factorsBps) private {
        for (uint256 hour; hour < HOURS; ++hour) {
            uint256 factorBps = factorsBps[hour];
            if (factorBps < MIN_TIME_FACTOR_BPS || factorBps > MAX_TIME_FACTOR_BPS) {
                revert TimeFactorOutOfRange(hour, factorBps, MIN_TIME_FACTOR_BPS, MAX_TIME_FACTOR_BPS);
            }
            _timeFactorsBps[hour] = uint16(factorBps);
        }
        emit TimeFactorsUpdated(factorsBps);
    }
}
