// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISettlement} from "../market/ISettlement.sol";
import {OrderId} from "./OrderId.sol";

/// @dev A transaction's record in Settlement's ledger, packed into one storage slot. The fields from
/// the low bits up, with their widths in bits:
///   buyOrderId     32  The BUY order. Zero means a taker bought with fillOrder, and the taker
///                      record names the taker.
///   sellOrderId    32  The SELL order. Zero means a taker sold with fillOrder.
///   amountWh       40
///   matchedAt      32  Unix seconds, which fit until 2106. Zero means the slot never held a
///                      transaction.
///   feeBps         16  The grid fee rate when the trade was recorded.
///   paymentCarry   16  The BUY order's payment carry before this fill (see OrderMath).
///   refundCarry    16  The BUY order's refund carry before this fill.
///   releasesDust    8  One when this fill filled the BUY order and returns its last escrow unit.
///   status          8  The ISettlement.TransactionStatus.
///   nextFreeSlot   32  Once the transaction is SETTLED, the next slot of the free list, or zero for
///                      the last.
///   generation     24  How many transactions the slot held before this one.
/// A record is written whole and read whole: a match records one, and settling or voiding rewrites
/// its status. Each is one SSTORE or SLOAD, which Solidity's field-by-field access to a struct would
/// not give.
type TransactionRecord is uint256;

using TransactionRecordLibrary for TransactionRecord global;

