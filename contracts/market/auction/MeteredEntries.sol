// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title MeteredEntries
/// @notice Reads the entries of a metered batch (IMeteredMarket.recordMetered): three words each, the
/// meter and its energy, the owner and the reading's time, the owner's standing limits.
/// @dev Entries, and the batch's arrays of one entry per reading, are read and written without a bounds
/// check each: callers pass an index below the entries' length / ENTRY_WORDS (`count`), so no access
/// passes an array.
library MeteredEntries {
    /// @notice Words per entry.
    uint256 internal constant ENTRY_WORDS = 3;

    /// @notice How many whole entries `entries` holds.
    function count(uint256[] calldata entries) internal pure returns (uint256) {
        return entries.length / ENTRY_WORDS;
    }

    /// @notice Entry `i`'s three words: the meter (low 160 bits) and its energy above, the owner (low 160
    /// bits) and the reading's time above (0 = settle only), the standing limits; and the vault's answer
    /// for its owner, entry `i` of `free` and `approved` (IEnergyVault.paymentsFor), which have as many
    /// entries as the batch.
    function at(uint256[] calldata entries, uint256[] memory free, bool[] memory approved, uint256 i)
        internal
        pure
        returns (uint256 meterAndEnergy, uint256 ownerAndTime, uint256 limits, uint256 freePayment, bool isApproved)
    {
        // slither-disable-next-line assembly: an entry's words and its owner's balance read without a bounds check each
        assembly ("memory-safe") {
            let entry := add(entries.offset, mul(i, 0x60))
            meterAndEnergy := calldataload(entry)
            ownerAndTime := calldataload(add(entry, 0x20))
            limits := calldataload(add(entry, 0x40))
            let offset := shl(5, add(i, 1))
            freePayment := mload(add(free, offset))
            isApproved := mload(add(approved, offset))
        }
    }

    /// @notice Sets entry `i` of the batch's two delta arrays, which have as many entries as the batch.
    function setDeltas(int256[] memory energyDeltasWh, int256[] memory paymentDeltas, uint256 i, int256 energyDeltaWh, int256 paymentDelta)
        internal
        pure
    {
        // slither-disable-next-line assembly: the entry's two deltas written without a bounds check each
        assembly ("memory-safe") {
            let offset := shl(5, add(i, 1))
            mstore(add(energyDeltasWh, offset), energyDeltaWh)
            mstore(add(paymentDeltas, offset), paymentDelta)
        }
    }

    /// @notice The owners of the first `n` entries, in order.
    function owners(uint256[] calldata entries, uint256 n) internal pure returns (address[] memory result) {
        result = new address[](n);
        // slither-disable-next-line assembly: the owners copied out of the entries without a bounds check each
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let ownerAndTime := calldataload(add(entries.offset, add(mul(i, 0x60), 0x20)))
                mstore(add(result, shl(5, add(i, 1))), and(ownerAndTime, 0xffffffffffffffffffffffffffffffffffffffff))
            }
        }
    }

    // Each entry's words are packed as IMeteredMarket.recordMetered lays them out; the fields below are
    // read branch-free, so that the optimizer inlines them on the reading path.

    /// @notice The meter of an entry's first word.
    function meter(uint256 meterAndEnergy) internal pure returns (address) {
        return address(uint160(meterAndEnergy));
    }

    /// @notice The energy of an entry's first word: export Wh (low 40 bits) and import Wh above.
    function energy(uint256 meterAndEnergy) internal pure returns (uint256) {
        return meterAndEnergy >> 160;
    }

    /// @notice The export and import Wh of an entry's energy.
    function exportAndImportWh(uint256 energy_) internal pure returns (uint256 exportWh, uint256 importWh) {
        return (uint40(energy_), uint40(energy_ >> 40));
    }

    /// @notice The owner of an entry's second word.
    function owner(uint256 ownerAndTime) internal pure returns (address) {
        return address(uint160(ownerAndTime));
    }

    /// @notice The reading's time of an entry's second word (0: the entry only settles).
    function time(uint256 ownerAndTime) internal pure returns (uint256) {
        return ownerAndTime >> 160;
    }

    /// @notice The standing limits of an entry's third word: the sell and buy limits per kWh (0: none)
    /// and the sell and buy caps, Wh (0: none).
    function limitsOf(uint256 limits)
        internal
        pure
        returns (uint256 sellPricePerKWh, uint256 buyPricePerKWh, uint256 sellCapWh, uint256 buyCapWh)
    {
        return (uint96(limits), uint96(limits >> 96), uint32(limits >> 192), limits >> 224);
    }
}
