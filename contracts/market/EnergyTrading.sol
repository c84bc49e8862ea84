// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IEnergyMarket} from "./IEnergyMarket.sol";
import {IEnergyTrading} from "./IEnergyTrading.sol";
import {IReferencePrice} from "../oracles/IPriceDiscovery.sol";
import {OrderMath} from "../utils/OrderMath.sol";
import {PriceLevels} from "./PriceLevels.sol";
import {Settlement} from "./Settlement.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {InvalidPageSize, OrderUnknown, ZeroAmount} from "../utils/GridErrors.sol";

/// @dev An order's id, 1 .. orderCount (0 = none): a type of its own so that an order id and a
/// transaction id cannot be passed for each other. 32 bits, so that the link between the orders of
/// a price level packs into the order's one slot (4.3 billion orders, each costing its creator
/// ~90,000 gas: out of reach); the ABI keeps uint256 and `_orderId` converts.
type OrderId is uint32;

/// @dev A transaction's id in Settlement's ledger.
type TransactionId is uint256;

using {_orderIdEquals as ==, _orderIdDiffers as !=} for OrderId global;

OrderId constant NO_ORDER = OrderId.wrap(0);

function _orderIdEquals(OrderId a, OrderId b) pure returns (bool) {
    return OrderId.unwrap(a) == OrderId.unwrap(b);
}

function _orderIdDiffers(OrderId a, OrderId b) pure returns (bool) {
    return OrderId.unwrap(a) != OrderId.unwrap(b);
}

