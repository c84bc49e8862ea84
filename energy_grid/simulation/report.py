"""A run's report: the summary table's rows, summary.json and four PNG plots (matplotlib, Agg).

    write_report(result, Path("reports/simulation"))  # summary.json, load_pv.png, price.png,
                                                      # transformer_loading.png, traded_volume.png
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server or in CI
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, MultipleLocator

from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, format_kwh, format_money, format_share, zone_label
from energy_grid.simulation.ledger import SimulationResult

GRAMS_PER_KG = 1_000
W_PER_WH_PER_INTERVAL = 4  # mean W over 15 minutes from its Wh
HIGH_LOADING_PER_MILLE = 800  # GridOperations' HIGH threshold, drawn on the loading plot
HOURS_PER_TICK = 3
PLOTS = ("load_pv.png", "price.png", "transformer_loading.png", "traded_volume.png")


def zone_hours(result: SimulationResult, interval: int) -> float:
    """An interval's start as hours since the deployment-zone midnight before the simulated day."""
    offset_s = result.utc_offset_minutes * 60
    local_midnight = (result.day_start_s + offset_s) // DAY_SECONDS * DAY_SECONDS
    return (result.day_start_s + offset_s + interval * INTERVAL_SECONDS - local_midnight) / 3_600


def summary_rows(result: SimulationResult) -> list[tuple[str, str]]:
    """The summary table: (figure, value) for humans."""
    f = result.figures

    def money(key: str) -> str:
        return format_money(int(f[key]), result.payment_decimals, result.payment_symbol)

    rows = [
        ("households / intervals", f"{f['households']} / {f['intervals']}"),
        ("energy produced (PV)", format_kwh(int(f["produced_wh"]))),
        ("energy consumed", format_kwh(int(f["consumed_wh"]))),
        ("exported through meters", format_kwh(int(f["exported_wh"]))),
        ("imported through meters", format_kwh(int(f["imported_wh"]))),
        ("traded peer to peer", format_kwh(int(f["traded_p2p_wh"]))),
        ("export sold peer to peer", format_share(int(f["traded_p2p_wh"]), int(f["exported_wh"]))),
        (
            "export not sold: beyond the households' import / bids not matching",
            f"{format_kwh(int(f['exported_beyond_neighbours_import_wh']))} / "
            f"{format_kwh(int(f['exported_not_traded_wh']) - int(f['exported_beyond_neighbours_import_wh']))}",
        ),
        ("self-sufficiency", f"{float(f['self_sufficiency']):.1%}"),
        ("average clearing price", f"{money('average_price_per_kwh')}/kWh"),
        ("peak clearing price", f"{money('peak_price_per_kwh')}/kWh"),
        ("markets cleared (with trades)", f"{f['markets_cleared']} ({f['markets_with_trades']})"),
        ("paid by buyers / grid fees and rounding", f"{money('paid_by_buyers')} / {money('fees_and_rounding')}"),
        (
            "peak transformer loading (without DR)",
            f"{int(f['peak_transformer_loading_per_mille']) / 10:.1f} % "
            f"({int(f['peak_transformer_loading_without_dr_per_mille']) / 10:.1f} %)",
        ),
        ("load reports to GridOperations (HIGH or above)", f"{f['load_reports']} ({f['load_reports_high']})"),
        ("feeders / market zones", f"{f['feeders']} / {f['market_zones']}"),
        (
            "peak loading of the most and least loaded feeder",
            f"{int(f['peak_loading_most_loaded_feeder_per_mille']) / 10:.1f} % / "
            f"{int(f['peak_loading_least_loaded_feeder_per_mille']) / 10:.1f} %",
        ),
        ("traded across feeders", format_kwh(int(f["traded_across_feeders_wh"]))),
        ("batteries charged from the grid (flexible load)", format_kwh(int(f.get("battery_grid_charge_wh", 0)))),
        (
            "markets with zone prices apart (widest spread)",
            f"{f['markets_with_zone_prices_apart']} ({money('max_zone_price_spread_per_kwh')}/kWh)",
        ),
        ("congestion rent (to the market's fee recipient)", money("congestion_rent")),
        ("demand-response events", str(f["dr_events"])),
        ("DR participants paid (skipped)", f"{f['dr_participants_verified']} ({f['dr_participants_skipped']})"),
        ("DR reduction verified", f"{int(f['dr_reduction_w']):,} W"),
        ("DR rewards paid", money("dr_rewards_paid")),
        ("carbon credits issued", f"{int(f['carbon_credits_grams']) / GRAMS_PER_KG:,.3f} kg CO2e"),
    ]
    for actor, gas in result.gas_by_actor.items():
        count = result.transactions_by_actor.get(actor, 0)
        rows.append((f"gas: {actor}", f"{gas:,} ({count:,} tx)"))
    household_intervals = int(f["households"]) * int(f["intervals"])
    if result.day_gas_by_actor and household_intervals:
        day_gas = sum(result.day_gas_by_actor.values())
        # Each interval's shared transactions (the clearing, the oracle's and the operator's reports)
        # are split among the households: a smaller community pays more each than the benchmark's 100.
        households = int(f["households"])
        rows.append((
            f"gas per household-interval, simulated day ({households} households: shared costs split {households} ways)",
            f"{day_gas // household_intervals:,}",
        ))
    rows.append(("balances (energy and money)", "checked: all balance" if result.balanced else "NOT BALANCED"))
    rows.append(("wall time", f"{result.seconds:.1f} s"))
    return rows


