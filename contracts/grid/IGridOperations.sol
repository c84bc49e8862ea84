// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BatchTooLarge, EmptyBatch, FrequencyOutOfBounds, InvalidHistoryPage, InvalidSeverity, OperatorNotAuthorized, VoltageOutOfBounds, ZeroAddress} from "../utils/GridErrors.sol";

/// @title IGridOperations
/// @notice Load monitoring, stability maintenance and balancing coordination, per grid
/// region, run by the verified grid operators of GridManagement for their own region.
/// Units: power in kW, frequency in mHz (50 Hz = 50,000), voltage in per-mille of nominal
/// (1000 = 100 %), phase angle in millidegrees, time in unix seconds.
///
/// Enum-like inputs arrive as uint8 and are checked with a custom error (an out-of-range enum
/// argument would revert in the ABI decoder without one). Zero is never a valid trigger condition
/// or action type: a stored zero means "none", so an unset mapping entry reads as absent.
interface IGridOperations {
    /// @notice The load status of a load percentage: LOW ≤ 30 %, NORMAL 31-79 %, HIGH 80-94 %,
    /// CRITICAL ≥ 95 %.
    enum LoadStatus {
        LOW,
        NORMAL,
        HIGH,
        CRITICAL
    }

    /// @notice Stability levels, graded by the deviation from 50 Hz and from nominal
    /// voltage; a report's level is the worse of its frequency and voltage grades.
    /// Frequency: NORMAL within ±0.5 Hz, ALERT within ±1 Hz, EMERGENCY within ±2 Hz (where
    /// under-frequency load shedding acts), CRITICAL beyond. Voltage: NORMAL within 95-105 %,
    /// ALERT within 90-110 %, EMERGENCY within 85-115 %, CRITICAL beyond. Every edge is inclusive.
    enum StabilityLevel {
        NORMAL,
        ALERT,
        EMERGENCY,
        CRITICAL
    }

    /// @notice What fires an automated response: the reported value is outside the NORMAL band on
    /// that side (frequency below 49.5 Hz / above 50.5 Hz, voltage below 95 % / above 105 %).
    /// NONE (0) marks a manual response and is not a valid input.
    enum TriggerCondition {
        NONE,
        UNDER_FREQUENCY,
        OVER_FREQUENCY,
        UNDER_VOLTAGE,
        OVER_VOLTAGE
    }

    /// @notice Balancing action types. NONE (0) marks "no action" and is not a valid input.
    enum ActionType {
        NONE,
        GENERATION_UP,
        GENERATION_DOWN,
        LOAD_SHEDDING,
        STORAGE_DISPATCH
    }

    /// @notice A balancing action's state; NONE (0) = no such action.
    enum ActionStatus {
        NONE,
        PENDING,
        COMPLETED,
        CANCELLED
    }

    /// @notice One load report of a region: its load at the time, against the capacity available.
    struct LoadReport {
        uint256 sequence; // the region's report number, from 0
        uint256 capacityKW; // capacity available when reported
        uint256 demandKW; // demand when reported; may exceed the capacity
        uint256 loadPercentage; // demandKW × 100 / capacityKW, rounded down
        LoadStatus status; // getLoadStatus(loadPercentage)
        uint256 reportedAt; // unix s
        address reportedBy; // the region's operator, or a LOAD_REPORTER_ROLE account
    }

    /// @notice One region's load in a batch of load reports (reportLoads).
    struct RegionLoad {
        uint32 regionId;
        uint256 capacityKW; // capacity available, > 0
        uint256 demandKW; // demand; may exceed the capacity
    }

    /// @notice A region's latest stability metrics, as its operator reported them.
    struct StabilityMetrics {
        uint256 frequencyMilliHz;
        uint256 voltagePerMille;
        int256 phaseAngleMilliDegrees; // -180,000 .. 180,000
        StabilityLevel level; // getStabilityLevel(frequencyMilliHz, voltagePerMille)
        uint256 reportedAt; // unix s
        address reportedBy; // the operator
    }

