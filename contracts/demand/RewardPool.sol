// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title RewardPool
/// @notice Budget accounting of one demand-response event or program, shared by DemandResponse
/// and DemandPrograms: the budget is paid in up front, every verified participant's reward is
/// reserved from it (capped by what is left, so budget = reserved + left and nothing is ever
/// promised twice), and rewards are paid by claim or in bounded batches that walk the list of
/// verified participants with a cursor. A payout the token refuses in a batch is skipped, its
/// reward still reserved: completion refunds only budget − reserved, so the contract keeps exactly
/// what deferred participants can still claim.
library RewardPool {
    /// @notice Most participants one distribution call visits.
    uint256 internal constant MAX_DISTRIBUTION_BATCH = 50;

    struct Pool {
        uint256 budget; // paid in at creation
        uint256 reserved; // granted to verified participants, paid or not
        uint256 paid; // transferred to participants
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

    /// @dev Visits the next batch of verified participants; `payOne(id, account)` pays one that is
    /// still unpaid (a claim may have paid it) or defers it when the token refuses, never reverting
    /// for one recipient. Returns how many it visited and whether none remain.
    function distribute(Pool storage pool, uint256 id, function(uint256, address) internal payOne)
        internal
        returns (uint256 visited, bool allVisited)
    {
        uint256 cursor = pool.cursor;
        uint256 length = pool.verified.length;
        uint256 end = length - cursor > MAX_DISTRIBUTION_BATCH ? cursor + MAX_DISTRIBUTION_BATCH : length;
        pool.cursor = end;
        for (uint256 i = cursor; i < end; ++i) {
            payOne(id, pool.verified[i]);
        }
        return (end - cursor, end == length);
    }

    /// @dev Books the refund of everything not reserved (the whole budget when nobody was verified).
    function refundUnreserved(Pool storage pool) internal returns (uint256 refund) {
        refund = pool.budget - pool.reserved;
        pool.refunded = refund;
    }
}
