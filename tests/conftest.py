"""Shared fixtures: accounts by role and a freshly deployed, wired system.

Contracts are deployed once per module; ape's isolation rolls the chain back after every test,
so each test starts from the same deployed state.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import ape
import ape_ethereum.provider
import ape_test.accounts
import eth_utils.address
import pytest
import requests.sessions
from ape.api.networks import NetworkAPI
from ape.api.providers import ProviderAPI
from ape.api.transactions import ReceiptAPI
from ape.contracts.base import ContractInstance, ContractMethodHandler
from ape.exceptions import ApeAttributeError, ContractLogicError, TransactionError
from ape.logging import logger
from ape_ethereum.ecosystem import Ethereum
from ape_foundry.provider import FoundryProvider
from eth_utils import to_checksum_address, to_hex
from ethpm_types import ContractType
from hexbytes import HexBytes
from web3._utils.http import DEFAULT_HTTP_TIMEOUT
from web3._utils.http_session_manager import HTTPSessionManager
from web3.eth import Eth
from web3.exceptions import TimeExhausted

from energy_grid.api import ServiceSettings
from energy_grid.chain import anvil
from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.jsonrpc import KeptAliveConnection
from energy_grid.chain.manifest import build_manifest, write_manifest
from energy_grid.deploy.system import (
    deploy_energy_auction,
    deploy_smart_meter,
    deploy_system,
    fund_local_accounts,
    list_project_sources,
    setup_local_roles,
)
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE

list_project_sources(ape.project)


@pytest.fixture(scope="module", autouse=True)
def chain_time_moves_only_when_a_test_moves_it(request):
    """Every block of the test chain is stamped with the previous block's second unless a test sets
    the time (`chain.pending_timestamp`, `chain.mine(deltatime=...)`). Set for each module: the
    state machine steps its clock a second a block, and the modules after it must not inherit that.

    By default anvil stamps blocks with the wall clock, so a test that pins a second and then sends
    a few transactions finds the chain already past it on a loaded machine (a deadline an hour
    away passes while a thousand orders are placed; a pinned second lands before the last block).
    Freezing the clock makes every test's timeline its own, whatever the machine's load. (Modules
    that read only files run without ape too, `-p no:ape_test`: there is no chain then.)"""
    try:
        chain = request.getfixturevalue("chain")
    except pytest.FixtureLookupError:
        return
    chain.provider.make_request("anvil_setBlockTimestampInterval", [0])


@pytest.fixture(scope="session")
def admin(accounts):
    """Deployer: holds the admin, operator and gateway roles."""
    return accounts[0]


@pytest.fixture(scope="session")
def owner(accounts):
    """A prosumer owning meters."""
    return accounts[1]


@pytest.fixture(scope="session")
def other(accounts):
    """A second participant."""
    return accounts[2]


@pytest.fixture(scope="session")
def stranger(accounts):
    """Holds no role."""
    return accounts[9]


@pytest.fixture(scope="session")
def meter_device(accounts):
    """The address a meter device signs with."""
    return accounts[3]


@pytest.fixture(scope="session")
def meter_device_2(accounts):
    return accounts[4]


@pytest.fixture(scope="module")
def energy_token(project, admin):
    return project.EnergyToken.deploy(admin, sender=admin)


@pytest.fixture(scope="module")
def stablecoin(project, admin):
    return project.MockStablecoin.deploy(admin, sender=admin)


@pytest.fixture(scope="module")
def smart_meter(project, admin, energy_token):
    meter = deploy_smart_meter(project, admin, energy_token, sender=admin)
    energy_token.grantRole(energy_token.METER_ROLE(), meter, sender=admin)
    meter.grantRole(meter.OPERATOR_ROLE(), admin, sender=admin)
    meter.grantRole(meter.GATEWAY_ROLE(), admin, sender=admin)
    return meter


@pytest.fixture
def reading(chain):
    """Builds a MeterReading tuple; timestamp defaults to the next block's."""

    def build(
        consumption_wh: int,
        production_wh: int,
        timestamp: int | None = None,
        frequency_millihz: int = FREQUENCY_NOMINAL_MILLIHZ,
        voltage_per_mille: int = VOLTAGE_NOMINAL_PER_MILLE,
    ) -> tuple[int, int, int, int, int]:
        ts = chain.pending_timestamp if timestamp is None else timestamp
        return (ts, consumption_wh, production_wh, frequency_millihz, voltage_per_mille)

    return build


# --- market fixtures (EnergyTrading / Settlement) below this line ---

MARKET_FEE_BPS = 50  # 0.5 % grid fee at deployment
TRADER_ENERGY_WH = 50_000_000  # 50 MWh metered into each trader's wallet
TRADER_CASH_WHOLE_UNITS = 1_000_000  # whole stablecoin units topped up for each trader
MARKET_REGION = 1
# The book's unit tests trade single Wh; deploy_system uses deployment.DEFAULT_MIN_ORDER_AMOUNT_WH.
MARKET_MIN_ORDER_WH = 1


@pytest.fixture(scope="session")
def fee_recipient(accounts):
    """Receives the grid fee."""
    return accounts[7]


@pytest.fixture(scope="session")
def keeper(accounts):
    """Matches and settles other people's orders; trades nothing itself."""
    return accounts[8]


@pytest.fixture(scope="session")
def traders(owner, other, accounts):
    """Four prosumers: owner, other, accounts[5], accounts[6]."""
    return [owner, other, accounts[5], accounts[6]]


