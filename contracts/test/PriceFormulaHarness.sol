// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PriceFormula} from "../oracles/PriceFormula.sol";

/// @title PriceFormulaHarness
/// @notice Exposes the PriceFormula library to tests: the price factors and the weighted price.
contract PriceFormulaHarness {
    /// @notice Calls PriceFormula.demandFactorBps.
    function demandFactorBps(uint256 demandW, uint256 supplyW) external pure returns (uint256) {
        return PriceFormula.demandFactorBps(demandW, supplyW);
    }

    /// @notice Calls PriceFormula.renewableAvailabilityBps.
    function renewableAvailabilityBps(uint256 irradianceWPerM2, uint256 windSpeedMmPerS) external pure returns (uint256) {
        return PriceFormula.renewableAvailabilityBps(irradianceWPerM2, windSpeedMmPerS);
    }

    /// @notice Calls PriceFormula.supplyFactorBps.
    function supplyFactorBps(uint256 availabilityBps) external pure returns (uint256) {
        return PriceFormula.supplyFactorBps(availabilityBps);
    }

    /// @notice Calls PriceFormula.stabilityFactorBps.
    function stabilityFactorBps(uint256 frequencyMilliHz, uint256 voltagePerMille) external pure returns (uint256) {
        return PriceFormula.stabilityFactorBps(frequencyMilliHz, voltagePerMille);
    }

    /// @notice Calls PriceFormula.localHour.
    function localHour(uint256 timestamp, int256 utcOffsetMinutes) external pure returns (uint256) {
        return PriceFormula.localHour(timestamp, utcOffsetMinutes);
    }

    /// @notice Calls PriceFormula.price.
    function price(uint256 basePricePerKWh, uint256 demandBps, uint256 supplyBps, uint256 timeBps, uint256 stabilityBps)
        external
        pure
        returns (uint256)
    {
        return PriceFormula.price(basePricePerKWh, demandBps, supplyBps, timeBps, stabilityBps);
    }
}
