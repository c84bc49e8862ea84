// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEnergyAuction} from "../IEnergyAuction.sol";
import {GridFees} from "../GridFees.sol";
import {IMarketZones} from "../IMarketZones.sol";
import {IEnergyVault} from "../../vault/IEnergyVault.sol";
import {ZeroAddress} from "../../utils/GridErrors.sol";
import {AuctionOrder} from "../../types/AuctionOrder.sol";
import {MeteredSlot} from "../../types/MeteredSlot.sol";
import {TickVolumes} from "../../types/TickVolumes.sol";
import {AuctionClearing} from "./AuctionClearing.sol";
import {MarketTime} from "./MarketTime.sol";

/// @dev A market's book slot. Every submission to the market writes it. From the low bits up: the order
/// count (32 bits), the grid's tick count (16), lowest price (80) and tick size (80), and the bids' volume
/// (48); AuctionState reads it from outside in that order.
struct Market {
    uint32 orderCount; // The number of firm orders submitted; their sequence numbers run from 1 to orderCount.
    uint16 tickCount; // Zero until the market fixes its grid, which happens at its first order or at clearing.
    uint80 minPricePerKWh; // The lowest price of the grid the market started with.
    uint80 tickSizePerKWh;
    uint48 bidVolumeWh; // The volume of all bids, which is D at the lowest tick, where the clearing scan starts.
}

/// @dev A market's result, which clearing writes once. It holds everything a claim needs besides the order
/// itself. From the low bits up: opened (8 bits), the clearing tick (8), the marginal tick (8), the long side
/// (8), the fee rate (16), the clearing price (80), the volume (48), L (40) and T (40).
struct Clearing {
    bool opened; // Set at the first order, so that clearing rewrites the slot instead of creating it.
    uint8 clearingTick;
    uint8 marginalTick;
    IEnergyAuction.LongSide longSide;
    uint16 feeBps; // The fee rate in force at the first order, which later asks may lower.
    uint80 clearingPricePerKWh; // Zero until the market clears, since every grid price is above zero.
    uint48 volumeWh; // At most 256 ticks times MAX_TICK_VOLUME_WH, which stays below 2^48.
    uint40 rationedWh; // L, the volume the long side's marginal level trades; below MAX_TICK_VOLUME_WH < 2^40.
    uint40 marginalLevelWh; // T, the total volume of that marginal level.
}

/// @title AuctionStorage
/// @notice Every state variable of the auction, in one place: the energy auction (EnergyAuction) and its
/// extension of rarely called functions (EnergyAuctionExtension), which runs on the auction's storage by
/// delegatecall, both inherit exactly this layout. Outside contracts read it through AuctionState.
/// @dev The order of the variables below is the storage layout; AuctionState's slot numbers follow it (a
/// test holds them to `bookSlots()`). Besides these, AccessControl's roles (slot 0) and GridFees' fee
/// recipient with Pausable's flag come first. Nothing may be added between them: add at the end.
abstract contract AuctionStorage is GridFees, Pausable {
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
    // slither-disable-next-line uninitialized-state,constable-states: the auction writes it; its extension, which Slither reads as a contract of its own, runs on the auction's storage by delegatecall
    uint32 internal _readingDeadlineSeconds;
    /// @dev The grid fees and the buyers' rounding surplus of cleared markets, plus one. Because the slot
    /// never returns to zero, accruing at clearing rewrites it (5,000 gas) instead of creating it (22,100).
    uint256 internal _accruedFeesPlusOne = 1;

    mapping(uint256 period => Market) internal _markets;
    mapping(uint256 period => Clearing) internal _clearings;
    // A market keeps one book per zone, keyed by _bookKey(period, zone); the bus is zone 0, so a market
    // without zones keeps the one book it always had. A book's occupancy word has a bit for each tick
    // that holds bids or asks (one word for both sides, so that a book's first order creates one word,
    // not two); once the market has cleared across zones it holds the zone's result (AuctionState.zoneResult).
    mapping(uint256 book => uint256) internal _occupiedTicks;
    mapping(uint256 bookAndTick => TickVolumes) internal _ticks;
    // slither-disable-next-line uninitialized-state: the auction writes it; its extension, which Slither reads as a contract of its own, runs on the auction's storage by delegatecall
    mapping(uint256 place => AuctionOrder) internal _orders;
    /// @dev The zones other than the bus that hold orders in a market, one bit per zone. A market with none
    /// clears alone, exactly as before zones existed.
    mapping(uint256 period => uint256) internal _zonesOf;
    // slither-disable-next-line uninitialized-state,constable-states: the extension sets it once; the auction reads it on its own storage
    IMarketZones internal _marketZones;
    /// @dev The orders that one reading, or the readings of one interval, placed for a meter. The key
    /// combines the meter and the period's parity (MeteredSlotLibrary.key).
    // slither-disable-next-line unused-state: the auction's standing orders use it; the extension keeps its place in the layout
    mapping(uint256 meterAndParity => MeteredSlot) internal _placed;
    /// @dev The nonce each trader's next signed order must carry.
    // slither-disable-next-line uninitialized-state: the auction writes it; its extension, which Slither reads as a contract of its own, runs on the auction's storage by delegatecall
    mapping(address trader => uint256) internal _nonces;

    /// @param meterRegistry_ The SmartMeter whose readings place standing orders, or zero for an auction
    /// that takes firm orders only.
    constructor(
        IEnergyVault vault_,
        address meterRegistry_,
        address feeRecipient_,
        uint256 gridFeeBps_,
        uint256 periodLengthSeconds,
        uint256 gateClosureSeconds
    ) GridFees(_paymentTokenOf(vault_), feeRecipient_, gridFeeBps_) {
        if (periodLengthSeconds == 0 || periodLengthSeconds > MAX_PERIOD_LENGTH) {
            revert IEnergyAuction.InvalidPeriodLength(periodLengthSeconds, MAX_PERIOD_LENGTH);
        }
        if (gateClosureSeconds > MAX_GATE_CLOSURE) revert IEnergyAuction.InvalidGateClosure(gateClosureSeconds, MAX_GATE_CLOSURE);
        _vault = vault_;
        // A zero address means the auction has no standing orders, because no meter registry reports to it.
        _meterRegistry = meterRegistry_;
        _energyToken = IERC20(vault_.energyToken());
        _periodLength = periodLengthSeconds;
        _gateClosure = gateClosureSeconds;
    }

    function _paymentTokenOf(IEnergyVault vault_) private view returns (IERC20) {
        if (address(vault_) == address(0)) revert ZeroAddress();
        return IERC20(vault_.paymentToken());
    }
}
