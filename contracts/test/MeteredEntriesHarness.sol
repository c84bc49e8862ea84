// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMeteredMarket} from "../metering/IMeteredMarket.sol";
import {MeteredEntries} from "../metering/MeteredEntries.sol";
import {StandingLimits} from "../types/StandingLimits.sol";

/// @title MeteredEntriesHarness
/// @notice Exposes the MeteredEntries library to tests: the packing of the entries that a meter registry
/// hands to the reading market, and the call that hands them over.
contract MeteredEntriesHarness {
    /// @notice Returns a batch of one reading entry, as MeteredEntries.setReading writes it.
    function readingEntry(
        address meter,
        address owner,
        uint256 timestampSeconds,
        uint256 exportWh,
        uint256 importWh,
        uint256 limitsWord
    ) external pure returns (uint256[] memory entries) {
        entries = MeteredEntries.allocate(1);
        MeteredEntries.setReading(
            entries, 0, meter, owner, timestampSeconds, exportWh, importWh, 0, StandingLimits.wrap(limitsWord)
        );
    }

    /// @notice Returns a batch of settlement entries, one per meter and owner, as
    /// MeteredEntries.setSettlement writes them.
    function settlementEntries(address[] calldata meters, address[] calldata owners)
        external
        pure
        returns (uint256[] memory entries)
    {
        entries = MeteredEntries.allocate(meters.length);
        for (uint256 i; i < meters.length; ++i) {
            MeteredEntries.setSettlement(entries, i, meters[i], owners[i]);
        }
    }

    /// @notice Calls MeteredEntries.record with the first `count` entries of `words`. Each entry takes
    /// three words, so `count` is at most a third of their number. Returns `words` as memory holds them
    /// after the call.
    function record(IMeteredMarket market, uint256[] calldata words, uint256 count)
        external
        returns (uint256[] memory entries)
    {
        entries = words;
        MeteredEntries.record(market, entries, count);
    }
}
