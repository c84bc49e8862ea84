// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IMeteredMarket
/// @notice Standing orders driven by the meter: the ex-post interval market. A meter's owner sets once,
/// in the meter registry, a sell limit for its metered export and a buy limit for its metered import
/// (each with an optional cap per interval); every reading the registry accepts then places that
/// interval's export as an ask and its import as a bid, at those limits, in this market's market of the
/// interval measured.
/// The market clears once its reading deadline has passed, and each meter's fill is settled into its
/// owner's vault balance without a transaction of the owner's: the meter's next-but-one reading settles
/// it, or anyone's settlement batch through the registry (an entry with timestamp 0).
/// @dev Units: energy in Wh, prices in PaymentToken base units per kWh, times in unix seconds.
/// - Only meters whose energy the registry delivers into the vault trade this way: the export is already
///   in the owner's vault balance when it is placed; a bid locks ceil(Wh * limit / 1000) of the owner's free
///   payment balance and is cut to what that balance covers.
/// - A limit that is not a tick of the market's grid is rounded to the owner's advantage: a sell limit up,
///   a buy limit down; a sell limit above the grid or a buy limit below it places nothing.
/// - The orders of one meter and interval sit in one of two slots of the meter (by the period's parity),
///   so placing an interval settles the one two periods before it, which has cleared by then (the
///   reading deadline is at most one period); that market is cleared on the spot if nobody cleared it yet.
/// - Energy a standing bid buys is retired at settlement: it was bought for metered consumption that has
///   already happened, so the registry does not redeem it again (coveredConsumptionWh). Proceeds, refunds
///   and unsold energy go to the owner's free vault balance.
/// - While the market is paused, readings place nothing (SkipReason.PAUSED) and settle as ever.
/// - Rationing is the auction's own (running totals in arrival order), so a standing order fills exactly
///   as a firm order of the same size, limit and arrival would.
interface IMeteredMarket {
    /// @notice Why a reading's standing orders were not placed (wholly or on one side).
    enum SkipReason {
        NOT_APPROVED, // the owner has not approved this market in the vault
        MARKET_CLOSED, // the market of the interval is past its reading deadline or cleared
        PRICE_OFF_GRID, // a sell limit above the grid's top or a buy limit below its bottom
        TICK_FULL, // the tick's side would pass MAX_TICK_VOLUME_WH
        ALREADY_PLACED, // a later reading of an interval whose side an earlier reading placed
        NOTHING_FREE, // a bid found no free payment balance
        PAUSED // the market is paused: it takes no new orders, standing ones included
    }

    /// @notice A meter's placed orders for one interval.
    struct MeteredOrders {
        uint256 period; // 0 = the slot was never used
        bool settled;
        uint256 askWh;
        uint256 askTick;
        uint256 askBeforeWh; // C(i-1) at its tick
        uint256 bidWh;
        uint256 bidTick;
        uint256 bidBeforeWh;
    }

    /// @notice Only the meter registry reports metered energy; `caller` is not it.
    /// @param caller The account that called.
    error NotMeterRegistry(address caller);

    /// @notice A reading deadline above the longest allowed now. That is the period length, since the orders
    /// of an interval must have cleared when the meter's next-but-one reading comes; but once the market of
    /// the interval just ended has passed its clearing time, it is the time since that interval's end, so
    /// that no market reopens after it may have cleared (a longer one is taken while that market still
    /// takes readings).
    /// @param deadlineSeconds The deadline given, seconds after a period's end.
    /// @param maxSeconds The longest deadline allowed now, seconds.
    error InvalidReadingDeadline(uint256 deadlineSeconds, uint256 maxSeconds);

