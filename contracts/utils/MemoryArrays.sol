// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../market/IEnergyMarket.sol";

/// @title MemoryArrays
/// @notice Shortens a memory array in place. A caller allocates room for the most entries it may find,
/// fills the first part of the array, and hands on only that part without copying it, for example to
/// a median, a batch mint or a page of orders.
/// @dev Each overload writes the new length over the array's length word. The entries past it stay in
/// memory but can no longer be reached, and the free-memory pointer does not move. The caller passes a
/// length no greater than the array's, namely the count of entries it filled; a longer one would
/// expose memory past the allocation. There is no check here, so that no caller's ABI gains an error
/// it cannot raise.
library MemoryArrays {
    // Shortening in place is one write of the length word, which Solidity has no statement for; the
    // callers pass the count of entries they filled, so an array only ever loses entries.

    /// @notice Keeps the first `length` entries of `array`.
    /// @param array The array, shortened in place.
    /// @param length Its new length, at most its current length (the entries the caller filled).
    function shorten(int256[] memory array, uint256 length) internal pure {
        // slither-disable-next-line assembly: one write of the length word shortens the array in place
        assembly ("memory-safe") {
            mstore(array, length)
        }
    }

    /// @notice Keeps the first `length` entries of `array`.
    /// @param array The array, shortened in place.
    /// @param length Its new length, at most its current length (the entries the caller filled).
    function shorten(uint256[] memory array, uint256 length) internal pure {
        // slither-disable-next-line assembly: one write of the length word shortens the array in place
        assembly ("memory-safe") {
            mstore(array, length)
        }
    }

    /// @notice Keeps the first `length` entries of `array`.
    /// @param array The array, shortened in place.
    /// @param length Its new length, at most its current length (the entries the caller filled).
    function shorten(address[] memory array, uint256 length) internal pure {
        // slither-disable-next-line assembly: one write of the length word shortens the array in place
        assembly ("memory-safe") {
            mstore(array, length)
        }
    }

    /// @notice Keeps the first `length` entries of `array`.
    /// @param array The array (a page of orders), shortened in place.
    /// @param length Its new length, at most its current length (the entries the caller filled).
    function shorten(IEnergyMarket.OrderInfo[] memory array, uint256 length) internal pure {
        // slither-disable-next-line assembly: one write of the length word shortens the array in place
        assembly ("memory-safe") {
            mstore(array, length)
        }
    }
}
