// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {FrequencyOutOfBounds, InvalidEnergyType, InvalidSeverity, VoltageOutOfBounds, ZeroAddress, ZeroAmount} from "../utils/GridErrors.sol";

/// @title IGridManagement
/// @notice The smart grid (producers, consumers, storage, dynamic price, emergency mode, metrics),
/// its grid operators (registration, verification, authorization), the grid status and emergency
/// protocol they run, and the guardian's emergency shutdown.
/// Units: power in W (an operator's capacity in kW, as GridOperations), energy in Wh, price in
/// PaymentToken base units per kWh, ratios in bps.
///
/// The grid's error codes map to these errors:
/// u100 err-owner-only and u102 err-unauthorized: Unauthorized, OperatorNotInRegion (operator
/// functions; admin functions use OpenZeppelin's AccessControlUnauthorizedAccount),
/// ParticipantNotVerified; u101 err-not-found: ParticipantNotFound,
/// OperatorNotFound, MetricsNotFound, EmergencyNotFound; u103 err-insufficient-energy:
/// InsufficientStoredEnergy, InsufficientGridSupply; u104 err-invalid-amount: ZeroAmount,
/// CapacityOutOfRange, ProductionExceedsCapacity, ConsumptionLimitExceeded, StorageCapacityExceeded,
/// ChargeRateExceeded, DischargeRateExceeded, PriceAboveLimit; u105 err-already-exists: AlreadyRegistered,
/// OperatorAlreadyVerified, ParticipantAlreadyVerified, EmergencyModeUnchanged; u106 err-inactive: ParticipantInactive, ParticipantAlreadyActive; u107 err-insufficient-balance:
/// InsufficientBalance, InsufficientAllowance; u108 err-invalid-input: InvalidEnergyType,
/// ReputationOutOfRange, InvalidBasePrice, EfficiencyOutOfRange, MetricOutOfRange, InvalidSeverity,
/// InvalidOperatorName, FrequencyOutOfBounds, VoltageOutOfBounds, ZeroAddress, TooManyShutdownTargets,
/// ShutdownTargetNotContract.
interface IGridManagement {
    /// @notice The energy types a producer generates, in a fixed order (their numbers never change).
    enum EnergyType {
        SOLAR,
        WIND,
        HYDRO,
        NUCLEAR,
        GEOTHERMAL,
        BIOMASS,
        NATURAL_GAS
    }

    /// @notice A producer: its capacity, output and verification.
    struct ProducerInfo {
        uint256 capacityW; // most it may report
        uint256 currentOutputW; // its latest reported output; counts in the grid load while active
        uint256 totalProducedWh; // its reported output integrated over time, rounded down
        EnergyType energyType;
        bool active;
        uint256 reputationScore; // 0-100, starts at 100
        uint256 lastReportAt; // unix s of its latest report (registration until the first)
        bool verified; // an operator verified it: it may report output, its capacity and output count
    }

    /// @notice A consumer: its daily limit and consumption. Its balance is its PaymentToken wallet.
    struct ConsumerInfo {
        uint256 consumptionLimitWh; // most it may consume in one UTC day
        uint256 consumedTodayWh; // consumed in the current UTC day
        uint256 totalConsumedWh;
        uint256 totalPaid; // PaymentToken base units paid for its consumption
        bool active;
    }

    /// @notice A storage facility: its capacity, charge and flows.
    struct StorageInfo {
        uint256 capacityWh;
        uint256 storedWh;
        uint256 chargeRateW; // most average power it may charge at within one 900 s interval
        uint256 dischargeRateW; // most average power it may discharge at within one 900 s interval
        uint256 intervalChargedWh; // charged in the current 900 s interval
        uint256 intervalDischargedWh; // discharged in the current 900 s interval
        bool verified; // an operator verified it: it may charge and discharge
    }

