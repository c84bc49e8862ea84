// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BatchTooLarge, EmptyBatch, FeeTooHigh, InvalidFeeRecipient, NoFeesAccrued, NotFeeRecipient, ZeroAddress} from "../utils/GridErrors.sol";
import {IGridFees} from "./IGridFees.sol";
import {IReentrancyLock} from "../utils/ReentrancyLock.sol";

/// @title ISettlement
/// @notice The transaction ledger of the energy market: every match or taker fill records a
/// transaction whose value stays escrowed until it is settled (energy to the buyer, payment minus
/// the grid fee to the seller, the buyer's price improvement back to the buyer) or voided by the
/// grid operator inside the settlement window (energy back to the seller, everything the buyer
/// paid back to the buyer). `settleTransaction(uint256)` itself is declared in IEnergyTrading.
/// Escrow and payouts are EnergyVault balances (`vault()`): an order locks its value from its
/// trader's vault balance into the market's, and every payout credits a vault balance, which no
/// token can refuse, so nobody's account frozen by a token's issuer locks another party's value.
/// @dev Rounding, all in PaymentToken base units:
/// - a BUY order escrows ceil(amountWh * price / 1000);
/// - the payment of a fill is the increase of ceil(C / 1000), C = sum over the order's fills of
///   fillWh * tradePrice, so the payments of an order never exceed what it escrowed;
/// - the buyer's refund of a fill is the increase of floor(D / 1000), D = sum of fillWh * (price - tradePrice);
/// - the unit that ceil(amount * price / 1000) may exceed both goes back with the fill that fills the order;
/// - the fee is floor(payment * feeBps / 10_000): never above the stated rate, the seller keeps the dust.
interface ISettlement is IReentrancyLock, IGridFees {
    // A transaction is PENDING from its match until it is SETTLED or VOIDED, both final.
    enum TransactionStatus {
        PENDING,
        SETTLED,
        VOIDED
    }

    /// @notice A recorded trade and what settling it pays.
    struct TransactionInfo {
        address buyer;
        address seller;
        uint256 buyOrderId; // 0 = the buyer took a SELL order with fillOrder
        uint256 sellOrderId; // 0 = the seller took a BUY order with fillOrder
        uint256 amountWh; // energy delivered to the buyer
        uint256 pricePerKWh; // trade price, PaymentToken base units per kWh
        uint256 payment; // what the buyer pays for the energy, fee included
        uint256 fee; // the grid fee, out of `payment`
        uint256 buyerRefund; // price improvement (plus escrow rounding dust) back to the buyer
        TransactionStatus status;
        uint256 matchedAt; // unix s
        uint256 feeBps; // the grid fee rate when it was recorded
    }

    /// @notice A pending transaction paid out: energy to the buyer, `payment - fee` to the seller,
    /// `fee` to the accrued grid fees, `buyerRefund` back to the buyer.
    /// @param transactionId The transaction settled.
    /// @param buyer Who receives the energy and the refund.
    /// @param seller Who receives the payment less the fee.
    /// @param amountWh The energy delivered, Wh.
    /// @param payment What the buyer pays for the energy, fee included, PaymentToken base units.
    /// @param fee The grid fee out of `payment`, PaymentToken base units.
    /// @param buyerRefund The buyer's price improvement plus escrow dust, PaymentToken base units.
    event TransactionSettled(
        uint256 indexed transactionId,
        address indexed buyer,
        address indexed seller,
        uint256 amountWh,
        uint256 payment,
        uint256 fee,
        uint256 buyerRefund
    );
    /// @notice The operator voided a pending transaction: `amountWh` back to the seller,
    /// `returnedPayment` (payment plus refund) back to the buyer.
    /// @param transactionId The transaction voided.
    /// @param operator The OPERATOR_ROLE account that voided it.
    /// @param buyer Who gets the payment back.
    /// @param seller Who gets the energy back.
    /// @param amountWh The energy returned, Wh.
    /// @param returnedPayment Everything the buyer paid for the transaction, PaymentToken base units.
    event TransactionVoided(
        uint256 indexed transactionId,
        address indexed operator,
        address indexed buyer,
        address seller,
        uint256 amountWh,
        uint256 returnedPayment
    );
    /// @notice settleTransactions passed over a transaction that was no longer pending (another
    /// caller settled it first, the operator voided it, or it came twice in the batch).
    /// @param transactionId The transaction passed over.
    /// @param status Its status: SETTLED or VOIDED.
    event TransactionSkipped(uint256 indexed transactionId, TransactionStatus status);
    /// @notice The admin changed the settlement window; it applies to pending transactions too.
    /// @param previousSeconds The window before, seconds.
    /// @param newSeconds The window from now on, seconds.
    event SettlementWindowUpdated(uint256 previousSeconds, uint256 newSeconds);

