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
SECONDS_PER_HOUR = 3_600
W_PER_KW = 1_000
PER_MILLE = 1_000
# The weather and the grid's state reach the regional oracles once an hour, at the hour's end, as the
# state of the hour's last interval: weather data comes in hourly steps, and a report's gas is spread
# over the hour's four intervals instead of falling on each.
ORACLE_REPORT_SECONDS = SECONDS_PER_HOUR


def interval_of(timestamp: int) -> int:
    return timestamp // INTERVAL_SECONDS


def ends_oracle_report_period(interval: int) -> bool:
    """Whether the end of `interval` (counted from the unix epoch) is an oracle report time."""
    return (interval + 1) * INTERVAL_SECONDS % ORACLE_REPORT_SECONDS == 0


def day_of(timestamp: int) -> int:
    return timestamp // DAY_SECONDS


def kwh(amount_wh: int) -> Decimal:
    """Wh as kWh, exact."""
    return Decimal(amount_wh) / 1000


def format_kwh(amount_wh: int) -> str:
    return f"{kwh(amount_wh):,.3f} kWh"


def format_share(part_wh: int, whole_wh: int) -> str:
    """ "81.000 kWh of 319.000 kWh (25 %)"; without the share when the whole is 0."""
    share = f" ({100 * part_wh / whole_wh:.0f} %)" if whole_wh else ""
    return f"{format_kwh(part_wh)} of {format_kwh(whole_wh)}{share}"


def zone_label(utc_offset_minutes: int) -> str:
    """The deployment's zone as the web views write it: "UTC", "UTC−05:00", "UTC+05:30"."""
    if utc_offset_minutes == 0:
        return "UTC"
    hours, minutes = divmod(abs(utc_offset_minutes), 60)
    return f"UTC{'−' if utc_offset_minutes < 0 else '+'}{hours:02d}:{minutes:02d}"


def format_money(amount_base_units: int, decimals: int, symbol: str = "") -> str:
    value = Decimal(amount_base_units) / (Decimal(10) ** decimals)
    text = f"{value:,.{decimals}f}"
    return f"{text} {symbol}".strip()


CENT_PLACES = 2


def format_cents(amount_base_units: int, decimals: int, symbol: str = "") -> str:
    """Money as a household reads a bill: to the cent, half a cent up ("20,000.07 MOCKUSD"). An amount
    that is not 0 but under half a cent says so ("< 0.01 MOCKUSD") rather than showing a 0 it is not.
    The web app's formatCents follows the same rule."""
    if decimals <= CENT_PLACES:
        return format_money(amount_base_units, decimals, symbol)
    magnitude = abs(amount_base_units)
    cent = 10 ** (decimals - CENT_PLACES)
    cents = (magnitude + cent // 2) // cent
    if cents == 0 and magnitude > 0:
        return f"< 0.01 {symbol}".strip()
    sign = "-" if amount_base_units < 0 and cents > 0 else ""
    return sign + format_money(cents, CENT_PLACES, symbol)


def interval_power_w(energy_wh: int) -> int:
    """An interval's energy as its mean power (W from Wh: × 3,600 / 900)."""
    return energy_wh * SECONDS_PER_HOUR // INTERVAL_SECONDS


def transformer_load_kw(net_import_wh: int) -> int:
    """A transformer's load in an interval from its meters' net import (import − export): the mean
    power's magnitude in whole kW, halves up. Power fed back loads a transformer as much as power
    drawn. The meters measure active energy only; the simulation's power flow adds reactive power."""
    return (abs(net_import_wh) * SECONDS_PER_HOUR // INTERVAL_SECONDS + W_PER_KW // 2) // W_PER_KW


def transformer_loading_per_mille(net_import_wh: int, rating_kva: int) -> int:
    """A transformer's loading in an interval, per mille of its rating, from the net import through it
    (transformer_load_kw against the rating, rounded down)."""
    return transformer_load_kw(net_import_wh) * PER_MILLE // rating_kva
