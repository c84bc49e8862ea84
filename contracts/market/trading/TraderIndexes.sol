// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TraderRecord, TraderRecordLibrary} from "../../types/TraderRecord.sol";

/// @title TraderIndexes
/// @notice The order book's traders by 32-bit index: an order names its trader (and a directed
/// order its counterparty) by index so that the whole order fits one storage slot.
/// @dev A trader is given its index at its first order, or when a directed order or a signed
/// message first names it. The index is the low 31 bits of its address, so that the one slot of
/// that index (TraderRecord: the address, and the nonce of the trader's next signed message) also
/// finds the index from the address: a first order writes one slot for its trader, not two. An
/// account whose own index another account took first (a chance of one in 2^31 per pair, or an
/// address ground to take it) gets the next index from 2^31 up instead, kept in one more slot; the
/// counter of those indexes lives in the market's global slot, reached through `_nextAssignedIndex`.
abstract contract TraderIndexes {
    /// @dev The first trader index given in sequence, to an account whose own index is taken: own
    /// indexes (the low 31 bits of an address) are all below it.
    uint256 internal constant FIRST_ASSIGNED_INDEX = 1 << 31;

    // One slot per trader, by trader index. Read by each of the trader's orders, written by the
    // first and by each signed message.
    mapping(uint256 traderIndex => TraderRecord) internal _traderRecords;
    // Only for an account whose own index (_ownIndex) another account holds: its given index.
    mapping(address account => uint256 traderIndex) private _assignedIndexes;

    /// @dev `account`'s trader index, given now if it has none: its own index when no account holds
    /// that yet, else the next from FIRST_ASSIGNED_INDEX up.
    function _traderIndex(address account) internal returns (uint256 index) {
        index = _indexOf(account);
        if (index != 0) return index;
        index = _ownIndex(account);
        if (index == 0 || _traderAt(index) != address(0)) {
            index = _nextAssignedIndex();
            _assignedIndexes[account] = index;
        }
        _traderRecords[index] = TraderRecordLibrary.from(account, 0);
    }

    /// @dev `account`'s trader index; 0 = none yet. An account whose own index's slot is empty has
    /// none: an index is given in sequence only once that slot is held by another account.
    function _indexOf(address account) internal view returns (uint256 index) {
        index = _ownIndex(account);
        if (index != 0) {
            address holder = _traderAt(index);
            if (holder == account) return index;
            if (holder == address(0)) return 0;
        }
        return _assignedIndexes[account];
    }

    /// @dev The account of a trader index; 0 = none.
    function _traderAt(uint256 traderIndex) internal view returns (address) {
        return _traderRecords[traderIndex].account();
    }

    /// @dev Counts and returns the next index given in sequence (from FIRST_ASSIGNED_INDEX up).
    function _nextAssignedIndex() internal virtual returns (uint256);

    /// @dev The index an account holds unless another account took it first: the low 31 bits of
    /// its address (0 = none: such an account is given one in sequence).
    function _ownIndex(address account) private pure returns (uint256) {
        return uint160(account) % FIRST_ASSIGNED_INDEX;
    }
}
