// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDemandResponse} from "./IDemandResponse.sol";
import {ConsumerNotRegistered, DurationOutOfRange, GridOperatorNotRegistered, NotInitialized} from "./GridErrors.sol";

/// @title IDemandPrograms
/// @notice Seed 001's demand-response programs (create-demand-program, join-program,
/// report-reduction) beside DemandResponse's events: a grid operator registered in DemandResponse
/// and authorized for the program's region in GridManagement creates a program and pays its
/// budget (targetReductionMW × incentiveRatePerMW) in; consumers registered in DemandResponse
/// whose meter is in that region commit a reduction; after the window the operator reports each
/// participant's reduction, which the participant's meter must show (same window and baseline as
/// DemandResponse events, MeterBaseline); rewards are paid from the budget like events'.
///
/// Statuses reuse DemandResponse's: a program is Active, Completed or Cancelled; a participant is
/// Pending (joined), Verified (reduction reported and checked) or Rewarded (paid).
interface IDemandPrograms {
    /// @notice Seed 001's program types, in its order (1, 2, 3 there).
    enum ProgramType {
        PEAK_SHAVING,
        LOAD_SHIFTING,
        EMERGENCY_RESPONSE
    }

    /// @notice A program (seed 001's demand program).
    struct DemandProgram {
        uint256 programId;
        string name;
        ProgramType programType;
        uint32 regionId;
        address gridOperator;
        uint256 targetReductionMW;
        uint256 incentiveRatePerMW; // PaymentToken base units per MW reduced
        uint256 startTime; // window, unix s
        uint256 endTime;
        IDemandResponse.EventStatus status;
        uint256 totalParticipants; // joined
        uint256 totalCommittedMW;
        uint256 totalReportedMW; // sum of rewarded reductions, min(actual, committed)
    }

    /// @notice One participant of a program.
    struct ProgramParticipant {
        address meter;
        uint256 committedReductionMW;
        uint256 actualReductionMW; // as reported, 0 until then
        uint256 meteredReductionW; // what the meter showed at the report
        uint256 rewardAmount;
        uint256 joinedAt; // unix s, 0 = not a participant
        uint256 reportedAt; // unix s, 0 until reported
        IDemandResponse.ParticipationStatus status;
    }

    /// @notice A program's money and reporting deadline.
    struct ProgramBudget {
        uint256 budget;
        uint256 reserved;
        uint256 paid;
        uint256 refunded;
        uint256 verificationDeadline; // last second reportReduction is accepted
        uint256 reportedParticipants;
        uint256 distributionCursor;
    }

    event DemandProgramCreated(
        uint256 indexed programId,
        address indexed gridOperator,
        uint32 indexed regionId,
        ProgramType programType,
        string name,
        uint256 targetReductionMW,
        uint256 incentiveRatePerMW,
        uint256 startTime,
        uint256 endTime,
        uint256 budget
    );
    event ProgramJoined(uint256 indexed programId, address indexed participant, uint256 committedReductionMW);
    /// @notice The operator reported `actualReductionMW` for `participant`; its meter showed `meteredReductionW`.
    event ReductionReported(
        uint256 indexed programId,
        address indexed participant,
        uint256 actualReductionMW,
        uint256 meteredReductionW,
        uint256 rewardAmount
    );
    event RewardPaid(uint256 indexed programId, address indexed participant, uint256 amount);
    event ProgramCancelled(uint256 indexed programId, uint256 refund);
    event ProgramCompleted(uint256 indexed programId, uint256 refund);

