"""The live community's chain: anvil in the foreground for a process manager, mining by itself.

`energy-grid live chain` starts anvil (energy_grid.chain.anvil) on its port with a state file:
loaded when present, dumped every few seconds and when anvil stops, so the chain survives a
restart of the machine. It keeps no past block states (every service reads at the latest block),
so its memory does not grow with each block it mines. anvil writes each dump in place, so a node
killed while writing leaves a torn file: the last whole dump is kept beside it (KeptDump) and the
node starts from that copy when it cannot load the file. Until the ready marker holds
(energy_grid.live.ready) anvil automines, one block per transaction, so the set-up can stamp its
own blocks. Then the chain is paced:

- a block every `block_time_s` wall seconds, mined by this process (`evm_mine`, automining off):
  anvil's own interval mining, on a thousand households' state (about 1 GB), mined empty blocks
  while its pool held ready transactions, which `evm_mine` on the same state takes;
- each block stamped `speed × block_time_s` seconds after the one before
  (`anvil_setBlockTimestampInterval`), so the chain's clock runs `speed` times faster than the
  wall's: at 60×, a 900-second market interval passes every 15 wall seconds.

The pace is anvil's running configuration, not part of its state, so it is applied again each time
the node starts on a marked state, counting on from the latest block's time. The faster clock is a
local convenience only: a public network's clock is its own, and the services, which schedule by
the chain's clock, run there at 1×.

SIGTERM or SIGINT is passed on to anvil, which dumps its state and exits; the command exits with
anvil's status. Should this process die without passing it on (SIGKILL), the kernel sends anvil
SIGTERM itself, so no orphaned node keeps the port.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from web3 import Web3
from web3.types import RPCEndpoint

from energy_grid.chain.anvil import DEFAULT_CHAIN_ID, NO_PAST_STATES, AnvilNode, PortInUseError, start_anvil
from energy_grid.chain.errors import GridError
from energy_grid.live.ready import chain_is_ready, not_ready_because

DEFAULT_GAS_LIMIT = 30_000_000  # a block of Ethereum's main network
DEFAULT_BLOCK_TIME_S = 1
DEFAULT_SPEED = 60
DEFAULT_STATE_INTERVAL_S = 5
# How often the wall clock looks for the ready marker and for anvil's exit.
POLL_S = 0.5
# The node keeps the files of its cache beside its state, not under the user's ~/.foundry.
CACHE_DIR_NAME = "anvil-cache"
# A lock file beside the state: one chain at a time dumps to a state file.
LOCK_FILE_NAME = "chain.lock"
RPC_TIMEOUT_S = 10
JSON_TAIL_BYTES = 64  # what is read of a dump's end to see it closed

log = logging.getLogger("energy_grid.live.chain")


class ChainInUseError(GridError):
    """Another live chain runs on the same state file."""


@dataclass(frozen=True)
class Pace:
    """How the chain moves once the community is set up."""

    block_time_s: int = DEFAULT_BLOCK_TIME_S
    speed: int = DEFAULT_SPEED

    @property
    def timestamp_interval_s(self) -> int:
        """The chain seconds between two blocks."""
        return self.block_time_s * self.speed


@dataclass(frozen=True)
class ChainSettings:
    port: int
    state_file: Path
    ready_marker: Path
    pace: Pace = Pace()
    gas_limit: int = DEFAULT_GAS_LIMIT
    chain_id: int = DEFAULT_CHAIN_ID
    state_interval_s: int = DEFAULT_STATE_INTERVAL_S


def apply_pace(w3: Web3, pace: Pace) -> None:
    """Automining off and each block stamped `pace.timestamp_interval_s` chain seconds after the last
    (BlockMiner then mines them). The next block is stamped from the latest one explicitly: anvil
    restarted on a saved state counts from the wall's clock, not from its latest block, and the
    chain's clock would jump back."""
    latest_s = int(w3.eth.get_block("latest")["timestamp"])
    w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [False])
    w3.provider.make_request(RPCEndpoint("anvil_setBlockTimestampInterval"), [pace.timestamp_interval_s])
    w3.provider.make_request(RPCEndpoint("evm_setNextBlockTimestamp"), [latest_s + pace.timestamp_interval_s])


class BlockMiner:
    """Mines a block every `block_time_s` wall seconds (`evm_mine`: every ready transaction of the
    pool, stamped by the pace), on a thread of its own so that copying a large state dump never
    delays a block. A node that does not answer for a moment is logged, and the next tick tries
    again."""

    def __init__(self, w3: Web3, block_time_s: int, stop: threading.Event) -> None:
        self.w3 = w3
        self.block_time_s = block_time_s
        self.stop = stop
        self.thread = threading.Thread(target=self._run, name="block-miner", daemon=True)

    def start(self) -> BlockMiner:
        self.thread.start()
        return self

    def _run(self) -> None:
        next_at = time.monotonic() + self.block_time_s
        while not self.stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += self.block_time_s
            error: object = None
            try:
                error = self.w3.provider.make_request(RPCEndpoint("evm_mine"), []).get("error")
            except requests.RequestException as err:
                error = err
            if error:
                log.warning("anvil did not mine a block (%s): trying again at the next tick", error)
            # A tick missed (a slow block) is not made up: blocks keep their spacing.
            next_at = max(next_at, time.monotonic())


def start_chain(settings: ChainSettings) -> AnvilNode:
    """anvil on `settings.port` with the state file, the chain id and the block gas limit; raises
    PortInUseError when another process listens there."""
    settings.state_file.parent.mkdir(parents=True, exist_ok=True)
    return start_anvil(
        port=settings.port,
        state_file=settings.state_file,
        state_interval_seconds=settings.state_interval_s,
        chain_id=settings.chain_id,
        extra_args=("--gas-limit", str(settings.gas_limit)),
        cache_dir=settings.state_file.parent / CACHE_DIR_NAME,
        in_memory_states=NO_PAST_STATES,
        stop_with_parent=True,
    )


