// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";

/// @title SignedReadingHash
/// @notice This library computes the EIP-712 struct hash of a meter-signed reading, that is of an
/// ISmartMeterRegistry.SignedReading without v, r and s. The meter registry turns the hash into the
/// digest that the meter signed.
/// @dev A relayed batch hashes up to a hundred readings in one call. abi.encode would allocate fresh
/// memory for each of them, and the cost of memory grows with the square of its size. The words are
/// therefore written into scratch memory past the free memory pointer, and the pointer is left where
/// it was.
library SignedReadingHash {
    /// @dev The EIP-712 type of a meter-signed reading.
    bytes32 internal constant SIGNED_READING_TYPEHASH = keccak256(
        "SignedReading(address meter,uint256 nonce,uint256 deadline,MeterReading reading)"
        "MeterReading(uint256 timestamp,uint256 consumption,uint256 production,uint256 gridFrequency,uint256 voltage)"
    );
    /// @dev The EIP-712 type of the reading inside a SignedReading, which is an ISmartMeter.MeterReading.
    bytes32 internal constant METER_READING_TYPEHASH = keccak256(
        "MeterReading(uint256 timestamp,uint256 consumption,uint256 production,uint256 gridFrequency,uint256 voltage)"
    );

    /// @dev Returns hashStruct(SignedReading), the hash of five words: the typehash, the meter, the nonce,
    /// the deadline and the reading's own struct hash.
    function structHash(ISmartMeterRegistry.SignedReading calldata signed) internal pure returns (bytes32 hash) {
        bytes32 readingTypeHash = METER_READING_TYPEHASH;
        bytes32 signedTypeHash = SIGNED_READING_TYPEHASH;
        // These fields are read through Solidity, which rejects a meter address with dirty upper bits.
        address meter = signed.meter;
        uint256 nonce = signed.nonce;
        uint256 deadline = signed.deadline;
        // slither-disable-next-line assembly: each batch entry is hashed in scratch memory, where abi.encode would allocate anew for every entry
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, readingTypeHash)
            // The reading's five uint256 words follow the meter, nonce and deadline in the calldata struct.
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
