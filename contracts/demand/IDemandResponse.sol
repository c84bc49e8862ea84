// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IGridManagement} from "../grid/IGridManagement.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {ISmartMeterRegistry} from "../metering/ISmartMeterRegistry.sol";
import {ConsumerNotRegistered, DurationOutOfRange, GridOperatorNotRegistered, InvalidPageLimit, NotInitialized, RewardDistributionFailed, ZeroAddress} from "../utils/GridErrors.sol";
import {IReentrancyLock} from "../utils/ReentrancyLock.sol";

/// @title IDemandResponse
/// @notice Demand-response events: a registered grid operator starts an event with a
/// target and a reward per kW and pays the whole budget in up front; consumers' reductions are
/// measured from their SmartMeter load profile (nobody's figures are trusted) and paid from the
/// budget into their EnergyVault balances, pull-based or in bounded batches; what is left returns to
/// the operator's vault balance. The contract is a registered vault market holding every budget in
/// its own vault balance, so a payout moves vault balances and no token: no participant (a frozen
/// account) and no token state can hold up a claim or a batch.
///
/// Measurement (MeterBaseline): the event window starts at the first 900 s interval boundary at or
/// after the block that started the event and lasts its duration rounded up to whole intervals.
/// Actual energy is the meter's consumption in the window's intervals; baseline energy is the
/// consumption in the same clock intervals on each of the 5 previous days, summed and divided by 5
/// (rounded down; intervals without a reading count 0). `baselineUsageKW` and `actualUsageKW`,
/// despite their names, carry average POWER in W: energy Wh × 3600 / window seconds, rounded down.
/// Reduction W = baseline W − actual W.
///
/// Regions and the once-only record: every event belongs to one grid region; only a
/// GridManagement operator authorized for that region (and registered here) starts it, and only
/// consumers whose meter SmartMeter lists in that region join or are verified in it (the region is
/// read once, at registration: SmartMeter never moves a meter). A meter's interval is rewarded at
/// most once across all events and all DemandPrograms programs: this contract keeps, per meter,
/// the last interval already rewarded and the reduction Wh rewarded so far; a verification (or a
/// DemandPrograms report, through REDUCTION_RECORDER_ROLE) whose window starts at or before that
/// interval reverts ReductionAlreadyRewarded. Windows must therefore be verified in the order they
/// occur: a window ending earlier than one already rewarded is refused too.
///
/// Its errors: NotInitialized (a constructor given a zero address: a contract cannot exist
/// uninitialized), GridOperatorNotRegistered, ConsumerNotRegistered, EventNotFound, EventNotActive,
/// EventExpired, AlreadyParticipating, InsufficientReduction, InvalidMeterReading,
/// RewardDistributionFailed (the payment token refused the budget's pull without an error of its own),
/// EmptyBatch and BatchTooLarge (a verifyReductions batch of no consumer or more than MAX_VERIFICATION_BATCH).
interface IDemandResponse is IReentrancyLock {
    /// @notice Where an event stands: running, ended, or called off.
    enum EventStatus {
        Active,
        Completed,
        Cancelled
    }

    /// @notice Where a consumer's participation in an event stands.
    enum ParticipationStatus {
        Pending, // joined ahead, not verified yet
        Verified, // reduction measured, reward reserved
        Rewarded, // reward paid
        Rejected // the event's operator turned the joined consumer away
    }

    /// @notice A demand-response event: the operator who called it, its region and window, its target
    /// and reward per kW, and the reductions verified so far.
    struct DemandResponseEvent {
        uint256 eventId;
        address gridOperator;
        uint256 targetReductionKW;
        uint256 rewardPerKW; // PaymentToken base units per kW of reduction
        uint256 startTime; // window start, unix s, on a 900 s boundary
        uint256 endTime; // window end, unix s (exclusive)
        EventStatus status;
        uint256 totalParticipants; // consumers verified
        uint256 totalReductionAchieved; // W, sum of verified reductions
        uint32 regionId; // the grid region whose meters take part
    }

    /// @notice An event's money and verification deadline.
    struct EventBudget {
        uint256 budget; // targetReductionKW × rewardPerKW, pulled from the operator at the start
        uint256 reserved; // granted to verified participants, paid or not
        uint256 paid; // paid into participants' vault balances
        uint256 refunded; // returned to the operator (cancel or completion)
        uint256 verificationDeadline; // last second verifyReduction is accepted
        uint256 verifiedParticipants; // length of the distribution list
        uint256 distributionCursor; // next list position distributeRewards visits
    }

