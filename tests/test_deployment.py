"""The deploy wiring, the manifest, and a plain web3.py client driving a deployment through it."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from web3 import Web3

from energy_grid.client import GridClient, GridError, MeterReading, describe_revert
from energy_grid.deployment import (
    DEFAULT_GRID_FEE_BPS,
    LOCAL_FAUCET_WHOLE_UNITS,
    deploy_system,
    fund_local_accounts,
)
from energy_grid.manifest import build_manifest, read_manifest, write_manifest


@pytest.fixture(scope="module")
def system(project, admin):
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
    assert set(manifest["contracts"]) == {"EnergyToken", "PaymentToken", "SmartMeter", "EnergyTrading", "Settlement"}
    assert manifest["contracts"]["Settlement"]["address"] == system.energy_trading.address
    entry = manifest["contracts"]["SmartMeter"]
    assert entry["address"] == system.smart_meter.address
    names = {item.get("name") for item in entry["abi"]}
    assert {"submitReading", "getLatestReading", "getDailyProduction", "getDailyConsumption"} <= names
    assert "MeterUnknown(address)" in entry["userdoc"]["errors"]
    json.dumps(manifest)  # plain JSON, nothing ape-specific


def test_missing_manifest_says_what_to_do(tmp_path):
    with pytest.raises(SystemExit, match="make deploy"):
        read_manifest(tmp_path / "31337.json")


def test_plain_web3_client_registers_and_submits(system, chain, networks, accounts, tmp_path):
    path = write_manifest(build_manifest(chain.chain_id, system.contracts()), tmp_path)
    w3 = Web3(Web3.HTTPProvider(networks.provider.uri))
    grid = GridClient(w3, read_manifest(path))
    operator = Account.from_key(accounts[0].private_key)
    owner = accounts[5].address
    device = Account.from_key(accounts[6].private_key)

    grid.register_meter(operator, device.address, owner, region_id=3)
    start = w3.eth.get_block("latest")["timestamp"] + 1
    grid.mine_block_at(start)
    grid.submit_reading(device, MeterReading(start, 1_000, 2_000))  # baseline
    grid.mine_block_at(start + 900)
    grid.submit_reading(device, MeterReading(start + 900, 1_400, 2_750))

    assert grid.energy_balance_wh(owner) == 750
    assert grid.latest_reading(device.address) == MeterReading(start + 900, 1_400, 2_750)
    with pytest.raises(GridError) as rejected:
        grid.submit_reading(device, MeterReading(start + 900, 1_400, 2_750))
    message = str(rejected.value)
    assert f"ReadingNotAfterPrevious(meter={device.address.lower()}, timestamp={start + 900}" in message
    assert "The reading's timestamp is not after the previous one's." in message


def test_client_refuses_a_manifest_of_another_chain(system, chain, networks):
    manifest = build_manifest(chain.chain_id + 1, system.contracts())
    with pytest.raises(ValueError, match="manifest is for chain"):
        GridClient(Web3(Web3.HTTPProvider(networks.provider.uri)), manifest)


def test_describe_revert_names_unknown_selectors(system):
    abi = build_manifest(1, system.contracts())["contracts"]["SmartMeter"]["abi"]
    assert describe_revert(abi, "0xdeadbeef") == "unknown error 0xdeadbeef"
