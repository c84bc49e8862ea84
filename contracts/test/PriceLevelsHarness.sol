// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PriceLevels} from "../market/PriceLevels.sol";

/// @title PriceLevelsHarness
/// @notice Exposes the PriceLevels library to tests: one book's bitmap of occupied price levels.
contract PriceLevelsHarness {
    mapping(uint256 => uint256) private _words;

    /// @notice Calls PriceLevels.insert.
    function insert(uint256 side, uint256 price) external {
        PriceLevels.insert(_words, side, price);
    }

    /// @notice Calls PriceLevels.remove.
    function remove(uint256 side, uint256 price) external {
        PriceLevels.remove(_words, side, price);
    }

    /// @notice Calls PriceLevels.next.
    function next(uint256 side, uint256 price) external view returns (uint256) {
        return PriceLevels.next(_words, side, price);
    }

    /// @notice Calls PriceLevels.next once for each of `prices`, so that a test probes a book in one call.
    function nextOfEach(uint256 side, uint256[] calldata prices) external view returns (uint256[] memory found) {
        found = new uint256[](prices.length);
        for (uint256 i; i < prices.length; ++i) {
            found[i] = PriceLevels.next(_words, side, prices[i]);
        }
    }
}
