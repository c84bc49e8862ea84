// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IDemandResponse} from "./IDemandResponse.sol";
import {RewardPool} from "./RewardPool.sol";

/// @title RewardPayouts
/// @notice How a demand-response budget pays out, for DemandResponse's events and DemandPrograms'
/// programs alike: a verified participant claims its reserved reward, anyone pays the verified in
/// bounded batches, a batch skips (defers) a participant the token refuses so that it cannot hold up
/// the others, and once everyone has been visited after the verification deadline the event or
/// program completes and its operator gets back what no participant was granted; cancelling before
/// the window refunds the whole budget. Each event or program (`id`) has one RewardPool.
/// @dev The inheriting contract keeps its own participant records and declares its own errors and
/// events (same signatures for both contracts, different parameter names in their ABIs), so it
/// reaches them through the hooks at the end. It checks that a distribution's event or program is
/// active before calling in, and guards the calling functions against reentry.
abstract contract RewardPayouts {
    using SafeERC20 for IERC20;
    using RewardPool for RewardPool.Pool;

    /// @dev Why a payout reverts; the hook turns it into the inheriting contract's error.
    enum PayoutFailure {
        NotVerified, // ParticipationNotVerified(id, account)
        AlreadyClaimed, // RewardAlreadyClaimed(id, account)
        TransferRefused, // RewardDistributionFailed(id, account, value = amount)
        WindowNotEnded, // EventWindowNotEnded / ProgramWindowNotEnded(id, value = endTime)
        NothingToDistribute // NothingToDistribute(id)
    }

    /// @dev The token budgets are paid in and rewards paid out in.
    IERC20 internal immutable _paymentToken;
    mapping(uint256 id => RewardPool.Pool) internal _pools;
    /// @dev Payouts counted within one transaction (only differences are read).
    uint256 private transient _paidCount;

    constructor(IERC20 paymentToken_) {
        _paymentToken = paymentToken_;
    }

    /// @dev Pays the caller's verified, unpaid reward in `id`. Reverts with the not-found error for
    /// an unknown `id`, NotVerified, AlreadyClaimed, or TransferRefused when the token refuses (the
    /// reward then stays reserved and claimable).
    function _claimReward(uint256 id) internal returns (uint256 amount) {
        IDemandResponse.ParticipationStatus previous;
        (previous, amount) = _moveStatus(
            id, msg.sender, IDemandResponse.ParticipationStatus.Verified, IDemandResponse.ParticipationStatus.Rewarded
        );
        if (previous != IDemandResponse.ParticipationStatus.Verified) {
            // Only here does it matter whether `id` exists: an unknown one has no participants, and
            // its error names the id rather than the participant. A payable claim skips the read.
            _requireKnown(id);
            bool paid = previous == IDemandResponse.ParticipationStatus.Rewarded;
            _revertPayout(paid ? PayoutFailure.AlreadyClaimed : PayoutFailure.NotVerified, id, msg.sender, 0);
        }
        // The revert undoes the status change too.
        if (!_transferReward(id, msg.sender, amount)) {
            _revertPayout(PayoutFailure.TransferRefused, id, msg.sender, amount);
        }
    }

    /// @dev Once `id`'s window has ended (WindowNotEnded before `endTime`), pays the next batch of
    /// its verified participants; after `verificationDeadline`, once all have been visited,
    /// completes `id` and refunds the unreserved budget. Reverts NothingToDistribute when it can do
    /// neither.
    function _distributeRewards(uint256 id, uint256 endTime, uint256 verificationDeadline)
        internal
        returns (uint256 paidParticipants)
    {
        if (block.timestamp < endTime) _revertPayout(PayoutFailure.WindowNotEnded, id, address(0), endTime);
        RewardPool.Pool storage pool = _pools[id];
        uint256 paidBefore = _paidCount;
        (uint256 visited, bool allVisited) = pool.distribute(id, _payOrDefer);
        paidParticipants = _paidCount - paidBefore;
        if (allVisited && block.timestamp > verificationDeadline) {
            _closeAndRefund(id, IDemandResponse.EventStatus.Completed);
        } else if (visited == 0) {
            _revertPayout(PayoutFailure.NothingToDistribute, id, address(0), 0);
        }
    }

    /// @dev Completes or cancels `id` and sends its operator everything not reserved for participants.
    function _closeAndRefund(uint256 id, IDemandResponse.EventStatus status) internal {
        uint256 refund = _pools[id].refundUnreserved();
        address operator = _closeRecord(id, status, refund);
        _paymentToken.safeTransfer(operator, refund);
    }

    /// @dev A batch's payout: a recipient the token refuses is put back to Verified and left to
    /// claim, so that it cannot hold up the others, the completion and the operator's refund.
    // slither-disable-next-line dead-code: RewardPool.distribute calls it through a function pointer, which Slither does not follow
    function _payOrDefer(uint256 id, address account) private {
        (IDemandResponse.ParticipationStatus previous, uint256 amount) = _moveStatus(
            id, account, IDemandResponse.ParticipationStatus.Verified, IDemandResponse.ParticipationStatus.Rewarded
        );
        // Anything but Verified: paid by its claim already, or never verified.
        if (previous == IDemandResponse.ParticipationStatus.Verified && !_transferReward(id, account, amount)) {
            _moveStatus(
                id, account, IDemandResponse.ParticipationStatus.Rewarded, IDemandResponse.ParticipationStatus.Verified
            );
            _emitPayout(false, id, account, amount);
        }
    }

    /// @dev Books `amount` as paid and transfers it; when the token refuses (a frozen account, a
    /// failing token) it un-books it and returns false, never reverting for one recipient.
    function _transferReward(uint256 id, address account, uint256 amount) private returns (bool) {
        RewardPool.Pool storage pool = _pools[id];
        pool.paid += amount;
        if (amount != 0 && !_paymentToken.trySafeTransfer(account, amount)) {
            pool.paid -= amount;
            return false;
        }
        _paidCount += 1;
        _emitPayout(true, id, account, amount);
        return true;
    }

    // ----------------------------------------------------------------------------- hooks

    /// @dev Sets `account`'s participation in `id` to `to` if it is `from`, before any transfer;
    /// returns the status it had and, when it was `from`, its reserved reward.
    function _moveStatus(
        uint256 id,
        address account,
        IDemandResponse.ParticipationStatus from,
        IDemandResponse.ParticipationStatus to
    ) internal virtual returns (IDemandResponse.ParticipationStatus previous, uint256 rewardAmount);

    /// @dev Sets `id`'s status (Completed or Cancelled), emits the matching event with `refund`,
    /// and returns the operator the refund goes to.
    function _closeRecord(uint256 id, IDemandResponse.EventStatus status, uint256 refund)
        internal
        virtual
        returns (address operator);

    /// @dev Emits RewardPaid (`paid`) or RewardPaymentDeferred.
    function _emitPayout(bool paid, uint256 id, address account, uint256 amount) internal virtual;

    /// @dev Reverts with the inheriting contract's error for `failure`; `value` is the reward
    /// (TransferRefused) or the window's end (WindowNotEnded).
    function _revertPayout(PayoutFailure failure, uint256 id, address account, uint256 value) internal pure virtual;

    /// @dev Reverts with the inheriting contract's not-found error unless event or program `id` exists.
    function _requireKnown(uint256 id) internal view virtual;
}
