// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {OrderUnknown} from "../utils/GridErrors.sol";

/// @dev An order's id in EnergyTrading, from 1 to orderCount, where zero means no order. It is a type
/// of its own so that an order id and a transaction id cannot be passed for each other. The id has 32
/// bits so that the link between the orders of a price level fits in the order's one slot. That allows
/// 4.3 billion orders, and at about 90,000 gas for each order's creator, nobody will reach that limit.
/// The ABI keeps uint256, and `OrderIdLibrary.from` converts it.
type OrderId is uint32;

using {orderIdEquals as ==, orderIdDiffers as !=, orderIdIsOlder as <} for OrderId global;
using OrderIdLibrary for OrderId global;

/// @dev Means no order. It marks the end of a price level's queue, or the side of a transaction that a
/// taker filled.
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
/// @notice Turns the ABI's uint256 into an OrderId, and gives the next id in sequence. OrderId.unwrap
/// converts back to the ABI's form.
library OrderIdLibrary {
    /// @notice Returns the OrderId of an id that came from outside. An id that does not fit in 32 bits
    /// names no order, so it reverts with OrderUnknown.
    /// @param orderId An order id as the ABI carries it.
    function from(uint256 orderId) internal pure returns (OrderId) {
        if (orderId > type(uint32).max) revert OrderUnknown(orderId);
        return OrderId.wrap(uint32(orderId));
    }

    /// @notice Returns the id given to the order created after `id`. The addition is checked, so it
    /// reverts past 2^32 - 1.
    /// @param id The last id given (NO_ORDER before the first order).
    function next(OrderId id) internal pure returns (OrderId) {
        return OrderId.wrap(OrderId.unwrap(id) + 1);
    }
}
