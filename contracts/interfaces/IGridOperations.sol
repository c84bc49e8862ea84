// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {FrequencyOutOfBounds, InvalidHistoryPage, InvalidSeverity, OperatorNotAuthorized, VoltageOutOfBounds, ZeroAddress} from "./GridErrors.sol";

/// @title IGridOperations
/// @notice Seed 001's load monitoring, stability maintenance and balancing coordination, per grid
/// region, run by the verified grid operators of GridManagement for their own region.
/// Units: power in MW, frequency in mHz (50 Hz = 50,000), voltage in per-mille of nominal
/// (1000 = 100 %), phase angle in millidegrees, time in unix seconds.
///
/// Enum-like inputs arrive as uint8 and are checked with a custom error (an out-of-range enum
/// argument would revert in the ABI decoder without one). Zero is never a valid trigger condition
/// or action type: a stored zero means "none", so an unset mapping entry reads as absent.
interface IGridOperations {
    /// @notice Seed 001's load status of a load percentage: LOW ≤ 30 %, NORMAL 31-79 %, HIGH 80-94 %,
    /// CRITICAL ≥ 95 %.
    enum LoadStatus {
        LOW,
        NORMAL,
        HIGH,
        CRITICAL
    }

    /// @notice Seed 001's stability levels, graded by the deviation from 50 Hz and from nominal
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

    /// @notice Balancing action types (seed 001). NONE (0) marks "no action" and is not a valid input.
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

    /// @notice One load report of a region (seed 001 get-current-load).
    struct LoadReport {
        uint256 sequence; // the region's report number, from 0
        uint256 capacityMW; // capacity available when reported
        uint256 demandMW; // demand when reported; may exceed the capacity
        uint256 loadPercentage; // demandMW × 100 / capacityMW, rounded down
        LoadStatus status; // getLoadStatus(loadPercentage)
        uint256 reportedAt; // unix s
        address reportedBy; // the operator
    }

    /// @notice A region's latest stability metrics (seed 001 report-stability-metrics).
    struct StabilityMetrics {
        uint256 frequencyMilliHz;
        uint256 voltagePerMille;
        int256 phaseAngleMilliDegrees; // -180,000 .. 180,000
        StabilityLevel level; // getStabilityLevel(frequencyMilliHz, voltagePerMille)
        uint256 reportedAt; // unix s
        address reportedBy; // the operator
    }

    /// @notice A region's automated response to one trigger condition (seed 001 configure-automated-response).
    struct AutomatedResponse {
        TriggerCondition triggerCondition;
        ActionType actionType; // the balancing action it calls for
        uint256 targetAdjustmentMW; // how much
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
        uint256 targetAdjustmentMW; // automated: the configured adjustment; manual: 0
        uint8 priority; // automated: the configured priority; manual: 0
        StabilityLevel severity; // automated: the report's level; manual: the operator's severity
        uint256 frequencyMilliHz; // observed: the report's (automated) or the operator's (manual)
        uint256 voltagePerMille; // observed, as frequencyMilliHz
        address createdBy; // the reporting or triggering operator
        uint256 createdAt; // unix s
    }

    /// @notice A region's generation capacity and what pending balancing actions have committed of it.
    struct RegionCapacity {
        uint256 maxGenerationMW;
        uint256 currentGenerationMW; // ≤ maxGenerationMW
        uint256 reserveCapacityMW; // ≤ maxGenerationMW - currentGenerationMW
        uint256 committedReserveMW; // pending GENERATION_UP and STORAGE_DISPATCH targets, ≤ reserve
        uint256 committedGenerationDownMW; // pending GENERATION_DOWN targets, ≤ current generation
        uint256 committedLoadSheddingMW; // pending LOAD_SHEDDING targets
        uint256 updatedAt; // unix s of the latest setRegionCapacity or completed action
    }

    /// @notice A balancing action (seed 001 initiate-balancing-action).
    struct BalancingAction {
        uint32 regionId;
        ActionType actionType;
        ActionStatus status;
        uint256 targetMW;
        uint8 priority; // 1 (most urgent) .. 10
        address initiatedBy;
        uint256 initiatedAt; // unix s
        address closedBy; // who completed or cancelled it; 0 while pending
        uint256 closedAt; // unix s; 0 while pending
    }

    // ----------------------------------------------------------------------------- events

