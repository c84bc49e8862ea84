// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev A trader's record in EnergyTrading, one storage slot per trader index: the trader's
/// address (the low 160 bits) and the nonce its next signed message must carry (the 96 bits above).
/// Every order of the trader reads it (the address behind the order's trader index), the first
/// order writes it, and each signed message rewrites it: keeping the nonce beside the address makes
/// a relayed order's nonce cost a rewrite of a slot the order reads anyway.
type TraderRecord is uint256;

using TraderRecordLibrary for TraderRecord global;

/// @title TraderRecordLibrary
/// @notice Builds a trader's record and reads its address and nonce.
library TraderRecordLibrary {
    uint256 private constant NONCE_OFFSET = 160;

    /// @notice The record of `trader` whose next signed message carries `nextNonce`.
    /// @param trader The trader.
    /// @param nextNonce Its next nonce, below 2^96 (EnergyTrading caps a raised nonce at 2^64 - 1).
    function from(address trader, uint256 nextNonce) internal pure returns (TraderRecord) {
        return TraderRecord.wrap(uint256(uint160(trader)) | (nextNonce << NONCE_OFFSET));
    }

    /// @notice The trader; the zero address when the index is not given to anyone.
    /// @param record The trader's record.
    function account(TraderRecord record) internal pure returns (address) {
        return address(uint160(TraderRecord.unwrap(record)));
    }

    /// @notice The nonce the trader's next signed message must carry.
    /// @param record The trader's record.
    function nonce(TraderRecord record) internal pure returns (uint256) {
        return TraderRecord.unwrap(record) >> NONCE_OFFSET;
    }

    /// @notice `record` with its nonce consumed: the next message must carry the one after.
    /// @param record The trader's record.
    function withNextNonce(TraderRecord record) internal pure returns (TraderRecord) {
        return TraderRecord.wrap(TraderRecord.unwrap(record) + (1 << NONCE_OFFSET));
    }
}
