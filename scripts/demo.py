"""The demo: one day of a 30-household community on a real low-voltage grid model, on a local chain.

    ape run demo                                   # its own anvil, started and stopped here
    ape run demo --households 100 --days 1 --seed 7 --report-dir reports/simulation
    ape run demo --rpc-url http://127.0.0.1:8545   # `make node`: reuses its deployment, resumes a killed run
    ape run demo --compare-blind                   # and the same seed blind to the feeders: each transformer's peak in both

Deploys the system (or, on --rpc-url, reuses the deployment of deployments/<chainId>.json when
its contracts are on that chain), then drives everything through plain web3.py on the manifest
(energy_grid.simulation.driver): meters, oracles, the interval auction, the keeper, demand
response and carbon credits, interval by interval; prints the summary and writes the report
folder (summary.json and PNG plots). Local chains only: it sets block times.

Its own anvil, not ape-foundry's embedded one: that one runs with --steps-tracing, which keeps
every step of every transaction in memory (gigabytes over a simulated day).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click
from ape import accounts, networks, project
from ape.logging import logger
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from web3 import Web3

from energy_grid.chain.anvil import start_anvil
from energy_grid.chain.manifest import build_manifest, manifest_path, write_manifest
from energy_grid.cli.params import ADDRESS
from energy_grid.cli.report import console, heading, print_table
from energy_grid.contracts.client import GridClient
from energy_grid.deploy.system import DeploymentSettings, deploy_system, fund_local_accounts, list_project_sources, setup_local_roles
from energy_grid.simulation.driver import (
    SITE_UTC_OFFSET_MINUTES,
    SimulationConfig,
    run_file_for,
    run_simulation,
)
from energy_grid.simulation.ledger import SimulationResult
from energy_grid.simulation.report import (
    blind_comparison,
    blind_comparison_rows,
    export_sentence,
    owned_household_sentence,
    summary_rows,
    write_report,
)

list_project_sources(project)

# The demo's community on two feeders (two transformers, two market zones), so that the coupled
# market shows: each feeder's price, what crosses between them, and the limits of each link.
DEMO_HOUSEHOLDS_PER_FEEDER = 15


def deploy(rpc_url: str) -> Path:
    """A fresh, wired system on the node at `rpc_url` (ape connects to it); returns the manifest."""
    with networks.ethereum.local.use_provider("foundry", provider_settings={"host": rpc_url}) as provider:
        dev = accounts.test_accounts
        start_block = provider.get_block("latest").number + 1
        system = deploy_system(project, dev[0], DeploymentSettings(utc_offset_minutes=SITE_UTC_OFFSET_MINUTES))
        setup_local_roles(system, dev[0])
        fund_local_accounts(system, dev[0], list(dev)[1:10])
        start_block_hash = provider.get_block(start_block).hash
        return write_manifest(build_manifest(provider.chain_id, system.contracts(), start_block, start_block_hash))


def simulate(client: GridClient, config: SimulationConfig, run_file: Path) -> SimulationResult:
    """One run with a progress bar."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("intervals", total=config.interval_count)

        def progress(done: int, total: int, note: str) -> None:
            bar.update(task, completed=done, total=total, description=f"intervals ({note})")

        return run_simulation(client, config, run_file=run_file, progress=progress)


def deployed_manifest(rpc_url: str) -> Path | None:
    """deployments/<chainId>.json when every contract it names has code on the node at `rpc_url`."""
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    path = manifest_path(int(w3.eth.chain_id))
    if not path.exists():
        return None
    contracts = json.loads(path.read_text())["contracts"].values()
    if all(w3.eth.get_code(Web3.to_checksum_address(c["address"])) for c in contracts):
        return path
    return None


@click.command()
@click.option("--households", type=int, default=30, show_default=True, help="Households in the community.")
@click.option("--days", type=int, default=1, show_default=True, help="Days to simulate (after 5 baseline days).")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same figures.")
@click.option("--households-per-feeder", type=int, default=DEMO_HOUSEHOLDS_PER_FEEDER, show_default=True,
              help="Households behind each transformer; each feeder is a zone of the market.")
@click.option("--zonal-limits/--no-zonal-limits", default=True, show_default=True,
              help="Feeders as market zones with their transformers' limits, or one zone blind to them.")
@click.option("--flexible-load/--no-flexible-load", default=True, show_default=True,
              help="Batteries and car chargers answer their zone's price forecast, or charge as they always did.")
@click.option("--compare-blind", is_flag=True, default=False,
              help="Then run the same seed without zonal limits (one zone blind to the feeders) on the same chain and "
                   "compare each transformer's peak; its report goes to REPORT_DIR/blind.")
@click.option("--report-dir", type=click.Path(path_type=Path), default=Path("reports/simulation"), show_default=True)
@click.option("--rpc-url", default=None, help="A running local node (e.g. `make node`); default: an anvil of its own.")
@click.option(
    "--household-owner",
    type=ADDRESS,
    default=None,
    help="Hand one household (a PV household's meter, its vault balances and stablecoin in the wallet) to this "
    "address, e.g. your browser wallet's (`make simulate HOUSEHOLD_OWNER=0x…`).",
)
def cli(
    households: int,
    days: int,
    seed: int,
    households_per_feeder: int,
    zonal_limits: bool,
    flexible_load: bool,
    compare_blind: bool,
    report_dir: Path,
    rpc_url: str | None,
    household_owner: str | None,
) -> None:
    logger.set_level("ERROR")  # one line per deployment transaction would drown the table
    node = None if rpc_url else start_anvil()
    try:
        url = rpc_url or node.url  # type: ignore[union-attr]
        heading("Deploy")
        manifest = (deployed_manifest(url) if rpc_url else None) or deploy(url)
        console.print(f"  manifest {manifest}")
        client = GridClient.from_manifest(manifest, url)
        config = SimulationConfig(
            households=households,
            days=days,
            seed=seed,
            households_per_feeder=households_per_feeder,
            zonal_limits=zonal_limits,
            flexible_load=flexible_load,
            household_owner=household_owner,
        )
        heading(f"Simulate {households} households, {days} day(s), seed {seed}")
        result = simulate(client, config, run_file_for(manifest))
        print_table("Summary", ["figure", "value"], summary_rows(result))
        console.print(f"  {export_sentence(result)}")
        for path in write_report(result, report_dir):
            console.print(f"  wrote {path}")
        if result.owned_household is not None:
            console.print(f"  {owned_household_sentence(result.owned_household)}")
        if compare_blind:
            if not config.zonal_limits:
                raise click.UsageError("--compare-blind compares a run with zonal limits against one without: drop --no-zonal-limits")
            blind_config = dataclasses.replace(config, zonal_limits=False, household_owner=None)
            heading("The same seed, the market blind to the feeders")
            # A run of its own on the same chain: its own households, meters and run file.
            blind = simulate(client, blind_config, run_file_for(manifest).with_name(f"{manifest.stem}.blind.simulation.json"))
            for path in write_report(blind, report_dir / "blind"):
                console.print(f"  wrote {path}")
            comparison = blind_comparison(result, blind)
            title = "With zonal limits / blind to the feeders (same seed)"
            print_table(title, ["figure", "zonal / blind"], blind_comparison_rows(comparison))
            path = report_dir / "compare_blind.json"
            path.write_text(json.dumps(comparison, indent=2) + "\n")
            console.print(f"  wrote {path}")
    finally:
        if node is not None:
            node.stop()
