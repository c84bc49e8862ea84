// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyAuction} from "../IEnergyAuction.sol";
import {AuctionOrder} from "../../types/AuctionOrder.sol";
import {TickVolumes, TickVolumesLibrary} from "../../types/TickVolumes.sol";
import {BitMath} from "../../utils/BitMath.sol";
import {OrderMath} from "../../utils/OrderMath.sol";

/// @dev A market's book slot, written by every submission.
struct Market {
    uint32 orderCount; // firm orders submitted: sequence numbers 1..orderCount
    uint16 tickCount; // 0 = no grid fixed yet (no order, not cleared)
    uint80 minPricePerKWh; // the grid the market started with
    uint80 tickSizePerKWh;
    uint48 bidVolumeWh; // all bids: D at the lowest tick, where the clearing scan starts
}

/// @dev A market's result, written once by clearing: everything a claim needs beside its order.
struct Clearing {
    bool opened; // from the first order on, so that clearing rewrites the slot instead of creating it
    uint8 clearingTick;
    uint8 marginalTick;
    IEnergyAuction.LongSide longSide;
    uint16 feeBps; // the market's fee rate: the fee at its first order, lowered by later asks
    uint80 clearingPricePerKWh; // 0 until cleared (every grid price is above 0)
    uint48 volumeWh; // at most 256 ticks x MAX_TICK_VOLUME_WH < 2^48
    uint40 rationedWh; // L: what the long side's marginal level trades (< MAX_TICK_VOLUME_WH < 2^40)
    uint40 marginalLevelWh; // T: that level's volume
}

