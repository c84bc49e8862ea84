"""The run's report on a day made up here (no chain): the load plot names a demand-response event only
when the day had one, and the summary, its sentence and the traded-volume plot say what share of the
export was sold peer to peer and why the rest was not, from the day's own figures."""

from __future__ import annotations

from collections import defaultdict

import matplotlib.pyplot as plt
import pytest

from energy_grid.domain.units import format_kwh
from energy_grid.simulation.ledger import IntervalFigures, SimulationResult, export_not_traded
from energy_grid.simulation.report import export_sentence, report_figures, summary_rows

PRICE_PER_KWH = 200_000


def interval(number: int, export_wh: int, import_wh: int, traded_wh: int, demand_response: bool = False) -> IntervalFigures:
    return IntervalFigures(
        interval=number, local_time="", consumption_wh=import_wh, pv_wh=export_wh, import_wh=import_wh, export_wh=export_wh,
        transformer_loading_per_mille=300, transformer_loading_without_dr_per_mille=300, transformer_apparent_kva=30,
        voltage_min_per_mille=990, reference_price_per_kwh=PRICE_PER_KWH, demand_response=demand_response,
        traded_wh=traded_wh, clearing_price_per_kwh=PRICE_PER_KWH if traded_wh else None,
    )  # fmt: skip


# A night, a sunny midday whose export outruns the households' import, an afternoon whose bids met
# only part of the export, an evening: (export, import, traded) Wh.
DAY = [(0, 500, 0), (3_000, 1_000, 1_000), (800, 600, 200), (0, 900, 0)]


def result_of(day: list[tuple[int, int, int]], demand_response_at: int | None = None) -> SimulationResult:
    series = [interval(i, *wh, demand_response=i == demand_response_at) for i, wh in enumerate(day)]
    exported_wh, traded_wh = sum(s.export_wh for s in series), sum(s.traded_wh for s in series)
    not_traded_wh, beyond_wh = export_not_traded(series, exported_wh, traded_wh)
    figures: dict[str, int | float] = defaultdict(int)  # the figures this report does not read are 0
    figures |= {
        "exported_wh": exported_wh, "traded_p2p_wh": traded_wh, "exported_not_traded_wh": not_traded_wh,
        "exported_beyond_neighbours_import_wh": beyond_wh,
    }  # fmt: skip
    return SimulationResult(
        config={}, day_start_s=0, figures=figures, series=series, gas_by_actor={}, transactions_by_actor={}, checks=[],
        seconds=0.0, payment_symbol="MOCKUSD", payment_decimals=6,
    )  # fmt: skip


def legend_of(figure: plt.Figure) -> list[str]:
    legend = figure.axes[0].get_legend()
    assert legend is not None
    return [text.get_text() for text in legend.get_texts()]


@pytest.fixture
def close_figures():
    yield
    plt.close("all")


def test_export_not_sold_splits_into_beyond_the_households_import_and_unmatched_bids():
    result = result_of(DAY)
    exported_wh, traded_wh = 3_000 + 800, 1_000 + 200
    beyond_wh = (3_000 - 1_000) + (800 - 600)  # midday and afternoon export above the import
    f = result.figures
    assert (f["exported_not_traded_wh"], f["exported_beyond_neighbours_import_wh"]) == (exported_wh - traded_wh, beyond_wh)
    rows = dict(summary_rows(result))
    assert rows["export sold peer to peer"] == f"{format_kwh(traded_wh)} of {format_kwh(exported_wh)} (32 %)"
    unmatched_wh = exported_wh - traded_wh - beyond_wh  # the afternoon's bids met 200 of the 600 Wh drawn
    assert unmatched_wh == 400
    assert rows["export not sold: beyond the households' import / bids not matching"] == (
        f"{format_kwh(beyond_wh)} / {format_kwh(unmatched_wh)}"
    )
    sentence = export_sentence(result)
    assert sentence.startswith(f"{format_kwh(traded_wh)} of {format_kwh(exported_wh)} (32 %) exported was sold peer to peer; ")
    assert f"{format_kwh(beyond_wh)} of it when the community exported more than its households drew" in sentence
    assert f"{format_kwh(unmatched_wh)} while neighbours drew energy but their bids did not match it" in sentence


def test_the_sentence_names_only_the_reasons_the_day_had():
    all_bought = export_sentence(result_of([(1_000, 1_500, 1_000)]))
    assert all_bought == f"{format_kwh(1_000)} of {format_kwh(1_000)} (100 %) exported was sold peer to peer: all of it."
    no_one_drew = export_sentence(result_of([(2_000, 0, 0)]))
    assert "no neighbour bid for it" in no_one_drew and "did not match" not in no_one_drew
    assert export_sentence(result_of([(0, 700, 0)])) == "No household exported energy: there was nothing to sell peer to peer."


def test_the_load_plot_names_a_demand_response_event_only_on_a_day_that_had_one(close_figures):
    assert legend_of(report_figures(result_of(DAY))["load_pv.png"]) == ["consumption", "PV"]
    with_event = report_figures(result_of(DAY, demand_response_at=3))
    assert legend_of(with_event["load_pv.png"]) == ["consumption", "PV", "DR event"]
    assert "without the DR event (same seed)" in legend_of(with_event["transformer_loading.png"])
    assert all("DR" not in label for label in legend_of(report_figures(result_of(DAY))["transformer_loading.png"]))


def test_the_traded_volume_plot_shows_the_share_sold_and_the_export_above_the_import(close_figures):
    result = result_of(DAY)
    figure = report_figures(result)["traded_volume.png"]
    title = figure.axes[0].get_title()
    assert title.endswith(f"{format_kwh(1_200)} of {format_kwh(3_800)} (32 %) exported")
    assert legend_of(figure) == ["exported through meters", "drawn by the households (their bids)", "sold peer to peer"]
