"""Deploys a fresh, wired system and writes deployments/<chainId>.json.

    ape run deploy --network ethereum:local:foundry            # embedded anvil
    ape run deploy --network http://127.0.0.1:8545             # `make node` (what `make deploy` runs)
    ape run deploy --network ethereum:sepolia:node --account me --payment-token 0x…
    ape run deploy --network ethereum:volta:node --account me --autosign …   # ape-config.yaml's Volta entry
    ape run deploy … --auction-period 900 --auction-period 3600   # a quarter-hourly and an hourly auction

A network whose EVM lacks Cancun's opcodes, which the contracts are compiled with, is refused before
anything is sent (energy_grid.deploy.evm). On a local chain the deployer keeps every role for development (`--no-keep-deployer-admin` drops
them); on any other network it ends with none, the timelock administers everything, and
`--keep-deployer-admin` is refused.
"""

from __future__ import annotations

from pathlib import Path

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand

from energy_grid.chain.manifest import DEPLOYMENTS_DIR, build_manifest, write_manifest
from energy_grid.deploy.evm import UnsupportedNetworkError, require_cancun
from energy_grid.deploy.system import (
    DEFAULT_AUCTION_GATE_CLOSURE_SECONDS,
    DEFAULT_AUCTION_PERIODS_SECONDS,
    DEFAULT_AUCTION_PRICE_GRID,
    DEFAULT_AVOIDED_EMISSION_GRAMS_PER_KWH,
    DEFAULT_BASE_PRICE_PER_KWH,
    DEFAULT_MAX_PRICE_DEVIATION_BPS,
    DEFAULT_MIN_ORDER_AMOUNT_WH,
    DEFAULT_ORACLE_HEARTBEAT_SECONDS,
    DEFAULT_ORACLE_MIN_QUORUM,
    DEFAULT_REGIONAL_ORACLE_HEARTBEAT_SECONDS,
    LOCAL_GOVERNANCE,
    LOCAL_UTC_OFFSET_MINUTES,
    PUBLIC_GOVERNANCE,
    DeploymentSettings,
    GovernanceSettings,
    deploy_system,
    fund_local_accounts,
    is_local_chain,
    list_project_sources,
    resolve_keep_deployer_admin,
    setup_local_roles,
)

list_project_sources(project)


def _refuse_an_evm_without_cancun() -> None:
    try:
        require_cancun(chain.provider.make_request)
    except UnsupportedNetworkError as refused:
        raise click.UsageError(str(refused)) from None


