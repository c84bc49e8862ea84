"""`energy-grid live status`: each program of the live community with its state and last problem,
and the latest intervals' progress (energy_grid.live.status).

    make live-status                                   # the project's own run folder, .live/
    .venv/bin/energy-grid live status --run-dir DIR    # any other

Every figure it cannot read (the chain down, the community still being set up) is one sentence
in place of the intervals' table; a run folder where no community runs is a set-up error (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import requests
from web3 import Web3

from energy_grid.chain.anvil import LOCAL_HOST
from energy_grid.chain.errors import GridError
from energy_grid.cli.output import Column, emit, kwh_fmt, price_fmt, rows_table, time_fmt
from energy_grid.cli.session import CliError, Session, SetUpError, pass_session
from energy_grid.contracts.client import GridClient
from energy_grid.live.community import live_run_file_for, load_community
from energy_grid.live.ready import read_ready_marker
from energy_grid.live.stack import (
    BROKER_PROGRAM,
    CHAIN_PROGRAM,
    DEFAULT_RUN_DIR,
    SERVICES,
    SETUP_PROGRAM,
    RunFolder,
    energy_grid_shell,
    program_status,
    read_ports,
    supervisord_pid,
)
from energy_grid.live.status import IntervalProgress, interval_progress, last_problem

RPC_TIMEOUT_S = 10
PROGRAM_ORDER = (BROKER_PROGRAM, CHAIN_PROGRAM, SETUP_PROGRAM, *(service.name for service in SERVICES))


@click.command("status")
@click.option(
    "--run-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_RUN_DIR, show_default=True,
    help="The run folder of `live up`.",
)
@pass_session
def status(session: Session, run_dir: Path) -> None:
    """Each program's state and its last problem (the last WARNING or ERROR of its log, with its
    time), then the latest intervals: readings published and on chain, the market cleared, the
    energy traded and the meters whose standing orders were settled."""
    folder = RunFolder(run_dir.resolve())
    if supervisord_pid(folder) is None:
        raise SetUpError(f"No live community runs from {run_dir}: start one with `make live` (or `{energy_grid_shell('live up')}`).")
    states = program_status(folder)
    if states is None:
        raise CliError(f"supervisord of {run_dir} does not answer: see {folder.logs / 'supervisord.log'}.")
    programs = [_program_row(folder, name, state, detail) for name, (state, detail) in _in_order(states)]
    intervals, decimals, symbol, note = _progress(folder, states)
    per_kwh = price_fmt(decimals, symbol)
    tables = [
        rows_table(programs, [
            Column("program", "program", justify="left"), Column("state", "state", justify="left"),
            Column("detail", "detail", justify="left"), Column("last_problem_at", "last problem at", _or_none, "left"),
            Column("last_problem", "last problem", _or_none, "left"),
        ], title=f"Live community in {run_dir}"),
    ]  # fmt: skip
    if intervals:
        rows = [
            progress.as_json() | {
                "published_of": f"{progress.published:,} of {progress.households:,}",
                "on_chain_of": f"{progress.on_chain:,} of {progress.households:,}",
                "market": market_text(progress, per_kwh.text),
            }
            for progress in intervals
        ]
        tables.append(rows_table(rows, [
            Column("interval", "interval"), Column("start_s", "start", time_fmt), Column("published_of", "readings published"),
            Column("on_chain_of", "readings on chain"), Column("market", "market", justify="left"),
            Column("traded_wh", "traded", kwh_fmt), Column("standing_settled", "standing orders settled (meters)"),
        ], title="The latest intervals"))  # fmt: skip
    data = {"programs": programs, "intervals": [progress.as_json() for progress in intervals], "note": note}
    emit(session.json_output, data, *tables, note=note)


def market_text(progress: IntervalProgress, price_text: Callable[[int], str]) -> str:
    """A market that cleared with no volume has a marked price that no one traded at: it says so."""
    if not progress.cleared or progress.clearing_price_per_kwh is None:
        return "not cleared"
    if progress.traded_wh == 0:
        return "cleared: no trade"
    return f"cleared at {price_text(progress.clearing_price_per_kwh)}"


def _or_none(value: str | None) -> str:
    return "none" if value is None else value


def _in_order(states: dict[str, tuple[str, str]]) -> list[tuple[str, tuple[str, str]]]:
    """The programs in the order they start; any other after them."""
    rank = {name: i for i, name in enumerate(PROGRAM_ORDER)}
    return sorted(states.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


def _program_row(folder: RunFolder, name: str, state: str, detail: str) -> dict[str, Any]:
    problem = last_problem(folder.logs / f"{name}.log")
    return {
        "program": name,
        "state": state,
        "detail": detail,
        "last_problem_at": None if problem is None else problem.time,
        "last_problem": None if problem is None else f"{problem.level}: {problem.message}",
    }


def _progress(folder: RunFolder, states: dict[str, tuple[str, str]]) -> tuple[list[IntervalProgress], int, str, str | None]:
    """The latest intervals' progress, the payment token's decimals and symbol; or, when they
    cannot be read, no intervals and the sentence that says why."""
    ports = read_ports(folder)
    if ports is None:
        return [], 0, "", f"{folder.ports_file} is missing: start the community again with `make live` to see its intervals."
    rpc_url = f"http://{LOCAL_HOST}:{ports.chain}"
    chain_state = states.get(CHAIN_PROGRAM, ("not configured", ""))[0]
    try:
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": RPC_TIMEOUT_S}))
        manifest = folder.manifest_file(int(w3.eth.chain_id))
        if not manifest.exists() or read_ready_marker(folder.ready_marker) is None:
            return [], 0, "", f"The community is still being set up (see {folder.logs / (SETUP_PROGRAM + '.log')}): no interval yet."
        client = GridClient.from_manifest(manifest, rpc_url, timeout_s=RPC_TIMEOUT_S)
        intervals = interval_progress(client, load_community(client, live_run_file_for(manifest)))
        token = client["PaymentToken"].functions
        decimals, symbol = int(token.decimals().call()), str(token.symbol().call())
    except requests.RequestException:
        return [], 0, "", f"The chain at {rpc_url} does not answer (its program is {chain_state}): no interval progress."
    except GridError as err:
        return [], 0, "", f"No interval progress: {str(err).rstrip('.')}."
    note = None if intervals else "The community's first interval has not ended yet on the chain's clock."
    return intervals, decimals, symbol, note


__all__ = ["status"]
