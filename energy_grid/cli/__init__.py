"""`energy-grid`: one command line for the deployed grid, on plain web3.py (ape only for `deploy`).

    energy-grid --dev-account 1 vault deposit --amount-kwh 1.5
    energy-grid --dev-account 1 orders place --side sell --amount-kwh 1.5 --price 0.21
    energy-grid --json status

Global options pick the node (`--rpc-url`, default $RPC_URL or http://127.0.0.1:8545), the
manifest (`--manifest`, default deployments/<chainId>.json) and the signing account (`--keystore`,
`ENERGY_GRID_PRIVATE_KEY`, or `--dev-account N` on a local anvil). A contract's rejection is one
line on stderr and exit code 1; a usage error exits with 2, and so does a missing set-up step (no
node; no manifest, or one unreadable, of another chain or of another deployment on this chain).

The top level imports only click: each command's module (and with it web3.py, the simulation
stack or the web service) loads when that command runs, so `energy-grid --help` answers at once.
More commands plug in with `cli.add_command(...)`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from energy_grid.cli.constants import DEFAULT_RPC_URL, RPC_URL_ENV

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


class LazyCommand:
    """Where a command lives and its one-line help, shown without importing its module."""

    def __init__(self, module: str, attribute: str, short_help: str) -> None:
        self.module = module
        self.attribute = attribute
        self.short_help = short_help

    def load(self) -> click.Command:
        command = getattr(importlib.import_module(self.module), self.attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.module}.{self.attribute} is not a click command")
        return command


LAZY_COMMANDS: dict[str, LazyCommand] = {
    "assets": LazyCommand(
        "energy_grid.cli.assets_commands",
        "assets",
        "Energy-asset NFTs and their fractional shares: mint, split, deposit revenue, claim it.",
    ),
    "auction": LazyCommand(
        "energy_grid.cli.auction_commands", "auction", "Firm bids and asks in the quarter-hourly auction, and their claims."
    ),
    "carbon": LazyCommand(
        "energy_grid.cli.assets_commands",
        "carbon",
        "Carbon credits for clean export: issue them for meters, retire them as offsets.",
    ),
    "deploy": LazyCommand(
        "energy_grid.cli.chain_commands",
        "deploy",
        "Deploy a fresh, wired system to --rpc-url and write deployments/<chainId>.json.",
    ),
    "dr": LazyCommand(
        "energy_grid.cli.grid_commands",
        "dr",
        "Demand-response events: start one, verify reductions from meters, claim rewards.",
    ),
    "forecaster": LazyCommand(
        "energy_grid.cli.reporter_commands",
        "forecaster",
        "Forecast the region's net import for the next day (P10, P50, P90) at 12:00, commit it in ForecastLedger "
        "before the market's gate, set the day's link limits from it when the region is a market zone, and score "
        "it there once metered (the signer must be the region's operator).",
    ),
    "gateway": LazyCommand(
        "energy_grid.cli.gateway_commands",
        "gateway",
        "Relay meters' signed readings from MQTT to SmartMeter in batches, answering each on its meter's topics.",
    ),
    "grid": LazyCommand("energy_grid.cli.grid_commands", "grid", "The grid's status and load; emergency mode."),
    "dr-planner": LazyCommand(
        "energy_grid.cli.reporter_commands",
        "dr_planner",
        "Plan each day's demand-response event from the meters' history, start it at its interval boundary, then verify "
        "the participants' reductions and pay their rewards (the signer must be the region's operator, registered in "
        "DemandResponse).",
    ),
    "keeper": LazyCommand(
        "energy_grid.cli.keeper_commands",
        "keeper",
        "Match crossing orders by price-time priority, settle what is due, clear auctions whose clearing time has "
        "come, settle the meters' standing orders there and claim their orders, in bounded batches.",
    ),
    "live": LazyCommand(
        "energy_grid.cli.live_commands",
        "live",
        "The live community on this machine: a chain that mines by itself, the broker and every service under supervisord.",
    ),
    "load-reporter": LazyCommand(
        "energy_grid.cli.reporter_commands",
        "load_reporter",
        "Report the region's transformer load (its meters' net import) of each interval to GridOperations (the signer "
        "must be the region's operator).",
    ),
    "match": LazyCommand(
        "energy_grid.cli.market_commands",
        "match",
        "Match a BUY with a SELL order (anyone may) for as much as both have left, at the earlier order's price; "
        "records a transaction for settlement.",
    ),
    "meter-agent": LazyCommand(
        "energy_grid.cli.meter_agent_commands",
        "meter_agent",
        "Read a meter (DSMR P1, SunSpec inverter or a JSON topic), sign a reading each interval of the chain's clock "
        "and publish it.",
    ),
    "meters": LazyCommand(
        "energy_grid.cli.meters_commands",
        "meters",
        "Register meters, submit and ingest readings, read a meter's load profile and forecast its next day.",
    ),
    "oracle-reporter": LazyCommand(
        "energy_grid.cli.reporter_commands",
        "oracle_reporter",
        "Report the region's weather to WeatherOracle and its grid state to GridOracle: the model's at each hour's end, a "
        "file's rows at their times (the signer must be a reporter of both).",
    ),
    "orders": LazyCommand(
        "energy_grid.cli.market_commands", "orders", "Place, cancel and list orders; show the order book."
    ),
    "report": LazyCommand(
        "energy_grid.cli.report_commands",
        "report",
        "Write a household's or the community's day, week or month as one printable HTML file: savings against the "
        "tariff, self-sufficiency, where the export went, transformer peaks and CO2 avoided, from the event index.",
    ),
    "serve": LazyCommand(
        "energy_grid.cli.serve_commands",
        "serve",
        "Serve the REST API (docs at /docs) and the web app, relaying what wallets and meters sign.",
    ),
    "settle": LazyCommand(
        "energy_grid.cli.market_commands",
        "settle",
        "Settle transactions whose settlement window has passed (anyone may): energy to the buyer, payment less "
        "the fee to the seller.",
    ),
    "simulate": LazyCommand(
        "energy_grid.cli.simulate_commands",
        "simulate",
        "Simulate a community day on the deployment: meters, oracles, the interval auction, the keeper, demand "
        "response and carbon credits, 15 minutes at a time.",
    ),
    "standing": LazyCommand(
        "energy_grid.cli.standing_commands",
        "standing",
        "A meter's standing limits: each reading sells its export and buys its import in the interval auction.",
    ),
    "status": LazyCommand(
        "energy_grid.cli.chain_commands",
        "status",
        "The chain, the deployed contracts (and which are paused), the grid, and your balances.",
    ),
    "vault": LazyCommand(
        "energy_grid.cli.vault_commands",
        "vault",
        "Deposit into, withdraw from and read the EnergyVault balances the interval auctions trade.",
    ),
}


class GridGroup(click.Group):
    """Loads each command when it runs, and turns the failures a user can act on into one line on
    stderr and exit code 1."""

    def __init__(self, *args: Any, lazy_commands: dict[str, LazyCommand] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            self.add_command(self.lazy_commands[cmd_name].load(), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            loaded = self.commands.get(name)
            if loaded is not None:
                if loaded.hidden:
                    continue
                rows.append((name, loaded.get_short_help_str(limit)))
            else:
                rows.append((name, click.utils.make_default_short_help(self.lazy_commands[name].short_help, limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:
            from energy_grid.cli.failures import user_failure  # noqa: PLC0415 - web3 loads only on a failure

            translated = user_failure(ctx, err)
            if translated is None:
                raise
            raise translated from None


@click.group(name="energy-grid", cls=GridGroup, context_settings=CONTEXT_SETTINGS, lazy_commands=LAZY_COMMANDS)
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
    # A command's run needs the session; `--help` and usage errors never get here.
    from energy_grid.chain.accounts import AccountSource  # noqa: PLC0415
    from energy_grid.cli.session import Session  # noqa: PLC0415

    ctx.obj = Session(rpc_url, manifest, json_output, AccountSource(keystore, dev_account_index))


def main() -> None:
    cli(prog_name="energy-grid")


__all__ = ["cli", "main"]
