"""The gas tables of docs/gas.md show the figures of the committed bench run (`benchmarks/gas.json`),
as `make bench` writes them. Pure Python: `.venv/bin/python -m pytest tests/test_gas_tables.py -p no:ape_test`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from energy_grid.bench import gas_tables, yearly_cost

ROOT = Path(__file__).resolve().parent.parent


def measurement(operation: str, gas: int, budget: int | None, note: str = "") -> dict[str, Any]:
    return {"operation": operation, "gas": gas, "budget": budget, "note": note, "withinBudget": budget is None or gas <= budget}


def test_readme_tables_match_the_committed_run():
    readme = (ROOT / "docs" / "gas.md").read_text()
    tables = gas_tables.tables_in(readme)
    assert set(tables) == set(gas_tables.NAMES)
    measurements = gas_tables.load(ROOT / "benchmarks" / "gas.json")
    for name, text in tables.items():
        assert text == gas_tables.render(name, measurements), f"docs/gas.md gas table {name!r} differs from benchmarks/gas.json"


def test_the_readme_summary_matches_the_committed_run():
    readme = (ROOT / "README.md").read_text()
    tables = gas_tables.tables_in(readme)
    assert set(tables) == {gas_tables.README_TABLE}
    measurements = gas_tables.load(ROOT / "benchmarks" / "gas.json")
    assert tables[gas_tables.README_TABLE] == gas_tables.render(gas_tables.README_TABLE, measurements), (
        "the README's summary of the budgets differs from benchmarks/gas.json"
    )


def test_a_row_quotes_figures_and_flags_a_missed_budget():
    measurements = {
        m["operation"]: m
        for m in (measurement("a", 1_200, 1_000, "first: 5,000"), measurement("b", 900, 1_000), measurement("c", 70, None))
    }
    row = gas_tables.row("a / b", "a", "b", note="{n:a}; c costs {g:c}")
    assert gas_tables.render_row(row, measurements) == "| a / b | 1,200 / 900 | 1,000 | **over budget**; first: 5,000; c costs 70 |\n"
    assert gas_tables.render_row(gas_tables.row("c"), measurements) == "| c | 70 |  |  |\n"


def test_a_households_year_matches_an_independent_reckoning():
    # An independent analysis put 86,861 gas per household-interval at about $46 a household a year on
    # an OP-stack chain and $91 on Arbitrum One, at ETH 3,000 USD.
    prices = {price.chain: price for price in yearly_cost.PRICES}
    assert round(prices["an OP-stack rollup (OP Mainnet, Base)"].usd_per_year(86_861)) == 46
    assert round(prices["Arbitrum One"].usd_per_year(86_861)) == 91


def test_the_yearly_table_shows_the_measured_figure_and_the_goal():
    table = gas_tables.render("yearly", {gas_tables.DAY_100_ALONE: measurement(gas_tables.DAY_100_ALONE, 50_000, 100_000)})
    rows = table.splitlines()[2:]
    assert len(rows) == len(yearly_cost.PRICES)
    arbitrum = next(row for row in rows if row.startswith("| Arbitrum One |"))
    # 50,000 gas × 35,040 intervals × 0.01 gwei × 3,000 USD = 52.56 USD; 25,000 gas: 26.28 USD.
    assert "| $53 | $26 |" in arbitrum
