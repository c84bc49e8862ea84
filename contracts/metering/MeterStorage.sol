// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IMeteredMarket} from "./IMeteredMarket.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {ReadingChecks} from "./ReadingChecks.sol";
import {EnergyTime} from "../utils/EnergyTime.sol";
import {MeterFlags} from "../types/MeterFlags.sol";
import {OwnerAndLimits} from "../types/OwnerAndLimits.sol";
import {IntervalCells, IntervalCellsLibrary} from "../types/IntervalCells.sol";
import {BatchTooLarge, EmptyBatch, MeterUnknown} from "../utils/GridErrors.sol";

/// @title MeterStorage
/// @notice Every state variable of the meter registry, its roles and limits, and the internal reads that
/// the SmartMeter and its extension share.
/// @dev Both the SmartMeter and SmartMeterExtension inherit this contract first, and the extension declares
/// no storage of its own, so the extension, run by delegatecall, reads and writes the SmartMeter's storage
/// at the same slots. The state of the signing domain comes after it, in the SmartMeter only, which the
/// extension never touches.
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

    /// @notice The number of intervals the load profile keeps, which is 35 days of 900 s intervals: the
    /// interval now and those before it.
    /// @dev 35 times EnergyTime.INTERVALS_PER_DAY, in literals, since every reading divides by it (a constant
    /// defined from other constants is computed at each use, with checked arithmetic).
    uint256 public constant PROFILE_CAPACITY = 35 * 96;
    /// @notice The most readings one submitReadings call may carry.
    uint256 public constant MAX_BATCH_SIZE = 100;
    /// @notice The shortest reading age limit, since a gateway forwards each interval's reading when the
    /// interval closes.
    uint256 public constant MAX_READING_AGE_FLOOR_SECONDS = EnergyTime.INTERVAL_SECONDS;
    /// @notice The longest reading age limit: the load profile's span (35 days) less one interval. Every
    /// accepted reading lands in an interval that the profile still holds, and never in one whose word a
    /// neighbouring meter has already passed on to the interval 35 days later.
    uint256 public constant MAX_READING_AGE_CEILING_SECONDS = (PROFILE_CAPACITY - 1) * EnergyTime.INTERVAL_SECONDS;
    /// @notice The reading age limit at deployment. A week of buffered 15-minute readings (672 per meter)
    /// covers a gateway outage over a long weekend plus the repair visit.
    uint256 public constant DEFAULT_MAX_READING_AGE_SECONDS = 7 * EnergyTime.DAY_SECONDS;
    /// @notice The largest register value, stored as uint48 in the meter's record. At 281 TWh it is
    /// beyond anything a meter reaches in its life.
    uint256 public constant MAX_REGISTER_WH = ReadingChecks.MAX_REGISTER_WH;
    /// @notice The highest interval the load profile can hold: the last of its 65,536 laps of 35 days,
    /// which end in the year 8,250.
    /// @dev (IntervalCellsLibrary.MAX_LAP + 1) * PROFILE_CAPACITY - 1, in literals as PROFILE_CAPACITY is.
    uint256 public constant MAX_INTERVAL = 65_536 * 3_360 - 1;

    // ----------------------------------------------------------------------------- storage

    /// @dev The data that every reading reads and rewrites, kept in one slot.
    struct Meter {
        // The owner's place in `_owners`, from 1; zero means the meter is not registered. An index instead
        // of the address leaves room for the registers, so a reading reads no other word of the meter's.
        uint32 ownerIndex;
        uint40 lastReadingAt; // In unix seconds; zero until the first reading or a registration baseline.
        // The number of signed readings accepted plus the nonces skipped by invalidateNonces. It is at
        // most MAX_READING_NONCE plus one per accepted reading, and each accepted reading strictly raises
        // lastReadingAt, so the count fits 40 bits.
        uint40 nonce;
        MeterFlags flags; // active, awaiting a baseline (the next reading only sets it), vault delivery
        uint8 zone; // the reading market's zone of the meter's region (0: the bus), read with every reading
        uint48 consumptionRegisterWh; // the import register at the latest reading (or the baseline)
        uint48 productionRegisterWh; // the export register at the latest reading (or the baseline)
        // The meter's place in the load profile, in registration order: it shares its intervals' words
        // with the meters registered beside it (those of the same cell / CELLS), at place cell % CELLS.
        uint32 cell;
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
    // The load profile: each interval's word of each three meters, keyed by the meters' group and the
    // interval's place in the ring of PROFILE_CAPACITY intervals (`_profilePlace`).
    // slither-disable-next-line unused-state: the SmartMeter's readings and views use it; the extension, on the same storage, does not
    mapping(uint256 groupAndPlace => IntervalCells) internal _profile;
    // The owners, from index 1, and each owner's index. An owner keeps its index for all its meters.
    // slither-disable-next-line uninitialized-state: the extension registers meters and their owners, on this storage
    mapping(uint256 ownerIndex => address) internal _owners;
    // slither-disable-next-line unused-state: the extension registers meters and their owners, on this storage
    mapping(address owner => uint256) internal _ownerIndices;
    // slither-disable-next-line unused-state,constable-states: the extension registers meters and their owners, on this storage
    uint256 internal _ownerCount;
    // slither-disable-next-line unused-state,constable-states: the extension gives each meter its cell, on this storage
    uint256 internal _meterCount;
    // The meters ever registered in each region. A region's count fits 32 bits: each registration
    // costs over 40,000 gas, so four billion of them cost more gas than a chain's blocks hold in years.
    // slither-disable-next-line unused-state: the extension registers meters and answers for the regions, on this storage
    mapping(uint32 regionId => uint256) internal _regionMeterCounts;

    // Vault delivery and standing orders: the SmartMeter's readings read them, its extension sets them.
    // slither-disable-next-line uninitialized-state,constable-states: the extension sets the vault, on this storage
    IEnergyVault internal _vault;
    // slither-disable-next-line uninitialized-state,constable-states: the extension sets the reading market, on this storage
    IMeteredMarket internal _readingMarket;
    // The reading market's place in `_readingMarkets` plus one (zero for none): the tag a meter's zone must
    // carry to be used (MeterFlags). It shares the market's slot, which every batch with entries reads.
    // slither-disable-next-line uninitialized-state,constable-states: the extension sets it with the reading market, on this storage
    uint8 internal _readingMarketTag;
    // Each meter's standing limits with its owner's address beside them, so that a reading of a meter with
    // limits reads one word for both (zero while the meter has none).
    // slither-disable-next-line uninitialized-state: the owners set their limits through the extension, on this storage
    mapping(address meter => OwnerAndLimits) internal _standing;
    // slither-disable-next-line unused-state: the extension counts the owners' signed limits, on this storage
    mapping(address owner => uint256) internal _standingOrderNonces;
    // Every reading market ever named, in the order named, at most the extension's MAX_READING_MARKETS.
    // slither-disable-next-line uninitialized-state: the extension names the reading markets, on this storage
    address[] internal _readingMarkets;

    // ----------------------------------------------------------------------------- internals

    function _knownMeter(address meter) internal view returns (Meter storage m) {
        m = _meters[meter];
        if (m.ownerIndex == 0) revert MeterUnknown(meter);
    }

    function _ownMeter(address meter) internal view returns (Meter storage m) {
        m = _knownMeter(meter);
        if (_owners[m.ownerIndex] != msg.sender) revert ISmartMeterRegistry.NotMeterOwner(meter, msg.sender);
    }

    /// @dev The meter's zone in the reading market whose tag is `tag`: the zone it was synced with there, or
    /// the bus if it was synced with another market (or never).
    function _zoneFor(Meter memory m, uint256 tag) internal pure returns (uint256) {
        return m.flags.zoneTag() == tag ? m.zone : 0;
    }

    function _checkRegister(address meter, uint256 registerWh) internal pure {
        if (registerWh > MAX_REGISTER_WH) revert ISmartMeterRegistry.RegisterOutOfRange(meter, registerWh);
    }

    function _checkBatchSize(uint256 size) internal pure {
        if (size == 0) revert EmptyBatch();
        if (size > MAX_BATCH_SIZE) revert BatchTooLarge(size, MAX_BATCH_SIZE);
    }

    /// @dev Returns the key of `interval`'s word of the meter in `cell`, the meter's place in it and the
    /// ring's lap the interval lies in, which the word records. The ring wraps around every
    /// PROFILE_CAPACITY intervals, and the lap fits the word's 16 bits for every interval up to MAX_INTERVAL.
    function _profilePlace(uint256 cell, uint256 interval)
        internal
        pure
        returns (uint256 key, uint256 position, uint256 lap)
    {
        lap = interval / PROFILE_CAPACITY;
        uint256 group = cell / IntervalCellsLibrary.CELLS;
        // The remainders from the quotients just taken, cheaper than a second division.
        unchecked {
            // slither-disable-next-line divide-before-multiply: lap * PROFILE_CAPACITY is the largest multiple not above the interval, by design
            key = group * PROFILE_CAPACITY + (interval - lap * PROFILE_CAPACITY);
            // slither-disable-next-line divide-before-multiply: group * CELLS is the largest multiple not above the cell, by design
            position = cell - group * IntervalCellsLibrary.CELLS;
        }
    }
}
