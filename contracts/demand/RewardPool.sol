// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title RewardPool
/// @notice Budget accounting of one demand-response event or program, shared by DemandResponse
/// and DemandPrograms: the budget is paid in up front, every verified participant's reward is
/// reserved from it (capped by what is left, so budget = reserved + left and nothing is ever
/// promised twice), and rewards are paid by claim or in bounded batches that walk the list of
/// verified participants with a cursor. A batch pays everyone it visits or nothing (the vault
/// credit of its total cannot be refused by one recipient), so once every participant has been
/// visited all reserved rewards are paid and completion refunds exactly budget − reserved.
library RewardPool {
    /// @notice Most participants one distribution call visits.
    uint256 internal constant MAX_DISTRIBUTION_BATCH = 50;

    struct Pool {
        uint256 budget; // paid in at creation
        uint256 reserved; // granted to verified participants, paid or not
        uint256 paid; // credited to participants in the vault
        uint256 refunded; // returned to the operator
        uint256 cursor; // next `verified` position a distribution visits
        address[] verified; // in order of verification
    }

    /// @dev Reserves up to `wantedAmount` of what is left for `account` and lists it for distribution.
    function reserve(Pool storage pool, address account, uint256 wantedAmount) internal returns (uint256 granted) {
        uint256 left = pool.budget - pool.reserved;
        granted = wantedAmount < left ? wantedAmount : left;
        pool.reserved += granted;
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
        pool.refunded = refund;
    }
}
