// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMarketZones} from "../IMarketZones.sol";
import {BitMath} from "../../utils/BitMath.sol";

/// @dev One zone of a coupled market, as clearing reads it: its occupied ticks and its link to the bus.
struct ZoneBook {
    uint256[] levels; // The zone's occupied ticks in ascending order, each tick | bidWh << 8 | askWh << 72.
    uint256 bidWh; // The zone's bids in all: D at tick 0, where every walk up the levels starts.
    int256 importLimitWh; // What the link may carry into the zone in the period; UNLIMITED for no limit.
    int256 exportLimitWh; // What it may carry out of the zone.
}

/// @dev One zone's result. Each side fills by price priority: orders better than the side's marginal tick
/// fill in full, orders worse than it not at all, and the orders at it share `rationedWh` of the level's
/// `levelWh` on running totals, as a single-zone market rations its marginal level.
struct ZoneClearing {
    int256 netExportWh; // What the zone's asks sold beyond what its bids bought; negative when it imports.
    uint256 tick; // The zone's price on the grid.
    IMarketZones.ZoneRole role; // How that price relates to the bus's.
    uint256 volumeWh; // The larger of the zone's bought and sold volume.
    uint256 bidMarginalTick;
    uint256 bidRationedWh;
    uint256 bidLevelWh;
    uint256 askMarginalTick;
    uint256 askRationedWh;
    uint256 askLevelWh;
}

/// @dev A market's grid, on which it clears, and the fee rate its asks pay: what its fills are valued at.
struct ClearingTerms {
    uint256 minPricePerKWh;
    uint256 tickSizePerKWh;
    uint256 tickCount;
    uint256 feeBps;
}

