// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title BitMath
/// @notice Finds the position of the lowest or highest set bit of a 256-bit word, and counts its set bits.
/// The occupancy bitmaps of the auction's ticks and of the order book's price levels use it to find
/// occupied entries, and a coupled clearing to size its arrays.
/// @dev Both searches run without branches. A binary search halves the word down to one nibble, and a
/// 32-byte table then maps the nibble's value to its bit. A bitmap's scan calls them once per occupied
/// entry, so a loop here would cost more than the storage reads the bitmap saves.
library BitMath {
    /// @notice Returns the index of the lowest set bit of `bits`, which must not be zero.
    function lowestBit(uint256 bits) internal pure returns (uint256 index) {
        // slither-disable-next-line assembly: branch-free bit search on the clearing hot path
        assembly ("memory-safe") {
            // Isolating the lowest bit leaves a power of two, whose position the search finds.
            let bit := and(bits, sub(0, bits))
            index := shl(7, gt(bit, 0xffffffffffffffffffffffffffffffff))
            index := or(index, shl(6, gt(shr(index, bit), 0xffffffffffffffff)))
            index := or(index, shl(5, gt(shr(index, bit), 0xffffffff)))
            index := or(index, shl(4, gt(shr(index, bit), 0xffff)))
            index := or(index, shl(3, gt(shr(index, bit), 0xff)))
            index := or(index, shl(2, gt(shr(index, bit), 0xf)))
            // The last nibble holds 1, 2, 4 or 8, which stand for positions 0, 1, 2 and 3.
            // slither-disable-next-line too-many-digits: a 32-byte lookup table, one byte per nibble value
            index := or(index, byte(shr(index, bit), 0x0000010002000000030000000000000000000000000000000000000000000000))
        }
    }

    /// @notice Returns the index of the highest set bit of `bits`, which must not be zero.
    function highestBit(uint256 bits) internal pure returns (uint256 index) {
        // slither-disable-next-line assembly: branch-free bit search on the clearing hot path
        assembly ("memory-safe") {
            index := shl(7, gt(bits, 0xffffffffffffffffffffffffffffffff))
            index := or(index, shl(6, gt(shr(index, bits), 0xffffffffffffffff)))
            index := or(index, shl(5, gt(shr(index, bits), 0xffffffff)))
            index := or(index, shl(4, gt(shr(index, bits), 0xffff)))
            index := or(index, shl(3, gt(shr(index, bits), 0xff)))
            index := or(index, shl(2, gt(shr(index, bits), 0xf)))
            // The table holds the position of the highest bit of each nibble value from 0 to 15, one
            // byte each.
            // slither-disable-next-line too-many-digits: a 32-byte lookup table, one byte per nibble value
            index := or(index, byte(shr(index, bits), 0x0000010102020202030303030303030300000000000000000000000000000000))
        }
    }

    /// @notice Returns how many bits of `bits` are set.
    function popCount(uint256 bits) internal pure returns (uint256 count) {
        // slither-disable-next-line assembly: a count without a loop, over masks of every word width
        assembly ("memory-safe") {
            // Each pair of bits, then each nibble, byte and 16-bit lane holds the count of its own bits. The
            // lanes' counts (16 at most each, 256 in all) are then summed by one multiplication into the top lane.
            let x := sub(bits, and(shr(1, bits), 0x5555555555555555555555555555555555555555555555555555555555555555))
            x := add(and(x, 0x3333333333333333333333333333333333333333333333333333333333333333),
                and(shr(2, x), 0x3333333333333333333333333333333333333333333333333333333333333333))
            x := and(add(x, shr(4, x)), 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f)
            x := and(add(x, shr(8, x)), 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
            count := shr(240, mul(x, 0x0001000100010001000100010001000100010001000100010001000100010001))
        }
    }
}
