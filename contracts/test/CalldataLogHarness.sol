// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CalldataLog} from "../utils/CalldataLog.sol";

/// @title CalldataLogHarness
/// @notice Exposes the CalldataLog library to tests: the same batch logged from calldata and encoded
/// by Solidity, so a test can compare the two logs byte for byte.
contract CalldataLogHarness {
    /// @notice A batch of balance changes, in the shape the vault's batch events have.
    /// @param caller Who logged the batch.
    /// @param accounts The accounts changed.
    /// @param energyDeltasWh Each account's energy change, Wh.
    /// @param amounts Each account's payment-token amount, base units.
    event Batch(address indexed caller, address[] accounts, int256[] energyDeltasWh, uint256[] amounts);

    /// @notice Logs `Batch` from the call's own arguments (CalldataLog.logArguments).
    function logFromCalldata(address[] calldata accounts, int256[] calldata energyDeltasWh, uint256[] calldata amounts)
        external
    {
        // Read the arrays first, as the library requires: Solidity checks them against the calldata's bounds.
        if (accounts.length + energyDeltasWh.length + amounts.length == type(uint256).max) return;
        CalldataLog.logArguments(Batch.selector, bytes32(uint256(uint160(msg.sender))));
    }

    /// @notice Logs `Batch` encoded by Solidity, the reference the calldata form must equal.
    function logEncoded(address[] calldata accounts, int256[] calldata energyDeltasWh, uint256[] calldata amounts)
        external
    {
        emit Batch(msg.sender, accounts, energyDeltasWh, amounts);
    }
}