    /// @notice `operator` reported `regionId`'s load as report number `sequence`.
    event LoadReported(
        uint32 indexed regionId,
        address indexed operator,
        uint256 sequence,
        uint256 capacityMW,
        uint256 demandMW,
        uint256 loadPercentage,
        LoadStatus status
    );
    /// @notice `operator` reported `regionId`'s stability metrics, graded `level`. A CRITICAL level
    /// also declared an emergency in GridManagement (its events follow in the same transaction).
    event StabilityMetricsReported(
        uint32 indexed regionId,
        address indexed operator,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        int256 phaseAngleMilliDegrees,
        StabilityLevel level
    );
    /// @notice `operator` set `regionId`'s automated response to `triggerCondition` (replacing any).
    event AutomatedResponseConfigured(
        uint32 indexed regionId,
        TriggerCondition indexed triggerCondition,
        address indexed operator,
        ActionType actionType,
        uint256 targetAdjustmentMW,
        uint8 priority
    );
    /// @notice `removedBy` (the region's operator or the admin) removed `regionId`'s automated
    /// response to `triggerCondition`.
    event AutomatedResponseRemoved(
        uint32 indexed regionId, TriggerCondition indexed triggerCondition, address indexed removedBy
    );
    /// @notice A report breached `triggerCondition` and fired `regionId`'s configured response,
    /// recorded as `responseId`.
    /// @param severity The report's stability level.
    event AutomatedResponseFired(
        uint256 indexed responseId,
        uint32 indexed regionId,
        TriggerCondition indexed triggerCondition,
        ActionType actionType,
        uint256 targetAdjustmentMW,
        uint8 priority,
        StabilityLevel severity
    );
    /// @notice `operator` triggered a manual stability response, recorded as `responseId`.
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
    event RegionCapacitySet(
        uint32 indexed regionId,
        address indexed operator,
        uint256 maxGenerationMW,
        uint256 currentGenerationMW,
        uint256 reserveCapacityMW
    );
    /// @notice `operator` initiated balancing action `actionId`, committing `targetMW`.
    event BalancingActionInitiated(
        uint256 indexed actionId,
        uint32 indexed regionId,
        address indexed operator,
        ActionType actionType,
        uint256 targetMW,
        uint8 priority
    );
    /// @notice `operator` completed balancing action `actionId`; the region's generation and
    /// reserve are now `currentGenerationMW` and `reserveCapacityMW`.
    event BalancingActionCompleted(
        uint256 indexed actionId,
        uint32 indexed regionId,
        address indexed operator,
        uint256 currentGenerationMW,
        uint256 reserveCapacityMW
    );
    /// @notice `cancelledBy` (the region's operator or the admin) cancelled balancing action
    /// `actionId`; its commitment is released.
    event BalancingActionCancelled(uint256 indexed actionId, uint32 indexed regionId, address indexed cancelledBy);

    // ----------------------------------------------------------------------------- errors

