// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISettlement} from "../market/ISettlement.sol";
import {OrderId} from "../types/OrderId.sol";
import {TransactionId, TransactionIdLibrary} from "../types/TransactionId.sol";
import {TransactionRecord, TransactionRecordLibrary} from "../types/TransactionRecord.sol";

/// @title TransactionRecordHarness
/// @notice Exposes the TransactionRecord and TransactionId libraries to tests. A test builds a record,
/// stores it in a mapping as Settlement does, moves it out of PENDING and reads it field by field.
contract TransactionRecordHarness {
    /// @notice A record's fields, as the library reads them.
    struct Fields {
        uint256 buyOrderId;
        uint256 sellOrderId;
        uint256 amountWh;
        uint256 matchedAt;
        uint256 feeBps;
        uint256 paymentCarry;
        uint256 refundCarry;
        bool releasesDust;
        ISettlement.TransactionStatus status;
        uint256 nextFreeSlot;
        uint256 generation;
    }

    mapping(uint256 recordSlot => TransactionRecord) private _records;

    /// @notice Stores a PENDING record built by TransactionRecordLibrary.pending in `recordSlot`.
    function record(uint256 recordSlot, Fields calldata f) external {
        _records[recordSlot] = TransactionRecordLibrary.pending(
            OrderId.wrap(uint32(f.buyOrderId)),
            OrderId.wrap(uint32(f.sellOrderId)),
            f.amountWh,
            f.feeBps,
            f.paymentCarry,
            f.refundCarry,
            f.releasesDust,
            f.generation
        );
    }

    /// @notice Settles the record in `recordSlot`, linking it to `nextFreeSlot`.
    function settle(uint256 recordSlot, uint256 nextFreeSlot) external {
        _records[recordSlot] = _records[recordSlot].settled(nextFreeSlot);
    }

    /// @notice Voids the record in `recordSlot`.
    function void(uint256 recordSlot) external {
        _records[recordSlot] = _records[recordSlot].voided();
    }

    /// @notice Returns the fields of the record in `recordSlot`.
    function fields(uint256 recordSlot) external view returns (Fields memory) {
        return _fields(_records[recordSlot]);
    }

    /// @notice Returns the raw word of the record in `recordSlot`.
    function word(uint256 recordSlot) external view returns (uint256) {
        return TransactionRecord.unwrap(_records[recordSlot]);
    }

    /// @notice Returns the fields of the record that TransactionRecordLibrary.superseded() builds.
    function superseded() external pure returns (Fields memory) {
        return _fields(TransactionRecordLibrary.superseded());
    }

    /// @notice Builds a transaction id from its slot and generation, and returns it with the two read back.
    function transactionId(uint256 recordSlot, uint256 generation)
        external
        pure
        returns (uint256 id, uint256 slotBack, uint256 generationBack)
    {
        TransactionId built = TransactionIdLibrary.from(recordSlot, generation);
        return (TransactionId.unwrap(built), built.recordSlot(), built.generation());
    }

    function _fields(TransactionRecord r) private pure returns (Fields memory f) {
        f.buyOrderId = OrderId.unwrap(r.buyOrderId());
        f.sellOrderId = OrderId.unwrap(r.sellOrderId());
        f.amountWh = r.amountWh();
        f.matchedAt = r.matchedAt();
        f.feeBps = r.feeBps();
        f.paymentCarry = r.paymentCarry();
        f.refundCarry = r.refundCarry();
        f.releasesDust = r.releasesDust();
        f.status = r.status();
        f.nextFreeSlot = r.nextFreeSlot();
        f.generation = r.generation();
    }
}
