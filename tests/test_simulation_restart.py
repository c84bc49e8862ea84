"""Restart: a simulation killed mid-run and run again to the end loses nothing
confirmed and ends with exactly the figures of an uninterrupted run with the same seed (energy,
trades, prices, money, demand response, credits; gas is not compared: a resumed step may batch
its readings differently).

- Node: the simulation process is killed mid-step (transactions mined, waiting in the pool, or
  unsent), then the node — persisting its state every second, as `make node` does every 5 — is
  SIGKILLed after its next dump; a node restarted from that dump and the simulation resume.
- Process: the simulation process alone is killed (node alive, its pool holding what was sent),
  with flexible load on: the resumed run's model takes the prices its batteries and car chargers
  answer from the markets the chain cleared, as the killed run's did.

Either way each interval's load report to GridOperations is on chain once: none sent twice, none
skipped."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from energy_grid.chain.anvil import AnvilNode
from energy_grid.contracts.client import GridClient
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.simulation.driver import SimulationConfig, run_simulation
from energy_grid.simulation.run_state import REGION_ID

from support.anvil_node import state_dump_begun_after
from support.simulation_helpers import client_of, deploy_to_state_file, node_from, web3_of

# One demand-response event, planned on the forecast peak of the run's 40 intervals (the morning's
# rise, at interval 39): its window is intervals 32-39. The node is killed before the event starts.
# Without flexible load, which moves the forecast peak (the cars charge at night).
RESTART_CONFIG = SimulationConfig(households=6, seed=5, intervals=40, dr_trigger_per_mille=17, flexible_load=False)
# With it (seed 4: a battery whose household's own PV will not cover its evening), the process is
# killed after the battery began charging from the zone's cheap morning market (interval 30 on):
# the resumed run must see the prices the killed one saw.
FLEXIBLE_CONFIG = dataclasses.replace(RESTART_CONFIG, flexible_load=True, seed=4)
KILL_NODE_AFTER_INTERVALS = 20
KILL_PROCESS_AFTER_INTERVALS = 34


@pytest.fixture(scope="module")
def restart_deployment(project, accounts, chain, tmp_path_factory):
    return deploy_to_state_file(project, accounts, chain, tmp_path_factory.mktemp("sim_restart"))


def run_uninterrupted(restart_deployment, directory, config):
    state, manifest = restart_deployment
    node = node_from(state, directory, "node")
    try:
        client = client_of(node, manifest)
        result = run_simulation(client, config, run_file=directory / "run.json")
        assert_one_load_report_per_interval(client, result.day_start_s)
    finally:
        node.stop()
    assert result.figures["dr_events"] == 1
    assert result.figures["traded_p2p_wh"] > 0 and result.figures["carbon_credits_grams"] > 0
    return result


@pytest.fixture(scope="module")
def uninterrupted(restart_deployment, tmp_path_factory):
    result = run_uninterrupted(restart_deployment, tmp_path_factory.mktemp("uninterrupted"), RESTART_CONFIG)
    assert result.figures["dr_rewards_paid"] > 0
    return result


@pytest.fixture(scope="module")
def uninterrupted_flexible(restart_deployment, tmp_path_factory):
    result = run_uninterrupted(restart_deployment, tmp_path_factory.mktemp("flexible"), FLEXIBLE_CONFIG)
    assert result.figures["battery_grid_charge_wh"] > 0
    return result


def assert_one_load_report_per_interval(client: GridClient, day_start_s: int) -> None:
    """The region's load reports (the deployment had none): one at each simulated interval's end."""
    operations = client["GridOperations"].functions
    count = int(operations.loadReportCount(REGION_ID).call())
    reports = operations.getLoadHistory(REGION_ID, 0, count).call() if count else []
    reported_at = [int(r.reportedAt) for r in reports]
    assert reported_at == [day_start_s + (i + 1) * INTERVAL_SECONDS for i in range(RESTART_CONFIG.interval_count)]


def start_simulation(url: str, manifest: Path, run_file: Path, c: SimulationConfig = RESTART_CONFIG) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "energy_grid.cli", "--rpc-url", url, "--manifest", str(manifest), "--json", "simulate",
        "--households", str(c.households), "--seed", str(c.seed), "--intervals", str(c.intervals),
        "--dr-trigger-per-mille", str(c.dr_trigger_per_mille), "--run-file", str(run_file),
        "--flexible-load" if c.flexible_load else "--no-flexible-load",
    ]  # fmt: skip
    # Progress lines go to stderr, the figures (JSON) to stdout.
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_interval(process: subprocess.Popen[str], interval: int) -> None:
    """Reads the simulation's progress lines until `interval` intervals are done."""
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("interval ") and int(line.split()[1].split("/")[0]) >= interval:
            return
    raise AssertionError(f"the simulation ended (exit {process.wait()}) before interval {interval}")