    /// @notice A consumer's participation in an event: the reduction measured and the reward it earns.
    struct ParticipationRecord {
        uint256 participationId; // from 1, in order of joining or verification
        uint256 eventId;
        address consumer;
        uint256 baselineUsageKW; // W (average power), see the contract NatSpec
        uint256 actualUsageKW; // W (average power)
        uint256 reductionAchievedKW; // W, baseline − actual
        uint256 rewardAmount; // PaymentToken base units
        uint256 meterReadingStart; // first interval index of the window
        uint256 meterReadingEnd; // last interval index of the window
        uint256 verifiedAt; // unix s, 0 until verified
        ParticipationStatus status;
    }

    // ----------------------------------------------------------------------------- events

    /// @notice The admin registered `operator`.
    /// @param operator The account that may now start events and register consumers.
    event GridOperatorRegistered(address indexed operator);
    /// @notice `consumer` registered with `meter`, by itself or by a grid operator.
    /// @param consumer The consumer whose reductions `meter` measures.
    /// @param meter The consumer's SmartMeter meter.
    /// @param registeredBy The caller: the consumer itself or a registered grid operator.
    event ConsumerRegistered(address indexed consumer, address indexed meter, address indexed registeredBy);
    /// @notice `gridOperator` started `eventId` in `regionId` and paid its budget in.
    /// @param eventId The new event, numbered from 1.
    /// @param gridOperator The registered grid operator that started it and paid the budget.
    /// @param regionId The grid region whose meters take part (the operator's GridManagement region).
    /// @param targetReductionKW The reduction sought, kW.
    /// @param rewardPerKW The reward per kW of verified reduction, PaymentToken base units.
    /// @param startTime The window's start, unix seconds, on a 900 s interval boundary.
    /// @param endTime The window's end, unix seconds (exclusive), a whole number of intervals later.
    /// @param budget targetReductionKW × rewardPerKW, PaymentToken base units, pulled from `gridOperator`.
    event EventStarted(
        uint256 indexed eventId,
        address indexed gridOperator,
        uint32 indexed regionId,
        uint256 targetReductionKW,
        uint256 rewardPerKW,
        uint256 startTime,
        uint256 endTime,
        uint256 budget
    );
    /// @notice `consumer` opted in ahead of the window (Pending).
    /// @param eventId The event joined.
    /// @param consumer The registered consumer that joined.
    /// @param participationId The participation's id, from 1 across all events.
    event EventJoined(uint256 indexed eventId, address indexed consumer, uint256 participationId);
    /// @notice The event's operator rejected `consumer`'s pending participation.
    /// @param eventId The event.
    /// @param consumer The consumer turned away; it can no longer be verified in `eventId`.
    /// @param reason The operator's reason code, free-form (e.g. a left-aligned ASCII tag such as "NO_SHOW").
    event ParticipationRejected(uint256 indexed eventId, address indexed consumer, bytes32 reason);
    /// @notice `consumer`'s reduction was measured from its meter and `rewardAmount` reserved for it.
    /// @param eventId The event.
    /// @param consumer The consumer verified (Verified from now on).
    /// @param participationId The participation's id, kept from joining or new.
    /// @param baselineUsageW The baseline average power over the window, W.
    /// @param actualUsageW The actual average power over the window, W.
    /// @param reductionW baselineUsageW − actualUsageW, W.
    /// @param rewardAmount The reward reserved, PaymentToken base units: rewardPerKW × reductionW / 1000
    /// rounded down, capped by the budget left (0 once it is spent).
    event ReductionVerified(
        uint256 indexed eventId,
        address indexed consumer,
        uint256 participationId,
        uint256 baselineUsageW,
        uint256 actualUsageW,
        uint256 reductionW,
        uint256 rewardAmount
    );
    /// @notice `amount` was credited to `consumer`'s EnergyVault balance (by its claim or a distribution batch).
    /// @param eventId The event.
    /// @param consumer The consumer paid (Rewarded from now on).
    /// @param amount The reward credited, PaymentToken base units (0 when its reward was capped to 0).
    event RewardPaid(uint256 indexed eventId, address indexed consumer, uint256 amount);
    /// @notice The operator cancelled the event before its window; the whole budget went back to its vault balance.
    /// @param eventId The event (Cancelled from now on).
    /// @param refund The budget returned to the operator, PaymentToken base units.
    event EventCancelled(uint256 indexed eventId, uint256 refund);
    /// @notice Every verified participant was paid (by a distribution or its own claim) and
    /// verification is over; the unreserved budget went back to the operator's vault balance.
    /// @param eventId The event (Completed from now on).
    /// @param refund budget − reserved, PaymentToken base units, returned to the operator.
    event EventCompleted(uint256 indexed eventId, uint256 refund);
    /// @notice The admin changed the smallest reduction that earns a reward.
    /// @param previousW The former minimum, W.
    /// @param newW The new minimum, W.
    event MinimumReductionUpdated(uint256 previousW, uint256 newW);
    /// @notice The admin changed how long after an event's window verification is accepted, for
    /// events started from now on.
    /// @param previousSeconds The former period, seconds.
    /// @param newSeconds The new period, seconds.
    event VerificationPeriodUpdated(uint256 previousSeconds, uint256 newSeconds);

