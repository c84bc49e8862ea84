"""The follower: keeps the index in step with the chain, in bounded ranges, from its stored cursor.

Each step first checks that the block at the cursor is still the node's (a reorganization, or a
local chain reverted to a snapshot, replaces blocks): on a mismatch it walks back over the stored
blocks to the newest one the node still has and deletes everything above it. Then it reads the next
range's logs (eth_getLogs over the indexed contracts), decodes them and stores rows, block hashes
and the cursor in one transaction, so a crash leaves no half range and a restart resumes exactly.

An event whose log does not decode into its row, or whose row the database refuses, is left out:
the follower logs it once (block, log index, event and reason), counts it (`skipped_events`) and
stores the range without it, so one event never stops the index. A failure of the node or of the
database itself fails the step instead, and the range is read again.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import BlockNotFound, Web3RPCError
from web3.types import RPCEndpoint

from energy_grid.index.decode import RowDecoder, UndecodableEventError, quantity
from energy_grid.index.store import EventIndex, IndexedRange

log = logging.getLogger(__name__)

RANGE_BLOCKS = 2_000  # the most blocks per eth_getLogs call (public nodes cap ranges near this)
# The logs a step aims to read. A simulated day puts its whole history into a few hundred blocks
# (one range): read at once, the index showed "block 1 of N" until it was done. Ranges grow while
# they hold fewer logs and shrink when they hold more, so a busy history is stored, and its
# progress shown, a few thousand logs at a time, and empty blocks are still read 2,000 at a time.
TARGET_LOGS = 2_000
FORK_SEARCH_PAGE = 100  # stored blocks fetched at a time while searching for a fork point
MAX_BACKOFF_S = 30.0


def next_span(span_blocks: int, logs: int, range_blocks: int) -> int:
    """The next range's length after a range of `span_blocks` held `logs` indexed events: twice as
    long while it held under half the target, half as long when it held more than the target."""
    if logs > TARGET_LOGS:
        return max(1, span_blocks // 2)
    if logs < TARGET_LOGS // 2:
        return min(span_blocks * 2, range_blocks)
    return min(span_blocks, range_blocks)


def _hash(block: Any) -> str:
    return HexBytes(block["hash"]).to_0x_hex()


class Follower:
    """Follows the chain `client` (a GridClient: its web3 connection and manifest contracts) into
    `index`. `start()` runs it in a daemon thread polling every `poll_interval_s`; `run_once()`
    catches up in the caller's thread (tests drive it so)."""

    def __init__(
        self,
        index: EventIndex,
        client: Any,
        poll_interval_s: float = 1.0,
        *,
        start_block: int = 0,
        range_blocks: int = RANGE_BLOCKS,
    ) -> None:
        self.index = index
        self.client = client
        self.poll_interval_s = poll_interval_s
        # Where an empty index starts: the manifest's startBlock (the deployment's first block).
        self.start_block = start_block
        self.range_blocks = range_blocks
        self._span_blocks = 1  # the next range's length: grows to range_blocks while ranges are light
        self.decoder = RowDecoder(client.contracts)
        self.head_block: int | None = None  # the node's head at the last step
        self.last_error: str | None = None
        self.skipped_events = 0  # events left out since the follower started
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def w3(self) -> Web3:
        return self.client.w3

    @property
    def chain_id(self) -> int:
        return int(self.client.chain_id)

    # ------------------------------------------------------------------ the background thread

    def start(self) -> None:
        """Follows the chain in a background thread (a second call while it runs does nothing)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="index-follower", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                caught_up = self.step() == 0
                failures = 0
                self.last_error = None
            except Exception as err:  # the thread must outlive a node or database hiccup
                failures += 1
                self.last_error = f"{type(err).__name__}: {err}"
                log.warning("index follower: %s (retry %d)", self.last_error, failures, exc_info=failures == 1)
                self._stop.wait(min(self.poll_interval_s * 2**failures, MAX_BACKOFF_S))
                continue
            if caught_up:
                self._stop.wait(self.poll_interval_s)

    # ------------------------------------------------------------------ one step at a time

    def run_once(self) -> int:
        """Indexes up to the node's current head; returns the last indexed block (-1: none)."""
        while self.step() > 0:
            pass
        indexed = self.index.indexed_block()
        return -1 if indexed is None else indexed

    def step(self) -> int:
        """Rolls back a replaced fork if any, then indexes one range; returns how many blocks the
        cursor moved forward (0: at the head)."""
        self.index.check_chain(self.chain_id)
        head = self.w3.eth.block_number
        self.head_block = head
        cursor = self._reconcile(head)
        if cursor >= head:
            return 0
        first = cursor + 1
        last = min(first + min(self._span_blocks, self.range_blocks) - 1, head)
        batch = self._read_range(first, last)
        if batch is None:
            return 0
        # Said once the range is stored: a range read again (the chain changed, the database failed)
        # says nothing twice.
        for skipped in [*batch.skipped, *self.index.store_range(batch)]:
            self.skipped_events += 1
            log.error("index follower: left out %s", skipped)
        self._span_blocks = next_span(self._span_blocks, len(batch.events), self.range_blocks)
        return last - cursor

    def _cursor(self) -> int:
        indexed = self.index.indexed_block()
        return self.start_block - 1 if indexed is None else indexed

    def _reconcile(self, head: int) -> int:
        """The cursor after rolling back blocks the node no longer has."""
        cursor = self._cursor()
        below = cursor
        while True:
            stored = self.index.stored_blocks_from(below, FORK_SEARCH_PAGE)
            for block in stored:
                if block.number <= head and self._node_hash(block.number) == block.hash:
                    if block.number < cursor:
                        log.info("index follower: chain reorganized above block %d; rolled back", block.number)
                        self.index.rollback_above(self.chain_id, block.number)
                    return block.number
            if len(stored) < FORK_SEARCH_PAGE:
                break
            below = stored[-1].number - 1
        # No stored block is the node's (or none is stored): start over.
        if self.index.indexed_block() is not None:
            log.info("index follower: no indexed block is on the node's chain; re-indexing from %d", self.start_block)
            self.index.rollback_above(self.chain_id, self.start_block - 1)
        return self.start_block - 1

    def _node_hash(self, number: int) -> str | None:
        try:
            return _hash(self.w3.eth.get_block(number))
        except BlockNotFound:
            return None

    def _read_range(self, first: int, last: int) -> IndexedRange | None:
        """The range's decoded rows and blocks; None when the chain changed while it was read."""
        end = self.w3.eth.get_block(last)
        logs = self._logs(first, last)
        # Blocks up to `last` changed while the logs were read iff `last` itself changed.
        if self._node_hash(last) != _hash(end):
            return None
        batch = IndexedRange(self.chain_id, first, last)
        batch.blocks[last] = (_hash(end), int(end["timestamp"]))
        for entry in sorted(logs, key=lambda e: (quantity(e["blockNumber"]), quantity(e["logIndex"]))):
            if entry.get("removed"):
                continue
            number = quantity(entry["blockNumber"])
            if number not in batch.blocks:
                batch.blocks[number] = self._block_of(entry)
            try:
                indexed = self.decoder.decode(entry, batch.blocks[number][1])
            except UndecodableEventError as err:
                batch.skipped.append(err.skipped)
                continue
            if indexed is not None:
                batch.events.append(indexed)
        return batch

    def _logs(self, first: int, last: int) -> list[dict[str, Any]]:
        """The range's logs as the node sends them: web3's formatting of each log (checksummed
        addresses, bytes, integers) costs more than decoding it, and an index catching up on a
        thousand meters' history reads half a million."""
        query = {"fromBlock": hex(first), "toBlock": hex(last), "address": self.decoder.addresses}
        response = self.w3.provider.make_request(RPCEndpoint("eth_getLogs"), [query])
        if "error" in response:
            raise Web3RPCError(f"eth_getLogs of blocks {first}..{last}: {response['error']}")
        logs: list[dict[str, Any]] = response["result"]
        return logs

    def _block_of(self, entry: Any) -> tuple[str, int]:
        """(hash, timestamp) of a log's block: from the log where the node includes the block's
        timestamp (anvil and recent geth do), else from the block."""
        block_hash = HexBytes(entry["blockHash"]).to_0x_hex()
        timestamp = entry.get("blockTimestamp")
        if timestamp is None:
            block = self.w3.eth.get_block(HexBytes(entry["blockHash"]))
            timestamp = block["timestamp"]
        return block_hash, int(timestamp, 16) if isinstance(timestamp, str) else int(timestamp)