def killed_run_day(run_file: Path, node: AnvilNode) -> int:
    """The killed run's chain day D, after checking that some of its simulated intervals are on
    chain: the resumed run must continue it, not start afresh."""
    day_start_s = int(json.loads(run_file.read_text())["day_start_s"])
    assert web3_of(node).eth.get_block("latest")["timestamp"] > day_start_s
    return day_start_s


def test_node_killed_mid_run_then_restarted_ends_with_the_same_figures(restart_deployment, uninterrupted, tmp_path):
    state, manifest = restart_deployment
    run_file = tmp_path / "run.json"
    node = node_from(state, tmp_path, "node", state_interval_seconds=1)
    process = start_simulation(node.url, manifest, run_file)
    try:
        wait_for_interval(process, KILL_NODE_AFTER_INTERVALS)
        process.kill()  # mid-step: some of its transactions mined, some waiting in the pool
        process.wait()
        dump = state_dump_begun_after(tmp_path / "node.json")
        node.stop(kill=True)  # SIGKILL: only the periodic dump survives
    finally:
        process.kill()
        process.wait()
        node.stop(kill=True)
    (tmp_path / "persisted.json").write_bytes(dump)
    node = node_from(tmp_path / "persisted.json", tmp_path, "restarted")
    try:
        day_start_s = killed_run_day(run_file, node)
        client = client_of(node, manifest)
        resumed = run_simulation(client, RESTART_CONFIG, run_file=run_file)
        assert_one_load_report_per_interval(client, day_start_s)
    finally:
        node.stop()
    assert resumed.day_start_s == day_start_s and resumed.balanced
    assert resumed.figures == uninterrupted.figures
    assert resumed.totals() == uninterrupted.totals()


def test_simulation_process_killed_then_resumed_ends_with_the_same_figures(restart_deployment, uninterrupted_flexible, tmp_path):
    state, manifest = restart_deployment
    run_file = tmp_path / "run.json"
    node = node_from(state, tmp_path, "node")
    try:
        process = start_simulation(node.url, manifest, run_file, FLEXIBLE_CONFIG)
        try:
            wait_for_interval(process, KILL_PROCESS_AFTER_INTERVALS)
        finally:
            process.kill()  # mid-run: its last flush may be in the pool, half mined, or not sent
            process.wait()
        day_start_s = killed_run_day(run_file, node)
        client = client_of(node, manifest)
        resumed = run_simulation(client, FLEXIBLE_CONFIG, run_file=run_file)
        assert resumed.day_start_s == day_start_s  # the same run (chain day, households) continued
        assert resumed.totals() == uninterrupted_flexible.totals()
        assert resumed.figures["battery_grid_charge_wh"] == uninterrupted_flexible.figures["battery_grid_charge_wh"]
        assert_one_load_report_per_interval(client, day_start_s)
        # Run again: everything is on chain already, nothing is sent, the figures stay.
        assert run_simulation(client, FLEXIBLE_CONFIG, run_file=run_file).totals() == uninterrupted_flexible.totals()
        assert_one_load_report_per_interval(client, day_start_s)
    finally:
        node.stop()
