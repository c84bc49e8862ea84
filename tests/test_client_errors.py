"""The client's errors, one GridError subclass at a time, and its enums and structs held to the
Solidity sources and the ABI they mirror."""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import typing
from enum import IntEnum
from pathlib import Path

import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractCustomError

from energy_grid.chain.errors import (
    ChainMismatchError,
    ContractRevertError,
    DeploymentNotOnChainError,
    GridError,
    InvalidInputError,
    ManifestError,
    NodeUnreachableError,
    TransactionRevertedError,
    describe_builtin_revert,
    describe_revert,
    fill_notice,
)
from energy_grid.chain.manifest import build_manifest, read_manifest, write_manifest
from energy_grid.cli.records import record
from energy_grid.contracts import CONTRACT_CLASSES
from energy_grid.contracts.base import snake_case
from energy_grid.contracts.client import GridClient, MeterReading
from energy_grid.contracts.governance import OperationState, ProposalState
from energy_grid.contracts.structs import SOLIDITY_STRUCTS, DemandResponseEvent
from energy_grid.deploy.system import deploy_system, fund_local_accounts
from energy_grid.domain.enums import SOLIDITY_ENUMS, EventStatus, OrderType, TransactionStatus

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
PRICE_PER_KWH = 200_000


@pytest.fixture(scope="module")
def errors_system(project, admin):
    return deploy_system(project, admin)


@pytest.fixture
def errors_manifest(errors_system, chain, tmp_path):
    return write_manifest(build_manifest(chain.chain_id, errors_system.contracts()), tmp_path)


@pytest.fixture
def errors_client(errors_manifest, networks):
    return GridClient.from_manifest(errors_manifest, networks.provider.uri)


def key_of(account: typing.Any) -> LocalAccount:
    return Account.from_key(account.private_key)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settled_transaction(grid: GridClient, system: typing.Any, accounts: typing.Any) -> int:
    """A trade of 1 kWh, settled: seller's meter exports, buyer crosses the ask."""
    operator, seller, buyer, device = key_of(accounts[0]), key_of(accounts[1]), key_of(accounts[2]), key_of(accounts[7])
    fund_local_accounts(system, accounts[0], [accounts[2]])
    grid.smart_meter.register_meter(operator, device.address, seller.address, 1, 0, 0)
    now = grid.w3.eth.get_block("latest")["timestamp"]
    grid.mine_block_at(now + 61)
    grid.smart_meter.submit_reading(device, MeterReading(now + 61, 0, 1_000))
    grid.approve_market(seller)
    grid.approve_market(buyer)
    grid.trading.create_order(seller, 1_000, PRICE_PER_KWH, now + 3_600, OrderType.SELL)
    (transaction_id,) = grid.trading.place_order(buyer, 1_000, PRICE_PER_KWH, now + 3_600, OrderType.BUY).transaction_ids
    grid.trading.settle_transaction(operator, transaction_id)
    return transaction_id


# ------------------------------------------------------------------------------- ContractRevertError


def test_a_custom_error_names_function_error_arguments_and_notice(errors_client, errors_system, accounts):
    transaction_id = settled_transaction(errors_client, errors_system, accounts)
    assert errors_client.trading.get_transaction(transaction_id).status is TransactionStatus.SETTLED
    with pytest.raises(ContractRevertError) as rejected:
        errors_client.trading.settle_transaction(key_of(accounts[0]), transaction_id)
    err = rejected.value
    assert str(err) == (
        f"settleTransaction rejected: TransactionNotPending(transactionId={transaction_id}, status=1): "
        "The transaction was settled or voided already."
    )
    assert (err.contract, err.function, err.error_name) == ("EnergyTrading", "settleTransaction", "TransactionNotPending")
    assert err.arguments == {"transactionId": transaction_id, "status": 1}
    assert err.notice == "The transaction was settled or voided already."
    assert isinstance(err, GridError)


