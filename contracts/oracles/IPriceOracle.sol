// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IOracleReporters} from "./IOracleReporters.sol";

/// @title IPriceOracle
/// @notice The base energy price as a Chainlink-compatible feed (AggregatorV3Interface, imported
/// from Chainlink's package): answers in PaymentToken base units per kWh, `decimals()` being the
/// PaymentToken's decimals. Reporters submit answers into rounds, one per reporter per round; a round
/// is answered with the median of its fresh reports once it holds a quorum of them.
interface IPriceOracle is AggregatorV3Interface, IOracleReporters {
    /// @notice `reporter` submitted `reportedAnswer` into round `roundId`, which now holds
    /// `reportCount` fresh reports (an answer follows once they reach the quorum).
    /// @param reporter The reporter, the caller.
    /// @param roundId The round the report joined.
    /// @param reportedAnswer The answer it submitted, PaymentToken base units per kWh.
    /// @param reportCount The fresh reports in the round, this one included.
    event PriceReported(address indexed reporter, uint256 indexed roundId, int256 reportedAnswer, uint256 reportCount);
    /// @notice Round `roundId` was answered (or its answer refined) with `current`, the median of its
    /// fresh reports, a quorum of them (Chainlink's AggregatorInterface event).
    /// @param current The round's answer, PaymentToken base units per kWh: the median of its fresh
    /// reports, an even count settling between the middle two on the point nearest the last answer.
    /// @param roundId The round answered, now the latest.
    /// @param updatedAt The round's updatedAt, unix s.
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    /// @notice The largest step a submission may take from a fresh latest answer was set (by the
    /// admin, or at construction).
    /// @param previousBps The bound before (0 at construction), bps of the latest answer.
    /// @param newBps The bound from now on, bps of the latest answer.
    event MaxDeviationUpdated(uint256 previousBps, uint256 newBps);

    /// @notice An answer of zero or below.
    /// @param answer The answer submitted, PaymentToken base units per kWh.
    error NonPositiveAnswer(int256 answer);
    /// @notice An answer above MAX_ANSWER (the largest a round stores).
    /// @param answer The answer submitted, PaymentToken base units per kWh.
    /// @param maxAnswer MAX_ANSWER (type(int128).max), PaymentToken base units per kWh.
    error AnswerTooLarge(int256 answer, int256 maxAnswer);
    /// @notice An answer further than the maximum deviation from the latest answered round's answer
    /// while that answer is fresh; `deviationBps` is rounded up.
    /// @param answer The answer submitted, PaymentToken base units per kWh.
    /// @param latestAnswer The latest round's answer, PaymentToken base units per kWh.
    /// @param deviationBps |answer - latestAnswer| in bps of latestAnswer, rounded up.
    /// @param maxDeviationBps The maximum deviation, bps of latestAnswer.
    error AnswerDeviationTooLarge(int256 answer, int256 latestAnswer, uint256 deviationBps, uint256 maxDeviationBps);
    /// @notice A maximum deviation outside MIN_DEVIATION_BPS..MAX_DEVIATION_BPS.
    /// @param maxDeviationBps The maximum deviation given, bps.
    /// @param minBps MIN_DEVIATION_BPS, bps.
    /// @param maxBps MAX_DEVIATION_BPS, bps.
    error MaxDeviationOutOfRange(uint256 maxDeviationBps, uint256 minBps, uint256 maxBps);
    /// @notice No answered round has this id.
    /// @param roundId The round asked for (0, or after the latest answered one).
    error RoundNotFound(uint256 roundId);

    /// @notice Submits the calling reporter's answer, in PaymentToken base units per kWh, into the
    /// round being gathered; the round is answered with the median of its fresh reports once they
    /// reach the quorum. Refused with AlreadyReported while the caller's report waits in that round.
    /// @return roundId The round the report joined.
    function submitPrice(int256 answer) external returns (uint80 roundId);

    /// @notice Sets the largest step, in bps of the latest answer, a submission may take while the
    /// latest answer is fresh. DEFAULT_ADMIN_ROLE only.
    function setMaxDeviation(uint256 maxDeviationBps) external;

    /// @notice The largest step, in bps of the latest answer, a submission may take while that answer is fresh.
    function maxDeviation() external view returns (uint256 maxDeviationBps);

    /// @notice `reporter`'s latest report: its answer, when it was made and the round it joined (all 0 = none).
    function getReport(address reporter) external view returns (int256 answer, uint256 reportedAt, uint256 roundId);
}
