"""ForecastLedger's forecasts and scores in the event index and in /analytics/forecasts: a region's
forecast committed, metered, tallied and scored on the test chain; the index keeps the vectors and
the score as the chain emitted them; each interval shows the newer forecast covering it and the net
import of the region's meters only, as the test computes it from the readings it sent and as the
ledger's own tally sums it; the coverage and P90 exceedances as the test counts them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from energy_grid.api import create_app
from energy_grid.chain.accounts import anvil_account
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.forecasts import QuantileForecast
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.index import EventIndex, Follower
from energy_grid.index import models as m
from energy_grid.index.forecasts import forecast_view

from support.index_helpers import (
    DEPLOYER,
    FORECAST_WINDOW,
    OTHER_REGION,
    REGION,
    MeteredForecast,
    band_around,
    metered_forecast,
    new_database_url,
)

TX_HASH = "0x" + "ab" * 32


@pytest.fixture
def ledger_grid(api_manifest: Path, networks: Any) -> GridClient:
    return GridClient.from_manifest(api_manifest, networks.provider.uri)


def net_import_wh(metered: MeteredForecast) -> list[int]:
    """The region's net import per interval of the window, from what its meters read."""
    return [sum(consumed - produced for consumed, produced in (figures[k] for figures in metered.energy_wh.values()))
            for k in range(FORECAST_WINDOW)]  # fmt: skip


def shown_band(metered: MeteredForecast, interval: int) -> tuple[int, int, int] | None:
    """The band an interval should show: the newer forecast's where it covers the interval."""
    for forecast in (metered.newer, metered.forecast):
        offset = interval - forecast.first_interval
        if 0 <= offset < forecast.interval_count:
            return forecast.p10_wh[offset], forecast.p50_wh[offset], forecast.p90_wh[offset]
    return None


def test_forecasts_and_their_scores_are_indexed_and_seen_against_the_region_s_meters(ledger_grid, tmp_path):
    metered = metered_forecast(ledger_grid)
    forecast, newer = metered.forecast, metered.newer
    ledger = ledger_grid.forecast_ledger
    assert ledger is not None
    index = EventIndex(f"sqlite:///{tmp_path / 'index'}.sqlite")
    index.upgrade()
    Follower(index, ledger_grid, 0.1).run_once()

    with index.session() as session:
        committed = session.scalars(select(m.ForecastCommitted).order_by(m.ForecastCommitted.first_interval)).all()
        operator = anvil_account(DEPLOYER).address
        assert [(c.region_id, c.first_interval, c.operator, c.forecast_hash, c.p10_wh, c.p50_wh, c.p90_wh) for c in committed] == [
            (REGION, f.first_interval, operator, "0x" + f.forecast_hash.hex(), list(f.p10_wh), list(f.p50_wh), list(f.p90_wh))
            for f in (forecast, newer)
        ]
        [scored] = session.scalars(select(m.ForecastScored)).all()
        on_chain = ledger.get_score(REGION, forecast.first_interval)
        assert (scored.region_id, scored.first_interval, scored.scorer) == (REGION, forecast.first_interval, operator)
        assert (scored.interval_count, scored.covered_intervals, scored.exceeded_p90_intervals, scored.pinball_p10_wh,
                scored.pinball_p50_wh, scored.pinball_p90_wh, scored.meters_tallied, scored.timestamp_s) == (
            on_chain.interval_count, on_chain.covered_intervals, on_chain.exceeded_p90_intervals, on_chain.pinball_p10_wh,
            on_chain.pinball_p50_wh, on_chain.pinball_p90_wh, on_chain.meters_tallied, on_chain.scored_at,
        )  # fmt: skip

        # The window and the newer forecast's days after it.
        first, last = forecast.first_interval, newer.first_interval + newer.interval_count - 1
        view = forecast_view(session, None, first * INTERVAL_SECONDS, last * INTERVAL_SECONDS + 1)

    net = net_import_wh(metered)
    assert net == ledger.net_import_wh(REGION, first)  # the ledger's tally of the same meters
    assert (view.region_id, view.regions, view.first_interval, view.last_interval) == (REGION, [REGION], first, last)
    assert [i.interval for i in view.intervals] == list(range(first, last + 1))
    assert [(i.p10_wh, i.p50_wh, i.p90_wh) for i in view.intervals] == [shown_band(metered, i.interval) for i in view.intervals]
    # After the window: the reading that made it final metered nothing; later intervals none read.
    assert [i.net_import_wh for i in view.intervals] == [*net, 0] + [None] * (last - first - FORECAST_WINDOW)

    # The score against the forecast's own band: four intervals within it, two above P90.
    covered = sum(lo <= y <= hi for y, lo, hi in zip(net, forecast.p10_wh, forecast.p90_wh, strict=True))
    exceeded = sum(y > hi for y, hi in zip(net, forecast.p90_wh, strict=True))
    assert (covered, exceeded) == (scored.covered_intervals, scored.exceeded_p90_intervals) == (4, 2)
    assert [(s.first_interval, s.covered_intervals, s.exceeded_p90_intervals) for s in view.scores] == [(first, covered, exceeded)]
    totals = view.totals
    assert (totals.forecasts, totals.intervals, totals.coverage, totals.exceeded_p90_share) == (
        1, FORECAST_WINDOW, covered / FORECAST_WINDOW, exceeded / FORECAST_WINDOW
    )

    # The other region has meters and readings but no forecast: its load alone, no band.
    with index.session() as session:
        other = forecast_view(session, OTHER_REGION, first * INTERVAL_SECONDS, (first + FORECAST_WINDOW) * INTERVAL_SECONDS - 1)
    assert [i.net_import_wh for i in other.intervals] == [consumed - produced for consumed, produced in metered.outsider_energy_wh]
    assert all(i.p50_wh is None for i in other.intervals) and other.scores == []


