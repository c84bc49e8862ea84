// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BitMath} from "../../utils/BitMath.sol";

/// @dev One zone of a coupled market, as clearing reads it: its occupied ticks and its link to the bus.
struct ZoneBook {
    uint256[] levels; // The zone's occupied ticks in ascending order, each packed by CoupledClearing.level.
    int256 importLimitWh; // What the link may carry into the zone in the period; UNLIMITED for no limit.
    int256 exportLimitWh; // What it may carry out of the zone.
}

/// @dev One zone's result. Each side fills by price priority: orders better than the side's marginal tick
/// fill in full, orders worse than it not at all, and the orders at it share `rationedWh` of the level's
/// `levelWh` on running totals, as a single-zone market rations its marginal level.
struct ZoneClearing {
    int256 netExportWh; // What the zone's asks sold beyond what its bids bought; negative when it imports.
    uint256 tick; // The zone's price on the grid.
    uint256 volumeWh; // The larger of the zone's bought and sold volume.
    uint256 bidMarginalTick;
    uint256 bidRationedWh;
    uint256 bidLevelWh;
    uint256 askMarginalTick;
    uint256 askRationedWh;
    uint256 askLevelWh;
}

/// @title CoupledClearing
/// @notice This library clears one delivery period across many zones (feeders), each joined to a common
/// bus by a link with an import and an export limit. The quantities maximize the orders' total surplus on
/// the tick grid subject to every zone's balance and its link; zones whose links have room share one
/// price, and a zone whose link is full gets its own price on its side of the bus.
/// @dev The rule, step by step (the project's Python reference states each step and a linear program
/// proves the result optimal):
/// 1. At a tick p, zone z's orders want to export anything from lo(p) = S(p-1) - D(p) to hi(p) = S(p) -
///    D(p+1); the ranges tile the line, hi(p) = lo(p+1). Clamped to the links and summed, they give the
///    bus's range; the bus balances from the lowest tick P where the sum of the clamped hi reaches 0.
/// 2. At P every zone exports at least the positive part of its clamped lo and imports at least the
///    negative part of its clamped hi; the rest of the bus's trade is shared among the zones' spare room
///    on running totals, in the order the zones are listed.
/// 3. Each zone then clears as one market on its own orders, its net export standing as an order of
///    unlimited price: the most volume, each side filled by price priority.
/// 4. Among the balancing ticks, the one where the most zones' net exports lie within their own [lo, hi]
///    (the lowest if several) tells the free zones from those held by their links.
/// 5. The bus tick is today's rule (most volume, least imbalance, midpoint rounded down) on the free zones'
///    pooled book with the bound zones' flows as orders, among the ticks where every fill keeps its limit.
///    A bound zone picks its own tick by the same rule on its side of the bus.
/// Every step walks each zone's occupied ticks a bounded number of times, or the grid's ticks once, so
/// the work is O(zones × occupied ticks + ticks), independent of the number of orders.
library CoupledClearing {
    /// @notice A link limit meaning "no limit".
    int256 internal constant UNLIMITED = type(int256).max;

    uint256 private constant BID_SHIFT = 8;
    uint256 private constant ASK_SHIFT = 72;
    uint256 private constant VOLUME_MASK = type(uint64).max;
    uint256 private constant KEY_MASK = type(uint128).max;

    uint8 private constant FREE = 0;
    uint8 private constant EXPORTING = 1;
    uint8 private constant IMPORTING = 2;
    uint8 private constant ALONE = 3;

    /// @dev What clearing learns about a zone on its way.
    struct Work {
        uint256 bidWh; // The zone's bids in all, D at tick 0.
        int256 lowWh; // The clamped lo at the bus's lowest balancing tick.
        int256 highWh; // The clamped hi there.
        uint256 firstFreeTick; // The first tick whose [lo, hi] holds the zone's net export.
        uint256 lastFreeTick; // The last such tick.
        uint256 askLimitTick; // The highest filled ask level (0 if none): no price may be below it.
        uint256 bidLimitTick; // The lowest filled bid level (the top if none): no price may be above it.
        uint8 role;
    }

    // ---- Levels ----

    /// @notice Packs one occupied tick of a zone: its tick, its bids' and its asks' volume in Wh.
    function level(uint256 tick, uint256 bidWh, uint256 askWh) internal pure returns (uint256) {
        return tick | (bidWh << BID_SHIFT) | (askWh << ASK_SHIFT);
    }

    function _unpack(uint256 word) private pure returns (uint256 tick, uint256 bidWh, uint256 askWh) {
        return (word & 0xff, (word >> BID_SHIFT) & VOLUME_MASK, (word >> ASK_SHIFT) & VOLUME_MASK);
    }

    // ---- Clearing ----

    /// @notice Clears `zones` on a grid of `tickCount` ticks. Returns the bus's tick, every zone's result
    /// and the congestion rent, Σ (bus tick - zone tick) × net export, in ticks × Wh (never negative).
    function clear(ZoneBook[] memory zones, uint256 tickCount)
        internal
        pure
        returns (uint256 busTick, ZoneClearing[] memory results, uint256 rentTickWh)
    {
        uint256 count = zones.length;
        results = new ZoneClearing[](count);
        Work[] memory work = new Work[](count);
        (uint256 lowest, uint256 highest) = _balancingTicks(zones, work, tickCount);
        _netExports(zones, work, results, lowest);
        for (uint256 z; z < count; ++z) {
            _fill(zones[z].levels, work[z], results[z], tickCount);
            _freeTicks(zones[z].levels, work[z], results[z].netExportWh, tickCount);
        }
        uint256 referenceTick = _referenceTick(work, lowest, highest, tickCount);
        for (uint256 z; z < count; ++z) {
            Work memory w = work[z];
            if (w.firstFreeTick <= referenceTick && referenceTick <= w.lastFreeTick) w.role = FREE;
            else if (zones[z].importLimitWh == 0 && zones[z].exportLimitWh == 0) w.role = ALONE;
            else w.role = referenceTick > w.lastFreeTick ? EXPORTING : IMPORTING;
        }
        busTick = _busTick(zones, work, results, tickCount);
        rentTickWh = _zoneTicks(zones, work, results, busTick);
    }

    // ---- Step 6: every zone's price and the rent ----

    /// @dev Prices every zone: a free zone at the bus tick, a bound one by today's rule on its own book with
    /// its flow, on its side of the bus, within its fills. Returns the congestion rent.
    function _zoneTicks(ZoneBook[] memory zones, Work[] memory work, ZoneClearing[] memory results, uint256 busTick)
        private
        pure
        returns (uint256)
    {
        int256 rent;
        for (uint256 z; z < zones.length; ++z) {
            ZoneClearing memory r = results[z];
            Work memory w = work[z];
            if (w.role == FREE) {
                r.tick = busTick;
                continue;
            }
            (uint256 low, uint256 high) = (w.askLimitTick, w.bidLimitTick);
            if (w.role == EXPORTING && busTick < high) high = busTick;
            if (w.role == IMPORTING && busTick > low) low = busTick;
            (uint256 extraDemandWh, uint256 extraSupplyWh) = _flowOrders(r.netExportWh);
            r.tick = _pick(zones[z].levels, extraDemandWh, extraSupplyWh, low, high);
            rent += (int256(busTick) - int256(r.tick)) * r.netExportWh;
        }
        return uint256(rent);
    }

    // ---- Step 1: where the bus balances ----

    /// @dev Returns the lowest and the highest tick at which the zones, held by their links, can balance the
    /// bus. The sum of the clamped hi rises by one difference per zone's occupied tick; the clamped lo is
    /// the same sum one tick later.
    function _balancingTicks(ZoneBook[] memory zones, Work[] memory work, uint256 tickCount)
        private
        pure
        returns (uint256 lowest, uint256 highest)
    {
        int256[] memory steps = new int256[](tickCount);
        int256 atZero;
        for (uint256 z; z < zones.length; ++z) {
            ZoneBook memory zone = zones[z];
            uint256[] memory levels = zone.levels;
            uint256 bidWh;
            for (uint256 j; j < levels.length; ++j) {
                bidWh += (levels[j] >> BID_SHIFT) & VOLUME_MASK;
            }
            work[z].bidWh = bidWh;
            int256 wantWh = -int256(bidWh);
            int256 clamped = _clamp(wantWh, zone);
            atZero += clamped;
            for (uint256 j; j < levels.length; ++j) {
                (uint256 tick, uint256 b, uint256 a) = _unpack(levels[j]);
                wantWh += int256(a + b);
                int256 next = _clamp(wantWh, zone);
                steps[tick] += next - clamped;
                clamped = next;
            }
        }
        lowest = tickCount;
        int256 highWh = atZero;
        for (uint256 tick; tick < tickCount; ++tick) {
            // The clamped lo at this tick is the clamped hi one tick below.
            if (highWh <= 0) highest = tick;
            highWh += steps[tick];
            if (lowest == tickCount && highWh >= 0) lowest = tick;
        }
        // At tick 0 the sum of the clamped lo is minus the zones' bids, never positive, so `highest` is set;
        // at the top the clamped hi is their asks, never negative, so `lowest` is set.
    }

    // ---- Step 2: each zone's net export ----

    /// @dev The bus's two sides at its lowest balancing tick: what the zones must export or import there
    /// (forced), and what they can (their clamped range), in all.
    struct BusSides {
        uint256 forcedOutWh;
        uint256 canOutWh;
        uint256 forcedInWh;
        uint256 canInWh;
    }

    function _netExports(ZoneBook[] memory zones, Work[] memory work, ZoneClearing[] memory results, uint256 tick)
        private
        pure
    {
        uint256 count = zones.length;
        BusSides memory bus;
        for (uint256 z; z < count; ++z) {
            (int256 lo, int256 hi) = _wantedAt(zones[z].levels, work[z].bidWh, tick);
            int256 low = _clamp(lo, zones[z]);
            int256 high = _clamp(hi, zones[z]);
            (work[z].lowWh, work[z].highWh) = (low, high);
            bus.forcedOutWh += _positive(low);
            bus.canOutWh += _positive(high);
            bus.forcedInWh += _positive(-high);
            bus.canInWh += _positive(-low);
        }
        uint256 tradedWh = _min(bus.canOutWh, bus.canInWh);
        // Each side's trade beyond its forced flows is shared in the zones' spare room on that side.
        uint256[] memory outWh = _share(work, tradedWh - bus.forcedOutWh, bus.canOutWh - bus.forcedOutWh, true);
        uint256[] memory inWh = _share(work, tradedWh - bus.forcedInWh, bus.canInWh - bus.forcedInWh, false);
        for (uint256 z; z < count; ++z) {
            results[z].netExportWh = int256(outWh[z]) - int256(inWh[z]);
        }
    }

    /// @dev Each zone's flow on one side: its forced flow plus its share of `leftWh`, shared in the zones'
    /// spare room (`roomWh` in all) on running totals in zone order, as a price level is rationed.
    function _share(Work[] memory work, uint256 leftWh, uint256 roomWh, bool out)
        private
        pure
        returns (uint256[] memory flowWh)
    {
        flowWh = new uint256[](work.length);
        uint256 runningWh;
        for (uint256 z; z < work.length; ++z) {
            (int256 low, int256 high) = out ? (work[z].lowWh, work[z].highWh) : (-work[z].highWh, -work[z].lowWh);
            uint256 forcedWh = _positive(low);
            flowWh[z] = forcedWh;
            if (leftWh == 0) continue;
            uint256 before = runningWh;
            runningWh += _positive(high) - forcedWh;
            flowWh[z] += runningWh * leftWh / roomWh - before * leftWh / roomWh;
        }
    }

    /// @dev What a zone's orders want to export at `tick`: without, and with, the orders limited at it.
    function _wantedAt(uint256[] memory levels, uint256 bidWh, uint256 tick) private pure returns (int256 lo, int256 hi) {
        lo = -int256(bidWh);
        hi = lo;
        for (uint256 j; j < levels.length; ++j) {
            (uint256 t, uint256 b, uint256 a) = _unpack(levels[j]);
            if (t > tick) break;
            if (t == tick) return (lo, lo + int256(a + b));
            lo += int256(a + b);
            hi = lo;
        }
    }

    // ---- Step 3: each zone's fills ----

    /// @dev Clears the zone's own orders with its net export standing as an order of unlimited price. Bids
    /// fill from the highest tick down, asks from the lowest up. A side that fills nothing keeps its
    /// marginal level at the end where it starts, with nothing rationed.
    function _fill(uint256[] memory levels, Work memory w, ZoneClearing memory r, uint256 tickCount) private pure {
        (uint256 extraDemandWh, uint256 extraSupplyWh) = _flowOrders(r.netExportWh);
        uint256 volumeWh = _volume(levels, w.bidWh, extraDemandWh, extraSupplyWh);
        r.volumeWh = volumeWh;
        uint256 bidsWh = volumeWh - extraDemandWh;
        uint256 asksWh = volumeWh - extraSupplyWh;
        (r.bidMarginalTick, r.bidLevelWh, r.askLevelWh) = (tickCount - 1, 1, 1);
        if (bidsWh != 0) (r.bidMarginalTick, r.bidRationedWh, r.bidLevelWh) = _marginal(levels, bidsWh, true);
        if (asksWh != 0) (r.askMarginalTick, r.askRationedWh, r.askLevelWh) = _marginal(levels, asksWh, false);
        w.askLimitTick = asksWh != 0 ? r.askMarginalTick : 0;
        w.bidLimitTick = bidsWh != 0 ? r.bidMarginalTick : tickCount - 1;
    }

    /// @dev The most volume the zone's book trades with the flow's orders added: min(D, S) is largest at an
    /// occupied tick or at either end of the grid.
    function _volume(uint256[] memory levels, uint256 bidWh, uint256 extraDemandWh, uint256 extraSupplyWh)
        private
        pure
        returns (uint256 volumeWh)
    {
        uint256 demandWh = bidWh + extraDemandWh;
        uint256 supplyWh = extraSupplyWh;
        volumeWh = _min(demandWh, supplyWh);
        for (uint256 j; j < levels.length; ++j) {
            (, uint256 b, uint256 a) = _unpack(levels[j]);
            supplyWh += a;
            uint256 tradedWh = _min(demandWh, supplyWh);
            if (tradedWh > volumeWh) volumeWh = tradedWh;
            demandWh -= b;
        }
        uint256 atTopWh = _min(demandWh, supplyWh);
        if (atTopWh > volumeWh) volumeWh = atTopWh;
    }

    /// @dev Walks one side's levels best first until `filledWh` is reached. Returns the last level's tick,
    /// the volume it trades and its whole volume.
    function _marginal(uint256[] memory levels, uint256 filledWh, bool isBid)
        private
        pure
        returns (uint256 tick, uint256 rationedWh, uint256 levelWh)
    {
        uint256 count = levels.length;
        uint256 reachedWh;
        for (uint256 i; i < count; ++i) {
            (uint256 t, uint256 b, uint256 a) = _unpack(levels[isBid ? count - 1 - i : i]);
            uint256 sideWh = isBid ? b : a;
            if (sideWh == 0) continue;
            if (reachedWh + sideWh >= filledWh) return (t, filledWh - reachedWh, sideWh);
            reachedWh += sideWh;
        }
        // The volume never passes what the side holds, so the walk always ends above.
    }

    // ---- Step 4: free and bound zones ----

    /// @dev Finds the ticks whose [lo, hi] holds `exportWh`: from the first whose hi reaches it to the last
    /// whose lo does not pass it. Between occupied ticks lo and hi are equal and constant.
    function _freeTicks(uint256[] memory levels, Work memory w, int256 exportWh, uint256 tickCount) private pure {
        int256 wantWh = -int256(w.bidWh);
        uint256 first = tickCount;
        uint256 last;
        uint256 nextTick;
        for (uint256 j; j < levels.length; ++j) {
            (uint256 t, uint256 b, uint256 a) = _unpack(levels[j]);
            if (first == tickCount) {
                if (wantWh >= exportWh) first = nextTick;
                else if (wantWh + int256(a + b) >= exportWh) first = t;
            }
            if (wantWh <= exportWh) last = t;
            wantWh += int256(a + b);
            nextTick = t + 1;
        }
        if (nextTick < tickCount) {
            if (first == tickCount && wantWh >= exportWh) first = nextTick;
            if (wantWh <= exportWh) last = tickCount - 1;
        }
        (w.firstFreeTick, w.lastFreeTick) = (first, last);
    }

    /// @dev The balancing tick where the most zones are free, the lowest of those.
    function _referenceTick(Work[] memory work, uint256 lowest, uint256 highest, uint256 tickCount)
        private
        pure
        returns (uint256 referenceTick)
    {
        int256[] memory starts = new int256[](tickCount + 1);
        for (uint256 z; z < work.length; ++z) {
            starts[work[z].firstFreeTick] += 1;
            starts[work[z].lastFreeTick + 1] -= 1;
        }
        int256 free;
        int256 most = -1;
        for (uint256 tick; tick <= highest; ++tick) {
            free += starts[tick];
            if (tick >= lowest && free > most) (most, referenceTick) = (free, tick);
        }
    }

    // ---- Step 5: prices ----

    /// @dev Today's rule on the free zones' pooled book, the bound zones' flows added as orders, among the
    /// ticks within every free zone's fills, at or above every exporting zone's and at or below every
    /// importing zone's.
    function _busTick(ZoneBook[] memory zones, Work[] memory work, ZoneClearing[] memory results, uint256 tickCount)
        private
        pure
        returns (uint256)
    {
        uint256[] memory bidAt = new uint256[](tickCount);
        uint256[] memory askAt = new uint256[](tickCount);
        uint256 occupied;
        uint256 extraDemandWh;
        uint256 extraSupplyWh;
        uint256 low;
        uint256 high = tickCount - 1;
        for (uint256 z; z < zones.length; ++z) {
            Work memory w = work[z];
            if (w.role == FREE) {
                uint256[] memory levels = zones[z].levels;
                for (uint256 j; j < levels.length; ++j) {
                    (uint256 t, uint256 b, uint256 a) = _unpack(levels[j]);
                    bidAt[t] += b;
                    askAt[t] += a;
                    occupied |= 1 << t;
                }
            } else if (w.role != ALONE) {
                (uint256 demandWh, uint256 supplyWh) = _flowOrders(-results[z].netExportWh);
                extraDemandWh += demandWh;
                extraSupplyWh += supplyWh;
            }
            if ((w.role == FREE || w.role == EXPORTING) && w.askLimitTick > low) low = w.askLimitTick;
            if ((w.role == FREE || w.role == IMPORTING) && w.bidLimitTick < high) high = w.bidLimitTick;
        }
        uint256[] memory pooled = new uint256[](_popCount(occupied));
        for (uint256 j; occupied != 0; ++j) {
            uint256 t = BitMath.lowestBit(occupied);
            occupied &= occupied - 1;
            pooled[j] = level(t, bidAt[t], askAt[t]);
        }
        return _pick(pooled, extraDemandWh, extraSupplyWh, low, high);
    }

    /// @dev Today's rule (most volume, then least imbalance, then the midpoint rounded down) on `levels`
    /// with `extraDemandWh` and `extraSupplyWh` added at every tick, among the ticks `low` to `high`. D and
    /// S stay constant between the ticks where either changes, so it ranks segments, not ticks.
    function _pick(uint256[] memory levels, uint256 extraDemandWh, uint256 extraSupplyWh, uint256 low, uint256 high)
        private
        pure
        returns (uint256)
    {
        // The quantities are an equilibrium, so the range is never empty; a zone's own range is kept if it were.
        if (high < low) high = low;
        uint256 demandWh = extraDemandWh;
        uint256 supplyWh = extraSupplyWh;
        uint256 first = levels.length;
        for (uint256 j; j < levels.length; ++j) {
            (uint256 t, uint256 b, uint256 a) = _unpack(levels[j]);
            if (t <= low) supplyWh += a;
            if (t >= low) {
                demandWh += b;
                if (first == levels.length) first = j;
            }
        }
        Best memory best;
        uint256 start = low;
        for (uint256 j = first; j < levels.length; ++j) {
            (uint256 t, uint256 b, uint256 a) = _unpack(levels[j]);
            if (t > high) break;
            // Asks at `t` join S from `t` on; bids at `t` leave D after `t`.
            if (t > low && a != 0) {
                if (start < t) _rank(best, start, t - 1, demandWh, supplyWh);
                supplyWh += a;
                start = t;
            }
            if (t < high && b != 0) {
                _rank(best, start, t, demandWh, supplyWh);
                demandWh -= b;
                start = t + 1;
            }
        }
        _rank(best, start, high, demandWh, supplyWh);
        return best.low + (best.high - best.low) / 2;
    }

    /// @dev The best segment so far of a `_pick` scan and its key.
    struct Best {
        uint256 key;
        uint256 low;
        uint256 high;
    }

    /// @dev Ranks the segment of ticks `low` to `high`, where D and S are `demandWh` and `supplyWh`. The key
    /// puts the traded volume in the high bits and 2^128 - 1 minus the imbalance in the low ones, so it is
    /// never zero and the first segment always wins; a later segment as good extends the best range.
    function _rank(Best memory best, uint256 low, uint256 high, uint256 demandWh, uint256 supplyWh) private pure {
        uint256 key = demandWh < supplyWh
            ? (demandWh << 128) | (KEY_MASK - (supplyWh - demandWh))
            : (supplyWh << 128) | (KEY_MASK - (demandWh - supplyWh));
        if (key > best.key) (best.key, best.low, best.high) = (key, low, high);
        else if (key == best.key) best.high = high;
    }

    // ---- Small helpers ----

    /// @dev A zone's net export as orders of unlimited price: the bus buys an export, sells an import.
    function _flowOrders(int256 exportWh) private pure returns (uint256 demandWh, uint256 supplyWh) {
        return exportWh > 0 ? (uint256(exportWh), uint256(0)) : (uint256(0), uint256(-exportWh));
    }

    function _clamp(int256 exportWh, ZoneBook memory zone) private pure returns (int256) {
        if (exportWh < -zone.importLimitWh) exportWh = -zone.importLimitWh;
        if (exportWh > zone.exportLimitWh) exportWh = zone.exportLimitWh;
        return exportWh;
    }

    function _positive(int256 value) private pure returns (uint256) {
        return value > 0 ? uint256(value) : 0;
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }

    function _popCount(uint256 bits) private pure returns (uint256 count) {
        for (; bits != 0; bits &= bits - 1) {
            ++count;
        }
    }
}
