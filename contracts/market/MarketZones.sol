// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {IEnergyAuctionExtension} from "./IEnergyAuctionExtension.sol";
import {IMarketZones} from "./IMarketZones.sol";
import {ISteppedClearing} from "./ISteppedClearing.sol";
import {IGridManagement} from "../grid/IGridManagement.sol";
import {IGridOperations} from "../grid/IGridOperations.sol";
import {OperatorNotAuthorized, PeriodOutOfRange, ZeroAddress} from "../utils/GridErrors.sol";
import {AuctionState} from "./auction/AuctionState.sol";
import {MarketTime} from "./auction/MarketTime.sol";
import {ClearingTerms, CoupledClearing, ZoneBook, ZoneClearing} from "./auction/CoupledClearing.sol";
import {ZoneResult, ZoneResultLibrary} from "../types/ZoneResult.sol";

/// @title MarketZones
/// @notice This contract holds an interval market's zones, their links' limits and the rule that
/// clears the market across them (CoupledClearing). The auction hands it each zone's occupied ticks at
/// clearing and stores what it returns. Anyone may call `clearZones` to see how a market would clear.
/// @dev The rating of each link is kept as a history keyed by the first period it applies to (OpenZeppelin
/// Checkpoints), so that a new rating reaches only periods whose gate is still open. An operator's lower
/// limits are kept per period. Both sides of a link share the rating, since a transformer carries its
/// rated power either way.
contract MarketZones is AccessControl, IMarketZones {
    using Checkpoints for Checkpoints.Trace208;

    /// @notice The most zones a market couples, besides the bus. A market clears in one transaction, and
    /// its work grows with its zones' occupied ticks.
    uint256 public constant MAX_ZONES = 34;
    /// @notice The most periods one setLinkLimits call covers: a day of 15-minute periods.
    uint256 public constant MAX_LIMIT_PERIODS = 96;
    /// @notice A limit or rating that does not limit, kW.
    uint256 public constant NO_LIMIT = type(uint64).max;

    IGridManagement private immutable _gridManagement;
    IGridOperations private immutable _gridOperations;
    address private immutable _auction;
    uint256 private immutable _periodLength;
    uint256 private immutable _gateClosure;

    uint32[] private _regions;
    mapping(uint32 regionId => uint256) private _zones;
    mapping(uint256 zone => Checkpoints.Trace208) private _ratings;
    /// @dev Each zone's last rating checkpoint, a copy of the trace's last, in a word of its own: clearing
    /// nearly always asks for the latest rating, and then reads one word instead of the trace's length
    /// and its checkpoint.
    mapping(uint256 zone => Checkpoints.Checkpoint208) private _latestRatings;
    /// @dev An operator's limits for one period: the import limit plus one in the low 128 bits and the
    /// export limit plus one above, so that zero means "not set".
    mapping(uint256 periodAndZone => uint256) private _limits;
    ISteppedClearing private _stepped;
    /// @dev The periods whose steps have begun: only their clearing can have a stepped result.
    mapping(uint256 period => bool) private _stepsBegun;

    /// @param auction_ The market whose zones these are; its period length and gate closure apply.
    constructor(address admin, address auction_, IGridManagement gridManagement_, IGridOperations gridOperations_) {
        if (
            admin == address(0) || auction_ == address(0) || address(gridManagement_) == address(0)
                || address(gridOperations_) == address(0)
        ) revert ZeroAddress();
        _auction = auction_;
        _gridManagement = gridManagement_;
        _gridOperations = gridOperations_;
        _periodLength = IEnergyAuctionExtension(auction_).periodLength();
        _gateClosure = IEnergyAuctionExtension(auction_).gateClosure();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---- Zones ----

    /// @inheritdoc IMarketZones
    function addZone(uint32 regionId) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 zone) {
        if (regionId == 0) revert RegionZeroIsTheBus();
        uint256 existing = _zones[regionId];
        if (existing != 0) revert ZoneExists(regionId, existing);
        if (_regions.length == MAX_ZONES) revert TooManyZones(MAX_ZONES);
        _regions.push(regionId);
        zone = _regions.length;
        _zones[regionId] = zone;
        uint256 rating = _reportedRatingKW(regionId);
        _pushRating(zone, 0, rating);
        emit ZoneAdded(regionId, zone, rating);
    }

    /// @inheritdoc IMarketZones
    function syncRating(uint32 regionId) external {
        uint256 zone = _zoneOf(regionId);
        uint256 rating = _reportedRatingKW(regionId);
        uint256 fromPeriod = _firstOpenPeriod();
        _pushRating(zone, fromPeriod, rating);
        emit ZoneRatingUpdated(regionId, rating, fromPeriod);
    }

    /// @inheritdoc IMarketZones
    function setLinkLimits(
        uint32 regionId,
        uint256 firstPeriod,
        uint256 periodCount,
        uint256 importLimitKW,
        uint256 exportLimitKW
    ) external {
        (bool authorized, uint32 operatorRegionId) = _gridManagement.operatorStatus(msg.sender);
        if (!authorized) revert OperatorNotAuthorized(msg.sender);
        if (operatorRegionId != regionId) revert NotRegionOperator(msg.sender, regionId);
        uint256 zone = _zoneOf(regionId);
        if (periodCount == 0 || periodCount > MAX_LIMIT_PERIODS) revert InvalidPeriodCount(periodCount, MAX_LIMIT_PERIODS);
        if (importLimitKW > NO_LIMIT) revert LimitOutOfRange(importLimitKW, NO_LIMIT);
        if (exportLimitKW > NO_LIMIT) revert LimitOutOfRange(exportLimitKW, NO_LIMIT);
        _checkOpenPeriods(firstPeriod, periodCount);
        uint256 word = (importLimitKW + 1) | ((exportLimitKW + 1) << 128);
        for (uint256 i; i < periodCount; ++i) {
            _limits[AuctionState.bookKey(firstPeriod + i, zone)] = word;
        }
        emit LinkLimitsSet(regionId, firstPeriod, periodCount, importLimitKW, exportLimitKW, msg.sender);
    }

    /// @inheritdoc IMarketZones
    function setSteppedClearing(address stepped) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(_stepped) != address(0)) revert SteppedClearingAlreadySet(address(_stepped));
        address itsZones = address(ISteppedClearing(stepped).marketZones());
        if (itsZones != address(this)) revert SteppedClearingMismatch(stepped, itsZones);
        _stepped = ISteppedClearing(stepped);
        emit SteppedClearingSet(stepped);
    }

    /// @inheritdoc IMarketZones
    function beginSteps(uint256 period) external returns (uint256 zonesBits) {
        if (msg.sender != address(_stepped)) revert NotSteppedClearing(msg.sender);
        _stepsBegun[period] = true;
        return zonesOf(period);
    }

    // ---- Clearing ----

    /// @inheritdoc IMarketZones
    function clearMarket(uint256 period) external view returns (CoupledResult memory) {
        // A cleared market's occupancy words hold its zones' results, so its books cannot be read again.
        if (AuctionState.isCleared(_auction, period)) revert MarketAlreadyCleared(period);
        // slither-disable-next-line uninitialized-local: _clearMarket fills it
        ClearingTerms memory terms;
        return _clearMarket(period, terms);
    }

    /// @dev Clears the market of `period` as clearMarket does, filling `terms` with the market's terms.
    function _clearMarket(uint256 period, ClearingTerms memory terms) private view returns (CoupledResult memory result) {
        (ClearingTerms memory read, uint256 zonesBits) = AuctionState.clearingInputs(_auction, period);
        (terms.minPricePerKWh, terms.tickSizePerKWh, terms.tickCount, terms.feeBps) =
            (read.minPricePerKWh, read.tickSizePerKWh, read.tickCount, read.feeBps);
        (uint256[] memory zones, ZoneBook[] memory books) = _readBooks(period, zonesBits);
        (CoupledClearing.Sums memory sums, ZoneClearing[] memory cleared) = CoupledClearing.clear(books, terms);
        uint256[] memory zoneResults = new uint256[](books.length);
        for (uint256 z; z < books.length; ++z) {
            zoneResults[z] = ZoneResult.unwrap(ZoneResultLibrary.pack(cleared[z]));
        }
        bool balanced;
        (result, balanced) = CoupledClearing.resultOf(sums, terms.tickSizePerKWh);
        (result.zones, result.zoneResults) = (zones, zoneResults);
        if (!balanced || !ZoneResultLibrary.netExportsBalance(zoneResults)) revert ClearingUnbalanced(period);
    }

    /// @inheritdoc IMarketZones
    function recordClearing(uint256 period) external returns (CoupledResult memory r) {
        if (msg.sender != _auction) revert NotAuction(msg.sender);
        r = _steppedResult(period);
        // slither-disable-next-line uninitialized-local: set below, by the clearing or from the auction
        ClearingTerms memory terms;
        if (r.zones.length == 0) r = _clearMarket(period, terms);
        else terms = AuctionState.terms(_auction, period);
        for (uint256 i; i < r.zones.length; ++i) {
            ZoneResult result = ZoneResult.wrap(r.zoneResults[i]);
            uint256 pricePerKWh = terms.minPricePerKWh + result.tick() * terms.tickSizePerKWh;
            emit ZoneCleared(period, r.zones[i], result.role(), result.tick(), pricePerKWh, result.netExportWh());
        }
        emit CongestionRentAccrued(period, r.congestionRent);
    }

    // ---- Views ----

    /// @inheritdoc IMarketZones
    function sideResult(uint256 period, uint256 zone, bool isBid)
        external
        view
        returns (uint256 clearingTick, uint256 marginalTick, uint256 rationedWh, uint256 levelWh)
    {
        ZoneResult result = _recorded(period, zone);
        clearingTick = result.tick();
        (marginalTick, rationedWh, levelWh) = result.marginal(isBid);
    }

    /// @inheritdoc IMarketZones
    function zonesOf(uint256 period) public view returns (uint256 zonesBits) {
        zonesBits = AuctionState.zonesOf(_auction, period);
        if (zonesBits != 0 && _busOccupied(period) != 0) zonesBits |= 1;
    }

    /// @inheritdoc IMarketZones
    function getZoneResult(uint256 period, uint256 zone) external view returns (ZoneInfo memory info) {
        ZoneResult result = _recorded(period, zone);
        ClearingTerms memory terms = AuctionState.terms(_auction, period);
        info.clearingTick = result.tick();
        info.clearingPricePerKWh = terms.minPricePerKWh + info.clearingTick * terms.tickSizePerKWh;
        info.role = result.role();
        info.netExportWh = result.netExportWh();
        (info.bidMarginalTick, info.bidRationedWh, info.bidLevelWh) = result.marginal(true);
        (info.askMarginalTick, info.askRationedWh, info.askLevelWh) = result.marginal(false);
    }

    /// @inheritdoc IMarketZones
    function getZoneTickVolumes(uint256 period, uint256 zone)
        external
        view
        returns (uint256[] memory bidVolumesWh, uint256[] memory askVolumesWh)
    {
        uint256 n = AuctionState.terms(_auction, period).tickCount;
        if (n == 0) n = IEnergyAuctionExtension(_auction).tickCount();
        bidVolumesWh = new uint256[](n);
        askVolumesWh = new uint256[](n);
        uint256[] memory zones = new uint256[](1);
        zones[0] = zone;
        // A cleared market's occupancy words hold its zones' results, so every tick of its grid is read.
        uint256[] memory occupied = new uint256[](1);
        occupied[0] = AuctionState.isCleared(_auction, period) ? AuctionState.everyTick(n) : AuctionState.occupancy(_auction, period, zones)[0];
        // slither-disable-next-line unused-return: the volumes are read off the levels, not the bids' total
        (uint256[][] memory read,) = AuctionState.readLevels(_auction, period, zones, occupied);
        uint256[] memory levels = read[0];
        for (uint256 j; j < levels.length; ++j) {
            uint256 tick = uint8(levels[j]);
            bidVolumesWh[tick] = uint64(levels[j] >> 8);
            askVolumesWh[tick] = uint64(levels[j] >> 72);
        }
    }

    /// @inheritdoc IMarketZones
    function steppedClearing() external view returns (address) {
        return address(_stepped);
    }

    /// @inheritdoc IMarketZones
    function zoneCount() external view returns (uint256) {
        return _regions.length;
    }

    /// @inheritdoc IMarketZones
    function zoneOf(uint32 regionId) external view returns (uint256) {
        return _zones[regionId];
    }

    /// @inheritdoc IMarketZones
    function regionOf(uint256 zone) external view returns (uint32) {
        if (zone == 0 || zone > _regions.length) revert InvalidZone(zone);
        return _regions[zone - 1];
    }

    /// @inheritdoc IMarketZones
    function ratingKW(uint32 regionId, uint256 period) external view returns (uint256) {
        return _ratingKW(_zoneOf(regionId), period);
    }

    /// @inheritdoc IMarketZones
    function linkLimitsKW(uint32 regionId, uint256 period) external view returns (uint256 importKW, uint256 exportKW) {
        return _limitsKW(_zoneOf(regionId), period);
    }

    /// @inheritdoc IMarketZones
    // slither-disable-next-line incorrect-equality: UNLIMITED is a sentinel compared for identity, not a balance or a time
    function linkLimitsWh(uint256 zone, uint256 period) external view returns (LinkLimits memory limits) {
        (int256 importWh, int256 exportWh) = _limitsWh(zone, period);
        limits.importWh = importWh == CoupledClearing.UNLIMITED ? NO_LIMIT : uint256(importWh);
        limits.exportWh = exportWh == CoupledClearing.UNLIMITED ? NO_LIMIT : uint256(exportWh);
    }

    /// @inheritdoc IMarketZones
    function auction() external view returns (address) {
        return _auction;
    }

    /// @inheritdoc IMarketZones
    function periodLength() external view returns (uint256) {
        return _periodLength;
    }

    /// @inheritdoc IMarketZones
    function gateClosure() external view returns (uint256) {
        return _gateClosure;
    }

    /// @notice The GridManagement whose operators set link limits, and the GridOperations whose load reports rate the links.
    function grid() external view returns (IGridManagement, IGridOperations) {
        return (_gridManagement, _gridOperations);
    }

    // ---- Internals ----

    function _zoneOf(uint32 regionId) private view returns (uint256 zone) {
        zone = _zones[regionId];
        if (zone == 0) revert ZoneUnknown(regionId);
    }

    /// @dev Checks that `count` periods from `first` all take link limits now: each gate still open, and none
    /// further ahead than the auction takes orders, so that no period can alias another's key
    /// (AuctionState.bookKey) and no limit waits longer than an order would.
    function _checkOpenPeriods(uint256 first, uint256 count) private view {
        // Gates close in period order, so the first period's gate being open keeps every later one open.
        uint256 closesAt = IEnergyAuctionExtension(_auction).gateClosureTime(first);
        if (block.timestamp >= closesAt) revert LinkPeriodClosed(first, closesAt);
        uint256 maxPeriod = MarketTime.furthestPeriod(block.timestamp, _gateClosure, _periodLength);
        if (first > maxPeriod) revert PeriodTooFarAhead(first, maxPeriod);
        if (first + count - 1 > maxPeriod) revert PeriodTooFarAhead(first + count - 1, maxPeriod);
    }

    /// @dev The result of the market's steps (SteppedClearing) if they have all run and it balances, or an
    /// empty result, with which the market clears in one transaction. A stepped result that does not
    /// balance is refused with an event rather than recorded: the one-transaction clearing reads the same
    /// frozen books and limits.
    function _steppedResult(uint256 period) private returns (CoupledResult memory r) {
        if (!_stepsBegun[period]) return r;
        // slither-disable-next-line unused-return: only the stage tells whether the steps finished
        (ISteppedClearing.Stage stage,) = _stepped.stageOf(period);
        if (stage != ISteppedClearing.Stage.FINISHED) return r;
        try _stepped.result(period) returns (CoupledResult memory stepped) {
            if (ZoneResultLibrary.netExportsBalance(stepped.zoneResults)) return stepped;
        } catch {}
        emit SteppedResultRefused(period);
        return r;
    }

    /// @dev A zone's recorded result. Every recorded result is non-zero, since a side that traded nothing
    /// keeps T = 1.
    function _recorded(uint256 period, uint256 zone) private view returns (ZoneResult result) {
        result = ZoneResult.wrap(AuctionState.zoneResult(_auction, period, zone));
        if (ZoneResult.unwrap(result) == 0) revert ZonesNotCleared(period);
    }

    // ---- The auction's books ----

    /// @dev Reads the books of the market's zones (`zonesBits`) and of the bus, if it holds orders, from the
    /// auction, with the limits in force for `period`: every book's occupancy in one read, then every
    /// occupied tick of every book in one more.
    function _readBooks(uint256 period, uint256 zonesBits)
        private
        view
        returns (uint256[] memory zones, ZoneBook[] memory books)
    {
        uint256[] memory candidates = AuctionState.zonesIn(zonesBits | 1);
        uint256[] memory candidatesOccupied = AuctionState.occupancy(_auction, period, candidates);
        // The bus is a candidate first; it is left out when it holds no orders.
        uint256 skip = candidatesOccupied[0] == 0 ? 1 : 0;
        zones = new uint256[](candidates.length - skip);
        books = new ZoneBook[](zones.length);
        uint256[] memory occupied = new uint256[](zones.length);
        for (uint256 z; z < zones.length; ++z) {
            (zones[z], occupied[z]) = (candidates[z + skip], candidatesOccupied[z + skip]);
            (books[z].importLimitWh, books[z].exportLimitWh) = _limitsWh(zones[z], period);
        }
        (uint256[][] memory levels, uint256[] memory bidsWh) = AuctionState.readLevels(_auction, period, zones, occupied);
        for (uint256 z; z < zones.length; ++z) {
            (books[z].levels, books[z].bidWh) = (levels[z], bidsWh[z]);
        }
    }

    /// @dev The ticks that hold bids or asks in the bus's book.
    function _busOccupied(uint256 period) private view returns (uint256) {
        return AuctionState.occupancy(_auction, period, new uint256[](1))[0];
    }

    /// @dev The capacity of the region's latest load report, or NO_LIMIT when the grid has none.
    function _reportedRatingKW(uint32 regionId) private view returns (uint256) {
        if (_gridOperations.loadReportCount(regionId) == 0) return NO_LIMIT;
        return Math.min(_gridOperations.getCurrentLoad(regionId).capacityKW, NO_LIMIT);
    }

    /// @dev The rating of a zone's link in force for `period`, kW. Ratings are keyed by 48-bit periods, so a
    /// later period is refused rather than read as an earlier one.
    function _ratingKW(uint256 zone, uint256 period) private view returns (uint256) {
        if (period > AuctionState.MAX_PERIOD) revert PeriodOutOfRange(period, AuctionState.MAX_PERIOD);
        Checkpoints.Checkpoint208 memory latest = _latestRatings[zone];
        if (period >= latest._key) return latest._value;
        return _ratings[zone].upperLookupRecent(uint48(period));
    }

    /// @dev Records that the zone's rating is `rating` kW from `fromPeriod` on, in the trace and in its copy
    /// of the last checkpoint. Periods only move forward (`_firstOpenPeriod`), as the trace requires.
    function _pushRating(uint256 zone, uint256 fromPeriod, uint256 rating) private {
        // slither-disable-next-line unused-return: the rating before, which push returns, is not needed
        _ratings[zone].push(uint48(fromPeriod), uint208(rating));
        _latestRatings[zone] = Checkpoints.Checkpoint208(uint48(fromPeriod), uint208(rating));
    }

    /// @dev The limits in force for a zone and period, kW: the operator's, capped by the rating.
    function _limitsKW(uint256 zone, uint256 period) private view returns (uint256 importKW, uint256 exportKW) {
        uint256 rating = _ratingKW(zone, period);
        (importKW, exportKW) = (rating, rating);
        uint256 word = _limits[AuctionState.bookKey(period, zone)];
        if (word != 0) {
            importKW = Math.min(importKW, uint128(word) - 1);
            exportKW = Math.min(exportKW, (word >> 128) - 1);
        }
    }

    /// @dev The limits in force in Wh over the period, as clearing reads them. The bus (zone 0) has none, and
    /// neither has a zone no region holds: its orders trade as on the bus.
    function _limitsWh(uint256 zone, uint256 period) private view returns (int256 importWh, int256 exportWh) {
        if (zone == 0 || zone > _regions.length) return (CoupledClearing.UNLIMITED, CoupledClearing.UNLIMITED);
        (uint256 importKW, uint256 exportKW) = _limitsKW(zone, period);
        return (_energyWh(importKW), _energyWh(exportKW));
    }

    /// @dev What `powerKW` carries over one period, Wh, rounded down: kW × 1000 × seconds / 3600.
    // slither-disable-next-line incorrect-equality: NO_LIMIT is a sentinel compared for identity, not a balance or a time
    function _energyWh(uint256 powerKW) private view returns (int256) {
        if (powerKW == NO_LIMIT) return CoupledClearing.UNLIMITED;
        return int256(powerKW * _periodLength * 5 / 18);
    }

    /// @dev The first period whose gate is still open: the smallest p with p × length - gate closure after now.
    function _firstOpenPeriod() private view returns (uint256) {
        return (block.timestamp + _gateClosure) / _periodLength + 1;
    }
}
