// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice One load-profile interval of a meter, packed into a single storage word. From the low bits
/// up, the fields and their widths in bits are: interval (32), consumptionWh (40), productionWh (40),
/// consumptionRegisterWh (56), productionRegisterWh (56), gridFrequencyMilliHz (16) and
/// voltagePerMille (16).
type ProfileEntry is uint256;

using ProfileEntryLibrary for ProfileEntry global;

/// @title ProfileEntryLibrary
/// @notice Packs and reads a ProfileEntry. Every reading reads one entry and writes one on its hot path,
/// so the library works on the raw word instead of a memory struct.
library ProfileEntryLibrary {
    uint256 private constant MASK_32 = type(uint32).max;
    uint256 private constant MASK_40 = type(uint40).max;
    uint256 private constant MASK_56 = type(uint56).max;
    uint256 private constant MASK_16 = type(uint16).max;

    /// @dev Callers guarantee that every field fits its width; the meter registry checks them first.
    function pack(
        uint256 intervalIndex,
        uint256 importedWh,
        uint256 exportedWh,
        uint256 importRegisterWh,
        uint256 exportRegisterWh,
        uint256 frequencyMilliHz,
        uint256 voltage
    ) internal pure returns (ProfileEntry) {
        return ProfileEntry.wrap(
            intervalIndex | (importedWh << 32) | (exportedWh << 72) | (importRegisterWh << 112)
                | (exportRegisterWh << 168) | (frequencyMilliHz << 224) | (voltage << 240)
        );
    }

    function interval(ProfileEntry e) internal pure returns (uint256) {
        return ProfileEntry.unwrap(e) & MASK_32;
    }

    function consumptionWh(ProfileEntry e) internal pure returns (uint256) {
        return (ProfileEntry.unwrap(e) >> 32) & MASK_40;
    }

    function productionWh(ProfileEntry e) internal pure returns (uint256) {
        return (ProfileEntry.unwrap(e) >> 72) & MASK_40;
    }

    function consumptionRegisterWh(ProfileEntry e) internal pure returns (uint256) {
        return (ProfileEntry.unwrap(e) >> 112) & MASK_56;
    }

    function productionRegisterWh(ProfileEntry e) internal pure returns (uint256) {
        return (ProfileEntry.unwrap(e) >> 168) & MASK_56;
    }

    function gridFrequencyMilliHz(ProfileEntry e) internal pure returns (uint256) {
        return (ProfileEntry.unwrap(e) >> 224) & MASK_16;
    }

    function voltagePerMille(ProfileEntry e) internal pure returns (uint256) {
        return ProfileEntry.unwrap(e) >> 240;
    }
}
