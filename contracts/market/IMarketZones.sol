// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;


/// @title IMarketZones
/// @notice The zones of an interval market and their links to the common bus. A zone is a grid region,
/// a feeder behind its own transformer. Its link carries at most its transformer's rating in each
/// direction, and the region's operator may lower the limits of coming periods while their gates are
/// open, for instance when the feeder is congested. A market clears with the limits in force at its
/// gate: a change never reaches a period whose gate has closed.
/// @dev Zone 0 is the bus itself, which orders without a region trade in; it has no link and no limit.
/// Zones 1 to MAX_ZONES are the regions the admin added, in the order added.
interface IMarketZones {
    /// @notice How a zone's price in a cleared market relates to the bus's.
    enum ZoneRole {
        COUPLED, // the bus price: the zone's link had room, or its own price lay beyond the bus's
        EXPORT_BOUND, // below the bus price: the zone is held at its export limit and would export more
        IMPORT_BOUND // above it: the zone is held at its import limit and would import more
    }

    /// @notice A zone's link limits for one period, in Wh: what the link may carry into the zone
    /// (`importWh`) and out of it (`exportWh`). NO_LIMIT stands for a link without a limit.
    struct LinkLimits {
        uint256 importWh;
        uint256 exportWh;
    }

    /// @notice One zone's result in a market cleared across zones. Each side fills by price priority:
    /// orders better than the side's marginal tick in full, orders at it share L of its T on running
    /// totals, worse ones not at all (a side that traded nothing has L = 0).
    struct ZoneInfo {
        uint256 clearingTick; // the zone's price on the market's grid
        uint256 clearingPricePerKWh;
        int256 netExportWh; // what the zone's asks sold beyond what its bids bought; negative when it imported
        uint256 bidMarginalTick;
        uint256 bidRationedWh; // L of the bids' marginal level
        uint256 bidLevelWh; // T of the bids' marginal level
        uint256 askMarginalTick;
        uint256 askRationedWh;
        uint256 askLevelWh;
        ZoneRole role; // whether the zone traded at the bus price or its link held it on one side
    }

    /// @notice How a market clears across its zones.
    struct CoupledResult {
        uint256 busTick; // the price of the zones whose links have room (the middle of the bus's competitive ticks)
        uint256 soldWh; // what every zone's asks sold; it equals boughtWh, since the links lose nothing
        uint256 boughtWh; // what every zone's bids bought
        uint256 surplus; // what buyers pay beyond what sellers net: fees, rounding and the congestion rent
        uint256 rentTickWh; // Σ (bus tick - zone tick) × zone net export, ticks × Wh
        uint256 congestionRent; // rentTickWh × tickSizePerKWh / 1000, rounded down: PaymentToken base units
        uint256[] zones; // the zones that held orders, lowest first (0 for the bus)
        uint256[] zoneResults; // one ZoneResult word per zone, in the same order
    }

    /// @notice The admin added `regionId` as zone `zone`, with its transformer's rating.
    /// @param regionId The grid region.
    /// @param zone The zone's number, from 1.
    /// @param ratingKW The link's rating in each direction, kW; NO_LIMIT when the grid reports none.
    event ZoneAdded(uint32 indexed regionId, uint256 zone, uint256 ratingKW);
    /// @notice A zone's rating was taken again from the grid's latest load report; it applies from `fromPeriod`,
    /// the first period whose gate was still open.
    /// @param regionId The grid region.
    /// @param ratingKW The new rating, kW; NO_LIMIT when the grid reports none.
    /// @param fromPeriod The first period it applies to.
    event ZoneRatingUpdated(uint32 indexed regionId, uint256 ratingKW, uint256 fromPeriod);
    /// @notice The region's operator set the link limits of `periodCount` periods from `firstPeriod`. The
    /// limits in force are these or the rating, whichever is lower.
    /// @param regionId The grid region.
    /// @param firstPeriod The first period.
    /// @param periodCount How many periods, from `firstPeriod` on.
    /// @param importLimitKW What the link may carry into the zone, kW.
    /// @param exportLimitKW What it may carry out of the zone, kW.
    /// @param operator The region's operator.
    event LinkLimitsSet(
        uint32 indexed regionId,
        uint256 firstPeriod,
        uint256 periodCount,
        uint256 importLimitKW,
        uint256 exportLimitKW,
        address indexed operator
    );

