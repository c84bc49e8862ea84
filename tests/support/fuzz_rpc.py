"""A thin raw JSON-RPC layer for the system fuzzer: ABI encoding from the compiled contract types,
batched eth_calls, transactions from the node's unlocked dev accounts, custom-error decoding.

ape's contract calls cost several round trips each (gas estimation, nonce, receipt, tracing);
the invariant checks read about a hundred values after every step, so they go out as one JSON-RPC
batch instead, and transactions go through `eth_sendTransaction` (the node estimates gas, and a
reverting call fails the estimate with the revert data, so one request both sends and reports).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address

from energy_grid.chain.jsonrpc import KeptAliveConnection

from support.anvil_node import wait_until

TRANSFER_TOPIC = keccak(text="Transfer(address,address,uint256)")
TRANSFER_SINGLE_TOPIC = keccak(text="TransferSingle(address,address,address,uint256,uint256)")
ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string): a require message
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256): an assert, overflow, division by zero



RECEIPT_TIMEOUT_S = 60.0
# Anvil's automine answers the send before the block is mined, and the receipt is there a few
# milliseconds later: at 20 ms a poll, the waits were 40 % of the system machine's run.
RECEIPT_POLL_S = 0.002


def mined_receipt(request: Callable[[str, list[Any]], Any], tx: dict[str, Any]) -> dict[str, Any]:
    """Sends `tx` from an account the node signs for (unlocked or impersonated) and returns its
    receipt (raw JSON-RPC: hex strings). The node mines each transaction as it comes (automine), a
    few milliseconds after the send answers. Not anvil's synchronous send (eth_sendTransactionSync):
    on a loaded machine it answered an error instead of a receipt."""
    tx_hash = request("eth_sendTransaction", [tx])
    receipt: dict[str, Any] = wait_until(
        lambda: request("eth_getTransactionReceipt", [tx_hash]), RECEIPT_TIMEOUT_S, f"the receipt of {tx_hash}", poll_s=RECEIPT_POLL_S
    )
    return receipt


class RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.code = error.get("code")
        self.message = error.get("message", "")
        self.data = error.get("data")


class Rpc:
    """JSON-RPC over one kept-alive connection (energy_grid.chain.jsonrpc), with batches: the fuzzer sends
    thousands of small requests, and requests' own work on each cost more than the node took to
    answer it."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._connection = KeptAliveConnection(uri, timeout=60.0)
        self._id = 0

    def _post(self, payload: Any) -> Any:
        return json.loads(self._connection.post(json.dumps(payload).encode()))

    def request(self, method: str, params: list[Any]) -> Any:
        self._id += 1
        body = self._post({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        if "error" in body:
            raise RpcError(body["error"])
        return body["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Results in call order; a failed call's slot holds its RpcError."""
        if not calls:
            return []
        first = self._id + 1
        self._id += len(calls)
        payload = [{"jsonrpc": "2.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        replies = {r["id"]: r for r in self._post(payload)}
        return [
            RpcError(replies[first + i]["error"]) if "error" in replies[first + i] else replies[first + i]["result"]
            for i in range(len(calls))
        ]


def _types(params: Any) -> tuple[str, ...]:
    return tuple(p.canonical_type for p in params)


def _frozen(value: Any) -> Any:
    """`value` with every list a tuple (eth_abi encodes either), so it can be a cache key."""
    return tuple(_frozen(v) for v in value) if isinstance(value, list | tuple) else value


# The invariants read the same hundred views after every step, most with the same arguments and
# many with the same answer: ABI-encoding and decoding them in pure Python took a quarter of the
# machine's time. Both are pure functions of their (immutable) inputs, so they are remembered.
@functools.lru_cache(maxsize=1 << 16)
def _calldata(selector: bytes, inputs: tuple[str, ...], args: tuple[Any, ...]) -> str:
    return "0x" + (selector + encode(inputs, args)).hex()


@functools.lru_cache(maxsize=1 << 16)
def _decoded(outputs: tuple[str, ...], data: str) -> tuple[Any, ...]:
    return decode(outputs, bytes.fromhex(data[2:]))


@dataclass
class Method:
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass
class Contract:
    """A deployed contract's address and its ABI's functions (overloads told apart by arity)."""

    name: str
    address: str
    methods: dict[tuple[str, int], Method] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, ape_contract: Any) -> Contract:
        contract = cls(name, ape_contract.address)
        for item in ape_contract.contract_type.abi:
            if item.type == "function":
                contract.methods[(item.name, len(item.inputs))] = Method(
                    keccak(text=item.selector)[:4], _types(item.inputs), _types(item.outputs)
                )
        return contract

    def method(self, fn: str, arity: int) -> Method:
        return self.methods[(fn, arity)]

    def calldata(self, fn: str, *args: Any) -> str:
        m = self.method(fn, len(args))
        return _calldata(m.selector, m.inputs, _frozen(args))

    def decode(self, fn: str, arity: int, data: str) -> Any:
        values = _decoded(self.method(fn, arity).outputs, data)
        return values[0] if len(values) == 1 else values


class ErrorBook:
    """Every custom error of every compiled contract, by selector."""

    def __init__(self, contract_types: list[Any]) -> None:
        self.errors: dict[bytes, tuple[str, tuple[str, ...]]] = {}
        for contract_type in contract_types:
            for item in contract_type.abi:
                if item.type == "error":
                    self.errors[keccak(text=item.selector)[:4]] = (item.name, _types(item.inputs))

    def name(self, data: str | None) -> str:
        """The custom error `data` encodes; raises AssertionError for anything else (a require
        string, a panic, an empty revert, an error no contract declares)."""
        raw = bytes.fromhex((data or "0x")[2:])
        assert len(raw) >= 4, f"revert without a custom error (data {data!r})"
        selector = raw[:4]
        assert selector != ERROR_STRING_SELECTOR, f"require string revert: {data}"
        assert selector != PANIC_SELECTOR, f"panic: {decode(['uint256'], raw[4:])[0]:#x}"
        assert selector in self.errors, f"revert with an undeclared selector {selector.hex()}"
        return self.errors[selector][0]


@dataclass
class Outcome:
    ok: bool
    error: str | None = None  # the custom error's name when it reverted
    logs: list[dict[str, Any]] = field(default_factory=list)
    block_timestamp: int = 0

    def events(self, contract: Contract, topic0: bytes) -> list[dict[str, Any]]:
        return [
            log
            for log in self.logs
            if log["address"].lower() == contract.address.lower() and bytes.fromhex(log["topics"][0][2:]) == topic0
        ]


def topic(signature: str) -> bytes:
    return keccak(text=signature)


def word(hex_data: str, index: int) -> int:
    """The `index`-th 32-byte word of a log's data."""
    raw = hex_data[2:]
    return int(raw[64 * index : 64 * (index + 1)], 16)


def topic_int(log: dict[str, Any], index: int) -> int:
    return int(log["topics"][index], 16)


def topic_address(log: dict[str, Any], index: int) -> str:
    return to_checksum_address("0x" + log["topics"][index][-40:])


class Node:
    """Sends transactions and reads state through raw JSON-RPC."""

    GAS_LIMIT = hex(15_000_000)

    def __init__(self, rpc: Rpc, errors: ErrorBook) -> None:
        self.rpc = rpc
        self.errors = errors
        self.sent = 0

    def transact(self, contract: Contract, fn: str, args: tuple[Any, ...], sender: str) -> Outcome:
        """Sends `contract.fn(*args)` from `sender` (an account the node holds unlocked) with a fixed
        gas limit, so a reverting call is mined like any other (no estimate round trip); its revert
        data then comes from the node's call tracer, and must be a declared custom error."""
        tx = {"from": sender, "to": contract.address, "data": contract.calldata(fn, *args), "gas": self.GAS_LIMIT}
        receipt = mined_receipt(self.rpc.request, tx)
        self.sent += 1
        if int(receipt["status"], 16) == 1:
            return Outcome(True, None, receipt["logs"])
        trace = self.rpc.request("debug_traceTransaction", [receipt["transactionHash"], {"tracer": "callTracer"}])
        assert int(receipt["gasUsed"], 16) < int(self.GAS_LIMIT, 16), f"{contract.name}.{fn}{args}: out of gas"
        return Outcome(False, self.errors.name(trace.get("output")))

    def call(self, contract: Contract, fn: str, *args: Any, sender: str | None = None) -> Any:
        tx: dict[str, Any] = {"to": contract.address, "data": contract.calldata(fn, *args)}
        if sender:
            tx["from"] = sender
        return contract.decode(fn, len(args), self.rpc.request("eth_call", [tx, "latest"]))

    def calls(self, requests_: list[tuple[Contract, str, tuple[Any, ...]]]) -> list[Any]:
        """Batched views; a reverting view's slot holds the custom error's name as `Reverted`."""
        batch = [("eth_call", [{"to": c.address, "data": c.calldata(fn, *args)}, "latest"]) for c, fn, args in requests_]
        results = []
        for (c, fn, args), raw in zip(requests_, self.rpc.batch(batch), strict=True):
            if isinstance(raw, RpcError):
                results.append(Reverted(self.errors.name(raw.data if isinstance(raw.data, str) else None)))
            else:
                results.append(c.decode(fn, len(args), raw))
        return results

    # ----------------------------------------------------------------------------- chain time

    def latest_timestamp(self) -> int:
        return int(self.rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def mine_at(self, timestamp: int) -> None:
        self.rpc.request("evm_mine", [timestamp])

    def snapshot(self) -> str:
        return self.rpc.request("evm_snapshot", [])

    def revert(self, snapshot_id: str) -> None:
        assert self.rpc.request("evm_revert", [snapshot_id]) is True


@dataclass(frozen=True)
class Reverted:
    error: str