    /// @notice The grid's capacity, load and state as a whole.
    struct GridStatus {
        uint256 totalCapacityW; // verified, active producers' capacity
        uint256 currentLoadW; // producerOutputW + storageDischargeW - storageChargeW, at least 0
        uint256 utilizationBps; // currentLoadW * 10,000 / totalCapacityW; 0 without capacity
        bool emergencyMode; // any region is in emergency mode
        uint256 producerOutputW; // verified, active producers' reported output
        uint256 storageChargeW; // average power storage draws in the current 900 s interval
        uint256 storageDischargeW; // average power storage feeds in the current 900 s interval
        uint256 activeProducers; // verified and active
        uint256 basePricePerKWh;
        uint256 dynamicPricePerKWh; // getDynamicPrice()
    }

    /// @notice Grid performance recorded by an operator.
    struct Metrics {
        uint256 productionWh;
        uint256 consumptionWh;
        uint256 peakLoadW;
        uint256 efficiencyBps; // 0-10,000
        address recordedBy;
        uint256 recordedAt; // unix s
    }

    /// @notice A grid operator: its name, region and standing.
    struct OperatorInfo {
        string name;
        uint32 regionId; // the region it operates
        uint256 capacityKW; // capacity it operates
        bool verified; // the admin verified it
        bool authorized; // allowed to act now (verification authorizes; the admin may suspend)
        uint256 registeredAt; // unix s
    }

    /// @notice The grid status an operator last reported.
    struct ReportedGridStatus {
        uint256 supplyW;
        uint256 demandW;
        uint256 frequencyMilliHz;
        uint256 voltagePerMille;
        address updatedBy; // 0 = never reported
        uint256 updatedAt; // unix s; 0 = never reported
        bool emergencyMode; // any region is in emergency mode
    }

    /// @notice An emergency declared with implementEmergencyProtocol.
    struct EmergencyRecord {
        uint32 regionId;
        uint8 severity; // 1 ALERT, 2 EMERGENCY, 3 CRITICAL
        bytes32 reason; // a short code, e.g. "STABILITY_CRITICAL"
        address declaredBy; // an operator, or a contract holding EMERGENCY_RESPONDER_ROLE
        uint256 declaredAt; // unix s
    }

    // ----------------------------------------------------------------------------- events

