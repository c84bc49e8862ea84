// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IEnergyMarket, IEnergyTrading} from "./interfaces/IEnergyTrading.sol";
import {IReferencePrice} from "./interfaces/IPriceDiscovery.sol";
import {OrderMath} from "./libraries/OrderMath.sol";
import {PriceLevels} from "./libraries/PriceLevels.sol";
import {Settlement} from "./Settlement.sol";
import {InvalidPageSize, OrderUnknown, ZeroAmount} from "./interfaces/GridErrors.sol";

/// @title EnergyTrading
/// @notice Peer-to-peer energy order book, continuous: orders escrow their value when created (a
/// SELL locks its EnergyToken (Wh), a BUY locks ceil(amount * price / 1000) PaymentToken), and a
/// new undirected order trades at once with the resting undirected orders it crosses, best price
/// first and in arrival order within a price, each fill at the resting order's price (a crossing
/// buyer keeps its price improvement: it comes back at settlement). Only what is left rests, so no
/// two live undirected orders of different traders ever rest crossed and nobody can race to pick
/// a crossing order's counterparty. An order that would cross more than MAX_FILLS_PER_ORDER
/// resting orders reverts with TooManyCrossings and moves nothing. An order that would cross a
/// resting order of its own trader reverts with SelfTrade (cancel it first): no wash trades.
/// Directed orders are bilateral offers outside the index: they trade only with their named
/// counterparty, by fillOrder or matchOrders. Anyone may still match a crossing BUY and SELL (at
/// the earlier order's price, partial fills tracked) or take an order directly with fillOrder
/// bringing the other side. Every trade is recorded as a transaction that Settlement pays out.
/// An optional price band (setPriceBand; off by default) rejects new orders priced outside a
/// reference price (PriceDiscovery) ± a share of it; trades execute at the orders' prices.
/// Traders approve only this contract, for both tokens. The tokens must be plain ERC-20s (no fee
/// on transfer, no rebasing).
/// @dev Resting undirected orders sit in a FIFO queue per price and side (a linked list through
/// the orders), and the occupied prices in a hierarchical bitmap (PriceLevels), so the best
/// opposite level is found without a loop over orders; the best bid and ask are cached so a
/// non-crossing order costs one comparison. Orders that leave the book another way (cancel,
/// matchOrders, fillOrder, expiry) stay in their queue as dead entries and are unlinked when a
/// crossing order reaches them (at most MAX_DEAD_ENTRIES_PER_CALL per call) or by pruneLevel.
/// Every loop is bounded by a constant. A trader's orders form a linked list walked backwards by a
/// view. An order is two storage slots.
contract EnergyTrading is Settlement, IEnergyMarket {
    using SafeERC20 for IERC20;

    /// @notice Largest order: 281 TWh (uint48).
    uint256 public constant MAX_ORDER_AMOUNT_WH = type(uint48).max;
    /// @notice Highest maximum price the admin can set (uint72, 4.7e21), PaymentToken base units per
    /// kWh: 4,722 whole units per kWh of an 18-decimals token, over a thousand times a retail
    /// price and above every wholesale scarcity cap (a few units per kWh). 72 bits keep the price
    /// index at nine bitmap heights and both cached best prices in the slot every order writes.
    uint256 public constant PRICE_CAP_PER_KWH = type(uint72).max;
    /// @notice Longest an order can live.
    uint256 public constant MAX_ORDER_LIFETIME = 365 days;
    /// @notice Most orders in one getTraderOrders page.
    uint256 public constant MAX_PAGE_SIZE = 100;
    /// @notice Widest price band: ±100 % of the reference price.
    uint256 public constant MAX_PRICE_BAND_BPS = 10_000;
    /// @notice Most resting orders one new order trades with. A fill costs ~37,000 gas, emptying a
    /// level up to ~50,000 more (bitmap words cleared, the next level searched): 32 fills on 32
    /// levels spread over the whole price range, after 64 dead entries, measured 3.1 million gas,
    /// far below a block.
    uint256 public constant MAX_FILLS_PER_ORDER = 32;
    /// @notice Most dead queue entries a new order skips, and most entries a pruneLevel call visits.
    uint256 public constant MAX_DEAD_ENTRIES_PER_CALL = 64;

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
        uint40 nextInLevel; // the next order in its price level's queue; 0 = last
    }

    /// @dev A price level's FIFO queue of resting orders (dead entries included).
    struct PriceLevel {
        uint40 headOrderId; // 0 = empty level
        uint40 tailOrderId;
    }

    // One slot, the only global one createOrder writes (with the price band off and no new best price).
    bool private _ordersPaused; // mirrors Pausable's flag, so createOrder reads one slot
    uint40 private _orderCount;
    uint48 private _minOrderAmountWh = 1;
    uint72 private _maxPricePerKWh = type(uint72).max;
    uint16 private _priceBandBps; // 0 = off
    // One slot: [BUY] the highest bid level, [SELL] the lowest ask level in the index; 0 = none.
    uint72[2] private _bestPerKWh;
    // Read only while the price band is on.
    IReferencePrice private _referencePrice;
    uint32 private _priceBandRegionId;
    mapping(uint256 orderId => StoredOrder) private _orders;
    mapping(address trader => uint256 orderId) private _latestOrderIds;
    mapping(uint256 orderId => address) private _counterparties;
    mapping(uint256 transactionId => address) private _takers;
    mapping(uint256 levelKey => PriceLevel) private _levels;
    mapping(uint256 wordKey => uint256) private _levelBitmap;

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
        _close(orderId, true);
    }

    /// @inheritdoc IEnergyMarket
    function releaseExpiredOrder(uint256 orderId) external nonReentrant {
        _close(orderId, false);
    }

    /// @inheritdoc IEnergyMarket
    function pruneLevel(OrderType orderType, uint256 pricePerKWh) external returns (uint256 removedEntries) {
        uint256 key = _levelKey(orderType, pricePerKWh);
        PriceLevel memory level = _levels[key];
        uint256 orderId = level.headOrderId;
        if (orderId == 0) revert EmptyPriceLevel(orderType, pricePerKWh);
        uint256 previousId;
        for (uint256 visited; orderId != 0 && visited < MAX_DEAD_ENTRIES_PER_CALL; ++visited) {
            StoredOrder storage o = _orders[orderId];
            uint256 nextId = o.nextInLevel;
            if (o.status == OrderStatus.ACTIVE && block.timestamp < o.expiry) {
                previousId = orderId;
            } else {
                ++removedEntries;
                if (previousId == 0) level.headOrderId = uint40(nextId);
                else _orders[previousId].nextInLevel = uint40(nextId);
                if (nextId == 0) level.tailOrderId = uint40(previousId);
            }
            orderId = nextId;
        }
        if (level.headOrderId == 0) {
            _removeLevel(key, orderType, pricePerKWh);
            uint256 side = uint256(orderType);
            if (_bestPerKWh[side] == pricePerKWh) _bestPerKWh[side] = uint72(_nextLevel(orderType, pricePerKWh));
        } else {
            _levels[key] = level;
        }
        emit PriceLevelPruned(orderType, pricePerKWh, removedEntries);
    }

    // ----------------------------------------------------------------------------- trading

    /// @inheritdoc IEnergyTrading
    function matchOrders(uint256 buyOrderId, uint256 sellOrderId)
        external
        whenNotPaused
        returns (uint256 transactionId)
    {
        StoredOrder memory buy = _tradableOrder(buyOrderId, OrderType.BUY, true);
        StoredOrder memory sell = _tradableOrder(sellOrderId, OrderType.SELL, true);
        if (buy.trader == sell.trader) revert SelfTrade(buy.trader);
        if (buy.pricePerKWh < sell.pricePerKWh) revert PricesDoNotCross(buy.pricePerKWh, sell.pricePerKWh);
        if (buy.directed) _checkCounterparty(buyOrderId, sell.trader);
        if (sell.directed) _checkCounterparty(sellOrderId, buy.trader);
        uint256 buyLeftWh = buy.amountWh - buy.filledWh;
        uint256 sellLeftWh = sell.amountWh - sell.filledWh;
        return _match(buyOrderId, buy, sellOrderId, sell, buyLeftWh < sellLeftWh ? buyLeftWh : sellLeftWh);
    }

    /// @inheritdoc IEnergyMarket
    function fillOrder(uint256 orderId, uint256 amountWh)
        external
        whenNotPaused
        nonReentrant
        returns (uint256 transactionId)
    {
        StoredOrder memory o = _tradableOrder(orderId, OrderType.BUY, false);
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
        _pull(o.orderType == OrderType.BUY, amountWh, o.pricePerKWh);
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
        _maxPricePerKWh = uint72(pricePerKWh);
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
            StoredOrder memory o = _knownOrder(orderId);
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

    /// @inheritdoc IEnergyMarket
    function bestPrices() external view returns (uint256 bestBidPerKWh, uint256 bestAskPerKWh) {
        return (_bestPerKWh[uint256(OrderType.BUY)], _bestPerKWh[uint256(OrderType.SELL)]);
    }

    /// @inheritdoc IEnergyMarket
    function nextPriceLevel(OrderType orderType, uint256 pricePerKWh) external view returns (uint256) {
        return _nextLevel(orderType, pricePerKWh);
    }

    /// @inheritdoc IEnergyMarket
    function priceLevel(OrderType orderType, uint256 pricePerKWh)
        external
        view
        returns (uint256 headOrderId, uint256 tailOrderId)
    {
        PriceLevel memory level = _levels[_levelKey(orderType, pricePerKWh)];
        return (level.headOrderId, level.tailOrderId);
    }

    /// @inheritdoc IEnergyMarket
    function nextInLevel(uint256 orderId) external view returns (uint256) {
        return _orders[orderId].nextInLevel;
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
        StoredOrder memory o = StoredOrder({
            trader: msg.sender,
            pricePerKWh: uint96(pricePerKWh),
            amountWh: uint48(amountWh),
            filledWh: 0,
            expiry: uint40(expiry),
            previousOrderId: uint40(_latestOrderIds[msg.sender]),
            paymentCarry: 0,
            orderType: orderType,
            status: OrderStatus.ACTIVE,
            directed: directed,
            nextInLevel: 0
        });
        _orders[orderId] = o;
        _latestOrderIds[msg.sender] = orderId;
        emit OrderCreated(orderId, msg.sender, orderType, amountWh, pricePerKWh, expiry, counterparty);
        if (directed) {
            _counterparties[orderId] = counterparty;
        } else {
            _trade(orderId, o);
        }
        _pull(orderType == OrderType.SELL, amountWh, pricePerKWh);
    }

    /// @dev Crosses a new undirected order with the opposite side of the index, best level first,
    /// each level in arrival order, at the resting orders' prices; rests what is left. Resting
    /// orders always have the lower id, so Settlement prices each fill at theirs (_tradeTerms).
    function _trade(uint256 orderId, StoredOrder memory o) private {
        bool isBuy = o.orderType == OrderType.BUY;
        OrderType restingType = isBuy ? OrderType.SELL : OrderType.BUY;
        uint256 limitPerKWh = o.pricePerKWh;
        uint256 levelPricePerKWh = _bestPerKWh[uint256(restingType)];
        uint256 remainingWh = o.amountWh;
        if (levelPricePerKWh != 0 && (isBuy ? levelPricePerKWh <= limitPerKWh : levelPricePerKWh >= limitPerKWh)) {
            uint256 fills;
            uint256 deadEntries;
            while (true) {
                uint256 key = _levelKey(restingType, levelPricePerKWh);
                uint256 headId = _levels[key].headOrderId;
                uint256 restingId = headId;
                while (restingId != 0 && remainingWh != 0) {
                    StoredOrder memory r = _knownOrder(restingId);
                    if (!_isLive(r)) {
                        if (++deadEntries > MAX_DEAD_ENTRIES_PER_CALL) {
                            revert TooManyDeadEntries(MAX_DEAD_ENTRIES_PER_CALL);
                        }
                        restingId = r.nextInLevel;
                        continue;
                    }
                    if (r.trader == o.trader) revert SelfTrade(o.trader);
                    if (fills == MAX_FILLS_PER_ORDER) revert TooManyCrossings(MAX_FILLS_PER_ORDER);
                    ++fills;
                    (remainingWh, restingId) = _fillResting(orderId, o, restingId, r, remainingWh);
                }
                if (restingId != 0) {
                    // The new order is filled inside this level.
                    if (restingId != headId) _levels[key].headOrderId = uint40(restingId);
                    break;
                }
                _removeLevel(key, restingType, levelPricePerKWh);
                levelPricePerKWh = _nextLevel(restingType, isBuy ? levelPricePerKWh + 1 : levelPricePerKWh - 1);
                if (
                    remainingWh == 0 || levelPricePerKWh == 0
                        || (isBuy ? levelPricePerKWh > limitPerKWh : levelPricePerKWh < limitPerKWh)
                ) break;
            }
            _bestPerKWh[uint256(restingType)] = uint72(levelPricePerKWh);
        }
        if (remainingWh == 0) return;
        // Rest the remainder at the tail of its level.
        uint256 ownKey = _levelKey(o.orderType, limitPerKWh);
        uint256 tailId = _levels[ownKey].tailOrderId;
        if (tailId == 0) {
            _levels[ownKey] = PriceLevel(uint40(orderId), uint40(orderId));
            PriceLevels.insert(_levelBitmap, uint256(o.orderType), limitPerKWh);
        } else {
            _orders[tailId].nextInLevel = uint40(orderId);
            _levels[ownKey].tailOrderId = uint40(orderId);
        }
        uint256 bestPerKWh = _bestPerKWh[uint256(o.orderType)];
        if (bestPerKWh == 0 || (isBuy ? limitPerKWh > bestPerKWh : limitPerKWh < bestPerKWh)) {
            _bestPerKWh[uint256(o.orderType)] = uint72(limitPerKWh);
        }
    }

    /// @dev Trades as much as the new order `o` (with `remainingWh` left) and the resting order `r`
    /// both have left, at r's price; returns what `o` has left and the queue's next head.
    function _fillResting(
        uint256 orderId,
        StoredOrder memory o,
        uint256 restingId,
        StoredOrder memory r,
        uint256 remainingWh
    ) private returns (uint256, uint256) {
        uint256 leftWh = r.amountWh - r.filledWh;
        uint256 amountWh = leftWh < remainingWh ? leftWh : remainingWh;
        if (o.orderType == OrderType.BUY) _match(orderId, o, restingId, r, amountWh);
        else _match(restingId, r, orderId, o, amountWh);
        return (remainingWh - amountWh, amountWh == leftWh ? r.nextInLevel : restingId);
    }

    /// @dev Books a trade of `amountWh` between a BUY and a SELL at the earlier order's price.
    function _match(
        uint256 buyOrderId,
        StoredOrder memory buy,
        uint256 sellOrderId,
        StoredOrder memory sell,
        uint256 amountWh
    ) private returns (uint256 transactionId) {
        // The resting (earlier) order sets the price.
        uint256 pricePerKWh = buyOrderId < sellOrderId ? buy.pricePerKWh : sell.pricePerKWh;
        _fillSell(sellOrderId, sell, amountWh);
        transactionId = _fillBuy(buyOrderId, sellOrderId, buy, amountWh, pricePerKWh);
        emit OrdersMatched(transactionId, buyOrderId, sellOrderId, amountWh, pricePerKWh);
    }

    function _removeLevel(uint256 key, OrderType orderType, uint256 pricePerKWh) private {
        delete _levels[key];
        PriceLevels.remove(_levelBitmap, uint256(orderType), pricePerKWh);
    }

    function _nextLevel(OrderType orderType, uint256 pricePerKWh) private view returns (uint256) {
        return PriceLevels.next(_levelBitmap, uint256(orderType), pricePerKWh);
    }

    function _levelKey(OrderType orderType, uint256 pricePerKWh) private pure returns (uint256) {
        return (pricePerKWh << 1) | uint256(orderType);
    }

    /// @dev An order that can still trade: ACTIVE and not expired.
    function _isLive(StoredOrder memory o) private view returns (bool) {
        return o.status == OrderStatus.ACTIVE && block.timestamp < o.expiry;
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

    /// @dev An order that can trade now: known, ACTIVE and not expired (and of `orderType` when checkType).
    function _tradableOrder(uint256 orderId, OrderType orderType, bool checkType)
        private
        view
        returns (StoredOrder memory o)
    {
        o = _knownOrder(orderId);
        if (checkType && o.orderType != orderType) revert WrongOrderType(orderId, orderType);
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
        sell.filledWh = uint48(filledWh);
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
        buy.filledWh = uint48(filledWh);
        buy.paymentCarry = uint16(carryAfter);
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

    /// @dev Cancels an ACTIVE order, by its trader (cancelOrder) or, once expired, by anyone
    /// (releaseExpiredOrder), and returns its unfilled escrow. Its queue entry, if any, turns dead.
    function _close(uint256 orderId, bool byTrader) private {
        StoredOrder memory o = _knownOrder(orderId);
        if (byTrader && o.trader != msg.sender) revert NotOrderTrader(orderId, msg.sender);
        if (o.status != OrderStatus.ACTIVE) revert OrderNotActive(orderId, o.status);
        if (!byTrader && block.timestamp < o.expiry) revert OrderNotExpired(orderId, o.expiry);
        _orders[orderId].status = OrderStatus.CANCELLED;
        uint256 unfilledWh = o.amountWh - o.filledWh;
        bool isSell = o.orderType == OrderType.SELL;
        uint256 refund =
            isSell ? unfilledWh : OrderMath.buyEscrowLeft(o.amountWh, o.filledWh, o.pricePerKWh, o.paymentCarry);
        if (byTrader) emit OrderCancelled(orderId, msg.sender, unfilledWh, refund);
        else emit ExpiredOrderReleased(orderId, o.trader, msg.sender, unfilledWh, refund);
        if (refund != 0) (isSell ? _energy() : _payment()).safeTransfer(o.trader, refund);
    }

    /// @dev Takes the caller's side of an order or fill into escrow: `amountWh` of EnergyToken, or
    /// what it costs at `pricePerKWh` in PaymentToken, rounded up.
    function _pull(bool energy, uint256 amountWh, uint256 pricePerKWh) private {
        IERC20 token = energy ? _energy() : _payment();
        uint256 amount = energy ? amountWh : OrderMath.costCeil(amountWh, pricePerKWh);
        uint256 available = token.balanceOf(msg.sender);
        if (available < amount) {
            if (energy) revert InsufficientEnergyBalance(msg.sender, amount, available);
            revert InsufficientPaymentBalance(msg.sender, amount, available);
        }
        token.safeTransferFrom(msg.sender, address(this), amount);
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
