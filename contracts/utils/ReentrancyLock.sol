// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IReentrancyLock
/// @notice The error of a contract whose token-moving functions cannot be entered again while one runs.
/// @dev The market, auction, demand-response and asset-share interfaces inherit it, so their ABIs
/// carry the error once, as the contracts built on ReentrancyLock do.
interface IReentrancyLock {
    /// @notice A token-moving function was entered again from inside a token transfer.
    error ReentrancyGuardReentrantCall();
}

/// @title ReentrancyLock
/// @notice A lock around every function that moves tokens: a token that calls back into the
/// contract during a transfer finds it locked and reverts with ReentrancyGuardReentrantCall.
/// @dev OpenZeppelin ReentrancyGuardTransient's behaviour and error, held in transient storage
/// (EIP-1153: cleared after each transaction, 100 gas a read or write). Declared with the
/// `transient` keyword because OpenZeppelin's inline-assembly `tstore` makes solc 0.8.28 warn.
/// Three forms of the same lock, one state: `nonReentrant` writes the check into each guarded
/// function (cheapest in gas: no jump to a shared check), `nonReentrantCompact` calls one shared
/// copy of it (about 20 gas more a call, and some 30 bytes less code a guarded function), for a
/// contract near the 24,576-byte code-size limit such as the order book.
abstract contract ReentrancyLock is IReentrancyLock {
    uint256 private transient _entered;

    /// @dev Reverts if a guarded function of this contract is already running in this call.
    modifier nonReentrant() {
        if (_entered != 0) revert ReentrancyGuardReentrantCall();
        _entered = 1;
        _;
        _entered = 0;
    }

    /// @dev Only the check: for a function that calls out of the contract not at all, or only after its
    /// last read and write, so nothing can enter while it runs, but that must not run inside a locked
    /// one (whose words it would change under it). One transient read instead of a read and two writes.
    modifier whenUnlocked() {
        if (_entered != 0) revert ReentrancyGuardReentrantCall();
        _;
    }

    /// @dev `nonReentrant` with the check in one shared function: less code, a jump more per call.
    modifier nonReentrantCompact() {
        _lock();
        _;
        _entered = 0;
    }

    function _lock() private {
        if (_entered != 0) revert ReentrancyGuardReentrantCall();
        _entered = 1;
    }
}
