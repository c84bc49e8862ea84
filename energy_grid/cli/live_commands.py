"""`energy-grid live ...`: the live community on one machine (energy_grid/live/).

    energy-grid live up --households 100 --speed 60     # everything under supervisord; Ctrl-C stops it
    energy-grid live status                             # each program, its last problem, the latest intervals
    energy-grid live chain --state-file F --ready-marker M   # the chain alone, as supervisord runs it

`prepare` and `wait-ready` are the steps supervisord runs around the services; they are commands
so that the process manager starts nothing but `energy-grid`.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click
import requests
from web3 import Web3

from energy_grid.chain.anvil import DEFAULT_CHAIN_ID, LOCAL_HOST, PortInUseError
from energy_grid.chain.errors import GridError
from energy_grid.cli.live_setup import audit, dr_planner, forecaster, load_reporter, oracle_reporter, setup
from energy_grid.cli.live_status import status
from energy_grid.cli.session import CliError, Session, pass_session
from energy_grid.live.chain import (
    DEFAULT_BLOCK_TIME_S,
    DEFAULT_GAS_LIMIT,
    DEFAULT_SPEED,
    DEFAULT_STATE_INTERVAL_S,
    ChainSettings,
    Pace,
    run_chain,
)
from energy_grid.live.prepare import SetUpPlan
from energy_grid.live.prepare import prepare as run_prepare
from energy_grid.live.ready import AFTER_SET_UP_BLOCK, not_ready_because, read_ready_marker
from energy_grid.live.stack import DEFAULT_RUN_DIR, run_stack, write_run_folder
from energy_grid.services.runtime import configure_logging, stop_on_signals

DEFAULT_CHAIN_PORT = 8545
WAIT_POLL_S = 1.0
RPC_TIMEOUT_S = 10

FILE = click.Path(dir_okay=False, path_type=Path)
FOLDER = click.Path(file_okay=False, path_type=Path)
POSITIVE = click.IntRange(min=1)
SPEED_HELP = "The chain's clock runs this many times faster than the wall's (local only)."


@click.group()
def live() -> None:
    """The live community on this machine: a chain that mines by itself, the broker and every service
    under supervisord.

    Local only: anvil's public dev keys sign, and the chain's clock runs faster than the wall's."""


STATE_INTERVAL_HELP = (
    "Seconds between the chain's state dumps: anvil rewrites its whole state each time (about 1 GB after a "
    "1,000-household set-up), so a large community needs a longer interval; a kill -9 of the node loses what came after the last dump."
)


@live.command()
@click.option("--households", type=POSITIVE, default=None, help="Households in the community (a new chain: 100).")
@click.option("--seed", type=int, default=None, help="The simulation's seed (a new chain: 0).")
@click.option("--speed", type=POSITIVE, default=DEFAULT_SPEED, show_default=True, help=SPEED_HELP)
@click.option("--block-time", type=POSITIVE, default=DEFAULT_BLOCK_TIME_S, show_default=True, help="Wall seconds between blocks.")
@click.option("--gas-limit", type=POSITIVE, default=DEFAULT_GAS_LIMIT, show_default=True, help="The block gas limit.")
@click.option("--run-dir", type=FOLDER, default=DEFAULT_RUN_DIR, show_default=True, help="The run folder: state, configuration, logs.")
@click.option("--fresh", is_flag=True, help="Start a new chain (the run folder's chain, deployment and stores are removed); else resume.")
@click.option("--state-interval", type=POSITIVE, default=DEFAULT_STATE_INTERVAL_S, show_default=True, help=STATE_INTERVAL_HELP)
@click.option(
    "--project-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=Path("."), show_default=True,
    help="The project folder (the set-up deploys with its scripts/deploy.py).",
)
def up(
    households: int | None,
    seed: int | None,
    speed: int,
    block_time: int,
    gas_limit: int,
    run_dir: Path,
    fresh: bool,
    state_interval: int,
    project_dir: Path,
) -> None:
    """Run the live community: mosquitto, the chain, its set-up and every service under supervisord,
    in the foreground; the URLs are printed once everything runs, and Ctrl-C stops it all."""
    if not (project_dir / "scripts" / "deploy.py").is_file():
        raise CliError(f"No scripts/deploy.py in {project_dir.resolve()}: run from the project folder or pass --project-dir.")
    try:
        stack = write_run_folder(
            run_dir, project_dir=project_dir, households=households, seed=seed,
            pace=Pace(block_time_s=block_time, speed=speed), gas_limit=gas_limit, fresh=fresh, state_interval_s=state_interval,
        )
    except GridError as err:
        raise CliError(str(err)) from None
    click.echo(f"Starting the live community from {run_dir} ({'a new chain' if fresh else 'resuming its chain, if any'}).")
    status = run_stack(stack, echo=click.echo)
    sys.exit(status)


