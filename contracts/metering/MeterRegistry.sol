// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyToken} from "../tokens/IEnergyToken.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {MeterStorage} from "./MeterStorage.sol";
import {MeterFlags} from "../types/MeterFlags.sol";
import {ZeroAddress} from "../utils/GridErrors.sol";

/// @title MeterRegistry
/// @notice This contract answers who a meter is and lets the guardian pause readings. The operator's
/// registrations and the admin's reading bounds are served from the SmartMeter's extension.
/// @dev The storage every part of the meter registry reads is MeterStorage's: the meter's record (the one
/// slot of its own that every reading reads and rewrites), its cold account, its owner's address, and the
/// load profile. The readings, the load
/// profile's views and vault delivery build on this module.
abstract contract MeterRegistry is MeterStorage, ISmartMeterRegistry {
    IEnergyToken internal immutable _energyToken;

    constructor(address admin, IEnergyToken energyToken_) {
        if (admin == address(0) || address(energyToken_) == address(0)) revert ZeroAddress();
        _energyToken = energyToken_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ----------------------------------------------------------------------------- pause

    /// @inheritdoc ISmartMeterRegistry
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc ISmartMeterRegistry
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc ISmartMeterRegistry
    function getMeter(address meter) external view returns (MeterInfo memory) {
        Meter storage m = _knownMeter(meter);
        MeterFlags flags = m.flags;
        return MeterInfo(
            _owners[m.ownerIndex],
            _accounts[meter].regionId,
            flags.isActive(),
            flags.awaitingBaseline(),
            m.lastReadingAt,
            flags.vaultDelivery()
        );
    }

    /// @inheritdoc ISmartMeterRegistry
    function energyToken() external view returns (IEnergyToken) {
        return _energyToken;
    }
}
