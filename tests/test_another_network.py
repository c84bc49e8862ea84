"""Another network: ape-config.yaml's `ethereum:volta:node` entry (Energy Web Volta's shape, chain
id 73799), deployed to as a public network is — an ape keystore account, an existing ERC-20 to
settle in, a guardian, the timelock as the only admin — on a second local anvil with that chain
id, whose URL comes from ENERGY_GRID_VOLTA_RPC_URL. The plain web3.py client then works from the
manifest that deploy wrote. A network whose EVM is older than Cancun is refused before anything is
sent, in one sentence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3
from web3.types import RPCEndpoint

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.anvil import anvil_node
from energy_grid.chain.manifest import read_manifest
from energy_grid.contracts.base import Transactor
from energy_grid.contracts.client import GridClient, MeterReading
from energy_grid.deploy.evm import REQUIRED_EVM, require_cancun

ROOT = Path(__file__).resolve().parent.parent
VOLTA_CHAIN_ID = 73799
PASSPHRASE = "volta-test-passphrase"  # encrypts anvil's public dev key 1, in a temporary folder


@pytest.fixture(scope="module")
def volta_node() -> Iterator[str]:
    """A second anvil with Volta's chain id, stopped (gracefully, so it leaves no state) afterwards."""
    with anvil_node(chain_id=VOLTA_CHAIN_ID) as node:
        yield node.url


@pytest.fixture(scope="module")
def volta_stablecoin(volta_node: str) -> str:
    """The ERC-20 the network settles in, already there as on a public network."""
    w3 = Web3(Web3.HTTPProvider(volta_node))
    build = json.loads((ROOT / ".build" / "__local__.json").read_text())["contractTypes"]["MockStablecoin"]
    admin = anvil_account(0)
    factory = w3.eth.contract(abi=build["abi"], bytecode=build["deploymentBytecode"]["bytecode"])
    tx = factory.constructor(admin.address).build_transaction(
        {"from": admin.address, "nonce": w3.eth.get_transaction_count(admin.address)}
    )
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(admin.sign_transaction(tx).raw_transaction))
    return str(receipt["contractAddress"])


