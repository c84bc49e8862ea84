// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEnergyTrading} from "./IEnergyTrading.sol";
import {ISettlement} from "./ISettlement.sol";
import {OrderMath} from "../utils/OrderMath.sol";
import {BatchTooLarge, EmptyBatch, ZeroAddress} from "../utils/GridErrors.sol";
import {GridFees} from "./GridFees.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";

/// @title Settlement
/// @notice The transaction ledger behind EnergyTrading: a match or taker fill records a
/// transaction, and the escrow it moved stays in the market's EnergyVault balance until the
/// transaction is settled (energy to the buyer, payment minus the grid fee to the seller, price
/// improvement back to the buyer) or voided by the grid operator inside the settlement window
/// (everything back). Every payout is a credit to a vault balance, never a token transfer: no
/// token can refuse it, so one party's account frozen by a token's issuer never locks the other
/// party's value (the frozen account only cannot withdraw from the vault until it is unfrozen).
/// Grid fees accrue in the market's vault balance and the fee recipient withdraws them into its
/// own vault balance (pull: one storage update per settlement instead of a third credit).
/// @dev Abstract: EnergyTrading inherits it, so all escrow sits in one vault balance and matching
/// only books. A transaction record is one storage slot; buyer, seller and prices are read from
/// the orders it references through `_tradeTerms`. What the market holds in the vault of each
/// token is, to the unit: the escrow left in open orders, what pending transactions will pay out
/// and the accrued fees (payment token).
abstract contract Settlement is GridFees, Pausable, ISettlement, IEnergyTrading {
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

    IEnergyVault internal immutable _vault;
    IERC20 private immutable _energyToken;
    // These share a slot with Pausable's flag: matching reads it once and writes it once.
    uint40 private _transactionCount;
    uint16 private _gridFeeBps;
    // These share the next slot: settlement reads it once and writes it once. 160 bits: the fees
    // are part of the market's vault balance, which the vault bounds to 112 bits
    // (IEnergyVault.MAX_RESERVE), so the sum never reaches the field's end.
    uint160 private _accruedFees;
    uint24 private _settlementWindowSeconds;
    mapping(uint256 transactionId => TransactionRecord) private _transactions;

    /// @param vault_ The EnergyVault whose balances the market escrows and pays out; it must
    /// register the market (IEnergyVault.registerMarket) before the first order.
    constructor(address admin, IEnergyVault vault_, address feeRecipient_, uint256 gridFeeBps_)
        GridFees(_paymentTokenOf(vault_), feeRecipient_, gridFeeBps_)
    {
        if (admin == address(0)) revert ZeroAddress();
        _vault = vault_;
        _energyToken = IERC20(vault_.energyToken());
        _gridFeeBps = uint16(gridFeeBps_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    // ----------------------------------------------------------------------------- settlement

    /// @inheritdoc IEnergyTrading
    // Open during a pause, like every exit: a trade past its window is final, and a pause that
    // governance takes days to lift must not hold its value.
    // No lock: a settlement only credits vault balances (the vault, set at deploy, calls no token).
    function settleTransaction(uint256 transactionId) external {
        _settle(transactionId, _settlementWindowSeconds, false);
    }

    /// @inheritdoc ISettlement
    function settleTransactions(uint256[] calldata transactionIds) external {
        uint256 size = transactionIds.length;
        if (size == 0) revert EmptyBatch();
        if (size > MAX_SETTLEMENT_BATCH) revert BatchTooLarge(size, MAX_SETTLEMENT_BATCH);
        uint256 windowSeconds = _settlementWindowSeconds;
        for (uint256 i; i < size; ++i) {
            _settle(transactionIds[i], windowSeconds, true);
        }
    }

    /// @inheritdoc ISettlement
    function voidTransaction(uint256 transactionId) external onlyRole(OPERATOR_ROLE) {
        TransactionRecord memory t = _knownTransaction(transactionId);
        _checkPending(transactionId, t.status);
        uint256 windowEnd = uint256(t.matchedAt) + _settlementWindowSeconds;
        if (block.timestamp >= windowEnd) revert SettlementWindowClosed(transactionId, windowEnd);
        _transactions[transactionId].status = TransactionStatus.VOIDED;
        TransactionInfo memory p = _payout(transactionId, t);
        uint256 returnedPayment = p.payment + p.buyerRefund;
        emit TransactionVoided(transactionId, msg.sender, p.buyer, p.seller, t.amountWh, returnedPayment);
        _creditBoth(p.seller, t.amountWh, 0, p.buyer, returnedPayment);
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
    function vault() external view returns (address) {
        return address(_vault);
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

    /// @dev The fees are part of the market's vault balance: the recipient is credited there.
    function _payFees(address recipient, uint256 amount) internal override {
        _credit(recipient, 0, amount);
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
        // The record's slot written whole, fields from the low bits up in TransactionRecord's order
        // (status PENDING is 0): Solidity's field-by-field write of a struct is long code. Every
        // value is in its field's range: ids below 2^40, amountWh below 2^48, carries below 1,000.
        uint256 word = buyOrderId | (sellOrderId << 40) | (amountWh << 80) | (block.timestamp << 128)
            | (uint256(_gridFeeBps) << 168) | (paymentCarry << 184) | (refundCarry << 200)
            | (releasesDust ? 1 << 216 : 0);
        TransactionRecord storage record = _transactions[transactionId];
        // slither-disable-next-line assembly: writes a new transaction's slot whole
        assembly ("memory-safe") {
            sstore(record.slot, word)
        }
    }

    /// @dev Buyer, seller and prices of a recorded trade, from the orders (or taker) it references.
    function _tradeTerms(uint256 transactionId, TransactionRecord memory t)
        internal
        view
        virtual
        returns (TradeTerms memory);

    /// @dev Pays out of the market's vault balance: the one call site of IEnergyVault.give.
    function _credit(address account, uint256 energyWh, uint256 payment) internal {
        _vault.give(account, energyWh, payment);
    }

    /// @dev Pays `energyWh` and `payment` to `account` and `otherPayment` to `other` out of the
    /// market's vault balance in one vault call (IEnergyVault.settleBatch: the market's balance
    /// read and written once): the two parties of a transaction.
    // slither-disable-next-line calls-loop: the vault is set at deploy, and settleTransactions' loop is bounded by MAX_SETTLEMENT_BATCH
    function _creditBoth(address account, uint256 energyWh, uint256 payment, address other, uint256 otherPayment)
        private
    {
        address[] memory accounts = new address[](2);
        int256[] memory energyDeltasWh = new int256[](2);
        int256[] memory paymentDeltas = new int256[](2);
        accounts[0] = account;
        accounts[1] = other;
        // Every amount is a part of the market's vault balance (below 2^112): the casts are exact.
        energyDeltasWh[0] = int256(energyWh);
        paymentDeltas[0] = int256(payment);
        paymentDeltas[1] = int256(otherPayment);
        _vault.settleBatch(accounts, energyDeltasWh, paymentDeltas);
    }

    function _energy() internal view returns (IERC20) {
        return _energyToken;
    }

    function _payment() internal view returns (IERC20) {
        return _paymentToken;
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
        if (p.fee != 0) _accruedFees = uint160(_accruedFees + p.fee);
        emit TransactionSettled(transactionId, p.buyer, p.seller, t.amountWh, p.payment, p.fee, p.buyerRefund);
        _creditBoth(p.buyer, t.amountWh, p.buyerRefund, p.seller, p.payment - p.fee);
    }

    function _paymentTokenOf(IEnergyVault vault_) private view returns (IERC20) {
        if (address(vault_) == address(0)) revert ZeroAddress();
        return IERC20(vault_.paymentToken());
    }

    function _knownTransaction(uint256 transactionId) private view returns (TransactionRecord memory t) {
        t = _transactions[transactionId];
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
