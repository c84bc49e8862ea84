// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMeteredMarket} from "./IMeteredMarket.sol";
import {StandingLimits} from "../types/StandingLimits.sol";

/// @title MeteredEntries
/// @notice The entries the meter registry hands to the reading market (IMeteredMarket.recordMetered):
/// three words per reading, packed as the interface documents, and the call that delivers them.
/// @dev A batch allocates room for every reading it may hand on, fills a prefix of entries and sends
/// only that prefix. The call copies the filled words into the calldata in one piece: encoding the
/// array through Solidity would copy it word by word, which a batch of a hundred readings pays for
/// three hundred times.
library MeteredEntries {
    /// @dev Words per reading.
    uint256 internal constant WORDS = 3;

    uint256 private constant TIME_SHIFT = 160;
    uint256 private constant EXPORT_SHIFT = 160;
    uint256 private constant IMPORT_SHIFT = 200;

    /// @dev Room for `count` entries, every word zero: an entry left as it is settles nothing.
    function allocate(uint256 count) internal pure returns (uint256[] memory entries) {
        entries = new uint256[](count * WORDS);
    }

    /// @dev Writes entry `index`: an accepted reading at `timestampSeconds` that added `exportWh` and
    /// `importWh`, with the meter's standing limits as stored. The caller guarantees that both
    /// energies fit 40 bits (the load profile checked them), that the time fits 96 bits, and that
    /// `entries` has room for the entry.
    function setReading(
        uint256[] memory entries,
        uint256 index,
        address meter,
        address owner,
        uint256 timestampSeconds,
        uint256 exportWh,
        uint256 importWh,
        StandingLimits limits
    ) internal pure {
        // The index stays below the batch's size, so the word offset cannot overflow.
        unchecked {
            uint256 at = index * WORDS;
            entries[at] = uint160(meter) | (exportWh << EXPORT_SHIFT) | (importWh << IMPORT_SHIFT);
            entries[at + 1] = uint160(owner) | (timestampSeconds << TIME_SHIFT);
            entries[at + 2] = StandingLimits.unwrap(limits);
        }
    }

    /// @dev Writes entry `index` as a settlement entry: time 0, no energy and no limits, so the market
    /// places nothing and settles the meter's slots whose markets may clear.
    function setSettlement(uint256[] memory entries, uint256 index, address meter, address owner)
        internal
        pure
    {
        // The index stays below the batch's size, so the word offset cannot overflow.
        unchecked {
            uint256 at = index * WORDS;
            entries[at] = uint160(meter);
            entries[at + 1] = uint160(owner);
        }
    }

    /// @dev `market.recordMetered` with the first `count` entries of `entries`. A revert in the market
    /// comes through as it is; a market without code reverts with no data, as a high-level call to it
    /// would. `entries` itself is left as it was.
    function record(IMeteredMarket market, uint256[] memory entries, uint256 count) internal {
        bytes4 selector = IMeteredMarket.recordMetered.selector;
        uint256 words = count * WORDS;
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
}
