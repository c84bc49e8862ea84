// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {FeeTooHigh, InvalidFeeRecipient, NoFeesAccrued, NotFeeRecipient, OrderUnknown, ZeroAddress} from "../utils/GridErrors.sol";
import {IGridFees} from "./IGridFees.sol";
import {IReentrancyLock} from "../utils/ReentrancyLock.sol";
import {IMeteredMarket} from "../metering/IMeteredMarket.sol";

/// @title IEnergyAuction
/// @notice A uniform-price double auction per delivery period. Bids and asks for a period are firm
/// and escrowed when submitted, until the period's gate closes (`gateClosure()` seconds before the
/// period starts); from that second anyone may clear the market once, at a competitive price, and
/// every order then claims its fill, payment or proceeds and refund in O(1).
/// @dev Units: energy in Wh (EnergyToken units), prices in PaymentToken base units per kWh.
/// - A period's index is its start time divided by `periodLength()`.
/// - Limit prices lie on a grid of at most 256 ticks: `minPrice() + k * tickSize()` up to `maxPrice()`;
///   a market keeps the grid it had at its first order.
/// - A bid escrows ceil(amountWh * limitPricePerKWh / 1000) PaymentToken, an ask escrows amountWh EnergyToken.
/// - Clearing: for every tick p, D(p) = bid volume with limit >= p, S(p) = ask volume with limit <= p.
///   The price is competitive: every bid above it and every ask below it fills in full, and only orders
///   at it are rationed. The competitive ticks are those where S(p-1) - D(p) <= 0 <= S(p) - D(p+1), a
///   run of ticks; the clearing tick is its middle, rounded down. min(D, S), the most any price trades,
///   is traded at that tick's price.
/// - Fills: the short side's orders at or better than the price fill in full; the long side fills
///   best limit first, and the orders of the last level reached (the marginal tick) share what is left,
///   L Wh of the level's T, on running totals in arrival order: order i fills
///   floor(C(i) * L / T) - floor(C(i-1) * L / T), C(i) = the level's volume up to and including order i.
/// - Money, at clearing price P, rounds once per level (one side of one tick), on the same running
///   totals as the fills: with F0 and F1 the level's filled volume before an order and up to and
///   including it, a bid pays ceil(F1 * P / 1000) - ceil(F0 * P / 1000), never more than
///   ceil(fill * P / 1000), so never more than its escrow; an ask's gross is G1 - G0 with
///   G = floor(F * P / 1000), and its grid fee floor(G1 * feeBps / 10_000) - floor(G0 * feeBps / 10_000)
///   (the market's fee rate, see below): a level's fees are floor(its gross * feeBps / 10_000), and an
///   order's at most ceil(its gross * feeBps / 10_000). A level's payments, gross and fees are then known
///   from its volume alone, so `clear` accrues each market's fees plus the buyers' rounding surplus
///   (payments minus gross, below one unit per level) at once, and claims touch no shared state: after
///   every order of a market has claimed, nothing of it is left but what was accrued.
/// - Fee rate: a market takes the grid fee in force at its first order, and an ask submitted later under
///   a lower fee lowers it to that fee; a raise never reaches a market opened before it. So no seller
///   pays a rate above the one in force when they submitted.
/// - Balances: escrow is taken from, and claims paid into, the trader's EnergyVault balance (the trader
///   approves this market in the vault once); a shortfall is pulled from the wallet if the vault has an allowance.
/// - Standing orders (IMeteredMarket) join the same markets after their interval, until the reading
///   deadline; a market with standing orders enabled clears from its end plus that deadline.
/// - Order ids: period << 192 | 1 << 191 for a bid | place << 160 | trader. Each trader has 16
///   reusable places per side; an order takes place `period % 16` or one of the next three (mod 16)
///   if that holds a live order, else a one-off place of its market (16 + its sequence number there).
///   A place is live while its order is unclaimed and its market not cleared. Taking a place whose
///   order's market has cleared claims that order in line first (its OrderClaimed is emitted and its
///   payout credited before the new escrow is taken), so a trader who keeps ordering is paid without
///   claims of its own; the old id then names a place that moved on (OrderSlotReused).
/// - Signed orders: a trader may sign a firm bid or ask (EIP-712, domain "EnergyAuction", version "1",
///   this chain and this auction) and let anyone submit it with submitOrderBySig. The order, its escrow
///   and its payout are the signer's, exactly as if the signer had called submitBid or submitAsk (or, for
///   an order naming a region, submitBidIn or submitAskIn), so the signer must have approved this market
///   in the vault. Each signature carries the trader's next nonce
///   (`nonces(trader)`) and a deadline, so it is used once and not after its deadline.
/// - Pause: stops new bids and asks only. Clearing, claims and the fee withdrawal stay open, so a
///   pause never holds an order's escrow.
interface IEnergyAuction is IReentrancyLock, IGridFees, IMeteredMarket {
    /// @notice The side of a cleared market that offered more than was traded at the clearing price.
    enum LongSide {
        NONE, // both sides traded everything at or better than the price (or nothing traded)
        BIDS,
        ASKS,
        ZONES // the market cleared across zones: each zone's result (MarketZones.getZoneResult) rations its own sides
    }

