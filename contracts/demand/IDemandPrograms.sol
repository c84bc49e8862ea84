// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDemandResponse} from "./IDemandResponse.sol";
import {ConsumerNotRegistered, DurationOutOfRange, GridOperatorNotRegistered, NotInitialized, RewardDistributionFailed} from "../utils/GridErrors.sol";
import {IReentrancyLock} from "../utils/ReentrancyLock.sol";

/// @title IDemandPrograms
/// @notice Demand-response programs (create a program, join it, report a reduction) beside
/// DemandResponse's events: a grid operator registered in DemandResponse
/// and authorized for the program's region in GridManagement creates a program and pays its
/// budget (targetReductionMW × incentiveRatePerMW) in; consumers registered in DemandResponse
/// whose meter is in that region commit a reduction; after the window the operator reports each
/// participant's reduction, which the participant's meter must show (same window and baseline as
/// DemandResponse events, MeterBaseline); rewards are paid from the budget, which this contract
/// holds in its own EnergyVault balance (DemandResponse's vault; it is a registered vault market),
/// into the participants' vault balances like events', and what is left returns to the operator's
/// vault balance.
///
/// Statuses reuse DemandResponse's: a program is Active, Completed or Cancelled; a participant is
/// Pending (joined), Verified (reduction reported and checked) or Rewarded (paid).
interface IDemandPrograms is IReentrancyLock {
    /// @notice The kinds of program, in a fixed order (their numbers never change).
    enum ProgramType {
        PEAK_SHAVING,
        LOAD_SHIFTING,
        EMERGENCY_RESPONSE
    }

    /// @notice A demand-response program: its region, budget, incentive rate and window.
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

    /// @notice `gridOperator` created `programId` and paid its budget in.
    /// @param programId The new program, numbered from 1.
    /// @param gridOperator The operator that created it and paid the budget.
    /// @param regionId The GridManagement region whose meters may join.
    /// @param programType The program's type.
    /// @param name The program's name, 1..MAX_NAME_BYTES bytes.
    /// @param targetReductionMW The reduction sought, MW.
    /// @param incentiveRatePerMW The reward per MW of rewarded reduction, PaymentToken base units.
    /// @param startTime The window's start, unix seconds, on a 900 s interval boundary.
    /// @param endTime The window's end, unix seconds (exclusive), a whole number of intervals later.
    /// @param budget targetReductionMW × incentiveRatePerMW, PaymentToken base units, pulled from `gridOperator`.
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
    /// @notice `participant` joined `programId` (Pending), committing to a reduction.
    /// @param programId The program.
    /// @param participant The consumer that joined.
    /// @param committedReductionMW The reduction it committed to, MW (caps the reduction rewarded).
    event ProgramJoined(uint256 indexed programId, address indexed participant, uint256 committedReductionMW);
    /// @notice The operator reported `participant`'s reduction, which its meter confirmed, and its
    /// reward was reserved (Verified from now on).
    /// @param programId The program.
    /// @param participant The participant reported.
    /// @param actualReductionMW The reduction reported, MW.
    /// @param meteredReductionW The reduction the meter showed (baseline − actual average power), W.
    /// @param rewardAmount The reward reserved, PaymentToken base units: incentiveRatePerMW ×
    /// min(actual, committed) MW, capped by the budget left (0 once it is spent).
    event ReductionReported(
        uint256 indexed programId,
        address indexed participant,
        uint256 actualReductionMW,
        uint256 meteredReductionW,
        uint256 rewardAmount
    );
    /// @notice `amount` was credited to `participant`'s EnergyVault balance (by its claim or a distribution batch).
    /// @param programId The program.
    /// @param participant The participant paid (Rewarded from now on).
    /// @param amount The reward credited, PaymentToken base units (0 when its reward was capped to 0).
    event RewardPaid(uint256 indexed programId, address indexed participant, uint256 amount);
    /// @notice The operator cancelled the program before its window; the whole budget went back to its vault balance.
    /// @param programId The program (Cancelled from now on).
    /// @param refund The budget returned to the operator, PaymentToken base units.
    event ProgramCancelled(uint256 indexed programId, uint256 refund);
    /// @notice Every reported participant was paid (by a distribution or its own claim) and
    /// reporting is over; the unreserved budget went back to the operator's vault balance.
    /// @param programId The program (Completed from now on).
    /// @param refund budget − reserved, PaymentToken base units, returned to the operator.
    event ProgramCompleted(uint256 indexed programId, uint256 refund);

