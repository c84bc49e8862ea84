// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title RewardPool
/// @notice Budget accounting of one demand-response event or program, shared by DemandResponse
/// and DemandPrograms: the budget is paid in up front, every verified participant's reward is
/// reserved from it (capped by what is left, so budget = reserved + left and nothing is ever
/// promised twice), and rewards are paid by claim or in bounded batches that walk the list of
/// verified participants with a cursor. A batch pays everyone it visits or nothing (one vault
/// batch out of the budget the vault holds for the pool, which no recipient can refuse), so once
/// every participant has been visited all reserved rewards are paid and completion refunds exactly
/// budget − reserved.
library RewardPool {
    /// @notice Most participants one distribution call visits.
    uint256 internal constant MAX_DISTRIBUTION_BATCH = 50;

    /// @dev Amounts fit 128 bits: a budget is held in a vault balance, at most EnergyVault's
    /// MAX_RESERVE (2^112 − 1), and every other amount is part of it. Paired so that the slot a
    /// payout writes already holds the reservation (never a fresh slot at a pool's first claim), and
    /// the refund shares the budget's slot, which it reads anyway.
    struct Pool {
        uint128 budget; // paid in at creation
        uint128 refunded; // returned to the operator
        uint128 reserved; // granted to verified participants, paid or not
        uint128 paid; // paid into participants' vault balances
        uint256 cursor; // next `verified` position a distribution visits
        address[] verified; // in order of verification
    }

    /// @dev Reserves up to `wantedAmount` of what is left for `account` and lists it for distribution.
    function reserve(Pool storage pool, address account, uint256 wantedAmount) internal returns (uint256 granted) {
        uint256 left = pool.budget - pool.reserved;
        granted = wantedAmount < left ? wantedAmount : left;
        pool.reserved += uint128(granted); // at most what is left of the budget
        pool.verified.push(account);
    }

    /// @dev Moves the cursor past the next batch of verified participants, positions `start` to
    /// `end` (exclusive) of `verified`, which the caller pays (a claim may have paid some); whether
    /// none remain after them.
    function nextBatch(Pool storage pool) internal returns (uint256 start, uint256 end, bool allVisited) {
        start = pool.cursor;
        uint256 length = pool.verified.length;
        end = length - start > MAX_DISTRIBUTION_BATCH ? start + MAX_DISTRIBUTION_BATCH : length;
        pool.cursor = end;
        allVisited = end == length;
    }

    /// @dev Books the refund of everything not reserved (the whole budget when nobody was verified).
    function refundUnreserved(Pool storage pool) internal returns (uint256 refund) {
        refund = pool.budget - pool.reserved;
        pool.refunded = uint128(refund);
    }
}
