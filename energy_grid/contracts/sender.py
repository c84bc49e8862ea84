"""Sends many transactions fast: local signing, own nonces, no per-transaction round trip.

    sender = TransactionSender(client)
    sender.send(household, prepare(client["EnergyAuction"], "submitAsk", period, 1_200, 190_000), gas=GAS_ORDER, actor="households")
    ...
    receipts = sender.flush(timestamp=block_time)   # mines the step's block(s) at block_time, checks all

`GridClient.transact` waits for each receipt and estimates gas first: three round trips a
transaction, about 65 a second. Here calls are ABI-encoded with eth-abi (`prepare`: web3's own
encoder formats every argument through several layers and costs milliseconds a call), signed
locally (DynamicFeeTransaction) and queued; `flush` sends the whole queue in one JSON-RPC batch
(over a kept-alive connection, jsonrpc.py), then waits for every receipt and raises a `GridError`
naming the custom error of the first that reverted. Each transaction carries an explicit gas
limit (unused gas is not charged, so a generous one costs nothing but block space).

Two ways to get the queue mined:
- `manual_mining=True` (anvil only: local chains, it sets block times): automine is switched off
  and `flush(timestamp)` mines blocks at `timestamp` (anvil allows blocks of equal time) until the
  pool is empty, so one step's transactions share one block time. Blocks hold up to
  MANUAL_BLOCK_GAS_LIMIT gas meanwhile: anvil rebuilds its whole state trie for every block it
  mines, so a 1,000-household run in 30-million-gas blocks spends most of its time there (its
  baseline upload alone: 661 s in 2,400 blocks, 54 s in a few). Blocks also hold at most
  MANUAL_BLOCK_TRANSACTIONS: anvil builds a receipt by going over the block's transactions before
  it, so reading every receipt of a block costs the square of its size (4,000 plain transfers'
  receipts: 9.3 s from one block, 0.4 s from blocks of 250). `release()` gives the node back
  its automine and block gas limit. Within a block a sender's
  transactions run in nonce order; transactions of different senders that depend on each other
  belong in different flushes.
- `manual_mining=False`: the node mines as it does (any network); `flush` waits for the receipts.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import requests
import rlp
from eth_abi import decode, encode
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from eth_utils import keccak
from eth_utils.abi import (
    function_abi_to_4byte_selector,
    get_abi_input_types,
    get_abi_output_types,
)
from web3 import Web3
from web3.contract import Contract

from energy_grid.contracts.client import GridClient, GridError
from energy_grid.chain.jsonrpc import JsonRpcError, KeptAliveConnection, RequestFailed, call_batch

GWEI = 10**9
# Fee cap: base fee × this, at least MIN_MAX_FEE_PER_GAS; a step's burst of full blocks raises
# the base fee by 12.5 % a block, and a transaction whose cap falls below it would wait forever.
BASE_FEE_HEADROOM = 4
MIN_MAX_FEE_PER_GAS = 50 * GWEI
RECEIPT_POLL_SECONDS = 0.05
RECEIPT_TIMEOUT_SECONDS = 120.0
MAX_BLOCKS_PER_FLUSH = 10_000  # a guard: a transaction that never fits must not loop forever
RPC_BATCH_SIZE = 500
MANUAL_BLOCK_GAS_LIMIT = 10_000_000_000  # while mining by hand: a 1,000-household interval is ~70 Mgas
MANUAL_BLOCK_TRANSACTIONS = 250  # while mining by hand (module docstring)
# Below the 2 MB request body a node's HTTP server (anvil's among them) accepts: a batch of large
# transactions (a gateway's 100 readings is ~40 kB of hex) is split by size, not only by count.
MAX_RPC_BODY_BYTES = 1_000_000
EIP1559_TYPE = b"\x02"  # EIP-2718's type byte of a dynamic-fee transaction


@dataclass(frozen=True)
class _Function:
    selector: bytes
    input_types: list[str]
    output_types: list[str]


_FUNCTIONS: dict[tuple[str, str], _Function] = {}


@dataclass(frozen=True)
class Call:
    """A contract call, ABI-encoded; `fn_name`, `address` and `contract_abi` as web3's
    ContractFunction has them, so `GridClient.explain` names its custom errors."""

    contract: Contract
    fn_name: str
    data: str
    output_types: tuple[str, ...]

    @property
    def address(self) -> str:
        return str(self.contract.address)

    @property
    def contract_abi(self) -> Any:
        return self.contract.abi


def _function(contract: Contract, name: str, signature: str | None) -> _Function:
    key = (str(contract.address), signature or name)
    function = _FUNCTIONS.get(key)
    if function is None:
        candidates = [item for item in cast(list[Any], contract.abi) if item.get("type") == "function" and item["name"] == name]
        if signature is not None:
            candidates = [c for c in candidates if f"{name}({','.join(get_abi_input_types(c))})" == signature]
        if len(candidates) != 1:
            raise GridError(f"{name}: {len(candidates)} functions match; give the signature")
        abi = candidates[0]
        function = _Function(function_abi_to_4byte_selector(abi), get_abi_input_types(abi), get_abi_output_types(abi))
        _FUNCTIONS[key] = function
    return function


def prepare(contract: Contract, name: str, *args: Any, signature: str | None = None) -> Call:
    """`name(args)` on `contract`, encoded; `signature` ("registerMeter(address,address,uint32)")
    picks one of overloaded functions."""
    function = _function(contract, name, signature)
    data = "0x" + (function.selector + encode(function.input_types, list(args))).hex()
    return Call(contract, name, data, tuple(function.output_types))


def _eth_calls(calls: list[Call], block: str) -> list[tuple[str, list[Any]]]:
    return [("eth_call", [{"to": c.address, "data": c.data}, block]) for c in calls]


def _decoded(call: Call, data: Any) -> Any:
    """A call's return data decoded; a single output unwrapped."""
    values = decode(list(call.output_types), bytes.fromhex(str(data).removeprefix("0x")))
    return values[0] if len(values) == 1 else values


