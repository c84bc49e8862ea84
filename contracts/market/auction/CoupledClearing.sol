// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BitMath} from "../../utils/BitMath.sol";

/// @dev One zone of a coupled market, as clearing reads it: its occupied ticks and its link to the bus.
struct ZoneBook {
    uint256[] levels; // The zone's occupied ticks in ascending order, each tick | bidWh << 8 | askWh << 72.
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
/// 5. The bus tick is the single-zone rule (most volume, least imbalance, midpoint rounded down) on the
///    free zones' pooled book with the bound zones' flows as orders, among the ticks where every fill keeps
///    its limit. A bound zone picks its own tick by the same rule on its side of the bus.
/// Every step walks each zone's occupied ticks a bounded number of times, or the grid's ticks once, so
/// the work is O(zones × occupied ticks + ticks), independent of the number of orders.
library CoupledClearing {
    /// @notice A link limit meaning "no limit".
    int256 internal constant UNLIMITED = type(int256).max;

    uint256 private constant BID_SHIFT = 8;
    uint256 private constant ASK_SHIFT = 72;
    uint256 private constant VOLUME_MASK = type(uint64).max;
    // The assembly loops take a field by shifting it to the top of the word and back down: two shifts by
    // small numbers, where a 64-bit mask would be a constant the optimizer computes at every use.
    uint256 private constant BID_TO_TOP = 184; // 256 - 72: a bid's highest bit (71) to bit 255
    uint256 private constant ASK_TO_TOP = 120; // 256 - 136: an ask's highest bit (135) to bit 255
    uint256 private constant FIELD_SHIFT = 192; // 256 - 64: the field back down to bit 0
    // OrderMath's units, as numbers the assembly that values a zone's fills can read.
    uint256 private constant WH_PER_KWH = 1000;
    uint256 private constant BPS = 10_000;
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
    // A level packs a tick with its bids' volume in bits 8 to 71 and its asks' in bits 72 and up. A tick
    // of a market gathers at most 10^12 Wh a side, below 2^40, so sums over every tick of every zone stay
    // far within a 64-bit field and within int256; the arithmetic runs unchecked. The loops read the
    // fields in line, since a call per field would cost more than the loop's own work.

    // ---- Clearing ----

    /// @notice Clears `zones` on a grid of `tickCount` ticks. Returns the bus's tick, every zone's result
    /// and the congestion rent, Σ (bus tick - zone tick) × net export, in ticks × Wh (never negative).
    /// @dev Each step below is a walk per zone that adds to a sum over the grid's ticks, then one look at
    /// that sum. A market too large for one transaction runs the same steps in batches of zones, keeping
    /// the sums in storage between them (SteppedClearing).
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
        uint256 referenceTick = _fills(zones, work, results, lowest, highest, tickCount);
        Pool memory pool = newPool(tickCount);
        uint256[] memory pooledAt = new uint256[](tickCount);
        unchecked {
            for (uint256 z; z < count; ++z) {
                setRole(work[z], zones[z], referenceTick);
                addToPool(pool, pooledAt, zones[z].levels, work[z], results[z].netExportWh);
            }
        }
        busTick = busTickOf(pool, pooledAt);
        int256 rent = 0;
        unchecked {
            for (uint256 z; z < count; ++z) {
                rent += zoneTick(zones[z].levels, work[z], results[z], busTick);
            }
        }
        rentTickWh = uint256(rent);
    }

    /// @dev Fills every zone at its net export and returns the reference tick.
    function _fills(ZoneBook[] memory zones, Work[] memory work, ZoneClearing[] memory results, uint256 lowest, uint256 highest, uint256 tickCount)
        private
        pure
        returns (uint256)
    {
        int256[] memory changes = new int256[](highest + 1);
        uint256 changeBits = 0;
        int256 free = 0;
        unchecked {
            for (uint256 z; z < zones.length; ++z) {
                fill(zones[z].levels, work[z], results[z], tickCount);
                (changeBits, free) = addFreeTicks(work[z], lowest, highest, changes, changeBits, free);
            }
        }
        return referenceTickOf(changes, changeBits, free, lowest);
    }

    // ---- Step 1: where the bus balances ----

