"""The deploy wiring, the manifest, and a plain web3.py client driving a deployment through it."""

from __future__ import annotations

import json

import pytest
from helpers import ZERO_ADDRESS

from energy_grid.deployment import (
    DEFAULT_AUCTION_GATE_CLOSURE_SECONDS,
    DEFAULT_AUCTION_PRICE_GRID,
    DEFAULT_AVOIDED_EMISSION_GRAMS_PER_KWH,
    DEFAULT_BASE_PRICE_PER_KWH,
    DEFAULT_GRID_FEE_BPS,
    DEFAULT_MAX_PRICE_DEVIATION_BPS,
    DEFAULT_ORACLE_HEARTBEAT_SECONDS,
    LOCAL_FAUCET_WHOLE_UNITS,
    LOCAL_OPERATOR_REGION,
    deploy_system,
    fund_local_accounts,
    setup_local_roles,
)
from energy_grid.manifest import build_manifest, read_manifest, write_manifest


@pytest.fixture(scope="module")
def system(project, admin, stranger):
    """`stranger` is resolved here, before ape's per-test isolation starts (no rebasing)."""
    return deploy_system(project, admin)


def test_deploy_wires_roles(system, admin):
    token, meter = system.energy_token, system.smart_meter
    assert token.hasRole(token.METER_ROLE(), meter)
    assert token.hasRole(token.DEFAULT_ADMIN_ROLE(), admin)
    assert meter.hasRole(meter.OPERATOR_ROLE(), admin)
    assert meter.hasRole(meter.GATEWAY_ROLE(), admin)
    assert meter.energyToken() == token.address
    assert system.payment_token.decimals() == 6
    market = system.energy_trading
    for role in (market.DEFAULT_ADMIN_ROLE(), market.OPERATOR_ROLE(), market.PAUSER_ROLE()):
        assert market.hasRole(role, admin)
    assert market.feeRecipient() == admin.address
    assert market.gridFeeBps() == DEFAULT_GRID_FEE_BPS
    grid = system.grid_management
    assert grid.hasRole(grid.DEFAULT_ADMIN_ROLE(), admin)
    assert grid.hasRole(grid.GUARDIAN_ROLE(), admin)
    assert grid.basePrice() == DEFAULT_BASE_PRICE_PER_KWH
    assert grid.paymentToken() == system.payment_token.address
    assert grid.feeRecipient() == admin.address
    # The guardian's shutdown reaches the markets and metering.
    auction = system.energy_auction
    assert grid.getShutdownTargets() == [market.address, meter.address, auction.address]
    for target in (market, meter, auction):
        assert target.hasRole(target.PAUSER_ROLE(), grid)
    operations = system.grid_operations
    assert operations.gridManagement() == grid.address
    assert operations.hasRole(operations.DEFAULT_ADMIN_ROLE(), admin)
    assert grid.hasRole(grid.EMERGENCY_RESPONDER_ROLE(), operations)
    price_oracle, weather_oracle, grid_oracle = system.oracles()
    assert price_oracle.decimals() == system.payment_token.decimals()
    assert price_oracle.description() == "EnergyToken kWh / mUSD"
    assert price_oracle.maxDeviation() == DEFAULT_MAX_PRICE_DEVIATION_BPS
    for oracle in system.oracles():
        assert oracle.heartbeat() == DEFAULT_ORACLE_HEARTBEAT_SECONDS
        assert oracle.getReporters() == []
        assert oracle.hasRole(oracle.DEFAULT_ADMIN_ROLE(), admin)
    discovery = system.price_discovery
    assert (discovery.priceFeed(), discovery.weatherOracle(), discovery.gridOracle()) == (
        price_oracle.address,
        weather_oracle.address,
        grid_oracle.address,
    )
    assert discovery.utcOffsetMinutes() == 0
    assert [discovery.maxAge(source) for source in range(3)] == 3 * [DEFAULT_ORACLE_HEARTBEAT_SECONDS]
    assert market.priceBand() == (ZERO_ADDRESS, 0, 0)  # off
    # Demand response, carbon credits and assets read the meters and GridManagement's operators.
    dr = system.demand_response
    assert (dr.smartMeter(), dr.paymentToken(), dr.gridManagement()) == (
        meter.address,
        system.payment_token.address,
        grid.address,
    )
    assert dr.hasRole(dr.DEFAULT_ADMIN_ROLE(), admin)
    assert not dr.isGridOperator(admin)  # an operator is registered by the admin (locally: setup_local_roles)
    assert system.demand_programs.demandResponse() == dr.address
    credits = system.carbon_credits
    assert (credits.smartMeter(), credits.gridManagement()) == (meter.address, grid.address)
    assert credits.avoidedEmissionFactor() == DEFAULT_AVOIDED_EMISSION_GRAMS_PER_KWH
    assert credits.hasRole(credits.DEFAULT_ADMIN_ROLE(), admin)
    nft, shares = system.energy_asset_nft, system.energy_asset_shares
    assert (nft.smartMeter(), nft.gridManagement(), nft.sharesContract()) == (meter.address, grid.address, shares.address)
    assert (shares.assetNft(), shares.paymentToken()) == (nft.address, system.payment_token.address)
    # The quarter-hourly auction shares the book's tokens, fee recipient and fee rate.
    assert (auction.energyToken(), auction.paymentToken()) == (token.address, system.payment_token.address)
    assert (auction.feeRecipient(), auction.gridFeeBps()) == (admin.address, DEFAULT_GRID_FEE_BPS)
    assert (auction.periodLength(), auction.gateClosure()) == (900, DEFAULT_AUCTION_GATE_CLOSURE_SECONDS)
    assert (auction.minPrice(), auction.tickSize(), auction.maxPrice()) == DEFAULT_AUCTION_PRICE_GRID
    assert auction.tickCount() == 256
    assert auction.hasRole(auction.DEFAULT_ADMIN_ROLE(), admin)