    /// @notice The storage slots of the mappings that hold the markets, their books and results, for readers
    /// of extsload (MarketZones). A book is keyed period << 8 | zone, a tick word period << 16 | zone << 8 | tick.
    struct BookSlots {
        uint256 markets; // period => Market: orderCount (32 bits), tickCount (16), minPricePerKWh (80), tickSizePerKWh (80), bidVolumeWh (48)
        uint256 clearings; // period => Clearing; feeBps in bits 32-47
        uint256 occupiedTicks; // book => occupancy bitmap of the ticks holding bids or asks; a cleared zone's result
        uint256 ticks; // tick word => bidWh (64 bits) | askWh << 64
        uint256 zonesOf; // period => bitmap of the zones other than the bus that hold orders
    }

    /// @notice A market's state: its grid, its orders and, once cleared, its result.
    struct MarketInfo {
        bool cleared;
        uint256 orderCount; // orders submitted (firm orders; a one-off place is 16 + its sequence number, 1 to this)
        uint256 tickCount; // ticks of the market's grid (0 = no order and not cleared: the current grid applies)
        uint256 minPricePerKWh; // the market's grid: tick k is minPricePerKWh + k * tickSizePerKWh
        uint256 tickSizePerKWh;
        uint256 clearingTick;
        uint256 clearingPricePerKWh;
        uint256 volumeWh; // traded: min(D, S) at the clearing tick
        uint256 feeBps; // grid fee rate of the market's sales (see Fee rate); 0 before its first order
        LongSide longSide;
        uint256 marginalTick; // the long side's last level reached (its orders are rationed)
        uint256 rationedWh; // L: what that level trades
        uint256 marginalLevelWh; // T: that level's volume
    }

    /// @notice A firm order that its trader signed, for submitOrderBySig. Its EIP-712 type is
    /// AuctionOrder(address trader,uint256 period,bool isBid,uint256 amountWh,uint256 limitPricePerKWh,uint256 nonce,uint256 deadline,uint32 regionId).
    struct SignedAuctionOrder {
        address trader; // the signer, who escrows and gets the payout
        uint256 period; // the delivery period
        bool isBid; // true for a bid (buy), false for an ask (sell)
        uint256 amountWh;
        uint256 limitPricePerKWh;
        uint256 nonce; // the trader's nonce: nonces(trader) when submitted
        uint256 deadline; // unix seconds; the order is refused from this second on
        uint32 regionId; // the grid region whose zone the order trades in (MarketZones); 0 for the bus
    }

    /// @notice An order as submitted.
    struct OrderInfo {
        address trader;
        uint256 period;
        bool isBid;
        uint256 amountWh;
        uint256 limitPricePerKWh;
        uint256 tick;
        uint256 volumeBeforeWh; // C(i-1): volume of the same side and tick submitted before it
        bool claimed;
        uint256 zone; // the zone it trades in (MarketZones): 0 for the bus
    }

    /// @notice What an order of a cleared market gets (or got) when it claims.
    struct OrderOutcome {
        uint256 filledWh; // energy traded: delivered to a buyer, sold by a seller
        uint256 payment; // bid: PaymentToken paid for the fill; ask: the sale's gross, fee included (see rounding above)
        uint256 fee; // ask: grid fee out of `payment` (0 for a bid)
        uint256 refund; // unfilled escrow back: PaymentToken for a bid, Wh for an ask
        bool claimed;
    }

