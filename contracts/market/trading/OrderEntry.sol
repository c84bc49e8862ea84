// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../IEnergyMarket.sol";
import {IEnergyTrading} from "../IEnergyTrading.sol";
import {MarketSettings} from "./MarketSettings.sol";
import {OrderMatching} from "./OrderMatching.sol";
import {ZeroAmount} from "../../utils/GridErrors.sol";
import {NO_ORDER, OrderId, OrderIdLibrary} from "../../types/OrderId.sol";
import {StoredOrder} from "../../types/OrderRecord.sol";

/// @title OrderEntry
/// @notice This contract covers how orders enter and leave the book. A trader creates an order that
/// is open to everyone or directed at one counterparty, and its value is escrowed: a SELL locks its
/// EnergyToken (in Wh) and a BUY locks ceil(amount * price / 1000) PaymentToken, each moved from the
/// trader's vault balance into the market's. The trader may cancel the order to get its unfilled
/// escrow back, and anyone may release an order that has expired.
/// @dev An undirected order trades at once with the resting orders it crosses (OrderMatching), and
/// only what is left rests. As a result, no two live undirected orders of different traders ever
/// rest crossed, and nobody can race to pick a crossing order's counterparty. When the crossing stops
/// at one of its bounds, the fills stand and the rest is cancelled before its escrow is taken, so the
/// trader sends the rest again. When an order closes, its queue entry, if it has one, becomes dead.
abstract contract OrderEntry is MarketSettings, OrderMatching {
    /// @notice The longest an order can live.
    uint256 public constant MAX_ORDER_LIFETIME = 365 days;

    // ---- Orders ----

    /// @inheritdoc IEnergyTrading
    function createOrder(uint256 amount, uint256 price, uint256 expiry, OrderType orderType)
        external
        nonReentrantCompact
        returns (uint256)
    {
        return OrderId.unwrap(_createOrder(msg.sender, amount, price, expiry, orderType, address(0)));
    }

    /// @inheritdoc IEnergyMarket
    function createDirectedOrder(
        uint256 amount,
        uint256 price,
        uint256 expiry,
        OrderType orderType,
        address counterparty
    ) external nonReentrantCompact returns (uint256) {
        if (counterparty == address(0)) revert InvalidCounterparty(counterparty);
        return OrderId.unwrap(_createOrder(msg.sender, amount, price, expiry, orderType, counterparty));
    }

    /// @inheritdoc IEnergyTrading
    function cancelOrder(uint256 orderId) external nonReentrantCompact {
        _close(OrderIdLibrary.from(orderId), msg.sender, true);
    }

    /// @inheritdoc IEnergyMarket
    function releaseExpiredOrder(uint256 orderId) external nonReentrantCompact {
        _close(OrderIdLibrary.from(orderId), msg.sender, false);
    }

    // ---- Internals ----

    /// @dev Creates `trader`'s order, which is directed when `counterparty` is not zero. An undirected
    /// order trades at once, and the order's value is escrowed from `trader`.
    // slither-disable-next-line cyclomatic-complexity: it holds the order checks and the crossing walk that every way of creating an order shares
    function _createOrder(
        address trader,
        uint256 amountWh,
        uint256 pricePerKWh,
        uint256 expiry,
        OrderType orderType,
        address counterparty
    ) internal returns (OrderId id) {
        MarketState memory state = _state;
        if (state.ordersPaused) revert EnforcedPause();
        if (counterparty == trader) revert InvalidCounterparty(counterparty);
        if (amountWh == 0) revert ZeroAmount();
        if (amountWh < state.minOrderAmountWh) revert AmountBelowMinimum(amountWh, state.minOrderAmountWh);
        if (amountWh > MAX_ORDER_AMOUNT_WH) revert AmountAboveMaximum(amountWh, MAX_ORDER_AMOUNT_WH);
        if (pricePerKWh == 0) revert ZeroPrice();
        if (pricePerKWh > state.maxPricePerKWh) revert PriceAboveMaximum(pricePerKWh, state.maxPricePerKWh);
        if (state.priceBandBps != 0) _checkPriceBand(pricePerKWh, state.priceBandBps);
        if (expiry <= block.timestamp) revert ExpiryNotInFuture(expiry, block.timestamp);
        uint256 latestExpiry = block.timestamp + MAX_ORDER_LIFETIME;
        if (expiry > latestExpiry) revert ExpiryTooFar(expiry, latestExpiry);

        id = state.orderCount.next();
        _state.orderCount = id;
        bool directed = counterparty != address(0);
        StoredOrder memory o = StoredOrder({
            traderIndex: _traderIndex(trader),
            pricePerKWh: pricePerKWh,
            amountWh: amountWh,
            filledWh: 0,
            expiry: expiry,
            nextInLevel: NO_ORDER,
            counterpartyIndex: directed ? _traderIndex(counterparty) : 0,
            paymentCarry: 0,
            orderType: orderType,
            status: OrderStatus.ACTIVE,
            directed: directed
        });
        _store(id, o);
        emit OrderCreated(OrderId.unwrap(id), trader, orderType, amountWh, pricePerKWh, expiry, counterparty);
        bool energy = orderType == OrderType.SELL;
        uint256 escrow = _escrowAmount(energy, amountWh, pricePerKWh);
        if (!directed && _trade(id, o)) {
            // The crossing stopped at a bound, so the fills stand and the rest is cancelled before its escrow is taken.
            o.status = OrderStatus.CANCELLED;
            _store(id, o);
            uint256 refund = _escrowLeft(o);
            escrow -= refund;
            emit OrderCancelled(OrderId.unwrap(id), trader, o.amountWh - o.filledWh, refund);
        }
        _take(trader, energy, escrow);
    }

    /// @dev Cancels an ACTIVE order and returns its unfilled escrow. Its trader may cancel it at any time
    /// (cancelOrder and cancelOrderBySig, where `caller` is the trader), and anyone may release it once
    /// it has expired (releaseExpiredOrder). Its queue entry, if it has one, becomes dead.
    function _close(OrderId id, address caller, bool byTrader) internal {
        StoredOrder memory o = _knownOrder(id);
        uint256 orderId = OrderId.unwrap(id);
        address trader = _traderAt(o.traderIndex);
        if (byTrader && trader != caller) revert NotOrderTrader(orderId, caller);
        _checkActive(id, o.status);
        if (!byTrader && block.timestamp < o.expiry) revert OrderNotExpired(orderId, o.expiry);
        o.status = OrderStatus.CANCELLED;
        _store(id, o);
        uint256 unfilledWh = o.amountWh - o.filledWh;
        uint256 refund = _escrowLeft(o);
        if (byTrader) emit OrderCancelled(orderId, caller, unfilledWh, refund);
        else emit ExpiredOrderReleased(orderId, trader, caller, unfilledWh, refund);
        if (refund != 0) {
            bool energy = o.orderType == OrderType.SELL;
            _credit(trader, energy ? refund : 0, energy ? 0 : refund);
        }
    }
}
