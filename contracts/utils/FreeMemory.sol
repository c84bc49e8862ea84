// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title FreeMemory
/// @notice Hands back the memory that one step of a loop allocated and no longer uses. The cost of memory
/// grows with the square of its size, so a long loop should not let its memory grow with every step.
/// @dev The caller reads the pointer before the step's allocations and releases it after the step's
/// last use of them. Nothing allocated in between may be read again, because later allocations reuse
/// that memory.
library FreeMemory {
    /// @notice Returns the free memory pointer.
    function pointer() internal pure returns (uint256 free) {
        // slither-disable-next-line assembly: reads the free memory pointer, handed back by release
        assembly ("memory-safe") {
            free := mload(0x40)
        }
    }

    /// @notice Frees everything allocated since `pointer` returned `free`.
    function release(uint256 free) internal pure {
        // slither-disable-next-line assembly: sets the free memory pointer back to a value it had before
        assembly ("memory-safe") {
            mstore(0x40, free)
        }
    }
}
