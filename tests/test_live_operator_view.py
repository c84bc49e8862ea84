"""The operator's view of a live community: `live status` and the operator and analytics pages, on a
chain holding what the live community holds. Four households on a feeder each make four regions and
zones, each with its operators' load reports (the set-up's); the virtual meters publish each interval's
readings, a relayer puts them on chain, the market of the interval clears and its standing orders
settle, as the gateway and the keeper would. Nobody reports a grid status (GridManagement): the live
community's services do not.

- `live status` lists each program of a real supervisord with its last WARNING, and each of the
  latest intervals' readings published and on chain, its market and the standing orders settled;
  a run folder where nothing runs is one sentence, exit 2.
- The operator page on a phone (390 px) shows the grid's supply and demand from the meters' readings
  and its frequency from the oracle, every region, and its zone panel follows the newest market as
  the next interval clears; the analytics page draws the grid's demand and supply.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from energy_grid.api.app import create_app
from energy_grid.api.settings import ServiceSettings
from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.anvil import AnvilNode
from energy_grid.cli.live_status import market_text
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.market import ClearedMarket
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.live.chain import Pace
from energy_grid.live.community import LiveCommunity, live_run_file_for, set_up_community
from energy_grid.live.ready import ReadyMarker
from energy_grid.live.series import read_series
from energy_grid.live.stack import Ports, program_states, supervisord_config, write_run_folder
from energy_grid.live.status import IntervalProgress, interval_progress

from support.anvil_node import wait_until
from support.cli_helpers import cli_runner
from support.live_helpers import LIVE_SEED, interval_end_s, mine_at, readings_reader, running_meters
from support.mosquitto import Broker
from support.service_helpers import serve_in_thread
from support.simulation_helpers import client_of, deploy_to_state_file, node_from
from support.web_helpers import PHONE_VIEWPORT, UI_TIMEOUT_MS, chromium, wallet_session

# Playwright's waits as the other browser tests set them (web_expect_timeout).
pytest_plugins = ["support.web_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
HOUSEHOLDS = 4
PER_FEEDER = 1  # four feeders: four regions and zones, as the default live community of 100 households has
RELAYER = 5  # a dev account without a role: it relays the readings, clears and settles
ORACLE_REPORTER = 2  # the local deployment's GridOracle reporter (a quorum of one)
START_TIMEOUT_S = 60.0
PROBLEM = "the broker refused the connection: trying again"


@dataclass
class LiveLike:
    node: AnvilNode
    manifest: Path
    community: LiveCommunity

    def client(self) -> GridClient:
        return client_of(self.node, self.manifest)

    def period(self, interval: int) -> int:
        return (self.community.day_start_s + interval * INTERVAL_SECONDS) // INTERVAL_SECONDS


@dataclass(frozen=True)
class Traded:
    """What the test did for one interval, read from its own transactions' receipts."""

    interval: int
    readings_on_chain: int
    cleared: ClearedMarket
    meters_settled: int


@pytest.fixture(scope="module")
def live_like(project: Any, accounts: Any, chain: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLike]:
    directory = tmp_path_factory.mktemp("live_operator")
    state, manifest = deploy_to_state_file(project, accounts, chain, directory)
    node = node_from(state, directory, "operator")
    run_file = live_run_file_for(manifest)
    result = set_up_community(client_of(node, manifest), HOUSEHOLDS, LIVE_SEED, run_file, households_per_feeder=PER_FEEDER)
    yield LiveLike(node, manifest, result.community)
    node.stop()


def mine_to(client: GridClient, timestamp_s: int) -> None:
    """A block at `timestamp_s`, or a second after the latest when the chain stands later."""
    mine_at(client, max(timestamp_s, int(client.w3.eth.get_block("latest")["timestamp"]) + 1))


def trade_interval(live: LiveLike, broker: Broker, interval: int) -> Traded:
    """The interval's readings published, on chain, its market cleared and its standing orders settled."""
    client, community = live.client(), live.community
    with readings_reader(broker) as reader, running_meters(live.client(), community, broker):
        mine_to(client, interval_end_s(community, interval))
        readings = [signed for _, _, signed in reader.take(HOUSEHOLDS)]
    relayer = anvil_account(RELAYER)
    client.smart_meter.submit_signed_readings(relayer, readings)
    period = live.period(interval)
    mine_to(client, int(client["EnergyAuction"].functions.clearingTime(period).call()))
    cleared = client.auction.clear(relayer, period)
    settled = client.smart_meter.settle_standing_orders(relayer, [account.address for account in community.meter_keys()])
    return Traded(interval, len(readings), cleared, len({s.meter for s in settled if s.period == period}))


