// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {FrequencyOutOfBounds, InvalidEnergyType, InvalidSeverity, VoltageOutOfBounds, ZeroAddress, ZeroAmount} from "./GridErrors.sol";

/// @title IGridManagement
/// @notice Seed 000's smart grid (producers, consumers, storage, dynamic price, emergency mode,
/// metrics), seed 001/003's grid operators (registration, verification, authorization) and seed
/// 003's grid status and emergency protocol, plus the guardian's emergency shutdown (seed 002).
/// Units: power in W, energy in Wh, price in PaymentToken base units per kWh, ratios in bps.
///
/// Seed 000's error codes map to these errors:
/// u100 err-owner-only and u102 err-unauthorized: Unauthorized (operator functions; admin functions
/// use OpenZeppelin's AccessControlUnauthorizedAccount); u101 err-not-found: ParticipantNotFound,
/// OperatorNotFound, MetricsNotFound, EmergencyNotFound; u103 err-insufficient-energy:
/// InsufficientStoredEnergy, InsufficientGridSupply; u104 err-invalid-amount: ZeroAmount,
/// CapacityOutOfRange, ProductionExceedsCapacity, ConsumptionLimitExceeded, StorageCapacityExceeded,
/// ChargeRateExceeded, DischargeRateExceeded; u105 err-already-exists: AlreadyRegistered,
/// OperatorAlreadyVerified; u106 err-inactive: ParticipantInactive, ParticipantAlreadyActive; u107 err-insufficient-balance:
/// InsufficientBalance, InsufficientAllowance; u108 err-invalid-input: InvalidEnergyType,
/// ReputationOutOfRange, InvalidBasePrice, EfficiencyOutOfRange, MetricOutOfRange, InvalidSeverity,
/// InvalidOperatorName, FrequencyOutOfBounds, VoltageOutOfBounds, ZeroAddress, TooManyShutdownTargets.
interface IGridManagement {
    /// @notice Seed 000's energy types, in its order.
    enum EnergyType {
        SOLAR,
        WIND,
        HYDRO,
        NUCLEAR,
        GEOTHERMAL,
        BIOMASS,
        NATURAL_GAS
    }

    /// @notice A producer (seed 000 get-producer-info).
    struct ProducerInfo {
        uint256 capacityW; // most it may report
        uint256 currentOutputW; // its latest reported output; counts in the grid load while active
        uint256 totalProducedWh; // its reported output integrated over time, rounded down
        EnergyType energyType;
        bool active;
        uint256 reputationScore; // 0-100, starts at 100
        uint256 lastReportAt; // unix s of its latest report (registration until the first)
    }

    /// @notice A consumer (seed 000 get-consumer-info). Its balance is its PaymentToken wallet.
    struct ConsumerInfo {
        uint256 consumptionLimitWh; // most it may consume in one UTC day
        uint256 consumedTodayWh; // consumed in the current UTC day
        uint256 totalConsumedWh;
        uint256 totalPaid; // PaymentToken base units paid for its consumption
        bool active;
    }

    /// @notice A storage facility (seed 000 get-storage-info).
    struct StorageInfo {
        uint256 capacityWh;
        uint256 storedWh;
        uint256 chargeRateW; // most average power it may charge at within one 900 s interval
        uint256 dischargeRateW; // most average power it may discharge at within one 900 s interval
        uint256 intervalChargedWh; // charged in the current 900 s interval
        uint256 intervalDischargedWh; // discharged in the current 900 s interval
    }

    /// @notice The grid as seed 000's get-grid-status sees it.
    struct GridStatus {
        uint256 totalCapacityW; // active producers' capacity
        uint256 currentLoadW; // producerOutputW + storageDischargeW - storageChargeW, at least 0
        uint256 utilizationBps; // currentLoadW * 10,000 / totalCapacityW; 0 without capacity
        bool emergencyMode;
        uint256 producerOutputW; // active producers' reported output
        uint256 storageChargeW; // average power storage draws in the current 900 s interval
        uint256 storageDischargeW; // average power storage feeds in the current 900 s interval
        uint256 activeProducers;
        uint256 basePricePerKWh;
        uint256 dynamicPricePerKWh; // getDynamicPrice()
    }

    /// @notice Grid performance recorded by an operator (seed 000 record-metrics).
    struct Metrics {
        uint256 productionWh;
        uint256 consumptionWh;
        uint256 peakLoadW;
        uint256 efficiencyBps; // 0-10,000
        address recordedBy;
        uint256 recordedAt; // unix s
    }

    /// @notice A grid operator (seed 001 get-operator).
    struct OperatorInfo {
        string name;
        uint32 regionId; // the region it operates
        uint256 capacityMW; // capacity it operates
        bool verified; // the admin verified it
        bool authorized; // allowed to act now (verification authorizes; the admin may suspend)
        uint256 registeredAt; // unix s
    }