    // ----------------------------------------------------------------------------- errors

    /// @notice `operator` is registered already.
    /// @param operator The account given.
    error GridOperatorAlreadyRegistered(address operator);
    /// @notice `consumer` is registered already.
    /// @param consumer The account given.
    error ConsumerAlreadyRegistered(address consumer);
    /// @notice `meter` is owned by `owner` in SmartMeter, not by `consumer`.
    /// @param meter The meter given.
    /// @param consumer The consumer being registered.
    /// @param owner The meter's owner in SmartMeter (an unknown meter reverts SmartMeter's MeterUnknown instead).
    error MeterNotOwnedByConsumer(address meter, address consumer, address owner);
    /// @notice A target reduction or reward rate of zero.
    error ZeroEventParameter();
    /// @notice No event `eventId`.
    /// @param eventId The event id given.
    error EventNotFound(uint256 eventId);
    /// @notice The event is Completed or Cancelled.
    /// @param eventId The event.
    /// @param status Its status (1 Completed, 2 Cancelled).
    error EventNotActive(uint256 eventId, EventStatus status);
    /// @notice Too late: `deadline` has passed.
    /// @param eventId The event.
    /// @param deadline Unix seconds: the window's end for joining, the verification deadline for verifying.
    error EventExpired(uint256 eventId, uint256 deadline);
    /// @notice Too early: the event's window has not ended.
    /// @param eventId The event.
    /// @param endTime The window's end, unix seconds.
    error EventWindowNotEnded(uint256 eventId, uint256 endTime);
    /// @notice Too late to cancel: the window has started.
    /// @param eventId The event.
    /// @param startTime The window's start, unix seconds.
    error EventAlreadyStarted(uint256 eventId, uint256 startTime);
    /// @notice `account` is not the operator that started `eventId`.
    /// @param eventId The event.
    /// @param account The caller.
    error NotEventOperator(uint256 eventId, address account);
    /// @notice `consumer` joined or was verified in `eventId` already.
    /// @param eventId The event.
    /// @param consumer The consumer.
    error AlreadyParticipating(uint256 eventId, address consumer);
    /// @notice `consumer` has no pending participation in `eventId` to reject.
    /// @param eventId The event.
    /// @param consumer The consumer named.
    error ParticipationNotPending(uint256 eventId, address consumer);
    /// @notice `consumer` was rejected from `eventId` and cannot be verified.
    /// @param eventId The event.
    /// @param consumer The rejected consumer.
    error ConsumerRejected(uint256 eventId, address consumer);
    /// @notice The meter shows too small a reduction.
    /// @param eventId The event.
    /// @param consumer The consumer.
    /// @param reductionW The reduction the meter shows, W (0 when usage did not fall).
    /// @param minimumReductionW The smallest reduction that earns a reward, W.
    error InsufficientReduction(uint256 eventId, address consumer, uint256 reductionW, uint256 minimumReductionW);
    /// @notice The submitted figures disagree with what `meter` gives; the error carries the meter's.
    /// @param meter The consumer's meter.
    /// @param baselineUsageKW The meter's baseline average power over the window, W (named kW, holds W).
    /// @param actualUsageKW The meter's actual average power over the window, W (named kW, holds W).
    /// @param meterReadingStart The window's first interval index (unix seconds / 900).
    /// @param meterReadingEnd The window's last interval index (unix seconds / 900).
    error InvalidMeterReading(
        address meter,
        uint256 baselineUsageKW,
        uint256 actualUsageKW,
        uint256 meterReadingStart,
        uint256 meterReadingEnd
    );
    /// @notice `consumer` has no verified, unpaid participation in `eventId`.
    /// @param eventId The event.
    /// @param consumer The caller.
    error ParticipationNotVerified(uint256 eventId, address consumer);
    /// @notice `consumer` was paid its reward for `eventId` already.
    /// @param eventId The event.
    /// @param consumer The caller.
    error RewardAlreadyClaimed(uint256 eventId, address consumer);
    /// @notice distributeRewards found nobody left to visit and the event cannot complete before
    /// its verification deadline.
    /// @param eventId The event.
    error NothingToDistribute(uint256 eventId);
    /// @notice A verification period outside `minSeconds`..`maxSeconds`.
    /// @param secondsRequested The period given, seconds.
    /// @param minSeconds The shortest period accepted, seconds (MIN_VERIFICATION_PERIOD).
    /// @param maxSeconds The longest period accepted, seconds (MAX_VERIFICATION_PERIOD).
    error VerificationPeriodOutOfRange(uint256 secondsRequested, uint256 minSeconds, uint256 maxSeconds);
    /// @notice `operator` is not an authorized GridManagement operator of `regionId`.
    /// @param operator The caller.
    /// @param regionId The event's region.
    error OperatorNotAuthorizedForRegion(address operator, uint32 regionId);
    /// @notice The consumer's meter is not in the event's region.
    /// @param meter The consumer's meter.
    /// @param meterRegionId The meter's region in SmartMeter.
    /// @param eventRegionId The event's region.
    error MeterNotInRegion(address meter, uint32 meterRegionId, uint32 eventRegionId);
    /// @notice `meter`'s window from `firstInterval` overlaps, or precedes, intervals already
    /// rewarded by an event or program: a reduction earns one reward.
    /// @param meter The consumer's meter.
    /// @param firstInterval The window's first interval index (unix s / 900).
    /// @param rewardedThroughInterval The meter's last interval already rewarded.
    error ReductionAlreadyRewarded(address meter, uint256 firstInterval, uint256 rewardedThroughInterval);
    /// @notice A recorded window whose last interval precedes its first, or lies beyond 64 bits.
    /// @param firstInterval The window's first interval index given.
    /// @param lastInterval The window's last interval index given.
    error InvalidIntervalRange(uint256 firstInterval, uint256 lastInterval);

