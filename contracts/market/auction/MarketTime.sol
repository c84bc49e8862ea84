// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title MarketTime
/// @notice The auction's rule for how far ahead a market may be named: an order's escrow, or an operator's
/// link limit, waits at most MAX_LEAD_TIME for its market's gate to close. The auction and its zones read
/// it from here, so that the furthest period is one number whoever asks.
library MarketTime {
    /// @notice The longest an order's escrow, or a link limit, may wait for its market's gate to close.
    uint256 internal constant MAX_LEAD_TIME = 7 days;

    /// @notice The furthest period whose gate closes within MAX_LEAD_TIME of `nowSeconds`.
    function furthestPeriod(uint256 nowSeconds, uint256 gateClosureSeconds, uint256 periodLengthSeconds)
        internal
        pure
        returns (uint256)
    {
        return (nowSeconds + MAX_LEAD_TIME + gateClosureSeconds) / periodLengthSeconds;
    }
}
