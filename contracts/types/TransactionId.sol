// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev A transaction's id in Settlement's ledger. The low 32 bits hold the record slot that holds the
/// transaction, and the bits above hold the slot's generation, which is how many transactions the
/// slot held before this one. A settled transaction's slot is reused, so the generation tells the
/// transactions of one slot apart. Settlement stops generations at 2^21 - 1, so an id stays below
/// 2^53 and is exact as a JSON number. The ABI carries the id as a uint256, and wrap and unwrap
/// convert between the two.
type TransactionId is uint256;

using TransactionIdLibrary for TransactionId global;

/// @title TransactionIdLibrary
/// @notice Builds a transaction id from its record slot and generation, and reads the two back.
library TransactionIdLibrary {
    uint256 private constant GENERATION_OFFSET = 32;

    /// @notice Returns the id of the transaction that `slot` holds after `slotGeneration` earlier ones.
    /// @param slot The record slot, below 2^32.
    /// @param slotGeneration How many transactions the slot held before, below 2^21.
    function from(uint256 slot, uint256 slotGeneration) internal pure returns (TransactionId) {
        return TransactionId.wrap((slotGeneration << GENERATION_OFFSET) | slot);
    }

    /// @notice Returns the record slot that holds the transaction, or held it before it was reused.
    /// @param id The transaction id.
    function recordSlot(TransactionId id) internal pure returns (uint256) {
        return uint32(TransactionId.unwrap(id));
    }

    /// @notice Returns how many transactions the slot held before this one.
    /// @param id The transaction id.
    function generation(TransactionId id) internal pure returns (uint256) {
        return TransactionId.unwrap(id) >> GENERATION_OFFSET;
    }
}
