// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TraderRecord, TraderRecordLibrary} from "../../types/TraderRecord.sol";

/// @title TraderIndexes
/// @notice This contract numbers the order book's traders with 32-bit indexes. An order names its
/// trader, and a directed order its counterparty, by index, so that the whole order fits in one
/// storage slot.
/// @dev A trader is given its index at its first order, or when a directed order or a signed message
/// first names it. The index is the low 31 bits of the trader's address. That index's slot
/// (TraderRecord, holding the address and the nonce of the trader's next signed message) therefore
/// also serves to find the index from the address, so a first order writes one slot for its trader
/// instead of two. An account whose own index another account took first gets the next index from
/// 2^31 up instead, kept in one more slot; that happens by chance once in 2^31 per pair of accounts,
/// or when someone grinds an address to take it. The counter of those indexes lives in the market's
/// global slot and is reached through `_nextAssignedIndex`.
abstract contract TraderIndexes {
    /// @dev The first trader index given out in sequence, to an account whose own index is taken. Own
    /// indexes, being the low 31 bits of an address, are all below it.
    uint256 internal constant FIRST_ASSIGNED_INDEX = 1 << 31;

    // One slot per trader, keyed by trader index. Each of the trader's orders reads it, and the first
    // order and each signed message write it.
    mapping(uint256 traderIndex => TraderRecord) internal _traderRecords;
    // The index given in sequence to an account whose own index (_ownIndex) another account holds.
    mapping(address account => uint256 traderIndex) private _assignedIndexes;

    /// @dev Returns `account`'s trader index, giving it one now if it has none. The account gets its own
    /// index when no other account holds it yet, and otherwise the next one from FIRST_ASSIGNED_INDEX up.
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

    /// @dev Returns `account`'s trader index, or zero if it has none yet. An account whose own index's
    /// slot is empty has no index, because an index is given in sequence only once another account
    /// holds that slot.
    function _indexOf(address account) internal view returns (uint256 index) {
        index = _ownIndex(account);
        if (index != 0) {
            address holder = _traderAt(index);
            if (holder == account) return index;
            if (holder == address(0)) return 0;
        }
        return _assignedIndexes[account];
    }

    /// @dev Returns the account of a trader index, or the zero address if the index is not given.
    function _traderAt(uint256 traderIndex) internal view returns (address) {
        return _traderRecords[traderIndex].account();
    }

    /// @dev Counts and returns the next index given out in sequence, starting from FIRST_ASSIGNED_INDEX.
    function _nextAssignedIndex() internal virtual returns (uint256);

    /// @dev Returns the index an account holds unless another account took it first, which is the low
    /// 31 bits of its address. Zero means the account has no own index and is given one in sequence.
    function _ownIndex(address account) private pure returns (uint256) {
        return uint160(account) % FIRST_ASSIGNED_INDEX;
    }
}
