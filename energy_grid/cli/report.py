"""Readable tables for the terminal (rich)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table

# Wide enough for addresses; rich would otherwise wrap at 80 columns when output is piped.
console = Console(width=140)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    table = Table(title=title, title_justify="left", header_style="bold")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console.print(table)


def heading(text: str) -> None:
    console.rule(f"[bold]{text}")
