"""The community's agents: their keys, who answers demand response, and how they price.

Local chains only: household and meter keys are derived from the run's seed and chain day (so a
resumed run finds the same accounts, and another run on the same chain gets fresh ones). They
hold test money on a test chain and nothing else.

Pricing: every interval each agent prices around the reference price of the pricing library
(`energy_grid.pricing.dynamic_price` of the community's load against the transformer rating):
sellers a little below it, buyers a little above, by a seeded random share of `spread_bps`, then
snapped to the auction's price grid (asks down, bids up) — so asks and bids cross and the auction
finds one price between them. Each draw has its own random stream keyed by (seed, interval,
household): a resumed run prices exactly as an uninterrupted one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from energy_grid.units import BPS

# Keys of the random streams, so that pricing and demand-response membership never share one.
PRICE_STREAM = 1
DR_STREAM = 2


def derived_account(seed: int, day_start_s: int, role: str, index: int) -> LocalAccount:
    """A fresh key for `role` #index of the run (seed, chain day D). Local test chains only."""
    key = keccak(text=f"energy-grid simulation/{seed}/{day_start_s}/{role}/{index}")
    return Account.from_key(key)


@dataclass(frozen=True)
class PriceGrid:
    """The auction's limit prices: min + k × tick, up to max (PaymentToken base units per kWh)."""

    min_price_per_kwh: int
    tick_size_per_kwh: int
    max_price_per_kwh: int

    def snap_down(self, price_per_kwh: float) -> int:
        ticks = math.floor((price_per_kwh - self.min_price_per_kwh) / self.tick_size_per_kwh)
        return self._clip(self.min_price_per_kwh + ticks * self.tick_size_per_kwh)

    def snap_up(self, price_per_kwh: float) -> int:
        ticks = math.ceil((price_per_kwh - self.min_price_per_kwh) / self.tick_size_per_kwh)
        return self._clip(self.min_price_per_kwh + ticks * self.tick_size_per_kwh)

    def _clip(self, price_per_kwh: int) -> int:
        return min(max(price_per_kwh, self.min_price_per_kwh), self.max_price_per_kwh)


def limit_price_per_kwh(
    seed: int, interval: int, household_id: int, reference_per_kwh: int, spread_bps: int, is_bid: bool, grid: PriceGrid
) -> int:
    """A household's limit for the interval: up to `spread_bps` above the reference for a bid,
    below it for an ask, on the grid."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PRICE_STREAM, interval, household_id)))
    share = float(rng.uniform(0.0, 1.0)) * spread_bps / BPS
    if is_bid:
        return grid.snap_up(reference_per_kwh * (1 + share))
    return grid.snap_down(reference_per_kwh * (1 - share))


def demand_response_members(seed: int, households: int, share: float) -> tuple[int, ...]:
    """The households (ids, ascending) registered for demand response: a seeded `share` of them."""
    count = round(households * share)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DR_STREAM,)))
    chosen = rng.permutation(households)[:count]
    return tuple(sorted(int(i) for i in chosen))


__all__ = ["PriceGrid", "demand_response_members", "derived_account", "limit_price_per_kwh"]
