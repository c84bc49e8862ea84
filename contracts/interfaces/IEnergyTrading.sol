// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {InvalidPageSize, OrderUnknown, ZeroAmount} from "./GridErrors.sol";

/// @title IEnergyTrading
/// @notice The seed architecture's order-book interface, exactly; `matchOrders` also returns the
/// id of the transaction it records. Units: `amount` in Wh (EnergyToken units), `price` in
/// PaymentToken base units per kWh, `expiry` in unix seconds.
interface IEnergyTrading {
    /// @notice An order as the seed defines it.
    struct Order {
        address trader; // who created it and whose escrow it holds
        uint256 amount; // Wh to buy or sell
        uint256 price; // PaymentToken base units per kWh (a limit: a trade may execute at a better price)
        uint256 expiry; // unix s; the order can trade while block.timestamp < expiry
        OrderType orderType;
        OrderStatus status;
    }

    enum OrderType {
        BUY,
        SELL
    }

    enum OrderStatus {
        ACTIVE,
        FILLED,
        CANCELLED
    }

    /// @notice Creates an order open to every counterparty and escrows its value: a SELL locks
    /// `amount` Wh of EnergyToken, a BUY locks ceil(amount * price / 1000) PaymentToken.
    /// It trades at once with the resting orders it crosses, and rests only what is left.
    function createOrder(uint256 amount, uint256 price, uint256 expiry, OrderType orderType)
        external
        returns (uint256 orderId);

    /// @notice Cancels the caller's active order and refunds its unfilled escrow.
    function cancelOrder(uint256 orderId) external;

    /// @notice Matches a BUY with a SELL order (anyone may call) for as much as both have left,
    /// at the earlier order's price, and records a transaction for settlement.
    function matchOrders(uint256 buyOrderId, uint256 sellOrderId) external returns (uint256 transactionId);

    /// @notice Pays out a recorded transaction once its settlement window has passed (anyone may call).
    function settleTransaction(uint256 transactionId) external;
}

/// @title IEnergyMarket
/// @notice IEnergyTrading plus immediate crossing (a continuous book), taker fills (seed 003
/// accept-energy-offer), directed offers (seed 000 create-trade / complete-trade), expiry release,
/// market bounds and getters.
/// @dev Undirected orders rest in an on-chain index of price levels (one FIFO queue per price and
/// side) and createOrder trades against it at once; directed orders stay outside it. Every order
/// can also be rebuilt off-chain from OrderCreated, OrdersMatched, OrderTaken, OrderCancelled and
/// ExpiredOrderReleased: they carry ids, traders, type, amounts, prices, expiry and counterparty.
interface IEnergyMarket is IEnergyTrading {
    /// @notice An order with its fill state and restrictions.
    struct OrderInfo {
        uint256 orderId;
        address trader;
        uint256 amount; // Wh ordered
        uint256 filledAmount; // Wh traded so far
        uint256 price; // limit price, PaymentToken base units per kWh
        uint256 expiry; // unix s
        OrderType orderType;
        OrderStatus status;
        address counterparty; // the only address that may trade against it; 0 = anyone
        uint256 previousOrderId; // the trader's previous order (paging link); 0 = none
        uint256 escrow; // value still locked: Wh for a SELL, PaymentToken for a BUY; 0 once closed
    }

    /// @notice A trader created an order and escrowed its value.
    /// @param counterparty The only address that may trade against it; 0 = anyone.
    event OrderCreated(
        uint256 indexed orderId,
        address indexed trader,
        OrderType indexed orderType,
        uint256 amountWh,
        uint256 pricePerKWh,
        uint256 expiry,
        address counterparty
    );
    /// @notice A BUY and a SELL order traded `amountWh` at `pricePerKWh`, recorded as `transactionId`.
    event OrdersMatched(
        uint256 indexed transactionId,
        uint256 indexed buyOrderId,
        uint256 indexed sellOrderId,
        uint256 amountWh,
        uint256 pricePerKWh
    );
    /// @notice `taker` traded `amountWh` against `orderId` at its price, bringing the other side.
    event OrderTaken(
        uint256 indexed transactionId,
        uint256 indexed orderId,
        address indexed taker,
        uint256 amountWh,
        uint256 pricePerKWh
    );
    /// @notice The trader cancelled an order; `refundedEscrow` (Wh for a SELL, PaymentToken for a BUY) went back.
    event OrderCancelled(uint256 indexed orderId, address indexed trader, uint256 unfilledWh, uint256 refundedEscrow);
    /// @notice `releasedBy` returned an expired order's escrow to its trader.
    event ExpiredOrderReleased(
        uint256 indexed orderId,
        address indexed trader,
        address indexed releasedBy,
        uint256 unfilledWh,
        uint256 refundedEscrow
    );
    /// @notice The admin changed the smallest order amount.
    event MinOrderAmountUpdated(uint256 previousWh, uint256 newWh);
    /// @notice The admin changed the highest order price.
    event MaxPriceUpdated(uint256 previousPricePerKWh, uint256 newPricePerKWh);
    /// @notice The admin set the price band: new orders must be priced within `bandBps` of
    /// `referencePrice`'s price for `regionId` (bandBps 0 = off).
    event PriceBandUpdated(address indexed referencePrice, uint32 indexed regionId, uint256 bandBps);
    /// @notice Someone unlinked `removedEntries` orders that had left the book (cancelled, filled,
    /// expired) from the queue of the `orderType` level at `pricePerKWh`.
    event PriceLevelPruned(OrderType indexed orderType, uint256 indexed pricePerKWh, uint256 removedEntries);