@live.command()
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_CHAIN_PORT, show_default=True, help="The port on 127.0.0.1.")
@click.option("--state-file", type=FILE, required=True, help="anvil's state: loaded when present, dumped periodically and on exit.")
@click.option("--ready-marker", type=FILE, required=True, help="The set-up's ready marker; the chain is paced once it holds.")
@click.option("--chain-id", type=POSITIVE, default=DEFAULT_CHAIN_ID, show_default=True)
@click.option("--gas-limit", type=POSITIVE, default=DEFAULT_GAS_LIMIT, show_default=True, help="The block gas limit.")
@click.option(
    "--block-time", type=POSITIVE, default=DEFAULT_BLOCK_TIME_S, show_default=True, help="Wall seconds between blocks once paced."
)
@click.option("--speed", type=POSITIVE, default=DEFAULT_SPEED, show_default=True, help=SPEED_HELP)
@click.option("--state-interval", type=POSITIVE, default=DEFAULT_STATE_INTERVAL_S, show_default=True, help=STATE_INTERVAL_HELP)
def chain(
    port: int, state_file: Path, ready_marker: Path, chain_id: int, gas_limit: int, block_time: int, speed: int, state_interval: int
) -> None:
    """Run the live chain (anvil) in the foreground: automining until the ready marker holds, then a
    block every --block-time seconds stamped --speed times faster than the wall. SIGTERM or SIGINT
    stops anvil, which saves its state; the exit status is anvil's."""
    configure_logging()
    stop = stop_on_signals()
    settings = ChainSettings(
        port=port, state_file=state_file, ready_marker=ready_marker, pace=Pace(block_time_s=block_time, speed=speed),
        gas_limit=gas_limit, chain_id=chain_id, state_interval_s=state_interval,
    )
    try:
        status = run_chain(settings, stop)
    except PortInUseError:
        raise CliError(
            f"Port {port} on {LOCAL_HOST} is in use by another process, so no chain was started: choose another --port."
        ) from None
    except GridError as err:
        raise CliError(str(err)) from None
    sys.exit(status)


@live.command()
@click.option("--households", type=POSITIVE, required=True, help="Households in the community.")
@click.option("--seed", type=int, required=True, help="The simulation's seed.")
@click.option("--state-file", type=FILE, required=True, help="The chain's state file: the marker waits until a dump holds the set-up.")
@click.option("--ready-marker", type=FILE, required=True, help="Written once the chain is set up.")
@click.option("--state-interval", type=POSITIVE, default=DEFAULT_STATE_INTERVAL_S, show_default=True,
              help="The chain's seconds between state dumps: how long a dump may be waited for.")
@click.option(
    "--project-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=Path("."), show_default=True,
    help="The project folder, for the deployment.",
)
@pass_session
def prepare(
    session: Session, households: int, seed: int, state_file: Path, ready_marker: Path, state_interval: int, project_dir: Path
) -> None:
    """Set the chain up once: deploy unless the manifest's contracts are there, `live setup`, then
    the ready marker. Nothing to do when the marker holds already; exit status 1 on a failure."""
    if session.manifest is None:
        raise click.UsageError("prepare writes the deployment where --manifest says: pass --manifest FILE.")
    if session.account_source.dev_account_index is None:
        raise click.UsageError("prepare sets the community up as the local operator: pass --dev-account N.")
    configure_logging()
    plan = SetUpPlan(
        rpc_url=session.rpc_url, manifest_file=session.manifest, ready_marker=ready_marker, state_file=state_file,
        households=households, seed=seed, project_dir=project_dir.resolve(), dev_account=session.account_source.dev_account_index,
        state_interval_s=state_interval,
    )
    sys.exit(run_prepare(plan, stop_on_signals()))


@live.command("wait-ready", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--ready-marker", type=FILE, required=True, help="The set-up's ready marker.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@pass_session
def wait_ready(session: Session, ready_marker: Path, command: tuple[str, ...]) -> None:
    """Wait until the ready marker holds on the chain at --rpc-url, then run COMMAND in this
    process's place (after `--`), or just return. An argument {after_set_up_block} of COMMAND
    becomes the first block after the set-up."""
    configure_logging()
    log = logging.getLogger("energy_grid.live.wait_ready")
    stop = stop_on_signals()
    w3 = Web3(Web3.HTTPProvider(session.rpc_url, request_kwargs={"timeout": RPC_TIMEOUT_S}))
    said = None
    while (reason := _not_ready_because(ready_marker, w3, session.rpc_url)) is not None:
        if reason != said:
            log.info("waiting for the community's set-up: %s", reason)
            said = reason
        if stop.wait(WAIT_POLL_S):
            return
    if not command:
        log.info("the community is set up")
        return
    marker = read_ready_marker(ready_marker)
    if marker is None:
        raise CliError(f"The ready marker {ready_marker} went away as the community came up.")
    command = tuple(str(marker.block_number + 1) if argument == AFTER_SET_UP_BLOCK else argument for argument in command)
    log.info("the community is set up: starting %s", " ".join(command))
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(command[0], list(command))
    except OSError as err:
        raise CliError(f"Cannot run {command[0]}: {err.strerror}.") from None


def _not_ready_because(ready_marker: Path, w3: Web3, rpc_url: str) -> str | None:
    """Why the chain is not ready yet (a node that does not answer yet is not); None when it is."""
    try:
        return not_ready_because(ready_marker, w3)
    except requests.RequestException:
        return f"no node answers at {rpc_url} yet"


# The community's own commands: its status, set it up on a fresh chain, report its feeders' load,
# audit it when it is at rest.
live.add_command(status)
live.add_command(setup)
live.add_command(load_reporter)
live.add_command(oracle_reporter)
live.add_command(dr_planner)
live.add_command(forecaster)
live.add_command(audit)

__all__ = ["live"]
