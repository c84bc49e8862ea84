// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AuctionState} from "../market/auction/AuctionState.sol";
import {TickVolumes} from "../types/TickVolumes.sol";
import {Clearing, Market} from "../market/auction/AuctionStorage.sol";

/// @title AuctionStateHarness
/// @notice Exposes AuctionState over mappings of its own, laid out at the slots AuctionState reads, so that
/// a test can compare the slots and words it reads with those Solidity lays out, and its slot numbers with
/// the auction's own.
contract AuctionStateHarness {
    uint256[4] private _filler;
    mapping(uint256 => Market) private _markets;
    mapping(uint256 => Clearing) private _clearings;
    mapping(uint256 => uint256) private _words;
    mapping(uint256 => TickVolumes) private _ticks;

    /// @notice Stores `value` at key `key` of the words mapping.
    function setWord(uint256 key, uint256 value) external {
        _words[key] = value;
    }

    /// @notice The slots of the harness's mappings of markets, results, words and tick words.
    function slots() external view returns (uint256, uint256, uint256, uint256) {
        return (AuctionState.slotOf(_markets), AuctionState.slotOf(_clearings), AuctionState.slotOf(_words), AuctionState.slotOf(_ticks));
    }

    /// @notice The slots AuctionState reads the auction's mappings at, in IEnergyAuction.BookSlots' order.
    function auctionSlots() external pure returns (uint256, uint256, uint256, uint256, uint256) {
        return (
            AuctionState.MARKETS_SLOT,
            AuctionState.CLEARINGS_SLOT,
            AuctionState.OCCUPIED_TICKS_SLOT,
            AuctionState.TICKS_SLOT,
            AuctionState.ZONES_OF_SLOT
        );
    }

    /// @notice Stores `value` as the tick word of key `key` (a book's key << 8 | the tick / 3).
    function setTick(uint256 key, uint256 value) external {
        _ticks[key] = TickVolumes.wrap(value);
    }

    /// @notice The words at `slots` of this contract's storage, answered as the auction answers them.
    function extsload(bytes32[] calldata slots_) external view returns (bytes32[] memory values) {
        values = AuctionState.answer(slots_);
    }

    /// @notice Reads the occupied ticks of `zones` in `period` from `auction` (this harness, standing in for one),
    /// and each zone's bids in all.
    function readLevels(address auction, uint256 period, uint256[] calldata zones, uint256[] calldata occupied)
        external
        view
        returns (uint256[][] memory, uint256[] memory)
    {
        return AuctionState.readLevels(auction, period, zones, occupied);
    }
}
