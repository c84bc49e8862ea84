// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEnergyTrading} from "./IEnergyTrading.sol";
import {ISettlement} from "./ISettlement.sol";
import {OrderMath} from "../utils/OrderMath.sol";
import {VaultCalls} from "../vault/VaultCalls.sol";
import {BatchTooLarge, EmptyBatch, ZeroAddress} from "../utils/GridErrors.sol";
import {GridFees} from "./GridFees.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {OrderId} from "../types/OrderId.sol";
import {TransactionId, TransactionIdLibrary} from "../types/TransactionId.sol";
import {TransactionRecord, TransactionRecordLibrary} from "../types/TransactionRecord.sol";

/// @title Settlement
/// @notice This contract is the transaction ledger behind EnergyTrading. A match or a taker fill
/// records a transaction, and the escrow it moved stays in the market's EnergyVault balance until the
/// transaction is either settled or voided. Settling sends the energy to the buyer, the payment minus
/// the grid fee to the seller, and any price improvement back to the buyer. The grid operator may void
/// a transaction inside the settlement window, which returns everything. Every payout is a credit to
/// a vault balance, never a token transfer. No token can refuse such a credit, so an account that a
/// token's issuer has frozen never locks the other party's value; the frozen account only cannot
/// withdraw from the vault until it is unfrozen. Grid fees accrue in the market's vault balance, and
/// the fee recipient withdraws them into its own vault balance. Letting the recipient pull the fees
/// costs one storage update per settlement instead of a third credit.
/// @dev The contract is abstract. EnergyTrading inherits it, so that all escrow sits in one vault
/// balance and matching only has to book. A transaction record is one storage slot (TransactionRecord),
/// and the buyer, the seller and the prices are read through `_tradeTerms` from the orders the record
/// references. Settling a transaction puts its slot on a free list. The list is last in, first out,
/// linked through the records, and its head sits in the slot that matching and settlement both write
/// anyway. The next transaction recorded rewrites the freed slot, so a market writes a fresh slot only
/// while more transactions are pending than ever before, and a match or fill costs a rewrite (5,000 gas)
/// instead of a fresh slot (22,100). Voided records keep their slots. What the market holds in the
/// vault of each token is, to the unit, the escrow left in open orders, plus what pending transactions
/// will pay out, plus, for the payment token, the accrued fees.
abstract contract Settlement is GridFees, Pausable, ISettlement, IEnergyTrading {
    /// @notice The role of the grid operator, who may void transactions inside the settlement window.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice The role that may pause trading in an emergency shutdown, held by the guardian and by
    /// GridManagement. Only the admin may resume trading.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice The longest settlement window the admin may set.
    uint256 public constant MAX_SETTLEMENT_WINDOW = 7 days;
    /// @notice The largest number of transactions that one settleTransactions call may settle.
    uint256 public constant MAX_SETTLEMENT_BATCH = 50;
    /// @dev The generation at which a record slot is no longer freed. It keeps transaction ids, which
    /// combine the slot and its generation (TransactionId), below 2^53, so that they stay exact as JSON
    /// numbers.
    uint256 private constant LAST_GENERATION = (1 << 21) - 1;

    /// @dev Who trades at which prices, as read from the orders that a transaction references.
    struct TradeTerms {
        address buyer;
        address seller;
        uint256 pricePerKWh; // The trade price.
        uint256 buyPricePerKWh; // The BUY order's limit, which equals the trade price for a taker's BUY.
    }

    IEnergyVault internal immutable _vault;
    IERC20 private immutable _energyToken;
    // The following fields share one slot, which matching and settlement each read once and write
    // once. The slot holds the accrued fees, the settlement window, the transaction count, the fee
    // rate, the head of the free list and the trading pause flag. The fees take 112 bits, which is
    // enough because they are part of the market's vault balance and the vault bounds that balance to
    // 112 bits (IEnergyVault.MAX_RESERVE). The pause flag mirrors Pausable's, so that matching reads no
    // other slot. _accruedFees comes first because it does not fit beside the fee recipient and
    // Pausable's flag, so it opens the slot that the rest joins.
    uint112 private _accruedFees;
    uint24 private _settlementWindowSeconds;
    uint32 private _transactionCount;
    uint16 private _gridFeeBps;
    uint32 private _freeRecordSlot; // The head of the free list, a settled transaction's slot, or 0 if none.
    bool private _tradingPaused;
    // Record slots are reused. Once a slot's transaction is settled, the slot joins the free list
    // through the record's nextFreeSlot, and the next transaction recorded rewrites it for 5,000 gas
    // instead of a fresh slot's 22,100. The slot's generation tells its transactions apart.
    mapping(uint256 recordSlot => TransactionRecord) private _transactions;

    /// @param vault_ The EnergyVault whose balances the market escrows and pays out. The vault must
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
    // Settlement stays open during a pause, like every exit, because a trade past its window is final
    // and a pause that governance takes days to lift must not hold its value back.
    // It needs no reentrancy lock, because a settlement only credits vault balances, and the vault,
    // which is set at deployment, calls no token.
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
        (TransactionId id, TransactionRecord t) = _knownTransaction(transactionId);
        _checkPending(transactionId, t.status());
        uint256 windowEnd = t.matchedAt() + _settlementWindowSeconds;
        if (block.timestamp >= windowEnd) revert SettlementWindowClosed(transactionId, windowEnd);
        // A voided record keeps its slot, because voids are rare. Only settled slots are reused, so a
        // transaction whose slot holds a later one must have been settled.
        _transactions[id.recordSlot()] = t.voided();
        TransactionInfo memory p = _payout(id, t);
        uint256 returnedPayment = p.payment + p.buyerRefund;
        emit TransactionVoided(transactionId, msg.sender, p.buyer, p.seller, t.amountWh(), returnedPayment);
        _creditBoth(p.seller, t.amountWh(), 0, p.buyer, returnedPayment);
    }

    // ----------------------------------------------------------------------------- admin

    /// @inheritdoc ISettlement
    function setSettlementWindow(uint256 windowSeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (windowSeconds > MAX_SETTLEMENT_WINDOW) revert SettlementWindowTooLong(windowSeconds, MAX_SETTLEMENT_WINDOW);
        uint256 previousSeconds = _settlementWindowSeconds;
        _settlementWindowSeconds = uint24(windowSeconds);
        emit SettlementWindowUpdated(previousSeconds, windowSeconds);
    }

    /// @notice Whether trading is paused. This is Pausable's flag, read from the copy in the slot that
    /// matching reads anyway.
    function paused() public view override returns (bool) {
        return _tradingPaused;
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
        (TransactionId id, TransactionRecord t) = _knownTransaction(transactionId);
        // The transaction was settled and a later one reuses its slot. Only its status is left here,
        // and its TransactionSettled event keeps the rest.
        if (t.matchedAt() == 0) {
            info.status = TransactionStatus.SETTLED;
            return info;
        }
        info = _payout(id, t);
        info.buyOrderId = OrderId.unwrap(t.buyOrderId());
        info.sellOrderId = OrderId.unwrap(t.sellOrderId());
        info.amountWh = t.amountWh();
        info.status = t.status();
        info.matchedAt = t.matchedAt();
        info.feeBps = t.feeBps();
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

    /// @dev Pausable's hooks also set the copy of the flag that paused() reads.
    function _pause() internal virtual override {
        super._pause();
        _tradingPaused = true;
    }

    function _unpause() internal virtual override {
        super._unpause();
        _tradingPaused = false;
    }

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

    /// @dev The fees are part of the market's vault balance, so the recipient is credited there.
    function _payFees(address recipient, uint256 amount) internal override {
        _credit(recipient, 0, amount);
    }

    /// @dev Records a trade for settlement and returns its id. The caller has already moved the escrow in
    /// its books.
    function _recordTransaction(
        OrderId buyOrderId,
        OrderId sellOrderId,
        uint256 amountWh,
        uint256 paymentCarry,
        uint256 refundCarry,
        bool releasesDust
    ) internal returns (TransactionId) {
        uint256 feeBps = _gridFeeBps;
        (uint256 slot, uint256 generation) = _takeRecordSlot();
        // Every value fits its field: order ids are below 2^32, amountWh is below 2^40, the carries are
        // below 1,000 and the generation is at most LAST_GENERATION. Every field of a freed record is
        // replaced.
        _transactions[slot] = TransactionRecordLibrary.pending(
            buyOrderId, sellOrderId, amountWh, feeBps, paymentCarry, refundCarry, releasesDust, generation
        );
        return TransactionIdLibrary.from(slot, generation);
    }

    /// @dev Counts a new transaction and gives it a slot. It takes the head of the free list, in the
    /// slot's next generation, if there is one. Otherwise it takes a slot never used before, namely the
    /// transaction's number, which no other fresh slot has taken.
    function _takeRecordSlot() private returns (uint256 slot, uint256 generation) {
        // This addition is checked, so it reverts past 2^32 - 1 transactions, which is out of reach because
        // each one is a match costing about 50,000 gas.
        uint256 count = _transactionCount + 1;
        _transactionCount = uint32(count);
        slot = _freeRecordSlot;
        if (slot == 0) return (count, 0);
        TransactionRecord freed = _transactions[slot];
        _freeRecordSlot = uint32(freed.nextFreeSlot());
        generation = freed.generation() + 1;
    }

    /// @dev Returns the buyer, the seller and the prices of a recorded trade, read from the orders (or the
    /// taker) it references.
    function _tradeTerms(TransactionId id, TransactionRecord t) internal view virtual returns (TradeTerms memory);

    /// @dev Pays out of the market's vault balance. This is the only place that calls IEnergyVault.give.
    function _credit(address account, uint256 energyWh, uint256 payment) internal {
        _vault.give(account, energyWh, payment);
    }

    /// @dev Pays the two parties of a transaction out of the market's vault balance: `energyWh` and
    /// `payment` to `account`, and `otherPayment` to `other`. It does so in one vault call,
    /// IEnergyVault.settleBatch, so that the market's balance is read and written only once. The call's
    /// arguments, three arrays of two, are laid out by hand, because Solidity's array allocation and
    /// generic encoder would cost each settlement about 1,000 gas and the contract their code. Every
    /// amount is a part of the market's vault balance and so below 2^112, which means it is the same
    /// word as an int256. A revert of the vault is passed on. In settleTransactions' loop this is one
    /// call per transaction, bounded by MAX_SETTLEMENT_BATCH, to the vault set at deployment.
    function _creditBoth(address account, uint256 energyWh, uint256 payment, address other, uint256 otherPayment)
        private
    {
        VaultCalls.settlePair(_vault, account, energyWh, payment, other, otherPayment);
    }

    function _energy() internal view returns (IERC20) {
        return _energyToken;
    }

    function _payment() internal view returns (IERC20) {
        return _paymentToken;
    }

    /// @dev With `skipClosed`, which batches set, a transaction that someone else settled or voided first
    /// is reported and passed over instead of reverting the whole batch. ISettlement.settleTransactions
    /// explains why.
    function _settle(uint256 transactionId, uint256 windowSeconds, bool skipClosed) private {
        (TransactionId id, TransactionRecord t) = _knownTransaction(transactionId);
        TransactionStatus status = t.status();
        if (skipClosed && status != TransactionStatus.PENDING) {
            emit TransactionSkipped(transactionId, status);
            return;
        }
        _checkPending(transactionId, status);
        uint256 settleableAt = t.matchedAt() + windowSeconds;
        if (block.timestamp < settleableAt) revert SettlementWindowOpen(transactionId, settleableAt);
        // The record stays readable until a later transaction takes its slot from the free list.
        uint256 slot = id.recordSlot();
        uint256 nextFreeSlot = 0;
        if (t.generation() != LAST_GENERATION) {
            nextFreeSlot = _freeRecordSlot;
            // slither-disable-next-line costly-loop: this is one warm write per transaction, in a batch bounded by MAX_SETTLEMENT_BATCH
            _freeRecordSlot = uint32(slot);
        }
        _transactions[slot] = t.settled(nextFreeSlot);
        TransactionInfo memory p = _payout(id, t);
        // slither-disable-next-line costly-loop: this is one warm write per transaction, in a batch bounded by MAX_SETTLEMENT_BATCH
        if (p.fee != 0) _accruedFees = uint112(_accruedFees + p.fee);
        uint256 amountWh = t.amountWh();
        emit TransactionSettled(transactionId, p.buyer, p.seller, amountWh, p.payment, p.fee, p.buyerRefund);
        _creditBoth(p.buyer, amountWh, p.buyerRefund, p.seller, p.payment - p.fee);
    }

    function _paymentTokenOf(IEnergyVault vault_) private view returns (IERC20) {
        if (address(vault_) == address(0)) revert ZeroAddress();
        return IERC20(vault_.paymentToken());
    }

    /// @dev Returns a transaction's slot and record. It reverts as unknown when the slot never held the
    /// transaction, or does not hold it yet. When a later transaction reuses the slot, it returns a
    /// record with matchedAt 0 and status SETTLED, because only settled slots are reused.
    function _knownTransaction(uint256 transactionId) private view returns (TransactionId id, TransactionRecord t) {
        id = TransactionId.wrap(transactionId);
        t = _transactions[id.recordSlot()];
        uint256 generation = id.generation();
        if (t.matchedAt() == 0 || generation > t.generation()) revert TransactionUnknown(transactionId);
        if (generation < t.generation()) t = TransactionRecordLibrary.superseded();
    }

    function _checkPending(uint256 transactionId, TransactionStatus status) private pure {
        if (status != TransactionStatus.PENDING) revert TransactionNotPending(transactionId, status);
    }

    /// @dev Returns what a transaction pays and to whom, as the payout fields of its TransactionInfo.
    /// getTransaction fills in the other fields from the record.
    function _payout(TransactionId id, TransactionRecord t) private view returns (TransactionInfo memory p) {
        TradeTerms memory terms = _tradeTerms(id, t);
        p.buyer = terms.buyer;
        p.seller = terms.seller;
        p.pricePerKWh = terms.pricePerKWh;
        p.payment = OrderMath.fillPayment(t.paymentCarry(), t.amountWh(), terms.pricePerKWh);
        p.fee = OrderMath.fee(p.payment, t.feeBps());
        p.buyerRefund = OrderMath.fillRefund(t.refundCarry(), t.amountWh(), terms.buyPricePerKWh - terms.pricePerKWh);
        if (t.releasesDust()) ++p.buyerRefund;
    }
}
