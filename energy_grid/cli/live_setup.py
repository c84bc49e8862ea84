"""`live setup`, the live community's reporting services and `live audit`: the live community on a
local chain (energy_grid.live).

    energy-grid live setup --households 30 --seed 0     # on a freshly deployed anvil, before pacing it
    energy-grid live load-reporter                      # every feeder's load, each by its operator
    energy-grid live oracle-reporter                    # every feeder's weather and grid state
    energy-grid live dr-planner                         # every feeder's demand-response events
    energy-grid live audit                              # once the community has come to rest

A feeder is a grid region of its own when the community has more than one; each of these services
serves every feeder's region in one process (RegionalServices), one region's trouble leaving the
others' work done.

The run file (default deployments/<chainId>.live.json) records the community for the virtual meters
(`energy-grid meters emulate`) and the audit; the virtual meters' series lies beside it.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from eth_account.signers.local import LocalAccount

from energy_grid.cli.output import Column, emit, record_table, rows_table
from energy_grid.cli.reporter_commands import (
    FROM_BLOCK,
    METRICS_PORT,
    POLL_INTERVAL,
    READING_DELAY,
    RETRAIN_DAYS,
    community_holidays,
    dr_options,
    serve,
    stacked,
    weather_source,
)
from energy_grid.cli.session import Session, pass_session
from energy_grid.community.grid import DEFAULT_HOUSEHOLDS_PER_FEEDER
from energy_grid.live.audit import audit_community
from energy_grid.live.community import feeder_operators, live_run_file_for, load_community, set_up_community
from energy_grid.simulation.report import summary_rows

RUN_FILE_HELP = "The live community's run file; default deployments/<chainId>.live.json beside the manifest."
RUN_FILE = click.option("--run-file", type=click.Path(dir_okay=False, path_type=Path), default=None, help=RUN_FILE_HELP)


def _run_file(session: Session, run_file: Path | None) -> Path:
    return run_file if run_file is not None else live_run_file_for(session.manifest_file)


@click.command("setup")
@click.option("--households", type=click.IntRange(min=1), default=30, show_default=True, help="Households in the community.")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same households and meter keys.")
@click.option("--days", type=click.IntRange(min=1), default=1, show_default=True, help="Simulated days the community lives.")
@click.option("--households-per-feeder", type=click.IntRange(min=1), default=DEFAULT_HOUSEHOLDS_PER_FEEDER, show_default=True,
              help="Households behind each transformer: a larger community is more feeders, each a region and market zone.")
@RUN_FILE
@pass_session
def setup(session: Session, households: int, seed: int, days: int, households_per_feeder: int, run_file: Path | None) -> None:
    """Set up the simulation's community on a freshly deployed local anvil: accounts, money, one
    meter per household, demand-response members, the baseline days' readings and the standing
    orders; the chain then stands at the community's first day and mines on its own again. Run
    again with the same options, it finds the set-up done and sends nothing. Progress goes to stderr."""

    def progress(done: int, total: int, note: str) -> None:
        print(f"live set-up: {note}", file=sys.stderr, flush=True)

    path = _run_file(session, run_file)
    result = set_up_community(
        session.client, households, seed, path, days=days, households_per_feeder=households_per_feeder, progress=progress
    )
    community = result.community
    info = {
        "households": community.config.households,
        "seed": community.config.seed,
        "days": community.config.days,
        "day_start_s": community.day_start_s,
        "demand_response_members": len(community.members()),
        "transactions": result.transactions,
        "run_file": str(path),
    }
    title = "Live community set up" if result.transactions else "Live community found set up: nothing sent"
    emit(session.json_output, info, record_table(info, title=title))


# What each of the live community's reporting services takes.
live_service_options = stacked(RUN_FILE, POLL_INTERVAL, METRICS_PORT, FROM_BLOCK)


def _operators(session: Session, run_file: Path | None) -> dict[int, LocalAccount]:
    """Each feeder's region and the account of its operator, as the set-up registered them."""
    community = load_community(session.client, _run_file(session, run_file))
    return feeder_operators(community.run_state(session.client))


