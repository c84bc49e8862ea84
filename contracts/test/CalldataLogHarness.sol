// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CalldataLog} from "../utils/CalldataLog.sol";

/// @title CalldataLogHarness
/// @notice Exposes the CalldataLog library to tests. The same batch can be logged from calldata or
/// encoded by Solidity, so that a test can compare the two logs byte for byte.
contract CalldataLogHarness {
    /// @notice A batch of balance changes, in the shape the vault's batch events have.
    /// @param caller The account that logged the batch.
    /// @param accounts The accounts changed.
    /// @param energyDeltasWh Each account's energy change, in Wh.
    /// @param amounts Each account's payment-token amount, in base units.
    event Batch(address indexed caller, address[] accounts, int256[] energyDeltasWh, uint256[] amounts);

    /// @notice Logs `Batch` from the call's own arguments with CalldataLog.logArguments.
    function logFromCalldata(address[] calldata accounts, int256[] calldata energyDeltasWh, uint256[] calldata amounts)
        external
    {
        // The library requires the arrays to be read first, because reading them makes Solidity check
        // them against the calldata's bounds.
        if (accounts.length + energyDeltasWh.length + amounts.length == type(uint256).max) return;
        CalldataLog.logArguments(Batch.selector, bytes32(uint256(uint160(msg.sender))));
    }

    /// @notice Logs `Batch` as Solidity encodes it, which is the reference the calldata form must equal.
    function logEncoded(address[] calldata accounts, int256[] calldata energyDeltasWh, uint256[] calldata amounts)
        external
    {
        emit Batch(msg.sender, accounts, energyDeltasWh, amounts);
    }
}