    /// @notice A region's automated response to one trigger condition, as its operator configured it.
    struct AutomatedResponse {
        TriggerCondition triggerCondition;
        ActionType actionType; // the balancing action it calls for
        uint256 targetAdjustmentKW; // how much
        uint8 priority; // 1 (most urgent) .. 10
        address configuredBy; // the region's operator
        uint256 configuredAt; // unix s
    }

    /// @notice A stability response: fired automatically inside a report, or triggered by an operator.
    struct StabilityResponse {
        uint32 regionId;
        bool automated; // fired by a configured trigger inside reportStabilityMetrics
        TriggerCondition triggerCondition; // automated: the trigger that fired; manual: NONE
        ActionType actionType; // automated: the configured action; manual: NONE
        uint256 targetAdjustmentKW; // automated: the configured adjustment; manual: 0
        uint8 priority; // automated: the configured priority; manual: 0
        StabilityLevel severity; // automated: the report's level; manual: the operator's severity
        uint256 frequencyMilliHz; // observed: the report's (automated) or the operator's (manual)
        uint256 voltagePerMille; // observed, as frequencyMilliHz
        address createdBy; // the reporting or triggering operator
        uint256 createdAt; // unix s
    }

    /// @notice A region's generation capacity and what pending balancing actions have committed of it.
    struct RegionCapacity {
        uint256 maxGenerationKW;
        uint256 currentGenerationKW; // ≤ maxGenerationKW
        uint256 reserveCapacityKW; // ≤ maxGenerationKW - currentGenerationKW
        uint256 committedReserveKW; // pending GENERATION_UP and STORAGE_DISPATCH targets, ≤ reserve
        uint256 committedGenerationDownKW; // pending GENERATION_DOWN targets, ≤ current generation
        uint256 committedLoadSheddingKW; // pending LOAD_SHEDDING targets
        uint256 updatedAt; // unix s of the latest setRegionCapacity or completed action
    }

    /// @notice A balancing action an operator initiated for its region.
    struct BalancingAction {
        uint32 regionId;
        ActionType actionType;
        ActionStatus status;
        uint256 targetKW;
        uint8 priority; // 1 (most urgent) .. 10
        address initiatedBy;
        uint256 initiatedAt; // unix s
        address closedBy; // who completed or cancelled it; 0 while pending
        uint256 closedAt; // unix s; 0 while pending
    }

    // ----------------------------------------------------------------------------- events

