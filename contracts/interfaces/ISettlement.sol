// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BatchTooLarge, EmptyBatch, FeeTooHigh, InvalidFeeRecipient, NoFeesAccrued, NotFeeRecipient, ZeroAddress} from "./GridErrors.sol";

/// @title ISettlement
/// @notice The transaction ledger of the energy market: every match or taker fill records a
/// transaction whose value stays escrowed until it is settled (energy to the buyer, payment minus
/// the grid fee to the seller, the buyer's price improvement back to the buyer) or voided by the
/// grid operator inside the settlement window (energy back to the seller, everything the buyer
/// paid back to the buyer). `settleTransaction(uint256)` itself is declared in IEnergyTrading.
/// @dev Rounding, all in PaymentToken base units:
/// - a BUY order escrows ceil(amountWh * price / 1000);
/// - the payment of a fill is the increase of ceil(C / 1000), C = sum over the order's fills of
///   fillWh * tradePrice, so the payments of an order never exceed what it escrowed;
/// - the buyer's refund of a fill is the increase of floor(D / 1000), D = sum of fillWh * (price - tradePrice);
/// - the unit that ceil(amount * price / 1000) may exceed both goes back with the fill that fills the order;
/// - the fee is floor(payment * feeBps / 10_000): never above the stated rate, the seller keeps the dust.
interface ISettlement {
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
    event TransactionVoided(
        uint256 indexed transactionId,
        address indexed operator,
        address indexed buyer,
        address seller,
        uint256 amountWh,
        uint256 returnedPayment
    );
    /// @notice The fee recipient withdrew the accrued grid fees.
    event FeesWithdrawn(address indexed feeRecipient, uint256 amount);
    /// @notice The admin changed the grid fee; transactions recorded later use it.
    event GridFeeUpdated(uint256 previousBps, uint256 newBps);
    /// @notice The admin changed who may withdraw accrued fees.
    event FeeRecipientUpdated(address indexed previousRecipient, address indexed newRecipient);
    /// @notice The admin changed the settlement window; it applies to pending transactions too.
    event SettlementWindowUpdated(uint256 previousSeconds, uint256 newSeconds);

    /// @notice A token-moving function was entered again from inside a token transfer.
    error ReentrancyGuardReentrantCall();
    /// @notice No transaction has this id.
    error TransactionUnknown(uint256 transactionId);
    /// @notice The transaction was settled or voided already.
    error TransactionNotPending(uint256 transactionId, TransactionStatus status);
    /// @notice The settlement window is still open: settlement is possible from `settleableAt` on.
    error SettlementWindowOpen(uint256 transactionId, uint256 settleableAt);
    /// @notice The settlement window closed at `windowEnd`: the transaction can no longer be voided.
    error SettlementWindowClosed(uint256 transactionId, uint256 windowEnd);
    /// @notice A settlement window above MAX_SETTLEMENT_WINDOW.
    error SettlementWindowTooLong(uint256 windowSeconds, uint256 maxSeconds);

    /// @notice Settles up to MAX_SETTLEMENT_BATCH transactions; the whole batch reverts on a bad id.
    function settleTransactions(uint256[] calldata transactionIds) external;

    /// @notice Voids a pending transaction inside its settlement window. OPERATOR_ROLE only.
    function voidTransaction(uint256 transactionId) external;

    /// @notice Sends the accrued grid fees to the fee recipient (pull). Fee recipient only.
    function withdrawFees() external returns (uint256 amount);

    /// @notice Sets the grid fee for transactions recorded from now on. DEFAULT_ADMIN_ROLE only.
    function setGridFee(uint256 feeBps) external;

    /// @notice Sets who may withdraw accrued fees (including those accrued before). DEFAULT_ADMIN_ROLE only.
    function setFeeRecipient(address feeRecipient) external;

    /// @notice Sets the settlement window, applied to pending transactions too. DEFAULT_ADMIN_ROLE only.
    function setSettlementWindow(uint256 windowSeconds) external;

    /// @notice Stops trading and settlement (cancel, expiry release, void and fee withdrawal stay open). PAUSER_ROLE only.
    function pause() external;

    /// @notice Resumes trading and settlement. DEFAULT_ADMIN_ROLE only: a guardian can stop the market, not restart it.
    function unpause() external;

    /// @notice A recorded transaction with its parties and what settling it pays.
    function getTransaction(uint256 transactionId) external view returns (TransactionInfo memory);

    /// @notice Transactions recorded so far; transaction ids run from 1 to this.
    function transactionCount() external view returns (uint256);

    /// @notice The grid fee for transactions recorded from now on, basis points of the payment.
    function gridFeeBps() external view returns (uint256);

    /// @notice Who may withdraw the accrued fees.
    function feeRecipient() external view returns (address);

    /// @notice Seconds after a match during which the operator may void it and nobody may settle it.
    function settlementWindow() external view returns (uint256 windowSeconds);

    /// @notice Grid fees of settled transactions not yet withdrawn, PaymentToken base units.
    function accruedFees() external view returns (uint256);

    /// @notice The EnergyToken (Wh) that SELL orders escrow.
    function energyToken() external view returns (address);

    /// @notice The PaymentToken that BUY orders escrow and sellers are paid in.
    function paymentToken() external view returns (address);
}
