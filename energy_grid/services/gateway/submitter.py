"""The gateway's transactions: readings in batches to `SmartMeter.submitPackedSignedReadings` (or
`submitSignedReadings` for a batch with a reading that does not pack), each batch signed, written to
the store, then sent; followed until mined, raised in fee when stuck, broadcast again after a restart.

Batch size. SmartMeter takes at most MAX_BATCH_SIZE readings a call. A transaction may not ask for
more than 16,777,216 gas (EIP-7825's cap per transaction) nor more than the block holds; the
gateway keeps a batch under both, with room for the block's other transactions, by estimating
each batch and halving one whose estimate (plus a margin, as state moves between estimate and
block) passes the cap. The estimate is also a dry run: a batch SmartMeter would refuse names the
reading it refuses (every refusal carries the meter and, for signatures, the nonce), which leaves
the queue with its reason, and the rest goes on.

Order. A meter's readings must reach the chain in nonce order, so a meter with a reading in a
transaction not yet mined waits for it before its next reading joins a batch; a reading stamped
after the chain's latest block waits for the chain's clock to pass it.

Nonces and replacements. The account's nonces are the gateway's own: the next is one past the
highest the chain or the store knows. A transaction not mined `stuck_after_blocks` blocks after it
was sent is replaced at its nonce with fees raised by the fee policy; every signed version is
kept, and whichever is mined answers for the readings it carries. A replacement leaves out the
readings whose deadline passes before the next block (and each such meter's later readings), which
would make the whole batch revert; with none left it is a transfer of nothing to the gateway itself,
which fills the nonce. Readings the mined version left out go back to the queue, where an expired one
is refused `expired`. After a restart, or after the chain
went back, transactions the chain has not mined (or no longer has) are broadcast again from their
stored bytes; one whose nonce another transaction took, or that reverted, puts its readings back in
the queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey

from energy_grid.chain.errors import DecodedError, decode_error
from energy_grid.chain.fees import FeePolicy, Fees
from energy_grid.chain.jsonrpc import RequestFailed
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.sender import DynamicFeeTransaction, TransactionSender, prepare
from energy_grid.services.gateway.store import ReadingStore, StoredTransaction
from energy_grid.services.runtime import ChainHead
from energy_grid.signing.readings import SignedReading, relay_arguments

MAX_BATCH_SIZE = 100  # SmartMeter.MAX_BATCH_SIZE
PER_TRANSACTION_GAS_CAP = 16_777_216  # EIP-7825: no transaction may ask for more
BLOCK_SHARE = 2  # a batch takes at most half a block, leaving room for the keeper and the households
BLOCK_TIMES_KEPT = 1_000
SELECTOR_HEX_CHARS = 10  # "0x" and four bytes
GAS_MARGIN_PERCENT = 20  # state moves between estimate and block: the limit is the estimate plus this

log = logging.getLogger("energy_grid.gateway")


def gas_cap(block_gas_limit: int) -> int:
    """The most gas one batch may ask for in blocks of `block_gas_limit`."""
    return min(PER_TRANSACTION_GAS_CAP, block_gas_limit // BLOCK_SHARE)


def with_margin(estimate: int) -> int:
    return estimate * (100 + GAS_MARGIN_PERCENT) // 100


@dataclass(frozen=True)
class Refused:
    """A reading SmartMeter refuses, found by a batch's estimate."""

    signed: SignedReading
    error_name: str
    message: str
    arguments: dict[str, Any] = field(default_factory=dict)  # the error's, by name


@dataclass(frozen=True)
class Deferred:
    """A batch the chain cannot take now for a reason that names none of its readings (SmartMeter
    paused, a market's error, an estimate failing without revert data): it waits, and none of its
    readings is refused for it."""

    reason: str