    /// @notice The grid status an operator last reported (seed 003 update-grid-status).
    struct ReportedGridStatus {
        uint256 supplyW;
        uint256 demandW;
        uint256 frequencyMilliHz;
        uint256 voltagePerMille;
        address updatedBy; // 0 = never reported
        uint256 updatedAt; // unix s; 0 = never reported
        bool emergencyMode;
    }

    /// @notice An emergency declared with implementEmergencyProtocol (seed 003).
    struct EmergencyRecord {
        uint32 regionId;
        uint8 severity; // 1 ALERT, 2 EMERGENCY, 3 CRITICAL
        bytes32 reason; // a short code, e.g. "STABILITY_CRITICAL"
        address declaredBy; // an operator, or a contract holding EMERGENCY_RESPONDER_ROLE
        uint256 declaredAt; // unix s
    }

    // ----------------------------------------------------------------------------- events

    /// @notice `producer` registered with `capacityW` of `energyType`; its reputation starts at 100.
    event ProducerRegistered(address indexed producer, uint256 capacityW, EnergyType energyType);
    /// @notice `consumer` registered with a daily limit of `consumptionLimitWh`.
    event ConsumerRegistered(address indexed consumer, uint256 consumptionLimitWh);
    /// @notice `storageUnit` registered.
    event StorageRegistered(address indexed storageUnit, uint256 capacityWh, uint256 chargeRateW, uint256 dischargeRateW);
    /// @notice `producer` reported its output; the grid load moved by the difference.
    /// @param producedWh Energy its previous output produced since its previous report, rounded down.
    event ProductionReported(address indexed producer, uint256 outputW, uint256 previousOutputW, uint256 producedWh);
    /// @notice `consumer` consumed `amountWh` at `pricePerKWh` and paid `cost` to the fee recipient.
    event EnergyConsumed(address indexed consumer, uint256 amountWh, uint256 pricePerKWh, uint256 cost);
    /// @notice `storageUnit` charged `amountWh` from the grid in `interval`; it now holds `storedWh`.
    event StorageCharged(address indexed storageUnit, uint256 indexed interval, uint256 amountWh, uint256 storedWh);
    /// @notice `storageUnit` discharged `amountWh` to the grid in `interval`; it now holds `storedWh`.
    event StorageDischarged(address indexed storageUnit, uint256 indexed interval, uint256 amountWh, uint256 storedWh);
    /// @notice An operator changed `producer`'s reputation.
    event ProducerReputationUpdated(address indexed producer, uint256 previousScore, uint256 newScore);
    /// @notice An operator deactivated a producer (`isProducer`) or a consumer.
    event ParticipantDeactivated(address indexed account, bool indexed isProducer, address indexed operator);
    /// @notice An operator reactivated a producer (`isProducer`) or a consumer.
    event ParticipantReactivated(address indexed account, bool indexed isProducer, address indexed operator);
    /// @notice The admin changed the base price.
    event BasePriceUpdated(uint256 previousPricePerKWh, uint256 newPricePerKWh);
    /// @notice Emergency mode was switched on or off: the dynamic price is 3 × base while it is on.
    event EmergencyModeChanged(bool active, address indexed changedBy);
    /// @notice An operator recorded grid metrics under `metricsId`.
    event MetricsRecorded(
        uint256 indexed metricsId,
        address indexed operator,
        uint256 productionWh,
        uint256 consumptionWh,
        uint256 peakLoadW,
        uint256 efficiencyBps
    );
    /// @notice `operator` registered itself for `regionId`.
    event OperatorRegistered(address indexed operator, uint32 indexed regionId, string name, uint256 capacityMW);
    /// @notice The admin verified `operator`, which authorizes it.
    event OperatorVerified(address indexed operator);
    /// @notice The admin authorized or suspended `operator`.
    event OperatorAuthorizationUpdated(address indexed operator, bool authorized);
    /// @notice An operator reported the grid status (seed 003).
    event GridStatusUpdated(
        address indexed operator, uint256 supplyW, uint256 demandW, uint256 frequencyMilliHz, uint256 voltagePerMille
    );
    /// @notice An emergency was declared in `regionId`; emergency mode is on.
    event EmergencyProtocolImplemented(
        uint256 indexed emergencyId, uint32 indexed regionId, uint8 severity, bytes32 reason, address indexed declaredBy
    );
    /// @notice The guardian paused this contract and every shutdown target.
    event EmergencyShutdownActivated(address indexed guardian, address[] targets);
    /// @notice The admin changed the contracts an emergency shutdown pauses.
    event ShutdownTargetsUpdated(address[] targets);
    /// @notice The admin changed who receives consumers' payments.
    event FeeRecipientUpdated(address indexed previousRecipient, address indexed newRecipient);

    // ----------------------------------------------------------------------------- errors

