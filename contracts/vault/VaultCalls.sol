// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyVault} from "./IEnergyVault.sol";

/// @title VaultCalls
/// @notice The markets' calls to the EnergyVault, each encoded by hand in one place: the three-word
/// moves (give, take), the batch read of the owners' free payment balances (paymentsFor) and the
/// batch settlement (settleBatch), whole or of two accounts.
/// @dev The ABI lays out a static array exactly as memory holds it (its length, then its entries), so a
/// batch's arrays are copied whole into the call with `mcopy` instead of encoded entry by entry, and
/// the batch's result is used where it was copied. Every call goes to the market's own vault, a
/// contract its constructor called already, so none checks the target for code. A revert in the vault
/// comes through as it is.
library VaultCalls {
    /// @notice `IEnergyVault.give`: credits `account` with `energyWh` and `payment` out of the caller's balance.
    function give(IEnergyVault vault, address account, uint256 energyWh, uint256 payment) internal {
        _move(vault, IEnergyVault.give.selector, account, energyWh, payment);
    }

    /// @notice `IEnergyVault.take`: moves `energyWh` and `payment` of `account`'s balance to the caller's.
    function take(IEnergyVault vault, address account, uint256 energyWh, uint256 payment) internal {
        _move(vault, IEnergyVault.take.selector, account, energyWh, payment);
    }

    /// @notice `IEnergyVault.paymentsFor(this, owners)`: each owner's free payment balance and whether it
    /// approved the caller. The result stays in the memory it was copied to, the two arrays pointing into it.
    function paymentsFor(IEnergyVault vault, address[] memory owners)
        internal
        view
        returns (uint256[] memory free, bool[] memory approved)
    {
        bytes4 selector = IEnergyVault.paymentsFor.selector;
        // slither-disable-next-line assembly: the batch's arrays copied whole into the call and out of its result
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let size := mul(add(mload(owners), 1), 0x20)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), address())
            mstore(add(ptr, 0x24), 0x40)
            mcopy(add(ptr, 0x44), owners, size)
            if iszero(staticcall(gas(), vault, ptr, add(0x44, size), 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            // The result: two offsets, then each array as its length and entries.
            returndatacopy(ptr, 0, returndatasize())
            free := add(ptr, mload(ptr))
            approved := add(ptr, mload(add(ptr, 0x20)))
            mstore(0x40, add(ptr, returndatasize()))
        }
    }

    /// @notice `IEnergyVault.settleBatch` of three arrays of one length.
    function settleBatch(
        IEnergyVault vault,
        address[] memory owners,
        int256[] memory energyDeltasWh,
        int256[] memory paymentDeltas
    ) internal {
        bytes4 selector = IEnergyVault.settleBatch.selector;
        // slither-disable-next-line assembly: the batch's arrays copied whole into the call
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let size := mul(add(mload(owners), 1), 0x20)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), 0x60)
            mstore(add(ptr, 0x24), add(0x60, size))
            mstore(add(ptr, 0x44), add(0x60, mul(size, 2)))
            mcopy(add(ptr, 0x64), owners, size)
            mcopy(add(add(ptr, 0x64), size), energyDeltasWh, size)
            mcopy(add(add(ptr, 0x64), mul(size, 2)), paymentDeltas, size)
            if iszero(call(gas(), vault, 0, ptr, add(0x64, mul(size, 3)), 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
        }
    }

    /// @notice `IEnergyVault.settleBatch` crediting two accounts: `account` with `energyWh` and `payment`,
    /// `other` with `otherPayment` (no energy), without building the three arrays in memory first.
    function settlePair(IEnergyVault vault, address account, uint256 energyWh, uint256 payment, address other, uint256 otherPayment)
        internal
    {
        bytes4 selector = IEnergyVault.settleBatch.selector;
        // slither-disable-next-line assembly: settleBatch's arguments written in place
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, selector)
            let a := add(p, 4)
            // Heads: each array's offset; then [length, first, second] three times.
            mstore(a, 0x60)
            mstore(add(a, 0x20), 0xc0)
            mstore(add(a, 0x40), 0x120)
            mstore(add(a, 0x60), 2)
            mstore(add(a, 0x80), account)
            mstore(add(a, 0xa0), other)
            mstore(add(a, 0xc0), 2)
            mstore(add(a, 0xe0), energyWh)
            mstore(add(a, 0x100), 0)
            mstore(add(a, 0x120), 2)
            mstore(add(a, 0x140), payment)
            mstore(add(a, 0x160), otherPayment)
            if iszero(call(gas(), vault, 0, p, 0x184, 0, 0)) {
                returndatacopy(p, 0, returndatasize())
                revert(p, returndatasize())
            }
        }
    }

    /// @dev A three-word move (`selector`: give or take), its calldata written in scratch memory.
    function _move(IEnergyVault vault, bytes4 selector, address account, uint256 energyWh, uint256 payment) private {
        // slither-disable-next-line assembly: one encoding of the vault's three-word moves
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            // An address converted from a wider word may carry its upper bits here: cleaned.
            mstore(add(ptr, 0x04), and(account, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(ptr, 0x24), energyWh)
            mstore(add(ptr, 0x44), payment)
            if iszero(call(gas(), vault, 0, ptr, 0x64, 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
        }
    }
}
