"""Output: JSON on stdout for scripts (`--json`), tables for humans.

JSON carries the contracts' integers with the unit in the key (`amount_wh`, `price_per_kwh` in
PaymentToken base units); tables show the same figures in human units (kWh, tokens), each value a
bare number and its unit named once, in its column's header or its field's label: "amount (kWh)
│ 1.500". A figure a key names in one unit and a table shows in another (Wh as kWh) is labelled
with the unit shown, never the key's.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import click
from hexbytes import HexBytes
from rich.console import Console
from rich.table import Table

from energy_grid.domain.units import format_money, kwh

Formatter = Callable[[Any], str]
WATTS_PER_KW = 1_000
# Numbers that name something rather than measure it: shown without thousands separators.
_IDENTIFIER_SUFFIXES = ("id", "number", "sequence", "interval")


# The unit a key's suffix names (the JSON's integers), the more specific suffix first; a field or column shown raw
# is labelled with it.
_KEY_UNITS = (
    ("_grams_co2e_per_kwh", "g CO2e/kWh"),
    ("_per_kwh", "base units/kWh"),
    ("_per_kw", "base units/kW"),
    ("_per_mille", "‰"),
    ("_millihz", "mHz"),
    ("_millidegrees", "m°C"),
    ("_grams", "g CO2e"),
    ("_wei", "wei"),
    ("_bps", "bps"),
    ("_wh", "Wh"),
    ("_kw", "kW"),
    ("_mw", "MW"),
    ("_w", "W"),
    ("_s", "s"),
)


@dataclass(frozen=True)
class Unit:
    """A formatter of figures in one unit: each value a bare number, the unit named once in the
    header (`label`); None shows as "-", and 0 as `zero` when 0 means something else ("off", "all")."""

    label: str
    number: Formatter
    zero: str | None = None

    def __call__(self, value: Any) -> str:
        if value is None:
            return "-"
        if self.zero is not None and not value:
            return self.zero
        return self.number(value)

    def text(self, value: Any) -> str:
        """The value with its unit, for a sentence."""
        return f"{self(value)} {self.label}"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    fmt: Formatter = str
    justify: str = "right"


def split_unit(key: str) -> tuple[str, str | None]:
    """(the key without its unit suffix, that unit): `amount_wh` is ("amount", "Wh"); a key that is
    a unit's name alone (`grams`, `grams_co2e_per_kwh`) names its unit itself and keeps it."""
    for suffix, unit in _KEY_UNITS:
        if f"_{key}" == suffix:
            return key, None
        if key.endswith(suffix):
            return key.removesuffix(suffix), unit
    return key, None


def labelled(name: str, key: str, fmt: Formatter) -> str:
    """`name` with the unit its values are shown in: the formatter's, else the one `key` names."""
    unit = fmt.label if isinstance(fmt, Unit) else split_unit(key)[1]
    return f"{name} ({unit})" if unit else name


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | HexBytes):
        return "0x" + bytes(value).hex()
    if hasattr(value, "_asdict"):
        return value._asdict()
    return str(value)


def console() -> Console:
    # Piped output keeps whole lines: a table wrapped at 80 columns would split addresses.
    return Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 200)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_json_default))


def record_table(record: Mapping[str, Any], formats: Mapping[str, Formatter] | None = None, title: str | None = None) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in record.items():
        fmt = (formats or {}).get(key) or (str if key.endswith(_IDENTIFIER_SUFFIXES) else _plain)
        table.add_row(labelled(split_unit(key)[0].replace("_", " "), key, fmt), fmt(value))
    return table


def rows_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(labelled(column.header, column.key, column.fmt), justify=column.justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(column.fmt(row[column.key]) for column in columns))
    return table


def emit(session_json: bool, data: Any, *tables: Table, note: str | None = None) -> None:
    """`data` as JSON with --json, else the tables (and a closing note)."""
    if session_json:
        emit_json(data)
        return
    out = console()
    for table in tables:
        out.print(table)
    if note:
        out.print(note)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


# ------------------------------------------------------------------ formatters in human units

kwh_fmt = Unit("kWh", lambda amount_wh: f"{kwh(int(amount_wh)):,.3f}")
grams_fmt = Unit("g CO2e", lambda amount_grams: f"{int(amount_grams):,}")
# Unix seconds as a UTC date and time; 0 is "never".
time_fmt = Unit("UTC", lambda timestamp_s: datetime.fromtimestamp(int(timestamp_s), UTC).strftime("%Y-%m-%d %H:%M:%S"), zero="-")
ether_fmt = Unit("ETH", lambda amount_wei: f"{int(amount_wei) / 10**18:,.6f}")


# Power the contracts carry in W, shown in kW (the grid's operators report kW).
kw_fmt = Unit("kW", lambda power_w: f"{Decimal(int(power_w)) / WATTS_PER_KW:,.3f}")


def power_formats(record: Mapping[str, Any]) -> dict[str, Formatter]:
    """kW for every W figure of `record`."""
    return {key: kw_fmt for key in record if split_unit(key)[1] == "W"}


def money_fmt(decimals: int, symbol: str) -> Unit:
    return Unit(symbol or "tokens", lambda amount: format_money(int(amount), decimals))


def price_fmt(decimals: int, symbol: str) -> Unit:
    """A price per kWh in whole PaymentToken units."""
    return replace(money_fmt(decimals, symbol), label=f"{symbol or 'tokens'}/kWh")


def per_kw_fmt(decimals: int, symbol: str) -> Unit:
    """An amount per kW of power, in whole PaymentToken units."""
    return replace(money_fmt(decimals, symbol), label=f"{symbol or 'tokens'}/kW")
