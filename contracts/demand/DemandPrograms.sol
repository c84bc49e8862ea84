// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IDemandPrograms} from "./IDemandPrograms.sol";
import {IDemandResponse} from "./IDemandResponse.sol";
import {IGridManagement} from "../grid/IGridManagement.sol";
import {ISmartMeterRegistry} from "../metering/ISmartMeterRegistry.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {MeterBaseline} from "./MeterBaseline.sol";
import {RewardPool} from "./RewardPool.sol";
import {RewardPayouts} from "./RewardPayouts.sol";
import {ConsumerNotRegistered, DurationOutOfRange, GridOperatorNotRegistered, NotInitialized} from "../utils/GridErrors.sol";
import {ReentrancyLock} from "../utils/ReentrancyLock.sol";

/// @title DemandPrograms
/// @notice Demand-response programs, run beside DemandResponse's events. A separate contract from
/// DemandResponse so both stay well under the 24,576-byte code limit; it reads grid operator and
/// consumer registration, SmartMeter, the EnergyVault rewards are credited in, GridManagement and
/// the verification period from DemandResponse, and shares its measurement (MeterBaseline), budget accounting
/// (RewardPool), payouts (RewardPayouts) and DemandResponse's once-only record of rewarded
/// intervals, which it writes through REDUCTION_RECORDER_ROLE.
contract DemandPrograms is ReentrancyLock, RewardPayouts, IDemandPrograms {
    using RewardPool for RewardPool.Pool;

    /// @notice Longest program name.
    uint256 public constant MAX_NAME_BYTES = 64;
    /// @notice Longest program window.
    uint256 public constant MAX_DURATION_SECONDS = MeterBaseline.MAX_DURATION_SECONDS;
    /// @notice Most participants one distributeRewards call pays.
    uint256 public constant MAX_DISTRIBUTION_BATCH = RewardPool.MAX_DISTRIBUTION_BATCH;
    /// @notice W per MW: reported reductions are in MW, the meter's in W.
    uint256 public constant W_PER_MW = 1_000_000;

    struct Program {
        address gridOperator; // 0 = no such program
        uint32 regionId;
        ProgramType programType;
        IDemandResponse.EventStatus status;
        uint64 targetReductionMW;
        uint128 incentiveRatePerMW;
        uint40 startTime;
        uint40 endTime;
        uint40 verificationDeadline;
        uint64 totalParticipants;
        uint64 totalCommittedMW;
        uint64 totalReportedMW;
        string name;
    }

    struct Participant {
        address meter;
        uint40 joinedAt; // 0 = not a participant
        IDemandResponse.ParticipationStatus status;
        uint64 committedReductionMW;
        uint64 actualReductionMW;
        uint40 reportedAt;
        uint64 meteredReductionW;
        uint256 rewardAmount;
    }

    IDemandResponse private immutable _demandResponse;
    ISmartMeterRegistry private immutable _smartMeter;
    IGridManagement private immutable _gridManagement;
    uint256 private _programCount;
    mapping(uint256 programId => Program) private _programs;
    mapping(uint256 programId => mapping(address participant => Participant)) private _participants;

    constructor(IDemandResponse demandResponse_) RewardPayouts(_vaultOf(demandResponse_)) {
        _demandResponse = demandResponse_;
        _smartMeter = demandResponse_.smartMeter();
        _gridManagement = demandResponse_.gridManagement();
    }

    /// @dev Runs before the constructor's body (it gives RewardPayouts its vault), so the zero
    /// check is here.
    function _vaultOf(IDemandResponse demandResponse_) private view returns (IEnergyVault) {
        if (address(demandResponse_) == address(0)) revert NotInitialized("demandResponse");
        return demandResponse_.vault();
    }

    /// @inheritdoc IDemandPrograms
    function createDemandProgram(
        string calldata name,
        uint8 programType,
        uint32 regionId,
        uint64 targetReductionMW,
        uint128 incentiveRatePerMW,
        uint256 durationSeconds
    ) external nonReentrant returns (uint256 programId) {
        if (!_demandResponse.isGridOperator(msg.sender)) revert GridOperatorNotRegistered(msg.sender);
        (bool authorized, uint32 operatorRegionId) = _gridManagement.operatorStatus(msg.sender);
        if (!authorized || operatorRegionId != regionId) revert OperatorNotAuthorizedForRegion(msg.sender, regionId);
        if (bytes(name).length == 0 || bytes(name).length > MAX_NAME_BYTES) revert InvalidProgramName(bytes(name).length);
        if (programType > uint8(type(ProgramType).max)) revert InvalidProgramType(programType);
        if (targetReductionMW == 0 || incentiveRatePerMW == 0) revert ZeroProgramParameter();
        if (durationSeconds == 0 || durationSeconds > MAX_DURATION_SECONDS) {
            revert DurationOutOfRange(durationSeconds, MAX_DURATION_SECONDS);
        }
        uint256 budget = uint256(targetReductionMW) * incentiveRatePerMW;
        programId = ++_programCount;
        Program storage p = _programs[programId];
        p.gridOperator = msg.sender;
        p.regionId = regionId;
        p.programType = ProgramType(programType);
        p.targetReductionMW = targetReductionMW;
        p.incentiveRatePerMW = incentiveRatePerMW;
        (uint256 startTime, uint256 endTime) = MeterBaseline.window(block.timestamp, durationSeconds);
        p.startTime = uint40(startTime);
        p.endTime = uint40(endTime);
        p.verificationDeadline = uint40(endTime + _demandResponse.verificationPeriod());
        p.name = name;
        _emitCreated(programId, p, budget);
        _fund(programId, budget);
    }

    /// @dev Emits from storage: the creation's own locals leave no stack for ten event fields.
    function _emitCreated(uint256 programId, Program storage p, uint256 budget) private {
        emit DemandProgramCreated(
            programId,
            p.gridOperator,
            p.regionId,
            p.programType,
            p.name,
            p.targetReductionMW,
            p.incentiveRatePerMW,
            p.startTime,
            p.endTime,
            budget
        );
    }

    /// @inheritdoc IDemandPrograms
    function joinProgram(uint256 programId, uint64 committedReductionMW) external {
        Program storage p = _activeProgram(programId);
        if (block.timestamp >= p.endTime) revert ProgramExpired(programId, p.endTime);
        if (committedReductionMW == 0) revert ZeroProgramParameter();
        address meter = _demandResponse.getConsumerMeter(msg.sender);
        if (meter == address(0)) revert ConsumerNotRegistered(msg.sender);
        uint32 meterRegionId = _smartMeter.getMeter(meter).regionId;
        if (meterRegionId != p.regionId) revert MeterNotInRegion(meter, meterRegionId, p.regionId);
        Participant storage participant = _participants[programId][msg.sender];
        if (participant.joinedAt != 0) revert AlreadyParticipating(programId, msg.sender);
        participant.meter = meter;
        participant.joinedAt = uint40(block.timestamp);
        participant.committedReductionMW = committedReductionMW;
        p.totalParticipants += 1;
        p.totalCommittedMW += committedReductionMW;
        emit ProgramJoined(programId, msg.sender, committedReductionMW);
    }

    /// @inheritdoc IDemandPrograms
    function reportReduction(uint256 programId, address participant, uint64 actualReductionMW) external {
        Program storage p = _activeProgram(programId);
        if (msg.sender != p.gridOperator) revert NotProgramOperator(programId, msg.sender);
        if (block.timestamp < p.endTime) revert ProgramWindowNotEnded(programId, p.endTime);
        if (block.timestamp > p.verificationDeadline) revert ProgramExpired(programId, p.verificationDeadline);
        Participant storage part = _participants[programId][participant];
        if (part.joinedAt == 0) revert NotProgramParticipant(programId, participant);
        if (part.status != IDemandResponse.ParticipationStatus.Pending) revert AlreadyReported(programId, participant);
        if (actualReductionMW == 0) revert ZeroProgramParameter();

        (uint256 baselineW, uint256 actualW) = MeterBaseline.measure(_smartMeter, part.meter, p.startTime, p.endTime);
        uint256 meteredW = actualW < baselineW ? baselineW - actualW : 0;
        if (meteredW < actualReductionMW * W_PER_MW) {
            revert InvalidMeterReading(part.meter, actualReductionMW * W_PER_MW, meteredW);
        }
        uint64 rewardedMW = actualReductionMW < part.committedReductionMW ? actualReductionMW : part.committedReductionMW;
        uint256 reward = _pools[programId].reserve(participant, uint256(p.incentiveRatePerMW) * rewardedMW);
        part.status = IDemandResponse.ParticipationStatus.Verified;
        part.actualReductionMW = actualReductionMW;
        part.meteredReductionW = uint64(meteredW);
        part.reportedAt = uint40(block.timestamp);
        part.rewardAmount = reward;
        p.totalReportedMW += rewardedMW;
        emit ReductionReported(programId, participant, actualReductionMW, meteredW, reward);
        _recordReward(p, part.meter, rewardedMW);
    }

    /// @dev Writes the window into DemandResponse's once-only record, which reverts when an event
    /// or program rewarded any of its intervals (or a later one) already.
    function _recordReward(Program storage p, address meter, uint256 rewardedMW) private {
        (uint256 first, uint256 last) = MeterBaseline.intervals(p.startTime, p.endTime);
        uint256 reductionWh = rewardedMW * W_PER_MW * (p.endTime - p.startTime) / 3600;
        _demandResponse.recordRewardedReduction(meter, first, last, reductionWh);
    }

    /// @inheritdoc IDemandPrograms
    function claimReward(uint256 programId) external nonReentrant returns (uint256 amount) {
        return _claimReward(programId);
    }

    /// @inheritdoc IDemandPrograms
    function distributeRewards(uint256 programId) external nonReentrant returns (uint256 paidParticipants) {
        Program storage p = _activeProgram(programId);
        return _distributeRewards(programId, p.endTime, p.verificationDeadline);
    }

    /// @inheritdoc IDemandPrograms
    function cancelProgram(uint256 programId) external nonReentrant {
        Program storage p = _activeProgram(programId);
        if (msg.sender != p.gridOperator) revert NotProgramOperator(programId, msg.sender);
        if (block.timestamp >= p.startTime) revert ProgramAlreadyStarted(programId, p.startTime);
        _closeAndRefund(programId, IDemandResponse.EventStatus.Cancelled);
    }

    /// @dev RewardPayouts' record of a payout: the participant's.
    function _moveStatus(
        uint256 programId,
        address participant,
        IDemandResponse.ParticipationStatus from,
        IDemandResponse.ParticipationStatus to
    ) internal override returns (IDemandResponse.ParticipationStatus previous, uint256 rewardAmount) {
        Participant storage part = _participants[programId][participant];
        previous = part.status;
        if (previous == from) (part.status, rewardAmount) = (to, part.rewardAmount);
    }

    /// @dev RewardPayouts' existence check.
    function _requireKnown(uint256 programId) internal view override {
        _knownProgram(programId);
    }

    /// @dev RewardPayouts closing a program: completed after distribution, or cancelled.
    function _closeRecord(uint256 programId, IDemandResponse.EventStatus status, uint256 refund)
        internal
        override
        returns (address)
    {
        Program storage p = _programs[programId];
        p.status = status;
        if (status == IDemandResponse.EventStatus.Completed) emit ProgramCompleted(programId, refund);
        else emit ProgramCancelled(programId, refund);
        return p.gridOperator;
    }

    /// @dev RewardPayouts' payout event, under this contract's parameter names.
    function _emitPaid(uint256 programId, address participant, uint256 amount) internal override {
        emit RewardPaid(programId, participant, amount);
    }

    /// @dev RewardPayouts' payout errors, under this contract's parameter names.
    function _revertPayout(PayoutFailure failure, uint256 programId, address participant, uint256 value)
        internal
        pure
        override
    {
        if (failure == PayoutFailure.NotVerified) revert ParticipationNotVerified(programId, participant);
        if (failure == PayoutFailure.AlreadyClaimed) revert RewardAlreadyClaimed(programId, participant);
        if (failure == PayoutFailure.WindowNotEnded) revert ProgramWindowNotEnded(programId, value);
        revert NothingToDistribute(programId);
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc IDemandPrograms
    function getProgram(uint256 programId) external view returns (DemandProgram memory) {
        Program storage p = _knownProgram(programId);
        return DemandProgram(
            programId,
            p.name,
            p.programType,
            p.regionId,
            p.gridOperator,
            p.targetReductionMW,
            p.incentiveRatePerMW,
            p.startTime,
            p.endTime,
            p.status,
            p.totalParticipants,
            p.totalCommittedMW,
            p.totalReportedMW
        );
    }

    /// @inheritdoc IDemandPrograms
    function getProgramBudget(uint256 programId) external view returns (ProgramBudget memory) {
        Program storage p = _knownProgram(programId);
        RewardPool.Pool storage pool = _pools[programId];
        return ProgramBudget(
            pool.budget, pool.reserved, pool.paid, pool.refunded, p.verificationDeadline, pool.verified.length, pool.cursor
        );
    }

    /// @inheritdoc IDemandPrograms
    function getParticipant(uint256 programId, address participant) external view returns (ProgramParticipant memory) {
        _knownProgram(programId);
        Participant storage part = _participants[programId][participant];
        return ProgramParticipant(
            part.meter,
            part.committedReductionMW,
            part.actualReductionMW,
            part.meteredReductionW,
            part.rewardAmount,
            part.joinedAt,
            part.reportedAt,
            part.status
        );
    }

    /// @inheritdoc IDemandPrograms
    function programCount() external view returns (uint256) {
        return _programCount;
    }

    /// @inheritdoc IDemandPrograms
    function demandResponse() external view returns (IDemandResponse) {
        return _demandResponse;
    }

    function _knownProgram(uint256 programId) private view returns (Program storage p) {
        p = _programs[programId];
        if (p.gridOperator == address(0)) revert ProgramNotFound(programId);
    }

    function _activeProgram(uint256 programId) private view returns (Program storage p) {
        p = _knownProgram(programId);
        if (p.status != IDemandResponse.EventStatus.Active) revert ProgramNotActive(programId, p.status);
    }
}
