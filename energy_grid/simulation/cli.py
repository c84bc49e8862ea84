"""`python -m energy_grid.simulation.cli --rpc-url URL --manifest deployments/31337.json`: runs (or
resumes) a simulation on an existing deployment and prints one line per interval done, then the
audited figures as JSON. The restart tests run it as a process they can kill; `ape run demo` is
the full demo (deploy, progress bar, table, report)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from energy_grid.simulation.driver import SimulationConfig, run_file_for, run_simulation


@click.command()
@click.option("--rpc-url", required=True, help="A local node (anvil) holding the deployment.")
@click.option("--manifest", required=True, type=click.Path(path_type=Path, exists=True), help="deployments/<chainId>.json")
@click.option("--households", type=int, default=30, show_default=True)
@click.option("--days", type=int, default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--intervals", type=int, default=None, help="Simulate only the first N intervals.")
@click.option("--dr-trigger-per-mille", type=int, default=None, help="Transformer loading that starts an event (default: HIGH).")
@click.option("--run-file", type=click.Path(path_type=Path), default=None, help="Default: next to the manifest.")
def main(
    rpc_url: str,
    manifest: Path,
    households: int,
    days: int,
    seed: int,
    intervals: int | None,
    dr_trigger_per_mille: int | None,
    run_file: Path | None,
) -> None:
    config = SimulationConfig(
        households=households, days=days, seed=seed, intervals=intervals, dr_trigger_per_mille=dr_trigger_per_mille
    )

    def progress(done: int, total: int, note: str) -> None:
        click.echo(f"interval {done}/{total} {note}")

    result = run_simulation(rpc_url, config, manifest=manifest, run_file=run_file or run_file_for(manifest), progress=progress)
    click.echo(json.dumps(result.totals()["figures"]))


if __name__ == "__main__":
    main()
