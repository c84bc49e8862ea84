// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMeteredMarket} from "../../metering/IMeteredMarket.sol";
import {VaultCalls} from "../../vault/VaultCalls.sol";
import {OrderMath} from "../../utils/OrderMath.sol";
import {FreeMemory} from "../../utils/FreeMemory.sol";
import {AuctionOrder, AuctionOrderLibrary} from "../../types/AuctionOrder.sol";
import {MeteredSlot, MeteredSlotLibrary} from "../../types/MeteredSlot.sol";
import {TickVolumesLibrary} from "../../types/TickVolumes.sol";
import {AuctionClearing, Clearing, Market} from "./AuctionClearing.sol";
import {AuctionMarkets} from "./AuctionMarkets.sol";
import {MeteredEntries} from "../../metering/MeteredEntries.sol";

/// @title StandingOrders
/// @notice The meters' standing orders (IMeteredMarket): each reading places what its meter exported
/// as an ask and what it imported as a bid, at the owner's standing limits, in the market of the
/// interval it measured, and settles the meter's orders of an earlier interval.
/// @dev Ex post: a standing order is placed after its interval, from the energy the meter measured,
/// so it never offers energy that was not produced nor buys more than was consumed; the market waits
/// for its interval's readings (the reading deadline) before it clears. A meter keeps its orders in
/// one of two slots by the period's parity (MeteredSlot): placing an interval settles the slot's
/// interval two periods before, which has cleared by then (clearing it on the spot if nobody has).
/// Settling marks the slot instead of deleting it, so that the next placement rewrites a used slot
/// rather than creating one. Everything a batch of readings reads more than once (its market, the
/// last market it settled, the owners' balances) is read once and carried in a MeteredBatch.
abstract contract StandingOrders is AuctionMarkets {
    /// @dev What a batch of metered entries carries from one reading to the next: the reading at hand,
    /// the one market its readings place in (read and written once a batch), the last market whose
    /// orders it settled (its result read once), the bids' locks and the energy bought.
    struct MeteredBatch {
        address meter;
        address owner;
        uint256 period;
        uint256 freePayment; // the owner's free vault balance when the batch began
        MeteredSlot placed; // the meter's slot for `period` as it will be written
        uint256 marketPeriod; // 0 = no market placed in yet
        Market market;
        bool marketOpen; // `marketPeriod` still takes its interval's readings
        bool feeChecked; // a cut of the fee has been applied to `marketPeriod` for its asks
        uint256 clearedPeriod; // 0 = no market settled yet
        Clearing clearing;
        uint256 clearedMinPricePerKWh; // the settled market's grid: a standing bid's limit is its tick
        uint256 clearedTickSizePerKWh;
        BatchLocks locks;
        uint256 retiredWh;
        bool paused; // read with `marketOpen`: a paused market places nothing, and still settles
    }

    /// @dev What the standing bids of one batch have locked of each owner's free balance so far: an
    /// owner with several meters in a batch is read once from the vault. An open-addressing table in
    /// memory, at most half full, keyed by the owner's address (whose low bits are as good as random).
    struct BatchLocks {
        address[] owners; // 0 = an empty place
        uint256[] locked;
        uint256 mask; // places - 1, a power of two minus one
    }

    /// @dev The orders one reading (or the readings of one interval) placed for a meter, by meter and
    /// the period's parity (MeteredSlotLibrary.key).
    mapping(uint256 meterAndParity => MeteredSlot) private _placed;

    // ---- Readings ----

    /// @inheritdoc IMeteredMarket
    function recordMetered(uint256[] calldata entries) external {
        if (msg.sender != _meterRegistry) revert NotMeterRegistry(msg.sender);
        uint256 count = MeteredEntries.count(entries);
        address[] memory owners = MeteredEntries.owners(entries, count);
        (uint256[] memory free, bool[] memory approved) = VaultCalls.paymentsFor(_vault, owners);
        int256[] memory energyDeltasWh = new int256[](count);
        int256[] memory paymentDeltas = new int256[](count);
        // slither-disable-next-line uninitialized-local: every field starts at zero: no market placed in or settled yet
        MeteredBatch memory b;
        b.locks = _newLocks(count);
        // The vault answers one entry per owner: every array has `count` entries.
        for (uint256 i; i < count;) {
            (uint256 meterAndEnergy, uint256 ownerAndTime, uint256 limits, uint256 freePayment, bool isApproved) =
                MeteredEntries.at(entries, free, approved, i);
            (b.meter, b.owner, b.freePayment) =
                (MeteredEntries.meter(meterAndEnergy), MeteredEntries.owner(ownerAndTime), freePayment);
            uint256 readAt = MeteredEntries.time(ownerAndTime);
            (int256 energyDeltaWh, int256 paymentDelta) = readAt == 0
                ? _settleDue(b)
                : _recordOne(MeteredEntries.energy(meterAndEnergy), readAt / _periodLength, limits, isApproved, b);
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
        if (deadlineSeconds > _periodLength) revert InvalidReadingDeadline(deadlineSeconds, _periodLength);
        uint256 previousSeconds = _readingDeadlineSeconds;
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
            // A full ledger stopped counting: all of the meter's consumption reads as covered.
            if (retiredWh == MeteredSlotLibrary.RETIRED_MAX) return type(uint256).max;
            coveredWh += retiredWh;
            // A bid not yet settled may still buy all it bid for.
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

    // ---- Placing ----
    // A reading places its interval's export and import once: a later reading of the same interval
    // leaves its energy unplaced (ALREADY_PLACED). Nothing is placed while the auction is paused or
    // after the market's reading deadline, and what is skipped says why in MeteredOrderSkipped.

    /// @dev Settles the meter's slot for an earlier interval if it is still open, then places the
    /// reading's export and import (`energy`: export Wh, import Wh << 40) at the standing `limits` (the
    /// registry's packed word, see IMeteredMarket); returns the owner's net vault moves.
    function _recordOne(uint256 energy, uint256 period, uint256 limits, bool approved, MeteredBatch memory b)
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
            placed = placed.startInterval(period);
        }
        b.placed = placed;
        if (energy == 0) {
            // Nothing to place: the reading only settled.
        } else if (!approved) {
            _skip(b, SkipReason.NOT_APPROVED);
        } else if (!_meteredMarketOpen(b)) {
            _skip(b, b.paused ? SkipReason.PAUSED : SkipReason.MARKET_CLOSED);
        } else {
            (uint256 exportWh, uint256 importWh) = MeteredEntries.exportAndImportWh(energy);
            (uint256 askWh, uint256 escrow) = _placeStanding(exportWh, importWh, limits, b);
            // An ask is 40 bits, an escrow below 2^200: the deltas stay far from the int256 bounds.
            unchecked {
                energyDeltaWh -= int256(askWh);
                paymentDelta -= int256(escrow);
            }
            changed = true;
        }
        if (changed) _placed[key] = b.placed;
    }

    /// @dev Whether the market of `b.period` takes its readings now: not while the auction is paused
    /// (`b.paused`), nor past the period's reading deadline or clearing. The batch's market becomes
    /// that one (the previous one written back), opened with the current grid at its first order.
    function _meteredMarketOpen(MeteredBatch memory b) private returns (bool) {
        uint256 period = b.period;
        if (period == b.marketPeriod) return b.marketOpen;
        if (b.marketPeriod != 0) _markets[b.marketPeriod] = b.market;
        b.marketPeriod = period;
        b.feeChecked = false;
        // Read with the market, once a batch: the flag shares its slot with the fee, read here anyway.
        b.paused = paused();
        b.marketOpen = !b.paused && block.timestamp < _meteredClearingTime(period) && _clearings[period].clearingPricePerKWh == 0;
        if (b.marketOpen) b.market = _openMarket(period, true, 0);
        else b.marketPeriod = 0;
        return b.marketOpen;
    }

    /// @dev Places what the reading metered on each side the limits trade (see IMeteredMarket for the
    /// rounding of limits and the cut of bids); updates `b.placed`; returns the Wh offered and the
    /// payment the bid locks.
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

    /// @dev A bid is cut to what the owner's free balance covers, less what its other meters' bids of
    /// the same batch locked.
    function _placeBid(uint256 importWh, uint256 limitPricePerKWh, uint256 capWh, MeteredBatch memory b)
        private
        returns (uint256 bidWh, uint256 escrow)
    {
        Market memory market = b.market;
        (bool onGrid, uint256 tick) = _standingTick(market, limitPricePerKWh, false);
        if (!onGrid) return (_skip(b, SkipReason.PRICE_OFF_GRID), 0);
        bidWh = capWh != 0 && capWh < importWh ? capWh : importWh;
        uint256 lock = _lockOf(b.locks, b.owner);
        uint256 spent = b.locks.locked[lock];
        uint256 freePayment = b.freePayment;
        // Grid prices fit 80 bits, balances 112, bids 40: nothing here comes near 2^256.
        unchecked {
            uint256 pricePerKWh = uint256(market.minPricePerKWh) + tick * market.tickSizePerKWh;
            uint256 affordableWh = freePayment > spent ? (freePayment - spent) * OrderMath.WH_PER_KWH / pricePerKWh : 0;
            if (affordableWh < bidWh) bidWh = affordableWh;
            if (bidWh == 0) return (_skip(b, SkipReason.NOTHING_FREE), 0);
            bidWh = _placeSide(b, tick, bidWh, true);
            escrow = OrderMath.ceilMilli(bidWh * pricePerKWh);
            b.locks.locked[lock] = spent + escrow;
        }
    }

    /// @dev Adds `amountWh` to one side of a meter's slot, joining the tick's queue; an interval's side
    /// is placed once. Returns what was placed.
    function _placeSide(MeteredBatch memory b, uint256 tick, uint256 amountWh, bool isBid) private returns (uint256) {
        if ((isBid ? b.placed.bidWh() : b.placed.askWh()) != 0) return _skip(b, SkipReason.ALREADY_PLACED);
        (uint256 beforeWh, uint256 afterWh) = TickVolumesLibrary.addTo(
            _ticks, isBid ? _bidTicks : _askTicks, b.period, tick, amountWh, isBid, MAX_TICK_VOLUME_WH
        );
        // Within the tick's bound, every volume of the slot fits its 40 bits.
        if (afterWh > MAX_TICK_VOLUME_WH) return _skip(b, SkipReason.TICK_FULL);
        // A market's bids stay below 256 ticks of MAX_TICK_VOLUME_WH, under 2^48.
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

    /// @dev A standing limit's tick on the market's grid, rounded to the owner's advantage (a sell limit
    /// up, a buy limit down); false if it lies beyond the grid on the side that trades nothing.
    function _standingTick(Market memory market, uint256 pricePerKWh, bool isSell)
        private
        pure
        returns (bool onGrid, uint256 tick)
    {
        uint256 minPricePerKWh = market.minPricePerKWh;
        uint256 stepPerKWh = market.tickSizePerKWh;
        // A market's grid has at least one tick and a step above 0; limits are below 2^96.
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
    // A slot settles once its market may clear: by the meter's reading two intervals on, or by an entry
    // without a time (anyone's settlement batch through the registry). Its orders get exactly what firm
    // orders of the same size, tick and arrival would (AuctionClearing.outcome); the energy its bid
    // bought is retired, as it was bought for consumption that already happened.

    /// @dev Settles both of the meter's slots where their markets may clear and they are not settled yet.
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

    /// @dev Pays out a placed slot of a market that may clear (clearing it first if nobody has): the
    /// ask's proceeds and unsold energy, the bid's unused lock; the energy bought is retired and added
    /// to the slot's ledger. Returns the owner's moves and the slot settled, which the caller writes or
    /// carries on.
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
        // What the outcomes below allocate is dead once the event is out: the memory is handed back, so
        // that a batch's memory (whose cost grows with its square) does not grow with its readings.
        uint256 freeMemory = FreeMemory.pointer();
        uint256 askWh = placed.askWh();
        uint256 soldWh = 0;
        uint256 proceeds = 0;
        // Fills, payments and refunds of 40-bit orders at 80-bit prices: far below 2^255.
        unchecked {
            if (askWh != 0) {
                OrderOutcome memory ask = _outcomeOf(placed, false, b);
                (soldWh, proceeds) = (ask.filledWh, ask.payment - ask.fee);
                energyDeltaWh = int256(ask.refund);
                paymentDelta = int256(proceeds);
            }
            uint256 bidWh = placed.bidWh();
            uint256 boughtWh = 0;
            uint256 paid = 0;
            if (bidWh != 0) {
                OrderOutcome memory bid = _outcomeOf(placed, true, b);
                (boughtWh, paid) = (bid.filledWh, bid.payment);
                paymentDelta += int256(bid.refund);
                b.retiredWh += boughtWh;
                settled = settled.addRetired(boughtWh);
            }
            emit MeteredOrdersSettled(b.meter, b.clearedPeriod, askWh, soldWh, proceeds, bidWh, boughtWh, paid);
        }
        // Nothing allocated since the pointer was read is used again.
        FreeMemory.release(freeMemory);
    }

    /// @dev What one side of a placed slot gets in its cleared market (`b.clearedPeriod`, `b.clearing`),
    /// as a firm order of its size, tick and C(i-1) would. A standing bid's limit is its tick's price on
    /// the market's grid; an ask's limit plays no part in its outcome.
    function _outcomeOf(MeteredSlot placed, bool isBid, MeteredBatch memory b) private pure returns (OrderOutcome memory) {
        (uint256 tick, uint256 amountWh, uint256 beforeWh) = isBid ? placed.bid() : placed.ask();
        // Grid prices fit 80 bits.
        unchecked {
            uint256 limitPricePerKWh = isBid ? b.clearedMinPricePerKWh + tick * b.clearedTickSizePerKWh : 0;
            AuctionOrder order = AuctionOrderLibrary.pack(b.clearedPeriod, amountWh, beforeWh, tick, limitPricePerKWh);
            return AuctionClearing.outcome(isBid, order, b.clearing);
        }
    }

    // ---- Locks of a batch ----

    /// @dev A table with at least twice as many places as the batch has readings.
    function _newLocks(uint256 readings) private pure returns (BatchLocks memory) {
        uint256 places = 2;
        while (places < 2 * readings) places <<= 1;
        return BatchLocks(new address[](places), new uint256[](places), places - 1);
    }

    /// @dev `owner`'s place in the batch's locks, taken (at 0) if it has none. The table is at most half
    /// full, so the probe ends at an empty place within a few steps.
    function _lockOf(BatchLocks memory locks, address owner) private pure returns (uint256 i) {
        address[] memory owners = locks.owners;
        uint256 mask = locks.mask;
        for (i = uint256(uint160(owner)) & mask; owners[i] != owner; i = (i + 1) & mask) {
            if (owners[i] == address(0)) {
                owners[i] = owner;
                break;
            }
        }
    }
}