# What _mined answers for a batch mined in a block not yet `confirmations` deep.
CONFIRMING = object()
# The reason of a reading too large for a batch of its own, as Refused.error_name.
TOO_MUCH_GAS = "TooMuchGas"
# Blocks a deferred batch waits before it is estimated again, doubling up to the last.
FIRST_RETRY_BLOCKS = 1
LAST_RETRY_BLOCKS = 64


@dataclass(frozen=True)
class Mined:
    """A batch in a block: its readings, the transaction and block, and what it cost."""

    readings: list[SignedReading]
    tx_hash: str
    block_number: int
    block_timestamp_s: int
    gas_used: int
    reverted: bool
    left_out: list[SignedReading] = field(default_factory=list)  # readings of its nonce it did not carry, back in the queue


@dataclass
class Followed:
    """What became of the transactions in flight since the last block."""

    mined: list[Mined] = field(default_factory=list)
    requeued: list[SignedReading] = field(default_factory=list)  # their nonce was taken: they wait again
    replaced: int = 0  # stuck ones sent again with higher fees
    stuck: int = 0  # stuck at the fee ceiling


def still_in_time(batch: list[SignedReading], next_block_s: int) -> list[SignedReading]:
    """The readings of `batch` that can still be in a block at `next_block_s`: without those whose
    deadline passes before it, nor any later reading of their meters (its nonce would skip theirs)."""
    dropped: set[str] = set()
    kept: list[SignedReading] = []
    for signed in sorted(batch, key=lambda s: (s.meter, s.nonce)):
        if signed.meter in dropped or signed.deadline < next_block_s:
            dropped.add(signed.meter)
            continue
        kept.append(signed)
    return kept


def plan_batch(waiting: Iterable[SignedReading], busy_meters: set[str], chain_time_s: int, size: int) -> list[SignedReading]:
    """The next batch: waiting readings in queue order, up to `size`, leaving out meters with a
    reading in flight (and every later reading of a meter left out) and readings stamped after
    `chain_time_s`."""
    batch: list[SignedReading] = []
    held = set(busy_meters)
    for signed in waiting:
        if len(batch) == size:
            break
        if signed.meter in held:
            continue
        if signed.reading[0] > chain_time_s:
            held.add(signed.meter)  # its later readings wait with it
            continue
        batch.append(signed)
    return batch


