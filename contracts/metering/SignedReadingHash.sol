// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";

/// @title SignedReadingHash
/// @notice The EIP-712 struct hash of a meter-signed reading (ISmartMeterRegistry.SignedReading
/// without v, r and s), which the meter registry turns into the digest its meter signed.
/// @dev A relayed batch hashes up to a hundred readings in one call. abi.encode would allocate fresh
/// memory for each of them, and memory cost grows with the square of its size, so the words are
/// written into scratch memory past the free memory pointer instead, which is left where it was.
library SignedReadingHash {
    /// @dev EIP-712 type of a meter-signed reading.
    bytes32 internal constant SIGNED_READING_TYPEHASH = keccak256(
        "SignedReading(address meter,uint256 nonce,uint256 deadline,MeterReading reading)"
        "MeterReading(uint256 timestamp,uint256 consumption,uint256 production,uint256 gridFrequency,uint256 voltage)"
    );
    /// @dev EIP-712 type of the reading inside a SignedReading (ISmartMeter.MeterReading).
    bytes32 internal constant METER_READING_TYPEHASH = keccak256(
        "MeterReading(uint256 timestamp,uint256 consumption,uint256 production,uint256 gridFrequency,uint256 voltage)"
    );

    /// @dev hashStruct(SignedReading): the typehash, meter, nonce, deadline and the reading's own
    /// struct hash, each one word.
    function structHash(ISmartMeterRegistry.SignedReading calldata signed) internal pure returns (bytes32 hash) {
        bytes32 readingTypeHash = METER_READING_TYPEHASH;
        bytes32 signedTypeHash = SIGNED_READING_TYPEHASH;
        // Read through Solidity, which rejects a meter address with dirty upper bits.
        address meter = signed.meter;
        uint256 nonce = signed.nonce;
        uint256 deadline = signed.deadline;
        // slither-disable-next-line assembly: hashes each batch entry in scratch memory; abi.encode would allocate anew per entry
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, readingTypeHash)
            // The reading's five uint256 words follow meter, nonce and deadline in the calldata struct.
            calldatacopy(add(ptr, 0x20), add(signed, 0x60), 0xa0)
            let readingHash := keccak256(ptr, 0xc0)
            mstore(ptr, signedTypeHash)
            mstore(add(ptr, 0x20), meter)
            mstore(add(ptr, 0x40), nonce)
            mstore(add(ptr, 0x60), deadline)
            mstore(add(ptr, 0x80), readingHash)
            hash := keccak256(ptr, 0xa0)
        }
    }
}
