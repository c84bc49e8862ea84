// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMeteredMarket} from "./IMeteredMarket.sol";
import {StandingLimits} from "../types/StandingLimits.sol";

/// @title MeteredEntries
/// @notice The entries the meter registry hands to the reading market (IMeteredMarket.recordMetered):
/// three words per reading, packed as the interface documents. Both sides of the format live here, so
/// the layout is written once: the registry's writer and the call that delivers the entries, and the
/// market's reader.
/// @dev A batch allocates room for every reading it may hand on, fills a prefix of entries and sends
/// only that prefix. The call copies the filled words into the calldata in one piece: encoding the
/// array through Solidity would copy it word by word, which a batch of a hundred readings pays for
/// three hundred times. The reader takes entries, and the batch's arrays of one entry per reading,
/// without a bounds check each: callers pass an index below `count(entries)`, so no access passes an
/// array.
library MeteredEntries {
    /// @dev Words per reading.
    uint256 internal constant WORDS = 3;

    uint256 private constant TIME_SHIFT = 160;
    uint256 private constant EXPORT_SHIFT = 160;
    uint256 private constant IMPORT_SHIFT = 200;
    uint256 private constant ENERGY_BITS = 40;

    /// @dev Room for `readings` entries, every word zero: an entry left as it is settles nothing.
    function allocate(uint256 readings) internal pure returns (uint256[] memory entries) {
        entries = new uint256[](readings * WORDS);
    }

    /// @dev Writes entry `index`: an accepted reading at `timestampSeconds` that added `exportWh` and
    /// `importWh`, with the meter's standing limits as stored. The caller guarantees that both
    /// energies fit 40 bits (the load profile checked them), that the time fits 96 bits, and that
    /// `entries` has room for the entry.
    function setReading(
        uint256[] memory entries,
        uint256 index,
        address meter_,
        address owner_,
        uint256 timestampSeconds,
        uint256 exportWh,
        uint256 importWh,
        StandingLimits limits
    ) internal pure {
        // The index stays below the batch's size, so the word offset cannot overflow.
        unchecked {
            uint256 first = index * WORDS;
            entries[first] = uint160(meter_) | (exportWh << EXPORT_SHIFT) | (importWh << IMPORT_SHIFT);
            entries[first + 1] = uint160(owner_) | (timestampSeconds << TIME_SHIFT);
            entries[first + 2] = StandingLimits.unwrap(limits);
        }
    }

    /// @dev Writes entry `index` as a settlement entry: time 0, no energy and no limits, so the market
    /// places nothing and settles the meter's slots whose markets may clear.
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

    /// @dev `market.recordMetered` with the first `filled` entries of `entries`. A revert in the market
    /// comes through as it is; a market without code reverts with no data, as a high-level call to it
    /// would. `entries` itself is left as it was.
    function record(IMeteredMarket market, uint256[] memory entries, uint256 filled) internal {
        bytes4 selector = IMeteredMarket.recordMetered.selector;
        uint256 words = filled * WORDS;
        // slither-disable-next-line assembly: the entries' words copied whole after the selector, offset and length
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

    // ---- The market's reader: the fields below are read branch-free, so that the optimizer inlines them on the reading path.

    /// @notice The meter of an entry's first word.
    function meter(uint256 meterAndEnergy) internal pure returns (address) {
        return address(uint160(meterAndEnergy));
    }

    /// @notice The energy of an entry's first word: export Wh (low 40 bits) and import Wh above.
    function energy(uint256 meterAndEnergy) internal pure returns (uint256) {
        return meterAndEnergy >> EXPORT_SHIFT;
    }

    /// @notice The export and import Wh of an entry's energy.
    function exportAndImportWh(uint256 energy_) internal pure returns (uint256 exportWh, uint256 importWh) {
        return (uint40(energy_), uint40(energy_ >> ENERGY_BITS));
    }

    /// @notice The owner of an entry's second word.
    function owner(uint256 ownerAndTime) internal pure returns (address) {
        return address(uint160(ownerAndTime));
    }

    /// @notice The reading's time of an entry's second word (0: the entry only settles).
    function time(uint256 ownerAndTime) internal pure returns (uint256) {
        return ownerAndTime >> TIME_SHIFT;
    }

    /// @notice The standing limits of an entry's third word: the sell and buy limits per kWh (0: none)
    /// and the sell and buy caps, Wh (0: none).
    function limitsOf(uint256 limits)
        internal
        pure
        returns (uint256 sellPricePerKWh, uint256 buyPricePerKWh, uint256 sellCapWh, uint256 buyCapWh)
    {
        StandingLimits word = StandingLimits.wrap(limits);
        return (word.sellPricePerKWh(), word.buyPricePerKWh(), word.sellCapWh(), word.buyCapWh());
    }
}
