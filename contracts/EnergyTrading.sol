// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IEnergyMarket, IEnergyTrading} from "./interfaces/IEnergyTrading.sol";
import {IReferencePrice} from "./interfaces/IPriceDiscovery.sol";
import {OrderMath} from "./libraries/OrderMath.sol";
import {Settlement} from "./Settlement.sol";

/// @title EnergyTrading
/// @notice Peer-to-peer energy order book. Orders escrow their value when created: a SELL locks
/// its EnergyToken (Wh), a BUY locks ceil(amount * price / 1000) PaymentToken. Anyone may match a
/// crossing BUY and SELL (at the earlier order's price, partial fills tracked), or take an order
/// directly with fillOrder bringing the other side; directed orders trade only with their named
/// counterparty. Every trade is recorded as a transaction that Settlement pays out.
/// An optional price band (setPriceBand; off by default) rejects new orders priced outside a
/// reference price (PriceDiscovery) ± a share of it; trades execute at the orders' prices.
/// Traders approve only this contract, for both tokens. The tokens must be plain ERC-20s (no fee
/// on transfer, no rebasing).
/// @dev No loop over orders in any transaction: matching is by ids found off-chain from events,
/// a trader's orders form a linked list walked backwards by a view. An order is two storage slots.
contract EnergyTrading is Settlement, IEnergyMarket {
    using SafeERC20 for IERC20;

    /// @notice Largest order: 281 TWh (uint48).
    uint256 public constant MAX_ORDER_AMOUNT_WH = type(uint48).max;
    /// @notice Highest maximum price the admin can set (uint96), PaymentToken base units per kWh.
    uint256 public constant PRICE_CAP_PER_KWH = type(uint96).max;
    /// @notice Longest an order can live.
    uint256 public constant MAX_ORDER_LIFETIME = 365 days;
    /// @notice Most orders in one getTraderOrders page.
    uint256 public constant MAX_PAGE_SIZE = 100;
    /// @notice Widest price band: ±100 % of the reference price.
    uint256 public constant MAX_PRICE_BAND_BPS = 10_000;

    /// @dev Two slots. Slot 0 is all that settlement reads.
    struct StoredOrder {
        // slot 0
        address trader; // 0 = no such order
        uint96 pricePerKWh; // limit price
        // slot 1
        uint48 amountWh;
        uint48 filledWh;
        uint40 expiry; // unix s; tradable while block.timestamp < expiry
        uint40 previousOrderId; // the trader's previous order; 0 = none
        uint16 paymentCarry; // BUY: sum of fillWh * tradePrice, mod 1000 (see OrderMath)
        OrderType orderType;
        OrderStatus status;
        bool directed; // only _counterparties[orderId] may trade against it
    }

    // One slot, the only global one createOrder reads and writes (with the price band off).
    bool private _ordersPaused; // mirrors Pausable's flag, so createOrder reads one slot
    uint40 private _orderCount;
    uint48 private _minOrderAmountWh = 1;
    uint96 private _maxPricePerKWh = type(uint96).max;
    uint16 private _priceBandBps; // 0 = off
    // Read only while the price band is on.
    IReferencePrice private _referencePrice;
    uint32 private _priceBandRegionId;
    mapping(uint256 orderId => StoredOrder) private _orders;
    mapping(address trader => uint256 orderId) private _latestOrderIds;
    mapping(uint256 orderId => address) private _counterparties;
    mapping(uint256 transactionId => address) private _takers;

    constructor(address admin, IERC20 energyToken_, IERC20 paymentToken_, address feeRecipient_, uint256 gridFeeBps_)
        Settlement(admin, energyToken_, paymentToken_, feeRecipient_, gridFeeBps_)
    {}

    // ----------------------------------------------------------------------------- orders

    /// @inheritdoc IEnergyTrading
    function createOrder(uint256 amount, uint256 price, uint256 expiry, OrderType orderType)
        external
        nonReentrant
        returns (uint256 orderId)
    {
        return _createOrder(amount, price, expiry, orderType, address(0));
    }

    /// @inheritdoc IEnergyMarket
    function createDirectedOrder(
        uint256 amount,
        uint256 price,
        uint256 expiry,
        OrderType orderType,
        address counterparty
    ) external nonReentrant returns (uint256 orderId) {
        if (counterparty == address(0) || counterparty == msg.sender) revert InvalidCounterparty(counterparty);
        return _createOrder(amount, price, expiry, orderType, counterparty);
    }

    /// @inheritdoc IEnergyTrading
    function cancelOrder(uint256 orderId) external nonReentrant {
        StoredOrder memory o = _knownOrder(orderId);
        if (o.trader != msg.sender) revert NotOrderTrader(orderId, msg.sender);
        if (o.status != OrderStatus.ACTIVE) revert OrderNotActive(orderId, o.status);
        (uint256 unfilledWh, uint256 refund) = _close(orderId, o);
        emit OrderCancelled(orderId, msg.sender, unfilledWh, refund);
        _returnEscrow(o, refund);
    }

    /// @inheritdoc IEnergyMarket
    function releaseExpiredOrder(uint256 orderId) external nonReentrant {
        StoredOrder memory o = _knownOrder(orderId);
        if (o.status != OrderStatus.ACTIVE) revert OrderNotActive(orderId, o.status);
        if (block.timestamp < o.expiry) revert OrderNotExpired(orderId, o.expiry);
        (uint256 unfilledWh, uint256 refund) = _close(orderId, o);
        emit ExpiredOrderReleased(orderId, o.trader, msg.sender, unfilledWh, refund);
        _returnEscrow(o, refund);
    }

    // ----------------------------------------------------------------------------- trading

    /// @inheritdoc IEnergyTrading
    function matchOrders(uint256 buyOrderId, uint256 sellOrderId)
        external
        whenNotPaused
        returns (uint256 transactionId)
    {
        StoredOrder memory buy = _tradableOrder(buyOrderId, OrderType.BUY);
        StoredOrder memory sell = _tradableOrder(sellOrderId, OrderType.SELL);
        if (buy.trader == sell.trader) revert SelfTrade(buy.trader);
        if (buy.pricePerKWh < sell.pricePerKWh) revert PricesDoNotCross(buy.pricePerKWh, sell.pricePerKWh);
        if (buy.directed) _checkCounterparty(buyOrderId, sell.trader);
        if (sell.directed) _checkCounterparty(sellOrderId, buy.trader);
        uint256 buyLeftWh = buy.amountWh - buy.filledWh;
        uint256 sellLeftWh = sell.amountWh - sell.filledWh;
        uint256 amountWh = buyLeftWh < sellLeftWh ? buyLeftWh : sellLeftWh;
        // The resting (earlier) order sets the price.
        uint256 pricePerKWh = buyOrderId < sellOrderId ? buy.pricePerKWh : sell.pricePerKWh;
        _fillSell(sellOrderId, sell, amountWh);
        transactionId = _fillBuy(buyOrderId, sellOrderId, buy, amountWh, pricePerKWh);
        emit OrdersMatched(transactionId, buyOrderId, sellOrderId, amountWh, pricePerKWh);
    }

    /// @inheritdoc IEnergyMarket
    function fillOrder(uint256 orderId, uint256 amountWh)
        external
        whenNotPaused
        nonReentrant
        returns (uint256 transactionId)
    {
        StoredOrder memory o = _tradableOrder(orderId);
        if (o.trader == msg.sender) revert SelfTrade(msg.sender);
        if (o.directed) _checkCounterparty(orderId, msg.sender);
        _checkFillAmount(orderId, o, amountWh);
        if (o.orderType == OrderType.SELL) {
            _fillSell(orderId, o, amountWh);
            transactionId = _recordTransaction(0, orderId, amountWh, 0, 0, false);
        } else {
            transactionId = _fillBuy(orderId, 0, o, amountWh, o.pricePerKWh);
        }
        _takers[transactionId] = msg.sender;
        emit OrderTaken(transactionId, orderId, msg.sender, amountWh, o.pricePerKWh);
        if (o.orderType == OrderType.SELL) {
            _pullPayment(msg.sender, OrderMath.costCeil(amountWh, o.pricePerKWh));
        } else {
            _pullEnergy(msg.sender, amountWh);
        }
    }

    // ----------------------------------------------------------------------------- admin

    /// @inheritdoc IEnergyMarket
    function setMinOrderAmount(uint256 amountWh) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (amountWh == 0 || amountWh > MAX_ORDER_AMOUNT_WH) {
            revert MinOrderAmountOutOfRange(amountWh, MAX_ORDER_AMOUNT_WH);
        }
        uint256 previousWh = _minOrderAmountWh;
        _minOrderAmountWh = uint48(amountWh);
        emit MinOrderAmountUpdated(previousWh, amountWh);
    }

    /// @inheritdoc IEnergyMarket
    function setMaxPrice(uint256 pricePerKWh) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (pricePerKWh == 0 || pricePerKWh > PRICE_CAP_PER_KWH) {
            revert MaxPriceOutOfRange(pricePerKWh, PRICE_CAP_PER_KWH);
        }
        uint256 previousPricePerKWh = _maxPricePerKWh;
        _maxPricePerKWh = uint96(pricePerKWh);
        emit MaxPriceUpdated(previousPricePerKWh, pricePerKWh);
    }

    /// @inheritdoc IEnergyMarket
    function setPriceBand(address referencePrice, uint32 regionId, uint256 bandBps)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (bandBps > MAX_PRICE_BAND_BPS) revert PriceBandOutOfRange(bandBps, MAX_PRICE_BAND_BPS);
        if (bandBps != 0 && referencePrice == address(0)) revert InvalidReferencePrice(referencePrice);
        _priceBandBps = uint16(bandBps);
        _referencePrice = IReferencePrice(referencePrice);
        _priceBandRegionId = regionId;
        emit PriceBandUpdated(referencePrice, regionId, bandBps);
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc IEnergyMarket
    function getOrder(uint256 orderId) external view returns (Order memory) {
        StoredOrder memory o = _knownOrder(orderId);
        return Order(o.trader, o.amountWh, o.pricePerKWh, o.expiry, o.orderType, o.status);
    }

    /// @inheritdoc IEnergyMarket
    function getOrderInfo(uint256 orderId) external view returns (OrderInfo memory) {
        return _orderInfo(orderId, _knownOrder(orderId));
    }

    /// @inheritdoc IEnergyMarket
    function getTraderOrders(address trader, uint256 cursor, uint256 limit)
        external
        view
        returns (OrderInfo[] memory orders, uint256 nextCursor)
    {
        if (limit == 0 || limit > MAX_PAGE_SIZE) revert InvalidPageSize(limit, MAX_PAGE_SIZE);
        uint256 orderId = cursor == 0 ? _latestOrderIds[trader] : cursor;
        if (cursor != 0 && _orders[cursor].trader != trader) revert InvalidCursor(trader, cursor);
        OrderInfo[] memory page = new OrderInfo[](limit);
        uint256 count;
        while (orderId != 0 && count < limit) {
            StoredOrder memory o = _orders[orderId];
            page[count++] = _orderInfo(orderId, o);
            orderId = o.previousOrderId;
        }
        // Trim the page to what was found.
        assembly ("memory-safe") {
            mstore(page, count)
        }
        return (page, orderId);
    }

    /// @inheritdoc IEnergyMarket
    function latestOrderOf(address trader) external view returns (uint256) {
        return _latestOrderIds[trader];
    }

    /// @inheritdoc IEnergyMarket
    function getEnergyBalance(address account) external view returns (uint256 amountWh) {
        return _energy().balanceOf(account) + _escrowedEnergy(account);
    }

    /// @inheritdoc IEnergyMarket
    function escrowedEnergyOf(address account) external view returns (uint256 amountWh) {
        return _escrowedEnergy(account);
    }

    /// @inheritdoc IEnergyMarket
    function orderCount() external view returns (uint256) {
        return _orderCount;
    }

    /// @inheritdoc IEnergyMarket
    function minOrderAmount() external view returns (uint256 amountWh) {
        return _minOrderAmountWh;
    }

    /// @inheritdoc IEnergyMarket
    function maxPrice() external view returns (uint256 pricePerKWh) {
        return _maxPricePerKWh;
    }

    /// @inheritdoc IEnergyMarket
    function priceBand() external view returns (address referencePrice, uint32 regionId, uint256 bandBps) {
        return (address(_referencePrice), _priceBandRegionId, _priceBandBps);
    }

    // ----------------------------------------------------------------------------- internals

    function _createOrder(
        uint256 amountWh,
        uint256 pricePerKWh,
        uint256 expiry,
        OrderType orderType,
        address counterparty
    ) private returns (uint256 orderId) {
        if (_ordersPaused) revert EnforcedPause();
        _checkOrderTerms(amountWh, pricePerKWh, expiry);
        orderId = ++_orderCount;
        bool directed = counterparty != address(0);
        _orders[orderId] = StoredOrder({
            trader: msg.sender,
            pricePerKWh: uint96(pricePerKWh),
            amountWh: uint48(amountWh),
            filledWh: 0,
            expiry: uint40(expiry),
            previousOrderId: uint40(_latestOrderIds[msg.sender]),
            paymentCarry: 0,
            orderType: orderType,
            status: OrderStatus.ACTIVE,
            directed: directed
        });
        _latestOrderIds[msg.sender] = orderId;
        if (directed) _counterparties[orderId] = counterparty;
        emit OrderCreated(orderId, msg.sender, orderType, amountWh, pricePerKWh, expiry, counterparty);
        if (orderType == OrderType.SELL) {
            _pullEnergy(msg.sender, amountWh);
        } else {
            _pullPayment(msg.sender, OrderMath.costCeil(amountWh, pricePerKWh));
        }
    }

    function _checkOrderTerms(uint256 amountWh, uint256 pricePerKWh, uint256 expiry) private view {
        if (amountWh == 0) revert ZeroAmount();
        uint256 minAmountWh = _minOrderAmountWh;
        if (amountWh < minAmountWh) revert AmountBelowMinimum(amountWh, minAmountWh);
        if (amountWh > MAX_ORDER_AMOUNT_WH) revert AmountAboveMaximum(amountWh, MAX_ORDER_AMOUNT_WH);
        if (pricePerKWh == 0) revert ZeroPrice();
        uint256 maxPricePerKWh = _maxPricePerKWh;
        if (pricePerKWh > maxPricePerKWh) revert PriceAboveMaximum(pricePerKWh, maxPricePerKWh);
        uint256 bandBps = _priceBandBps;
        if (bandBps != 0) _checkPriceBand(pricePerKWh, bandBps);
        if (expiry <= block.timestamp) revert ExpiryNotInFuture(expiry, block.timestamp);
        uint256 latestExpiry = block.timestamp + MAX_ORDER_LIFETIME;
        if (expiry > latestExpiry) revert ExpiryTooFar(expiry, latestExpiry);
    }

    /// @dev Rejects a price outside reference × (1 ± band): the lower bound rounded up, the upper
    /// down, both inclusive. The reference source reverts with its own error when its data is
    /// missing or stale, and order creation with it.
    function _checkPriceBand(uint256 pricePerKWh, uint256 bandBps) private view {
        uint256 referencePricePerKWh = _referencePrice.getReferencePrice(_priceBandRegionId);
        uint256 minPricePerKWh = (referencePricePerKWh * (10_000 - bandBps) + 9_999) / 10_000;
        uint256 maxPricePerKWh = referencePricePerKWh * (10_000 + bandBps) / 10_000;
        if (pricePerKWh < minPricePerKWh || pricePerKWh > maxPricePerKWh) {
            revert PriceOutsideBand(pricePerKWh, minPricePerKWh, maxPricePerKWh);
        }
    }

    function _checkFillAmount(uint256 orderId, StoredOrder memory o, uint256 amountWh) private view {
        if (amountWh == 0) revert ZeroAmount();
        uint256 remainingWh = o.amountWh - o.filledWh;
        if (amountWh > remainingWh) revert FillExceedsRemaining(orderId, amountWh, remainingWh);
        uint256 minAmountWh = _minOrderAmountWh;
        if (amountWh < minAmountWh && amountWh != remainingWh) revert FillBelowMinimum(amountWh, minAmountWh);
    }

    function _checkCounterparty(uint256 orderId, address account) private view {
        if (_counterparties[orderId] != account) revert NotCounterparty(orderId, account);
    }

    function _knownOrder(uint256 orderId) private view returns (StoredOrder memory o) {
        o = _orders[orderId];
        if (o.trader == address(0)) revert OrderUnknown(orderId);
    }

    /// @dev An order that can trade now: known, ACTIVE and not expired.
    function _tradableOrder(uint256 orderId) private view returns (StoredOrder memory o) {
        o = _knownOrder(orderId);
        if (o.status != OrderStatus.ACTIVE) revert OrderNotActive(orderId, o.status);
        if (block.timestamp >= o.expiry) revert OrderExpired(orderId, o.expiry);
    }

    function _tradableOrder(uint256 orderId, OrderType orderType) private view returns (StoredOrder memory o) {
        o = _knownOrder(orderId);
        if (o.orderType != orderType) revert WrongOrderType(orderId, orderType);
        if (o.status != OrderStatus.ACTIVE) revert OrderNotActive(orderId, o.status);
        if (block.timestamp >= o.expiry) revert OrderExpired(orderId, o.expiry);
    }

    /// @dev Unfilled Wh of `trader`'s ACTIVE SELL orders: a walk of the trader's order list (views only).
    function _escrowedEnergy(address trader) private view returns (uint256 amountWh) {
        uint256 orderId = _latestOrderIds[trader];
        while (orderId != 0) {
            StoredOrder storage o = _orders[orderId];
            if (o.orderType == OrderType.SELL && o.status == OrderStatus.ACTIVE) amountWh += o.amountWh - o.filledWh;
            orderId = o.previousOrderId;
        }
    }

    /// @dev Pausable's hooks also set the copy of the flag that createOrder reads.
    function _pause() internal override {
        super._pause();
        _ordersPaused = true;
    }

    function _unpause() internal override {
        super._unpause();
        _ordersPaused = false;
    }

    /// @dev Books `amountWh` of a SELL order as sold: its escrowed energy now backs the transaction.
    function _fillSell(uint256 orderId, StoredOrder memory sell, uint256 amountWh) private {
        uint256 filledWh = sell.filledWh + amountWh;
        StoredOrder storage stored = _orders[orderId];
        stored.filledWh = uint48(filledWh);
        if (filledWh == sell.amountWh) stored.status = OrderStatus.FILLED;
    }

    /// @dev Books `amountWh` of a BUY order as bought at `pricePerKWh` and records the transaction
    /// with the carries that fix its payment and refund (OrderMath).
    function _fillBuy(
        uint256 buyOrderId,
        uint256 sellOrderId,
        StoredOrder memory buy,
        uint256 amountWh,
        uint256 pricePerKWh
    ) private returns (uint256 transactionId) {
        uint256 carry = buy.paymentCarry;
        uint256 refundCarry = OrderMath.refundCarry(buy.filledWh, buy.pricePerKWh, carry);
        uint256 filledWh = buy.filledWh + amountWh;
        uint256 carryAfter = OrderMath.nextCarry(carry, amountWh, pricePerKWh);
        StoredOrder storage stored = _orders[buyOrderId];
        stored.filledWh = uint48(filledWh);
        stored.paymentCarry = uint16(carryAfter);
        bool releasesDust;
        if (filledWh == buy.amountWh) {
            stored.status = OrderStatus.FILLED;
            // What is left of a filled order's escrow is 0 or 1 unit (OrderMath).
            releasesDust = OrderMath.buyEscrowLeft(buy.amountWh, filledWh, buy.pricePerKWh, carryAfter) != 0;
        }
        transactionId = _recordTransaction(buyOrderId, sellOrderId, amountWh, carry, refundCarry, releasesDust);
    }

    /// @dev Cancels an ACTIVE order; returns its unfilled Wh and the escrow to give back.
    function _close(uint256 orderId, StoredOrder memory o) private returns (uint256 unfilledWh, uint256 refund) {
        _orders[orderId].status = OrderStatus.CANCELLED;
        unfilledWh = o.amountWh - o.filledWh;
        refund = o.orderType == OrderType.SELL
            ? unfilledWh
            : OrderMath.buyEscrowLeft(o.amountWh, o.filledWh, o.pricePerKWh, o.paymentCarry);
    }

    function _returnEscrow(StoredOrder memory o, uint256 refund) private {
        if (refund == 0) return;
        if (o.orderType == OrderType.SELL) {
            _energy().safeTransfer(o.trader, refund);
        } else {
            _payment().safeTransfer(o.trader, refund);
        }
    }

    function _pullEnergy(address from, uint256 amountWh) private {
        IERC20 token = _energy();
        uint256 availableWh = token.balanceOf(from);
        if (availableWh < amountWh) revert InsufficientEnergyBalance(from, amountWh, availableWh);
        token.safeTransferFrom(from, address(this), amountWh);
    }

    function _pullPayment(address from, uint256 amount) private {
        IERC20 token = _payment();
        uint256 available = token.balanceOf(from);
        if (available < amount) revert InsufficientPaymentBalance(from, amount, available);
        token.safeTransferFrom(from, address(this), amount);
    }

    function _orderInfo(uint256 orderId, StoredOrder memory o) private view returns (OrderInfo memory info) {
        info.orderId = orderId;
        info.trader = o.trader;
        info.amount = o.amountWh;
        info.filledAmount = o.filledWh;
        info.price = o.pricePerKWh;
        info.expiry = o.expiry;
        info.orderType = o.orderType;
        info.status = o.status;
        if (o.directed) info.counterparty = _counterparties[orderId];
        info.previousOrderId = o.previousOrderId;
        if (o.status == OrderStatus.ACTIVE) {
            info.escrow = o.orderType == OrderType.SELL
                ? o.amountWh - o.filledWh
                : OrderMath.buyEscrowLeft(o.amountWh, o.filledWh, o.pricePerKWh, o.paymentCarry);
        }
    }

    /// @inheritdoc Settlement
    function _tradeTerms(uint256 transactionId, TransactionRecord memory t)
        internal
        view
        override
        returns (TradeTerms memory terms)
    {
        uint256 buyOrderId = t.buyOrderId;
        uint256 sellOrderId = t.sellOrderId;
        if (buyOrderId == 0) {
            // A taker bought from a SELL order at its price.
            StoredOrder storage taken = _orders[sellOrderId];
            uint256 sellPricePerKWh = taken.pricePerKWh;
            return TradeTerms(_takers[transactionId], taken.trader, sellPricePerKWh, sellPricePerKWh);
        }
        StoredOrder storage buy = _orders[buyOrderId];
        uint256 buyPricePerKWh = buy.pricePerKWh;
        if (sellOrderId == 0) {
            // A taker sold into a BUY order at its price.
            return TradeTerms(buy.trader, _takers[transactionId], buyPricePerKWh, buyPricePerKWh);
        }
        StoredOrder storage sell = _orders[sellOrderId];
        uint256 pricePerKWh = buyOrderId < sellOrderId ? buyPricePerKWh : sell.pricePerKWh;
        return TradeTerms(buy.trader, sell.trader, pricePerKWh, buyPricePerKWh);
    }
}