    /// @notice `producer` registered; it is active and its reputation starts at 100. Its capacity
    /// counts in the grid totals once an operator verifies it.
    /// @param producer The caller, now a producer.
    /// @param capacityW The most output it may report, W.
    /// @param energyType Its energy type.
    event ProducerRegistered(address indexed producer, uint256 capacityW, EnergyType energyType);
    /// @notice `consumer` registered and is active.
    /// @param consumer The caller, now a consumer.
    /// @param consumptionLimitWh The most it may consume in one UTC day, Wh.
    event ConsumerRegistered(address indexed consumer, uint256 consumptionLimitWh);
    /// @notice `storageUnit` registered, empty.
    /// @param storageUnit The caller, now a storage facility.
    /// @param capacityWh The most energy it may hold, Wh.
    /// @param chargeRateW The most average power it may charge at within one 900 s interval, W.
    /// @param dischargeRateW The most average power it may discharge at within one 900 s interval, W.
    event StorageRegistered(address indexed storageUnit, uint256 capacityWh, uint256 chargeRateW, uint256 dischargeRateW);
    /// @notice `producer` reported its output; the grid load moved by the difference.
    /// @param producer The reporting producer.
    /// @param outputW Its output from now on, W.
    /// @param previousOutputW Its output before this report, W.
    /// @param producedWh Energy its previous output produced since its previous report (or its
    /// registration or reactivation), Wh, rounded down.
    event ProductionReported(address indexed producer, uint256 outputW, uint256 previousOutputW, uint256 producedWh);
    /// @notice `consumer` consumed `amountWh` and paid `cost` to the fee recipient.
    /// @param consumer The consuming consumer, who paid.
    /// @param amountWh The energy consumed, Wh.
    /// @param pricePerKWh The dynamic price it paid, PaymentToken base units per kWh.
    /// @param cost ceil(amountWh × pricePerKWh / 1000), PaymentToken base units.
    event EnergyConsumed(address indexed consumer, uint256 amountWh, uint256 pricePerKWh, uint256 cost);
    /// @notice `storageUnit` charged `amountWh` from the grid in `interval`; it now holds `storedWh`.
    /// @param storageUnit The charging storage unit.
    /// @param interval The delivery interval, timestamp / 900.
    /// @param amountWh The energy charged, Wh; it lowers the grid load by amountWh × 4 W until the interval ends.
    /// @param storedWh What the unit holds after charging, Wh.
    event StorageCharged(address indexed storageUnit, uint256 indexed interval, uint256 amountWh, uint256 storedWh);
    /// @notice `storageUnit` discharged `amountWh` to the grid in `interval`; it now holds `storedWh`.
    /// @param storageUnit The discharging storage unit.
    /// @param interval The delivery interval, timestamp / 900.
    /// @param amountWh The energy discharged, Wh; it raises the grid load by amountWh × 4 W until the interval ends.
    /// @param storedWh What the unit holds after discharging, Wh.
    event StorageDischarged(address indexed storageUnit, uint256 indexed interval, uint256 amountWh, uint256 storedWh);
    /// @notice An operator set `producer`'s reputation.
    /// @param producer The producer rated.
    /// @param previousScore Its score before, 0-100.
    /// @param newScore Its score from now on, 0-100.
    event ProducerReputationUpdated(address indexed producer, uint256 previousScore, uint256 newScore);
    /// @notice An operator verified a producer (`isProducer`) or a storage unit: a producer's
    /// capacity (and later its output) counts in the grid totals while it is active; a storage
    /// unit may charge and discharge.
    /// @param account The producer or storage unit verified.
    /// @param isProducer True for a producer, false for a storage unit.
    /// @param operator The operator who verified it.
    event ParticipantVerified(address indexed account, bool indexed isProducer, address indexed operator);
    /// @notice An operator deactivated a producer (`isProducer`) or a consumer.
    /// @param account The producer or consumer deactivated.
    /// @param isProducer True for a producer (its capacity and output left the grid totals), false for a consumer.
    /// @param operator The operator who deactivated it.
    event ParticipantDeactivated(address indexed account, bool indexed isProducer, address indexed operator);
    /// @notice An operator reactivated a producer (`isProducer`) or a consumer.
    /// @param account The producer or consumer reactivated.
    /// @param isProducer True for a producer (its capacity counts again, its output starts at 0), false for a consumer.
    /// @param operator The operator who reactivated it.
    event ParticipantReactivated(address indexed account, bool indexed isProducer, address indexed operator);
    /// @notice The admin changed the base price.
    /// @param previousPricePerKWh The base price before, PaymentToken base units per kWh.
    /// @param newPricePerKWh The base price from now on, PaymentToken base units per kWh.
    event BasePriceUpdated(uint256 previousPricePerKWh, uint256 newPricePerKWh);
    /// @notice `regionId`'s emergency mode was switched on or off: the dynamic price is 3 × base
    /// while any region's is on.
    /// @param regionId The region.
    /// @param active True when it was switched on.
    /// @param changedBy The region's operator who switched it, the admin who switched it off, or who
    /// declared an emergency there (the region's operator or an EMERGENCY_RESPONDER_ROLE contract).
    event EmergencyModeChanged(uint32 indexed regionId, bool active, address indexed changedBy);
    /// @notice An operator recorded grid metrics under `metricsId`.
    /// @param metricsId The metrics' id, from 1.
    /// @param operator The operator who recorded them.
    /// @param productionWh Energy produced, as the operator reported it, Wh.
    /// @param consumptionWh Energy consumed, as the operator reported it, Wh.
    /// @param peakLoadW Peak load, as the operator reported it, W.
    /// @param efficiencyBps Grid efficiency, basis points (10,000 = 100 %).
    event MetricsRecorded(
        uint256 indexed metricsId,
        address indexed operator,
        uint256 productionWh,
        uint256 consumptionWh,
        uint256 peakLoadW,
        uint256 efficiencyBps
    );
    /// @notice `operator` registered itself for `regionId`; it may act once the admin verifies it.
    /// @param operator The caller, now a registered, unverified operator.
    /// @param regionId The region it operates.
    /// @param name Its name, 1 to MAX_NAME_BYTES bytes.
    /// @param capacityKW The capacity it operates, kW.
    event OperatorRegistered(address indexed operator, uint32 indexed regionId, string name, uint256 capacityKW);
    /// @notice The admin verified `operator`, which authorizes it.
    /// @param operator The operator verified.
    event OperatorVerified(address indexed operator);
    /// @notice The admin authorized or suspended a verified `operator`.
    /// @param operator The operator.
    /// @param authorized True when it may run operator functions from now on, false when suspended.
    event OperatorAuthorizationUpdated(address indexed operator, bool authorized);
    /// @notice An operator reported the grid status; it replaces the previous report.
    /// @param operator The reporting operator.
    /// @param supplyW The supply it observes, W.
    /// @param demandW The demand it observes, W.
    /// @param frequencyMilliHz The grid frequency, mHz (50 Hz = 50,000).
    /// @param voltagePerMille The grid voltage, per mille of nominal (1000 = 100 %).
    event GridStatusUpdated(
        address indexed operator, uint256 supplyW, uint256 demandW, uint256 frequencyMilliHz, uint256 voltagePerMille
    );
    /// @notice An emergency was declared in `regionId`; the region's emergency mode is on.
    /// @param emergencyId The emergency's id, from 1.
    /// @param regionId The region it concerns.
    /// @param severity 1 ALERT, 2 EMERGENCY, 3 CRITICAL.
    /// @param reason A short code, e.g. "STABILITY_CRITICAL".
    /// @param declaredBy An operator, or a contract holding EMERGENCY_RESPONDER_ROLE.
    event EmergencyProtocolImplemented(
        uint256 indexed emergencyId, uint32 indexed regionId, uint8 severity, bytes32 reason, address indexed declaredBy
    );
    /// @notice The guardian paused this contract and every shutdown target.
    /// @param guardian The GUARDIAN_ROLE account that called emergencyShutdown.
    /// @param targets The shutdown targets; each not paused already is paused right after.
    event EmergencyShutdownActivated(address indexed guardian, address[] targets);
    /// @notice An emergency shutdown could not pause `target`; the other targets were paused all the same.
    /// @param target The shutdown target whose pause() reverted.
    /// @param reason Its revert data (empty when it gave none).
    event ShutdownTargetFailed(address indexed target, bytes reason);
    /// @notice The admin changed the contracts an emergency shutdown pauses.
    /// @param targets The new list, replacing the old one; at most MAX_SHUTDOWN_TARGETS.
    event ShutdownTargetsUpdated(address[] targets);
    /// @notice The admin changed who receives consumers' payments.
    /// @param previousRecipient The recipient before.
    /// @param newRecipient The recipient from now on.
    event FeeRecipientUpdated(address indexed previousRecipient, address indexed newRecipient);

