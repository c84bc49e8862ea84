// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../IEnergyMarket.sol";
import {PriceLevels} from "../PriceLevels.sol";
import {OrderStore} from "./OrderStore.sol";
import {NO_ORDER, OrderId, OrderIdLibrary} from "../../types/OrderId.sol";
import {OrderRecord, StoredOrder} from "../../types/OrderRecord.sol";

/// @title PriceLevelBook
/// @notice This contract is where resting undirected orders wait. It keeps a FIFO queue per price and
/// side, the occupied prices of each side, and the best bid and ask.
/// @dev A queue is a linked list through the orders' own slots (OrderRecord's link), so joining it
/// rewrites the slot of the order ahead. The occupied prices sit in a hierarchical bitmap
/// (PriceLevels), so the best opposite level is found without looping over orders. The best bid and
/// ask are cached in one slot, so an order that does not cross costs one comparison. Orders that
/// leave the book another way (cancel, matchOrders, fillOrder or expiry) stay in their queue as dead
/// entries. They are unlinked either when a crossing order passes them, at most
/// MAX_DEAD_ENTRIES_PER_CALL per order at one storage read each, or by pruneLevel. Each dead entry
/// cost its creator a whole order, so skipping it is cheap by comparison.
abstract contract PriceLevelBook is OrderStore {
    /// @notice The most dead queue entries a new order skips, and the most entries one pruneLevel call
    /// visits. Skipping an entry reads one storage slot (about 2,400 gas), so 1,024 of them cost about
    /// 2.5 million gas, while each one cost whoever left it an order and a cancellation (about
    /// 130,000 gas).
    uint256 public constant MAX_DEAD_ENTRIES_PER_CALL = 1_024;

    /// @dev A price level's FIFO queue of resting orders, dead entries included.
    struct PriceLevel {
        OrderId headOrderId; // Zero when the level is empty.
        OrderId tailOrderId;
    }

    // One slot holds the highest bid level at index BUY and the lowest ask level at index SELL; zero
    // means the side has no level.
    uint72[2] internal _bestPerKWh;
    // The price levels, by side (OrderType) and price.
    mapping(uint256 pricePerKWh => PriceLevel)[2] internal _levels;
    mapping(uint256 wordKey => uint256) private _levelBitmap;

    // ---- Maintenance ----

    /// @inheritdoc IEnergyMarket
    function pruneLevel(OrderType orderType, uint256 pricePerKWh) external returns (uint256 removedEntries) {
        PriceLevel storage level = _levels[uint256(orderType)][pricePerKWh];
        OrderId id = level.headOrderId;
        if (id == NO_ORDER) revert EmptyPriceLevel(orderType, pricePerKWh);
        OrderId previousId = NO_ORDER;
        for (uint256 visited; id != NO_ORDER && visited < MAX_DEAD_ENTRIES_PER_CALL; ++visited) {
            OrderRecord record = _orders[id];
            OrderId nextId = record.nextInLevel();
            if (record.isLive()) {
                previousId = id;
            } else {
                ++removedEntries;
                if (previousId == NO_ORDER) level.headOrderId = nextId;
                else _link(previousId, nextId);
                if (nextId == NO_ORDER) level.tailOrderId = previousId;
            }
            id = nextId;
        }
        if (level.headOrderId == NO_ORDER) {
            _removeLevel(orderType, pricePerKWh);
            uint256 side = uint256(orderType);
            if (_bestPerKWh[side] == pricePerKWh) _bestPerKWh[side] = uint72(_nextLevel(orderType, pricePerKWh));
        }
        emit PriceLevelPruned(orderType, pricePerKWh, removedEntries);
    }

    // ---- Views ----

    /// @inheritdoc IEnergyMarket
    function bestPrices() external view returns (uint256 bestBidPerKWh, uint256 bestAskPerKWh) {
        return (_bestPerKWh[uint256(OrderType.BUY)], _bestPerKWh[uint256(OrderType.SELL)]);
    }

    /// @inheritdoc IEnergyMarket
    function nextPriceLevel(OrderType orderType, uint256 pricePerKWh) external view returns (uint256) {
        return _nextLevel(orderType, pricePerKWh);
    }

    /// @inheritdoc IEnergyMarket
    function priceLevel(OrderType orderType, uint256 pricePerKWh)
        external
        view
        returns (uint256 headOrderId, uint256 tailOrderId)
    {
        PriceLevel memory level = _levels[uint256(orderType)][pricePerKWh];
        return (OrderId.unwrap(level.headOrderId), OrderId.unwrap(level.tailOrderId));
    }

    /// @inheritdoc IEnergyMarket
    function nextInLevel(uint256 orderId) external view returns (uint256) {
        return OrderId.unwrap(_orders[OrderIdLibrary.from(orderId)].unpack().nextInLevel);
    }

    // ---- Internals ----

    /// @dev Rests the undirected order `id` (whose fields are `o`) at the tail of its price level. When
    /// the level is new, this opens it and, if it is better, makes it the best of its side.
    function _rest(OrderId id, StoredOrder memory o) internal {
        OrderType side = o.orderType;
        uint256 limitPerKWh = o.pricePerKWh;
        PriceLevel storage level = _levels[uint256(side)][limitPerKWh];
        OrderId tailId = level.tailOrderId;
        if (tailId == NO_ORDER) {
            level.headOrderId = id;
            PriceLevels.insert(_levelBitmap, uint256(side), limitPerKWh);
        } else {
            _link(tailId, id);
        }
        level.tailOrderId = id;
        uint256 bestPerKWh = _bestPerKWh[uint256(side)];
        if (bestPerKWh == 0 || (side == OrderType.BUY ? limitPerKWh > bestPerKWh : limitPerKWh < bestPerKWh)) {
            _bestPerKWh[uint256(side)] = uint72(limitPerKWh);
        }
    }

    function _removeLevel(OrderType orderType, uint256 pricePerKWh) internal {
        delete _levels[uint256(orderType)][pricePerKWh];
        PriceLevels.remove(_levelBitmap, uint256(orderType), pricePerKWh);
    }

    /// @dev Returns the first occupied level of `orderType` at or beyond `pricePerKWh`, moving towards
    /// worse prices (PriceLevels.next). Returns zero when there is none.
    function _nextLevel(OrderType orderType, uint256 pricePerKWh) internal view returns (uint256) {
        return PriceLevels.next(_levelBitmap, uint256(orderType), pricePerKWh);
    }

    /// @dev Points the queue link of order `id` at `nextId` and leaves the rest of its slot unchanged.
    function _link(OrderId id, OrderId nextId) internal {
        _orders[id] = _orders[id].withNextInLevel(nextId);
    }
}