def test_a_view_that_reverts_raises_the_same_error(errors_client):
    meter = Account.create().address
    with pytest.raises(ContractRevertError) as rejected:
        errors_client.smart_meter.interval_history(meter, 0, 1)
    assert rejected.value.function == "getIntervalHistory"
    assert rejected.value.contract == "SmartMeter"
    assert rejected.value.error_name != ""
    assert rejected.value.arguments  # every custom error here names its inputs


def test_an_error_bubbling_up_from_another_contract_is_named_from_its_abi(errors_client):
    """EnergyTrading's ABI lacks the token's ERC-20 errors: the token's ABI and NatSpec name it."""
    holder = Account.create().address
    data = "0x" + Web3.keccak(text="ERC20InsufficientBalance(address,uint256,uint256)")[:4].hex()
    data += encode(["address", "uint256", "uint256"], [holder, 5, 7]).hex()
    assert "ERC20InsufficientBalance" not in {e.get("name") for e in errors_client["EnergyTrading"].abi}
    err = errors_client.transactor.rejection(errors_client["EnergyTrading"].functions.orderCount(), data)
    assert isinstance(err, ContractRevertError)
    assert (err.function, err.error_name) == ("orderCount", "ERC20InsufficientBalance")
    assert err.arguments == {"sender": holder.lower(), "balance": 5, "needed": 7}


def test_the_notice_reads_with_the_arguments_values(errors_client, accounts):
    """NatSpec quotes a parameter as `orderId`: the user reads the value the contract reverted with."""
    missing_order = errors_client.trading.order_count() + 999_999
    with pytest.raises(ContractRevertError) as rejected:
        errors_client.trading.get_order(missing_order)
    assert rejected.value.error_name == "OrderUnknown"
    assert rejected.value.notice == f"No order has id {missing_order}."
    assert "`" not in str(rejected.value)
    stranger = Account.create().address.lower()
    with pytest.raises(ContractRevertError) as unknown_meter:
        errors_client.smart_meter.deactivate_meter(key_of(accounts[0]), Web3.to_checksum_address(stranger))
    assert unknown_meter.value.error_name == "MeterUnknown"
    assert unknown_meter.value.notice == f"No meter is registered at {Web3.to_checksum_address(stranger)}."


def test_no_error_text_of_the_system_shows_a_backtick(errors_client):
    """Every custom error of every deployed contract, as the client words it: no NatSpec quoting left."""
    described = 0
    for contract in errors_client.contracts.values():
        userdoc = errors_client.userdocs[contract.address.lower()]
        for item in contract.abi:
            if item["type"] != "error" or not item["inputs"]:
                continue
            types = [i["type"] for i in item["inputs"]]
            selector = Web3.keccak(text=f"{item['name']}({','.join(types)})")[:4]
            text = describe_revert(list(contract.abi), "0x" + (selector + encode(types, [zero_of(t) for t in types])).hex(), userdoc)
            assert text.startswith(item["name"]) and "`" not in text, text
            described += 1
    assert described > 50


def zero_of(abi_type: str) -> object:
    if abi_type.endswith("[]"):
        return []
    if abi_type == "address":
        return "0x" + "00" * 20
    if abi_type == "bool":
        return False
    if abi_type == "string":
        return ""
    if abi_type.startswith("bytes"):
        return b"" if abi_type == "bytes" else b"\0" * int(abi_type[5:])
    return 0


def test_a_quoted_name_the_error_does_not_carry_keeps_its_word():
    notice = "A cursor above `recordCount` of `tokenId`; see `getMaintenanceRecords`.`"
    assert fill_notice(notice, {"tokenId": "7"}) == "A cursor above recordCount of 7; see getMaintenanceRecords."


# ------------------------------------------------------------------------------- TransactionRevertedError


def test_a_revert_without_data_is_a_transaction_reverted_error(errors_client, errors_system):
    """EnergyToken has no createOrder and no fallback: the call reverts with empty data."""
    wrong = errors_client.w3.eth.contract(address=errors_system.energy_token.address, abi=errors_client["EnergyTrading"].abi)
    with pytest.raises(TransactionRevertedError) as reverted:
        errors_client.transactor.call(wrong.functions.orderCount())
    assert reverted.value.function == "orderCount"
    assert not isinstance(reverted.value, ContractRevertError)
    assert isinstance(reverted.value, GridError)