@click.command(cls=ConnectedProviderCommand)
@click.option("--account", "account_alias", default=None, help="ape account alias to deploy from (non-local networks).")
@click.option(
    "--autosign",
    is_flag=True,
    help="Sign every deploy transaction without asking: unlocks --account once, with the passphrase in "
    "APE_ACCOUNTS_<alias>_PASSPHRASE or from a prompt (a deploy sends about a hundred transactions).",
)
@click.option(
    "--manifest-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEPLOYMENTS_DIR,
    show_default=True,
    help="Folder the manifest <chainId>.json is written to.",
)
@click.option("--payment-token", default=None, help="ERC-20 settlement currency; a MockStablecoin is deployed if omitted.")
@click.option(
    "--payment-frozen-query",
    default=None,
    help="The payment token's view telling whether its issuer froze an account, e.g. 'isBlacklisted(address)' "
    "for USDC: the vault refuses withdrawals and debits of frozen accounts. Omit for a token without a freeze list.",
)
@click.option(
    "--fee-recipient",
    default=None,
    help="Receives grid fees; if omitted, the deployer while it keeps its roles (local chains), else the timelock.",
)
@click.option(
    "--guardian",
    default=None,
    help="Pauses at once (emergency shutdown), cannot unpause or change anything; required off local chains "
    "(a multisig), the deployer if omitted locally.",
)
@click.option(
    "--keep-deployer-admin/--no-keep-deployer-admin",
    default=None,
    help="Local chains only: the deployer keeps every role for development (default there). Elsewhere refused.",
)
@click.option("--operator", "operators", multiple=True, help="OPERATOR_ROLE on SmartMeter and EnergyTrading; repeat.")
@click.option("--gateway", "gateways", multiple=True, help="GATEWAY_ROLE on SmartMeter (meter batches); repeat.")
@click.option("--governance-token-recipient", default=None, help="Receives the whole GRID supply; the deployer if omitted.")
@click.option("--governance-supply", type=int, default=None, help="GRID supply in base units (18 decimals).")
@click.option("--voting-delay", type=int, default=None, help="Seconds from a proposal to the vote.")
@click.option("--voting-period", type=int, default=None, help="Seconds a vote stays open.")
@click.option("--proposal-threshold", type=int, default=None, help="GRID base units of votes needed to propose.")
@click.option("--quorum-percent", type=int, default=None, help="Share of the GRID supply that must vote For or Abstain.")
@click.option("--timelock-delay", type=int, default=None, help="Seconds between queueing and executing a proposal.")
@click.option(
    "--min-order-wh",
    type=int,
    default=DEFAULT_MIN_ORDER_AMOUNT_WH,
    show_default=True,
    help="EnergyTrading's smallest order and partial fill, Wh.",
)
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
    help="Seconds after which a price report is stale (PriceOracle, and PriceDiscovery's base price).",
)
@click.option(
    "--regional-oracle-heartbeat",
    type=int,
    default=DEFAULT_REGIONAL_ORACLE_HEARTBEAT_SECONDS,
    show_default=True,
    help="Seconds after which a weather or grid report is stale (WeatherOracle, GridOracle and PriceDiscovery's reading of them).",
)
@click.option(
    "--max-price-deviation-bps",
    type=int,
    default=DEFAULT_MAX_PRICE_DEVIATION_BPS,
    show_default=True,
    help="PriceOracle refuses a report further than this from the latest answer.",
)
@click.option(
    "--oracle-min-quorum",
    type=click.IntRange(0, 15),
    default=DEFAULT_ORACLE_MIN_QUORUM,
    show_default=True,
    help="Fewest fresh reports an oracle value needs (0 = more than half of the reporters, the floor).",
)
@click.option(
    "--utc-offset-minutes",
    type=int,
    default=None,
    help="PriceDiscovery's local time for the time-of-day factor, and the zone every view and the simulation's report "
    f"read the chain's clock in; default on a local chain the simulated community's ({LOCAL_UTC_OFFSET_MINUTES}, as "
    "`make simulate` runs it), elsewhere 0 (UTC).",
)
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
    autosign: bool,
    manifest_dir: Path,
    payment_token: str | None,
    payment_frozen_query: str | None,
    fee_recipient: str | None,
    guardian: str | None,
    min_order_wh: int,
    base_price: int,
    oracle_heartbeat: int,
    regional_oracle_heartbeat: int,
    max_price_deviation_bps: int,
    oracle_min_quorum: int,
    utc_offset_minutes: int | None,
    avoided_emission: int,
    auction_periods: tuple[int, ...],
    auction_gate_closure: int,
    auction_price_grid: tuple[int, int, int],
    keep_deployer_admin: bool | None,
    operators: tuple[str, ...],
    gateways: tuple[str, ...],
    governance_token_recipient: str | None,
    governance_supply: int | None,
    voting_delay: int | None,
    voting_period: int | None,
    proposal_threshold: int | None,
    quorum_percent: int | None,
    timelock_delay: int | None,
) -> None:
    """Governance settings left out take the network's defaults: a day's voting delay, a week's
    vote, 10,000 GRID to propose, a 4 % quorum, a two-day timelock and 10,000,000 GRID on a public
    network; seconds and minutes on a local chain."""
    local = is_local_chain(chain.chain_id)
    _refuse_an_evm_without_cancun()
    try:
        keep = resolve_keep_deployer_admin(local, keep_deployer_admin)
    except ValueError as refused:
        raise click.UsageError(f"--keep-deployer-admin is refused on chain {chain.chain_id}: {refused}") from None
    if not keep and guardian is None:
        raise click.UsageError("Pass --guardian <address> (e.g. a multisig): the deployer keeps no role to pause with.")
    if account_alias:
        deployer = accounts.load(account_alias)
        if autosign:
            deployer.set_autosign(True)
    elif local:
        deployer = accounts.test_accounts[0]
    else:
        raise click.UsageError("On a public network pass --account <ape account alias>.")
    if not local and payment_token is None:
        raise click.UsageError("On a public network pass --payment-token <ERC-20 address> (MockStablecoin is local-only).")

    defaults = LOCAL_GOVERNANCE if local else PUBLIC_GOVERNANCE
    governance = GovernanceSettings(
        voting_delay_seconds=defaults.voting_delay_seconds if voting_delay is None else voting_delay,
        voting_period_seconds=defaults.voting_period_seconds if voting_period is None else voting_period,
        proposal_threshold=defaults.proposal_threshold if proposal_threshold is None else proposal_threshold,
        quorum_percent=defaults.quorum_percent if quorum_percent is None else quorum_percent,
        timelock_delay_seconds=defaults.timelock_delay_seconds if timelock_delay is None else timelock_delay,
        initial_supply=defaults.initial_supply if governance_supply is None else governance_supply,
    )

    token = project.IPaymentToken.at(payment_token) if payment_token else None
    start_block = chain.blocks.head.number + 1
    system = deploy_system(
        project,
        deployer,
        DeploymentSettings(
            payment_token=token,
            payment_frozen_query=payment_frozen_query,
            fee_recipient=fee_recipient,
            guardian=guardian,
            min_order_amount_wh=min_order_wh,
            base_price_per_kwh=base_price,
            oracle_heartbeat_seconds=oracle_heartbeat,
            regional_oracle_heartbeat_seconds=regional_oracle_heartbeat,
            max_price_deviation_bps=max_price_deviation_bps,
            oracle_min_quorum=oracle_min_quorum,
            utc_offset_minutes=(LOCAL_UTC_OFFSET_MINUTES if local else 0) if utc_offset_minutes is None else utc_offset_minutes,
            avoided_emission_grams_per_kwh=avoided_emission,
            auction_periods_seconds=auction_periods,
            auction_gate_closure_seconds=auction_gate_closure,
            auction_price_grid=auction_price_grid,
            operators=operators,
            gateways=gateways,
            governance=governance,
            governance_token_recipient=governance_token_recipient,
            keep_deployer_admin=keep,
        ),
    )
    if local and keep:
        setup_local_roles(system, deployer)
    if local and token is None:
        # The deployer too: as the local grid operator it pays demand-response budgets.
        fund_local_accounts(system, deployer, list(accounts.test_accounts)[0:10])

    # The start block's hash marks this deployment: another one at the same addresses has another block there.
    start_block_hash = chain.blocks[start_block].hash
    path = write_manifest(build_manifest(chain.chain_id, system.contracts(), start_block, start_block_hash), manifest_dir)
    click.echo(f"Deployed to chain {chain.chain_id} from {deployer.address}:")
    for name, contract in system.contracts().items():
        click.echo(f"  {name:<20} {contract.address}")
    click.echo(f"Manifest: {path}")
    if keep:
        click.echo("The deployer kept every role (local development); the timelock is admin too.")
    else:
        click.echo(f"Only the timelock ({system.timelock.address}) is admin; the deployer holds no role.")
