// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title PriceFormula
/// @notice The reference price calculation: price = base × weighted_average([(demand, 0.3),
/// (supply, 0.3), (time, 0.2), (stability, 0.2)]). Every factor is in basis points
/// (10,000 = ×1.0); the price is in the base price's unit (PaymentToken base units per kWh).
library PriceFormula {
    uint256 internal constant BPS = 10_000;
    /// @notice Demand factor bounds: ×0.5..×2.0.
    uint256 internal constant MIN_DEMAND_FACTOR_BPS = 5_000;
    uint256 internal constant MAX_DEMAND_FACTOR_BPS = 20_000;
    /// @notice Irradiance at which solar counts as fully available: 1,000 W/m² (standard test conditions).
    uint256 internal constant FULL_IRRADIANCE_W_PER_M2 = 1_000;
    /// @notice Wind speed at which wind counts as fully available: 12 m/s (a turbine's typical rated speed).
    uint256 internal constant FULL_WIND_SPEED_MM_PER_S = 12_000;
    /// @notice Supply factor with no renewable generation available (dark and calm): ×1.25.
    uint256 internal constant SUPPLY_FACTOR_SCARCE_BPS = 12_500;
    /// @notice How far full renewable availability lowers the supply factor: to ×0.75.
    uint256 internal constant SUPPLY_FACTOR_RANGE_BPS = 5_000;
    /// @notice Nominal frequency (50 Hz) and voltage (100 %).
    uint256 internal constant NOMINAL_FREQUENCY_MILLIHZ = 50_000;
    uint256 internal constant NOMINAL_VOLTAGE_PER_MILLE = 1_000;
    /// @notice Stability factor added per mHz of frequency deviation: 10 bps (a 1 Hz deviation is ×2.0).
    uint256 internal constant STABILITY_BPS_PER_MILLIHZ = 10;
    /// @notice Stability factor added per ‰ of voltage deviation: 100 bps (a 10 % deviation is ×2.0).
    uint256 internal constant STABILITY_BPS_PER_VOLTAGE_PER_MILLE = 100;
    /// @notice Highest stability factor: ×2.0.
    uint256 internal constant MAX_STABILITY_FACTOR_BPS = 20_000;
    /// @notice The factors' weights (demand 0.3, supply 0.3, time 0.2, stability 0.2), in bps of
    /// the weighted average.
    uint256 internal constant DEMAND_WEIGHT_BPS = 3_000;
    uint256 internal constant SUPPLY_WEIGHT_BPS = 3_000;
    uint256 internal constant TIME_WEIGHT_BPS = 2_000;
    uint256 internal constant STABILITY_WEIGHT_BPS = 2_000;

    /// @notice Demand relative to the supply available now (GridOracle):
    /// D = demandW × 10,000 / supplyW (rounded down), clamped to 5,000..20,000 bps; 20,000 when
    /// nothing is supplied.
    /// @return factorBps D, in bps.
    function demandFactorBps(uint256 demandW, uint256 supplyW) internal pure returns (uint256 factorBps) {
        if (supplyW == 0) return MAX_DEMAND_FACTOR_BPS;
        factorBps = demandW * BPS / supplyW;
        if (factorBps < MIN_DEMAND_FACTOR_BPS) return MIN_DEMAND_FACTOR_BPS;
        if (factorBps > MAX_DEMAND_FACTOR_BPS) return MAX_DEMAND_FACTOR_BPS;
    }

    /// @notice Renewable availability (WeatherOracle): a = max(irradiance × 10,000 / 1,000 W/m²,
    /// windSpeed × 10,000 / 12 m/s), each rounded down, capped at 10,000 bps.
    /// @return availabilityBps a, in bps (10,000 = sun or wind at full output).
    function renewableAvailabilityBps(uint256 irradianceWPerM2, uint256 windSpeedMmPerS)
        internal
        pure
        returns (uint256 availabilityBps)
    {
        uint256 solarBps = irradianceWPerM2 * BPS / FULL_IRRADIANCE_W_PER_M2;
        uint256 windBps = windSpeedMmPerS * BPS / FULL_WIND_SPEED_MM_PER_S;
        availabilityBps = solarBps > windBps ? solarBps : windBps;
        if (availabilityBps > BPS) availabilityBps = BPS;
    }

    /// @notice Supply factor: S = 12,500 − 5,000 × a / 10,000 bps (the product rounded down), for
    /// renewable availability a ≤ 10,000 bps: dark and calm ×1.25, sunny or windy ×0.75.
    /// @return factorBps S, in bps.
    function supplyFactorBps(uint256 availabilityBps) internal pure returns (uint256 factorBps) {
        return SUPPLY_FACTOR_SCARCE_BPS - SUPPLY_FACTOR_RANGE_BPS * availabilityBps / BPS;
    }

    /// @notice Stability factor (GridOracle): G = 10,000 + 10 × |frequency − 50,000 mHz|
    /// + 100 × |voltage − 1,000 ‰| bps, capped at 20,000 bps.
    /// @return factorBps G, in bps.
    function stabilityFactorBps(uint256 frequencyMilliHz, uint256 voltagePerMille)
        internal
        pure
        returns (uint256 factorBps)
    {
        factorBps = BPS + STABILITY_BPS_PER_MILLIHZ * _distance(frequencyMilliHz, NOMINAL_FREQUENCY_MILLIHZ)
            + STABILITY_BPS_PER_VOLTAGE_PER_MILLE * _distance(voltagePerMille, NOMINAL_VOLTAGE_PER_MILLE);
        if (factorBps > MAX_STABILITY_FACTOR_BPS) factorBps = MAX_STABILITY_FACTOR_BPS;
    }

    /// @notice The local hour (0-23) at `timestamp` (unix s, UTC) in a zone `utcOffsetMinutes` from UTC.
    /// @dev `timestamp + utcOffsetMinutes × 60` must not be negative (any block after 1970-01-02).
    function localHour(uint256 timestamp, int256 utcOffsetMinutes) internal pure returns (uint256 hour) {
        uint256 localSeconds = uint256(int256(timestamp) + utcOffsetMinutes * 60);
        return localSeconds % 1 days / 1 hours;
    }

    /// @notice price = base × (3,000·D + 3,000·S + 2,000·T + 2,000·G) / 10,000 / 10,000, rounded down.
    /// @param basePricePerKWh The base price (PriceOracle's latest answer), any unit per kWh.
    /// @return pricePerKWh In the base price's unit.
    function price(
        uint256 basePricePerKWh,
        uint256 demandBps,
        uint256 supplyBps,
        uint256 timeBps,
        uint256 stabilityBps
    ) internal pure returns (uint256 pricePerKWh) {
        uint256 weighted = DEMAND_WEIGHT_BPS * demandBps + SUPPLY_WEIGHT_BPS * supplyBps + TIME_WEIGHT_BPS * timeBps
            + STABILITY_WEIGHT_BPS * stabilityBps;
        return basePricePerKWh * weighted / (BPS * BPS);
    }

    function _distance(uint256 a, uint256 b) private pure returns (uint256) {
        return a > b ? a - b : b - a;
    }
}
