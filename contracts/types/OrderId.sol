// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {OrderUnknown} from "../utils/GridErrors.sol";

/// @dev An order's id in EnergyTrading, 1 .. orderCount (0 = none): a type of its own so that an
/// order id and a transaction id cannot be passed for each other. 32 bits, so that the link between
/// the orders of a price level packs into the order's one slot (4.3 billion orders, each costing
/// its creator ~90,000 gas: out of reach). The ABI keeps uint256: `OrderIdLibrary.from` converts.
type OrderId is uint32;

using {orderIdEquals as ==, orderIdDiffers as !=, orderIdIsOlder as <} for OrderId global;
using OrderIdLibrary for OrderId global;

/// @dev No order: the end of a price level's queue, or the side of a transaction a taker filled.
OrderId constant NO_ORDER = OrderId.wrap(0);

function orderIdEquals(OrderId a, OrderId b) pure returns (bool) {
    return OrderId.unwrap(a) == OrderId.unwrap(b);
}

function orderIdDiffers(OrderId a, OrderId b) pure returns (bool) {
    return OrderId.unwrap(a) != OrderId.unwrap(b);
}

/// @dev Ids are given in sequence, so the lower id is the order that came first.
function orderIdIsOlder(OrderId a, OrderId b) pure returns (bool) {
    return OrderId.unwrap(a) < OrderId.unwrap(b);
}

/// @title OrderIdLibrary
/// @notice An OrderId from the uint256 of the ABI (OrderId.unwrap converts back), and the next id
/// in sequence.
library OrderIdLibrary {
    /// @notice The OrderId of an id from outside; an id past 32 bits names no order.
    /// @param orderId An order id as the ABI carries it.
    function from(uint256 orderId) internal pure returns (OrderId) {
        if (orderId > type(uint32).max) revert OrderUnknown(orderId);
        return OrderId.wrap(uint32(orderId));
    }

    /// @notice The id given to the order created after `id`. Checked: past 2^32 - 1 it reverts.
    /// @param id The last id given (NO_ORDER before the first order).
    function next(OrderId id) internal pure returns (OrderId) {
        return OrderId.wrap(OrderId.unwrap(id) + 1);
    }
}