def feeder_peaks_per_mille(result: SimulationResult) -> list[int]:
    """Each feeder's transformer peak loading over the simulated days (per mille)."""
    feeders = len(result.series[0].feeder_loading_per_mille) if result.series else 0
    return [max(s.feeder_loading_per_mille[feeder] for s in result.series) for feeder in range(feeders)]


def blind_comparison(zoned: SimulationResult, blind: SimulationResult) -> dict[str, Any]:
    """The same seed's run with zonal limits and without (a market blind to the feeders): each
    feeder's transformer peak in either, and what the zonal prices did (compare_blind.json)."""
    zoned_peaks, blind_peaks = feeder_peaks_per_mille(zoned), feeder_peaks_per_mille(blind)
    if len(zoned_peaks) != len(blind_peaks) or zoned.config["seed"] != blind.config["seed"]:
        raise ValueError("the runs compared must be the same seed's community on the same feeders")
    keys = ("traded_across_feeders_wh", "markets_with_zone_prices_apart", "max_zone_price_spread_per_kwh", "battery_grid_charge_wh")
    return {
        "seed": zoned.config["seed"],
        "flexible_load": zoned.config.get("flexible_load", False),
        "feeder_peak_loading_per_mille": {"zonal_limits": zoned_peaks, "blind": blind_peaks},
        "zonal_limits": {key: zoned.figures[key] for key in keys},
        "blind": {key: blind.figures[key] for key in keys},
    }


def blind_comparison_rows(comparison: dict[str, Any]) -> list[tuple[str, str]]:
    """The comparison's table: each feeder's transformer peak with zonal limits and without."""
    peaks = comparison["feeder_peak_loading_per_mille"]
    rows = [
        (f"feeder {feeder + 1}: peak transformer loading", f"{zoned / 10:.1f} % / {blind / 10:.1f} %")
        for feeder, (zoned, blind) in enumerate(zip(peaks["zonal_limits"], peaks["blind"], strict=True))
    ]
    zoned, blind = comparison["zonal_limits"], comparison["blind"]

    def both_kwh(key: str) -> str:
        return f"{format_kwh(int(zoned[key]))} / {format_kwh(int(blind[key]))}"

    rows.append(("traded across feeders", both_kwh("traded_across_feeders_wh")))
    rows.append(("batteries charged from the grid", both_kwh("battery_grid_charge_wh")))
    rows.append(("markets with zone prices apart", f"{zoned['markets_with_zone_prices_apart']} / -"))
    return rows


def owned_household_sentence(owned: dict[str, Any]) -> str:
    """What `--household-owner` got, in one sentence (SimulationResult.owned_household)."""
    return (
        f"Household {owned['household']} is {owned['owner']}'s: its meter {owned['meter']}, its vault balances "
        "and the stablecoin in its wallet (connect that wallet to `make serve`'s web app to see them)."
    )


def export_sentence(result: SimulationResult) -> str:
    """What share of the export the neighbours bought and why the rest went unsold, in one sentence
    from the run's figures (ledger.export_not_traded)."""
    f = result.figures
    exported_wh, traded_wh = int(f["exported_wh"]), int(f["traded_p2p_wh"])
    not_traded_wh, beyond_wh = int(f["exported_not_traded_wh"]), int(f["exported_beyond_neighbours_import_wh"])
    if exported_wh == 0:
        return "No household exported energy: there was nothing to sell peer to peer."
    sold = f"{format_share(traded_wh, exported_wh)} exported was sold peer to peer"
    if not_traded_wh == 0:
        return f"{sold}: all of it."
    reasons = []
    if beyond_wh:
        reasons.append(
            f"{format_kwh(beyond_wh)} of it when the community exported more than its households drew, so no neighbour bid for it"
        )
    if not_traded_wh > beyond_wh:
        reasons.append(
            f"{format_kwh(not_traded_wh - beyond_wh)} while neighbours drew energy but their bids did not match it "
            "(a price limit, a full link between feeders or rounding)"
        )
    return (
        f"{sold}; the other {format_kwh(not_traded_wh)} flowed to the grid beyond the community unsold (its EnergyToken "
        f"stays in the sellers' vault balances): {' and '.join(reasons)}."
    )


