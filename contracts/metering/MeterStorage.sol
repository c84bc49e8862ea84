// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {EnergyTime} from "../utils/EnergyTime.sol";
import {MeterFlags} from "../types/MeterFlags.sol";
import {ProfileEntry, ProfileEntryLibrary} from "../types/ProfileEntry.sol";
import {BatchTooLarge, EmptyBatch, MeterUnknown} from "../utils/GridErrors.sol";

/// @title MeterStorage
/// @notice Every state variable of the meter registry, its roles and limits, and the internal reads that
/// the SmartMeter and its extension share.
/// @dev Both the SmartMeter and SmartMeterExtension inherit this contract first, and the extension declares
/// no storage of its own, so the extension, run by delegatecall, reads and writes the SmartMeter's storage
/// at the same slots. The state of the signing domain and of vault delivery comes after it, in the
/// SmartMeter only, which the extension never touches.
abstract contract MeterStorage is AccessControl, Pausable {
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

    ReadingLimits internal _readingLimits = ReadingLimits(60, uint32(DEFAULT_MAX_READING_AGE_SECONDS));
    mapping(address meter => Meter) internal _meters;
    mapping(address meter => Account) internal _accounts;
    mapping(address meter => mapping(uint256 slot => ProfileEntry)) internal _profiles;
    // The meters ever registered in each region. A region's count fits 32 bits: each registration
    // costs over 40,000 gas, so four billion of them cost more gas than a chain's blocks hold in years.
    // slither-disable-next-line unused-state: the extension registers meters and answers for the regions, on this storage
    mapping(uint32 regionId => uint256) internal _regionMeterCounts;

    // ----------------------------------------------------------------------------- internals

    function _knownMeter(address meter) internal view returns (Meter storage m) {
        m = _meters[meter];
        if (m.owner == address(0)) revert MeterUnknown(meter);
    }

    function _ownMeter(address meter) internal view returns (Meter storage m) {
        m = _knownMeter(meter);
        if (m.owner != msg.sender) revert ISmartMeterRegistry.NotMeterOwner(meter, msg.sender);
    }

    function _checkRegister(address meter, uint256 registerWh) internal pure {
        if (registerWh > MAX_REGISTER_WH) revert ISmartMeterRegistry.RegisterOutOfRange(meter, registerWh);
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