def run_chain(settings: ChainSettings, stop: threading.Event) -> int:
    """Runs the chain until anvil exits or `stop` is set (then anvil is stopped gracefully, and
    dumps its state); returns anvil's exit status, 128 + the signal when a signal ended it. Raises
    ChainInUseError when another chain runs on the state file, PortInUseError when another process
    listens on the port."""
    with _state_lock(settings.state_file):
        return _run_chain(settings, stop)


@contextmanager
def _state_lock(state_file: Path) -> Iterator[None]:
    """Holds the lock of `state_file`'s folder: two nodes dumping to one file would corrupt it."""
    state_file.parent.mkdir(parents=True, exist_ok=True)
    with (state_file.parent / LOCK_FILE_NAME).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ChainInUseError(f"another live chain runs on {state_file}: stop it first") from None
        yield


class KeptDump:
    """A copy of anvil's latest whole state dump, beside it.

    anvil writes its dump in place: killed while writing, it leaves a torn file that no node can
    load again, and the chain would be lost. So once a dump has settled (its time unchanged for a
    poll, its JSON closed), it is copied to `<state>.kept`, whole or not at all (a draft, flushed,
    then renamed); a node that cannot load the state file starts from the copy."""

    def __init__(self, state_file: Path) -> None:
        self.state_file = state_file
        self.path = state_file.with_name(state_file.name + ".kept")
        self._seen_ns = 0  # the dump's time at the last poll
        self._kept_ns = self.path.stat().st_mtime_ns if self.path.exists() else 0

    def refresh(self) -> None:
        """Copies the dump once it has settled since the last poll and is newer than the copy."""
        try:
            written_ns = self.state_file.stat().st_mtime_ns
        except FileNotFoundError:
            return
        settled = written_ns == self._seen_ns and written_ns > self._kept_ns
        self._seen_ns = written_ns
        if not settled or not _closed(self.state_file):
            return
        draft = self.path.with_name(self.path.name + ".draft")
        shutil.copyfile(self.state_file, draft)
        with draft.open("rb") as file:
            os.fsync(file.fileno())
        if self.state_file.stat().st_mtime_ns != written_ns:
            return  # a new dump began while copying: the next poll takes it
        draft.replace(self.path)
        self._kept_ns = written_ns

    def restore(self) -> bool:
        """Puts the copy in place of the state file (kept aside as `<state>.torn`); False without one."""
        if not self.path.exists():
            return False
        if self.state_file.exists():
            self.state_file.replace(self.state_file.with_name(self.state_file.name + ".torn"))
        shutil.copyfile(self.path, self.state_file)
        return True


def _closed(state_file: Path) -> bool:
    """Whether the dump ends as a whole JSON object does (a torn one stops mid-value)."""
    with state_file.open("rb") as file:
        file.seek(0, os.SEEK_END)
        file.seek(max(0, file.tell() - JSON_TAIL_BYTES))
        return file.read().rstrip().endswith(b"}")


def _start(settings: ChainSettings, kept: KeptDump) -> AnvilNode:
    """anvil on the state file, or on the kept copy of the last whole dump when it cannot load the file."""
    try:
        return start_chain(settings)
    except PortInUseError:
        raise
    except GridError as err:
        if not kept.restore():
            raise
        log.warning("anvil did not start on %s (%s): starting from the last whole dump, kept at %s", settings.state_file, err, kept.path)
        return start_chain(settings)


def _run_chain(settings: ChainSettings, stop: threading.Event) -> int:
    kept = KeptDump(settings.state_file)
    node = _start(settings, kept)
    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": RPC_TIMEOUT_S}))
    head = int(w3.eth.block_number)
    log.info(
        "anvil listens on %s: chain %d, block %d, gas limit %d, state %s (dumped every %d s)",
        node.url, settings.chain_id, head, settings.gas_limit, settings.state_file, settings.state_interval_s,
    )
    paced = False
    miner_stop = threading.Event()
    reason = not_ready_because(settings.ready_marker, w3)
    if reason is not None:
        log.info("automining until the community is set up: %s", reason)
    while True:
        status = node.process.poll()
        if status is not None:
            miner_stop.set()
            log.error("anvil exited by itself with status %d", status)
            return _exit_status(status)
        if stop.is_set():
            miner_stop.set()
            node.process.send_signal(signal.SIGTERM)
            status = node.process.wait()
            log.info("anvil stopped with status %d after dumping its state to %s", status, settings.state_file)
            return _exit_status(status)
        if not paced and _ready(settings.ready_marker, w3):
            apply_pace(w3, settings.pace)
            BlockMiner(w3, settings.pace.block_time_s, miner_stop).start()
            paced = True
            log.info(
                "the community is set up: a block every %d s, each stamped %d s after the last (the chain's clock at %d× the wall's)",
                settings.pace.block_time_s, settings.pace.timestamp_interval_s, settings.pace.speed,
            )
        kept.refresh()
        stop.wait(POLL_S)


def _ready(ready_marker: Path, w3: Web3) -> bool:
    """Whether the marker holds; a moment when anvil does not answer is logged and retried."""
    try:
        return chain_is_ready(ready_marker, w3)
    except requests.RequestException as err:
        log.warning("anvil did not answer (%s): looking for the ready marker again", err)
        return False


def _exit_status(status: int) -> int:
    """A process's status as a shell reports it: a signal's number above 128."""
    return status if status >= 0 else 128 - status


__all__ = ["ChainInUseError", "ChainSettings", "KeptDump", "Pace", "apply_pace", "run_chain", "start_chain"]