    /// @notice `meter`'s orders in the market of a period were settled into its owner's vault balance.
    /// This is the one event of a standing order: what a reading placed stays readable in
    /// `getMeteredOrders` until the meter's slot for that parity is reused two intervals later.
    /// @dev The figures are packed into two words of log data instead of one word each (five fewer words,
    /// 1,280 gas a reading):
    /// - `periodAndVolumes`: the market (the interval measured, bits 0-39) | export offered, Wh (40-79;
    ///   0: no ask) | export sold, Wh (80-119; the rest of the ask went back to the owner) | import bid
    ///   for, Wh (120-159; 0: no bid) | import bought, Wh (160-199; retired against the consumption it was
    ///   bid for). An order holds at most 2^36 - 1 Wh, so each volume fits its 40 bits.
    /// - `payments`: what the sale paid the owner after the grid fee (bits 0-127) | what the purchase
    ///   cost (128-255; the rest of the lock went back), PaymentToken base units, each below the vault's
    ///   2^112 bound on a balance.
    /// @param meter The meter.
    /// @param periodAndVolumes The market and the four volumes, packed as above.
    /// @param payments The proceeds and the payment, packed as above.
    event MeteredOrdersSettled(address indexed meter, uint256 periodAndVolumes, uint256 payments);

    /// @notice A reading's standing orders were not placed, wholly or on one side.
    /// @param meter The meter.
    /// @param period The market.
    /// @param reason Why.
    event MeteredOrderSkipped(address indexed meter, uint256 indexed period, SkipReason reason);

    /// @notice The reading deadline changed.
    /// @param previousSeconds The deadline before, seconds after a period's end.
    /// @param newSeconds The deadline now.
    event ReadingDeadlineUpdated(uint256 previousSeconds, uint256 newSeconds);

    /// @notice Places the standing orders of a batch of accepted readings (the meter registry only). An
    /// entry with timestamp 0 places nothing: it settles the meter's slots whose markets may clear.
    /// @dev Three words per reading, packed so that the registry hands each one on without re-encoding it:
    /// - meter (bits 0-159) | export the reading added, Wh, already credited to the owner's vault balance
    ///   (160-199) | import the reading added, Wh (200-239) | the meter's market zone (240-247; 0: the bus);
    /// - owner (0-159) | the reading's time (160-): its market is the period the time falls in;
    /// - the meter's standing limits when the reading came, as the registry stores them: sell limit per
    ///   kWh (0-95; 0: no selling) | buy limit per kWh (96-191; 0: no buying) | sell cap, Wh (192-223;
    ///   0: none) | buy cap, Wh (224-255).
    /// @param entries The readings, three words each.
    function recordMetered(uint256[] calldata entries) external;

    /// @notice Sets how long after a period's end its readings may still arrive before it clears (admin). A
    /// longer deadline is refused while it would reopen a market whose clearing time has passed.
    /// @param deadlineSeconds Seconds after the period's end, at most the period length.
    function setReadingDeadline(uint256 deadlineSeconds) external;

    /// @notice `meter`'s two interval slots: the orders its last readings placed, settled or not.
    /// @param meter The meter.
    /// @return orders The slots: even periods first, odd second.
    function getMeteredOrders(address meter) external view returns (MeteredOrders[2] memory orders);

    /// @notice Import of `meter` that this market's standing bids bought (retired at their settlement)
    /// or still bid for (placed, not settled): consumption the meter registry must not redeem again.
    /// @dev Kept per meter slot in bits its settlement rewrites anyway, up to 2^39 - 1 Wh (550 GWh) a
    /// slot; a slot that reached it stops counting, and the view then answers type(uint256).max (all
    /// of the meter's consumption covered), never less than the truth.
    /// @param meter The meter.
    /// @return coveredWh Wh bought or bid for.
    function coveredConsumptionWh(address meter) external view returns (uint256 coveredWh);

    /// @notice Seconds after a period's end that its readings may still arrive.
    /// @return The deadline.
    function readingDeadline() external view returns (uint256);

    /// @notice When the market of `period` may clear: its gate closure, or with standing orders enabled
    /// its end plus the reading deadline.
    /// @param period The delivery period.
    /// @return The time, unix seconds.
    function clearingTime(uint256 period) external view returns (uint256);

    /// @notice The vault whose balances this market moves.
    /// @return The vault.
    function vault() external view returns (address);

    /// @notice The meter registry that reports metered energy (zero: no standing orders).
    /// @return The registry.
    function meterRegistry() external view returns (address);

    /// @notice The market's zones and their links (IMarketZones), or zero while the market has none. A
    /// meter's standing orders trade in the zone of its region (the registry's syncMeterZone).
    function marketZones() external view returns (address);
}
