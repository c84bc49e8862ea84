"""Anvil's JSON-RPC in batches, for a bench's setup transactions: thousands of calls sent a block's worth
at a time with automine off, without a round trip (and a block) each."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

from energy_grid.chain.jsonrpc import KeptAliveConnection, call_batch

RPC_BATCH_SIZE = 500
MAX_BLOCKS_PER_SEND = 100  # a guard: a transaction that never gets mined must not loop forever
RPC_TIMEOUT_SECONDS = 120.0


class BulkNode:
    """Anvil's JSON-RPC in batches over one kept-alive connection: the bench's few thousand setup
    transactions, each from its own sender, without a round trip (and a block) each."""

    def __init__(self, uri: str) -> None:
        self._connection = KeptAliveConnection(uri, RPC_TIMEOUT_SECONDS)
        self._ids = itertools.count(1)

    def batch(self, requests: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """The results in order; raises on the first JSON-RPC error."""
        return call_batch(self._post, self._ids, requests, RPC_BATCH_SIZE)

    def _post(self, payload: list[dict[str, Any]]) -> Any:
        return json.loads(self._connection.post(json.dumps(payload).encode()))

    def send_all(self, contract: Any, method: str, calls: Sequence[tuple[str, Sequence[Any]]], gas: int) -> None:
        """`contract.method(*args)` from each `(sender, args)` (a sender the node holds unlocked or
        impersonates), with automine off: what fits a block by gas limit is sent in one batch and
        mined at once; raises if any reverted."""
        encode = getattr(contract, method).encode_input
        to = contract.address
        (latest,) = self.batch([("eth_getBlockByNumber", ["latest", False])])
        per_block = max(1, int(latest["gasLimit"], 16) // gas - 1)
        senders = sorted({sender for sender, _ in calls})
        counts = self.batch([("eth_getTransactionCount", [sender, "latest"]) for sender in senders])
        nonces = {sender: int(count, 16) for sender, count in zip(senders, counts, strict=True)}
        hashes: list[str] = []
        self.batch([("evm_setAutomine", [False])])
        try:
            for start in range(0, len(calls), per_block):
                sends = []
                for sender, args in calls[start : start + per_block]:
                    data = "0x" + bytes(encode(*args)).hex()
                    sends.append(
                        ("eth_sendTransaction", [{"from": sender, "to": to, "data": data, "gas": hex(gas), "nonce": hex(nonces[sender])}])
                    )
                    nonces[sender] += 1
                hashes.extend(self.batch(sends))
                self._mine_until_empty()
        finally:
            self.batch([("evm_setAutomine", [True])])
        receipts = self.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        failed = [i for i, r in enumerate(receipts) if r is None or int(r["status"], 16) != 1]
        if failed:
            raise RuntimeError(f"{method}: {len(failed)} of {len(calls)} calls failed, first at {failed[0]}")

    def _mine_until_empty(self) -> None:
        for _ in range(MAX_BLOCKS_PER_SEND):
            (_, status) = self.batch([("evm_mine", []), ("txpool_status", [])])
            if int(status["pending"], 16) == 0 and int(status["queued"], 16) == 0:
                return
        raise RuntimeError(f"transactions still pending after {MAX_BLOCKS_PER_SEND} blocks")
