// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {Median} from "../libraries/Median.sol";
import {OracleReporters} from "./OracleReporters.sol";

/// @title PriceOracle
/// @notice The grid's base energy price, spoken as Chainlink's AggregatorV3Interface so a consumer
/// written for a Chainlink feed reads it unchanged (and a Chainlink feed can stand in for it).
/// Answers are PaymentToken base units per kWh; `decimals()` is the PaymentToken's decimals.
/// Each accepted submitPrice opens a new round: its answer is the median of every reporter's latest
/// report that is still fresh (the new one included), `startedAt = updatedAt = block.timestamp`,
/// `answeredInRound = roundId`.
/// A submission is rejected when it is not positive, exceeds MAX_ANSWER, or, while the latest
/// answer is fresh (no older than the heartbeat), lies further than `maxDeviation()` bps from it.
/// Once the latest answer is stale the deviation bound no longer applies, so reporters can always
/// bring a feed back after a gap.
/// @dev Before the first round `latestRoundData()` returns all zeros, as an empty Chainlink
/// aggregator does, so a consumer's `updatedAt != 0` check is what catches it; `getRoundData` of a
/// round that does not exist reverts with RoundNotFound. Storage per submission: the reporter's
/// report (one slot), the new round (one slot) and the state slot (round counter, deviation bound,
/// copy of the latest round); with the reporter list (OracleReporters) that keeps a steady
/// submission with 3 reporters under 80,000 gas.
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

    /// @dev One slot: a reporter's latest report, or a round.
    struct Entry {
        int128 answer; // PaymentToken base units per kWh
        uint64 timestamp; // unix s: reportedAt, or the round's updatedAt; 0 = none
    }

    /// @dev One slot, read and written by every submission: the round counter, the deviation bound
    /// and a copy of the latest round (so the deviation check reads no round slot).
    struct State {
        uint64 latestRoundId; // 0 = no round yet
        uint24 maxDeviationBps;
        int128 latestAnswer;
        uint40 latestUpdatedAt; // unix s
    }

    uint8 private immutable _decimals;
    string private _description;
    State private _state;
    mapping(uint256 roundId => Entry) private _rounds;
    mapping(address reporter => Entry) private _reports;

    /// @param admin Holds DEFAULT_ADMIN_ROLE: reporters, heartbeat, maximum deviation.
    /// @param heartbeatSeconds A report older than this is stale (MIN_HEARTBEAT_SECONDS..MAX_HEARTBEAT_SECONDS).
    /// @param decimals_ The PaymentToken's decimals: answers are its base units per kWh.
    /// @param description_ What the feed measures, e.g. "EnergyToken kWh / mUSD".
    /// @param maxDeviationBps The largest step from a fresh latest answer (MIN_DEVIATION_BPS..MAX_DEVIATION_BPS).
    constructor(
        address admin,
        uint256 heartbeatSeconds,
        uint8 decimals_,
        string memory description_,
        uint256 maxDeviationBps
    ) OracleReporters(admin, heartbeatSeconds) {
        _decimals = decimals_;
        _description = description_;
        _setMaxDeviation(maxDeviationBps);
    }

    /// @inheritdoc IPriceOracle
    function submitPrice(int256 answer) external returns (uint80 roundId) {
        (Reporter[] memory reporters, uint256 heartbeatSeconds) = _reportersWith(msg.sender);
        if (answer <= 0) revert NonPositiveAnswer(answer);
        if (answer > MAX_ANSWER) revert AnswerTooLarge(answer, MAX_ANSWER);
        State memory state = _state;
        if (state.latestRoundId != 0 && block.timestamp - state.latestUpdatedAt <= heartbeatSeconds) {
            _checkDeviation(answer, state.latestAnswer, state.maxDeviationBps);
        }
        _reports[msg.sender] = Entry(int128(answer), uint64(block.timestamp));

        int256[] memory fresh = new int256[](reporters.length);
        uint256 count;
        for (uint256 i; i < reporters.length; ++i) {
            Reporter memory reporter = reporters[i];
            if (reporter.account == msg.sender) {
                fresh[count++] = answer;
                continue;
            }
            Entry memory report = _reports[reporter.account];
            if (_isFresh(report.timestamp, reporter.addedAt, heartbeatSeconds)) fresh[count++] = report.answer;
        }
        // slither-disable-next-line assembly: shortens the array to its fresh reports in place, so the median sees no empty slots
        assembly ("memory-safe") {
            mstore(fresh, count)
        }
        int256 median = Median.median(fresh);

        roundId = uint80(state.latestRoundId + 1);
        _rounds[roundId] = Entry(int128(median), uint64(block.timestamp));
        _state = State(uint64(roundId), state.maxDeviationBps, int128(median), uint40(block.timestamp));
        emit PriceReported(msg.sender, roundId, answer, median, count);
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
    function getReport(address reporter) external view returns (int256 answer, uint256 reportedAt) {
        Entry memory report = _reports[reporter];
        return (report.answer, report.timestamp);
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
    /// @dev Reverts with RoundNotFound for round 0 and rounds after the latest. (Parameter and return
    /// names are Chainlink's, so the ABI matches the published one item for item.)
    // slither-disable-next-line naming-convention: _roundId is Chainlink's AggregatorV3Interface name, kept so the ABI matches it
    function getRoundData(uint80 _roundId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Entry memory round = _rounds[_roundId];
        // slither-disable-next-line incorrect-equality: a zero timestamp marks a round that was never opened, not a balance
        if (round.timestamp == 0) revert RoundNotFound(_roundId);
        return (_roundId, round.answer, round.timestamp, round.timestamp, _roundId);
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