    // ----------------------------------------------------------------------------- functions

    /// @notice Registers `operator`, who may start events and register consumers. DEFAULT_ADMIN_ROLE only.
    function registerGridOperator(address operator) external;

    /// @notice Registers `consumer` with `meter`, which SmartMeter must list as owned by `consumer`.
    /// Callable by the consumer itself or a registered grid operator.
    function registerConsumer(address consumer, address meter) external;

    /// @notice Starts an event in `regionId` and pulls its budget, targetReductionKW × rewardPerKW,
    /// from the caller's wallet (a registered grid operator that GridManagement authorizes for
    /// `regionId`, who must have approved this contract) into this contract's EnergyVault balance.
    /// The window starts at the next 900 s boundary (now when the block is on one) and lasts
    /// `durationSeconds` (1..86,400) rounded up to whole intervals.
    function startEvent(uint32 regionId, uint64 targetReductionKW, uint128 rewardPerKW, uint256 durationSeconds)
        external
        returns (uint256 eventId);

    /// @notice startEvent in the caller's own region, the one GridManagement lists it in: the
    /// specification's form, which names no region. The same checks, budget and window (from the
    /// next 900 s boundary, now when the block is on one); a caller GridManagement does not
    /// authorize is refused with OperatorNotAuthorizedForRegion naming the region it lists (0 for none).
    function startEvent(uint64 targetReductionKW, uint128 rewardPerKW, uint256 durationSeconds)
        external
        returns (uint256 eventId);

    /// @notice Opts the calling registered consumer, whose meter is in the event's region, into
    /// `eventId` (Pending) before its window ends.
    function joinEvent(uint256 eventId) external;

    /// @notice Rejects `consumer`'s pending participation; it can then not be verified. The event's operator only.
    function rejectParticipation(uint256 eventId, address consumer, bytes32 reason) external;

    /// @notice What the meter gives for `consumer` in `eventId`, in verifyReduction's argument order.
    /// Reverts MeterDataIncomplete while the window's last interval has no reading.
    function previewReduction(uint256 eventId, address consumer)
        external
        view
        returns (uint256 baselineUsageKW, uint256 actualUsageKW, uint256 meterReadingStart, uint256 meterReadingEnd);

    /// @notice Verifies `consumer`'s reduction against its meter and reserves its reward,
    /// rewardPerKW × reductionW / 1000 rounded down, capped by the budget left (0 once it is spent:
    /// the reduction is still recorded). Anyone may call, from the window's end to its
    /// verification deadline. The consumer's meter must be in the event's region and none of the
    /// window's intervals rewarded before (ReductionAlreadyRewarded): the window is recorded as
    /// rewarded for the meter, also when the budget is spent and the reward is 0.
    /// Requires a meter reading in the window's last interval: SmartMeter
    /// books energy in the interval of the reading that reports it, so readings withheld during
    /// the window and sent later would make the window look empty.
    function verifyReduction(
        uint256 eventId,
        address consumer,
        uint256 baselineUsageKW,
        uint256 actualUsageKW,
        uint256 meterReadingStart,
        uint256 meterReadingEnd
    ) external returns (uint256 participationId);

