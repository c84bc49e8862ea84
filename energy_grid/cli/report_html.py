"""`energy-grid report`'s page: one self-contained, printable HTML file (inline CSS, the plots
inline SVGs drawn with matplotlib) of a household's or the community's day, week or month
(energy_grid.index.analytics) and its regions' committed forecasts against their meters
(energy_grid.index.forecasts), every figure in kWh, kW and the currency."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

import matplotlib

matplotlib.use("Agg")  # a file only: no display on a server
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from energy_grid.domain.auction_words import price_text
from energy_grid.domain.units import INTERVAL_SECONDS, W_PER_KW, format_cents, format_kwh, interval_power_w, zone_label
from energy_grid.index.analytics import Summary, Window, notes, share_text
from energy_grid.index.forecasts import PeriodForecast

NO_FORECAST = "No forecast was committed for this period: the operator runs no forecaster, or it had too little history."

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1b2430; max-width: 960px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ccd; }
.sub { color: #556; margin-top: 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 0.6em; }
.figure { border: 1px solid #ccd; border-radius: 6px; padding: 0.5em 0.8em; }
.figure .value { font-size: 1.3em; font-weight: 600; } .figure .name { color: #556; }
table { border-collapse: collapse; width: 100%; } th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #e3e6ee; }
th { text-align: left; } td { text-align: right; } td:first-child { text-align: left; }
svg { width: 100%; height: auto; }
@media print { body { margin: 0; max-width: none; } .figure, table, svg { break-inside: avoid; } }
"""


