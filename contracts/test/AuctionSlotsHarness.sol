// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AuctionSlots} from "../market/auction/AuctionSlots.sol";
import {TickVolumes} from "../types/TickVolumes.sol";
import {Clearing, Market} from "../market/auction/AuctionClearing.sol";

/// @title AuctionSlotsHarness
/// @notice Exposes AuctionSlots over mappings of its own, so that a test can compare the slots and words it
/// reads with those Solidity lays out.
contract AuctionSlotsHarness {
    uint256 private _filler;
    mapping(uint256 => Market) private _markets;
    mapping(uint256 => Clearing) private _clearings;
    mapping(uint256 => uint256) private _words;
    mapping(uint256 => TickVolumes) private _ticks;

    /// @notice Stores `value` at key `key` of the words mapping.
    function setWord(uint256 key, uint256 value) external {
        _words[key] = value;
    }

    /// @notice The four mappings' slots, in declaration order.
    function slots() external view returns (uint256, uint256, uint256, uint256) {
        return (AuctionSlots.slotOf(_markets), AuctionSlots.slotOf(_clearings), AuctionSlots.slotOf(_words), AuctionSlots.slotOf(_ticks));
    }

    /// @notice Stores `value` as the tick word of key `key` (a book's key << 8 | the tick).
    function setTick(uint256 key, uint256 value) external {
        _ticks[key] = TickVolumes.wrap(value);
    }

    /// @notice The words at `slots` of this contract's storage, answered as the auction answers them.
    function extsload(bytes32[] calldata slots_) external view returns (bytes32[] memory values) {
        values = AuctionSlots.answer(slots_);
    }

    /// @notice Reads the occupied ticks of `zones` in `period` from `auction` (this harness, standing in for one).
    function readLevels(address auction, uint256 period, uint256[] calldata zones, uint256[] calldata occupied)
        external
        view
        returns (uint256[][] memory)
    {
        return AuctionSlots.readLevels(auction, AuctionSlots.slotOf(_ticks), period, zones, occupied);
    }
}
