// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMeteredMarket} from "../../metering/IMeteredMarket.sol";
import {VaultCalls} from "../../vault/VaultCalls.sol";
import {OrderMath} from "../../utils/OrderMath.sol";
import {FreeMemory} from "../../utils/FreeMemory.sol";
import {MeteredSlot, MeteredSlotLibrary} from "../../types/MeteredSlot.sol";
import {BookWords} from "./BookWords.sol";
import {AuctionClearing} from "./AuctionClearing.sol";
import {Clearing, Market} from "./AuctionStorage.sol";
import {AuctionMarkets} from "./AuctionMarkets.sol";
import {MeteredEntries} from "../../metering/MeteredEntries.sol";
import {OwnerLocks} from "./OwnerLocks.sol";

/// @title StandingOrders
/// @notice This contract implements the meters' standing orders (IMeteredMarket). Each reading places
/// what its meter exported as an ask and what it imported as a bid, at the owner's standing limits, in
/// the market of the interval it measured. The same reading also settles the meter's orders of an
/// earlier interval.
/// @dev Standing orders are placed after the fact: an order is placed once its interval is over, from
/// the energy the meter measured, so it never offers energy that was not produced and never buys more
/// than was consumed. For the same reason a market waits for its interval's readings (the reading
/// deadline) before it clears. A meter keeps its orders in one of two slots, chosen by the period's
/// parity (MeteredSlot). Placing an interval settles the interval that used the slot two periods
/// before; that market has cleared by then, or is cleared on the spot if nobody has cleared it.
/// Settling marks the slot instead of deleting it, so that the next placement rewrites a used slot
/// rather than creating a new one. Everything a batch of readings would read more than once (its
/// market, the last market it settled and the owners' balances) is read once and carried in a
/// MeteredBatch.
abstract contract StandingOrders is AuctionMarkets {
    /// @dev The state a batch of metered entries carries from one reading to the next. It holds the
    /// reading at hand, the one market its readings place in (read and written once per batch), the last
    /// market whose orders it settled (whose result is read once), the bids' locks and the energy bought.
    struct MeteredBatch {
        address meter;
        address owner;
        uint256 period;
        uint256 freePayment; // The owner's free vault balance when the batch began.
        MeteredSlot placed; // The meter's slot for `period`, as it will be written.
        uint256 marketPeriod; // Zero while the batch has not placed in any market yet.
        Market market;
        bool marketOpen; // True while `marketPeriod` still takes its interval's readings.
        bool feeChecked; // True once any fee cut has been applied to `marketPeriod` for its asks.
        uint256 clearedPeriod; // Zero while the batch has not settled in any market yet.
        Clearing clearing;
        uint256 clearedMinPricePerKWh; // The settled market's grid, since a standing bid's limit is its tick.
        uint256 clearedTickSizePerKWh;
        OwnerLocks.Table locks; // What the owners' bids of the batch have locked so far.
        uint256 retiredWh;
        bool paused; // Read with `marketOpen`. A paused market places nothing but still settles.
    }

    // ---- Readings ----

    /// @inheritdoc IMeteredMarket
    // slither-disable-next-line reentrancy-no-eth,reentrancy-events: the only call before these writes is a view of the MarketZones the admin set once (a staticcall, which cannot write), for a slot of a market cleared across zones
    function recordMetered(uint256[] calldata entries) external {
        if (msg.sender != _meterRegistry) revert NotMeterRegistry(msg.sender);
        uint256 count = MeteredEntries.count(entries);
        address[] memory owners = MeteredEntries.owners(entries, count);
        (uint256[] memory free, bool[] memory approved) = VaultCalls.paymentsFor(_vault, owners);
        int256[] memory energyDeltasWh = new int256[](count);
        int256[] memory paymentDeltas = new int256[](count);
        // slither-disable-next-line uninitialized-local: every field starts at zero, meaning no market has been placed in or settled yet
        MeteredBatch memory b;
        b.locks = OwnerLocks.create(count);
        // The vault answers with one entry per owner, so every array has `count` entries.
        for (uint256 i; i < count;) {
            (uint256 meterAndEnergy, uint256 ownerAndTime, uint256 limits, uint256 freePayment, bool isApproved) =
                MeteredEntries.at(entries, free, approved, i);
            (b.meter, b.owner, b.freePayment) =
                (MeteredEntries.meter(meterAndEnergy), MeteredEntries.owner(ownerAndTime), freePayment);
            uint256 readAt = MeteredEntries.time(ownerAndTime);
            (int256 energyDeltaWh, int256 paymentDelta) = readAt == 0
                ? _settleDue(b)
                : _recordOne(meterAndEnergy, readAt / _periodLength, limits, isApproved, b);
            MeteredEntries.setDeltas(energyDeltasWh, paymentDeltas, i, energyDeltaWh, paymentDelta);
            unchecked {
                ++i;
            }
        }
        if (b.marketPeriod != 0) _markets[b.marketPeriod] = b.market;
        VaultCalls.settleBatch(_vault, owners, energyDeltasWh, paymentDeltas);
        if (b.retiredWh != 0) _vault.retireEnergy(b.retiredWh);
    }

    /// @inheritdoc IMeteredMarket
    function setReadingDeadline(uint256 deadlineSeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 previousSeconds = _readingDeadlineSeconds;
        // A later deadline must not reopen the market of the interval just ended once its clearing time has
        // passed: it may be cleared, or half-way through its steps, from books that must stay as they are.
        // Only that interval can reopen, since a deadline is at most one period; until the next period
        // ends, the longest deadline that keeps it closed is the time since its end.
        uint256 maxSeconds = _periodLength;
        // slither-disable-next-line weak-prng: the time since the last period's end, not a random number
        uint256 sinceEndSeconds = block.timestamp % maxSeconds;
        if (previousSeconds <= sinceEndSeconds) maxSeconds = sinceEndSeconds;
        if (deadlineSeconds > maxSeconds) revert InvalidReadingDeadline(deadlineSeconds, maxSeconds);
        _readingDeadlineSeconds = uint32(deadlineSeconds);
        emit ReadingDeadlineUpdated(previousSeconds, deadlineSeconds);
    }

    // ---- Views ----

    /// @inheritdoc IMeteredMarket
    function getMeteredOrders(address meter) external view returns (MeteredOrders[2] memory orders) {
        for (uint256 parity; parity < 2; ++parity) {
            MeteredSlot placed = _placed[MeteredSlotLibrary.key(meter, parity)];
            (uint256 askTick, uint256 askWh, uint256 askBeforeWh) = placed.ask();
            (uint256 bidTick, uint256 bidWh, uint256 bidBeforeWh) = placed.bid();
            orders[parity] =
                MeteredOrders(placed.period(), placed.isSettled(), askWh, askTick, askBeforeWh, bidWh, bidTick, bidBeforeWh);
        }
    }

    /// @inheritdoc IMeteredMarket
    function coveredConsumptionWh(address meter) external view returns (uint256 coveredWh) {
        for (uint256 parity; parity < 2; ++parity) {
            MeteredSlot placed = _placed[MeteredSlotLibrary.key(meter, parity)];
            uint256 retiredWh = placed.retiredWh();
            // A full ledger has stopped counting, so all of the meter's consumption reads as covered.
            if (retiredWh == MeteredSlotLibrary.RETIRED_MAX) return type(uint256).max;
            coveredWh += retiredWh;
            // A bid that has not settled yet may still buy everything it bid for.
            if (!placed.isSettled()) coveredWh += placed.bidWh();
        }
    }

    /// @inheritdoc IMeteredMarket
    function readingDeadline() external view returns (uint256) {
        return _readingDeadlineSeconds;
    }

    /// @inheritdoc IMeteredMarket
    function clearingTime(uint256 period) external view returns (uint256) {
        return _clearingTime(period);
    }

    /// @inheritdoc IMeteredMarket
    function vault() external view returns (address) {
        return address(_vault);
    }

    /// @inheritdoc IMeteredMarket
    function meterRegistry() external view returns (address) {
        return _meterRegistry;
    }

    /// @inheritdoc IMeteredMarket
    function marketZones() external view returns (address) {
        return address(_marketZones);
    }

    // ---- Placing ----
    // A reading places its interval's export and import only once, so a later reading of the same
    // interval leaves its energy unplaced (ALREADY_PLACED). Nothing is placed while the auction is
    // paused or after the market's reading deadline, and every skipped order reports the reason in
    // MeteredOrderSkipped.

    /// @dev Settles the meter's slot for an earlier interval if it is still open, and then places the
    /// reading's export and import at the standing `limits`, which is the registry's packed word (see
    /// IMeteredMarket), in the meter's zone. `meterAndEnergy` is the entry's first word. Returns the
    /// owner's net movements in the vault.
    // slither-disable-next-line reentrancy-no-eth,reentrancy-events: the only call before these writes is a view of the MarketZones the admin set once (a staticcall, which cannot write), for a slot of a market cleared across zones
    function _recordOne(uint256 meterAndEnergy, uint256 period, uint256 limits, bool approved, MeteredBatch memory b)
        private
        returns (int256 energyDeltaWh, int256 paymentDelta)
    {
        b.period = period;
        uint256 key = MeteredSlotLibrary.key(b.meter, period);
        MeteredSlot placed = _placed[key];
        bool changed = false;
        if (placed.period() != period) {
            if (placed.period() != 0 && !placed.isSettled()) {
                (energyDeltaWh, paymentDelta, placed) = _settle(placed, b);
                changed = true;
            }
            placed = placed.startInterval(period, _standingZone(MeteredEntries.zone(meterAndEnergy)));
        }
        b.placed = placed;
        uint256 energy = MeteredEntries.energy(meterAndEnergy);
        if (energy == 0) {
            // There is nothing to place, so the reading only settled the earlier interval.
        } else if (!approved) {
            _skip(b, SkipReason.NOT_APPROVED);
        } else if (!_meteredMarketOpen(b)) {
            _skip(b, b.paused ? SkipReason.PAUSED : SkipReason.MARKET_CLOSED);
        } else {
            (uint256 exportWh, uint256 importWh) = MeteredEntries.exportAndImportWh(energy);
            (uint256 askWh, uint256 escrow) = _placeStanding(exportWh, importWh, limits, b);
            // An ask fits 40 bits and an escrow stays below 2^200, so the deltas stay far from the int256 bounds.
            unchecked {
                energyDeltaWh -= int256(askWh);
                paymentDelta -= int256(escrow);
            }
            changed = true;
        }
        if (changed) _placed[key] = b.placed;
    }

    /// @dev The zone a reading's orders trade in: the one its registry gives, or the bus while this market
    /// has no zones, so that a zone the registry kept from another market cannot send this market's
    /// clearing to a MarketZones it does not have.
    function _standingZone(uint256 zone) private view returns (uint256) {
        return zone != 0 && address(_marketZones) == address(0) ? 0 : zone;
    }

    /// @dev Returns whether the market of `b.period` takes readings now. It does not while the auction is
    /// paused (`b.paused`), nor after the period's reading deadline or clearing. That market becomes the
    /// batch's market, after the previous one is written back, and it opens with the current grid at its
    /// first order.
    function _meteredMarketOpen(MeteredBatch memory b) private returns (bool) {
        uint256 period = b.period;
        if (period == b.marketPeriod) return b.marketOpen;
        if (b.marketPeriod != 0) _markets[b.marketPeriod] = b.market;
        b.marketPeriod = period;
        b.feeChecked = false;
        // The flag is read once per batch, with the market, because it shares its slot with the fee,
        // which is read here anyway.
        b.paused = paused();
        b.marketOpen = !b.paused && block.timestamp < _meteredClearingTime(period) && _clearings[period].clearingPricePerKWh == 0;
        if (b.marketOpen) b.market = _openMarket(period, true, 0);
        else b.marketPeriod = 0;
        return b.marketOpen;
    }

    /// @dev Places what the reading metered on each side that the limits trade; IMeteredMarket explains
    /// how limits are rounded and how bids are cut. Updates `b.placed` and returns the Wh offered and the
    /// payment that the bid locks.
    function _placeStanding(uint256 exportWh, uint256 importWh, uint256 limits, MeteredBatch memory b)
        private
        returns (uint256 askWh, uint256 escrow)
    {
        (uint256 sellPricePerKWh, uint256 buyPricePerKWh, uint256 sellCapWh, uint256 buyCapWh) = MeteredEntries.limitsOf(limits);
        uint256 bidWh = 0;
        if (sellPricePerKWh != 0) {
            if (!b.feeChecked) {
                b.feeChecked = true;
                _cutMarketFee(b.period, _gateClosureTime(b.period));
            }
            if (exportWh != 0) askWh = _placeAsk(exportWh, sellPricePerKWh, sellCapWh, b);
        }
        if (buyPricePerKWh != 0 && importWh != 0) (bidWh, escrow) = _placeBid(importWh, buyPricePerKWh, buyCapWh, b);
        if (askWh != 0 || bidWh != 0) b.placed = b.placed.markUnsettled();
    }

    function _placeAsk(uint256 exportWh, uint256 pricePerKWh, uint256 capWh, MeteredBatch memory b)
        private
        returns (uint256 askWh)
    {
        askWh = capWh != 0 && capWh < exportWh ? capWh : exportWh;
        (bool onGrid, uint256 tick) = _standingTick(b.market, pricePerKWh, true);
        askWh = onGrid ? _placeSide(b, tick, askWh, false) : _skip(b, SkipReason.PRICE_OFF_GRID);
    }

    /// @dev A bid is cut to what the owner's free balance covers, after subtracting what the bids of the
    /// owner's other meters in the same batch have locked.
    function _placeBid(uint256 importWh, uint256 limitPricePerKWh, uint256 capWh, MeteredBatch memory b)
        private
        returns (uint256 bidWh, uint256 escrow)
    {
        Market memory market = b.market;
        (bool onGrid, uint256 tick) = _standingTick(market, limitPricePerKWh, false);
        if (!onGrid) return (_skip(b, SkipReason.PRICE_OFF_GRID), 0);
        bidWh = capWh != 0 && capWh < importWh ? capWh : importWh;
        uint256 lock = OwnerLocks.lockOf(b.locks, b.owner);
        uint256 spent = OwnerLocks.locked(lock);
        uint256 freePayment = b.freePayment;
        // Grid prices fit 80 bits, balances 112 bits and bids 40 bits, so nothing here comes near 2^256.
        unchecked {
            uint256 pricePerKWh = uint256(market.minPricePerKWh) + tick * market.tickSizePerKWh;
            uint256 affordableWh = freePayment > spent ? (freePayment - spent) * OrderMath.WH_PER_KWH / pricePerKWh : 0;
            if (affordableWh < bidWh) bidWh = affordableWh;
            if (bidWh == 0) return (_skip(b, SkipReason.NOTHING_FREE), 0);
            bidWh = _placeSide(b, tick, bidWh, true);
            escrow = OrderMath.ceilMilli(bidWh * pricePerKWh);
            OwnerLocks.setLocked(lock, spent + escrow);
        }
    }

    /// @dev Adds `amountWh` to one side of a meter's slot and joins the tick's queue. Each side of an
    /// interval is placed only once. Returns the amount placed.
    function _placeSide(MeteredBatch memory b, uint256 tick, uint256 amountWh, bool isBid) private returns (uint256) {
        if ((isBid ? b.placed.bidWh() : b.placed.askWh()) != 0) return _skip(b, SkipReason.ALREADY_PLACED);
        uint256 zone = b.placed.zone();
        (uint256 beforeWh, uint256 afterWh) = BookWords.addTo(
            _ticks, _occupiedTicks, _clearings, _bookKey(b.period, zone), tick, amountWh, isBid, MAX_TICK_VOLUME_WH
        );
        // As long as the tick stays within its bound, every volume in the slot fits its 40 bits.
        if (afterWh > MAX_TICK_VOLUME_WH) return _skip(b, SkipReason.TICK_FULL);
        if (zone != 0) _markZone(b.period, zone);
        // A market's bids stay below 256 ticks of MAX_TICK_VOLUME_WH, which is under 2^48.
        unchecked {
            if (isBid) b.market.bidVolumeWh += uint48(amountWh);
        }
        b.placed = isBid ? b.placed.withBid(tick, amountWh, beforeWh) : b.placed.withAsk(tick, amountWh, beforeWh);
        return amountWh;
    }

    function _skip(MeteredBatch memory b, SkipReason reason) private returns (uint256) {
        emit MeteredOrderSkipped(b.meter, b.period, reason);
        return 0;
    }

    /// @dev Returns a standing limit's tick on the market's grid, rounded in the owner's favour: a sell
    /// limit rounds up and a buy limit rounds down. Returns false if the limit lies beyond the grid on
    /// the side where it would trade nothing.
    function _standingTick(Market memory market, uint256 pricePerKWh, bool isSell)
        private
        pure
        returns (bool onGrid, uint256 tick)
    {
        uint256 minPricePerKWh = market.minPricePerKWh;
        uint256 stepPerKWh = market.tickSizePerKWh;
        // A market's grid has at least one tick and a step above zero, and limits are below 2^96.
        unchecked {
            uint256 top = uint256(market.tickCount) - 1;
            if (isSell) {
                if (pricePerKWh <= minPricePerKWh) return (true, 0);
                tick = (pricePerKWh - minPricePerKWh + stepPerKWh - 1) / stepPerKWh;
                return (tick <= top, tick);
            }
            if (pricePerKWh < minPricePerKWh) return (false, 0);
            tick = (pricePerKWh - minPricePerKWh) / stepPerKWh;
            return (true, tick > top ? top : tick);
        }
    }

    // ---- Settling ----
    // A slot settles once its market may clear. Either the meter's reading two intervals later settles
    // it, or an entry without a time does, which is how anyone's settlement batch arrives through the
    // registry. Its orders get exactly what firm orders of the same size, tick and arrival would get
    // (AuctionClearing.outcome). The energy its bid bought is retired, because it was bought for
    // consumption that has already happened.

    /// @dev Settles each of the meter's two slots whose market may clear and that is not settled yet.
    // slither-disable-next-line reentrancy-no-eth: the only call before these writes is a view of the MarketZones the admin set once (a staticcall, which cannot write), for a slot of a market cleared across zones
    function _settleDue(MeteredBatch memory b) private returns (int256 energyDeltaWh, int256 paymentDelta) {
        for (uint256 parity; parity < 2; ++parity) {
            uint256 key = MeteredSlotLibrary.key(b.meter, parity);
            MeteredSlot placed = _placed[key];
            uint256 period = placed.period();
            if (period == 0 || placed.isSettled() || block.timestamp < _meteredClearingTime(period)) continue;
            (int256 e, int256 p, MeteredSlot settled) = _settle(placed, b);
            _placed[key] = settled;
            energyDeltaWh += e;
            paymentDelta += p;
        }
    }

    /// @dev Pays out a placed slot whose market may clear, clearing the market first if nobody has. The
    /// owner gets the ask's proceeds, its unsold energy and the bid's unused lock; the energy bought is
    /// retired and added to the slot's ledger. Returns the owner's movements and the settled slot, which
    /// the caller either writes or carries on.
    // slither-disable-next-line reentrancy-events: the only call before these writes is a view of the MarketZones the admin set once (a staticcall, which cannot write), for a slot of a market cleared across zones
    function _settle(MeteredSlot placed, MeteredBatch memory b)
        private
        returns (int256 energyDeltaWh, int256 paymentDelta, MeteredSlot settled)
    {
        settled = placed.markSettled();
        {
            uint256 period = placed.period();
            if (period != b.clearedPeriod) {
                if (_clearings[period].clearingPricePerKWh == 0) _clear(period);
                Market storage market = _markets[period];
                (b.clearedPeriod, b.clearing, b.clearedMinPricePerKWh, b.clearedTickSizePerKWh) =
                    (period, _clearings[period], market.minPricePerKWh, market.tickSizePerKWh);
            }
        }
        // The memory that the outcomes below allocate, for a market cleared across zones, is no longer
        // needed once the event is emitted. It is handed back so that a batch's memory, whose cost grows
        // with its square, does not grow with the number of readings.
        uint256 freeMemory = FreeMemory.pointer();
        // The event's figures, packed as IMeteredMarket lays them out (the period and four volumes of at most
        // 40 bits, two payments below 2^112), gathered side by side so that few values stay on the stack.
        uint256 periodAndVolumes;
        uint256 payments = 0;
        // Fills, payments and refunds of 40-bit orders at 80-bit prices stay far below 2^255.
        unchecked {
            uint256 askWh = placed.askWh();
            uint256 soldWh = 0;
            if (askWh != 0) {
                (uint256 filledWh, uint256 payment, uint256 fee, uint256 refund) = _outcomeOf(placed, false, b);
                (soldWh, payments) = (filledWh, payment - fee);
                energyDeltaWh = int256(refund);
                paymentDelta = int256(payments);
            }
            periodAndVolumes = b.clearedPeriod | (askWh << 40) | (soldWh << 80);
            uint256 bidWh = placed.bidWh();
            if (bidWh != 0) {
                (uint256 boughtWh, uint256 paid,, uint256 refund) = _outcomeOf(placed, true, b);
                paymentDelta += int256(refund);
                b.retiredWh += boughtWh;
                settled = settled.addRetired(boughtWh);
                periodAndVolumes |= (bidWh << 120) | (boughtWh << 160);
                payments |= paid << 128;
            }
            emit MeteredOrdersSettled(b.meter, periodAndVolumes, payments);
        }
        // Nothing allocated since the pointer was read is used again.
        FreeMemory.release(freeMemory);
    }

    /// @dev Returns what one side of a placed slot gets in its cleared market (`b.clearedPeriod` with
    /// result `b.clearing`), which is what a firm order of the same size, tick and C(i-1) would get: its
    /// fill, payment, fee and refund (AuctionClearing.outcomeOf). A standing bid's limit is its tick's
    /// price on the market's grid; an ask's limit plays no part in its outcome. Only a market cleared
    /// across zones needs a result of the slot's zone, so only then is one built.
    function _outcomeOf(MeteredSlot placed, bool isBid, MeteredBatch memory b)
        private
        view
        returns (uint256 filledWh, uint256 payment, uint256 fee, uint256 refund)
    {
        (uint256 tick, uint256 amountWh, uint256 beforeWh) = isBid ? placed.bid() : placed.ask();
        Clearing memory c = b.clearing;
        if (c.longSide == LongSide.ZONES) c = _zoneClearing(c, b.clearedPeriod, placed.zone(), isBid);
        // Grid prices fit 80 bits, so the limit price cannot overflow.
        unchecked {
            uint256 limitPricePerKWh = isBid ? b.clearedMinPricePerKWh + tick * b.clearedTickSizePerKWh : 0;
            return AuctionClearing.outcomeOf(isBid, tick, amountWh, beforeWh, limitPricePerKWh, c);
        }
    }
}
