"""What an order locks and how long it trades: the markets' rules, as the contracts apply them, for
every reader off chain (the keeper's order book, the index, the API, the CLI, wallet drafts).

Amounts in Wh, prices in PaymentToken base units per kWh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from energy_grid.domain.units import WH_PER_KWH


def cost_ceil(amount_wh: int, price_per_kwh: int) -> int:
    """What `amount_wh` costs at `price_per_kwh`, rounded up (OrderMath.costCeil)."""
    return -(-amount_wh * price_per_kwh // WH_PER_KWH)


def escrow_amount(is_buy: bool, amount_wh: int, price_per_kwh: int) -> int:
    """What an order locks, in the order book (EnergyTrading._escrowAmount) and the auction alike:
    a buy (a bid) its cost at its price in PaymentToken, rounded up; a sell (an ask) its Wh of
    EnergyToken."""
    return cost_ceil(amount_wh, price_per_kwh) if is_buy else amount_wh


def is_live(expiry_s: int, now_s: int) -> bool:
    """An order trades while the block's time is before its expiry (EnergyTrading's rule)."""
    return expiry_s > now_s


def standing_locked(slots: Iterable[Sequence[int]], min_price_per_kwh: int, tick_size_per_kwh: int) -> tuple[int, int]:
    """What a meter's placed and not yet settled standing orders hold in the vault, as Wh and
    PaymentToken: an ask its Wh, a bid what it costs at its tick, rounded up as the auction locks it.
    `slots`: EnergyAuction.getMeteredOrders rows (period, settled, askWh, askTick, askBeforeWh, bidWh,
    bidTick, bidBeforeWh); a slot never used has period 0."""
    energy_wh = payment = 0
    for period, settled, ask_wh, _, _, bid_wh, bid_tick, _ in slots:
        if period == 0 or settled:
            continue
        energy_wh += int(ask_wh)
        payment += cost_ceil(int(bid_wh), min_price_per_kwh + int(bid_tick) * tick_size_per_kwh)
    return energy_wh, payment


__all__ = ["cost_ceil", "escrow_amount", "is_live", "standing_locked"]
