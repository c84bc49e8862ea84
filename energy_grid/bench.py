"""Gas measurements against budgets: collected by scripts/bench.py, written to benchmarks/gas.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from energy_grid.report import print_table


@dataclass(frozen=True)
class Measurement:
    operation: str
    gas: int
    budget: int | None = None
    note: str = ""

    @property
    def within_budget(self) -> bool:
        return self.budget is None or self.gas <= self.budget


@dataclass
class GasReport:
    measurements: list[Measurement] = field(default_factory=list)

    def add(self, operation: str, gas: int, budget: int | None = None, note: str = "") -> Measurement:
        m = Measurement(operation, int(gas), budget, note)
        self.measurements.append(m)
        return m

    @property
    def all_within_budget(self) -> bool:
        return all(m.within_budget for m in self.measurements)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [asdict(m) | {"withinBudget": m.within_budget} for m in self.measurements]
        path.write_text(json.dumps({"unit": "gas", "measurements": rows}, indent=2) + "\n")

    def print(self) -> None:
        print_table(
            "Gas per operation",
            ["operation", "gas", "budget", "", "note"],
            [
                (
                    m.operation,
                    f"{m.gas:,}",
                    f"{m.budget:,}" if m.budget else "-",
                    "ok" if m.within_budget else "OVER",
                    m.note,
                )
                for m in self.measurements
            ],
        )
