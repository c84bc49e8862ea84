// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {VaultCalls} from "../vault/VaultCalls.sol";

/// @title VaultCallsHarness
/// @notice Exposes the VaultCalls encoders to tests. They call a stand-in vault, VaultCallRecorder, that
/// keeps the calldata it receives and answers paymentsFor.
contract VaultCallsHarness {
    IEnergyVault private immutable _vault;

    /// @param vault_ The stand-in vault.
    constructor(IEnergyVault vault_) {
        _vault = vault_;
    }

    /// @notice Calls VaultCalls.give.
    function give(address account, uint256 energyWh, uint256 payment) external {
        VaultCalls.give(_vault, account, energyWh, payment);
    }

    /// @notice Calls VaultCalls.take.
    function take(address account, uint256 energyWh, uint256 payment) external {
        VaultCalls.take(_vault, account, energyWh, payment);
    }

    /// @notice Calls VaultCalls.settleBatch.
    function settleBatch(address[] memory owners, int256[] memory energyDeltasWh, int256[] memory paymentDeltas) external {
        VaultCalls.settleBatch(_vault, owners, energyDeltasWh, paymentDeltas);
    }

    /// @notice Calls VaultCalls.settlePair.
    function settlePair(address account, uint256 energyWh, uint256 payment, address other, uint256 otherPayment) external {
        VaultCalls.settlePair(_vault, account, energyWh, payment, other, otherPayment);
    }

    /// @notice Calls VaultCalls.paymentsFor and then allocates more memory, to show that the result stays
    /// intact.
    function paymentsFor(address[] memory owners) external view returns (uint256[] memory free, bool[] memory approved) {
        (free, approved) = VaultCalls.paymentsFor(_vault, owners);
        uint256[] memory later = new uint256[](4);
        later[3] = type(uint256).max;
    }
}

/// @title VaultCallRecorder
/// @notice A stand-in vault for tests. It keeps the calldata of its last call and answers paymentsFor
/// from the accounts' addresses. `fail` makes every call revert with a known error.
contract VaultCallRecorder {
    /// @notice The stand-in was told to fail.
    /// @param code A value the test set.
    error Refused(uint256 code);

    /// @notice The calldata of the last call.
    bytes public lastCall;
    uint256 private _failCode;

    /// @notice Makes every later call revert with Refused(code). A code of 0 lets every call through.
    function fail(uint256 code) external {
        _failCode = code;
    }

    /// @notice Answers each account's address as its free balance, and whether that address is odd as
    /// its approval.
    function paymentsFor(address, address[] calldata accounts)
        external
        view
        returns (uint256[] memory free, bool[] memory approved)
    {
        if (_failCode != 0) revert Refused(_failCode);
        free = new uint256[](accounts.length);
        approved = new bool[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            free[i] = uint160(accounts[i]);
            approved[i] = uint160(accounts[i]) % 2 == 1;
        }
    }

    fallback() external {
        if (_failCode != 0) revert Refused(_failCode);
        lastCall = msg.data;
    }
}
