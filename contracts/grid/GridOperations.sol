// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IGridManagement} from "./IGridManagement.sol";
import {IGridOperations} from "./IGridOperations.sol";
import {PublishedGridLimits} from "../utils/GridLimits.sol";
import {LoadEntry, LoadEntryLibrary} from "../types/LoadEntry.sol";
import {BatchTooLarge, EmptyBatch, FrequencyOutOfBounds, InvalidHistoryPage, InvalidSeverity, OperatorNotAuthorized, VoltageOutOfBounds, ZeroAddress} from "../utils/GridErrors.sol";

/// @title GridOperations
/// @notice This contract monitors the load, maintains stability and coordinates balancing in each grid
/// region. Operator functions may be run only by operators that GridManagement has verified and
/// authorized, and only for the region that GridManagement lists them in. Checking this takes one
/// `operatorStatus` call per transaction.
/// An account with LOAD_REPORTER_ROLE, which the admin grants, may report the load of any region, many
/// regions in one transaction (reportLoads): the grid's head-end system reads every transformer, and one
/// transaction for all of them spares each region's operator a transaction of its own.
/// @dev The admin (DEFAULT_ADMIN_ROLE) reports nothing and configures nothing. It may only remove
/// automated responses and cancel pending balancing actions, in any region, so that it can clear what a
/// suspended operator left behind. A CRITICAL stability level declares an emergency in GridManagement,
/// so this contract must hold GridManagement's EMERGENCY_RESPONDER_ROLE.
/// kW values fit in 32 bits (MAX_POWER_KW), so a load report takes half a storage slot, and a region's
/// capacity and its latest stability metrics one slot each.
contract GridOperations is AccessControl, PublishedGridLimits, IGridOperations {
    /// @notice Largest capacity, demand, generation or target in kW: 4 TW, more than any one grid
    /// region generates, within the 32 bits a load report stores. kW resolves a community feeder's
    /// load (a 100 kVA feeder peaks near 90 kW), which whole MW would report as 0.
    uint256 public constant MAX_POWER_KW = 4_000_000_000;
    /// @notice The role that may report any region's load, in batches (reportLoads).
    bytes32 public constant LOAD_REPORTER_ROLE = keccak256("LOAD_REPORTER_ROLE");
    /// @notice Most regions in one reportLoads call: every feeder of a market coupled across MarketZones'
    /// 34 zones, with room, and at most about 3.5 million gas when every report writes fresh slots.
    uint256 public constant MAX_LOAD_REPORTS = 64;
    /// @notice Load reports kept per region: one day of 15-minute reports.
    uint256 public constant LOAD_HISTORY_CAPACITY = 96;
    /// @notice Most reports in one getLoadHistory page.
    uint256 public constant MAX_HISTORY_PAGE = LOAD_HISTORY_CAPACITY;
    /// @notice Load status thresholds, percent: LOW up to 30, HIGH from 80, CRITICAL from 95.
    uint256 public constant LOW_LOAD_MAX_PERCENT = 30;
    uint256 public constant HIGH_LOAD_MIN_PERCENT = 80;
    uint256 public constant CRITICAL_LOAD_MIN_PERCENT = 95;
    /// @notice Nominal frequency (50 Hz) and voltage (100 %).
    uint256 public constant NOMINAL_FREQUENCY_MILLIHZ = 50_000;
    uint256 public constant NOMINAL_VOLTAGE_PER_MILLE = 1000;
    /// @notice Largest frequency deviation of each grade, mHz: NORMAL ±0.5 Hz, ALERT ±1 Hz,
    /// EMERGENCY ±2 Hz; beyond is CRITICAL.
    uint256 public constant NORMAL_FREQUENCY_DEVIATION_MILLIHZ = 500;
    uint256 public constant ALERT_FREQUENCY_DEVIATION_MILLIHZ = 1000;
    uint256 public constant EMERGENCY_FREQUENCY_DEVIATION_MILLIHZ = 2000;
    /// @notice Largest voltage deviation of each grade, per-mille of nominal: NORMAL ±5 %, ALERT
    /// ±10 %, EMERGENCY ±15 %; beyond is CRITICAL.
    uint256 public constant NORMAL_VOLTAGE_DEVIATION_PER_MILLE = 50;
    uint256 public constant ALERT_VOLTAGE_DEVIATION_PER_MILLE = 100;
    uint256 public constant EMERGENCY_VOLTAGE_DEVIATION_PER_MILLE = 150;
    int256 public constant MAX_PHASE_ANGLE_MILLIDEGREES = 180_000;
    /// @notice Priorities run from 1 (most urgent) to MAX_PRIORITY.
    uint256 public constant MAX_PRIORITY = 10;
    /// @notice GridManagement's severity of the emergencies this contract declares.
    uint8 public constant EMERGENCY_SEVERITY_CRITICAL = 3;
    /// @notice Emergency reason of a CRITICAL stability report.
    bytes32 public constant REASON_STABILITY_CRITICAL = "STABILITY_CRITICAL";
    /// @notice Emergency reason of a manual CRITICAL stability response.
    bytes32 public constant REASON_MANUAL_CRITICAL_RESPONSE = "MANUAL_CRITICAL_RESPONSE";

    /// @dev A region's latest stability metrics: one slot; the level is derived on reading.
    struct StoredMetrics {
        uint16 frequencyMilliHz; // 45,000 .. 65,000; 0 = never reported
        uint16 voltagePerMille; // 500 .. 1500
        int24 phaseAngleMilliDegrees; // -180,000 .. 180,000
        uint40 reportedAt; // unix s
        address reportedBy; // the operator
    }

    /// @dev A region's response to one trigger condition: one slot.
    struct ResponseConfig {
        ActionType actionType; // NONE = not configured
        uint8 priority; // 1 .. MAX_PRIORITY
        uint32 targetAdjustmentKW; // ≤ MAX_POWER_KW
        uint40 configuredAt; // unix s
        address configuredBy; // the operator
    }

    /// @dev A stability response: two slots. Manual responses have triggerCondition NONE.
    struct StoredResponse {
        address createdBy; // the reporting or triggering operator; 0 = no such response
        uint40 createdAt; // unix s
        uint32 regionId;
        TriggerCondition triggerCondition; // NONE for a manual response
        ActionType actionType; // NONE for a manual response
        StabilityLevel severity;
        // --- second slot
        uint32 targetAdjustmentKW; // 0 for a manual response
        uint8 priority; // 0 for a manual response
        uint16 frequencyMilliHz;
        uint16 voltagePerMille;
    }

    /// @dev A region's capacity and commitments: one slot, read and written by every balancing call.
    struct StoredCapacity {
        uint32 maxGenerationKW; // 0 = never set
        uint32 currentGenerationKW; // ≤ maxGenerationKW
        uint32 reserveCapacityKW; // ≤ maxGenerationKW - currentGenerationKW, ≥ committedReserveKW
        uint32 committedReserveKW; // pending GENERATION_UP and STORAGE_DISPATCH
        uint32 committedGenerationDownKW; // pending GENERATION_DOWN, ≤ currentGenerationKW
        uint32 committedLoadSheddingKW; // pending LOAD_SHEDDING, ≤ MAX_POWER_KW
        uint40 updatedAt; // unix s
    }

    /// @dev A balancing action: two slots; completion and cancellation write only the second.
    struct StoredAction {
        address initiatedBy; // 0 = no such action
        uint40 initiatedAt; // unix s
        uint32 regionId;
        // --- second slot
        uint32 targetKW; // ≤ MAX_POWER_KW
        ActionType actionType;
        uint8 priority; // 1 .. MAX_PRIORITY
        ActionStatus status;
        uint40 closedAt; // unix s; 0 while pending
        address closedBy; // 0 while pending
    }

    IGridManagement private immutable _gridManagement;
    uint256 private _stabilityResponseCount;
    uint256 private _balancingActionCount;
    // Each region's number of load reports, 64 bits each, four regions to a word (region ids / 4), so that
    // a batch of neighbouring regions' reports rewrites a quarter of the words.
    mapping(uint256 regionGroup => uint256) private _loadReportCounts;
    mapping(uint32 regionId => LoadEntry[LOAD_HISTORY_CAPACITY]) private _loadHistory;
    // Every account that has reported a load, in the order of its first report, and its place plus one.
    // Each first report costs two fresh words (over 40,000 gas), so the places fit a report's 32 bits.
    address[] private _loadReporters;
    mapping(address reporter => uint256) private _loadReporterIds;
    mapping(uint32 regionId => StoredMetrics) private _metrics;
    mapping(uint32 regionId => mapping(TriggerCondition => ResponseConfig)) private _responses;
    mapping(uint32 regionId => StoredCapacity) private _capacities;
    mapping(uint256 responseId => StoredResponse) private _stabilityResponses;
    mapping(uint256 actionId => StoredAction) private _actions;

    constructor(address admin, IGridManagement gridManagement_) {
        if (admin == address(0) || address(gridManagement_) == address(0)) revert ZeroAddress();
        _gridManagement = gridManagement_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ----------------------------------------------------------------------------- load monitoring

    /// @inheritdoc IGridOperations
    function reportLoad(uint32 regionId, uint256 capacityKW, uint256 demandKW) external {
        _checkOperator(regionId);
        _recordLoad(regionId, capacityKW, demandKW, _loadReporterId());
    }

    /// @inheritdoc IGridOperations
    function reportLoads(RegionLoad[] calldata loads) external onlyRole(LOAD_REPORTER_ROLE) {
        uint256 count = loads.length;
        if (count == 0) revert EmptyBatch();
        if (count > MAX_LOAD_REPORTS) revert BatchTooLarge(count, MAX_LOAD_REPORTS);
        uint256 reporterId = _loadReporterId();
        for (uint256 i; i < count; ++i) {
            RegionLoad calldata load = loads[i];
            _recordLoad(load.regionId, load.capacityKW, load.demandKW, reporterId);
        }
    }

    /// @dev Checks one load report and appends it to the region's history ring, in the caller's name
    /// (`reporterId`, its place in `_loadReporters` plus one).
    function _recordLoad(uint32 regionId, uint256 capacityKW, uint256 demandKW, uint256 reporterId) private {
        if (capacityKW == 0 || capacityKW > MAX_POWER_KW) revert CapacityOutOfRange(capacityKW, MAX_POWER_KW);
        if (demandKW > MAX_POWER_KW) revert PowerOutOfRange(demandKW, MAX_POWER_KW);
        uint256 sequence = _loadReportCount(regionId);
        // Both kW figures are at most MAX_POWER_KW and the time is below 2^32 until 2106.
        _loadHistory[regionId][sequence % LOAD_HISTORY_CAPACITY] =
            LoadEntryLibrary.pack(capacityKW, demandKW, uint32(block.timestamp), reporterId);
        // A region's count would need 2^64 reports to reach its neighbour's bits.
        unchecked {
            _loadReportCounts[regionId >> 2] += uint256(1) << ((regionId & 3) << 6);
        }
        uint256 loadPercentage = demandKW * 100 / capacityKW;
        emit LoadReported(
            regionId, msg.sender, sequence, capacityKW, demandKW, loadPercentage, getLoadStatus(loadPercentage)
        );
    }

    /// @inheritdoc IGridOperations
    function getCurrentLoad(uint32 regionId) public view returns (LoadReport memory) {
        uint256 count = _loadReportCount(regionId);
        if (count == 0) revert LoadNotReported(regionId);
        return _loadReport(regionId, count - 1);
    }

    /// @inheritdoc IGridOperations
    function isCriticalLoad(uint32 regionId) external view returns (bool) {
        return getCurrentLoad(regionId).status == LoadStatus.CRITICAL;
    }

    /// @inheritdoc IGridOperations
    function getLoadStatus(uint256 loadPercentage) public pure returns (LoadStatus) {
        if (loadPercentage >= CRITICAL_LOAD_MIN_PERCENT) return LoadStatus.CRITICAL;
        if (loadPercentage >= HIGH_LOAD_MIN_PERCENT) return LoadStatus.HIGH;
        if (loadPercentage > LOW_LOAD_MAX_PERCENT) return LoadStatus.NORMAL;
        return LoadStatus.LOW;
    }

    /// @inheritdoc IGridOperations
    function getLoadHistory(uint32 regionId, uint256 fromSequence, uint256 count)
        external
        view
        returns (LoadReport[] memory page)
    {
        if (count == 0 || count > MAX_HISTORY_PAGE) revert InvalidHistoryPage(count, MAX_HISTORY_PAGE);
        uint256 reportCount = _loadReportCount(regionId);
        uint256 oldest = reportCount > LOAD_HISTORY_CAPACITY ? reportCount - LOAD_HISTORY_CAPACITY : 0;
        if (fromSequence < oldest || fromSequence > reportCount) {
            revert LoadHistoryOutOfRange(regionId, fromSequence, oldest, reportCount);
        }
        uint256 available = reportCount - fromSequence;
        if (count > available) count = available;
        page = new LoadReport[](count);
        for (uint256 i; i < count; ++i) {
            page[i] = _loadReport(regionId, fromSequence + i);
        }
    }

    /// @inheritdoc IGridOperations
    function loadReportCount(uint32 regionId) external view returns (uint256) {
        return _loadReportCount(regionId);
    }

    // ----------------------------------------------------------------------------- stability maintenance

    /// @inheritdoc IGridOperations
    function reportStabilityMetrics(
        uint32 regionId,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        int256 phaseAngleMilliDegrees
    ) external {
        _checkOperator(regionId);
        StabilityLevel level = getStabilityLevel(frequencyMilliHz, voltagePerMille);
        int256 maxAngle = MAX_PHASE_ANGLE_MILLIDEGREES;
        if (phaseAngleMilliDegrees < -maxAngle || phaseAngleMilliDegrees > maxAngle) {
            revert PhaseAngleOutOfBounds(phaseAngleMilliDegrees);
        }
        _metrics[regionId] = StoredMetrics(
            uint16(frequencyMilliHz),
            uint16(voltagePerMille),
            int24(phaseAngleMilliDegrees),
            uint40(block.timestamp),
            msg.sender
        );
        emit StabilityMetricsReported(
            regionId, msg.sender, frequencyMilliHz, voltagePerMille, phaseAngleMilliDegrees, level
        );
        if (level == StabilityLevel.NORMAL) return;
        // At most two triggers fire: frequency is breached on one side at most, voltage likewise.
        if (frequencyMilliHz < NOMINAL_FREQUENCY_MILLIHZ - NORMAL_FREQUENCY_DEVIATION_MILLIHZ) {
            _fire(regionId, TriggerCondition.UNDER_FREQUENCY, level, frequencyMilliHz, voltagePerMille);
        } else if (frequencyMilliHz > NOMINAL_FREQUENCY_MILLIHZ + NORMAL_FREQUENCY_DEVIATION_MILLIHZ) {
            _fire(regionId, TriggerCondition.OVER_FREQUENCY, level, frequencyMilliHz, voltagePerMille);
        }
        if (voltagePerMille < NOMINAL_VOLTAGE_PER_MILLE - NORMAL_VOLTAGE_DEVIATION_PER_MILLE) {
            _fire(regionId, TriggerCondition.UNDER_VOLTAGE, level, frequencyMilliHz, voltagePerMille);
        } else if (voltagePerMille > NOMINAL_VOLTAGE_PER_MILLE + NORMAL_VOLTAGE_DEVIATION_PER_MILLE) {
            _fire(regionId, TriggerCondition.OVER_VOLTAGE, level, frequencyMilliHz, voltagePerMille);
        }
        if (level == StabilityLevel.CRITICAL) {
            // slither-disable-next-line unused-return: the emergency id is in GridManagement's own event; nothing here needs it
            _gridManagement.implementEmergencyProtocol(
                regionId, EMERGENCY_SEVERITY_CRITICAL, REASON_STABILITY_CRITICAL
            );
        }
    }

    /// @inheritdoc IGridOperations
    function triggerStabilityResponse(
        uint32 regionId,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille,
        uint8 severity
    ) external returns (uint256 responseId) {
        _checkOperator(regionId);
        _checkBounds(frequencyMilliHz, voltagePerMille);
        if (severity == uint8(StabilityLevel.NORMAL) || severity > uint8(type(StabilityLevel).max)) {
            revert InvalidSeverity(severity);
        }
        responseId = _recordResponse(
            regionId,
            TriggerCondition.NONE,
            ResponseConfig(ActionType.NONE, 0, 0, 0, address(0)),
            StabilityLevel(severity),
            frequencyMilliHz,
            voltagePerMille
        );
        uint256 emergencyId = 0;
        if (severity == uint8(StabilityLevel.CRITICAL)) {
            // slither-disable-next-line reentrancy-events: GridManagement is fixed at construction and trusted; the event reports the id it returns
            emergencyId = _gridManagement.implementEmergencyProtocol(
                regionId, EMERGENCY_SEVERITY_CRITICAL, REASON_MANUAL_CRITICAL_RESPONSE
            );
        }
        emit StabilityResponseTriggered(
            responseId, regionId, msg.sender, frequencyMilliHz, voltagePerMille, StabilityLevel(severity), emergencyId
        );
    }

    /// @inheritdoc IGridOperations
    function configureAutomatedResponse(
        uint8 triggerCondition,
        uint8 actionType,
        uint256 targetAdjustmentKW,
        uint8 priority
    ) external {
        uint32 regionId = _operatorRegion();
        TriggerCondition trigger = _triggerCondition(triggerCondition);
        ActionType action = _actionType(actionType);
        _checkTarget(targetAdjustmentKW);
        _checkPriority(priority);
        _responses[regionId][trigger] =
            ResponseConfig(action, priority, uint32(targetAdjustmentKW), uint40(block.timestamp), msg.sender);
        emit AutomatedResponseConfigured(regionId, trigger, msg.sender, action, targetAdjustmentKW, priority);
    }

    /// @inheritdoc IGridOperations
    function removeAutomatedResponse(uint32 regionId, uint8 triggerCondition) external {
        _checkOperatorOrAdmin(regionId);
        TriggerCondition trigger = _triggerCondition(triggerCondition);
        if (_responses[regionId][trigger].actionType == ActionType.NONE) {
            revert AutomatedResponseNotConfigured(regionId, triggerCondition);
        }
        delete _responses[regionId][trigger];
        emit AutomatedResponseRemoved(regionId, trigger, msg.sender);
    }

    /// @inheritdoc IGridOperations
    function getStabilityMetrics(uint32 regionId) external view returns (StabilityMetrics memory) {
        StoredMetrics memory m = _metrics[regionId];
        // slither-disable-next-line incorrect-equality: a zero time marks a region with no stability report yet
        if (m.reportedAt == 0) revert StabilityNotReported(regionId);
        return StabilityMetrics(
            m.frequencyMilliHz,
            m.voltagePerMille,
            m.phaseAngleMilliDegrees,
            getStabilityLevel(m.frequencyMilliHz, m.voltagePerMille),
            m.reportedAt,
            m.reportedBy
        );
    }

    /// @inheritdoc IGridOperations
    function getStabilityLevel(uint256 frequencyMilliHz, uint256 voltagePerMille)
        public
        pure
        returns (StabilityLevel)
    {
        _checkBounds(frequencyMilliHz, voltagePerMille);
        StabilityLevel frequencyLevel = _grade(
            _deviation(frequencyMilliHz, NOMINAL_FREQUENCY_MILLIHZ),
            NORMAL_FREQUENCY_DEVIATION_MILLIHZ,
            ALERT_FREQUENCY_DEVIATION_MILLIHZ,
            EMERGENCY_FREQUENCY_DEVIATION_MILLIHZ
        );
        StabilityLevel voltageLevel = _grade(
            _deviation(voltagePerMille, NOMINAL_VOLTAGE_PER_MILLE),
            NORMAL_VOLTAGE_DEVIATION_PER_MILLE,
            ALERT_VOLTAGE_DEVIATION_PER_MILLE,
            EMERGENCY_VOLTAGE_DEVIATION_PER_MILLE
        );
        return frequencyLevel > voltageLevel ? frequencyLevel : voltageLevel;
    }

    /// @inheritdoc IGridOperations
    function getAutomatedResponse(uint32 regionId, uint8 triggerCondition)
        external
        view
        returns (AutomatedResponse memory)
    {
        TriggerCondition trigger = _triggerCondition(triggerCondition);
        ResponseConfig memory c = _responses[regionId][trigger];
        if (c.actionType == ActionType.NONE) revert AutomatedResponseNotConfigured(regionId, triggerCondition);
        return AutomatedResponse(trigger, c.actionType, c.targetAdjustmentKW, c.priority, c.configuredBy, c.configuredAt);
    }

    /// @inheritdoc IGridOperations
    function getStabilityResponse(uint256 responseId) external view returns (StabilityResponse memory) {
        StoredResponse memory r = _stabilityResponses[responseId];
        if (r.createdBy == address(0)) revert StabilityResponseNotFound(responseId);
        return StabilityResponse(
            r.regionId,
            r.triggerCondition != TriggerCondition.NONE,
            r.triggerCondition,
            r.actionType,
            r.targetAdjustmentKW,
            r.priority,
            r.severity,
            r.frequencyMilliHz,
            r.voltagePerMille,
            r.createdBy,
            r.createdAt
        );
    }

    /// @inheritdoc IGridOperations
    function stabilityResponseCount() external view returns (uint256) {
        return _stabilityResponseCount;
    }

    // ----------------------------------------------------------------------------- balancing coordination

    /// @inheritdoc IGridOperations
    function setRegionCapacity(
        uint32 regionId,
        uint256 maxGenerationKW,
        uint256 currentGenerationKW,
        uint256 reserveCapacityKW
    ) external {
        _checkOperator(regionId);
        if (maxGenerationKW == 0 || maxGenerationKW > MAX_POWER_KW) {
            revert CapacityOutOfRange(maxGenerationKW, MAX_POWER_KW);
        }
        if (currentGenerationKW > maxGenerationKW) {
            revert GenerationExceedsMaximum(currentGenerationKW, maxGenerationKW);
        }
        uint256 headroomKW = maxGenerationKW - currentGenerationKW;
        if (reserveCapacityKW > headroomKW) revert ReserveExceedsHeadroom(reserveCapacityKW, headroomKW);
        StoredCapacity memory c = _capacities[regionId];
        if (reserveCapacityKW < c.committedReserveKW) {
            revert ReserveBelowCommitted(regionId, reserveCapacityKW, c.committedReserveKW);
        }
        if (currentGenerationKW < c.committedGenerationDownKW) {
            revert GenerationBelowCommitted(regionId, currentGenerationKW, c.committedGenerationDownKW);
        }
        c.maxGenerationKW = uint32(maxGenerationKW);
        c.currentGenerationKW = uint32(currentGenerationKW);
        c.reserveCapacityKW = uint32(reserveCapacityKW);
        c.updatedAt = uint40(block.timestamp);
        _capacities[regionId] = c;
        emit RegionCapacitySet(regionId, msg.sender, maxGenerationKW, currentGenerationKW, reserveCapacityKW);
    }

    /// @inheritdoc IGridOperations
    function initiateBalancingAction(uint32 regionId, uint8 actionType, uint256 targetKW, uint8 priority)
        external
        returns (uint256 actionId)
    {
        _checkOperator(regionId);
        ActionType action = _actionType(actionType);
        _checkTarget(targetKW);
        _checkPriority(priority);
        StoredCapacity memory c = _capacities[regionId];
        if (c.maxGenerationKW == 0) revert RegionCapacityNotSet(regionId);
        if (action == ActionType.LOAD_SHEDDING && _loadReportCount(regionId) == 0) revert LoadNotReported(regionId);
        uint256 availableKW = _available(regionId, c, action);
        if (targetKW > availableKW) {
            if (action == ActionType.GENERATION_DOWN) revert InsufficientGeneration(regionId, targetKW, availableKW);
            if (action == ActionType.LOAD_SHEDDING) revert InsufficientSheddableLoad(regionId, targetKW, availableKW);
            revert InsufficientReserve(regionId, targetKW, availableKW);
        }
        // Cannot overflow 24 bits: each commitment stays within a 24-bit amount (reserve, generation, demand).
        if (action == ActionType.GENERATION_DOWN) c.committedGenerationDownKW += uint32(targetKW);
        else if (action == ActionType.LOAD_SHEDDING) c.committedLoadSheddingKW += uint32(targetKW);
        else c.committedReserveKW += uint32(targetKW);
        _capacities[regionId] = c;
        actionId = ++_balancingActionCount;
        _actions[actionId] = StoredAction({
            initiatedBy: msg.sender,
            initiatedAt: uint40(block.timestamp),
            regionId: regionId,
            targetKW: uint32(targetKW),
            actionType: action,
            priority: priority,
            status: ActionStatus.PENDING,
            closedAt: 0,
            closedBy: address(0)
        });
        emit BalancingActionInitiated(actionId, regionId, msg.sender, action, targetKW, priority);
    }

    /// @inheritdoc IGridOperations
    function completeBalancingAction(uint256 actionId) external {
        StoredAction storage a = _pendingAction(actionId, false);
        uint32 regionId = a.regionId;
        uint32 targetKW = a.targetKW;
        ActionType action = a.actionType;
        StoredCapacity memory c = _release(regionId, action, targetKW);
        // Cannot underflow or exceed the maximum: commitments never exceed what they draw on, and
        // moving kW between reserve and generation keeps their sum.
        if (action == ActionType.GENERATION_DOWN) {
            c.currentGenerationKW -= targetKW;
            c.reserveCapacityKW += targetKW;
        } else if (action != ActionType.LOAD_SHEDDING) {
            c.reserveCapacityKW -= targetKW;
            c.currentGenerationKW += targetKW;
        }
        c.updatedAt = uint40(block.timestamp);
        _capacities[regionId] = c;
        _close(a, ActionStatus.COMPLETED);
        emit BalancingActionCompleted(actionId, regionId, msg.sender, c.currentGenerationKW, c.reserveCapacityKW);
    }

    /// @inheritdoc IGridOperations
    function cancelBalancingAction(uint256 actionId) external {
        StoredAction storage a = _pendingAction(actionId, true);
        uint32 regionId = a.regionId;
        _capacities[regionId] = _release(regionId, a.actionType, a.targetKW);
        _close(a, ActionStatus.CANCELLED);
        emit BalancingActionCancelled(actionId, regionId, msg.sender);
    }

    /// @inheritdoc IGridOperations
    function getRegionCapacity(uint32 regionId) external view returns (RegionCapacity memory) {
        StoredCapacity memory c = _capacities[regionId];
        // slither-disable-next-line incorrect-equality: zero marks a region whose capacity was never set (setting it requires > 0)
        if (c.maxGenerationKW == 0) revert RegionCapacityNotSet(regionId);
        return RegionCapacity(
            c.maxGenerationKW,
            c.currentGenerationKW,
            c.reserveCapacityKW,
            c.committedReserveKW,
            c.committedGenerationDownKW,
            c.committedLoadSheddingKW,
            c.updatedAt
        );
    }

    /// @inheritdoc IGridOperations
    function getAvailableBalancingKW(uint32 regionId, uint8 actionType) external view returns (uint256) {
        ActionType action = _actionType(actionType);
        StoredCapacity memory c = _capacities[regionId];
        if (c.maxGenerationKW == 0) return 0;
        return _available(regionId, c, action);
    }

    /// @inheritdoc IGridOperations
    function getBalancingAction(uint256 actionId) external view returns (BalancingAction memory) {
        StoredAction memory a = _actions[actionId];
        if (a.initiatedBy == address(0)) revert BalancingActionNotFound(actionId);
        return BalancingAction(
            a.regionId, a.actionType, a.status, a.targetKW, a.priority, a.initiatedBy, a.initiatedAt, a.closedBy, a.closedAt
        );
    }

    /// @inheritdoc IGridOperations
    function balancingActionCount() external view returns (uint256) {
        return _balancingActionCount;
    }

    /// @notice The GridManagement whose operators run this contract and where emergencies are declared.
    function gridManagement() external view returns (IGridManagement) {
        return _gridManagement;
    }

    // ----------------------------------------------------------------------------- internals

    /// @dev The caller is an authorized operator of `regionId`.
    function _checkOperator(uint32 regionId) private view {
        uint32 operatorRegionId = _operatorRegion();
        if (operatorRegionId != regionId) revert OperatorNotInRegion(msg.sender, operatorRegionId, regionId);
    }

    /// @dev The caller holds DEFAULT_ADMIN_ROLE or is an authorized operator of `regionId`.
    function _checkOperatorOrAdmin(uint32 regionId) private view {
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) _checkOperator(regionId);
    }

    /// @dev The region of the caller, an authorized operator.
    function _operatorRegion() private view returns (uint32 regionId) {
        bool authorized;
        (authorized, regionId) = _gridManagement.operatorStatus(msg.sender);
        if (!authorized) revert OperatorNotAuthorized(msg.sender);
    }

    function _checkBounds(uint256 frequencyMilliHz, uint256 voltagePerMille) private pure {
        if (frequencyMilliHz < MIN_FREQUENCY_MILLIHZ || frequencyMilliHz > MAX_FREQUENCY_MILLIHZ) {
            revert FrequencyOutOfBounds(frequencyMilliHz);
        }
        if (voltagePerMille < MIN_VOLTAGE_PER_MILLE || voltagePerMille > MAX_VOLTAGE_PER_MILLE) {
            revert VoltageOutOfBounds(voltagePerMille);
        }
    }

    function _checkTarget(uint256 targetKW) private pure {
        if (targetKW == 0 || targetKW > MAX_POWER_KW) revert TargetOutOfRange(targetKW, MAX_POWER_KW);
    }

    function _checkPriority(uint8 priority) private pure {
        if (priority == 0 || priority > MAX_PRIORITY) revert PriorityOutOfRange(priority, MAX_PRIORITY);
    }

    function _triggerCondition(uint8 value) private pure returns (TriggerCondition) {
        if (value == 0 || value > uint8(type(TriggerCondition).max)) revert InvalidTriggerCondition(value);
        return TriggerCondition(value);
    }

    function _actionType(uint8 value) private pure returns (ActionType) {
        if (value == 0 || value > uint8(type(ActionType).max)) revert InvalidActionType(value);
        return ActionType(value);
    }

    function _deviation(uint256 value, uint256 nominal) private pure returns (uint256) {
        return value > nominal ? value - nominal : nominal - value;
    }

    /// @dev NORMAL up to `normalMax`, ALERT up to `alertMax`, EMERGENCY up to `emergencyMax`, inclusive.
    function _grade(uint256 deviation, uint256 normalMax, uint256 alertMax, uint256 emergencyMax)
        private
        pure
        returns (StabilityLevel)
    {
        if (deviation <= normalMax) return StabilityLevel.NORMAL;
        if (deviation <= alertMax) return StabilityLevel.ALERT;
        if (deviation <= emergencyMax) return StabilityLevel.EMERGENCY;
        return StabilityLevel.CRITICAL;
    }

    function _loadReport(uint32 regionId, uint256 sequence) private view returns (LoadReport memory) {
        LoadEntry e = _loadHistory[regionId][sequence % LOAD_HISTORY_CAPACITY];
        (uint256 capacityKW, uint256 demandKW) = (e.capacityKW(), e.demandKW());
        uint256 loadPercentage = demandKW * 100 / capacityKW;
        return LoadReport(
            sequence,
            capacityKW,
            demandKW,
            loadPercentage,
            getLoadStatus(loadPercentage),
            e.reportedAt(),
            _loadReporters[e.reporterId() - 1]
        );
    }

    /// @dev The number of load reports of `regionId` so far.
    function _loadReportCount(uint32 regionId) private view returns (uint256) {
        return uint64(_loadReportCounts[regionId >> 2] >> ((regionId & 3) << 6));
    }

    /// @dev The caller's place in `_loadReporters` plus one, listing it at its first load report.
    function _loadReporterId() private returns (uint256 id) {
        id = _loadReporterIds[msg.sender];
        if (id == 0) {
            _loadReporters.push(msg.sender);
            id = _loadReporters.length;
            _loadReporterIds[msg.sender] = id;
        }
    }

    /// @dev Fires `regionId`'s response to `trigger`, if one is configured.
    function _fire(
        uint32 regionId,
        TriggerCondition trigger,
        StabilityLevel level,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille
    ) private {
        ResponseConfig memory c = _responses[regionId][trigger];
        if (c.actionType == ActionType.NONE) return;
        uint256 responseId = _recordResponse(regionId, trigger, c, level, frequencyMilliHz, voltagePerMille);
        emit AutomatedResponseFired(
            responseId, regionId, trigger, c.actionType, c.targetAdjustmentKW, c.priority, level
        );
    }

    function _recordResponse(
        uint32 regionId,
        TriggerCondition trigger,
        ResponseConfig memory c,
        StabilityLevel severity,
        uint256 frequencyMilliHz,
        uint256 voltagePerMille
    ) private returns (uint256 responseId) {
        responseId = ++_stabilityResponseCount;
        _stabilityResponses[responseId] = StoredResponse({
            createdBy: msg.sender,
            createdAt: uint40(block.timestamp),
            regionId: regionId,
            triggerCondition: trigger,
            actionType: c.actionType,
            severity: severity,
            targetAdjustmentKW: c.targetAdjustmentKW,
            priority: c.priority,
            frequencyMilliHz: uint16(frequencyMilliHz),
            voltagePerMille: uint16(voltagePerMille)
        });
    }

    /// @dev The most kW a new `action` may target in a region with capacity `c`.
    function _available(uint32 regionId, StoredCapacity memory c, ActionType action) private view returns (uint256) {
        if (action == ActionType.GENERATION_DOWN) return c.currentGenerationKW - c.committedGenerationDownKW;
        if (action == ActionType.LOAD_SHEDDING) {
            uint256 count = _loadReportCount(regionId);
            if (count == 0) return 0;
            uint256 demandKW = _loadHistory[regionId][(count - 1) % LOAD_HISTORY_CAPACITY].demandKW();
            // Demand may have fallen below what is being shed since the shedding was initiated.
            return demandKW > c.committedLoadSheddingKW ? demandKW - c.committedLoadSheddingKW : 0;
        }
        return c.reserveCapacityKW - c.committedReserveKW;
    }

    /// @dev A pending action the caller may close: an operator of its region, or (`adminMay`) the admin.
    function _pendingAction(uint256 actionId, bool adminMay) private view returns (StoredAction storage a) {
        a = _actions[actionId];
        if (a.initiatedBy == address(0)) revert BalancingActionNotFound(actionId);
        if (adminMay) _checkOperatorOrAdmin(a.regionId);
        else _checkOperator(a.regionId);
        if (a.status != ActionStatus.PENDING) revert BalancingActionNotPending(actionId, a.status);
    }

    /// @dev `regionId`'s capacity with an action's commitment released (not yet stored).
    function _release(uint32 regionId, ActionType action, uint32 targetKW)
        private
        view
        returns (StoredCapacity memory c)
    {
        c = _capacities[regionId];
        if (action == ActionType.GENERATION_DOWN) c.committedGenerationDownKW -= targetKW;
        else if (action == ActionType.LOAD_SHEDDING) c.committedLoadSheddingKW -= targetKW;
        else c.committedReserveKW -= targetKW;
    }

    function _close(StoredAction storage a, ActionStatus status) private {
        a.status = status;
        a.closedAt = uint40(block.timestamp);
        a.closedBy = msg.sender;
    }
}