    /// @dev Returns the lowest and the highest tick at which the zones, held by their links, can balance the
    /// bus, and each zone's bids in all.
    function _balancingTicks(ZoneBook[] memory zones, Work[] memory work, uint256 tickCount)
        private
        pure
        returns (uint256 lowest, uint256 highest)
    {
        int256[] memory steps = new int256[](tickCount);
        uint256 stepBits = 0;
        int256 highWh = 0;
        unchecked {
            for (uint256 z; z < zones.length; ++z) {
                int256 baseWh;
                (work[z].bidWh, baseWh, stepBits) = addSteps(zones[z], steps, stepBits);
                highWh += baseWh;
            }
        }
        return balancingTicks(steps, stepBits, highWh, tickCount);
    }

    /// @notice Adds a zone's rises of its clamped hi to `steps` (one entry per tick of the grid) and returns
    /// its bids in all, its clamped hi below tick 0 (minus its bids, clamped) and `stepBits` with the ticks
    /// where it rises set. The sum of the clamped hi rises by one step per zone's occupied tick, so only the
    /// ticks some zone occupies are ever set.
    function addSteps(ZoneBook memory zone, int256[] memory steps, uint256 stepBits)
        internal
        pure
        returns (uint256 bidWh, int256 baseWh, uint256)
    {
        bidWh = bidsWh(zone.levels);
        int256 wantWh;
        unchecked {
            wantWh = -int256(bidWh);
        }
        baseWh = _clamp(wantWh, zone.importLimitWh, zone.exportLimitWh);
        return (bidWh, baseWh, _addSteps(zone.levels, steps, stepBits, wantWh, zone.importLimitWh, zone.exportLimitWh));
    }

    /// @notice Adds a zone's rises of the positive part of its clamped hi to `steps`, as `addSteps` adds the
    /// clamped hi's; returns `stepBits` with the ticks where it rises set. Limits are never negative, so the
    /// positive part of a value clamped to [-import, export] is the value clamped to [0, export], which
    /// is zero below tick 0. With both sums the bus's sides at any tick follow without a walk of the zones.
    function addPositiveSteps(ZoneBook memory zone, uint256 bidWh, int256[] memory steps, uint256 stepBits)
        internal
        pure
        returns (uint256)
    {
        unchecked {
            return _addSteps(zone.levels, steps, stepBits, -int256(bidWh), 0, zone.exportLimitWh);
        }
    }

    /// @notice Returns the lowest and the highest balancing tick from the zones' summed rises (`steps`, set
    /// at `stepBits`) and the sum of their clamped hi below tick 0 (`highWh`).
    /// @dev The clamped hi sum never falls, since every step is the rise of a clamped value. At tick 0 the
    /// clamped lo sum is minus the zones' bids, never positive, and at the top the clamped hi sum is their
    /// asks, never negative. So the bus balances from the first tick where the hi sum reaches 0 to the first
    /// where it passes 0 (where the lo sum, one tick later, passes 0 too).
    function balancingTicks(int256[] memory steps, uint256 stepBits, int256 highWh, uint256 tickCount)
        internal
        pure
        returns (uint256 lowest, uint256 highest)
    {
        unchecked {
            lowest = tickCount - 1;
            highest = tickCount - 1;
            bool lowestFound = highWh >= 0;
            if (lowestFound) lowest = 0;
            while (stepBits != 0) {
                uint256 tick = BitMath.lowestBit(stepBits);
                stepBits &= stepBits - 1;
                highWh += steps[tick];
                if (!lowestFound && highWh >= 0) (lowest, lowestFound) = (tick, true);
                if (highWh > 0) {
                    highest = tick;
                    break;
                }
            }
        }
    }

