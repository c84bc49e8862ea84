// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeter} from "../metering/ISmartMeter.sol";
import {PackedReadings} from "../metering/PackedReadings.sol";

/// @title PackedReadingsHarness
/// @notice Exposes the PackedReadings library to tests: every entry of a packed batch, read back.
contract PackedReadingsHarness {
    /// @notice The meters and readings of a batch of packed readings.
    function readings(bytes calldata packed)
        external
        pure
        returns (address[] memory meters, ISmartMeter.MeterReading[] memory read)
    {
        uint256 count = PackedReadings.count(packed, PackedReadings.READING_BYTES);
        meters = new address[](count);
        read = new ISmartMeter.MeterReading[](count);
        for (uint256 i; i < count; ++i) {
            read[i] = ISmartMeter.MeterReading(0, 0, 0, 0, 0);
            meters[i] = PackedReadings.readingAt(PackedReadings.entryAt(packed, i, PackedReadings.READING_BYTES), read[i]);
        }
    }

    /// @notice The meter, reading, nonce, deadline and signature (v, r, s) of each entry of a batch of
    /// packed signed readings.
    function signedReadings(bytes calldata packed)
        external
        pure
        returns (
            address[] memory meters,
            ISmartMeter.MeterReading[] memory read,
            uint256[] memory nonces,
            uint256[] memory deadlines,
            uint256[] memory vs,
            bytes32[] memory rs,
            bytes32[] memory ss
        )
    {
        uint256 count = PackedReadings.count(packed, PackedReadings.SIGNED_READING_BYTES);
        (meters, read) = (new address[](count), new ISmartMeter.MeterReading[](count));
        (nonces, deadlines, vs) = (new uint256[](count), new uint256[](count), new uint256[](count));
        (rs, ss) = (new bytes32[](count), new bytes32[](count));
        for (uint256 i; i < count; ++i) {
            uint256 entry = PackedReadings.entryAt(packed, i, PackedReadings.SIGNED_READING_BYTES);
            read[i] = ISmartMeter.MeterReading(0, 0, 0, 0, 0);
            meters[i] = PackedReadings.readingAt(entry, read[i]);
            (nonces[i], deadlines[i], vs[i], rs[i], ss[i]) = PackedReadings.signatureAt(entry);
        }
    }
}
