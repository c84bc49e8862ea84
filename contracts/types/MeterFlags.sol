// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The status bits of a registered meter, kept in the second-last byte of its record. There are three,
/// and a tag:
/// - active: the operator has not deactivated the meter.
/// - awaiting a baseline: the meter's next reading only sets the baseline and counts no energy.
/// - vault delivery: the meter's export goes to its owner's vault balance, and its readings place the
///   meter's standing orders.
/// - zone tag (bits 3-6): which reading market the meter's zone was taken from (its place in the registry's
///   list of reading markets, plus one; zero for none), so that a zone kept from another market is not used.
type MeterFlags is uint8;

using MeterFlagsLibrary for MeterFlags global;

/// @title MeterFlagsLibrary
/// @notice Reads and changes MeterFlags by name. Each change returns new flags and leaves the other
/// bits as they were.
library MeterFlagsLibrary {
    uint8 private constant ACTIVE = 1;
    uint8 private constant AWAITING_BASELINE = 2;
    uint8 private constant VAULT_DELIVERY = 4;
    uint8 private constant ZONE_TAG_SHIFT = 3;
    uint8 private constant ZONE_TAG_MASK = 0x78;
    /// @notice The largest zone tag the flags hold.
    uint256 internal constant MAX_ZONE_TAG = 15;

    /// @dev Returns the flags of a newly registered meter. It is active, and it awaits a baseline unless
    /// the operator gave its registers at registration.
    function registered(bool awaitingBaseline_) internal pure returns (MeterFlags) {
        return MeterFlags.wrap(awaitingBaseline_ ? ACTIVE | AWAITING_BASELINE : ACTIVE);
    }

    function isActive(MeterFlags flags) internal pure returns (bool) {
        return MeterFlags.unwrap(flags) & ACTIVE != 0;
    }

    function awaitingBaseline(MeterFlags flags) internal pure returns (bool) {
        return MeterFlags.unwrap(flags) & AWAITING_BASELINE != 0;
    }

    function vaultDelivery(MeterFlags flags) internal pure returns (bool) {
        return MeterFlags.unwrap(flags) & VAULT_DELIVERY != 0;
    }

    function deactivated(MeterFlags flags) internal pure returns (MeterFlags) {
        return MeterFlags.wrap(MeterFlags.unwrap(flags) & ~ACTIVE);
    }

    /// @dev Marks the meter active again and makes its next reading set a new baseline, so that what the
    /// meter measured while it was deactivated is not counted.
    function reactivated(MeterFlags flags) internal pure returns (MeterFlags) {
        return MeterFlags.wrap(MeterFlags.unwrap(flags) | ACTIVE | AWAITING_BASELINE);
    }

    function baselineSet(MeterFlags flags) internal pure returns (MeterFlags) {
        return MeterFlags.wrap(MeterFlags.unwrap(flags) & ~AWAITING_BASELINE);
    }

    /// @dev The reading market the meter's zone was taken from: its place in the registry's list plus one.
    function zoneTag(MeterFlags flags) internal pure returns (uint256) {
        return (MeterFlags.unwrap(flags) & ZONE_TAG_MASK) >> ZONE_TAG_SHIFT;
    }

    /// @dev The flags with the zone's tag set; `tag` is at most MAX_ZONE_TAG.
    function withZoneTag(MeterFlags flags, uint256 tag) internal pure returns (MeterFlags) {
        return MeterFlags.wrap((MeterFlags.unwrap(flags) & ~ZONE_TAG_MASK) | uint8(tag << ZONE_TAG_SHIFT));
    }

    function withVaultDelivery(MeterFlags flags, bool enabled) internal pure returns (MeterFlags) {
        uint8 bits = MeterFlags.unwrap(flags);
        return MeterFlags.wrap(enabled ? bits | VAULT_DELIVERY : bits & ~VAULT_DELIVERY);
    }
}
