// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {OwnerAndLimits, OwnerAndLimitsLibrary} from "../types/OwnerAndLimits.sol";
import {StandingLimits} from "../types/StandingLimits.sol";

/// @dev Exposes OwnerAndLimitsLibrary for tests.
contract OwnerAndLimitsHarness {
    function store(address owner_, uint256 sellPricePerKWh, uint256 sellCapWh, uint256 buyPricePerKWh, uint256 buyCapWh)
        external
        pure
        returns (uint256)
    {
        return OwnerAndLimits.unwrap(OwnerAndLimitsLibrary.store(owner_, sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh));
    }

    function owner(uint256 word) external pure returns (address) {
        return OwnerAndLimits.wrap(word).owner();
    }

    function trades(uint256 word) external pure returns (bool) {
        return OwnerAndLimits.wrap(word).trades();
    }

    function limits(uint256 word) external pure returns (uint256) {
        return StandingLimits.unwrap(OwnerAndLimits.wrap(word).limits());
    }
}
