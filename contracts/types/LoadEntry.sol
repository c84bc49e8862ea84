// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev One load report of a region's history in 128 bits, so that two share a storage word and a day's
/// reports write half as many fresh words. From the low bits up, 32 bits each: the capacity and the
/// demand in kW (each at most GridOperations.MAX_POWER_KW, below 2^32), the time reported (unix seconds,
/// below 2^32 until 2106) and the reporter's place in GridOperations' list of reporters plus one.
type LoadEntry is uint128;

using LoadEntryLibrary for LoadEntry global;

/// @title LoadEntryLibrary
/// @notice Packs and reads a load report.
library LoadEntryLibrary {
    /// @dev The report; callers keep every field below 2^32.
    function pack(uint256 capacityKW_, uint256 demandKW_, uint256 reportedAt_, uint256 reporterId_)
        internal
        pure
        returns (LoadEntry)
    {
        return LoadEntry.wrap(uint128(capacityKW_ | (demandKW_ << 32) | (reportedAt_ << 64) | (reporterId_ << 96)));
    }

    function capacityKW(LoadEntry entry) internal pure returns (uint256) {
        return uint32(LoadEntry.unwrap(entry));
    }

    function demandKW(LoadEntry entry) internal pure returns (uint256) {
        return uint32(LoadEntry.unwrap(entry) >> 32);
    }

    function reportedAt(LoadEntry entry) internal pure returns (uint256) {
        return uint32(LoadEntry.unwrap(entry) >> 64);
    }

    /// @dev The reporter's place in the list of reporters plus one (zero for no report).
    function reporterId(LoadEntry entry) internal pure returns (uint256) {
        return uint32(LoadEntry.unwrap(entry) >> 96);
    }
}
