"""The EnergyAuction clearing rule in Python, written from its specification, not from the
contract: a keeper previews a market with it, and the property test holds the contract to it.

A market's limit prices lie on a grid of ticks 0 … n_ticks - 1 (price = minPrice + tick × tickSize).
For every tick p, D(p) is the bid volume with limit ≥ p and S(p) the ask volume with limit ≤ p.

The price is competitive: at it, every bid above it and every ask below it fills in full, bids below
it and asks above it not at all, and only the orders exactly at it are rationed. At a tick p the
orders want to sell, net of what they buy, anything from lo(p) = S(p − 1) − D(p) (orders at p left
out) to hi(p) = S(p) − D(p + 1) (orders at p taken in); these ranges rise with p and meet end to end,
hi(p) = lo(p + 1). The competitive ticks are those whose range holds 0, a run from the first tick whose
hi reaches 0 to the last whose lo does not pass it: exactly the ticks a linear program's dual price of
the market may take on the grid. The clearing tick is the middle of that run, rounded down.
min(D, S) is the same at every competitive tick, the most volume any price trades, and it is traded at
that one price. Each side fills by price priority (best limit first); the orders of the last limit
reached share what is left, L Wh of the level's T, on running totals in arrival order: with C(i) the
level's volume up to and including order i, order i gets floor(C(i) × L / T) − floor(C(i−1) × L / T).
On the short side that level is never reached with less than its whole volume, so every order there
fills in full, and the level rationed on the long side is the price's own.
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


def export_range(demand: Sequence[int], supply: Sequence[int], tick: int) -> tuple[int, int]:
    """[lo, hi]: what the orders want to sell beyond what they buy at `tick`, without and with the orders at it."""
    below = supply[tick - 1] if tick > 0 else 0
    above = demand[tick + 1] if tick + 1 < len(demand) else 0
    return below - demand[tick], supply[tick] - above


def competitive_ticks(demand: Sequence[int], supply: Sequence[int], export_wh: int = 0) -> tuple[int, int]:
    """The first and last tick at which the orders want to sell `export_wh` beyond what they buy (0 for a
    market of its own; a zone's net export for a zone of a coupled market): every tick between does too."""
    ticks = range(len(demand))
    if not -demand[0] <= export_wh <= supply[-1]:
        raise ValueError(f"the orders cannot export {export_wh} Wh")
    first = min(tick for tick in ticks if export_range(demand, supply, tick)[1] >= export_wh)
    last = max(tick for tick in ticks if export_range(demand, supply, tick)[0] <= export_wh)
    return first, last


def middle(low: int, high: int) -> int:
    """The tick a run of competitive ticks prices at: its middle, rounded down."""
    return low + (high - low) // 2


def clearing_tick(demand: Sequence[int], supply: Sequence[int]) -> int:
    """The middle of the market's competitive ticks."""
    return middle(*competitive_ticks(demand, supply))


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
