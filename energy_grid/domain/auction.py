"""The EnergyAuction clearing rule in Python, written from its specification, not from the
contract: a keeper previews a market with it, and the property test holds the contract to it.

A market's limit prices lie on a grid of ticks 0 … n_ticks - 1 (price = minPrice + tick × tickSize).
For every tick p, D(p) is the bid volume with limit ≥ p and S(p) the ask volume with limit ≤ p.
The clearing tick maximizes min(D, S); ties go to the ticks minimizing |D − S|, then to the midpoint
of what remains, rounded down to a tick. min(D, S) is traded at that one price. Each side fills by
price priority (best limit first); the orders of the last limit reached share what is left, L Wh of
the level's T, on running totals in arrival order: with C(i) the level's volume up to and including
order i, order i gets floor(C(i) × L / T) − floor(C(i−1) × L / T). On the short side that level is
never reached with less than its whole volume, so every order there fills in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AuctionOrder:
    """A bid or ask as submitted; a market's orders are passed in arrival order."""

    order_id: int
    is_bid: bool
    amount_wh: int
    tick: int  # index of the limit price on the market's grid


@dataclass(frozen=True)
class Clearing:
    tick: int  # the clearing price's tick
    volume_wh: int  # traded, min(D, S) at that tick
    fills_wh: dict[int, int]  # order id -> Wh traded (0 for orders that do not trade)


def price_of(tick: int, min_price_per_kwh: int, tick_size_per_kwh: int) -> int:
    """The limit price, PaymentToken base units per kWh, of `tick` on a grid."""
    return min_price_per_kwh + tick * tick_size_per_kwh


def curves(orders: Sequence[AuctionOrder], n_ticks: int) -> tuple[list[int], list[int]]:
    """D(p) and S(p) for every tick p: cumulative bid volume from the top, ask volume from the bottom."""
    bids, asks = [0] * n_ticks, [0] * n_ticks
    for order in orders:
        if not 0 <= order.tick < n_ticks:
            raise ValueError(f"order {order.order_id}: tick {order.tick} is not on a grid of {n_ticks} ticks")
        (bids if order.is_bid else asks)[order.tick] += order.amount_wh
    demand, supply = [0] * n_ticks, [0] * n_ticks
    running = 0
    for tick in reversed(range(n_ticks)):
        running += bids[tick]
        demand[tick] = running
    running = 0
    for tick in range(n_ticks):
        running += asks[tick]
        supply[tick] = running
    return demand, supply


def clearing_tick(demand: Sequence[int], supply: Sequence[int]) -> int:
    """The tick the three rules pick (most volume, then least imbalance, then the midpoint, rounded down)."""
    traded = [min(d, s) for d, s in zip(demand, supply, strict=True)]
    most = max(traded)
    candidates = [tick for tick, volume in enumerate(traded) if volume == most]
    least = min(abs(demand[tick] - supply[tick]) for tick in candidates)
    remaining = [tick for tick in candidates if abs(demand[tick] - supply[tick]) == least]
    low, high = remaining[0], remaining[-1]
    return low + (high - low) // 2


def ration(level: Sequence[AuctionOrder], left_wh: int) -> dict[int, int]:
    """Shares `left_wh` among the orders of one price level (arrival order) on running totals."""
    total_wh = sum(order.amount_wh for order in level)
    fills, running = {}, 0
    for order in level:
        before = running
        running += order.amount_wh
        fills[order.order_id] = running * left_wh // total_wh - before * left_wh // total_wh
    return fills


def fill_side(orders: Sequence[AuctionOrder], volume_wh: int, best_first: Sequence[int]) -> dict[int, int]:
    """Fills one side's orders, levels taken in `best_first` tick order, up to `volume_wh` in all."""
    fills = {order.order_id: 0 for order in orders}
    left_wh = volume_wh
    for tick in best_first:
        level = [order for order in orders if order.tick == tick]
        if not level or left_wh == 0:
            continue
        level_wh = sum(order.amount_wh for order in level)
        if level_wh <= left_wh:
            fills.update({order.order_id: order.amount_wh for order in level})
            left_wh -= level_wh
        else:
            fills.update(ration(level, left_wh))
            left_wh = 0
    return fills


def clear_market(orders: Sequence[AuctionOrder], n_ticks: int) -> Clearing:
    """Clears one market: its clearing tick, traded volume and every order's fill."""
    demand, supply = curves(orders, n_ticks)
    tick = clearing_tick(demand, supply)
    volume_wh = min(demand[tick], supply[tick])
    bids = [order for order in orders if order.is_bid and order.tick >= tick]
    asks = [order for order in orders if not order.is_bid and order.tick <= tick]
    fills = {order.order_id: 0 for order in orders}
    fills.update(fill_side(bids, volume_wh, range(n_ticks - 1, tick - 1, -1)))
    fills.update(fill_side(asks, volume_wh, range(0, tick + 1)))
    return Clearing(tick=tick, volume_wh=volume_wh, fills_wh=fills)
