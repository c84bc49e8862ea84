// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IDemandResponse} from "./IDemandResponse.sol";
import {RewardPool} from "./RewardPool.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {MemoryArrays} from "../utils/MemoryArrays.sol";
import {RevertData} from "../utils/RevertData.sol";
import {NotInitialized, RewardDistributionFailed} from "../utils/GridErrors.sol";

/// @title RewardPayouts
/// @notice This contract decides how a demand-response budget pays out, for DemandResponse's events and
/// DemandPrograms' programs alike. A verified participant claims its reserved reward, and anyone may pay
/// the verified participants in bounded batches. Once every participant has been visited after the
/// verification deadline, the event or program completes and its operator gets back what no
/// participant was granted. Cancelling before the window refunds the whole budget. Each event or
/// program (`id`) has one RewardPool.
///
/// The contract is a registered EnergyVault market and holds every budget in its own vault balance.
/// Funding sends the budget from the operator's wallet to the vault and credits it to this contract
/// there (`IEnergyVault.creditArrived`). This is the only token transfer in a budget's life, and the
/// only place where a reward can meet a failed token transfer (RewardDistributionFailed). A claim then
/// pays with one `IEnergyVault.give`, and a batch with one `settleBatch`. Both move numbers from this
/// contract's vault balance to the participants' balances and move no token, so no recipient (such as
/// a frozen account) and no token state (such as a frozen vault) can hold up a payout. A pool never pays
/// more than its budget, which its vault balance holds until it is paid or refunded. The operator's
/// refund is a `give` as well, to the operator's vault balance, from which the operator withdraws. The
/// vault's admin registers the contract as a market at deployment. Until then funding works, but every
/// payout reverts in the vault with NotMarket, and the budgets wait in the contract's vault balance.
/// @dev The inheriting contract keeps its own participant records and declares its own errors and
/// events. These have the same signatures in both contracts but different parameter names in their
/// ABIs, which is why this contract reaches them through the hooks at the end. The inheriting contract
/// checks that a distribution's event or program is active before it calls in, and it guards the
/// calling functions against reentry.
abstract contract RewardPayouts {
    using RewardPool for RewardPool.Pool;

    /// @dev Why a payout reverts; the hook turns it into the inheriting contract's error.
    enum PayoutFailure {
        NotVerified, // ParticipationNotVerified(id, account)
        AlreadyClaimed, // RewardAlreadyClaimed(id, account)
        WindowNotEnded, // EventWindowNotEnded / ProgramWindowNotEnded(id, value = endTime)
        NothingToDistribute // NothingToDistribute(id)
    }

    /// @dev The vault that holds the budgets and the participants' rewards.
    IEnergyVault internal immutable _vault;
    /// @dev The vault's payment token: budgets are paid in and rewards paid out in it.
    IERC20 internal immutable _paymentToken;
    mapping(uint256 id => RewardPool.Pool) internal _pools;

    constructor(IEnergyVault vault_) {
        if (address(vault_) == address(0)) revert NotInitialized("vault");
        _vault = vault_;
        _paymentToken = IERC20(vault_.paymentToken());
    }

    /// @dev Books `budget` as `id`'s and moves it from the caller's wallet (the operator, which
    /// approved this contract) to this contract's vault balance.
    function _fund(uint256 id, uint256 budget) internal {
        // A budget past 128 bits is past the vault's MAX_RESERVE too: creditArrived reverts, and
        // with it this write.
        _pools[id].budget = uint128(budget);
        IERC20 token = _paymentToken;
        _pullBudget(token, budget);
        address[] memory accounts = new address[](1);
        uint256[] memory amounts = new uint256[](1);
        (accounts[0], amounts[0]) = (address(this), budget);
        _vault.creditArrived(address(token), accounts, amounts);
    }

    /// @dev Moves `budget` of `token` from the caller's wallet to the vault. The token's own error
    /// (an allowance or a balance too small) comes through as it is, so that the operator learns
    /// what to fix; a refusal without one, false returned or a revert with no data, reverts
    /// RewardDistributionFailed. A token that returns nothing succeeds by not reverting, as
    /// SafeERC20 has it; whether the budget really arrived, creditArrived checks.
    function _pullBudget(IERC20 token, uint256 budget) private {
        // slither-disable-next-line low-level-calls: the token's answer is read here to tell its own errors from a silent refusal
        (bool success, bytes memory returned) =
            address(token).call(abi.encodeCall(IERC20.transferFrom, (msg.sender, address(_vault), budget)));
        if (!success && returned.length != 0) RevertData.bubble(returned);
        bool accepted = success
            && (returned.length == 0
                    ? address(token).code.length != 0
                    : returned.length >= 32 && abi.decode(returned, (uint256)) == 1);
        if (!accepted) revert RewardDistributionFailed(address(token), msg.sender, budget);
    }

    /// @dev Pays the caller's verified, unpaid reward in `id` into its vault balance. Reverts with
    /// the not-found error for an unknown `id`, NotVerified or AlreadyClaimed.
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
        _emitPaid(id, msg.sender, amount);
        if (amount != 0) {
            _pools[id].paid += uint128(amount); // part of the budget
            _vault.give(msg.sender, 0, amount);
        }
    }

    /// @dev Once `id`'s window has ended (WindowNotEnded before `endTime`), pays the next batch of
    /// its verified participants in the vault; after `verificationDeadline`, once all have been
    /// visited, completes `id` and refunds the unreserved budget. Reverts NothingToDistribute when
    /// it can do neither.
    function _distributeRewards(uint256 id, uint256 endTime, uint256 verificationDeadline)
        internal
        returns (uint256 paidParticipants)
    {
        if (block.timestamp < endTime) _revertPayout(PayoutFailure.WindowNotEnded, id, address(0), endTime);
        RewardPool.Pool storage pool = _pools[id];
        (uint256 start, uint256 end, bool allVisited) = pool.nextBatch();
        (address[] memory accounts, int256[] memory amounts, uint256 total, uint256 paid) = _payBatch(id, pool, start, end);
        paidParticipants = paid;
        if (total != 0) {
            pool.paid += uint128(total); // part of the budget
            // No energy moves: the energy deltas are the zeros of a fresh array.
            _vault.settleBatch(accounts, new int256[](accounts.length), amounts);
        }
        if (allVisited && block.timestamp > verificationDeadline) {
            _closeAndRefund(id, IDemandResponse.EventStatus.Completed);
        } else if (end == start) {
            _revertPayout(PayoutFailure.NothingToDistribute, id, address(0), 0);
        }
    }

    /// @dev Marks the unpaid among positions `start`..`end` of `id`'s list Rewarded and emits their
    /// payouts; returns the payments they need (rewards capped to 0 are paid without one), their
    /// total, and how many participants were paid.
    function _payBatch(uint256 id, RewardPool.Pool storage pool, uint256 start, uint256 end)
        private
        returns (address[] memory accounts, int256[] memory amounts, uint256 total, uint256 paidParticipants)
    {
        accounts = new address[](end - start);
        amounts = new int256[](end - start);
        uint256 payments = 0;
        for (uint256 i = start; i < end; ++i) {
            address account = pool.verified[i];
            (IDemandResponse.ParticipationStatus previous, uint256 amount) = _moveStatus(
                id, account, IDemandResponse.ParticipationStatus.Verified, IDemandResponse.ParticipationStatus.Rewarded
            );
            // Anything but Verified was paid by its own claim already.
            if (previous != IDemandResponse.ParticipationStatus.Verified) continue;
            ++paidParticipants;
            _emitPaid(id, account, amount);
            if (amount == 0) continue;
            // A reward is at most its pool's budget, uint64 × uint128: it fits int256.
            (accounts[payments], amounts[payments]) = (account, int256(amount));
            ++payments;
            total += amount;
        }
        MemoryArrays.shorten(accounts, payments);
        MemoryArrays.shorten(amounts, payments);
    }

    /// @dev Completes or cancels `id` and pays its operator's vault balance everything not reserved
    /// for participants.
    function _closeAndRefund(uint256 id, IDemandResponse.EventStatus status) internal {
        uint256 refund = _pools[id].refundUnreserved();
        address operator = _closeRecord(id, status, refund);
        if (refund != 0) _vault.give(operator, 0, refund);
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

    /// @dev Emits RewardPaid.
    function _emitPaid(uint256 id, address account, uint256 amount) internal virtual;

    /// @dev Reverts with the inheriting contract's error for `failure`; `value` is the window's end
    /// (WindowNotEnded).
    function _revertPayout(PayoutFailure failure, uint256 id, address account, uint256 value) internal pure virtual;

    /// @dev Reverts with the inheriting contract's not-found error unless event or program `id` exists.
    function _requireKnown(uint256 id) internal view virtual;
}