    // ----------------------------------------------------------------------------- errors

    /// @notice `account` is not a verified, authorized grid operator (codes u100 / u102).
    /// @param account The caller.
    error Unauthorized(address account);
    /// @notice An authorized operator acted on a region other than its own.
    /// @param operator The caller.
    /// @param operatorRegionId The region it operates.
    /// @param regionId The region it named.
    error OperatorNotInRegion(address operator, uint32 operatorRegionId, uint32 regionId);
    /// @notice `account` is a producer or storage unit no operator has verified yet.
    /// @param account The caller.
    error ParticipantNotVerified(address account);
    /// @notice `account` was verified already.
    /// @param account The producer or storage unit named.
    error ParticipantAlreadyVerified(address account);
    /// @notice The dynamic price is above the most the consumer agreed to pay.
    /// @param pricePerKWh The dynamic price now, PaymentToken base units per kWh.
    /// @param maxPricePerKWh The consumer's limit, PaymentToken base units per kWh.
    error PriceAboveLimit(uint256 pricePerKWh, uint256 maxPricePerKWh);
    /// @notice The region's emergency mode is `active` already.
    /// @param regionId The region.
    /// @param active Its emergency mode, which the call asked for.
    error EmergencyModeUnchanged(uint32 regionId, bool active);
    /// @notice A shutdown target with no code: it cannot be paused.
    /// @param target The address given.
    error ShutdownTargetNotContract(address target);
    /// @notice `account` is not registered as the participant kind this call needs.
    /// @param account The caller, or the producer, consumer or storage unit named.
    error ParticipantNotFound(address account);
    /// @notice `operator` never registered as a grid operator.
    /// @param operator The operator named.
    error OperatorNotFound(address operator);
    /// @notice No metrics were recorded under `metricsId`.
    /// @param metricsId The id asked for.
    error MetricsNotFound(uint256 metricsId);
    /// @notice No emergency was declared under `emergencyId`.
    /// @param emergencyId The id asked for.
    error EmergencyNotFound(uint256 emergencyId);
    /// @notice The storage unit holds less energy than it was asked to discharge.
    /// @param storageUnit The caller.
    /// @param amountWh The energy asked for, Wh.
    /// @param storedWh What the unit holds, Wh.
    error InsufficientStoredEnergy(address storageUnit, uint256 amountWh, uint256 storedWh);
    /// @notice Charging would draw more average power than the grid load now carries.
    /// @param requiredW The charge's average power over one 900 s interval (amountWh × 4), W.
    /// @param availableW The current grid load: producers' output plus storage discharge minus charge, W.
    error InsufficientGridSupply(uint256 requiredW, uint256 availableW);
    /// @notice A capacity, rate or limit of zero or above `maxValue`.
    /// @param value The value given: W for a producer capacity or a rate, Wh for a storage capacity
    /// or a daily consumption limit, kW for an operator capacity.
    /// @param maxValue The highest allowed, same unit: MAX_POWER_W, MAX_ENERGY_WH or type(uint32).max.
    error CapacityOutOfRange(uint256 value, uint256 maxValue);
    /// @notice A producer reported more output than its capacity.
    /// @param producer The caller.
    /// @param outputW The output reported, W.
    /// @param capacityW Its capacity, W.
    error ProductionExceedsCapacity(address producer, uint256 outputW, uint256 capacityW);
    /// @notice More consumption than is left of the consumer's daily limit.
    /// @param consumer The caller.
    /// @param amountWh The energy asked for, Wh.
    /// @param remainingWh Its daily limit less what it consumed in the current UTC day, Wh.
    error ConsumptionLimitExceeded(address consumer, uint256 amountWh, uint256 remainingWh);
    /// @notice Charging past the storage unit's capacity.
    /// @param storageUnit The caller.
    /// @param amountWh The energy asked for, Wh.
    /// @param freeWh Its capacity less what it holds, Wh.
    error StorageCapacityExceeded(address storageUnit, uint256 amountWh, uint256 freeWh);
    /// @notice Charging faster than the unit's charge rate allows in this 900 s interval.
    /// @param storageUnit The caller.
    /// @param amountWh The energy asked for, Wh.
    /// @param allowedWh chargeRateW × 900 s, rounded down to Wh, less what it charged this interval, Wh.
    error ChargeRateExceeded(address storageUnit, uint256 amountWh, uint256 allowedWh);
    /// @notice Discharging faster than the unit's discharge rate allows in this 900 s interval.
    /// @param storageUnit The caller.
    /// @param amountWh The energy asked for, Wh.
    /// @param allowedWh dischargeRateW × 900 s, rounded down to Wh, less what it discharged this interval, Wh.
    error DischargeRateExceeded(address storageUnit, uint256 amountWh, uint256 allowedWh);
    /// @notice `account` is registered already as this participant kind or as an operator.
    /// @param account The caller.
    error AlreadyRegistered(address account);
    /// @notice `operator` is verified already.
    /// @param operator The operator named.
    error OperatorAlreadyVerified(address operator);
    /// @notice `operator` must be verified before it can be authorized or suspended.
    /// @param operator The operator named.
    error OperatorNotVerified(address operator);
    /// @notice `account` was deactivated.
    /// @param account The caller, or the producer or consumer named.
    error ParticipantInactive(address account);
    /// @notice `account` is active already.
    /// @param account The producer or consumer named.
    error ParticipantAlreadyActive(address account);
    /// @notice The consumer's PaymentToken balance is below the cost.
    /// @param consumer The caller.
    /// @param cost What the consumption costs, PaymentToken base units.
    /// @param balance Its PaymentToken balance, base units.
    error InsufficientBalance(address consumer, uint256 cost, uint256 balance);
    /// @notice The consumer approved this contract for less PaymentToken than the cost.
    /// @param consumer The caller.
    /// @param cost What the consumption costs, PaymentToken base units.
    /// @param allowance What it approved this contract for, PaymentToken base units.
    error InsufficientAllowance(address consumer, uint256 cost, uint256 allowance);
    /// @notice A reputation score above MAX_REPUTATION.
    /// @param score The score given.
    /// @param maxScore MAX_REPUTATION (100).
    error ReputationOutOfRange(uint256 score, uint256 maxScore);
    /// @notice A base price of zero or above MAX_BASE_PRICE_PER_KWH.
    /// @param pricePerKWh The price given, PaymentToken base units per kWh.
    error InvalidBasePrice(uint256 pricePerKWh);
    /// @notice An efficiency above 10,000 bps.
    /// @param efficiencyBps The efficiency given, basis points.
    error EfficiencyOutOfRange(uint256 efficiencyBps);
    /// @notice A metric or status value above what its record holds (`maxValue`).
    /// @param value The value given, in its own unit (Wh or W).
    /// @param maxValue The highest its record holds, same unit: type(uint96).max for energy,
    /// type(uint64).max for power.
    error MetricOutOfRange(uint256 value, uint256 maxValue);
    /// @notice An operator name that is empty or longer than MAX_NAME_BYTES.
    /// @param lengthBytes The name's length, bytes.
    error InvalidOperatorName(uint256 lengthBytes);
    /// @notice More shutdown targets than MAX_SHUTDOWN_TARGETS.
    /// @param count The number of targets given.
    /// @param maxCount MAX_SHUTDOWN_TARGETS.
    error TooManyShutdownTargets(uint256 count, uint256 maxCount);