    /// @notice An order was submitted and its escrow taken: `escrow` PaymentToken for a bid, Wh for an ask.
    /// @param orderId period << 192 | 1 << 191 for a bid | the trader's place << 160 | trader (see Order ids).
    /// @param period The delivery period the order trades in.
    /// @param trader Who escrowed and gets the payout: the caller, or the signer of a relayed order.
    /// @param isBid True for a bid (buy), false for an ask (sell).
    /// @param amountWh The most energy the order trades, Wh.
    /// @param limitPricePerKWh Its limit price, a tick of the market's grid, PaymentToken base units per kWh.
    /// @param escrow Taken from the trader: ceil(amountWh * limitPricePerKWh / 1000) PaymentToken base units
    /// for a bid, amountWh EnergyToken (Wh) for an ask.
    event OrderSubmitted(
        uint256 indexed orderId,
        uint256 indexed period,
        address indexed trader,
        bool isBid,
        uint256 amountWh,
        uint256 limitPricePerKWh,
        uint256 escrow
    );
    /// @notice A market cleared: `volumeWh` traded at `clearingPricePerKWh`; on `longSide`, the orders at
    /// `marginalTick` share `rationedWh` of their `marginalLevelWh`.
    /// @param period The delivery period.
    /// @param clearingTick The clearing price's tick on the market's grid (0 = its minimum price).
    /// @param clearingPricePerKWh The price every fill trades at, PaymentToken base units per kWh.
    /// @param volumeWh Energy traded, Wh: min(D, S) at the clearing tick (0 when nothing crossed).
    /// @param longSide The side that offered more than was traded at the price, or NONE.
    /// @param marginalTick The long side's last level reached, whose orders are rationed (0 when NONE).
    /// @param rationedWh L: what that level trades, Wh (0 when NONE).
    /// @param marginalLevelWh T: that level's volume, Wh (0 when NONE).
    /// @param feeBps The grid fee rate of the market's sales, basis points: the fee at its first order, or a
    /// lower one in force when a later ask came (the current fee for a market without orders).
    event MarketCleared(
        uint256 indexed period,
        uint256 clearingTick,
        uint256 clearingPricePerKWh,
        uint256 volumeWh,
        LongSide longSide,
        uint256 marginalTick,
        uint256 rationedWh,
        uint256 marginalLevelWh,
        uint256 feeBps
    );
    /// @notice An order was claimed and paid out to its trader (whoever called). A bid receives
    /// `filledWh` of energy and `refund` PaymentToken; an ask receives `payment - fee` PaymentToken and
    /// `refund` Wh.
    /// @param orderId The order.
    /// @param trader Who submitted it and received the payout.
    /// @param isBid True for a bid, false for an ask.
    /// @param filledWh Energy traded, Wh.
    /// @param payment Bid: what it paid for the fill; ask: the sale's gross, fee included; PaymentToken base units.
    /// @param fee Ask: the grid fee out of `payment`, PaymentToken base units; 0 for a bid.
    /// @param refund Unfilled escrow returned: PaymentToken base units for a bid, Wh for an ask.
    event OrderClaimed(
        uint256 indexed orderId,
        address indexed trader,
        bool isBid,
        uint256 filledWh,
        uint256 payment,
        uint256 fee,
        uint256 refund
    );
    /// @notice An order was placed in a zone (MarketZones) rather than on the bus; its OrderSubmitted came just before.
    /// @param orderId The order.
    /// @param zone Its zone.
    event OrderZoneSet(uint256 indexed orderId, uint256 zone);
    /// @notice The admin set the market's zones.
    /// @param zones The MarketZones contract.
    event MarketZonesSet(address indexed zones);
    /// @notice The price grid for markets that have no order yet was set (at deployment, then by the admin).
    /// @param minPricePerKWh The lowest price (tick 0), PaymentToken base units per kWh.
    /// @param tickSizePerKWh The step between prices, PaymentToken base units per kWh.
    /// @param maxPricePerKWh The highest price (the last tick), PaymentToken base units per kWh.
    event PriceGridUpdated(uint256 minPricePerKWh, uint256 tickSizePerKWh, uint256 maxPricePerKWh);
    /// @notice A period length of 0 or above MAX_PERIOD_LENGTH (at deployment).
    /// @param periodLengthSeconds The length given, seconds.
    /// @param maxSeconds MAX_PERIOD_LENGTH, seconds.
    error InvalidPeriodLength(uint256 periodLengthSeconds, uint256 maxSeconds);
    /// @notice A gate closure above MAX_GATE_CLOSURE (at deployment).
    /// @param gateClosureSeconds The gate closure given, seconds before a period's start.
    /// @param maxSeconds MAX_GATE_CLOSURE, seconds.
    error InvalidGateClosure(uint256 gateClosureSeconds, uint256 maxSeconds);
    /// @notice A price grid with a zero minimum or tick, a maximum below the minimum or off the grid,
    /// more than MAX_TICKS ticks, or a maximum above MAX_PRICE_PER_KWH.
    /// @param minPricePerKWh The lowest price given, PaymentToken base units per kWh.
    /// @param tickSizePerKWh The step given, PaymentToken base units per kWh.
    /// @param maxPricePerKWh The highest price given, PaymentToken base units per kWh.
    error InvalidPriceGrid(uint256 minPricePerKWh, uint256 tickSizePerKWh, uint256 maxPricePerKWh);
    /// @notice An order of 0 Wh or more than MAX_ORDER_WH.
    /// @param amountWh The amount given, Wh.
    /// @param maxAmountWh MAX_ORDER_WH, Wh.
    error AmountOutOfRange(uint256 amountWh, uint256 maxAmountWh);
    /// @notice A limit price that is not a tick of the market's grid.
    /// @param limitPricePerKWh The price given, PaymentToken base units per kWh.
    /// @param minPricePerKWh The market grid's lowest price, PaymentToken base units per kWh.
    /// @param tickSizePerKWh The market grid's step, PaymentToken base units per kWh.
    /// @param maxPricePerKWh The market grid's highest price, PaymentToken base units per kWh.
    error PriceNotOnGrid(uint256 limitPricePerKWh, uint256 minPricePerKWh, uint256 tickSizePerKWh, uint256 maxPricePerKWh);
    /// @notice The period's gate closed at `gateClosureTime`: it takes no more orders.
    /// @param period The delivery period given.
    /// @param gateClosureTime When its gate closed, unix seconds.
    error GateClosed(uint256 period, uint256 gateClosureTime);
    /// @notice The period's gate closes more than MAX_LEAD_TIME from now; `maxPeriod` is the furthest period open now.
    /// @param period The delivery period given.
    /// @param maxPeriod The furthest period that takes orders now.
    error PeriodTooFarAhead(uint256 period, uint256 maxPeriod);
    /// @notice The order would take one side of one tick above MAX_TICK_VOLUME_WH.
    /// @param period The delivery period.
    /// @param tick The order's tick.
    /// @param volumeWh The side's volume at that tick with the order, Wh.
    /// @param maxVolumeWh MAX_TICK_VOLUME_WH, Wh.
    error TickVolumeTooLarge(uint256 period, uint256 tick, uint256 volumeWh, uint256 maxVolumeWh);
    /// @notice The market of `period` clears from `gateClosureTime` on (see clearingTime).
    /// @param period The delivery period given.
    /// @param gateClosureTime When it may clear, unix seconds.
    error GateNotClosed(uint256 period, uint256 gateClosureTime);
    /// @notice The market was cleared already.
    /// @param period The delivery period given.
    error MarketAlreadyCleared(uint256 period);
    /// @notice The market has not been cleared yet: its orders can neither claim nor show an outcome.
    /// @param period The order's delivery period.
    error MarketNotCleared(uint256 period);
    /// @notice The order was claimed already.
    /// @param orderId The order given.
    error AlreadyClaimed(uint256 orderId);
    /// @notice The id's place holds the trader's order of another period: the order was claimed in line
    /// when a later order took its place (see its OrderClaimed event), or never existed.
    /// @param orderId The order given.
    /// @param placePeriod The period of the order the place holds now.
    error OrderSlotReused(uint256 orderId, uint256 placePeriod);
    /// @notice A signed order submitted at or after its deadline.
    /// @param deadline The signed deadline, unix seconds.
    /// @param blockTimestamp The current block's timestamp.
    error SignatureExpired(uint256 deadline, uint256 blockTimestamp);
    /// @notice A signed order whose nonce is not the trader's current one: already used (a replay) or
    /// not yet reached.
    /// @param trader The trader the order names.
    /// @param nonce The signed nonce.
    /// @param currentNonce The trader's current nonce.
    error InvalidNonce(address trader, uint256 nonce, uint256 currentNonce);
    /// @notice The signature does not recover to the order's trader: signed by someone else, over other
    /// contents, for another chain or another contract (the domain differs), a malleable twin (s in the
    /// upper half of the curve order), or not a signature.
    /// @param trader The trader the order must be signed by.
    /// @param signer The address the signature recovers to (0 = none, or a malleable twin).
    error InvalidSigner(address trader, address signer);