def test_solidity_builtin_reverts_are_described():
    assert describe_builtin_revert("0x08c379a0" + encode(["string"], ["no"]).hex()) == "Error('no')"
    assert describe_builtin_revert("0x4e487b71" + encode(["uint256"], [0x11]).hex()) == "Panic(0x11)"
    assert describe_builtin_revert("0xdeadbeef") is None


# ------------------------------------------------------------------------------- ManifestError


def test_a_missing_manifest_is_a_manifest_error(tmp_path):
    with pytest.raises(ManifestError, match="make deploy"):
        read_manifest(tmp_path / "31337.json")
    with pytest.raises(ManifestError, match="make deploy"):
        GridClient.from_manifest(tmp_path / "31337.json", "http://127.0.0.1:1")


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "is not JSON"),
        ('{"contracts": {}}', "no integer chainId"),
        ('{"chainId": 1, "contracts": {}}', "lists no contracts"),
        ('{"chainId": 1, "contracts": {"SmartMeter": {"address": "0x12", "abi": []}}}', "SmartMeter has no valid address"),
        ('{"chainId": 1, "contracts": {"SmartMeter": {"address": "0x' + "11" * 20 + '"}}}', "SmartMeter has no ABI"),
    ],
)
def test_an_invalid_manifest_is_a_manifest_error(tmp_path, text, message):
    path = tmp_path / "1.json"
    path.write_text(text)
    with pytest.raises(ManifestError, match=message):
        read_manifest(path)


def test_a_manifest_without_a_contract_the_client_needs(errors_system, chain, networks):
    manifest = build_manifest(chain.chain_id, errors_system.contracts())
    del manifest["contracts"]["SmartMeter"]
    with pytest.raises(ManifestError, match="has no SmartMeter"):
        GridClient(Web3(Web3.HTTPProvider(networks.provider.uri)), manifest)


# ------------------------------------------------------------------------------- NodeUnreachableError


def test_no_node_at_the_rpc_url(errors_manifest):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(NodeUnreachableError, match="No node answers") as unreachable:
        GridClient.from_manifest(errors_manifest, url, timeout_s=2)
    assert unreachable.value.rpc_url == url


# ------------------------------------------------------------------------------- DeploymentNotOnChainError


def stale_manifest(manifest: dict, directory: Path) -> Path:
    """The manifest as another chain with the same id left it: addresses where this chain has no code."""
    for number, entry in enumerate(manifest["contracts"].values(), start=1):
        entry["address"] = Web3.to_checksum_address(f"0x{'de' * 19}{number:02x}")
    return write_manifest(manifest, directory)


def test_a_manifest_whose_contracts_have_no_code_on_the_node(errors_system, chain, networks, tmp_path):
    path = stale_manifest(build_manifest(chain.chain_id, errors_system.contracts()), tmp_path)
    url = networks.provider.uri
    with pytest.raises(DeploymentNotOnChainError) as stale:
        GridClient.from_manifest(path, url)
    assert str(stale.value) == (
        f"The deployment in {path} is not on the chain at {url} (no code at its contracts): "
        "run `make deploy` (or `make simulate`) against this node."
    )
    assert isinstance(stale.value, ManifestError)  # a manifest that does not fit the chain, as before
    # The deployed contracts' own manifest passes the same check.
    assert GridClient.from_manifest(write_manifest(build_manifest(chain.chain_id, errors_system.contracts()), tmp_path), url)


# ------------------------------------------------------------------------------- ChainMismatchError


def test_a_manifest_of_another_chain(errors_system, chain, networks):
    manifest = build_manifest(chain.chain_id + 1, errors_system.contracts())
    with pytest.raises(ChainMismatchError) as mismatch:
        GridClient(Web3(Web3.HTTPProvider(networks.provider.uri)), manifest)
    assert (mismatch.value.node_chain_id, mismatch.value.manifest_chain_id) == (chain.chain_id, chain.chain_id + 1)
    assert isinstance(mismatch.value, ValueError)  # what callers caught before the hierarchy


