"""Setup transactions in bulk, for the tests that fill a book or a batch to its largest size.

Through ape a transaction costs about 80 ms of Python (gas estimate, signing and checking the
signature in pure Python, receipt polling and decoding); hundreds of them made the bound tests
the slowest of the suite. `Bulk.send` hands the node an unsigned `eth_sendTransaction` from an
account it signs for (its own dev accounts, or any address while impersonated) and checks the
receipt's status: each setup transaction runs alone in its own block and must succeed, about 5 ms
each (the node's own work for a block). Inside `Bulk.in_shared_blocks()` one sender's transactions
are mined many to a block instead, and each must still succeed. Keep ape for every transaction a
test asserts on (events, gas, errors).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from eth_utils import keccak, to_checksum_address

from support.fuzz_rpc import mined_receipt


def fresh_addresses(label: str, count: int) -> list[str]:
    """`count` distinct addresses that never held anything (no key: send from them impersonated)."""
    return [to_checksum_address(keccak(text=f"{label}/{i}")[12:]) for i in range(count)]


def _address(account: Any) -> str:
    return account if isinstance(account, str) else account.address


class Bulk:
    # Gas for each transaction sent inside in_shared_blocks (none estimated: the node would estimate
    # on the last block, without the queued transactions before it); 60 fit in a 30M-gas block.
    SHARED_BLOCK_TX_GAS = 500_000

    def __init__(self, chain):
        self._rpc = chain.provider.web3.provider
        self._queued: list[tuple[str, str, tuple[Any, ...]]] | None = None  # (hash, method, args)

    def _request(self, method: str, params: list) -> Any:
        response = self._rpc.make_request(method, params)
        assert "error" not in response, f"{method}: {response['error']}"
        return response["result"]

    def send(self, sender: Any, contract: Any, method: str, *args: Any) -> dict | None:
        """`contract.method(*args, sender=sender)`; returns the raw receipt, asserting it succeeded
        (inside in_shared_blocks: None, and the check comes when the blocks are mined)."""
        tx = {"from": _address(sender), "to": contract.address, "data": "0x" + bytes(getattr(contract, method).encode_input(*args)).hex()}
        if self._queued is not None:
            tx["gas"] = hex(self.SHARED_BLOCK_TX_GAS)
            self._queued.append((self._request("eth_sendTransaction", [tx]), method, args))
            return None
        receipt = mined_receipt(self._request, tx)
        assert int(receipt["status"], 16) == 1, f"{method}{args} from {_address(sender)} reverted"
        return receipt

    @contextmanager
    def in_shared_blocks(self) -> Iterator[None]:
        """Queues the sends inside and mines them together, as many to a block as fit; each must
        succeed. For one sender's transactions only: the node keeps each sender's nonce order, not
        the order in which different senders' transactions arrived."""
        self._request("evm_setAutomine", [False])
        self._queued = []
        try:
            yield
            receipts: list[dict] = []
            while len(receipts) < len(self._queued):  # in nonce order: the first not mined stops the look
                self._request("evm_mine", [])
                while len(receipts) < len(self._queued) and (
                    receipt := self._request("eth_getTransactionReceipt", [self._queued[len(receipts)][0]])
                ):
                    receipts.append(receipt)
            failed = [f"{method}{args}" for (_, method, args), r in zip(self._queued, receipts, strict=True) if int(r["status"], 16) != 1]
            assert not failed, f"reverted: {failed[:5]}"
        finally:
            self._queued = None
            self._request("evm_setAutomine", [True])

    def set_balance(self, accounts: Iterable[Any], wei: int) -> None:
        for account in accounts:
            self._request("anvil_setBalance", [_address(account), hex(wei)])

    @contextmanager
    def impersonating(self, accounts: Iterable[Any]) -> Iterator[None]:
        """The node signs for `accounts` inside the block (a node setting, not chain state, so it
        is undone here rather than by the test's snapshot revert)."""
        addresses = [_address(a) for a in accounts]
        for address in addresses:
            self._request("anvil_impersonateAccount", [address])
        try:
            yield
        finally:
            for address in addresses:
                self._request("anvil_stopImpersonatingAccount", [address])
