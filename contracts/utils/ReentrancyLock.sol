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
/// @dev This has the behaviour and the error of OpenZeppelin's ReentrancyGuardTransient, and keeps its
/// state in transient storage (EIP-1153), which is cleared after each transaction and costs 100 gas a
/// read or write. The state is declared with the `transient` keyword because OpenZeppelin's
/// inline-assembly `tstore` makes solc 0.8.28 warn. There are three forms of the same lock, sharing one
/// state. `nonReentrant` writes the check into each guarded function, which is cheapest in gas because
/// there is no jump to a shared check. `nonReentrantCompact` calls one shared copy of the check, which
/// costs about 20 gas more a call but saves some 30 bytes of code per guarded function; it is for a
/// contract near the 24,576-byte code-size limit, such as the order book. `whenUnlocked` only checks
/// that the lock is free, without taking it.
abstract contract ReentrancyLock is IReentrancyLock {
    uint256 private transient _entered;

    /// @dev Reverts if a guarded function of this contract is already running in this call.
    modifier nonReentrant() {
        if (_entered != 0) revert ReentrancyGuardReentrantCall();
        _entered = 1;
        _;
        _entered = 0;
    }

    /// @dev Only checks the lock. It is for a function that makes no outside call, or makes one only after
    /// its last read and write, so that nothing can enter while it runs. Such a function must still not
    /// run inside a locked one, whose words it would change underneath it. The check costs one transient
    /// read instead of a read and two writes.
    modifier whenUnlocked() {
        if (_entered != 0) revert ReentrancyGuardReentrantCall();
        _;
    }

    /// @dev Works like `nonReentrant` but keeps the check in one shared function, which means less code
    /// and one more jump per call.
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
