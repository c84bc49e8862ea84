// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyAuction} from "../IEnergyAuction.sol";
import {AuctionOrder} from "../../types/AuctionOrder.sol";
import {TickVolumes, TickVolumesLibrary} from "../../types/TickVolumes.sol";
import {BitMath} from "../../utils/BitMath.sol";
import {OrderMath} from "../../utils/OrderMath.sol";
import {Clearing, Market} from "./AuctionStorage.sol";
import {BookWords} from "./BookWords.sol";

/// @title AuctionClearing
/// @notice This library keeps the auction's clearing rule for a market on the bus alone. It decides which
/// tick clears, how each side's price levels fill, and exactly what every order receives, down to the last
/// unit.
/// Orders join their tick through BookWords.addTo, which records each order's C(i-1).
/// @dev Nothing here loops over orders. Each tick of a market keeps its bid and ask volume in a word
/// it shares with its neighbours (TickVolumes), and each side has a 256-bit occupancy bitmap, so clearing
/// reads only the ticks that hold orders. Every order stores C(i-1), the volume submitted before it on its side and tick.
/// Together with the marginal level's L and T, which the market's Clearing keeps, that number gives
/// the order's rationed fill without looking at any other order or tick.
library AuctionClearing {
    /// @notice The most volume one side of one tick of a market may gather, which is 68.7 GWh (2^36 - 1 Wh),
    /// what the side's bits in its word hold. This bound keeps every running total within its 40 bits and
    /// each side's total for a market within 48 bits.
    uint256 internal constant MAX_TICK_VOLUME_WH = TickVolumesLibrary.MAX_SIDE_WH;

    /// @dev The state of one side's walk through its price levels at clearing.
    struct Walk {
        bool isLong; // True when the side offers more than is traded at the clearing price.
        uint256 tick; // The last level the walk reached.
        uint256 rationedWh; // The volume that level trades (L).
        uint256 levelWh; // The total volume of that level (T).
        uint256 value; // For bids, what buyers pay; for asks, what sellers receive after fees.
    }

    // ---- The clearing price ----
    // For every tick p, D(p) is the volume of bids whose limit is at or above p, and S(p) is the volume
    // of asks whose limit is at or below p. The price is competitive: every bid above it and every ask
    // below it fills in full, and only orders at it are rationed. At tick p the orders want to sell, net of
    // what they buy, anything from lo(p) = S(p-1) - D(p) to hi(p) = S(p) - D(p+1), and hi(p) = lo(p+1); the
    // competitive ticks are those whose range holds 0, from the first tick where hi reaches 0 to the first
    // where it passes 0. The clearing tick is their middle, rounded down. This is the coupled rule
    // (CoupledClearing) for a market whose orders all trade on the bus. hi(p) is minus all bids plus every
    // bid and ask at or below p, so it rises only at occupied ticks, and the scan reads only those.

    /// @notice Clears the market of `period` at fee rate `feeBps`. The book is `market` together with the
    /// occupancy bitmap `occupied` of the ticks that hold bids or asks. Returns the market's result and the
    /// surplus, which is what buyers pay beyond what sellers net (the fees plus the rounding surplus); the
    /// auction accrues it.
    function clear(
        mapping(uint256 => TickVolumes) storage ticks,
        uint256 period,
        Market memory market,
        uint256 occupied,
        uint256 feeBps
    ) internal view returns (Clearing memory result, uint256 surplus) {
        (uint256 low, uint256 high, uint256 tradedWh) =
            competitiveTicks(ticks, period, market.tickCount, market.bidVolumeWh, occupied);
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
        surplus = _walkSides(ticks, period, occupied, result);
    }

    /// @notice Finds the first and the last competitive tick, [low, high], and the volume traded at them:
    /// min(D, S) at any competitive tick, the most any price trades. `demandWh` is D at tick 0, the volume
    /// of all bids; `occupied` the ticks that hold bids or asks.
    function competitiveTicks(
        mapping(uint256 => TickVolumes) storage ticks,
        uint256 period,
        uint256 n,
        uint256 demandWh,
        uint256 occupied
    ) internal view returns (uint256 low, uint256 high, uint256 tradedWh) {
        unchecked {
            high = n - 1;
            // hi below tick 0 is minus all bids; with no bids the first tick is already competitive.
            int256 hiWh = -int256(demandWh);
            bool lowFound = hiWh >= 0;
            uint256 supplyWh = 0;
            // Neighbouring ticks share a word: it is read once for all of them.
            (uint256 wordIndex, TickVolumes word) = (type(uint256).max, TickVolumes.wrap(0));
            while (occupied != 0) {
                uint256 tick = BitMath.lowestBit(occupied);
                occupied &= occupied - 1;
                if (tick / TickVolumesLibrary.TICKS_PER_WORD != wordIndex) {
                    wordIndex = tick / TickVolumesLibrary.TICKS_PER_WORD;
                    word = BookWords.read(ticks, period, tick);
                }
                (uint256 bidWh, uint256 askWh) = (word.sideWh(tick, true), word.sideWh(tick, false));
                hiWh += int256(bidWh + askWh);
                supplyWh += askWh;
                if (!lowFound && hiWh >= 0) {
                    (low, lowFound) = (tick, true);
                    // D and S at the first competitive tick: the bids below it are out, its asks in.
                    tradedWh = supplyWh < demandWh ? supplyWh : demandWh;
                }
                demandWh -= bidWh;
                if (hiWh > 0) {
                    high = tick;
                    break;
                }
            }
        }
    }

    // ---- Fills ----
    // On the short side, every order at or better than the clearing price fills in full. The long side
    // fills level by level, best limit first. The orders of the last level reached, the marginal level,
    // share what is left: L out of the level's T. They share it on running totals in arrival order, so
    // an order whose running total is C fills floor(C * L / T) - floor(C(i-1) * L / T).

    /// @dev Walks both sides of a market that traded and records the long side and its marginal level in
    /// `result`. Returns what buyers pay beyond what sellers net, or zero if nothing traded.
    function _walkSides(mapping(uint256 => TickVolumes) storage ticks, uint256 period, uint256 occupied, Clearing memory result)
        private
        view
        returns (uint256 surplus)
    {
        if (result.volumeWh == 0) return 0;
        uint256 clearingTick = result.clearingTick;
        Walk memory asks =
            _walk(ticks, period, clearingTick == 255 ? occupied : occupied & ((1 << (clearingTick + 1)) - 1), false, result);
        Walk memory bids = _walk(ticks, period, (occupied >> clearingTick) << clearingTick, true, result);
        surplus = bids.value - asks.value;
        if (!asks.isLong && !bids.isLong) return surplus;
        Walk memory marginal = asks.isLong ? asks : bids;
        result.longSide = asks.isLong ? IEnergyAuction.LongSide.ASKS : IEnergyAuction.LongSide.BIDS;
        result.marginalTick = uint8(marginal.tick);
        result.rationedWh = uint40(marginal.rationedWh);
        result.marginalLevelWh = uint40(marginal.levelWh);
    }

    /// @dev Walks one side's levels at or better than the clearing price (`bits`, the ticks that hold bids or
    /// asks; a tick without this side's volume is a level of none), best first, until the traded volume is
    /// reached. Each level fills in full except the last one, which gets what is left.
    /// Sums what each filled level pays (for bids) or nets (for asks), rounding once per level, exactly
    /// as the claims of its orders will pay it.
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
                uint256 levelWh = BookWords.read(ticks, period, tick).sideWh(tick, isBid);
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
                    // If any volume is left behind, in this level or in worse ones, this side is long.
                    (w.isLong, w.tick, w.rationedWh, w.levelWh) = (filledWh < levelWh || _holdsSide(ticks, period, bits, isBid), tick, filledWh, levelWh);
                    return w;
                }
                reachedWh += levelWh;
            }
        }
    }

    /// @dev Whether any tick of `bits` holds volume on the side `isBid`. The ticks between the clearing tick
    /// and a walk's last level were read when the competitive ticks were found, so their words are warm.
    function _holdsSide(mapping(uint256 => TickVolumes) storage ticks, uint256 period, uint256 bits, bool isBid)
        private
        view
        returns (bool)
    {
        unchecked {
            while (bits != 0) {
                uint256 tick = BitMath.lowestBit(bits);
                bits &= bits - 1;
                if (BookWords.read(ticks, period, tick).sideWh(tick, isBid) != 0) return true;
            }
        }
        return false;
    }

    // ---- What an order gets ----
    // Within a level, fills, payments and fees are differences of running totals, so each level rounds
    // only once. Let F be the level's filled volume up to an order, with F0 the value before the order
    // and F1 the value including it, and let P be the clearing price. A bid then pays
    // ceil(F1 * P / 1000) - ceil(F0 * P / 1000). That is never more than ceil(fill * P / 1000), so the
    // payment stays within the bid's escrow. An ask grosses G1 - G0, where G = floor(F * P / 1000), and
    // pays the fee floor(G1 * feeBps / 10_000) - floor(G0 * feeBps / 10_000).

    /// @notice Computes what an order of a cleared market receives. The `claimed` field is left false.
    function outcome(bool isBid, AuctionOrder order, Clearing memory c)
        internal
        pure
        returns (IEnergyAuction.OrderOutcome memory out)
    {
        (out.filledWh, out.payment, out.fee, out.refund) = outcomeOf(
            isBid, order.tick(), order.amountWh(), order.volumeBeforeWh(), order.limitPricePerKWh(), c
        );
    }

    /// @notice Computes what an order of a cleared market receives, as `outcome` does, from the order's
    /// fields: its tick, its Wh, its C(i-1) and, for a bid, its limit price (which only sets the bid's
    /// refund). The values stay on the stack, so that a caller that settles many orders allocates no
    /// memory for each.
    function outcomeOf(
        bool isBid,
        uint256 tick,
        uint256 amountWh,
        uint256 volumeBeforeWh,
        uint256 limitPricePerKWh,
        Clearing memory c
    ) internal pure returns (uint256 filledWh, uint256 payment, uint256 fee, uint256 refund) {
        (uint256 beforeWh, uint256 afterWh) = _runningFills(isBid, tick, amountWh, volumeBeforeWh, c);
        uint256 pricePerKWh = c.clearingPricePerKWh;
        unchecked {
            filledWh = afterWh - beforeWh;
            if (isBid) {
                payment = OrderMath.ceilMilli(afterWh * pricePerKWh) - OrderMath.ceilMilli(beforeWh * pricePerKWh);
                refund = OrderMath.ceilMilli(amountWh * limitPricePerKWh) - payment;
            } else {
                // slither-disable-next-line divide-before-multiply: fees are differences of rounded running totals, so a level rounds once
                uint256 grossBefore = beforeWh * pricePerKWh / OrderMath.WH_PER_KWH;
                uint256 grossAfter = afterWh * pricePerKWh / OrderMath.WH_PER_KWH;
                payment = grossAfter - grossBefore;
                fee = grossAfter * c.feeBps / OrderMath.BPS - grossBefore * c.feeBps / OrderMath.BPS;
                refund = amountWh - filledWh;
            }
        }
    }

    /// @dev Returns the filled volume of the order's level just before the order and up to and including
    /// it; when the two are equal, the order did not fill. It needs only the order's own fields and the
    /// result. Orders better than the marginal level, and orders on the short side, fill in full. The
    /// marginal level's orders share L of its T, so at running total C the level has filled floor(C * L / T).
    function _runningFills(bool isBid, uint256 tick, uint256 amountWh, uint256 volumeBeforeWh, Clearing memory c)
        private
        pure
        returns (uint256 beforeWh, uint256 afterWh)
    {
        if (c.volumeWh == 0 || (isBid ? tick < c.clearingTick : tick > c.clearingTick)) return (0, 0);
        beforeWh = volumeBeforeWh;
        afterWh = beforeWh + amountWh;
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
