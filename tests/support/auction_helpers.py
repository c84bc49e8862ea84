"""Shared by the EnergyAuction test modules: the conftest auction's parameters, order ids, time moves,
the vault balances its money lives in, and the money rules written out in Python (from
IEnergyAuction's NatSpec)."""

from __future__ import annotations

from typing import Any

from conftest import (
    AUCTION_FEE_BPS,
    AUCTION_GATE_CLOSURE_SECONDS,
    AUCTION_MAX_PRICE_PER_KWH,
    AUCTION_MIN_PRICE_PER_KWH,
    AUCTION_PERIOD_SECONDS,
    AUCTION_TICK_SIZE_PER_KWH,
)

from support.market_helpers import vault_balances

PERIOD_SECONDS = AUCTION_PERIOD_SECONDS
GATE_SECONDS = AUCTION_GATE_CLOSURE_SECONDS
MIN_PRICE = AUCTION_MIN_PRICE_PER_KWH
TICK_SIZE = AUCTION_TICK_SIZE_PER_KWH
MAX_PRICE = AUCTION_MAX_PRICE_PER_KWH
N_TICKS = (MAX_PRICE - MIN_PRICE) // TICK_SIZE + 1
FEE_BPS = AUCTION_FEE_BPS
BID_BIT = 1 << 191
ORDER_SLOTS = 16  # a trader's reusable places per side: an order takes place period % 16, or a later one
NONE, BIDS, ASKS = 0, 1, 2  # IEnergyAuction.LongSide


def price(tick: int) -> int:
    return MIN_PRICE + tick * TICK_SIZE


def cost_ceil(amount_wh: int, price_per_kwh: int) -> int:
    """ceil(amountWh * price / 1000): a bid's escrow."""
    return -(-amount_wh * price_per_kwh // 1_000)


def order_id(period: int, is_bid: bool, trader: Any, place: int | None = None) -> int:
    """period << 192 | 1 << 191 for a bid | place << 160 | trader; the place is period % ORDER_SLOTS
    unless given (a trader's next order of the same market and side takes the next place)."""
    place = period % ORDER_SLOTS if place is None else place
    address = trader if isinstance(trader, str) else trader.address
    return (period << 192) | (BID_BIT if is_bid else 0) | (place << 160) | int(address, 16)


def order_period(order_id: int) -> int:
    return order_id >> 192


def open_period(chain: Any, ahead: int = 2) -> int:
    """A period whose gate is still open for a while: `ahead` periods after the current one."""
    return chain.pending_timestamp // PERIOD_SECONDS + ahead


def gate_closure_time(period: int) -> int:
    return max(period * PERIOD_SECONDS - GATE_SECONDS, 0)


def close_gate(chain: Any, period: int) -> None:
    """The next block runs at the exact second the period's gate closes."""
    chain.pending_timestamp = gate_closure_time(period)


def submit(auction: Any, trader: Any, period: int, is_bid: bool, amount_wh: int, tick: int) -> int:
    """Submits a bid or ask at a tick; returns its order id."""
    send = auction.submitBid if is_bid else auction.submitAsk
    return send(period, amount_wh, price(tick), sender=trader).return_value


def holdings(vault: Any, accounts: list[Any]) -> list[tuple[int, int]]:
    """(energy Wh, payment) vault balance of each account or contract, in one batch: the auction's
    escrow, what its claims pay and the fees it pays out are all balances in its EnergyVault."""
    return vault_balances(vault.address, [a if isinstance(a, str) else a.address for a in accounts])


def level_money(filled_before_wh: int, filled_after_wh: int, price_per_kwh: int, fee_bps: int) -> tuple[int, int, int]:
    """(bid payment, ask gross, ask fee) of an order whose level had filled `filled_before_wh` before
    it and `filled_after_wh` with it: differences of running totals, one rounding per level."""
    ceil = lambda wh: -(-wh * price_per_kwh // 1_000)  # noqa: E731
    gross = lambda wh: wh * price_per_kwh // 1_000  # noqa: E731
    fee = lambda wh: gross(wh) * fee_bps // 10_000  # noqa: E731
    return (
        ceil(filled_after_wh) - ceil(filled_before_wh),
        gross(filled_after_wh) - gross(filled_before_wh),
        fee(filled_after_wh) - fee(filled_before_wh),
    )
