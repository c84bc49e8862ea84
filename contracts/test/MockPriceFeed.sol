// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title MockPriceFeed
/// @notice A stand-in for tests of a Chainlink feed whose latest round says whatever a test sets. That
/// includes values PriceOracle never passes on, such as a non-positive answer or a timestamp after the
/// block.
contract MockPriceFeed is AggregatorV3Interface {
    uint80 private _roundId;
    int256 private _answer;
    uint256 private _updatedAt;

    /// @notice Opens a new round answering `answer`, updated at `updatedAt`.
    function setLatestRound(int256 answer, uint256 updatedAt) external {
        ++_roundId;
        _answer = answer;
        _updatedAt = updatedAt;
    }

    function decimals() external pure returns (uint8) {
        return 6;
    }

    function description() external pure returns (string memory) {
        return "mock";
    }

    function version() external pure returns (uint256) {
        return 0;
    }

    /// @dev Every round reads as the latest.
    function getRoundData(uint80)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return (_roundId, _answer, _updatedAt, _updatedAt, _roundId);
    }

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return (_roundId, _answer, _updatedAt, _updatedAt, _roundId);
    }
}
