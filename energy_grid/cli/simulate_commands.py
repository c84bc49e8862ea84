"""`simulate`: the community simulation on a deployed local chain (energy_grid.simulation.driver)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from energy_grid.cli.output import Column, emit, rows_table
from energy_grid.cli.params import ADDRESS
from energy_grid.cli.session import Session, pass_session
from energy_grid.community.grid import DEFAULT_HOUSEHOLDS_PER_FEEDER
from energy_grid.simulation.driver import SimulationConfig, run_file_for, run_simulation
from energy_grid.simulation.report import export_sentence, owned_household_sentence, summary_rows, write_report


@click.command("simulate")
@click.option("--households", type=click.IntRange(min=1), default=30, show_default=True, help="Households in the community.")
@click.option("--days", type=click.IntRange(min=1), default=1, show_default=True, help="Days to simulate (after 5 baseline days).")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same figures.")
@click.option("--intervals", type=click.IntRange(min=1), default=None, help="Stop after the first N intervals.")
@click.option("--dr-trigger-per-mille", type=click.IntRange(1, 2_000), default=None,
              help="Transformer loading (per mille) that starts a demand-response event; default GridOperations' HIGH (800).")
@click.option("--households-per-feeder", type=click.IntRange(min=1), default=DEFAULT_HOUSEHOLDS_PER_FEEDER, show_default=True,
              help="Households behind each transformer: a larger community is more feeders.")
@click.option("--zonal-limits/--no-zonal-limits", default=True, show_default=True,
              help="Each feeder its own market zone, its link limited by its transformer's forecast headroom; "
                   "or one zone blind to the feeders.")
@click.option("--flexible-load/--no-flexible-load", default=True, show_default=True,
              help="Batteries and car chargers answer their zone's price forecast (cars charge in the cheapest "
                   "intervals before they leave), or charge as they always did.")
@click.option("--run-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the run is recorded for a resume; default deployments/<chainId>.simulation.json.")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write summary.json and the PNG plots there.")
@click.option("--household-owner", type=ADDRESS, default=None,
              help="Hand one household (a PV household's meter, its vault balances and stablecoin in the wallet) to this "
                   "address, e.g. your browser wallet's, from the start.")
@pass_session
def simulate(
    session: Session,
    households: int,
    days: int,
    seed: int,
    intervals: int | None,
    dr_trigger_per_mille: int | None,
    households_per_feeder: int,
    zonal_limits: bool,
    flexible_load: bool,
    run_file: Path | None,
    report_dir: Path | None,
    household_owner: str | None,
) -> None:
    """Simulate a community day on the deployment: meters, oracles, the interval auction, the
    keeper, demand response and carbon credits, 15 minutes at a time. Local chains only (it sets
    block times). Started again with the same options after a crash, it resumes where the chain
    stands. Progress goes to stderr, one line per interval."""
    config = SimulationConfig(
        households=households,
        days=days,
        seed=seed,
        intervals=intervals,
        dr_trigger_per_mille=dr_trigger_per_mille,
        households_per_feeder=households_per_feeder,
        zonal_limits=zonal_limits,
        flexible_load=flexible_load,
        household_owner=household_owner,
    )

    def progress(done: int, total: int, note: str) -> None:
        print(f"interval {done}/{total} {note}", file=sys.stderr, flush=True)

    manifest = session.manifest_file
    result = run_simulation(session.client, config, manifest=manifest, run_file=run_file or run_file_for(manifest), progress=progress)
    written = write_report(result, report_dir) if report_dir is not None else []
    table = rows_table(
        [{"figure": name, "value": value} for name, value in summary_rows(result)],
        [Column("figure", "figure", justify="left"), Column("value", "value")],
        title="Summary",
    )
    notes = [export_sentence(result), *(f"wrote {path}" for path in written)]
    if result.owned_household is not None:
        notes.append(owned_household_sentence(result.owned_household))
    emit(session.json_output, result.as_json(), table, note="\n".join(notes))