@dataclass(frozen=True)
class DynamicFeeTransaction:
    """A value-free EIP-1559 transaction (type 2 in EIP-2718's envelope, empty access list).

    eth-account's `sign_transaction` normalizes and validates every field through generic
    pipelines, about 2 ms a transaction, most of the simulation's signing time at 100 households;
    the fields here are built by the sender itself, so they are RLP-encoded as EIP-1559 lays them
    out and the hash signed with eth-keys (libsecp256k1): the same bytes, a quarter of the time
    (tests/test_sender.py compares them with eth-account's)."""

    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas: int
    to: str
    data: str

    def signed_with(self, key: PrivateKey) -> tuple[bytes, bytes]:
        """(raw transaction, transaction hash)."""
        fields: list[Any] = [
            self.chain_id,
            self.nonce,
            self.max_priority_fee_per_gas,
            self.max_fee_per_gas,
            self.gas,
            bytes.fromhex(self.to.removeprefix("0x")),
            0,  # value
            bytes.fromhex(self.data.removeprefix("0x")),
            [],  # access list
        ]
        signature = key.sign_msg_hash(keccak(EIP1559_TYPE + rlp.encode(fields)))
        raw = EIP1559_TYPE + rlp.encode([*fields, signature.v, signature.r, signature.s])
        return raw, keccak(raw)


@dataclass(frozen=True)
class SentTransaction:
    """A transaction sent, and what is needed to explain it if it reverts."""

    tx_hash: str
    sender: str
    actor: str  # whose gas it is in the report: "households", "gateway", "keeper", …
    call: Call  # to name its custom error
    gas_limit: int


