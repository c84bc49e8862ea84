// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title CalldataArrays
/// @notice Reads an element of a calldata array of static elements without a bounds check on each read.
/// A batch's loop reads every entry of its arrays, and Solidity checks the index of each read against
/// the array's length, which costs a jump and a comparison per read. A loop whose index stays below the
/// length it checked once reads here instead.
/// @dev Solidity checks an array's offset and length against the calldata when the function decodes its
/// arguments, so any index below the length reads inside the calldata. The caller keeps `i` below the
/// array's length; an index beyond it would read past the array (zeros past the end of the calldata).
/// An address with any of its upper 96 bits set is refused with an empty revert, as Solidity's own
/// read of an address element refuses it.
library CalldataArrays {
    /// @notice Returns element `i` of `array`, which the caller keeps below its length.
    function at(address[] calldata array, uint256 i) internal pure returns (address element) {
        // slither-disable-next-line assembly: one element of an array whose bounds Solidity checked when it decoded it
        assembly ("memory-safe") {
            element := calldataload(add(array.offset, shl(5, i)))
            if shr(160, element) { revert(0, 0) }
        }
    }

    /// @notice Returns element `i` of `array`, which the caller keeps below its length.
    function at(uint256[] calldata array, uint256 i) internal pure returns (uint256 element) {
        // slither-disable-next-line assembly: one element of an array whose bounds Solidity checked when it decoded it
        assembly ("memory-safe") {
            element := calldataload(add(array.offset, shl(5, i)))
        }
    }

    /// @notice Returns element `i` of `array`, which the caller keeps below its length.
    function at(int256[] calldata array, uint256 i) internal pure returns (int256 element) {
        // slither-disable-next-line assembly: one element of an array whose bounds Solidity checked when it decoded it
        assembly ("memory-safe") {
            element := calldataload(add(array.offset, shl(5, i)))
        }
    }
}
