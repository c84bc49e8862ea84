// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title DelegateCalls
/// @notice Hands the current call to another contract's code, run on the caller's own storage: the way a
/// contract serves the functions it keeps in an extension (EnergyAuction and EnergyAuctionExtension).
library DelegateCalls {
    /// @notice Runs the current call's data on `target`'s code by delegatecall and ends the call with what it
    /// returned, or reverts with what it reverted with, byte for byte.
    function forward(address target) internal {
        // slither-disable-next-line assembly: the call's data handed on and its answer handed back as they are
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}