@pytest.fixture(scope="module")
def market(project, admin, vault, fee_recipient):
    """A bare EnergyTrading (Settlement on the same address) on `vault`, registered there as a
    market, grid fee MARKET_FEE_BPS."""
    deployed = project.EnergyTrading.deploy(admin, vault, fee_recipient, MARKET_FEE_BPS, MARKET_MIN_ORDER_WH, sender=admin)
    vault.registerMarket(deployed, sender=admin)
    return deployed


def meter_energy_to(holders: Any, amount_wh: int, smart_meter: Any, admin: Any, accounts: Any, chain: Any) -> None:
    """Each holder gets `amount_wh` EnergyToken the real way: a fresh meter device registered to
    it reports a baseline, then an export register risen by `amount_wh` a reading interval later."""
    devices = [accounts.generate_test_account() for _ in holders]
    for device, holder in zip(devices, holders, strict=True):
        device.balance = 10**18  # gas money for the device's readings
        smart_meter.registerMeter(device, holder, MARKET_REGION, sender=admin)
    ts = chain.pending_timestamp
    for device in devices:
        smart_meter.submitReading((ts, 0, 0, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE), sender=device)
    ts += smart_meter.minReadingInterval()
    chain.pending_timestamp = ts
    for device in devices:
        smart_meter.submitReading((ts, 0, amount_wh, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE), sender=device)


@pytest.fixture(scope="module")
def funded_market(market, vault, smart_meter, energy_token, stablecoin, admin, traders, accounts, chain):
    """`market` with every trader holding TRADER_ENERGY_WH of metered EnergyToken and
    TRADER_CASH_WHOLE_UNITS stablecoin as vault balances, and the market approved in the vault
    (setMarketApproval); the energy is metered (meter_energy_to).

    The traders deposit everything their wallets hold: escrow is then taken from, and refunds and
    payouts credited to, vault balances only (`Wallets` reads them). The vault keeps an unlimited
    allowance of both tokens, so an escrow the vault balance falls short of is pulled from the
    wallet (the tests of that path withdraw to the wallet first).
    """
    meter_energy_to(traders, TRADER_ENERGY_WH, smart_meter, admin, accounts, chain)
    for trader in traders:
        assert energy_token.balanceOf(trader) == TRADER_ENERGY_WH
        stablecoin.addConsumerBalance(trader, TRADER_CASH_WHOLE_UNITS, sender=admin)
        for token in (energy_token, stablecoin):
            token.approve(vault, 2**256 - 1, sender=trader)
            vault.deposit(token, token.balanceOf(trader), sender=trader)
        vault.setMarketApproval(market, True, sender=trader)
    return market


@pytest.fixture
def m(funded_market):
    """The funded market, under the short name the market tests use."""
    return funded_market


@pytest.fixture
def seller(traders):
    return traders[0]


@pytest.fixture
def buyer(traders):
    return traders[1]


@pytest.fixture
def carol(traders):
    return traders[2]


@pytest.fixture
def dave(traders):
    return traders[3]


@pytest.fixture
def expiry(chain):
    return chain.pending_timestamp + 3_600


# --- grid operations fixtures ---

GRID_BASE_PRICE_PER_KWH = 200_000  # 0.20 per kWh (6-decimal payment token)
GRID_OPS_REGION = 1
GRID_OPS_OTHER_REGION = 2
GRID_OPERATOR_CAPACITY_KW = 500


@pytest.fixture(scope="session")
def grid_operator(accounts):
    """A verified, authorized operator of GRID_OPS_REGION."""
    return accounts[5]


@pytest.fixture(scope="session")
def other_region_operator(accounts):
    """A verified, authorized operator of GRID_OPS_OTHER_REGION."""
    return accounts[6]