    /// @dev Adds a zone's rises of its clamped hi to `steps`, from its export `wantWh` before tick 0 up;
    /// returns `stepBits` with the ticks where it rises set.
    function _addSteps(
        uint256[] memory levels,
        int256[] memory steps,
        uint256 stepBits,
        int256 wantWh,
        int256 importLimitWh,
        int256 exportLimitWh
    ) private pure returns (uint256) {
        int256 clamped = _clamp(wantWh, importLimitWh, exportLimitWh);
        // slither-disable-next-line assembly: the hot loop, once per occupied tick of every zone
        assembly ("memory-safe") {
            let belowImport := sub(0, importLimitWh)
            let at := add(levels, 0x20)
            for { let end := add(at, shl(5, mload(levels))) } lt(at, end) { at := add(at, 0x20) } {
                let word := mload(at)
                wantWh := add(wantWh, add(shr(FIELD_SHIFT, shl(BID_TO_TOP, word)), shr(ASK_SHIFT, word)))
                // The clamp to the link, written out.
                let next := wantWh
                if slt(wantWh, belowImport) { next := belowImport }
                if sgt(wantWh, exportLimitWh) { next := exportLimitWh }
                if iszero(eq(next, clamped)) {
                    let tick := and(word, 0xff)
                    let step := add(steps, shl(5, add(tick, 1)))
                    mstore(step, add(mload(step), sub(next, clamped)))
                    // slither-disable-next-line incorrect-shift: Yul's shl takes the shift first, so this is 1 << tick
                    stepBits := or(stepBits, shl(tick, 1))
                    clamped := next
                }
            }
        }
        return stepBits;
    }

    // ---- Step 2: each zone's net export ----

    /// @notice A zone's part of the bus's sides at balancing tick `tick` (pass the bids `addSteps` found): its
    /// clamped lo and hi there, which make it export at least `low` if positive and import at least `-high`
    /// if negative.
    function sidesAt(ZoneBook memory zone, uint256 bidWh, uint256 tick) internal pure returns (int256 low, int256 high) {
        (int256 lo, int256 hi) = _wantedAt(zone.levels, bidWh, tick);
        low = _clamp(lo, zone.importLimitWh, zone.exportLimitWh);
        high = _clamp(hi, zone.importLimitWh, zone.exportLimitWh);
    }

    /// @notice The bus's two sides at its lowest balancing tick: what the zones must export or import there
    /// (forced), and what they can (their clamped range), in all.
    struct BusSides {
        uint256 forcedOutWh;
        uint256 canOutWh;
        uint256 forcedInWh;
        uint256 canInWh;
    }

    /// @notice Adds a zone's clamped lo and hi at the bus's lowest balancing tick to the bus's sides.
    function addSides(BusSides memory bus, int256 low, int256 high) internal pure {
        unchecked {
            bus.forcedOutWh += _positive(low);
            bus.canOutWh += _positive(high);
            bus.forcedInWh += _positive(-high);
            bus.canInWh += _positive(-low);
        }
    }

    function _netExports(ZoneBook[] memory zones, Work[] memory work, ZoneClearing[] memory results, uint256 tick)
        private
        pure
    {
        uint256 count = zones.length;
        BusSides memory bus = BusSides(0, 0, 0, 0);
        unchecked {
            for (uint256 z; z < count; ++z) {
                (int256 low, int256 high) = sidesAt(zones[z], work[z].bidWh, tick);
                (work[z].lowWh, work[z].highWh) = (low, high);
                addSides(bus, low, high);
            }
            uint256 runningOutWh = 0;
            uint256 runningInWh = 0;
            for (uint256 z; z < count; ++z) {
                (results[z].netExportWh, runningOutWh, runningInWh) = netExport(bus, work[z], runningOutWh, runningInWh);
            }
        }
    }

    /// @notice A zone's net export: on each side its forced flow plus its share of the bus's trade beyond
    /// the forced flows, shared in the zones' spare room on that side on running totals in zone order, as a
    /// price level is rationed. Takes and returns the running totals of spare room before the zone.
    function netExport(BusSides memory bus, Work memory w, uint256 runningOutWh, uint256 runningInWh)
        internal
        pure
        returns (int256 exportWh, uint256, uint256)
    {
        unchecked {
            uint256 tradedWh = _min(bus.canOutWh, bus.canInWh);
            uint256 outWh;
            uint256 inWh;
            (outWh, runningOutWh) =
                _share(w.lowWh, w.highWh, tradedWh - bus.forcedOutWh, bus.canOutWh - bus.forcedOutWh, runningOutWh);
            (inWh, runningInWh) =
                _share(-w.highWh, -w.lowWh, tradedWh - bus.forcedInWh, bus.canInWh - bus.forcedInWh, runningInWh);
            exportWh = int256(outWh) - int256(inWh);
        }
        return (exportWh, runningOutWh, runningInWh);
    }

