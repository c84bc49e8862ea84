"""The relay: sends what wallets and meters signed, from the service's own accounts, one at a time.

    relay = Relay(client)
    receipt = relay.send(relayer, client.trading.calls.create_order_by_sig(relayer, order, signature))

Every transaction is first run with eth_call as its sender against the latest block: a revert
raises the contract's custom error (a `GridError`) and nothing is sent. Then it is signed, sent and
waited for, all under one lock, so two requests never take the same nonce and a request is answered
only once its receipt is in. `problems.problem_for` turns any of these failures into the API's 4xx/5xx.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import anyio.to_thread
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from energy_grid.chain.errors import GridError, NodeUnreachableError, TransactionRevertedError
from energy_grid.contracts.base import CONNECTION_ERRORS
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.dry_run import dry_run
from energy_grid.wallet.drafts import refusal

RECEIPT_TIMEOUT_S = 120
RECEIPT_POLL_S = 0.005


class Relay:
    """Runs, sends and waits for transactions of the service's accounts (the relayer, the operator),
    strictly one at a time."""

    def __init__(self, client: GridClient) -> None:
        self.client = client
        # Reentrant: a route that reads state and then writes on it holds it across both (exclusive()).
        self._lock = threading.RLock()
        # Async routes queue here, not in worker threads: a queue of relays blocked on the lock
        # would take every thread of the pool and hold up the reads.
        self._limiter: anyio.CapacityLimiter | None = None

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """No other write of this service runs meanwhile (for a read-then-write, such as a toggle)."""
        with self._lock:
            yield

    def send(self, sender: LocalAccount, call: ContractFunction) -> TxReceipt:
        """`call` as `sender`: checked with eth_call, then sent and mined; raises the GridError
        naming the contract's custom error when it would revert (then nothing was sent)."""
        with self._lock:
            try:
                rejection = dry_run(self.client, sender, call)
            except CONNECTION_ERRORS as err:
                raise NodeUnreachableError(self.client.transactor.rpc_url, str(err)) from None
            if rejection is not None:
                raise rejection
            # The nonce is read from the chain each time: the lock holds until the receipt is in,
            # so it is never one that an earlier request of this service still holds.
            tx_hash = self.client.transactor.send(sender, call)
            return self._receipt(tx_hash, call.fn_name)

    async def send_async(self, sender: LocalAccount, call: ContractFunction) -> TxReceipt:
        """`send` from an async route: one worker thread at a time, the others wait without a thread."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(1)
        return await anyio.to_thread.run_sync(self.send, sender, call, limiter=self._limiter)

    def check(self, sender: str, call: ContractFunction) -> GridError | None:
        """What `call` from `sender` would revert with now (None: it would go through); nothing is sent."""
        return refusal(self.client, sender, call)

    def _receipt(self, tx_hash: HexBytes, function: str) -> TxReceipt:
        """The mined receipt, polled often: every other write waits for it."""
        try:
            receipt = self.client.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=RECEIPT_TIMEOUT_S, poll_latency=RECEIPT_POLL_S
            )
        except CONNECTION_ERRORS as err:
            raise NodeUnreachableError(self.client.transactor.rpc_url, str(err)) from None
        if receipt["status"] != 1:
            raise TransactionRevertedError(function, "the state changed since its check", "0x" + bytes(tx_hash).hex())
        return receipt


def tx_hash_of(receipt: TxReceipt) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()


__all__ = ["Relay", "tx_hash_of"]