    /// @notice `operator` is not an authorized GridManagement operator of `regionId`.
    /// @param operator The caller.
    /// @param regionId The program's region.
    error OperatorNotAuthorizedForRegion(address operator, uint32 regionId);
    /// @notice A program name that is empty or longer than MAX_NAME_BYTES.
    /// @param lengthBytes The name's length, bytes.
    error InvalidProgramName(uint256 lengthBytes);
    /// @notice A program type other than 0 PEAK_SHAVING, 1 LOAD_SHIFTING, 2 EMERGENCY_RESPONSE.
    /// @param programType The type given.
    error InvalidProgramType(uint256 programType);
    /// @notice A target, rate, commitment or reported reduction of zero.
    error ZeroProgramParameter();
    /// @notice No program `programId`.
    /// @param programId The program id given.
    error ProgramNotFound(uint256 programId);
    /// @notice The program is Completed or Cancelled.
    /// @param programId The program.
    /// @param status Its status (1 Completed, 2 Cancelled).
    error ProgramNotActive(uint256 programId, IDemandResponse.EventStatus status);
    /// @notice Too late: `deadline` has passed.
    /// @param programId The program.
    /// @param deadline Unix seconds: the window's end for joining, the verification deadline for reporting.
    error ProgramExpired(uint256 programId, uint256 deadline);
    /// @notice Too early: the program's window has not ended.
    /// @param programId The program.
    /// @param endTime The window's end, unix seconds.
    error ProgramWindowNotEnded(uint256 programId, uint256 endTime);
    /// @notice Too late to cancel: the window has started.
    /// @param programId The program.
    /// @param startTime The window's start, unix seconds.
    error ProgramAlreadyStarted(uint256 programId, uint256 startTime);
    /// @notice `account` is not the operator that created `programId`.
    /// @param programId The program.
    /// @param account The caller.
    error NotProgramOperator(uint256 programId, address account);
    /// @notice The consumer's meter is not in the program's region.
    /// @param meter The consumer's meter.
    /// @param meterRegionId The meter's region in SmartMeter.
    /// @param programRegionId The program's region.
    error MeterNotInRegion(address meter, uint32 meterRegionId, uint32 programRegionId);
    /// @notice `meter`'s window from `firstInterval` overlaps, or precedes, intervals already
    /// rewarded by a DemandResponse event or a program (DemandResponse keeps the record and raises
    /// it): a reduction earns one reward.
    /// @param meter The participant's meter.
    /// @param firstInterval The program window's first interval index (unix s / 900).
    /// @param rewardedThroughInterval The meter's last interval already rewarded.
    error ReductionAlreadyRewarded(address meter, uint256 firstInterval, uint256 rewardedThroughInterval);
    /// @notice `participant` joined `programId` already.
    /// @param programId The program.
    /// @param participant The caller.
    error AlreadyParticipating(uint256 programId, address participant);
    /// @notice `participant` never joined `programId`.
    /// @param programId The program.
    /// @param participant The account named.
    error NotProgramParticipant(uint256 programId, address participant);
    /// @notice `participant`'s reduction was reported already.
    /// @param programId The program.
    /// @param participant The participant named.
    error AlreadyReported(uint256 programId, address participant);
    /// @notice The meter shows less reduction than reported.
    /// @param meter The participant's meter.
    /// @param claimedReductionW The reduction reported, W (actualReductionMW × W_PER_MW).
    /// @param meteredReductionW The reduction the meter shows, W (0 when usage did not fall).
    error InvalidMeterReading(address meter, uint256 claimedReductionW, uint256 meteredReductionW);
    /// @notice `participant` has no reported, unpaid reduction in `programId`.
    /// @param programId The program.
    /// @param participant The caller.
    error ParticipationNotVerified(uint256 programId, address participant);
    /// @notice `participant` was paid for `programId` already.
    /// @param programId The program.
    /// @param participant The caller.
    error RewardAlreadyClaimed(uint256 programId, address participant);
    /// @notice distributeRewards found nobody left to visit and the program cannot complete before
    /// its verification deadline.
    /// @param programId The program.
    error NothingToDistribute(uint256 programId);

    /// @notice Creates a program in `regionId` and pulls its budget, targetReductionMW ×
    /// incentiveRatePerMW, from the caller's wallet (which approved this contract) into this
    /// contract's EnergyVault balance; the caller is a grid operator registered in DemandResponse
    /// and an authorized GridManagement operator of `regionId`. `programType` is 0..2 (ProgramType). Window
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
    /// it is spent). The window is recorded as rewarded for the meter in DemandResponse's once-only
    /// record (min(actual, committed) × 1,000,000 W over the window), which refuses a window
    /// overlapping or preceding one an event or program already rewarded (ReductionAlreadyRewarded).
    function reportReduction(uint256 programId, address participant, uint64 actualReductionMW) external;

    /// @notice Pays up to MAX_DISTRIBUTION_BATCH reported, unpaid participants' rewards from this
    /// contract's EnergyVault balance into theirs, in one vault batch that moves no token. After the
    /// verification deadline, once everyone has been visited, completes the program and refunds the
    /// unreserved budget to the operator's vault balance. Anyone may call, after the window.
    function distributeRewards(uint256 programId) external returns (uint256 paidParticipants);

    /// @notice Pays the caller's reported reward for `programId` from this contract's EnergyVault
    /// balance into the caller's (`IEnergyVault.give`: no token moves).
    function claimReward(uint256 programId) external returns (uint256 amount);

    /// @notice Cancels `programId` before its window starts and refunds the budget to the
    /// operator's EnergyVault balance. Its operator only.
    function cancelProgram(uint256 programId) external;

    function getProgram(uint256 programId) external view returns (DemandProgram memory);
    function getProgramBudget(uint256 programId) external view returns (ProgramBudget memory);
    function getParticipant(uint256 programId, address participant) external view returns (ProgramParticipant memory);
    function programCount() external view returns (uint256);
    /// @notice The DemandResponse whose registrations, SmartMeter, vault, token and verification period programs use.
    function demandResponse() external view returns (IDemandResponse);
}