# ------------------------------------------------------------------------------- InvalidInputError


def test_a_transaction_is_estimated_at_the_latest_block_not_on_the_pool(errors_client, accounts):
    """web3 asks for its default block, the latest: at the pending block (anvil's default) a node
    runs every pooled transaction first, again for each estimate, and judges the call by state no
    block holds yet."""
    operator = key_of(accounts[0])
    auction = errors_client["EnergyAuction"].functions
    w3 = errors_client.w3
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        errors_client.transactor.send(operator, auction.pause())  # waits in the pool
        # The pool's pause would make this one revert (EnforcedPause); the latest block says it passes.
        tx = errors_client.transactor.build(operator.address, auction.pause())
        assert tx["gas"] > 0
        enforced_pause = "0x" + Web3.keccak(text="EnforcedPause()")[:4].hex()
        with pytest.raises(ContractCustomError, match=enforced_pause):
            w3.eth.estimate_gas({"from": operator.address, "to": tx["to"], "data": tx["data"]}, "pending")
    finally:
        w3.provider.make_request("anvil_dropAllTransactions", [])
        w3.provider.make_request("evm_setAutomine", [True])


def test_input_refused_before_sending_costs_nothing(errors_client, accounts):
    trader = key_of(accounts[5])
    nonce = errors_client.w3.eth.get_transaction_count(trader.address)
    expiry = errors_client.w3.eth.get_block("latest")["timestamp"] + 3_600
    refusals = [
        (lambda: errors_client.trading.create_order(trader, 1_000, PRICE_PER_KWH, expiry, 7), "not a OrderType"),
        (lambda: errors_client.trading.create_order(trader, 0, PRICE_PER_KWH, expiry, OrderType.SELL), "amount_wh"),
        (lambda: errors_client.trading.cancel_order(trader, -1), "cancelOrder"),
        (lambda: errors_client.smart_meter.submit_readings(trader, [trader.address], []), "1 meters but 0 readings"),
        (lambda: errors_client.grid_management.register_producer(trader, 1_000, 9), "not a EnergyType"),
        (lambda: errors_client.carbon_credits.retire(trader, 1, trader.address, "x" * 257), "at most 256 bytes"),
    ]
    for refuse, message in refusals:
        with pytest.raises(InvalidInputError, match=message):
            refuse()
    assert errors_client.w3.eth.get_transaction_count(trader.address) == nonce


# ------------------------------------------------------------------------------- enums and structs


def solidity_enums() -> dict[str, list[str]]:
    """Every enum declared in an interface (each lives beside its contract, in that contract's domain
    folder under contracts/), as `IName.Enum` -> member names in order."""
    interfaces = [
        p
        for p in CONTRACTS.rglob("I*.sol")
        if re.fullmatch(r"I[A-Z]\w*", p.stem) and not {".cache", "test"} & set(p.relative_to(CONTRACTS).parts)
    ]
    assert interfaces
    found: dict[str, list[str]] = {}
    for source in sorted(interfaces):
        text = re.sub(r"//[^\n]*|/\*.*?\*/", "", source.read_text(), flags=re.DOTALL)
        for name, body in re.findall(r"\benum\s+(\w+)\s*\{([^}]*)\}", text):
            found[f"{source.stem}.{name}"] = [member.strip() for member in body.split(",") if member.strip()]
    return found


def test_every_enum_mirrors_its_solidity_declaration():
    declared = solidity_enums()
    assert set(declared) == set(SOLIDITY_ENUMS)
    for name, members in declared.items():
        enum = SOLIDITY_ENUMS[name]
        assert [(m.name, m.value) for m in enum] == [(member, i) for i, member in enumerate(members)], name


