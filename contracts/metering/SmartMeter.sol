// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IEnergyToken} from "../tokens/IEnergyToken.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {IMeteredMarket} from "./IMeteredMarket.sol";
import {ISmartMeter} from "./ISmartMeter.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {EnergyTime} from "../utils/EnergyTime.sol";
import {GridLimits} from "../utils/GridLimits.sol";
import {LoadProfile, ProfileEntry} from "./LoadProfile.sol";
import {MemoryArrays} from "../utils/MemoryArrays.sol";
import {
    BatchTooLarge,
    EmptyBatch,
    InvalidHistoryPage,
    MeterInactive,
    MeterUnknown,
    ZeroAddress
} from "../utils/GridErrors.sol";

/// @title SmartMeter
/// @notice Meter registry and readings. Registers are cumulative like a real meter's import and
/// export registers, so energy is the difference between readings and a lost message loses none.
/// Each accepted export increase is minted to the meter's owner as EnergyToken.
/// @dev Per meter the contract keeps a load profile like a meter's own (DLMS/COSEM "profile
/// generic" with a 900 s capture period): a ring of PROFILE_CAPACITY interval entries, one storage
/// slot each (LoadProfile), which also holds the latest reading's registers. Daily totals are
/// summed from it, so a reading writes one fresh slot at most.
/// Readings arrive three ways: from the meter's own address (submitReading), in batches from a
/// GATEWAY_ROLE head-end (submitReadings), or signed by the meter's key (EIP-712) and relayed by
/// anyone (submitSignedReadings). The signed path's nonce lives in the meter's record, the slot
/// every reading rewrites anyway.
// slither-disable-next-line missing-inheritance: pause() and paused() match IPausableTarget; inheriting it would force overrides of both
contract SmartMeter is AccessControl, Pausable, EIP712, ISmartMeterRegistry {
    using EnergyTime for uint256;

    /// @notice Registers, deactivates and reactivates meters.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Submits batches of readings for many meters (a head-end system or data concentrator).
    bytes32 public constant GATEWAY_ROLE = keccak256("GATEWAY_ROLE");
    /// @notice Pauses readings, and so minting (emergency shutdown: the guardian, GridManagement); only the admin resumes.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice Intervals kept per meter: 35 days of 900 s intervals.
    uint256 public constant PROFILE_CAPACITY = 35 * EnergyTime.INTERVALS_PER_DAY;
    /// @notice Most readings in one submitReadings call.
    uint256 public constant MAX_BATCH_SIZE = 100;
    /// @notice Most intervals in one getIntervalHistory page.
    uint256 public constant MAX_HISTORY_PAGE = EnergyTime.INTERVALS_PER_DAY;
    /// @notice Shortest reading age limit: a gateway forwards each interval's reading when it closes.
    uint256 public constant MAX_READING_AGE_FLOOR_SECONDS = EnergyTime.INTERVAL_SECONDS;
    /// @notice Longest reading age limit: the load profile's span (35 days), so every accepted
    /// reading lands in an interval the profile still holds.
    uint256 public constant MAX_READING_AGE_CEILING_SECONDS = PROFILE_CAPACITY * EnergyTime.INTERVAL_SECONDS;
    /// @notice Reading age limit at deploy: a week of buffered 15-minute readings (672 per meter)
    /// covers a gateway outage over a long weekend plus the repair visit.
    uint256 public constant DEFAULT_MAX_READING_AGE_SECONDS = 7 * EnergyTime.DAY_SECONDS;
    /// @notice EIP-712 type of a meter-signed reading (ISmartMeterRegistry.SignedReading without v, r, s).
    bytes32 public constant SIGNED_READING_TYPEHASH = keccak256(
        "SignedReading(address meter,uint256 nonce,uint256 deadline,MeterReading reading)"
        "MeterReading(uint256 timestamp,uint256 consumption,uint256 production,uint256 gridFrequency,uint256 voltage)"
    );
    /// @notice EIP-712 type of the reading inside a SignedReading (ISmartMeter.MeterReading).
    bytes32 public constant METER_READING_TYPEHASH = keccak256(
        "MeterReading(uint256 timestamp,uint256 consumption,uint256 production,uint256 gridFrequency,uint256 voltage)"
    );
    /// @notice EIP-712 type of an owner's signed standing limits (setStandingOrderBySig); all-zero
    /// prices remove them.
    bytes32 public constant STANDING_ORDER_TYPEHASH = keccak256(
        "StandingOrder(address meter,uint256 sellPricePerKWh,uint256 sellCapWh,uint256 buyPricePerKWh,uint256 buyCapWh,uint256 nonce,uint256 deadline)"
    );
    /// @notice Highest nonce invalidateNonces sets: far more signed readings than a meter signs in
    /// its life, and low enough that the 40-bit nonce never wraps.
    uint256 public constant MAX_READING_NONCE = type(uint32).max;
    /// @notice Highest nonce invalidateStandingOrderNonces sets: far more signed standing limits than an
    /// owner signs in its life, and far from the nonce's own bound.
    uint256 public constant MAX_STANDING_ORDER_NONCE = type(uint32).max;
    /// @notice Most reading markets the registry names in its life: each one's standing orders stay
    /// settleable (settleStandingOrdersIn) and its retired import counts at every redemption.
    uint256 public constant MAX_READING_MARKETS = 8;
    /// @notice Largest register value (uint56 in the profile): 72 PWh, beyond any meter's life.
    uint256 public constant MAX_REGISTER_WH = type(uint56).max;
    /// @notice Highest interval the load profile can hold (uint32), year 124,000 and later.
    uint256 public constant MAX_INTERVAL = type(uint32).max;
    /// @notice Frequency bounds of a reading, 45-65 Hz (GridLimits).
    uint256 public constant MIN_FREQUENCY_MILLIHZ = GridLimits.MIN_FREQUENCY_MILLIHZ;
    uint256 public constant MAX_FREQUENCY_MILLIHZ = GridLimits.MAX_FREQUENCY_MILLIHZ;
    /// @notice Voltage bounds of a reading, 50-150 % of nominal (GridLimits).
    uint256 public constant MIN_VOLTAGE_PER_MILLE = GridLimits.MIN_VOLTAGE_PER_MILLE;
    uint256 public constant MAX_VOLTAGE_PER_MILLE = GridLimits.MAX_VOLTAGE_PER_MILLE;

    /// @dev What every reading reads and rewrites, in one slot.
    struct Meter {
        address owner; // 0 = not registered
        uint40 lastReadingAt; // unix s; 0 = no reading and no registration baseline yet
        // Signed readings accepted plus the skips of invalidateNonces: at most MAX_READING_NONCE plus
        // one per accepted reading, each of which strictly raises lastReadingAt, so it fits 40 bits.
        uint40 nonce;
        uint8 flags; // ACTIVE | AWAITING_BASELINE (next reading only sets the baseline) | VAULT_DELIVERY
    }

    /// @dev Cold data: written at registration, baselines and redemptions. Energy before a baseline
    /// is "uncounted": counted = register - uncounted.
    struct Account {
        uint64 uncountedConsumptionWh;
        uint64 uncountedProductionWh;
        uint64 redeemedConsumptionWh;
        uint32 regionId; // read by getMeter only, so kept off the hot slot
    }

    /// @dev The two bounds every reading is checked against, read once per transaction.
    struct ReadingLimits {
        uint32 minIntervalSeconds; // at most INTERVAL_SECONDS
        uint32 maxAgeSeconds; // MAX_READING_AGE_FLOOR_SECONDS..MAX_READING_AGE_CEILING_SECONDS
    }

    /// @dev The accepted readings of a batch whose energy goes into the vault: credited in one call, and
    /// handed on to the reading market in one more.
    struct VaultBatch {
        address[] owners; // credited in the vault
        uint256[] exportWh;
        uint256 creditCount;
        uint256 totalExportWh;
        uint256[] entries; // of meters with standing limits, for the reading market (IMeteredMarket.recordMetered)
        uint256 entryWords;
        uint256 capacity; // the batch's size: the arrays are allocated at its first vault delivery
    }

    /// @dev A meter's standing limits for the reading market, one slot.
    struct Standing {
        uint96 sellPricePerKWh; // 0 = no selling
        uint96 buyPricePerKWh; // 0 = no buying
        uint32 sellCapWh; // 0 = no cap
        uint32 buyCapWh;
    }

    /// @dev The mints of a batch, sent to the token in one call instead of one per reading.
    struct MintBatch {
        address[] owners;
        uint256[] amountsWh;
        uint256 count;
    }

    uint8 private constant ACTIVE = 1;
    uint8 private constant AWAITING_BASELINE = 2;
    uint8 private constant VAULT_DELIVERY = 4;
    /// @dev Words per reading handed to the reading market (IMeteredMarket.recordMetered).
    uint256 private constant METERED_ENTRY_WORDS = 3;

    IEnergyToken private immutable _energyToken;
    IEnergyVault private _vault;
    IMeteredMarket private _readingMarket;
    ReadingLimits private _readingLimits = ReadingLimits(60, uint32(DEFAULT_MAX_READING_AGE_SECONDS));
    mapping(address meter => Meter) private _meters;
    mapping(address meter => Account) private _accounts;
    mapping(address meter => Standing) private _standing;
    mapping(address meter => mapping(uint256 slot => ProfileEntry)) private _profiles;
    mapping(address owner => uint256) private _standingOrderNonces;
    /// @dev Every reading market ever named, in order: at most MAX_READING_MARKETS.
    address[] private _readingMarkets;

    constructor(address admin, IEnergyToken energyToken_) EIP712("SmartMeter", "1") {
        if (admin == address(0) || address(energyToken_) == address(0)) revert ZeroAddress();
        _energyToken = energyToken_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ----------------------------------------------------------------------------- registry

    /// @inheritdoc ISmartMeterRegistry
    function registerMeter(address meter, address owner, uint32 regionId) external onlyRole(OPERATOR_ROLE) {
        _register(meter, owner, regionId);
        _meters[meter].flags = ACTIVE | AWAITING_BASELINE;
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
        _register(meter, owner, regionId);
        _checkRegister(meter, consumptionRegisterWh);
        _checkRegister(meter, productionRegisterWh);
        _meters[meter].lastReadingAt = uint40(block.timestamp);
        Account storage account = _accounts[meter];
        account.uncountedConsumptionWh = uint64(consumptionRegisterWh);
        account.uncountedProductionWh = uint64(productionRegisterWh);
        uint256 interval = block.timestamp.intervalOf();
        _profiles[meter][_ringSlot(interval)] =
            LoadProfile.pack(interval, 0, 0, consumptionRegisterWh, productionRegisterWh, 0, 0);
        emit MeterRegistered(meter, owner, regionId, consumptionRegisterWh, productionRegisterWh);
    }

    /// @inheritdoc ISmartMeterRegistry
    function deactivateMeter(address meter) external onlyRole(OPERATOR_ROLE) {
        Meter storage m = _knownMeter(meter);
        if (m.flags & ACTIVE == 0) revert MeterInactive(meter);
        m.flags &= ~ACTIVE;
        emit MeterDeactivated(meter);
    }

    /// @inheritdoc ISmartMeterRegistry
    function reactivateMeter(address meter) external onlyRole(OPERATOR_ROLE) {
        Meter storage m = _knownMeter(meter);
        if (m.flags & ACTIVE != 0) revert MeterAlreadyActive(meter);
        m.flags |= ACTIVE | AWAITING_BASELINE;
        emit MeterReactivated(meter);
    }

    /// @inheritdoc ISmartMeterRegistry
    function setMinReadingInterval(uint256 secondsBetweenReadings) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (secondsBetweenReadings > EnergyTime.INTERVAL_SECONDS) {
            revert MinReadingIntervalTooLong(secondsBetweenReadings, EnergyTime.INTERVAL_SECONDS);
        }
        uint256 previousSeconds = _readingLimits.minIntervalSeconds;
        // Fits: at most INTERVAL_SECONDS.
        _readingLimits.minIntervalSeconds = uint32(secondsBetweenReadings);
        emit MinReadingIntervalUpdated(previousSeconds, secondsBetweenReadings);
    }

    /// @inheritdoc ISmartMeterRegistry
    function setMaxReadingAge(uint256 maxAgeSeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (maxAgeSeconds < MAX_READING_AGE_FLOOR_SECONDS || maxAgeSeconds > MAX_READING_AGE_CEILING_SECONDS) {
            revert MaxReadingAgeOutOfRange(maxAgeSeconds, MAX_READING_AGE_FLOOR_SECONDS, MAX_READING_AGE_CEILING_SECONDS);
        }
        uint256 previousSeconds = _readingLimits.maxAgeSeconds;
        // Fits: at most 35 days.
        _readingLimits.maxAgeSeconds = uint32(maxAgeSeconds);
        emit MaxReadingAgeUpdated(previousSeconds, maxAgeSeconds);
    }

    /// @inheritdoc ISmartMeterRegistry
    function setVault(IEnergyVault vault_, address readingMarket_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(vault_) == address(0)) revert ZeroAddress();
        if (vault_.energyToken() != address(_energyToken)) revert VaultTokenMismatch(address(vault_));
        if (readingMarket_ != address(0)) {
            // A market of another vault or registry would fail every batch with a meter's limits in it.
            if (!_answers(readingMarket_, IMeteredMarket.vault.selector, address(vault_))) {
                revert ReadingMarketMismatch(readingMarket_);
            }
            if (!_answers(readingMarket_, IMeteredMarket.meterRegistry.selector, address(this))) {
                revert ReadingMarketMismatch(readingMarket_);
            }
            // So would one the vault does not let settle: only its registered markets move balances.
            // slither-disable-next-line unused-return: only whether the vault registered the market matters here
            (bool registered,,) = vault_.marketInfo(readingMarket_);
            if (!registered) revert ReadingMarketMismatch(readingMarket_);
            _rememberReadingMarket(readingMarket_);
        }
        _vault = vault_;
        _readingMarket = IMeteredMarket(readingMarket_);
        emit VaultSet(address(vault_), readingMarket_);
    }

    /// @inheritdoc ISmartMeterRegistry
    function setVaultDelivery(address meter, bool enabled) external {
        Meter storage m = _ownMeter(meter);
        if (enabled && address(_vault) == address(0)) revert VaultNotSet();
        m.flags = enabled ? m.flags | VAULT_DELIVERY : m.flags & ~VAULT_DELIVERY;
        emit VaultDeliverySet(meter, msg.sender, enabled);
    }

    /// @inheritdoc ISmartMeterRegistry
    function setStandingOrder(
        address meter,
        uint256 sellPricePerKWh,
        uint256 sellCapWh,
        uint256 buyPricePerKWh,
        uint256 buyCapWh
    ) external {
        Meter storage m = _ownMeter(meter);
        // A change the owner makes itself supersedes every signature it gave before.
        ++_standingOrderNonces[msg.sender];
        _applyStanding(meter, m, msg.sender, sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh);
    }

    /// @inheritdoc ISmartMeterRegistry
    function setStandingOrderBySig(
        address meter,
        uint256 sellPricePerKWh,
        uint256 sellCapWh,
        uint256 buyPricePerKWh,
        uint256 buyCapWh,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert StandingOrderSignatureExpired(meter, deadline);
        Meter storage m = _knownMeter(meter);
        address owner = m.owner;
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    STANDING_ORDER_TYPEHASH,
                    meter,
                    sellPricePerKWh,
                    sellCapWh,
                    buyPricePerKWh,
                    buyCapWh,
                    _standingOrderNonces[owner]++,
                    deadline
                )
            )
        );
        if (!SignatureChecker.isValidSignatureNow(owner, digest, signature)) {
            revert InvalidStandingOrderSignature(meter, owner);
        }
        _applyStanding(meter, m, owner, sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh);
    }

    /// @inheritdoc ISmartMeterRegistry
    function removeStandingOrder(address meter) external {
        _ownMeter(meter);
        ++_standingOrderNonces[msg.sender];
        _removeStanding(meter, msg.sender);
    }

    /// @inheritdoc ISmartMeterRegistry
    function invalidateStandingOrderNonces(uint256 newNonce) external {
        uint256 currentNonce = _standingOrderNonces[msg.sender];
        if (newNonce <= currentNonce || newNonce > MAX_STANDING_ORDER_NONCE) {
            revert StandingOrderNonceNotRaised(msg.sender, newNonce, currentNonce);
        }
        _standingOrderNonces[msg.sender] = newNonce;
        emit StandingOrderNoncesInvalidated(msg.sender, currentNonce, newNonce);
    }

    /// @inheritdoc ISmartMeterRegistry
    function settleStandingOrders(address[] calldata meters) external {
        _checkBatchSize(meters.length);
        IMeteredMarket market = _readingMarket;
        if (address(market) == address(0)) revert NoReadingMarket();
        _settleIn(market, meters);
    }

    /// @inheritdoc ISmartMeterRegistry
    function settleStandingOrdersIn(address readingMarket_, address[] calldata meters) external {
        _checkBatchSize(meters.length);
        if (!_isReadingMarket(readingMarket_)) revert UnknownReadingMarket(readingMarket_);
        _settleIn(IMeteredMarket(readingMarket_), meters);
    }

    /// @dev Hands `market` one settlement entry per meter (a batch of checked size).
    function _settleIn(IMeteredMarket market, address[] calldata meters) private {
        uint256 size = meters.length;
        // Settlement entries: timestamp 0, no energy, no limits.
        uint256[] memory entries = new uint256[](size * METERED_ENTRY_WORDS);
        for (uint256 i; i < size; ++i) {
            address meter = meters[i];
            entries[i * METERED_ENTRY_WORDS] = uint160(meter);
            entries[i * METERED_ENTRY_WORDS + 1] = uint160(_knownMeter(meter).owner);
        }
        _recordMetered(market, entries);
    }

    /// @inheritdoc ISmartMeterRegistry
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc ISmartMeterRegistry
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ----------------------------------------------------------------------------- readings

    /// @inheritdoc ISmartMeter
    function submitReading(MeterReading calldata reading) external whenNotPaused {
        Meter memory m = _meters[msg.sender];
        (uint256 consumedWh, uint256 producedWh) = _acceptReading(msg.sender, m, reading, _readingLimits);
        if (m.flags & VAULT_DELIVERY != 0) {
            VaultBatch memory delivery = _newVaultBatch(1);
            _addDelivery(delivery, msg.sender, m.owner, reading.timestamp, producedWh, consumedWh);
            _deliver(delivery);
        } else if (producedWh != 0) {
            _energyToken.mint(m.owner, producedWh);
        }
    }

    /// @inheritdoc ISmartMeterRegistry
    function submitReadings(address[] calldata meters, MeterReading[] calldata readings)
        external
        onlyRole(GATEWAY_ROLE)
        whenNotPaused
    {
        uint256 size = meters.length;
        _checkBatchSize(size);
        if (size != readings.length) revert BatchLengthMismatch(size, readings.length);
        ReadingLimits memory limits = _readingLimits;
        MintBatch memory batch = _newMintBatch(size);
        VaultBatch memory delivery = _newVaultBatch(size);
        for (uint256 i; i < size; ++i) {
            address meter = meters[i];
            Meter memory m = _meters[meter];
            _route(batch, delivery, meter, m, readings[i], limits);
        }
        _mint(batch);
        _deliver(delivery);
    }

    /// @inheritdoc ISmartMeterRegistry
    function submitSignedReadings(SignedReading[] calldata signedReadings) external whenNotPaused {
        uint256 size = signedReadings.length;
        _checkBatchSize(size);
        ReadingLimits memory limits = _readingLimits;
        MintBatch memory batch = _newMintBatch(size);
        VaultBatch memory delivery = _newVaultBatch(size);
        for (uint256 i; i < size; ++i) {
            SignedReading calldata signed = signedReadings[i];
            address meter = signed.meter;
            Meter memory m = _meters[meter];
            _checkSignedReading(signed, m.nonce);
            _route(batch, delivery, meter, m, signed.reading, limits);
            // The record's slot was just rewritten, so this write is warm. Cannot overflow: see Meter.nonce.
            unchecked {
                _meters[meter].nonce = m.nonce + 1;
            }
        }
        _mint(batch);
        _deliver(delivery);
    }

    /// @inheritdoc ISmartMeterRegistry
    function invalidateNonces(uint256 newNonce) external {
        Meter storage m = _knownMeter(msg.sender);
        uint256 currentNonce = m.nonce;
        if (newNonce <= currentNonce || newNonce > MAX_READING_NONCE) {
            revert ReadingNonceNotRaised(msg.sender, newNonce, currentNonce);
        }
        m.nonce = uint40(newNonce);
        emit ReadingNoncesInvalidated(msg.sender, currentNonce, newNonce);
    }

    /// @inheritdoc ISmartMeterRegistry
    function redeemConsumption(address meter, uint256 amountWh) external {
        Meter storage m = _knownMeter(meter);
        if (m.owner != msg.sender) revert NotMeterOwner(meter, msg.sender);
        if (amountWh == 0) revert ZeroRedemption();
        (uint256 consumedWh,,) = getMeteredEnergy(meter);
        Account storage account = _accounts[meter];
        uint256 redeemableWh = _unredeemedWh(meter, consumedWh - account.redeemedConsumptionWh);
        if (amountWh > redeemableWh) revert RedemptionExceedsConsumption(meter, amountWh, redeemableWh);
        // Cannot overflow: amountWh <= consumed <= MAX_REGISTER_WH < 2^64.
        account.redeemedConsumptionWh += uint64(amountWh);
        emit ConsumptionRedeemed(meter, msg.sender, amountWh);
        _energyToken.retire(msg.sender, amountWh);
    }

    /// @dev Accepts one reading of a batch and routes its energy: minted to the owner's wallet, or
    /// (the owner's choice) into its vault balance and on to the reading market.
    function _route(
        MintBatch memory batch,
        VaultBatch memory delivery,
        address meter,
        Meter memory m,
        MeterReading calldata reading,
        ReadingLimits memory limits
    ) private {
        (uint256 consumedWh, uint256 producedWh) = _acceptReading(meter, m, reading, limits);
        if (m.flags & VAULT_DELIVERY != 0) _addDelivery(delivery, meter, m.owner, reading.timestamp, producedWh, consumedWh);
        else _addMint(batch, m.owner, producedWh);
    }

    /// @dev Validates and records one reading; returns the Wh it counts (none for a baseline).
    function _acceptReading(address meter, Meter memory m, MeterReading calldata reading, ReadingLimits memory limits)
        private
        returns (uint256 consumedWh, uint256 producedWh)
    {
        _validateReading(meter, m, reading, limits);
        (consumedWh, producedWh) = _recordInProfile(meter, m, reading);
        Meter storage stored = _meters[meter];
        // Fits: not after block.timestamp. Only the changed fields are written: copying `m` back
        // would read and write the slot once per field.
        stored.lastReadingAt = uint40(reading.timestamp);
        if (m.flags & AWAITING_BASELINE != 0) stored.flags = m.flags & ~AWAITING_BASELINE;
        emit ReadingAccepted(meter, reading.timestamp, consumedWh, producedWh);
    }

    /// @dev The reading's time must lie in (previous reading + rate limit, block time] and be no
    /// older than the age limit: the rate limit alone compares reading times, so without the age
    /// bound a meter could send back-dated readings back to back and place its energy at will.
    function _validateReading(address meter, Meter memory m, MeterReading calldata reading, ReadingLimits memory limits)
        private
        view
    {
        if (m.owner == address(0)) revert MeterUnknown(meter);
        if (m.flags & ACTIVE == 0) revert MeterInactive(meter);
        uint256 timestamp = reading.timestamp;
        if (timestamp > block.timestamp) revert ReadingInFuture(meter, timestamp, block.timestamp);
        if (timestamp <= m.lastReadingAt) revert ReadingNotAfterPrevious(meter, timestamp, m.lastReadingAt);
        if (m.lastReadingAt != 0 && timestamp < m.lastReadingAt + limits.minIntervalSeconds) {
            revert ReadingTooFrequent(meter, timestamp, m.lastReadingAt + limits.minIntervalSeconds);
        }
        uint256 ageSeconds;
        unchecked {
            // Not in the future, checked above.
            ageSeconds = block.timestamp - timestamp;
        }
        if (ageSeconds > limits.maxAgeSeconds) {
            revert ReadingTooOld(meter, timestamp, block.timestamp - limits.maxAgeSeconds);
        }
        _checkRegister(meter, reading.consumption);
        _checkRegister(meter, reading.production);
        if (reading.gridFrequency < MIN_FREQUENCY_MILLIHZ || reading.gridFrequency > MAX_FREQUENCY_MILLIHZ) {
            revert FrequencyOutOfBounds(meter, reading.gridFrequency);
        }
        if (reading.voltage < MIN_VOLTAGE_PER_MILLE || reading.voltage > MAX_VOLTAGE_PER_MILLE) {
            revert VoltageOutOfBounds(meter, reading.voltage);
        }
    }

    /// @dev Writes the reading into its interval's ring slot; returns the energy it counts
    /// (none for a baseline reading, whose increase is booked as uncounted instead).
    function _recordInProfile(address meter, Meter memory m, MeterReading calldata reading)
        private
        returns (uint256 consumedWh, uint256 producedWh)
    {
        mapping(uint256 => ProfileEntry) storage profile = _profiles[meter];
        ProfileEntry previous = ProfileEntry.wrap(0);
        if (m.lastReadingAt != 0) previous = profile[_ringSlot(uint256(m.lastReadingAt).intervalOf())];
        uint256 previousConsumptionWh = previous.consumptionRegisterWh();
        uint256 previousProductionWh = previous.productionRegisterWh();
        if (reading.consumption < previousConsumptionWh) {
            revert ConsumptionRegisterDecreased(meter, reading.consumption, previousConsumptionWh);
        }
        if (reading.production < previousProductionWh) {
            revert ProductionRegisterDecreased(meter, reading.production, previousProductionWh);
        }
        unchecked {
            // Registers were just checked not to decrease.
            consumedWh = reading.consumption - previousConsumptionWh;
            producedWh = reading.production - previousProductionWh;
        }
        if (m.flags & AWAITING_BASELINE != 0) {
            Account storage account = _accounts[meter];
            // Both sums stay below MAX_REGISTER_WH, so uint64 cannot overflow.
            account.uncountedConsumptionWh += uint64(consumedWh);
            account.uncountedProductionWh += uint64(producedWh);
            emit MeterBaselineSet(meter, reading.timestamp, reading.consumption, reading.production);
            (consumedWh, producedWh) = (0, 0);
        }

        bool continuesInterval = m.lastReadingAt != 0 && previous.interval() == reading.timestamp.intervalOf();
        _storeInterval(meter, profile, continuesInterval ? previous : ProfileEntry.wrap(0), reading, consumedWh, producedWh);
    }

    /// @dev A reading in the previous reading's interval adds to that entry (`carried`); a later one
    /// starts a new entry (`carried` is empty).
    function _storeInterval(
        address meter,
        mapping(uint256 => ProfileEntry) storage profile,
        ProfileEntry carried,
        MeterReading calldata reading,
        uint256 consumedWh,
        uint256 producedWh
    ) private {
        uint256 interval = reading.timestamp.intervalOf();
        consumedWh += carried.consumptionWh();
        producedWh += carried.productionWh();
        if (consumedWh > type(uint40).max || producedWh > type(uint40).max) {
            revert IntervalEnergyOutOfRange(meter, interval);
        }
        profile[_ringSlot(interval)] = LoadProfile.pack(
            interval,
            consumedWh,
            producedWh,
            reading.consumption,
            reading.production,
            reading.gridFrequency,
            reading.voltage
        );
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc ISmartMeter
    function getLatestReading() external view returns (MeterReading memory) {
        return getLatestReading(msg.sender);
    }

    /// @inheritdoc ISmartMeter
    function getDailyProduction() external view returns (uint256) {
        return getDailyProduction(msg.sender, block.timestamp.dayOf());
    }

    /// @inheritdoc ISmartMeter
    function getDailyConsumption() external view returns (uint256) {
        return getDailyConsumption(msg.sender, block.timestamp.dayOf());
    }

    /// @inheritdoc ISmartMeterRegistry
    function getMeter(address meter) external view returns (MeterInfo memory) {
        Meter storage m = _knownMeter(meter);
        uint8 flags = m.flags;
        return MeterInfo(
            m.owner,
            _accounts[meter].regionId,
            flags & ACTIVE != 0,
            flags & AWAITING_BASELINE != 0,
            m.lastReadingAt,
            flags & VAULT_DELIVERY != 0
        );
    }

    /// @inheritdoc ISmartMeterRegistry
    function getLatestReading(address meter) public view returns (MeterReading memory) {
        uint256 lastReadingAt = _knownMeter(meter).lastReadingAt;
        if (lastReadingAt == 0) return MeterReading(0, 0, 0, 0, 0);
        ProfileEntry e = _profiles[meter][_ringSlot(lastReadingAt.intervalOf())];
        return MeterReading(
            lastReadingAt,
            e.consumptionRegisterWh(),
            e.productionRegisterWh(),
            e.gridFrequencyMilliHz(),
            e.voltagePerMille()
        );
    }

    /// @inheritdoc ISmartMeterRegistry
    function getDailyProduction(address meter, uint256 day) public view returns (uint256 productionWh) {
        (, productionWh) = _dailyEnergy(meter, day);
    }

    /// @inheritdoc ISmartMeterRegistry
    function getDailyConsumption(address meter, uint256 day) public view returns (uint256 consumptionWh) {
        (consumptionWh,) = _dailyEnergy(meter, day);
    }

    /// @inheritdoc ISmartMeterRegistry
    function getIntervalEnergy(address meter, uint256 interval)
        external
        view
        returns (uint256 consumptionWh, uint256 productionWh)
    {
        uint256 latestInterval = _retainedFrom(meter, interval);
        ProfileEntry e = _entryAt(meter, interval, latestInterval);
        return (e.consumptionWh(), e.productionWh());
    }

    /// @inheritdoc ISmartMeterRegistry
    function getIntervalHistory(address meter, uint256 fromInterval, uint256 count)
        external
        view
        returns (IntervalRecord[] memory records)
    {
        _checkHistoryPage(count);
        uint256 latestInterval = _retainedFrom(meter, fromInterval);
        records = new IntervalRecord[](count);
        for (uint256 i; i < count; ++i) {
            uint256 interval = fromInterval + i;
            ProfileEntry e = _entryAt(meter, interval, latestInterval);
            records[i] = IntervalRecord(
                interval,
                e.consumptionWh(),
                e.productionWh(),
                e.consumptionRegisterWh(),
                e.productionRegisterWh(),
                e.gridFrequencyMilliHz(),
                e.voltagePerMille()
            );
        }
    }

    /// @inheritdoc ISmartMeterRegistry
    function getEnergyInRange(address meter, uint256 fromInterval, uint256 count)
        external
        view
        returns (uint256 consumptionWh, uint256 productionWh)
    {
        _checkHistoryPage(count);
        return _energyInRange(meter, fromInterval, count);
    }

    /// @inheritdoc ISmartMeterRegistry
    function getMeteredEnergy(address meter)
        public
        view
        returns (uint256 consumptionWh, uint256 productionWh, uint256 redeemedConsumptionWh)
    {
        MeterReading memory latest = getLatestReading(meter);
        Account memory account = _accounts[meter];
        // Registers never fall below what was uncounted at a baseline, so no underflow.
        return (
            latest.consumption - account.uncountedConsumptionWh,
            latest.production - account.uncountedProductionWh,
            account.redeemedConsumptionWh
        );
    }

    /// @inheritdoc ISmartMeterRegistry
    function minReadingInterval() external view returns (uint256) {
        return _readingLimits.minIntervalSeconds;
    }

    /// @inheritdoc ISmartMeterRegistry
    function maxReadingAge() external view returns (uint256) {
        return _readingLimits.maxAgeSeconds;
    }

    /// @inheritdoc ISmartMeterRegistry
    function nonces(address meter) external view returns (uint256) {
        return _meters[meter].nonce;
    }

    /// @inheritdoc ISmartMeterRegistry
    // slither-disable-next-line naming-convention: the name EIP-2612 made the convention
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc ISmartMeterRegistry
    function standingOrderNonces(address owner) external view returns (uint256) {
        return _standingOrderNonces[owner];
    }

    /// @inheritdoc ISmartMeterRegistry
    function vault() external view returns (IEnergyVault) {
        return _vault;
    }

    /// @inheritdoc ISmartMeterRegistry
    function readingMarket() external view returns (address) {
        return address(_readingMarket);
    }

    /// @inheritdoc ISmartMeterRegistry
    function readingMarkets() external view returns (address[] memory) {
        return _readingMarkets;
    }

    /// @inheritdoc ISmartMeterRegistry
    function getStandingOrder(address meter) external view returns (StandingOrder memory) {
        Standing memory limit = _standing[meter];
        return StandingOrder(limit.sellPricePerKWh, limit.sellCapWh, limit.buyPricePerKWh, limit.buyCapWh);
    }

    /// @notice The EnergyToken this meter registry mints.
    function energyToken() external view returns (IEnergyToken) {
        return _energyToken;
    }

    // ----------------------------------------------------------------------------- internals

    function _register(address meter, address owner, uint32 regionId) private {
        if (meter == address(0)) revert InvalidMeterAddress();
        if (owner == address(0)) revert InvalidOwnerAddress();
        Meter storage m = _meters[meter];
        if (m.owner != address(0)) revert MeterAlreadyRegistered(meter);
        m.owner = owner;
        m.flags = ACTIVE;
        _accounts[meter].regionId = regionId;
    }

    /// @dev The load-profile slot of `interval`: the ring wraps every PROFILE_CAPACITY intervals.
    function _ringSlot(uint256 interval) private pure returns (uint256) {
        // slither-disable-next-line weak-prng: the ring-buffer slot of an interval in the 35-day load profile, not randomness
        return interval % PROFILE_CAPACITY;
    }

    function _checkBatchSize(uint256 size) private pure {
        if (size == 0) revert EmptyBatch();
        if (size > MAX_BATCH_SIZE) revert BatchTooLarge(size, MAX_BATCH_SIZE);
    }

    function _checkHistoryPage(uint256 count) private pure {
        if (count == 0 || count > MAX_HISTORY_PAGE) revert InvalidHistoryPage(count, MAX_HISTORY_PAGE);
    }

    /// @dev Reverts unless `signed` is signed by its meter for this chain and contract, in time and
    /// carrying `expectedNonce`; the signature is checked before the nonce so that a replay of a
    /// genuine signature reads as one (InvalidReadingNonce below the expected nonce).
    function _checkSignedReading(SignedReading calldata signed, uint256 expectedNonce) private view {
        address meter = signed.meter;
        uint256 nonce = signed.nonce;
        if (block.timestamp > signed.deadline) revert ReadingSignatureExpired(meter, nonce, signed.deadline);
        // slither-disable-next-line unused-return: the third value repeats the s that MalleableReadingSignature names
        (address signer, ECDSA.RecoverError error,) =
            ECDSA.tryRecover(_signedReadingDigest(signed), signed.v, signed.r, signed.s);
        if (error == ECDSA.RecoverError.InvalidSignatureS) revert MalleableReadingSignature(meter, nonce, signed.s);
        // A failed recovery yields signer 0, which must not pass for a meter of address 0.
        if (error != ECDSA.RecoverError.NoError || signer != meter) revert InvalidReadingSignature(meter, nonce, signer);
        if (nonce != expectedNonce) revert InvalidReadingNonce(meter, nonce, expectedNonce);
    }

    /// @dev EIP-712 digest of `signed`, hashed in scratch memory past the free memory pointer:
    /// abi.encode would allocate anew for every entry of a batch.
    function _signedReadingDigest(SignedReading calldata signed) private view returns (bytes32) {
        bytes32 readingTypeHash = METER_READING_TYPEHASH;
        bytes32 signedTypeHash = SIGNED_READING_TYPEHASH;
        address meter = signed.meter;
        uint256 nonce = signed.nonce;
        uint256 deadline = signed.deadline;
        bytes32 structHash;
        // slither-disable-next-line assembly: hashes each batch entry in scratch memory; abi.encode would allocate anew per entry
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, readingTypeHash)
            // The reading's five uint256 words follow meter, nonce and deadline in the calldata struct.
            calldatacopy(add(ptr, 0x20), add(signed, 0x60), 0xa0)
            let readingHash := keccak256(ptr, 0xc0)
            mstore(ptr, signedTypeHash)
            mstore(add(ptr, 0x20), meter)
            mstore(add(ptr, 0x40), nonce)
            mstore(add(ptr, 0x60), deadline)
            mstore(add(ptr, 0x80), readingHash)
            structHash := keccak256(ptr, 0xa0)
        }
        return _hashTypedDataV4(structHash);
    }

    function _newMintBatch(uint256 size) private pure returns (MintBatch memory) {
        return MintBatch(new address[](size), new uint256[](size), 0);
    }

    function _addMint(MintBatch memory batch, address owner, uint256 amountWh) private pure {
        if (amountWh == 0) return;
        uint256 count = batch.count;
        batch.owners[count] = owner;
        batch.amountsWh[count] = amountWh;
        batch.count = count + 1;
    }

    function _mint(MintBatch memory batch) private {
        uint256 count = batch.count;
        if (count == 0) return;
        address[] memory owners = batch.owners;
        uint256[] memory amountsWh = batch.amountsWh;
        // Only the readings that minted.
        MemoryArrays.shorten(owners, count);
        MemoryArrays.shorten(amountsWh, count);
        _energyToken.mintBatch(owners, amountsWh);
    }

    /// @dev Empty until a reading needs it: a batch of wallet-delivered meters allocates nothing.
    function _newVaultBatch(uint256 size) private pure returns (VaultBatch memory delivery) {
        delivery.capacity = size;
    }

    /// @dev A vault-delivered reading: its export is credited, and with standing limits the reading goes
    /// on to the reading market (with no energy too: it settles what is due).
    function _addDelivery(
        VaultBatch memory delivery,
        address meter,
        address owner,
        uint256 timestamp,
        uint256 exportWh,
        uint256 importWh
    ) private view {
        if (exportWh != 0) {
            if (delivery.owners.length == 0) {
                delivery.owners = new address[](delivery.capacity);
                delivery.exportWh = new uint256[](delivery.capacity);
            }
            uint256 credits = delivery.creditCount;
            delivery.owners[credits] = owner;
            delivery.exportWh[credits] = exportWh;
            delivery.creditCount = credits + 1;
            delivery.totalExportWh += exportWh;
        }
        // Even a reading with no energy goes on: it settles the meter's orders of two intervals before.
        uint256 limits = _standingWord(meter);
        // No selling and no buying: both prices (the low 192 bits) are 0.
        if (uint192(limits) == 0) return;
        if (delivery.entries.length == 0) delivery.entries = new uint256[](delivery.capacity * METERED_ENTRY_WORDS);
        uint256 at = delivery.entryWords;
        uint256[] memory entries = delivery.entries;
        // Interval energy fits 40 bits (the load profile checked it) and a reading's time 40; `at`
        // stays below the batch's size times METERED_ENTRY_WORDS.
        unchecked {
            entries[at] = uint160(meter) | (exportWh << 160) | (importWh << 200);
            entries[at + 1] = uint160(owner) | (timestamp << 160);
            entries[at + 2] = limits;
            delivery.entryWords = at + METERED_ENTRY_WORDS;
        }
    }

    /// @dev The meter's Standing slot as one word: IMeteredMarket's limits word has its layout.
    function _standingWord(address meter) private view returns (uint256 word) {
        // slither-disable-next-line assembly: the packed Standing slot handed on as it is stored
        assembly ("memory-safe") {
            mstore(0x00, meter)
            mstore(0x20, _standing.slot)
            word := sload(keccak256(0x00, 0x40))
        }
    }

    /// @dev Mints the batch's export into the vault, credits it to the owners there, and hands the
    /// readings of meters with standing limits to the reading market, which places their orders.
    function _deliver(VaultBatch memory delivery) private {
        uint256 credits = delivery.creditCount;
        if (credits != 0) {
            address[] memory owners = delivery.owners;
            uint256[] memory amountsWh = delivery.exportWh;
            MemoryArrays.shorten(owners, credits);
            MemoryArrays.shorten(amountsWh, credits);
            IEnergyVault vault_ = _vault;
            _energyToken.mint(address(vault_), delivery.totalExportWh);
            vault_.creditArrived(address(_energyToken), owners, amountsWh);
        }
        uint256 words = delivery.entryWords;
        if (words == 0) return;
        IMeteredMarket market = _readingMarket;
        // Without a reading market the limits have nowhere to trade: the readings stay credited and
        // place nothing, so that no meter's limits can stop the batch.
        if (address(market) == address(0)) return;
        uint256[] memory entries = delivery.entries;
        MemoryArrays.shorten(entries, words);
        _recordMetered(market, entries);
    }

    /// @dev `market.recordMetered(entries)`, the array copied whole into the call instead of encoded
    /// word by word. A revert in the market comes through as it is; a market without code reverts, as
    /// a high-level call to it would.
    function _recordMetered(IMeteredMarket market, uint256[] memory entries) private {
        bytes4 selector = IMeteredMarket.recordMetered.selector;
        // slither-disable-next-line assembly: the entries' length and words copied whole after the selector and offset
        assembly ("memory-safe") {
            if iszero(extcodesize(market)) { revert(0, 0) }
            let ptr := mload(0x40)
            let size := shl(5, add(mload(entries), 1))
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), 0x20)
            mcopy(add(ptr, 0x24), entries, size)
            if iszero(call(gas(), market, 0, ptr, add(0x24, size), 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
        }
    }

    /// @dev The one rule of both forms: limits in range, then both prices 0 remove them (caps without a
    /// price trade nothing) and anything else sets them.
    function _applyStanding(
        address meter,
        Meter storage m,
        address owner,
        uint256 sellPricePerKWh,
        uint256 sellCapWh,
        uint256 buyPricePerKWh,
        uint256 buyCapWh
    ) private {
        _checkLimit(sellPricePerKWh, type(uint96).max);
        _checkLimit(buyPricePerKWh, type(uint96).max);
        _checkLimit(sellCapWh, type(uint32).max);
        _checkLimit(buyCapWh, type(uint32).max);
        if (sellPricePerKWh == 0 && buyPricePerKWh == 0) _removeStanding(meter, owner);
        else _setStanding(meter, m, owner, sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh);
    }

    function _setStanding(
        address meter,
        Meter storage m,
        address owner,
        uint256 sellPricePerKWh,
        uint256 sellCapWh,
        uint256 buyPricePerKWh,
        uint256 buyCapWh
    ) private {
        if (address(_readingMarket) == address(0)) revert NoReadingMarket();
        _standing[meter] = Standing(uint96(sellPricePerKWh), uint96(buyPricePerKWh), uint32(sellCapWh), uint32(buyCapWh));
        // Standing orders trade the energy in the vault: the meter delivers there from now on.
        if (m.flags & VAULT_DELIVERY == 0) {
            m.flags |= VAULT_DELIVERY;
            emit VaultDeliverySet(meter, owner, true);
        }
        emit StandingOrderSet(meter, owner, sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh);
    }

    function _removeStanding(address meter, address owner) private {
        delete _standing[meter];
        emit StandingOrderRemoved(meter, owner);
    }

    /// @dev What is left of `leftWh` (metered import not redeemed) once the import that standing bids
    /// in any reading market ever named bought (retired) or still bid for is taken out: the same
    /// consumption is never covered twice.
    function _unredeemedWh(address meter, uint256 leftWh) private view returns (uint256) {
        uint256 count = _readingMarkets.length;
        for (uint256 i; i < count; ++i) {
            // slither-disable-next-line calls-loop: at most MAX_READING_MARKETS markets, each named by the admin and checked then
            uint256 coveredWh = IMeteredMarket(_readingMarkets[i]).coveredConsumptionWh(meter);
            if (coveredWh >= leftWh) return 0;
            leftWh -= coveredWh;
        }
        return leftWh;
    }

    /// @dev Adds `market` to the reading markets named, unless it is there already.
    function _rememberReadingMarket(address market) private {
        if (_isReadingMarket(market)) return;
        if (_readingMarkets.length == MAX_READING_MARKETS) revert TooManyReadingMarkets(MAX_READING_MARKETS);
        _readingMarkets.push(market);
    }

    function _isReadingMarket(address market) private view returns (bool) {
        uint256 count = _readingMarkets.length;
        for (uint256 i; i < count; ++i) {
            if (_readingMarkets[i] == market) return true;
        }
        return false;
    }

    /// @dev Whether `target` answers the argument-less view `selector` with `expected`: false for an
    /// account without code, a call that reverts or an answer that is not one word.
    function _answers(address target, bytes4 selector, address expected) private view returns (bool) {
        // slither-disable-next-line low-level-calls: a market that does not implement the view must read as a mismatch, not revert without a reason
        (bool ok, bytes memory answer) = target.staticcall(abi.encodeWithSelector(selector));
        return ok && answer.length == 32 && abi.decode(answer, (uint256)) == uint256(uint160(expected));
    }

    function _ownMeter(address meter) private view returns (Meter storage m) {
        m = _knownMeter(meter);
        if (m.owner != msg.sender) revert NotMeterOwner(meter, msg.sender);
    }

    function _checkLimit(uint256 value, uint256 maxValue) private pure {
        if (value > maxValue) revert StandingOrderOutOfRange(value, maxValue);
    }

    function _knownMeter(address meter) private view returns (Meter storage m) {
        m = _meters[meter];
        if (m.owner == address(0)) revert MeterUnknown(meter);
    }

    function _checkRegister(address meter, uint256 registerWh) private pure {
        if (registerWh > MAX_REGISTER_WH) revert RegisterOutOfRange(meter, registerWh);
    }

    /// @dev Reverts unless `interval` is still in the ring; returns the meter's latest interval.
    function _retainedFrom(address meter, uint256 interval) private view returns (uint256 latestInterval) {
        uint256 lastReadingAt = _knownMeter(meter).lastReadingAt;
        if (interval > MAX_INTERVAL) revert IntervalOutOfRange(interval);
        latestInterval = lastReadingAt.intervalOf();
        if (lastReadingAt != 0 && interval + PROFILE_CAPACITY <= latestInterval) {
            revert IntervalNotRetained(meter, interval);
        }
    }

    /// @dev The ring entry for `interval`, or an empty one when the meter read nothing in it.
    function _entryAt(address meter, uint256 interval, uint256 latestInterval)
        private
        view
        returns (ProfileEntry e)
    {
        if (interval > latestInterval) return e;
        e = _profiles[meter][_ringSlot(interval)];
        if (e.interval() != interval) e = ProfileEntry.wrap(0);
    }

    function _dailyEnergy(address meter, uint256 day) private view returns (uint256 consumptionWh, uint256 productionWh) {
        if (day > MAX_INTERVAL / EnergyTime.INTERVALS_PER_DAY) revert DayOutOfRange(day);
        return _energyInRange(meter, day.firstIntervalOfDay(), EnergyTime.INTERVALS_PER_DAY);
    }

    /// @dev Sums `count` intervals from `fromInterval`; callers bound `count`.
    function _energyInRange(address meter, uint256 fromInterval, uint256 count)
        private
        view
        returns (uint256 consumptionWh, uint256 productionWh)
    {
        uint256 latestInterval = _retainedFrom(meter, fromInterval);
        for (uint256 i; i < count; ++i) {
            ProfileEntry e = _entryAt(meter, fromInterval + i, latestInterval);
            consumptionWh += e.consumptionWh();
            productionWh += e.productionWh();
        }
    }
}
