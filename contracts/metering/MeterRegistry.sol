// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEnergyToken} from "../tokens/IEnergyToken.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {EnergyTime} from "../utils/EnergyTime.sol";
import {MeterFlags, MeterFlagsLibrary} from "../types/MeterFlags.sol";
import {ProfileEntry, ProfileEntryLibrary} from "../types/ProfileEntry.sol";
import {BatchTooLarge, EmptyBatch, MeterInactive, MeterUnknown, ZeroAddress} from "../utils/GridErrors.sol";

/// @title MeterRegistry
/// @notice This contract records which meters exist, who owns them and whether they may submit
/// readings. The operator registers, deactivates and reactivates meters, the admin sets the two bounds
/// that every reading is checked against, and the guardian can pause readings.
/// @dev This module owns the storage every other part of the meter registry reads: the meter's record
/// (the one slot every reading reads and rewrites), its cold account, and the load profile, which a
/// registration with known registers opens with its baseline entry. The readings, the load profile's
/// views and vault delivery build on it.
abstract contract MeterRegistry is AccessControl, Pausable, ISmartMeterRegistry {
    using EnergyTime for uint256;

    // ----------------------------------------------------------------------------- roles

    /// @notice Registers, deactivates and reactivates meters.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Submits batches of readings for many meters (a head-end system or data concentrator).
    bytes32 public constant GATEWAY_ROLE = keccak256("GATEWAY_ROLE");
    /// @notice The guardian role (GridManagement), which pauses readings and therefore minting in an
    /// emergency shutdown; only the admin resumes.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    // ----------------------------------------------------------------------------- limits

    /// @notice The number of intervals kept per meter, which is 35 days of 900 s intervals.
    uint256 public constant PROFILE_CAPACITY = 35 * EnergyTime.INTERVALS_PER_DAY;
    /// @notice The load profile's slots per meter: one per half hour, each holding two intervals.
    uint256 public constant PROFILE_SLOTS = PROFILE_CAPACITY / 2;
    /// @notice The most readings one submitReadings call may carry.
    uint256 public constant MAX_BATCH_SIZE = 100;
    /// @notice The shortest reading age limit, since a gateway forwards each interval's reading when the
    /// interval closes.
    uint256 public constant MAX_READING_AGE_FLOOR_SECONDS = EnergyTime.INTERVAL_SECONDS;
    /// @notice The longest reading age limit. It equals the load profile's span (35 days), so every
    /// accepted reading lands in an interval that the profile still holds.
    uint256 public constant MAX_READING_AGE_CEILING_SECONDS = PROFILE_CAPACITY * EnergyTime.INTERVAL_SECONDS;
    /// @notice The reading age limit at deployment. A week of buffered 15-minute readings (672 per meter)
    /// covers a gateway outage over a long weekend plus the repair visit.
    uint256 public constant DEFAULT_MAX_READING_AGE_SECONDS = 7 * EnergyTime.DAY_SECONDS;
    /// @notice The largest register value, stored as uint48 in the profile. At 281 TWh it is beyond
    /// anything a meter reaches in its life.
    uint256 public constant MAX_REGISTER_WH = type(uint48).max;
    /// @notice The highest interval the load profile can hold: the last of its 65,536 laps of 35 days,
    /// which end in the year 8,250.
    uint256 public constant MAX_INTERVAL = (ProfileEntryLibrary.MAX_LAP + 1) * PROFILE_CAPACITY - 1;

    // ----------------------------------------------------------------------------- storage

    /// @dev The data that every reading reads and rewrites, kept in one slot.
    struct Meter {
        address owner; // The zero address means the meter is not registered.
        uint40 lastReadingAt; // In unix seconds; zero until the first reading or a registration baseline.
        // The number of signed readings accepted plus the nonces skipped by invalidateNonces. It is at
        // most MAX_READING_NONCE plus one per accepted reading, and each accepted reading strictly raises
        // lastReadingAt, so the count fits 40 bits.
        uint40 nonce;
        MeterFlags flags; // active, awaiting a baseline (the next reading only sets it), vault delivery
        uint8 zone; // the reading market's zone of the meter's region (0: the bus), read with every reading
    }

    /// @dev Cold data, written only at registration, at baselines and at redemptions. Energy before a
    /// baseline is "uncounted", so the counted energy is the register minus the uncounted energy.
    struct Account {
        uint64 uncountedConsumptionWh;
        uint64 uncountedProductionWh;
        uint64 redeemedConsumptionWh;
        uint32 regionId; // read by getMeter only, so kept off the hot slot
        uint32 regionIndex; // the meter's place among its region's meters, in registration order
    }

    /// @dev The two bounds every reading is checked against, read once per transaction.
    struct ReadingLimits {
        uint32 minIntervalSeconds; // at most INTERVAL_SECONDS
        uint32 maxAgeSeconds; // MAX_READING_AGE_FLOOR_SECONDS..MAX_READING_AGE_CEILING_SECONDS
    }

    IEnergyToken internal immutable _energyToken;
    ReadingLimits internal _readingLimits = ReadingLimits(60, uint32(DEFAULT_MAX_READING_AGE_SECONDS));
    mapping(address meter => Meter) internal _meters;
    mapping(address meter => Account) internal _accounts;
    mapping(address meter => mapping(uint256 slot => ProfileEntry)) internal _profiles;
    // The meters ever registered in each region. A region's count fits 32 bits: each registration
    // costs over 40,000 gas, so four billion of them cost more gas than a chain's blocks hold in years.
    mapping(uint32 regionId => uint256) internal _regionMeterCounts;

    constructor(address admin, IEnergyToken energyToken_) {
        if (admin == address(0) || address(energyToken_) == address(0)) revert ZeroAddress();
        _energyToken = energyToken_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ----------------------------------------------------------------------------- registration

    /// @inheritdoc ISmartMeterRegistry
    function registerMeter(address meter, address owner, uint32 regionId) external onlyRole(OPERATOR_ROLE) {
        _register(meter, owner, regionId, true);
        emit MeterRegistered(meter, owner, regionId, 0, 0);
    }

    /// @inheritdoc ISmartMeterRegistry
    function registerMeter(
        address meter,
        address owner,
        uint32 regionId,
        uint256 consumptionRegisterWh,
        uint256 productionRegisterWh
    ) external onlyRole(OPERATOR_ROLE) {
        _register(meter, owner, regionId, false);
        _checkRegister(meter, consumptionRegisterWh);
        _checkRegister(meter, productionRegisterWh);
        _meters[meter].lastReadingAt = uint40(block.timestamp);
        Account storage account = _accounts[meter];
        account.uncountedConsumptionWh = uint64(consumptionRegisterWh);
        account.uncountedProductionWh = uint64(productionRegisterWh);
        uint256 interval = block.timestamp.intervalOf();
        (uint256 slot, uint256 lap) = _ringPlace(interval);
        _profiles[meter][slot] = ProfileEntryLibrary.baseline(lap, interval & 1, consumptionRegisterWh, productionRegisterWh);
        emit MeterRegistered(meter, owner, regionId, consumptionRegisterWh, productionRegisterWh);
    }

    /// @inheritdoc ISmartMeterRegistry
    function deactivateMeter(address meter) external onlyRole(OPERATOR_ROLE) {
        Meter storage m = _knownMeter(meter);
        if (!m.flags.isActive()) revert MeterInactive(meter);
        m.flags = m.flags.deactivated();
        emit MeterDeactivated(meter);
    }

    /// @inheritdoc ISmartMeterRegistry
    function reactivateMeter(address meter) external onlyRole(OPERATOR_ROLE) {
        Meter storage m = _knownMeter(meter);
        if (m.flags.isActive()) revert MeterAlreadyActive(meter);
        m.flags = m.flags.reactivated();
        emit MeterReactivated(meter);
    }

    // ----------------------------------------------------------------------------- reading bounds and pause

    /// @inheritdoc ISmartMeterRegistry
    function setMinReadingInterval(uint256 secondsBetweenReadings) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (secondsBetweenReadings > EnergyTime.INTERVAL_SECONDS) {
            revert MinReadingIntervalTooLong(secondsBetweenReadings, EnergyTime.INTERVAL_SECONDS);
        }
        uint256 previousSeconds = _readingLimits.minIntervalSeconds;
        // The value fits 32 bits, because it is at most INTERVAL_SECONDS.
        _readingLimits.minIntervalSeconds = uint32(secondsBetweenReadings);
        emit MinReadingIntervalUpdated(previousSeconds, secondsBetweenReadings);
    }

    /// @inheritdoc ISmartMeterRegistry
    function setMaxReadingAge(uint256 maxAgeSeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (maxAgeSeconds < MAX_READING_AGE_FLOOR_SECONDS || maxAgeSeconds > MAX_READING_AGE_CEILING_SECONDS) {
            revert MaxReadingAgeOutOfRange(maxAgeSeconds, MAX_READING_AGE_FLOOR_SECONDS, MAX_READING_AGE_CEILING_SECONDS);
        }
        uint256 previousSeconds = _readingLimits.maxAgeSeconds;
        // The value fits 32 bits, because it is at most 35 days.
        _readingLimits.maxAgeSeconds = uint32(maxAgeSeconds);
        emit MaxReadingAgeUpdated(previousSeconds, maxAgeSeconds);
    }

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
            m.owner,
            _accounts[meter].regionId,
            flags.isActive(),
            flags.awaitingBaseline(),
            m.lastReadingAt,
            flags.vaultDelivery()
        );
    }

    /// @inheritdoc ISmartMeterRegistry
    function regionMeterCount(uint32 regionId) external view returns (uint256) {
        return _regionMeterCounts[regionId];
    }

    /// @inheritdoc ISmartMeterRegistry
    function regionMeterIndex(address meter) external view returns (uint256) {
        _knownMeter(meter);
        return _accounts[meter].regionIndex;
    }

    /// @inheritdoc ISmartMeterRegistry
    function minReadingInterval() external view returns (uint256) {
        return _readingLimits.minIntervalSeconds;
    }

    /// @inheritdoc ISmartMeterRegistry
    function maxReadingAge() external view returns (uint256) {
        return _readingLimits.maxAgeSeconds;
    }

    /// @notice The EnergyToken this meter registry mints.
    function energyToken() external view returns (IEnergyToken) {
        return _energyToken;
    }

    // ----------------------------------------------------------------------------- internals

    function _register(address meter, address owner, uint32 regionId, bool awaitingBaseline) private {
        if (meter == address(0)) revert InvalidMeterAddress();
        if (owner == address(0)) revert InvalidOwnerAddress();
        Meter storage m = _meters[meter];
        if (m.owner != address(0)) revert MeterAlreadyRegistered(meter);
        m.owner = owner;
        m.flags = MeterFlagsLibrary.registered(awaitingBaseline);
        Account storage account = _accounts[meter];
        account.regionId = regionId;
        account.regionIndex = uint32(_regionMeterCounts[regionId]++);
    }

    function _knownMeter(address meter) internal view returns (Meter storage m) {
        m = _meters[meter];
        if (m.owner == address(0)) revert MeterUnknown(meter);
    }

    function _ownMeter(address meter) internal view returns (Meter storage m) {
        m = _knownMeter(meter);
        if (m.owner != msg.sender) revert NotMeterOwner(meter, msg.sender);
    }

    function _checkRegister(address meter, uint256 registerWh) internal pure {
        if (registerWh > MAX_REGISTER_WH) revert RegisterOutOfRange(meter, registerWh);
    }

    function _checkBatchSize(uint256 size) internal pure {
        if (size == 0) revert EmptyBatch();
        if (size > MAX_BATCH_SIZE) revert BatchTooLarge(size, MAX_BATCH_SIZE);
    }

    /// @dev Returns where `interval` lies in the load profile: its half hour's slot (the ring wraps around
    /// every PROFILE_SLOTS half hours, PROFILE_CAPACITY intervals) and the ring's lap, which the slot's
    /// entry records. The lap fits the entry's 16 bits for every interval up to MAX_INTERVAL.
    function _ringPlace(uint256 interval) internal pure returns (uint256 slot, uint256 lap) {
        uint256 halfHour = interval >> 1;
        lap = halfHour / PROFILE_SLOTS;
        // The remainder from the quotient just taken, cheaper than a second division.
        unchecked {
            // slither-disable-next-line divide-before-multiply: lap * PROFILE_SLOTS is the largest multiple not above halfHour, by design
            slot = halfHour - lap * PROFILE_SLOTS;
        }
    }
}
