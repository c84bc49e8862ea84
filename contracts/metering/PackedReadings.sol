// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeter} from "./ISmartMeter.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";

/// @title PackedReadings
/// @notice The layout of a packed batch of readings (ISmartMeterRegistry.submitPackedReadings and
/// submitPackedSignedReadings), and its reading. Each entry is big-endian and unpadded: the meter (20
/// bytes), the reading's timestamp (5), consumption (6), production (6), gridFrequency (2) and voltage
/// (2); a signed entry goes on with its nonce (5), its deadline (5) and its EIP-2098 signature, r (32) and
/// vs (32).
/// @dev A reading in the ABI's encoding is six words, mostly zero bytes, and a signed one eleven: at 4 gas a
/// zero byte and 16 a non-zero one, the packed entries cost about half of the calldata gas and a third
/// of its bytes. Each field is as wide as the registry stores it (the timestamp and nonce 40 bits, the
/// registers 48) or as its bounds need (a frequency up to 65,000 mHz, a voltage up to 1,500 per mille).
library PackedReadings {
    /// @dev The bytes of one packed reading.
    uint256 internal constant READING_BYTES = 41;
    /// @dev The bytes of one packed signed reading: a packed reading, the nonce and deadline, r and vs.
    uint256 internal constant SIGNED_READING_BYTES = 115;

    /// @dev The number of entries of `entryBytes` in `packed`; reverts unless it holds a whole number of them.
    function count(bytes calldata packed, uint256 entryBytes) internal pure returns (uint256 entries) {
        uint256 length = packed.length;
        if (length % entryBytes != 0) revert ISmartMeterRegistry.PackedBatchMalformed(length, entryBytes);
        entries = length / entryBytes;
    }

    /// @dev Where the entry `index` of `entryBytes` starts in calldata. The caller keeps `index` below
    /// `count(packed, entryBytes)`.
    function entryAt(bytes calldata packed, uint256 index, uint256 entryBytes) internal pure returns (uint256 entry) {
        // slither-disable-next-line assembly: the entry's calldata position, which the readers below load from
        assembly ("memory-safe") {
            entry := add(packed.offset, mul(index, entryBytes))
        }
    }

    /// @dev Reads the entry at calldata position `entry` into `reading`, which a batch allocates once and
    /// reuses, and returns its meter.
    function readingAt(uint256 entry, ISmartMeter.MeterReading memory reading) internal pure returns (address meter) {
        // slither-disable-next-line assembly: five fields cut from one calldata word, where abi.decode has no packed form
        assembly ("memory-safe") {
            meter := shr(96, calldataload(entry))
            let fields := calldataload(add(entry, 20))
            mstore(reading, shr(216, fields))
            mstore(add(reading, 0x20), and(shr(168, fields), 0xffffffffffff))
            mstore(add(reading, 0x40), and(shr(120, fields), 0xffffffffffff))
            mstore(add(reading, 0x60), and(shr(104, fields), 0xffff))
            mstore(add(reading, 0x80), and(shr(88, fields), 0xffff))
        }
    }

    /// @dev Reads the nonce, deadline and signature of the signed entry at calldata position `entry`: v (27
    /// or 28) and s from the EIP-2098 vs, which keeps v - 27 in its top bit.
    function signatureAt(uint256 entry)
        internal
        pure
        returns (uint256 nonce, uint256 deadline, uint256 v, bytes32 r, bytes32 s)
    {
        // slither-disable-next-line assembly: two fields cut from one calldata word and the signature's two words read in place
        assembly ("memory-safe") {
            let tail := add(entry, 41)
            let fields := calldataload(tail)
            nonce := shr(216, fields)
            deadline := and(shr(176, fields), 0xffffffffff)
            r := calldataload(add(tail, 10))
            let vs := calldataload(add(tail, 42))
            v := add(27, shr(255, vs))
            s := and(vs, shr(1, not(0)))
        }
    }
}