    /// @notice verifyReduction for each of `consumers`, in order, with each meter's own figures (those
    /// previewReduction gives), in one transaction: the same checks, records, rewards and events as
    /// one verifyReduction a consumer. A consumer that verifyReduction would refuse refuses the whole
    /// batch with its error; a consumer named twice is refused the second time (AlreadyParticipating).
    /// 1 to MAX_VERIFICATION_BATCH consumers (EmptyBatch, BatchTooLarge). Meters registered one after
    /// another share their load-profile words, so a batch of neighbours reads each word once: a
    /// keeper's way of verifying an event's consumers. Anyone may call.
    function verifyReductions(uint256 eventId, address[] calldata consumers) external;

    /// @notice Pays up to MAX_DISTRIBUTION_BATCH verified, unpaid participants' rewards from this
    /// contract's EnergyVault balance into theirs, in one vault batch that moves no token; call again
    /// while some remain. After the verification deadline, once everyone has been visited, completes
    /// the event and refunds the unreserved budget to the operator's vault balance. Anyone may call,
    /// after the window.
    function distributeRewards(uint256 eventId) external returns (uint256 paidParticipants);

    /// @notice Pays the caller's verified reward for `eventId` from this contract's EnergyVault
    /// balance into the caller's (`IEnergyVault.give`: no token moves).
    function claimReward(uint256 eventId) external returns (uint256 amount);

    /// @notice Cancels `eventId` before its window starts and refunds the whole budget to the
    /// operator's EnergyVault balance. Its operator only.
    function cancelEvent(uint256 eventId) external;

    /// @notice Records that `meter`'s intervals `firstInterval`..`lastInterval` earned a reward for
    /// `reductionWh`, so that no event or program rewards them again; reverts
    /// ReductionAlreadyRewarded when `firstInterval` is not after the meter's last rewarded
    /// interval, InvalidIntervalRange when `lastInterval` precedes it or exceeds 64 bits.
    /// REDUCTION_RECORDER_ROLE only (DemandPrograms).
    function recordRewardedReduction(address meter, uint256 firstInterval, uint256 lastInterval, uint256 reductionWh)
        external;

    /// @notice Sets the smallest reduction (W) that earns a reward. DEFAULT_ADMIN_ROLE only.
    function setMinimumReductionW(uint256 minimumReductionW_) external;

    /// @notice Sets how long after an event's window verification is accepted, for events started
    /// from now on. DEFAULT_ADMIN_ROLE only.
    function setVerificationPeriod(uint256 periodSeconds) external;

    function getEvent(uint256 eventId) external view returns (DemandResponseEvent memory);
    function getEventBudget(uint256 eventId) external view returns (EventBudget memory);
    function getParticipation(uint256 eventId, address consumer) external view returns (ParticipationRecord memory);
    /// @notice `consumer`'s participations, oldest first, from position `cursor`, at most `limit`
    /// (1..MAX_PAGE_LIMIT); `total` is how many it has.
    function getConsumerParticipations(address consumer, uint256 cursor, uint256 limit)
        external
        view
        returns (ParticipationRecord[] memory records, uint256 total);
    function isGridOperator(address account) external view returns (bool);
    /// @notice The consumer's meter, or the zero address when it is not registered.
    function getConsumerMeter(address consumer) external view returns (address);
    /// @notice The last interval index (unix s / 900) of `meter` already rewarded by an event or
    /// program, 0 when none: only windows starting after it can be rewarded.
    function rewardedThroughInterval(address meter) external view returns (uint256);
    /// @notice The reduction rewarded so far for `meter`, Wh, summed over every event and program:
    /// each reward's reduction W × its window seconds / 3600, rounded down.
    function rewardedReductionWh(address meter) external view returns (uint256);
    function eventCount() external view returns (uint256);
    function minimumReductionW() external view returns (uint256);
    function verificationPeriod() external view returns (uint256);
    /// @notice The SmartMeter whose load profile measures every reduction.
    function smartMeter() external view returns (ISmartMeterRegistry);
    /// @notice The token budgets and rewards are paid in: the vault's payment token.
    function paymentToken() external view returns (IERC20);
    /// @notice The EnergyVault rewards are credited in.
    function vault() external view returns (IEnergyVault);
    /// @notice The GridManagement whose operators run demand programs in their regions.
    function gridManagement() external view returns (IGridManagement);
}
