"""The live community's series: the model's figures of each simulated interval, one JSON line each
(the simulation's IntervalFigures), appended by the virtual meters as they publish the interval's
readings, and read by the live audit, which needs them as the simulation's audit does.

A line is appended and flushed to disk once the interval's readings are published. A process killed
while writing leaves at most a torn last line, which is ignored (its interval is written again when
the virtual meters restart); an interval written twice counts once.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from energy_grid.simulation.ledger import IntervalFigures


def read_series(path: Path) -> dict[int, IntervalFigures]:
    """The intervals in the file, by interval (the first line of each); a torn line is skipped."""
    series: dict[int, IntervalFigures] = {}
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return series
    for line in lines:
        try:
            figures = IntervalFigures(**json.loads(line))
        except (json.JSONDecodeError, TypeError):
            continue  # the line a killed writer left half written
        series.setdefault(figures.interval, figures)
    return series


def append_figures(path: Path, figures: IntervalFigures) -> None:
    """Appends one interval's line and waits until it is on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A torn line from a killed writer ends without a newline: the new line starts on its own.
    torn = not _ends_a_line(path)
    with path.open("a") as series:
        if torn:
            series.write("\n")
        series.write(json.dumps(asdict(figures), separators=(",", ":")) + "\n")
        series.flush()
        os.fsync(series.fileno())


def _ends_a_line(path: Path) -> bool:
    """Whether the file is empty, missing or ends with a newline."""
    try:
        with path.open("rb") as series:
            if series.seek(0, os.SEEK_END) == 0:
                return True
            series.seek(-1, os.SEEK_END)
            return series.read(1) == b"\n"
    except FileNotFoundError:
        return True


__all__ = ["append_figures", "read_series"]