    /// @dev A zone's flow on one side, whose range there is `low` to `high`: its forced flow plus its share
    /// of `leftWh`, shared in the zones' spare room (`roomWh` in all) from `runningWh` on.
    function _share(int256 low, int256 high, uint256 leftWh, uint256 roomWh, uint256 runningWh)
        private
        pure
        returns (uint256 flowWh, uint256)
    {
        unchecked {
            uint256 forcedWh = _positive(low);
            flowWh = forcedWh;
            if (leftWh == 0) return (flowWh, runningWh);
            uint256 before = runningWh;
            runningWh += _positive(high) - forcedWh;
            flowWh += runningWh * leftWh / roomWh - before * leftWh / roomWh;
        }
        return (flowWh, runningWh);
    }

    /// @dev What a zone's orders want to export at `tick`: without, and with, the orders limited at it.
    function _wantedAt(uint256[] memory levels, uint256 bidWh, uint256 tick) private pure returns (int256 lo, int256 hi) {
        unchecked {
            lo = -int256(bidWh);
        }
        // slither-disable-next-line assembly: a loop over a zone's occupied ticks, once per zone
        assembly ("memory-safe") {
            // The orders at `tick` itself, if any, make hi differ from lo; elsewhere they are equal.
            let atTickWh := 0
            let at := add(levels, 0x20)
            for { let end := add(at, shl(5, mload(levels))) } lt(at, end) { at := add(at, 0x20) } {
                let word := mload(at)
                let t := and(word, 0xff)
                if gt(t, tick) { break }
                let bothWh := add(shr(FIELD_SHIFT, shl(BID_TO_TOP, word)), shr(ASK_SHIFT, word))
                if eq(t, tick) {
                    atTickWh := bothWh
                    break
                }
                lo := add(lo, bothWh)
            }
            hi := add(lo, atTickWh)
        }
    }

    // ---- Steps 3 and 4: each zone's fills, and the ticks where it is free ----

    /// @dev Clears the zone's own orders with its net export standing as an order of unlimited price, and
    /// finds the ticks whose [lo, hi] holds the net export. Bids fill from the highest tick down, asks from
    /// the lowest up; a side that fills nothing keeps its marginal level at the end where it starts, with
    /// nothing rationed.
    function fill(uint256[] memory levels, Work memory w, ZoneClearing memory r, uint256 tickCount) internal pure {
        (uint256 extraDemandWh, uint256 extraSupplyWh) = _flowOrders(r.netExportWh);
        uint256 volumeWh = _volume(levels, w.bidWh + extraDemandWh, extraSupplyWh);
        r.volumeWh = volumeWh;
        _freeTicks(levels, w, r.netExportWh, tickCount);
        unchecked {
            uint256 bidsFilledWh = volumeWh - extraDemandWh;
            uint256 asksWh = volumeWh - extraSupplyWh;
            (r.bidMarginalTick, r.bidLevelWh, r.askLevelWh) = (tickCount - 1, 1, 1);
            w.bidLimitTick = tickCount - 1;
            if (bidsFilledWh != 0) {
                (r.bidMarginalTick, r.bidRationedWh, r.bidLevelWh) = _marginal(levels, bidsFilledWh, true);
                w.bidLimitTick = r.bidMarginalTick;
            }
            if (asksWh != 0) {
                (r.askMarginalTick, r.askRationedWh, r.askLevelWh) = _marginal(levels, asksWh, false);
                w.askLimitTick = r.askMarginalTick;
            }
        }
    }

    /// @dev The most volume the zone's book trades with the flow's orders added, D and S starting at
    /// `demandWh` and `supplyWh`: min(D, S) is largest at an occupied tick or at either end of the grid.
    function _volume(uint256[] memory levels, uint256 demandWh, uint256 supplyWh) private pure returns (uint256 volumeWh) {
        unchecked {
            volumeWh = _min(demandWh, supplyWh);
            // slither-disable-next-line assembly: the hot loop, once per occupied tick of every zone
            assembly ("memory-safe") {
                let at := add(levels, 0x20)
                for { let end := add(at, shl(5, mload(levels))) } lt(at, end) { at := add(at, 0x20) } {
                    let word := mload(at)
                    supplyWh := add(supplyWh, shr(ASK_SHIFT, word))
                    // The volume at this tick is min(D, S).
                    let tradedWh := supplyWh
                    if lt(demandWh, supplyWh) { tradedWh := demandWh }
                    if gt(tradedWh, volumeWh) { volumeWh := tradedWh }
                    demandWh := sub(demandWh, shr(FIELD_SHIFT, shl(BID_TO_TOP, word)))
                }
            }
            uint256 atTopWh = _min(demandWh, supplyWh);
            if (atTopWh > volumeWh) volumeWh = atTopWh;
        }
    }

