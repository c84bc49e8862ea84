// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEnergyAuction} from "../IEnergyAuction.sol";
import {GridFees} from "../GridFees.sol";
import {IEnergyVault} from "../../vault/IEnergyVault.sol";
import {VaultCalls} from "../../vault/VaultCalls.sol";
import {IMarketZones} from "../IMarketZones.sol";
import {ZeroAddress} from "../../utils/GridErrors.sol";
import {AuctionOrder, AuctionOrderLibrary} from "../../types/AuctionOrder.sol";
import {TickVolumes, TickVolumesLibrary} from "../../types/TickVolumes.sol";
import {AuctionClearing, Clearing, Market} from "./AuctionClearing.sol";
import {AuctionSlots} from "./AuctionSlots.sol";
import {MarketTime} from "./MarketTime.sol";

/// @title AuctionMarkets
/// @notice This contract holds the part of the auction that firm and standing orders share: the
/// configuration, each market's book and result, the price grid and fee rate a market opens with,
/// and the clearing of a market.
/// @dev It is abstract. EnergyAuction adds firm orders and their claims on top of it, and
/// StandingOrders adds the orders that the meters' readings place.
abstract contract AuctionMarkets is GridFees, Pausable, IEnergyAuction {
    /// @notice The guardian role, which pauses new bids and asks, including the standing ones that readings
    /// place; only the admin resumes. Clearing, claims, the settlement of placed standing orders and the fee
    /// withdrawal never pause, because a pause should stop new money coming in but never block the way
    /// out of escrow.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice The most ticks a price grid may have, since each side keeps one 256-bit occupancy word.
    uint256 public constant MAX_TICKS = 256;
    /// @notice The longest delivery period a market may have.
    uint256 public constant MAX_PERIOD_LENGTH = 7 days;
    /// @notice The longest gate closure the auction accepts.
    uint256 public constant MAX_GATE_CLOSURE = 7 days;
    /// @notice The longest an order's escrow may wait for its market's gate to close. Markets further
    /// ahead than this take no orders.
    uint256 public constant MAX_LEAD_TIME = MarketTime.MAX_LEAD_TIME;
    /// @notice The most volume one side of one tick of a market may gather, which is 1 TWh. This bound
    /// keeps every running total within its 40 bits and each side's total for a market within 48 bits.
    uint256 public constant MAX_TICK_VOLUME_WH = AuctionClearing.MAX_TICK_VOLUME_WH;
    /// @notice The highest price a grid may reach. It fits the 80-bit price fields and equals 10^6 whole
    /// units of an 18-decimal token.
    uint256 public constant MAX_PRICE_PER_KWH = 1e24;

    IEnergyVault internal immutable _vault;
    address internal immutable _meterRegistry;
    IERC20 internal immutable _energyToken;
    uint256 internal immutable _periodLength;
    uint256 internal immutable _gateClosure;

    // ---- Storage ----
    // The next three variables share a slot with the fee recipient and Pausable's flag, so a submission
    // to an open market reads the pause flag, the fee and the time of the last fee cut from one slot.
    // The price grid, which is read when a market opens, fills the next slot.
    uint16 internal _gridFeeBps;
    uint16 internal _tickCount;
    /// @dev The time the fee was last lowered. An ask lowers its market's rate only if that time came after
    /// the market could open, so that other asks do not need to read the market's result slot.
    uint40 internal _feeCutAt;
    uint80 internal _minPricePerKWh;
    uint80 internal _tickSizePerKWh;
    uint32 internal _readingDeadlineSeconds;
    /// @dev The grid fees and the buyers' rounding surplus of cleared markets, plus one. Because the slot
    /// never returns to zero, accruing at clearing rewrites it (5,000 gas) instead of creating it (22,100).
    uint256 internal _accruedFeesPlusOne = 1;

    mapping(uint256 period => Market) internal _markets;
    mapping(uint256 period => Clearing) internal _clearings;
    // A market keeps one book per zone, keyed by _bookKey(period, zone); the bus is zone 0, so a market
    // without zones keeps the one book it always had.
    mapping(uint256 book => uint256) internal _bidTicks;
    mapping(uint256 book => uint256) internal _askTicks;
    mapping(uint256 bookAndTick => TickVolumes) internal _ticks;
    mapping(uint256 place => AuctionOrder) internal _orders;
    /// @dev The zones other than the bus that hold orders in a market, one bit per zone. A market with none
    /// clears alone, exactly as before zones existed.
    mapping(uint256 period => uint256) internal _zonesOf;
    IMarketZones internal _marketZones;

    /// @param meterRegistry_ The SmartMeter whose readings place standing orders, or zero for an auction
    /// that takes firm orders only.
    constructor(
        address admin,
        IEnergyVault vault_,
        address meterRegistry_,
        address feeRecipient_,
        uint256 gridFeeBps_,
        uint256 periodLengthSeconds,
        uint256 gateClosureSeconds,
        uint256 minPricePerKWh,
        uint256 tickSizePerKWh,
        uint256 maxPricePerKWh
    ) GridFees(_paymentTokenOf(vault_), feeRecipient_, gridFeeBps_) {
        if (admin == address(0)) revert ZeroAddress();
        if (periodLengthSeconds == 0 || periodLengthSeconds > MAX_PERIOD_LENGTH) {
            revert InvalidPeriodLength(periodLengthSeconds, MAX_PERIOD_LENGTH);
        }
        if (gateClosureSeconds > MAX_GATE_CLOSURE) revert InvalidGateClosure(gateClosureSeconds, MAX_GATE_CLOSURE);
        _vault = vault_;
        // A zero address means the auction has no standing orders, because no meter registry reports to it.
        _meterRegistry = meterRegistry_;
        _energyToken = IERC20(vault_.energyToken());
        _gridFeeBps = uint16(gridFeeBps_);
        _periodLength = periodLengthSeconds;
        // Meters send an interval's readings when it ends, and they may take at most one period's length.
        _readingDeadlineSeconds = uint32(Math.min(periodLengthSeconds, type(uint32).max));
        _gateClosure = gateClosureSeconds;
        _setPriceGrid(minPricePerKWh, tickSizePerKWh, maxPricePerKWh);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    // ---- Grid fees ----

    function _gridFee() internal view override returns (uint256) {
        return _gridFeeBps;
    }

    /// @dev Records the time of a fee cut, because an ask lowers its market's rate only if the cut came
    /// after the market could open.
    function _storeGridFee(uint256 previousBps, uint256 newBps) internal override {
        _gridFeeBps = uint16(newBps);
        if (newBps < previousBps) _feeCutAt = uint40(block.timestamp);
    }

    /// @dev The fees are held as the auction's vault balance, so the recipient is credited in the vault.
    function _payFees(address recipient, uint256 amount) internal override {
        VaultCalls.give(_vault, recipient, 0, amount);
    }

    function _feesAccrued() internal view override returns (uint256) {
        return _accruedFeesPlusOne - 1;
    }

    function _clearFeesAccrued() internal override {
        _accruedFeesPlusOne = 1;
    }

    // ---- Markets ----
    // A market fixes the price grid and the fee rate that are in force at its first order. Its result
    // slot is written from that first order on, so that clearing rewrites the slot (5,000 gas) instead
    // of creating it.

    /// @dev Returns the market of `period`, fixing its grid if this is its first order. For an ask, it also
    /// lowers the market's fee rate if the fee was cut after the market could open. The caller writes the
    /// market back to storage.
    function _openMarket(uint256 period, bool isBid, uint256 closesAt) internal returns (Market memory market) {
        market = _markets[period];
        if (market.tickCount == 0) {
            market = _currentGrid(market);
            Clearing storage result = _clearings[period];
            result.opened = true;
            result.feeBps = _gridFeeBps;
        } else if (!isBid) {
            _cutMarketFee(period, closesAt);
        }
    }

    /// @dev If the fee was cut after the market of `period` could open, its sellers pay at most the fee in
    /// force now. The market's gate closes at `closesAt`.
    function _cutMarketFee(uint256 period, uint256 closesAt) internal {
        if (_feeCutAt + MAX_LEAD_TIME < closesAt) return;
        Clearing storage result = _clearings[period];
        uint16 feeBps = _gridFeeBps;
        if (feeBps < result.feeBps) result.feeBps = feeBps;
    }

    /// @dev Adds an order's volume to its side of its tick in the book `book` unless the total would pass
    /// MAX_TICK_VOLUME_WH. Returns the side's volume at the tick before the order, which is the order's
    /// C(i-1), and the volume including the order.
    function _addToTick(uint256 book, uint256 tick, uint256 amountWh, bool isBid)
        internal
        returns (uint256 beforeWh, uint256 afterWh)
    {
        return TickVolumesLibrary.addTo(_ticks, isBid ? _bidTicks : _askTicks, book, tick, amountWh, isBid, MAX_TICK_VOLUME_WH);
    }

    /// @dev The key of zone `zone`'s book in the market of `period`.
    function _bookKey(uint256 period, uint256 zone) internal pure returns (uint256) {
        unchecked {
            return (period << 8) | zone;
        }
    }

    /// @dev Clears a market that may clear and has not cleared yet. AuctionClearing holds the rule; this
    /// function stores the result, accrues the fees and emits the event.
    function _clear(uint256 period) internal {
        uint256 feeBps = _clearings[period].feeBps;
        Market memory market = _markets[period];
        if (market.tickCount == 0) {
            // No order came, so fix the current grid and fee now, so that the market reports a price on it.
            market = _currentGrid(market);
            _markets[period] = market;
            feeBps = _gridFeeBps;
        }
        if (_zonesOf[period] != 0) return _clearZones(period, market, feeBps);
        uint256 book = _bookKey(period, 0);
        (Clearing memory result, uint256 surplus) =
            AuctionClearing.clear(_ticks, book, market, _bidTicks[book], _askTicks[book], feeBps);
        _clearings[period] = result;
        // slither-disable-next-line costly-loop: it is one warm write per cleared market, and at most one per reading of a metered batch
        if (surplus != 0) _accruedFeesPlusOne += surplus;
        emit MarketCleared(
            period,
            result.clearingTick,
            result.clearingPricePerKWh,
            result.volumeWh,
            result.longSide,
            result.marginalTick,
            result.rationedWh,
            result.marginalLevelWh,
            result.feeBps
        );
    }

    // ---- Zones ----
    // A market whose orders all trade on the bus clears alone (AuctionClearing). Once any order names a
    // zone, the market clears across its zones within their links (MarketZones, CoupledClearing): each
    // zone gets its own price and its own rationing, and the market's Clearing reports the bus's price,
    // the volume sold in all zones and LongSide.ZONES, which sends claims to their zone's result.

    /// @dev Clears the market of `period` across its zones. MarketZones reads the books, computes and keeps
    /// each zone's result; the auction stores the bus's price and the volume sold in all zones, and accrues
    /// what buyers pay beyond what sellers net (fees, rounding and the congestion rent).
    function _clearZones(uint256 period, Market memory market, uint256 feeBps) private {
        // slither-disable-next-line calls-loop,reentrancy-benign,reentrancy-events: MarketZones is the admin's, set once; it records the zones' results and calls back only to read the books
        (uint256 busTick, uint256 soldWh, uint256 surplus) = _marketZones.recordClearing(period);
        uint256 busPricePerKWh = market.minPricePerKWh + busTick * market.tickSizePerKWh;
        _clearings[period] =
            Clearing(true, uint8(busTick), 0, LongSide.ZONES, uint16(feeBps), uint80(busPricePerKWh), uint48(soldWh), 0, 0);
        // slither-disable-next-line costly-loop: it is one warm write per cleared market, and at most one per reading of a metered batch
        if (surplus != 0) _accruedFeesPlusOne += surplus;
        emit MarketCleared(period, busTick, busPricePerKWh, soldWh, LongSide.ZONES, 0, 0, 0, feeBps);
    }

    /// @dev Returns the Clearing that pays an order on side `isBid` of zone `zone` in a market that cleared
    /// across zones (LongSide.ZONES in `c`, the market's own result): its zone's side with that side as the
    /// long one, so that orders better than its marginal tick fill in full, orders at it share L of T and
    /// worse ones get nothing. The volume is only marked non-zero, since the marginal fields decide. A
    /// market that cleared alone pays from its own result, so callers ask this only of a market cleared
    /// across zones: a function that returns a struct in memory allocates one, and claims and standing
    /// settlements would otherwise pay for it every time.
    function _zoneClearing(Clearing memory c, uint256 period, uint256 zone, bool isBid)
        internal
        view
        returns (Clearing memory)
    {
        // slither-disable-next-line calls-loop: a view of the MarketZones the admin set once, asked once per claim or settled slot of a bounded batch
        (uint256 tick, uint256 marginalTick, uint256 rationedWh, uint256 levelWh) = _marketZones.sideResult(period, zone, isBid);
        Market storage market = _markets[period];
        return Clearing(
            true,
            uint8(tick),
            uint8(marginalTick),
            isBid ? LongSide.BIDS : LongSide.ASKS,
            c.feeBps,
            uint80(market.minPricePerKWh + tick * market.tickSizePerKWh),
            1,
            uint40(rationedWh),
            uint40(levelWh)
        );
    }

    /// @dev Adds a firm order to its zone's book, refusing it if its tick's side would pass
    /// MAX_TICK_VOLUME_WH, and records that the zone holds orders. Returns the order's word.
    function _joinBook(uint256 period, uint256 zone, uint256 tick, uint256 amountWh, uint256 limitPricePerKWh, bool isBid)
        internal
        returns (AuctionOrder)
    {
        (uint256 beforeWh, uint256 afterWh) = _addToTick(_bookKey(period, zone), tick, amountWh, isBid);
        if (afterWh > MAX_TICK_VOLUME_WH) revert TickVolumeTooLarge(period, tick, afterWh, MAX_TICK_VOLUME_WH);
        if (zone != 0) _markZone(period, zone);
        return AuctionOrderLibrary.pack(period, amountWh, beforeWh, tick, limitPricePerKWh).inZone(zone);
    }

    /// @dev Records that zone `zone` holds orders in the market of `period`.
    function _markZone(uint256 period, uint256 zone) internal {
        uint256 bits = _zonesOf[period];
        if (bits & (1 << zone) == 0) _zonesOf[period] = bits | (1 << zone);
    }

    // ---- Storage reads ----
    // MarketZones reads a market's books straight from storage, as Uniswap v4's periphery reads
    // its pool manager (Extsload), so that neither the clearing across zones nor its views add to the
    // auction's code, which must stay under the 24,576-byte limit.

    /// @inheritdoc IEnergyAuction
    function extsload(bytes32[] calldata slots) external view returns (bytes32[] memory values) {
        values = AuctionSlots.answer(slots);
    }

    /// @inheritdoc IEnergyAuction
    function bookSlots() external view returns (BookSlots memory) {
        return BookSlots(
            AuctionSlots.slotOf(_markets),
            AuctionSlots.slotOf(_clearings),
            AuctionSlots.slotOf(_bidTicks),
            AuctionSlots.slotOf(_askTicks),
            AuctionSlots.slotOf(_ticks),
            AuctionSlots.slotOf(_zonesOf)
        );
    }

    // ---- Price grid ----

    function _setPriceGrid(uint256 minPricePerKWh, uint256 tickSizePerKWh, uint256 maxPricePerKWh) internal {
        if (
            minPricePerKWh == 0 || tickSizePerKWh == 0 || maxPricePerKWh < minPricePerKWh
                || maxPricePerKWh > MAX_PRICE_PER_KWH || (maxPricePerKWh - minPricePerKWh) % tickSizePerKWh != 0
                || (maxPricePerKWh - minPricePerKWh) / tickSizePerKWh >= MAX_TICKS
        ) revert InvalidPriceGrid(minPricePerKWh, tickSizePerKWh, maxPricePerKWh);
        _minPricePerKWh = uint80(minPricePerKWh);
        _tickSizePerKWh = uint80(tickSizePerKWh);
        _tickCount = uint16((maxPricePerKWh - minPricePerKWh) / tickSizePerKWh + 1);
        emit PriceGridUpdated(minPricePerKWh, tickSizePerKWh, maxPricePerKWh);
    }

    /// @dev Returns `market` with the current price grid fixed in it.
    function _currentGrid(Market memory market) internal view returns (Market memory) {
        market.tickCount = _tickCount;
        market.minPricePerKWh = _minPricePerKWh;
        market.tickSizePerKWh = _tickSizePerKWh;
        return market;
    }

    // ---- Time ----

    function _gateClosureTime(uint256 period) internal view returns (uint256) {
        return Math.saturatingSub(Math.saturatingMul(period, _periodLength), _gateClosure);
    }

    /// @dev With standing orders, a market waits for its interval's readings, so it clears at the end of
    /// the interval plus the reading deadline.
    function _clearingTime(uint256 period) internal view returns (uint256) {
        if (_meterRegistry == address(0)) return _gateClosureTime(period);
        return Math.saturatingAdd(Math.saturatingMul(Math.saturatingAdd(period, 1), _periodLength), _readingDeadlineSeconds);
    }

    /// @dev Returns `_clearingTime` for a period that a reading measured, which is the reading's time
    /// divided by the period length. For such a period the sum cannot overflow, so the reading path
    /// skips the saturating arithmetic.
    function _meteredClearingTime(uint256 period) internal view returns (uint256) {
        unchecked {
            return (period + 1) * _periodLength + _readingDeadlineSeconds;
        }
    }

    function _paymentTokenOf(IEnergyVault vault_) private view returns (IERC20) {
        if (address(vault_) == address(0)) revert ZeroAddress();
        return IERC20(vault_.paymentToken());
    }
}
