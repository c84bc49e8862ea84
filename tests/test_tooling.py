"""The pure-Python tooling: units, the demo community's meters, the gas report."""

from __future__ import annotations

import itertools
import json

from energy_grid.bench.core import GasReport
from energy_grid.tour.community import Prosumer, demo_community, household_power_w, pv_power_w
from energy_grid.units import day_of, format_kwh, format_money, interval_of, kwh


def test_grid_clock():
    assert interval_of(899) == 0
    assert interval_of(900) == 1
    assert day_of(86_399) == 0
    assert day_of(86_400) == 1


def test_formats_are_exact():
    assert kwh(1) == kwh(1000) / 1000
    assert format_kwh(29_458) == "29.458 kWh"
    assert format_money(3_880_500, 6, "MOCKUSD") == "3.880500 MOCKUSD"


def test_pv_produces_only_in_daylight():
    assert pv_power_w(6_000, 5.9) == 0
    assert pv_power_w(6_000, 18.1) == 0
    assert pv_power_w(6_000, 12.0) == 6_000  # peak at solar noon
    assert 0 < pv_power_w(6_000, 9.0) < 6_000


def test_household_load_peaks_in_the_evening():
    assert household_power_w(400, 19.0) > household_power_w(400, 7.5) > household_power_w(400, 3.0) >= 400


def test_registers_only_grow_and_split_net_flows():
    p = Prosumer("test", pv_peak_w=6_000, base_load_w=400)
    history = []
    for step in range(96):
        p.advance(hour=step / 4)
        history.append((p.consumption_register_wh, p.production_register_wh))
    assert all(a <= b for a, b in itertools.pairwise(history))  # cumulative, like a meter's registers
    night_import = history[20][0]  # 05:00, before sunrise: all import, no export
    assert night_import > 0 and history[20][1] == 0
    assert p.production_register_wh > p.consumption_register_wh  # a sunny day nets export


def test_demo_community_has_producers_and_consumers():
    community = demo_community()
    assert any(p.pv_peak_w > 0 for p in community)
    assert any(p.pv_peak_w == 0 for p in community)
    assert len({p.name for p in community}) == len(community)


def test_gas_report_flags_figures_over_budget(tmp_path):
    report = GasReport()
    report.add("cheap", 90, budget=100)
    assert report.all_within_budget
    report.add("costly", 101, budget=100, note="over")
    report.add("unbudgeted", 10**9)
    assert not report.all_within_budget
    path = tmp_path / "gas.json"
    report.write(path)
    rows = json.loads(path.read_text())["measurements"]
    assert [(r["operation"], r["withinBudget"]) for r in rows] == [
        ("cheap", True),
        ("costly", False),
        ("unbudgeted", True),
    ]