    /// @dev Finds the ticks whose [lo, hi] holds `exportWh`: from the first whose hi reaches it to the last
    /// whose lo does not pass it. Between occupied ticks lo and hi are equal and constant.
    function _freeTicks(uint256[] memory levels, Work memory w, int256 exportWh, uint256 tickCount) private pure {
        unchecked {
            int256 wantWh = -int256(w.bidWh);
            uint256 first = tickCount;
            uint256 last = 0;
            uint256 nextTick = 0;
            // slither-disable-next-line assembly: the hot loop, once per occupied tick of every zone
            assembly ("memory-safe") {
                let at := add(levels, 0x20)
                for { let end := add(at, shl(5, mload(levels))) } lt(at, end) { at := add(at, 0x20) } {
                    let word := mload(at)
                    let t := and(word, 0xff)
                    let afterWh := add(wantWh, add(shr(FIELD_SHIFT, shl(BID_TO_TOP, word)), shr(ASK_SHIFT, word)))
                    if eq(first, tickCount) {
                        switch slt(wantWh, exportWh)
                        case 0 { first := nextTick }
                        default { if iszero(slt(afterWh, exportWh)) { first := t } }
                    }
                    if iszero(sgt(wantWh, exportWh)) { last := t }
                    wantWh := afterWh
                    nextTick := add(t, 1)
                }
            }
            if (nextTick < tickCount) {
                if (first == tickCount && wantWh >= exportWh) first = nextTick;
                if (wantWh <= exportWh) last = tickCount - 1;
            }
            (w.firstFreeTick, w.lastFreeTick) = (first, last);
        }
    }

    /// @dev Walks one side's levels best first until `filledWh` is reached. Returns the last level's tick,
    /// the volume it trades and its whole volume.
    function _marginal(uint256[] memory levels, uint256 filledWh, bool isBid)
        private
        pure
        returns (uint256 tick, uint256 rationedWh, uint256 levelWh)
    {
        uint256 count = levels.length;
        uint256 reachedWh = 0;
        unchecked {
            // slither-disable-next-line assembly: the hot loop, once per filled tick of every zone
            assembly ("memory-safe") {
                let first := add(levels, 0x20)
                // Bids from the highest tick down, asks from the lowest up.
                let at := add(first, shl(5, sub(count, 1)))
                let stride := sub(0, 0x20)
                let toTop := BID_TO_TOP
                if iszero(isBid) {
                    at := first
                    stride := 0x20
                    toTop := ASK_TO_TOP
                }
                for { let left := count } left { left := sub(left, 1) } {
                    let word := mload(at)
                    let sideWh := shr(FIELD_SHIFT, shl(toTop, word))
                    if and(iszero(lt(add(reachedWh, sideWh), filledWh)), iszero(iszero(sideWh))) {
                        tick := and(word, 0xff)
                        rationedWh := sub(filledWh, reachedWh)
                        levelWh := sideWh
                        break
                    }
                    reachedWh := add(reachedWh, sideWh)
                    at := add(at, stride)
                }
            }
        }
        // The volume never passes what the side holds, so the walk always ends above.
    }

    /// @notice Adds where a zone's free ticks begin and end among the balancing ticks `lowest` to `highest`
    /// to `changes` (one entry per tick up to `highest`, set at `changeBits`) and to `free`, the count of
    /// zones free at `lowest`. The count of free zones changes only there.
    function addFreeTicks(Work memory w, uint256 lowest, uint256 highest, int256[] memory changes, uint256 changeBits, int256 free)
        internal
        pure
        returns (uint256, int256)
    {
        unchecked {
            uint256 first = w.firstFreeTick;
            uint256 end = w.lastFreeTick + 1;
            if (first <= lowest) {
                free += 1;
            } else if (first <= highest) {
                changes[first] += 1;
                changeBits |= 1 << first;
            }
            if (end <= lowest) {
                free -= 1;
            } else if (end <= highest) {
                changes[end] -= 1;
                changeBits |= 1 << end;
            }
        }
        return (changeBits, free);
    }