    /// @notice The region is not one of the market's zones, or the market has none (setMarketZones).
    /// @param regionId The region named.
    error RegionNotAZone(uint32 regionId);
    /// @notice The market's zones were set already; they are set once.
    /// @param zones The MarketZones in place.
    error MarketZonesAlreadySet(address zones);
    /// @notice The extension given at deployment was deployed with other settings than the auction's own
    /// (IEnergyAuctionExtension.extensionSettings).
    /// @param extension The extension given.
    error AuctionExtensionMismatch(address extension);
    /// @notice A MarketZones contract made for another market.
    /// @param zones The contract given.
    /// @param itsAuction The market it was made for.
    error MarketZonesMismatch(address zones, address itsAuction);

    /// @notice Submits a firm bid for `period`: buys up to `amountWh` at `limitPricePerKWh` or less, and
    /// escrows ceil(amountWh * limitPricePerKWh / 1000) PaymentToken. Open while
    /// block.timestamp < gateClosureTime(period) <= block.timestamp + MAX_LEAD_TIME.
    /// Claims in line the sender's earlier bid in the place it takes, if that one's market has cleared.
    /// @return orderId period << 192 | 1 << 191 | place << 160 | the sender (see Order ids).
    function submitBid(uint256 period, uint256 amountWh, uint256 limitPricePerKWh) external returns (uint256 orderId);