def test_local_roles_make_the_deployer_an_operator(system, admin):
    grid = system.grid_management
    assert not grid.isAuthorizedOperator(admin)
    setup_local_roles(system, admin)
    assert grid.isAuthorizedOperator(admin)
    assert grid.operatorStatus(admin) == (True, LOCAL_OPERATOR_REGION)
    assert all(oracle.getReporters() == [admin.address] for oracle in system.oracles())
    assert system.demand_response.isGridOperator(admin)


def test_guardian_can_be_another_account(project, admin, stranger):
    grid = deploy_system(project, admin, guardian=stranger).grid_management
    assert grid.hasRole(grid.GUARDIAN_ROLE(), stranger)
    assert not grid.hasRole(grid.GUARDIAN_ROLE(), admin)


def test_local_accounts_are_funded(system, admin, accounts):
    fund_local_accounts(system, admin, [accounts[1], accounts[2]])
    expected = LOCAL_FAUCET_WHOLE_UNITS * 10**6
    assert system.payment_token.balanceOf(accounts[1]) == expected
    assert system.payment_token.balanceOf(accounts[2]) == expected


def test_manifest_round_trip(system, chain, tmp_path):
    path = write_manifest(build_manifest(chain.chain_id, system.contracts()), tmp_path)
    assert path.name == f"{chain.chain_id}.json"
    manifest = read_manifest(path)
    assert manifest["chainId"] == chain.chain_id
    assert set(manifest["contracts"]) == {
        "EnergyToken",
        "PaymentToken",
        "SmartMeter",
        "EnergyTrading",
        "Settlement",
        "GridManagement",
        "GridOperations",
        "PriceOracle",
        "WeatherOracle",
        "GridOracle",
        "PriceDiscovery",
        "DemandResponse",
        "DemandPrograms",
        "CarbonCredits",
        "EnergyAssetNFT",
        "EnergyAssetShares",
        "EnergyAuction",
    }
    assert manifest["contracts"]["Settlement"]["address"] == system.energy_trading.address
    entry = manifest["contracts"]["SmartMeter"]
    assert entry["address"] == system.smart_meter.address
    names = {item.get("name") for item in entry["abi"]}
    assert {"submitReading", "getLatestReading", "getDailyProduction", "getDailyConsumption"} <= names
    assert "MeterUnknown(address)" in entry["userdoc"]["errors"]
    json.dumps(manifest)  # plain JSON, nothing ape-specific


def test_several_auction_periods_deploy_side_by_side(project, admin):
    """An hourly auction is another deployment; the manifest names it by its period."""
    system = deploy_system(project, admin, auction_periods_seconds=(900, 3_600))
    assert [auction.periodLength() for auction in system.energy_auctions] == [900, 3_600]
    contracts = system.contracts()
    assert (contracts["EnergyAuction"], contracts["EnergyAuction3600s"]) == system.energy_auctions
    shutdown = system.grid_management.getShutdownTargets()
    assert shutdown[2:] == [auction.address for auction in system.energy_auctions]


def test_the_guardians_shutdown_pauses_the_auction_too(system, admin):
    """The deployed wiring: one emergencyShutdown stops the book, the meters and the auction."""
    system.grid_management.emergencyShutdown(sender=admin)
    assert [c.paused() for c in (system.energy_trading, system.smart_meter, system.energy_auction)] == [True] * 3


def test_missing_manifest_says_what_to_do(tmp_path):
    with pytest.raises(SystemExit, match="make deploy"):
        read_manifest(tmp_path / "31337.json")


def test_deploys_around_an_existing_payment_token(project, admin, system):
    """On a public network the settlement currency already exists: deploy takes its address."""
    existing = project.IPaymentToken.at(system.payment_token.address)
    other_system = deploy_system(project, admin, payment_token=existing)
    assert other_system.payment_token.address == system.payment_token.address
    assert other_system.energy_trading.paymentToken() == system.payment_token.address
    assert other_system.energy_token.address != system.energy_token.address


EIP170_MAX_RUNTIME_BYTES = 24_576


def test_every_deployed_contract_fits_the_code_size_limit(system, chain):
    """EIP-170: real networks refuse runtime code above 24,576 bytes."""
    sizes = {name: len(chain.provider.get_code(c.address)) for name, c in system.contracts().items()}
    assert all(size > 0 for size in sizes.values()), sizes
    assert {name: size for name, size in sizes.items() if size > EIP170_MAX_RUNTIME_BYTES} == {}
