"""What one household's share of the community's gas costs in a year on a few chains: the gas per
household-interval that `make bench` measured on the simulated day (every actor: the household's
readings and standing orders and its share of the keeper's, the operator's and the oracles' work)
times the 35,040 quarter hours of a year, at an assumed gas price and token price per chain.

The gas is measured; the prices are assumptions, written down here once with their basis. Prices
move by orders of magnitude, so the table shows the arithmetic, not a forecast: put today's prices
in PRICES and run `make bench` again. On a rollup only the L2 execution fee is counted; the L1 data
fee for the calldata a reading takes (about 200 bytes before compression) follows the blob fee
market and is left out.

    yearly_cost.render(85_306)  # the docs/gas.md table (gas_tables.py passes the simulated day's figure)
"""

from __future__ import annotations

from dataclasses import dataclass

from energy_grid.domain.units import INTERVALS_PER_DAY

INTERVALS_PER_YEAR = INTERVALS_PER_DAY * 365
GWEI = 10**-9
# The goal a redesign of the hot path aims at, shown beside the measured figure.
GOAL_GAS_PER_HOUSEHOLD_INTERVAL = 25_000


@dataclass(frozen=True)
class GasPrice:
    chain: str
    gas_price_gwei: float
    token: str
    token_usd: float
    basis: str  # where the assumed prices come from

    def usd_per_year(self, gas_per_household_interval: int) -> float:
        return gas_per_household_interval * INTERVALS_PER_YEAR * self.gas_price_gwei * GWEI * self.token_usd


ETH_USD = 3_000.0
PRICES = (
    GasPrice("Ethereum", 1.0, "ETH", ETH_USD, "a quiet day's base fee and tip"),
    GasPrice("an OP-stack rollup (OP Mainnet, Base)", 0.005, "ETH", ETH_USD, "a typical L2 execution price"),
    GasPrice("Arbitrum One", 0.01, "ETH", ETH_USD, "its minimum base fee"),
    GasPrice("Energy Web Chain", 0.1, "EWT", 1.0, "assumed, not read from the chain: ask its node's eth_gasPrice"),
)

HEADER = (
    "| chain | gas price (gwei) | token (USD) | a household's year at {measured:,} gas | at {goal:,} gas | prices |\n"
    "|---|---:|---:|---:|---:|---|\n"
)


WHOLE_DOLLARS_FROM = 10  # below this, cents are shown


def _usd(amount: float) -> str:
    return f"${amount:,.0f}" if amount >= WHOLE_DOLLARS_FROM else f"${amount:,.2f}"


def render(measured: int) -> str:
    """The table of a household's yearly cost per chain, at `measured` gas per household-interval
    and at the goal."""
    lines = [HEADER.format(measured=measured, goal=GOAL_GAS_PER_HOUSEHOLD_INTERVAL)]
    for price in PRICES:
        lines.append(
            f"| {price.chain} | {price.gas_price_gwei:g} | {price.token} {price.token_usd:,.0f} | "
            f"{_usd(price.usd_per_year(measured))} | {_usd(price.usd_per_year(GOAL_GAS_PER_HOUSEHOLD_INTERVAL))} | {price.basis} |\n"
        )
    return "".join(lines)


__all__ = ["GOAL_GAS_PER_HOUSEHOLD_INTERVAL", "INTERVALS_PER_YEAR", "PRICES", "GasPrice", "render"]