def abi_structs() -> dict[str, list[dict]]:
    """Every struct in the compiled ABIs, by internalType name (OpenZeppelin's own excluded, and the test
    harnesses', which expose a library's internals and no client reads)."""
    build = json.loads((ROOT / ".build" / "__local__.json").read_text())
    structs: dict[str, list[dict]] = {}

    def walk(item: dict) -> None:
        if item["type"].startswith("tuple"):
            name = re.sub(r"(\[\d*\])+$", "", item["internalType"].removeprefix("struct "))  # T[], T[2]
            structs.setdefault(name, item["components"])
            for component in item["components"]:
                walk(component)

    for contract in build["contractTypes"].values():
        if contract.get("sourceId", "").startswith("contracts/test/"):
            continue
        for entry in contract.get("abi", []):
            for item in entry.get("inputs", []) + entry.get("outputs", []):
                walk(item)
    return {name: components for name, components in structs.items() if not name.startswith("Checkpoints.")}


def test_every_struct_dataclass_mirrors_its_abi_struct():
    structs = abi_structs()
    assert set(structs) == set(SOLIDITY_STRUCTS)
    for name, components in structs.items():
        cls = SOLIDITY_STRUCTS[name]
        fields = dataclasses.fields(cls)
        assert len(fields) == len(components), name
        hints = typing.get_type_hints(cls)
        for field, component in zip(fields, components, strict=True):
            # The Python name is the ABI name in snake case, or names the unit the ABI name lacks.
            assert field.metadata.get("abi", field.name) == (
                component["name"] if "abi" in field.metadata else snake_case(component["name"])
            ), (name, field.name)
            internal = component.get("internalType", "")
            if internal.startswith("enum "):
                assert hints[field.name] is SOLIDITY_ENUMS[internal.removeprefix("enum ")], (name, field.name)


def test_the_command_line_prints_a_struct_under_its_abi_names():
    """A dataclass may add the unit its ABI name lacks (`total_reduction_achieved_w`); the command line
    keeps printing the ABI name in snake case (`total_reduction_achieved`), enums as their numbers."""
    for name, components in abi_structs().items():
        cls = SOLIDITY_STRUCTS[name]
        blank = cls(**{field.name: 0 for field in dataclasses.fields(cls)})
        assert record(blank) == {snake_case(component["name"]): 0 for component in components}, name
    event = DemandResponseEvent(7, "0x" + "ab" * 20, 5, 2_000_000, 0, 3_600, EventStatus.Completed, 1, 1_500, 1)
    printed = record(event)
    assert (printed["total_reduction_achieved"], printed["status"], type(printed["status"])) == (1_500, 1, int)


def test_every_enum_of_a_deployed_contract_has_an_int_enum():
    """Ours (above) and OpenZeppelin's governance states, which the governance classes mirror."""
    build = json.loads((ROOT / ".build" / "__local__.json").read_text())
    deployed = {name: build["contractTypes"][name] for name in (*CONTRACT_CLASSES, "MockStablecoin") if name in build["contractTypes"]}
    used = set(re.findall(r'"internalType": "enum ([\w.]+)"', json.dumps(deployed)))
    known: dict[str, type] = {
        **SOLIDITY_ENUMS,
        "IGovernor.ProposalState": ProposalState,
        "TimelockController.OperationState": OperationState,
    }
    assert used <= set(known)
    assert all(issubclass(enum, IntEnum) for enum in known.values())
    assert [m.name for m in ProposalState] == ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"]
    assert [m.name for m in OperationState] == ["Unset", "Waiting", "Ready", "Done"]


def test_unit_names_read_as_python():
    assert snake_case("pricePerKWh") == "price_per_kwh"
    assert snake_case("frequencyMilliHz") == "frequency_millihz"
    assert snake_case("irradianceWPerM2") == "irradiance_w_per_m2"
    assert snake_case("targetReductionKW") == "target_reduction_kw"
    assert snake_case("capacityMW") == "capacity_mw"


def test_no_system_exit_in_library_code():
    """The library raises GridErrors; only a command line (energy_grid/cli*) decides to exit."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "energy_grid").rglob("*.py")
        if not path.relative_to(ROOT / "energy_grid").parts[0].startswith("cli")
        and re.search(r"\bSystemExit\b|\bsys\.exit\(", path.read_text())
    ]
    assert offenders == []