@pytest.fixture(scope="module")
def volta_manifest(volta_node: str, volta_stablecoin: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`ape run deploy --network ethereum:volta:node`, non-interactive: the deployer is an ape
    keystore account in a temporary ape data folder, unlocked from APE_ACCOUNTS_<alias>_PASSPHRASE."""
    data_folder = tmp_path_factory.mktemp("ape-data")
    (data_folder / "accounts").mkdir()
    keyfile = Account.encrypt(anvil_account(1).key, PASSPHRASE)
    (data_folder / "accounts" / "volta-deployer.json").write_text(json.dumps(keyfile))
    manifest_dir = tmp_path_factory.mktemp("deployments")
    env = {
        **os.environ,
        "APE_DATA_FOLDER": str(data_folder),
        "APE_ACCOUNTS_volta-deployer_PASSPHRASE": PASSPHRASE,
        "ENERGY_GRID_VOLTA_RPC_URL": volta_node,
    }
    command = [
        str(Path(sys.executable).parent / "ape"),
        "run",
        "deploy",
        "--network",
        "ethereum:volta:node",
        "--account",
        "volta-deployer",
        "--autosign",
        "--payment-token",
        volta_stablecoin,
        "--guardian",
        anvil_account(2).address,
        "--operator",
        anvil_account(0).address,
        "--gateway",
        anvil_account(0).address,
        "--manifest-dir",
        str(manifest_dir),
    ]
    run = subprocess.run(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"Deployed to chain {VOLTA_CHAIN_ID} from {anvil_account(1).address}" in run.stdout
    assert "the deployer holds no role" in run.stdout
    return manifest_dir / f"{VOLTA_CHAIN_ID}.json"


def test_the_volta_entry_deploys_and_the_client_reads_its_manifest(volta_manifest: Path, volta_node: str, volta_stablecoin: str) -> None:
    grid = GridClient.from_manifest(volta_manifest, volta_node)
    assert grid.chain_id == VOLTA_CHAIN_ID
    # The deploy script marks the deployment with its start block's hash, which the client checked.
    manifest = read_manifest(volta_manifest)
    assert manifest["startBlockHash"] == "0x" + bytes(grid.w3.eth.get_block(manifest["startBlock"])["hash"]).hex()
    assert grid.payment_token.address == volta_stablecoin
    assert grid.energy_token.decimals() == 3
    assert grid.trading.grid_fee_bps() == 50
    assert grid.auction.period_length_s() == 900
    # Deployed as a public network is: the timelock administers everything, the deployer nothing.
    admin_role = b"\0" * 32
    assert grid.transactor.call(grid["SmartMeter"].functions.hasRole(admin_role, grid["GridTimelock"].address))
    assert not grid.transactor.call(grid["SmartMeter"].functions.hasRole(admin_role, anvil_account(1).address))


def test_the_client_sends_on_the_other_network(volta_manifest: Path, volta_node: str) -> None:
    """The operator (--operator) registers a meter, its device reports, and EnergyToken is minted
    on chain 73799: transactions signed with that chain's id."""
    grid = GridClient.from_manifest(volta_manifest, volta_node)
    operator, owner, device = anvil_account(0), anvil_account(3), Account.create()
    fund = {"from": operator.address, "to": device.address, "value": 10**17}
    fund_tx = {**fund, "gas": 21_000, "nonce": grid.w3.eth.get_transaction_count(operator.address), "chainId": VOLTA_CHAIN_ID}
    fund_tx["gasPrice"] = grid.w3.eth.gas_price
    grid.transactor.wait(grid.w3.eth.send_raw_transaction(operator.sign_transaction(fund_tx).raw_transaction))

    grid.smart_meter.register_meter(operator, device.address, owner.address, 1, 0, 0)
    start = grid.w3.eth.get_block("latest")["timestamp"] + grid.smart_meter.min_reading_interval_s()
    grid.mine_block_at(start)
    receipt = grid.smart_meter.submit_reading(device, MeterReading(start, 400, 1_250))
    assert receipt["status"] == 1
    assert grid.w3.eth.get_transaction(receipt["transactionHash"])["chainId"] == VOLTA_CHAIN_ID
    assert grid.energy_token.balance_of(owner.address) == 1_250
    assert grid.smart_meter.latest_reading(device.address) == MeterReading(start, 400, 1_250)
    assert isinstance(grid.transactor, Transactor)


@pytest.mark.parametrize("hardfork", ["shanghai", "paris"])
def test_a_network_without_cancun_is_refused_before_anything_is_sent(hardfork: str, tmp_path: Path) -> None:
    with anvil_node(extra_args=("--hardfork", hardfork)) as node:
        command = [str(Path(sys.executable).parent / "ape"), "run", "deploy", "--network", node.url, "--manifest-dir", str(tmp_path)]
        run = subprocess.run(command, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False, timeout=600)
        assert run.returncode != 0
        assert f"This network's EVM lacks {REQUIRED_EVM}'s opcodes" in run.stdout + run.stderr
        assert "Traceback" not in run.stdout + run.stderr
        w3 = Web3(Web3.HTTPProvider(node.url))
        assert w3.eth.get_transaction_count(anvil_account(0).address) == 0 and w3.eth.block_number == 0  # nothing sent
    assert not list(tmp_path.iterdir())  # no manifest


@pytest.mark.parametrize("hardfork", ["cancun", "prague"])
def test_a_network_with_cancun_or_later_answers_the_probe(hardfork: str) -> None:
    with anvil_node(extra_args=("--hardfork", hardfork)) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        require_cancun(lambda method, params: w3.provider.make_request(RPCEndpoint(method), params)["result"])