    /// @notice `operator` is not an authorized GridManagement operator of `regionId`.
    error OperatorNotAuthorizedForRegion(address operator, uint32 regionId);
    /// @notice A program name that is empty or longer than MAX_NAME_BYTES.
    error InvalidProgramName(uint256 lengthBytes);
    /// @notice A program type other than 0 PEAK_SHAVING, 1 LOAD_SHIFTING, 2 EMERGENCY_RESPONSE.
    error InvalidProgramType(uint256 programType);
    /// @notice A target, rate, commitment or reported reduction of zero.
    error ZeroProgramParameter();
    error ProgramNotFound(uint256 programId);
    /// @notice The program is Completed or Cancelled.
    error ProgramNotActive(uint256 programId, IDemandResponse.EventStatus status);
    /// @notice Too late: `deadline` (window end for joining, verification deadline for reporting) has passed.
    error ProgramExpired(uint256 programId, uint256 deadline);
    /// @notice Too early: the program's window ends at `endTime`.
    error ProgramWindowNotEnded(uint256 programId, uint256 endTime);
    /// @notice Too late to cancel: the window started at `startTime`.
    error ProgramAlreadyStarted(uint256 programId, uint256 startTime);
    /// @notice `account` is not the operator that created `programId`.
    error NotProgramOperator(uint256 programId, address account);
    /// @notice The consumer's meter is in `meterRegionId`, not in the program's region.
    error MeterNotInRegion(address meter, uint32 meterRegionId, uint32 programRegionId);
    /// @notice `participant` joined `programId` already.
    error AlreadyParticipating(uint256 programId, address participant);
    /// @notice `participant` never joined `programId`.
    error NotProgramParticipant(uint256 programId, address participant);
    /// @notice `participant`'s reduction was reported already.
    error AlreadyReported(uint256 programId, address participant);
    /// @notice The meter shows `meteredReductionW`, less than the `claimedReductionW` reported.
    error InvalidMeterReading(address meter, uint256 claimedReductionW, uint256 meteredReductionW);
    /// @notice The token refused to transfer `amount` to `participant`.
    error RewardDistributionFailed(uint256 programId, address participant, uint256 amount);
    /// @notice `participant` has no reported, unpaid reduction in `programId`.
    error ParticipationNotVerified(uint256 programId, address participant);
    /// @notice `participant` was paid for `programId` already.
    error RewardAlreadyClaimed(uint256 programId, address participant);
    /// @notice distributeRewards found nobody to pay and the program cannot complete yet.
    error NothingToDistribute(uint256 programId);
    /// @notice Reentrant call into a function that moves tokens.
    error ReentrancyGuardReentrantCall();

    /// @notice Creates a program in `regionId` and pulls its budget, targetReductionMW ×
    /// incentiveRatePerMW, from the caller: a grid operator registered in DemandResponse and an
    /// authorized GridManagement operator of `regionId`. `programType` is 0..2 (ProgramType). Window
    /// as DemandResponse events: next 900 s boundary, `durationSeconds` (1..86,400) rounded up to
    /// whole intervals. Reports are accepted for DemandResponse's verification period after it.
    function createDemandProgram(
        string calldata name,
        uint8 programType,
        uint32 regionId,
        uint64 targetReductionMW,
        uint128 incentiveRatePerMW,
        uint256 durationSeconds
    ) external returns (uint256 programId);

    /// @notice Commits the calling consumer (registered in DemandResponse, meter in the program's
    /// region) to reduce by `committedReductionMW`, before the window ends; once per program.
    function joinProgram(uint256 programId, uint64 committedReductionMW) external;

    /// @notice The program's operator reports `participant`'s reduction after the window and before
    /// the verification deadline. The participant's meter must show at least actualReductionMW ×
    /// 1,000,000 W of reduction (MeterBaseline), else InvalidMeterReading. The reward,
    /// incentiveRatePerMW × min(actual, committed), is reserved from the budget left (capped; 0 once
    /// it is spent).
    function reportReduction(uint256 programId, address participant, uint64 actualReductionMW) external;

    /// @notice Pays up to MAX_DISTRIBUTION_BATCH reported, unpaid participants; after the
    /// verification deadline, once everyone is paid, completes the program and refunds the rest.
    /// Anyone may call, after the window.
    function distributeRewards(uint256 programId) external returns (uint256 paidParticipants);

    /// @notice Pays the caller's reported reward for `programId`.
    function claimReward(uint256 programId) external returns (uint256 amount);

    /// @notice Cancels `programId` before its window starts and refunds the budget. Its operator only.
    function cancelProgram(uint256 programId) external;

    function getProgram(uint256 programId) external view returns (DemandProgram memory);
    function getProgramBudget(uint256 programId) external view returns (ProgramBudget memory);
    function getParticipant(uint256 programId, address participant) external view returns (ProgramParticipant memory);
    function programCount() external view returns (uint256);
    /// @notice The DemandResponse whose registrations, SmartMeter, token and verification period programs use.
    function demandResponse() external view returns (IDemandResponse);
}