    /// @notice `account` is not a verified, authorized grid operator (seed 000 u100 / u102).
    error Unauthorized(address account);
    /// @notice `account` is not registered as the participant kind this call needs.
    error ParticipantNotFound(address account);
    /// @notice `operator` never registered as a grid operator.
    error OperatorNotFound(address operator);
    /// @notice No metrics were recorded under `metricsId`.
    error MetricsNotFound(uint256 metricsId);
    /// @notice No emergency was declared under `emergencyId`.
    error EmergencyNotFound(uint256 emergencyId);
    /// @notice The storage unit holds less energy than it was asked to discharge.
    error InsufficientStoredEnergy(address storageUnit, uint256 amountWh, uint256 storedWh);
    /// @notice Charging would draw more average power than the grid carries now.
    error InsufficientGridSupply(uint256 requiredW, uint256 availableW);
    /// @notice A capacity, rate or limit of zero or above `maxValue`.
    error CapacityOutOfRange(uint256 value, uint256 maxValue);
    /// @notice A producer reported more output than its capacity.
    error ProductionExceedsCapacity(address producer, uint256 outputW, uint256 capacityW);
    /// @notice More consumption than is left of the consumer's daily limit.
    error ConsumptionLimitExceeded(address consumer, uint256 amountWh, uint256 remainingWh);
    /// @notice Charging past the storage unit's capacity.
    error StorageCapacityExceeded(address storageUnit, uint256 amountWh, uint256 freeWh);
    /// @notice Charging faster than the unit's charge rate allows in this 900 s interval.
    error ChargeRateExceeded(address storageUnit, uint256 amountWh, uint256 allowedWh);
    /// @notice Discharging faster than the unit's discharge rate allows in this 900 s interval.
    error DischargeRateExceeded(address storageUnit, uint256 amountWh, uint256 allowedWh);
    /// @notice `account` is registered already as this participant kind or as an operator.
    error AlreadyRegistered(address account);
    /// @notice `operator` is verified already.
    error OperatorAlreadyVerified(address operator);
    /// @notice `operator` must be verified before it can be authorized.
    error OperatorNotVerified(address operator);
    /// @notice `account` was deactivated.
    error ParticipantInactive(address account);
    /// @notice `account` is active already.
    error ParticipantAlreadyActive(address account);
    /// @notice The consumer's PaymentToken balance is below the cost.
    error InsufficientBalance(address consumer, uint256 cost, uint256 balance);
    /// @notice The consumer approved this contract for less PaymentToken than the cost.
    error InsufficientAllowance(address consumer, uint256 cost, uint256 allowance);
    /// @notice A reputation score above MAX_REPUTATION.
    error ReputationOutOfRange(uint256 score, uint256 maxScore);
    /// @notice A base price of zero or above MAX_BASE_PRICE_PER_KWH.
    error InvalidBasePrice(uint256 pricePerKWh);
    /// @notice An efficiency above 10,000 bps.
    error EfficiencyOutOfRange(uint256 efficiencyBps);
    /// @notice A metric above what the record holds (`maxValue`).
    error MetricOutOfRange(uint256 value, uint256 maxValue);
    /// @notice An operator name that is empty or longer than MAX_NAME_BYTES.
    error InvalidOperatorName(uint256 lengthBytes);
    /// @notice More shutdown targets than MAX_SHUTDOWN_TARGETS.
    error TooManyShutdownTargets(uint256 count, uint256 maxCount);

    // ----------------------------------------------------------------------------- participants (seed 000)

    /// @notice Registers the caller as a producer of `capacityW` (> 0) of `energyType` (0 solar .. 6 natural gas).
    function registerProducer(uint256 capacityW, uint8 energyType) external;

    /// @notice Registers the caller as a consumer who may consume up to `consumptionLimitWh` per UTC day.
    function registerConsumer(uint256 consumptionLimitWh) external;

    /// @notice Registers the caller as a storage facility.
    function registerStorage(uint256 capacityWh, uint256 chargeRateW, uint256 dischargeRateW) external;

    /// @notice Sets the calling producer's current output (≤ its capacity); the grid load moves by the difference.
    function reportProduction(uint256 amountW) external;

    /// @notice The calling consumer takes `amountWh` from the grid and pays ceil(amountWh × getDynamicPrice() / 1000)
    /// PaymentToken to the fee recipient, pulled by approval.
    function consumeEnergy(uint256 amountWh) external;

    /// @notice The calling storage unit charges `amountWh` from the grid within the current 900 s
    /// interval: the grid load falls by amountWh × 4 W for the rest of that interval.
    function chargeStorage(uint256 amountWh) external;

    /// @notice The calling storage unit discharges `amountWh` to the grid within the current 900 s
    /// interval: the grid load rises by amountWh × 4 W for the rest of that interval.
    function dischargeStorage(uint256 amountWh) external;