    /// @notice `operator` reported `regionId`'s load as report number `sequence`.
    /// @param regionId The region reported.
    /// @param operator The reporting operator of the region, or the LOAD_REPORTER_ROLE account that
    /// reported it in a batch.
    /// @param sequence The report's number in the region, from 0.
    /// @param capacityKW The capacity available, kW.
    /// @param demandKW The demand, kW; may exceed the capacity.
    /// @param loadPercentage demandKW × 100 / capacityKW, rounded down, percent.
    /// @param status getLoadStatus(loadPercentage).
    event LoadReported(
        uint32 indexed regionId,
        address indexed operator,
        uint256 sequence,
        uint256 capacityKW,
        uint256 demandKW,
        uint256 loadPercentage,
        LoadStatus status
    );
    /// @notice `operator` reported `regionId`'s stability metrics, graded `level`. A CRITICAL level
    /// also declared an emergency in GridManagement (its events follow in the same transaction).
    /// @param regionId The region reported.
    /// @param operator The reporting operator of the region.
    /// @param frequencyMilliHz The grid frequency, mHz (50 Hz = 50,000).
    /// @param voltagePerMille The grid voltage, per mille of nominal (1000 = 100 %).
    /// @param phaseAngleMilliDegrees The phase angle, millidegrees (-180,000 .. 180,000).
    /// @param level getStabilityLevel(frequencyMilliHz, voltagePerMille): the worse of the two grades.
    event StabilityMetricsReported(
        uint32 indexed regionId,
        address indexed operator,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        int256 phaseAngleMilliDegrees,
        StabilityLevel level
    );
    /// @notice `operator` set `regionId`'s automated response to `triggerCondition` (replacing any).
    /// @param regionId The operator's region.
    /// @param triggerCondition The breach that fires the response.
    /// @param operator The configuring operator.
    /// @param actionType The balancing action the response calls for.
    /// @param targetAdjustmentKW How much that action should adjust, kW.
    /// @param priority 1 (most urgent) .. 10.
    event AutomatedResponseConfigured(
        uint32 indexed regionId,
        TriggerCondition indexed triggerCondition,
        address indexed operator,
        ActionType actionType,
        uint256 targetAdjustmentKW,
        uint8 priority
    );
    /// @notice `removedBy` (the region's operator or the admin) removed `regionId`'s automated
    /// response to `triggerCondition`.
    /// @param regionId The region.
    /// @param triggerCondition The trigger whose response was removed.
    /// @param removedBy The region's operator or the DEFAULT_ADMIN_ROLE account.
    event AutomatedResponseRemoved(
        uint32 indexed regionId, TriggerCondition indexed triggerCondition, address indexed removedBy
    );
    /// @notice A report breached `triggerCondition` and fired `regionId`'s configured response,
    /// recorded as `responseId`.
    /// @param responseId The stability response's id, from 1.
    /// @param regionId The region reported.
    /// @param triggerCondition The breached trigger.
    /// @param actionType The configured balancing action (recorded, not initiated).
    /// @param targetAdjustmentKW The configured adjustment, kW.
    /// @param priority The configured priority, 1 (most urgent) .. 10.
    /// @param severity The report's stability level.
    event AutomatedResponseFired(
        uint256 indexed responseId,
        uint32 indexed regionId,
        TriggerCondition indexed triggerCondition,
        ActionType actionType,
        uint256 targetAdjustmentKW,
        uint8 priority,
        StabilityLevel severity
    );
    /// @notice `operator` triggered a manual stability response, recorded as `responseId`.
    /// @param responseId The stability response's id, from 1.
    /// @param regionId The operator's region.
    /// @param operator The triggering operator.
    /// @param frequencyMilliHz The frequency it observed, mHz.
    /// @param voltagePerMille The voltage it observed, per mille of nominal.
    /// @param severity The severity it chose: ALERT, EMERGENCY or CRITICAL.
    /// @param emergencyId The emergency declared in GridManagement for a CRITICAL severity; 0 otherwise.
    event StabilityResponseTriggered(
        uint256 indexed responseId,
        uint32 indexed regionId,
        address indexed operator,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        StabilityLevel severity,
        uint256 emergencyId
    );
    /// @notice `operator` set `regionId`'s generation capacity.
    /// @param regionId The operator's region.
    /// @param operator The setting operator.
    /// @param maxGenerationKW The most generation the region has, kW.
    /// @param currentGenerationKW The generation running now, kW.
    /// @param reserveCapacityKW The reserve balancing may dispatch, kW.
    event RegionCapacitySet(
        uint32 indexed regionId,
        address indexed operator,
        uint256 maxGenerationKW,
        uint256 currentGenerationKW,
        uint256 reserveCapacityKW
    );
    /// @notice `operator` initiated balancing action `actionId`, committing `targetKW`.
    /// @param actionId The action's id, from 1.
    /// @param regionId The operator's region.
    /// @param operator The initiating operator.
    /// @param actionType What the action does.
    /// @param targetKW The kW it commits and moves on completion.
    /// @param priority 1 (most urgent) .. 10.
    event BalancingActionInitiated(
        uint256 indexed actionId,
        uint32 indexed regionId,
        address indexed operator,
        ActionType actionType,
        uint256 targetKW,
        uint8 priority
    );
    /// @notice `operator` completed balancing action `actionId`; the region's generation and
    /// reserve are now `currentGenerationKW` and `reserveCapacityKW`.
    /// @param actionId The action completed.
    /// @param regionId The action's region.
    /// @param operator The completing operator of that region.
    /// @param currentGenerationKW The region's generation after the action, kW.
    /// @param reserveCapacityKW The region's reserve after the action, kW.
    event BalancingActionCompleted(
        uint256 indexed actionId,
        uint32 indexed regionId,
        address indexed operator,
        uint256 currentGenerationKW,
        uint256 reserveCapacityKW
    );
    /// @notice `cancelledBy` (the region's operator or the admin) cancelled balancing action
    /// `actionId`; its commitment is released.
    /// @param actionId The action cancelled.
    /// @param regionId The action's region.
    /// @param cancelledBy The region's operator or the DEFAULT_ADMIN_ROLE account.
    event BalancingActionCancelled(uint256 indexed actionId, uint32 indexed regionId, address indexed cancelledBy);

