// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title FreeMemory
/// @notice Hands back memory a loop's step allocated and no longer uses, so that a long loop's memory,
/// whose cost grows with its square, does not grow with its steps.
/// @dev The caller reads the pointer before the step's allocations and releases it after the step's
/// last use of them: nothing allocated in between may be read again, as later allocations reuse it.
library FreeMemory {
    /// @notice The free memory pointer.
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
