// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyAuction} from "./IEnergyAuction.sol";
import {IMarketZones} from "./IMarketZones.sol";
import {IMeteredMarket} from "../metering/IMeteredMarket.sol";
import {ISteppedClearing} from "./ISteppedClearing.sol";
import {ZeroAddress} from "../utils/GridErrors.sol";
import {OrderMath} from "../utils/OrderMath.sol";
import {BitMath} from "../utils/BitMath.sol";
import {AuctionSlots} from "./auction/AuctionSlots.sol";
import {CoupledClearing, ZoneBook, ZoneClearing} from "./auction/CoupledClearing.sol";
import {ZoneResult, ZoneResultLibrary} from "../types/ZoneResult.sol";

/// @title SteppedClearing
/// @notice Clears a coupled market in steps when its zones' occupied ticks are too many for one
/// transaction: at the maximum of 34 zones with all 256 ticks of each occupied, reading every tick once
/// costs more than a block holds. Each stage of the coupled rule is a walk over each zone's levels that
/// adds to sums over the grid's ticks, then one look at those sums (CoupledClearing); here the walks run a
/// batch of zones per step and the sums wait in storage for the next batch.
/// @dev Storage per market: the run's stage and ticks, the sums across zones, six arrays of 64 words that
/// hold one 64-bit number per tick of the grid, and two words per zone (its ZoneResult, and what its
/// stages learned). Every number kept in a 64-bit lane is a sum of at most 35 zones' volumes of at most
/// 2^49 Wh each (256 ticks × 2 sides × 10^12 Wh), so it stays below 2^55.
contract SteppedClearing is ISteppedClearing {
    using ZoneResultLibrary for ZoneResult;

    /// @notice The most occupied ticks one step reads, each once, with every walk of its stage.
    uint256 public constant MAX_STEP_TICKS = 2_560;

    uint256 private constant LANE_BITS = 64;

    IMarketZones private immutable _marketZones;
    address private immutable _auction;
    uint256 private immutable _marketsSlot;
    uint256 private immutable _clearingsSlot;
    uint256 private immutable _bidTicksSlot;
    uint256 private immutable _askTicksSlot;
    uint256 private immutable _ticksSlot;

    /// @dev Where a market's clearing stands, in one word.
    struct Run {
        Stage stage;
        uint16 tickCount;
        uint16 lowest; // the lowest and highest ticks where the bus can balance (after STEPS)
        uint16 highest;
        uint16 referenceTick; // the balancing tick where most zones are free (after FILLS)
        uint16 busTick; // after POOL
        uint64 zones; // the market's zones, bit z for zone z (the bus is 0)
        uint64 left; // the zones the current stage has still to take
    }

    /// @dev What the stages add up across zones, besides the per-tick lanes.
    struct Sums {
        int256 baseWh; // Σ clamped hi below tick 0
        CoupledClearing.BusSides bus;
        uint256 runningOutWh; // spare room of the zones before the next, each side
        uint256 runningInWh;
        int256 free; // zones free at the lowest balancing tick
        CoupledClearing.Pool pool;
        int256 rentTickWh;
        uint256[4] totals; // Wh bought, what buyers pay, Wh sold, what sellers net
    }

    /// @dev One 64-bit number per tick, four to a word.
    struct Lanes {
        uint256[64] highSteps; // rises of the zones' clamped hi
        uint256[64] positiveSteps; // rises of its positive part
        uint256[64] freeStarts; // zones whose free ticks begin at the tick
        uint256[64] freeEnds; // zones whose free ticks end just before it
        uint256[64] pooledBids; // the free zones' pooled book
        uint256[64] pooledAsks;
    }

    mapping(uint256 period => Run) private _runs;
    mapping(uint256 period => Sums) private _sums;
    // slither-disable-next-line uninitialized-state: written through storage pointers (_addToLane), which Slither does not follow
    mapping(uint256 period => Lanes) private _lanes;
    /// @dev Per book (period << 8 | zone): its ZoneResult (its tick set at PRICES), and its free ticks, fill
    /// limits and role, 16 bits each from the low bits up.
    mapping(uint256 book => uint256[2]) private _zoneWords;
    /// @dev Per book: the zone's link limits in Wh as they were at the run's first step, import in the low
    /// 128 bits and export above (NO_LIMIT for none). Every later step reads these, so that nothing set after
    /// the run began reaches it.
    mapping(uint256 book => uint256) private _frozenLimits;

    constructor(IMarketZones marketZones_) {
        if (address(marketZones_) == address(0)) revert ZeroAddress();
        _marketZones = marketZones_;
        _auction = marketZones_.auction();
        IEnergyAuction.BookSlots memory slots = IEnergyAuction(_auction).bookSlots();
        (_marketsSlot, _clearingsSlot, _bidTicksSlot, _askTicksSlot, _ticksSlot) =
            (slots.markets, slots.clearings, slots.bidTicks, slots.askTicks, slots.ticks);
    }

    // ---- Steps ----

    /// @inheritdoc ISteppedClearing
    function step(uint256 period, uint256 maxTicks) external returns (bool finished) {
        Run memory run = _runs[period];
        if (run.stage == Stage.FINISHED) revert StepsFinished(period);
        // The auction may have cleared the market itself meanwhile, in one transaction; a cleared market
        // has a price, and every price of the grid is above zero.
        uint256 clearing = uint256(AuctionSlots.load(_auction, AuctionSlots.slotOf(period, _clearingsSlot)));
        if (uint80(clearing >> 48) != 0) revert MarketAlreadyCleared(period);
        if (run.stage == Stage.NONE) run = _begin(period);
        (uint256 batchBits, uint256[] memory zones, ZoneBook[] memory books) = _batch(period, run, maxTicks);
        Sums storage sums = _sums[period];
        if (run.stage == Stage.STEPS) _stepSteps(period, run, books, sums);
        else if (run.stage == Stage.FILLS) _stepFills(period, run, zones, books, sums);
        else if (run.stage == Stage.POOL) _stepPool(period, run, zones, books, sums);
        else _stepPrices(period, run, zones, books, sums);
        run.left &= uint64(~batchBits);
        if (run.left == 0) _nextStage(period, run, sums);
        _runs[period] = run;
        emit ClearingStepped(period, run.stage, BitMath.popCount(run.left), msg.sender);
        return run.stage == Stage.FINISHED;
    }

    /// @dev Starts a market's run once its books can no longer change, and freezes the limits of its zones'
    /// links as they are now: the run's inputs are all fixed at its first step.
    function _begin(uint256 period) private returns (Run memory run) {
        uint256 opensAt = IMeteredMarket(_auction).clearingTime(period);
        if (block.timestamp < opensAt) revert StepsNotOpen(period, opensAt);
        uint256 zones = _marketZones.zonesOf(period);
        if (zones == 0) revert NoZonedOrders(period);
        run.stage = Stage.STEPS;
        run.tickCount = uint16(uint256(AuctionSlots.load(_auction, AuctionSlots.slotOf(period, _marketsSlot))) >> 32);
        (run.zones, run.left) = (uint64(zones), uint64(zones));
        // The bus (bit 0) has no link.
        for (uint256 bits = zones & ~uint256(1); bits != 0; bits &= bits - 1) {
            uint256 zone = BitMath.lowestBit(bits);
            // slither-disable-next-line calls-loop: MarketZones is fixed at construction; one view call per zone, at a run's first step
            IMarketZones.LinkLimits memory limits = _marketZones.linkLimitsWh(zone, period);
            _frozenLimits[AuctionSlots.bookKey(period, zone)] = limits.importWh | (limits.exportWh << 128);
        }
    }

    /// @dev The stage's next zones, lowest first, while their occupied ticks add up to at most `maxTicks`
    /// (and at least one zone), with their books as clearing reads them. At POOL only the free zones'
    /// levels are walked, so only theirs are read.
    function _batch(uint256 period, Run memory run, uint256 maxTicks)
        private
        view
        returns (uint256 batchBits, uint256[] memory zones, ZoneBook[] memory books)
    {
        if (maxTicks > MAX_STEP_TICKS) maxTicks = MAX_STEP_TICKS;
        uint256[] memory candidates = AuctionSlots.zonesIn(run.left);
        bytes32[] memory slots = new bytes32[](2 * candidates.length);
        for (uint256 i; i < candidates.length; ++i) {
            uint256 book = AuctionSlots.bookKey(period, candidates[i]);
            (slots[2 * i], slots[2 * i + 1]) = (AuctionSlots.slotOf(book, _bidTicksSlot), AuctionSlots.slotOf(book, _askTicksSlot));
        }
        bytes32[] memory words = IEnergyAuction(_auction).extsload(slots);
        uint256 count = 0;
        uint256 ticks = 0;
        while (count < candidates.length) {
            ticks += BitMath.popCount(uint256(words[2 * count]) | uint256(words[2 * count + 1]));
            if (count != 0 && ticks > maxTicks) break;
            ++count;
        }
        zones = new uint256[](count);
        books = new ZoneBook[](count);
        uint256[] memory occupied = new uint256[](count);
        for (uint256 z; z < count; ++z) {
            zones[z] = candidates[z];
            batchBits |= 1 << zones[z];
            (books[z].importLimitWh, books[z].exportLimitWh) = _limitsWh(zones[z], period);
            occupied[z] = uint256(words[2 * z]) | uint256(words[2 * z + 1]);
            if (run.stage == Stage.POOL && _role(period, zones[z], books[z], run) != 0) occupied[z] = 0;
        }
        uint256[][] memory levels = AuctionSlots.readLevels(_auction, _ticksSlot, period, zones, occupied);
        for (uint256 z; z < count; ++z) {
            books[z].levels = levels[z];
        }
    }

    /// @dev STEPS: adds each zone's rises of its clamped hi, and of that value's positive part, to the lanes.
    function _stepSteps(uint256 period, Run memory run, ZoneBook[] memory books, Sums storage sums) private {
        int256[] memory highSteps = new int256[](run.tickCount);
        int256[] memory positiveSteps = new int256[](run.tickCount);
        (uint256 highBits, uint256 positiveBits) = (0, 0);
        int256 baseWh = sums.baseWh;
        for (uint256 z; z < books.length; ++z) {
            (uint256 bidWh, int256 zoneBaseWh, uint256 bits) = CoupledClearing.addSteps(books[z], highSteps, highBits);
            highBits = bits;
            baseWh += zoneBaseWh;
            positiveBits = CoupledClearing.addPositiveSteps(books[z], bidWh, positiveSteps, positiveBits);
        }
        sums.baseWh = baseWh;
        Lanes storage lanes = _lanes[period];
        _addToLanes(lanes.highSteps, highSteps, highBits);
        _addToLanes(lanes.positiveSteps, positiveSteps, positiveBits);
    }

    /// @dev What FILLS carries from zone to zone within a step.
    struct FillTally {
        uint256 runningOutWh;
        uint256 runningInWh;
        int256[] changes;
        uint256 changeBits;
        int256 free;
    }

    /// @dev FILLS: each zone's net export from its share of the bus's trade, its fills, and where its free
    /// ticks begin and end among the balancing ticks.
    function _stepFills(uint256 period, Run memory run, uint256[] memory zones, ZoneBook[] memory books, Sums storage sums)
        private
    {
        CoupledClearing.BusSides memory bus = sums.bus;
        FillTally memory tally = FillTally(sums.runningOutWh, sums.runningInWh, new int256[](uint256(run.highest) + 1), 0, sums.free);
        for (uint256 z; z < books.length; ++z) {
            _fillZone(_zoneWords[AuctionSlots.bookKey(period, zones[z])], books[z], run, bus, tally);
        }
        (sums.runningOutWh, sums.runningInWh, sums.free) = (tally.runningOutWh, tally.runningInWh, tally.free);
        Lanes storage lanes = _lanes[period];
        for (uint256 bits = tally.changeBits; bits != 0; bits &= bits - 1) {
            uint256 tick = BitMath.lowestBit(bits);
            int256 change = tally.changes[tick];
            if (change > 0) _addToLane(lanes.freeStarts, tick, uint256(change));
            else if (change < 0) _addToLane(lanes.freeEnds, tick, uint256(-change));
        }
    }

    /// @dev One zone at FILLS; keeps its result and work in `words`.
    function _fillZone(
        uint256[2] storage words,
        ZoneBook memory book,
        Run memory run,
        CoupledClearing.BusSides memory bus,
        FillTally memory tally
    ) private {
        // slither-disable-next-line uninitialized-local: a zone's work starts at zero, as in CoupledClearing.clear
        CoupledClearing.Work memory w;
        // slither-disable-next-line uninitialized-local: and so does its result
        ZoneClearing memory r;
        w.bidWh = CoupledClearing.bidsWh(book.levels);
        (w.lowWh, w.highWh) = CoupledClearing.sidesAt(book, w.bidWh, run.lowest);
        (r.netExportWh, tally.runningOutWh, tally.runningInWh) =
            CoupledClearing.netExport(bus, w, tally.runningOutWh, tally.runningInWh);
        CoupledClearing.fill(book.levels, w, r, run.tickCount);
        (tally.changeBits, tally.free) =
            CoupledClearing.addFreeTicks(w, run.lowest, run.highest, tally.changes, tally.changeBits, tally.free);
        words[0] = ZoneResult.unwrap(ZoneResultLibrary.pack(r));
        words[1] = w.firstFreeTick | (w.lastFreeTick << 16) | (w.askLimitTick << 32) | (w.bidLimitTick << 48);
    }

    /// @dev POOL: each zone's role, and the pool the bus's price is chosen from.
    function _stepPool(uint256 period, Run memory run, uint256[] memory zones, ZoneBook[] memory books, Sums storage sums)
        private
    {
        CoupledClearing.Pool memory pool = sums.pool;
        uint256 occupiedBefore = pool.occupied;
        pool.occupied = 0;
        uint256[] memory pooledAt = new uint256[](run.tickCount);
        for (uint256 z; z < books.length; ++z) {
            uint256[2] storage words = _zoneWords[AuctionSlots.bookKey(period, zones[z])];
            CoupledClearing.Work memory w = _work(words[1]);
            CoupledClearing.setRole(w, books[z], run.referenceTick);
            words[1] |= uint256(w.role) << 64;
            CoupledClearing.addToPool(pool, pooledAt, books[z].levels, w, ZoneResult.wrap(words[0]).netExportWh());
        }
        Lanes storage lanes = _lanes[period];
        for (uint256 bits = pool.occupied; bits != 0; bits &= bits - 1) {
            uint256 tick = BitMath.lowestBit(bits);
            _addToLane(lanes.pooledBids, tick, uint64(pooledAt[tick] >> 8));
            _addToLane(lanes.pooledAsks, tick, pooledAt[tick] >> 72);
        }
        pool.occupied |= occupiedBefore;
        sums.pool = pool;
    }

    /// @dev PRICES: each bound zone's price and its part of the rent, and every zone's fills valued.
    function _stepPrices(uint256 period, Run memory run, uint256[] memory zones, ZoneBook[] memory books, Sums storage sums)
        private
    {
        bytes32[] memory slots = new bytes32[](2);
        (slots[0], slots[1]) = (AuctionSlots.slotOf(period, _marketsSlot), AuctionSlots.slotOf(period, _clearingsSlot));
        bytes32[] memory words = IEnergyAuction(_auction).extsload(slots);
        // The grid's lowest price and tick size, and the market's fee rate.
        uint256[3] memory terms =
            [uint256(uint80(uint256(words[0]) >> 48)), uint80(uint256(words[0]) >> 128), uint16(uint256(words[1]) >> 32)];
        uint256[4] memory totals = sums.totals;
        int256 rentTickWh = sums.rentTickWh;
        for (uint256 z; z < books.length; ++z) {
            rentTickWh += _priceZone(_zoneWords[AuctionSlots.bookKey(period, zones[z])], books[z], run.busTick, terms, totals);
        }
        (sums.totals, sums.rentTickWh) = (totals, rentTickWh);
    }

    /// @dev One zone at PRICES: its price, its fills valued into `totals`; returns its part of the rent.
    function _priceZone(
        uint256[2] storage words,
        ZoneBook memory book,
        uint256 busTick,
        uint256[3] memory terms,
        uint256[4] memory totals
    ) private returns (int256 rentTickWh) {
        ZoneClearing memory r = ZoneResult.wrap(words[0]).unpack();
        rentTickWh = CoupledClearing.zoneTick(book.levels, _work(words[1]), r, busTick);
        CoupledClearing.addFillValues(totals, book.levels, r, terms[0] + r.tick * terms[1], terms[2]);
        words[0] = ZoneResult.unwrap(ZoneResultLibrary.pack(r));
    }

    /// @dev After a stage's last zone: what its sums decide, and the next stage over every zone again.
    function _nextStage(uint256 period, Run memory run, Sums storage sums) private {
        Lanes storage lanes = _lanes[period];
        uint256 tickCount = run.tickCount;
        if (run.stage == Stage.STEPS) {
            (int256[] memory highSteps, uint256 highBits) = _readLanes(lanes.highSteps, tickCount);
            int256 baseWh = sums.baseWh;
            (uint256 lowest, uint256 highest) = CoupledClearing.balancingTicks(highSteps, highBits, baseWh, tickCount);
            (run.lowest, run.highest) = (uint16(lowest), uint16(highest));
            (int256[] memory positiveSteps,) = _readLanes(lanes.positiveSteps, tickCount);
            // The sums of the clamped hi (H) and of its positive part (P) below and at the lowest tick; a
            // zone's clamped lo there is its clamped hi one tick below.
            int256 highBefore = baseWh;
            int256 positiveBefore = 0;
            for (uint256 t; t < lowest; ++t) {
                highBefore += highSteps[t];
                positiveBefore += positiveSteps[t];
            }
            int256 highAt = highBefore + highSteps[lowest];
            int256 positiveAt = positiveBefore + positiveSteps[lowest];
            sums.bus = CoupledClearing.BusSides({
                forcedOutWh: uint256(positiveBefore),
                canOutWh: uint256(positiveAt),
                forcedInWh: uint256(positiveAt - highAt),
                canInWh: uint256(positiveBefore - highBefore)
            });
            run.stage = Stage.FILLS;
        } else if (run.stage == Stage.FILLS) {
            uint256 highest = run.highest;
            int256[] memory changes = new int256[](highest + 1);
            uint256 changeBits = 0;
            for (uint256 t = uint256(run.lowest) + 1; t <= highest; ++t) {
                changes[t] = int256(_lane(lanes.freeStarts, t)) - int256(_lane(lanes.freeEnds, t));
                if (changes[t] != 0) changeBits |= 1 << t;
            }
            run.referenceTick = uint16(CoupledClearing.referenceTickOf(changes, changeBits, sums.free, run.lowest));
            sums.pool = CoupledClearing.newPool(tickCount);
            run.stage = Stage.POOL;
        } else if (run.stage == Stage.POOL) {
            CoupledClearing.Pool memory pool = sums.pool;
            uint256[] memory pooledAt = new uint256[](tickCount);
            for (uint256 bits = pool.occupied; bits != 0; bits &= bits - 1) {
                uint256 tick = BitMath.lowestBit(bits);
                pooledAt[tick] = (_lane(lanes.pooledBids, tick) << 8) | (_lane(lanes.pooledAsks, tick) << 72);
            }
            run.busTick = uint16(CoupledClearing.busTickOf(pool, pooledAt));
            run.stage = Stage.PRICES;
        } else {
            run.stage = Stage.FINISHED;
            return;
        }
        run.left = run.zones;
    }

    // ---- Views ----

    /// @inheritdoc ISteppedClearing
    function stageOf(uint256 period) external view returns (Stage stage, uint256 zonesLeft) {
        Run memory run = _runs[period];
        return (run.stage, BitMath.popCount(run.left));
    }

    /// @inheritdoc ISteppedClearing
    function result(uint256 period) external view returns (IMarketZones.CoupledResult memory r) {
        Run memory run = _runs[period];
        if (run.stage != Stage.FINISHED) revert StepsNotFinished(period);
        Sums storage sums = _sums[period];
        r.busTick = run.busTick;
        r.zones = AuctionSlots.zonesIn(run.zones);
        r.zoneResults = new uint256[](r.zones.length);
        for (uint256 z; z < r.zones.length; ++z) {
            r.zoneResults[z] = _zoneWords[AuctionSlots.bookKey(period, r.zones[z])][0];
        }
        bool balanced;
        (r.boughtWh, r.soldWh, r.surplus, balanced) = CoupledClearing.totalsOf(sums.totals);
        if (!balanced) revert StepsUnbalanced(period);
        r.rentTickWh = uint256(sums.rentTickWh);
        uint256 market = uint256(AuctionSlots.load(_auction, AuctionSlots.slotOf(period, _marketsSlot)));
        r.congestionRent = r.rentTickWh * uint80(market >> 128) / OrderMath.WH_PER_KWH;
    }

    /// @inheritdoc ISteppedClearing
    function marketZones() external view returns (IMarketZones) {
        return _marketZones;
    }

    // ---- Internals ----

    /// @dev A zone's role at POOL, from what FILLS kept and the reference tick (0 is free).
    function _role(uint256 period, uint256 zone, ZoneBook memory book, Run memory run) private view returns (uint8) {
        CoupledClearing.Work memory w = _work(_zoneWords[AuctionSlots.bookKey(period, zone)][1]);
        CoupledClearing.setRole(w, book, run.referenceTick);
        return w.role;
    }

    /// @dev What the stages kept of a zone's work: its free ticks, fill limits and role.
    function _work(uint256 word) private pure returns (CoupledClearing.Work memory w) {
        (w.firstFreeTick, w.lastFreeTick) = (uint16(word), uint16(word >> 16));
        (w.askLimitTick, w.bidLimitTick, w.role) = (uint16(word >> 32), uint16(word >> 48), uint8(word >> 64));
    }

    /// @dev A zone's link limits for the run, in Wh, as clearing reads them: those frozen at its first step.
    function _limitsWh(uint256 zone, uint256 period) private view returns (int256 importWh, int256 exportWh) {
        if (zone == 0) return (CoupledClearing.UNLIMITED, CoupledClearing.UNLIMITED);
        uint256 word = _frozenLimits[AuctionSlots.bookKey(period, zone)];
        (uint256 importLimitWh, uint256 exportLimitWh) = (uint128(word), word >> 128);
        uint256 noLimit = type(uint64).max;
        importWh = importLimitWh == noLimit ? CoupledClearing.UNLIMITED : int256(importLimitWh);
        exportWh = exportLimitWh == noLimit ? CoupledClearing.UNLIMITED : int256(exportLimitWh);
    }

    /// @dev Adds `values` at the ticks `bits` to their lanes.
    function _addToLanes(uint256[64] storage words, int256[] memory values, uint256 bits) private {
        for (; bits != 0; bits &= bits - 1) {
            uint256 tick = BitMath.lowestBit(bits);
            _addToLane(words, tick, uint256(values[tick]));
        }
    }

    function _addToLane(uint256[64] storage words, uint256 tick, uint256 value) private {
        words[tick >> 2] += value << ((tick & 3) * LANE_BITS);
    }

    function _lane(uint256[64] storage words, uint256 tick) private view returns (uint256) {
        return uint64(words[tick >> 2] >> ((tick & 3) * LANE_BITS));
    }

    /// @dev The lanes of the grid's first `tickCount` ticks, with the ticks that hold a number set.
    function _readLanes(uint256[64] storage words, uint256 tickCount) private view returns (int256[] memory values, uint256 bits) {
        values = new int256[](tickCount);
        for (uint256 w; w * 4 < tickCount; ++w) {
            uint256 word = words[w];
            if (word == 0) continue;
            for (uint256 lane; lane < 4 && w * 4 + lane < tickCount; ++lane) {
                uint256 value = uint64(word >> (lane * LANE_BITS));
                if (value == 0) continue;
                values[w * 4 + lane] = int256(value);
                bits |= 1 << (w * 4 + lane);
            }
        }
    }
}
