// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMarketZones} from "./IMarketZones.sol";

/// @title ISteppedClearing
/// @notice Clears a coupled market too large for one transaction in steps that anyone may call, each
/// reading at most MAX_STEP_TICKS occupied ticks. A step takes the next zones of the market, lowest first,
/// through one stage of the coupled rule and keeps what the stage adds up over the grid's ticks; after the
/// last zone of the last stage the result is final, and the auction's `clear` records it instead of
/// clearing again. The result equals the one-transaction clearing (MarketZones.clearMarket) exactly.
/// @dev Steps may begin once the market can clear (`IMeteredMarket.clearingTime`): from then on no order
/// or reading can change its books, and the clearing time itself never moves later again. The first step
/// freezes each zone's link limits; every later step reads those. The stages: Steps (each zone's rises of its
/// clamped export, which fix where the bus balances, its price and its two sides there) and Zones (each
/// zone's net export, fills, price and role, its fills valued and its part of the congestion rent).
interface ISteppedClearing {
    enum Stage {
        NONE,
        STEPS,
        ZONES,
        FINISHED
    }

    /// @notice A step of a market's clearing ran.
    /// @param period The market.
    /// @param stage The stage the next step runs (FINISHED after the last).
    /// @param zonesLeft The zones left in that stage.
    /// @param caller Who sent the step.
    event ClearingStepped(uint256 indexed period, Stage stage, uint256 zonesLeft, address caller);

    /// @notice The market cannot clear yet, so its books may still change.
    /// @param period The market.
    /// @param opensAt When steps may begin (the auction's clearing time), Unix seconds.
    error StepsNotOpen(uint256 period, uint256 opensAt);

    /// @notice The auction has already cleared the market.
    /// @param period The market.
    error MarketAlreadyCleared(uint256 period);

    /// @notice Every step of the market has run: the auction's `clear` records its result.
    /// @param period The market.
    error StepsFinished(uint256 period);

    /// @notice The market's steps have not all run, so it has no result here yet.
    /// @param period The market.
    error StepsNotFinished(uint256 period);

    /// @notice The steps' totals do not balance (energy bought is not energy sold, or sellers would net more
    /// than buyers pay), so they give no result; the auction's clear then clears the market in one transaction.
    /// @param period The market.
    error StepsUnbalanced(uint256 period);

    /// @notice No order of the market names a zone: it clears alone, in one transaction.
    /// @param period The market.
    error NoZonedOrders(uint256 period);

    /// @notice Runs the next step of `period`'s clearing: the next zones of the current stage, lowest first,
    /// while their occupied ticks add up to at most `maxTicks` (capped at MAX_STEP_TICKS), and at least one
    /// zone. Returns whether the clearing is final.
    function step(uint256 period, uint256 maxTicks) external returns (bool finished);

    /// @notice The stage `period`'s next step runs and the zones left in it.
    function stageOf(uint256 period) external view returns (Stage stage, uint256 zonesLeft);

    /// @notice The final result of `period`, as MarketZones.clearMarket computes it in one transaction.
    function result(uint256 period) external view returns (IMarketZones.CoupledResult memory);

    /// @notice The market zones whose markets these steps clear.
    function marketZones() external view returns (IMarketZones);
}