    /// @notice `operator` operates `operatorRegionId`, not `regionId`.
    error OperatorNotInRegion(address operator, uint32 operatorRegionId, uint32 regionId);
    /// @notice A capacity of zero or above `maxMW`.
    error CapacityOutOfRange(uint256 capacityMW, uint256 maxMW);
    /// @notice A demand or generation above `maxMW`.
    error PowerOutOfRange(uint256 valueMW, uint256 maxMW);
    /// @notice `regionId` has no load report.
    error LoadNotReported(uint32 regionId);
    /// @notice A history page starting before the oldest retained report or after the latest.
    /// @param oldestSequence The oldest report still in the ring.
    /// @param reportCount Reports so far: the next report's sequence.
    error LoadHistoryOutOfRange(uint32 regionId, uint256 fromSequence, uint256 oldestSequence, uint256 reportCount);
    /// @notice A phase angle outside -180° .. 180°.
    error PhaseAngleOutOfBounds(int256 phaseAngleMilliDegrees);
    /// @notice `regionId` has no stability report.
    error StabilityNotReported(uint32 regionId);
    /// @notice A trigger condition other than 1 UNDER_FREQUENCY .. 4 OVER_VOLTAGE.
    error InvalidTriggerCondition(uint256 triggerCondition);
    /// @notice An action type other than 1 GENERATION_UP .. 4 STORAGE_DISPATCH.
    error InvalidActionType(uint256 actionType);
    /// @notice A priority outside 1 .. `maxPriority`.
    error PriorityOutOfRange(uint256 priority, uint256 maxPriority);
    /// @notice A target of zero or above `maxMW`.
    error TargetOutOfRange(uint256 targetMW, uint256 maxMW);
    /// @notice `regionId` has no automated response to `triggerCondition`.
    error AutomatedResponseNotConfigured(uint32 regionId, uint8 triggerCondition);
    /// @notice No stability response was recorded under `responseId`.
    error StabilityResponseNotFound(uint256 responseId);
    /// @notice Current generation above the maximum.
    error GenerationExceedsMaximum(uint256 currentGenerationMW, uint256 maxGenerationMW);
    /// @notice A reserve above the headroom left by current generation (maximum - current).
    error ReserveExceedsHeadroom(uint256 reserveCapacityMW, uint256 headroomMW);
    /// @notice A reserve below what pending GENERATION_UP and STORAGE_DISPATCH actions committed of it.
    error ReserveBelowCommitted(uint32 regionId, uint256 reserveCapacityMW, uint256 committedMW);
    /// @notice A current generation below what pending GENERATION_DOWN actions committed of it.
    error GenerationBelowCommitted(uint32 regionId, uint256 currentGenerationMW, uint256 committedMW);
    /// @notice `regionId`'s capacity was never set (setRegionCapacity).
    error RegionCapacityNotSet(uint32 regionId);
    /// @notice GENERATION_UP or STORAGE_DISPATCH above the reserve not committed to pending actions.
    error InsufficientReserve(uint32 regionId, uint256 targetMW, uint256 availableMW);
    /// @notice GENERATION_DOWN above the current generation not committed to pending actions.
    error InsufficientGeneration(uint32 regionId, uint256 targetMW, uint256 availableMW);
    /// @notice LOAD_SHEDDING above the latest reported demand not committed to pending shedding.
    error InsufficientSheddableLoad(uint32 regionId, uint256 targetMW, uint256 availableMW);
    /// @notice No balancing action was initiated under `actionId`.
    error BalancingActionNotFound(uint256 actionId);
    /// @notice Balancing action `actionId` was completed or cancelled already.
    error BalancingActionNotPending(uint256 actionId, ActionStatus status);

    // ----------------------------------------------------------------------------- load monitoring

    /// @notice Reports `regionId`'s capacity (> 0) and demand: stores it as the latest load and
    /// appends it to the region's history ring. The caller's region's operators only.
    function reportLoad(uint32 regionId, uint256 capacityMW, uint256 demandMW) external;

    /// @notice `regionId`'s latest load report; LoadNotReported without one.
    function getCurrentLoad(uint32 regionId) external view returns (LoadReport memory);

    /// @notice Whether `regionId`'s latest load report is CRITICAL (≥ 95 %); LoadNotReported without one.
    function isCriticalLoad(uint32 regionId) external view returns (bool);

    /// @notice Seed 001's status of a load percentage.
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
    /// balancing action `actionType` of `targetAdjustmentMW` at `priority` (1 .. 10). Operators
    /// only, for the region GridManagement lists them in.
    function configureAutomatedResponse(
        uint8 triggerCondition,
        uint8 actionType,
        uint256 targetAdjustmentMW,
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
        uint256 maxGenerationMW,
        uint256 currentGenerationMW,
        uint256 reserveCapacityMW
    ) external;

    /// @notice Initiates a balancing action and commits its target: GENERATION_UP and
    /// STORAGE_DISPATCH from the uncommitted reserve, GENERATION_DOWN from the uncommitted current
    /// generation, LOAD_SHEDDING from the latest reported demand not already being shed. Needs the
    /// region's capacity set, and a load report for LOAD_SHEDDING. Returns its id (from 1). The
    /// region's operators only.
    function initiateBalancingAction(uint32 regionId, uint8 actionType, uint256 targetMW, uint8 priority)
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

    /// @notice The most MW an action of `actionType` may target in `regionId` now (0 without capacity or load).
    function getAvailableBalancingMW(uint32 regionId, uint8 actionType) external view returns (uint256 availableMW);

    function getBalancingAction(uint256 actionId) external view returns (BalancingAction memory);

    /// @notice Balancing actions initiated so far; ids run from 1 to this.
    function balancingActionCount() external view returns (uint256);
}