    /// @notice An order smaller than the configured minimum.
    error AmountBelowMinimum(uint256 amountWh, uint256 minAmountWh);
    /// @notice An order larger than MAX_ORDER_AMOUNT_WH.
    error AmountAboveMaximum(uint256 amountWh, uint256 maxAmountWh);
    /// @notice An order priced at zero.
    error ZeroPrice();
    /// @notice An order priced above the configured maximum.
    error PriceAboveMaximum(uint256 pricePerKWh, uint256 maxPricePerKWh);
    /// @notice An expiry at or before the current block's timestamp.
    error ExpiryNotInFuture(uint256 expiry, uint256 blockTimestamp);
    /// @notice An expiry more than MAX_ORDER_LIFETIME ahead.
    error ExpiryTooFar(uint256 expiry, uint256 latestExpiry);
    /// @notice A directed order naming the zero address or its own creator.
    error InvalidCounterparty(address counterparty);
    /// @notice The caller holds less EnergyToken than the order or fill locks.
    error InsufficientEnergyBalance(address account, uint256 requiredWh, uint256 availableWh);
    /// @notice The caller holds less PaymentToken than the order or fill locks.
    error InsufficientPaymentBalance(address account, uint256 required, uint256 available);
    /// @notice The order is FILLED or CANCELLED.
    error OrderNotActive(uint256 orderId, OrderStatus status);
    /// @notice The order expired; it can no longer trade.
    error OrderExpired(uint256 orderId, uint256 expiry);
    /// @notice The order has not expired yet, so only its trader may close it.
    error OrderNotExpired(uint256 orderId, uint256 expiry);
    /// @notice The order has the other type than its position requires (a SELL passed as buyOrderId, ...).
    error WrongOrderType(uint256 orderId, OrderType expected);
    /// @notice Only the order's trader may cancel it.
    error NotOrderTrader(uint256 orderId, address caller);
    /// @notice The bid is below the ask.
    error PricesDoNotCross(uint256 buyPricePerKWh, uint256 sellPricePerKWh);
    /// @notice Both sides belong to `trader`.
    error SelfTrade(address trader);
    /// @notice A directed order may only trade with its named counterparty.
    error NotCounterparty(uint256 orderId, address account);
    /// @notice A fill larger than what is left of the order.
    error FillExceedsRemaining(uint256 orderId, uint256 amountWh, uint256 remainingWh);
    /// @notice A fill smaller than the minimum order amount that does not take the whole rest.
    error FillBelowMinimum(uint256 amountWh, uint256 minAmountWh);
    /// @notice A paging cursor that is not one of `trader`'s orders.
    error InvalidCursor(address trader, uint256 cursor);
    /// @notice A minimum order amount of zero or above MAX_ORDER_AMOUNT_WH.
    error MinOrderAmountOutOfRange(uint256 amountWh, uint256 maxAmountWh);
    /// @notice A maximum price of zero or above PRICE_CAP_PER_KWH.
    error MaxPriceOutOfRange(uint256 pricePerKWh, uint256 priceCapPerKWh);
    /// @notice An order priced outside the price band: reference × (1 ± band), bounds inclusive.
    error PriceOutsideBand(uint256 pricePerKWh, uint256 minPricePerKWh, uint256 maxPricePerKWh);
    /// @notice A price band wider than MAX_PRICE_BAND_BPS.
    error PriceBandOutOfRange(uint256 bandBps, uint256 maxBandBps);
    /// @notice A price band switched on without a reference price source.
    error InvalidReferencePrice(address referencePrice);
    /// @notice The new order crosses more resting orders than MAX_FILLS_PER_ORDER: split it, or
    /// lower its limit so that it crosses fewer.
    error TooManyCrossings(uint256 maxFills);
    /// @notice The new order would have to skip more orders that left the book than
    /// MAX_DEAD_ENTRIES_PER_CALL: pruneLevel the levels it crosses first.
    error TooManyDeadEntries(uint256 maxDeadEntries);
    /// @notice The `orderType` level at `pricePerKWh` has no queue to prune.
    error EmptyPriceLevel(OrderType orderType, uint256 pricePerKWh);

    /// @notice Like createOrder, but only `counterparty` may trade against it (seed 000 create-trade).
    /// A directed order is a bilateral offer: it never enters the price-level index and never
    /// crosses on creation; it trades by fillOrder or matchOrders with its counterparty.
    function createDirectedOrder(
        uint256 amount,
        uint256 price,
        uint256 expiry,
        OrderType orderType,
        address counterparty
    ) external returns (uint256 orderId);