    /// @notice The balancing tick where the most zones are free, the lowest of those, from what
    /// `addFreeTicks` gathered.
    function referenceTickOf(int256[] memory changes, uint256 changeBits, int256 free, uint256 lowest)
        internal
        pure
        returns (uint256 referenceTick)
    {
        referenceTick = lowest;
        int256 most = free;
        while (changeBits != 0) {
            uint256 tick = BitMath.lowestBit(changeBits);
            changeBits &= changeBits - 1;
            free += changes[tick];
            if (free > most) (most, referenceTick) = (free, tick);
        }
    }

    // ---- Step 5: prices ----

    /// @notice Tells a free zone, whose net export lies within its own [lo, hi] at the reference tick, from
    /// one held by its link, and that from a zone cut off from the bus.
    function setRole(Work memory w, ZoneBook memory zone, uint256 referenceTick) internal pure {
        if (w.firstFreeTick <= referenceTick && referenceTick <= w.lastFreeTick) w.role = FREE;
        else if (zone.importLimitWh == 0 && zone.exportLimitWh == 0) w.role = ALONE;
        else w.role = referenceTick > w.lastFreeTick ? EXPORTING : IMPORTING;
    }

    /// @notice What the bus's price is chosen from: the ticks the free zones' pooled book occupies, the bound
    /// zones' flows as orders of unlimited price, and the range of ticks within every free zone's fills, at
    /// or above every exporting zone's and at or below every importing zone's.
    struct Pool {
        uint256 occupied;
        uint256 extraDemandWh;
        uint256 extraSupplyWh;
        uint256 low;
        uint256 high;
    }

    function newPool(uint256 tickCount) internal pure returns (Pool memory) {
        return Pool(0, 0, 0, 0, tickCount - 1);
    }

    /// @notice Adds a zone to the pool: a free zone's levels to `pooledAt` (one entry per tick, each
    /// bidWh << 8 | askWh << 72), a bound zone's flow as an order, and the zone's fills to the range.
    function addToPool(Pool memory pool, uint256[] memory pooledAt, uint256[] memory levels, Work memory w, int256 netExportWh)
        internal
        pure
    {
        uint8 role = w.role;
        if (role == FREE) {
            uint256 occupied = pool.occupied;
            // slither-disable-next-line assembly: the hot loop, once per occupied tick of every free zone
            assembly ("memory-safe") {
                let at := add(levels, 0x20)
                for { let end := add(at, shl(5, mload(levels))) } lt(at, end) { at := add(at, 0x20) } {
                    let word := mload(at)
                    let t := and(word, 0xff)
                    // Volumes below 2^64 summed over the zones stay within their fields.
                    let pooled := add(pooledAt, shl(5, add(t, 1)))
                    mstore(pooled, add(mload(pooled), sub(word, t)))
                    // slither-disable-next-line incorrect-shift: Yul's shl takes the shift first, so this is 1 << t
                    occupied := or(occupied, shl(t, 1))
                }
            }
            pool.occupied = occupied;
        } else if (role != ALONE) {
            (uint256 demandWh, uint256 supplyWh) = _flowOrders(-netExportWh);
            unchecked {
                pool.extraDemandWh += demandWh;
                pool.extraSupplyWh += supplyWh;
            }
        }
        if ((role == FREE || role == EXPORTING) && w.askLimitTick > pool.low) pool.low = w.askLimitTick;
        if ((role == FREE || role == IMPORTING) && w.bidLimitTick < pool.high) pool.high = w.bidLimitTick;
    }

    /// @notice The bus's tick: the single-zone rule on the pool.
    function busTickOf(Pool memory pool, uint256[] memory pooledAt) internal pure returns (uint256) {
        uint256 occupied = pool.occupied;
        uint256[] memory pooled = new uint256[](BitMath.popCount(occupied));
        for (uint256 j; occupied != 0; ++j) {
            uint256 t = BitMath.lowestBit(occupied);
            occupied &= occupied - 1;
            pooled[j] = pooledAt[t] | t;
        }
        return _pick(pooled, pool.extraDemandWh, pool.extraSupplyWh, pool.low, pool.high);
    }

