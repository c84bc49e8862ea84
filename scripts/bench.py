"""`make bench`: gas per operation on an embedded anvil, against the budgets.

Writes benchmarks/gas.json; exits 1 if a figure is over budget.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand
from ape.logging import logger
from web3 import Web3

from energy_grid.bench import gas_tables
from energy_grid.bench.assets import bench_energy_assets
from energy_grid.bench.auction import CLAIM_BATCH, bench_auction
from energy_grid.bench.carbon import bench_carbon_credits
from energy_grid.bench.core import (
    GasReport,
    bench_code_size,
    bench_grid_management,
    bench_grid_operations,
    bench_market,
    bench_meter,
    bench_oracles,
    bench_settings,
)
from energy_grid.bench.demand_response import bench_demand_response
from energy_grid.bench.signed_orders import bench_signed_orders
from energy_grid.bench.signed_readings import bench_signed_readings
from energy_grid.bench.simulation import SCALE_HOUSEHOLDS, add_scale_to_report, add_to_report, bench_simulation
from energy_grid.bench.standing_orders import bench_standing_orders
from energy_grid.bench.zones import bench_full_book, bench_zones
from energy_grid.chain.manifest import build_manifest
from energy_grid.contracts.client import GridClient
from energy_grid.deploy.system import LOCAL_OPERATOR_REGION, deploy_system, list_project_sources, setup_local_roles

list_project_sources(project)

OUTPUT = Path("benchmarks/gas.json")
GAS_DOC = Path("docs/gas.md")
README = Path("README.md")


@click.command(cls=ConnectedProviderCommand)
def cli() -> None:
    logger.set_level("WARNING")
    dev = accounts.test_accounts
    operator = dev[0]
    system = deploy_system(project, operator)
    setup_local_roles(system, operator)
    report = GasReport()
    bench_code_size(report, system, chain)
    bench_meter(report, system, operator, chain, device=dev[8])
    bench_market(report, system, operator, chain, traders=[dev[i] for i in range(1, 6)])
    bench_grid_management(report, system, operator, chain, participants=[dev[i] for i in range(6, 10)])
    bench_grid_operations(report, system.grid_operations, operator, chain, region_id=LOCAL_OPERATOR_REGION)
    # The seller of bench_market holds both tokens and has approved the market.
    bench_oracles(report, system, operator, chain, reporters=[operator, dev[2], dev[3]], trader=dev[1])
    bench_settings(report, system, operator, participant=dev[4])
    bench_carbon_credits(
        report,
        system.carbon_credits,
        system.smart_meter,
        operator,
        chain,
        grid_operator=operator,
        region_id=LOCAL_OPERATOR_REGION,
        owner=dev[7],
        beneficiary=dev[9],
    )
    bench_energy_assets(
        report,
        system.energy_asset_nft,
        system.energy_asset_shares,
        system.smart_meter,
        system.payment_token,
        system.energy_vault,
        operator,
        chain,
        participants=[dev[i] for i in range(1, 4)],
        region_id=LOCAL_OPERATOR_REGION,
    )
    bench_auction(
        report,
        system.energy_auction,
        system.energy_vault,
        system.smart_meter,
        system.energy_token,
        system.payment_token,
        admin=operator,
        fee_recipient=operator,  # the deploy's default
        chain=chain,
        buyer=dev[7],
        seller=dev[8],
        crowd=dev[9],  # sends 1,000 orders in bulk: an account the node holds
        batch_traders=[accounts.test_accounts.generate_test_account() for _ in range(CLAIM_BATCH)],
    )
    # The reading market's standing orders: fresh meters and owners; the operator is the gateway and keeper.
    bench_standing_orders(
        report,
        system.energy_auction,
        system.smart_meter,
        system.energy_vault,
        system.payment_token,
        operator,
        chain,
    )
    # The reading market across zones (feeders), against the same books cleared zone by zone.
    bench_zones(report, system.energy_auction, system.market_zones, operator, chain, crowd=dev[9], region=LOCAL_OPERATOR_REGION)
    # The same zones with every tick occupied: too large for one transaction, cleared in steps.
    zones = (system.energy_auction, system.market_zones, system.stepped_clearing)
    bench_full_book(report, *zones, operator, chain, crowd=dev[9], region=LOCAL_OPERATOR_REGION)
    # Relayed, signed by their traders and meters; the newcomer never sends a transaction itself.
    bench_signed_orders(report, system, operator, chain, traders=[dev[1], accounts.test_accounts.generate_test_account(), dev[4]])
    bench_signed_readings(report, system.smart_meter, operator, relayer=dev[9], chain=chain)
    # Last: it moves the chain 8 days on.
    bench_demand_response(
        report,
        system.demand_response,
        system.smart_meter,
        system.payment_token,
        system.grid_management,
        system.energy_vault,
        admin=operator,
        operator=dev[5],  # not yet a demand-response grid operator: its registration is measured
        chain=chain,
        claimant=dev[6],
    )
    # Throughput (not gas): a 100-household day of the simulation on a fresh deployment.
    simulation = bench_simulation(simulation_client(operator))
    add_to_report(report, simulation)
    # And at scale: a 1,000-household day, also on a deployment of its own.
    add_scale_to_report(report, bench_simulation(simulation_client(operator), households=SCALE_HOUSEHOLDS))
    report.print()
    report.write(OUTPUT)
    for doc in (GAS_DOC, README):
        doc.write_text(gas_tables.update(doc.read_text(), gas_tables.load(OUTPUT)))
    click.echo(f"Written to {OUTPUT} and the gas tables of {GAS_DOC} and {README}")
    if not (report.all_within_budget and simulation.within_budget):
        sys.exit(1)


def simulation_client(deployer: Any) -> GridClient:
    """A fresh system on the bench's chain, seen through the plain web3 client the simulation uses."""
    system = deploy_system(project, deployer)
    setup_local_roles(system, deployer)
    manifest = build_manifest(chain.chain_id, system.contracts())
    return GridClient(Web3(Web3.HTTPProvider(chain.provider.uri)), manifest)