@click.command("load-reporter")
@READING_DELAY
@live_service_options
@pass_session
def load_reporter(
    session: Session, reading_delay_s: int, run_file: Path | None, poll_interval_s: float, metrics_port: int, from_block: int
) -> None:
    """Report the live community's transformer load each interval: every feeder's region, signed by
    the feeder's operator as the set-up registered it (keys derived from the seed: local only)."""
    from energy_grid.services.reporters.load_reporter import LoadReporter  # noqa: PLC0415
    from energy_grid.services.runtime import configure_logging  # noqa: PLC0415

    configure_logging()
    operators = _operators(session, run_file)
    serve(LoadReporter(session.client, operators, reading_delay_s=reading_delay_s, from_block=from_block), poll_interval_s, metrics_port)


@click.command("oracle-reporter")
@READING_DELAY
@live_service_options
@pass_session
def oracle_reporter(
    session: Session, reading_delay_s: int, run_file: Path | None, poll_interval_s: float, metrics_port: int, from_block: int
) -> None:
    """Report every feeder region's weather (the simulation's) and grid state (as its meters metered it)
    each hour, signed by the session's account, which must be a reporter of both oracles."""
    from energy_grid.services.reporters.oracle_reporter import every_region  # noqa: PLC0415
    from energy_grid.services.runtime import configure_logging  # noqa: PLC0415

    configure_logging()
    regions = _operators(session, run_file)
    reporters = every_region(session.client, session.signer, regions, reading_delay_s=reading_delay_s, from_block=from_block)
    serve(reporters, poll_interval_s, metrics_port)


@click.command("dr-planner")
@dr_options
@live_service_options
@pass_session
def dr_planner(
    session: Session, run_file: Path | None, poll_interval_s: float, metrics_port: int, from_block: int, **event: Any
) -> None:
    """Plan, start, verify and pay every feeder region's demand-response events, each signed by the
    feeder's operator as the set-up registered it (keys derived from the seed: local only)."""
    from energy_grid.services.reporters.dr_planner import every_region  # noqa: PLC0415
    from energy_grid.services.runtime import configure_logging  # noqa: PLC0415

    configure_logging()
    serve(every_region(session.client, _operators(session, run_file), from_block=from_block, **event), poll_interval_s, metrics_port)


@click.command("forecaster")
@RETRAIN_DAYS
@live_service_options
@pass_session
def forecaster(
    session: Session, run_file: Path | None, retrain_days: int, poll_interval_s: float, metrics_port: int, from_block: int
) -> None:
    """Forecast every feeder of the live community for the next day at 12:00 (P10, P50, P90), commit each in
    ForecastLedger signed by the feeder's operator, set the feeder's link limits for the day from it when
    the market is zoned, and score it once metered; the weather forecast is the simulation's weather with
    day-ahead errors (keys derived from the seed: local only)."""
    from energy_grid.services.reporters.forecaster import Forecaster  # noqa: PLC0415
    from energy_grid.services.runtime import configure_logging  # noqa: PLC0415

    configure_logging()
    community = load_community(session.client, _run_file(session, run_file))
    year = datetime.fromtimestamp(community.day_start_s, UTC).year
    service = Forecaster(
        session.client,
        feeder_operators(community.run_state(session.client)),
        weather=weather_source("model"),
        holidays=community_holidays(range(year - 1, year + 3)),
        retrain_days=retrain_days,
        from_block=from_block,
    )
    serve(service, poll_interval_s, metrics_port)


@click.command("audit")
@RUN_FILE
@pass_session
def audit(session: Session, run_file: Path | None) -> None:
    """Read the live community's intervals back from the chain and check that energy and money
    balance to the unit, as the simulation's audit does. It balances once the community is at rest:
    the gateway caught up, the keeper's clearing and settlement done. Exits 1 naming what does not
    balance."""
    community = load_community(session.client, _run_file(session, run_file))
    result = audit_community(session.client, community)
    table = rows_table(
        [{"figure": name, "value": value} for name, value in summary_rows(result)],
        [Column("figure", "figure", justify="left"), Column("value", "value")],
        title="Live community audit: balanced",
    )
    emit(session.json_output, result.as_json(), table)
