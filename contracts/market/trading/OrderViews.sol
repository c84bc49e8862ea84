// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../IEnergyMarket.sol";
import {OrderStore} from "./OrderStore.sol";
import {InvalidPageSize} from "../../utils/GridErrors.sol";
import {MemoryArrays} from "../../utils/MemoryArrays.sol";
import {OrderId, OrderIdLibrary} from "../../types/OrderId.sol";
import {StoredOrder} from "../../types/OrderRecord.sol";

/// @title OrderViews
/// @notice This contract lets callers read orders: one order by its id, or a trader's orders page by page.
/// @dev Orders are not linked per trader, so a trader's page is found by reading order ids downwards
/// from a cursor, at most MAX_ORDERS_SCANNED per call at one storage read each. The event index serves
/// the full list, since OrderCreated is indexed by trader.
abstract contract OrderViews is OrderStore {
    /// @notice The most orders one getTraderOrders page holds.
    uint256 public constant MAX_PAGE_SIZE = 100;
    /// @notice The most order ids one getTraderOrders call looks at, at one storage read each.
    uint256 public constant MAX_ORDERS_SCANNED = 1_000;

    /// @inheritdoc IEnergyMarket
    function getOrder(uint256 orderId) external view returns (Order memory) {
        StoredOrder memory o = _knownOrder(OrderIdLibrary.from(orderId));
        return Order(_traderAt(o.traderIndex), o.amountWh, o.pricePerKWh, o.expiry, o.orderType, o.status);
    }

    /// @inheritdoc IEnergyMarket
    function getOrderInfo(uint256 orderId) external view returns (OrderInfo memory) {
        OrderId id = OrderIdLibrary.from(orderId);
        return _orderInfo(id, _knownOrder(id));
    }

    /// @inheritdoc IEnergyMarket
    function getTraderOrders(address trader, uint256 cursor, uint256 limit)
        external
        view
        returns (OrderInfo[] memory orders, uint256 nextCursor)
    {
        if (limit == 0 || limit > MAX_PAGE_SIZE) revert InvalidPageSize(limit, MAX_PAGE_SIZE);
        uint256 newest = OrderId.unwrap(_state.orderCount);
        if (cursor > newest) revert InvalidCursor(trader, cursor);
        uint256 id = cursor == 0 ? newest : cursor;
        uint256 index = _indexOf(trader);
        // A trader without an index has no orders, so there is nothing to look at.
        uint256 last = index == 0 || id <= MAX_ORDERS_SCANNED ? 0 : id - MAX_ORDERS_SCANNED;
        if (index == 0) id = 0;
        OrderInfo[] memory page = new OrderInfo[](limit);
        uint256 count;
        for (; id > last && count < limit; --id) {
            OrderId orderId_ = OrderId.wrap(uint32(id));
            StoredOrder memory o = _orders[orderId_].unpack();
            if (o.traderIndex == index) page[count++] = _orderInfo(orderId_, o);
        }
        // The page is shortened to the orders that were found.
        MemoryArrays.shorten(page, count);
        return (page, id);
    }

    /// @inheritdoc IEnergyMarket
    function getEnergyBalance(address account) external view returns (uint256 amountWh) {
        return _vault.balanceOf(address(_energy()), account);
    }

    /// @inheritdoc IEnergyMarket
    function orderCount() external view returns (uint256) {
        return OrderId.unwrap(_state.orderCount);
    }

    function _orderInfo(OrderId id, StoredOrder memory o) private view returns (OrderInfo memory info) {
        info.orderId = OrderId.unwrap(id);
        info.trader = _traderAt(o.traderIndex);
        info.amount = o.amountWh;
        info.filledAmount = o.filledWh;
        info.price = o.pricePerKWh;
        info.expiry = o.expiry;
        info.orderType = o.orderType;
        info.status = o.status;
        if (o.directed) info.counterparty = _traderAt(o.counterpartyIndex);
        if (o.status == OrderStatus.ACTIVE) info.escrow = _escrowLeft(o);
    }
}
