// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeterExtension} from "./ISmartMeterExtension.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {MeterStorage} from "./MeterStorage.sol";
import {EnergyTime} from "../utils/EnergyTime.sol";
import {MeterFlagsLibrary} from "../types/MeterFlags.sol";
import {MeterInactive} from "../utils/GridErrors.sol";

/// @title SmartMeterExtension
/// @notice The meter registry's rarely called functions, kept out of the SmartMeter's own code so that it
/// stays well under the code-size limit, as Balancer's vault keeps its extension: the operator registers,
/// deactivates and reactivates meters, the admin sets the two bounds that every reading is checked
/// against, and the regions' views. The SmartMeter calls this contract by delegatecall for every function
/// it does not hold, so each of these runs on the SmartMeter's storage (MeterStorage, which both inherit)
/// at the SmartMeter's address, and its roles are the SmartMeter's.
/// @dev Called directly, at its own address, the extension has no meters and refuses every call
/// (NotThroughSmartMeter).
contract SmartMeterExtension is MeterStorage, ISmartMeterExtension {
    /// @dev This contract's own address, which a delegatecall never runs at.
    address private immutable _self;

    constructor() {
        _self = address(this);
    }

    modifier throughSmartMeter() {
        if (address(this) == _self) revert NotThroughSmartMeter();
        _;
    }

    // ----------------------------------------------------------------------------- registration

    /// @inheritdoc ISmartMeterExtension
    function registerMeter(address meter, address owner, uint32 regionId)
        external
        throughSmartMeter
        onlyRole(OPERATOR_ROLE)
    {
        _register(meter, owner, regionId, true);
        emit ISmartMeterRegistry.MeterRegistered(meter, owner, regionId, 0, 0);
    }

    /// @inheritdoc ISmartMeterExtension
    function registerMeter(
        address meter,
        address owner,
        uint32 regionId,
        uint256 consumptionRegisterWh,
        uint256 productionRegisterWh
    ) external throughSmartMeter onlyRole(OPERATOR_ROLE) {
        _checkRegister(meter, consumptionRegisterWh);
        _checkRegister(meter, productionRegisterWh);
        Meter storage m = _register(meter, owner, regionId, false);
        // The registers at installation are the meter's baseline: its first reading counts from them.
        m.lastReadingAt = uint40(block.timestamp);
        m.consumptionRegisterWh = uint48(consumptionRegisterWh);
        m.productionRegisterWh = uint48(productionRegisterWh);
        Account storage account = _accounts[meter];
        account.uncountedConsumptionWh = uint64(consumptionRegisterWh);
        account.uncountedProductionWh = uint64(productionRegisterWh);
        emit ISmartMeterRegistry.MeterRegistered(meter, owner, regionId, consumptionRegisterWh, productionRegisterWh);
    }

    /// @inheritdoc ISmartMeterExtension
    function deactivateMeter(address meter) external throughSmartMeter onlyRole(OPERATOR_ROLE) {
        Meter storage m = _knownMeter(meter);
        if (!m.flags.isActive()) revert MeterInactive(meter);
        m.flags = m.flags.deactivated();
        emit ISmartMeterRegistry.MeterDeactivated(meter);
    }

    /// @inheritdoc ISmartMeterExtension
    function reactivateMeter(address meter) external throughSmartMeter onlyRole(OPERATOR_ROLE) {
        Meter storage m = _knownMeter(meter);
        if (m.flags.isActive()) revert ISmartMeterRegistry.MeterAlreadyActive(meter);
        m.flags = m.flags.reactivated();
        emit ISmartMeterRegistry.MeterReactivated(meter);
    }

    // ----------------------------------------------------------------------------- reading bounds

    /// @inheritdoc ISmartMeterExtension
    function setMinReadingInterval(uint256 secondsBetweenReadings)
        external
        throughSmartMeter
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (secondsBetweenReadings > EnergyTime.INTERVAL_SECONDS) {
            revert ISmartMeterRegistry.MinReadingIntervalTooLong(secondsBetweenReadings, EnergyTime.INTERVAL_SECONDS);
        }
        uint256 previousSeconds = _readingLimits.minIntervalSeconds;
        // The value fits 32 bits, because it is at most INTERVAL_SECONDS.
        _readingLimits.minIntervalSeconds = uint32(secondsBetweenReadings);
        emit ISmartMeterRegistry.MinReadingIntervalUpdated(previousSeconds, secondsBetweenReadings);
    }

    /// @inheritdoc ISmartMeterExtension
    function setMaxReadingAge(uint256 maxAgeSeconds) external throughSmartMeter onlyRole(DEFAULT_ADMIN_ROLE) {
        if (maxAgeSeconds < MAX_READING_AGE_FLOOR_SECONDS || maxAgeSeconds > MAX_READING_AGE_CEILING_SECONDS) {
            revert ISmartMeterRegistry.MaxReadingAgeOutOfRange(
                maxAgeSeconds, MAX_READING_AGE_FLOOR_SECONDS, MAX_READING_AGE_CEILING_SECONDS
            );
        }
        uint256 previousSeconds = _readingLimits.maxAgeSeconds;
        // The value fits 32 bits, because it is at most 35 days.
        _readingLimits.maxAgeSeconds = uint32(maxAgeSeconds);
        emit ISmartMeterRegistry.MaxReadingAgeUpdated(previousSeconds, maxAgeSeconds);
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc ISmartMeterExtension
    function regionMeterCount(uint32 regionId) external view throughSmartMeter returns (uint256) {
        return _regionMeterCounts[regionId];
    }

    /// @inheritdoc ISmartMeterExtension
    function regionMeterIndex(address meter) external view throughSmartMeter returns (uint256) {
        _knownMeter(meter);
        return _accounts[meter].regionIndex;
    }

    /// @inheritdoc ISmartMeterExtension
    function minReadingInterval() external view throughSmartMeter returns (uint256) {
        return _readingLimits.minIntervalSeconds;
    }

    /// @inheritdoc ISmartMeterExtension
    function maxReadingAge() external view throughSmartMeter returns (uint256) {
        return _readingLimits.maxAgeSeconds;
    }

    // ----------------------------------------------------------------------------- internals

    /// @dev Records a new meter: its owner (by index, a new owner taking the next one), its flags, its
    /// cell in the load profile (the next in registration order) and its place in its region.
    function _register(address meter, address owner, uint32 regionId, bool awaitingBaseline)
        private
        returns (Meter storage m)
    {
        if (meter == address(0)) revert ISmartMeterRegistry.InvalidMeterAddress();
        if (owner == address(0)) revert ISmartMeterRegistry.InvalidOwnerAddress();
        m = _meters[meter];
        if (m.ownerIndex != 0) revert ISmartMeterRegistry.MeterAlreadyRegistered(meter);
        uint256 ownerIndex = _ownerIndices[owner];
        if (ownerIndex == 0) {
            ownerIndex = ++_ownerCount;
            _ownerIndices[owner] = ownerIndex;
            _owners[ownerIndex] = owner;
        }
        // Each registration costs tens of thousands of gas, so neither count reaches 2^32 on any chain.
        m.ownerIndex = uint32(ownerIndex);
        m.cell = uint32(_meterCount++);
        m.flags = MeterFlagsLibrary.registered(awaitingBaseline);
        Account storage account = _accounts[meter];
        account.regionId = regionId;
        account.regionIndex = uint32(_regionMeterCounts[regionId]++);
    }
}
