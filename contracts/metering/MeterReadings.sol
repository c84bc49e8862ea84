// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeter} from "./ISmartMeter.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {PackedReadings} from "./PackedReadings.sol";
import {ReadingChecks} from "./ReadingChecks.sol";
import {SignedReadingHash} from "./SignedReadingHash.sol";
import {StandingDelivery} from "./StandingDelivery.sol";
import {EnergyTime} from "../utils/EnergyTime.sol";
import {PublishedGridLimits} from "../utils/GridLimits.sol";
import {MemoryArrays} from "../utils/MemoryArrays.sol";
import {IntervalCells, IntervalCellsLibrary} from "../types/IntervalCells.sol";
import {MeterInactive, MeterUnknown} from "../utils/GridErrors.sol";

/// @title MeterReadings
/// @notice This contract turns readings into energy. The export increase of each accepted reading is
/// minted to the meter's owner as EnergyToken, or, when the owner chose vault delivery, credited to the
/// owner's vault balance and handed on to the reading market.
/// @dev Readings arrive in three ways: from the meter's own address (submitReading), in batches from a
/// GATEWAY_ROLE head-end (submitReadings), or signed by the meter's key (EIP-712) and relayed by anyone
/// (submitSignedReadings); both batches also come in packed calldata (PackedReadings). Every form is
/// decoded into one reading in memory, which a batch reuses, and checked the same way: its energy is
/// taken from the registers in the meter's record and written into the meter's cell of its interval's
/// word of the load profile. A batch mints with one call to the token and delivers to the vault with one
/// more. The signed forms' nonce lives in the meter's record and is raised in the same store that
/// records the reading.
abstract contract MeterReadings is PublishedGridLimits, StandingDelivery {
    using EnergyTime for uint256;

    // ----------------------------------------------------------------------------- constants

    /// @notice The EIP-712 type of a meter-signed reading (ISmartMeterRegistry.SignedReading without v, r, s).
    bytes32 public constant SIGNED_READING_TYPEHASH = SignedReadingHash.SIGNED_READING_TYPEHASH;
    /// @notice The EIP-712 type of the reading inside a SignedReading (ISmartMeter.MeterReading).
    bytes32 public constant METER_READING_TYPEHASH = SignedReadingHash.METER_READING_TYPEHASH;
    /// @notice The highest nonce invalidateNonces may set. It allows far more signed readings than a meter
    /// signs in its life, and it is low enough that the 40-bit nonce never wraps.
    uint256 public constant MAX_READING_NONCE = type(uint32).max;
    /// @notice The bytes of one entry of submitPackedReadings.
    uint256 public constant PACKED_READING_BYTES = PackedReadings.READING_BYTES;
    /// @notice The bytes of one entry of submitPackedSignedReadings.
    uint256 public constant PACKED_SIGNED_READING_BYTES = PackedReadings.SIGNED_READING_BYTES;

    /// @dev The mints of a batch, sent to the token in one call instead of one per reading.
    struct MintBatch {
        address[] owners;
        uint256[] amountsWh;
        uint256 count;
    }

    // ----------------------------------------------------------------------------- submitting readings

    /// @inheritdoc ISmartMeter
    function submitReading(MeterReading calldata reading) external whenNotPaused {
        Meter memory m = _meters[msg.sender];
        MeterReading memory accepted = reading;
        (uint256 consumedWh, uint256 producedWh) = _acceptReading(msg.sender, m, accepted, _readingLimits, 0);
        if (m.flags.vaultDelivery()) {
            VaultBatch memory delivery = _newVaultBatch(1);
            _addDelivery(delivery, msg.sender, m, reading.timestamp, producedWh, consumedWh);
            _deliver(delivery);
        } else if (producedWh != 0) {
            _energyToken.mint(_owners[m.ownerIndex], producedWh);
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
        (ReadingLimits memory limits, MintBatch memory batch, VaultBatch memory delivery) = _newBatch(size);
        // slither-disable-next-line uninitialized-local: every reading of the batch is written into it before it is read
        MeterReading memory reading;
        for (uint256 i; i < size; ++i) {
            address meter = meters[i];
            _load(reading, readings[i]);
            _route(batch, delivery, meter, _meters[meter], reading, limits, 0);
        }
        _mint(batch);
        _deliver(delivery);
    }

    /// @inheritdoc ISmartMeterRegistry
    function submitPackedReadings(bytes calldata packed) external onlyRole(GATEWAY_ROLE) whenNotPaused {
        uint256 size = PackedReadings.count(packed, PackedReadings.READING_BYTES);
        _checkBatchSize(size);
        (ReadingLimits memory limits, MintBatch memory batch, VaultBatch memory delivery) = _newBatch(size);
        // slither-disable-next-line uninitialized-local: every reading of the batch is written into it before it is read
        MeterReading memory reading;
        for (uint256 i; i < size; ++i) {
            address meter = PackedReadings.readingAt(PackedReadings.entryAt(packed, i, PackedReadings.READING_BYTES), reading);
            _route(batch, delivery, meter, _meters[meter], reading, limits, 0);
        }
        _mint(batch);
        _deliver(delivery);
    }

    /// @inheritdoc ISmartMeterRegistry
    function submitSignedReadings(SignedReading[] calldata signedReadings) external whenNotPaused {
        uint256 size = signedReadings.length;
        _checkBatchSize(size);
        (ReadingLimits memory limits, MintBatch memory batch, VaultBatch memory delivery) = _newBatch(size);
        // slither-disable-next-line uninitialized-local: every reading of the batch is written into it before it is read
        MeterReading memory reading;
        bytes32 domainSeparator = _domainSeparatorV4();
        for (uint256 i; i < size; ++i) {
            SignedReading calldata signed = signedReadings[i];
            address meter = signed.meter;
            _load(reading, signed.reading);
            Meter memory m = _meters[meter];
            _checkSignature(domainSeparator, signed, reading, m.nonce);
            _route(batch, delivery, meter, m, reading, limits, 1);
        }
        _mint(batch);
        _deliver(delivery);
    }

    /// @inheritdoc ISmartMeterRegistry
    function submitPackedSignedReadings(bytes calldata packed) external whenNotPaused {
        uint256 size = PackedReadings.count(packed, PackedReadings.SIGNED_READING_BYTES);
        _checkBatchSize(size);
        (ReadingLimits memory limits, MintBatch memory batch, VaultBatch memory delivery) = _newBatch(size);
        // slither-disable-next-line uninitialized-local: every reading of the batch is written into it before it is read
        MeterReading memory reading;
        bytes32 domainSeparator = _domainSeparatorV4();
        for (uint256 i; i < size; ++i) {
            uint256 entry = PackedReadings.entryAt(packed, i, PackedReadings.SIGNED_READING_BYTES);
            address meter = PackedReadings.readingAt(entry, reading);
            Meter memory m = _meters[meter];
            _checkPackedSignature(domainSeparator, entry, meter, reading, m.nonce);
            _route(batch, delivery, meter, m, reading, limits, 1);
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
    function nonces(address meter) external view returns (uint256) {
        return _meters[meter].nonce;
    }

    // ----------------------------------------------------------------------------- accepting one reading

    /// @dev Accepts one reading of a batch and routes its energy. The energy is minted to the owner's
    /// wallet, or, if the owner chose so, into the owner's vault balance and on to the reading market.
    function _route(
        MintBatch memory batch,
        VaultBatch memory delivery,
        address meter,
        Meter memory m,
        MeterReading memory reading,
        ReadingLimits memory limits,
        uint256 nonceStep
    ) private {
        (uint256 consumedWh, uint256 producedWh) = _acceptReading(meter, m, reading, limits, nonceStep);
        if (m.flags.vaultDelivery()) _addDelivery(delivery, meter, m, reading.timestamp, producedWh, consumedWh);
        else if (producedWh != 0) _addMint(batch, _owners[m.ownerIndex], producedWh);
    }

    /// @dev Validates and records one reading, and returns the Wh it counts, which is none for a baseline.
    /// `nonceStep` is 1 for a signed reading, whose acceptance uses up the meter's nonce, and 0 otherwise.
    function _acceptReading(
        address meter,
        Meter memory m,
        MeterReading memory reading,
        ReadingLimits memory limits,
        uint256 nonceStep
    ) private returns (uint256 consumedWh, uint256 producedWh) {
        if (
            !ReadingChecks.passes(
                m.ownerIndex,
                m.flags,
                m.lastReadingAt,
                m.consumptionRegisterWh,
                m.productionRegisterWh,
                reading,
                limits.minIntervalSeconds,
                limits.maxAgeSeconds
            )
        ) _refuseReading(meter, m, reading, limits);
        (consumedWh, producedWh) = _countEnergy(meter, m, reading);
        _recordInProfile(meter, m, reading, consumedWh, producedWh);
        Meter storage stored = _meters[meter];
        // The time fits, because it is not after block.timestamp, and the registers were checked against
        // MAX_REGISTER_WH. Only the changed fields are written, because copying `m` back would read and
        // write the slot once per field; they are written together, in one store. The nonce cannot
        // overflow, as Meter.nonce explains.
        stored.lastReadingAt = uint40(reading.timestamp);
        unchecked {
            stored.nonce = uint40(m.nonce + nonceStep);
        }
        stored.consumptionRegisterWh = uint48(reading.consumption);
        stored.productionRegisterWh = uint48(reading.production);
        if (m.flags.awaitingBaseline()) stored.flags = m.flags.baselineSet();
        // Packed as ISmartMeterRegistry lays it out: a time below 2^40 and two increases below 2^27.
        emit ReadingAccepted(meter, reading.timestamp | (consumedWh << 40) | (producedWh << 80));
    }

    /// @dev Reports why a reading failed ReadingChecks.passes, which makes the same checks at once. They are
    /// made here one by one, in order, and the first that fails reverts with its error. The reading's time
    /// must lie in (previous reading + rate limit, block time] and must be no older than the age limit: the
    /// rate limit alone only compares reading times, so without the age bound a meter could send
    /// back-dated readings back to back and place its energy wherever it liked. Its registers must fit the
    /// record and not fall, and its frequency and voltage must lie within their bounds.
    function _refuseReading(address meter, Meter memory m, MeterReading memory reading, ReadingLimits memory limits)
        private
        view
    {
        if (m.ownerIndex == 0) revert MeterUnknown(meter);
        if (!m.flags.isActive()) revert MeterInactive(meter);
        uint256 timestamp = reading.timestamp;
        if (timestamp > block.timestamp) revert ReadingInFuture(meter, timestamp, block.timestamp);
        if (timestamp <= m.lastReadingAt) revert ReadingNotAfterPrevious(meter, timestamp, m.lastReadingAt);
        if (m.lastReadingAt != 0 && timestamp < m.lastReadingAt + limits.minIntervalSeconds) {
            revert ReadingTooFrequent(meter, timestamp, m.lastReadingAt + limits.minIntervalSeconds);
        }
        uint256 ageSeconds;
        unchecked {
            // The reading is not in the future, as checked above, so this cannot underflow.
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
        if (reading.consumption < m.consumptionRegisterWh) {
            revert ConsumptionRegisterDecreased(meter, reading.consumption, m.consumptionRegisterWh);
        }
        if (reading.production < m.productionRegisterWh) {
            revert ProductionRegisterDecreased(meter, reading.production, m.productionRegisterWh);
        }
    }

    /// @dev Returns the energy the reading counts: what its registers rose by since the meter's record, or
    /// none for a baseline reading, whose rise is booked as uncounted instead.
    function _countEnergy(address meter, Meter memory m, MeterReading memory reading)
        private
        returns (uint256 consumedWh, uint256 producedWh)
    {
        unchecked {
            // The reading's checks found that neither register falls.
            consumedWh = reading.consumption - m.consumptionRegisterWh;
            producedWh = reading.production - m.productionRegisterWh;
        }
        if (m.flags.awaitingBaseline()) {
            Account storage account = _accounts[meter];
            // Both sums stay below MAX_REGISTER_WH, so uint64 cannot overflow.
            account.uncountedConsumptionWh += uint64(consumedWh);
            account.uncountedProductionWh += uint64(producedWh);
            emit MeterBaselineSet(meter, reading.timestamp, reading.consumption, reading.production);
            (consumedWh, producedWh) = (0, 0);
        }
    }

    /// @dev Adds the reading's energy to the meter's cell of its interval's word and records its frequency
    /// and voltage there as the interval's latest. A word of an earlier lap is started afresh: what it holds
    /// is 35 days (or a multiple) old, and the reading age limit keeps every reading short of the words a
    /// neighbour has already moved on to the next lap.
    function _recordInProfile(
        address meter,
        Meter memory m,
        MeterReading memory reading,
        uint256 consumedWh,
        uint256 producedWh
    ) private {
        uint256 interval = reading.timestamp.intervalOf();
        (uint256 key, uint256 position, uint256 lap) = _profilePlace(m.cell, interval);
        IntervalCells cells = _profile[key].ofLap(lap);
        {
            (uint256 carriedConsumptionWh, uint256 carriedProductionWh) = cells.energy(position);
            consumedWh += carriedConsumptionWh;
            producedWh += carriedProductionWh;
        }
        if (consumedWh > IntervalCellsLibrary.MAX_INTERVAL_WH || producedWh > IntervalCellsLibrary.MAX_INTERVAL_WH) {
            revert IntervalEnergyOutOfRange(meter, interval);
        }
        _profile[key] = cells.withReading(position, consumedWh, producedWh, reading.gridFrequency, reading.voltage);
    }

    /// @dev Reverts unless `signed`, whose reading is `reading`, is signed by its meter in `domainSeparator`
    /// (this chain and contract), is still within its deadline and carries `expectedNonce`.
    function _checkSignature(
        bytes32 domainSeparator,
        SignedReading calldata signed,
        MeterReading memory reading,
        uint256 expectedNonce
    ) private view {
        address meter = signed.meter;
        uint256 nonce = signed.nonce;
        uint256 deadline = signed.deadline;
        bytes32 s = signed.s;
        address signer = SignedReadingHash.signer(domainSeparator, meter, nonce, deadline, reading, signed.v, signed.r, s);
        if (!SignedReadingHash.passes(signer, meter, nonce, expectedNonce, deadline, s)) {
            _refuseSigned(meter, nonce, deadline, s, signer, expectedNonce);
        }
    }

    /// @dev The same checks for the packed signed entry at calldata position `entry`, of `meter` and `reading`.
    function _checkPackedSignature(
        bytes32 domainSeparator,
        uint256 entry,
        address meter,
        MeterReading memory reading,
        uint256 expectedNonce
    ) private view {
        (uint256 nonce, uint256 deadline, uint256 v, bytes32 r, bytes32 s) = PackedReadings.signatureAt(entry);
        address signer = SignedReadingHash.signer(domainSeparator, meter, nonce, deadline, reading, v, r, s);
        if (!SignedReadingHash.passes(signer, meter, nonce, expectedNonce, deadline, s)) {
            _refuseSigned(meter, nonce, deadline, s, signer, expectedNonce);
        }
    }

    /// @dev Reports why a signed reading whose `signer` was recovered failed SignedReadingHash.passes, which
    /// makes the same checks at once. They are made here one by one, in order: its deadline, its s (EIP-2),
    /// its signer, which must be the meter, and its nonce. The signature is checked before the nonce, so
    /// that a replay of a genuine signature is reported as a replay (InvalidReadingNonce with a nonce below
    /// the expected one).
    function _refuseSigned(
        address meter,
        uint256 nonce,
        uint256 deadline,
        bytes32 s,
        address signer,
        uint256 expectedNonce
    ) private view {
        if (block.timestamp > deadline) revert ReadingSignatureExpired(meter, nonce, deadline);
        if (uint256(s) > SignedReadingHash.HALF_CURVE_ORDER) revert MalleableReadingSignature(meter, nonce, s);
        // A failed recovery yields the zero signer, which must not pass for a meter at the zero address.
        if (signer == address(0) || signer != meter) revert InvalidReadingSignature(meter, nonce, signer);
        // Every other check holds, so the nonce is the one that failed.
        revert InvalidReadingNonce(meter, nonce, expectedNonce);
    }

    // ----------------------------------------------------------------------------- a batch

    /// @dev What every batch starts from: the reading bounds, read once, and its empty mints and deliveries.
    function _newBatch(uint256 size)
        private
        view
        returns (ReadingLimits memory limits, MintBatch memory batch, VaultBatch memory delivery)
    {
        return (_readingLimits, _newMintBatch(size), _newVaultBatch(size));
    }

    /// @dev Copies a reading from calldata into the memory that a batch reuses for each of its readings,
    /// where an assignment of the whole struct would allocate it anew for every reading.
    function _load(MeterReading memory into, MeterReading calldata from) private pure {
        into.timestamp = from.timestamp;
        into.consumption = from.consumption;
        into.production = from.production;
        into.gridFrequency = from.gridFrequency;
        into.voltage = from.voltage;
    }

    // ----------------------------------------------------------------------------- minting a batch

    function _newMintBatch(uint256 size) private pure returns (MintBatch memory) {
        return MintBatch(new address[](size), new uint256[](size), 0);
    }

    /// @dev Adds a mint of `amountWh` (above zero) to `owner`.
    function _addMint(MintBatch memory batch, address owner, uint256 amountWh) private pure {
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
        // The arrays are shortened to the readings that minted.
        MemoryArrays.shorten(owners, count);
        MemoryArrays.shorten(amountsWh, count);
        _energyToken.mintBatch(owners, amountsWh);
    }
}
