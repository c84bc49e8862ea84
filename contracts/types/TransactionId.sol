// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev A transaction's id in Settlement's ledger: the record slot that holds the transaction (low
/// 32 bits) and the slot's generation, how many transactions the slot held before it (the bits
/// above). A settled transaction's slot is reused, so the generation tells the transactions of one
/// slot apart; generations stop at 2^21 - 1 (Settlement), so an id stays below 2^53, exact as a
/// JSON number. The ABI carries it as uint256: wrap and unwrap convert.
type TransactionId is uint256;

using TransactionIdLibrary for TransactionId global;

/// @title TransactionIdLibrary
/// @notice A transaction id from its record slot and generation, and the two back.
library TransactionIdLibrary {
    uint256 private constant GENERATION_OFFSET = 32;

    /// @notice The id of the transaction that `slot` holds after `slotGeneration` earlier ones.
    /// @param slot The record slot, below 2^32.
    /// @param slotGeneration How many transactions the slot held before, below 2^21.
    function from(uint256 slot, uint256 slotGeneration) internal pure returns (TransactionId) {
        return TransactionId.wrap((slotGeneration << GENERATION_OFFSET) | slot);
    }

    /// @notice The record slot that holds (or held) the transaction.
    /// @param id The transaction id.
    function recordSlot(TransactionId id) internal pure returns (uint256) {
        return uint32(TransactionId.unwrap(id));
    }

    /// @notice How many transactions the slot held before this one.
    /// @param id The transaction id.
    function generation(TransactionId id) internal pure returns (uint256) {
        return TransactionId.unwrap(id) >> GENERATION_OFFSET;
    }
}
