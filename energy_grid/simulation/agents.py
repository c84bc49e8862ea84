"""The community's agents: their keys, who answers demand response, and how they price.

Local chains only: household and meter keys are derived from the run's seed and chain day (so a
resumed run finds the same accounts, and another run on the same chain gets fresh ones). They
hold test money on a test chain and nothing else.

Pricing: each household sets its standing limits once, around the community's base price (the
pricing library's price at no load): a sell limit a little below it for its export, a buy limit a
little above for its import, by a seeded random share of `spread_bps` each, snapped to the auction's
price grid (sell limits down, buy limits up) — so limits cross and every interval's market finds one
price between them. Each household's draw has its own random stream keyed by (seed, household): a
resumed run sets the same limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from energy_grid.domain.units import BPS

# Keys of the random streams, so that pricing and demand-response membership never share one.
DR_STREAM = 2
STANDING_STREAM = 3


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


@dataclass(frozen=True)
class StandingLimits:
    """A household's standing order: sell export at `sell_per_kwh` or more, buy import at `buy_per_kwh` or less."""

    sell_per_kwh: int
    buy_per_kwh: int


def standing_limits(seed: int, household_id: int, reference_per_kwh: int, spread_bps: int, grid: PriceGrid) -> StandingLimits:
    """A household's limits: up to `spread_bps` below the reference to sell, above it to buy, on the grid."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(STANDING_STREAM, household_id)))
    sell_share, buy_share = (float(x) * spread_bps / BPS for x in rng.uniform(0.0, 1.0, size=2))
    return StandingLimits(
        sell_per_kwh=grid.snap_down(reference_per_kwh * (1 - sell_share)),
        buy_per_kwh=grid.snap_up(reference_per_kwh * (1 + buy_share)),
    )


def demand_response_members(seed: int, households: int, share: float) -> tuple[int, ...]:
    """The households (ids, ascending) registered for demand response: a seeded `share` of them."""
    count = round(households * share)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DR_STREAM,)))
    chosen = rng.permutation(households)[:count]
    return tuple(sorted(int(i) for i in chosen))


__all__ = ["PriceGrid", "StandingLimits", "demand_response_members", "derived_account", "standing_limits"]
