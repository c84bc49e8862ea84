"""Units and the grid clock, as the contracts use them.

Energy in Wh, price in PaymentToken base units per kWh, time in unix seconds,
frequency in mHz, voltage in per-mille of nominal, ratios in basis points.
"""

from __future__ import annotations

from decimal import Decimal

INTERVAL_SECONDS = 900
DAY_SECONDS = 86_400
INTERVALS_PER_DAY = DAY_SECONDS // INTERVAL_SECONDS
FREQUENCY_NOMINAL_MILLIHZ = 50_000
VOLTAGE_NOMINAL_PER_MILLE = 1_000
BPS = 10_000
ENERGY_TOKEN_DECIMALS = 3  # 1 unit = 1 Wh
WH_PER_KWH = 1_000  # prices are per kWh, amounts in Wh
ZERO_ADDRESS = "0x" + "00" * 20  # no account: an order open to anyone, a role not yet granted
MAX_UINT256 = 2**256 - 1  # an unlimited allowance, a price limit that never binds


def interval_of(timestamp: int) -> int:
    return timestamp // INTERVAL_SECONDS


def day_of(timestamp: int) -> int:
    return timestamp // DAY_SECONDS


def kwh(amount_wh: int) -> Decimal:
    """Wh as kWh, exact."""
    return Decimal(amount_wh) / 1000


def format_kwh(amount_wh: int) -> str:
    return f"{kwh(amount_wh):,.3f} kWh"


def format_money(amount_base_units: int, decimals: int, symbol: str = "") -> str:
    value = Decimal(amount_base_units) / (Decimal(10) ** decimals)
    text = f"{value:,.{decimals}f}"
    return f"{text} {symbol}".strip()