    /// @notice Takes `amountWh` of an order at its price (seed 003 accept-energy-offer): filling a
    /// SELL pays ceil(amountWh * price / 1000) PaymentToken, filling a BUY delivers `amountWh` EnergyToken,
    /// both escrowed in this call. Records a transaction for settlement.
    function fillOrder(uint256 orderId, uint256 amountWh) external returns (uint256 transactionId);

    /// @notice Returns an expired order's unfilled escrow to its trader and cancels it (anyone may call).
    function releaseExpiredOrder(uint256 orderId) external;

    /// @notice Unlinks orders that left the book (cancelled, filled, expired) from the first
    /// MAX_DEAD_ENTRIES_PER_CALL entries of the queue of the `orderType` level at `pricePerKWh`
    /// (anyone may call; a level left empty leaves the index). A crossing order walks at most
    /// MAX_FILLS_PER_ORDER live entries, fewer than a call visits, so repeated calls always clear
    /// what would make it revert with TooManyDeadEntries.
    /// @return removedEntries Entries unlinked.
    function pruneLevel(OrderType orderType, uint256 pricePerKWh) external returns (uint256 removedEntries);

    /// @notice Sets the smallest order amount (also the smallest partial fill). DEFAULT_ADMIN_ROLE only.
    function setMinOrderAmount(uint256 amountWh) external;

    /// @notice Sets the highest order price. DEFAULT_ADMIN_ROLE only.
    function setMaxPrice(uint256 pricePerKWh) external;

    /// @notice Sets the price band: while `bandBps` is not 0, createOrder and createDirectedOrder
    /// revert with PriceOutsideBand for a price outside `referencePrice.getReferencePrice(regionId)`
    /// × (1 ± bandBps / 10,000), and with the reference's own error when its data is missing or
    /// stale. 0 switches it off (the default). DEFAULT_ADMIN_ROLE only.
    function setPriceBand(address referencePrice, uint32 regionId, uint256 bandBps) external;

    /// @notice The order in the seed's shape.
    function getOrder(uint256 orderId) external view returns (Order memory);

    /// @notice The order with fill state, counterparty, paging link and locked escrow.
    function getOrderInfo(uint256 orderId) external view returns (OrderInfo memory);

    /// @notice `trader`'s orders, newest first: up to `limit` from `cursor` (0 = from the newest).
    /// @return orders The page.
    /// @return nextCursor Pass it to get the next page; 0 when there is none.
    function getTraderOrders(address trader, uint256 cursor, uint256 limit)
        external
        view
        returns (OrderInfo[] memory orders, uint256 nextCursor);

    /// @notice `trader`'s newest order id; 0 = none.
    function latestOrderOf(address trader) external view returns (uint256);

    /// @notice Energy `account` owns: its EnergyToken balance plus Wh escrowed in its open SELL orders (seed 003).
    /// @dev Walks the account's order list (one storage read per order): a view for off-chain callers.
    function getEnergyBalance(address account) external view returns (uint256 amountWh);

    /// @notice Wh escrowed in `account`'s open SELL orders.
    /// @dev Walks the account's order list, like getEnergyBalance.
    function escrowedEnergyOf(address account) external view returns (uint256 amountWh);

    /// @notice Orders created so far; order ids run from 1 to this.
    function orderCount() external view returns (uint256);

    /// @notice The smallest order amount, also the smallest partial fill (a fill of an order's whole rest is always allowed).
    function minOrderAmount() external view returns (uint256 amountWh);

    /// @notice The highest order price.
    function maxPrice() external view returns (uint256 pricePerKWh);

    /// @notice The price band: its reference price source, region and width (0 = off).
    function priceBand() external view returns (address referencePrice, uint32 regionId, uint256 bandBps);

    /// @notice The highest BUY and lowest SELL level of the index (0 = none). A level stays in the
    /// index until a crossing order or pruneLevel finds only dead entries in it, so these bound the
    /// best live prices: best live bid <= bestBid, best live ask >= bestAsk.
    function bestPrices() external view returns (uint256 bestBidPerKWh, uint256 bestAskPerKWh);

    /// @notice The next level of the index in priority order from `pricePerKWh` on: for SELL the
    /// lowest at or above it, for BUY the highest at or below it; 0 = none.
    function nextPriceLevel(OrderType orderType, uint256 pricePerKWh) external view returns (uint256);

    /// @notice The queue of the `orderType` level at `pricePerKWh`: first and last order id (0 = empty).
    function priceLevel(OrderType orderType, uint256 pricePerKWh)
        external
        view
        returns (uint256 headOrderId, uint256 tailOrderId);

    /// @notice The order after `orderId` in its level's queue (0 = last, or not queued).
    function nextInLevel(uint256 orderId) external view returns (uint256);
}