    // ----------------------------------------------------------------------------- participants

    /// @notice Registers the caller as a producer of `capacityW` (> 0) of `energyType` (0 solar .. 6
    /// natural gas). It may report output, and its capacity counts, once an operator verifies it.
    function registerProducer(uint256 capacityW, uint8 energyType) external;

    /// @notice Registers the caller as a consumer who may consume up to `consumptionLimitWh` per UTC day.
    function registerConsumer(uint256 consumptionLimitWh) external;

    /// @notice Registers the caller as a storage facility; it may charge and discharge once an operator verifies it.
    function registerStorage(uint256 capacityWh, uint256 chargeRateW, uint256 dischargeRateW) external;

    /// @notice Sets the calling verified producer's current output (≤ its capacity); the grid load
    /// moves by the difference.
    function reportProduction(uint256 amountW) external;

    /// @notice The calling consumer takes `amountWh` from the grid and pays ceil(amountWh × getDynamicPrice() / 1000)
    /// PaymentToken to the fee recipient, pulled by approval; reverts with PriceAboveLimit when the
    /// price is above `maxPricePerKWh` (the price it saw, so a price moved before the transaction
    /// runs cannot charge it more).
    function consumeEnergy(uint256 amountWh, uint256 maxPricePerKWh) external;

    /// @notice The calling verified storage unit charges `amountWh` from the grid within the current 900 s
    /// interval: the grid load falls by amountWh × 4 W for the rest of that interval.
    function chargeStorage(uint256 amountWh) external;

