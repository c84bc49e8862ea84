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
}
