// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyAuction} from "./IEnergyAuction.sol";
import {IEnergyAuctionExtension} from "./IEnergyAuctionExtension.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {VaultCalls} from "../vault/VaultCalls.sol";
import {BatchTooLarge, EmptyBatch, OrderUnknown} from "../utils/GridErrors.sol";
import {OrderMath} from "../utils/OrderMath.sol";
import {DelegateCalls} from "../utils/DelegateCalls.sol";
import {TypedSignatures} from "../utils/TypedSignatures.sol";
import {AuctionOrder} from "../types/AuctionOrder.sol";
import {AuctionOrderId, AuctionOrderIdLibrary} from "../types/AuctionOrderId.sol";
import {IMarketZones} from "./IMarketZones.sol";
import {AuctionClearing} from "./auction/AuctionClearing.sol";
import {Clearing, Market} from "./auction/AuctionStorage.sol";
import {AuctionMarkets} from "./auction/AuctionMarkets.sol";
import {MarketTime} from "./auction/MarketTime.sol";
import {StandingOrders} from "./auction/StandingOrders.sol";

/// @title EnergyAuction
/// @notice The auction runs one uniform-price double auction per delivery period. It takes firm,
/// escrowed bids and asks on a bounded price grid, as well as the standing orders that the meters'
/// readings place after each interval. Anyone may call `clear(period)`, which clears the market at a
/// competitive price (every order strictly in the money fills in full) with the most volume traded.
/// Firm orders are claimed in O(1), and standing orders are settled by the meter's later readings. Everyone trading in a period trades at one price, so
/// arriving first or racing another order gains nothing. Escrow and payouts are EnergyVault balances.
/// @dev AuctionClearing holds the clearing rule, StandingOrders the standing orders, AuctionMarkets the
/// markets' opening and clearing, and AuctionStorage every state variable. This contract adds firm
/// orders, the places that store them and their claims; its settings and views are served from
/// EnergyAuctionExtension (IEnergyAuctionExtension) through its fallback.
contract EnergyAuction is StandingOrders {
    /// @notice The largest order the auction accepts: as much as one side of a tick holds, 68.7 GWh.
    uint256 public constant MAX_ORDER_WH = MAX_TICK_VOLUME_WH;
    /// @notice The most orders one claimBatch call pays out.
    uint256 public constant MAX_CLAIM_BATCH = 100;

    /// @dev How many of a trader's reusable places a new order tries before it takes a one-off place.
    /// A trader with several open orders in one market and side finds the next places free.
    uint256 private constant SLOT_PROBES = 4;

    /// @dev The EIP-712 type hash of a signed firm order (submitOrderBySig).
    bytes32 private constant AUCTION_ORDER_TYPEHASH = keccak256(
        "AuctionOrder(address trader,uint256 period,bool isBid,uint256 amountWh,uint256 limitPricePerKWh,uint256 nonce,uint256 deadline,uint32 regionId)"
    );
    /// @dev The hashes of the EIP-712 domain's name "EnergyAuction" and version "1".
    bytes32 private constant DOMAIN_NAME_HASH = keccak256("EnergyAuction");
    bytes32 private constant DOMAIN_VERSION_HASH = keccak256("1");

    /// @dev Where the functions the auction does not hold itself are served (EnergyAuctionExtension).
    address private immutable _extension;

    constructor(
        address admin,
        IEnergyVault vault_,
        address meterRegistry_,
        address feeRecipient_,
        uint256 gridFeeBps_,
        uint256 periodLengthSeconds,
        uint256 gateClosureSeconds,
        uint256 minPricePerKWh,
        uint256 tickSizePerKWh,
        uint256 maxPricePerKWh,
        IEnergyAuctionExtension extension_
    )
        AuctionMarkets(
            admin,
            vault_,
            meterRegistry_,
            feeRecipient_,
            gridFeeBps_,
            periodLengthSeconds,
            gateClosureSeconds,
            minPricePerKWh,
            tickSizePerKWh,
            maxPricePerKWh
        )
    {
        (address extension, address extensionVault, address extensionRegistry, uint256 extensionPeriod, uint256 extensionGate) =
            extension_.extensionSettings();
        if (
            extension != address(extension_) || extensionVault != address(vault_) || extensionRegistry != meterRegistry_
                || extensionPeriod != periodLengthSeconds || extensionGate != gateClosureSeconds
        ) revert AuctionExtensionMismatch(address(extension_));
        _extension = address(extension_);
    }

    /// @notice Serves every function the auction does not hold itself (IEnergyAuctionExtension: its settings
    /// and views) from its extension, run on the auction's storage by delegatecall.
    fallback() external {
        DelegateCalls.forward(_extension);
    }

    // ---- Trading ----

    /// @inheritdoc IEnergyAuction
    function submitBid(uint256 period, uint256 amountWh, uint256 limitPricePerKWh) external returns (uint256 orderId) {
        return AuctionOrderId.unwrap(_submit(msg.sender, period, amountWh, limitPricePerKWh, true, 0));
    }

    /// @inheritdoc IEnergyAuction
    function submitAsk(uint256 period, uint256 amountWh, uint256 limitPricePerKWh) external returns (uint256 orderId) {
        return AuctionOrderId.unwrap(_submit(msg.sender, period, amountWh, limitPricePerKWh, false, 0));
    }

    /// @inheritdoc IEnergyAuction
    function submitBidIn(uint32 regionId, uint256 period, uint256 amountWh, uint256 limitPricePerKWh)
        external
        returns (uint256 orderId)
    {
        return AuctionOrderId.unwrap(_submit(msg.sender, period, amountWh, limitPricePerKWh, true, _zoneOf(regionId)));
    }

    /// @inheritdoc IEnergyAuction
    function submitAskIn(uint32 regionId, uint256 period, uint256 amountWh, uint256 limitPricePerKWh)
        external
        returns (uint256 orderId)
    {
        return AuctionOrderId.unwrap(_submit(msg.sender, period, amountWh, limitPricePerKWh, false, _zoneOf(regionId)));
    }

    /// @inheritdoc IEnergyAuction
    /// @dev The nonce is spent before the order is placed, in the same transaction, so an order that
    /// fails leaves the nonce unspent and its signature still usable until its deadline. The lock is
    /// checked first, so that a call from inside a running submission is refused as re-entry before its
    /// signature is looked at; `_submit` then takes the lock.
    function submitOrderBySig(SignedAuctionOrder calldata order, uint8 v, bytes32 r, bytes32 s)
        external
        whenUnlocked
        returns (uint256 orderId)
    {
        address trader = order.trader;
        if (block.timestamp >= order.deadline) revert SignatureExpired(order.deadline, block.timestamp);
        uint256 currentNonce = _nonces[trader];
        if (order.nonce != currentNonce) revert InvalidNonce(trader, order.nonce, currentNonce);
        bytes32 digest =
            TypedSignatures.digest(DOMAIN_NAME_HASH, DOMAIN_VERSION_HASH, keccak256(abi.encode(AUCTION_ORDER_TYPEHASH, order)));
        address signer = TypedSignatures.recover(digest, v, r, s);
        // A signature that recovers to no address yields the zero signer, which must not pass for a zero trader.
        if (signer == address(0) || signer != trader) revert InvalidSigner(trader, signer);
        _nonces[trader] = currentNonce + 1;
        uint256 zone = order.regionId == 0 ? 0 : _zoneOf(order.regionId);
        return AuctionOrderId.unwrap(_submit(trader, order.period, order.amountWh, order.limitPricePerKWh, order.isBid, zone));
    }

    /// @inheritdoc IEnergyAuction
    function clear(uint256 period) external {
        uint256 clearsAt = _clearingTime(period);
        if (block.timestamp < clearsAt) revert GateNotClosed(period, clearsAt);
        if (_clearings[period].clearingPricePerKWh != 0) revert MarketAlreadyCleared(period);
        _clear(period);
    }

    /// @inheritdoc IEnergyAuction
    /// @dev The auction needs no lock of its own here. A claim's only outside call is the vault's give,
    /// which calls nothing else and does not run inside a vault transfer (which holds the vault's lock),
    /// so nothing can re-enter a claim.
    function claim(uint256 orderId) external {
        _claim(AuctionOrderId.wrap(orderId), true);
    }

    /// @inheritdoc IEnergyAuction
    function claimBatch(uint256[] calldata orderIds) external {
        uint256 count = orderIds.length;
        if (count == 0) revert EmptyBatch();
        if (count > MAX_CLAIM_BATCH) revert BatchTooLarge(count, MAX_CLAIM_BATCH);
        // After the first payout, the vault and the auction's balance there are warm, so each further
        // claim costs about as much as its own place, its event and the trader's balance.
        for (uint256 i; i < count; ++i) {
            _claim(AuctionOrderId.wrap(orderIds[i]), false);
        }
    }

    // ---- Firm orders ----

    /// @dev Places `trader`'s order and makes its vault movements: it takes the order's escrow after paying
    /// out what settling the trader's earlier order in the same place produced. Bids and asks, sent or
    /// signed, all come through here, so their guards are written once.
    function _submit(address trader, uint256 period, uint256 amountWh, uint256 limitPricePerKWh, bool isBid, uint256 zone)
        private
        whenNotPaused
        nonReentrantCompact
        returns (AuctionOrderId orderId)
    {
        if (amountWh == 0 || amountWh > MAX_ORDER_WH) revert AmountOutOfRange(amountWh, MAX_ORDER_WH);
        AuctionOrder order;
        uint256 sequence;
        {
            uint256 closesAt = _gateClosureTime(period);
            if (block.timestamp >= closesAt) revert GateClosed(period, closesAt);
            uint256 maxPeriod = MarketTime.furthestPeriod(block.timestamp, _gateClosure, _periodLength);
            if (period > maxPeriod) revert PeriodTooFarAhead(period, maxPeriod);

            Market memory market = _openMarket(period, isBid, closesAt);
            order = _joinBook(period, zone, _tickOf(limitPricePerKWh, market), amountWh, limitPricePerKWh, isBid);
            if (isBid) market.bidVolumeWh += uint48(amountWh);
            sequence = ++market.orderCount;
            _markets[period] = market;
        }
        uint256 giveWh;
        uint256 givePayment;
        (orderId, giveWh, givePayment) = _place(trader, period, isBid, sequence, order);
        uint256 escrow = isBid ? OrderMath.ceilMilli(amountWh * limitPricePerKWh) : amountWh;
        emit OrderSubmitted(AuctionOrderId.unwrap(orderId), period, trader, isBid, amountWh, limitPricePerKWh, escrow);
        if (zone != 0) emit OrderZoneSet(AuctionOrderId.unwrap(orderId), zone);
        // The settled order's payout is given first, so that it can fund the escrow. The escrow is then
        // taken in full, so that the vault's checks (the trader's approval, this market being open and
        // a shortfall pulled from the wallet) apply to every order as before. The second call finds
        // every slot warm.
        if (giveWh != 0 || givePayment != 0) VaultCalls.give(_vault, trader, giveWh, givePayment);
        (uint256 takeWh, uint256 takePayment) = isBid ? (uint256(0), escrow) : (escrow, uint256(0));
        VaultCalls.take(_vault, trader, takeWh, takePayment);
    }

    // ---- Order places ----
    // Order slots belong to their trader and are reused. Each trader has REUSABLE_PLACES places per
    // side. An order takes the place `period % REUSABLE_PLACES`, or one of the next SLOT_PROBES - 1
    // places if that one holds a live order, meaning one that is unclaimed and whose market has not
    // cleared. A place whose order was claimed is rewritten (5,000 gas) instead of created (22,100).
    // A place whose order's market has cleared is claimed in line first, and its payout is credited
    // just before the new escrow is taken, so a trader who orders again in a later market is paid
    // without a claim of its own. A market that may clear but has not yet cleared keeps its orders'
    // places live, because a submission should never pay for clearing a whole market (that cost grows
    // with the market's occupied ticks); the keeper or any reading clears it instead.
    // When every probed place is live, the order takes a one-off place in its market, keyed by its
    // sequence number there. That way there is no cap on open orders, and looking costs at most
    // SLOT_PROBES reads. Each place stores its order's period, so an id whose place has moved on to a
    // later order can be told apart (OrderSlotReused).

    /// @dev Stores the order in the trader's first free place on its side, or in a one-off place.
    /// Returns the order's id and what the earlier order, claimed in line, pays the trader. The time is checked
    /// first, so that a live order of an open market costs no read of its market's result.
    function _place(address trader, uint256 period, bool isBid, uint256 sequence, AuctionOrder order)
        private
        returns (AuctionOrderId orderId, uint256 energyWh, uint256 payment)
    {
        uint256 places = AuctionOrderIdLibrary.REUSABLE_PLACES;
        uint256 start = period % places;
        for (uint256 probe; probe < SLOT_PROBES; ++probe) {
            AuctionOrderId place = AuctionOrderIdLibrary.placeOf(trader, isBid, (start + probe) % places);
            uint256 key = AuctionOrderId.unwrap(place);
            AuctionOrder held = _orders[key];
            bool free = held.period() == 0 || held.claimed();
            if (!free && block.timestamp >= _clearingTime(held.period())) {
                Clearing memory c = _clearings[held.period()];
                if (c.clearingPricePerKWh != 0) {
                    (energyWh, payment) = _payOut(place.inPeriod(held.period()), held, c);
                    free = true;
                }
            }
            if (free) {
                _orders[key] = order;
                return (place.inPeriod(period), energyWh, payment);
            }
        }
        orderId = AuctionOrderIdLibrary.placeOf(trader, isBid, places + sequence).inPeriod(period);
        _orders[AuctionOrderId.unwrap(orderId)] = order;
    }

    /// @dev The zone of grid region `regionId`; a region that is not a zone, or a market without zones, is refused.
    function _zoneOf(uint32 regionId) private view returns (uint256 zone) {
        IMarketZones zones = _marketZones;
        if (address(zones) != address(0)) zone = zones.zoneOf(regionId);
        if (zone == 0) revert RegionNotAZone(regionId);
    }

    function _tickOf(uint256 pricePerKWh, Market memory market) private pure returns (uint256 tick) {
        uint256 minPricePerKWh = market.minPricePerKWh;
        uint256 stepPerKWh = market.tickSizePerKWh;
        uint256 maxPricePerKWh = minPricePerKWh + (uint256(market.tickCount) - 1) * stepPerKWh;
        if (pricePerKWh < minPricePerKWh || pricePerKWh > maxPricePerKWh || (pricePerKWh - minPricePerKWh) % stepPerKWh != 0) {
            revert PriceNotOnGrid(pricePerKWh, minPricePerKWh, stepPerKWh, maxPricePerKWh);
        }
        return (pricePerKWh - minPricePerKWh) / stepPerKWh;
    }

    // ---- Claims ----

    /// @dev Pays out an order of a cleared market into its trader's vault balance. An order that was
    /// claimed before, either by a claim or in line when its trader's next order reused its place,
    /// reverts when `strict` is set and is skipped otherwise, so that a batch does not fail because
    /// another claim won a race with it.
    function _claim(AuctionOrderId id, bool strict) private {
        uint256 key = id.storageKey();
        AuctionOrder order = _orders[key];
        if (order.period() == 0) revert OrderUnknown(AuctionOrderId.unwrap(id));
        bool reused = order.period() != id.period();
        if (reused || order.claimed()) {
            if (!strict) return;
            if (reused) revert OrderSlotReused(AuctionOrderId.unwrap(id), order.period());
            revert AlreadyClaimed(AuctionOrderId.unwrap(id));
        }
        Clearing memory c = _clearings[order.period()];
        if (c.clearingPricePerKWh == 0) revert MarketNotCleared(order.period());
        _orders[key] = order.markClaimed();
        (uint256 energyWh, uint256 payment) = _payOut(id, order, c);
        if (energyWh != 0 || payment != 0) VaultCalls.give(_vault, id.trader(), energyWh, payment);
    }

    /// @dev Emits the claim's event and returns what the claim pays the order's trader, as energy and
    /// payment.
    function _payOut(AuctionOrderId id, AuctionOrder order, Clearing memory c)
        private
        returns (uint256 energyWh, uint256 payment)
    {
        bool isBid = id.isBid();
        if (c.longSide == LongSide.ZONES) c = _zoneClearing(c, order.period(), order.zone(), isBid);
        (uint256 filledWh, uint256 paid, uint256 fee, uint256 refund) = AuctionClearing.outcomeOf(
            isBid, order.tick(), order.amountWh(), order.volumeBeforeWh(), order.limitPricePerKWh(), c
        );
        emit OrderClaimed(AuctionOrderId.unwrap(id), id.trader(), isBid, filledWh, paid, fee, refund);
        return isBid ? (filledWh, refund) : (refund, paid - fee);
    }
}
