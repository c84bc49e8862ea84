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
/// @notice The order book's records and the rules every way of trading shares: which order exists
/// and can trade, and what it escrows.
/// @dev An order is one storage slot (OrderRecord), read into its fields (StoredOrder) by `unpack`
/// and written back whole by `_store`: a new order writes one fresh slot. The market's global
/// state is one more slot (MarketState), the only one createOrder writes besides the order's
/// when the price band is off and no new best price is set. Orders are not linked per trader
/// (that link would cost every order a write): getTraderOrders reads order ids downwards, and the
/// event index serves the list. Escrow moves between the trader's vault balance and the market's
/// only through `_take` (in) and Settlement's credits (out).
abstract contract OrderStore is Settlement, TraderIndexes, IEnergyMarket {
    /// @notice Largest order: 1.1 TWh (uint40), a year of a large power station's output.
    uint256 public constant MAX_ORDER_AMOUNT_WH = type(uint40).max;
    /// @notice Highest maximum price the admin can set (uint64, 1.8e19), PaymentToken base units per
    /// kWh: 18 whole units per kWh of an 18-decimals token, some fifty times a retail price and
    /// above every wholesale scarcity cap (a few units per kWh). 64 bits let an order fit one slot.
    uint256 public constant PRICE_CAP_PER_KWH = type(uint64).max;

    /// @dev The one global slot createOrder writes (with the price band off and no new best price):
    /// read once per order.
    struct MarketState {
        bool ordersPaused; // mirrors Pausable's flag
        OrderId orderCount;
        uint32 lastAssignedIndex; // the last trader index given from 2^31 up (TraderIndexes)
        uint48 minOrderAmountWh;
        uint64 maxPricePerKWh;
        uint16 priceBandBps; // 0 = off
    }

    MarketState internal _state;
    mapping(OrderId => OrderRecord) internal _orders;

    /// @param minOrderAmountWh_ The smallest order and partial fill (setMinOrderAmount's bounds).
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

    /// @dev The fields of an order that exists (OrderUnknown otherwise).
    function _knownOrder(OrderId id) internal view returns (StoredOrder memory o) {
        o = _orders[id].unpack();
        if (o.traderIndex == 0) revert OrderUnknown(OrderId.unwrap(id));
    }

    // ---- Order rules ----

    function _checkActive(OrderId id, OrderStatus status) internal pure {
        if (status != OrderStatus.ACTIVE) revert OrderNotActive(OrderId.unwrap(id), status);
    }

    /// @dev An order that can trade now: known, (of `orderType` when checkType,) ACTIVE and not expired.
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

    /// @dev Rejects a trade of the directed order `o` with the trader of index `traderIndex` (0 = an
    /// account that never traded here, so not its counterparty either).
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

    /// @dev The escrow rule, its one home: what an ACTIVE order still holds (Wh for a SELL, PaymentToken for a BUY).
    function _escrowLeft(StoredOrder memory o) internal pure returns (uint256) {
        return o.orderType == OrderType.SELL
            ? o.amountWh - o.filledWh
            : OrderMath.buyEscrowLeft(o.amountWh, o.filledWh, o.pricePerKWh, o.paymentCarry);
    }

    /// @dev What an order or fill of `amountWh` at `pricePerKWh` escrows: the Wh themselves, or
    /// their cost rounded up.
    function _escrowAmount(bool energy, uint256 amountWh, uint256 pricePerKWh) internal pure returns (uint256) {
        return energy ? amountWh : OrderMath.costCeil(amountWh, pricePerKWh);
    }

    function _escrowToken(bool energy) internal view returns (IERC20) {
        return energy ? _energy() : _payment();
    }

    /// @dev Moves `amount` of `account`'s EnergyToken (`energy`) or PaymentToken from its vault
    /// balance into the market's: the one call site of IEnergyVault.take. The vault pulls a
    /// shortfall from the wallet when the account allowed it the token; otherwise the vault's or
    /// the token's own error says what is missing (the market not approved, the balance, the allowance).
    function _take(address account, bool energy, uint256 amount) internal {
        if (amount == 0) return;
        _vault.take(account, energy ? amount : 0, energy ? 0 : amount);
    }

    // ---- Trader indexes ----

    /// @inheritdoc TraderIndexes
    /// @dev Checked: past 2^32 - 1 (2^31 accounts given an index this way) it reverts.
    function _nextAssignedIndex() internal override returns (uint256 index) {
        index = _state.lastAssignedIndex + 1;
        _state.lastAssignedIndex = uint32(index);
    }
}