    /// @notice The calling verified storage unit discharges `amountWh` to the grid within the current 900 s
    /// interval: the grid load rises by amountWh × 4 W for the rest of that interval.
    function dischargeStorage(uint256 amountWh) external;

    /// @notice Verifies a producer: its capacity counts in the grid totals (while active) and it
    /// may report output. Operators only.
    function verifyProducer(address producer) external;

    /// @notice Verifies a storage unit: it may charge and discharge. Operators only.
    function verifyStorage(address storageUnit) external;

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

    // ----------------------------------------------------------------------------- grid and price

    function getGridStatus() external view returns (GridStatus memory);

    /// @notice base + base × min(currentLoadW, totalCapacityW) / (2 × totalCapacityW), rounded
    /// down (at most 1.5 × base); base without verified capacity; 3 × base while any region is in
    /// emergency mode. PaymentToken base units per kWh.
    function getDynamicPrice() external view returns (uint256 pricePerKWh);

    /// @notice Sets the base price (> 0). DEFAULT_ADMIN_ROLE only.
    function setBasePrice(uint256 pricePerKWh) external;

    /// @notice Switches `regionId`'s emergency mode on (`active`) or off. The region's operators
    /// only; the admin may switch it off too.
    function toggleEmergencyMode(uint32 regionId, bool active) external;

