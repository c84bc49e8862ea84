"""GridManagement's dynamic price, computed off-chain to check what GridManagement.getDynamicPrice() says.

Prices in PaymentToken base units per kWh, power in W.
"""

from __future__ import annotations

EMERGENCY_PRICE_MULTIPLIER = 3


def dynamic_price(base_per_kwh: int, load_w: int, capacity_w: int, emergency: bool = False) -> int:
    """base + base × min(load, capacity) / (2 × capacity), rounded down (at most 1.5 × base); base
    without capacity; 3 × base while any region is in emergency (`emergency`).

    `capacity_w` is verified, active producers' capacity: what others declare does not count.
    """
    if emergency:
        return EMERGENCY_PRICE_MULTIPLIER * base_per_kwh
    if capacity_w == 0:
        return base_per_kwh
    return base_per_kwh + base_per_kwh * min(load_w, capacity_w) // (2 * capacity_w)