/// @title AuctionClearing
/// @notice The auction's clearing rule in one place: which tick clears, how each side's levels fill,
/// and what every order gets, to the unit. Orders join their tick through TickVolumesLibrary.addTo,
/// which records each order's C(i-1).
/// @dev Nothing here loops over orders. Each tick of a market keeps its bid and ask volume in one
/// word (TickVolumes), and a 256-bit occupancy bitmap per side lets clearing read only occupied
/// ticks. An order stores the volume of its side and tick submitted before it, C(i-1), which with
/// the marginal level's L and T (kept in the market's Clearing) gives its rationed fill without
/// looking at any other order or tick.
library AuctionClearing {
    /// @notice Most volume one side of one tick of a market may gather, 1 TWh: running totals fit their
    /// 40 bits, a side's total of a market 48.
    uint256 internal constant MAX_TICK_VOLUME_WH = 1e12;

    /// @dev One side's walk through its levels at clearing.
    struct Walk {
        bool isLong; // the side offers more than is traded at the price
        uint256 tick; // the last level reached
        uint256 rationedWh; // what that level trades (L)
        uint256 levelWh; // that level's volume (T)
        uint256 value; // bids: what buyers pay; asks: what sellers get after fees
    }

    // ---- The clearing price ----
    // For every tick p, D(p) is the bid volume with limit >= p and S(p) the ask volume with limit <= p.
    // The clearing tick maximizes min(D, S); ties go to the ticks with the least |D - S|, then to the
    // midpoint of what remains, rounded down. Between the ticks where D or S changes both are
    // constant, so the scan goes segment by segment. min(D, S) is single-peaked and D - S falls, so
    // the best ticks form one range, a union of whole segments.

    /// @notice Clears the market of `period` on its book (`market`, the occupancy bitmaps `bidBits` and
    /// `askBits`) at fee rate `feeBps`. Returns its result and what buyers pay beyond what sellers net
    /// (the fees and the rounding surplus), which the auction accrues.
    function clear(
        mapping(uint256 => TickVolumes) storage ticks,
        uint256 period,
        Market memory market,
        uint256 bidBits,
        uint256 askBits,
        uint256 feeBps
    ) internal view returns (Clearing memory result, uint256 surplus) {
        (uint256 low, uint256 high, uint256 tradedWh) =
            bestRange(ticks, period, market.tickCount, market.bidVolumeWh, bidBits, askBits);
        uint256 clearingTick = low + (high - low) / 2;
        result = Clearing({
            opened: true,
            clearingTick: uint8(clearingTick),
            marginalTick: 0,
            longSide: IEnergyAuction.LongSide.NONE,
            feeBps: uint16(feeBps),
            clearingPricePerKWh: uint80(market.minPricePerKWh + clearingTick * market.tickSizePerKWh),
            volumeWh: uint48(tradedWh),
            rationedWh: 0,
            marginalLevelWh: 0
        });
        surplus = _walkSides(ticks, period, bidBits, askBits, result);
    }

    /// @notice The range [low, high] of ticks with the most traded volume and, among those, the least
    /// imbalance, and that volume; `demandWh` is D at tick 0 (all bids).
    function bestRange(
        mapping(uint256 => TickVolumes) storage ticks,
        uint256 period,
        uint256 n,
        uint256 demandWh,
        uint256 bidBits,
        uint256 askBits
    ) internal view returns (uint256 low, uint256 high, uint256 tradedWh) {
        unchecked {
            // Most volume first, then least imbalance, as one number: volume above, 2^64 - 1 - imbalance
            // below (volumes stay under 2^48, so every key is positive and the first segment wins).
            // `tradedWh` holds the best key until the scan ends, its volume after.
            // `volumes`: tick `start`'s word when its asks were read there, reused for its bids a step later.
            TickVolumes volumes = TickVolumes.wrap(0);
            if (askBits & 1 != 0) volumes = ticks[TickVolumesLibrary.key(period, 0)];
            uint256 supplyWh = volumes.askWh();
            uint256 changes = (askBits | (bidBits << 1)) & ~uint256(1);
            uint256 start;
            while (true) {
                uint256 next = changes == 0 ? n : BitMath.lowestBit(changes);
                {
                    uint256 key = demandWh < supplyWh
                        ? (demandWh << 64) | (type(uint64).max - (supplyWh - demandWh))
                        : (supplyWh << 64) | (type(uint64).max - (demandWh - supplyWh));
                    if (key > tradedWh) (tradedWh, low, high) = (key, start, next - 1);
                    else if (key == tradedWh) high = next - 1;
                }
                if (next >= n) break;
                if (bidBits & (1 << (next - 1)) != 0) {
                    if (volumes.isEmpty() || start != next - 1) volumes = ticks[TickVolumesLibrary.key(period, next - 1)];
                    demandWh -= volumes.bidWh();
                }
                volumes = TickVolumes.wrap(0);
                if (askBits & (1 << next) != 0) {
                    volumes = ticks[TickVolumesLibrary.key(period, next)];
                    supplyWh += volumes.askWh();
                }
                changes &= changes - 1;
                start = next;
            }
            tradedWh >>= 64;
        }
    }

    // ---- Fills ----
    // The short side's orders at or better than the price fill in full. The long side fills best
    // limit first, level by level; the orders of the last level reached (the marginal level) share
    // what is left, L of the level's T, on running totals in arrival order: an order at running total
    // C fills floor(C * L / T) - floor(C(i-1) * L / T).

    /// @dev Walks both sides of a market that traded, sets the long side and its marginal level in
    /// `result`, and returns what buyers pay beyond what sellers net (0 if nothing traded).
    function _walkSides(
        mapping(uint256 => TickVolumes) storage ticks,
        uint256 period,
        uint256 bidBits,
        uint256 askBits,
        Clearing memory result
    ) private view returns (uint256 surplus) {
        if (result.volumeWh == 0) return 0;
        uint256 clearingTick = result.clearingTick;
        Walk memory asks =
            _walk(ticks, period, clearingTick == 255 ? askBits : askBits & ((1 << (clearingTick + 1)) - 1), false, result);
        Walk memory bids = _walk(ticks, period, (bidBits >> clearingTick) << clearingTick, true, result);
        surplus = bids.value - asks.value;
        if (!asks.isLong && !bids.isLong) return surplus;
        Walk memory marginal = asks.isLong ? asks : bids;
        result.longSide = asks.isLong ? IEnergyAuction.LongSide.ASKS : IEnergyAuction.LongSide.BIDS;
        result.marginalTick = uint8(marginal.tick);
        result.rationedWh = uint40(marginal.rationedWh);
        result.marginalLevelWh = uint40(marginal.levelWh);
    }

    /// @dev Walks one side's levels at or better than the clearing price (`bits`), best first, until the
    /// traded volume: levels fill in full, the last one reached with what is left. Sums what each filled
    /// level pays (bids) or nets (asks), each level rounded once, as its orders' claims will pay it.
    function _walk(
        mapping(uint256 => TickVolumes) storage ticks,
        uint256 period,
        uint256 bits,
        bool isBid,
        Clearing memory c
    ) private view returns (Walk memory w) {
        uint256 volumeWh = c.volumeWh;
        uint256 pricePerKWh = c.clearingPricePerKWh;
        uint256 reachedWh;
        unchecked {
            while (true) {
                uint256 tick = isBid ? BitMath.highestBit(bits) : BitMath.lowestBit(bits);
                bits ^= 1 << tick;
                uint256 levelWh = ticks[TickVolumesLibrary.key(period, tick)].sideWh(isBid);
                uint256 filledWh = levelWh;
                bool last = reachedWh + levelWh >= volumeWh;
                if (last) filledWh = volumeWh - reachedWh;
                if (isBid) {
                    w.value += OrderMath.ceilMilli(filledWh * pricePerKWh);
                } else {
                    // slither-disable-next-line divide-before-multiply: the fee is taken from the rounded gross, as the asks' claims pay it
                    uint256 gross = filledWh * pricePerKWh / OrderMath.WH_PER_KWH;
                    w.value += gross - gross * c.feeBps / OrderMath.BPS;
                }
                if (last) {
                    // Orders left behind (part of this level or worse levels): this side is long.
                    (w.isLong, w.tick, w.rationedWh, w.levelWh) = (filledWh < levelWh || bits != 0, tick, filledWh, levelWh);
                    return w;
                }
                reachedWh += levelWh;
            }
        }
    }

    // ---- What an order gets ----
    // Within a level, fills, payments and fees are differences of running totals, so each level rounds
    // once: with F the level's filled volume up to an order (before: F0, with it: F1) at clearing price
    // P, a bid pays ceil(F1 * P / 1000) - ceil(F0 * P / 1000) (never above ceil(fill * P / 1000), so
    // within its escrow), an ask grosses G1 - G0 with G = floor(F * P / 1000) and pays the fee
    // floor(G1 * feeBps / 10_000) - floor(G0 * feeBps / 10_000).

    /// @notice What an order of a cleared market gets; `claimed` is left false.
    function outcome(bool isBid, AuctionOrder order, Clearing memory c)
        internal
        pure
        returns (IEnergyAuction.OrderOutcome memory out)
    {
        (uint256 beforeWh, uint256 afterWh) = _runningFills(isBid, order, c);
        uint256 pricePerKWh = c.clearingPricePerKWh;
        unchecked {
            out.filledWh = afterWh - beforeWh;
            if (isBid) {
                out.payment = OrderMath.ceilMilli(afterWh * pricePerKWh) - OrderMath.ceilMilli(beforeWh * pricePerKWh);
                out.refund = OrderMath.ceilMilli(order.amountWh() * order.limitPricePerKWh()) - out.payment;
            } else {
                // slither-disable-next-line divide-before-multiply: fees are differences of rounded running totals, so a level rounds once
                uint256 grossBefore = beforeWh * pricePerKWh / OrderMath.WH_PER_KWH;
                uint256 grossAfter = afterWh * pricePerKWh / OrderMath.WH_PER_KWH;
                out.payment = grossAfter - grossBefore;
                out.fee = grossAfter * c.feeBps / OrderMath.BPS - grossBefore * c.feeBps / OrderMath.BPS;
                out.refund = order.amountWh() - out.filledWh;
            }
        }
    }

    /// @dev The order's level's filled volume before it and up to and including it (equal: no fill),
    /// from its own word and the result. Orders better than the marginal level, or on the short side,
    /// fill in full; the marginal level's orders share L of its T: floor(C * L / T) at running total C.
    function _runningFills(bool isBid, AuctionOrder order, Clearing memory c)
        private
        pure
        returns (uint256 beforeWh, uint256 afterWh)
    {
        uint256 tick = order.tick();
        if (c.volumeWh == 0 || (isBid ? tick < c.clearingTick : tick > c.clearingTick)) return (0, 0);
        beforeWh = order.volumeBeforeWh();
        afterWh = beforeWh + order.amountWh();
        if (c.longSide != (isBid ? IEnergyAuction.LongSide.BIDS : IEnergyAuction.LongSide.ASKS)) return (beforeWh, afterWh);
        if (tick != c.marginalTick) {
            return (isBid ? tick > c.marginalTick : tick < c.marginalTick) ? (beforeWh, afterWh) : (0, 0);
        }
        uint256 rationedWh = c.rationedWh;
        uint256 levelWh = c.marginalLevelWh;
        unchecked {
            return (beforeWh * rationedWh / levelWh, afterWh * rationedWh / levelWh);
        }
    }
}