class TransactionSender:
    """Signs locally, tracks nonces itself, sends in batches and checks every receipt."""

    def __init__(self, client: GridClient, *, manual_mining: bool = True) -> None:
        self.client = client
        self.w3: Web3 = client.w3
        self.chain_id = int(self.w3.eth.chain_id)
        self.manual_mining = manual_mining
        if not self._endpoint:
            raise GridError("TransactionSender needs an HTTP provider (it sends JSON-RPC batches).")
        self._session = requests.Session()
        self._connections = threading.local()
        self._direct_endpoints: dict[str, bool] = {}
        self._ids = itertools.count(1)
        self._nonces: dict[str, int] = {}
        self._keys: dict[str, PrivateKey] = {}
        self._queue: list[tuple[str, SentTransaction]] = []  # (raw transaction hex, record)
        self._max_fee_per_gas = 0
        self._block_gas_limit = 0
        self.gas_by_actor: dict[str, int] = defaultdict(int)
        self.transactions_by_actor: dict[str, int] = defaultdict(int)
        self.blocks_mined = 0
        self._node_block_gas_limit = 0
        if manual_mining:
            self.rpc("evm_setAutomine", [False])
            self._node_block_gas_limit = int(self.w3.eth.get_block("latest")["gasLimit"])
            if self._node_block_gas_limit < MANUAL_BLOCK_GAS_LIMIT:
                self.rpc("evm_setBlockGasLimit", [hex(MANUAL_BLOCK_GAS_LIMIT)])
            self._block_gas_limit = max(self._node_block_gas_limit, MANUAL_BLOCK_GAS_LIMIT)

    def release(self) -> None:
        """After manual mining: the node mines on its own again, in blocks of its own gas limit."""
        if self.manual_mining:
            self.rpc("evm_setAutomine", [True])
            if self._node_block_gas_limit < MANUAL_BLOCK_GAS_LIMIT:
                self.rpc("evm_setBlockGasLimit", [hex(self._node_block_gas_limit)])
                # An empty block: until one is mined, the latest block still shows the large limit,
                # and a client sizing its gas by it (ape's `gas_limit: max`) would be refused. It carries
                # the latest block's time, which the chain stands at, however long the set-up took.
                latest = self.rpc("eth_getBlockByNumber", ["latest", False])
                self.rpc("evm_mine", [int(latest["timestamp"], 16)])

    # ------------------------------------------------------------------ JSON-RPC

    @property
    def _endpoint(self) -> str:
        # The client's provider, read each time: one node URL for web3's calls and these batches.
        return str(getattr(self.w3.provider, "endpoint_uri", ""))

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        (result,) = self.rpc_batch([(method, params or [])])
        return result

    def rpc_batch(self, requests_: list[tuple[str, list[Any]]], chunk: int = RPC_BATCH_SIZE) -> list[Any]:
        """Results in order, `chunk` requests a POST; a JSON-RPC error raises GridError with the node's message."""
        try:
            return call_batch(self._post, self._ids, requests_, chunk)
        except JsonRpcError as error:
            raise GridError(str(error)) from error

    def rpc_batch_outcomes(self, requests_: list[tuple[str, list[Any]]], chunk: int = RPC_BATCH_SIZE) -> list[Any]:
        """`rpc_batch`, with a RequestFailed in place of each request the node refused."""
        return call_batch(self._post, self._ids, requests_, chunk, raise_errors=False)

    def block_timestamps(self, blocks: list[int]) -> list[int]:
        """The timestamps of `blocks`, in order, read in JSON-RPC batches."""
        headers = self.rpc_batch([("eth_getBlockByNumber", [hex(b), False]) for b in blocks])
        return [int(header["timestamp"], 16) for header in headers]

    def _post(self, payload: list[dict[str, Any]]) -> Any:
        endpoint = self._endpoint
        if not self._direct(endpoint):  # https, or a proxy in the environment: requests handles them
            response = self._session.post(endpoint, json=payload, timeout=RECEIPT_TIMEOUT_SECONDS)
            response.raise_for_status()
            return response.json()
        # One connection per thread: the API service reads through one sender from many threads.
        connections: dict[str, KeptAliveConnection] = self._connections.__dict__.setdefault("by_endpoint", {})
        connection = connections.get(endpoint)
        if connection is None:
            connection = connections[endpoint] = KeptAliveConnection(endpoint, RECEIPT_TIMEOUT_SECONDS)
        return json.loads(connection.post(json.dumps(payload).encode()))

    def _direct(self, endpoint: str) -> bool:
        """Plain HTTP with no proxy from the environment: the kept-alive connection can reach it."""
        if endpoint not in self._direct_endpoints:
            self._direct_endpoints[endpoint] = endpoint.startswith("http://") and not requests.utils.get_environ_proxies(endpoint)
        return self._direct_endpoints[endpoint]

    # ------------------------------------------------------------------ sending

    def read_nonces(self, addresses: Sequence[str]) -> None:
        """Reads the nonces of the senders in `addresses` it does not track yet, in one JSON-RPC
        batch: a sender's first `send` would otherwise read its own, a round trip each."""
        unknown = [address for address in dict.fromkeys(addresses) if address not in self._nonces]
        counts = self.rpc_batch([("eth_getTransactionCount", [address, "latest"]) for address in unknown])
        self._nonces.update({address: int(count, 16) for address, count in zip(unknown, counts, strict=True)})

    def balances(self, addresses: Sequence[str]) -> list[int]:
        """The native balances (wei) of `addresses`, in one JSON-RPC batch."""
        return [int(balance, 16) for balance in self.rpc_batch([("eth_getBalance", [address, "latest"]) for address in addresses])]

    def reset_nonces(self) -> None:
        """Forgets the nonces it tracked: the next send reads each sender's from the chain."""
        self._nonces.clear()

    def drop_pending(self) -> None:
        """Anvil only: drops every transaction waiting in the pool (left by a killed run)."""
        self.rpc("anvil_dropAllTransactions")
        self.reset_nonces()

    def read(self, calls: list[Call], block: str = "latest") -> list[Any]:
        """Runs view `calls` in one JSON-RPC batch; each result decoded (a single output unwrapped)."""
        raw = self.rpc_batch(_eth_calls(calls, block))
        return [_decoded(call, data) for call, data in zip(calls, raw, strict=True)]

    def read_outcomes(self, calls: list[Call], block: str = "latest") -> list[Any]:
        """`read`, with a RequestFailed (its revert data) in place of each call that reverted."""
        raw = self.rpc_batch_outcomes(_eth_calls(calls, block))
        return [data if isinstance(data, RequestFailed) else _decoded(call, data) for call, data in zip(calls, raw, strict=True)]

    def send(self, signer: LocalAccount, call: Call, *, gas: int, actor: str) -> SentTransaction:
        """Signs `call` with the sender's next nonce and queues it for `flush`."""
        address = signer.address
        if address not in self._nonces:
            self._nonces[address] = int(self.w3.eth.get_transaction_count(address, "latest"))
        if not self._max_fee_per_gas:
            self._refresh_fee_cap()
        nonce = self._nonces[address]
        key = self._keys.get(address)
        if key is None:
            key = self._keys[address] = PrivateKey(bytes(signer.key))
        transaction = DynamicFeeTransaction(self.chain_id, nonce, 0, self._max_fee_per_gas, gas, call.address, call.data)
        raw, tx_hash = transaction.signed_with(key)
        self._nonces[address] = nonce + 1
        record = SentTransaction(tx_hash="0x" + tx_hash.hex(), sender=address, actor=actor, call=call, gas_limit=gas)
        self._queue.append(("0x" + raw.hex(), record))
        return record

    @property
    def queued(self) -> int:
        return len(self._queue)

    def flush(self, timestamp: int | None = None) -> list[dict[str, Any]]:
        """Sends the queue, gets it mined (at `timestamp` when mining manually) and returns the
        receipts in sending order; raises GridError naming the custom error of the first revert."""
        if not self._queue:
            return []
        queue, self._queue = self._queue, []
        if self.manual_mining:
            # Anvil drops a transaction that does not fit the block it mines while later ones of
            # its sender wait: each block gets what fits by gas limit, in queue (so nonce) order.
            for chunk in self._blocks(queue):
                self._send_raw(chunk)
                self.mine_until_empty(timestamp)
        else:
            self._send_raw(queue)
        receipts = self._receipts([record.tx_hash for _, record in queue])
        failed = None
        for (_, record), receipt in zip(queue, receipts, strict=True):
            gas_used = int(receipt["gasUsed"], 16)
            self.gas_by_actor[record.actor] += gas_used
            self.transactions_by_actor[record.actor] += 1
            if int(receipt["status"], 16) != 1 and failed is None:
                failed = (record, receipt)
        self._refresh_fee_cap()
        if failed is not None:
            # Later transactions of the same sender may rely on the failed one: start afresh.
            self.reset_nonces()
            raise GridError(self.explain_failure(*failed))
        return receipts

    def _send_raw(self, queue: list[tuple[str, SentTransaction]]) -> None:
        largest = max(len(raw) for raw, _ in queue)
        chunk = max(1, min(RPC_BATCH_SIZE, MAX_RPC_BODY_BYTES // largest))
        self.rpc_batch([("eth_sendRawTransaction", [raw]) for raw, _ in queue], chunk)

    def _blocks(self, queue: list[tuple[str, SentTransaction]]) -> list[list[tuple[str, SentTransaction]]]:
        if not self._block_gas_limit:
            self._block_gas_limit = int(self.w3.eth.get_block("latest")["gasLimit"])
        blocks: list[list[tuple[str, SentTransaction]]] = [[]]
        used = 0
        for item in queue:
            gas = item[1].gas_limit
            if gas > self._block_gas_limit:
                raise GridError(f"a gas limit of {gas:,} exceeds the block's {self._block_gas_limit:,}")
            if used + gas > self._block_gas_limit or len(blocks[-1]) == MANUAL_BLOCK_TRANSACTIONS:
                blocks.append([])
                used = 0
            blocks[-1].append(item)
            used += gas
        return blocks

    def mine_until_empty(self, timestamp: int | None) -> None:
        """Anvil only: mines blocks at `timestamp` (or anvil's next) until no transaction waits."""
        for _ in range(MAX_BLOCKS_PER_FLUSH):
            self.rpc("evm_mine", [timestamp] if timestamp is not None else [])
            self.blocks_mined += 1
            status = self.rpc("txpool_status")
            if int(status["pending"], 16) == 0 and int(status["queued"], 16) == 0:
                return
        raise GridError(f"transactions still pending after {MAX_BLOCKS_PER_FLUSH} blocks")

    def _receipts(self, hashes: list[str]) -> list[dict[str, Any]]:
        deadline = time.monotonic() + RECEIPT_TIMEOUT_SECONDS
        receipts: dict[str, dict[str, Any]] = {}
        while True:
            missing = [h for h in hashes if h not in receipts]
            if not missing:
                return [receipts[h] for h in hashes]
            for tx_hash, receipt in zip(missing, self.rpc_batch([("eth_getTransactionReceipt", [h]) for h in missing]), strict=True):
                if receipt is not None:
                    receipts[tx_hash] = receipt
            if len(receipts) < len(hashes):
                if time.monotonic() > deadline:
                    raise GridError(f"{len(hashes) - len(receipts)} transactions not mined in {RECEIPT_TIMEOUT_SECONDS:.0f} s")
                time.sleep(RECEIPT_POLL_SECONDS)

    def _refresh_fee_cap(self) -> None:
        block = self.w3.eth.get_block("latest")
        base_fee = int(block.get("baseFeePerGas", 0) or 0)
        self._max_fee_per_gas = max(MIN_MAX_FEE_PER_GAS, base_fee * BASE_FEE_HEADROOM)

    def explain_failure(self, record: SentTransaction, receipt: dict[str, Any]) -> str:
        """`fn rejected: Error(args): notice`, from the revert data of the mined transaction."""
        name = getattr(record.call, "fn_name", "transaction")
        if int(receipt["gasUsed"], 16) >= record.gas_limit:
            return f"{name} ran out of gas (limit {record.gas_limit:,}) in {record.tx_hash}"
        data = self._revert_data(record)
        reason = self.client.explain(record.call, data) if data else "reverted without data"
        return f"{name} rejected: {reason} (transaction {record.tx_hash})"

    def _revert_data(self, record: SentTransaction) -> str:
        try:
            trace = self.rpc("debug_traceTransaction", [record.tx_hash, {"tracer": "callTracer"}])
        except GridError:
            return ""
        output = trace.get("output") if isinstance(trace, dict) else None
        return str(output) if output and output != "0x" else ""


__all__ = ["Call", "SentTransaction", "TransactionSender", "prepare"]