    /// @notice A zone's result in a market cleared across zones; the auction's MarketCleared came with it.
    /// @param period The market.
    /// @param zone The zone: 0 for the bus.
    /// @param role Whether the zone traded at the bus price (COUPLED) or its link held it below (EXPORT_BOUND)
    /// or above it (IMPORT_BOUND).
    /// @param clearingTick The zone's price on the grid.
    /// @param clearingPricePerKWh The zone's price, PaymentToken base units per kWh.
    /// @param netExportWh What the zone sold beyond what it bought, Wh; negative when it imported.
    event ZoneCleared(
        uint256 indexed period,
        uint256 indexed zone,
        ZoneRole role,
        uint256 clearingTick,
        uint256 clearingPricePerKWh,
        int256 netExportWh
    );
    /// @notice The congestion rent of a market cleared across zones: what buyers in importing zones paid
    /// beyond what sellers in exporting zones received for the energy the links carried. It accrues in the
    /// auction with the grid fees, for the fee recipient: the grid operator's fund.
    /// @param period The market.
    /// @param rent Σ zone net export × (bus price - zone price) / 1000, rounded down; PaymentToken base units.
    event CongestionRentAccrued(uint256 indexed period, uint256 rent);

    /// @notice The admin set the contract that clears this market's largest markets in steps.
    /// @param stepped The SteppedClearing.
    event SteppedClearingSet(address indexed stepped);

    /// @notice The market's finished steps gave a result that does not balance, so the market cleared in one
    /// transaction instead (recordClearing).
    /// @param period The market.
    event SteppedResultRefused(uint256 indexed period);
    /// @notice The clearing of the market would not balance: energy bought is not energy sold, the zones'
    /// net exports do not add up to zero, or sellers would net more than buyers pay. Nothing is recorded.
    /// @param period The market.
    error ClearingUnbalanced(uint256 period);
    /// @notice Only the auction records a clearing.
    /// @param caller The caller.
    error NotAuction(address caller);
    /// @notice Only the SteppedClearing set begins a market's steps.
    /// @param caller The caller.
    error NotSteppedClearing(address caller);
    /// @notice The market has not cleared across zones.
    /// @param period The market.
    error ZonesNotCleared(uint256 period);
    /// @notice The market of `period` has cleared, so its books hold its zones' results: there is nothing
    /// left to preview.
    /// @param period The market.
    error MarketAlreadyCleared(uint256 period);
    /// @notice The region is not one of the market's zones.
    /// @param regionId The region.
    error ZoneUnknown(uint32 regionId);
    /// @notice The region is already a zone.
    /// @param regionId The region.
    /// @param zone Its zone.
    error ZoneExists(uint32 regionId, uint256 zone);
    /// @notice The market already has MAX_ZONES zones.
    /// @param maxZones MAX_ZONES.
    error TooManyZones(uint256 maxZones);
    /// @notice The caller is not an authorized operator of the region.
    /// @param account The caller.
    /// @param regionId The region whose link it tried to limit.
    error NotRegionOperator(address account, uint32 regionId);
    /// @notice A link limit for a period whose gate has closed: the market uses the limits in force at its gate.
    /// @param period The period.
    /// @param gateClosureTime When its gate closed, unix seconds.
    error LinkPeriodClosed(uint256 period, uint256 gateClosureTime);
    /// @notice A link limit for a period whose gate closes more than the auction's MAX_LEAD_TIME from now.
    /// @param period The last period given.
    /// @param maxPeriod The furthest period whose limits may be set now.
    error PeriodTooFarAhead(uint256 period, uint256 maxPeriod);
    /// @notice Zero periods, or more than MAX_LIMIT_PERIODS, in one call.
    /// @param periodCount The count given.
    /// @param maxPeriods MAX_LIMIT_PERIODS.
    error InvalidPeriodCount(uint256 periodCount, uint256 maxPeriods);
    /// @notice A limit above NO_LIMIT.
    /// @param limitKW The limit given, kW.
    /// @param maxKW NO_LIMIT.
    error LimitOutOfRange(uint256 limitKW, uint256 maxKW);
    /// @notice The stepped clearing is set once.
    /// @param current The one set.
    error SteppedClearingAlreadySet(address current);
    /// @notice The stepped clearing clears another market's zones.
    /// @param stepped The contract given.
    /// @param itsZones The market zones it serves.
    error SteppedClearingMismatch(address stepped, address itsZones);
    /// @notice Region 0 cannot be a zone: a signed order names it for the bus.
    error RegionZeroIsTheBus();
    /// @notice A zone number that no region holds.
    /// @param zone The number.
    error InvalidZone(uint256 zone);

    /// @notice Sets the SteppedClearing whose final results `recordClearing` records, for markets too large
    /// to clear in one transaction. Admin only, once.
    function setSteppedClearing(address stepped) external;