    /// @notice Switches the calling operator's own region's emergency mode (the region it registered
    /// for) to the other state, and returns the new one: the specification's form, which names no
    /// region. Authorized operators only (the admin, which has no region, uses the regional form).
    /// @return active True when the region's emergency mode is on from now on.
    function toggleEmergencyMode() external returns (bool active);

    /// @notice Whether `regionId` is in emergency mode.
    function isRegionInEmergency(uint32 regionId) external view returns (bool);

    /// @notice Records grid metrics and returns their id (from 1). Operators only.
    function recordMetrics(uint256 productionWh, uint256 consumptionWh, uint256 peakLoadW, uint256 efficiencyBps)
        external
        returns (uint256 metricsId);

    function getMetrics(uint256 metricsId) external view returns (Metrics memory);

    // ----------------------------------------------------------------------------- operators

    /// @notice Registers the caller as a grid operator of `regionId`; the admin must verify it before it acts.
    function registerOperator(string calldata name, uint32 regionId, uint256 capacityKW) external;

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

    // ----------------------------------------------------------------------------- grid status and emergencies

    /// @notice Records the grid status an operator observes. Operators only.
    function updateGridStatus(uint256 supplyW, uint256 demandW, uint256 frequencyMilliHz, uint256 voltagePerMille)
        external;

    function getCurrentGridStatus() external view returns (ReportedGridStatus memory);

    /// @notice Declares an emergency in `regionId` (severity 1 ALERT, 2 EMERGENCY, 3 CRITICAL) and
    /// switches the region's emergency mode on. The region's operators, or contracts holding
    /// EMERGENCY_RESPONDER_ROLE (which check the region themselves).
    function implementEmergencyProtocol(uint32 regionId, uint8 severity, bytes32 reason)
        external
        returns (uint256 emergencyId);

    function getEmergency(uint256 emergencyId) external view returns (EmergencyRecord memory);

    function emergencyCount() external view returns (uint256);

    /// @notice Emergency shutdown: pauses consumption here and every shutdown target (trading,
    /// settlement, meter readings) at once; a target that cannot be paused is reported with
    /// ShutdownTargetFailed. GUARDIAN_ROLE only; only the admin unpauses.
    function emergencyShutdown() external;

    /// @notice Sets the contracts emergencyShutdown pauses (each a contract that grants this contract
    /// its PAUSER_ROLE). DEFAULT_ADMIN_ROLE only.
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