def test_the_route_answers_the_region_s_band_load_and_scores(ledger_grid, api_settings):
    app = create_app(api_settings(follow=False))
    with TestClient(app) as http:
        app.state.follower.run_once()
        empty = http.get("/api/v1/analytics/forecasts").json()
        assert (empty["regionId"], empty["regions"], empty["intervals"], empty["scores"]) == (None, [], [], [])
        assert empty["scored"] == {"forecasts": 0, "intervals": 0, "coveredIntervals": 0, "exceededP90Intervals": 0,
                                   "coverage": None, "exceededP90Share": None}  # fmt: skip

        metered = metered_forecast(ledger_grid)
        app.state.follower.run_once()
        first = metered.forecast.first_interval
        from_s, to_s = first * INTERVAL_SECONDS, (first + FORECAST_WINDOW) * INTERVAL_SECONDS - 1
        answer = http.get("/api/v1/analytics/forecasts", params={"from": from_s, "to": to_s}).json()
        net = net_import_wh(metered)
        assert (answer["regionId"], answer["regions"], answer["from"], answer["to"]) == (REGION, [REGION], from_s, to_s)
        # The first forecast covers the whole window, so every interval has a band.
        assert answer["intervals"] == [
            {"interval": first + k, "start": (first + k) * INTERVAL_SECONDS, "p10Wh": band[0], "p50Wh": band[1], "p90Wh": band[2],
             "netImportWh": net[k]}
            for k, band in enumerate(cast(tuple[int, int, int], shown_band(metered, first + k)) for k in range(FORECAST_WINDOW))
        ]  # fmt: skip
        score = ledger_grid.forecast_ledger.get_score(REGION, first)
        [scored] = answer["scores"]
        assert scored == {
            "firstInterval": first, "intervalCount": FORECAST_WINDOW, "coveredIntervals": score.covered_intervals,
            "exceededP90Intervals": score.exceeded_p90_intervals, "pinballP10Wh": score.pinball_p10_wh,
            "pinballP50Wh": score.pinball_p50_wh, "pinballP90Wh": score.pinball_p90_wh, "metersTallied": 2,
            "scorer": anvil_account(DEPLOYER).address, "scoredAt": score.scored_at,
        }  # fmt: skip
        assert answer["scored"]["coverage"] == score.covered_intervals / FORECAST_WINDOW

        # By default: the last 7 days and the next day from the indexed head, which hold both forecasts.
        default = http.get("/api/v1/analytics/forecasts").json()
        head_s = app.state.index.indexed_head().timestamp_s
        assert (default["from"], default["to"]) == (head_s // 900 * 900 - 7 * 86_400, (head_s + 86_400) // 900 * 900 + 899)
        banded = [i["interval"] for i in default["intervals"] if i["p50Wh"] is not None]
        assert banded == list(range(first, metered.newer.first_interval + metered.newer.interval_count))
        other = http.get("/api/v1/analytics/forecasts", params={"regionId": OTHER_REGION, "from": from_s, "to": to_s}).json()
        assert other["regionId"] == OTHER_REGION and other["scores"] == [] and other["regions"] == [REGION]

        too_long = http.get("/api/v1/analytics/forecasts", params={"from": 0, "to": 2_000 * INTERVAL_SECONDS})
        assert too_long.status_code == 400 and too_long.json()["error"] == "RangeTooLarge"
        backwards = http.get("/api/v1/analytics/forecasts", params={"from": to_s, "to": from_s})
        assert backwards.status_code == 400 and backwards.json()["error"] == "InvalidRange"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_forecast_s_vectors_read_back_alike_on_both_databases(kind, request, tmp_path):
    """Rows as the follower writes them: the vectors (JSON), a uint256 first interval and the hash."""
    index = EventIndex(new_database_url(kind, request, tmp_path))
    index.upgrade()
    first = 2_000_000
    forecast = band_around(REGION, first, [-400, 0, 900])  # a feeder that exports, then imports
    older = QuantileForecast(REGION, first - 2, (0, 0, 0), (5, 5, 5), (9, 9, 9))  # covers the first interval only
    meter = "0x" + "12" * 20
    at = {"tx_hash": TX_HASH, "timestamp_s": first * INTERVAL_SECONDS}
    with index.sessions.begin() as session:
        for log_index, f in enumerate((older, forecast)):
            session.add(m.ForecastCommitted(
                block_number=1, log_index=log_index, **at, region_id=REGION, first_interval=f.first_interval, operator=meter,
                forecast_hash=f.forecast_hash, p10_wh=f.p10_wh, p50_wh=f.p50_wh, p90_wh=f.p90_wh,
            ))  # fmt: skip
        session.add(m.MeterRegistered(block_number=2, log_index=0, **at, meter=meter, owner=meter, region_id=REGION,
                                      consumption_register_wh=0, production_register_wh=0))  # fmt: skip
        session.add(m.ReadingAccepted(block_number=3, log_index=0, **at, meter=meter, reading_timestamp_s=(first + 1) * INTERVAL_SECONDS,
                                      consumption_wh=300, production_wh=1_000))  # fmt: skip
    with index.session() as session:
        view = forecast_view(session, REGION, (first - 1) * INTERVAL_SECONDS, (first + 3) * INTERVAL_SECONDS)
        hashes = session.scalars(select(m.ForecastCommitted.forecast_hash).order_by(m.ForecastCommitted.log_index)).all()
    assert hashes == ["0x" + f.forecast_hash.hex() for f in (older, forecast)]
    assert [(i.interval, i.p10_wh, i.p50_wh, i.p90_wh, i.net_import_wh) for i in view.intervals] == [
        (first - 1, 0, 5, 9, None),
        (first, -700, -400, -200, None),
        (first + 1, -300, 0, 200, -700),
        (first + 2, 600, 900, 1_100, None),
        (first + 3, None, None, None, None),
    ]
    index.engine.dispose()
