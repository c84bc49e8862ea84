// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IGridManagement, IPausableTarget} from "./IGridManagement.sol";
import {EnergyTime} from "../utils/EnergyTime.sol";
import {PublishedGridLimits} from "../utils/GridLimits.sol";
import {OrderMath} from "../utils/OrderMath.sol";
import {FrequencyOutOfBounds, InvalidEnergyType, InvalidSeverity, VoltageOutOfBounds, ZeroAddress, ZeroAmount} from "../utils/GridErrors.sol";

/// @title GridManagement
/// @notice This contract keeps the grid's participants and its price, its operators, the status and
/// the emergencies that operators report, and the guardian's emergency shutdown.
/// @dev The grid load is kept as running totals of the producers' output and of this interval's storage
/// flows, so that no function has to walk a list of participants. Storage flows are energy within the
/// current 900 s interval, and they count in the load as their average power (Wh × 3600 / 900) until the
/// interval ends. Participants declare their capacity and flows themselves, so only participants that
/// an operator has verified move energy or count in the totals; otherwise anyone could move the price a
/// consumer pays.
/// Emergency mode is kept per operator region. The price, however, belongs to the whole grid, because
/// participants belong to no region, so it is the emergency price while any region is in emergency.
contract GridManagement is AccessControl, Pausable, PublishedGridLimits, IGridManagement {
    using SafeERC20 for IERC20;
    using EnergyTime for uint256;

    /// @notice Calls emergencyShutdown: pauses at once, cannot unpause or change parameters.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice Contracts (GridOperations) that may declare emergencies without being an operator.
    bytes32 public constant EMERGENCY_RESPONDER_ROLE = keccak256("EMERGENCY_RESPONDER_ROLE");

    /// @notice Reputation every producer starts with, and the highest score.
    uint256 public constant MAX_REPUTATION = 100;
    /// @notice Emergency mode multiplies the base price by this.
    uint256 public constant EMERGENCY_PRICE_MULTIPLIER = 3;
    /// @notice Largest capacity or rate in W: 25 GW, above the largest power station.
    uint256 public constant MAX_POWER_W = 25e9;
    /// @notice Largest storage capacity or daily consumption limit in Wh: 1 TWh.
    uint256 public constant MAX_ENERGY_WH = 1e12;
    /// @notice Highest base price, PaymentToken base units per kWh.
    uint256 public constant MAX_BASE_PRICE_PER_KWH = type(uint96).max;
    /// @notice Longest operator name in bytes.
    uint256 public constant MAX_NAME_BYTES = 64;
    /// @notice Most contracts one emergency shutdown pauses.
    uint256 public constant MAX_SHUTDOWN_TARGETS = 8;

    uint256 private constant _SECONDS_PER_HOUR = 3600;
    uint256 private constant _BPS = 10_000;

    struct Producer {
        uint64 capacityW; // 0 = not registered
        uint64 currentOutputW;
        uint40 lastReportAt; // unix s
        EnergyType energyType;
        uint8 reputationScore;
        bool active;
        bool verified; // by an operator: only then its capacity and output count in the totals
        uint128 producedJoules; // W·s of every report before the latest, exact
    }

    struct Consumer {
        uint64 consumptionLimitWh; // per UTC day; 0 = not registered
        uint64 consumedTodayWh; // in `day`
        uint32 day; // UTC day of the latest consumption
        bool active;
        uint128 totalConsumedWh;
        uint128 totalPaid;
    }

    struct StorageUnit {
        uint64 capacityWh; // 0 = not registered
        uint64 storedWh;
        uint64 chargeRateW;
        uint64 dischargeRateW;
        uint32 interval; // interval of the two counters below
        uint64 intervalChargedWh;
        uint64 intervalDischargedWh;
        bool verified; // by an operator: only then it may charge and discharge
    }

    /// @dev Verified, active producers' totals and the regions in emergency: one slot that
    /// reportProduction updates and getDynamicPrice reads.
    struct ProducerTotals {
        uint64 capacityW;
        uint64 outputW;
        uint32 activeProducers;
        uint32 emergencyRegions;
    }

    /// @dev Storage flows of one interval, as average power over it.
    struct StorageFlows {
        uint32 interval;
        uint96 chargeW;
        uint96 dischargeW;
    }

    struct Operator {
        uint32 regionId;
        uint32 capacityKW;
        uint40 registeredAt; // 0 = not registered
        bool verified;
        bool authorized;
    }

    struct StoredMetrics {
        uint96 productionWh;
        uint96 consumptionWh;
        uint64 peakLoadW;
        address recordedBy; // 0 = no such metrics
        uint40 recordedAt;
        uint16 efficiencyBps;
    }

    struct StoredGridStatus {
        uint64 supplyW;
        uint64 demandW;
        uint32 frequencyMilliHz;
        uint16 voltagePerMille;
        uint40 updatedAt;
        address updatedBy;
    }

    struct StoredEmergency {
        uint32 regionId;
        uint8 severity;
        address declaredBy; // 0 = no such emergency
        uint40 declaredAt;
        bytes32 reason;
    }

    IERC20 private immutable _paymentToken;
    address private _feeRecipient;
    uint96 private _basePricePerKWh;
    ProducerTotals private _totals;
    StorageFlows private _flows;
    uint256 private _metricsCount;
    uint256 private _emergencyCount;
    StoredGridStatus private _reportedStatus;
    address[] private _shutdownTargets;
    mapping(address => Producer) private _producers;
    mapping(address => Consumer) private _consumers;
    mapping(address => StorageUnit) private _storageUnits;
    mapping(address => Operator) private _operators;
    mapping(address => string) private _operatorNames;
    mapping(uint256 => StoredMetrics) private _metrics;
    mapping(uint256 => StoredEmergency) private _emergencies;
    mapping(uint32 regionId => bool) private _regionEmergency;

    modifier onlyOperator() {
        _checkOperator(msg.sender);
        _;
    }

    constructor(address admin, IERC20 paymentToken_, address feeRecipient_, uint256 basePricePerKWh_) {
        if (admin == address(0) || address(paymentToken_) == address(0) || feeRecipient_ == address(0)) {
            revert ZeroAddress();
        }
        _checkBasePrice(basePricePerKWh_);
        _paymentToken = paymentToken_;
        _feeRecipient = feeRecipient_;
        _basePricePerKWh = uint96(basePricePerKWh_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ----------------------------------------------------------------------------- participants

    /// @inheritdoc IGridManagement
    function registerProducer(uint256 capacityW, uint8 energyType) external {
        _checkRange(capacityW, MAX_POWER_W);
        if (energyType > uint8(type(EnergyType).max)) revert InvalidEnergyType(energyType);
        Producer storage p = _producers[msg.sender];
        if (p.capacityW != 0) revert AlreadyRegistered(msg.sender);
        p.capacityW = uint64(capacityW);
        p.lastReportAt = uint40(block.timestamp);
        p.energyType = EnergyType(energyType);
        p.reputationScore = uint8(MAX_REPUTATION);
        p.active = true;
        emit ProducerRegistered(msg.sender, capacityW, EnergyType(energyType));
    }

    /// @inheritdoc IGridManagement
    function registerConsumer(uint256 consumptionLimitWh) external {
        _checkRange(consumptionLimitWh, MAX_ENERGY_WH);
        Consumer storage c = _consumers[msg.sender];
        if (c.consumptionLimitWh != 0) revert AlreadyRegistered(msg.sender);
        c.consumptionLimitWh = uint64(consumptionLimitWh);
        c.active = true;
        emit ConsumerRegistered(msg.sender, consumptionLimitWh);
    }

    /// @inheritdoc IGridManagement
    function registerStorage(uint256 capacityWh, uint256 chargeRateW, uint256 dischargeRateW) external {
        _checkRange(capacityWh, MAX_ENERGY_WH);
        _checkRange(chargeRateW, MAX_POWER_W);
        _checkRange(dischargeRateW, MAX_POWER_W);
        StorageUnit storage s = _storageUnits[msg.sender];
        if (s.capacityWh != 0) revert AlreadyRegistered(msg.sender);
        s.capacityWh = uint64(capacityWh);
        s.chargeRateW = uint64(chargeRateW);
        s.dischargeRateW = uint64(dischargeRateW);
        emit StorageRegistered(msg.sender, capacityWh, chargeRateW, dischargeRateW);
    }

    /// @inheritdoc IGridManagement
    function reportProduction(uint256 amountW) external {
        Producer storage p = _activeProducer(msg.sender);
        if (!p.verified) revert ParticipantNotVerified(msg.sender);
        uint256 capacityW = p.capacityW;
        if (amountW > capacityW) revert ProductionExceedsCapacity(msg.sender, amountW, capacityW);
        uint256 previousOutputW = p.currentOutputW;
        uint256 joules = previousOutputW * (block.timestamp - p.lastReportAt);
        p.producedJoules += uint128(joules);
        p.currentOutputW = uint64(amountW);
        p.lastReportAt = uint40(block.timestamp);
        // Cannot underflow: the total includes this producer's previous output.
        _totals.outputW = uint64(_totals.outputW - previousOutputW + amountW);
        emit ProductionReported(msg.sender, amountW, previousOutputW, joules / _SECONDS_PER_HOUR);
    }

    /// @inheritdoc IGridManagement
    function consumeEnergy(uint256 amountWh, uint256 maxPricePerKWh) external whenNotPaused {
        Consumer storage c = _consumers[msg.sender];
        if (c.consumptionLimitWh == 0) revert ParticipantNotFound(msg.sender);
        if (!c.active) revert ParticipantInactive(msg.sender);
        if (amountWh == 0) revert ZeroAmount();
        uint256 day = block.timestamp.dayOf();
        // slither-disable-next-line incorrect-equality: day numbers; another day means today's counter starts at zero
        uint256 consumedTodayWh = c.day == day ? c.consumedTodayWh : 0;
        uint256 remainingWh = c.consumptionLimitWh - consumedTodayWh;
        if (amountWh > remainingWh) revert ConsumptionLimitExceeded(msg.sender, amountWh, remainingWh);
        uint256 pricePerKWh = getDynamicPrice();
        if (pricePerKWh > maxPricePerKWh) revert PriceAboveLimit(pricePerKWh, maxPricePerKWh);
        uint256 cost = OrderMath.costCeil(amountWh, pricePerKWh);
        uint256 balance = _paymentToken.balanceOf(msg.sender);
        if (balance < cost) revert InsufficientBalance(msg.sender, cost, balance);
        uint256 allowance = _paymentToken.allowance(msg.sender, address(this));
        if (allowance < cost) revert InsufficientAllowance(msg.sender, cost, allowance);
        c.consumedTodayWh = uint64(consumedTodayWh + amountWh);
        c.day = uint32(day);
        c.totalConsumedWh += uint128(amountWh);
        c.totalPaid += uint128(cost);
        emit EnergyConsumed(msg.sender, amountWh, pricePerKWh, cost);
        _paymentToken.safeTransferFrom(msg.sender, _feeRecipient, cost);
    }

    /// @inheritdoc IGridManagement
    function chargeStorage(uint256 amountWh) external {
        (StorageUnit storage s, uint256 interval) = _storageInInterval(msg.sender, amountWh);
        uint256 freeWh = s.capacityWh - s.storedWh;
        if (amountWh > freeWh) revert StorageCapacityExceeded(msg.sender, amountWh, freeWh);
        uint256 allowedWh = _intervalEnergy(s.chargeRateW) - s.intervalChargedWh;
        if (amountWh > allowedWh) revert ChargeRateExceeded(msg.sender, amountWh, allowedWh);
        StorageFlows memory f = _currentFlows(interval);
        uint256 powerW = _averagePower(amountWh);
        uint256 availableW = _load(_totals.outputW, f);
        if (powerW > availableW) revert InsufficientGridSupply(powerW, availableW);
        s.storedWh += uint64(amountWh);
        s.intervalChargedWh += uint64(amountWh);
        f.chargeW += uint96(powerW);
        _flows = f;
        emit StorageCharged(msg.sender, interval, amountWh, s.storedWh);
    }

    /// @inheritdoc IGridManagement
    function dischargeStorage(uint256 amountWh) external {
        (StorageUnit storage s, uint256 interval) = _storageInInterval(msg.sender, amountWh);
        uint256 storedWh = s.storedWh;
        if (amountWh > storedWh) revert InsufficientStoredEnergy(msg.sender, amountWh, storedWh);
        uint256 allowedWh = _intervalEnergy(s.dischargeRateW) - s.intervalDischargedWh;
        if (amountWh > allowedWh) revert DischargeRateExceeded(msg.sender, amountWh, allowedWh);
        StorageFlows memory f = _currentFlows(interval);
        s.storedWh = uint64(storedWh - amountWh);
        s.intervalDischargedWh += uint64(amountWh);
        f.dischargeW += uint96(_averagePower(amountWh));
        _flows = f;
        emit StorageDischarged(msg.sender, interval, amountWh, storedWh - amountWh);
    }

    /// @inheritdoc IGridManagement
    function verifyProducer(address producer) external onlyOperator {
        Producer storage p = _knownProducer(producer);
        if (p.verified) revert ParticipantAlreadyVerified(producer);
        p.verified = true;
        // Its output is 0: an unverified producer cannot report any.
        if (p.active) {
            _totals.capacityW += p.capacityW;
            _totals.activeProducers += 1;
        }
        emit ParticipantVerified(producer, true, msg.sender);
    }

    /// @inheritdoc IGridManagement
    function verifyStorage(address storageUnit) external onlyOperator {
        StorageUnit storage s = _storageUnits[storageUnit];
        if (s.capacityWh == 0) revert ParticipantNotFound(storageUnit);
        if (s.verified) revert ParticipantAlreadyVerified(storageUnit);
        s.verified = true;
        emit ParticipantVerified(storageUnit, false, msg.sender);
    }

    /// @inheritdoc IGridManagement
    function updateProducerReputation(address producer, uint256 score) external onlyOperator {
        Producer storage p = _knownProducer(producer);
        if (score > MAX_REPUTATION) revert ReputationOutOfRange(score, MAX_REPUTATION);
        uint256 previousScore = p.reputationScore;
        p.reputationScore = uint8(score);
        emit ProducerReputationUpdated(producer, previousScore, score);
    }

    /// @inheritdoc IGridManagement
    function deactivateParticipant(address account, bool isProducer) external onlyOperator {
        if (isProducer) {
            Producer storage p = _activeProducer(account);
            uint256 outputW = p.currentOutputW;
            p.producedJoules += uint128(outputW * (block.timestamp - p.lastReportAt));
            p.currentOutputW = 0;
            p.lastReportAt = uint40(block.timestamp);
            p.active = false;
            if (p.verified) {
                ProducerTotals memory t = _totals;
                t.capacityW -= p.capacityW;
                t.outputW -= uint64(outputW);
                t.activeProducers -= 1;
                _totals = t;
            }
        } else {
            Consumer storage c = _consumers[account];
            if (c.consumptionLimitWh == 0) revert ParticipantNotFound(account);
            if (!c.active) revert ParticipantInactive(account);
            c.active = false;
        }
        emit ParticipantDeactivated(account, isProducer, msg.sender);
    }

    /// @inheritdoc IGridManagement
    function reactivateParticipant(address account, bool isProducer) external onlyOperator {
        if (isProducer) {
            Producer storage p = _knownProducer(account);
            if (p.active) revert ParticipantAlreadyActive(account);
            p.active = true;
            p.lastReportAt = uint40(block.timestamp);
            if (p.verified) {
                _totals.capacityW += p.capacityW;
                _totals.activeProducers += 1;
            }
        } else {
            Consumer storage c = _consumers[account];
            if (c.consumptionLimitWh == 0) revert ParticipantNotFound(account);
            if (c.active) revert ParticipantAlreadyActive(account);
            c.active = true;
        }
        emit ParticipantReactivated(account, isProducer, msg.sender);
    }

    // ----------------------------------------------------------------------------- grid and price

    /// @inheritdoc IGridManagement
    function setBasePrice(uint256 pricePerKWh) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkBasePrice(pricePerKWh);
        uint256 previousPricePerKWh = _basePricePerKWh;
        _basePricePerKWh = uint96(pricePerKWh);
        emit BasePriceUpdated(previousPricePerKWh, pricePerKWh);
    }

    /// @inheritdoc IGridManagement
    function toggleEmergencyMode(uint32 regionId, bool active) external {
        // The admin may end a region's emergency (one a suspended operator left on), never declare one.
        if (active || !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) _checkRegionOperator(msg.sender, regionId);
        if (_regionEmergency[regionId] == active) revert EmergencyModeUnchanged(regionId, active);
        _setEmergencyMode(regionId, active);
    }

    /// @inheritdoc IGridManagement
    function toggleEmergencyMode() external returns (bool active) {
        _checkOperator(msg.sender);
        uint32 regionId = _operators[msg.sender].regionId;
        active = !_regionEmergency[regionId];
        _setEmergencyMode(regionId, active);
    }

    /// @inheritdoc IGridManagement
    function isRegionInEmergency(uint32 regionId) external view returns (bool) {
        return _regionEmergency[regionId];
    }

    /// @inheritdoc IGridManagement
    function recordMetrics(uint256 productionWh, uint256 consumptionWh, uint256 peakLoadW, uint256 efficiencyBps)
        external
        onlyOperator
        returns (uint256 metricsId)
    {
        _checkMetric(productionWh, type(uint96).max);
        _checkMetric(consumptionWh, type(uint96).max);
        _checkMetric(peakLoadW, type(uint64).max);
        if (efficiencyBps > _BPS) revert EfficiencyOutOfRange(efficiencyBps);
        metricsId = ++_metricsCount;
        _metrics[metricsId] = StoredMetrics({
            productionWh: uint96(productionWh),
            consumptionWh: uint96(consumptionWh),
            peakLoadW: uint64(peakLoadW),
            recordedBy: msg.sender,
            recordedAt: uint40(block.timestamp),
            efficiencyBps: uint16(efficiencyBps)
        });
        emit MetricsRecorded(metricsId, msg.sender, productionWh, consumptionWh, peakLoadW, efficiencyBps);
    }

    /// @inheritdoc IGridManagement
    function getGridStatus() external view returns (GridStatus memory status) {
        ProducerTotals memory t = _totals;
        StorageFlows memory f = _currentFlows(block.timestamp.intervalOf());
        status.totalCapacityW = t.capacityW;
        status.currentLoadW = _load(t.outputW, f);
        if (t.capacityW != 0) status.utilizationBps = status.currentLoadW * _BPS / t.capacityW;
        status.emergencyMode = t.emergencyRegions != 0;
        status.producerOutputW = t.outputW;
        status.storageChargeW = f.chargeW;
        status.storageDischargeW = f.dischargeW;
        status.activeProducers = t.activeProducers;
        status.basePricePerKWh = _basePricePerKWh;
        status.dynamicPricePerKWh = getDynamicPrice();
    }

    /// @inheritdoc IGridManagement
    function getDynamicPrice() public view returns (uint256 pricePerKWh) {
        uint256 base = _basePricePerKWh;
        ProducerTotals memory t = _totals;
        if (t.emergencyRegions != 0) return base * EMERGENCY_PRICE_MULTIPLIER;
        uint256 capacityW = t.capacityW;
        if (capacityW == 0) return base;
        uint256 loadW = _load(t.outputW, _currentFlows(block.timestamp.intervalOf()));
        // Storage discharge may push the load past capacity; the price stops at full utilisation.
        if (loadW > capacityW) loadW = capacityW;
        return base + base * loadW / (2 * capacityW);
    }

    /// @inheritdoc IGridManagement
    function getMetrics(uint256 metricsId) external view returns (Metrics memory) {
        StoredMetrics memory m = _metrics[metricsId];
        if (m.recordedBy == address(0)) revert MetricsNotFound(metricsId);
        return Metrics(m.productionWh, m.consumptionWh, m.peakLoadW, m.efficiencyBps, m.recordedBy, m.recordedAt);
    }

    // ----------------------------------------------------------------------------- operators

    /// @inheritdoc IGridManagement
    function registerOperator(string calldata name, uint32 regionId, uint256 capacityKW) external {
        uint256 nameBytes = bytes(name).length;
        if (nameBytes == 0 || nameBytes > MAX_NAME_BYTES) revert InvalidOperatorName(nameBytes);
        _checkRange(capacityKW, type(uint32).max);
        Operator storage o = _operators[msg.sender];
        if (o.registeredAt != 0) revert AlreadyRegistered(msg.sender);
        o.regionId = regionId;
        o.capacityKW = uint32(capacityKW);
        o.registeredAt = uint40(block.timestamp);
        _operatorNames[msg.sender] = name;
        emit OperatorRegistered(msg.sender, regionId, name, capacityKW);
    }

    /// @inheritdoc IGridManagement
    function verifyOperator(address operator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Operator storage o = _knownOperator(operator);
        if (o.verified) revert OperatorAlreadyVerified(operator);
        o.verified = true;
        o.authorized = true;
        emit OperatorVerified(operator);
    }

    /// @inheritdoc IGridManagement
    function setOperatorAuthorization(address operator, bool authorized) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Operator storage o = _knownOperator(operator);
        if (!o.verified) revert OperatorNotVerified(operator);
        o.authorized = authorized;
        emit OperatorAuthorizationUpdated(operator, authorized);
    }

    /// @inheritdoc IGridManagement
    function isVerifiedOperator(address account) external view returns (bool) {
        return _operators[account].verified;
    }

    /// @inheritdoc IGridManagement
    function isAuthorizedOperator(address account) public view returns (bool) {
        Operator memory o = _operators[account];
        return o.verified && o.authorized;
    }

    /// @inheritdoc IGridManagement
    function getOperator(address operator) external view returns (OperatorInfo memory) {
        Operator memory o = _knownOperator(operator);
        return OperatorInfo(_operatorNames[operator], o.regionId, o.capacityKW, o.verified, o.authorized, o.registeredAt);
    }

    /// @inheritdoc IGridManagement
    function operatorStatus(address account) external view returns (bool authorized, uint32 regionId) {
        Operator memory o = _operators[account];
        return (o.verified && o.authorized, o.regionId);
    }

    // ----------------------------------------------------------------------------- status and emergencies

    /// @inheritdoc IGridManagement
    function updateGridStatus(uint256 supplyW, uint256 demandW, uint256 frequencyMilliHz, uint256 voltagePerMille)
        external
        onlyOperator
    {
        _checkMetric(supplyW, type(uint64).max);
        _checkMetric(demandW, type(uint64).max);
        if (frequencyMilliHz < MIN_FREQUENCY_MILLIHZ || frequencyMilliHz > MAX_FREQUENCY_MILLIHZ) {
            revert FrequencyOutOfBounds(frequencyMilliHz);
        }
        if (voltagePerMille < MIN_VOLTAGE_PER_MILLE || voltagePerMille > MAX_VOLTAGE_PER_MILLE) {
            revert VoltageOutOfBounds(voltagePerMille);
        }
        _reportedStatus = StoredGridStatus({
            supplyW: uint64(supplyW),
            demandW: uint64(demandW),
            frequencyMilliHz: uint32(frequencyMilliHz),
            voltagePerMille: uint16(voltagePerMille),
            updatedAt: uint40(block.timestamp),
            updatedBy: msg.sender
        });
        emit GridStatusUpdated(msg.sender, supplyW, demandW, frequencyMilliHz, voltagePerMille);
    }

    /// @inheritdoc IGridManagement
    function getCurrentGridStatus() external view returns (ReportedGridStatus memory) {
        StoredGridStatus memory s = _reportedStatus;
        return ReportedGridStatus(
            s.supplyW,
            s.demandW,
            s.frequencyMilliHz,
            s.voltagePerMille,
            s.updatedBy,
            s.updatedAt,
            _totals.emergencyRegions != 0
        );
    }

    /// @inheritdoc IGridManagement
    function implementEmergencyProtocol(uint32 regionId, uint8 severity, bytes32 reason)
        external
        returns (uint256 emergencyId)
    {
        if (!hasRole(EMERGENCY_RESPONDER_ROLE, msg.sender)) _checkRegionOperator(msg.sender, regionId);
        if (severity == 0 || severity > 3) revert InvalidSeverity(severity);
        emergencyId = ++_emergencyCount;
        _emergencies[emergencyId] = StoredEmergency(regionId, severity, msg.sender, uint40(block.timestamp), reason);
        if (!_regionEmergency[regionId]) _setEmergencyMode(regionId, true);
        emit EmergencyProtocolImplemented(emergencyId, regionId, severity, reason, msg.sender);
    }

    /// @inheritdoc IGridManagement
    function getEmergency(uint256 emergencyId) external view returns (EmergencyRecord memory) {
        StoredEmergency memory e = _emergencies[emergencyId];
        if (e.declaredBy == address(0)) revert EmergencyNotFound(emergencyId);
        return EmergencyRecord(e.regionId, e.severity, e.reason, e.declaredBy, e.declaredAt);
    }

    /// @inheritdoc IGridManagement
    function emergencyCount() external view returns (uint256) {
        return _emergencyCount;
    }

    /// @inheritdoc IGridManagement
    function emergencyShutdown() external onlyRole(GUARDIAN_ROLE) {
        if (!paused()) _pause();
        address[] memory targets = _shutdownTargets;
        emit EmergencyShutdownActivated(msg.sender, targets);
        // Low-level calls: a target that reverts, or answers paused() with anything but a bool,
        // must not keep the others running.
        for (uint256 i; i < targets.length; ++i) {
            address target = targets[i];
            // slither-disable-next-line calls-loop,low-level-calls: at most MAX_SHUTDOWN_TARGETS contracts, each wired by the admin
            (bool ok, bytes memory data) = target.staticcall(abi.encodeCall(IPausableTarget.paused, ()));
            if (ok && data.length == 32 && abi.decode(data, (uint256)) == 1) continue;
            // slither-disable-next-line calls-loop,reentrancy-events: targets are admin-wired contracts; the failure event reports this call's own result
            (ok, data) = target.call(abi.encodeCall(IPausableTarget.pause, ()));
            if (!ok) emit ShutdownTargetFailed(target, data);
        }
    }

    /// @inheritdoc IGridManagement
    function setShutdownTargets(address[] calldata targets) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (targets.length > MAX_SHUTDOWN_TARGETS) revert TooManyShutdownTargets(targets.length, MAX_SHUTDOWN_TARGETS);
        for (uint256 i; i < targets.length; ++i) {
            if (targets[i] == address(0)) revert ZeroAddress();
            if (targets[i].code.length == 0) revert ShutdownTargetNotContract(targets[i]);
        }
        _shutdownTargets = targets;
        emit ShutdownTargetsUpdated(targets);
    }

    /// @inheritdoc IGridManagement
    function getShutdownTargets() external view returns (address[] memory) {
        return _shutdownTargets;
    }

    /// @inheritdoc IGridManagement
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ----------------------------------------------------------------------------- settings and views

    /// @inheritdoc IGridManagement
    function setFeeRecipient(address feeRecipient_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeRecipient_ == address(0)) revert ZeroAddress();
        emit FeeRecipientUpdated(_feeRecipient, feeRecipient_);
        _feeRecipient = feeRecipient_;
    }

    /// @inheritdoc IGridManagement
    function feeRecipient() external view returns (address) {
        return _feeRecipient;
    }

    /// @inheritdoc IGridManagement
    function paymentToken() external view returns (address) {
        return address(_paymentToken);
    }

    /// @inheritdoc IGridManagement
    function basePrice() external view returns (uint256 pricePerKWh) {
        return _basePricePerKWh;
    }

    /// @inheritdoc IGridManagement
    function getProducer(address producer) external view returns (ProducerInfo memory) {
        Producer memory p = _knownProducer(producer);
        // The current output has produced since the latest report too.
        uint256 joules = p.producedJoules + uint256(p.currentOutputW) * (block.timestamp - p.lastReportAt);
        return ProducerInfo(
            p.capacityW,
            p.currentOutputW,
            joules / _SECONDS_PER_HOUR,
            p.energyType,
            p.active,
            p.reputationScore,
            p.lastReportAt,
            p.verified
        );
    }

    /// @inheritdoc IGridManagement
    function getConsumer(address consumer) external view returns (ConsumerInfo memory) {
        Consumer memory c = _consumers[consumer];
        // slither-disable-next-line incorrect-equality: zero limit marks an unregistered consumer (registration requires > 0)
        if (c.consumptionLimitWh == 0) revert ParticipantNotFound(consumer);
        // slither-disable-next-line incorrect-equality: day numbers; another day means nothing consumed today
        uint256 consumedTodayWh = c.day == block.timestamp.dayOf() ? c.consumedTodayWh : 0;
        return ConsumerInfo(c.consumptionLimitWh, consumedTodayWh, c.totalConsumedWh, c.totalPaid, c.active);
    }

    /// @inheritdoc IGridManagement
    function getStorage(address storageUnit) external view returns (StorageInfo memory info) {
        StorageUnit memory s = _storageUnits[storageUnit];
        if (s.capacityWh == 0) revert ParticipantNotFound(storageUnit);
        info = StorageInfo(s.capacityWh, s.storedWh, s.chargeRateW, s.dischargeRateW, 0, 0, s.verified);
        // slither-disable-next-line incorrect-equality: interval numbers; the stored flows count only in their own interval
        if (s.interval == block.timestamp.intervalOf()) {
            info.intervalChargedWh = s.intervalChargedWh;
            info.intervalDischargedWh = s.intervalDischargedWh;
        }
    }

    // ----------------------------------------------------------------------------- internals

    function _checkOperator(address account) private view {
        if (!isAuthorizedOperator(account)) revert Unauthorized(account);
    }

    /// @dev `account` is an authorized operator of `regionId`.
    function _checkRegionOperator(address account, uint32 regionId) private view {
        _checkOperator(account);
        uint32 operatorRegionId = _operators[account].regionId;
        if (operatorRegionId != regionId) revert OperatorNotInRegion(account, operatorRegionId, regionId);
    }

    function _setEmergencyMode(uint32 regionId, bool active) private {
        _regionEmergency[regionId] = active;
        if (active) _totals.emergencyRegions += 1;
        else _totals.emergencyRegions -= 1;
        emit EmergencyModeChanged(regionId, active, msg.sender);
    }

    function _checkRange(uint256 value, uint256 maxValue) private pure {
        if (value == 0 || value > maxValue) revert CapacityOutOfRange(value, maxValue);
    }

    function _checkMetric(uint256 value, uint256 maxValue) private pure {
        if (value > maxValue) revert MetricOutOfRange(value, maxValue);
    }

    function _checkBasePrice(uint256 pricePerKWh) private pure {
        if (pricePerKWh == 0 || pricePerKWh > MAX_BASE_PRICE_PER_KWH) revert InvalidBasePrice(pricePerKWh);
    }

    function _knownProducer(address producer) private view returns (Producer storage p) {
        p = _producers[producer];
        if (p.capacityW == 0) revert ParticipantNotFound(producer);
    }

    function _activeProducer(address producer) private view returns (Producer storage p) {
        p = _knownProducer(producer);
        if (!p.active) revert ParticipantInactive(producer);
    }

    function _knownOperator(address operator) private view returns (Operator storage o) {
        o = _operators[operator];
        if (o.registeredAt == 0) revert OperatorNotFound(operator);
    }

    /// @dev A registered storage unit with its per-interval counters moved to the current interval.
    function _storageInInterval(address account, uint256 amountWh)
        private
        returns (StorageUnit storage s, uint256 interval)
    {
        s = _storageUnits[account];
        if (s.capacityWh == 0) revert ParticipantNotFound(account);
        if (!s.verified) revert ParticipantNotVerified(account);
        if (amountWh == 0) revert ZeroAmount();
        interval = block.timestamp.intervalOf();
        if (s.interval != interval) {
            s.interval = uint32(interval);
            s.intervalChargedWh = 0;
            s.intervalDischargedWh = 0;
        }
    }

    /// @dev This interval's storage flows; none once the interval they were counted in has ended.
    function _currentFlows(uint256 interval) private view returns (StorageFlows memory f) {
        f = _flows;
        if (f.interval != interval) f = StorageFlows(uint32(interval), 0, 0);
    }

    /// @dev Producers' output plus storage discharge minus storage charge, never below 0 (a
    /// producer may lower its output after storage charged).
    function _load(uint256 outputW, StorageFlows memory f) private pure returns (uint256) {
        uint256 supplyW = outputW + f.dischargeW;
        return supplyW > f.chargeW ? supplyW - f.chargeW : 0;
    }

    /// @dev Wh moved within one 900 s interval as average power in W.
    function _averagePower(uint256 amountWh) private pure returns (uint256) {
        return amountWh * _SECONDS_PER_HOUR / EnergyTime.INTERVAL_SECONDS;
    }

    /// @dev The most Wh a rate in W moves in one 900 s interval, rounded down.
    function _intervalEnergy(uint256 rateW) private pure returns (uint256) {
        return rateW * EnergyTime.INTERVAL_SECONDS / _SECONDS_PER_HOUR;
    }
}
