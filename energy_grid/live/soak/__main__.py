"""The soak's command line (see the package's docstring)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from energy_grid.live.soak.faults import CHAIN_EVENTS
from energy_grid.live.soak.report import write_report
from energy_grid.live.soak.run import RunSpec, run_soak
from energy_grid.live.stack import BROKER_PROGRAM, CHAIN_PROGRAM, SERVICES
from energy_grid.services.runtime import configure_logging

# Every program of the live community the hostile run kills once.
HOSTILE_KILLS = (*(service.name for service in SERVICES), BROKER_PROGRAM, CHAIN_PROGRAM)
# The runs of `make soak`, in order: steady state, the same with faults, scale with bad input, and
# the hostile run.
RUNS = {
    "steady": RunSpec("steady", households=100, intervals=32),
    "faults": RunSpec("faults", households=100, intervals=32, faults=("gateway", "keeper", "broker", "chain"), seed=1),
    # A thousand households' chain state (their baseline days: about 490,000 storage slots) is about
    # 1 GB of JSON, which anvil cannot rewrite every 5 s.
    "thousand": RunSpec("thousand", households=1_000, intervals=9, bad_messages=1_000, seed=2, state_interval_s=120),
    # What nobody scripted: poison and bad messages among the meters' own, kill -9 of every program,
    # and the chain's own events (a guardian's pause, a reorganisation of up to 3 blocks, which the
    # gateway's 4 confirmations outlast, and the node down for a while). The meters' signatures last
    # 6 blocks of chain time, twice what a reading takes to land: a pause or a gateway down for
    # longer makes some expire, and the meters sign them again.
    "hostile": RunSpec(
        "hostile",
        households=100,
        intervals=32,
        faults=(*HOSTILE_KILLS, *CHAIN_EVENTS),
        fault_rounds=1,
        bad_messages=300,
        seed=3,
        confirmations=4,
        deadline_margin_s=360,
    ),
}
REPORT_JSON = Path("benchmarks/soak.json")
REPORT_MARKDOWN = Path("benchmarks/soak.md")
GAS_JSON = Path("benchmarks/gas.json")


@click.command()
@click.option("--runs", default=",".join(RUNS), show_default=True, help="The runs, comma-separated.")
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the runs' folders go (kept); a temporary folder, removed after, by default.",
)
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True)
def main(runs: str, work_dir: Path | None, project_dir: Path) -> None:
    """Runs the live community's soak and writes its report; exits 1 when a goal does not hold."""
    configure_logging("INFO")
    names = [name.strip() for name in runs.split(",") if name.strip()]
    unknown = [name for name in names if name not in RUNS]
    if unknown:
        raise click.UsageError(f"no such run: {', '.join(unknown)} (the runs: {', '.join(RUNS)})")
    root = work_dir or Path(tempfile.mkdtemp(prefix="energy-grid-soak-"))
    try:
        outcomes = [run_soak(RUNS[name], root, project_dir, click.echo) for name in names]
    finally:
        if work_dir is None:
            shutil.rmtree(root, ignore_errors=True)
    holds = write_report(outcomes, REPORT_JSON, REPORT_MARKDOWN, GAS_JSON)
    click.echo(REPORT_MARKDOWN.read_text())
    click.echo("Every goal holds." if holds else "A goal does not hold: see above.")
    if not holds:
        raise click.exceptions.Exit(1)


if __name__ == "__main__":
    main()
