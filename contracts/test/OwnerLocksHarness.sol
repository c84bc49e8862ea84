// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {OwnerLocks} from "../market/auction/OwnerLocks.sol";

/// @title OwnerLocksHarness
/// @notice Exposes the OwnerLocks library to tests: a batch's bids, each an owner and an amount to lock,
/// run through one table in order.
contract OwnerLocksHarness {
    /// @notice Creates a table for `readings` readings and, for each bid in turn, looks its owner up, reads
    /// what the owner has locked and adds the bid's amount. Returns, per bid, what its owner had locked
    /// before it and the memory address of the owner's lock, then the table's number of places.
    function lockAll(uint256 readings, address[] calldata owners, uint256[] calldata amounts)
        external
        pure
        returns (uint256[] memory lockedBefore, uint256[] memory locks, uint256 places)
    {
        OwnerLocks.Table memory table = OwnerLocks.create(readings);
        lockedBefore = new uint256[](owners.length);
        locks = new uint256[](owners.length);
        for (uint256 i; i < owners.length; ++i) {
            uint256 lock = OwnerLocks.lockOf(table, owners[i]);
            lockedBefore[i] = OwnerLocks.locked(lock);
            OwnerLocks.setLocked(lock, lockedBefore[i] + amounts[i]);
            locks[i] = lock;
        }
        places = table.mask + 1;
    }
}
