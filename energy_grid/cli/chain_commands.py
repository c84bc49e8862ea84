"""`deploy` (through ape, which deploys) and `status` (the chain, the contracts, the grid, your balances)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from energy_grid.chain.manifest import manifest_path
from energy_grid.cli.grid_commands import grid_table
from energy_grid.cli.output import (
    Column,
    emit,
    ether_fmt,
    grams_fmt,
    kwh_fmt,
    money_fmt,
    record_table,
    rows_table,
    time_fmt,
)
from energy_grid.cli.params import ADDRESS
from energy_grid.cli.records import record
from energy_grid.cli.session import CliError, Session, pass_session
from energy_grid.contracts.base import ContractClient


def ape_executable() -> str:
    """ape from the same environment as this command, else from PATH."""
    sibling = Path(sys.executable).with_name("ape")
    if sibling.exists():
        return str(sibling)
    found = shutil.which("ape")
    if found is None:
        raise CliError("ape is not installed in this environment: run `make setup` (deploying needs ape).")
    return found


def run_ape(argv: list[str], cwd: Path, capture: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # ape compiles before it runs a script; the project's solc shim lives in .solcx (see the Makefile).
    solcx = cwd / ".solcx"
    if "SOLCX_BINARY_PATH" not in env and solcx.is_dir():
        env["SOLCX_BINARY_PATH"] = str(solcx.resolve())
    return subprocess.run(argv, cwd=cwd, env=env, text=True, capture_output=capture, check=False)


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The project folder (with ape-config.yaml and scripts/deploy.py).",
)
@click.argument("ape_args", nargs=-1, type=click.UNPROCESSED)
@pass_session
def deploy(session: Session, project_dir: Path, ape_args: tuple[str, ...]) -> None:
    """Deploy a fresh, wired system to --rpc-url and write deployments/<chainId>.json.

    Runs `ape run deploy --network <rpc-url> APE_ARGS...`: every other flag goes to the deploy
    script as is (see `ape run deploy --help`: --account, --payment-token, --guardian,
    --auction-period, ...). On a local chain ape signs with anvil's dev account 0.
    """
    if not (project_dir / "scripts" / "deploy.py").is_file():
        raise CliError(f"No scripts/deploy.py in {project_dir.resolve()}: run from the project folder or pass --project-dir.")
    session.w3  # noqa: B018 - fail early, with advice, when no node answers
    argv = [ape_executable(), "run", "deploy", "--network", session.rpc_url, *ape_args]
    result = run_ape(argv, project_dir, capture=session.json_output)
    if session.json_output:
        # stdout is for the JSON document: ape's report goes to stderr.
        click.echo(result.stdout, err=True, nl=False)
        click.echo(result.stderr, err=True, nl=False)
    if result.returncode != 0:
        raise CliError(f"`ape run deploy` failed (exit code {result.returncode}); its output is above.")
    manifest_file = session.manifest if session.manifest is not None else project_dir / manifest_path(session.chain_id)
    if session.json_output:
        manifest = json.loads(manifest_file.read_text())
        emit(
            True,
            {
                "chain_id": manifest["chainId"],
                "manifest": str(manifest_file),
                "contracts": {name: entry["address"] for name, entry in manifest["contracts"].items()},
            },
        )


@click.command()
@click.option("--address", type=ADDRESS, default=None, help="Whose balances to show; default the signing account's.")
@pass_session
def status(session: Session, address: str | None) -> None:
    """The chain, the deployed contracts (and which are paused), the grid, and your balances."""
    client = session.client
    block = session.w3.eth.get_block("latest")
    chain = {
        "rpc_url": session.rpc_url,
        "chain_id": session.chain_id,
        "block_number": int(block["number"]),
        "block_timestamp_s": int(block["timestamp"]),
        "manifest": str(session.manifest_file),
    }
    contracts = [_contract_row(session, name) for name in client.contracts]
    grid = record(client.grid_management.grid_status())
    if address is None and session.optional_signer() is not None:
        address = session.signer.address
    balances = _balances(session, address) if address is not None else None

    decimals, symbol = session.token_info("PaymentToken")
    tables = [
        record_table(chain, {"block_timestamp_s": time_fmt}, title="Chain"),
        rows_table(
            contracts,
            [Column("name", "contract", justify="left"), Column("address", "address", justify="left"),
             Column("paused", "paused", _paused_fmt)],
            title="Contracts",
        ),
        grid_table(session, grid),
    ]
    if balances is not None:
        tables.append(
            record_table(
                balances,
                {
                    "energy_wh": kwh_fmt,
                    "vault_energy_wh": kwh_fmt,
                    "payment": money_fmt(decimals, symbol),
                    "carbon_credits_grams": grams_fmt,
                    "native_wei": ether_fmt,
                },
                title="Balances",
            )
        )
    emit(session.json_output, {"chain": chain, "contracts": contracts, "grid": grid, "balances": balances}, *tables)


def _contract_row(session: Session, name: str) -> dict[str, Any]:
    contract = ContractClient(session.client.transactor, session.client[name])
    return {"name": name, "address": contract.address, "paused": contract.paused()}


def _paused_fmt(paused: Any) -> str:
    return "-" if paused is None else ("PAUSED" if paused else "no")


def _balances(session: Session, address: str) -> dict[str, Any]:
    client = session.client
    return {
        "address": address,
        "native_wei": int(session.w3.eth.get_balance(address)),  # type: ignore[arg-type]
        "energy_wh": client.energy_token.balance_of(address),
        "vault_energy_wh": client.trading.energy_balance_wh(address),
        "payment": client.payment_token.balance_of(address),
        "carbon_credits_grams": client.carbon_credits.balance_of(address),
    }
