// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEnergyAuction} from "../IEnergyAuction.sol";
import {GridFees} from "../GridFees.sol";
import {IEnergyVault} from "../../vault/IEnergyVault.sol";
import {VaultCalls} from "../../vault/VaultCalls.sol";
import {ZeroAddress} from "../../utils/GridErrors.sol";
import {AuctionOrder} from "../../types/AuctionOrder.sol";
import {TickVolumes, TickVolumesLibrary} from "../../types/TickVolumes.sol";
import {AuctionClearing, Clearing, Market} from "./AuctionClearing.sol";

/// @title AuctionMarkets
/// @notice The auction's markets as firm and standing orders share them: the configuration, each
/// market's book and result, the price grid and fee rate a market opens with, and its clearing.
/// @dev Abstract: EnergyAuction adds firm orders and claims, StandingOrders the meters' orders.
abstract contract AuctionMarkets is GridFees, Pausable, IEnergyAuction {
    /// @notice Pauses new bids and asks, the readings' standing ones included (the guardian); only the
    /// admin resumes. Clearing, claims, the settlement of placed standing orders and the fee withdrawal
    /// never pause: a pause stops new money coming in, never the way out of escrow.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Most ticks a price grid may have: one 256-bit occupancy word per side.
    uint256 public constant MAX_TICKS = 256;
    /// @notice Longest delivery period.
    uint256 public constant MAX_PERIOD_LENGTH = 7 days;
    /// @notice Longest gate closure.
    uint256 public constant MAX_GATE_CLOSURE = 7 days;
    /// @notice Longest an order's escrow waits for its market's gate to close: markets further ahead take no orders.
    uint256 public constant MAX_LEAD_TIME = 7 days;
    /// @notice Most volume one side of one tick of a market may gather, 1 TWh: running totals fit their
    /// 40 bits, a side's total of a market 48.
    uint256 public constant MAX_TICK_VOLUME_WH = AuctionClearing.MAX_TICK_VOLUME_WH;
    /// @notice Highest price a grid may reach (fits the 80-bit price fields: 10^6 whole units of an 18-decimal token).
    uint256 public constant MAX_PRICE_PER_KWH = 1e24;

    IEnergyVault internal immutable _vault;
    address internal immutable _meterRegistry;
    IERC20 internal immutable _energyToken;
    uint256 internal immutable _periodLength;
    uint256 internal immutable _gateClosure;

    // ---- Storage ----
    // The next three share a slot with the fee recipient and Pausable's flag: a submission to an open
    // market reads the flag, the fee and when it was cut from that one slot. The price grid (read
    // when a market opens) fills the next slot.
    uint16 internal _gridFeeBps;
    uint16 internal _tickCount;
    /// @dev When the fee was last lowered: an ask lowers its market's rate only if that was after the
    /// market could open, so that no other ask reads the market's result slot.
    uint40 internal _feeCutAt;
    uint80 internal _minPricePerKWh;
    uint80 internal _tickSizePerKWh;
    uint32 internal _readingDeadlineSeconds;
    /// @dev Grid fees and the buyers' rounding surplus of cleared markets, plus one: the slot never
    /// returns to zero, so accruing at clearing rewrites it (5,000 gas) instead of creating it (22,100).
    uint256 internal _accruedFeesPlusOne = 1;

    mapping(uint256 period => Market) internal _markets;
    mapping(uint256 period => Clearing) internal _clearings;
    mapping(uint256 period => uint256) internal _bidTicks;
    mapping(uint256 period => uint256) internal _askTicks;
    mapping(uint256 periodAndTick => TickVolumes) internal _ticks;
    mapping(uint256 place => AuctionOrder) internal _orders;

    /// @param meterRegistry_ The SmartMeter whose readings place standing orders; zero for an auction of
    /// firm orders only.
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
        // Zero is a market without standing orders: no meter registry reports to it.
        _meterRegistry = meterRegistry_;
        _energyToken = IERC20(vault_.energyToken());
        _gridFeeBps = uint16(gridFeeBps_);
        _periodLength = periodLengthSeconds;
        // Readings of an interval are sent when it ends; a period's length is the most they may take.
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

    /// @dev A cut is stamped: an ask lowers its market's rate only if the cut came after the market could open.
    function _storeGridFee(uint256 previousBps, uint256 newBps) internal override {
        _gridFeeBps = uint16(newBps);
        if (newBps < previousBps) _feeCutAt = uint40(block.timestamp);
    }

    /// @dev Fees are the auction's vault balance: the recipient is credited there.
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
    // A market fixes the price grid and the fee rate in force at its first order. Its result slot is
    // written from that first order on, so that clearing rewrites it (5,000 gas) instead of creating it.

    /// @dev The market of `period` with its grid fixed (at its first order) and its fee rate lowered for
    /// an ask if the fee was cut after the market could open; the caller writes the market back.
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

    /// @dev If the fee was cut after the market of `period` (gate closing at `closesAt`) could open, its
    /// sellers pay at most the fee in force now.
    function _cutMarketFee(uint256 period, uint256 closesAt) internal {
        if (_feeCutAt + MAX_LEAD_TIME < closesAt) return;
        Clearing storage result = _clearings[period];
        uint16 feeBps = _gridFeeBps;
        if (feeBps < result.feeBps) result.feeBps = feeBps;
    }

    /// @dev Adds an order's volume to its side of its tick unless that passes MAX_TICK_VOLUME_WH; returns
    /// the side's volume there before it (the order's C(i-1)) and with it.
    function _addToTick(uint256 period, uint256 tick, uint256 amountWh, bool isBid)
        internal
        returns (uint256 beforeWh, uint256 afterWh)
    {
        return TickVolumesLibrary.addTo(_ticks, isBid ? _bidTicks : _askTicks, period, tick, amountWh, isBid, MAX_TICK_VOLUME_WH);
    }

    /// @dev Clears a market that may clear and has not: the rule is AuctionClearing's; here its result is
    /// stored, its fees accrued and its event emitted.
    function _clear(uint256 period) internal {
        uint256 feeBps = _clearings[period].feeBps;
        Market memory market = _markets[period];
        if (market.tickCount == 0) {
            // No order came: fix the current grid and fee so that the market reports a price on it.
            market = _currentGrid(market);
            _markets[period] = market;
            feeBps = _gridFeeBps;
        }
        (Clearing memory result, uint256 surplus) =
            AuctionClearing.clear(_ticks, period, market, _bidTicks[period], _askTicks[period], feeBps);
        _clearings[period] = result;
        // slither-disable-next-line costly-loop: one warm write per market cleared, at most one per reading of a metered batch
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

    /// @dev `market` with the current grid fixed in it.
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

    /// @dev With standing orders, a market waits for its interval's readings: its end plus the deadline.
    function _clearingTime(uint256 period) internal view returns (uint256) {
        if (_meterRegistry == address(0)) return _gateClosureTime(period);
        return Math.saturatingAdd(Math.saturatingMul(Math.saturatingAdd(period, 1), _periodLength), _readingDeadlineSeconds);
    }

    /// @dev `_clearingTime` of a period a reading measured (a reading's time / the period length): the
    /// sum cannot overflow, so the reading path skips the saturating arithmetic.
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
