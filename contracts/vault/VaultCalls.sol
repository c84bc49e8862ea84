// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyVault} from "./IEnergyVault.sol";

/// @title VaultCalls
/// @notice This library holds the markets' calls to the EnergyVault, each encoded by hand in one place:
/// the three-word moves (give and take), the batch read of the owners' free payment balances
/// (paymentsFor), and the batch settlement (settleBatch), either for a whole batch or for two accounts.
/// @dev The ABI lays out an array of static elements exactly as memory holds it, as its length followed
/// by its entries. A batch's arrays are therefore copied whole into the call with `mcopy` instead of
/// being encoded entry by entry, and the batch's result is used where it was copied. Every call goes to
/// the market's own vault, a contract that the market's constructor has already called, so no call
/// checks the target for code. A revert in the vault is passed on unchanged.
library VaultCalls {
    /// @notice Calls `IEnergyVault.give`, which credits `account` with `energyWh` and `payment` out of the
    /// caller's balance.
    function give(IEnergyVault vault, address account, uint256 energyWh, uint256 payment) internal {
        _move(vault, IEnergyVault.give.selector, account, energyWh, payment);
    }

    /// @notice Calls `IEnergyVault.take`, which moves `energyWh` and `payment` from `account`'s balance to
    /// the caller's.
    function take(IEnergyVault vault, address account, uint256 energyWh, uint256 payment) internal {
        _move(vault, IEnergyVault.take.selector, account, energyWh, payment);
    }

    /// @notice Calls `IEnergyVault.paymentsFor(this, owners)`, which returns each owner's free payment
    /// balance and whether the owner approved the caller. The result stays in the memory it was copied
    /// to, and the two returned arrays point into it.
    function paymentsFor(IEnergyVault vault, address[] memory owners)
        internal
        view
        returns (uint256[] memory free, bool[] memory approved)
    {
        bytes4 selector = IEnergyVault.paymentsFor.selector;
        // slither-disable-next-line assembly: the batch's arrays are copied whole into the call and out of its result
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
            // The result holds two offsets, followed by each array as its length and its entries.
            returndatacopy(ptr, 0, returndatasize())
            free := add(ptr, mload(ptr))
            approved := add(ptr, mload(add(ptr, 0x20)))
            mstore(0x40, add(ptr, returndatasize()))
        }
    }

    /// @notice Calls `IEnergyVault.settleBatch` with three arrays of the same length.
    function settleBatch(
        IEnergyVault vault,
        address[] memory owners,
        int256[] memory energyDeltasWh,
        int256[] memory paymentDeltas
    ) internal {
        bytes4 selector = IEnergyVault.settleBatch.selector;
        // slither-disable-next-line assembly: the batch's arrays are copied whole into the call
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

    /// @notice Calls `IEnergyVault.settleBatch` to credit two accounts: `account` with `energyWh` and
    /// `payment`, and `other` with `otherPayment` and no energy. The three arrays are written straight
    /// into the calldata instead of being built in memory first.
    function settlePair(IEnergyVault vault, address account, uint256 energyWh, uint256 payment, address other, uint256 otherPayment)
        internal
    {
        bytes4 selector = IEnergyVault.settleBatch.selector;
        // slither-disable-next-line assembly: settleBatch's arguments are written in place
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, selector)
            let a := add(p, 4)
            // The head holds each array's offset, followed by [length, first, second] three times.
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

    /// @dev Makes a three-word move, give or take as `selector` says, with its calldata written in scratch memory.
    function _move(IEnergyVault vault, bytes4 selector, address account, uint256 energyWh, uint256 payment) private {
        // slither-disable-next-line assembly: this is the one encoding of the vault's three-word moves
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            // An address converted from a wider word may still carry upper bits here, so they are cleared.
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
