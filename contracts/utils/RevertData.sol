// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title RevertData
/// @notice Passes a failed call's revert data on as the caller's own revert, byte for byte: the
/// callee's custom error (or reason string, or nothing) reaches whoever called the caller, as it
/// would through a plain Solidity call.
/// @dev OpenZeppelin's Address.verifyCallResult does the same for non-empty data but replaces an
/// empty revert with its own FailedCall error; the contracts that use this library pass an empty
/// revert on as empty, so that their callers see exactly what the callee said.
library RevertData {
    /// @notice Reverts with `revertData`, the data a low-level call returned when it failed.
    /// @param revertData The failed call's return data, as `address.call` hands it back.
    function bubble(bytes memory revertData) internal pure {
        // Solidity has no statement that reverts with raw bytes; one `revert` over the array's
        // contents does it without copying them.
        // slither-disable-next-line assembly: reverts with the failed call's data as it is
        assembly ("memory-safe") {
            revert(add(revertData, 0x20), mload(revertData))
        }
    }
}
