// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IEnergyTrading
/// @notice The order book's core: create, cancel, match and settle orders; `matchOrders` also
/// returns the
/// id of the transaction it records. Units: `amount` in Wh (EnergyToken units), `price` in
/// PaymentToken base units per kWh, `expiry` in unix seconds.
interface IEnergyTrading {
    /// @notice An order: who placed it, which side, how much at what price, until when, and its status.
    struct Order {
        address trader; // who created it and whose escrow it holds
        uint256 amount; // Wh to buy or sell
        uint256 price; // PaymentToken base units per kWh (a limit: a trade may execute at a better price)
        uint256 expiry; // unix s; the order can trade while block.timestamp < expiry
        OrderType orderType;
        OrderStatus status;
    }

    enum OrderType {
        BUY,
        SELL
    }

    enum OrderStatus {
        ACTIVE,
        FILLED,
        CANCELLED
    }

    /// @notice Creates an order open to every counterparty and escrows its value: a SELL locks
    /// `amount` Wh of EnergyToken, a BUY locks ceil(amount * price / 1000) PaymentToken.
    /// It trades at once with the resting orders it crosses, and rests only what is left; an
    /// order that reaches the crossing bounds (EnergyTrading: MAX_FILLS_PER_ORDER fills or
    /// MAX_DEAD_ENTRIES_PER_CALL dead entries) keeps its fills and its rest is cancelled at once
    /// (OrderCancelled; that escrow is never taken).
    function createOrder(uint256 amount, uint256 price, uint256 expiry, OrderType orderType)
        external
        returns (uint256 orderId);

    /// @notice Cancels the caller's active order and refunds its unfilled escrow.
    function cancelOrder(uint256 orderId) external;

    /// @notice Matches a BUY with a SELL order (anyone may call) for as much as both have left,
    /// at the earlier order's price, and records a transaction for settlement.
    function matchOrders(uint256 buyOrderId, uint256 sellOrderId) external returns (uint256 transactionId);

    /// @notice Pays out a recorded transaction once its settlement window has passed (anyone may call).
    function settleTransaction(uint256 transactionId) external;
}
