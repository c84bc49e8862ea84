// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DelegateCalls} from "../utils/DelegateCalls.sol";

/// @title DelegateCallsHarness
/// @notice Serves every call from DelegateCallsTarget's code, run on its own storage (DelegateCalls.forward).
contract DelegateCallsHarness {
    uint256 private _stored;
    address private immutable _target;

    constructor(address target) {
        _target = target;
    }

    fallback() external {
        DelegateCalls.forward(_target);
    }
}

/// @title DelegateCallsTarget
/// @notice The code DelegateCallsHarness runs: a number it stores, returns, and a refusal.
contract DelegateCallsTarget {
    /// @notice Refused on purpose, with a number.
    /// @param number The number given to refuse.
    error Refused(uint256 number);

    uint256 private _stored;

    /// @notice Stores `number`.
    function store(uint256 number) external {
        _stored = number;
    }

    /// @notice The number stored, and another word to show a longer answer comes back whole.
    function stored() external view returns (uint256 number, bytes32 tag) {
        return (_stored, keccak256("tag"));
    }

    /// @notice Always reverts with Refused(number).
    function refuse(uint256 number) external pure {
        revert Refused(number);
    }
}
