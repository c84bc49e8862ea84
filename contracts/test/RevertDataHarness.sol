// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RevertData} from "../utils/RevertData.sol";

/// @title RevertDataHarness
/// @notice Exposes the RevertData library to tests. One function reverts with given bytes, and another
/// makes a call and passes its failure on, as the contracts that use the library do.
contract RevertDataHarness {
    /// @notice Calls RevertData.bubble on `revertData`, so it always reverts with exactly these bytes.
    function revertWith(bytes calldata revertData) external pure {
        RevertData.bubble(revertData);
    }

    /// @notice Calls `target` with `payload` and returns what it returned. If the call fails, this
    /// reverts with the target's revert data unchanged.
    function relay(address target, bytes calldata payload) external returns (bytes memory returned) {
        bool success;
        // slither-disable-next-line low-level-calls: the call under test, whose revert data is passed on
        (success, returned) = target.call(payload);
        if (!success) RevertData.bubble(returned);
    }
}
