"""The auction's refusals in the user's units, one sentence each: the command line says them and the
API answers them, so the web app shows the same words (kWh and the currency, never base units).

Prices are PaymentToken base units per kWh, energy Wh; `decimals` and `symbol` are the PaymentToken's.
"""

from __future__ import annotations

from dataclasses import dataclass

from energy_grid.domain.units import format_kwh, format_money


@dataclass(frozen=True)
class PriceGrid:
    """A market's limit prices: tick k is min_price_per_kwh + k × tick_size_per_kwh, k < tick_count."""

    min_price_per_kwh: int
    tick_size_per_kwh: int
    tick_count: int

    @property
    def max_price_per_kwh(self) -> int:
        return self.min_price_per_kwh + (self.tick_count - 1) * self.tick_size_per_kwh

    def holds(self, price_per_kwh: int) -> bool:
        """Whether the price is one of the grid's ticks."""
        offset = price_per_kwh - self.min_price_per_kwh
        return offset >= 0 and price_per_kwh <= self.max_price_per_kwh and offset % self.tick_size_per_kwh == 0


def price_text(price_per_kwh: int, decimals: int, symbol: str) -> str:
    return f"{format_money(price_per_kwh, decimals, symbol or 'tokens')}/kWh"


def grid_text(grid: PriceGrid, decimals: int, symbol: str) -> str:
    """"from 0.050000 MOCKUSD/kWh to 0.300000 MOCKUSD/kWh in steps of 0.001000 MOCKUSD/kWh"."""
    low, high, step = (price_text(p, decimals, symbol) for p in (grid.min_price_per_kwh, grid.max_price_per_kwh, grid.tick_size_per_kwh))
    return f"from {low} to {high} in steps of {step}"


def off_grid_text(limit_price_per_kwh: int, grid: PriceGrid, decimals: int, symbol: str) -> str | None:
    """Why a firm order's limit is refused (a price that is not a tick of the grid); None on the grid."""
    if grid.holds(limit_price_per_kwh):
        return None
    return f"{price_text(limit_price_per_kwh, decimals, symbol)} is not on the auction's price grid: {grid_text(grid, decimals, symbol)}."


def standing_off_grid_text(sell_price_per_kwh: int, buy_price_per_kwh: int, grid: PriceGrid, decimals: int, symbol: str) -> str | None:
    """Why standing limits would never trade: a sell price above the grid's top places no ask, a buy
    price below its bottom no bid (a price between ticks is rounded to the owner's advantage and
    trades). None when every side set can trade; 0 leaves a side out."""
    problems = []
    if sell_price_per_kwh and sell_price_per_kwh > grid.max_price_per_kwh:
        sell = price_text(sell_price_per_kwh, decimals, symbol)
        problems.append(f"a sell price of {sell} is above the highest, so the export would never sell")
    if buy_price_per_kwh and buy_price_per_kwh < grid.min_price_per_kwh:
        buy = price_text(buy_price_per_kwh, decimals, symbol)
        problems.append(f"a buy price of {buy} is below the lowest, so the import would never be bought")
    if not problems:
        return None
    return f"The auction's prices run {grid_text(grid, decimals, symbol)}: {' and '.join(problems)}."


def escrow_text(is_bid: bool, amount: int, decimals: int, symbol: str) -> str:
    """An escrow or balance of the side's token: money for a bid, energy for an ask."""
    return format_money(amount, decimals, symbol or "tokens") if is_bid else format_kwh(amount)


def escrow_shortfall_text(is_bid: bool, escrow: int, balance: int, decimals: int, symbol: str) -> str:
    """The first half of the refusal of an order whose escrow the vault balance does not hold; the
    caller adds how to make it up (a command, or the wallet's part)."""
    escrowed, held = (escrow_text(is_bid, value, decimals, symbol) for value in (escrow, balance))
    return f"The order escrows {escrowed} but your vault balance holds {held}: deposit the rest first"


__all__ = ["PriceGrid", "escrow_shortfall_text", "escrow_text", "grid_text", "off_grid_text", "price_text", "standing_off_grid_text"]
