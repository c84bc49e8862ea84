// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEnergyAuction} from "./IEnergyAuction.sol";
import {IMeteredMarket} from "../metering/IMeteredMarket.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {BatchTooLarge, EmptyBatch, OrderUnknown, ZeroAddress} from "../utils/GridErrors.sol";
import {GridFees} from "./GridFees.sol";

/// @title EnergyAuction
/// @notice One uniform-price double auction per delivery period: firm, escrowed bids and asks on a
/// bounded price grid, and the meters' standing orders placed by their readings after the interval;
/// `clear(period)` by anyone at the volume-maximizing price; claims in O(1), standing orders settled by
/// the meter's later readings. Everyone trading in a period trades at one price, so arriving first or
/// racing another order gains nothing. Escrow and payouts are EnergyVault balances.
/// @dev Nothing loops over orders. Each tick of a market keeps its bid and ask volume in one slot,
/// and a 256-bit occupancy bitmap per side lets `clear` read only occupied ticks. An order is one
/// slot and stores the volume of its side and tick submitted before it (C(i-1)), which with the
/// marginal level's L and T (kept in the market's result slot) gives its rationed fill without
/// looking at any other order or tick.
/// Order slots are the trader's own and reused: each trader has ORDER_SLOTS places per side, and an
/// order takes the place `period % ORDER_SLOTS`, or one of the next SLOT_PROBES - 1 if that holds a
/// live order (unclaimed, its market not cleared). A place whose order was claimed is rewritten
/// (5,000 gas) instead of created (22,100); one whose order's market has cleared is claimed in line
/// first, its payout credited just before the new escrow is taken, so a trader who orders again in
/// a later market is paid what is due without a claim of its own. A market that may clear but has
/// not keeps its orders' places live: a submission never pays for a whole market's clearing (that
/// grows with the market's occupied ticks), which the keeper or any reading does.
/// When every probed place is live (a trader with many open orders), the order takes a one-off place
/// of its market, keyed by its sequence number there, as every order did before places were
/// reused: no cap on open orders, and at most SLOT_PROBES reads spent looking. The order id carries
/// the period, the side, the place and the trader (see IEnergyAuction), and the place stores the
/// period: an id whose place has moved on to a later order is told apart (OrderSlotReused).
// slither-disable-next-line missing-inheritance: pause() and paused() match IPausableTarget; inheriting it would force overrides of both
contract EnergyAuction is GridFees, Pausable, IEnergyAuction {
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
    /// @notice Largest order, 1 TWh.
    uint256 public constant MAX_ORDER_WH = 1e12;
    /// @notice Most volume one side of one tick of a market may gather, 1 TWh: running totals fit their
    /// 40 bits, a side's total of a market 48.
    uint256 public constant MAX_TICK_VOLUME_WH = 1e12;
    /// @notice Highest price a grid may reach (fits the 80-bit price fields: 10^6 whole units of an 18-decimal token).
    uint256 public constant MAX_PRICE_PER_KWH = 1e24;
    /// @notice Most orders one claimBatch pays out.
    uint256 public constant MAX_CLAIM_BATCH = 100;

    uint256 private constant WH_PER_KWH = 1_000;
    uint256 private constant BPS = 10_000;
    /// @dev An order id: period << 192 | 1 << 191 for a bid | place << 160 | trader. The place field
    /// has 31 bits: one-off places are ORDER_SLOTS + the market's sequence number (below 2^32, and no
    /// market takes 2^31 orders within its lead time).
    uint256 private constant PERIOD_SHIFT = 192;
    uint256 private constant BID_BIT = 1 << 191;
    uint256 private constant PLACE_SHIFT = 160;
    uint256 private constant PLACE_MASK = (1 << 31) - 1;
    /// @dev Reusable places per trader and side: a trader who orders each market up to ORDER_SLOTS - 2
    /// periods ahead (an order stays live until its market may clear) finds its place free every time.
    uint256 private constant ORDER_SLOTS = 16;
    /// @dev Places an order looks at before it takes a one-off place: a trader's several orders of
    /// one market and side take the next places.
    uint256 private constant SLOT_PROBES = 4;
    /// @dev Words per entry of recordMetered (see IMeteredMarket).
    uint256 private constant ENTRY_WORDS = 3;
    /// @dev A placed slot's word (see `_placed`): `settled`, where each side's tick (8 bits), Wh (40)
    /// and C(i-1) (40) begin, and where the meter's ledger of retired import begins (47 bits).
    uint256 private constant PLACED_SETTLED = 1 << 32;
    uint256 private constant PLACED_ASK_SHIFT = 33;
    uint256 private constant PLACED_BID_SHIFT = 121;
    uint256 private constant PLACED_RETIRED_SHIFT = 209;
    /// @dev The ledger's bound: a slot that reaches it stops counting (see coveredConsumptionWh).
    uint256 private constant PLACED_RETIRED_MAX = (1 << 47) - 1;

    /// @dev A market's slot written by every submission.
    struct Market {
        uint32 orderCount; // firm orders submitted: sequence numbers 1..orderCount
        uint16 tickCount; // 0 = no grid fixed yet (no order, not cleared)
        uint80 minPricePerKWh; // the grid the market started with
        uint80 tickSizePerKWh;
        uint48 bidVolumeWh; // all bids: D at the lowest tick, where the clearing scan starts
    }

    /// @dev A market's result, written once by `clear`: everything a claim needs beside its order.
    struct Clearing {
        bool opened; // from the first order on, so that `clear` rewrites the slot instead of creating it
        uint8 clearingTick;
        uint8 marginalTick;
        LongSide longSide;
        uint16 feeBps; // the market's fee rate: the fee at its first order, lowered by later asks
        uint80 clearingPricePerKWh; // 0 until cleared (every grid price is above 0)
        uint48 volumeWh; // at most 256 ticks x MAX_TICK_VOLUME_WH < 2^48
        uint40 rationedWh; // L: what the long side's marginal level trades (< MAX_TICK_VOLUME_WH < 2^40)
        uint40 marginalLevelWh; // T: that level's volume
    }

    /// @dev One tick of one market.
    struct TickVolumes {
        uint64 bidWh;
        uint64 askWh;
    }

    /// @dev One trader's place for orders of one side (see the contract's notes); the trader, side
    /// and place are in the order id.
    struct Order {
        uint64 period; // the order's market; 0 = a place never used
        uint40 amountWh;
        uint40 volumeBeforeWh; // C(i-1)
        uint8 tick;
        bool claimed;
        uint80 limitPricePerKWh; // so that a bid's claim finds its escrow without the market's grid
    }

    /// @dev What a batch of metered entries carries from one reading to the next: the reading at hand,
    /// the one market its readings place in (read and written once a batch), the last market whose
    /// orders it settled (its result read once), the bids' locks and the energy bought.
    struct MeteredBatch {
        address meter;
        address owner;
        uint256 period;
        uint256 freePayment; // the owner's free vault balance when the batch began
        uint256 placed; // the meter's slot for `period` as it will be written (see `_placed`)
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

    IEnergyVault private immutable _vault;
    address private immutable _meterRegistry;
    IERC20 private immutable _energyToken;
    uint256 private immutable _periodLength;
    uint256 private immutable _gateClosure;
    // The next three share a slot with the fee recipient and Pausable's flag: a submission to an open
    // market reads the flag, the fee and when it was cut from that one slot. The price grid (read
    // when a market opens) fills the next slot.
    uint16 private _gridFeeBps;
    uint16 private _tickCount;
    /// @dev When the fee was last lowered: an ask lowers its market's rate only if that was after the
    /// market could open, so that no other ask reads the market's result slot.
    uint40 private _feeCutAt;
    uint80 private _minPricePerKWh;
    uint80 private _tickSizePerKWh;
    uint32 private _readingDeadlineSeconds;
    /// @dev Grid fees and the buyers' rounding surplus of cleared markets, plus one: the slot never
    /// returns to zero, so accruing at clearing rewrites it (5,000 gas) instead of creating it (22,100).
    uint256 private _accruedFeesPlusOne = 1;

    mapping(uint256 period => Market) private _markets;
    mapping(uint256 period => Clearing) private _clearings;
    mapping(uint256 period => uint256) private _bidTicks;
    mapping(uint256 period => uint256) private _askTicks;
    // slither-disable-next-line uninitialized-state: written as whole words in assembly (_addToTick), read by _tickWord
    mapping(uint256 periodAndTick => TickVolumes) private _ticks;
    mapping(uint256 place => Order) private _orders;
    /// @dev The orders one reading (or the readings of one interval) placed for a meter: one of the
    /// meter's two slots, by the period's parity, one word: the period (bits 0-31; 0 = never used),
    /// settled (bit 32), the ask's tick, Wh and C(i-1) (bits 33-120), the bid's (121-208), and the
    /// Wh the meter's standing bids of this parity bought over every interval (209-255), which a new
    /// interval in the slot carries on. Settling marks the slot instead of deleting it, so that the
    /// next placement rewrites a used slot rather than creating one.
    // slither-disable-next-line uninitialized-state: written as whole words in assembly (_setPlacedWord)
    mapping(uint256 meterAndParity => uint256) private _placed;

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
        // slither-disable-next-line missing-zero-check: zero is a market without standing orders (no meter registry reports to it)
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

    // ----------------------------------------------------------------------------- trading

    /// @inheritdoc IEnergyAuction
    function submitBid(uint256 period, uint256 amountWh, uint256 limitPricePerKWh) external returns (uint256 orderId) {
        return _submit(period, amountWh, limitPricePerKWh, true);
    }

    /// @inheritdoc IEnergyAuction
    function submitAsk(uint256 period, uint256 amountWh, uint256 limitPricePerKWh) external returns (uint256 orderId) {
        return _submit(period, amountWh, limitPricePerKWh, false);
    }

    /// @inheritdoc IEnergyAuction
    function clear(uint256 period) external {
        uint256 clearsAt = _clearingTime(period);
        if (block.timestamp < clearsAt) revert GateNotClosed(period, clearsAt);
        if (_clearings[period].clearingPricePerKWh != 0) revert MarketAlreadyCleared(period);
        _clear(period);
    }

    /// @dev Clears a market that may clear and has not.
    function _clear(uint256 period) private {
        Clearing memory result = _clearings[period];
        Market memory market = _markets[period];
        if (market.tickCount == 0) {
            // No order came: fix the current grid and fee so that the market reports a price on it.
            market = _currentGrid(market);
            _markets[period] = market;
            result.feeBps = _gridFeeBps;
        }
        Walk memory marginal;
        {
            uint256 bidBits = _bidTicks[period];
            uint256 askBits = _askTicks[period];
            (uint256 low, uint256 high, uint256 tradedWh) =
                _bestRange(period, market.tickCount, market.bidVolumeWh, bidBits, askBits);
            uint256 clearingTick = low + (high - low) / 2;
            result = Clearing({
                opened: true,
                clearingTick: uint8(clearingTick),
                marginalTick: 0,
                longSide: LongSide.NONE,
                feeBps: result.feeBps,
                clearingPricePerKWh: uint80(market.minPricePerKWh + clearingTick * market.tickSizePerKWh),
                volumeWh: uint48(tradedWh),
                rationedWh: 0,
                marginalLevelWh: 0
            });
            marginal = _walkSides(period, bidBits, askBits, result);
        }
        _clearings[period] = result;
        emit MarketCleared(
            period,
            result.clearingTick,
            result.clearingPricePerKWh,
            result.volumeWh,
            result.longSide,
            marginal.tick,
            marginal.rationedWh,
            marginal.levelWh,
            result.feeBps
        );
    }

    /// @inheritdoc IEnergyAuction
    /// @dev No lock of the auction's own: a claim's one call out is the vault's give, which calls nothing
    /// and does not run inside a vault transfer (the vault's lock), so nothing can enter a claim.
    function claim(uint256 orderId) external {
        _claim(orderId, true);
    }

    /// @inheritdoc IEnergyAuction
    function claimBatch(uint256[] calldata orderIds) external {
        uint256 count = orderIds.length;
        if (count == 0) revert EmptyBatch();
        if (count > MAX_CLAIM_BATCH) revert BatchTooLarge(count, MAX_CLAIM_BATCH);
        // After the first move the vault and the auction's balance there are warm: each further
        // claim costs about its own place, its event and the trader's balance.
        for (uint256 i; i < count; ++i) {
            _claim(orderIds[i], false);
        }
    }

    // ----------------------------------------------------------------------------- standing orders

    /// @inheritdoc IMeteredMarket
    function recordMetered(uint256[] calldata entries) external {
        if (msg.sender != _meterRegistry) revert NotMeterRegistry(msg.sender);
        uint256 count = entries.length / ENTRY_WORDS;
        address[] memory owners = new address[](count);
        // Each entry's second word holds its owner; count is the entries' length / 3, so no read passes it.
        // slither-disable-next-line assembly: the owners copied out of the entries without a bounds check each
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                let ownerAndTime := calldataload(add(entries.offset, add(mul(i, 0x60), 0x20)))
                mstore(add(owners, shl(5, add(i, 1))), and(ownerAndTime, 0xffffffffffffffffffffffffffffffffffffffff))
            }
        }
        (uint256[] memory free, bool[] memory approved) = _paymentsFor(owners);
        int256[] memory energyDeltasWh = new int256[](count);
        int256[] memory paymentDeltas = new int256[](count);
        MeteredBatch memory b;
        b.locks = _newLocks(count);
        for (uint256 i; i < count;) {
            uint256 meterAndEnergy;
            uint256 ownerAndTime;
            uint256 limits;
            uint256 freePayment;
            bool isApproved;
            // Entry i's three words and the vault's answer for its owner, read without bounds checks: count
            // is the entries' length / 3, and the vault answers one entry per owner.
            assembly ("memory-safe") {
                let entry := add(entries.offset, mul(i, 0x60))
                meterAndEnergy := calldataload(entry)
                ownerAndTime := calldataload(add(entry, 0x20))
                limits := calldataload(add(entry, 0x40))
                let at := shl(5, add(i, 1))
                freePayment := mload(add(free, at))
                isApproved := mload(add(approved, at))
            }
            (b.meter, b.owner, b.freePayment) = (address(uint160(meterAndEnergy)), address(uint160(ownerAndTime)), freePayment);
            (int256 energyDeltaWh, int256 paymentDelta) = ownerAndTime >> 160 == 0
                ? _settleDue(b)
                : _recordOne(meterAndEnergy >> 160, (ownerAndTime >> 160) / _periodLength, limits, isApproved, b);
            // Entry i of the two delta arrays, each of count entries.
            assembly ("memory-safe") {
                let at := shl(5, add(i, 1))
                mstore(add(energyDeltasWh, at), energyDeltaWh)
                mstore(add(paymentDeltas, at), paymentDelta)
            }
            unchecked {
                ++i;
            }
        }
        if (b.marketPeriod != 0) _markets[b.marketPeriod] = b.market;
        _settleBatch(owners, energyDeltasWh, paymentDeltas);
        if (b.retiredWh != 0) _vault.retireEnergy(b.retiredWh);
    }

    /// @dev `IEnergyVault.paymentsFor(this, owners)`, its calldata and result copied as whole arrays
    /// (the ABI's layout of a static array is a memory array's) instead of encoded entry by entry.
    function _paymentsFor(address[] memory owners) private view returns (uint256[] memory free, bool[] memory approved) {
        IEnergyVault vault_ = _vault;
        bytes4 selector = IEnergyVault.paymentsFor.selector;
        // slither-disable-next-line assembly: the batch's arrays copied whole into the call and out of its result
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let size := mul(add(mload(owners), 1), 0x20)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), address())
            mstore(add(ptr, 0x24), 0x40)
            mcopy(add(ptr, 0x44), owners, size)
            if iszero(staticcall(gas(), vault_, ptr, add(0x44, size), 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            // The vault's result: two offsets, then each array as its length and entries; it stays
            // where it is copied, the arrays pointing into it.
            returndatacopy(ptr, 0, returndatasize())
            free := add(ptr, mload(ptr))
            approved := add(ptr, mload(add(ptr, 0x20)))
            mstore(0x40, add(ptr, returndatasize()))
        }
    }

    /// @dev `IEnergyVault.settleBatch` of three arrays of one length, each copied whole into the call.
    function _settleBatch(address[] memory owners, int256[] memory energyDeltasWh, int256[] memory paymentDeltas) private {
        IEnergyVault vault_ = _vault;
        bytes4 selector = IEnergyVault.settleBatch.selector;
        // slither-disable-next-line assembly: the batch's arrays copied whole into the call
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let size := mul(add(mload(owners), 1), 0x20)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), 0x60)
            mstore(add(ptr, 0x24), add(0x60, size))
            mstore(add(ptr, 0x44), add(0x60, mul(size, 2)))
            mcopy(add(ptr, 0x64), owners, size)
            mcopy(add(add(ptr, 0x64), size), energyDeltasWh, size)
            mcopy(add(add(ptr, 0x64), mul(size, 2)), paymentDeltas, size)
            if iszero(call(gas(), vault_, 0, ptr, add(0x64, mul(size, 3)), 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
        }
    }

    /// @inheritdoc IMeteredMarket
    function setReadingDeadline(uint256 deadlineSeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (deadlineSeconds > _periodLength) revert InvalidReadingDeadline(deadlineSeconds, _periodLength);
        uint256 previousSeconds = _readingDeadlineSeconds;
        _readingDeadlineSeconds = uint32(deadlineSeconds);
        emit ReadingDeadlineUpdated(previousSeconds, deadlineSeconds);
    }

    // ----------------------------------------------------------------------------- admin

    /// @inheritdoc IEnergyAuction
    function setPriceGrid(uint256 minPricePerKWh, uint256 tickSizePerKWh, uint256 maxPricePerKWh)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setPriceGrid(minPricePerKWh, tickSizePerKWh, maxPricePerKWh);
    }

    /// @inheritdoc IEnergyAuction
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IEnergyAuction
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc IEnergyAuction
    function periodLength() external view returns (uint256) {
        return _periodLength;
    }

    /// @inheritdoc IEnergyAuction
    function gateClosure() external view returns (uint256) {
        return _gateClosure;
    }

    /// @inheritdoc IEnergyAuction
    function minPrice() external view returns (uint256) {
        return _minPricePerKWh;
    }

    /// @inheritdoc IEnergyAuction
    function tickSize() external view returns (uint256) {
        return _tickSizePerKWh;
    }

    /// @inheritdoc IEnergyAuction
    function maxPrice() external view returns (uint256) {
        return uint256(_minPricePerKWh) + (uint256(_tickCount) - 1) * _tickSizePerKWh;
    }

    /// @inheritdoc IEnergyAuction
    function tickCount() external view returns (uint256) {
        return _tickCount;
    }

    /// @inheritdoc IEnergyAuction
    function currentPeriod() external view returns (uint256) {
        return block.timestamp / _periodLength;
    }

    /// @inheritdoc IEnergyAuction
    function gateClosureTime(uint256 period) external view returns (uint256) {
        return _gateClosureTime(period);
    }

    /// @inheritdoc IEnergyAuction
    function getMarket(uint256 period) external view returns (MarketInfo memory) {
        Market memory market = _markets[period];
        Clearing memory c = _clearings[period];
        // The marginal level's L and T are 0 unless a side is long.
        return MarketInfo(
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

    /// @inheritdoc IEnergyAuction
    function getTickVolumes(uint256 period)
        external
        view
        returns (uint256[] memory bidVolumesWh, uint256[] memory askVolumesWh)
    {
        uint256 n = _markets[period].tickCount;
        if (n == 0) n = _tickCount;
        bidVolumesWh = new uint256[](n);
        askVolumesWh = new uint256[](n);
        for (uint256 occupied = _bidTicks[period] | _askTicks[period]; occupied != 0; occupied &= occupied - 1) {
            uint256 tick = _lowestBit(occupied);
            TickVolumes memory level = _ticks[_tickKey(period, tick)];
            bidVolumesWh[tick] = level.bidWh;
            askVolumesWh[tick] = level.askWh;
        }
    }

    /// @inheritdoc IEnergyAuction
    function getOrder(uint256 orderId) external view returns (OrderInfo memory) {
        (Order memory order,) = _knownOrder(orderId);
        return OrderInfo({
            trader: address(uint160(orderId)),
            period: order.period,
            isBid: orderId & BID_BIT != 0,
            amountWh: order.amountWh,
            limitPricePerKWh: order.limitPricePerKWh,
            tick: order.tick,
            volumeBeforeWh: order.volumeBeforeWh,
            claimed: order.claimed
        });
    }

    /// @inheritdoc IEnergyAuction
    function getOrderOutcome(uint256 orderId) external view returns (OrderOutcome memory out) {
        (Order memory order,, Clearing memory c) = _clearedOrder(orderId);
        out = _outcome(orderId & BID_BIT != 0, order, c);
        out.claimed = order.claimed;
    }

    /// @inheritdoc IMeteredMarket
    function getMeteredOrders(address meter) external view returns (MeteredOrders[2] memory orders) {
        for (uint256 parity; parity < 2; ++parity) {
            uint256 placed = _placed[_placedKey(meter, parity)];
            Order memory ask = _placedOrder(placed, uint32(placed), PLACED_ASK_SHIFT);
            Order memory bid = _placedOrder(placed, uint32(placed), PLACED_BID_SHIFT);
            orders[parity] = MeteredOrders(
                ask.period,
                placed & PLACED_SETTLED != 0,
                ask.amountWh,
                ask.tick,
                ask.volumeBeforeWh,
                bid.amountWh,
                bid.tick,
                bid.volumeBeforeWh
            );
        }
    }

    /// @inheritdoc IMeteredMarket
    function coveredConsumptionWh(address meter) external view returns (uint256 coveredWh) {
        for (uint256 parity; parity < 2; ++parity) {
            uint256 placed = _placed[_placedKey(meter, parity)];
            uint256 retiredWh = placed >> PLACED_RETIRED_SHIFT;
            // A full ledger stopped counting: all of the meter's consumption reads as covered.
            if (retiredWh == PLACED_RETIRED_MAX) return type(uint256).max;
            coveredWh += retiredWh;
            // A bid not yet settled may still buy all it bid for.
            if (placed & PLACED_SETTLED == 0) coveredWh += _placedOrder(placed, 0, PLACED_BID_SHIFT).amountWh;
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

    /// @inheritdoc IEnergyAuction
    function energyToken() external view returns (address) {
        return address(_energyToken);
    }

    /// @inheritdoc IEnergyAuction
    function paymentToken() external view returns (address) {
        return address(_paymentToken);
    }

    // ----------------------------------------------------------------------------- internals

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
        _move(IEnergyVault.give.selector, recipient, 0, amount);
    }

    function _feesAccrued() internal view override returns (uint256) {
        return _accruedFeesPlusOne - 1;
    }

    function _clearFeesAccrued() internal override {
        _accruedFeesPlusOne = 1;
    }

    /// @dev One side's walk through its levels at clearing.
    struct Walk {
        bool isLong; // the side offers more than is traded at the price
        uint256 tick; // the last level reached
        uint256 rationedWh; // what that level trades (L)
        uint256 levelWh; // that level's volume (T)
        uint256 value; // bids: what buyers pay; asks: what sellers get after fees
    }

    /// @dev Places the order and makes its vault moves: its escrow taken, net of what settling the
    /// trader's earlier order in its place paid out. Both submissions' guards, written once.
    function _submit(uint256 period, uint256 amountWh, uint256 limitPricePerKWh, bool isBid)
        private
        whenNotPaused
        nonReentrantCompact
        returns (uint256 orderId)
    {
        if (amountWh == 0 || amountWh > MAX_ORDER_WH) revert AmountOutOfRange(amountWh, MAX_ORDER_WH);
        Order memory order;
        uint256 sequence;
        {
            uint256 closesAt = _gateClosureTime(period);
            if (block.timestamp >= closesAt) revert GateClosed(period, closesAt);
            uint256 maxPeriod = (block.timestamp + MAX_LEAD_TIME + _gateClosure) / _periodLength;
            if (period > maxPeriod) revert PeriodTooFarAhead(period, maxPeriod);

            Market memory market = _openMarket(period, isBid, closesAt);
            uint256 tick = _tickOf(limitPricePerKWh, market);
            uint256 beforeWh = _addOrderToTick(period, tick, amountWh, isBid);
            if (isBid) market.bidVolumeWh += uint48(amountWh);
            sequence = ++market.orderCount;
            _markets[period] = market;
            order = Order(uint64(period), uint40(amountWh), uint40(beforeWh), uint8(tick), false, uint80(limitPricePerKWh));
        }
        uint256 giveWh;
        uint256 givePayment;
        (orderId, giveWh, givePayment) = _place(period, isBid, sequence, order);
        uint256 escrow = isBid ? _ceilMilli(amountWh * limitPricePerKWh) : amountWh;
        emit OrderSubmitted(orderId, period, msg.sender, isBid, amountWh, limitPricePerKWh, escrow);
        // What the settled order paid first, so that it may fund the escrow; then the escrow in full,
        // so that the vault's checks (the trader's approval, this market open, a shortfall pulled from
        // the wallet) hold for every order as they did. The second call finds every slot warm.
        if (giveWh != 0 || givePayment != 0) _move(IEnergyVault.give.selector, msg.sender, giveWh, givePayment);
        (uint256 takeWh, uint256 takePayment) = isBid ? (uint256(0), escrow) : (escrow, uint256(0));
        _move(IEnergyVault.take.selector, msg.sender, takeWh, takePayment);
    }

    /// @dev Stores the order in the sender's first free place of its side from `period % ORDER_SLOTS`
    /// (claiming the order there in line if its market has cleared), or in a one-off place after
    /// SLOT_PROBES live ones. Returns its id and what the claimed order pays the sender. The time
    /// check first: a live order of an open market costs no read of its result.
    function _place(uint256 period, bool isBid, uint256 sequence, Order memory order)
        private
        returns (uint256 orderId, uint256 energyWh, uint256 payment)
    {
        uint256 owner = uint256(uint160(msg.sender)) | (isBid ? BID_BIT : 0);
        uint256 start = period % ORDER_SLOTS;
        for (uint256 probe; probe < SLOT_PROBES; ++probe) {
            uint256 place = owner | (((start + probe) % ORDER_SLOTS) << PLACE_SHIFT);
            Order memory held = _orders[place];
            bool free = held.period == 0 || held.claimed;
            if (!free && block.timestamp >= _clearingTime(held.period)) {
                Clearing memory c = _clearings[held.period];
                if (c.clearingPricePerKWh != 0) {
                    (energyWh, payment) = _payOut((uint256(held.period) << PERIOD_SHIFT) | place, held, c);
                    free = true;
                }
            }
            if (free) {
                _orders[place] = order;
                return ((period << PERIOD_SHIFT) | place, energyWh, payment);
            }
        }
        orderId = (period << PERIOD_SHIFT) | owner | ((ORDER_SLOTS + sequence) << PLACE_SHIFT);
        _orders[orderId] = order;
    }

    /// @dev What a claim of the order pays its trader (energy, payment), and its event.
    function _payOut(uint256 orderId, Order memory order, Clearing memory c)
        private
        returns (uint256 energyWh, uint256 payment)
    {
        bool isBid = orderId & BID_BIT != 0;
        OrderOutcome memory out = _outcome(isBid, order, c);
        emit OrderClaimed(orderId, address(uint160(orderId)), isBid, out.filledWh, out.payment, out.fee, out.refund);
        return isBid ? (out.filledWh, out.refund) : (out.refund, out.payment - out.fee);
    }

    /// @dev The market of `period` with its grid fixed (at its first order) and its fee rate lowered for
    /// an ask if the fee was cut after the market could open; the caller writes the market back.
    function _openMarket(uint256 period, bool isBid, uint256 closesAt) private returns (Market memory market) {
        market = _markets[period];
        if (market.tickCount == 0) {
            market = _currentGrid(market);
            // The result's slot exists from the first order on, so that `clear` rewrites it instead of
            // creating it; it holds the market's fee rate from then on.
            Clearing storage result = _clearings[period];
            result.opened = true;
            result.feeBps = _gridFeeBps;
        } else if (!isBid) {
            _cutMarketFee(period, closesAt);
        }
    }

    /// @dev If the fee was cut after the market of `period` (gate closing at `closesAt`) could open, its
    /// sellers pay at most the fee in force now.
    function _cutMarketFee(uint256 period, uint256 closesAt) private {
        if (_feeCutAt + MAX_LEAD_TIME < closesAt) return;
        Clearing storage result = _clearings[period];
        uint16 feeBps = _gridFeeBps;
        if (feeBps < result.feeBps) result.feeBps = feeBps;
    }

    /// @dev Settles the meter's slot for an earlier interval if it is still open, then places the
    /// reading's export and import (`energy`: export Wh, import Wh << 40) at the standing `limits` (the
    /// registry's packed word, see IMeteredMarket); returns the owner's net vault moves.
    function _recordOne(uint256 energy, uint256 period, uint256 limits, bool approved, MeteredBatch memory b)
        private
        returns (int256 energyDeltaWh, int256 paymentDelta)
    {
        b.period = period;
        uint256 key = _placedKey(b.meter, period);
        uint256 placed = _placedWord(key);
        bool changed = false;
        if (uint32(placed) != period) {
            if (uint32(placed) != 0 && placed & PLACED_SETTLED == 0) {
                (energyDeltaWh, paymentDelta, placed) = _settle(placed, b);
                changed = true;
            }
            // The new interval starts with no orders; the ledger of retired import stays.
            placed = ((placed >> PLACED_RETIRED_SHIFT) << PLACED_RETIRED_SHIFT) | period | PLACED_SETTLED;
        }
        b.placed = placed;
        if (energy == 0) {
            // Nothing to place: the reading only settled.
        } else if (!approved) {
            _skip(b, SkipReason.NOT_APPROVED);
        } else if (!_meteredMarketOpen(b)) {
            _skip(b, b.paused ? SkipReason.PAUSED : SkipReason.MARKET_CLOSED);
        } else {
            (uint256 askWh, uint256 escrow) = _placeStanding(uint40(energy), uint40(energy >> 40), limits, b);
            // An ask is 40 bits, an escrow below 2^200: the deltas stay far from the int256 bounds.
            unchecked {
                energyDeltaWh -= int256(askWh);
                paymentDelta -= int256(escrow);
            }
            changed = true;
        }
        // A settled slot says so (rewritten, not deleted, so that the next placement is a cheap rewrite).
        if (changed) _setPlacedWord(key, b.placed);
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
        uint256 sellPricePerKWh = uint96(limits);
        uint256 buyPricePerKWh = uint96(limits >> 96);
        uint256 bidWh = 0;
        if (sellPricePerKWh != 0) {
            if (!b.feeChecked) {
                b.feeChecked = true;
                _cutMarketFee(b.period, _gateClosureTime(b.period));
            }
            if (exportWh != 0) askWh = _placeAsk(exportWh, sellPricePerKWh, uint32(limits >> 192), b);
        }
        if (buyPricePerKWh != 0 && importWh != 0) (bidWh, escrow) = _placeBid(importWh, buyPricePerKWh, limits >> 224, b);
        if (askWh != 0 || bidWh != 0) b.placed &= ~PLACED_SETTLED;
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
            uint256 affordableWh = freePayment > spent ? (freePayment - spent) * WH_PER_KWH / pricePerKWh : 0;
            if (affordableWh < bidWh) bidWh = affordableWh;
            if (bidWh == 0) return (_skip(b, SkipReason.NOTHING_FREE), 0);
            bidWh = _placeSide(b, tick, bidWh, true);
            escrow = _ceilMilli(bidWh * pricePerKWh);
            b.locks.locked[lock] = spent + escrow;
        }
    }

    /// @dev Adds `amountWh` to one side of a meter's slot, joining the tick's queue; an interval's side
    /// is placed once (a later reading of it leaves its energy unplaced). Returns what was placed.
    function _placeSide(MeteredBatch memory b, uint256 tick, uint256 amountWh, bool isBid) private returns (uint256) {
        // A side's fields: tick (8 bits), Wh (40), C(i-1) (40), the bid's above the ask's.
        uint256 shift = isBid ? PLACED_BID_SHIFT : PLACED_ASK_SHIFT;
        if (uint40(b.placed >> (shift + 8)) != 0) return _skip(b, SkipReason.ALREADY_PLACED);
        (uint256 beforeWh, uint256 afterWh) = _addToTick(b.period, tick, amountWh, isBid);
        // Within the tick's bound, every volume of the slot fits its 40 bits.
        if (afterWh > MAX_TICK_VOLUME_WH) return _skip(b, SkipReason.TICK_FULL);
        // A market's bids stay below 256 ticks of MAX_TICK_VOLUME_WH, under 2^48.
        unchecked {
            if (isBid) b.market.bidVolumeWh += uint48(amountWh);
        }
        b.placed |= (tick | (amountWh << 8) | (beforeWh << 48)) << shift;
        return amountWh;
    }

    /// @dev Settles both of the meter's slots where their markets may clear and they are not settled yet.
    function _settleDue(MeteredBatch memory b) private returns (int256 energyDeltaWh, int256 paymentDelta) {
        for (uint256 parity; parity < 2; ++parity) {
            uint256 key = _placedKey(b.meter, parity);
            uint256 placed = _placedWord(key);
            uint256 period = uint32(placed);
            if (period == 0 || placed & PLACED_SETTLED != 0 || block.timestamp < _meteredClearingTime(period)) continue;
            (int256 e, int256 p, uint256 settled) = _settle(placed, b);
            _setPlacedWord(key, settled);
            energyDeltaWh += e;
            paymentDelta += p;
        }
    }

    /// @dev Pays out a placed slot of a market that may clear (clearing it first if nobody has): the
    /// ask's proceeds and unsold energy, the bid's unused lock; the energy bought is retired and added
    /// to the slot's ledger (which stops at PLACED_RETIRED_MAX). Returns the owner's moves and the
    /// slot's word settled, which the caller writes or carries on.
    function _settle(uint256 placed, MeteredBatch memory b)
        private
        returns (int256 energyDeltaWh, int256 paymentDelta, uint256 settled)
    {
        settled = placed | PLACED_SETTLED;
        uint256 period = uint32(placed);
        if (period != b.clearedPeriod) {
            if (_clearings[period].clearingPricePerKWh == 0) _clear(period);
            Market storage market = _markets[period];
            (b.clearedPeriod, b.clearing, b.clearedMinPricePerKWh, b.clearedTickSizePerKWh) =
                (period, _clearings[period], market.minPricePerKWh, market.tickSizePerKWh);
        }
        // What the outcomes below allocate is dead once the event is out: the memory is handed back, so
        // that a batch's memory (whose cost grows with its square) does not grow with its readings.
        uint256 freeMemory;
        // slither-disable-next-line assembly: reads the free memory pointer, restored below
        assembly ("memory-safe") {
            freeMemory := mload(0x40)
        }
        Clearing memory c = b.clearing;
        Order memory order = _placedOrder(placed, period, PLACED_ASK_SHIFT);
        uint256 askWh = order.amountWh;
        uint256 soldWh;
        uint256 proceeds;
        // Fills, payments and refunds of 40-bit orders at 80-bit prices: far below 2^255.
        unchecked {
            if (askWh != 0) {
                OrderOutcome memory ask = _outcome(false, order, c);
                (soldWh, proceeds) = (ask.filledWh, ask.payment - ask.fee);
                energyDeltaWh = int256(ask.refund);
                paymentDelta = int256(proceeds);
            }
            order = _placedOrder(placed, period, PLACED_BID_SHIFT);
            uint256 boughtWh;
            uint256 paid;
            if (order.amountWh != 0) {
                // A standing bid's limit is its tick of the market's grid.
                order.limitPricePerKWh = uint80(b.clearedMinPricePerKWh + uint256(order.tick) * b.clearedTickSizePerKWh);
                OrderOutcome memory bid = _outcome(true, order, c);
                (boughtWh, paid) = (bid.filledWh, bid.payment);
                paymentDelta += int256(bid.refund);
                b.retiredWh += boughtWh;
                uint256 ledgerWh = (settled >> PLACED_RETIRED_SHIFT) + boughtWh;
                if (ledgerWh > PLACED_RETIRED_MAX) ledgerWh = PLACED_RETIRED_MAX;
                settled = (settled & ((1 << PLACED_RETIRED_SHIFT) - 1)) | (ledgerWh << PLACED_RETIRED_SHIFT);
            }
            emit MeteredOrdersSettled(b.meter, period, askWh, soldWh, proceeds, order.amountWh, boughtWh, paid);
        }
        // Nothing allocated since the pointer was read is used again.
        assembly ("memory-safe") {
            mstore(0x40, freeMemory)
        }
    }

    /// @dev One side of a placed slot (at `shift`: tick, Wh, C(i-1)) as an order of `period`.
    function _placedOrder(uint256 placed, uint256 period, uint256 shift) private pure returns (Order memory) {
        uint256 side = placed >> shift;
        return Order(uint64(period), uint40(side >> 8), uint40(side >> 48), uint8(side), false, 0);
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

    /// @dev A placed slot (`_placed[key]`), read and written in assembly on the reading hot path.
    function _placedWord(uint256 key) private view returns (uint256 word) {
        // slither-disable-next-line assembly: the placed slot's word, read on the reading hot path
        assembly ("memory-safe") {
            mstore(0x00, key)
            mstore(0x20, _placed.slot)
            word := sload(keccak256(0x00, 0x40))
        }
    }

    function _setPlacedWord(uint256 key, uint256 word) private {
        // slither-disable-next-line assembly: the placed slot's word, written on the reading hot path
        assembly ("memory-safe") {
            mstore(0x00, key)
            mstore(0x20, _placed.slot)
            sstore(keccak256(0x00, 0x40), word)
        }
    }

    /// @dev A meter's slot for `period`: by the period's parity.
    function _placedKey(address meter, uint256 period) private pure returns (uint256) {
        return (uint256(uint160(meter)) << 1) | (period & 1);
    }

    /// @dev `_addToTick` for a firm order: above the bound it reverts.
    function _addOrderToTick(uint256 period, uint256 tick, uint256 amountWh, bool isBid)
        private
        returns (uint256 beforeWh)
    {
        uint256 afterWh;
        (beforeWh, afterWh) = _addToTick(period, tick, amountWh, isBid);
        if (afterWh > MAX_TICK_VOLUME_WH) revert TickVolumeTooLarge(period, tick, afterWh, MAX_TICK_VOLUME_WH);
    }

    /// @dev Adds an order's volume to its side of its tick (marking the tick occupied if it was not),
    /// unless that would pass MAX_TICK_VOLUME_WH; returns the side's volume there before it (the order's
    /// C(i-1)) and with it (above the bound: nothing was added).
    function _addToTick(uint256 period, uint256 tick, uint256 amountWh, bool isBid)
        private
        returns (uint256 beforeWh, uint256 afterWh)
    {
        // The slot as one word (see `_tickWord`): one read and one write for either side.
        uint256 shift = isBid ? 0 : 64;
        uint256 slot;
        uint256 word;
        // slither-disable-next-line assembly: the packed TickVolumes slot read as one word, on every order's path
        assembly ("memory-safe") {
            mstore(0x00, or(shl(8, period), tick))
            mstore(0x20, _ticks.slot)
            slot := keccak256(0x00, 0x40)
            word := sload(slot)
        }
        beforeWh = uint64(word >> shift);
        // Both below 2^64: an amount is at most MAX_ORDER_WH, a side at most MAX_TICK_VOLUME_WH.
        unchecked {
            afterWh = beforeWh + amountWh;
        }
        if (afterWh > MAX_TICK_VOLUME_WH) return (beforeWh, afterWh);
        // The side's new volume, written into the same word.
        assembly ("memory-safe") {
            sstore(slot, add(word, shl(shift, amountWh)))
        }
        if (beforeWh == 0) {
            if (isBid) _bidTicks[period] |= 1 << tick;
            else _askTicks[period] |= 1 << tick;
        }
    }

    /// @dev The range [low, high] of ticks with the most traded volume and, among those, the least
    /// imbalance, and that volume. Between the ticks where D or S changes they are constant, so
    /// the scan goes segment by segment. min(D, S) is single-peaked and D - S falls, so the best ticks
    /// form one range, a union of whole segments.
    function _bestRange(uint256 period, uint256 n, uint256 demandWh, uint256 bidBits, uint256 askBits)
        private
        view
        returns (uint256 low, uint256 high, uint256 tradedWh)
    {
        unchecked {
            // Most volume first, then least imbalance, as one number: volume above, 2^64 - 1 - imbalance
            // below (volumes stay under 2^48, so every key is positive and the first segment wins).
            uint256 bestKey = 0;
            // `word`: the slot of tick `start` when its asks were read there, reused for its bids a step later.
            uint256 word = askBits & 1 != 0 ? _tickWord(period, 0) : 0;
            uint256 supplyWh = uint64(word >> 64);
            uint256 changes = (askBits | (bidBits << 1)) & ~uint256(1);
            uint256 start;
            while (true) {
                uint256 next = changes == 0 ? n : _lowestBit(changes);
                uint256 key = demandWh < supplyWh
                    ? (demandWh << 64) | (type(uint64).max - (supplyWh - demandWh))
                    : (supplyWh << 64) | (type(uint64).max - (demandWh - supplyWh));
                if (key > bestKey) (bestKey, low, high) = (key, start, next - 1);
                else if (key == bestKey) high = next - 1;
                if (next >= n) break;
                if (bidBits & (1 << (next - 1)) != 0) {
                    demandWh -= uint64(word != 0 && start == next - 1 ? word : _tickWord(period, next - 1));
                }
                word = 0;
                if (askBits & (1 << next) != 0) {
                    word = _tickWord(period, next);
                    supplyWh += uint64(word >> 64);
                }
                changes &= changes - 1;
                start = next;
            }
            tradedWh = bestKey >> 64;
        }
    }

    /// @dev Walks both sides of a market that traded (see `_walk`), accrues what buyers pay beyond what
    /// sellers net (the fees and the rounding surplus) and sets the long side in `result`; returns the
    /// long side's walk (its marginal level), or an empty one.
    function _walkSides(uint256 period, uint256 bidBits, uint256 askBits, Clearing memory result)
        private
        returns (Walk memory marginal)
    {
        if (result.volumeWh == 0) return marginal;
        uint256 clearingTick = result.clearingTick;
        Walk memory asks =
            _walk(period, clearingTick == 255 ? askBits : askBits & ((1 << (clearingTick + 1)) - 1), false, result);
        Walk memory bids = _walk(period, (bidBits >> clearingTick) << clearingTick, true, result);
        // slither-disable-next-line costly-loop: one warm write per market cleared, at most one per reading of a metered batch
        _accruedFeesPlusOne += bids.value - asks.value;
        if (!asks.isLong && !bids.isLong) return marginal;
        marginal = asks.isLong ? asks : bids;
        result.longSide = asks.isLong ? LongSide.ASKS : LongSide.BIDS;
        result.marginalTick = uint8(marginal.tick);
        result.rationedWh = uint40(marginal.rationedWh);
        result.marginalLevelWh = uint40(marginal.levelWh);
    }

    /// @dev Walks one side's levels at or better than the clearing price (`bits`), best first, until the
    /// traded volume: levels fill in full, the last one reached with what is left. Sums what each filled
    /// level pays (bids) or nets (asks), each level rounded once, as its orders' claims will pay it.
    function _walk(uint256 period, uint256 bits, bool isBid, Clearing memory c) private view returns (Walk memory w) {
        uint256 volumeWh = c.volumeWh;
        uint256 pricePerKWh = c.clearingPricePerKWh;
        uint256 reachedWh;
        unchecked {
            while (true) {
                uint256 tick = isBid ? _highestBit(bits) : _lowestBit(bits);
                bits ^= 1 << tick;
                uint256 word = _tickWord(period, tick);
                uint256 levelWh = isBid ? uint64(word) : uint64(word >> 64);
                uint256 filledWh = levelWh;
                bool last = reachedWh + levelWh >= volumeWh;
                if (last) filledWh = volumeWh - reachedWh;
                if (isBid) {
                    w.value += _ceilMilli(filledWh * pricePerKWh);
                } else {
                    // slither-disable-next-line divide-before-multiply: the fee is taken from the rounded gross, as the asks' claims pay it
                    uint256 gross = filledWh * pricePerKWh / WH_PER_KWH;
                    w.value += gross - gross * c.feeBps / BPS;
                }
                if (last) {
                    // Orders left behind (part of this level or worse levels): this side is long.
                    (w.isLong, w.tick, w.rationedWh, w.levelWh) = (filledWh < levelWh || bits != 0, tick, filledWh, levelWh);
                    return w;
                }
                reachedWh += levelWh;
            }
        }
    }

    /// @dev What an order of a cleared market gets; `claimed` is left false. Within a level, fills,
    /// payments and fees are differences of running totals, so each level rounds once: with F the
    /// level's filled volume up to an order (before: F0, with it: F1) at clearing price P, a bid pays
    /// ceil(F1 * P / 1000) - ceil(F0 * P / 1000) (never above ceil(fill * P / 1000), so within its
    /// escrow), an ask grosses G1 - G0 with G = floor(F * P / 1000) and pays the fee
    /// floor(G1 * feeBps / 10_000) - floor(G0 * feeBps / 10_000).
    function _outcome(bool isBid, Order memory order, Clearing memory c) private pure returns (OrderOutcome memory out) {
        (uint256 beforeWh, uint256 afterWh) = _runningFills(isBid, order, c);
        uint256 pricePerKWh = c.clearingPricePerKWh;
        unchecked {
            out.filledWh = afterWh - beforeWh;
            if (isBid) {
                out.payment = _ceilMilli(afterWh * pricePerKWh) - _ceilMilli(beforeWh * pricePerKWh);
                out.refund = _ceilMilli(uint256(order.amountWh) * order.limitPricePerKWh) - out.payment;
            } else {
                // slither-disable-next-line divide-before-multiply: fees are differences of rounded running totals, so a level rounds once
                uint256 grossBefore = beforeWh * pricePerKWh / WH_PER_KWH;
                uint256 grossAfter = afterWh * pricePerKWh / WH_PER_KWH;
                out.payment = grossAfter - grossBefore;
                out.fee = grossAfter * c.feeBps / BPS - grossBefore * c.feeBps / BPS;
                out.refund = order.amountWh - out.filledWh;
            }
        }
    }

    /// @dev The order's level's filled volume before it and up to and including it (equal: no fill),
    /// from its own slot and the result. Orders better than the marginal level, or on the short side,
    /// fill in full; the marginal level's orders share L of its T: floor(C * L / T) at running total C.
    function _runningFills(bool isBid, Order memory order, Clearing memory c)
        private
        pure
        returns (uint256 beforeWh, uint256 afterWh)
    {
        uint256 tick = order.tick;
        if (c.volumeWh == 0 || (isBid ? tick < c.clearingTick : tick > c.clearingTick)) return (0, 0);
        beforeWh = order.volumeBeforeWh;
        afterWh = beforeWh + order.amountWh;
        if (c.longSide != (isBid ? LongSide.BIDS : LongSide.ASKS)) return (beforeWh, afterWh);
        if (tick != c.marginalTick) {
            return (isBid ? tick > c.marginalTick : tick < c.marginalTick) ? (beforeWh, afterWh) : (0, 0);
        }
        uint256 rationedWh = c.rationedWh;
        uint256 levelWh = c.marginalLevelWh;
        unchecked {
            return (beforeWh * rationedWh / levelWh, afterWh * rationedWh / levelWh);
        }
    }

    function _setPriceGrid(uint256 minPricePerKWh, uint256 tickSizePerKWh, uint256 maxPricePerKWh) private {
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
    function _currentGrid(Market memory market) private view returns (Market memory) {
        market.tickCount = _tickCount;
        market.minPricePerKWh = _minPricePerKWh;
        market.tickSizePerKWh = _tickSizePerKWh;
        return market;
    }

    function _tickOf(uint256 pricePerKWh, Market memory market) private pure returns (uint256 tick) {
        uint256 minPricePerKWh = market.minPricePerKWh;
        uint256 stepPerKWh = market.tickSizePerKWh;
        uint256 maxPricePerKWh = minPricePerKWh + (uint256(market.tickCount) - 1) * stepPerKWh;
        if (pricePerKWh < minPricePerKWh || pricePerKWh > maxPricePerKWh || (pricePerKWh - minPricePerKWh) % stepPerKWh != 0) {
            revert PriceNotOnGrid(pricePerKWh, minPricePerKWh, stepPerKWh, maxPricePerKWh);
        }
        return (pricePerKWh - minPricePerKWh) / stepPerKWh;
    }

    /// @dev The order of `orderId` and its place: a reusable place (the id without its period) or a
    /// one-off one (the id itself).
    function _knownOrder(uint256 orderId) private view returns (Order memory order, uint256 place) {
        (order, place) = _orderAt(orderId);
        if (order.period == 0) revert OrderUnknown(orderId);
        if (order.period != orderId >> PERIOD_SHIFT) revert OrderSlotReused(orderId, order.period);
    }

    /// @dev The place an id names and what it holds now (a reusable place may hold a later order).
    function _orderAt(uint256 orderId) private view returns (Order memory order, uint256 place) {
        place = (orderId >> PLACE_SHIFT) & PLACE_MASK < ORDER_SLOTS ? orderId & ((1 << PERIOD_SHIFT) - 1) : orderId;
        order = _orders[place];
    }

    /// @dev Pays out an order of a cleared market into its trader's vault balance. An order claimed
    /// before (by a claim, or in line when its trader's next order reused its place) reverts when
    /// `strict`, else is skipped: a batch does not fail on a claim that won a race with it.
    function _claim(uint256 orderId, bool strict) private {
        (Order memory order, uint256 place) = _orderAt(orderId);
        if (order.period == 0) revert OrderUnknown(orderId);
        bool reused = order.period != orderId >> PERIOD_SHIFT;
        if (reused || order.claimed) {
            if (!strict) return;
            if (reused) revert OrderSlotReused(orderId, order.period);
            revert AlreadyClaimed(orderId);
        }
        Clearing memory c = _clearings[order.period];
        if (c.clearingPricePerKWh == 0) revert MarketNotCleared(order.period);
        _orders[place].claimed = true;
        (uint256 energyWh, uint256 payment) = _payOut(orderId, order, c);
        if (energyWh != 0 || payment != 0) _move(IEnergyVault.give.selector, address(uint160(orderId)), energyWh, payment);
    }

    /// @dev `_knownOrder` of a cleared market, with its result.
    function _clearedOrder(uint256 orderId)
        private
        view
        returns (Order memory order, uint256 place, Clearing memory c)
    {
        (order, place) = _knownOrder(orderId);
        c = _clearings[order.period];
        if (c.clearingPricePerKWh == 0) revert MarketNotCleared(order.period);
    }

    function _gateClosureTime(uint256 period) private view returns (uint256) {
        return Math.saturatingSub(Math.saturatingMul(period, _periodLength), _gateClosure);
    }

    /// @dev With standing orders, a market waits for its interval's readings: its end plus the deadline.
    function _clearingTime(uint256 period) private view returns (uint256) {
        if (_meterRegistry == address(0)) return _gateClosureTime(period);
        return Math.saturatingAdd(Math.saturatingMul(Math.saturatingAdd(period, 1), _periodLength), _readingDeadlineSeconds);
    }

    /// @dev `_clearingTime` of a period a reading measured (a reading's time / the period length): the
    /// sum cannot overflow, so the reading path skips the saturating arithmetic.
    function _meteredClearingTime(uint256 period) private view returns (uint256) {
        unchecked {
            return (period + 1) * _periodLength + _readingDeadlineSeconds;
        }
    }

    function _paymentTokenOf(IEnergyVault vault_) private view returns (IERC20) {
        if (address(vault_) == address(0)) revert ZeroAddress();
        return IERC20(vault_.paymentToken());
    }

    /// @dev A tick's whole slot (`_ticks[_tickKey(period, tick)]`): bid volume in the low 64 bits, ask
    /// volume in the next 64. Read directly: `clear` reads a slot or two per occupied tick.
    function _tickWord(uint256 period, uint256 tick) private view returns (uint256 word) {
        // slither-disable-next-line assembly: reads the packed TickVolumes slot as one word, both sides at once, on the clearing hot path
        assembly ("memory-safe") {
            mstore(0x00, or(shl(8, period), tick))
            mstore(0x20, _ticks.slot)
            word := sload(keccak256(0x00, 0x40))
        }
    }

    function _tickKey(uint256 period, uint256 tick) private pure returns (uint256) {
        return (period << 8) | tick;
    }

    /// @dev Index of the lowest set bit of a non-zero word: isolate it, then binary-search its position
    /// (inline: it runs a few times per occupied tick in `clear`).
    function _lowestBit(uint256 bits) private pure returns (uint256 index) {
        // slither-disable-next-line assembly: branch-free bit search on the clearing hot path
        assembly ("memory-safe") {
            let bit := and(bits, sub(0, bits))
            index := shl(7, gt(bit, 0xffffffffffffffffffffffffffffffff))
            index := or(index, shl(6, gt(shr(index, bit), 0xffffffffffffffff)))
            index := or(index, shl(5, gt(shr(index, bit), 0xffffffff)))
            index := or(index, shl(4, gt(shr(index, bit), 0xffff)))
            index := or(index, shl(3, gt(shr(index, bit), 0xff)))
            index := or(index, shl(2, gt(shr(index, bit), 0xf)))
            // The last nibble holds 1, 2, 4 or 8: positions 0, 1, 2, 3.
            // slither-disable-next-line too-many-digits: a 32-byte lookup table, one byte per nibble value
            index := or(index, byte(shr(index, bit), 0x0000010002000000030000000000000000000000000000000000000000000000))
        }
    }

    /// @dev Index of the highest set bit of a non-zero word.
    function _highestBit(uint256 bits) private pure returns (uint256 index) {
        // slither-disable-next-line assembly: branch-free bit search on the clearing hot path
        assembly ("memory-safe") {
            index := shl(7, gt(bits, 0xffffffffffffffffffffffffffffffff))
            index := or(index, shl(6, gt(shr(index, bits), 0xffffffffffffffff)))
            index := or(index, shl(5, gt(shr(index, bits), 0xffffffff)))
            index := or(index, shl(4, gt(shr(index, bits), 0xffff)))
            index := or(index, shl(3, gt(shr(index, bits), 0xff)))
            index := or(index, shl(2, gt(shr(index, bits), 0xf)))
            // Positions of the highest bit of each nibble value 0..15, one byte each.
            // slither-disable-next-line too-many-digits: a 32-byte lookup table, one byte per nibble value
            index := or(index, byte(shr(index, bits), 0x0000010102020202030303030303030300000000000000000000000000000000))
        }
    }

    /// @dev `IEnergyVault.give` or `take` (`selector`) of `account`'s energy and payment: one shared call
    /// site for the contract's four vault moves (the vault is a contract: the constructor called it).
    /// A revert in the vault comes through as it is.
    function _move(bytes4 selector, address account, uint256 energyWh, uint256 payment) private {
        IEnergyVault vault_ = _vault;
        // slither-disable-next-line assembly: one encoding of the vault's three-word moves instead of four
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            // An address converted from an id may carry the id's upper bits here: cleaned.
            mstore(add(ptr, 0x04), and(account, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(ptr, 0x24), energyWh)
            mstore(add(ptr, 0x44), payment)
            if iszero(call(gas(), vault_, 0, ptr, 0x64, 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
        }
    }

    /// @dev Callers pass Wh times a grid price: below 2^120, far from overflowing.
    function _ceilMilli(uint256 milli) private pure returns (uint256) {
        unchecked {
            return (milli + WH_PER_KWH - 1) / WH_PER_KWH;
        }
    }
}
