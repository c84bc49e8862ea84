// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyTrading} from "./IEnergyTrading.sol";

/// @title IEnergyMarket
/// @notice IEnergyTrading plus immediate crossing (a continuous book), taker fills (accepting an
/// energy offer), directed offers (a trade proposed to one counterparty), expiry release,
/// orders and cancellations signed by the trader and submitted by any relayer (EIP-712), market
/// bounds and getters.
/// @dev Undirected orders rest in an on-chain index of price levels (one FIFO queue per price and
/// side) and createOrder trades against it at once; directed orders stay outside it. Every order
/// can also be rebuilt off-chain from OrderCreated, OrdersMatched, OrderTaken, OrderCancelled and
/// ExpiredOrderReleased: they carry ids, traders, type, amounts, prices, expiry and counterparty.
/// Signed messages (EIP-712 domain: name "EnergyTrading", version "1", the chain id, this contract):
///   Order(address trader,uint256 amountWh,uint256 pricePerKWh,uint256 expiry,uint8 orderType,address counterparty,uint256 nonce,uint256 deadline)
///   CancelOrder(uint256 orderId,uint256 nonce,uint256 deadline)
/// Each consumes the signer's nonce (nonces(trader)): one signed message per nonce, in order.
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
        uint256 escrow; // value still locked: Wh for a SELL, PaymentToken for a BUY; 0 once closed
    }

    /// @notice An order as its trader signs it (EIP-712 type `Order`) for a relayer to submit.
    struct SignedOrder {
        address trader; // the signer: the order and its escrow are theirs, never the relayer's
        uint256 amountWh;
        uint256 pricePerKWh;
        uint256 expiry; // the order's, unix s
        OrderType orderType;
        address counterparty; // 0 = an undirected order (createOrder); else a directed one (createDirectedOrder)
        uint256 nonce; // the trader's current nonce (nonces(trader))
        uint256 deadline; // unix s: the signature can be submitted while block.timestamp < deadline
    }

    /// @notice An ERC-2612 permit of the order's escrow token (EnergyToken for a SELL, PaymentToken
    /// for a BUY), signed by the trader for the EnergyVault as spender: the vault pulls from the
    /// wallet what the trader's vault balance falls short of.
    struct PermitSignature {
        uint256 value; // the allowance it sets
        uint256 deadline; // the permit's own deadline, unix s
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice A trader created an order and escrowed its value.
    /// @param orderId The new order's id.
    /// @param trader Whose order and escrow it is (the signer of a relayed order).
    /// @param orderType BUY or SELL.
    /// @param amountWh Wh to buy or sell.
    /// @param pricePerKWh Limit price, PaymentToken base units per kWh.
    /// @param expiry Unix s; the order can trade while block.timestamp < expiry.
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
    /// @param transactionId The transaction recorded for settlement.
    /// @param buyOrderId The BUY order.
    /// @param sellOrderId The SELL order.
    /// @param amountWh Wh traded.
    /// @param pricePerKWh Trade price: the earlier order's.
    event OrdersMatched(
        uint256 indexed transactionId,
        uint256 indexed buyOrderId,
        uint256 indexed sellOrderId,
        uint256 amountWh,
        uint256 pricePerKWh
    );
    /// @notice `taker` traded `amountWh` against `orderId` at its price, bringing the other side.
    /// @param transactionId The transaction recorded for settlement.
    /// @param orderId The order taken.
    /// @param taker Who brought the other side (and escrowed it).
    /// @param amountWh Wh traded.
    /// @param pricePerKWh Trade price: the order's.
    event OrderTaken(
        uint256 indexed transactionId,
        uint256 indexed orderId,
        address indexed taker,
        uint256 amountWh,
        uint256 pricePerKWh
    );
    /// @notice The trader cancelled an order (directly or by a signed cancellation) and its escrow went back.
    /// @param orderId The order cancelled.
    /// @param trader Its trader, who got the escrow back.
    /// @param unfilledWh Wh the order had left.
    /// @param refundedEscrow Escrow returned: Wh for a SELL, PaymentToken for a BUY.
    event OrderCancelled(uint256 indexed orderId, address indexed trader, uint256 unfilledWh, uint256 refundedEscrow);
    /// @notice `releasedBy` returned an expired order's escrow to its trader.
    /// @param orderId The expired order.
    /// @param trader Its trader, who got the escrow back.
    /// @param releasedBy Who called releaseExpiredOrder.
    /// @param unfilledWh Wh the order had left.
    /// @param refundedEscrow Escrow returned: Wh for a SELL, PaymentToken for a BUY.
    event ExpiredOrderReleased(
        uint256 indexed orderId,
        address indexed trader,
        address indexed releasedBy,
        uint256 unfilledWh,
        uint256 refundedEscrow
    );
    /// @notice The admin changed the smallest order amount.
    /// @param previousWh The minimum before.
    /// @param newWh The minimum now.
    event MinOrderAmountUpdated(uint256 previousWh, uint256 newWh);
    /// @notice The admin changed the highest order price.
    /// @param previousPricePerKWh The maximum before.
    /// @param newPricePerKWh The maximum now.
    event MaxPriceUpdated(uint256 previousPricePerKWh, uint256 newPricePerKWh);
    /// @notice The admin set the price band: new orders must be priced within `bandBps` of
    /// `referencePrice`'s price for `regionId` (bandBps 0 = off).
    /// @param referencePrice The reference price source (PriceDiscovery).
    /// @param regionId The region whose reference price applies.
    /// @param bandBps Half-width of the band, basis points of the reference; 0 = off.
    event PriceBandUpdated(address indexed referencePrice, uint32 indexed regionId, uint256 bandBps);
    /// @notice Someone unlinked `removedEntries` orders that had left the book (cancelled, filled,
    /// expired) from the queue of the `orderType` level at `pricePerKWh`.
    /// @param orderType The level's side.
    /// @param pricePerKWh The level's price.
    /// @param removedEntries Entries unlinked.
    event PriceLevelPruned(OrderType indexed orderType, uint256 indexed pricePerKWh, uint256 removedEntries);
    /// @notice `trader` raised its nonce: every signed order or cancellation it signed with a lower
    /// nonce and nobody submitted yet can no longer be submitted.
    /// @param trader Whose nonce it is.
    /// @param previousNonce The nonce before.
    /// @param newNonce The nonce now: the next signed message must carry it.
    event NoncesInvalidated(address indexed trader, uint256 previousNonce, uint256 newNonce);
    /// @notice An order smaller than the configured minimum.
    /// @param amountWh The order's amount.
    /// @param minAmountWh The minimum.
    error AmountBelowMinimum(uint256 amountWh, uint256 minAmountWh);
    /// @notice An order larger than MAX_ORDER_AMOUNT_WH.
    /// @param amountWh The order's amount.
    /// @param maxAmountWh MAX_ORDER_AMOUNT_WH.
    error AmountAboveMaximum(uint256 amountWh, uint256 maxAmountWh);
    /// @notice An order priced at zero.
    error ZeroPrice();
    /// @notice An order priced above the configured maximum.
    /// @param pricePerKWh The order's price.
    /// @param maxPricePerKWh The maximum.
    error PriceAboveMaximum(uint256 pricePerKWh, uint256 maxPricePerKWh);
    /// @notice An expiry at or before the current block's timestamp.
    /// @param expiry The order's expiry.
    /// @param blockTimestamp The current block's timestamp.
    error ExpiryNotInFuture(uint256 expiry, uint256 blockTimestamp);
    /// @notice An expiry more than MAX_ORDER_LIFETIME ahead.
    /// @param expiry The order's expiry.
    /// @param latestExpiry The latest expiry allowed now.
    error ExpiryTooFar(uint256 expiry, uint256 latestExpiry);
    /// @notice A directed order naming the zero address or its own trader.
    /// @param counterparty The counterparty named.
    error InvalidCounterparty(address counterparty);
    /// @notice The order is FILLED or CANCELLED.
    /// @param orderId The order.
    /// @param status Its status.
    error OrderNotActive(uint256 orderId, OrderStatus status);
    /// @notice The order expired; it can no longer trade.
    /// @param orderId The order.
    /// @param expiry Its expiry.
    error OrderExpired(uint256 orderId, uint256 expiry);
    /// @notice The order has not expired yet, so only its trader may close it.
    /// @param orderId The order.
    /// @param expiry Its expiry.
    error OrderNotExpired(uint256 orderId, uint256 expiry);
    /// @notice The order has the other type than its position requires (a SELL passed as buyOrderId, ...).
    /// @param orderId The order.
    /// @param expected The type its position requires.
    error WrongOrderType(uint256 orderId, OrderType expected);
    /// @notice Only the order's trader may cancel it.
    /// @param orderId The order.
    /// @param caller Who tried.
    error NotOrderTrader(uint256 orderId, address caller);
    /// @notice The bid is below the ask.
    /// @param buyPricePerKWh The BUY order's price.
    /// @param sellPricePerKWh The SELL order's price.
    error PricesDoNotCross(uint256 buyPricePerKWh, uint256 sellPricePerKWh);
    /// @notice Both sides belong to `trader`.
    /// @param trader The trader on both sides.
    error SelfTrade(address trader);
    /// @notice A directed order may only trade with its named counterparty.
    /// @param orderId The directed order.
    /// @param account Who tried to trade against it.
    error NotCounterparty(uint256 orderId, address account);
    /// @notice A fill larger than what is left of the order.
    /// @param orderId The order.
    /// @param amountWh The fill asked for.
    /// @param remainingWh What the order has left.
    error FillExceedsRemaining(uint256 orderId, uint256 amountWh, uint256 remainingWh);
    /// @notice A fill smaller than the minimum order amount that does not take the whole rest.
    /// @param amountWh The fill asked for.
    /// @param minAmountWh The minimum.
    error FillBelowMinimum(uint256 amountWh, uint256 minAmountWh);
    /// @notice A paging cursor above the newest order id.
    /// @param trader Whose orders were asked for.
    /// @param cursor The cursor given.
    error InvalidCursor(address trader, uint256 cursor);
    /// @notice A minimum order amount of zero or above MAX_ORDER_AMOUNT_WH.
    /// @param amountWh The amount asked for.
    /// @param maxAmountWh MAX_ORDER_AMOUNT_WH.
    error MinOrderAmountOutOfRange(uint256 amountWh, uint256 maxAmountWh);
    /// @notice A maximum price of zero or above PRICE_CAP_PER_KWH.
    /// @param pricePerKWh The price asked for.
    /// @param priceCapPerKWh PRICE_CAP_PER_KWH.
    error MaxPriceOutOfRange(uint256 pricePerKWh, uint256 priceCapPerKWh);
    /// @notice An order priced outside the price band: reference × (1 ± band), bounds inclusive.
    /// @param pricePerKWh The order's price.
    /// @param minPricePerKWh The band's lower bound.
    /// @param maxPricePerKWh The band's upper bound.
    error PriceOutsideBand(uint256 pricePerKWh, uint256 minPricePerKWh, uint256 maxPricePerKWh);
    /// @notice A price band wider than MAX_PRICE_BAND_BPS.
    /// @param bandBps The band asked for.
    /// @param maxBandBps MAX_PRICE_BAND_BPS.
    error PriceBandOutOfRange(uint256 bandBps, uint256 maxBandBps);
    /// @notice A price band switched on without a reference price source.
    /// @param referencePrice The source given (the zero address).
    error InvalidReferencePrice(address referencePrice);
    /// @notice invalidateNonces was given a nonce that does not raise the caller's: lowering it would
    /// revive signed messages already used or voided. At most 2^64 - 1.
    /// @param trader The caller.
    /// @param newNonce The nonce asked for.
    /// @param currentNonce The caller's nonce now.
    error NonceNotRaised(address trader, uint256 newNonce, uint256 currentNonce);
    /// @notice The `orderType` level at `pricePerKWh` has no queue to prune.
    /// @param orderType The level's side.
    /// @param pricePerKWh The level's price.
    error EmptyPriceLevel(OrderType orderType, uint256 pricePerKWh);
    /// @notice A signed message submitted at or after its deadline.
    /// @param deadline The signed deadline.
    /// @param blockTimestamp The current block's timestamp.
    error SignatureExpired(uint256 deadline, uint256 blockTimestamp);
    /// @notice A signed message whose nonce is not the trader's current one: already used (a
    /// replay) or not yet reached.
    /// @param trader The trader the message names.
    /// @param nonce The signed nonce.
    /// @param currentNonce The trader's current nonce.
    error InvalidNonce(address trader, uint256 nonce, uint256 currentNonce);
    /// @notice The signature does not recover to the trader: signed by someone else, over other
    /// contents, for another chain or another contract (the domain differs), or not a signature.
    /// @param trader The trader the message must be signed by.
    /// @param signer The address the signature recovers to (0 = none).
    error InvalidSigner(address trader, address signer);
    /// @notice A signature with s in the upper half of the curve order: the malleable twin of a
    /// valid signature, refused so that each message has one signature (EIP-2).
    /// @param s The signature's s.
    error MalleableSignature(bytes32 s);

    /// @notice Like createOrder, but only `counterparty` may trade against it.
    /// A directed order is a bilateral offer: it never enters the price-level index and never
    /// crosses on creation; it trades by fillOrder or matchOrders with its counterparty.
    function createDirectedOrder(
        uint256 amount,
        uint256 price,
        uint256 expiry,
        OrderType orderType,
        address counterparty
    ) external returns (uint256 orderId);

    /// @notice Creates `order` for its trader, who signed it (EIP-712 `Order`, signature v, r, s);
    /// anyone may submit it. The order and its escrow are the trader's: the escrow comes from the
    /// trader's vault balance (the trader must have approved this market in the vault: a relayer
    /// submits the trader's signed IEnergyVault.approveMarketBySig first for a trader's first
    /// order), the relayer pays only gas. Consumes the trader's nonce. Undirected (counterparty 0)
    /// it trades at once like createOrder; directed, it rests like createDirectedOrder. `permit`,
    /// empty or one entry, is the trader's ERC-2612 permit of the escrow token for the vault,
    /// applied first so that the vault can pull what the vault balance falls short of from the
    /// wallet without an approval transaction; a permit that fails (someone submitted it first,
    /// ...) is passed over, and the vault's pull then needs the allowance to be there.
    function createOrderBySig(
        SignedOrder calldata order,
        uint8 v,
        bytes32 r,
        bytes32 s,
        PermitSignature[] calldata permit
    ) external returns (uint256 orderId);

    /// @notice Cancels `orderId` for its trader, who signed the cancellation (EIP-712
    /// `CancelOrder`); anyone may submit it. The escrow goes back to the trader. Consumes the
    /// trader's nonce.
    function cancelOrderBySig(uint256 orderId, uint256 nonce, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;

    /// @notice Takes `amountWh` of an order at its price (accepting an energy offer): filling a
    /// SELL pays ceil(amountWh * price / 1000) PaymentToken, filling a BUY delivers `amountWh` EnergyToken,
    /// both escrowed in this call. Records a transaction for settlement.
    function fillOrder(uint256 orderId, uint256 amountWh) external returns (uint256 transactionId);

    /// @notice Returns an expired order's unfilled escrow to its trader and cancels it (anyone may call).
    function releaseExpiredOrder(uint256 orderId) external;

    /// @notice Unlinks orders that left the book (cancelled, filled, expired) from the first
    /// MAX_DEAD_ENTRIES_PER_CALL entries of the queue of the `orderType` level at `pricePerKWh`
    /// (anyone may call; a level left empty leaves the index). Crossing orders unlink the dead
    /// entries they pass as well; this lets a keeper clear a level before anyone trades into it.
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

    /// @notice The order in IEnergyTrading's Order shape.
    function getOrder(uint256 orderId) external view returns (Order memory);

    /// @notice The order with fill state, counterparty and locked escrow.
    function getOrderInfo(uint256 orderId) external view returns (OrderInfo memory);

    /// @notice `trader`'s orders, newest first: up to `limit` of them among the
    /// MAX_ORDERS_SCANNED order ids from `cursor` down (0 = from the newest order), so a page may
    /// hold fewer than `limit` orders and still have a next one.
    /// @dev Orders do not link a trader's orders (that would cost every order a storage write):
    /// the view reads order ids downwards. The event index (OrderCreated is indexed by trader)
    /// serves the same list without the scan.
    /// @return orders The page.
    /// @return nextCursor The order id to go on from; 0 when every order has been looked at.
    function getTraderOrders(address trader, uint256 cursor, uint256 limit)
        external
        view
        returns (OrderInfo[] memory orders, uint256 nextCursor);

    /// @notice The nonce `trader`'s next signed message must carry (0 for a new trader).
    function nonces(address trader) external view returns (uint256);

    /// @notice Raises the caller's nonce to `newNonce`, so that every order or cancellation it
    /// signed with a lower nonce and handed to a relayer can no longer be submitted: the way to
    /// withdraw a signed message before it is relayed. Lowering or keeping it reverts with
    /// NonceNotRaised. Open during a pause.
    /// @param newNonce The nonce the caller's next signed message must carry, above the current one.
    function invalidateNonces(uint256 newNonce) external;

    /// @notice Energy `account` holds in the EnergyVault, free to trade or withdraw (Wh escrowed
    /// in its open SELL orders shows in their getOrderInfo().escrow; its wallet is not counted).
    function getEnergyBalance(address account) external view returns (uint256 amountWh);

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