    /// @notice Sets `producer`'s reputation score (0-100). Operators only.
    function updateProducerReputation(address producer, uint256 score) external;

    /// @notice Deactivates a producer (`isProducer`) or a consumer; a producer's capacity and output
    /// leave the grid totals. Operators only.
    function deactivateParticipant(address account, bool isProducer) external;

    /// @notice Restores a deactivated producer (`isProducer`; its capacity counts again, its output
    /// starts at 0) or consumer. Operators only.
    function reactivateParticipant(address account, bool isProducer) external;

    function getProducer(address producer) external view returns (ProducerInfo memory);
    function getConsumer(address consumer) external view returns (ConsumerInfo memory);
    function getStorage(address storageUnit) external view returns (StorageInfo memory);

    // ----------------------------------------------------------------------------- grid and price (seed 000)

    function getGridStatus() external view returns (GridStatus memory);

    /// @notice base + base × currentLoadW / (2 × totalCapacityW), rounded down; base without
    /// capacity; 3 × base in emergency mode. PaymentToken base units per kWh.
    function getDynamicPrice() external view returns (uint256 pricePerKWh);

    /// @notice Sets the base price (> 0). DEFAULT_ADMIN_ROLE only.
    function setBasePrice(uint256 pricePerKWh) external;

    /// @notice Switches emergency mode on or off. Operators only.
    function toggleEmergencyMode() external;

    /// @notice Records grid metrics and returns their id (from 1). Operators only.
    function recordMetrics(uint256 productionWh, uint256 consumptionWh, uint256 peakLoadW, uint256 efficiencyBps)
        external
        returns (uint256 metricsId);

    function getMetrics(uint256 metricsId) external view returns (Metrics memory);

    // ----------------------------------------------------------------------------- operators (seeds 001, 003)

    /// @notice Registers the caller as a grid operator of `regionId`; the admin must verify it before it acts.
    function registerOperator(string calldata name, uint32 regionId, uint256 capacityMW) external;

    /// @notice Verifies and so authorizes `operator`. DEFAULT_ADMIN_ROLE only.
    function verifyOperator(address operator) external;

    /// @notice Suspends (`false`) or restores a verified operator. DEFAULT_ADMIN_ROLE only.
    function setOperatorAuthorization(address operator, bool authorized) external;

    function isVerifiedOperator(address account) external view returns (bool);

    /// @notice True when `account` is verified and not suspended: it may run operator functions.
    function isAuthorizedOperator(address account) external view returns (bool);

    function getOperator(address operator) external view returns (OperatorInfo memory);

    /// @notice Whether `account` may act as an operator now, and its region: one call for other contracts.
    function operatorStatus(address account) external view returns (bool authorized, uint32 regionId);

    // ----------------------------------------------------------------------------- grid status and emergencies (seed 003)

    /// @notice Records the grid status an operator observes. Operators only.
    function updateGridStatus(uint256 supplyW, uint256 demandW, uint256 frequencyMilliHz, uint256 voltagePerMille)
        external;

    function getCurrentGridStatus() external view returns (ReportedGridStatus memory);

    /// @notice Declares an emergency in `regionId` (severity 1 ALERT, 2 EMERGENCY, 3 CRITICAL) and
    /// switches emergency mode on. Operators, or contracts holding EMERGENCY_RESPONDER_ROLE.
    function implementEmergencyProtocol(uint32 regionId, uint8 severity, bytes32 reason)
        external
        returns (uint256 emergencyId);

    function getEmergency(uint256 emergencyId) external view returns (EmergencyRecord memory);

    function emergencyCount() external view returns (uint256);

    /// @notice Emergency shutdown: pauses consumption here and every shutdown target (trading,
    /// settlement, meter readings) at once. GUARDIAN_ROLE only; only the admin unpauses.
    function emergencyShutdown() external;

    /// @notice Sets the contracts emergencyShutdown pauses (each must grant this contract its PAUSER_ROLE). DEFAULT_ADMIN_ROLE only.
    function setShutdownTargets(address[] calldata targets) external;

    function getShutdownTargets() external view returns (address[] memory);

    /// @notice Resumes consumption after an emergency shutdown. DEFAULT_ADMIN_ROLE only.
    function unpause() external;

    // ----------------------------------------------------------------------------- settings

    /// @notice Sets who receives consumers' payments. DEFAULT_ADMIN_ROLE only.
    function setFeeRecipient(address feeRecipient_) external;

    function feeRecipient() external view returns (address);

    function paymentToken() external view returns (address);

    function basePrice() external view returns (uint256 pricePerKWh);
}

/// @title IPausableTarget
/// @notice What an emergency shutdown needs of a contract it pauses.
interface IPausableTarget {
    function pause() external;
    function paused() external view returns (bool);
}