    /// @notice The SteppedClearing set (zero before).
    function steppedClearing() external view returns (address);

    /// @notice Notes that the steps of `period`'s clearing have begun, so that `recordClearing` asks for their
    /// result (a market whose steps never began clears in one transaction without asking), and returns the
    /// zones that hold orders in it, as zonesOf. Only the SteppedClearing set calls it, at a run's first step.
    function beginSteps(uint256 period) external returns (uint256 zonesBits);

    /// @notice Adds `regionId` as the next zone, rated at the capacity of the grid's latest load report for
    /// it (no limit if there is none). Admin only.
    function addZone(uint32 regionId) external returns (uint256 zone);

    /// @notice Takes the zone's rating again from the grid's latest load report, for the periods whose gate
    /// is still open. Anyone may call it.
    function syncRating(uint32 regionId) external;

    /// @notice Sets the link limits of `periodCount` (at most MAX_LIMIT_PERIODS) periods from `firstPeriod`,
    /// every one of them with its gate still open and none further ahead than the auction takes orders for
    /// (its MAX_LEAD_TIME). Only an authorized operator of the region may.
    /// @param importLimitKW What the link may carry into the zone, kW; the rating caps it.
    /// @param exportLimitKW What it may carry out of the zone, kW; the rating caps it.
    function setLinkLimits(
        uint32 regionId,
        uint256 firstPeriod,
        uint256 periodCount,
        uint256 importLimitKW,
        uint256 exportLimitKW
    ) external;

    /// @notice Clears the market of `period` across its zones with the link limits in force for it, reading
    /// its books from the auction: anyone may call it to preview how the market would clear, until it has
    /// cleared (MarketAlreadyCleared after: getZoneResult has each zone's result).
    function clearMarket(uint256 period) external view returns (CoupledResult memory result);

    /// @notice Clears the market of `period` as clearMarket does, or takes the result its steps finished
    /// (SteppedClearing) if that result balances, emits each zone's result and returns them all. Only the
    /// auction calls it, at clearing, and keeps each zone's result for its orders' claims (in the word that
    /// held the zone's book occupancy: AuctionState.zoneResult). A result that does not balance is never
    /// returned.
    function recordClearing(uint256 period) external returns (CoupledResult memory result);

    /// @notice One side of a zone's result, as the auction pays that side's orders: the zone's tick, the
    /// side's marginal tick and its L and T.
    function sideResult(uint256 period, uint256 zone, bool isBid)
        external
        view
        returns (uint256 clearingTick, uint256 marginalTick, uint256 rationedWh, uint256 levelWh);

    /// @notice The zones that hold orders in the market of `period`, one bit per zone (bit 0 for the bus,
    /// set only when another zone holds orders too). Zero for a market on the bus alone.
    function zonesOf(uint256 period) external view returns (uint256 zonesBits);

    /// @notice A zone's result in a market cleared across zones (the auction's MarketInfo.longSide is ZONES).
    function getZoneResult(uint256 period, uint256 zone) external view returns (ZoneInfo memory info);

    /// @notice Bid and ask volume, Wh, at every tick of one zone's book in the market (0 for the bus).
    function getZoneTickVolumes(uint256 period, uint256 zone)
        external
        view
        returns (uint256[] memory bidVolumesWh, uint256[] memory askVolumesWh);

    /// @notice The market whose zones these are.
    function auction() external view returns (address);

    /// @notice The number of zones, not counting the bus.
    function zoneCount() external view returns (uint256);

    /// @notice The zone of `regionId`, or 0 if the region is not a zone.
    function zoneOf(uint32 regionId) external view returns (uint256);

    /// @notice The region of zone `zone` (1 to zoneCount()).
    function regionOf(uint256 zone) external view returns (uint32);

    /// @notice The rating of `regionId`'s link in force for `period`, kW (NO_LIMIT for none).
    function ratingKW(uint32 regionId, uint256 period) external view returns (uint256);

    /// @notice The link limits of `regionId` in force for `period`, kW (NO_LIMIT for none).
    function linkLimitsKW(uint32 regionId, uint256 period) external view returns (uint256 importKW, uint256 exportKW);

    /// @notice The link limits of zone `zone` in force for `period`, in Wh over the period. The bus and a zone
    /// that no region holds have none (NO_LIMIT): orders there trade as on the bus.
    function linkLimitsWh(uint256 zone, uint256 period) external view returns (LinkLimits memory);

    /// @notice The market's period length and gate closure, seconds.
    function periodLength() external view returns (uint256);

    /// @notice The gate closure, seconds before a period starts.
    function gateClosure() external view returns (uint256);
}
