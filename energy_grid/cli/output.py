"""Output: JSON on stdout for scripts (`--json`), tables for humans.

JSON carries the contracts' integers with the unit in the key (`amount_wh`, `price_per_kwh` in
PaymentToken base units); tables show the same figures in human units (kWh, tokens).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click
from hexbytes import HexBytes
from rich.console import Console
from rich.table import Table

from energy_grid.units import format_kwh, format_money

Formatter = Callable[[Any], str]
# Numbers that name something rather than measure it: shown without thousands separators.
_IDENTIFIER_SUFFIXES = ("id", "number", "sequence", "interval")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    fmt: Formatter = str
    justify: str = "right"


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
        table.add_row(key.replace("_", " "), fmt(value))
    return table


def rows_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column.header, justify=column.justify)  # type: ignore[arg-type]
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


def kwh_fmt(amount_wh: Any) -> str:
    return format_kwh(int(amount_wh))


def money_fmt(decimals: int, symbol: str) -> Formatter:
    return lambda amount: format_money(int(amount), decimals, symbol)


def price_fmt(decimals: int, symbol: str) -> Formatter:
    return lambda price: f"{format_money(int(price), decimals, symbol)}/kWh"


def time_fmt(timestamp_s: Any) -> str:
    if not timestamp_s:
        return "-"
    return datetime.fromtimestamp(int(timestamp_s), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def grams_fmt(amount_grams: Any) -> str:
    return f"{int(amount_grams):,} g CO2e"
