// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeter} from "./ISmartMeter.sol";

/// @title SignedReadingHash
/// @notice This library computes the EIP-712 struct hash of a meter-signed reading, that is of an
/// ISmartMeterRegistry.SignedReading without its signature, and recovers the key that signed it.
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

    /// @dev Half the order of secp256k1: an s above it is the other, malleable form of a signature whose s
    /// lies below (EIP-2), which the registry refuses.
    uint256 internal constant HALF_CURVE_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    /// @dev The ecrecover precompile's address.
    uint256 private constant ECRECOVER = 1;

    /// @dev Returns whether a signed reading of `meter` passes every check at once: `recovered`, its signer,
    /// is the meter and not the zero address (which a failed recovery yields), its `deadline` has not
    /// passed, its `s` lies in the lower half of the curve's order (EIP-2) and its `nonce` is
    /// `expectedNonce`. The checks are combined without a branch each, for the usual case where all hold.
    function passes(
        address recovered,
        address meter,
        uint256 nonce,
        uint256 expectedNonce,
        uint256 deadline,
        bytes32 s
    ) internal view returns (bool ok) {
        uint256 halfOrder = HALF_CURVE_ORDER;
        // slither-disable-next-line assembly: five comparisons joined without a branch each
        assembly ("memory-safe") {
            let failed := or(iszero(recovered), xor(recovered, meter))
            failed := or(failed, xor(nonce, expectedNonce))
            failed := or(failed, or(gt(timestamp(), deadline), gt(s, halfOrder)))
            ok := iszero(failed)
        }
    }

    /// @dev Returns the address whose key signed the SignedReading of `meter`, `nonce`, `deadline` and
    /// `reading` in the EIP-712 domain `domainSeparator` with (v, r, s), or the zero address when no key
    /// did (a v other than 27 or 28, an r or s out of the curve's range). The caller refuses an s above
    /// HALF_CURVE_ORDER. hashStruct(SignedReading) is the hash of five words: the typehash, the meter, the
    /// nonce, the deadline and the reading's own struct hash; the digest is EIP-712's,
    /// keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct), as OpenZeppelin's
    /// MessageHashUtils.toTypedDataHash builds it. Everything happens in one block of scratch memory and
    /// the precompile is called directly: a batch of a hundred readings recovers a hundred signers, and
    /// OpenZeppelin's ECDSA, through Solidity's ecrecover, abi.encode and three returned values, costs
    /// several hundred gas more per reading for the same checks.
    function signer(
        bytes32 domainSeparator,
        address meter,
        uint256 nonce,
        uint256 deadline,
        ISmartMeter.MeterReading memory reading,
        uint256 v,
        bytes32 r,
        bytes32 s
    ) internal view returns (address recovered) {
        bytes32 readingTypeHash = METER_READING_TYPEHASH;
        bytes32 signedTypeHash = SIGNED_READING_TYPEHASH;
        // slither-disable-next-line assembly: the hashes, the digest and the precompile's call in scratch memory, once per batch entry
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, readingTypeHash)
            // The reading's five uint256 words, as the struct lies in memory.
            mcopy(add(ptr, 0x20), reading, 0xa0)
            let readingHash := keccak256(ptr, 0xc0)
            mstore(ptr, signedTypeHash)
            mstore(add(ptr, 0x20), meter)
            mstore(add(ptr, 0x40), nonce)
            mstore(add(ptr, 0x60), deadline)
            mstore(add(ptr, 0x80), readingHash)
            let structHash := keccak256(ptr, 0xa0)
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), domainSeparator)
            mstore(add(ptr, 0x22), structHash)
            mstore(ptr, keccak256(ptr, 0x42))
            mstore(add(ptr, 0x20), v)
            mstore(add(ptr, 0x40), r)
            mstore(add(ptr, 0x60), s)
            // The precompile returns nothing for a signature it cannot recover, so the word starts at zero.
            mstore(0x00, 0)
            if iszero(staticcall(gas(), ECRECOVER, ptr, 0x80, 0x00, 0x20)) { revert(0, 0) }
            recovered := mload(0x00)
        }
    }
}