def report_figures(result: SimulationResult) -> dict[str, plt.Figure]:
    """The report's plots, by file name (PLOTS); write_report saves and closes them."""
    series = result.series
    hours = [zone_hours(result, s.interval) for s in series]
    figures: dict[str, plt.Figure] = {}

    def plot(name: str, title: str, ylabel: str) -> plt.Axes:
        figure, axes = plt.subplots(figsize=(9, 4))
        axes.set_title(title)
        axes.set_xlabel(f"time of day, {zone_label(result.utc_offset_minutes)} (the deployment's zone)")
        axes.xaxis.set_major_locator(MultipleLocator(HOURS_PER_TICK))
        axes.xaxis.set_major_formatter(FuncFormatter(lambda hour, _: f"{int(hour) % 24:02d}:00"))
        axes.set_ylabel(ylabel)
        axes.grid(alpha=0.3)
        figures[name] = figure
        return axes

    dr_event = any(s.demand_response for s in series)
    axes = plot("load_pv.png", "Community load and PV", "kW (mean over 15 min)")
    axes.plot(hours, [s.consumption_wh * W_PER_WH_PER_INTERVAL / 1000 for s in series], label="consumption")
    axes.plot(hours, [s.pv_wh * W_PER_WH_PER_INTERVAL / 1000 for s in series], label="PV")
    if dr_event:  # the band and its legend entry only for a day with an event
        axes.fill_between(
            hours,
            0,
            [1 if s.demand_response else 0 for s in series],
            step="post",
            alpha=0.15,
            label="DR event",
            transform=axes.get_xaxis_transform(),
        )
    axes.legend()

    unit = 10**result.payment_decimals
    axes = plot("price.png", "Auction clearing price of each interval's energy", f"{result.payment_symbol} per kWh")
    traded = [(h, s.clearing_price_per_kwh / unit) for h, s in zip(hours, series, strict=True) if s.clearing_price_per_kwh]
    axes.plot([h for h, _ in traded], [p for _, p in traded], "o-", markersize=3, label="clearing price")
    reference = "reference price: the grid's tariff, its base price raised with load"
    axes.plot(hours, [s.reference_price_per_kwh / unit for s in series], alpha=0.6, label=reference)
    axes.legend()

    axes = plot("transformer_loading.png", "Transformer loading", "% of rating")
    axes.plot(hours, [s.transformer_loading_per_mille / 10 for s in series], label="loading")
    if dr_event:
        without = [s.transformer_loading_without_dr_per_mille / 10 for s in series]
        axes.plot(hours, without, linestyle=":", color="grey", label="without the DR event (same seed)")
    axes.axhline(HIGH_LOADING_PER_MILLE / 10, color="red", linestyle="--", label="HIGH (80 %)")
    axes.legend()

    sold = format_share(int(result.figures["traded_p2p_wh"]), int(result.figures["exported_wh"]))
    axes = plot("traded_volume.png", f"Energy traded peer to peer per interval: {sold} exported", "kWh")
    axes.bar(hours, [s.traded_wh / 1000 for s in series], width=0.22, align="edge", label="sold peer to peer")
    # Export above the neighbours' import found no bid: the gap between the two lines is what went unsold for that.
    axes.step(hours, [s.export_wh / 1000 for s in series], where="post", label="exported through meters")
    axes.step(hours, [s.import_wh / 1000 for s in series], where="post", linestyle="--", label="drawn by the households (their bids)")
    axes.legend()
    return figures


def write_report(result: SimulationResult, directory: Path) -> list[Path]:
    """Writes summary.json and the plots into `directory`; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    summary = directory / "summary.json"
    summary.write_text(json.dumps(result.as_json(), indent=2) + "\n")
    paths = [summary]
    for name, figure in report_figures(result).items():
        figure.tight_layout()
        figure.savefig(directory / name, dpi=100)
        plt.close(figure)
        paths.append(directory / name)
    return paths


__all__ = [
    "PLOTS",
    "blind_comparison",
    "blind_comparison_rows",
    "export_sentence",
    "feeder_peaks_per_mille",
    "owned_household_sentence",
    "report_figures",
    "summary_rows",
    "write_report",
    "zone_hours",
    "zone_label",
]
