// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev A trader's record in EnergyTrading, one storage slot per trader index. The low 160 bits hold
/// the trader's address, and the 96 bits above hold the nonce that the trader's next signed message
/// must carry. Every order of the trader reads the record to find the address behind its trader
/// index, the trader's first order writes it, and each signed message rewrites it. Keeping the nonce
/// beside the address means that a relayed order pays for its nonce only by rewriting a slot that
/// the order reads anyway.
type TraderRecord is uint256;

using TraderRecordLibrary for TraderRecord global;

/// @title TraderRecordLibrary
/// @notice Builds a trader's record and reads its address and nonce.
library TraderRecordLibrary {
    uint256 private constant NONCE_OFFSET = 160;

    /// @notice Returns the record of `trader`, whose next signed message must carry `nextNonce`.
    /// @param trader The trader.
    /// @param nextNonce The trader's next nonce, below 2^96. EnergyTrading caps a raised nonce at
    /// 2^64 - 1.
    function from(address trader, uint256 nextNonce) internal pure returns (TraderRecord) {
        return TraderRecord.wrap(uint256(uint160(trader)) | (nextNonce << NONCE_OFFSET));
    }

    /// @notice Returns the trader, or the zero address when the index has not been given to anyone.
    /// @param record The trader's record.
    function account(TraderRecord record) internal pure returns (address) {
        return address(uint160(TraderRecord.unwrap(record)));
    }

    /// @notice Returns the nonce that the trader's next signed message must carry.
    /// @param record The trader's record.
    function nonce(TraderRecord record) internal pure returns (uint256) {
        return TraderRecord.unwrap(record) >> NONCE_OFFSET;
    }

    /// @notice Returns `record` with its nonce used up, so that the next message must carry the one after.
    /// @param record The trader's record.
    function withNextNonce(TraderRecord record) internal pure returns (TraderRecord) {
        return TraderRecord.wrap(TraderRecord.unwrap(record) + (1 << NONCE_OFFSET));
    }
}
