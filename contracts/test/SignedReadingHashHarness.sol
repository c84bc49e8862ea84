// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeterRegistry} from "../metering/ISmartMeterRegistry.sol";
import {SignedReadingHash} from "../metering/SignedReadingHash.sol";

/// @title SignedReadingHashHarness
/// @notice Exposes the SignedReadingHash library to tests: the key that signed a meter's reading in a
/// given EIP-712 domain, both for one reading and for a batch.
contract SignedReadingHashHarness {
    /// @notice Calls SignedReadingHash.signer for `signed` in the domain `domainSeparator`.
    function signer(bytes32 domainSeparator, ISmartMeterRegistry.SignedReading calldata signed)
        external
        view
        returns (address)
    {
        return SignedReadingHash.signer(
            domainSeparator, signed.meter, signed.nonce, signed.deadline, signed.reading, signed.v, signed.r, signed.s
        );
    }

    /// @notice Returns the signer of every reading of a batch, written into an array that was allocated
    /// before the first recovery. This shows that the library's scratch writes leave memory that is
    /// already allocated alone.
    function signers(bytes32 domainSeparator, ISmartMeterRegistry.SignedReading[] calldata signed)
        external
        view
        returns (address[] memory recovered)
    {
        recovered = new address[](signed.length);
        for (uint256 i; i < signed.length; ++i) {
            ISmartMeterRegistry.SignedReading calldata one = signed[i];
            recovered[i] = SignedReadingHash.signer(
                domainSeparator, one.meter, one.nonce, one.deadline, one.reading, one.v, one.r, one.s
            );
        }
    }

    /// @notice Calls SignedReadingHash.passes with a deadline `deadlineOffsetSeconds` from the block's time,
    /// so that a test can put it exactly at, before or after the time the check sees.
    function passes(
        address recovered,
        address meter,
        uint256 nonce,
        uint256 expectedNonce,
        int256 deadlineOffsetSeconds,
        bytes32 s
    ) external view returns (bool) {
        uint256 deadline = uint256(int256(block.timestamp) + deadlineOffsetSeconds);
        return SignedReadingHash.passes(recovered, meter, nonce, expectedNonce, deadline, s);
    }

    /// @notice Returns the two type hashes that the library hashes with.
    function typeHashes() external pure returns (bytes32 signedReadingTypeHash, bytes32 meterReadingTypeHash) {
        return (SignedReadingHash.SIGNED_READING_TYPEHASH, SignedReadingHash.METER_READING_TYPEHASH);
    }
}
