"""A new user's first hour, end to end in a browser: a fresh node (`make node`), the default
community's simulated day on it (`make simulate`: the same deployment and `run_simulation`), then
the service (`make serve`: the same settings `energy-grid serve` builds, on a fresh index). Within
30 s of the service answering, with every site but the service unreachable, the user sees:

- on the operator view, the region's load over the day, its evening peak against the HIGH
  threshold and the demand-response event planned on it;
- on the prosumer view, as one of the households, its fills and its 24-hour chart;
- the API's documentation at /docs.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from energy_grid.api.app import create_app
from energy_grid.chain.anvil import AnvilNode
from energy_grid.cli.serve_commands import build_service_settings
from energy_grid.simulation.agents import derived_account
from energy_grid.simulation.driver import SITE_UTC_OFFSET_MINUTES, SimulationConfig, run_file_for, run_simulation
from energy_grid.simulation.ledger import SimulationResult
from energy_grid.simulation.run_state import RunRecord

from support.service_helpers import serve_in_thread
from support.simulation_helpers import client_of, deploy_to_state_file, node_from
from support.web_helpers import SCREENSHOTS, chromium, wallet_session

# The default community, 30 households, one day, seed 0, with the cars charging as they come home:
# the evening peak above HIGH and the event planned on it are the operator view's story. (Flexible
# load, on by default, moves the cars' charging into the night, and the peak stays below HIGH.)
FIRST_HOUR = SimulationConfig(flexible_load=False)
ANSWER_WITHIN_S = 30  # from the service's first answer to everything shown
HIGH_PERCENT = 80
INTERVAL_S = 900


@dataclass(frozen=True)
class SimulatedNode:
    node: AnvilNode
    manifest: Path
    result: SimulationResult
    record: RunRecord


@pytest.fixture(scope="module")
def simulated(project: Any, accounts: Any, chain: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedNode]:
    directory = tmp_path_factory.mktemp("first_hour")
    state, manifest = deploy_to_state_file(project, accounts, chain, directory)
    node = node_from(state, directory, "node")
    try:
        run_file = run_file_for(manifest)
        result = run_simulation(client_of(node, manifest), FIRST_HOUR, run_file=run_file)
        record = RunRecord.load(run_file)
        assert record is not None
        yield SimulatedNode(node, manifest, result, record)
    finally:
        node.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


def chart_data(page: Page, chart: str) -> list[list[dict[str, float | None]]]:
    return page.evaluate(f"() => window.energyGridCharts.{chart}.data.datasets.map((d) => d.data)")


def test_the_simulated_day_tells_its_story_within_30_s_of_serving(simulated, browser, tmp_path, request):
    plan = build_service_settings(
        simulated.node.url, simulated.manifest, 31337, database_url=f"sqlite:///{tmp_path / 'index.sqlite'}", environ={}
    )
    screenshots = SCREENSHOTS / request.node.name
    household = derived_account(FIRST_HOUR.seed, simulated.record.day_start_s, "household", 0)
    with serve_in_thread(create_app(plan.settings)) as base_url:
        answered = time.monotonic()
        expect.set_options(timeout=ANSWER_WITHIN_S * 1000)
        # The app's own refresh interval: the first hour is timed as a user sees it.
        operator = wallet_session(browser, base_url, None, 31337, screenshots, poll_interval_ms=None)
        prosumer = wallet_session(browser, base_url, household, 31337, screenshots, poll_interval_ms=None)
        blocked = [operator.go_offline(), prosumer.go_offline()]
        try:
            page = operator.open("/operator")
            # The region's load over the day: the evening peak above HIGH, the event on it.
            page.wait_for_function(
                "() => window.energyGridCharts && window.energyGridCharts.loading.data.datasets[0].data.length >= 90"
                " && window.energyGridCharts.loading.data.datasets[2].data.length > 0",
                timeout=ANSWER_WITHIN_S * 1000,
            )
            load, high, event = chart_data(page, "loading")
            series = simulated.result.series
            peak = max(point["y"] for point in load if point["y"] is not None)
            assert abs(peak - max(s.transformer_loading_per_mille for s in series) / 10) <= 1
            assert {point["y"] for point in high} == {HIGH_PERCENT}
            # The event's span on the chart covers the intervals the simulation ran it in.
            planned = [simulated.record.day_start_s + s.interval * INTERVAL_S for s in series if s.demand_response]
            assert planned and event[0]["x"] <= planned[0] and event[1]["x"] >= planned[-1] + INTERVAL_S
            # Ticks on the zone's whole hours, the same hours each day.
            ticks = page.evaluate("() => window.energyGridCharts.loading.scales.x.ticks.map((t) => t.value)")
            steps = {later - earlier for earlier, later in itertools.pairwise(ticks)}
            assert len(ticks) > 2 and len(steps) == 1
            step = steps.pop()
            assert step % 3_600 == 0 and all((t + SITE_UTC_OFFSET_MINUTES * 60) % step == 0 for t in ticks)
            operator.screenshot(page, "operator")

            page = prosumer.open("/prosumer")
            page.get_by_test_id("wallet-button").click()
            expect(page.get_by_test_id("my-trades").locator("tbody tr").first).to_be_visible()
            assert page.get_by_test_id("my-trades").locator("tbody tr").count() > 1
            page.wait_for_function(
                "() => window.energyGridCharts && window.energyGridCharts.household.data.datasets[0].data.length > 0"
            )
            prosumer.screenshot(page, "prosumer")

            page = operator.open("/docs")
            expect(page.locator(".information-container .title")).to_contain_text("Energy Grid API")
            operator.screenshot(page, "docs")
            assert time.monotonic() - answered <= ANSWER_WITHIN_S
        finally:
            expect.set_options(timeout=5_000)
            operator.context.close()
            prosumer.context.close()
    assert blocked == [[], []]
    assert operator.console_errors == [] and prosumer.console_errors == []