    /// @dev The single-zone rule (most volume, then least imbalance, then the midpoint rounded down) on
    /// `levels` with `extraDemandWh` and `extraSupplyWh` added at every tick, among the ticks `low` to
    /// `high`. D and S stay constant between the ticks where either changes, so it ranks segments, not ticks.
    function _pick(uint256[] memory levels, uint256 extraDemandWh, uint256 extraSupplyWh, uint256 low, uint256 high)
        private
        pure
        returns (uint256)
    {
        // The quantities are an equilibrium, so the range is never empty; were it, its low end would price.
        if (high < low) high = low;
        Best memory best = Best(0, 0, 0);
        unchecked {
            uint256 demandWh = extraDemandWh;
            uint256 supplyWh = extraSupplyWh;
            uint256 levelCount = levels.length;
            uint256 first = levelCount;
            for (uint256 j; j < levelCount; ++j) {
                uint256 word = levels[j];
                uint256 t = word & 0xff;
                if (t <= low) supplyWh += word >> ASK_SHIFT;
                if (t >= low) {
                    demandWh += (word >> BID_SHIFT) & VOLUME_MASK;
                    if (first == levelCount) first = j;
                }
            }
            uint256 start = low;
            for (uint256 j = first; j < levelCount; ++j) {
                uint256 word = levels[j];
                uint256 t = word & 0xff;
                if (t > high) break;
                // Asks at `t` join S from `t` on; bids at `t` leave D after `t`.
                uint256 askWh = word >> ASK_SHIFT;
                if (t > low && askWh != 0) {
                    if (start < t) _rank(best, start, t - 1, demandWh, supplyWh);
                    supplyWh += askWh;
                    start = t;
                }
                uint256 bidWh = (word >> BID_SHIFT) & VOLUME_MASK;
                if (t < high && bidWh != 0) {
                    _rank(best, start, t, demandWh, supplyWh);
                    demandWh -= bidWh;
                    start = t + 1;
                }
            }
            _rank(best, start, high, demandWh, supplyWh);
            return best.low + (best.high - best.low) / 2;
        }
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
        unchecked {
            uint256 key = demandWh < supplyWh
                ? (demandWh << 128) | (KEY_MASK - (supplyWh - demandWh))
                : (supplyWh << 128) | (KEY_MASK - (demandWh - supplyWh));
            if (key > best.key) (best.key, best.low, best.high) = (key, low, high);
            else if (key == best.key) best.high = high;
        }
    }

    // ---- Step 6: every zone's price and the rent ----

    /// @notice Prices a zone: a free zone at the bus tick, a bound one by the single-zone rule on its own
    /// book with its flow, on its side of the bus, within its fills. Returns its part of the congestion rent.
    function zoneTick(uint256[] memory levels, Work memory w, ZoneClearing memory r, uint256 busTick)
        internal
        pure
        returns (int256 rentTickWh)
    {
        if (w.role == FREE) {
            r.tick = busTick;
            return 0;
        }
        (uint256 low, uint256 high) = (w.askLimitTick, w.bidLimitTick);
        if (w.role == EXPORTING && busTick < high) high = busTick;
        if (w.role == IMPORTING && busTick > low) low = busTick;
        (uint256 extraDemandWh, uint256 extraSupplyWh) = _flowOrders(r.netExportWh);
        r.tick = _pick(levels, extraDemandWh, extraSupplyWh, low, high);
        unchecked {
            return (int256(busTick) - int256(r.tick)) * r.netExportWh;
        }
    }

    // ---- What the fills pay ----

