// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMeteredMarket} from "./IMeteredMarket.sol";
import {StandingLimits} from "../types/StandingLimits.sol";

/// @title MeteredEntries
/// @notice This library holds the entries that the meter registry hands to the reading market through
/// IMeteredMarket.recordMetered. Each reading takes three words, packed as the interface documents.
/// Both sides of the format live here, so that the layout is written down only once: the registry's
/// writer and the call that delivers the entries, and the market's reader.
/// @dev A batch allocates room for every reading it may hand on, fills the first entries and sends only
/// those. The call copies the filled words into the calldata in one piece. Encoding the array through
/// Solidity would copy it word by word instead, and a batch of a hundred readings would pay for that
/// three hundred times. The reader takes entries, and the batch's arrays that hold one element per
/// reading, without a bounds check on each access. This is safe because callers only pass an index
/// below `count(entries)`, so no access goes past the end of an array.
library MeteredEntries {
    /// @dev The number of words each reading takes.
    uint256 internal constant WORDS = 3;

    uint256 private constant TIME_SHIFT = 160;
    uint256 private constant EXPORT_SHIFT = 160;
    uint256 private constant IMPORT_SHIFT = 200;
    uint256 private constant ENERGY_BITS = 40;
    uint256 private constant ZONE_SHIFT = 240;

    /// @dev Allocates room for `readings` entries with every word zero. An entry left untouched settles nothing.
    function allocate(uint256 readings) internal pure returns (uint256[] memory entries) {
        entries = new uint256[](readings * WORDS);
    }

    /// @dev Writes entry `index` for an accepted reading at `timestampSeconds` that added `exportWh` and
    /// `importWh` at a meter of market zone `zone_`, together with the meter's standing limits as stored. The caller guarantees that both
    /// energies fit in 40 bits, which the load profile has already checked, that the time fits in 96
    /// bits, and that `entries` has room for the entry.
    function setReading(
        uint256[] memory entries,
        uint256 index,
        address meter_,
        address owner_,
        uint256 timestampSeconds,
        uint256 exportWh,
        uint256 importWh,
        uint256 zone_,
        StandingLimits limits
    ) internal pure {
        uint256 meterAndEnergy =
            uint160(meter_) | (exportWh << EXPORT_SHIFT) | (importWh << IMPORT_SHIFT) | (zone_ << ZONE_SHIFT);
        uint256 ownerAndTime = uint160(owner_) | (timestampSeconds << TIME_SHIFT);
        // Every reading of a batch writes its entry here, so the three words are written without a bounds
        // check on each; the caller guarantees the room.
        // slither-disable-next-line assembly: an entry's three words written in place, inside the array the batch allocated
        assembly ("memory-safe") {
            let first := add(add(entries, 0x20), mul(index, 0x60))
            mstore(first, meterAndEnergy)
            mstore(add(first, 0x20), ownerAndTime)
            mstore(add(first, 0x40), limits)
        }
    }

    /// @dev Writes entry `index` as a settlement entry, with time 0, no energy and no limits. The market
    /// then places nothing and only settles those of the meter's slots whose markets may clear.
    function setSettlement(uint256[] memory entries, uint256 index, address meter_, address owner_)
        internal
        pure
    {
        // The index stays below the batch's size, so the word offset cannot overflow.
        unchecked {
            uint256 first = index * WORDS;
            entries[first] = uint160(meter_);
            entries[first + 1] = uint160(owner_);
        }
    }

    /// @dev Calls `market.recordMetered` with the first `filled` entries of `entries`. A revert in the
    /// market is passed on unchanged. A market without code reverts with no data, just as a high-level
    /// call to it would. `entries` itself is left as it was.
    function record(IMeteredMarket market, uint256[] memory entries, uint256 filled) internal {
        bytes4 selector = IMeteredMarket.recordMetered.selector;
        uint256 words = filled * WORDS;
        // slither-disable-next-line assembly: the entries' words are copied whole after the selector, offset and length
        assembly ("memory-safe") {
            if iszero(extcodesize(market)) { revert(0, 0) }
            let ptr := mload(0x40)
            let size := shl(5, words)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), 0x20)
            mstore(add(ptr, 0x24), words)
            mcopy(add(ptr, 0x44), add(entries, 0x20), size)
            if iszero(call(gas(), market, 0, ptr, add(0x44, size), 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
        }
    }

    /// @notice How many whole entries `entries` holds.
    function count(uint256[] calldata entries) internal pure returns (uint256) {
        return entries.length / WORDS;
    }

    /// @notice Returns the three words of entry `i` and the vault's answer for its owner. The first word
    /// holds the meter in the low 160 bits and its energy above them. The second word holds the owner in
    /// the low 160 bits and the reading's time above them, where a time of 0 means the entry only
    /// settles. The third word holds the standing limits. The vault's answer is element `i` of `free`
    /// and `approved` (from IEnergyVault.paymentsFor), which have as many elements as the batch has
    /// entries.
    function at(uint256[] calldata entries, uint256[] memory free, bool[] memory approved, uint256 i)
        internal
        pure
        returns (uint256 meterAndEnergy, uint256 ownerAndTime, uint256 limits, uint256 freePayment, bool isApproved)
    {
        // slither-disable-next-line assembly: an entry's words and its owner's balance are read without a bounds check on each
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

    /// @notice Sets element `i` of the batch's two delta arrays, which have as many elements as the batch has entries.
    function setDeltas(int256[] memory energyDeltasWh, int256[] memory paymentDeltas, uint256 i, int256 energyDeltaWh, int256 paymentDelta)
        internal
        pure
    {
        // slither-disable-next-line assembly: the entry's two deltas are written without a bounds check on each
        assembly ("memory-safe") {
            let offset := shl(5, add(i, 1))
            mstore(add(energyDeltasWh, offset), energyDeltaWh)
            mstore(add(paymentDeltas, offset), paymentDelta)
        }
    }

    /// @notice Returns the owners of the first `n` entries, in order.
    function owners(uint256[] calldata entries, uint256 n) internal pure returns (address[] memory result) {
        result = new address[](n);
        // slither-disable-next-line assembly: the owners are copied out of the entries without a bounds check on each
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let ownerAndTime := calldataload(add(entries.offset, add(mul(i, 0x60), 0x20)))
                mstore(add(result, shl(5, add(i, 1))), and(ownerAndTime, 0xffffffffffffffffffffffffffffffffffffffff))
            }
        }
    }

    // ---- The market's reader ----

    // The fields below are read without branches, so that the optimizer inlines them on the reading path.

    /// @notice Returns the meter held in an entry's first word.
    function meter(uint256 meterAndEnergy) internal pure returns (address) {
        return address(uint160(meterAndEnergy));
    }

    /// @notice Returns the energy held in an entry's first word, with the export Wh in the low 40 bits
    /// and the import Wh above them.
    function energy(uint256 meterAndEnergy) internal pure returns (uint256) {
        return uint80(meterAndEnergy >> EXPORT_SHIFT);
    }

    /// @notice Returns the market zone of the meter held in an entry's first word: 0 for the bus.
    function zone(uint256 meterAndEnergy) internal pure returns (uint256) {
        return meterAndEnergy >> ZONE_SHIFT;
    }

    /// @notice Splits an entry's energy into its export Wh and its import Wh.
    function exportAndImportWh(uint256 energy_) internal pure returns (uint256 exportWh, uint256 importWh) {
        return (uint40(energy_), uint40(energy_ >> ENERGY_BITS));
    }

    /// @notice Returns the owner held in an entry's second word.
    function owner(uint256 ownerAndTime) internal pure returns (address) {
        return address(uint160(ownerAndTime));
    }

    /// @notice Returns the reading's time held in an entry's second word. A time of 0 means the entry only settles.
    function time(uint256 ownerAndTime) internal pure returns (uint256) {
        return ownerAndTime >> TIME_SHIFT;
    }

    /// @notice Returns the standing limits held in an entry's third word: the sell and buy price limits per
    /// kWh and the sell and buy caps in Wh. A value of 0 means there is no such limit or cap.
    function limitsOf(uint256 limits)
        internal
        pure
        returns (uint256 sellPricePerKWh, uint256 buyPricePerKWh, uint256 sellCapWh, uint256 buyCapWh)
    {
        StandingLimits word = StandingLimits.wrap(limits);
        return word.unpack();
    }
}