/// @title TransactionRecordLibrary
/// @notice Builds a transaction record, reads its fields and moves it out of the PENDING status.
library TransactionRecordLibrary {
    uint256 private constant SELL_ORDER_OFFSET = 32;
    uint256 private constant AMOUNT_OFFSET = 64;
    uint256 private constant MATCHED_AT_OFFSET = 104;
    uint256 private constant FEE_OFFSET = 136;
    uint256 private constant PAYMENT_CARRY_OFFSET = 152;
    uint256 private constant REFUND_CARRY_OFFSET = 168;
    uint256 private constant RELEASES_DUST_OFFSET = 184;
    uint256 private constant STATUS_OFFSET = 192;
    uint256 private constant NEXT_FREE_SLOT_OFFSET = 200;
    uint256 private constant GENERATION_OFFSET = 232;
    /// @dev Covers the status and the free-list link together, which is what settling or voiding rewrites.
    uint256 private constant STATUS_AND_LINK_MASK = ((1 << 40) - 1) << 192; // from STATUS_OFFSET, in literals so that solc folds it

    // ---- Building ----

    /// @notice Returns a PENDING record of a trade matched now, at block.timestamp. Every value must fit
    /// its field: order ids below 2^32, tradedWh below 2^40, feeRateBps below 2^16, carries below
    /// 1,000 and slotGeneration below 2^24. block.timestamp fits in 32 bits until 2106. Nothing is
    /// checked here.
    /// @param buyId The BUY order, or NO_ORDER when a taker bought.
    /// @param sellId The SELL order, or NO_ORDER when a taker sold.
    /// @param tradedWh The energy traded, Wh.
    /// @param feeRateBps The grid fee rate that applies to it.
    /// @param paymentCarryBefore The BUY order's payment carry before this fill.
    /// @param refundCarryBefore The BUY order's refund carry before this fill.
    /// @param releasesLastUnit Whether this fill returns the BUY order's last escrow unit.
    /// @param slotGeneration How many transactions the record's slot held before.
    function pending(
        OrderId buyId,
        OrderId sellId,
        uint256 tradedWh,
        uint256 feeRateBps,
        uint256 paymentCarryBefore,
        uint256 refundCarryBefore,
        bool releasesLastUnit,
        uint256 slotGeneration
    ) internal view returns (TransactionRecord) {
        // The word is built a few fields per statement, because one expression with all of them runs
        // out of stack. PENDING is status 0 and a pending record has no free-list link, so both of
        // those fields stay 0.
        uint256 word = uint256(OrderId.unwrap(buyId)) | (uint256(OrderId.unwrap(sellId)) << SELL_ORDER_OFFSET);
        word |= (tradedWh << AMOUNT_OFFSET) | (block.timestamp << MATCHED_AT_OFFSET) | (feeRateBps << FEE_OFFSET);
        word |= (paymentCarryBefore << PAYMENT_CARRY_OFFSET) | (refundCarryBefore << REFUND_CARRY_OFFSET);
        if (releasesLastUnit) word |= 1 << RELEASES_DUST_OFFSET;
        return TransactionRecord.wrap(word | (slotGeneration << GENERATION_OFFSET));
    }

    /// @notice Returns what remains of a settled transaction once a later transaction reuses its slot:
    /// only the fact that it was settled. Its other fields read 0, and a matchedAt of 0 tells it apart.
    function superseded() internal pure returns (TransactionRecord) {
        return TransactionRecord.wrap(uint256(ISettlement.TransactionStatus.SETTLED) << STATUS_OFFSET);
    }

    /// @notice Returns `record` marked SETTLED, with its slot linked to `nextSlot` in the free list.
    /// @param record The record.
    /// @param nextSlot The free list's next slot. Zero means this is the last slot, or a slot that is
    /// not freed at all.
    function settled(TransactionRecord record, uint256 nextSlot) internal pure returns (TransactionRecord) {
        return _withStatusAndLink(record, ISettlement.TransactionStatus.SETTLED, nextSlot);
    }

    /// @notice Returns `record` marked VOIDED. A voided slot is never reused, so it has no link.
    /// @param record The record.
    function voided(TransactionRecord record) internal pure returns (TransactionRecord) {
        return _withStatusAndLink(record, ISettlement.TransactionStatus.VOIDED, 0);
    }

    // ---- Fields ----

    /// @notice Returns the BUY order, or NO_ORDER when a taker bought.
    /// @param record The record.
    function buyOrderId(TransactionRecord record) internal pure returns (OrderId) {
        return OrderId.wrap(uint32(TransactionRecord.unwrap(record)));
    }

    /// @notice Returns the SELL order, or NO_ORDER when a taker sold.
    /// @param record The record.
    function sellOrderId(TransactionRecord record) internal pure returns (OrderId) {
        return OrderId.wrap(uint32(TransactionRecord.unwrap(record) >> SELL_ORDER_OFFSET));
    }

    /// @notice Returns the energy traded, in Wh.
    /// @param record The record.
    function amountWh(TransactionRecord record) internal pure returns (uint256) {
        return uint40(TransactionRecord.unwrap(record) >> AMOUNT_OFFSET);
    }

    /// @notice Returns when the trade was matched, in unix seconds, or 0 when the slot never held a
    /// transaction.
    /// @param record The record.
    function matchedAt(TransactionRecord record) internal pure returns (uint256) {
        return uint32(TransactionRecord.unwrap(record) >> MATCHED_AT_OFFSET);
    }

    /// @notice Returns the grid fee rate when the trade was recorded, in basis points.
    /// @param record The record.
    function feeBps(TransactionRecord record) internal pure returns (uint256) {
        return uint16(TransactionRecord.unwrap(record) >> FEE_OFFSET);
    }

    /// @notice Returns the BUY order's payment carry before this fill (see OrderMath).
    /// @param record The record.
    function paymentCarry(TransactionRecord record) internal pure returns (uint256) {
        return uint16(TransactionRecord.unwrap(record) >> PAYMENT_CARRY_OFFSET);
    }

    /// @notice Returns the BUY order's refund carry before this fill (see OrderMath).
    /// @param record The record.
    function refundCarry(TransactionRecord record) internal pure returns (uint256) {
        return uint16(TransactionRecord.unwrap(record) >> REFUND_CARRY_OFFSET);
    }

    /// @notice Returns whether this fill filled the BUY order and returns its last escrow unit.
    /// @param record The record.
    function releasesDust(TransactionRecord record) internal pure returns (bool) {
        return uint8(TransactionRecord.unwrap(record) >> RELEASES_DUST_OFFSET) != 0;
    }

    /// @notice Returns the transaction's status: PENDING, SETTLED or VOIDED.
    /// @param record The record.
    function status(TransactionRecord record) internal pure returns (ISettlement.TransactionStatus) {
        return ISettlement.TransactionStatus(uint8(TransactionRecord.unwrap(record) >> STATUS_OFFSET));
    }

    /// @notice Returns, once the transaction is SETTLED, the free list's next slot, or 0 for the last.
    /// @param record The record.
    function nextFreeSlot(TransactionRecord record) internal pure returns (uint256) {
        return uint32(TransactionRecord.unwrap(record) >> NEXT_FREE_SLOT_OFFSET);
    }

    /// @notice Returns how many transactions the record's slot held before this one.
    /// @param record The record.
    function generation(TransactionRecord record) internal pure returns (uint256) {
        return TransactionRecord.unwrap(record) >> GENERATION_OFFSET;
    }

    // ---- Internals ----

    function _withStatusAndLink(TransactionRecord record, ISettlement.TransactionStatus newStatus, uint256 link)
        private
        pure
        returns (TransactionRecord)
    {
        uint256 word = TransactionRecord.unwrap(record) & ~STATUS_AND_LINK_MASK;
        return TransactionRecord.wrap(word | (uint256(newStatus) << STATUS_OFFSET) | (link << NEXT_FREE_SLOT_OFFSET));
    }
}
