"""The feature tour (`ape run tour --network ethereum:local:foundry`): a small community on an embedded anvil.

Deploys the system, registers four meters, feeds a morning of 15-minute readings through the
gateway in one batch per interval, shows what each meter measured and minted, then runs a small
market: two sellers, two buyers, partial fills, a cancel, batch settlement, then a quarter
hour's interval auction among 24 neighbours.
"""

from __future__ import annotations

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand
from ape.logging import logger

from energy_grid.chain.manifest import build_manifest, write_manifest
from energy_grid.cli.report import heading
from energy_grid.deploy.system import LOCAL_OPERATOR_REGION, deploy_system, fund_local_accounts, list_project_sources, setup_local_roles
from energy_grid.tour.auction import run_auction
from energy_grid.tour.community import demo_community
from energy_grid.tour.steps import (
    print_meter_day,
    register_clean_producers,
    register_meters,
    run_carbon_credits,
    run_demand_response,
    run_energy_assets,
    run_grid,
    run_market,
    run_morning,
    run_price_discovery,
)

list_project_sources(project)


@click.command(cls=ConnectedProviderCommand)
def cli() -> None:
    logger.set_level("WARNING")  # one line per transaction would drown the tables
    dev = accounts.test_accounts
    operator = dev[0]
    heading("Deploy")
    system = deploy_system(project, operator)
    setup_local_roles(system, operator)
    fund_local_accounts(system, operator, list(dev)[1:10])
    write_manifest(build_manifest(chain.chain_id, system.contracts()))
    for name, contract in system.contracts().items():
        click.echo(f"  {name:<20} {contract.address}")

    community = demo_community()
    owners = [dev[i + 1] for i in range(len(community))]
    devices = register_meters(system, operator, community, owners)
    register_clean_producers(system, operator, community, devices)
    day = run_morning(system, operator, chain, community, devices)
    print_meter_day(system, community, devices, owners, day)
    run_market(system, operator, chain, owners, [p.name for p in community])
    run_auction(system, operator, chain)
    run_carbon_credits(system, community, devices, owners, keeper=operator, buyer=owners[3])
    # Bob's PV array becomes an asset NFT; Carol and Alice buy shares; a utility (dev 7) pays revenue.
    run_energy_assets(
        system,
        operator,
        chain,
        devices[1],
        owners[1],
        co_owners=[owners[2], owners[0]],
        installer=dev[9],
        payer=dev[7],
        day=day,
    )
    run_grid(system, operator, wind_farm=dev[5], solar_park=dev[6], region_id=LOCAL_OPERATOR_REGION)
    run_price_discovery(system, operator, trader=owners[2], chain=chain, region_id=LOCAL_OPERATOR_REGION)
    # Last: it moves the chain six days on. The operator pays the event's budget in.
    fund_local_accounts(system, operator, [operator])
    run_demand_response(system, operator, chain, consumers=owners[2:4], names=["Carol", "Dave"])
