// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEnergyAuction} from "./interfaces/IEnergyAuction.sol";

/// @title EnergyAuction
/// @notice One uniform-price double auction per delivery period: firm, escrowed bids and asks on a
/// bounded price grid; `clear(period)` by anyone after gate closure at the volume-maximizing price;
/// claims in O(1). Everyone trading in a period trades at one price, so arriving first or racing
/// another order gains nothing.
/// @dev Nothing loops over orders. Each tick of a market keeps its bid and ask volume in one slot,
/// and a 256-bit occupancy bitmap per side lets `clear` read only occupied ticks. An order is one
/// slot and stores the volume of its side and tick submitted before it (C(i-1)), which with the
/// marginal level's L and T gives its rationed fill without looking at any other order. The order id
/// carries its period and side, so a claim finds its market without storing them.
contract EnergyAuction is AccessControl, Pausable, IEnergyAuction {
    using SafeERC20 for IERC20;

    /// @notice Pauses submissions and clearing (the guardian); only the admin resumes.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Highest grid fee: 10 %, as in Settlement.
    uint256 public constant MAX_FEE_BPS = 1_000;
    /// @notice Most ticks a price grid may have: one 256-bit occupancy word per side.
    uint256 public constant MAX_TICKS = 256;
    /// @notice Longest delivery period.
    uint256 public constant MAX_PERIOD_LENGTH = 7 days;
    /// @notice Longest gate closure.
    uint256 public constant MAX_GATE_CLOSURE = 7 days;
    /// @notice Longest an order's escrow waits for its market's gate to close: markets further ahead take no orders.
    uint256 public constant MAX_LEAD_TIME = 7 days;
    /// @notice Largest order, 1 TWh; also bounds each side of a tick, so that running totals fit 40 bits.
    uint256 public constant MAX_ORDER_WH = 1e12;
    /// @notice Most volume one side of one tick of a market may gather.
    uint256 public constant MAX_TICK_VOLUME_WH = 1e12;
    /// @notice Highest price a grid may reach (fits the 80-bit price fields: 10^6 whole units of an 18-decimal token).
    uint256 public constant MAX_PRICE_PER_KWH = 1e24;

    uint256 private constant WH_PER_KWH = 1_000;
    uint256 private constant BPS = 10_000;
    uint256 private constant BID_FLAG = 1 << 63;

    /// @dev A market's slot written by every submission.
    struct Market {
        uint32 orderCount; // sequence numbers 1..orderCount
        uint16 tickCount; // 0 = no grid fixed yet (no order, not cleared)
        uint80 minPricePerKWh; // the grid the market started with
        uint80 tickSizePerKWh;
        uint48 bidVolumeWh; // all bids: D at the lowest tick, where the clearing scan starts
    }

    /// @dev A market's result, written once by `clear`: everything a claim needs but the marginal level.
    struct Clearing {
        bool cleared;
        uint8 clearingTick;
        uint8 marginalTick;
        LongSide longSide;
        uint16 feeBps; // fee rate snapshot at clearing
        uint80 clearingPricePerKWh;
        uint80 tickSizePerKWh; // copied so that a bid's claim finds its limit price in this slot
        uint48 volumeWh; // at most 256 ticks x MAX_TICK_VOLUME_WH < 2^48
    }

    /// @dev One tick of one market.
    struct TickVolumes {
        uint64 bidWh;
        uint64 askWh;
        uint64 rationedWh; // L, written by `clear` at the long side's marginal tick only
    }

    /// @dev One slot per order; its period and side are in its id.
    struct Order {
        address trader;
        uint40 amountWh;
        uint40 volumeBeforeWh; // C(i-1)
        uint8 tick;
        bool claimed;
    }

    IERC20 private immutable _energyToken;
    IERC20 private immutable _paymentToken;
    uint256 private immutable _periodLength;
    uint256 private immutable _gateClosure;
    // These share a slot with Pausable's flag: a submission reads the flag, the grid and nothing else global.
    uint16 private _gridFeeBps;
    uint16 private _tickCount;
    uint80 private _minPricePerKWh;
    uint80 private _tickSizePerKWh;
    // One slot, never zero (the recipient is not): accruing fees at clearing rewrites it, never creates it.
    address private _feeRecipient;
    uint96 private _accruedFees; // grid fees and the buyers' rounding surplus of cleared markets

    mapping(uint256 period => Market) private _markets;
    mapping(uint256 period => Clearing) private _clearings;
    mapping(uint256 period => uint256) private _bidTicks;
    mapping(uint256 period => uint256) private _askTicks;
    mapping(uint256 periodAndTick => TickVolumes) private _ticks;
    mapping(uint256 orderId => Order) private _orders;
    /// @dev Reentrancy lock in transient storage (EIP-1153), as in Settlement.
    uint256 private transient _entered;

    modifier nonReentrant() {
        if (_entered != 0) revert ReentrancyGuardReentrantCall();
        _entered = 1;
        _;
        _entered = 0;
    }

    constructor(
        address admin,
        IERC20 energyToken_,
        IERC20 paymentToken_,
        address feeRecipient_,
        uint256 gridFeeBps_,
        uint256 periodLengthSeconds,
        uint256 gateClosureSeconds,
        uint256 minPricePerKWh,
        uint256 tickSizePerKWh,
        uint256 maxPricePerKWh
    ) {
        if (admin == address(0) || address(energyToken_) == address(0) || address(paymentToken_) == address(0)) {
            revert ZeroAddress();
        }
        if (feeRecipient_ == address(0)) revert InvalidFeeRecipient(feeRecipient_);
        if (gridFeeBps_ > MAX_FEE_BPS) revert FeeTooHigh(gridFeeBps_, MAX_FEE_BPS);
        if (periodLengthSeconds == 0 || periodLengthSeconds > MAX_PERIOD_LENGTH) {
            revert InvalidPeriodLength(periodLengthSeconds, MAX_PERIOD_LENGTH);
        }
        if (gateClosureSeconds > MAX_GATE_CLOSURE) revert InvalidGateClosure(gateClosureSeconds, MAX_GATE_CLOSURE);
        _energyToken = energyToken_;
        _paymentToken = paymentToken_;
        _feeRecipient = feeRecipient_;
        _gridFeeBps = uint16(gridFeeBps_);
        _periodLength = periodLengthSeconds;
        _gateClosure = gateClosureSeconds;
        _setPriceGrid(minPricePerKWh, tickSizePerKWh, maxPricePerKWh);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    // ----------------------------------------------------------------------------- trading

    /// @inheritdoc IEnergyAuction
    function submitBid(uint256 period, uint256 amountWh, uint256 limitPricePerKWh)
        external
        whenNotPaused
        nonReentrant
        returns (uint256 orderId)
    {
        uint256 escrow;
        (orderId, escrow) = _submit(period, amountWh, limitPricePerKWh, true);
        _paymentToken.safeTransferFrom(msg.sender, address(this), escrow);
    }

    /// @inheritdoc IEnergyAuction
    function submitAsk(uint256 period, uint256 amountWh, uint256 limitPricePerKWh)
        external
        whenNotPaused
        nonReentrant
        returns (uint256 orderId)
    {
        (orderId,) = _submit(period, amountWh, limitPricePerKWh, false);
        _energyToken.safeTransferFrom(msg.sender, address(this), amountWh);
    }

    /// @inheritdoc IEnergyAuction
    function clear(uint256 period) external whenNotPaused {
        uint256 closesAt = _gateClosureTime(period);
        if (block.timestamp < closesAt) revert GateNotClosed(period, closesAt);
        if (_clearings[period].cleared) revert MarketAlreadyCleared(period);
        Market memory market = _markets[period];
        if (market.tickCount == 0) {
            // No order came: fix the current grid so that the market reports a price on it.
            market = _currentGrid(market);
            _markets[period] = market;
        }
        Result memory r = _computeClearing(period, market.tickCount, market.bidVolumeWh);
        if (r.longSide != LongSide.NONE) _ticks[_tickKey(period, r.marginalTick)].rationedWh = uint64(r.rationedWh);
        uint256 pricePerKWh = uint256(market.minPricePerKWh) + r.clearingTick * market.tickSizePerKWh;
        uint256 feeBps = _gridFeeBps;
        if (r.volumeWh != 0) _accruedFees += uint96(_marketSurplus(period, r, pricePerKWh, feeBps));
        _clearings[period] = Clearing({
            cleared: true,
            clearingTick: uint8(r.clearingTick),
            marginalTick: uint8(r.marginalTick),
            longSide: r.longSide,
            feeBps: uint16(feeBps),
            clearingPricePerKWh: uint80(pricePerKWh),
            tickSizePerKWh: market.tickSizePerKWh,
            volumeWh: uint48(r.volumeWh)
        });
        emit MarketCleared(
            period,
            r.clearingTick,
            pricePerKWh,
            r.volumeWh,
            r.longSide,
            r.marginalTick,
            r.rationedWh,
            r.marginalLevelWh,
            feeBps
        );
    }

    /// @inheritdoc IEnergyAuction
    function claim(uint256 orderId) external nonReentrant {
        Order memory order = _orders[orderId];
        if (order.trader == address(0)) revert OrderUnknown(orderId);
        if (order.claimed) revert AlreadyClaimed(orderId);
        uint256 period = orderId >> 64;
        Clearing memory c = _clearings[period];
        if (!c.cleared) revert MarketNotCleared(period);
        _orders[orderId].claimed = true;
        bool isBid = orderId & BID_FLAG != 0;
        OrderOutcome memory out = _outcome(period, isBid, order, c);
        emit OrderClaimed(orderId, order.trader, isBid, out.filledWh, out.payment, out.fee, out.refund);
        if (isBid) {
            if (out.filledWh != 0) _energyToken.safeTransfer(order.trader, out.filledWh);
            if (out.refund != 0) _paymentToken.safeTransfer(order.trader, out.refund);
        } else {
            uint256 proceeds = out.payment - out.fee;
            if (proceeds != 0) _paymentToken.safeTransfer(order.trader, proceeds);
            if (out.refund != 0) _energyToken.safeTransfer(order.trader, out.refund);
        }
    }

    /// @inheritdoc IEnergyAuction
    function withdrawFees() external nonReentrant returns (uint256 amount) {
        address recipient = _feeRecipient;
        if (msg.sender != recipient) revert NotFeeRecipient(msg.sender, recipient);
        amount = _accruedFees;
        if (amount == 0) revert NoFeesAccrued();
        _accruedFees = 0;
        emit FeesWithdrawn(recipient, amount);
        _paymentToken.safeTransfer(recipient, amount);
    }

    // ----------------------------------------------------------------------------- admin

    /// @inheritdoc IEnergyAuction
    function setPriceGrid(uint256 minPricePerKWh, uint256 tickSizePerKWh, uint256 maxPricePerKWh)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setPriceGrid(minPricePerKWh, tickSizePerKWh, maxPricePerKWh);
    }

    /// @inheritdoc IEnergyAuction
    function setGridFee(uint256 feeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeBps > MAX_FEE_BPS) revert FeeTooHigh(feeBps, MAX_FEE_BPS);
        uint256 previousBps = _gridFeeBps;
        _gridFeeBps = uint16(feeBps);
        emit GridFeeUpdated(previousBps, feeBps);
    }

    /// @inheritdoc IEnergyAuction
    function setFeeRecipient(address feeRecipient_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeRecipient_ == address(0)) revert InvalidFeeRecipient(feeRecipient_);
        address previousRecipient = _feeRecipient;
        _feeRecipient = feeRecipient_;
        emit FeeRecipientUpdated(previousRecipient, feeRecipient_);
    }

    /// @inheritdoc IEnergyAuction
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IEnergyAuction
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc IEnergyAuction
    function periodLength() external view returns (uint256) {
        return _periodLength;
    }

    /// @inheritdoc IEnergyAuction
    function gateClosure() external view returns (uint256) {
        return _gateClosure;
    }

    /// @inheritdoc IEnergyAuction
    function minPrice() external view returns (uint256) {
        return _minPricePerKWh;
    }

    /// @inheritdoc IEnergyAuction
    function tickSize() external view returns (uint256) {
        return _tickSizePerKWh;
    }

    /// @inheritdoc IEnergyAuction
    function maxPrice() external view returns (uint256) {
        return uint256(_minPricePerKWh) + (uint256(_tickCount) - 1) * _tickSizePerKWh;
    }

    /// @inheritdoc IEnergyAuction
    function tickCount() external view returns (uint256) {
        return _tickCount;
    }

    /// @inheritdoc IEnergyAuction
    function currentPeriod() external view returns (uint256) {
        return block.timestamp / _periodLength;
    }

    /// @inheritdoc IEnergyAuction
    function gateClosureTime(uint256 period) external view returns (uint256) {
        return _gateClosureTime(period);
    }

    /// @inheritdoc IEnergyAuction
    function getMarket(uint256 period) external view returns (MarketInfo memory info) {
        Market memory market = _markets[period];
        Clearing memory c = _clearings[period];
        info.cleared = c.cleared;
        info.orderCount = market.orderCount;
        info.tickCount = market.tickCount;
        info.minPricePerKWh = market.minPricePerKWh;
        info.tickSizePerKWh = market.tickSizePerKWh;
        info.clearingTick = c.clearingTick;
        info.clearingPricePerKWh = c.clearingPricePerKWh;
        info.volumeWh = c.volumeWh;
        info.feeBps = c.feeBps;
        info.longSide = c.longSide;
        info.marginalTick = c.marginalTick;
        if (c.longSide != LongSide.NONE) {
            TickVolumes memory level = _ticks[_tickKey(period, c.marginalTick)];
            info.rationedWh = level.rationedWh;
            info.marginalLevelWh = c.longSide == LongSide.BIDS ? level.bidWh : level.askWh;
        }
    }

    /// @inheritdoc IEnergyAuction
    function getTickVolumes(uint256 period)
        external
        view
        returns (uint256[] memory bidVolumesWh, uint256[] memory askVolumesWh)
    {
        uint256 n = _markets[period].tickCount;
        if (n == 0) n = _tickCount;
        bidVolumesWh = new uint256[](n);
        askVolumesWh = new uint256[](n);
        for (uint256 occupied = _bidTicks[period] | _askTicks[period]; occupied != 0; occupied &= occupied - 1) {
            uint256 tick = _lowestBit(occupied);
            TickVolumes memory level = _ticks[_tickKey(period, tick)];
            bidVolumesWh[tick] = level.bidWh;
            askVolumesWh[tick] = level.askWh;
        }
    }

    /// @inheritdoc IEnergyAuction
    function getOrder(uint256 orderId) external view returns (OrderInfo memory) {
        Order memory order = _knownOrder(orderId);
        uint256 period = orderId >> 64;
        Market memory market = _markets[period];
        return OrderInfo({
            trader: order.trader,
            period: period,
            isBid: orderId & BID_FLAG != 0,
            amountWh: order.amountWh,
            limitPricePerKWh: uint256(market.minPricePerKWh) + uint256(order.tick) * market.tickSizePerKWh,
            tick: order.tick,
            volumeBeforeWh: order.volumeBeforeWh,
            claimed: order.claimed
        });
    }

    /// @inheritdoc IEnergyAuction
    function getOrderOutcome(uint256 orderId) external view returns (OrderOutcome memory out) {
        Order memory order = _knownOrder(orderId);
        uint256 period = orderId >> 64;
        Clearing memory c = _clearings[period];
        if (!c.cleared) revert MarketNotCleared(period);
        out = _outcome(period, orderId & BID_FLAG != 0, order, c);
        out.claimed = order.claimed;
    }

    /// @inheritdoc IEnergyAuction
    function gridFeeBps() external view returns (uint256) {
        return _gridFeeBps;
    }

    /// @inheritdoc IEnergyAuction
    function feeRecipient() external view returns (address) {
        return _feeRecipient;
    }

    /// @inheritdoc IEnergyAuction
    function accruedFees() external view returns (uint256) {
        return _accruedFees;
    }

    /// @inheritdoc IEnergyAuction
    function energyToken() external view returns (address) {
        return address(_energyToken);
    }

    /// @inheritdoc IEnergyAuction
    function paymentToken() external view returns (address) {
        return address(_paymentToken);
    }

    // ----------------------------------------------------------------------------- internals

    /// @dev The best range of ticks of a clearing scan and its figures.
    struct Best {
        uint256 low;
        uint256 high;
        uint256 tradedWh;
        uint256 imbalanceWh;
    }

    /// @dev What `clear` decides, before it is stored.
    struct Result {
        uint256 clearingTick;
        uint256 volumeWh;
        LongSide longSide;
        uint256 marginalTick;
        uint256 rationedWh;
        uint256 marginalLevelWh;
    }

    function _submit(uint256 period, uint256 amountWh, uint256 limitPricePerKWh, bool isBid)
        private
        returns (uint256 orderId, uint256 escrow)
    {
        if (amountWh == 0 || amountWh > MAX_ORDER_WH) revert AmountOutOfRange(amountWh, MAX_ORDER_WH);
        uint256 closesAt = _gateClosureTime(period);
        if (block.timestamp >= closesAt) revert GateClosed(period, closesAt);
        uint256 maxPeriod = (block.timestamp + MAX_LEAD_TIME + _gateClosure) / _periodLength;
        if (period > maxPeriod) revert PeriodTooFarAhead(period, maxPeriod);

        Market memory market = _markets[period];
        if (market.tickCount == 0) {
            market = _currentGrid(market);
            // The result's slot exists from the first order on, so that `clear` rewrites it instead of creating it.
            _clearings[period].tickSizePerKWh = market.tickSizePerKWh;
        }
        uint256 tick = _tickOf(limitPricePerKWh, market);

        uint256 beforeWh = _addToTick(period, tick, amountWh, isBid);

        if (isBid) market.bidVolumeWh += uint48(amountWh);
        uint256 sequence = ++market.orderCount;
        _markets[period] = market;
        orderId = (period << 64) | (isBid ? BID_FLAG : 0) | sequence;
        _orders[orderId] = Order({
            trader: msg.sender,
            amountWh: uint40(amountWh),
            volumeBeforeWh: uint40(beforeWh),
            tick: uint8(tick),
            claimed: false
        });
        escrow = isBid ? _ceilMilli(amountWh * limitPricePerKWh) : amountWh;
        emit OrderSubmitted(orderId, period, msg.sender, isBid, amountWh, limitPricePerKWh, escrow);
    }

    /// @dev Adds an order's volume to its side of its tick (marking the tick occupied if it was not);
    /// returns the side's volume there before it, the order's C(i-1).
    function _addToTick(uint256 period, uint256 tick, uint256 amountWh, bool isBid) private returns (uint256 beforeWh) {
        TickVolumes storage level = _ticks[_tickKey(period, tick)];
        beforeWh = isBid ? level.bidWh : level.askWh;
        uint256 afterWh = beforeWh + amountWh;
        if (afterWh > MAX_TICK_VOLUME_WH) revert TickVolumeTooLarge(period, tick, afterWh, MAX_TICK_VOLUME_WH);
        if (isBid) {
            level.bidWh = uint64(afterWh);
            if (beforeWh == 0) _bidTicks[period] |= 1 << tick;
        } else {
            level.askWh = uint64(afterWh);
            if (beforeWh == 0) _askTicks[period] |= 1 << tick;
        }
    }

    /// @dev The clearing rule over the market's ticks. It visits only the ticks where D or S changes
    /// (S rises at an ask tick, D falls just above a bid tick) and reads each occupied tick's slot
    /// there; the walk to the marginal level reads them again, warm.
    function _computeClearing(uint256 period, uint256 n, uint256 bidVolumeWh) private view returns (Result memory r) {
        uint256 bidBits = _bidTicks[period];
        uint256 askBits = _askTicks[period];
        Best memory best = _bestRange(period, n, bidVolumeWh, bidBits, askBits);
        r.clearingTick = best.low + (best.high - best.low) / 2;
        r.volumeWh = best.tradedWh;
        if (best.tradedWh == 0 || best.imbalanceWh == 0) return r;
        (r.longSide, r.marginalTick, r.marginalLevelWh, r.rationedWh) =
            _marginalLevel(period, r.clearingTick, best.tradedWh, bidBits, askBits);
    }

    /// @dev The long side at the clearing tick and its marginal level: walks that side best limit first
    /// until `volumeWh` is reached. The asks are walked first; if they run out exactly at the traded
    /// volume they are the short side, and the bids, which then offer more, the long one.
    function _marginalLevel(uint256 period, uint256 clearingTick, uint256 volumeWh, uint256 bidBits, uint256 askBits)
        private
        view
        returns (LongSide longSide, uint256 tick, uint256 levelWh, uint256 rationedWh)
    {
        unchecked {
            uint256 asks = clearingTick == 255 ? askBits : askBits & ((1 << (clearingTick + 1)) - 1);
            uint256 reachedWh;
            for (;; asks &= asks - 1) {
                tick = _lowestBit(asks);
                levelWh = _ticks[_tickKey(period, tick)].askWh;
                if (reachedWh + levelWh >= volumeWh) break;
                reachedWh += levelWh;
            }
            if (reachedWh + levelWh > volumeWh || asks & (asks - 1) != 0) {
                longSide = LongSide.ASKS;
            } else {
                longSide = LongSide.BIDS;
                reachedWh = 0;
                for (uint256 bids = bidBits;; bids ^= 1 << tick) {
                    tick = _highestBit(bids);
                    levelWh = _ticks[_tickKey(period, tick)].bidWh;
                    if (reachedWh + levelWh >= volumeWh) break;
                    reachedWh += levelWh;
                }
            }
            rationedWh = volumeWh - reachedWh;
        }
    }

    /// @dev The range [low, high] of ticks with the most traded volume and, among those, the least
    /// imbalance, and those two figures. Between the ticks where D or S changes they are constant, so
    /// the scan goes segment by segment. min(D, S) is single-peaked and D - S falls, so the best ticks
    /// form one range, a union of whole segments.
    function _bestRange(uint256 period, uint256 n, uint256 demandWh, uint256 bidBits, uint256 askBits)
        private
        view
        returns (Best memory best)
    {
        unchecked {
            uint256 supplyWh = askBits & 1 != 0 ? _ticks[_tickKey(period, 0)].askWh : 0;
            uint256 changes = (askBits | (bidBits << 1)) & ~uint256(1);
            uint256 start;
            while (true) {
                uint256 next = changes == 0 ? n : _lowestBit(changes);
                (uint256 tradedWh, uint256 imbalanceWh) =
                    demandWh < supplyWh ? (demandWh, supplyWh - demandWh) : (supplyWh, demandWh - supplyWh);
                if (
                    start == 0 || tradedWh > best.tradedWh
                        || (tradedWh == best.tradedWh && imbalanceWh < best.imbalanceWh)
                ) {
                    (best.tradedWh, best.imbalanceWh, best.low, best.high) = (tradedWh, imbalanceWh, start, next - 1);
                } else if (tradedWh == best.tradedWh && imbalanceWh == best.imbalanceWh) {
                    best.high = next - 1;
                }
                if (next >= n) break;
                if (askBits & (1 << next) != 0) supplyWh += _ticks[_tickKey(period, next)].askWh;
                if (bidBits & (1 << (next - 1)) != 0) demandWh -= _ticks[_tickKey(period, next - 1)].bidWh;
                changes &= changes - 1;
                start = next;
            }
        }
    }

    /// @dev The buyers' payments minus the sellers' gross plus the grid fees of a market that traded:
    /// what stays in the contract once every order has claimed, accrued at clearing. Each filled level
    /// rounds once (see `_outcome`), so this is a sum over the levels, not over the orders.
    function _marketSurplus(uint256 period, Result memory r, uint256 pricePerKWh, uint256 feeBps)
        private
        view
        returns (uint256 surplus)
    {
        unchecked {
            uint256 tick;
            for (uint256 bids = _bidTicks[period]; bids != 0; bids ^= 1 << tick) {
                tick = _highestBit(bids);
                if (tick < r.clearingTick) break;
                uint256 filledWh = _levelFilledWh(period, tick, true, r);
                if (filledWh == 0) break;
                surplus += _ceilMilli(filledWh * pricePerKWh);
            }
            for (uint256 asks = _askTicks[period]; asks != 0; asks &= asks - 1) {
                tick = _lowestBit(asks);
                if (tick > r.clearingTick) break;
                uint256 filledWh = _levelFilledWh(period, tick, false, r);
                if (filledWh == 0) break;
                uint256 gross = filledWh * pricePerKWh / WH_PER_KWH;
                // Buyers paid at least the exact value of the volume, sellers get at most it: no underflow.
                surplus = surplus - gross + gross * feeBps / BPS;
            }
        }
    }

    /// @dev What a level (one side of one tick, at or better than the clearing price) trades.
    function _levelFilledWh(uint256 period, uint256 tick, bool isBid, Result memory r) private view returns (uint256) {
        if (r.longSide == (isBid ? LongSide.BIDS : LongSide.ASKS)) {
            if (tick == r.marginalTick) return r.rationedWh;
            if (isBid ? tick < r.marginalTick : tick > r.marginalTick) return 0;
        }
        TickVolumes storage level = _ticks[_tickKey(period, tick)];
        return isBid ? level.bidWh : level.askWh;
    }

    /// @dev What an order of a cleared market gets; `claimed` is left false. Within a level, fills,
    /// payments and fees are differences of running totals, so each level rounds once: with F the
    /// level's filled volume up to an order (before: F0, with it: F1) at clearing price P, a bid pays
    /// ceil(F1 * P / 1000) - ceil(F0 * P / 1000) (never above ceil(fill * P / 1000), so within its
    /// escrow), an ask grosses G1 - G0 with G = floor(F * P / 1000) and pays the fee
    /// floor(G1 * feeBps / 10_000) - floor(G0 * feeBps / 10_000).
    function _outcome(uint256 period, bool isBid, Order memory order, Clearing memory c)
        private
        view
        returns (OrderOutcome memory out)
    {
        (uint256 beforeWh, uint256 afterWh) = _runningFills(period, isBid, order, c);
        uint256 pricePerKWh = c.clearingPricePerKWh;
        unchecked {
            out.filledWh = afterWh - beforeWh;
            if (isBid) {
                uint256 limitPricePerKWh = order.tick >= c.clearingTick
                    ? pricePerKWh + uint256(order.tick - c.clearingTick) * c.tickSizePerKWh
                    : pricePerKWh - uint256(c.clearingTick - order.tick) * c.tickSizePerKWh;
                out.payment = _ceilMilli(afterWh * pricePerKWh) - _ceilMilli(beforeWh * pricePerKWh);
                out.refund = _ceilMilli(uint256(order.amountWh) * limitPricePerKWh) - out.payment;
            } else {
                uint256 grossBefore = beforeWh * pricePerKWh / WH_PER_KWH;
                uint256 grossAfter = afterWh * pricePerKWh / WH_PER_KWH;
                out.payment = grossAfter - grossBefore;
                out.fee = grossAfter * c.feeBps / BPS - grossBefore * c.feeBps / BPS;
                out.refund = order.amountWh - out.filledWh;
            }
        }
    }

    /// @dev The order's level's filled volume before it and up to and including it (equal: no fill),
    /// from its own slot, the result and (at the marginal tick only) that tick's slot. Orders better
    /// than the marginal level, or on the short side, fill in full; the marginal level's orders share
    /// L of its T: floor(C * L / T) at running total C.
    function _runningFills(uint256 period, bool isBid, Order memory order, Clearing memory c)
        private
        view
        returns (uint256 beforeWh, uint256 afterWh)
    {
        uint256 tick = order.tick;
        if (c.volumeWh == 0 || (isBid ? tick < c.clearingTick : tick > c.clearingTick)) return (0, 0);
        beforeWh = order.volumeBeforeWh;
        afterWh = beforeWh + order.amountWh;
        if (c.longSide != (isBid ? LongSide.BIDS : LongSide.ASKS)) return (beforeWh, afterWh);
        if (tick != c.marginalTick) {
            return (isBid ? tick > c.marginalTick : tick < c.marginalTick) ? (beforeWh, afterWh) : (0, 0);
        }
        TickVolumes memory level = _ticks[_tickKey(period, tick)];
        uint256 levelWh = isBid ? level.bidWh : level.askWh;
        uint256 rationedWh = level.rationedWh;
        unchecked {
            return (beforeWh * rationedWh / levelWh, afterWh * rationedWh / levelWh);
        }
    }

    function _setPriceGrid(uint256 minPricePerKWh, uint256 tickSizePerKWh, uint256 maxPricePerKWh) private {
        if (
            minPricePerKWh == 0 || tickSizePerKWh == 0 || maxPricePerKWh < minPricePerKWh
                || maxPricePerKWh > MAX_PRICE_PER_KWH || (maxPricePerKWh - minPricePerKWh) % tickSizePerKWh != 0
                || (maxPricePerKWh - minPricePerKWh) / tickSizePerKWh >= MAX_TICKS
        ) revert InvalidPriceGrid(minPricePerKWh, tickSizePerKWh, maxPricePerKWh);
        _minPricePerKWh = uint80(minPricePerKWh);
        _tickSizePerKWh = uint80(tickSizePerKWh);
        _tickCount = uint16((maxPricePerKWh - minPricePerKWh) / tickSizePerKWh + 1);
        emit PriceGridUpdated(minPricePerKWh, tickSizePerKWh, maxPricePerKWh);
    }

    /// @dev `market` with the current grid fixed in it.
    function _currentGrid(Market memory market) private view returns (Market memory) {
        market.tickCount = _tickCount;
        market.minPricePerKWh = _minPricePerKWh;
        market.tickSizePerKWh = _tickSizePerKWh;
        return market;
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

    function _knownOrder(uint256 orderId) private view returns (Order memory order) {
        order = _orders[orderId];
        if (order.trader == address(0)) revert OrderUnknown(orderId);
    }

    function _gateClosureTime(uint256 period) private view returns (uint256) {
        return Math.saturatingSub(Math.saturatingMul(period, _periodLength), _gateClosure);
    }

    function _tickKey(uint256 period, uint256 tick) private pure returns (uint256) {
        return (period << 8) | tick;
    }

    /// @dev Index of the lowest set bit of a non-zero word: isolate it, then binary-search its position
    /// (inline: it runs a few times per occupied tick in `clear`).
    function _lowestBit(uint256 bits) private pure returns (uint256 index) {
        assembly ("memory-safe") {
            let bit := and(bits, sub(0, bits))
            index := shl(7, gt(bit, 0xffffffffffffffffffffffffffffffff))
            index := or(index, shl(6, gt(shr(index, bit), 0xffffffffffffffff)))
            index := or(index, shl(5, gt(shr(index, bit), 0xffffffff)))
            index := or(index, shl(4, gt(shr(index, bit), 0xffff)))
            index := or(index, shl(3, gt(shr(index, bit), 0xff)))
            index := or(index, shl(2, gt(shr(index, bit), 0xf)))
            // The last nibble holds 1, 2, 4 or 8: positions 0, 1, 2, 3.
            index := or(index, byte(shr(index, bit), 0x0000010002000000030000000000000000000000000000000000000000000000))
        }
    }

    /// @dev Index of the highest set bit of a non-zero word.
    function _highestBit(uint256 bits) private pure returns (uint256 index) {
        assembly ("memory-safe") {
            index := shl(7, gt(bits, 0xffffffffffffffffffffffffffffffff))
            index := or(index, shl(6, gt(shr(index, bits), 0xffffffffffffffff)))
            index := or(index, shl(5, gt(shr(index, bits), 0xffffffff)))
            index := or(index, shl(4, gt(shr(index, bits), 0xffff)))
            index := or(index, shl(3, gt(shr(index, bits), 0xff)))
            index := or(index, shl(2, gt(shr(index, bits), 0xf)))
            // Positions of the highest bit of each nibble value 0..15, one byte each.
            index := or(index, byte(shr(index, bits), 0x0000010102020202030303030303030300000000000000000000000000000000))
        }
    }

    function _ceilMilli(uint256 milli) private pure returns (uint256) {
        return (milli + WH_PER_KWH - 1) / WH_PER_KWH;
    }
}
