// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../IEnergyMarket.sol";
import {IEnergyTrading} from "../IEnergyTrading.sol";
import {Settlement} from "../Settlement.sol";
import {PriceLevelBook} from "./PriceLevelBook.sol";
import {OrderMath} from "../../utils/OrderMath.sol";
import {ZeroAmount} from "../../utils/GridErrors.sol";
import {NO_ORDER, OrderId, OrderIdLibrary} from "../../types/OrderId.sol";
import {OrderRecord, StoredOrder} from "../../types/OrderRecord.sol";
import {TransactionId} from "../../types/TransactionId.sol";
import {TransactionRecord} from "../../types/TransactionRecord.sol";

/// @title OrderMatching
/// @notice This contract covers how orders trade. A new undirected order crosses the resting orders
/// of the other side, best price first and in arrival order within a price, and each fill executes
/// at the resting order's price. Anyone may match a crossing BUY and SELL (matchOrders), and anyone
/// may take an order directly by bringing the other side (fillOrder). Every trade is recorded as a
/// transaction that Settlement pays out.
/// @dev The trade price rule lives in one place, `_tradePrice`: a trade executes at the earlier
/// order's price, so a crossing buyer keeps its price improvement, which comes back at settlement. A
/// new order that reaches MAX_FILLS_PER_ORDER fills, or passes MAX_DEAD_ENTRIES_PER_CALL dead queue
/// entries, stops there and tells its caller so; the rest is cancelled and never escrowed. This way
/// no crowd of tiny orders, live or dead, can make a crossing order revert. A trade with a resting
/// order of the same trader reverts with SelfTrade, which rules out wash trades. Directed orders never
/// rest in a level; they trade only with their named counterparty, through fillOrder or matchOrders.
abstract contract OrderMatching is PriceLevelBook {
    /// @notice The most resting orders one new order trades with. A fill costs about 37,000 gas, and
    /// emptying a level costs up to about 50,000 more, because bitmap words are cleared and the next
    /// level is searched. We measured 3.1 million gas for 32 fills on 32 levels spread over the whole
    /// price range after 64 dead entries. The full MAX_DEAD_ENTRIES_PER_CALL adds about 2.5 million,
    /// which is still far below a block's limit.
    uint256 public constant MAX_FILLS_PER_ORDER = 32;

    // The account that took an order through fillOrder, keyed by its transaction's record slot
    // (TransactionId.recordSlot). When a record slot is reused, its entry here is rewritten.
    mapping(uint256 recordSlot => address taker) private _takers;

    // ---- Trading ----

    /// @inheritdoc IEnergyTrading
    function matchOrders(uint256 buyOrderId, uint256 sellOrderId) external whenNotPaused returns (uint256) {
        OrderId buyId = OrderIdLibrary.from(buyOrderId);
        OrderId sellId = OrderIdLibrary.from(sellOrderId);
        StoredOrder memory buy = _tradableOrder(buyId, OrderType.BUY, true);
        StoredOrder memory sell = _tradableOrder(sellId, OrderType.SELL, true);
        if (buy.traderIndex == sell.traderIndex) revert SelfTrade(_traderAt(buy.traderIndex));
        if (buy.pricePerKWh < sell.pricePerKWh) revert PricesDoNotCross(buy.pricePerKWh, sell.pricePerKWh);
        if (buy.directed) _checkCounterparty(buyId, buy, sell.traderIndex);
        if (sell.directed) _checkCounterparty(sellId, sell, buy.traderIndex);
        uint256 buyLeftWh = buy.amountWh - buy.filledWh;
        uint256 sellLeftWh = sell.amountWh - sell.filledWh;
        return TransactionId.unwrap(_match(buyId, buy, sellId, sell, buyLeftWh < sellLeftWh ? buyLeftWh : sellLeftWh));
    }

    /// @inheritdoc IEnergyMarket
    function fillOrder(uint256 orderId, uint256 amountWh) external whenNotPaused nonReentrantCompact returns (uint256) {
        OrderId id = OrderIdLibrary.from(orderId);
        StoredOrder memory o = _tradableOrder(id, OrderType.BUY, false);
        if (_traderAt(o.traderIndex) == msg.sender) revert SelfTrade(msg.sender);
        if (o.directed) _checkCounterparty(id, o, _indexOf(msg.sender));
        if (amountWh == 0) revert ZeroAmount();
        uint256 remainingWh = o.amountWh - o.filledWh;
        if (amountWh > remainingWh) revert FillExceedsRemaining(orderId, amountWh, remainingWh);
        uint256 minAmountWh = _state.minOrderAmountWh;
        if (amountWh < minAmountWh && amountWh != remainingWh) revert FillBelowMinimum(amountWh, minAmountWh);
        bool takesSell = o.orderType == OrderType.SELL;
        TransactionId transactionId;
        if (takesSell) {
            _fillSell(id, o, amountWh);
            transactionId = _recordTransaction(NO_ORDER, id, amountWh, 0, 0, false);
        } else {
            transactionId = _fillBuy(id, NO_ORDER, o, amountWh, o.pricePerKWh);
        }
        _takers[transactionId.recordSlot()] = msg.sender;
        emit OrderTaken(TransactionId.unwrap(transactionId), orderId, msg.sender, amountWh, o.pricePerKWh);
        _take(msg.sender, !takesSell, _escrowAmount(!takesSell, amountWh, o.pricePerKWh));
        return TransactionId.unwrap(transactionId);
    }

    // ---- Crossing a new order ----

    /// @dev Crosses a new undirected order with the opposite side of the index, best level first and
    /// each level in arrival order, at the resting orders' prices, and rests whatever is left. Resting
    /// orders always have the lower id, so Settlement prices each fill at the resting order's price
    /// (_tradeTerms). Returns true when the walk stopped at a crossing bound with some of the order
    /// left over and not rested. Whatever it unlinked on the way stays unlinked, so the next order
    /// continues from there.
    // slither-disable-next-line cyclomatic-complexity: it is one walk of the opposite book through price levels, their FIFO queues and dead entries; split up, it would re-read the same state
    function _trade(OrderId id, StoredOrder memory o) internal returns (bool stopped) {
        bool isBuy = o.orderType == OrderType.BUY;
        OrderType restingType = isBuy ? OrderType.SELL : OrderType.BUY;
        uint256 limitPerKWh = o.pricePerKWh;
        uint256 levelPricePerKWh = _bestPerKWh[uint256(restingType)];
        uint256 remainingWh = o.amountWh;
        if (levelPricePerKWh != 0 && (isBuy ? levelPricePerKWh <= limitPerKWh : levelPricePerKWh >= limitPerKWh)) {
            uint256 fills = 0;
            uint256 deadEntries = 0;
            while (true) {
                PriceLevel storage level = _levels[uint256(restingType)][levelPricePerKWh];
                OrderId headId = level.headOrderId;
                OrderId restingId = headId;
                while (restingId != NO_ORDER && remainingWh != 0) {
                    // A dead entry costs one slot read.
                    OrderRecord entry = _orders[restingId];
                    if (!entry.isLive()) {
                        if (++deadEntries > MAX_DEAD_ENTRIES_PER_CALL) {
                            stopped = true;
                            break;
                        }
                        restingId = entry.nextInLevel();
                        continue;
                    }
                    if (fills == MAX_FILLS_PER_ORDER) {
                        stopped = true;
                        break;
                    }
                    StoredOrder memory r = entry.unpack();
                    if (r.traderIndex == o.traderIndex) revert SelfTrade(_traderAt(o.traderIndex));
                    ++fills;
                    (remainingWh, restingId) = _fillResting(id, o, restingId, r, remainingWh);
                }
                if (restingId != NO_ORDER) {
                    // The new order is filled completely within this level.
                    if (restingId != headId) level.headOrderId = restingId;
                    break;
                }
                _removeLevel(restingType, levelPricePerKWh);
                levelPricePerKWh = _nextLevel(restingType, isBuy ? levelPricePerKWh + 1 : levelPricePerKWh - 1);
                if (
                    remainingWh == 0 || levelPricePerKWh == 0
                        || (isBuy ? levelPricePerKWh > limitPerKWh : levelPricePerKWh < limitPerKWh)
                ) break;
            }
            _bestPerKWh[uint256(restingType)] = uint72(levelPricePerKWh);
        }
        if (remainingWh == 0 || stopped) return stopped;
        _rest(id, o);
    }

    /// @dev Trades as much as both the new order `o`, which has `remainingWh` left, and the resting order
    /// `r` have left, at r's price. Returns what `o` has left and the queue's next head.
    function _fillResting(OrderId id, StoredOrder memory o, OrderId restingId, StoredOrder memory r, uint256 remainingWh)
        private
        returns (uint256, OrderId)
    {
        uint256 leftWh = r.amountWh - r.filledWh;
        uint256 amountWh = leftWh < remainingWh ? leftWh : remainingWh;
        if (o.orderType == OrderType.BUY) _match(id, o, restingId, r, amountWh);
        else _match(restingId, r, id, o, amountWh);
        return (remainingWh - amountWh, amountWh == leftWh ? r.nextInLevel : restingId);
    }

    // ---- Booking a trade ----

    /// @dev Books a trade of `amountWh` between a BUY and a SELL at the price the trade price rule gives.
    function _match(
        OrderId buyId,
        StoredOrder memory buy,
        OrderId sellId,
        StoredOrder memory sell,
        uint256 amountWh
    ) private returns (TransactionId transactionId) {
        uint256 pricePerKWh = _tradePrice(buyId, buy.pricePerKWh, sellId, sell.pricePerKWh);
        _fillSell(sellId, sell, amountWh);
        transactionId = _fillBuy(buyId, sellId, buy, amountWh, pricePerKWh);
        emit OrdersMatched(
            TransactionId.unwrap(transactionId), OrderId.unwrap(buyId), OrderId.unwrap(sellId), amountWh, pricePerKWh
        );
    }

    /// @dev The trade price rule, kept in this one place: a trade executes at the earlier order's price.
    /// When a new order crosses, that is the resting order's price; when two orders are matched later,
    /// it is the older order's price.
    function _tradePrice(OrderId buyId, uint256 buyPricePerKWh, OrderId sellId, uint256 sellPricePerKWh)
        private
        pure
        returns (uint256)
    {
        return buyId < sellId ? buyPricePerKWh : sellPricePerKWh;
    }

    /// @dev Books `amountWh` of a SELL order as sold, so that its escrowed energy now backs the transaction.
    function _fillSell(OrderId id, StoredOrder memory sell, uint256 amountWh) private {
        uint256 filledWh = sell.filledWh + amountWh;
        sell.filledWh = filledWh;
        if (filledWh == sell.amountWh) sell.status = OrderStatus.FILLED;
        _store(id, sell);
    }

    /// @dev Books `amountWh` of a BUY order as bought at `pricePerKWh` and records the transaction with
    /// the carries that determine its payment and refund (OrderMath).
    function _fillBuy(OrderId buyId, OrderId sellId, StoredOrder memory buy, uint256 amountWh, uint256 pricePerKWh)
        private
        returns (TransactionId)
    {
        uint256 carry = buy.paymentCarry;
        uint256 refundCarry = OrderMath.refundCarry(buy.filledWh, buy.pricePerKWh, carry);
        uint256 filledWh = buy.filledWh + amountWh;
        uint256 carryAfter = OrderMath.nextCarry(carry, amountWh, pricePerKWh);
        buy.filledWh = filledWh;
        buy.paymentCarry = carryAfter;
        bool releasesDust = false;
        if (filledWh == buy.amountWh) {
            buy.status = OrderStatus.FILLED;
            // What is left of a filled order's escrow is either zero or one unit (OrderMath).
            releasesDust = _escrowLeft(buy) != 0;
        }
        _store(buyId, buy);
        return _recordTransaction(buyId, sellId, amountWh, carry, refundCarry, releasesDust);
    }

    // ---- Settlement's view of a trade ----

    /// @inheritdoc Settlement
    function _tradeTerms(TransactionId id, TransactionRecord t)
        internal
        view
        override
        returns (TradeTerms memory terms)
    {
        OrderId buyId = t.buyOrderId();
        OrderId sellId = t.sellOrderId();
        // A taker's side has no order, so its id is zero. The taker record names the taker, who trades
        // at the taken order's price.
        (terms.buyer, terms.buyPricePerKWh) = _sideOf(id, buyId);
        uint256 sellPricePerKWh;
        (terms.seller, sellPricePerKWh) = _sideOf(id, sellId);
        if (buyId == NO_ORDER) terms.buyPricePerKWh = sellPricePerKWh;
        else if (sellId == NO_ORDER) sellPricePerKWh = terms.buyPricePerKWh;
        terms.pricePerKWh = _tradePrice(buyId, terms.buyPricePerKWh, sellId, sellPricePerKWh);
    }

    /// @dev Returns the trader and limit price of one side of a transaction. They come from the side's
    /// order, or, for a taker, the taker's address with no price.
    function _sideOf(TransactionId transactionId, OrderId id)
        private
        view
        returns (address trader, uint256 pricePerKWh)
    {
        if (id == NO_ORDER) return (_takers[transactionId.recordSlot()], 0);
        OrderRecord record = _orders[id];
        return (_traderAt(record.traderIndex()), record.pricePerKWh());
    }
}