    /// @notice Submits a firm ask for `period`: sells up to `amountWh` at `limitPricePerKWh` or more, and
    /// escrows amountWh EnergyToken. Same window as submitBid.
    /// Claims in line the sender's earlier ask in the place it takes, if that one's market has cleared.
    /// @return orderId period << 192 | place << 160 | the sender (see Order ids).
    function submitAsk(uint256 period, uint256 amountWh, uint256 limitPricePerKWh) external returns (uint256 orderId);

    /// @notice Submits a firm bid in the zone of grid region `regionId` (MarketZones): as submitBid, but it
    /// buys at its zone's price, from the zone's own asks and what the zone's link can bring in.
    function submitBidIn(uint32 regionId, uint256 period, uint256 amountWh, uint256 limitPricePerKWh)
        external
        returns (uint256 orderId);

    /// @notice Submits a firm ask in the zone of grid region `regionId`: as submitAsk, at its zone's price.
    function submitAskIn(uint32 regionId, uint256 period, uint256 amountWh, uint256 limitPricePerKWh)
        external
        returns (uint256 orderId);

    /// @notice Submits a firm bid or ask that `order.trader` signed (anyone may relay it): the same order,
    /// window, escrow and in-line claim as submitBid or submitAsk called by the trader (submitBidIn or
    /// submitAskIn for an order naming a region, RegionNotAZone if it is not one), who must have
    /// approved this market in the vault. Spends the trader's nonce. Reverts with SignatureExpired from
    /// the deadline's second on, InvalidNonce for a nonce other than nonces(order.trader), and
    /// InvalidSigner for a signature that does not recover to the trader.
    /// @param order The order as signed.
    /// @param v The signature's recovery byte.
    /// @param r The signature's r.
    /// @param s The signature's s, in the lower half of the curve order.
    /// @return orderId The order's id, as submitBid or submitAsk returns it.
    function submitOrderBySig(SignedAuctionOrder calldata order, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 orderId);

    /// @notice Clears the market of `period` (anyone, once, from its clearingTime on, paused or not):
    /// fixes its price, volume and rationing, and accrues its fees and rounding surplus. A market
    /// without orders clears too, with volume 0.
    function clear(uint256 period) external;

    /// @notice Pays out an order of a cleared market to its trader (anyone may call, once): a bid gets its
    /// energy and its unused escrow back, an ask its proceeds minus the grid fee and its unsold energy.
    /// Not needed for an order its trader's later order claimed in line.
    function claim(uint256 orderId) external;

    /// @notice Claims several orders of cleared markets at once (a keeper's round, or a trader's orders
    /// of several markets): each paid out as by `claim`, with one vault move for the batch. An order
    /// claimed before (by a claim, a batch, or in line by its trader's next order in its place) is
    /// skipped, so that a batch does not fail on a claim that won a race with it.
    /// @param orderIds 1 to MAX_CLAIM_BATCH ids from submitBid / submitAsk.
    function claimBatch(uint256[] calldata orderIds) external;

    /// @notice The raw storage words at `slots`, for readers that know the layout (AuctionState).
    function extsload(bytes32[] calldata slots) external view returns (bytes32[] memory values);
}
