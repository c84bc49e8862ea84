// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMarketZones} from "./IMarketZones.sol";
import {IMeteredMarket} from "../metering/IMeteredMarket.sol";
import {ISteppedClearing} from "./ISteppedClearing.sol";
import {ZeroAddress} from "../utils/GridErrors.sol";
import {BitMath} from "../utils/BitMath.sol";
import {AuctionState} from "./auction/AuctionState.sol";
import {ClearingTerms, CoupledClearing, ZoneBook, ZoneClearing} from "./auction/CoupledClearing.sol";
import {ZoneResult, ZoneResultLibrary} from "../types/ZoneResult.sol";

/// @title SteppedClearing
/// @notice Clears a coupled market in steps when its zones' occupied ticks are too many for one
/// transaction: at the maximum of 34 zones with all 256 ticks of each occupied, reading every tick once
/// costs more than a block holds. The coupled rule runs in two stages over one set of sums
/// (CoupledClearing.Sums), each a walk over each zone's levels that adds to the sums, then one look at them;
/// here each step walks a batch of zones and the sums wait in storage for the next batch, so the result is
/// the one-transaction clearing's however the steps are cut.
/// @dev Storage per market: the run's stage and ticks, the sums' numbers, two arrays of 64 words that hold
/// the steps' per-tick sums as one 64-bit number per tick, and one word per zone (its ZoneResult). Every
/// number kept in a 64-bit lane is a sum of at most 35 zones' rises, each at most a zone's volume of at
/// most 2^49 Wh (256 ticks × 2 sides × 10^12 Wh), so it stays below 2^55.
contract SteppedClearing is ISteppedClearing {
    using ZoneResultLibrary for ZoneResult;

    /// @notice The most occupied ticks one step reads, each once, with every walk of its stage.
    uint256 public constant MAX_STEP_TICKS = 2_560;

    uint256 private constant LANE_BITS = 64;

    IMarketZones private immutable _marketZones;
    address private immutable _auction;

    /// @dev Where a market's clearing stands, in one word.
    struct Run {
        Stage stage;
        uint16 tickCount;
        uint16 lowest; // the lowest balancing tick (after STEPS)
        uint16 busTick; // the middle of the balancing ticks (after STEPS)
        uint64 zones; // the market's zones, bit z for zone z (the bus is 0)
        uint64 left; // the zones the current stage has still to take
    }

    /// @dev The numbers of a market's CoupledClearing.Sums, kept between steps.
    struct Kept {
        int256 baseWh;
        uint256 stepBits;
        CoupledClearing.BusSides bus;
        uint256 runningOutWh;
        uint256 runningInWh;
        int256 rentTickWh;
        uint256[4] totals;
    }

    /// @dev The steps' per-tick sums, one 64-bit number per tick, four to a word.
    struct Lanes {
        uint256[64] highSteps;
        uint256[64] positiveSteps;
    }

    mapping(uint256 period => Run) private _runs;
    mapping(uint256 period => Kept) private _kept;
    // slither-disable-next-line uninitialized-state: written through storage pointers (_addToLane), which Slither does not follow
    mapping(uint256 period => Lanes) private _lanes;
    /// @dev Per book (period << 8 | zone): the zone's ZoneResult, written at ZONES.
    mapping(uint256 book => uint256) private _zoneResults;
    /// @dev Per book: the zone's link limits in Wh as they were at the run's first step, import in the low
    /// 128 bits and export above (NO_LIMIT for none). Every later step reads these, so that nothing set after
    /// the run began reaches it.
    mapping(uint256 book => uint256) private _frozenLimits;

    constructor(IMarketZones marketZones_) {
        if (address(marketZones_) == address(0)) revert ZeroAddress();
        _marketZones = marketZones_;
        _auction = marketZones_.auction();
    }

    // ---- Steps ----

    /// @inheritdoc ISteppedClearing
    // slither-disable-next-line reentrancy-no-eth,reentrancy-benign,reentrancy-events: the calls before the writes go to the market's own MarketZones (fixed at construction: beginSteps, a view of limits) and its auction's views
    function step(uint256 period, uint256 maxTicks) external returns (bool finished) {
        Run memory run = _runs[period];
        if (run.stage == Stage.FINISHED) revert StepsFinished(period);
        // The auction may have cleared the market itself meanwhile, in one transaction.
        if (AuctionState.isCleared(_auction, period)) revert MarketAlreadyCleared(period);
        if (run.stage == Stage.NONE) run = _begin(period);
        (uint256 batchBits, uint256[] memory zones, ZoneBook[] memory books) = _batch(period, run, maxTicks);
        run.left &= uint64(~batchBits);
        if (run.stage == Stage.STEPS) _stepSteps(period, run, books);
        else _stepZones(period, run, zones, books);
        _runs[period] = run;
        emit ClearingStepped(period, run.stage, BitMath.popCount(run.left), msg.sender);
        return run.stage == Stage.FINISHED;
    }

    /// @dev Starts a market's run once its books can no longer change, and freezes the limits of its zones'
    /// links as they are now: the run's inputs are all fixed at its first step.
    // slither-disable-next-line reentrancy-benign: MarketZones is fixed at construction; beginSteps only marks the run begun
    function _begin(uint256 period) private returns (Run memory run) {
        uint256 opensAt = IMeteredMarket(_auction).clearingTime(period);
        if (block.timestamp < opensAt) revert StepsNotOpen(period, opensAt);
        uint256 zones = _marketZones.beginSteps(period);
        if (zones == 0) revert NoZonedOrders(period);
        run.stage = Stage.STEPS;
        run.tickCount = uint16(AuctionState.terms(_auction, period).tickCount);
        (run.zones, run.left) = (uint64(zones), uint64(zones));
        // The bus (bit 0) has no link.
        for (uint256 bits = zones & ~uint256(1); bits != 0; bits &= bits - 1) {
            uint256 zone = BitMath.lowestBit(bits);
            // slither-disable-next-line calls-loop: MarketZones is fixed at construction; one view call per zone, at a run's first step
            IMarketZones.LinkLimits memory limits = _marketZones.linkLimitsWh(zone, period);
            _frozenLimits[AuctionState.bookKey(period, zone)] = limits.importWh | (limits.exportWh << 128);
        }
    }

    /// @dev The stage's next zones, lowest first, while their occupied ticks add up to at most `maxTicks`
    /// (and at least one zone), with their books as clearing reads them.
    function _batch(uint256 period, Run memory run, uint256 maxTicks)
        private
        view
        returns (uint256 batchBits, uint256[] memory zones, ZoneBook[] memory books)
    {
        if (maxTicks > MAX_STEP_TICKS) maxTicks = MAX_STEP_TICKS;
        uint256[] memory candidates = AuctionState.zonesIn(run.left);
        uint256[] memory candidatesOccupied = AuctionState.occupancy(_auction, period, candidates);
        uint256 count = 0;
        uint256 ticks = 0;
        while (count < candidates.length) {
            ticks += BitMath.popCount(candidatesOccupied[count]);
            if (count != 0 && ticks > maxTicks) break;
            ++count;
        }
        zones = new uint256[](count);
        books = new ZoneBook[](count);
        uint256[] memory occupied = new uint256[](count);
        for (uint256 z; z < count; ++z) {
            (zones[z], occupied[z]) = (candidates[z], candidatesOccupied[z]);
            batchBits |= 1 << zones[z];
            (books[z].importLimitWh, books[z].exportLimitWh) = _limitsWh(zones[z], period);
        }
        (uint256[][] memory levels, uint256[] memory bidsWh) = AuctionState.readLevels(_auction, period, zones, occupied);
        for (uint256 z; z < count; ++z) {
            (books[z].levels, books[z].bidWh) = (levels[z], bidsWh[z]);
        }
    }

    /// @dev STEPS: adds the batch's zones to the steps' sums; after the last zone, decides where the bus
    /// balances, its tick and its sides.
    function _stepSteps(uint256 period, Run memory run, ZoneBook[] memory books) private {
        CoupledClearing.Sums memory sums = CoupledClearing.newSums(run.tickCount);
        for (uint256 z; z < books.length; ++z) {
            CoupledClearing.addSteps(sums, books[z]);
        }
        Kept storage kept = _kept[period];
        Lanes storage lanes = _lanes[period];
        _addToLanes(lanes.highSteps, sums.highSteps, sums.stepBits);
        _addToLanes(lanes.positiveSteps, sums.positiveSteps, sums.stepBits);
        (int256 baseWh, uint256 stepBits) = (kept.baseWh + sums.baseWh, kept.stepBits | sums.stepBits);
        (kept.baseWh, kept.stepBits) = (baseWh, stepBits);
        if (run.left != 0) return;
        // Every zone has added its steps: the sums as one transaction would hold them.
        sums = CoupledClearing.newSums(run.tickCount);
        (sums.baseWh, sums.stepBits) = (baseWh, stepBits);
        for (uint256 bits = stepBits; bits != 0; bits &= bits - 1) {
            uint256 tick = BitMath.lowestBit(bits);
            (sums.highSteps[tick], sums.positiveSteps[tick]) = (int256(_lane(lanes.highSteps, tick)), int256(_lane(lanes.positiveSteps, tick)));
        }
        CoupledClearing.closeSteps(sums, run.tickCount);
        kept.bus = sums.bus;
        (run.lowest, run.busTick) = (uint16(sums.lowest), uint16(sums.busTick));
        (run.stage, run.left) = (Stage.ZONES, run.zones);
    }

    /// @dev ZONES: each zone of the batch cleared, in zone order, its result kept; the sums kept for the next.
    function _stepZones(uint256 period, Run memory run, uint256[] memory zones, ZoneBook[] memory books) private {
        Kept storage kept = _kept[period];
        // slither-disable-next-line uninitialized-local: the sums start empty, as CoupledClearing.clear's arrays are not needed here
        CoupledClearing.Sums memory sums;
        (sums.lowest, sums.busTick, sums.bus) = (run.lowest, run.busTick, kept.bus);
        (sums.runningOutWh, sums.runningInWh, sums.rentTickWh, sums.totals) = (kept.runningOutWh, kept.runningInWh, kept.rentTickWh, kept.totals);
        ClearingTerms memory terms = AuctionState.terms(_auction, period);
        for (uint256 z; z < books.length; ++z) {
            ZoneClearing memory r = CoupledClearing.clearZone(sums, books[z], terms);
            _zoneResults[AuctionState.bookKey(period, zones[z])] = ZoneResult.unwrap(ZoneResultLibrary.pack(r));
        }
        (kept.runningOutWh, kept.runningInWh, kept.rentTickWh, kept.totals) = (sums.runningOutWh, sums.runningInWh, sums.rentTickWh, sums.totals);
        if (run.left == 0) run.stage = Stage.FINISHED;
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
        Kept storage kept = _kept[period];
        // slither-disable-next-line uninitialized-local: only the numbers a result reads are set
        CoupledClearing.Sums memory sums;
        (sums.busTick, sums.rentTickWh, sums.totals) = (run.busTick, kept.rentTickWh, kept.totals);
        bool balanced;
        (r, balanced) = CoupledClearing.resultOf(sums, AuctionState.terms(_auction, period).tickSizePerKWh);
        if (!balanced) revert StepsUnbalanced(period);
        r.zones = AuctionState.zonesIn(run.zones);
        r.zoneResults = new uint256[](r.zones.length);
        for (uint256 z; z < r.zones.length; ++z) {
            r.zoneResults[z] = _zoneResults[AuctionState.bookKey(period, r.zones[z])];
        }
    }

    /// @inheritdoc ISteppedClearing
    function marketZones() external view returns (IMarketZones) {
        return _marketZones;
    }

    // ---- Internals ----

    /// @dev A zone's link limits for the run, in Wh, as clearing reads them: those frozen at its first step.
    function _limitsWh(uint256 zone, uint256 period) private view returns (int256 importWh, int256 exportWh) {
        if (zone == 0) return (CoupledClearing.UNLIMITED, CoupledClearing.UNLIMITED);
        uint256 word = _frozenLimits[AuctionState.bookKey(period, zone)];
        (uint256 importLimitWh, uint256 exportLimitWh) = (uint128(word), word >> 128);
        uint256 noLimit = type(uint64).max;
        importWh = importLimitWh == noLimit ? CoupledClearing.UNLIMITED : int256(importLimitWh);
        exportWh = exportLimitWh == noLimit ? CoupledClearing.UNLIMITED : int256(exportLimitWh);
    }

    /// @dev Adds `values` at the ticks `bits` to their lanes.
    function _addToLanes(uint256[64] storage words, int256[] memory values, uint256 bits) private {
        for (; bits != 0; bits &= bits - 1) {
            uint256 tick = BitMath.lowestBit(bits);
            if (values[tick] != 0) words[tick >> 2] += uint256(values[tick]) << ((tick & 3) * LANE_BITS);
        }
    }

    function _lane(uint256[64] storage words, uint256 tick) private view returns (uint256) {
        return uint64(words[tick >> 2] >> ((tick & 3) * LANE_BITS));
    }
}
