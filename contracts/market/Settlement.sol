// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEnergyTrading} from "./IEnergyTrading.sol";
import {ISettlement} from "./ISettlement.sol";
import {OrderMath} from "../utils/OrderMath.sol";
import {BatchTooLarge, EmptyBatch, ZeroAddress} from "../utils/GridErrors.sol";
import {GridFees} from "./GridFees.sol";

/// @title Settlement
/// @notice The transaction ledger behind EnergyTrading: a match or taker fill records a
/// transaction, and the escrow it moved stays in this contract until the transaction is settled
/// (energy to the buyer, payment minus the grid fee to the seller, price improvement back to the
/// buyer) or voided by the grid operator inside the settlement window (everything back).
/// Grid fees accrue here and the fee recipient withdraws them (pull: one storage update per
/// settlement instead of a third token transfer). A payout the token refuses (an account its
/// issuer froze) is credited to its owner to withdraw later, so one party's frozen account never
/// locks the other party's value.
/// @dev Abstract: EnergyTrading inherits it, so all escrow sits in one contract and matching only
/// books. A transaction record is one storage slot; buyer, seller and prices are read from the
/// orders it references through `_tradeTerms`. What the contract holds of each token is, to the
/// unit: the escrow left in open orders, what pending transactions will pay out, the accrued fees
/// (PaymentToken) and what it owes (`owed`).
abstract contract Settlement is GridFees, Pausable, ISettlement, IEnergyTrading {
    using SafeERC20 for IERC20;

    /// @notice Voids transactions inside the settlement window (the grid operator).
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Pauses trading (emergency shutdown: the guardian, GridManagement); only the admin resumes.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Longest settlement window.
    uint256 public constant MAX_SETTLEMENT_WINDOW = 7 days;
    /// @notice Most transactions in one settleTransactions call.
    uint256 public constant MAX_SETTLEMENT_BATCH = 50;

    /// @dev One slot per transaction.
    struct TransactionRecord {
        uint40 buyOrderId; // 0 = a taker bought with fillOrder (buyer in the taker record)
        uint40 sellOrderId; // 0 = a taker sold with fillOrder
        uint48 amountWh;
        uint40 matchedAt; // unix s; 0 = no such transaction
        uint16 feeBps; // grid fee when recorded
        uint16 paymentCarry; // the BUY order's C mod 1000 before this fill (see OrderMath)
        uint16 refundCarry; // the BUY order's D mod 1000 before this fill
        bool releasesDust; // this fill filled the BUY order and returns its last escrow unit
        TransactionStatus status;
    }

    /// @dev Who trades at which prices, read from the orders a transaction references.
    struct TradeTerms {
        address buyer;
        address seller;
        uint256 pricePerKWh; // trade price
        uint256 buyPricePerKWh; // the BUY order's limit (= trade price for a taker's BUY)
    }

    IERC20 private immutable _energyToken;
    // These share a slot with Pausable's flag: matching reads it once, settlement reads it once and writes it once.
    uint40 private _transactionCount;
    uint16 private _gridFeeBps;
    uint24 private _settlementWindowSeconds;
    // 160 bits, what the slot has room for. One fee is below 2^107 (2^48 Wh at the 2^72 price cap,
    // 10 %), so the SafeCast in _settle could only revert after more than 2^53 of the largest
    // settlements without a withdrawal: trillions of full blocks. uint256 would cost every
    // settlement a second slot (and 20,000 gas for the first fee after each withdrawal).
    uint160 private _accruedFees;
    mapping(uint256 transactionId => TransactionRecord) private _transactions;
    mapping(address token => mapping(address account => uint256)) private _owed;
    constructor(address admin, IERC20 energyToken_, IERC20 paymentToken_, address feeRecipient_, uint256 gridFeeBps_)
        GridFees(paymentToken_, feeRecipient_, gridFeeBps_)
    {
        if (admin == address(0) || address(energyToken_) == address(0) || address(paymentToken_) == address(0)) {
            revert ZeroAddress();
        }
        _energyToken = energyToken_;
        _gridFeeBps = uint16(gridFeeBps_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    // ----------------------------------------------------------------------------- settlement

    /// @inheritdoc IEnergyTrading
    // Open during a pause, like every exit: a trade past its window is final, and a pause that
    // governance takes days to lift must not hold its value.
    function settleTransaction(uint256 transactionId) external nonReentrantCompact {
        _settle(transactionId, _settlementWindowSeconds, false);
    }

    /// @inheritdoc ISettlement
    function settleTransactions(uint256[] calldata transactionIds) external nonReentrantCompact {
        uint256 size = transactionIds.length;
        if (size == 0) revert EmptyBatch();
        if (size > MAX_SETTLEMENT_BATCH) revert BatchTooLarge(size, MAX_SETTLEMENT_BATCH);
        uint256 windowSeconds = _settlementWindowSeconds;
        for (uint256 i; i < size; ++i) {
            _settle(transactionIds[i], windowSeconds, true);
        }
    }

    /// @inheritdoc ISettlement
    function voidTransaction(uint256 transactionId) external onlyRole(OPERATOR_ROLE) nonReentrantCompact {
        TransactionRecord memory t = _knownTransaction(transactionId);
        _checkPending(transactionId, t.status);
        uint256 windowEnd = uint256(t.matchedAt) + _settlementWindowSeconds;
        if (block.timestamp >= windowEnd) revert SettlementWindowClosed(transactionId, windowEnd);
        _transactions[transactionId].status = TransactionStatus.VOIDED;
        TransactionInfo memory p = _payout(transactionId, t);
        uint256 returnedPayment = p.payment + p.buyerRefund;
        emit TransactionVoided(transactionId, msg.sender, p.buyer, p.seller, t.amountWh, returnedPayment);
        _push(_energyToken, p.seller, t.amountWh);
        _push(_paymentToken, p.buyer, returnedPayment);
    }

    /// @inheritdoc ISettlement
    function withdrawOwed(address token) external nonReentrantCompact returns (uint256 amount) {
        amount = _owed[token][msg.sender];
        if (amount == 0) revert NothingOwed(token, msg.sender);
        delete _owed[token][msg.sender];
        emit OwedWithdrawn(token, msg.sender, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    // ----------------------------------------------------------------------------- admin

    /// @inheritdoc ISettlement
    function setSettlementWindow(uint256 windowSeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (windowSeconds > MAX_SETTLEMENT_WINDOW) revert SettlementWindowTooLong(windowSeconds, MAX_SETTLEMENT_WINDOW);
        uint256 previousSeconds = _settlementWindowSeconds;
        _settlementWindowSeconds = uint24(windowSeconds);
        emit SettlementWindowUpdated(previousSeconds, windowSeconds);
    }

    /// @inheritdoc ISettlement
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc ISettlement
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc ISettlement
    function getTransaction(uint256 transactionId) external view returns (TransactionInfo memory info) {
        TransactionRecord memory t = _knownTransaction(transactionId);
        info = _payout(transactionId, t);
        info.buyOrderId = t.buyOrderId;
        info.sellOrderId = t.sellOrderId;
        info.amountWh = t.amountWh;
        info.status = t.status;
        info.matchedAt = t.matchedAt;
        info.feeBps = t.feeBps;
    }

    /// @inheritdoc ISettlement
    function transactionCount() external view returns (uint256) {
        return _transactionCount;
    }

    /// @inheritdoc ISettlement
    function settlementWindow() external view returns (uint256 windowSeconds) {
        return _settlementWindowSeconds;
    }

    /// @inheritdoc ISettlement
    function owed(address token, address account) external view returns (uint256 amount) {
        return _owed[token][account];
    }

    /// @inheritdoc ISettlement
    function energyToken() external view returns (address) {
        return address(_energyToken);
    }

    /// @inheritdoc ISettlement
    function paymentToken() external view returns (address) {
        return address(_paymentToken);
    }

    // ----------------------------------------------------------------------------- internals

    function _gridFee() internal view override returns (uint256) {
        return _gridFeeBps;
    }

    function _storeGridFee(uint256, uint256 newBps) internal override {
        _gridFeeBps = uint16(newBps);
    }

    function _feesAccrued() internal view override returns (uint256) {
        return _accruedFees;
    }

    function _clearFeesAccrued() internal override {
        _accruedFees = 0;
    }

    /// @dev Records a trade for settlement and returns its id; the caller has moved the escrow in its books.
    function _recordTransaction(
        uint256 buyOrderId,
        uint256 sellOrderId,
        uint256 amountWh,
        uint256 paymentCarry,
        uint256 refundCarry,
        bool releasesDust
    ) internal returns (uint256 transactionId) {
        transactionId = ++_transactionCount;
        _transactions[transactionId] = TransactionRecord({
            buyOrderId: uint40(buyOrderId),
            sellOrderId: uint40(sellOrderId),
            amountWh: uint48(amountWh),
            matchedAt: uint40(block.timestamp),
            feeBps: _gridFeeBps,
            paymentCarry: uint16(paymentCarry),
            refundCarry: uint16(refundCarry),
            releasesDust: releasesDust,
            status: TransactionStatus.PENDING
        });
    }

    /// @dev Buyer, seller and prices of a recorded trade, from the orders (or taker) it references.
    function _tradeTerms(uint256 transactionId, TransactionRecord memory t)
        internal
        view
        virtual
        returns (TradeTerms memory);

    function _energy() internal view returns (IERC20) {
        return _energyToken;
    }

    function _payment() internal view returns (IERC20) {
        return _paymentToken;
    }

    /// @dev Pays `amount` of `token` to `account`, or, when the token refuses (an account its issuer
    /// froze, a token that returns false), credits it to `account` for withdrawOwed, so that a
    /// payout one party cannot receive never blocks the others. Nobody can force the credit by
    /// sending too little gas: a transfer that runs out of gas leaves 1/64 of what it was given,
    /// which pays for the credit (a fresh slot: 22,100 gas) only if it was given over 1.3 million.
    function _push(IERC20 token, address account, uint256 amount) internal {
        // slither-disable-next-line incorrect-equality: a zero payout has nothing to push; amount is computed, not a balance read
        if (amount == 0 || token.trySafeTransfer(account, amount)) return;
        _owed[address(token)][account] += amount;
        emit PayoutDeferred(address(token), account, amount);
    }

    /// @dev `skipClosed` (batches): a transaction someone else settled or voided first is reported
    /// and passed over instead of reverting the batch (ISettlement.settleTransactions says why).
    function _settle(uint256 transactionId, uint256 windowSeconds, bool skipClosed) private {
        TransactionRecord memory t = _knownTransaction(transactionId);
        if (skipClosed && t.status != TransactionStatus.PENDING) {
            emit TransactionSkipped(transactionId, t.status);
            return;
        }
        _checkPending(transactionId, t.status);
        uint256 settleableAt = uint256(t.matchedAt) + windowSeconds;
        if (block.timestamp < settleableAt) revert SettlementWindowOpen(transactionId, settleableAt);
        _transactions[transactionId].status = TransactionStatus.SETTLED;
        TransactionInfo memory p = _payout(transactionId, t);
        // slither-disable-next-line costly-loop: one warm write per transaction of a batch bounded by MAX_SETTLEMENT_BATCH
        if (p.fee != 0) _accruedFees = SafeCast.toUint160(_accruedFees + p.fee);
        emit TransactionSettled(transactionId, p.buyer, p.seller, t.amountWh, p.payment, p.fee, p.buyerRefund);
        _push(_energyToken, p.buyer, t.amountWh);
        _push(_paymentToken, p.seller, p.payment - p.fee);
        _push(_paymentToken, p.buyer, p.buyerRefund);
    }

    function _knownTransaction(uint256 transactionId) private view returns (TransactionRecord memory t) {
        t = _transactions[transactionId];
        // slither-disable-next-line incorrect-equality: a zero match time marks a transaction id never recorded
        if (t.matchedAt == 0) revert TransactionUnknown(transactionId);
    }

    function _checkPending(uint256 transactionId, TransactionStatus status) private pure {
        if (status != TransactionStatus.PENDING) revert TransactionNotPending(transactionId, status);
    }

    /// @dev What a transaction pays and to whom: the payout fields of its TransactionInfo (getTransaction
    /// fills in the rest from the record).
    function _payout(uint256 transactionId, TransactionRecord memory t)
        private
        view
        returns (TransactionInfo memory p)
    {
        TradeTerms memory terms = _tradeTerms(transactionId, t);
        p.buyer = terms.buyer;
        p.seller = terms.seller;
        p.pricePerKWh = terms.pricePerKWh;
        p.payment = OrderMath.fillPayment(t.paymentCarry, t.amountWh, terms.pricePerKWh);
        p.fee = OrderMath.fee(p.payment, t.feeBps);
        p.buyerRefund = OrderMath.fillRefund(t.refundCarry, t.amountWh, terms.buyPricePerKWh - terms.pricePerKWh);
        if (t.releasesDust) ++p.buyerRefund;
    }
}