    // ----------------------------------------------------------------------------- errors

    /// @notice `operator` operates `operatorRegionId`, not `regionId`.
    /// @param operator The caller, an authorized operator.
    /// @param operatorRegionId The region GridManagement lists it in.
    /// @param regionId The region named, or the balancing action's region.
    error OperatorNotInRegion(address operator, uint32 operatorRegionId, uint32 regionId);
    /// @notice A capacity (a load report's, or a region's maximum generation) of zero or above `maxKW`.
    /// @param capacityKW The capacity given, kW.
    /// @param maxKW MAX_POWER_KW.
    error CapacityOutOfRange(uint256 capacityKW, uint256 maxKW);
    /// @notice A load report's demand above `maxKW`.
    /// @param valueKW The demand given, kW.
    /// @param maxKW MAX_POWER_KW.
    error PowerOutOfRange(uint256 valueKW, uint256 maxKW);
    /// @notice `regionId` has no load report.
    /// @param regionId The region asked about, or of a LOAD_SHEDDING action.
    error LoadNotReported(uint32 regionId);
    /// @notice A history page starting before the oldest retained report or after `reportCount`.
    /// @param regionId The region asked about.
    /// @param fromSequence The first report asked for.
    /// @param oldestSequence The oldest report still in the ring.
    /// @param reportCount Reports so far: the next report's sequence.
    error LoadHistoryOutOfRange(uint32 regionId, uint256 fromSequence, uint256 oldestSequence, uint256 reportCount);
    /// @notice A phase angle outside -180° .. 180°.
    /// @param phaseAngleMilliDegrees The angle given, millidegrees.
    error PhaseAngleOutOfBounds(int256 phaseAngleMilliDegrees);
    /// @notice `regionId` has no stability report.
    /// @param regionId The region asked about.
    error StabilityNotReported(uint32 regionId);
    /// @notice A trigger condition other than 1 UNDER_FREQUENCY .. 4 OVER_VOLTAGE.
    /// @param triggerCondition The value given.
    error InvalidTriggerCondition(uint256 triggerCondition);
    /// @notice An action type other than 1 GENERATION_UP .. 4 STORAGE_DISPATCH.
    /// @param actionType The value given.
    error InvalidActionType(uint256 actionType);
    /// @notice A priority outside 1 .. `maxPriority`.
    /// @param priority The priority given.
    /// @param maxPriority MAX_PRIORITY (10).
    error PriorityOutOfRange(uint256 priority, uint256 maxPriority);
    /// @notice A balancing target or automated adjustment of zero or above `maxKW`.
    /// @param targetKW The value given, kW.
    /// @param maxKW MAX_POWER_KW.
    error TargetOutOfRange(uint256 targetKW, uint256 maxKW);
    /// @notice `regionId` has no automated response to `triggerCondition`.
    /// @param regionId The region named.
    /// @param triggerCondition The trigger condition named.
    error AutomatedResponseNotConfigured(uint32 regionId, uint8 triggerCondition);
    /// @notice No stability response was recorded under `responseId`.
    /// @param responseId The id asked for.
    error StabilityResponseNotFound(uint256 responseId);
    /// @notice Current generation above the maximum.
    /// @param currentGenerationKW The current generation given, kW.
    /// @param maxGenerationKW The maximum given, kW.
    error GenerationExceedsMaximum(uint256 currentGenerationKW, uint256 maxGenerationKW);
    /// @notice A reserve above the headroom left by current generation (maximum - current).
    /// @param reserveCapacityKW The reserve given, kW.
    /// @param headroomKW The maximum less the current generation given, kW.
    error ReserveExceedsHeadroom(uint256 reserveCapacityKW, uint256 headroomKW);
    /// @notice A reserve below what pending GENERATION_UP and STORAGE_DISPATCH actions committed of it.
    /// @param regionId The region.
    /// @param reserveCapacityKW The reserve given, kW.
    /// @param committedKW What pending actions committed of the reserve, kW.
    error ReserveBelowCommitted(uint32 regionId, uint256 reserveCapacityKW, uint256 committedKW);
    /// @notice A current generation below what pending GENERATION_DOWN actions committed of it.
    /// @param regionId The region.
    /// @param currentGenerationKW The current generation given, kW.
    /// @param committedKW What pending GENERATION_DOWN actions committed, kW.
    error GenerationBelowCommitted(uint32 regionId, uint256 currentGenerationKW, uint256 committedKW);
    /// @notice `regionId`'s capacity was never set (setRegionCapacity).
    /// @param regionId The region.
    error RegionCapacityNotSet(uint32 regionId);
    /// @notice GENERATION_UP or STORAGE_DISPATCH above the reserve not committed to pending actions.
    /// @param regionId The region.
    /// @param targetKW The target given, kW.
    /// @param availableKW The reserve less its pending commitments, kW.
    error InsufficientReserve(uint32 regionId, uint256 targetKW, uint256 availableKW);
    /// @notice GENERATION_DOWN above the current generation not committed to pending actions.
    /// @param regionId The region.
    /// @param targetKW The target given, kW.
    /// @param availableKW The current generation less pending GENERATION_DOWN targets, kW.
    error InsufficientGeneration(uint32 regionId, uint256 targetKW, uint256 availableKW);
    /// @notice LOAD_SHEDDING above the latest reported demand not committed to pending shedding.
    /// @param regionId The region.
    /// @param targetKW The target given, kW.
    /// @param availableKW The latest reported demand less pending LOAD_SHEDDING targets (at least 0), kW.
    error InsufficientSheddableLoad(uint32 regionId, uint256 targetKW, uint256 availableKW);
    /// @notice No balancing action was initiated under `actionId`.
    /// @param actionId The id asked for.
    error BalancingActionNotFound(uint256 actionId);
    /// @notice Balancing action `actionId` was completed or cancelled already.
    /// @param actionId The action.
    /// @param status Its status: COMPLETED or CANCELLED.
    error BalancingActionNotPending(uint256 actionId, ActionStatus status);

