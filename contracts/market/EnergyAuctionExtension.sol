// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyAuction} from "./IEnergyAuction.sol";
import {IEnergyAuctionExtension} from "./IEnergyAuctionExtension.sol";
import {IMarketZones} from "./IMarketZones.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {OrderUnknown} from "../utils/GridErrors.sol";
import {BitMath} from "../utils/BitMath.sol";
import {AuctionOrder} from "../types/AuctionOrder.sol";
import {AuctionOrderId} from "../types/AuctionOrderId.sol";
import {BookWords} from "./auction/BookWords.sol";
import {AuctionClearing} from "./auction/AuctionClearing.sol";
import {AuctionCommon} from "./auction/AuctionCommon.sol";
import {AuctionState} from "./auction/AuctionState.sol";
import {Clearing, Market} from "./auction/AuctionStorage.sol";

/// @title EnergyAuctionExtension
/// @notice The auction's rarely called functions, its settings and views, kept out of the auction's own
/// code so that the auction stays well under the code-size limit, as Balancer's vault keeps its extension.
/// The auction calls this contract by delegatecall for every function it does not hold, so each of these
/// runs on the auction's storage (AuctionStorage, which both inherit) at the auction's address.
/// @dev Called directly, at its own address, the extension has no market and refuses every call
/// (NotThroughAuction), except `extensionSettings`, which the auction reads at its deployment.
// slither-disable-next-line missing-inheritance: its pause is the auction's, which is the pausable target
contract EnergyAuctionExtension is AuctionCommon, IEnergyAuctionExtension {
    /// @dev This contract's own address, which a delegatecall never runs at.
    address private immutable _self;

    /// @param meterRegistry_ The SmartMeter whose readings place standing orders, or zero for an auction that
    /// takes firm orders only. Every setting must be the auction's own, which the auction checks.
    constructor(
        IEnergyVault vault_,
        address meterRegistry_,
        address feeRecipient_,
        uint256 gridFeeBps_,
        uint256 periodLengthSeconds,
        uint256 gateClosureSeconds
    ) AuctionCommon(vault_, meterRegistry_, feeRecipient_, gridFeeBps_, periodLengthSeconds, gateClosureSeconds) {
        _self = address(this);
    }

    modifier throughAuction() {
        _throughAuction();
        _;
    }

    // ---- Admin ----

    /// @inheritdoc IEnergyAuctionExtension
    function setMarketZones(address zones) external throughAuction onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(_marketZones) != address(0)) revert IEnergyAuction.MarketZonesAlreadySet(address(_marketZones));
        address itsAuction = IMarketZones(zones).auction();
        if (itsAuction != address(this)) revert IEnergyAuction.MarketZonesMismatch(zones, itsAuction);
        _marketZones = IMarketZones(zones);
        emit IEnergyAuction.MarketZonesSet(zones);
    }

    /// @inheritdoc IEnergyAuctionExtension
    function setPriceGrid(uint256 minPricePerKWh, uint256 tickSizePerKWh, uint256 maxPricePerKWh)
        external
        throughAuction
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setPriceGrid(minPricePerKWh, tickSizePerKWh, maxPricePerKWh);
    }

    /// @inheritdoc IEnergyAuctionExtension
    function pause() external throughAuction onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IEnergyAuctionExtension
    function unpause() external throughAuction onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ---- Views ----

    /// @inheritdoc IEnergyAuctionExtension
    function periodLength() external view throughAuction returns (uint256) {
        return _periodLength;
    }

    /// @inheritdoc IEnergyAuctionExtension
    function gateClosure() external view throughAuction returns (uint256) {
        return _gateClosure;
    }

    /// @inheritdoc IEnergyAuctionExtension
    function minPrice() external view throughAuction returns (uint256) {
        return _minPricePerKWh;
    }

    /// @inheritdoc IEnergyAuctionExtension
    function tickSize() external view throughAuction returns (uint256) {
        return _tickSizePerKWh;
    }

    /// @inheritdoc IEnergyAuctionExtension
    function maxPrice() external view throughAuction returns (uint256) {
        return uint256(_minPricePerKWh) + (uint256(_tickCount) - 1) * _tickSizePerKWh;
    }

    /// @inheritdoc IEnergyAuctionExtension
    function tickCount() external view throughAuction returns (uint256) {
        return _tickCount;
    }

    /// @inheritdoc IEnergyAuctionExtension
    function currentPeriod() external view throughAuction returns (uint256) {
        return block.timestamp / _periodLength;
    }

    /// @inheritdoc IEnergyAuctionExtension
    function gateClosureTime(uint256 period) external view throughAuction returns (uint256) {
        return _gateClosureTime(period);
    }

    /// @inheritdoc IEnergyAuctionExtension
    function getMarket(uint256 period) external view throughAuction returns (IEnergyAuction.MarketInfo memory) {
        Market memory market = _markets[period];
        Clearing memory c = _clearings[period];
        // The marginal level's L and T are zero unless one side is long.
        return IEnergyAuction.MarketInfo(
            c.clearingPricePerKWh != 0,
            market.orderCount,
            market.tickCount,
            market.minPricePerKWh,
            market.tickSizePerKWh,
            c.clearingTick,
            c.clearingPricePerKWh,
            c.volumeWh,
            c.feeBps,
            c.longSide,
            c.marginalTick,
            c.rationedWh,
            c.marginalLevelWh
        );
    }

    /// @inheritdoc IEnergyAuctionExtension
    function getTickVolumes(uint256 period)
        external
        view
        throughAuction
        returns (uint256[] memory bidVolumesWh, uint256[] memory askVolumesWh)
    {
        uint256 n = _markets[period].tickCount;
        if (n == 0) n = _tickCount;
        bidVolumesWh = new uint256[](n);
        askVolumesWh = new uint256[](n);
        uint256 book = _bookKey(period, 0);
        uint256 occupied = _occupiedTicks[book];
        // A market cleared across zones keeps the bus's result in its occupancy words, so every tick is read.
        if (_clearings[period].longSide == IEnergyAuction.LongSide.ZONES) occupied = AuctionState.everyTick(n);
        for (; occupied != 0; occupied &= occupied - 1) {
            uint256 tick = BitMath.lowestBit(occupied);
            (bidVolumesWh[tick], askVolumesWh[tick]) = BookWords.read(_ticks, book, tick).volumesWh(tick);
        }
    }

    /// @inheritdoc IEnergyAuctionExtension
    function bookSlots() external view throughAuction returns (IEnergyAuction.BookSlots memory) {
        return IEnergyAuction.BookSlots(
            AuctionState.slotOf(_markets),
            AuctionState.slotOf(_clearings),
            AuctionState.slotOf(_occupiedTicks),
            AuctionState.slotOf(_ticks),
            AuctionState.slotOf(_zonesOf)
        );
    }

    /// @inheritdoc IEnergyAuctionExtension
    function nonces(address trader) external view throughAuction returns (uint256) {
        return _nonces[trader];
    }

    /// @inheritdoc IEnergyAuctionExtension
    function getOrder(uint256 orderId) external view throughAuction returns (IEnergyAuction.OrderInfo memory) {
        AuctionOrderId id = AuctionOrderId.wrap(orderId);
        AuctionOrder order = _knownOrder(id);
        return IEnergyAuction.OrderInfo({
            trader: id.trader(),
            period: order.period(),
            isBid: id.isBid(),
            amountWh: order.amountWh(),
            limitPricePerKWh: order.limitPricePerKWh(),
            tick: order.tick(),
            volumeBeforeWh: order.volumeBeforeWh(),
            claimed: order.claimed(),
            zone: order.zone()
        });
    }

    /// @inheritdoc IEnergyAuctionExtension
    function getOrderOutcome(uint256 orderId) external view throughAuction returns (IEnergyAuction.OrderOutcome memory out) {
        AuctionOrderId id = AuctionOrderId.wrap(orderId);
        AuctionOrder order = _knownOrder(id);
        Clearing memory c = _clearings[order.period()];
        if (c.clearingPricePerKWh == 0) revert IEnergyAuction.MarketNotCleared(order.period());
        if (c.longSide == IEnergyAuction.LongSide.ZONES) c = _zoneClearing(c, order.period(), order.zone(), id.isBid());
        out = AuctionClearing.outcome(id.isBid(), order, c);
        out.claimed = order.claimed();
    }

    /// @inheritdoc IEnergyAuctionExtension
    function energyToken() external view throughAuction returns (address) {
        return address(_energyToken);
    }

    /// @inheritdoc IEnergyAuctionExtension
    function paymentToken() external view throughAuction returns (address) {
        return address(_paymentToken);
    }

    /// @inheritdoc IEnergyAuctionExtension
    function extensionSettings()
        external
        view
        returns (address extension, address vault, address meterRegistry, uint256 periodLengthSeconds, uint256 gateClosureSeconds)
    {
        return (_self, address(_vault), _meterRegistry, _periodLength, _gateClosure);
    }

    // ---- Internals ----

    /// @dev Returns the order an id names. Reverts if its place never held an order or has moved on to a
    /// later one.
    function _knownOrder(AuctionOrderId id) private view returns (AuctionOrder order) {
        order = _orders[id.storageKey()];
        if (order.period() == 0) revert OrderUnknown(AuctionOrderId.unwrap(id));
        if (order.period() != id.period()) revert IEnergyAuction.OrderSlotReused(AuctionOrderId.unwrap(id), order.period());
    }

    function _throughAuction() private view {
        if (address(this) == _self) revert NotThroughAuction();
    }
}
