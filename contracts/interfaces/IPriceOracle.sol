// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IOracleReporters} from "./IOracleReporters.sol";

/// @title IPriceOracle
/// @notice The base energy price as a Chainlink-compatible feed (AggregatorV3Interface, imported
/// from Chainlink's package): answers in PaymentToken base units per kWh, `decimals()` being the
/// PaymentToken's decimals. Reporters submit answers; every accepted submission opens a round whose
/// answer is the median of the reporters' fresh reports.
interface IPriceOracle is AggregatorV3Interface, IOracleReporters {
    /// @notice `reporter` submitted `reportedAnswer`; round `roundId` opened with `answer`, the median
    /// of `reportCount` fresh reports (the new one included).
    /// @param reporter The reporter, the caller.
    /// @param roundId The round it opened.
    /// @param reportedAnswer The answer it submitted, PaymentToken base units per kWh.
    /// @param answer The round's answer: the median of the fresh reports (with an even count, the
    /// mean of the two middle values, rounded down), PaymentToken base units per kWh.
    /// @param reportCount The fresh reports the median came from.
    event PriceReported(
        address indexed reporter, uint256 indexed roundId, int256 reportedAnswer, int256 answer, uint256 reportCount
    );
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
    /// @notice An answer further than the maximum deviation from the latest answer while that answer
    /// is fresh; `deviationBps` is rounded up.
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
    /// @notice No round has this id.
    /// @param roundId The round asked for (0, or after the latest).
    error RoundNotFound(uint256 roundId);

    /// @notice Submits the calling reporter's answer, in PaymentToken base units per kWh, and opens
    /// a new round answered with the median of the fresh reports.
    /// @return roundId The new round.
    function submitPrice(int256 answer) external returns (uint80 roundId);

    /// @notice Sets the largest step, in bps of the latest answer, a submission may take while the
    /// latest answer is fresh. DEFAULT_ADMIN_ROLE only.
    function setMaxDeviation(uint256 maxDeviationBps) external;

    /// @notice The largest step, in bps of the latest answer, a submission may take while that answer is fresh.
    function maxDeviation() external view returns (uint256 maxDeviationBps);

    /// @notice `reporter`'s latest report: its answer and when it was made (0, 0 = none).
    function getReport(address reporter) external view returns (int256 answer, uint256 reportedAt);
}