@pytest.fixture(scope="module")
def first_interval(live_like: LiveLike, mqtt_broker: Broker) -> Traded:
    return trade_interval(live_like, mqtt_broker, 0)


# ------------------------------------------------------------------------------------ live status


def test_live_status_names_each_program_s_last_problem_and_the_latest_intervals_progress(live_like, first_interval, tmp_path):
    traded = first_interval
    client, community = live_like.client(), live_like.community
    progress = {p.interval: p for p in interval_progress(client, community)}
    first = progress[0]
    assert (first.published, first.on_chain, first.households) == (HOUSEHOLDS, traded.readings_on_chain, HOUSEHOLDS)
    assert first.cleared and first.clearing_price_per_kwh == traded.cleared.clearing_price_per_kwh
    assert first.traded_wh == traded.cleared.volume_wh
    assert first.standing_settled == traded.meters_settled > 0
    later = [p for i, p in progress.items() if i > 0]
    assert later and all((p.published, p.on_chain, p.cleared, p.standing_settled) == (0, 0, False, 0) for p in later)

    # A run folder of the live community's layout, holding this chain, under a real supervisord whose
    # one program writes a warning to its log as the services do.
    stack = write_run_folder(tmp_path / "run", project_dir=ROOT, households=HOUSEHOLDS, seed=LIVE_SEED, pace=Pace())
    folder = stack.folder
    energy_grid = cli_runner(live_like.node.url, live_like.manifest)
    nothing = energy_grid("live", "status", "--run-dir", str(folder.root), expect=2)
    assert nothing.stdout == ""
    assert nothing.stderr.count("\n") == 1 and "No live community runs from" in nothing.stderr and "make live" in nothing.stderr

    Ports(stack.ports.broker, live_like.node.port, stack.ports.web, stack.ports.metrics).write(folder.ports_file)
    manifest = folder.manifest_file(client.chain_id)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(live_like.manifest.read_text())
    for source in (community.run_file, community.series_file):
        (manifest.parent / source.name).write_text(source.read_text())
    ReadyMarker.at_head(client.w3).write(folder.ready_marker)
    warning = f"import sys, time; print('2026-12-04T01:00:00+0000 energy_grid.gateway WARNING {PROBLEM}', flush=True); time.sleep(3600)"
    folder.supervisord_conf.write_text(supervisord_config(stack, {"gateway": ([sys.executable, "-c", warning], {})}))
    supervisord = subprocess.Popen(
        [str(Path(sys.executable).with_name("supervisord")), "-n", "-c", str(folder.supervisord_conf)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: PROBLEM in _text(folder.logs / "gateway.log"), START_TIMEOUT_S, "the program's warning")
        wait_until(lambda: program_states(folder) == {"gateway": "RUNNING"}, START_TIMEOUT_S, "the program running")
        report = energy_grid("live", "status", "--run-dir", str(folder.root)).json()
        [gateway] = report["programs"]
        assert (gateway["program"], gateway["state"]) == ("gateway", "RUNNING")
        assert (gateway["last_problem_at"], gateway["last_problem"]) == ("2026-12-04T01:00:00+0000", f"WARNING: {PROBLEM}")
        intervals = interval_progress(client, community)
        assert report["intervals"] == [p.as_json() for p in intervals]
        assert report["note"] is None

        table = energy_grid("live", "status", "--run-dir", str(folder.root), json_output=False, env={"COLUMNS": "240"}).stdout
        markets = {"cleared: no trade" if p.traded_wh == 0 else "cleared at" for p in intervals if p.cleared}
        assert markets and all(market in table for market in markets)
        assert f"{HOUSEHOLDS} of {HOUSEHOLDS}" in table and PROBLEM in table
    finally:
        os.kill(supervisord.pid, signal.SIGINT)
        supervisord.wait(timeout=START_TIMEOUT_S)


def test_a_market_that_cleared_without_volume_says_no_trade_not_its_marked_price():
    def market(cleared: bool, price_per_kwh: int | None, traded_wh: int) -> str:
        progress = IntervalProgress(3, 0, 4, 4, 4, cleared, price_per_kwh, traded_wh, 0)
        return market_text(progress, lambda price: f"{price / 1e6:.3f}")

    assert market(True, 257_000, 0) == "cleared: no trade"
    assert market(True, 120_000, 1_500) == "cleared at 0.120"
    assert market(False, None, 0) == "not cleared"


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


# ------------------------------------------------------------------------------------ the pages


@pytest.fixture(scope="module")
def live_web(live_like: LiveLike, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = ServiceSettings(
        rpc_url=live_like.node.url, manifest_file=live_like.manifest, relayer=anvil_account(RELAYER), poll_interval_s=0.2,
        database_url=f"sqlite:///{tmp_path_factory.mktemp('live_index') / 'index.sqlite'}",
    )
    with serve_in_thread(create_app(settings)) as base_url:
        yield base_url


def _shown(page: Page, formatter: str, value: int) -> str:
    """`value` as the page's own formatter (common.js) writes it."""
    return page.evaluate(f"async (v) => (await import('/static/js/common.js')).{formatter}(v)", value)


def test_the_operator_sees_the_live_grid_every_region_and_the_newest_zone_market_on_a_phone(
    live_like, first_interval, live_web, mqtt_broker, request, web_expect_timeout
):
    client, community = live_like.client(), live_like.community
    regions = community.run_state(client).feeders
    assert regions == HOUSEHOLDS // PER_FEEDER
    figures = read_series(community.series_file)[0]
    # The oracle reports region 1's figures, as the live community's oracle reporter does.
    client.transact(anvil_account(ORACLE_REPORTER), client["GridOracle"].functions.submitGridData(1, 50_010, 995, 1_000, 2_000))
    with chromium() as browser:
        session = wallet_session(browser, live_web, None, client.chain_id, ROOT / "reports" / "browser" / request.node.name, PHONE_VIEWPORT)
        page = session.open("/operator")
        # Supply and demand are the meters' production and consumption of interval 0, in mean W.
        watts_per_wh = 3_600 // INTERVAL_SECONDS
        expect(page.get_by_test_id("grid-demand")).to_have_text(_shown(page, "formatPowerW", figures.consumption_wh * watts_per_wh))
        expect(page.get_by_test_id("grid-supply")).to_have_text(_shown(page, "formatPowerW", figures.pv_wh * watts_per_wh))
        clock = _shown(page, "formatClock", interval_end_s(community, 0))
        expect(page.get_by_test_id("grid-demand-source")).to_have_text(f"household consumption · the meters' readings, interval to {clock}")
        expect(page.get_by_test_id("grid-frequency")).to_have_text(_shown(page, "formatFrequency", 50_010))
        expect(page.get_by_test_id("grid-frequency-source")).to_contain_text("oracle, 1 region")
        expect(page.get_by_test_id("grid-voltage")).to_have_text(_shown(page, "formatVoltage", 995))
        for region in range(1, regions + 1):
            expect(page.get_by_test_id(f"region-{region}")).to_have_attribute("data-status", "LOW")

        # The zone panel shows the newest market, and the next one once it clears, without a reload.
        detail = page.get_by_test_id("zones-detail")
        expect(detail).to_have_attribute("data-period", str(live_like.period(0)))
        expect(page.get_by_test_id("zone-row")).to_have_count(regions)
        trade_interval(live_like, mqtt_broker, 1)
        expect(detail).to_have_attribute("data-period", str(live_like.period(1)))
        expect(page.get_by_test_id("zones-interval")).to_have_value(str(live_like.period(1)))
        # An interval the user picks is shown in place of the newest.
        page.get_by_test_id("zones-interval").select_option(str(live_like.period(0)))
        expect(detail).to_have_attribute("data-period", str(live_like.period(0)))
        session.screenshot(page, "operator-live")

        analytics = session.open("/analytics")
        drawn = "() => window.energyGridCharts.grid.data.datasets.map((d) => d.data.length)"
        points = wait_until(lambda: all(analytics.evaluate(drawn)) and analytics.evaluate(drawn), UI_TIMEOUT_MS / 1000, "the grid chart")
        assert points[0] == points[1] > 0
        session.screenshot(analytics, "analytics-live")
        session.context.close()
    assert session.console_errors == []
