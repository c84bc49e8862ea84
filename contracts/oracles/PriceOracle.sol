// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IPriceOracle} from "./IPriceOracle.sol";
import {Median} from "./Median.sol";
import {MemoryArrays} from "../utils/MemoryArrays.sol";
import {OracleReporters} from "./OracleReporters.sol";

/// @title PriceOracle
/// @notice The grid's base energy price, spoken as Chainlink's AggregatorV3Interface so a consumer
/// written for a Chainlink feed reads it unchanged (and a Chainlink feed can stand in for it).
/// Answers are PaymentToken base units per kWh; `decimals()` is the PaymentToken's decimals.
/// Reports gather in rounds, one fresh report per reporter per round (see OracleReporters). A round
/// is answered once it holds `quorum()` fresh reports: its answer is their median, `startedAt =
/// updatedAt = block.timestamp`, `answeredInRound = roundId`, and later reports to it refine it. An
/// even count settles on the point between the two middle reports nearest the last answer (the mean
/// of the two for the first round), so one reporter of two cannot pull the answer away from it.
/// `latestRoundData()` is the latest answered round; a round still gathering reports has no round
/// data yet. A submission is rejected when it is not positive, exceeds MAX_ANSWER, or, while the
/// latest answer is fresh (no older than the heartbeat), lies further than `maxDeviation()` bps from
/// it: measured against the last answer, never against reports waiting in a round, so steps cannot
/// compound. Once the latest answer is stale the deviation bound no longer applies, so a quorum of
/// reporters can always bring a feed back after a gap.
/// @dev Before the first round `latestRoundData()` returns all zeros, as an empty Chainlink
/// aggregator does, so a consumer's `updatedAt != 0` check is what catches it; `getRoundData` of a
/// round that is not answered reverts with RoundNotFound. Storage per submission: the reporter's
/// report with its round (one slot) and, when the round is answered, the round (one slot) and the
/// state slot (round counter, deviation bound, copy of the latest round).
contract PriceOracle is OracleReporters, IPriceOracle {
    /// @notice Largest answer a round stores (int128: 1.7e38 base units per kWh).
    int256 public constant MAX_ANSWER = type(int128).max;
    /// @notice Smallest maximum deviation the admin can set.
    uint256 public constant MIN_DEVIATION_BPS = 1;
    /// @notice Largest maximum deviation the admin can set: a step to 11x or toward 0 of the latest answer.
    uint256 public constant MAX_DEVIATION_BPS = 100_000;
    /// @inheritdoc AggregatorV3Interface
    /// @dev A public constant, as Chainlink's own aggregators declare it: its getter is `view`, as
    /// the interface's published ABI says.
    uint256 public constant override version = 1;

    /// @dev One slot: a reporter's latest report.
    struct Report {
        int128 answer; // PaymentToken base units per kWh
        uint64 reportedAt; // unix s; 0 = none
        uint64 roundId; // the round it joined
    }

    /// @dev One slot: an answered round.
    struct Round {
        int128 answer; // PaymentToken base units per kWh
        uint64 updatedAt; // unix s; 0 = not answered
    }

    /// @dev One slot, read by every submission and written by each that answers a round: the latest
    /// answered round, the deviation bound and a copy of that round (so the deviation check reads no
    /// round slot).
    struct State {
        uint64 latestRoundId; // 0 = no answered round yet
        uint24 maxDeviationBps;
        int128 latestAnswer;
        uint40 latestUpdatedAt; // unix s
    }

    uint8 private immutable _decimals;
    string private _description;
    State private _state;
    mapping(uint256 roundId => Round) private _rounds;
    mapping(address reporter => Report) private _reports;

    /// @param admin Holds DEFAULT_ADMIN_ROLE: reporters, heartbeat, minimum quorum, maximum deviation.
    /// @param heartbeatSeconds A report older than this is stale (MIN_HEARTBEAT_SECONDS..MAX_HEARTBEAT_SECONDS).
    /// @param decimals_ The PaymentToken's decimals: answers are its base units per kWh.
    /// @param description_ What the feed measures, e.g. "EnergyToken kWh / MOCKUSD".
    /// @param maxDeviationBps The largest step from a fresh latest answer (MIN_DEVIATION_BPS..MAX_DEVIATION_BPS).
    /// @param minQuorum_ The fewest fresh reports a round needs, 0..MAX_REPORTERS (0 = more than half
    /// of the reporters, which the quorum never goes below; a single-reporter deployment may say 1).
    constructor(
        address admin,
        uint256 heartbeatSeconds,
        uint8 decimals_,
        string memory description_,
        uint256 maxDeviationBps,
        uint256 minQuorum_
    ) OracleReporters(admin, heartbeatSeconds, minQuorum_) {
        _decimals = decimals_;
        _description = description_;
        _setMaxDeviation(maxDeviationBps);
    }

    /// @inheritdoc IPriceOracle
    function submitPrice(int256 answer) external returns (uint80 roundId) {
        Roster memory roster = _rosterWith(msg.sender);
        if (answer <= 0) revert NonPositiveAnswer(answer);
        if (answer > MAX_ANSWER) revert AnswerTooLarge(answer, MAX_ANSWER);
        State memory state = _state;
        if (state.latestRoundId != 0 && block.timestamp - state.latestUpdatedAt <= roster.heartbeatSeconds) {
            _checkDeviation(answer, state.latestAnswer, state.maxDeviationBps);
        }
        roundId = uint80(_joinedRound(roster, state.latestRoundId));
        _reports[msg.sender] = Report(int128(answer), uint64(block.timestamp), uint64(roundId));

        Reporter[] memory reporters = roster.reporters;
        int256[] memory fresh = new int256[](reporters.length);
        uint256 count = 0;
        for (uint256 i; i < reporters.length; ++i) {
            Reporter memory reporter = reporters[i];
            if (reporter.account == msg.sender) {
                fresh[count++] = answer;
                continue;
            }
            Report memory report = _reports[reporter.account];
            // slither-disable-next-line incorrect-equality: round ids are counters compared for identity, not balances or times
            if (report.roundId == roundId && _isFresh(report.reportedAt, reporter.addedAt, roster.heartbeatSeconds)) {
                fresh[count++] = report.answer;
            }
        }
        emit PriceReported(msg.sender, roundId, answer, count);
        if (count < roster.quorum) return roundId;

        // Only the fresh reports: the median must see no empty slots.
        MemoryArrays.shorten(fresh, count);
        int256 median = state.latestRoundId == 0 ? Median.median(fresh) : Median.medianNear(fresh, state.latestAnswer);
        _rounds[roundId] = Round(int128(median), uint64(block.timestamp));
        _state = State(uint64(roundId), state.maxDeviationBps, int128(median), uint40(block.timestamp));
        emit AnswerUpdated(median, roundId, block.timestamp);
    }

    /// @inheritdoc IPriceOracle
    function setMaxDeviation(uint256 maxDeviationBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMaxDeviation(maxDeviationBps);
    }

    /// @inheritdoc IPriceOracle
    function maxDeviation() external view returns (uint256 maxDeviationBps) {
        return _state.maxDeviationBps;
    }

    /// @inheritdoc IPriceOracle
    function getReport(address reporter) external view returns (int256 answer, uint256 reportedAt, uint256 roundId) {
        Report memory report = _reports[reporter];
        return (report.answer, report.reportedAt, report.roundId);
    }

    // ------------------------------------------------------------------ AggregatorV3Interface

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view returns (uint8) {
        return _decimals;
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external view returns (string memory) {
        return _description;
    }

    /// @inheritdoc AggregatorV3Interface
    /// @dev Reverts with RoundNotFound for round 0 and rounds after the latest answered one. (Parameter and return
    /// names are Chainlink's, so the ABI matches the published one item for item.)
    // slither-disable-next-line naming-convention: _roundId is Chainlink's AggregatorV3Interface name, kept so the ABI matches it
    function getRoundData(uint80 _roundId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Round memory round = _rounds[_roundId];
        // slither-disable-next-line incorrect-equality: a zero timestamp marks a round never answered, not a balance
        if (round.updatedAt == 0) revert RoundNotFound(_roundId);
        return (_roundId, round.answer, round.updatedAt, round.updatedAt, _roundId);
    }

    /// @inheritdoc AggregatorV3Interface
    /// @dev All zeros before the first round: check `updatedAt != 0`.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        State memory state = _state;
        roundId = state.latestRoundId;
        return (roundId, state.latestAnswer, state.latestUpdatedAt, state.latestUpdatedAt, roundId);
    }

    // ------------------------------------------------------------------ internals

    /// @dev The round the caller's report joins: the one after the latest answered round when the
    /// caller reported in the latest round or another reporter has a fresh report waiting there, else
    /// the latest round itself, which the report then refines. A caller with a fresh report waiting
    /// in the next round already is refused: one report per reporter per round.
    function _joinedRound(Roster memory roster, uint256 latestRoundId) private view returns (uint256 next) {
        next = latestRoundId + 1;
        Report memory own = _reports[msg.sender];
        // slither-disable-next-line incorrect-equality: round ids are counters compared for identity, not balances or times
        if (own.roundId == next) {
            if (_isFresh(own.reportedAt, roster.callerAddedAt, roster.heartbeatSeconds)) {
                revert AlreadyReported(msg.sender, next);
            }
            return next;
        }
        // slither-disable-next-line incorrect-equality: round ids are counters compared for identity, not balances or times
        if (own.roundId == latestRoundId) return next;
        Reporter[] memory reporters = roster.reporters;
        for (uint256 i; i < reporters.length; ++i) {
            Report memory report = _reports[reporters[i].account];
            // slither-disable-next-line incorrect-equality: round ids are counters compared for identity, not balances or times
            if (report.roundId == next && _isFresh(report.reportedAt, reporters[i].addedAt, roster.heartbeatSeconds)) {
                return next;
            }
        }
        return latestRoundId;
    }

    /// @dev Rejects `answer` if it lies more than `maxDeviationBps` from `latestAnswer` (> 0).
    function _checkDeviation(int256 answer, int256 latestAnswer, uint256 maxDeviationBps) private pure {
        uint256 latest = uint256(latestAnswer);
        uint256 distance = answer > latestAnswer ? uint256(answer - latestAnswer) : uint256(latestAnswer - answer);
        if (distance * 10_000 > maxDeviationBps * latest) {
            uint256 deviationBps = (distance * 10_000 + latest - 1) / latest;
            revert AnswerDeviationTooLarge(answer, latestAnswer, deviationBps, maxDeviationBps);
        }
    }

    function _setMaxDeviation(uint256 maxDeviationBps) private {
        if (maxDeviationBps < MIN_DEVIATION_BPS || maxDeviationBps > MAX_DEVIATION_BPS) {
            revert MaxDeviationOutOfRange(maxDeviationBps, MIN_DEVIATION_BPS, MAX_DEVIATION_BPS);
        }
        uint256 previousBps = _state.maxDeviationBps;
        _state.maxDeviationBps = uint24(maxDeviationBps);
        emit MaxDeviationUpdated(previousBps, maxDeviationBps);
    }
}
