// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeterRegistry} from "../metering/ISmartMeterRegistry.sol";
import {SignedReadingHash} from "../metering/SignedReadingHash.sol";

/// @title SignedReadingHashHarness
/// @notice Exposes the SignedReadingHash library to tests: the EIP-712 struct hash of a reading signed by
/// a meter, both for one reading and for a batch.
contract SignedReadingHashHarness {
    /// @notice Calls SignedReadingHash.structHash.
    function structHash(ISmartMeterRegistry.SignedReading calldata signed) external pure returns (bytes32) {
        return SignedReadingHash.structHash(signed);
    }

    /// @notice Returns the struct hash of every reading of a batch, written into an array that was
    /// allocated before the first hash. This shows that the library's scratch writes leave memory that is
    /// already allocated alone.
    function structHashes(ISmartMeterRegistry.SignedReading[] calldata signed)
        external
        pure
        returns (bytes32[] memory hashes)
    {
        hashes = new bytes32[](signed.length);
        for (uint256 i; i < signed.length; ++i) {
            hashes[i] = SignedReadingHash.structHash(signed[i]);
        }
    }

    /// @notice Returns the two type hashes that the library hashes with.
    function typeHashes() external pure returns (bytes32 signedReadingTypeHash, bytes32 meterReadingTypeHash) {
        return (SignedReadingHash.SIGNED_READING_TYPEHASH, SignedReadingHash.METER_READING_TYPEHASH);
    }
}