    // ----------------------------------------------------------------------------- load monitoring

    /// @notice Reports `regionId`'s capacity (> 0) and demand: stores it as the latest load and
    /// appends it to the region's history ring. The caller's region's operators only.
    function reportLoad(uint32 regionId, uint256 capacityKW, uint256 demandKW) external;

    /// @notice Reports the load of several regions in one transaction, each as reportLoad would
    /// (the same checks, the same history and events), for up to MAX_LOAD_REPORTS regions. The
    /// LOAD_REPORTER_ROLE only: the admin grants it to the account that reads every transformer of
    /// the grid (a head-end system), which then reports them all at once instead of each region's
    /// operator sending a transaction of its own. EmptyBatch without a load, BatchTooLarge above
    /// MAX_LOAD_REPORTS.
    function reportLoads(RegionLoad[] calldata loads) external;

    /// @notice `regionId`'s latest load report; LoadNotReported without one.
    function getCurrentLoad(uint32 regionId) external view returns (LoadReport memory);

    /// @notice Whether `regionId`'s latest load report is CRITICAL (≥ 95 %); LoadNotReported without one.
    function isCriticalLoad(uint32 regionId) external view returns (bool);

    /// @notice The load status of a load percentage (see LoadStatus).
    function getLoadStatus(uint256 loadPercentage) external pure returns (LoadStatus);

    /// @notice Up to `count` (1 .. MAX_HISTORY_PAGE) of `regionId`'s load reports from `fromSequence`
    /// on, oldest first; shorter at the latest report (empty from `loadReportCount`).
    function getLoadHistory(uint32 regionId, uint256 fromSequence, uint256 count)
        external
        view
        returns (LoadReport[] memory);

    /// @notice How many load reports `regionId` has had: the next report's sequence.
    function loadReportCount(uint32 regionId) external view returns (uint256);

    // ----------------------------------------------------------------------------- stability maintenance