/// @title EnergyTrading
/// @notice Peer-to-peer energy order book, continuous, on EnergyVault balances: orders escrow their
/// value when created (a SELL locks its EnergyToken (Wh), a BUY locks ceil(amount * price / 1000)
/// PaymentToken, each moved from the trader's vault balance into the market's), and a
/// new undirected order trades at once with the resting undirected orders it crosses, best price
/// first and in arrival order within a price, each fill at the resting order's price (a crossing
/// buyer keeps its price improvement: it comes back at settlement). Only what is left rests, so no
/// two live undirected orders of different traders ever rest crossed and nobody can race to pick
/// a crossing order's counterparty. An order that reaches MAX_FILLS_PER_ORDER fills, or passes
/// MAX_DEAD_ENTRIES_PER_CALL dead queue entries, stops there: its fills stand and its rest is
/// cancelled at once (that escrow is never taken), so no crowd of tiny orders, live or dead, can
/// make a crossing order revert; the trader sends the rest again. An order that would cross a
/// resting order of its own trader reverts with SelfTrade (cancel it first): no wash trades.
/// Directed orders are bilateral offers outside the index: they trade only with their named
/// counterparty, by fillOrder or matchOrders. Anyone may still match a crossing BUY and SELL (at
/// the earlier order's price, partial fills tracked) or take an order directly with fillOrder
/// bringing the other side. Every trade is recorded as a transaction that Settlement pays out.
/// An optional price band (setPriceBand; off by default) rejects new orders priced outside a
/// reference price (PriceDiscovery) ± a share of it; trades execute at the orders' prices.
/// A trader may also sign an order or a cancellation (EIP-712) for any relayer to submit
/// (createOrderBySig, cancelOrderBySig): the order and its escrow are the signer's, and an
/// ERC-2612 permit of the vault passed along lets the vault pull a shortfall from the wallet.
/// A trader approves this market once in the vault (setMarketApproval, or approveMarketBySig that
/// anyone relays, before the trader's first relayed order); an escrow the trader's vault balance
/// falls short of is pulled from the wallet when the trader allowed the vault the token. Refunds,
/// payouts and fees are vault credits. The tokens must be plain ERC-20s (no fee on transfer, no
/// rebasing).
/// @dev Resting undirected orders sit in a FIFO queue per price and side (a linked list through
/// the orders), and the occupied prices in a hierarchical bitmap (PriceLevels), so the best
/// opposite level is found without a loop over orders; the best bid and ask are cached so a
/// non-crossing order costs one comparison. Orders that leave the book another way (cancel,
/// matchOrders, fillOrder, expiry) stay in their queue as dead entries and are unlinked when a
/// crossing order passes them (at most MAX_DEAD_ENTRIES_PER_CALL per order, one storage read
/// each: each cost its creator a whole order) or by pruneLevel.
/// Every loop is bounded by a constant. An order is one storage slot, packed by hand (StoredOrder
/// shows the fields): a new order writes one fresh slot. It names its trader by a 32-bit trader
/// index, given at the trader's first order (or when a directed order or a signed message first
/// names it): the low 31 bits of its address, so that the one slot of that index, holding the
/// address back beside the signed-message nonce, also finds the index from the address (a first
/// order writes one slot for its trader, not two). An account whose own index another account took
/// first (a chance of one in 2^31 per pair, or an address ground to take it) gets the next index
/// from 2^31 up instead, kept in one more slot. Amounts are 40 bits, prices 64 and expiries 32 to
/// make room. Orders are not linked per trader (that link would cost every order a write):
/// getTraderOrders reads order ids downwards, and the event index serves the list.
contract EnergyTrading is Settlement, EIP712, IEnergyMarket {
    /// @notice Largest order: 1.1 TWh (uint40), a year of a large power station's output.
    uint256 public constant MAX_ORDER_AMOUNT_WH = type(uint40).max;
    /// @notice Highest maximum price the admin can set (uint64, 1.8e19), PaymentToken base units per
    /// kWh: 18 whole units per kWh of an 18-decimals token, some fifty times a retail price and
    /// above every wholesale scarcity cap (a few units per kWh). 64 bits let an order fit one slot.
    uint256 public constant PRICE_CAP_PER_KWH = type(uint64).max;
    /// @notice Longest an order can live.
    uint256 public constant MAX_ORDER_LIFETIME = 365 days;
    /// @notice Most orders in one getTraderOrders page.
    uint256 public constant MAX_PAGE_SIZE = 100;
    /// @notice Most order ids one getTraderOrders call looks at (one storage read each).
    uint256 public constant MAX_ORDERS_SCANNED = 1_000;
    /// @notice Widest price band: ±100 % of the reference price.
    uint256 public constant MAX_PRICE_BAND_BPS = 10_000;
    /// @notice Most resting orders one new order trades with. A fill costs ~37,000 gas, emptying a
    /// level up to ~50,000 more (bitmap words cleared, the next level searched): 32 fills on 32
    /// levels spread over the whole price range, after 64 dead entries, measured 3.1 million gas;
    /// the full MAX_DEAD_ENTRIES_PER_CALL adds ~2.5 million: still far below a block.
    uint256 public constant MAX_FILLS_PER_ORDER = 32;
    /// @notice Most dead queue entries a new order skips, and most entries a pruneLevel call visits.
    /// Skipping one reads one storage slot (~2,400 gas), so 1,024 cost ~2.5 million gas, while each
    /// cost whoever left it an order and a cancellation (~130,000 gas).
    uint256 public constant MAX_DEAD_ENTRIES_PER_CALL = 1_024;
    /// @dev The first trader index given in sequence, to an account whose own index is taken: own
    /// indexes (the low 31 bits of an address) are all below it.
    uint256 private constant FIRST_ASSIGNED_INDEX = 1 << 31;
    /// @dev EIP-712 type hash of a signed order (createOrderBySig).
    bytes32 private constant ORDER_TYPEHASH = keccak256(
        "Order(address trader,uint256 amountWh,uint256 pricePerKWh,uint256 expiry,uint8 orderType,address counterparty,uint256 nonce,uint256 deadline)"
    );
    /// @dev EIP-712 type hash of a signed cancellation (cancelOrderBySig).
    bytes32 private constant CANCEL_ORDER_TYPEHASH = keccak256("CancelOrder(uint256 orderId,uint256 nonce,uint256 deadline)");

    /// @dev Half the secp256k1 curve order: a larger s is the malleable twin of a valid signature.
    uint256 private constant SECP256K1_HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    string private constant DOMAIN_NAME = "EnergyTrading";
    string private constant DOMAIN_VERSION = "1";

    /// @dev An order as read from its one slot (_order) and written back whole (_store): the
    /// fields from the low bits up, with their widths in bits. Unpacked into whole words in memory:
    /// masking each field on every use would be longer code.
    struct StoredOrder {
        uint256 traderIndex; // 32; 0 = no such order
        uint256 pricePerKWh; // 64; limit price
        uint256 amountWh; // 40
        uint256 filledWh; // 40
        uint256 expiry; // 32; unix s (until 2106); tradable while block.timestamp < expiry
        // 32, one field for both (a directed order never rests in a level):
        OrderId nextInLevel; // undirected: the next order in its price level's queue; 0 = last
        uint256 counterpartyIndex; // directed: the trader index of the only account it trades with
        uint256 paymentCarry; // 10; BUY: sum of fillWh * tradePrice, mod 1000 (see OrderMath)
        OrderType orderType; // 1
        OrderStatus status; // 2
        bool directed; // 1
    }

    /// @dev A price level's FIFO queue of resting orders (dead entries included).
    struct PriceLevel {
        OrderId headOrderId; // 0 = empty level
        OrderId tailOrderId;
    }

    /// @dev The one global slot createOrder writes (with the price band off and no new best price):
    /// read once per order.
    struct MarketState {
        bool ordersPaused; // mirrors Pausable's flag
        OrderId orderCount;
        uint32 lastAssignedIndex; // the last trader index given from 2^31 up (see _traderIndex)
        uint48 minOrderAmountWh;
        uint64 maxPricePerKWh;
        uint16 priceBandBps; // 0 = off
    }

    MarketState private _state;
    // One slot: [BUY] the highest bid level, [SELL] the lowest ask level in the index; 0 = none.
    uint72[2] private _bestPerKWh;
    // Read only while the price band is on.
    IReferencePrice private _referencePrice;
    uint32 private _priceBandRegionId;
    mapping(OrderId => uint256 packedOrder) private _orders;
    // One slot per trader, by trader index: the address (low 160 bits) and the next signed
    // message's nonce (the 96 bits above). Read by each of the trader's orders, written by the
    // first and by each signed message.
    mapping(uint256 traderIndex => uint256 packedTrader) private _traderSlots;
    // Only for an account whose own index (_ownIndex) another account holds: its given index.
    mapping(address account => uint256 traderIndex) private _assignedIndexes;
    // By record slot (the low 32 bits of a transaction id): a reused slot rewrites its entry.
    mapping(uint256 recordSlot => address taker) private _takers;
    mapping(uint256 levelKey => PriceLevel) private _levels;
    mapping(uint256 wordKey => uint256) private _levelBitmap;

    /// @param minOrderAmountWh_ The smallest order and partial fill (setMinOrderAmount's bounds).
    constructor(
        address admin,
        IEnergyVault vault_,
        address feeRecipient_,
        uint256 gridFeeBps_,
        uint256 minOrderAmountWh_
    )
        Settlement(admin, vault_, feeRecipient_, gridFeeBps_)
        EIP712(DOMAIN_NAME, DOMAIN_VERSION)
    {
        _checkMinOrderAmount(minOrderAmountWh_);
        _state = MarketState(
            false, NO_ORDER, uint32(FIRST_ASSIGNED_INDEX - 1), uint48(minOrderAmountWh_), uint64(PRICE_CAP_PER_KWH), 0
        );
    }

    // ----------------------------------------------------------------------------- orders

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

    /// @inheritdoc IEnergyMarket
    // slither-disable-next-line reentrancy-no-eth,reentrancy-events: the permit call goes to the market's own escrow token (set at deploy) and the function is nonReentrantCompact
    function createOrderBySig(
        SignedOrder calldata order,
        uint8 v,
        bytes32 r,
        bytes32 s,
        PermitSignature[] calldata permit
    ) external nonReentrantCompact returns (uint256) {
        _useSignature(
            _traderIndex(order.trader),
            order.trader,
            order.nonce,
            order.deadline,
            keccak256(abi.encode(ORDER_TYPEHASH, order)),
            v,
            r,
            s
        );
        bool energy = order.orderType == OrderType.SELL;
        if (permit.length != 0) {
            IERC20 token = _escrowToken(energy);
            // A permit someone submitted first fails here but has set the allowance: go on when it is there.
            try IERC20Permit(address(token)).permit(
                order.trader, address(_vault), permit[0].value, permit[0].deadline, permit[0].v, permit[0].r, permit[0].s
            ) {} catch {}
        }
        return OrderId.unwrap(
            _createOrder(order.trader, order.amountWh, order.pricePerKWh, order.expiry, order.orderType, order.counterparty)
        );
    }

    /// @inheritdoc IEnergyTrading
    function cancelOrder(uint256 orderId) external nonReentrantCompact {
        _close(_orderId(orderId), msg.sender, true);
    }

    /// @inheritdoc IEnergyMarket
    function cancelOrderBySig(uint256 orderId, uint256 nonce, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrantCompact
    {
        OrderId id = _orderId(orderId);
        uint256 traderIndex = _knownOrder(id).traderIndex;
        address trader = _traderAt(traderIndex);
        _useSignature(
            traderIndex, trader, nonce, deadline, keccak256(abi.encode(CANCEL_ORDER_TYPEHASH, orderId, nonce, deadline)), v, r, s
        );
        _close(id, trader, true);
    }


    /// @inheritdoc IEnergyMarket
    function releaseExpiredOrder(uint256 orderId) external nonReentrantCompact {
        _close(_orderId(orderId), msg.sender, false);
    }

    /// @inheritdoc IEnergyMarket
    function pruneLevel(OrderType orderType, uint256 pricePerKWh) external returns (uint256 removedEntries) {
        uint256 key = _levelKey(orderType, pricePerKWh);
        PriceLevel storage level = _levels[key];
        OrderId id = level.headOrderId;
        if (id == NO_ORDER) revert EmptyPriceLevel(orderType, pricePerKWh);
        OrderId previousId = NO_ORDER;
        for (uint256 visited; id != NO_ORDER && visited < MAX_DEAD_ENTRIES_PER_CALL; ++visited) {
            uint256 word = _orders[id];
            OrderId nextId = _nextOf(word);
            if (_isLiveWord(word)) {
                previousId = id;
            } else {
                ++removedEntries;
                if (previousId == NO_ORDER) level.headOrderId = nextId;
                else _link(previousId, nextId);
                if (nextId == NO_ORDER) level.tailOrderId = previousId;
            }
            id = nextId;
        }
        if (level.headOrderId == NO_ORDER) {
            _removeLevel(key, orderType, pricePerKWh);
            uint256 side = uint256(orderType);
            if (_bestPerKWh[side] == pricePerKWh) _bestPerKWh[side] = uint72(_nextLevel(orderType, pricePerKWh));
        }
        emit PriceLevelPruned(orderType, pricePerKWh, removedEntries);
    }

    // ----------------------------------------------------------------------------- trading

    /// @inheritdoc IEnergyTrading
    function matchOrders(uint256 buyOrderId, uint256 sellOrderId) external whenNotPaused returns (uint256) {
        OrderId buyId = _orderId(buyOrderId);
        OrderId sellId = _orderId(sellOrderId);
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
        OrderId id = _orderId(orderId);
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
            transactionId = TransactionId.wrap(_recordTransaction(0, orderId, amountWh, 0, 0, false));
        } else {
            transactionId = _fillBuy(id, NO_ORDER, o, amountWh, o.pricePerKWh);
        }
        _takers[uint32(TransactionId.unwrap(transactionId))] = msg.sender;
        emit OrderTaken(TransactionId.unwrap(transactionId), orderId, msg.sender, amountWh, o.pricePerKWh);
        _take(msg.sender, !takesSell, _escrowAmount(!takesSell, amountWh, o.pricePerKWh));
        return TransactionId.unwrap(transactionId);
    }

    // ----------------------------------------------------------------------------- admin

    /// @inheritdoc IEnergyMarket
    function setMinOrderAmount(uint256 amountWh) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkMinOrderAmount(amountWh);
        uint256 previousWh = _state.minOrderAmountWh;
        _state.minOrderAmountWh = uint48(amountWh);
        emit MinOrderAmountUpdated(previousWh, amountWh);
    }

    /// @inheritdoc IEnergyMarket
    function setMaxPrice(uint256 pricePerKWh) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (pricePerKWh == 0 || pricePerKWh > PRICE_CAP_PER_KWH) {
            revert MaxPriceOutOfRange(pricePerKWh, PRICE_CAP_PER_KWH);
        }
        uint256 previousPricePerKWh = _state.maxPricePerKWh;
        _state.maxPricePerKWh = uint64(pricePerKWh);
        emit MaxPriceUpdated(previousPricePerKWh, pricePerKWh);
    }

    /// @inheritdoc IEnergyMarket
    function setPriceBand(address referencePrice, uint32 regionId, uint256 bandBps)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (bandBps > MAX_PRICE_BAND_BPS) revert PriceBandOutOfRange(bandBps, MAX_PRICE_BAND_BPS);
        if (bandBps != 0 && referencePrice == address(0)) revert InvalidReferencePrice(referencePrice);
        _state.priceBandBps = uint16(bandBps);
        _referencePrice = IReferencePrice(referencePrice);
        _priceBandRegionId = regionId;
        emit PriceBandUpdated(referencePrice, regionId, bandBps);
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc IEnergyMarket
    function getOrder(uint256 orderId) external view returns (Order memory) {
        StoredOrder memory o = _knownOrder(_orderId(orderId));
        return Order(_traderAt(o.traderIndex), o.amountWh, o.pricePerKWh, o.expiry, o.orderType, o.status);
    }

    /// @inheritdoc IEnergyMarket
    function getOrderInfo(uint256 orderId) external view returns (OrderInfo memory) {
        OrderId id = _orderId(orderId);
        return _orderInfo(id, _knownOrder(id));
    }

    /// @inheritdoc IEnergyMarket
    function getTraderOrders(address trader, uint256 cursor, uint256 limit)
        external
        view
        returns (OrderInfo[] memory orders, uint256 nextCursor)
    {
        if (limit == 0 || limit > MAX_PAGE_SIZE) revert InvalidPageSize(limit, MAX_PAGE_SIZE);
        uint256 newest = OrderId.unwrap(_state.orderCount);
        if (cursor > newest) revert InvalidCursor(trader, cursor);
        uint256 id = cursor == 0 ? newest : cursor;
        uint256 index = _indexOf(trader);
        // A trader without an index has no order: nothing to look at.
        uint256 last = index == 0 || id <= MAX_ORDERS_SCANNED ? 0 : id - MAX_ORDERS_SCANNED;
        if (index == 0) id = 0;
        OrderInfo[] memory page = new OrderInfo[](limit);
        uint256 count;
        for (; id > last && count < limit; --id) {
            OrderId orderId_ = OrderId.wrap(uint32(id));
            StoredOrder memory o = _order(orderId_);
            if (o.traderIndex == index) page[count++] = _orderInfo(orderId_, o);
        }
        // Trim the page to what was found.
        // slither-disable-next-line assembly: trims the page to the orders found, in place
        assembly ("memory-safe") {
            mstore(page, count)
        }
        return (page, id);
    }

    /// @notice The EIP-712 domain (ERC-5267): name "EnergyTrading", version "1", this chain and contract.
    /// @dev Returns the constant name and version directly instead of OpenZeppelin's short-string
    /// decoding, which this contract does not need (both are short literals): less code.
    function eip712Domain()
        public
        view
        override
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", DOMAIN_NAME, DOMAIN_VERSION, block.chainid, address(this), bytes32(0), extensions);
    }

    /// @inheritdoc IEnergyMarket
    function nonces(address trader) external view returns (uint256) {
        uint256 index = _indexOf(trader);
        return index == 0 ? 0 : _traderSlots[index] >> 160;
    }

    /// @inheritdoc IEnergyMarket
    function invalidateNonces(uint256 newNonce) external {
        uint256 index = _traderIndex(msg.sender);
        uint256 currentNonce = _traderSlots[index] >> 160;
        // The cap keeps every nonce far inside its 96 bits, so consuming one never wraps.
        if (newNonce <= currentNonce || newNonce > type(uint64).max) {
            revert NonceNotRaised(msg.sender, newNonce, currentNonce);
        }
        _traderSlots[index] = uint160(msg.sender) | (newNonce << 160);
        emit NoncesInvalidated(msg.sender, currentNonce, newNonce);
    }

    /// @inheritdoc IEnergyMarket
    function getEnergyBalance(address account) external view returns (uint256 amountWh) {
        return _vault.balanceOf(address(_energy()), account);
    }

    /// @inheritdoc IEnergyMarket
    function orderCount() external view returns (uint256) {
        return OrderId.unwrap(_state.orderCount);
    }

    /// @inheritdoc IEnergyMarket
    function minOrderAmount() external view returns (uint256 amountWh) {
        return _state.minOrderAmountWh;
    }

    /// @inheritdoc IEnergyMarket
    function maxPrice() external view returns (uint256 pricePerKWh) {
        return _state.maxPricePerKWh;
    }

    /// @inheritdoc IEnergyMarket
    function priceBand() external view returns (address referencePrice, uint32 regionId, uint256 bandBps) {
        return (address(_referencePrice), _priceBandRegionId, _state.priceBandBps);
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
        return (OrderId.unwrap(level.headOrderId), OrderId.unwrap(level.tailOrderId));
    }

    /// @inheritdoc IEnergyMarket
    function nextInLevel(uint256 orderId) external view returns (uint256) {
        return OrderId.unwrap(_order(_orderId(orderId)).nextInLevel);
    }

    // ----------------------------------------------------------------------------- internals

    /// @dev Creates `trader`'s order (directed when `counterparty` is not 0), trades it at once if
    /// undirected, and escrows its value from `trader`.
    // slither-disable-next-line cyclomatic-complexity: the order checks and the crossing walk that every way of creating an order shares
    function _createOrder(
        address trader,
        uint256 amountWh,
        uint256 pricePerKWh,
        uint256 expiry,
        OrderType orderType,
        address counterparty
    ) private returns (OrderId id) {
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

        id = OrderId.wrap(OrderId.unwrap(state.orderCount) + 1);
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
            // Stopped at a crossing bound: the fills stand, the rest is cancelled before its escrow is taken.
            o.status = OrderStatus.CANCELLED;
            _store(id, o);
            uint256 refund = _escrowLeft(o);
            escrow -= refund;
            emit OrderCancelled(OrderId.unwrap(id), trader, o.amountWh - o.filledWh, refund);
        }
        _take(trader, energy, escrow);
    }

    /// @dev Writes an order's slot whole from its fields (the layout of StoredOrder, from the low
    /// bits up; every field is within its width: amounts below 2^40, prices below 2^64, expiries
    /// below 2^32 (MAX_ORDER_LIFETIME ahead), carries below 1,000). One SSTORE, no read: every
    /// write of an order goes through here with the whole order in memory.
    function _store(OrderId id, StoredOrder memory o) private {
        _orders[id] = o.traderIndex | (o.pricePerKWh << 32) | (o.amountWh << 96) | (o.filledWh << 136)
            | (o.expiry << 176) | ((o.directed ? o.counterpartyIndex : OrderId.unwrap(o.nextInLevel)) << 208)
            | (o.paymentCarry << 240)
            | (uint256(o.orderType) << 250) | (uint256(o.status) << 251) | (o.directed ? 1 << 253 : 0);
    }

    /// @dev The one read of an order's slot into its fields.
    function _order(OrderId id) private view returns (StoredOrder memory o) {
        uint256 word = _orders[id];
        o.traderIndex = uint32(word);
        o.pricePerKWh = uint64(word >> 32);
        o.amountWh = uint40(word >> 96);
        o.filledWh = uint40(word >> 136);
        o.expiry = uint32(word >> 176);
        o.paymentCarry = (word >> 240) & 0x3ff;
        o.orderType = OrderType((word >> 250) & 1);
        o.status = OrderStatus((word >> 251) & 3);
        o.directed = (word >> 253) & 1 != 0;
        if (o.directed) o.counterpartyIndex = uint32(word >> 208);
        else o.nextInLevel = _nextOf(word);
    }

    /// @dev The queue link of a packed order.
    function _nextOf(uint256 word) private pure returns (OrderId) {
        return OrderId.wrap(uint32(word >> 208));
    }

    /// @dev Whether a packed order can still trade (_isLive): a dead queue entry costs one read.
    function _isLiveWord(uint256 word) private view returns (bool) {
        return _isLive(OrderStatus((word >> 251) & 3), uint32(word >> 176));
    }

    /// @dev Points the queue link of order `id` at `nextId`, the rest of its slot unchanged.
    function _link(OrderId id, OrderId nextId) private {
        uint256 word = _orders[id];
        _orders[id] = (word & ~(uint256(type(uint32).max) << 208)) | (uint256(OrderId.unwrap(nextId)) << 208);
    }

    /// @dev Accepts `trader`'s signature (v, r, s) of the EIP-712 struct `structHash` carrying `nonce`
    /// and `deadline`, and consumes the nonce. The domain binds it to this chain and contract: a
    /// signature made for another recovers to another address.
    function _useSignature(
        uint256 traderIndex,
        address trader,
        uint256 nonce,
        uint256 deadline,
        bytes32 structHash,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) private {
        if (block.timestamp >= deadline) revert SignatureExpired(deadline, block.timestamp);
        uint256 word = _traderSlots[traderIndex];
        uint256 currentNonce = word >> 160;
        if (nonce != currentNonce) revert InvalidNonce(trader, nonce, currentNonce);
        // EIP-2, as ECDSA.tryRecover checks it: s in the lower half of the curve order.
        if (uint256(s) > SECP256K1_HALF_ORDER) revert MalleableSignature(s);
        address signer = ecrecover(_hashTypedDataV4(structHash), v, r, s);
        // A signature that recovers to no address yields signer 0, which must not pass for trader 0.
        if (signer == address(0) || signer != trader) revert InvalidSigner(trader, signer);
        _traderSlots[traderIndex] = word + (1 << 160);
    }

    /// @dev Crosses a new undirected order with the opposite side of the index, best level first,
    /// each level in arrival order, at the resting orders' prices; rests what is left. Resting
    /// orders always have the lower id, so Settlement prices each fill at theirs (_tradeTerms).
    /// Returns true when it stopped at a crossing bound with some of the order left (not rested):
    /// what it unlinked on the way stays unlinked, so the next order goes on from there.
    // slither-disable-next-line cyclomatic-complexity: one walk of the opposite book (price levels, their FIFO queues, dead entries); split, it would re-read the same state
    function _trade(OrderId id, StoredOrder memory o) private returns (bool stopped) {
        bool isBuy = o.orderType == OrderType.BUY;
        OrderType restingType = isBuy ? OrderType.SELL : OrderType.BUY;
        uint256 limitPerKWh = o.pricePerKWh;
        uint256 levelPricePerKWh = _bestPerKWh[uint256(restingType)];
        uint256 remainingWh = o.amountWh;
        if (levelPricePerKWh != 0 && (isBuy ? levelPricePerKWh <= limitPerKWh : levelPricePerKWh >= limitPerKWh)) {
            uint256 fills = 0;
            uint256 deadEntries = 0;
            while (true) {
                uint256 key = _levelKey(restingType, levelPricePerKWh);
                OrderId headId = _levels[key].headOrderId;
                OrderId restingId = headId;
                while (restingId != NO_ORDER && remainingWh != 0) {
                    // A dead entry costs one slot read.
                    uint256 entry = _orders[restingId];
                    if (!_isLiveWord(entry)) {
                        if (++deadEntries > MAX_DEAD_ENTRIES_PER_CALL) {
                            stopped = true;
                            break;
                        }
                        restingId = _nextOf(entry);
                        continue;
                    }
                    if (fills == MAX_FILLS_PER_ORDER) {
                        stopped = true;
                        break;
                    }
                    StoredOrder memory r = _order(restingId);
                    if (r.traderIndex == o.traderIndex) revert SelfTrade(_traderAt(o.traderIndex));
                    ++fills;
                    (remainingWh, restingId) = _fillResting(id, o, restingId, r, remainingWh);
                }
                if (restingId != NO_ORDER) {
                    // The new order is filled inside this level.
                    if (restingId != headId) _levels[key].headOrderId = restingId;
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
        if (remainingWh == 0 || stopped) return stopped;
        // Rest the remainder at the tail of its level.
        uint256 ownKey = _levelKey(o.orderType, limitPerKWh);
        PriceLevel storage level = _levels[ownKey];
        OrderId tailId = level.tailOrderId;
        if (tailId == NO_ORDER) {
            level.headOrderId = id;
            PriceLevels.insert(_levelBitmap, uint256(o.orderType), limitPerKWh);
        } else {
            _link(tailId, id);
        }
        level.tailOrderId = id;
        uint256 bestPerKWh = _bestPerKWh[uint256(o.orderType)];
        if (bestPerKWh == 0 || (isBuy ? limitPerKWh > bestPerKWh : limitPerKWh < bestPerKWh)) {
            _bestPerKWh[uint256(o.orderType)] = uint72(limitPerKWh);
        }
    }

    /// @dev Trades as much as the new order `o` (with `remainingWh` left) and the resting order `r`
    /// both have left, at r's price; returns what `o` has left and the queue's next head.
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

    /// @dev Books a trade of `amountWh` between a BUY and a SELL at the trade price rule's price.
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

    /// @dev The trade price rule, its one home: a trade executes at the earlier order's price (the
    /// resting order's, when a new order crosses; of two orders matched later, the older one's).
    function _tradePrice(OrderId buyId, uint256 buyPricePerKWh, OrderId sellId, uint256 sellPricePerKWh)
        private
        pure
        returns (uint256)
    {
        return OrderId.unwrap(buyId) < OrderId.unwrap(sellId) ? buyPricePerKWh : sellPricePerKWh;
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

    /// @dev The rule for an order that can still trade: ACTIVE and not expired.
    function _isLive(OrderStatus status, uint256 expiry) private view returns (bool) {
        return status == OrderStatus.ACTIVE && block.timestamp < expiry;
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

    function _checkMinOrderAmount(uint256 amountWh) private pure {
        if (amountWh == 0 || amountWh > MAX_ORDER_AMOUNT_WH) {
            revert MinOrderAmountOutOfRange(amountWh, MAX_ORDER_AMOUNT_WH);
        }
    }

    /// @dev Rejects a trade of the directed order `o` with the trader of index `traderIndex` (0 = an
    /// account that never traded here, so not its counterparty either).
    function _checkCounterparty(OrderId id, StoredOrder memory o, uint256 traderIndex) private view {
        if (traderIndex != o.counterpartyIndex) {
            revert NotCounterparty(OrderId.unwrap(id), traderIndex == 0 ? msg.sender : _traderAt(traderIndex));
        }
    }

    /// @dev `account`'s trader index, given now if it has none: its own index when no account holds
    /// that yet, else the next from FIRST_ASSIGNED_INDEX up. Its first order gives a trader one, and
    /// so does a directed order naming it or a signed message.
    function _traderIndex(address account) private returns (uint256 index) {
        index = _indexOf(account);
        if (index != 0) return index;
        index = _ownIndex(account);
        if (index == 0 || _traderSlots[index] != 0) {
            // Checked: past 2^32 - 1 (2^31 accounts given an index this way) it reverts.
            index = _state.lastAssignedIndex + 1;
            _state.lastAssignedIndex = uint32(index);
            _assignedIndexes[account] = index;
        }
        _traderSlots[index] = uint160(account);
    }

    /// @dev `account`'s trader index; 0 = none yet. An account whose own index's slot is empty has
    /// none: an index is given in sequence only once that slot is held by another account.
    function _indexOf(address account) private view returns (uint256 index) {
        index = _ownIndex(account);
        if (index != 0) {
            address holder = _traderAt(index);
            if (holder == account) return index;
            if (holder == address(0)) return 0;
        }
        return _assignedIndexes[account];
    }

    /// @dev The index an account holds unless another account took it first: the low 31 bits of
    /// its address (0 = none: such an account is given one in sequence).
    function _ownIndex(address account) private pure returns (uint256) {
        return uint160(account) & (FIRST_ASSIGNED_INDEX - 1);
    }

    /// @dev The account of a trader index; 0 = none.
    function _traderAt(uint256 traderIndex) private view returns (address) {
        return address(uint160(_traderSlots[traderIndex]));
    }

    /// @dev An external order id as an OrderId; one above the id range names no order.
    function _orderId(uint256 orderId) private pure returns (OrderId) {
        if (orderId > type(uint32).max) revert OrderUnknown(orderId);
        return OrderId.wrap(uint32(orderId));
    }

    function _knownOrder(OrderId id) private view returns (StoredOrder memory o) {
        o = _order(id);
        if (o.traderIndex == 0) revert OrderUnknown(OrderId.unwrap(id));
    }

    function _checkActive(OrderId id, OrderStatus status) private pure {
        if (status != OrderStatus.ACTIVE) revert OrderNotActive(OrderId.unwrap(id), status);
    }

    /// @dev An order that can trade now: known, (of `orderType` when checkType,) ACTIVE and not expired.
    function _tradableOrder(OrderId id, OrderType orderType, bool checkType)
        private
        view
        returns (StoredOrder memory o)
    {
        o = _knownOrder(id);
        if (checkType && o.orderType != orderType) revert WrongOrderType(OrderId.unwrap(id), orderType);
        _checkActive(id, o.status);
        if (block.timestamp >= o.expiry) revert OrderExpired(OrderId.unwrap(id), o.expiry);
    }

    /// @dev The escrow rule, its one home: what an ACTIVE order still holds (Wh for a SELL, PaymentToken for a BUY).
    function _escrowLeft(StoredOrder memory o) private pure returns (uint256) {
        return o.orderType == OrderType.SELL
            ? o.amountWh - o.filledWh
            : OrderMath.buyEscrowLeft(o.amountWh, o.filledWh, o.pricePerKWh, o.paymentCarry);
    }

    /// @dev What an order or fill of `amountWh` at `pricePerKWh` escrows: the Wh themselves, or
    /// their cost rounded up.
    function _escrowAmount(bool energy, uint256 amountWh, uint256 pricePerKWh) private pure returns (uint256) {
        return energy ? amountWh : OrderMath.costCeil(amountWh, pricePerKWh);
    }

    function _escrowToken(bool energy) private view returns (IERC20) {
        return energy ? _energy() : _payment();
    }

    /// @dev Pausable's hooks also set the copy of the flag that createOrder reads.
    function _pause() internal override {
        super._pause();
        _state.ordersPaused = true;
    }

    function _unpause() internal override {
        super._unpause();
        _state.ordersPaused = false;
    }

    /// @dev Books `amountWh` of a SELL order as sold: its escrowed energy now backs the transaction.
    function _fillSell(OrderId id, StoredOrder memory sell, uint256 amountWh) private {
        uint256 filledWh = sell.filledWh + amountWh;
        sell.filledWh = filledWh;
        if (filledWh == sell.amountWh) sell.status = OrderStatus.FILLED;
        _store(id, sell);
    }

    /// @dev Books `amountWh` of a BUY order as bought at `pricePerKWh` and records the transaction
    /// with the carries that fix its payment and refund (OrderMath).
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
            // What is left of a filled order's escrow is 0 or 1 unit (OrderMath).
            releasesDust = _escrowLeft(buy) != 0;
        }
        _store(buyId, buy);
        return TransactionId.wrap(
            _recordTransaction(OrderId.unwrap(buyId), OrderId.unwrap(sellId), amountWh, carry, refundCarry, releasesDust)
        );
    }

    /// @dev Cancels an ACTIVE order, by its trader (`caller` is the trader: cancelOrder,
    /// cancelOrderBySig) or, once expired, by anyone (releaseExpiredOrder), and returns its
    /// unfilled escrow. Its queue entry, if any, turns dead.
    function _close(OrderId id, address caller, bool byTrader) private {
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

    /// @dev Moves `amount` of `account`'s EnergyToken (`energy`) or PaymentToken from its vault
    /// balance into the market's: the one call site of IEnergyVault.take. The vault pulls a
    /// shortfall from the wallet when the account allowed it the token; otherwise the vault's or
    /// the token's own error says what is missing (the market not approved, the balance, the allowance).
    function _take(address account, bool energy, uint256 amount) private {
        if (amount == 0) return;
        _vault.take(account, energy ? amount : 0, energy ? 0 : amount);
    }

    function _orderInfo(OrderId id, StoredOrder memory o) private view returns (OrderInfo memory info) {
        info.orderId = OrderId.unwrap(id);
        info.trader = _traderAt(o.traderIndex);
        info.amount = o.amountWh;
        info.filledAmount = o.filledWh;
        info.price = o.pricePerKWh;
        info.expiry = o.expiry;
        info.orderType = o.orderType;
        info.status = o.status;
        if (o.directed) info.counterparty = _traderAt(o.counterpartyIndex);
        if (o.status == OrderStatus.ACTIVE) info.escrow = _escrowLeft(o);
    }

    /// @dev The trader and limit price of one side of a transaction: its order's, or the taker's (no price).
    function _sideOf(uint256 transactionId, OrderId id) private view returns (address trader, uint256 pricePerKWh) {
        if (id == NO_ORDER) return (_takers[uint32(transactionId)], 0);
        uint256 word = _orders[id];
        return (_traderAt(uint32(word)), uint64(word >> 32));
    }

    /// @inheritdoc Settlement
    function _tradeTerms(uint256 transactionId, TransactionRecord memory t)
        internal
        view
        override
        returns (TradeTerms memory terms)
    {
        OrderId buyId = OrderId.wrap(uint32(t.buyOrderId));
        OrderId sellId = OrderId.wrap(uint32(t.sellOrderId));
        // A taker's side has no order (id 0): the taker record names it, and it trades at the
        // taken order's price.
        (terms.buyer, terms.buyPricePerKWh) = _sideOf(transactionId, buyId);
        uint256 sellPricePerKWh;
        (terms.seller, sellPricePerKWh) = _sideOf(transactionId, sellId);
        if (buyId == NO_ORDER) terms.buyPricePerKWh = sellPricePerKWh;
        else if (sellId == NO_ORDER) sellPricePerKWh = terms.buyPricePerKWh;
        terms.pricePerKWh = _tradePrice(buyId, terms.buyPricePerKWh, sellId, sellPricePerKWh);
    }
}
