"""`energy-grid`: one command line for the deployed grid, on plain web3.py (ape only for `deploy`).

    energy-grid --dev-account 1 orders place --side sell --amount-kwh 1.5 --price 0.21
    energy-grid --json status

Global options pick the node (`--rpc-url`, default $RPC_URL or http://127.0.0.1:8545), the
manifest (`--manifest`, default deployments/<chainId>.json) and the signing account (`--keystore`,
`ENERGY_GRID_PRIVATE_KEY`, or `--dev-account N` on a local anvil). A contract's rejection is one
line on stderr and exit code 1; a usage error exits with 2.

More commands (`keeper`, `simulate`) plug in with `cli.add_command(...)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import Timeout
from web3.exceptions import ContractCustomError, ContractLogicError, ProviderConnectionError, TimeExhausted, Web3RPCError

from energy_grid.accounts import AccountSource
from energy_grid.cli.assets_commands import assets, carbon
from energy_grid.cli.chain_commands import deploy, status
from energy_grid.cli.grid_commands import dr, grid
from energy_grid.cli.keeper_commands import keeper
from energy_grid.cli.market_commands import match, orders, settle
from energy_grid.cli.meters_commands import meters
from energy_grid.cli.serve_commands import serve
from energy_grid.cli.session import DEFAULT_RPC_URL, RPC_URL_ENV, CliError, Session
from energy_grid.cli.simulate_commands import simulate
from energy_grid.client import GridError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


class GridGroup(click.Group):
    """Turns the failures a user can act on into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GridError as err:
            raise CliError(str(err)) from None
        except ContractCustomError as err:
            session = ctx.find_object(Session)
            reason = session.explain_revert(str(err.data)) if session else str(err.data)
            raise CliError(f"The contract rejected the call: {reason}") from None
        except ContractLogicError as err:
            raise CliError(f"The contract rejected the call: {err}") from None
        except Web3RPCError as err:
            raise CliError(f"The node refused the request: {err}") from None
        except (RequestsConnectionError, Timeout, ProviderConnectionError) as err:
            session = ctx.find_object(Session)
            where = session.rpc_url if session else "the node"
            raise CliError(f"Lost the node at {where} ({type(err).__name__}): is it still running (`make node`)?") from None
        except TimeExhausted as err:
            raise CliError(f"No receipt in time: {err}") from None


@click.group(name="energy-grid", cls=GridGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--rpc-url",
    envvar=RPC_URL_ENV,
    default=DEFAULT_RPC_URL,
    show_default=True,
    help=f"The node's JSON-RPC URL (env {RPC_URL_ENV}).",
)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Deployment manifest; default deployments/<chainId>.json of the node's chain.",
)
@click.option("--json", "json_output", is_flag=True, help="Machine-readable JSON on stdout instead of tables.")
@click.option(
    "--keystore",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Sign with this encrypted keystore (password from ENERGY_GRID_KEYSTORE_PASSWORD, else a prompt).",
)
@click.option(
    "--dev-account",
    "dev_account_index",
    type=click.IntRange(0, 9),
    default=None,
    help="Sign with anvil's public dev account N (0-9); refused unless the chain id is 31337.",
)
@click.version_option(package_name="energy-grid", prog_name="energy-grid")
@click.pass_context
def cli(
    ctx: click.Context,
    rpc_url: str,
    manifest: Path | None,
    json_output: bool,
    keystore: Path | None,
    dev_account_index: int | None,
) -> None:
    """Operate the decentralized energy grid: deploy, trade, meter, run the grid, demand response,
    carbon credits and asset shares.

    Without --keystore or --dev-account, transactions are signed with ENERGY_GRID_PRIVATE_KEY.
    Amounts take human units (--amount-kwh 1.5, --price 0.21 per kWh) and are converted exactly.
    """
    if keystore is not None and dev_account_index is not None:
        raise click.UsageError("Choose one account: --keystore or --dev-account, not both.")
    ctx.obj = Session(rpc_url, manifest, json_output, AccountSource(keystore, dev_account_index))


for command in (deploy, status, orders, match, settle, meters, grid, dr, carbon, assets, keeper, simulate, serve):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="energy-grid")


__all__ = ["cli", "main"]