    /// @notice Adds what a zone's bids bought and paid and what its asks sold and netted to the totals (Wh
    /// bought, paid, Wh sold, netted). Each side fills by price priority, its marginal level trading L, and
    /// each level rounds once, as its orders' claims pay (AuctionClearing.outcome): asks are walked from the
    /// lowest tick up to their marginal tick, bids from the highest down to theirs. A side that filled
    /// nothing has L = 0 at its marginal tick, so it adds nothing. A zone that exports nets more than its own
    /// buyers pay, so only the market's totals give the surplus.
    function addFillValues(uint256[4] memory totals, uint256[] memory levels, ZoneClearing memory r, uint256 pricePerKWh, uint256 feeBps)
        internal
        pure
    {
        (uint256 bidTick, uint256 bidRationedWh, uint256 askTick, uint256 askRationedWh) =
            (r.bidMarginalTick, r.bidRationedWh, r.askMarginalTick, r.askRationedWh);
        (uint256 boughtWh, uint256 paid, uint256 soldWh, uint256 netted) = (0, 0, 0, 0);
        // slither-disable-next-line assembly: one walk per side over the zone's levels, once per zone of a clearing
        assembly ("memory-safe") {
            let first := add(levels, 0x20)
            let end := add(first, shl(5, mload(levels)))
            for { let at := first } lt(at, end) { at := add(at, 0x20) } {
                let word := mload(at)
                let tick := and(word, 0xff)
                if gt(tick, askTick) { break }
                let askWh := shr(FIELD_SHIFT, shl(ASK_TO_TOP, word))
                if eq(tick, askTick) { askWh := askRationedWh }
                soldWh := add(soldWh, askWh)
                // The fee is taken from the rounded gross, as the asks' claims pay it.
                // slither-disable-next-line divide-before-multiply: that rounding is the claims' own
                let gross := div(mul(askWh, pricePerKWh), WH_PER_KWH)
                netted := add(netted, sub(gross, div(mul(gross, feeBps), BPS)))
            }
            for { let at := end } gt(at, first) {} {
                at := sub(at, 0x20)
                let word := mload(at)
                let tick := and(word, 0xff)
                if lt(tick, bidTick) { break }
                let bidWh := shr(FIELD_SHIFT, shl(BID_TO_TOP, word))
                if eq(tick, bidTick) { bidWh := bidRationedWh }
                boughtWh := add(boughtWh, bidWh)
                // What the bid pays, rounded up to a base unit (OrderMath.ceilMilli).
                paid := add(paid, div(add(mul(bidWh, pricePerKWh), sub(WH_PER_KWH, 1)), WH_PER_KWH))
            }
        }
        totals[0] += boughtWh;
        totals[1] += paid;
        totals[2] += soldWh;
        totals[3] += netted;
    }

    /// @notice What a market's totals (as addFillValues adds them) come to: Wh bought, Wh sold and the
    /// surplus buyers pay beyond what sellers net. `balanced` is false when the energy bought is not the
    /// energy sold or sellers would net more than buyers pay, which the rule never produces: such a result
    /// must not be recorded, and its surplus reads zero instead of wrapping.
    function totalsOf(uint256[4] memory totals)
        internal
        pure
        returns (uint256 boughtWh, uint256 soldWh, uint256 surplus, bool balanced)
    {
        (boughtWh, soldWh) = (totals[0], totals[2]);
        balanced = boughtWh == soldWh && totals[1] >= totals[3];
        if (balanced) surplus = totals[1] - totals[3];
    }

    // ---- Small helpers ----

    /// @dev The volume of a zone's bids in all.
    function bidsWh(uint256[] memory levels) internal pure returns (uint256 bidWh) {
        // slither-disable-next-line assembly: the hot loop, once per occupied tick of every zone
        assembly ("memory-safe") {
            let at := add(levels, 0x20)
            for { let end := add(at, shl(5, mload(levels))) } lt(at, end) { at := add(at, 0x20) } {
                bidWh := add(bidWh, shr(FIELD_SHIFT, shl(BID_TO_TOP, mload(at))))
            }
        }
    }

    /// @dev A zone's net export as orders of unlimited price: the bus buys an export, sells an import.
    function _flowOrders(int256 exportWh) private pure returns (uint256 demandWh, uint256 supplyWh) {
        return exportWh > 0 ? (uint256(exportWh), uint256(0)) : (uint256(0), uint256(-exportWh));
    }

    function _clamp(int256 exportWh, int256 importLimitWh, int256 exportLimitWh) private pure returns (int256) {
        if (exportWh < -importLimitWh) return -importLimitWh;
        if (exportWh > exportLimitWh) return exportLimitWh;
        return exportWh;
    }

    function _positive(int256 value) private pure returns (uint256) {
        return value > 0 ? uint256(value) : 0;
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