    /// @notice No transaction has this id.
    /// @param transactionId The id asked for.
    error TransactionUnknown(uint256 transactionId);
    /// @notice The transaction was settled or voided already.
    /// @param transactionId The transaction.
    /// @param status Its status: SETTLED or VOIDED.
    error TransactionNotPending(uint256 transactionId, TransactionStatus status);
    /// @notice The settlement window is still open: settlement is possible from `settleableAt` on.
    /// @param transactionId The transaction.
    /// @param settleableAt Its match time plus the settlement window, unix s.
    error SettlementWindowOpen(uint256 transactionId, uint256 settleableAt);
    /// @notice The settlement window closed at `windowEnd`: the transaction can no longer be voided.
    /// @param transactionId The transaction.
    /// @param windowEnd Its match time plus the settlement window, unix s.
    error SettlementWindowClosed(uint256 transactionId, uint256 windowEnd);
    /// @notice A settlement window above MAX_SETTLEMENT_WINDOW.
    /// @param windowSeconds The window asked for, seconds.
    /// @param maxSeconds MAX_SETTLEMENT_WINDOW, seconds.
    error SettlementWindowTooLong(uint256 windowSeconds, uint256 maxSeconds);

    /// @notice Settles up to MAX_SETTLEMENT_BATCH transactions (anyone may call). A transaction
    /// that is no longer pending is passed over with TransactionSkipped: keepers race each other
    /// and the operator, and one lost race must not undo the rest of the batch. An unknown id or
    /// one still inside its window reverts the whole batch with the errors of settleTransaction:
    /// the keeper can see both before sending (getTransaction: matchedAt + settlementWindow), so
    /// either is a bug in the keeper that a skip would hide.
    /// @param transactionIds The transactions to settle, in order; duplicates settle once.
    function settleTransactions(uint256[] calldata transactionIds) external;

    /// @notice Voids a pending transaction inside its settlement window: energy back to the
    /// seller, everything the buyer paid back to the buyer. OPERATOR_ROLE only.
    /// @param transactionId The transaction to void.
    function voidTransaction(uint256 transactionId) external;

    /// @notice Sets the settlement window, applied to pending transactions too. DEFAULT_ADMIN_ROLE only.
    /// @param windowSeconds The window, seconds, at most MAX_SETTLEMENT_WINDOW; 0 = final at once.
    function setSettlementWindow(uint256 windowSeconds) external;

    /// @notice Stops new orders and trading (createOrder, createDirectedOrder, createOrderBySig,
    /// matchOrders, fillOrder). Every exit stays open: cancel, expiry release, settlement, void,
    /// the fee withdrawal and nonce invalidation, so a pause never holds anyone's value.
    /// PAUSER_ROLE only.
    function pause() external;

    /// @notice Resumes trading. DEFAULT_ADMIN_ROLE only: a guardian can stop the market, not restart it.
    function unpause() external;

    /// @notice A recorded transaction with its parties and what settling it pays. A settled
    /// transaction stays readable until a later transaction reuses its record's slot; from then on
    /// only its status (SETTLED) is returned, every other field 0: its TransactionSettled event
    /// keeps the rest.
    /// @param transactionId The transaction.
    function getTransaction(uint256 transactionId) external view returns (TransactionInfo memory);

    /// @notice Transactions recorded so far. A transaction's id is `generation << 32 | slot`: its
    /// record's slot (1 .. this) and how many transactions that slot held before it (a settled
    /// transaction's slot is reused), so the ids of a new market run 1, 2, 3, ... until the first
    /// reuse and always stay below 2^53.
    function transactionCount() external view returns (uint256);

    /// @notice Seconds after a match during which the operator may void it and nobody may settle it.
    function settlementWindow() external view returns (uint256 windowSeconds);

    /// @notice The EnergyVault that holds the market's escrow and every trader's balances.
    function vault() external view returns (address);

    /// @notice The EnergyToken (Wh) that SELL orders escrow, in the vault.
    function energyToken() external view returns (address);

    /// @notice The PaymentToken that BUY orders escrow and sellers are paid in, in the vault.
    function paymentToken() external view returns (address);
}
