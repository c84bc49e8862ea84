// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISettlement} from "../market/ISettlement.sol";
import {OrderId} from "./OrderId.sol";

/// @dev A transaction's record in Settlement's ledger, one storage slot. The fields from the low
/// bits up, with their widths in bits:
///   buyOrderId     32  the BUY order; 0 = a taker bought with fillOrder (the taker record names it)
///   sellOrderId    32  the SELL order; 0 = a taker sold with fillOrder
///   amountWh       40
///   matchedAt      32  unix s (until 2106); 0 = the slot never held a transaction
///   feeBps         16  the grid fee when recorded
///   paymentCarry   16  the BUY order's payment carry before this fill (OrderMath)
///   refundCarry    16  the BUY order's refund carry before this fill
///   releasesDust    8  1 = this fill filled the BUY order and returns its last escrow unit
///   status          8  ISettlement.TransactionStatus
///   nextFreeSlot   32  once SETTLED: the next slot of the free list; 0 = the last
///   generation     24  how many transactions the slot held before this one
/// A record is written whole (a match records one, settling or voiding rewrites its status) and read
/// whole: one SSTORE or SLOAD, which Solidity's field-by-field access to a struct would not give.
type TransactionRecord is uint256;

using TransactionRecordLibrary for TransactionRecord global;

/// @title TransactionRecordLibrary
/// @notice Builds a transaction record, reads its fields and moves it out of PENDING.
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
    /// @dev The status and free-list link together: what settling or voiding rewrites.
    uint256 private constant STATUS_AND_LINK_MASK = ((1 << 40) - 1) << STATUS_OFFSET;

    // ---- Building ----

    /// @notice A PENDING record of a trade matched now (block.timestamp). Every value must fit its
    /// field: order ids below 2^32, tradedWh below 2^40, feeRateBps below 2^16, carries below
    /// 1,000 and slotGeneration below 2^24 (block.timestamp fits 32 bits until 2106); nothing is
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
        // Built a few fields per statement: one expression of all of them runs out of stack. PENDING
        // is status 0 and a pending record has no free-list link: both fields stay 0.
        uint256 word = uint256(OrderId.unwrap(buyId)) | (uint256(OrderId.unwrap(sellId)) << SELL_ORDER_OFFSET);
        word |= (tradedWh << AMOUNT_OFFSET) | (block.timestamp << MATCHED_AT_OFFSET) | (feeRateBps << FEE_OFFSET);
        word |= (paymentCarryBefore << PAYMENT_CARRY_OFFSET) | (refundCarryBefore << REFUND_CARRY_OFFSET);
        if (releasesLastUnit) word |= 1 << RELEASES_DUST_OFFSET;
        return TransactionRecord.wrap(word | (slotGeneration << GENERATION_OFFSET));
    }

    /// @notice What is left to know of a settled transaction whose slot a later transaction reuses:
    /// that it was settled. Its other fields read 0 (matchedAt 0 tells it apart).
    function superseded() internal pure returns (TransactionRecord) {
        return TransactionRecord.wrap(uint256(ISettlement.TransactionStatus.SETTLED) << STATUS_OFFSET);
    }

    /// @notice `record` SETTLED, its slot linked to `nextSlot` in the free list.
    /// @param record The record.
    /// @param nextSlot The free list's next slot (0 = the last, or a slot not freed at all).
    function settled(TransactionRecord record, uint256 nextSlot) internal pure returns (TransactionRecord) {
        return _withStatusAndLink(record, ISettlement.TransactionStatus.SETTLED, nextSlot);
    }

    /// @notice `record` VOIDED (a voided slot is never reused: it has no link).
    /// @param record The record.
    function voided(TransactionRecord record) internal pure returns (TransactionRecord) {
        return _withStatusAndLink(record, ISettlement.TransactionStatus.VOIDED, 0);
    }

    // ---- Fields ----

    /// @notice The BUY order; NO_ORDER when a taker bought.
    /// @param record The record.
    function buyOrderId(TransactionRecord record) internal pure returns (OrderId) {
        return OrderId.wrap(uint32(TransactionRecord.unwrap(record)));
    }

    /// @notice The SELL order; NO_ORDER when a taker sold.
    /// @param record The record.
    function sellOrderId(TransactionRecord record) internal pure returns (OrderId) {
        return OrderId.wrap(uint32(TransactionRecord.unwrap(record) >> SELL_ORDER_OFFSET));
    }

    /// @notice The energy traded, Wh.
    /// @param record The record.
    function amountWh(TransactionRecord record) internal pure returns (uint256) {
        return uint40(TransactionRecord.unwrap(record) >> AMOUNT_OFFSET);
    }

    /// @notice When the trade was matched, unix s; 0 = the slot never held a transaction.
    /// @param record The record.
    function matchedAt(TransactionRecord record) internal pure returns (uint256) {
        return uint32(TransactionRecord.unwrap(record) >> MATCHED_AT_OFFSET);
    }

    /// @notice The grid fee rate when the trade was recorded, basis points.
    /// @param record The record.
    function feeBps(TransactionRecord record) internal pure returns (uint256) {
        return uint16(TransactionRecord.unwrap(record) >> FEE_OFFSET);
    }

    /// @notice The BUY order's payment carry before this fill (OrderMath).
    /// @param record The record.
    function paymentCarry(TransactionRecord record) internal pure returns (uint256) {
        return uint16(TransactionRecord.unwrap(record) >> PAYMENT_CARRY_OFFSET);
    }

    /// @notice The BUY order's refund carry before this fill (OrderMath).
    /// @param record The record.
    function refundCarry(TransactionRecord record) internal pure returns (uint256) {
        return uint16(TransactionRecord.unwrap(record) >> REFUND_CARRY_OFFSET);
    }

    /// @notice Whether this fill filled the BUY order and returns its last escrow unit.
    /// @param record The record.
    function releasesDust(TransactionRecord record) internal pure returns (bool) {
        return uint8(TransactionRecord.unwrap(record) >> RELEASES_DUST_OFFSET) != 0;
    }

    /// @notice PENDING, SETTLED or VOIDED.
    /// @param record The record.
    function status(TransactionRecord record) internal pure returns (ISettlement.TransactionStatus) {
        return ISettlement.TransactionStatus(uint8(TransactionRecord.unwrap(record) >> STATUS_OFFSET));
    }

    /// @notice Once SETTLED: the free list's next slot; 0 = the last.
    /// @param record The record.
    function nextFreeSlot(TransactionRecord record) internal pure returns (uint256) {
        return uint32(TransactionRecord.unwrap(record) >> NEXT_FREE_SLOT_OFFSET);
    }

    /// @notice How many transactions the record's slot held before this one.
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