# GridManagement's own participants (the grid tests' roles; accounts apart from grid_operations').
@pytest.fixture(scope="session")
def producer(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def consumer(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def battery(accounts):
    """A storage facility's account."""
    return accounts[4]


@pytest.fixture(scope="session")
def operator(accounts):
    """A grid operator of region 1, registered and verified by the grid tests' own fixtures."""
    return accounts[8]


@pytest.fixture(scope="session")
def guardian(accounts):
    return accounts[6]


@pytest.fixture(scope="module")
def grid_management(project, admin, stablecoin, fee_recipient):
    return project.GridManagement.deploy(admin, stablecoin, fee_recipient, GRID_BASE_PRICE_PER_KWH, sender=admin)


@pytest.fixture(scope="module")
def grid_operations(project, admin, grid_management, grid_operator, other_region_operator):
    """GridOperations on a real GridManagement: it holds EMERGENCY_RESPONDER_ROLE there, and
    grid_operator (GRID_OPS_REGION) and other_region_operator (GRID_OPS_OTHER_REGION) are
    registered and verified operators."""
    operations = project.GridOperations.deploy(admin, grid_management, sender=admin)
    grid_management.grantRole(grid_management.EMERGENCY_RESPONDER_ROLE(), operations, sender=admin)
    for operator, region, name in (
        (grid_operator, GRID_OPS_REGION, "North Grid Co"),
        (other_region_operator, GRID_OPS_OTHER_REGION, "South Grid Co"),
    ):
        grid_management.registerOperator(name, region, GRID_OPERATOR_CAPACITY_KW, sender=operator)
        grid_management.verifyOperator(operator, sender=admin)
    return operations


# --- oracle fixtures ---
# PriceOracle, WeatherOracle, GridOracle (each with three reporters) and PriceDiscovery over them.

ORACLE_HEARTBEAT_SECONDS = 3_600
PRICE_DECIMALS = 6  # MockStablecoin's: answers are its base units per kWh
PRICE_DESCRIPTION = "EnergyToken kWh / MOCKUSD"
PRICE_MAX_DEVIATION_BPS = 2_000  # a fresh latest answer may move by 20 % per submission
ORACLE_MIN_QUORUM = 0  # more than half of the reporters: two of the three
ORACLE_REGION = 7
UTC_OFFSET_MINUTES = 60  # UTC+01:00


@pytest.fixture(scope="session")
def reporters(accounts):
    """Three oracle reporters."""
    return [accounts[3], accounts[4], accounts[5]]


@pytest.fixture(scope="module")
def price_oracle(project, admin, reporters):
    oracle = project.PriceOracle.deploy(
        admin,
        ORACLE_HEARTBEAT_SECONDS,
        PRICE_DECIMALS,
        PRICE_DESCRIPTION,
        PRICE_MAX_DEVIATION_BPS,
        ORACLE_MIN_QUORUM,
        sender=admin,
    )
    for reporter in reporters:
        oracle.addReporter(reporter, sender=admin)
    return oracle


@pytest.fixture(scope="module")
def weather_oracle(project, admin, reporters):
    oracle = project.WeatherOracle.deploy(admin, ORACLE_HEARTBEAT_SECONDS, ORACLE_MIN_QUORUM, sender=admin)
    for reporter in reporters:
        oracle.addReporter(reporter, sender=admin)
    return oracle


@pytest.fixture(scope="module")
def grid_oracle(project, admin, reporters):
    oracle = project.GridOracle.deploy(admin, ORACLE_HEARTBEAT_SECONDS, ORACLE_MIN_QUORUM, sender=admin)
    for reporter in reporters:
        oracle.addReporter(reporter, sender=admin)
    return oracle


@pytest.fixture(scope="module")
def price_discovery(project, admin, price_oracle, weather_oracle, grid_oracle):
    """Reads the three oracles; every source's max age is the oracles' heartbeat."""
    return project.PriceDiscovery.deploy(
        admin,
        price_oracle,
        weather_oracle,
        grid_oracle,
        UTC_OFFSET_MINUTES,
        ORACLE_HEARTBEAT_SECONDS,
        ORACLE_HEARTBEAT_SECONDS,
        ORACLE_HEARTBEAT_SECONDS,
        sender=admin,
    )


# --- CarbonCredits fixtures ---

CARBON_GRAMS_CO2E_PER_KWH = 400  # avoided-emission factor at deployment, about a fossil-heavy grid's average


@pytest.fixture(scope="module")
def carbon_credits(project, admin, smart_meter, grid_management, grid_operations):
    """CarbonCredits reading the module's SmartMeter and GridManagement (whose operators
    grid_operator, region 1, and other_region_operator, region 2, grid_operations registers).
    It only reads them, so it holds no role there."""
    return project.CarbonCredits.deploy(admin, smart_meter, grid_management, CARBON_GRAMS_CO2E_PER_KWH, sender=admin)


# --- energy asset fixtures (EnergyAssetNFT, EnergyAssetShares) ---

ASSET_REGION = 1  # GRID_OPS_REGION: grid_operator mints here
ASSET_OTHER_REGION = 2  # GRID_OPS_OTHER_REGION: other_region_operator's


@pytest.fixture(scope="module")
def asset_nft(project, admin, smart_meter, grid_management, grid_operations):
    """EnergyAssetNFT over the conftest SmartMeter and GridManagement, whose operators
    (grid_operations registers them) mint; linked to `asset_shares` when that is requested."""
    return project.EnergyAssetNFT.deploy(admin, smart_meter, grid_management, sender=admin)


@pytest.fixture(scope="module")
def asset_shares(project, admin, asset_nft, vault):
    """EnergyAssetShares, a registered market of `vault` holding deposited revenue there (in its
    stablecoin), linked into `asset_nft` (the deploy steps: the admin calls setSharesContract once and
    registers it with the vault)."""
    shares = project.EnergyAssetShares.deploy(admin, asset_nft, vault, sender=admin)
    asset_nft.setSharesContract(shares, sender=admin)
    vault.registerMarket(shares, sender=admin)
    return shares


# --- demand response fixtures ---


@pytest.fixture(scope="module")
def demand_response(project, admin, smart_meter, vault, grid_management):
    """DemandResponse on the module's SmartMeter, EnergyVault (a registered market there, holding the
    budgets and paying rewards in its MockStablecoin) and GridManagement; `admin` is its admin."""
    dr = project.DemandResponse.deploy(admin, smart_meter, vault, grid_management, sender=admin)
    vault.registerMarket(dr, sender=admin)
    return dr


@pytest.fixture(scope="module")
def demand_programs(project, admin, demand_response, vault):
    """DemandPrograms reading registrations, SmartMeter, vault and GridManagement from `demand_response`,
    writing its once-only record of rewarded intervals (REDUCTION_RECORDER_ROLE), a registered market
    of the vault."""
    programs = project.DemandPrograms.deploy(demand_response, sender=admin)
    demand_response.grantRole(demand_response.REDUCTION_RECORDER_ROLE(), programs, sender=admin)
    vault.registerMarket(programs, sender=admin)
    return programs


# --- EnergyAuction fixtures ---

AUCTION_FEE_BPS = 50  # 0.5 % grid fee, as the market's
AUCTION_PERIOD_SECONDS = 900  # 15-minute delivery periods
AUCTION_GATE_CLOSURE_SECONDS = 300  # a period's gate closes 5 minutes before it starts
AUCTION_MIN_PRICE_PER_KWH = 50_000  # 0.05 per kWh (6-decimal payment token)
AUCTION_TICK_SIZE_PER_KWH = 1_000  # 0.001 per kWh
AUCTION_MAX_PRICE_PER_KWH = 305_000  # 0.305 per kWh: 256 ticks
AUCTION_TRADER_ENERGY_WH = 50_000_000  # metered into each auction trader's wallet
AUCTION_TRADER_CASH_WHOLE_UNITS = 1_000_000
AUCTION_NO_METER_REGISTRY = "0x" + "00" * 20  # the auction's meter registry: none, firm orders only


@pytest.fixture(scope="module")
def vault(project, admin, energy_token, stablecoin):
    """The EnergyVault of the module's EnergyToken and MockStablecoin: the auction's escrow, claims and
    fees are balances in it."""
    return project.EnergyVault.deploy(admin, energy_token, stablecoin, NO_FREEZE_QUERY, sender=admin)


@pytest.fixture(scope="module")
def auction(project, admin, vault, fee_recipient):
    """A bare EnergyAuction on `vault`, registered there as a market: 900 s periods, gate closure
    300 s, a 256-tick grid from 0.05 to 0.305 per kWh, grid fee AUCTION_FEE_BPS. No meter registry
    (firm orders only, no standing orders), so a market clears from its gate closure."""
    deployed = deploy_energy_auction(project,
        admin,
        vault,
        AUCTION_NO_METER_REGISTRY,
        fee_recipient,
        AUCTION_FEE_BPS,
        AUCTION_PERIOD_SECONDS,
        AUCTION_GATE_CLOSURE_SECONDS,
        AUCTION_MIN_PRICE_PER_KWH,
        AUCTION_TICK_SIZE_PER_KWH,
        AUCTION_MAX_PRICE_PER_KWH,
        sender=admin,
    )
    vault.registerMarket(deployed, sender=admin)
    return deployed


@pytest.fixture(scope="module")
def auction_traders(accounts):
    """Six auction participants: accounts 1, 2, 3, 4, 5 and 6 (no role in the auction)."""
    return [accounts[i] for i in (1, 2, 3, 4, 5, 6)]


@pytest.fixture(scope="module")
def funded_auction(auction, vault, smart_meter, energy_token, stablecoin, admin, auction_traders, accounts, chain):
    """`auction` with every auction trader holding AUCTION_TRADER_ENERGY_WH of metered EnergyToken
    and AUCTION_TRADER_CASH_WHOLE_UNITS stablecoin as vault balances, and the auction approved as a
    market of those balances (vault.setMarketApproval).

    The traders deposit everything their wallets hold of both tokens (the energy is metered,
    meter_energy_to): escrow is then taken from, and claims and refunds paid into, vault balances
    only, and a test reads one balance per account and token (`vault.balancesOf`), with the vault's
    token balances holding all of it. The vault keeps an unlimited allowance of both tokens, so an
    escrow the vault balance falls short of is pulled from the wallet (the tests of that path
    withdraw to the wallet first)."""
    meter_energy_to(auction_traders, AUCTION_TRADER_ENERGY_WH, smart_meter, admin, accounts, chain)
    for trader in auction_traders:
        stablecoin.addConsumerBalance(trader, AUCTION_TRADER_CASH_WHOLE_UNITS, sender=admin)
        for token in (energy_token, stablecoin):
            token.approve(vault, 2**256 - 1, sender=trader)
            vault.deposit(token, token.balanceOf(trader), sender=trader)
        vault.setMarketApproval(auction, True, sender=trader)
    return auction


@pytest.fixture
def a(funded_auction):
    """The funded auction, under the short name the auction tests use."""
    return funded_auction


@pytest.fixture
def alice(auction_traders):
    return auction_traders[0]


@pytest.fixture
def bob(auction_traders):
    return auction_traders[1]


# --- test speed fixtures ---


# The long end-to-end modules: each starts nodes, browsers, compilers or other processes of its own,
# or drives a whole system through a scenario. They carry the `slow` marker (`make test-fast`
# deselects it; `make test` runs everything).
SLOW_MODULES = frozenset(
    {
        "test_static_analysis.py",
        "test_simulation_restart.py",
        "test_simulation_run.py",
        "test_simulation_feeders.py",
        "test_another_network.py",
        "test_compiler.py",
        "test_web_app.py",
        "test_web_phone.py",
        "test_web_household.py",
        "test_live_operator_view.py",
        "test_household_meter_path.py",
        "test_api_load.py",
        "test_access_matrix.py",
        "test_cli.py",
        "test_system_invariants.py",
    }
)

# The modules that take longest (measured: summed test durations on three workers, the mean of two
# runs), longest first.
# The collection starts with them, then the rest in file order, and `make test` hands modules to its
# workers in collection order (`--no-loadscope-reorder`): a long module handed out last would run
# alone at the end while the other worker idles.
LONGEST_MODULES = (
    "test_system_invariants.py",
    "test_web_phone.py",
    "test_web_app.py",
    "test_static_analysis.py",
    "test_live_stack.py",
    "test_api_load.py",
    "test_cli.py",
    "test_ingest.py",
    "test_forecaster.py",
    "test_household_meter_path.py",
    "test_web_household.py",
    "test_simulation_restart.py",
    "test_first_hour.py",
    "test_simulation_run.py",
    "test_gateway_service.py",
    "test_another_network.py",
    "test_simulation_feeders.py",
    "test_api_reads.py",
    "test_readme_examples.py",
    "test_virtual_meters.py",
    "test_attacks.py",
    "test_live_operator_view.py",
    "test_coupled_clearing_contract.py",
    "test_event_index.py",
    "test_keeper.py",
    "test_edge_cases.py",
    "test_gateway_process.py",
    "test_book_dust_griefing.py",
    "test_demand_response.py",
    "test_api_writes.py",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
    rank = {name: position for position, name in enumerate(LONGEST_MODULES)}
    # A stable sort: each module's tests stay together and in their order.
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_configure(config):
    _derive_test_accounts_once()
    _read_settled_configuration_once()
    _ask_the_node_only_what_can_change()
    if not os.environ.get("GRID_TEST_REVERT_TRACES"):
        _quiet_revert_traces()
    _find_bubbled_errors_in_the_call_tree()
    _match_error_classes_by_signature()
    _name_contract_types_briefly()
    _post_json_rpc_over_kept_alive_connections()
    _keep_chain_states_in_memory()
    _poll_for_receipts_often()


def _derive_test_accounts_once() -> None:
    """Derive each test account from the mnemonic once per session instead of on every lookup.

    Labelling the addresses of a call trace asks `address in accounts` for each call, which
    re-derived all ten dev accounts from the mnemonic in pure Python (about 0.2 s a lookup, 0.7 s
    a reverted transaction). The derivation is deterministic, so caching it changes no result."""
    derive = functools.lru_cache(maxsize=None)(ape_test.accounts.generate_dev_accounts)
    ape_test.accounts.generate_dev_accounts = lambda *args, **kwargs: list(derive(*args, **kwargs))


def _read_settled_configuration_once() -> None:
    """Look up, once per session, answers ape and requests recompute on every call.

    Building any transaction or call asks ape for the network's default transaction type, which
    re-reads and re-validates the whole network configuration (about 25 ms a call, a fifth of a
    market test module's time), and the provider's settings are merged and validated again on each
    read; every JSON-RPC request asks requests for the proxies in the environment, which walks all
    of os.environ. Neither the configuration nor the environment change while the suite runs, so
    remembering them changes no result."""
    transaction_type = Ethereum.default_transaction_type.fget  # type: ignore[attr-defined]  # mypy types a property read on its class as its getter.
    known: dict[tuple[type, str | None], object] = {}

    def default_transaction_type(self):
        provider = self.network_manager.active_provider
        key = (type(self), provider.network.name if provider else None)
        if key not in known:
            known[key] = transaction_type(self)
        return known[key]

    Ethereum.default_transaction_type = property(default_transaction_type)  # type: ignore[method-assign, assignment]  # Monkeypatched with a caching property.

    # A provider's settings: its configuration merged with its provider settings and validated
    # again (environment included) on each read, several times a transaction.
    provider_settings = ProviderAPI.settings.fget  # type: ignore[attr-defined]  # mypy types a property read on its class as its getter.
    settled: dict[tuple[int, str], object] = {}

    def settings(self):
        key = (id(self), repr(sorted(self.provider_settings.items())))
        if key not in settled:
            settled[key] = provider_settings(self)
        return settled[key]

    ProviderAPI.settings = property(settings)  # type: ignore[method-assign, assignment]  # Monkeypatched with a caching property.

    # A network's own configuration, validated again on each read: three times a transaction (its
    # confirmations, fee multiplier and acceptance timeout). The network is kept beside its answer,
    # so that its id cannot be another network's later.
    network_config = NetworkAPI.config.fget  # type: ignore[attr-defined]  # mypy types a property read on its class as its getter.
    configured: dict[int, tuple[NetworkAPI, object]] = {}

    def config(self):
        if id(self) not in configured:
            configured[id(self)] = (self, network_config(self))
        return configured[id(self)][1]

    NetworkAPI.config = property(config)  # type: ignore[method-assign, assignment]  # Monkeypatched with a caching property.

    # Whether an address is checksummed is asked of every address ape converts (some twenty a
    # transaction), each time hashing the address with a pure-Python keccak; the checksum of an
    # address is a function of the address alone.
    checksum = eth_utils.address.to_checksum_address
    remembered = functools.lru_cache(maxsize=4096)(checksum)

    def to_checksum_address(value):
        try:
            return remembered(value)
        except TypeError:  # an unhashable value (a bytearray): computed as before
            return checksum(value)

    eth_utils.address.to_checksum_address = to_checksum_address  # Monkeypatched with a cache.
    requests.sessions.get_environ_proxies = functools.lru_cache(maxsize=None)(  # type: ignore[assignment]  # Monkeypatched with a cache.
        requests.sessions.get_environ_proxies
    )


def _ask_the_node_only_what_can_change() -> None:
    """Spare the node the questions ape asks for every transaction whose answers cannot change
    between the moments it asks them here (about two thirds of a test module's JSON-RPC requests):

    - whether anvil mines automatically (asked four times a transaction and ten times a test while
      ape sorts fixtures): remembered per provider; setting it through ape updates the memory. Only
      the simulation and ingestion turn automining off, on anvils of their own.
    - the block gas limit, for each transaction's gas (`gas_limit: max`): fixed for a test chain.
    - whether a contract about to be called has code: remembered until the chain is reverted to a
      snapshot (ape's isolation, after every test), the only way code can leave an address here.
      The revert also empties anvil's transaction pool: its automining can leave a transaction
      in the pool after mining it (a few times in a thousand on two busy cores), and once the
      chain goes back, the next test's first transaction from the same account is that very
      transaction (same nonce, call and signature), which anvil then refuses as "transaction
      already imported", failing every later test of the module.
    - the call trace of every transaction to a contract, fetched to print the contract's
      `console.log` lines: no contract here logs to the console (a test checks the sources).
    - the fees: anvil's suggested priority fee is a constant, and ape-foundry starts anvil at base
      fee 0, where EIP-1559 keeps it (each block moves the base fee by a fraction of itself).
    - whether the sender's nonce has gone up, asked after each receipt: a mined transaction has
      used its nonce."""
    _remember_per_provider("auto_mine")
    _remember_per_provider("max_gas")
    _remember_per_provider("priority_fee")
    _remember_per_provider("base_fee", keep=lambda fee: fee == 0)

    with_code: set[tuple[str, str]] = set()
    validate_is_contract, restore = ContractMethodHandler._validate_is_contract, FoundryProvider.restore

    def validate_once(self):
        key = (self.provider.uri, self.contract.address)
        if key not in with_code:
            validate_is_contract(self)
            with_code.add(key)

    def restore_and_forget(self, snapshot_id):
        with_code.clear()
        restored = restore(self, snapshot_id)
        self.make_request("anvil_dropAllTransactions", [])
        return restored

    ContractMethodHandler._validate_is_contract = validate_once  # type: ignore[method-assign]  # Monkeypatched.
    FoundryProvider.restore = restore_and_forget  # type: ignore[method-assign]  # Monkeypatched.

    await_nonce_increment = ReceiptAPI._await_sender_nonce_increment

    def await_unless_mined(self):
        if self.block_number is None or self.block_number < 0:
            await_nonce_increment(self)

    ReceiptAPI._await_sender_nonce_increment = await_unless_mined  # type: ignore[method-assign]  # Monkeypatched.

    def confirmed(txn, receipt):
        logger.info(f"Confirmed {receipt.txn_hash} (total fees paid = {receipt.total_fees_paid})")

    ape_ethereum.provider._post_send_transaction = confirmed


def _keep_chain_states_in_memory() -> None:
    """ape-foundry's anvil writes the state of every block older than its last few to disk under
    ~/.foundry/anvil/tmp and leaves it there: gigabytes a session (the state machine alone, 8 GB),
    written while the tests wait. No test reads a state that old, so anvil keeps the recent ones in
    memory and none on disk."""
    build_command = FoundryProvider.build_command

    def build_without_disk_states(self):
        return [*build_command(self), "--prune-history", str(anvil.IN_MEMORY_STATES)]

    FoundryProvider.build_command = build_without_disk_states  # type: ignore[method-assign]  # Monkeypatched.


def _remember_per_provider(name: str, keep: Callable[[Any], bool] = lambda answer: True) -> None:
    """FoundryProvider's property `name` asks the node once per provider and node, and its answer
    is remembered when `keep(answer)`; setting the property through ape updates what is remembered."""
    asked = getattr(FoundryProvider, name)
    known: dict[tuple[int, str], Any] = {}

    def get(self):
        key = (id(self), self.uri)
        if key not in known:
            answer = asked.fget(self)
            if not keep(answer):
                return answer
            known[key] = answer
        return known[key]

    def set_(self, value):
        asked.fset(self, value)
        known[(id(self), self.uri)] = value

    setattr(FoundryProvider, name, property(get, set_ if asked.fset else None))


def _quiet_revert_traces() -> None:
    """For every reverted transaction, ape-foundry looks up its receipt twice and prints its
    enriched call trace, and ape finds the reverting line in the contract's source for the Python
    traceback (pytest captures both and shows them only for a failing test): about 30 ms a revert,
    and most tests that expect a revert pass. The error is made and decoded as ape-foundry makes
    it; only the trace, its receipt lookups and the source line go. Set GRID_TEST_REVERT_TRACES=1
    to have them back while debugging (or call tx.show_trace())."""

    def handle_quietly(self, exception, revert_message=None, **kwargs):
        message = TransactionError.DEFAULT_MESSAGE if revert_message in (None, "", "0x") else revert_message
        error = ContractLogicError(base_err=exception, revert_message=message.removeprefix("revert: "), **kwargs)
        return self.compiler_manager.enrich_error(error)

    FoundryProvider._handle_execution_reverted = handle_quietly  # type: ignore[method-assign]  # Monkeypatched.
    TransactionError._get_ape_traceback = lambda self: None  # type: ignore[method-assign]  # Monkeypatched.


def _find_bubbled_errors_in_the_call_tree() -> None:
    """A revert whose error is not in the called contract's ABI bubbled up from a contract it
    called (a hostile receiver re-entering the market, a governor executing a proposal). ape finds
    that contract by walking every opcode of the transaction's struct-log trace, seconds for a deep
    transaction. The call tree (anvil's `callTracer`) names it in one small answer: the innermost
    call that reverted with the same data. The error is then decoded from that contract's ABI, as
    ape would."""
    decode = Ethereum.decode_custom_error

    def decode_from_the_reverting_call(self, data, address, **kwargs):
        txn = kwargs.get("txn")
        without_walk = {k: v for k, v in kwargs.items() if k != "txn"}  # without a txn ape walks no trace
        found = decode(self, data, address, **without_walk)
        if found is not None or txn is None:
            return found
        try:
            tree = self.provider.make_request("debug_traceTransaction", [to_hex(txn.txn_hash), {"tracer": "callTracer"}])
        except Exception:  # not a mined transaction (a call): ape's own way
            return decode(self, data, address, **kwargs)
        reverted = [call["to"] for call in _calls(tree) if call.get("error") and call.get("output") == to_hex(data)]
        origin = to_checksum_address(reverted[-1]) if reverted else None
        if origin is None or origin == address:
            return None
        return decode(self, data, origin, **without_walk)

    Ethereum.decode_custom_error = decode_from_the_reverting_call  # type: ignore[method-assign]  # Monkeypatched.


def _match_error_classes_by_signature() -> None:
    """A contract instance's error classes, which ape builds when an error is first decoded or named
    (`contract.SomeError`), reuse the classes made before for the same address, so that
    `ape.reverts(contract.SomeError)` matches what another instance of it raised. ape finds each
    ABI's earlier class by comparing it with every earlier class's signature, recomputed each time:
    some 6,000 signatures for a contract with 80 errors, 7 ms a new instance (a decoded revert makes
    one). Here the earlier classes are looked up by signature in a dict; the classes found and made,
    and the ones cached for the address, are the same."""

    def errors(self: ContractInstance) -> dict[str, list[type]]:
        try:
            by_name: dict[str, list[Any]] = {}
            for abi in self.contract_type.errors:
                by_name.setdefault(abi.name, []).append(abi)
            earlier: dict[str, type] = {}
            for error_class in self.chain_manager.contracts._get_errors(self.address):
                if error_class.abi:
                    earlier.setdefault(error_class.abi.signature, error_class)
            classes: dict[str, list[type]] = {}
            for name, abis in by_name.items():
                classes[name] = []
                for abi in abis:
                    error_class = earlier.get(abi.signature)
                    if error_class is None:
                        error_class = self._create_custom_error_type(abi, contract_address=self.address)
                        self.chain_manager.contracts._cache_error(self.address, error_class)
                        earlier[abi.signature] = error_class
                    classes[name].append(error_class)
            return classes
        except Exception as err:  # as ape raises it: an attribute lookup must fail with AttributeError
            raise ApeAttributeError(str(err), base_err=err) from err

    cached = functools.cached_property(errors)
    cached.__set_name__(ContractInstance, "_errors_")
    ContractInstance._errors_ = cached  # type: ignore[method-assign, assignment]  # Monkeypatched.


def _name_contract_types_briefly() -> None:
    """`str()` of a contract type is its short form, `<ContractType Name>`, as `repr()` already is.

    ape's `instance_at`, which every contract handle the tests make goes through, passes
    `f"{contract_type}"` as the default of a `getattr` for the type's name, so the string is built
    even when the name is there: pydantic's `str()` writes out the whole ABI and bytecode, some 6 ms
    a contract, 3 % of a contract module's time. Nothing reads that string."""
    ContractType.__str__ = ContractType.__repr__  # type: ignore[method-assign, assignment]  # Monkeypatched.


def _calls(frame: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A call tree's frames, each before the calls it made (the innermost last on each path)."""
    yield frame
    for call in frame.get("calls", ()):
        yield from _calls(call)


def _post_json_rpc_over_kept_alive_connections() -> None:
    """web3 posts each JSON-RPC request through requests: about a millisecond and a half of Python
    per request, which the test node answers in a tenth of that, and a test module sends
    thousands. In the test process each thread posts over a kept-alive connection per node
    instead (energy_grid.chain.jsonrpc, as the bulk sender does); failures still surface as requests'
    exceptions."""
    connections = threading.local()

    def make_post_request(self, endpoint_uri, data, **kwargs):
        uri = str(endpoint_uri)
        if not uri.startswith("http://") or kwargs.get("stream"):
            return post_through_requests(self, endpoint_uri, data, **kwargs)
        by_node = connections.__dict__.setdefault("by_node", {})
        if uri not in by_node:
            timeout = kwargs.get("timeout") or DEFAULT_HTTP_TIMEOUT
            by_node[uri] = KeptAliveConnection(uri, max(timeout) if isinstance(timeout, tuple) else timeout)
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        return by_node[uri].post(body, kwargs.get("headers"))

    post_through_requests = HTTPSessionManager.make_post_request
    HTTPSessionManager.make_post_request = make_post_request  # type: ignore[method-assign]  # Monkeypatched.


RECEIPT_POLL_S = 0.005
RECEIPT_FAST_POLLS_S = 0.1


def _poll_for_receipts_often() -> None:
    """web3 asks for a receipt every 0.1 s until it has one, and ape waits for every transaction's.
    The test node mines each transaction as it comes, yet about one receipt in five is not there at
    the first question: the test then slept a tenth of a second doing nothing (some 16 s of a
    module's 37). In the test process the receipt is asked for every RECEIPT_POLL_S for the first
    RECEIPT_FAST_POLLS_S, then at web3's pace, so a transaction that takes long to mine (a large
    batch on a loaded machine) is not asked after hundreds of times. A call that names its own
    interval keeps it; the timeout counts from the first question as before."""
    wait_for_receipt = Eth.wait_for_transaction_receipt

    @functools.wraps(wait_for_receipt)
    def wait_polling_often(self, transaction_hash, timeout=120, poll_latency=None):
        if poll_latency is not None:
            return wait_for_receipt(self, transaction_hash, timeout=timeout, poll_latency=poll_latency)
        started = time.monotonic()
        try:
            return wait_for_receipt(self, transaction_hash, timeout=min(timeout, RECEIPT_FAST_POLLS_S), poll_latency=RECEIPT_POLL_S)
        except TimeExhausted:
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise
        try:
            return wait_for_receipt(self, transaction_hash, timeout=left, poll_latency=0.1)
        except TimeExhausted:
            raise TimeExhausted(f"Transaction {HexBytes(transaction_hash)!r} is not in the chain after {timeout} seconds") from None

    Eth.wait_for_transaction_receipt = wait_polling_often  # type: ignore[method-assign]  # Monkeypatched.


# --- code health fixtures (shared by the split SmartMeter, EnergyTrading and Settlement modules) ---
# test_energy_asset_nft.py defines a `meter` of its own, which takes precedence there.

from support.helpers import NO_FREEZE_QUERY  # noqa: E402
from support.market_helpers import BUY, SELL, Wallets, create, crossing  # noqa: E402
from support.meter_helpers import REGION, next_interval_start  # noqa: E402


@pytest.fixture
def meter(smart_meter, admin, owner, meter_device):
    """meter_device registered to `owner` without registers: its first reading sets the baseline."""
    smart_meter.registerMeter(meter_device, owner, REGION, sender=admin)
    return meter_device.address


@pytest.fixture
def submit(smart_meter, chain, reading):
    """Submits a reading at exactly `ts` (the next block's time is moved there)."""

    def send(device, ts, consumption, production, **kwargs):
        chain.pending_timestamp = ts
        return smart_meter.submitReading(reading(consumption, production, timestamp=ts, **kwargs), sender=device)

    return send


@pytest.fixture
def baseline(meter, meter_device, submit, chain):
    """`meter` with a baseline reading (1_000 Wh in, 5_000 Wh out) at the start of an interval.
    Returns the baseline timestamp."""
    ts = next_interval_start(chain)
    submit(meter_device, ts, 1_000, 5_000)
    return ts


@pytest.fixture
def metered(meter, meter_device, baseline, submit):
    """`meter` has metered 500 Wh consumption and 800 Wh production (800 Wh minted to owner)."""
    submit(meter_device, baseline + 900, 1_500, 5_800)
    return meter


@pytest.fixture
def wallets(m, vault, traders, keeper, fee_recipient, stranger, admin):
    """Vault balances (energy Wh, payment) of the traders, keeper, fee recipient, stranger, admin and
    the market, to diff."""
    return Wallets(m, vault, *traders, keeper, fee_recipient, stranger, admin)


@pytest.fixture
def trade(m, seller, buyer, keeper, expiry):
    """A pending transaction: 1,000 Wh from a resting SELL at 0.20 to a BUY limited at 0.25 that
    crossed it on arrival."""
    create(m, seller, 1_000, 200_000, SELL, expiry)
    _, (trade_id,) = crossing(m, buyer, 1_000, 250_000, BUY, expiry)
    return trade_id


# --- PostgreSQL (the index's production database) ---


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """One PostgreSQL server for the session (pgserver's own binaries, from PyPI); each test module
    creates the databases it needs in it."""
    import pgserver  # noqa: PLC0415  (only the index modules pay for importing it)

    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield server
    server.cleanup()


# --- API service fixtures (energy_grid.api) ---

API_OPERATOR_TOKEN = "test-operator-token"  # the bearer token the operator routes take in tests
API_RELAYER_INDEX = 9  # a dev account with gas and no role: the relayer holds nothing of a user's


@pytest.fixture(scope="module")
def api_start_block(chain):
    """The first block of the module's system (where its event index starts)."""
    return chain.blocks.head.number + 1


@pytest.fixture(scope="module")
def api_system(project, admin, accounts, api_start_block):
    """A fresh system wired as `make deploy` wires a local chain; dev accounts 1-9 hold stablecoin."""
    system = deploy_system(project, admin)
    setup_local_roles(system, admin)
    fund_local_accounts(system, admin, list(accounts)[1:10])
    return system


@pytest.fixture(scope="module")
def api_manifest(api_system, api_start_block, chain, tmp_path_factory):
    """The module's manifest as `make deploy` writes it: its start block and that block's hash."""
    manifest = build_manifest(chain.chain_id, api_system.contracts(), api_start_block, chain.blocks[api_start_block].hash)
    return write_manifest(manifest, tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def api_settings(api_manifest, networks, tmp_path_factory):
    """Builds ServiceSettings for the module's system: a new SQLite index per call, the deployer
    (region 1's grid operator, a demand-response operator) behind API_OPERATOR_TOKEN."""

    def build(**overrides):
        database = tmp_path_factory.mktemp("index") / "index.sqlite"
        values = {
            "rpc_url": networks.provider.uri,
            "manifest_file": api_manifest,
            "database_url": f"sqlite:///{database}",
            "relayer": anvil_account(API_RELAYER_INDEX),
            "operator": anvil_account(0),
            "operator_token": API_OPERATOR_TOKEN,
            "poll_interval_s": 0.2,
        }
        return ServiceSettings(**(values | overrides))

    return build


# --- MQTT broker (the meters' readings on their way to the gateway service) ---

from support.mosquitto import access_controlled_broker  # noqa: E402


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory):
    """One mosquitto for the session, started here (never one already running), with the access
    files production uses: the gateway, the fleet (virtual meters) and two meters, each with a
    password of its own."""
    with access_controlled_broker(tmp_path_factory.mktemp("mqtt")) as broker:
        yield broker
