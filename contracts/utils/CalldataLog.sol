// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title CalldataLog
/// @notice Emits an event whose non-indexed fields are the calling function's arguments, in order. It
/// logs the arguments as they arrived instead of encoding them again.
/// @dev The ABI encodes a function's arguments and an event's non-indexed fields the same way, so the
/// bytes after the selector are already the event's data. For a batch of arrays this saves Solidity's
/// element-by-element copy, which costs about 500 gas an entry for three arrays; what remains is the
/// log's own 8 gas a byte. The function must have decoded its arguments first, because that is when
/// Solidity checks every array against the calldata's bounds. The data then decodes to exactly what
/// the function read.
library CalldataLog {
    /// @dev Emits a log of the arguments with two topics: the event's selector and one indexed field.
    function logArguments(bytes32 selector, bytes32 topic1) internal {
        // slither-disable-next-line assembly: the arguments copied whole into the log
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let size := sub(calldatasize(), 4)
            calldatacopy(ptr, 4, size)
            log2(ptr, size, selector, topic1)
        }
    }
}