/// @title CoupledClearing
/// @notice This library clears one delivery period across many zones (feeders), each joined to a common
/// bus by a link with an import and an export limit. The quantities maximize the orders' total surplus on
/// the tick grid subject to every zone's balance and its link, and the prices are competitive: a linear
/// program's dual prices of the zones' and the bus's balances, so that every order strictly in the money
/// fills in full and only orders at their zone's price are rationed. Zones whose links have room share the
/// bus's price; a zone whose link is full gets its own, on its side of the bus.
/// @dev The rule runs in two stages over one `Sums`, each a walk per zone that adds to the sums, then one
/// look at them. The one-transaction clear (`clear`) runs both in memory; SteppedClearing runs each over a
/// batch of zones per transaction and keeps the sums in storage between batches, so its result is the same
/// however the steps are cut. The project's Python reference states each step, and a linear program proves
/// the result optimal and its prices an optimal dual.
/// 1. Steps. At a tick p, zone z's orders want to export anything from lo(p) = S(p-1) - D(p) to hi(p) =
///    S(p) - D(p+1); the ranges tile the line, hi(p) = lo(p+1). Clamped to the links and summed they give
///    the bus's range. The bus balances from the lowest tick P where the sum of the clamped hi reaches 0 to
///    the first where it passes 0; these are the bus's competitive ticks, and the bus tick is their middle,
///    rounded down.
/// 2. Zones. At P every zone exports at least the positive part of its clamped lo and imports at least the
///    negative part of its clamped hi; the rest of the bus's trade is shared among the zones' spare room
///    on running totals, in the order the zones are listed (a zone's net export is the same at every
///    balancing tick). Each zone then clears as one market on its own orders, its net export standing as
///    an order of unlimited price: the most volume, each side filled by price priority. Its own tick is the
///    middle of its competitive ticks given that export (those whose [lo, hi] holds it). A zone whose link
///    can carry more both ways trades at the bus tick; one held at its export limit at its own tick where
///    that is at or below the bus tick, else at the bus tick; one held at its import limit at its own tick
///    at or above the bus tick, else at the bus tick; a zone closed both ways at its own. Its fills are
///    valued at that price as its orders' claims will pay them, and its part of the congestion rent,
///    (bus tick - zone tick) × net export, is never negative.
/// Every step walks each zone's occupied ticks a bounded number of times, or the grid's ticks once, so the
/// work is O(zones × occupied ticks + ticks), independent of the number of orders.
library CoupledClearing {
    /// @notice A link limit meaning "no limit".
    int256 internal constant UNLIMITED = type(int256).max;

    uint256 private constant ASK_SHIFT = 72;
    // The assembly loops take a field by shifting it to the top of the word and back down: two shifts by
    // small numbers, where a 64-bit mask would be a constant the optimizer computes at every use.
    uint256 private constant BID_TO_TOP = 184; // 256 - 72: a bid's highest bit (71) to bit 255
    uint256 private constant FIELD_SHIFT = 192; // 256 - 64: the field back down to bit 0
    // OrderMath's units, as numbers the assembly that values a zone's fills can read.
    uint256 private constant WH_PER_KWH = 1000;
    uint256 private constant BPS = 10_000;

    /// @notice The bus's two sides at its lowest balancing tick: what the zones must export or import there
    /// (forced), and what they can (their clamped range), in all.
    struct BusSides {
        uint256 forcedOutWh;
        uint256 canOutWh;
        uint256 forcedInWh;
        uint256 canInWh;
    }

    /// @notice What the two stages add up across zones. The steps' per-tick sums are what SteppedClearing
    /// keeps between the batches of the first stage; the rest is what it keeps between those of the second.
    struct Sums {
        // Stage 1: per tick, the rises of the zones' clamped hi and of its positive part, the ticks where
        // either rises, and the clamped hi below tick 0 summed.
        int256[] highSteps;
        int256[] positiveSteps;
        uint256 stepBits;
        int256 baseWh;
        // What the first stage decides.
        uint256 lowest;
        uint256 highest;
        uint256 busTick;
        BusSides bus;
        // Stage 2: the zones' spare room on each side before the next zone, the rent in ticks × Wh and the
        // totals of the fills: Wh bought, what buyers pay, Wh sold, what sellers net.
        uint256 runningOutWh;
        uint256 runningInWh;
        int256 rentTickWh;
        uint256[4] totals;
    }

    // ---- Levels ----
    // A level packs a tick with its bids' volume in bits 8 to 71 and its asks' in bits 72 and up. A tick
    // of a market gathers at most 10^12 Wh a side, below 2^40, so sums over every tick of every zone stay
    // far within a 64-bit field and within int256; the arithmetic runs unchecked. The loops read the
    // fields in line, since a call per field would cost more than the loop's own work.

    // ---- Clearing in one transaction ----

    /// @notice Clears `zones` on the grid of `terms`, valuing the fills at its prices and fee. Returns the
    /// sums (the bus tick, the rent in ticks × Wh, the fills' totals) and every zone's result.
    function clear(ZoneBook[] memory zones, ClearingTerms memory terms)
        internal
        pure
        returns (Sums memory sums, ZoneClearing[] memory results)
    {
        uint256 count = zones.length;
        sums = newSums(terms.tickCount);
        unchecked {
            for (uint256 z; z < count; ++z) {
                addSteps(sums, zones[z]);
            }
            closeSteps(sums, terms.tickCount);
            results = new ZoneClearing[](count);
            for (uint256 z; z < count; ++z) {
                results[z] = clearZone(sums, zones[z], terms);
            }
        }
    }

    /// @notice Empty sums for a grid of `tickCount` ticks.
    function newSums(uint256 tickCount) internal pure returns (Sums memory sums) {
        sums.highSteps = new int256[](tickCount);
        sums.positiveSteps = new int256[](tickCount);
    }

    // ---- Stage 1: where the bus balances ----

    /// @notice Adds a zone's rises of its clamped hi, and of that value's positive part, to the sums, and its
    /// clamped hi below tick 0 (minus its bids, clamped). The sum of the clamped hi rises by one step per
    /// zone's occupied tick, so only ticks some zone occupies are ever set. Limits are never negative, so the
    /// positive part of a value clamped to [-import, export] is the value clamped to [0, export], which is
    /// zero below tick 0. With both sums the bus's sides at any tick follow without another walk.
    function addSteps(Sums memory sums, ZoneBook memory zone) internal pure {
        int256 wantWh;
        unchecked {
            wantWh = -int256(zone.bidWh);
        }
        int256 clamped = _clamp(wantWh, zone.importLimitWh, zone.exportLimitWh);
        sums.baseWh += clamped;
        (int256[] memory highSteps, int256[] memory positiveSteps) = (sums.highSteps, sums.positiveSteps);
        (uint256[] memory levels, int256 belowImport, int256 exportLimitWh) = (zone.levels, -zone.importLimitWh, zone.exportLimitWh);
        uint256 stepBits = sums.stepBits;
        // slither-disable-next-line assembly: the hot loop, once per occupied tick of every zone
        assembly ("memory-safe") {
            let positive := 0
            let at := add(levels, 0x20)
            for { let end := add(at, shl(5, mload(levels))) } lt(at, end) { at := add(at, 0x20) } {
                let word := mload(at)
                wantWh := add(wantWh, add(shr(FIELD_SHIFT, shl(BID_TO_TOP, word)), shr(ASK_SHIFT, word)))
                // The clamp to the link, written out, and its positive part.
                let next := wantWh
                if slt(wantWh, belowImport) { next := belowImport }
                if sgt(wantWh, exportLimitWh) { next := exportLimitWh }
                if iszero(eq(next, clamped)) {
                    let tick := and(word, 0xff)
                    let offset := shl(5, add(tick, 1))
                    let step := add(highSteps, offset)
                    mstore(step, add(mload(step), sub(next, clamped)))
                    // slither-disable-next-line incorrect-shift: Yul's shl takes the shift first, so this is 1 << tick
                    stepBits := or(stepBits, shl(tick, 1))
                    clamped := next
                    let nextPositive := next
                    if slt(next, 0) { nextPositive := 0 }
                    if iszero(eq(nextPositive, positive)) {
                        step := add(positiveSteps, offset)
                        mstore(step, add(mload(step), sub(nextPositive, positive)))
                        positive := nextPositive
                    }
                }
            }
        }
        sums.stepBits = stepBits;
    }

    /// @notice Decides, from the zones' summed steps, the lowest and the highest balancing tick, the bus
    /// tick (their middle, rounded down) and the bus's two sides at the lowest.
    /// @dev The clamped hi sum H never falls, since every step is the rise of a clamped value. At tick 0 the
    /// clamped lo sum is minus the zones' bids, never positive, and at the top the clamped hi sum is their
    /// asks, never negative. So the bus balances from the first tick where H reaches 0 to the first where it
    /// passes 0 (where the lo sum, one tick later, passes 0 too). A zone's clamped lo at a tick is its
    /// clamped hi one tick below, so the sides at the lowest tick follow from H and the positive sum P
    /// there and just below.
    function closeSteps(Sums memory sums, uint256 tickCount) internal pure {
        unchecked {
            int256 highWh = sums.baseWh;
            int256 positiveWh = 0;
            (int256 highBefore, int256 positiveBefore) = (highWh, positiveWh);
            uint256 lowest = tickCount - 1;
            uint256 highest = tickCount - 1;
            bool lowestFound = highWh >= 0;
            if (lowestFound) lowest = 0;
            uint256 bits = sums.stepBits;
            // With the bus balancing from tick 0 (no zone has bids), tick 0's own steps still count at it.
            (int256 highAt, int256 positiveAt) = (highWh + sums.highSteps[0], positiveWh + sums.positiveSteps[0]);
            while (bits != 0) {
                uint256 tick = BitMath.lowestBit(bits);
                bits &= bits - 1;
                (int256 highBelow, int256 positiveBelow) = (highWh, positiveWh);
                highWh += sums.highSteps[tick];
                positiveWh += sums.positiveSteps[tick];
                if (!lowestFound && highWh >= 0) {
                    (lowest, lowestFound) = (tick, true);
                    (highBefore, positiveBefore, highAt, positiveAt) = (highBelow, positiveBelow, highWh, positiveWh);
                }
                if (highWh > 0) {
                    highest = tick;
                    break;
                }
            }
            (sums.lowest, sums.highest) = (lowest, highest);
            sums.busTick = lowest + (highest - lowest) / 2;
            sums.bus = BusSides({
                forcedOutWh: uint256(positiveBefore),
                canOutWh: uint256(positiveAt),
                forcedInWh: uint256(positiveAt - highAt),
                canInWh: uint256(positiveBefore - highBefore)
            });
        }
    }

    // ---- Stage 2: each zone's flow, fills, price and value ----

    /// @notice Clears one zone, zones taken in their listed order after `closeSteps`: its net export, its
    /// fills, its price and role; adds its part of the rent and its fills' value to the sums.
    /// @dev Four walks over the zone's levels: up to the bus's lowest balancing tick for its share of the
    /// flow; up the levels for its competitive ticks, which also give the volume; and down the bids and up
    /// the asks, best first, to their marginal levels, valuing each level on the way.
    function clearZone(Sums memory sums, ZoneBook memory zone, ClearingTerms memory terms)
        internal
        pure
        returns (ZoneClearing memory r)
    {
        (uint256[] memory levels, uint256 bidWh) = (zone.levels, zone.bidWh);
        (int256 lo, int256 hi) = _wantedAt(levels, bidWh, sums.lowest);
        (lo, hi) = (_clamp(lo, zone.importLimitWh, zone.exportLimitWh), _clamp(hi, zone.importLimitWh, zone.exportLimitWh));
        int256 exportWh = _netExport(sums, lo, hi);
        r.netExportWh = exportWh;
        (uint256 first, uint256 last, uint256 volumeWh) = _competitiveTicks(levels, bidWh, exportWh, terms.tickCount);
        r.volumeWh = volumeWh;
        uint256 busTick = sums.busTick;
        (r.tick, r.role) = _price(first + (last - first) / 2, busTick, exportWh < zone.exportLimitWh, -exportWh < zone.importLimitWh);
        unchecked {
            sums.rentTickWh += (int256(busTick) - int256(r.tick)) * exportWh;
        }
        _fillSides(sums.totals, levels, r, terms);
    }

    /// @dev Fills and values both sides of a zone whose volume, net export and price are in `r`: the bids buy
    /// the volume less what the flow's order takes (an export), the asks sell it less the flow's (an import).
    /// A side that fills nothing keeps its marginal level at the end where it starts, with nothing rationed
    /// and T = 1. Adds to `totals` (Wh bought, paid, Wh sold, netted).
    function _fillSides(uint256[4] memory totals, uint256[] memory levels, ZoneClearing memory r, ClearingTerms memory terms)
        private
        pure
    {
        (uint256 extraDemandWh, uint256 extraSupplyWh) = _flowOrders(r.netExportWh);
        unchecked {
            uint256 pricePerKWh = terms.minPricePerKWh + r.tick * terms.tickSizePerKWh;
            (r.bidMarginalTick, r.bidLevelWh, r.askLevelWh) = (terms.tickCount - 1, 1, 1);
            uint256 filledWh = r.volumeWh - extraDemandWh;
            if (filledWh != 0) {
                (r.bidMarginalTick, r.bidRationedWh, r.bidLevelWh, totals[1]) = _fillBids(levels, filledWh, pricePerKWh, totals[1]);
                totals[0] += filledWh;
            }
            filledWh = r.volumeWh - extraSupplyWh;
            if (filledWh != 0) {
                (r.askMarginalTick, r.askRationedWh, r.askLevelWh, totals[3]) =
                    _fillAsks(levels, filledWh, pricePerKWh, terms.feeBps, totals[3]);
                totals[2] += filledWh;
            }
        }
    }

    /// @dev A zone's price and role from its own tick `ownTick` and the bus tick: the bus's where its link can
    /// carry more both ways, its own on its side of the bus where the link is full one way (the bus's where
    /// its own lies beyond), its own where the link is closed both ways.
    function _price(uint256 ownTick, uint256 busTick, bool canExport, bool canImport)
        private
        pure
        returns (uint256 tick, IMarketZones.ZoneRole role)
    {
        tick = busTick;
        if (!canExport || !canImport) {
            bool heldOut = !canExport && canImport && ownTick > busTick;
            bool heldIn = canExport && !canImport && ownTick < busTick;
            if (!heldOut && !heldIn) tick = ownTick;
        }
        if (tick < busTick) role = IMarketZones.ZoneRole.EXPORT_BOUND;
        else if (tick > busTick) role = IMarketZones.ZoneRole.IMPORT_BOUND;
    }

    /// @dev A zone's net export, from its clamped lo and hi at the lowest balancing tick: on each side its
    /// forced flow plus its share of the bus's trade beyond the forced flows, shared in the zones' spare room
    /// on that side on running totals in zone order, as a price level is rationed.
    function _netExport(Sums memory sums, int256 lo, int256 hi) private pure returns (int256) {
        BusSides memory bus = sums.bus;
        unchecked {
            uint256 tradedWh = _min(bus.canOutWh, bus.canInWh);
            uint256 outWh;
            uint256 inWh;
            (outWh, sums.runningOutWh) =
                _share(lo, hi, tradedWh - bus.forcedOutWh, bus.canOutWh - bus.forcedOutWh, sums.runningOutWh);
            (inWh, sums.runningInWh) =
                _share(-hi, -lo, tradedWh - bus.forcedInWh, bus.canInWh - bus.forcedInWh, sums.runningInWh);
            return int256(outWh) - int256(inWh);
        }
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

    /// @dev The zone's competitive ticks given its net export: those whose [lo, hi] holds `exportWh`, from the
    /// first whose hi reaches it to the last whose lo does not pass it (between occupied ticks lo and hi are
    /// equal and constant, and past the last the walk stops). Also the volume its market trades with the
    /// net export standing as an order of unlimited price: min(D, S) at any competitive tick, the most any
    /// tick trades, taken at the first. Below a level, lo = S - D, so D follows from S and lo.
    function _competitiveTicks(uint256[] memory levels, uint256 bidWh, int256 exportWh, uint256 tickCount)
        private
        pure
        returns (uint256 first, uint256 last, uint256 volumeWh)
    {
        unchecked {
            int256 wantWh = -int256(bidWh);
            first = tickCount;
            uint256 nextTick = 0;
            uint256 supplyWh = 0;
            // D and S at the first competitive tick, before the flow's order is added.
            (uint256 firstDemandWh, uint256 firstSupplyWh) = (0, 0);
            // slither-disable-next-line assembly: the hot loop, once per occupied tick of every zone
            assembly ("memory-safe") {
                let at := add(levels, 0x20)
                for { let end := add(at, shl(5, mload(levels))) } lt(at, end) { at := add(at, 0x20) } {
                    let word := mload(at)
                    // The ticks from `nextTick` up to this level's share lo and hi: `wantWh`.
                    if eq(first, tickCount) {
                        if iszero(slt(wantWh, exportWh)) {
                            first := nextTick
                            firstDemandWh := sub(supplyWh, wantWh)
                            firstSupplyWh := supplyWh
                        }
                    }
                    // Past the last competitive tick lo only rises: nothing further can change the answer.
                    if sgt(wantWh, exportWh) {
                        nextTick := tickCount
                        break
                    }
                    last := and(word, 0xff)
                    let askWh := shr(ASK_SHIFT, word)
                    let afterWh := add(wantWh, add(shr(FIELD_SHIFT, shl(BID_TO_TOP, word)), askWh))
                    if eq(first, tickCount) {
                        if iszero(slt(afterWh, exportWh)) {
                            first := last
                            firstDemandWh := sub(supplyWh, wantWh)
                            firstSupplyWh := add(supplyWh, askWh)
                        }
                    }
                    supplyWh := add(supplyWh, askWh)
                    wantWh := afterWh
                    nextTick := add(last, 1)
                }
            }
            // Past the last level lo and hi are the whole book's: unless the walk stopped, those ticks may be
            // competitive too.
            if (nextTick < tickCount) {
                if (first == tickCount && wantWh >= exportWh) {
                    (first, firstDemandWh, firstSupplyWh) = (nextTick, uint256(int256(supplyWh) - wantWh), supplyWh);
                }
                if (wantWh <= exportWh) last = tickCount - 1;
            }
            (uint256 extraDemandWh, uint256 extraSupplyWh) = _flowOrders(exportWh);
            (firstDemandWh, firstSupplyWh) = (firstDemandWh + extraDemandWh, firstSupplyWh + extraSupplyWh);
            volumeWh = firstDemandWh < firstSupplyWh ? firstDemandWh : firstSupplyWh;
        }
    }

    // Each side fills best first until its filled volume is reached, each level valued at the zone's price on
    // the way and rounded once, as its orders' claims pay it (AuctionClearing.outcome). Each walk returns the
    // last level's tick, the volume it trades and its whole volume (the side's marginal level), and the value
    // with the side's added. The volume never passes what the side holds, so each walk ends at a level.

    /// @dev The bids, from the highest tick down; what they pay, each level rounded up to a base unit
    /// (OrderMath.ceilMilli).
    function _fillBids(uint256[] memory levels, uint256 filledWh, uint256 pricePerKWh, uint256 paid)
        private
        pure
        returns (uint256 tick, uint256 rationedWh, uint256 levelWh, uint256)
    {
        uint256 reachedWh = 0;
        // slither-disable-next-line assembly: the hot loop, once per filled tick of every zone
        assembly ("memory-safe") {
            let first := add(levels, 0x20)
            for { let at := add(levels, shl(5, mload(levels))) } iszero(lt(at, first)) { at := sub(at, 0x20) } {
                let word := mload(at)
                let sideWh := shr(FIELD_SHIFT, shl(BID_TO_TOP, word))
                let wh := sideWh
                let last := and(iszero(lt(add(reachedWh, sideWh), filledWh)), iszero(iszero(sideWh)))
                if last { wh := sub(filledWh, reachedWh) }
                paid := add(paid, div(add(mul(wh, pricePerKWh), sub(WH_PER_KWH, 1)), WH_PER_KWH))
                if last {
                    tick := and(word, 0xff)
                    rationedWh := wh
                    levelWh := sideWh
                    break
                }
                reachedWh := add(reachedWh, sideWh)
            }
        }
        return (tick, rationedWh, levelWh, paid);
    }

    /// @dev The asks, from the lowest tick up; what they net, the fee at `feeBps` taken from each level's
    /// rounded gross.
    function _fillAsks(uint256[] memory levels, uint256 filledWh, uint256 pricePerKWh, uint256 feeBps, uint256 netted)
        private
        pure
        returns (uint256 tick, uint256 rationedWh, uint256 levelWh, uint256)
    {
        uint256 reachedWh = 0;
        // slither-disable-next-line assembly: the hot loop, once per filled tick of every zone
        assembly ("memory-safe") {
            for { let at := add(levels, 0x20) } 1 { at := add(at, 0x20) } {
                let word := mload(at)
                let sideWh := shr(ASK_SHIFT, word)
                let wh := sideWh
                let last := and(iszero(lt(add(reachedWh, sideWh), filledWh)), iszero(iszero(sideWh)))
                if last { wh := sub(filledWh, reachedWh) }
                // slither-disable-next-line divide-before-multiply: the fee is taken from the rounded gross, as the asks' claims pay it
                let gross := div(mul(wh, pricePerKWh), WH_PER_KWH)
                netted := add(netted, sub(gross, div(mul(gross, feeBps), BPS)))
                if last {
                    tick := and(word, 0xff)
                    rationedWh := wh
                    levelWh := sideWh
                    break
                }
                reachedWh := add(reachedWh, sideWh)
            }
        }
        return (tick, rationedWh, levelWh, netted);
    }

    // ---- What a market comes to ----

    /// @notice What a market's sums come to: the bus tick, Wh bought and sold, the surplus buyers pay beyond
    /// what sellers net and the congestion rent (in ticks × Wh, and in PaymentToken base units at the grid's
    /// tick size `tickSizePerKWh`, rounded down); the caller adds the zones and their results. `balanced` is false when the
    /// energy bought is not the energy sold or sellers would net more than buyers pay, which the rule never
    /// produces: such a result must not be recorded, and its surplus reads zero instead of wrapping.
    function resultOf(Sums memory sums, uint256 tickSizePerKWh)
        internal
        pure
        returns (IMarketZones.CoupledResult memory result, bool balanced)
    {
        uint256[4] memory totals = sums.totals;
        result.busTick = sums.busTick;
        (result.boughtWh, result.soldWh) = (totals[0], totals[2]);
        balanced = totals[0] == totals[2] && totals[1] >= totals[3] && sums.rentTickWh >= 0;
        if (balanced) {
            result.surplus = totals[1] - totals[3];
            result.rentTickWh = uint256(sums.rentTickWh);
            result.congestionRent = result.rentTickWh * tickSizePerKWh / WH_PER_KWH;
        }
    }

    // ---- Small helpers ----

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