def _local(timestamp_s: int, utc_offset_minutes: int, pattern: str) -> str:
    return datetime.fromtimestamp(timestamp_s + utc_offset_minutes * 60, UTC).strftime(pattern)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], test_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table data-testid="{test_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _time_axis(axes: Axes, window: Window, utc_offset_minutes: int) -> None:
    """The period's buckets (hours of a day, days of a week or month) along x, one unit each."""
    hourly = window.period == "day"
    count = (window.to_s + 1 - window.from_s) // window.bucket_s
    labels = [_local(window.from_s + b * window.bucket_s, utc_offset_minutes, "%H:00" if hourly else "%d %b") for b in range(count)]
    step = max(1, count // 12)
    axes.set_xticks(list(range(count))[::step], labels[::step])
    axes.set_xlabel(f"{'hour' if hourly else 'day'}, {zone_label(utc_offset_minutes)} (the deployment's zone)")


def _svg(figure: Figure) -> str:
    """The figure as an inline SVG (no XML prologue), and closed; what was drawn rasterized at print
    resolution."""
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", dpi=200)
    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def energy_plot_svg(result: Summary, utc_offset_minutes: int) -> str:
    """Import, export and the import the community met, per bucket, as an inline SVG."""
    positions = range(len(result.series))
    figure, axes = plt.subplots(figsize=(9, 3.6))
    width = 0.4
    axes.bar([p - width / 2 for p in positions], [b.import_wh / 1000 for b in result.series], width, label="consumption (import)",
             color="#d32f2f")  # fmt: skip
    axes.bar([p + width / 2 for p in positions], [b.export_wh / 1000 for b in result.series], width, label="production (export)",
             color="#f2a900")  # fmt: skip
    axes.step(positions, [b.import_met_locally_wh / 1000 for b in result.series], where="mid", color="#0f9d58",
              label="consumption met by the community")  # fmt: skip
    _time_axis(axes, result.window, utc_offset_minutes)
    axes.set_ylabel("kWh")
    axes.grid(alpha=0.3)
    axes.legend()
    return _svg(figure)


def _kw(wh: int | None) -> float:
    """An interval's Wh as its mean kW (NaN where there is none: a gap in the plot)."""
    return math.nan if wh is None else interval_power_w(wh) / W_PER_KW


def forecast_plot_svg(forecasts: list[PeriodForecast], window: Window, utc_offset_minutes: int) -> str:
    """Each region's band P10–P90 and P50 against its metered net import, per interval (mean kW), one
    plot above the other, as an inline SVG. A week's or a month's thousands of steps are drawn as an
    image in it (a tenth of the size of their vectors); the axes and words stay vectors."""
    dense = window.period != "day"
    figure, rows = plt.subplots(len(forecasts), 1, figsize=(9, 0.8 + 2.6 * len(forecasts)), sharex=True, squeeze=False)
    for axes, forecast in zip(rows[:, 0], forecasts, strict=True):
        # The intervals' edges in buckets from the period's start (a bucket's start is its tick).
        edges = [(i.start_s - window.from_s) / window.bucket_s for i in forecast.intervals]
        edges.append(edges[-1] + INTERVAL_SECONDS / window.bucket_s)
        names = ("p10_wh", "p50_wh", "p90_wh", "net_import_wh")
        p10, p50, p90, net = ([_kw(getattr(i, name)) for i in forecast.intervals] for name in names)
        axes.stairs(p90, edges, baseline=p10, fill=True, color="#1565c0", alpha=0.25, label="P10–P90 forecast", rasterized=dense)
        axes.stairs(p50, edges, baseline=None, color="#1565c0", linestyle="--", label="P50 forecast", rasterized=dense)
        axes.stairs(net, edges, baseline=None, color="#1b2430", label="metered net import", rasterized=dense)
        axes.set_title(f"region {forecast.region_id}", loc="left", fontsize="medium")
        axes.set_ylabel("kW")
        axes.grid(alpha=0.3)
    rows[0, 0].legend()
    rows[-1, 0].set_xlim(0, (window.to_s + 1 - window.from_s) / window.bucket_s)
    _time_axis(rows[-1, 0], window, utc_offset_minutes)
    return _svg(figure)


def _kw_text(wh: int | None) -> str:
    return "-" if wh is None else f"{_kw(wh):,.1f} kW"


def forecast_section(forecasts: list[PeriodForecast], window: Window, utc_offset_minutes: int) -> list[str]:
    """"Forecast against actual": the plot and each region's figures, or the sentence that there was no forecast."""
    if not forecasts:
        return ["<h2>Forecast against actual</h2>", f'<p data-testid="no-forecast">{escape(NO_FORECAST)}</p>']
    rows = []
    for forecast in forecasts:
        f = forecast.figures()
        rows.append((
            f"region {forecast.region_id}", f"{f.judged_intervals} of {f.banded_intervals}", share_text(f.coverage),
            share_text(f.exceeded_p90), "-" if f.skill is None else f"{f.skill:.2f}", format_kwh(f.p50_wh), format_kwh(f.net_import_wh),
            _kw_text(f.highest_p90_wh), _kw_text(f.highest_net_import_wh),
        ))  # fmt: skip
    headers = ["", "forecast intervals metered", "within P10–P90", "above P90", "P50 skill over the day before", "P50 forecast",
               "metered", "highest P90", "highest metered"]  # fmt: skip
    said = (
        "Each region's operator commits its forecast of the region's net import (its meters' consumption less their production) "
        "the day before: the band is its P10 to P90, the dashed line its P50, the solid line what the meters metered, each "
        "15 minutes' mean power. A calibrated band holds about 80 % of the intervals and its P90 is exceeded about 10 % of the "
        "time; a P50 skill above 0 means the forecast beat taking the same interval the day before (1: exact). The energies "
        "and shares count the intervals both forecast and metered."
    )
    return [
        "<h2>Forecast against actual</h2>",
        f"<p>{escape(said)}</p>",
        forecast_plot_svg(forecasts, window, utc_offset_minutes),
        _table(headers, rows, "forecast"),
    ]


def render(
    result: Summary, forecasts: list[PeriodForecast], utc_offset_minutes: int, payment_decimals: int, payment_symbol: str
) -> str:
    """The report as one HTML document."""

    def money(amount: int) -> str:
        return format_cents(amount, payment_decimals, payment_symbol)

    window, savings, supply, export = result.window, result.savings, result.supply, result.export
    who = "the community" if result.owner is None else f"household {result.owner}"
    zone = zone_label(utc_offset_minutes)
    first, last = (_local(time_s, utc_offset_minutes, "%Y-%m-%d %H:%M") for time_s in (window.from_s, window.to_s))
    span = f"{first} to {last} ({zone})"
    meters = f"{len(result.meters)} meter{'s' if len(result.meters) != 1 else ''}"
    figures = [
        ("saved against the tariff", money(savings.saved), "saved"),
        ("self-sufficiency", share_text(supply.self_sufficiency), "self-sufficiency"),
        ("self-consumption", share_text(supply.self_consumption), "self-consumption"),
        ("export sold peer to peer", share_text(export.sold_share), "sold-share"),
        ("CO2e avoided (estimate)", f"{result.co2.avoided_grams / 1000:,.3f} kg", "co2"),
    ]
    cards = "".join(
        f'<div class="figure" data-testid="{test_id}"><div class="value">{escape(value)}</div><div class="name">{escape(name)}</div></div>'
        for name, value, test_id in figures
    )
    tariff = price_text(result.terms.tariff_per_kwh, payment_decimals, payment_symbol)
    savings_rows = [
        ("consumption through the meters", format_kwh(savings.import_wh), ""),
        (f"all of it at the tariff ({tariff})", "", money(savings.bill_at_tariff)),
        ("bought in the community", format_kwh(savings.bought_wh), money(savings.paid)),
        ("sold in the community (after the grid fee)", format_kwh(savings.sold_wh), money(savings.earned)),
        ("demand-response rewards", "", money(savings.demand_response_rewards)),
        ("net cost (the rest of the import at the tariff)", "", money(savings.net_cost)),
        ("saved", "", money(savings.saved)),
    ]
    export_rows = [
        ("exported through the meters", format_kwh(export.exported_wh)),
        ("sold peer to peer", format_kwh(export.sold_p2p_wh)),
        ("offered while the zone's link was full (EXPORT_BOUND)", format_kwh(export.link_full_wh)),
        ("offered, no buyer at its price", format_kwh(export.no_buyer_wh)),
        ("not offered: to the grid, unsold", format_kwh(export.not_offered_wh)),
        ("exported while the community drew less (overlaps the above)", format_kwh(export.beyond_community_draw_wh)),
    ]
    supply_rows = [
        ("consumption (import)", format_kwh(supply.consumption_wh), format_kwh(supply.consumption_met_locally_wh),
         share_text(supply.self_sufficiency)),
        ("production (export)", format_kwh(supply.production_wh), format_kwh(supply.production_used_locally_wh),
         share_text(supply.self_consumption)),
    ]  # fmt: skip
    peak_rows = [
        (f"region {p.region_id}", f"{p.peak_demand_kw:,} kW", f"{p.capacity_kw:,} kW", f"{p.load_percentage} %",
         _local(p.reported_at_s, utc_offset_minutes, "%Y-%m-%d %H:%M"),
         f"{p.peak_without_demand_response_kw:,} kW" if p.reduction_known else "no reduction verified")
        for p in result.peaks
    ]  # fmt: skip
    sections = [
        f"<h1>Energy report: {escape(who)}</h1>",
        f'<p class="sub">{escape(window.label())}: {escape(span)}; {escape(meters)}. From the event index of the chain.</p>',
        f'<div class="figures">{cards}</div>',
        "<h2>Energy</h2>",
        energy_plot_svg(result, utc_offset_minutes),
        _table(["", "metered", "met in the community", "share"], supply_rows, "supply"),
        "<h2>Savings against the tariff</h2>",
        _table(["", "energy", "money"], savings_rows, "savings"),
        "<h2>Where the export went</h2>",
        _table(["", "energy"], export_rows, "export"),
        "<h2>Transformer peaks</h2>",
        _table(["", "peak", "capacity", "load", "at", "without demand response"], peak_rows, "peaks")
        if peak_rows
        else "<p>No load report in the period.</p>",
        *forecast_section(forecasts, window, utc_offset_minutes),
    ]
    if result.households:
        rows = [(h.owner, format_kwh(h.import_wh), format_kwh(h.export_wh), format_kwh(h.sold_p2p_wh), money(h.saved))
                for h in result.households]  # fmt: skip
        headers = ["owner", "consumption", "production", "sold peer to peer", "saved"]
        sections += ["<h2>Households</h2>", _table(headers, rows, "households")]
    said = "".join(f"<li>{escape(sentence)}</li>" for sentence in notes(result, payment_decimals, payment_symbol))
    sections += ["<h2>What the figures rest on</h2>", f'<ul data-testid="notes">{said}</ul>']
    title = escape(f"Energy report: {who}, {window.label()}")
    return (
        f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n<style>{CSS}</style>\n</head>\n'
        f"<body>\n{''.join(sections)}\n</body>\n</html>\n"
    )


__all__ = ["NO_FORECAST", "energy_plot_svg", "forecast_plot_svg", "forecast_section", "render"]