    /// @notice Reports `regionId`'s frequency, voltage and phase angle and grades them. Each breached
    /// trigger condition with a configured response fires it; a CRITICAL level declares an emergency
    /// in GridManagement (severity 3, "STABILITY_CRITICAL"). The region's operators only.
    function reportStabilityMetrics(
        uint32 regionId,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        int256 phaseAngleMilliDegrees
    ) external;

    /// @notice Records a manual stability response of `severity` (1 ALERT, 2 EMERGENCY, 3 CRITICAL)
    /// for the observed values and returns its id; CRITICAL declares an emergency in GridManagement.
    /// The region's operators only.
    function triggerStabilityResponse(
        uint32 regionId,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        uint8 severity
    ) external returns (uint256 responseId);

    /// @notice Sets the caller's region's response to `triggerCondition` (replacing any): the
    /// balancing action `actionType` of `targetAdjustmentKW` at `priority` (1 .. 10). Operators
    /// only, for the region GridManagement lists them in.
    function configureAutomatedResponse(
        uint8 triggerCondition,
        uint8 actionType,
        uint256 targetAdjustmentKW,
        uint8 priority
    ) external;

    /// @notice Removes `regionId`'s response to `triggerCondition`. The region's operators or the admin.
    function removeAutomatedResponse(uint32 regionId, uint8 triggerCondition) external;

    /// @notice `regionId`'s latest stability metrics; StabilityNotReported without any.
    function getStabilityMetrics(uint32 regionId) external view returns (StabilityMetrics memory);

    /// @notice The level of a frequency (45-65 Hz) and voltage (50-150 %): the worse of their grades.
    function getStabilityLevel(uint256 frequencyMilliHz, uint256 voltagePerMille)
        external
        pure
        returns (StabilityLevel);

    function getAutomatedResponse(uint32 regionId, uint8 triggerCondition)
        external
        view
        returns (AutomatedResponse memory);

    function getStabilityResponse(uint256 responseId) external view returns (StabilityResponse memory);

    /// @notice Stability responses recorded so far; ids run from 1 to this.
    function stabilityResponseCount() external view returns (uint256);

    // ----------------------------------------------------------------------------- balancing coordination

    /// @notice Sets `regionId`'s generation capacity: current ≤ max, reserve ≤ max - current, and
    /// neither below what pending actions committed. The region's operators only.
    function setRegionCapacity(
        uint32 regionId,
        uint256 maxGenerationKW,
        uint256 currentGenerationKW,
        uint256 reserveCapacityKW
    ) external;

    /// @notice Initiates a balancing action and commits its target: GENERATION_UP and
    /// STORAGE_DISPATCH from the uncommitted reserve, GENERATION_DOWN from the uncommitted current
    /// generation, LOAD_SHEDDING from the latest reported demand not already being shed. Needs the
    /// region's capacity set, and a load report for LOAD_SHEDDING. Returns its id (from 1). The
    /// region's operators only.
    function initiateBalancingAction(uint32 regionId, uint8 actionType, uint256 targetKW, uint8 priority)
        external
        returns (uint256 actionId);

    /// @notice Completes a pending action: releases its commitment and applies it. GENERATION_UP and
    /// STORAGE_DISPATCH move the target from reserve to current generation, GENERATION_DOWN from
    /// current generation back to reserve; LOAD_SHEDDING changes no capacity (the next load report
    /// shows the lower demand). The action's region's operators only.
    function completeBalancingAction(uint256 actionId) external;

    /// @notice Cancels a pending action: releases its commitment, applies nothing. The action's
    /// region's operators or the admin.
    function cancelBalancingAction(uint256 actionId) external;

    /// @notice `regionId`'s capacity and commitments; RegionCapacityNotSet before setRegionCapacity.
    function getRegionCapacity(uint32 regionId) external view returns (RegionCapacity memory);

    /// @notice The most kW an action of `actionType` may target in `regionId` now (0 without capacity or load).
    function getAvailableBalancingKW(uint32 regionId, uint8 actionType) external view returns (uint256 availableKW);

    function getBalancingAction(uint256 actionId) external view returns (BalancingAction memory);

    /// @notice Balancing actions initiated so far; ids run from 1 to this.
    function balancingActionCount() external view returns (uint256);
}
