// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IEnergyMarket} from "../IEnergyMarket.sol";
import {Settlement} from "../Settlement.sol";
import {TraderIndexes} from "./TraderIndexes.sol";
import {OrderMath} from "../../utils/OrderMath.sol";
import {OrderUnknown} from "../../utils/GridErrors.sol";
import {NO_ORDER, OrderId} from "../../types/OrderId.sol";
import {OrderRecord, StoredOrder} from "../../types/OrderRecord.sol";

/// @title OrderStore
/// @notice This contract keeps the order book's records and the rules that every way of trading
/// shares: which orders exist, which can trade, and what each one escrows.
/// @dev An order is one storage slot (OrderRecord). `unpack` reads it into its fields (StoredOrder),
/// and `_store` writes it back whole, so a new order writes one fresh slot. The market's global state
/// is one more slot (MarketState). When the price band is off and no new best price is set, it is the
/// only slot createOrder writes besides the order's own. Orders are not linked per trader, because
/// that link would cost every order a write; instead, getTraderOrders reads order ids downwards, and
/// the event index serves the full list. Escrow moves between the trader's vault balance and the
/// market's only through `_take` (into the market) and Settlement's credits (out of it).
abstract contract OrderStore is Settlement, TraderIndexes, IEnergyMarket {
    /// @notice The largest order, which is 1.1 TWh (uint40), about a year of a large power station's output.
    uint256 public constant MAX_ORDER_AMOUNT_WH = type(uint40).max;
    /// @notice The highest maximum price the admin can set (uint64, 1.8e19), in PaymentToken base units
    /// per kWh. For an 18-decimals token that is 18 whole units per kWh, some fifty times a retail price
    /// and above every wholesale scarcity cap (a few units per kWh). Keeping prices to 64 bits lets an
    /// order fit in one slot.
    uint256 public constant PRICE_CAP_PER_KWH = type(uint64).max;

    /// @dev The one global slot that createOrder writes when the price band is off and no new best price
    /// is set. Each order reads it once.
    struct MarketState {
        bool ordersPaused; // A copy of Pausable's flag.
        OrderId orderCount;
        uint32 lastAssignedIndex; // The last trader index given out in sequence from 2^31 up (TraderIndexes).
        uint48 minOrderAmountWh;
        uint64 maxPricePerKWh;
        uint16 priceBandBps; // Zero means the price band is off.
    }

    MarketState internal _state;
    mapping(OrderId => OrderRecord) internal _orders;

    /// @param minOrderAmountWh_ The smallest order and partial fill, within setMinOrderAmount's bounds.
    constructor(uint256 minOrderAmountWh_) {
        _checkMinOrderAmount(minOrderAmountWh_);
        _state = MarketState(
            false, NO_ORDER, uint32(FIRST_ASSIGNED_INDEX - 1), uint48(minOrderAmountWh_), uint64(PRICE_CAP_PER_KWH), 0
        );
    }

    // ---- Pause ----

    /// @dev Pausable's hooks also set the copy of the flag that createOrder reads.
    function _pause() internal override {
        super._pause();
        _state.ordersPaused = true;
    }

    function _unpause() internal override {
        super._unpause();
        _state.ordersPaused = false;
    }

    // ---- Order records ----

    /// @dev Writes an order's slot whole from its fields: one SSTORE, no read. Every write of an
    /// order goes through here with the whole order in memory, each field within its width
    /// (amounts below 2^40, prices below 2^64, expiries below 2^32: MAX_ORDER_LIFETIME ahead).
    function _store(OrderId id, StoredOrder memory o) internal {
        _orders[id] = o.pack();
    }

    /// @dev Returns the fields of an order that exists, and reverts with OrderUnknown otherwise.
    function _knownOrder(OrderId id) internal view returns (StoredOrder memory o) {
        o = _orders[id].unpack();
        if (o.traderIndex == 0) revert OrderUnknown(OrderId.unwrap(id));
    }

    // ---- Order rules ----

    function _checkActive(OrderId id, OrderStatus status) internal pure {
        if (status != OrderStatus.ACTIVE) revert OrderNotActive(OrderId.unwrap(id), status);
    }

    /// @dev Returns an order that can trade now: it is known, ACTIVE and not expired, and when `checkType`
    /// is set it is also of `orderType`.
    function _tradableOrder(OrderId id, OrderType orderType, bool checkType)
        internal
        view
        returns (StoredOrder memory o)
    {
        o = _knownOrder(id);
        if (checkType && o.orderType != orderType) revert WrongOrderType(OrderId.unwrap(id), orderType);
        _checkActive(id, o.status);
        if (block.timestamp >= o.expiry) revert OrderExpired(OrderId.unwrap(id), o.expiry);
    }

    /// @dev Rejects a trade of the directed order `o` with the trader of index `traderIndex`. An index of
    /// zero is an account that never traded here, so it cannot be the order's counterparty either.
    function _checkCounterparty(OrderId id, StoredOrder memory o, uint256 traderIndex) internal view {
        if (traderIndex != o.counterpartyIndex) {
            revert NotCounterparty(OrderId.unwrap(id), traderIndex == 0 ? msg.sender : _traderAt(traderIndex));
        }
    }

    function _checkMinOrderAmount(uint256 amountWh) internal pure {
        if (amountWh == 0 || amountWh > MAX_ORDER_AMOUNT_WH) {
            revert MinOrderAmountOutOfRange(amountWh, MAX_ORDER_AMOUNT_WH);
        }
    }

    // ---- Escrow ----

    /// @dev The escrow rule, kept in this one place: what an ACTIVE order still holds, in Wh for a SELL
    /// and in PaymentToken for a BUY.
    function _escrowLeft(StoredOrder memory o) internal pure returns (uint256) {
        return o.orderType == OrderType.SELL
            ? o.amountWh - o.filledWh
            : OrderMath.buyEscrowLeft(o.amountWh, o.filledWh, o.pricePerKWh, o.paymentCarry);
    }

    /// @dev Returns what an order or fill of `amountWh` at `pricePerKWh` escrows: the Wh themselves for a
    /// SELL, or their cost rounded up for a BUY.
    function _escrowAmount(bool energy, uint256 amountWh, uint256 pricePerKWh) internal pure returns (uint256) {
        return energy ? amountWh : OrderMath.costCeil(amountWh, pricePerKWh);
    }

    function _escrowToken(bool energy) internal view returns (IERC20) {
        return energy ? _energy() : _payment();
    }

    /// @dev Moves `amount` of `account`'s EnergyToken (when `energy` is set) or PaymentToken from its
    /// vault balance into the market's. This is the only place that calls IEnergyVault.take. The vault
    /// pulls a shortfall from the wallet when the account has approved the vault for the token;
    /// otherwise the vault's or the token's own error says what is missing, whether that is the market's
    /// approval, the balance or the allowance.
    function _take(address account, bool energy, uint256 amount) internal {
        if (amount == 0) return;
        _vault.take(account, energy ? amount : 0, energy ? 0 : amount);
    }

    // ---- Trader indexes ----

    /// @inheritdoc TraderIndexes
    /// @dev The counter is checked arithmetic, so it reverts past 2^32 - 1, after 2^31 accounts have been
    /// given an index this way.
    function _nextAssignedIndex() internal override returns (uint256 index) {
        index = _state.lastAssignedIndex + 1;
        _state.lastAssignedIndex = uint32(index);
    }
}
