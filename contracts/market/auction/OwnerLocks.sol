// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title OwnerLocks
/// @notice A table in memory of how much of each owner's free vault balance the standing bids of one
/// batch of readings have locked so far, so that an owner with several meters in a batch is read from
/// the vault once and never bids more than that balance covers.
/// @dev The table is open addressing, keyed by the owner's address, whose low bits are as good as
/// random. It has at least twice as many places as the batch has readings, so it is at most half full
/// and a probe reaches the owner's place, or an empty one, within a few steps. A place is two words:
/// the owner (zero marks an empty place) and what the owner's bids have locked. Every bid of a batch
/// looks its owner up here, so the probe reads and writes the places without a bounds check on each:
/// the mask keeps every index below the number of places, so no access leaves the table.
library OwnerLocks {
    /// @dev The table and the mask that keeps a probe's index inside it.
    struct Table {
        uint256[] places; // Two words a place: its owner and what the owner's bids locked.
        uint256 mask; // The number of places minus one; the number of places is a power of two.
    }

    /// @notice Returns an empty table with room for the owners of `readings` readings.
    function create(uint256 readings) internal pure returns (Table memory) {
        uint256 places = 2;
        while (places < 2 * readings) places <<= 1;
        return Table(new uint256[](2 * places), places - 1);
    }

    /// @notice Returns the memory address of what `owner`'s bids have locked, taking an empty place with
    /// a lock of zero if the owner has none yet. The address stays valid for the table's life; read it
    /// with `locked` and write it with `setLocked`.
    function lockOf(Table memory table, address owner) internal pure returns (uint256 lock) {
        uint256[] memory places = table.places;
        uint256 mask = table.mask;
        // slither-disable-next-line assembly: the probe reads and writes the table's two-word places, whose indexes the mask keeps inside it
        assembly ("memory-safe") {
            let key := and(owner, 0xffffffffffffffffffffffffffffffffffffffff)
            let first := add(places, 0x20)
            for { let i := and(key, mask) } 1 { i := and(add(i, 1), mask) } {
                let place := add(first, shl(6, i))
                let held := mload(place)
                if eq(held, key) {
                    lock := add(place, 0x20)
                    break
                }
                if iszero(held) {
                    mstore(place, key)
                    lock := add(place, 0x20)
                    break
                }
            }
        }
    }

    /// @notice Returns what is locked at `lock`, an address that `lockOf` returned.
    function locked(uint256 lock) internal pure returns (uint256 amount) {
        // slither-disable-next-line assembly: one word of the table, at an address lockOf returned
        assembly ("memory-safe") {
            amount := mload(lock)
        }
    }

    /// @notice Sets what is locked at `lock`, an address that `lockOf` returned, to `amount`.
    function setLocked(uint256 lock, uint256 amount) internal pure {
        // slither-disable-next-line assembly: one word of the table, at an address lockOf returned
        assembly ("memory-safe") {
            mstore(lock, amount)
        }
    }
}
