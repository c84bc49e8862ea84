"""Deploys a fresh, wired system and writes deployments/<chainId>.json.

    ape run deploy --network ethereum:local:foundry            # embedded anvil
    ape run deploy --network http://127.0.0.1:8545             # `make node` (what `make deploy` runs)
    ape run deploy --network ethereum:sepolia:node --account me --payment-token 0x…
    ape run deploy … --auction-period 900 --auction-period 3600   # a quarter-hourly and an hourly auction
"""

from __future__ import annotations

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand

from energy_grid.deployment import (
    DEFAULT_AUCTION_GATE_CLOSURE_SECONDS,
    DEFAULT_AUCTION_PERIODS_SECONDS,
    DEFAULT_AUCTION_PRICE_GRID,
    DEFAULT_AVOIDED_EMISSION_GRAMS_PER_KWH,
    DEFAULT_BASE_PRICE_PER_KWH,
    DEFAULT_MAX_PRICE_DEVIATION_BPS,
    DEFAULT_ORACLE_HEARTBEAT_SECONDS,
    deploy_system,
    fund_local_accounts,
    setup_local_roles,
)
from energy_grid.manifest import build_manifest, write_manifest

LOCAL_CHAIN_IDS = {31337, 1337}


@click.command(cls=ConnectedProviderCommand)
@click.option("--account", "account_alias", default=None, help="ape account alias to deploy from (non-local networks).")
@click.option("--payment-token", default=None, help="ERC-20 settlement currency; a MockStablecoin is deployed if omitted.")
@click.option("--fee-recipient", default=None, help="Receives grid fees; the deployer if omitted.")
@click.option("--guardian", default=None, help="May shut trading, settlement and metering down at once; the deployer if omitted.")
@click.option(
    "--base-price",
    type=int,
    default=DEFAULT_BASE_PRICE_PER_KWH,
    show_default=True,
    help="GridManagement's base price, PaymentToken base units per kWh.",
)
@click.option(
    "--oracle-heartbeat",
    type=int,
    default=DEFAULT_ORACLE_HEARTBEAT_SECONDS,
    show_default=True,
    help="Seconds after which an oracle report is stale.",
)
@click.option(
    "--max-price-deviation-bps",
    type=int,
    default=DEFAULT_MAX_PRICE_DEVIATION_BPS,
    show_default=True,
    help="PriceOracle refuses a report further than this from the latest answer.",
)
@click.option("--utc-offset-minutes", type=int, default=0, show_default=True, help="PriceDiscovery's local time for the time-of-day factor.")
@click.option(
    "--avoided-emission",
    type=int,
    default=DEFAULT_AVOIDED_EMISSION_GRAMS_PER_KWH,
    show_default=True,
    help="CarbonCredits: g CO2e avoided per kWh of clean export (set the grid's own factor).",
)
@click.option(
    "--auction-period",
    "auction_periods",
    type=int,
    multiple=True,
    default=DEFAULT_AUCTION_PERIODS_SECONDS,
    show_default=True,
    help="EnergyAuction period length in seconds; repeat for several auctions (e.g. 900 and 3600).",
)
@click.option(
    "--auction-gate-closure",
    type=int,
    default=DEFAULT_AUCTION_GATE_CLOSURE_SECONDS,
    show_default=True,
    help="Seconds before a period starts that its auction stops taking orders.",
)
@click.option(
    "--auction-price-grid",
    type=(int, int, int),
    default=DEFAULT_AUCTION_PRICE_GRID,
    show_default=True,
    help="Auction limit prices: MIN TICK MAX, PaymentToken base units per kWh, at most 256 ticks.",
)
def cli(
    account_alias: str | None,
    payment_token: str | None,
    fee_recipient: str | None,
    guardian: str | None,
    base_price: int,
    oracle_heartbeat: int,
    max_price_deviation_bps: int,
    utc_offset_minutes: int,
    avoided_emission: int,
    auction_periods: tuple[int, ...],
    auction_gate_closure: int,
    auction_price_grid: tuple[int, int, int],
) -> None:
    local = chain.chain_id in LOCAL_CHAIN_IDS
    if account_alias:
        deployer = accounts.load(account_alias)
    elif local:
        deployer = accounts.test_accounts[0]
    else:
        raise click.UsageError("On a public network pass --account <ape account alias>.")
    if not local and payment_token is None:
        raise click.UsageError("On a public network pass --payment-token <ERC-20 address> (MockStablecoin is local-only).")

    token = project.IPaymentToken.at(payment_token) if payment_token else None
    system = deploy_system(
        project,
        deployer,
        payment_token=token,
        fee_recipient=fee_recipient,
        guardian=guardian,
        base_price_per_kwh=base_price,
        oracle_heartbeat_seconds=oracle_heartbeat,
        max_price_deviation_bps=max_price_deviation_bps,
        utc_offset_minutes=utc_offset_minutes,
        avoided_emission_grams_per_kwh=avoided_emission,
        auction_periods_seconds=auction_periods,
        auction_gate_closure_seconds=auction_gate_closure,
        auction_price_grid=auction_price_grid,
    )
    if local:
        setup_local_roles(system, deployer)
        if token is None:
            fund_local_accounts(system, deployer, list(accounts.test_accounts)[1:10])

    path = write_manifest(build_manifest(chain.chain_id, system.contracts()))
    click.echo(f"Deployed to chain {chain.chain_id} from {deployer.address}:")
    for name, contract in system.contracts().items():
        click.echo(f"  {name:<20} {contract.address}")
    click.echo(f"Manifest: {path}")
