"""`/api/v1/analytics/forecasts/ahead`: the forecaster's forecasts not committed on chain (each
region an hour ahead, the community's PV tomorrow), read from the forecaster's `/forecasts` and
checked field by field; without a forecaster 404, a silent one 503, a wrong answer 502, each with
one sentence."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from energy_grid.api import create_app
from energy_grid.api.app import API_PREFIX
from energy_grid.services.runtime import MetricsServer, ServiceMetrics

ROUTE = f"{API_PREFIX}/analytics/forecasts/ahead"
# What the forecaster serves (energy_grid.services.reporters.forecaster, its module docstring).
AHEAD = {"interval_start_s": 1_800_003_600, "metered_through_s": 1_800_000_000}
SERVED: dict[str, Any] = {
    "regions": {
        "2": {"hour_ahead": AHEAD | {"p10_wh": -300, "p50_wh": 900, "p90_wh": 2_100}},
        "1": {"hour_ahead": AHEAD | {"p10_wh": 50, "p50_wh": 400, "p90_wh": 800}},
    },
    "community_pv": {"day_start_s": 1_800_018_000, "interval_seconds": 900, "p10_wh": [0, 10], "p50_wh": [0, 20], "p90_wh": [1, 30]},
}


@pytest.fixture
def forecaster() -> Iterator[tuple[str, dict[str, Any]]]:
    """A server answering /forecasts with what the test puts in the dict it yields."""
    document: dict[str, Any] = {}
    server = MetricsServer(ServiceMetrics("forecaster").registry, health=dict, documents={"/forecasts": lambda: document}).start()
    try:
        yield server.url, document
    finally:
        server.stop()


def test_the_forecasters_hour_ahead_and_pv_are_passed_on_checked(api_settings, forecaster):
    url, document = forecaster
    document.update(SERVED)
    with TestClient(create_app(api_settings(follow=False, forecaster_url=url))) as http:
        answer = http.get(ROUTE)
        assert answer.status_code == 200
        assert answer.json() == {
            "hourAhead": [
                {"regionId": 1, "start": 1_800_003_600, "meteredThrough": 1_800_000_000, "p10Wh": 50, "p50Wh": 400, "p90Wh": 800},
                {"regionId": 2, "start": 1_800_003_600, "meteredThrough": 1_800_000_000, "p10Wh": -300, "p50Wh": 900, "p90Wh": 2_100},
            ],
            "communityPv": {"dayStart": 1_800_018_000, "intervalSeconds": 900, "p10Wh": [0, 10], "p50Wh": [0, 20], "p90Wh": [1, 30]},
        }
        # Before 12:00 of its first day the forecaster has no PV forecast to serve.
        document["community_pv"] = None
        assert http.get(ROUTE).json()["communityPv"] is None

        # A wrong answer is not passed on.
        document["community_pv"] = dict(SERVED["community_pv"], p90_wh=[1])
        refused = http.get(ROUTE)
        assert refused.status_code == 502 and refused.json()["error"] == "ForecasterAnswerInvalid"
        assert "quantiles differ in length" in refused.json()["message"]
        document["regions"] = {"1": {"hour_ahead": dict(SERVED["regions"]["1"]["hour_ahead"], p50_wh="a lot")}}
        refused = http.get(ROUTE)
        assert refused.status_code == 502 and "regions.1.hour_ahead.p50_wh" in refused.json()["message"]


def test_without_a_forecaster_or_with_a_silent_one_the_route_says_so(api_settings):
    with TestClient(create_app(api_settings(follow=False))) as http:
        answer = http.get(ROUTE)
        assert answer.status_code == 404 and answer.json()["error"] == "NoForecaster"
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with TestClient(create_app(api_settings(follow=False, forecaster_url=f"http://127.0.0.1:{closed_port}"))) as http:
        answer = http.get(ROUTE)
        assert answer.status_code == 503 and answer.json()["error"] == "ForecasterUnavailable"
        assert answer.json()["message"].startswith("The forecaster did not answer")
