// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TickVolumes} from "../../types/TickVolumes.sol";
import {Clearing, Market} from "./AuctionClearing.sol";

/// @title AuctionSlots
/// @notice Raw reads of the auction's storage for MarketZones, which clears a market across zones from the
/// auction's books without the auction carrying that code (the pattern of Uniswap v4's Extsload): the
/// storage slot of each mapping the books live in, and the words at any slots.
library AuctionSlots {
    /// @notice The words at `slots` of the calling contract's storage.
    function load(bytes32[] calldata slots) internal view returns (bytes32[] memory values) {
        values = new bytes32[](slots.length);
        for (uint256 i; i < slots.length; ++i) {
            bytes32 slot = slots[i];
            bytes32 value;
            // slither-disable-next-line assembly: a raw storage read is what this library is for
            assembly ("memory-safe") {
                value := sload(slot)
            }
            values[i] = value;
        }
    }

    /// @notice The slot of a mapping of markets, from which Solidity hashes each key's slot.
    function slotOf(mapping(uint256 => Market) storage map) internal pure returns (uint256 slot) {
        // slither-disable-next-line assembly: a mapping's slot is only known to assembly
        assembly ("memory-safe") {
            slot := map.slot
        }
    }

    /// @notice The slot of a mapping of market results.
    function slotOf(mapping(uint256 => Clearing) storage map) internal pure returns (uint256 slot) {
        // slither-disable-next-line assembly: a mapping's slot is only known to assembly
        assembly ("memory-safe") {
            slot := map.slot
        }
    }

    /// @notice The slot of a mapping of words (the occupancy bitmaps, the zones of each market).
    function slotOf(mapping(uint256 => uint256) storage map) internal pure returns (uint256 slot) {
        // slither-disable-next-line assembly: a mapping's slot is only known to assembly
        assembly ("memory-safe") {
            slot := map.slot
        }
    }

    /// @notice The slot of the mapping of tick words.
    function slotOf(mapping(uint256 => TickVolumes) storage map) internal pure returns (uint256 slot) {
        // slither-disable-next-line assembly: a mapping's slot is only known to assembly
        assembly ("memory-safe") {
            slot := map.slot
        }
    }
}
