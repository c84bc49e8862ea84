// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RevertData} from "../utils/RevertData.sol";

/// @title RevertDataHarness
/// @notice Exposes the RevertData library to tests: a revert with given bytes, and a call whose
/// failure is passed on as the contracts that use the library pass it on.
contract RevertDataHarness {
    /// @notice RevertData.bubble on `revertData`: always reverts, with exactly these bytes.
    function revertWith(bytes calldata revertData) external pure {
        RevertData.bubble(revertData);
    }

    /// @notice Calls `target` with `payload` and returns what it returned; a failure reverts with
    /// the target's revert data, as it is.
    function relay(address target, bytes calldata payload) external returns (bytes memory returned) {
        bool success;
        // slither-disable-next-line low-level-calls: the call under test, whose revert data is passed on
        (success, returned) = target.call(payload);
        if (!success) RevertData.bubble(returned);
    }
}
