"""The deploy wiring, the manifest, and a plain web3.py client driving a deployment through it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from energy_grid.chain.errors import ManifestError
from energy_grid.chain.manifest import build_manifest, read_manifest, write_manifest
from energy_grid.deploy.system import (
    DEFAULT_AUCTION_GATE_CLOSURE_SECONDS,
    DEFAULT_AUCTION_PRICE_GRID,
    DEFAULT_AVOIDED_EMISSION_GRAMS_PER_KWH,
    DEFAULT_BASE_PRICE_PER_KWH,
    DEFAULT_GRID_FEE_BPS,
    DEFAULT_MAX_PRICE_DEVIATION_BPS,
    DEFAULT_ORACLE_HEARTBEAT_SECONDS,
    DEFAULT_REGIONAL_ORACLE_HEARTBEAT_SECONDS,
    LOCAL_FAUCET_WHOLE_UNITS,
    LOCAL_GOVERNANCE,
    LOCAL_OPERATOR_REGION,
    PUBLIC_GOVERNANCE,
    DeploymentSettings,
    GovernanceSettings,
    create_address,
    deploy_system,
    extension_addresses,
    fund_local_accounts,
    resolve_keep_deployer_admin,
    role_names,
    setup_local_roles,
)
from energy_grid.domain.units import ORACLE_REPORT_SECONDS

from support.helpers import ZERO_ADDRESS


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
    assert price_oracle.description() == "EnergyToken kWh / MOCKUSD"
    assert price_oracle.maxDeviation() == DEFAULT_MAX_PRICE_DEVIATION_BPS
    # The weather and the grid's state are reported hourly, so their reports stay fresh for two hours.
    heartbeats = [DEFAULT_ORACLE_HEARTBEAT_SECONDS, *2 * [DEFAULT_REGIONAL_ORACLE_HEARTBEAT_SECONDS]]
    assert DEFAULT_REGIONAL_ORACLE_HEARTBEAT_SECONDS == 2 * ORACLE_REPORT_SECONDS
    for oracle, heartbeat in zip(system.oracles(), heartbeats, strict=True):
        assert oracle.heartbeat() == heartbeat
        assert oracle.getReporters() == []
        assert oracle.hasRole(oracle.DEFAULT_ADMIN_ROLE(), admin)
    discovery = system.price_discovery
    assert (discovery.priceFeed(), discovery.weatherOracle(), discovery.gridOracle()) == (
        price_oracle.address,
        weather_oracle.address,
        grid_oracle.address,
    )
    assert discovery.utcOffsetMinutes() == 0
    assert [discovery.maxAge(source) for source in range(3)] == heartbeats
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
    # The vault holds both tokens' internal balances; the auction is its market and the meters' reading
    # market, where vault-delivered readings place their standing orders.
    vault = system.energy_vault
    assert (vault.energyToken(), vault.paymentToken()) == (token.address, system.payment_token.address)
    assert vault.hasRole(vault.DEFAULT_ADMIN_ROLE(), admin)
    assert vault.marketInfo(auction) == (True, 0, False)
    # The order book trades vault balances too, registered after the auctions.
    assert vault.marketInfo(market) == (True, len(system.energy_auctions), False)
    # Then the reward and revenue contracts, which hold budgets and revenue in their vault balances.
    places = len(system.energy_auctions) + 1
    payers = (system.demand_response, system.demand_programs, system.energy_asset_shares)
    assert [vault.marketInfo(c) for c in payers] == [(True, places + i, False) for i in range(3)]
    assert places + 3 <= vault.MAX_MARKETS()
    assert market.vault() == vault.address
    assert (auction.vault(), auction.meterRegistry()) == (vault.address, meter.address)
    assert (meter.vault(), meter.readingMarket()) == (vault.address, auction.address)


def test_local_roles_make_the_deployer_an_operator(system, admin):
    grid = system.grid_management
    assert not grid.isAuthorizedOperator(admin)
    assert system.governance_token.getVotes(admin) == 0
    setup_local_roles(system, admin)
    assert grid.isAuthorizedOperator(admin)
    assert grid.operatorStatus(admin) == (True, LOCAL_OPERATOR_REGION)
    assert all(oracle.getReporters() == [admin.address] for oracle in system.oracles())
    assert system.demand_response.isGridOperator(admin)
    assert system.governance_token.getVotes(admin) == LOCAL_GOVERNANCE.initial_supply  # votes at once


def test_guardian_can_be_another_account(project, admin, stranger):
    system = deploy_system(project, admin, DeploymentSettings(guardian=stranger))
    grid = system.grid_management
    assert grid.hasRole(grid.GUARDIAN_ROLE(), stranger)
    assert not grid.hasRole(grid.GUARDIAN_ROLE(), admin)
    for pausable in (system.energy_trading, system.smart_meter, system.energy_auction, system.energy_asset_shares):
        assert pausable.hasRole(pausable.PAUSER_ROLE(), stranger)


def test_local_accounts_are_funded(system, admin, accounts):
    fund_local_accounts(system, admin, [accounts[1], accounts[2]])
    expected = LOCAL_FAUCET_WHOLE_UNITS * 10**6
    assert system.payment_token.balanceOf(accounts[1]) == expected
    assert system.payment_token.balanceOf(accounts[2]) == expected


def test_manifest_round_trip(system, chain, tmp_path):
    path = write_manifest(build_manifest(chain.chain_id, system.contracts(), start_block=7), tmp_path)
    assert path.name == f"{chain.chain_id}.json"
    manifest = read_manifest(path)
    assert manifest["chainId"] == chain.chain_id
    assert manifest["startBlock"] == 7  # where the event index starts
    assert set(manifest["contracts"]) == {
        "EnergyToken",
        "PaymentToken",
        "EnergyVault",
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
        "MarketZones",
        "SteppedClearing",
        "ForecastLedger",
        "GovernanceToken",
        "EnergyGovernor",
        "GridTimelock",
    }
    assert manifest["contracts"]["GridTimelock"]["address"] == system.timelock.address
    assert manifest["contracts"]["Settlement"]["address"] == system.energy_trading.address
    entry = manifest["contracts"]["SmartMeter"]
    assert entry["address"] == system.smart_meter.address
    names = {item.get("name") for item in entry["abi"]}
    assert {"submitReading", "getLatestReading", "getDailyProduction", "getDailyConsumption"} <= names
    assert "MeterUnknown(address)" in entry["userdoc"]["errors"]
    json.dumps(manifest)  # plain JSON, nothing ape-specific


def test_several_auction_periods_deploy_side_by_side(project, admin):
    """An hourly auction is another deployment; the manifest names it by its period."""
    system = deploy_system(project, admin, DeploymentSettings(auction_periods_seconds=(900, 3_600)))
    assert [auction.periodLength() for auction in system.energy_auctions] == [900, 3_600]
    contracts = system.contracts()
    assert (contracts["EnergyAuction"], contracts["EnergyAuction3600s"]) == system.energy_auctions
    shutdown = system.grid_management.getShutdownTargets()
    assert shutdown[2:] == [auction.address for auction in system.energy_auctions]
    # Both trade vault balances; only the first is the meters' reading market.
    first, hourly = system.energy_auctions
    vault, meter = system.energy_vault, system.smart_meter
    assert [vault.marketInfo(auction) for auction in system.energy_auctions] == [(True, 0, False), (True, 1, False)]
    assert vault.marketInfo(system.energy_trading) == (True, 2, False)  # the book, after the auctions
    assert (first.meterRegistry(), hourly.meterRegistry()) == (meter.address, ZERO_ADDRESS)
    assert meter.readingMarket() == first.address
    # The forecast ledger's gate is the quarter-hourly auction's (an hourly one has no gate per interval).
    assert system.forecast_ledger is not None
    assert system.forecast_ledger.gateClosure() == first.gateClosure()


def test_the_guardians_shutdown_pauses_the_auction_too(system, admin):
    """The deployed wiring: one emergencyShutdown stops the book, the meters and the auction."""
    system.grid_management.emergencyShutdown(sender=admin)
    assert [c.paused() for c in (system.energy_trading, system.smart_meter, system.energy_auction)] == [True] * 3


def test_missing_manifest_says_what_to_do(tmp_path):
    with pytest.raises(ManifestError, match="make deploy"):
        read_manifest(tmp_path / "31337.json")


def test_deploys_around_an_existing_payment_token(project, admin, system):
    """On a public network the settlement currency already exists: deploy takes its address."""
    existing = project.IPaymentToken.at(system.payment_token.address)
    other_system = deploy_system(project, admin, DeploymentSettings(payment_token=existing))
    assert other_system.payment_token.address == system.payment_token.address
    assert other_system.energy_trading.paymentToken() == system.payment_token.address
    assert other_system.energy_token.address != system.energy_token.address


EIP170_MAX_RUNTIME_BYTES = 24_576


def test_every_deployed_contract_fits_the_code_size_limit(system, chain):
    """EIP-170: real networks refuse runtime code above 24,576 bytes."""
    sizes = {name: len(chain.provider.get_code(c.address)) for name, c in system.contracts().items()}
    # Each extension, which its contract serves its rarely called functions from, is deployed code of its own.
    sizes |= {name: len(chain.provider.get_code(address)) for name, address in extension_addresses(system.contracts()).items()}
    assert "SmartMeterExtension" in sizes and "EnergyAuctionExtension" in sizes
    assert all(size > 0 for size in sizes.values()), sizes
    assert {name: size for name, size in sizes.items() if size > EIP170_MAX_RUNTIME_BYTES} == {}


# The order book's runtime code budget (the bench's "largest deployed contract" row holds every
# contract to it): room under EIP-170 for what the next change of the book adds, at 600 optimizer runs.
BOOK_MAX_RUNTIME_BYTES = 22_000


def test_the_order_book_keeps_its_code_budget(system, chain):
    assert len(chain.provider.get_code(system.energy_trading.address)) <= BOOK_MAX_RUNTIME_BYTES


# --- governance and roles ---


def role_holders_from_events(contract: Any, start_block: int, stop_block: int) -> dict[str, set[str]]:
    """Every role of `contract` with its holders, replayed from RoleGranted / RoleRevoked (OpenZeppelin's
    AccessControl does not enumerate holders): what an outside auditor can rebuild from the chain."""
    names = role_names(contract)
    holders: dict[str, set[str]] = {name: set() for name in names.values()}
    if not any(item.type == "event" and item.name == "RoleGranted" for item in contract.contract_type.abi):
        return holders
    logs = [*contract.RoleGranted.range(start_block, stop_block), *contract.RoleRevoked.range(start_block, stop_block)]
    for entry in sorted(logs, key=lambda entry: (entry.block_number, entry.log_index)):
        name = names.get(bytes(entry.role), "0x" + bytes(entry.role).hex())
        members = holders.setdefault(name, set())
        (members.add if entry.event_name == "RoleGranted" else members.discard)(entry.account)
    return holders


def expected_role_table(
    system: Any, deployer: Any, guardian: Any, *, keep: bool, operators: tuple[Any, ...] = (), gateways: tuple[Any, ...] = ()
) -> dict[str, dict[str, set[str]]]:
    """Who must hold each role of each contract after deploy_system; every role a contract declares is listed."""
    def a(*accounts: Any) -> set[str]:
        return {x if isinstance(x, str) else x.address for x in accounts}

    dev = (deployer,) if keep else ()
    admin = a(system.timelock, *dev)
    guardian_and_grid = a(system.grid_management, guardian)
    market = {
        "DEFAULT_ADMIN_ROLE": admin,
        "OPERATOR_ROLE": a(*dev, *operators),
        "PAUSER_ROLE": guardian_and_grid | a(*dev),  # the constructor's pauser is the deployer
    }
    governor = system.governor
    table = {
        "EnergyToken": {"DEFAULT_ADMIN_ROLE": admin, "METER_ROLE": a(system.smart_meter)},
        "PaymentToken": {"DEFAULT_ADMIN_ROLE": a(deployer), "OPERATOR_ROLE": a(deployer)},  # the local faucet
        "SmartMeter": {
            "DEFAULT_ADMIN_ROLE": admin,
            "OPERATOR_ROLE": a(*dev, *operators),
            "GATEWAY_ROLE": a(*dev, *gateways),
            "PAUSER_ROLE": guardian_and_grid,
        },
        "EnergyTrading": market,
        "Settlement": market,
        "SteppedClearing": {},  # no roles: anyone steps
        "ForecastLedger": {},  # no roles: GridManagement's operators commit, anyone tallies and scores
        "GridManagement": {
            "DEFAULT_ADMIN_ROLE": admin,
            "GUARDIAN_ROLE": a(guardian),
            "EMERGENCY_RESPONDER_ROLE": a(system.grid_operations),
        },
        "EnergyAssetShares": {"DEFAULT_ADMIN_ROLE": admin, "PAUSER_ROLE": a(guardian)},
        # registers and closes markets; the meter registry books the export it mints into the vault
        "EnergyVault": {"DEFAULT_ADMIN_ROLE": admin, "CREDITOR_ROLE": a(system.smart_meter)},
        "DemandPrograms": {},
        "GovernanceToken": {},
        "EnergyGovernor": {},
        "GridTimelock": {
            "DEFAULT_ADMIN_ROLE": a(system.timelock),
            "PROPOSER_ROLE": a(governor),
            "CANCELLER_ROLE": a(governor),
            "EXECUTOR_ROLE": {ZERO_ADDRESS},
        },
    }
    for name in system.contracts():
        if name.startswith("EnergyAuction"):
            table[name] = {"DEFAULT_ADMIN_ROLE": admin, "PAUSER_ROLE": guardian_and_grid | a(*dev)}
    for name in ("GridOperations", "PriceOracle", "WeatherOracle", "GridOracle", "PriceDiscovery", "DemandResponse",
                 "CarbonCredits", "EnergyAssetNFT", "MarketZones"):
        table[name] = {"DEFAULT_ADMIN_ROLE": admin}
    # Nobody reports load in batches until the admin grants a grid's head-end system the role.
    table["GridOperations"]["LOAD_REPORTER_ROLE"] = set()
    # Programs write DemandResponse's once-only record of rewarded intervals.
    table["DemandResponse"]["REDUCTION_RECORDER_ROLE"] = a(system.demand_programs)
    return table


def without_empty_roles(table: dict[str, dict[str, set[str]]]) -> dict[str, dict[str, set[str]]]:
    return {name: {r: holders for r, holders in roles.items() if holders} for name, roles in table.items()}


@pytest.mark.parametrize("keep", [True, False], ids=["local-keeps-deployer-admin", "public-network"])
def test_every_role_holder_after_deploy(project, chain, admin, accounts, keep):
    """Rebuilt from the role events of every contract, the holders match the table exactly: on a public
    network the timelock is the only admin, the guardian only pauses, the deployer holds nothing."""
    guardian, operator, gateway = accounts[7], accounts[3], accounts[4]
    start = chain.blocks.height + 1
    system = deploy_system(
        project,
        admin,
        DeploymentSettings(
            guardian=guardian,
            operators=(operator,),
            gateways=(gateway,),
            keep_deployer_admin=keep,
        ),
    )
    stop = chain.blocks.height + 1  # range() stops before it
    expected = expected_role_table(system, admin, guardian, keep=keep, operators=(operator,), gateways=(gateway,))
    actual = {name: role_holders_from_events(c, start, stop) for name, c in system.contracts().items()}
    assert without_empty_roles(actual) == without_empty_roles(expected)
    # Every role a contract declares is in the table (a new role must be placed there on purpose).
    assert {n: set(r) - set(expected[n]) for n, r in actual.items() if set(r) - set(expected[n])} == {}
    # The events agree with the contracts' own state.
    for name, roles in actual.items():
        contract = system.contracts()[name]
        for role_name, holders in roles.items():
            value = getattr(contract, role_name)()
            assert all(contract.hasRole(value, holder) for holder in holders), (name, role_name)
            assert contract.hasRole(value, admin) == (admin.address in holders), (name, role_name)
    if not keep:  # the review's finding: the deployer could grant itself METER_ROLE and mint unbacked energy
        token = system.energy_token
        assert not token.hasRole(token.DEFAULT_ADMIN_ROLE(), admin)
        assert token.hasRole(token.DEFAULT_ADMIN_ROLE(), system.timelock)


def test_keep_deployer_admin_is_for_local_chains_only():
    assert resolve_keep_deployer_admin(local=True, requested=None) is True
    assert resolve_keep_deployer_admin(local=True, requested=False) is False
    assert resolve_keep_deployer_admin(local=False, requested=None) is False
    assert resolve_keep_deployer_admin(local=False, requested=False) is False
    with pytest.raises(ValueError, match="local chains only"):
        resolve_keep_deployer_admin(local=False, requested=True)


def test_off_a_local_chain_the_deploy_refuses_to_keep_the_deployer(project, admin, stranger, monkeypatch):
    """Checked before anything is deployed; a public-network deploy also needs a guardian and uses the
    public governance settings."""
    monkeypatch.setattr("energy_grid.deploy.system.LOCAL_CHAIN_IDS", frozenset())
    nonce = admin.nonce
    with pytest.raises(ValueError, match="local chains only"):
        deploy_system(project, admin, DeploymentSettings(guardian=stranger, keep_deployer_admin=True))
    with pytest.raises(ValueError, match="guardian"):
        deploy_system(project, admin)
    assert admin.nonce == nonce
    system = deploy_system(project, admin, DeploymentSettings(guardian=stranger))
    governor = system.governor
    assert (governor.votingDelay(), governor.votingPeriod(), governor.proposalThreshold()) == (
        PUBLIC_GOVERNANCE.voting_delay_seconds,
        PUBLIC_GOVERNANCE.voting_period_seconds,
        PUBLIC_GOVERNANCE.proposal_threshold,
    )
    assert system.timelock.getMinDelay() == PUBLIC_GOVERNANCE.timelock_delay_seconds
    token = system.energy_token
    assert not token.hasRole(token.DEFAULT_ADMIN_ROLE(), admin)


def test_governance_settings_and_token_recipient_are_deploy_parameters(project, admin, other):
    settings = GovernanceSettings(
        voting_delay_seconds=7,
        voting_period_seconds=70,
        proposal_threshold=3,
        quorum_percent=10,
        timelock_delay_seconds=700,
        initial_supply=1_000,
    )
    system = deploy_system(project, admin, DeploymentSettings(governance=settings, governance_token_recipient=other))
    governor, token = system.governor, system.governance_token
    assert (governor.votingDelay(), governor.votingPeriod(), governor.proposalThreshold()) == (7, 70, 3)
    assert governor.quorumNumerator() == 10
    assert system.timelock.getMinDelay() == 700
    assert (token.totalSupply(), token.balanceOf(other), token.balanceOf(admin)) == (1_000, 1_000, 0)


def test_create_address_predicts_a_deployment(admin, project):
    """The timelock is born knowing the governor's address: CREATE's keccak(rlp([sender, nonce]))."""
    assert create_address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", 0) == "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    assert create_address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", 1) == "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
    predicted = create_address(admin.address, admin.nonce)
    assert project.GovernanceToken.deploy(admin, 1, sender=admin).address == predicted
    for nonce in (0x7F, 0x80, 0xFF, 0x100, 2**24):  # every RLP length of a nonce
        assert create_address(admin.address, nonce).startswith("0x")
