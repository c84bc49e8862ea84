// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IDemandResponse} from "./IDemandResponse.sol";
import {IGridManagement} from "../grid/IGridManagement.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {ISmartMeterRegistry} from "../metering/ISmartMeterRegistry.sol";
import {MeterBaseline} from "./MeterBaseline.sol";
import {RewardPool} from "./RewardPool.sol";
import {RewardPayouts} from "./RewardPayouts.sol";
import {BatchTooLarge, ConsumerNotRegistered, DurationOutOfRange, EmptyBatch, GridOperatorNotRegistered, InvalidPageLimit, NotInitialized, ZeroAddress} from "../utils/GridErrors.sol";
import {ReentrancyLock} from "../utils/ReentrancyLock.sol";

/// @title DemandResponse
/// @notice Demand-response events, with every reduction checked against the consumer's
/// SmartMeter load profile (see IDemandResponse and MeterBaseline for the measurement). Rewards
/// come out of a budget the operator pays in from its wallet when it starts the event, held in
/// this contract's EnergyVault balance (it is a registered vault market) and paid to the
/// consumers' vault balances; an event never pays out more than that budget, and what is left
/// returns to the operator's vault balance (paid out by RewardPayouts).
/// @dev No `initialize`: the constructor takes every dependency at deployment and a zero address
/// reverts NotInitialized, so no instance can exist uninitialized.
contract DemandResponse is AccessControl, ReentrancyLock, RewardPayouts, IDemandResponse {
    using RewardPool for RewardPool.Pool;

    /// @notice Smallest reduction that earns a reward at deployment, W.
    uint256 public constant DEFAULT_MINIMUM_REDUCTION_W = 100;
    /// @notice Verification period at deployment: one day after the window.
    uint256 public constant DEFAULT_VERIFICATION_PERIOD = 1 days;
    /// @notice Verification period bounds. The upper one keeps the baseline days (5 before the
    /// window) inside SmartMeter's 35-day load profile until verification closes.
    uint256 public constant MIN_VERIFICATION_PERIOD = 1 hours;
    uint256 public constant MAX_VERIFICATION_PERIOD = 7 days;
    /// @notice Longest event window.
    uint256 public constant MAX_DURATION_SECONDS = MeterBaseline.MAX_DURATION_SECONDS;
    /// @notice Days averaged for the baseline.
    uint256 public constant BASELINE_DAYS = MeterBaseline.BASELINE_DAYS;
    /// @notice Most consumers one verifyReductions call verifies: a window of a day reads 577 load-profile
    /// words a consumer (over 1.2 million gas of cold reads alone), so ten such consumers stay within a
    /// block.
    uint256 public constant MAX_VERIFICATION_BATCH = 10;
    /// @notice Most participants one distributeRewards call pays.
    uint256 public constant MAX_DISTRIBUTION_BATCH = RewardPool.MAX_DISTRIBUTION_BATCH;
    /// @notice Most records one getConsumerParticipations page returns.
    uint256 public constant MAX_PAGE_LIMIT = 100;
    /// @notice May write the once-only record of rewarded intervals (DemandPrograms).
    bytes32 public constant REDUCTION_RECORDER_ROLE = keccak256("REDUCTION_RECORDER_ROLE");

    struct EventData {
        address gridOperator; // 0 = no such event
        uint64 targetReductionKW;
        EventStatus status;
        uint128 rewardPerKW; // PaymentToken base units per kW
        uint40 startTime; // window, unix s
        uint40 endTime;
        uint40 verificationDeadline; // fixed at the start: later period changes do not move it
        uint64 totalParticipants;
        uint128 totalReductionW;
        uint32 regionId;
    }

    /// @dev One slot, so that a verification writes one fresh word for its participation instead of two.
    struct Participation {
        // From 1, 0 = none. Each participation writes at least two fresh slots (over 40,000 gas), so four
        // billion of them would cost more gas than a chain's blocks hold in years.
        uint32 participationId;
        ParticipationStatus status;
        uint40 verifiedAt;
        // A load-profile interval holds under 2^27 Wh, so a window's average W is under 2^29.
        uint32 baselineW;
        uint32 actualW;
        // At most the event's budget, which the vault holds as a balance, below its MAX_RESERVE (2^112).
        uint112 rewardAmount;
    }

    /// @dev One slot, read by every verification: the region is SmartMeter's, fixed at registration.
    struct Consumer {
        address meter; // 0 = not registered
        uint32 regionId;
    }

    /// @dev The once-only record of one meter, across events and DemandPrograms.
    struct MeterRewards {
        uint64 rewardedThroughInterval; // last interval rewarded, 0 = none
        uint192 rewardedReductionWh;
    }

    ISmartMeterRegistry private immutable _smartMeter;
    IGridManagement private immutable _gridManagement;
    uint256 private _minimumReductionW = DEFAULT_MINIMUM_REDUCTION_W;
    uint256 private _verificationPeriod = DEFAULT_VERIFICATION_PERIOD;
    uint256 private _eventCount;
    uint256 private _participationCount;
    mapping(address account => bool) private _gridOperators;
    mapping(address consumer => Consumer) private _consumers;
    mapping(address meter => MeterRewards) private _meterRewards;
    mapping(uint256 eventId => EventData) private _events;
    mapping(uint256 eventId => mapping(address consumer => Participation)) private _participations;
    mapping(address consumer => uint256[] eventIds) private _consumerEvents;

    constructor(
        address admin,
        ISmartMeterRegistry smartMeter_,
        IEnergyVault vault_,
        IGridManagement gridManagement_
    ) RewardPayouts(vault_) {
        if (admin == address(0)) revert NotInitialized("admin");
        if (address(smartMeter_) == address(0)) revert NotInitialized("smartMeter");
        if (address(gridManagement_) == address(0)) revert NotInitialized("gridManagement");
        _smartMeter = smartMeter_;
        _gridManagement = gridManagement_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ----------------------------------------------------------------------------- registration

    /// @inheritdoc IDemandResponse
    function registerGridOperator(address operator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (operator == address(0)) revert ZeroAddress();
        if (_gridOperators[operator]) revert GridOperatorAlreadyRegistered(operator);
        _gridOperators[operator] = true;
        emit GridOperatorRegistered(operator);
    }

    /// @inheritdoc IDemandResponse
    function registerConsumer(address consumer, address meter) external {
        if (msg.sender != consumer) _requireGridOperator(msg.sender);
        if (_consumers[consumer].meter != address(0)) revert ConsumerAlreadyRegistered(consumer);
        ISmartMeterRegistry.MeterInfo memory info = _smartMeter.getMeter(meter);
        if (info.owner != consumer) revert MeterNotOwnedByConsumer(meter, consumer, info.owner);
        _consumers[consumer] = Consumer(meter, info.regionId);
        emit ConsumerRegistered(consumer, meter, msg.sender);
    }

    // ----------------------------------------------------------------------------- events

    /// @inheritdoc IDemandResponse
    function startEvent(uint32 regionId, uint64 targetReductionKW, uint128 rewardPerKW, uint256 durationSeconds)
        external
        nonReentrant
        returns (uint256 eventId)
    {
        return _startEvent(false, regionId, targetReductionKW, rewardPerKW, durationSeconds);
    }

    /// @inheritdoc IDemandResponse
    function startEvent(uint64 targetReductionKW, uint128 rewardPerKW, uint256 durationSeconds)
        external
        nonReentrant
        returns (uint256 eventId)
    {
        return _startEvent(true, 0, targetReductionKW, rewardPerKW, durationSeconds);
    }

    /// @dev Both forms of startEvent: in `regionId`, or with `inOwnRegion` in the one GridManagement
    /// lists the caller in (one read of it either way).
    function _startEvent(
        bool inOwnRegion,
        uint32 regionId,
        uint64 targetReductionKW,
        uint128 rewardPerKW,
        uint256 durationSeconds
    ) private returns (uint256 eventId) {
        _requireGridOperator(msg.sender);
        (bool authorized, uint32 operatorRegionId) = _gridManagement.operatorStatus(msg.sender);
        if (inOwnRegion) regionId = operatorRegionId;
        if (!authorized || operatorRegionId != regionId) revert OperatorNotAuthorizedForRegion(msg.sender, regionId);
        if (targetReductionKW == 0 || rewardPerKW == 0) revert ZeroEventParameter();
        if (durationSeconds == 0 || durationSeconds > MAX_DURATION_SECONDS) {
            revert DurationOutOfRange(durationSeconds, MAX_DURATION_SECONDS);
        }
        // uint64 × uint128 cannot overflow uint256.
        uint256 budget = uint256(targetReductionKW) * rewardPerKW;
        (uint256 startTime, uint256 endTime) = MeterBaseline.window(block.timestamp, durationSeconds);
        eventId = ++_eventCount;
        _events[eventId] = EventData({
            gridOperator: msg.sender,
            targetReductionKW: targetReductionKW,
            status: EventStatus.Active,
            rewardPerKW: rewardPerKW,
            startTime: uint40(startTime),
            endTime: uint40(endTime),
            verificationDeadline: uint40(endTime + _verificationPeriod),
            totalParticipants: 0,
            totalReductionW: 0,
            regionId: regionId
        });
        emit EventStarted(eventId, msg.sender, regionId, targetReductionKW, rewardPerKW, startTime, endTime, budget);
        _fund(eventId, budget);
    }

    /// @inheritdoc IDemandResponse
    function joinEvent(uint256 eventId) external {
        Consumer memory c = _requireConsumer(msg.sender);
        EventData storage e = _activeEvent(eventId);
        _requireRegion(c, e);
        if (block.timestamp >= e.endTime) revert EventExpired(eventId, e.endTime);
        Participation storage p = _participations[eventId][msg.sender];
        if (p.participationId != 0) revert AlreadyParticipating(eventId, msg.sender);
        uint256 participationId = _newParticipation(eventId, msg.sender);
        p.participationId = uint32(participationId);
        emit EventJoined(eventId, msg.sender, participationId);
    }

    /// @inheritdoc IDemandResponse
    function rejectParticipation(uint256 eventId, address consumer, bytes32 reason) external {
        EventData storage e = _activeEvent(eventId);
        if (msg.sender != e.gridOperator) revert NotEventOperator(eventId, msg.sender);
        Participation storage p = _participations[eventId][consumer];
        if (p.participationId == 0 || p.status != ParticipationStatus.Pending) {
            revert ParticipationNotPending(eventId, consumer);
        }
        p.status = ParticipationStatus.Rejected;
        emit ParticipationRejected(eventId, consumer, reason);
    }

    /// @inheritdoc IDemandResponse
    function cancelEvent(uint256 eventId) external nonReentrant {
        EventData storage e = _activeEvent(eventId);
        if (msg.sender != e.gridOperator) revert NotEventOperator(eventId, msg.sender);
        if (block.timestamp >= e.startTime) revert EventAlreadyStarted(eventId, e.startTime);
        _closeAndRefund(eventId, EventStatus.Cancelled);
    }

    // ----------------------------------------------------------------------------- verification

    /// @inheritdoc IDemandResponse
    function previewReduction(uint256 eventId, address consumer)
        external
        view
        returns (uint256 baselineUsageKW, uint256 actualUsageKW, uint256 meterReadingStart, uint256 meterReadingEnd)
    {
        EventData storage e = _knownEvent(eventId);
        (, baselineUsageKW, actualUsageKW) = _measure(e, consumer);
        (meterReadingStart, meterReadingEnd) = MeterBaseline.intervals(e.startTime, e.endTime);
    }

    /// @inheritdoc IDemandResponse
    function verifyReduction(
        uint256 eventId,
        address consumer,
        uint256 baselineUsageKW,
        uint256 actualUsageKW,
        uint256 meterReadingStart,
        uint256 meterReadingEnd
    ) external returns (uint256 participationId) {
        EventData storage e = _verifiableEvent(eventId);
        Participation storage p = _unverified(eventId, consumer);
        (address meter, uint256 baselineW, uint256 actualW) =
            _meterFigures(e, consumer, baselineUsageKW, actualUsageKW, meterReadingStart, meterReadingEnd);
        return _verify(e, p, eventId, consumer, meter, baselineW, actualW);
    }

    /// @inheritdoc IDemandResponse
    function verifyReductions(uint256 eventId, address[] calldata consumers) external {
        if (consumers.length == 0) revert EmptyBatch();
        if (consumers.length > MAX_VERIFICATION_BATCH) revert BatchTooLarge(consumers.length, MAX_VERIFICATION_BATCH);
        EventData storage e = _verifiableEvent(eventId);
        for (uint256 i; i < consumers.length; ++i) {
            address consumer = consumers[i];
            Participation storage p = _unverified(eventId, consumer);
            (address meter, uint256 baselineW, uint256 actualW) = _measure(e, consumer);
            _verify(e, p, eventId, consumer, meter, baselineW, actualW);
        }
    }

    /// @dev The event, while its verification is open: from the window's end to its deadline.
    function _verifiableEvent(uint256 eventId) private view returns (EventData storage e) {
        e = _activeEvent(eventId);
        if (block.timestamp < e.endTime) revert EventWindowNotEnded(eventId, e.endTime);
        if (block.timestamp > e.verificationDeadline) revert EventExpired(eventId, e.verificationDeadline);
    }

    /// @dev `consumer`'s participation in the event, which must not be verified or rejected yet.
    function _unverified(uint256 eventId, address consumer) private view returns (Participation storage p) {
        p = _participations[eventId][consumer];
        if (p.participationId != 0) {
            if (p.status == ParticipationStatus.Rejected) revert ConsumerRejected(eventId, consumer);
            if (p.status != ParticipationStatus.Pending) revert AlreadyParticipating(eventId, consumer);
        }
    }

    /// @dev What `consumer`'s meter gives in the event: the meter and its baseline and actual W.
    function _measure(EventData storage e, address consumer)
        private
        view
        returns (address meter, uint256 baselineW, uint256 actualW)
    {
        Consumer memory c = _requireConsumer(consumer);
        _requireRegion(c, e);
        meter = c.meter;
        (baselineW, actualW) = MeterBaseline.measure(_smartMeter, meter, e.startTime, e.endTime);
    }

    /// @dev The meter's figures for `consumer` in the event, which the submitted ones must equal.
    function _meterFigures(
        EventData storage e,
        address consumer,
        uint256 baselineUsageKW,
        uint256 actualUsageKW,
        uint256 meterReadingStart,
        uint256 meterReadingEnd
    ) private view returns (address meter, uint256 baselineW, uint256 actualW) {
        (meter, baselineW, actualW) = _measure(e, consumer);
        (uint256 first, uint256 last) = MeterBaseline.intervals(e.startTime, e.endTime);
        if (
            baselineUsageKW != baselineW || actualUsageKW != actualW || meterReadingStart != first
                || meterReadingEnd != last
        ) revert InvalidMeterReading(meter, baselineW, actualW, first, last);
    }

    /// @dev Records a verification of the meter's figures and the window as rewarded for the meter.
    function _verify(
        EventData storage e,
        Participation storage p,
        uint256 eventId,
        address consumer,
        address meter,
        uint256 baselineW,
        uint256 actualW
    ) private returns (uint256 participationId) {
        participationId = _recordVerification(e, p, eventId, consumer, baselineW, actualW);
        uint256 reductionW = baselineW - actualW; // _recordVerification refused anything else
        (uint256 startTime, uint256 endTime) = (e.startTime, e.endTime);
        (uint256 first, uint256 last) = MeterBaseline.intervals(startTime, endTime);
        _recordReward(meter, first, last, reductionW * (endTime - startTime) / 3600);
    }

    /// @dev Checks the reduction, reserves the reward and records the verification.
    function _recordVerification(
        EventData storage e,
        Participation storage p,
        uint256 eventId,
        address consumer,
        uint256 baselineW,
        uint256 actualW
    ) private returns (uint256 participationId) {
        uint256 reductionW = actualW < baselineW ? baselineW - actualW : 0;
        uint256 minimumW = _minimumReductionW;
        if (reductionW == 0 || reductionW < minimumW) {
            revert InsufficientReduction(eventId, consumer, reductionW, minimumW);
        }
        uint256 reward = _pools[eventId].reserve(consumer, uint256(e.rewardPerKW) * reductionW / 1000);
        participationId = p.participationId == 0 ? _newParticipation(eventId, consumer) : p.participationId;
        // The whole slot in one store; the bounds of each field are those Participation states.
        _participations[eventId][consumer] = Participation(
            uint32(participationId),
            ParticipationStatus.Verified,
            uint40(block.timestamp),
            uint32(baselineW),
            uint32(actualW),
            uint112(reward)
        );
        e.totalParticipants += 1;
        e.totalReductionW += uint128(reductionW);
        emit ReductionVerified(eventId, consumer, participationId, baselineW, actualW, reductionW, reward);
    }

    /// @inheritdoc IDemandResponse
    function recordRewardedReduction(address meter, uint256 firstInterval, uint256 lastInterval, uint256 reductionWh)
        external
        onlyRole(REDUCTION_RECORDER_ROLE)
    {
        // A window ending before it starts would lower the meter's high-water mark.
        if (lastInterval < firstInterval || lastInterval > type(uint64).max) {
            revert InvalidIntervalRange(firstInterval, lastInterval);
        }
        _recordReward(meter, firstInterval, lastInterval, reductionWh);
    }

    /// @dev The once-only record: a high-water mark of rewarded intervals costs one slot per meter
    /// and one comparison, where keeping every rewarded window would grow without bound.
    function _recordReward(address meter, uint256 firstInterval, uint256 lastInterval, uint256 reductionWh) private {
        MeterRewards storage r = _meterRewards[meter];
        uint256 through = r.rewardedThroughInterval;
        if (firstInterval <= through) revert ReductionAlreadyRewarded(meter, firstInterval, through);
        // Event and program windows' intervals fit 64 bits (recordRewardedReduction checks what its
        // caller gives); Wh sums fit 192 bits.
        _meterRewards[meter] = MeterRewards(uint64(lastInterval), uint192(r.rewardedReductionWh + reductionWh));
    }

    // ----------------------------------------------------------------------------- payouts

    /// @inheritdoc IDemandResponse
    function claimReward(uint256 eventId) external nonReentrant returns (uint256 amount) {
        return _claimReward(eventId);
    }

    /// @inheritdoc IDemandResponse
    function distributeRewards(uint256 eventId) external nonReentrant returns (uint256 paidParticipants) {
        EventData storage e = _activeEvent(eventId);
        return _distributeRewards(eventId, e.endTime, e.verificationDeadline);
    }

    /// @dev RewardPayouts' record of a payout: the consumer's participation.
    function _moveStatus(uint256 eventId, address consumer, ParticipationStatus from, ParticipationStatus to)
        internal
        override
        returns (ParticipationStatus previous, uint256 rewardAmount)
    {
        Participation storage p = _participations[eventId][consumer];
        previous = p.status;
        if (previous == from) (p.status, rewardAmount) = (to, p.rewardAmount);
    }

    /// @dev RewardPayouts' existence check.
    function _requireKnown(uint256 eventId) internal view override {
        _knownEvent(eventId);
    }

    /// @dev RewardPayouts closing an event: completed after distribution, or cancelled.
    function _closeRecord(uint256 eventId, EventStatus status, uint256 refund) internal override returns (address) {
        EventData storage e = _events[eventId];
        e.status = status;
        if (status == EventStatus.Completed) emit EventCompleted(eventId, refund);
        else emit EventCancelled(eventId, refund);
        return e.gridOperator;
    }

    /// @dev RewardPayouts' payout event, under this contract's parameter names.
    function _emitPaid(uint256 eventId, address consumer, uint256 amount) internal override {
        emit RewardPaid(eventId, consumer, amount);
    }

    /// @dev RewardPayouts' payout errors, under this contract's parameter names.
    function _revertPayout(PayoutFailure failure, uint256 eventId, address consumer, uint256 value) internal pure override {
        if (failure == PayoutFailure.NotVerified) revert ParticipationNotVerified(eventId, consumer);
        if (failure == PayoutFailure.AlreadyClaimed) revert RewardAlreadyClaimed(eventId, consumer);
        if (failure == PayoutFailure.WindowNotEnded) revert EventWindowNotEnded(eventId, value);
        revert NothingToDistribute(eventId);
    }

    // ----------------------------------------------------------------------------- admin

    /// @inheritdoc IDemandResponse
    function setMinimumReductionW(uint256 minimumReductionW_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        emit MinimumReductionUpdated(_minimumReductionW, minimumReductionW_);
        _minimumReductionW = minimumReductionW_;
    }

    /// @inheritdoc IDemandResponse
    function setVerificationPeriod(uint256 periodSeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (periodSeconds < MIN_VERIFICATION_PERIOD || periodSeconds > MAX_VERIFICATION_PERIOD) {
            revert VerificationPeriodOutOfRange(periodSeconds, MIN_VERIFICATION_PERIOD, MAX_VERIFICATION_PERIOD);
        }
        emit VerificationPeriodUpdated(_verificationPeriod, periodSeconds);
        _verificationPeriod = periodSeconds;
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc IDemandResponse
    function getEvent(uint256 eventId) external view returns (DemandResponseEvent memory) {
        EventData storage e = _knownEvent(eventId);
        return DemandResponseEvent(
            eventId,
            e.gridOperator,
            e.targetReductionKW,
            e.rewardPerKW,
            e.startTime,
            e.endTime,
            e.status,
            e.totalParticipants,
            e.totalReductionW,
            e.regionId
        );
    }

    /// @inheritdoc IDemandResponse
    function getEventBudget(uint256 eventId) external view returns (EventBudget memory) {
        EventData storage e = _knownEvent(eventId);
        RewardPool.Pool storage pool = _pools[eventId];
        return EventBudget(
            pool.budget,
            pool.reserved,
            pool.paid,
            pool.refunded,
            e.verificationDeadline,
            pool.verified.length,
            pool.cursor
        );
    }

    /// @inheritdoc IDemandResponse
    function getParticipation(uint256 eventId, address consumer) external view returns (ParticipationRecord memory) {
        _knownEvent(eventId);
        return _record(eventId, consumer);
    }

    /// @inheritdoc IDemandResponse
    function getConsumerParticipations(address consumer, uint256 cursor, uint256 limit)
        external
        view
        returns (ParticipationRecord[] memory records, uint256 total)
    {
        if (limit == 0 || limit > MAX_PAGE_LIMIT) revert InvalidPageLimit(limit, MAX_PAGE_LIMIT);
        uint256[] storage eventIds = _consumerEvents[consumer];
        total = eventIds.length;
        uint256 end = cursor >= total ? cursor : (total - cursor > limit ? cursor + limit : total);
        records = new ParticipationRecord[](end - cursor);
        for (uint256 i = cursor; i < end; ++i) {
            records[i - cursor] = _record(eventIds[i], consumer);
        }
    }

    /// @inheritdoc IDemandResponse
    function isGridOperator(address account) external view returns (bool) {
        return _gridOperators[account];
    }

    /// @inheritdoc IDemandResponse
    function getConsumerMeter(address consumer) external view returns (address) {
        return _consumers[consumer].meter;
    }

    /// @inheritdoc IDemandResponse
    function rewardedThroughInterval(address meter) external view returns (uint256) {
        return _meterRewards[meter].rewardedThroughInterval;
    }

    /// @inheritdoc IDemandResponse
    function rewardedReductionWh(address meter) external view returns (uint256) {
        return _meterRewards[meter].rewardedReductionWh;
    }

    /// @inheritdoc IDemandResponse
    function eventCount() external view returns (uint256) {
        return _eventCount;
    }

    /// @inheritdoc IDemandResponse
    function minimumReductionW() external view returns (uint256) {
        return _minimumReductionW;
    }

    /// @inheritdoc IDemandResponse
    function verificationPeriod() external view returns (uint256) {
        return _verificationPeriod;
    }

    /// @inheritdoc IDemandResponse
    function smartMeter() external view returns (ISmartMeterRegistry) {
        return _smartMeter;
    }

    /// @inheritdoc IDemandResponse
    function paymentToken() external view returns (IERC20) {
        return _paymentToken;
    }

    /// @inheritdoc IDemandResponse
    function vault() external view returns (IEnergyVault) {
        return _vault;
    }

    /// @inheritdoc IDemandResponse
    function gridManagement() external view returns (IGridManagement) {
        return _gridManagement;
    }

    // ----------------------------------------------------------------------------- internals

    function _requireGridOperator(address account) private view {
        if (!_gridOperators[account]) revert GridOperatorNotRegistered(account);
    }

    function _requireConsumer(address consumer) private view returns (Consumer memory c) {
        c = _consumers[consumer];
        if (c.meter == address(0)) revert ConsumerNotRegistered(consumer);
    }

    function _requireRegion(Consumer memory c, EventData storage e) private view {
        if (c.regionId != e.regionId) revert MeterNotInRegion(c.meter, c.regionId, e.regionId);
    }

    function _knownEvent(uint256 eventId) private view returns (EventData storage e) {
        e = _events[eventId];
        if (e.gridOperator == address(0)) revert EventNotFound(eventId);
    }

    function _activeEvent(uint256 eventId) private view returns (EventData storage e) {
        e = _knownEvent(eventId);
        if (e.status != EventStatus.Active) revert EventNotActive(eventId, e.status);
    }

    /// @dev Numbers a new participation of `consumer` in `eventId` and lists the event among the
    /// consumer's; the caller records the number in the participation.
    function _newParticipation(uint256 eventId, address consumer) private returns (uint256 participationId) {
        // slither-disable-next-line costly-loop: one warm write per consumer of a verifyReductions batch, at most MAX_VERIFICATION_BATCH
        participationId = ++_participationCount;
        _consumerEvents[consumer].push(eventId);
    }

    function _record(uint256 eventId, address consumer) private view returns (ParticipationRecord memory) {
        EventData storage e = _events[eventId];
        Participation storage p = _participations[eventId][consumer];
        (uint256 first, uint256 last) = MeterBaseline.intervals(e.startTime, e.endTime);
        return ParticipationRecord(
            p.participationId,
            eventId,
            consumer,
            p.baselineW,
            p.actualW,
            p.baselineW - p.actualW,
            p.rewardAmount,
            first,
            last,
            p.verifiedAt,
            p.status
        );
    }
}
