"""The bulk sender: its own signing (energy_grid.contracts.sender.DynamicFeeTransaction) is byte for byte the
transaction eth-account signs from the same fields, and mining by hand it sends large batches and
gives the node back as it found it. The sender on a chain runs in every simulation test
(tests/test_simulation_run.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account
from eth_keys.datatypes import PrivateKey
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.types import Wei

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.anvil import start_anvil
from energy_grid.contracts.sender import MANUAL_BLOCK_GAS_LIMIT, DynamicFeeTransaction, TransactionSender, prepare

UINT64 = st.integers(0, 2**64 - 1)
UINT256 = st.integers(0, 2**256 - 1)


@settings(max_examples=60, deadline=None)
@given(
    secret=st.integers(1, 2**128),
    chain_id=st.sampled_from([1, 31337, 11155111, 2**32 + 7]),
    nonce=UINT64,
    priority_fee=UINT256,
    max_fee=UINT256,
    gas=st.integers(21_000, 30_000_000),
    to=st.binary(min_size=20, max_size=20),
    data=st.binary(max_size=300),
)
def test_the_same_bytes_and_hash_as_eth_account(secret, chain_id, nonce, priority_fee, max_fee, gas, to, data):
    account, address = Account.from_key(secret.to_bytes(32, "big")), to_checksum_address(to)
    transaction = DynamicFeeTransaction(chain_id, nonce, priority_fee, max_fee, gas, address, "0x" + data.hex())
    raw, tx_hash = transaction.signed_with(PrivateKey(bytes(account.key)))
    expected = account.sign_transaction(
        {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "maxPriorityFeePerGas": priority_fee,
            "maxFeePerGas": max_fee,
            "gas": gas,
            "to": address,
            "value": 0,
            "data": "0x" + data.hex(),
        }
    )
    assert raw == bytes(expected.raw_transaction)
    assert tx_hash == bytes(expected.hash)
    assert Account.recover_transaction(raw) == account.address


def test_a_different_key_signs_a_different_transaction():
    transaction = DynamicFeeTransaction(31337, 0, 0, 10**9, 50_000, "0x" + "11" * 20, "0x")
    first, second = (transaction.signed_with(PrivateKey(bytes([k]) * 32)) for k in (1, 2))
    assert first[0] != second[0] and first[1] != second[1]
    with pytest.raises(ValueError):
        DynamicFeeTransaction(31337, 0, 0, 10**9, 50_000, "0xnot-hex", "0x").signed_with(PrivateKey(b"\x01" * 32))


def _function(name: str, *input_types: str) -> dict[str, Any]:
    inputs = []
    for i, abi_type in enumerate(input_types):
        if abi_type.startswith("("):  # a tuple array: its components
            fields = abi_type.removeprefix("(").removesuffix(")[]").split(",")
            components = [{"name": f"f{j}", "type": t} for j, t in enumerate(fields)]
            inputs.append({"name": f"a{i}", "type": "tuple[]", "components": components})
        else:
            inputs.append({"name": f"a{i}", "type": abi_type})
    return {"type": "function", "name": name, "stateMutability": "nonpayable", "inputs": inputs, "outputs": []}


SINK_ABI = [
    {"type": "function", "name": "take", "stateMutability": "nonpayable", "inputs": [{"name": "data", "type": "bytes"}], "outputs": []}
]


def test_mining_by_hand_sends_large_batches_in_large_blocks_and_gives_the_node_back() -> None:
    node = start_anvil()
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        node_gas_limit = int(w3.eth.get_block("latest")["gasLimit"])
        client: Any = SimpleNamespace(w3=w3)  # the sender reads only the client's web3
        sender = TransactionSender(client)
        # 40 transactions of 40 kB calldata each: 3.2 MB of hex, over the 2 MB request body anvil
        # accepts, and 40 million gas, over a 30-million block.
        sink = w3.eth.contract(address=anvil_account(9).address, abi=SINK_ABI)
        for _ in range(40):
            sender.send(anvil_account(1), prepare(sink, "take", bytes(40_000)), gas=1_000_000, actor="sender")
        receipts = sender.flush()
        assert [int(r["status"], 16) for r in receipts] == [1] * 40
        (block_number,) = {int(r["blockNumber"], 16) for r in receipts}
        assert int(w3.eth.get_block(block_number)["gasLimit"]) == MANUAL_BLOCK_GAS_LIMIT > node_gas_limit
        assert sender.gas_by_actor["sender"] == sum(int(r["gasUsed"], 16) for r in receipts)

        # However long the work after the last block took (here: the node's clock moved on 30 s), the
        # chain is given back standing at the last block's time.
        last_s = int(w3.eth.get_block(block_number)["timestamp"])
        w3.provider.make_request("evm_increaseTime", [30])  # type: ignore[arg-type]
        sender.release()
        assert w3.provider.make_request("anvil_getAutomine", [])["result"] is True  # type: ignore[arg-type]
        assert int(w3.eth.get_block("latest")["gasLimit"]) == node_gas_limit  # a client sizing gas by it is not refused
        assert int(w3.eth.get_block("latest")["timestamp"]) == last_s
        w3.eth.send_transaction({"from": anvil_account(2).address, "to": anvil_account(3).address, "value": Wei(1)})
        assert int(w3.eth.get_block("latest")["gasLimit"]) == node_gas_limit
    finally:
        node.stop()