class BatchSubmitter:
    """Sends the store's waiting readings and follows them until mined."""

    def __init__(
        self,
        client: GridClient,
        account: LocalAccount,
        store: ReadingStore,
        *,
        fee_policy: FeePolicy | None = None,
        stuck_after_blocks: int = 3,
        confirmations: int = 1,
    ) -> None:
        self.client = client
        self.account = account
        self.store = store
        self.fee_policy = fee_policy or FeePolicy()
        self.stuck_after_blocks = stuck_after_blocks
        # A batch counts as on chain once its block is this deep (1: in the latest block): until then a
        # reorganisation may still drop it, and its readings are answered nothing yet.
        self.confirmations = confirmations
        self.sender = TransactionSender(client, manual_mining=False)
        self.smart_meter = client["SmartMeter"]
        self.chain_id = self.sender.chain_id
        self._key = PrivateKey(bytes(account.key))
        self._next_nonce = 0
        self._block_times: dict[int, int] = {}
        self.batch_size = MAX_BATCH_SIZE
        # After a deferred batch nothing is estimated before this block; the wait doubles while the
        # chain keeps refusing, and starts again at FIRST_RETRY_BLOCKS once a batch goes through.
        self.retry_at_block = 0
        self._retry_blocks = FIRST_RETRY_BLOCKS
        # Transactions in flight whose nonce the account has used with none of their receipts found:
        # the block they were first seen so at.
        self._taken_at: dict[int, int] = {}

    # ------------------------------------------------------------------ the account's nonces

    def reconcile(self) -> tuple[list[Mined], list[SignedReading]]:
        """After a start or after the chain went back: what became of every transaction the store
        holds as sent. Returns the batches found mined and the readings put back in the queue.
        Transactions the store holds as mined at or above the account's nonce on chain were in blocks
        the chain dropped, and are in flight again; transactions still open are broadcast again from
        their signed bytes, in nonce order, so the nonces stay without a gap whatever the node's pool
        kept; a gap the store cannot fill puts the readings above it back in the queue."""
        chain_nonce = self._account_nonce("latest")
        dropped = self.store.unmine_from(chain_nonce)
        if dropped:
            log.warning("%d readings were in blocks the chain dropped: their transactions are sent again", len(dropped))
        mined: list[Mined] = []
        requeued: list[SignedReading] = []
        expected = chain_nonce
        head_number = int(self.client.w3.eth.block_number)
        for tx_nonce in sorted(self.store.in_flight()):
            found = self._mined(tx_nonce, head_number)
            if isinstance(found, Mined):
                mined.append(found)
            elif found is CONFIRMING:
                expected += 1
            elif tx_nonce < chain_nonce:
                requeued += self.store.reopen(tx_nonce)
                log.warning("transaction nonce %d was taken by another transaction: its readings wait again", tx_nonce)
            elif tx_nonce == expected:
                self._broadcast(self.store.transactions(tx_nonce)[-1])
                expected += 1
            else:
                requeued += self.store.reopen(tx_nonce)
                log.warning("transaction nonce %d follows a gap at %d: its readings wait again", tx_nonce, expected)
        # Not the node's pending count: a transaction left in its pool behind a gap would count, and
        # the next batch would be signed above a nonce nothing fills. One at `expected` that the pool
        # still holds is replaced (with higher fees once it is stuck).
        self._next_nonce = expected
        return mined, requeued

    def _account_nonce(self, block: str) -> int:
        return int(self.client.w3.eth.get_transaction_count(self.account.address, block))  # type: ignore[arg-type]

    # ------------------------------------------------------------------ following what was sent

    def follow(self, head: ChainHead, next_block_s: int | None = None) -> Followed:
        """Each transaction in flight: mined, its nonce taken by another (its readings put back),
        or still waiting (replaced with higher fees when stuck, without the readings whose deadline
        passes before `next_block_s`, the next block's earliest time; or counted stuck at the ceiling).
        A nonce is taken for good only when it still looks so at a later block: a node mining a
        block counts the account's nonce before it answers for the block's receipts, and a batch
        mined that moment must not be sent again."""
        followed = Followed()
        in_flight = sorted(self.store.in_flight())
        # Read before the receipts: a transaction mined between its receipt's look-up and this
        # read would otherwise look replaced, and its readings would be sent again.
        chain_nonce = self._account_nonce("latest") if in_flight else 0
        for tx_nonce in in_flight:
            found = self._mined(tx_nonce, head.number)
            if isinstance(found, Mined):
                self._taken_at.pop(tx_nonce, None)
                followed.mined.append(found)
                continue
            if found is CONFIRMING:
                continue
            if tx_nonce < chain_nonce:
                first_seen = self._taken_at.setdefault(tx_nonce, head.number)
                if head.number > first_seen:
                    del self._taken_at[tx_nonce]
                    followed.requeued += self.store.reopen(tx_nonce)
                continue
            latest = self.store.transactions(tx_nonce)[-1]
            if head.number - latest.sent_at_block >= self.stuck_after_blocks:
                if self._replace(latest, head, head.timestamp_s + 1 if next_block_s is None else next_block_s):
                    followed.replaced += 1
                else:
                    followed.stuck += 1
        return followed

    def _mined(self, tx_nonce: int, head_number: int) -> Mined | object | None:
        """The batch of `tx_nonce` once one of its signed versions is mined `confirmations` deep (its
        readings then marked on chain, or back in the queue if it reverted); CONFIRMING while it is mined
        less deep; None while none is mined."""
        transactions = self.store.transactions(tx_nonce)
        receipts = self.sender.rpc_batch([("eth_getTransactionReceipt", [tx.tx_hash]) for tx in transactions])
        for tx, receipt in zip(transactions, receipts, strict=True):
            if receipt is None:
                continue
            block_number = int(receipt["blockNumber"], 16)
            if head_number - block_number + 1 < self.confirmations:
                return CONFIRMING
            reverted = int(receipt["status"], 16) != 1
            readings = self.store.reopen(tx_nonce) if reverted else self.store.mark_on_chain(tx_nonce, tx.tx_hash, block_number, tx.carries)
            left_out = [] if reverted else self.store.reopen(tx_nonce)
            block_time_s = self._block_time(block_number)
            return Mined(readings, tx.tx_hash, block_number, block_time_s, int(receipt["gasUsed"], 16), reverted, left_out)
        return None

    def _block_time(self, block_number: int) -> int:
        if block_number not in self._block_times:
            if len(self._block_times) > BLOCK_TIMES_KEPT:
                self._block_times.clear()
            self._block_times[block_number] = int(self.client.w3.eth.get_block(block_number)["timestamp"])
        return self._block_times[block_number]

    def _replace(self, stuck: StoredTransaction, head: ChainHead, next_block_s: int) -> bool:
        """Signs and sends `stuck` again with higher fees, without the readings that can no longer be
        in the next block; False at the fee ceiling."""
        previous = Fees(stuck.max_fee_per_gas, stuck.max_priority_fee_per_gas)
        fees = self.fee_policy.bumped(previous, head.base_fee_per_gas, self._suggested_tip())
        if fees is None:
            log.warning("transaction nonce %d is stuck at the fee ceiling (%d wei per gas)", stuck.tx_nonce, stuck.max_fee_per_gas)
            return False
        carried = [s for s in self.store.in_flight()[stuck.tx_nonce] if stuck.carries is None or (s.meter, s.nonce) in stuck.carries]
        readings = still_in_time(carried, next_block_s)
        replacement = self._sign(readings, stuck.tx_nonce, stuck.gas_limit, fees, head.number)
        if len(readings) < len(carried):
            replacement = replace(replacement, carries=tuple((s.meter, s.nonce) for s in readings))
            left = len(carried) - len(readings)
            log.warning("transaction nonce %d: %d of its readings expire before the next block and leave it", stuck.tx_nonce, left)
        self.store.replace(replacement)
        log.info(
            "transaction nonce %d not mined after %d blocks: replaced by %s at %d wei per gas (was %d)",
            stuck.tx_nonce, head.number - stuck.sent_at_block, replacement.tx_hash, fees.max_fee_per_gas, stuck.max_fee_per_gas,
        )
        self._broadcast(replacement)
        return True

    # ------------------------------------------------------------------ sending

    def send_waiting(
        self,
        head: ChainHead,
        waiting: list[SignedReading],
        *,
        send_partial: bool,
        max_in_flight: int,
        on_refused: Callable[[Refused], None],
        on_deferred: Callable[[Deferred], None] | None = None,
    ) -> int:
        """Sends batches of `waiting` (the store's waiting readings, read once by the caller) until
        none is left or `max_in_flight` transactions are in flight; a batch smaller than the batch
        size only when `send_partial`. A batch the chain cannot take for a reason naming none of its
        readings stops the sending until `retry_at_block`. A reading the chain refuses goes to
        `on_refused`, which records and answers the refusal. Returns how many readings were sent."""
        if head.number < self.retry_at_block:
            return 0
        cap = gas_cap(head.gas_limit)
        in_flight = self.store.in_flight()
        flights = len(in_flight)
        busy = {signed.meter for readings in in_flight.values() for signed in readings}
        queue = list(waiting)
        sent = 0
        while flights < max_in_flight:
            batches = self._plan(queue, busy, head.timestamp_s, max_in_flight - flights, send_partial)
            if not batches:
                break
            deferred: Deferred | None = None
            for batch, gas in zip(batches, self._sized(batches, cap), strict=True):
                if isinstance(gas, Refused):
                    # Its meter's later readings are held behind it until it is signed again.
                    refused = gas.signed
                    queue = [s for s in queue if s.meter != refused.meter or s.nonce < refused.nonce]
                    on_refused(gas)
                    continue  # the rest of the batch is planned again
                if isinstance(gas, Deferred):
                    deferred = gas
                    continue
                if gas is None:
                    continue  # the batch was too large: planned again at the lowered size
                fees = self.fee_policy.initial(head.base_fee_per_gas, self._suggested_tip())
                tx = self._sign(batch, self._next_nonce, gas, fees, head.number)
                self.store.submit(batch, tx)
                self._next_nonce += 1
                self._broadcast(tx)
                log.info("sent %d readings in %s (nonce %d, gas limit %d)", len(batch), tx.tx_hash, tx.tx_nonce, gas)
                sent += len(batch)
                flights += 1
                busy.update(signed.meter for signed in batch)
                sent_now = set(batch)
                queue = [signed for signed in queue if signed not in sent_now]
            if deferred is not None:
                self._defer(deferred, head, on_deferred)
                break
            self._retry_blocks = FIRST_RETRY_BLOCKS
        return sent

    def _defer(self, deferred: Deferred, head: ChainHead, on_deferred: Callable[[Deferred], None] | None) -> None:
        """Nothing more is estimated before `retry_at_block`; the wait doubles while batches are deferred."""
        self.retry_at_block = head.number + self._retry_blocks
        log.warning("the chain takes no batch now (%s): estimating again in %d blocks", deferred.reason, self._retry_blocks)
        self._retry_blocks = min(LAST_RETRY_BLOCKS, 2 * self._retry_blocks)
        if on_deferred is not None:
            on_deferred(deferred)

    def _plan(
        self, queue: list[SignedReading], busy: set[str], chain_time_s: int, count: int, send_partial: bool
    ) -> list[list[SignedReading]]:
        """Up to `count` batches of `queue`, each leaving out the meters of those before it; a batch
        smaller than the batch size only when `send_partial`."""
        batches: list[list[SignedReading]] = []
        held, left = set(busy), list(queue)
        while len(batches) < count:
            batch = plan_batch(left, held, chain_time_s, self.batch_size)
            if not batch or (len(batch) < self.batch_size and not send_partial):
                break
            batches.append(batch)
            held.update(signed.meter for signed in batch)
            planned = set(batch)
            left = [signed for signed in left if signed not in planned]
        return batches

    def _sized(self, batches: list[list[SignedReading]], cap: int) -> list[int | Refused | Deferred | None]:
        """Each batch's gas limit; the reading SmartMeter refuses where the estimate names one (the
        caller's `on_refused` takes it out of the store's queue); Deferred where the estimate fails for a reason that names no
        reading; None for a batch too large (the batch size is lowered for the next plan), and a
        reading too large for a batch of its own is refused. The batch size grows back while batches
        fit in half the cap. The estimates go in one JSON-RPC batch, at the latest block (no meter of a
        batch has a reading in flight): one round trip however many batches a block brings."""
        calls = [self._call(batch) for batch in batches]
        requests_ = [
            ("eth_estimateGas", [{"from": self.account.address, "to": call.address, "data": call.data}, "latest"]) for call in calls
        ]
        sized: list[int | Refused | Deferred | None] = []
        for batch, outcome in zip(batches, self.sender.rpc_batch_outcomes(requests_), strict=True):
            if isinstance(outcome, RequestFailed):
                refused = self._culprit(batch, outcome.data)
                if refused is None:
                    sized.append(Deferred(self._unnamed(outcome)))
                    continue
                sized.append(refused)
                continue
            limit = with_margin(int(outcome, 16))
            if limit <= cap:
                if 2 * limit <= cap and len(batch) == self.batch_size < MAX_BATCH_SIZE:
                    self.batch_size = min(MAX_BATCH_SIZE, 2 * self.batch_size)
                sized.append(limit)
                continue
            if len(batch) == 1:
                message = f"the reading alone needs {limit:,} gas, more than a batch may take ({cap:,})"
                sized.append(Refused(batch[0], TOO_MUCH_GAS, message))
                continue
            size = max(1, len(batch) * cap // limit)
            if size < self.batch_size:
                self.batch_size = size
                log.info("a batch of %d readings needs %d gas, over the cap of %d: batches of %d from now", len(batch), limit, cap, size)
            sized.append(None)
        return sized

    def _culprit(self, batch: list[SignedReading], data: str) -> Refused | None:
        """The reading a refusal names: by its meter and nonce, else that meter's first reading in the
        batch. None when the refusal names no meter of the batch (SmartMeter paused, a market's error,
        no revert data): no reading is to blame, and the batch waits."""
        decoded = self._decoded(data)
        if decoded is None or "meter" not in decoded.arguments:
            return None
        meter = str(decoded.arguments["meter"]).lower()
        nonce = decoded.arguments.get("nonce")
        candidates = [s for s in batch if s.meter.lower() == meter]
        if not candidates:
            return None
        culprit = next((s for s in candidates if nonce is not None and s.nonce == nonce), candidates[0])
        arguments = ", ".join(f"{name}={value}" for name, value in decoded.arguments.items())
        return Refused(culprit, decoded.name, f"SmartMeter refused it: {decoded.name}({arguments})", dict(decoded.arguments))

    def _unnamed(self, failed: RequestFailed) -> str:
        """What an estimate that blames no reading failed with, for the log and the metric's reason."""
        decoded = self._decoded(failed.data)
        if decoded is not None:
            return decoded.name
        return failed.data[:SELECTOR_HEX_CHARS] if failed.data else "no revert data"

    def _decoded(self, data: str) -> DecodedError | None:
        """SmartMeter's error in revert data; None for no data, or an error of another contract."""
        return decode_error(self.smart_meter.abi, data) if data.startswith("0x") and len(data) >= SELECTOR_HEX_CHARS else None

    def _call(self, batch: list[SignedReading]) -> Any:
        name, arguments = relay_arguments(batch)
        return prepare(self.smart_meter, name, *arguments)

    def _sign(self, batch: list[SignedReading], tx_nonce: int, gas: int, fees: Fees, block_number: int) -> StoredTransaction:
        """The batch's transaction; with no reading, a transfer of nothing to the gateway itself (a
        replacement whose every reading expired, which must still fill its nonce)."""
        to, data = self.account.address, "0x"
        if batch:
            call = self._call(batch)
            to, data = call.address, call.data
        transaction = DynamicFeeTransaction(self.chain_id, tx_nonce, fees.max_priority_fee_per_gas, fees.max_fee_per_gas, gas, to, data)
        raw, tx_hash = transaction.signed_with(self._key)
        return StoredTransaction(
            "0x" + tx_hash.hex(), tx_nonce, "0x" + raw.hex(), fees.max_fee_per_gas, fees.max_priority_fee_per_gas, gas, block_number
        )

    def _broadcast(self, tx: StoredTransaction) -> None:
        """Sends signed bytes; a node that has them already, or has mined their nonce, says so,
        and that is no failure: the receipt tells what happened."""
        try:
            self.sender.rpc("eth_sendRawTransaction", [tx.raw])
        except Exception as err:
            text = str(err).lower()
            if "already" in text or "nonce too low" in text or "known" in text:
                log.debug("broadcast of %s: %s", tx.tx_hash, err)
                return
            if "underpriced" in text:
                # The pool holds another transaction at this nonce with fees as high: this one is stuck
                # until `follow` replaces it with higher fees.
                log.warning("broadcast of %s (nonce %d): %s", tx.tx_hash, tx.tx_nonce, err)
                return
            raise

    def _suggested_tip(self) -> int:
        return int(self.sender.rpc("eth_maxPriorityFeePerGas"), 16)
