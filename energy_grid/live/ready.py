"""The ready marker: a small file the community's set-up writes once the chain holds the set-up.

Until it exists the chain automines, so the set-up can stamp its own blocks; once it exists the
chain is paced and the services start. The marker names the chain id and the head block (number
and hash) when the set-up ended, so it is believed only by a chain that holds that very block: a
chain started afresh, or restarted from a state saved before the set-up ended, does not, and the
set-up runs again there.

    {"chainId": 31337, "blockNumber": 1234, "blockHash": "0x…"}

A service's command may name AFTER_SET_UP_BLOCK as an argument: `live wait-ready` puts the first
block after the set-up in its place (the keeper reads its events from there: everything before is
the set-up's registrations and the meters' backdated history, which leave it nothing to do).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3
from web3.exceptions import BlockNotFound

AFTER_SET_UP_BLOCK = "{after_set_up_block}"


@dataclass(frozen=True)
class ReadyMarker:
    chain_id: int
    block_number: int
    block_hash: str

    def held_by(self, w3: Web3) -> bool:
        """Whether the chain at `w3` is the one the set-up ended on: same chain id, and the marked
        block is there with the marked hash."""
        if int(w3.eth.chain_id) != self.chain_id:
            return False
        try:
            block = w3.eth.get_block(self.block_number)
        except BlockNotFound:
            return False
        return Web3.to_hex(block["hash"]) == self.block_hash

    @classmethod
    def at_head(cls, w3: Web3) -> ReadyMarker:
        """A marker of the chain at `w3` as its latest block stands now."""
        head = w3.eth.get_block("latest")
        return cls(int(w3.eth.chain_id), int(head["number"]), Web3.to_hex(head["hash"]))

    def write(self, path: Path) -> None:
        """Writes the marker to `path`, whole or not at all: beside its place, flushed to disk, then renamed."""
        content = {"chainId": self.chain_id, "blockNumber": self.block_number, "blockHash": self.block_hash}
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(path.name + ".draft")
        with draft.open("w") as file:
            file.write(json.dumps(content) + "\n")
            file.flush()
            os.fsync(file.fileno())
        draft.replace(path)


def read_ready_marker(path: Path) -> ReadyMarker | None:
    """The marker at `path`; None when there is none, or when the file is not a marker (a torn or
    foreign file counts as no set-up)."""
    try:
        content = json.loads(path.read_text())
        return ReadyMarker(int(content["chainId"]), int(content["blockNumber"]), str(content["blockHash"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def chain_is_ready(path: Path, w3: Web3) -> bool:
    """Whether the marker at `path` exists and the chain at `w3` holds it."""
    return not_ready_because(path, w3) is None


def not_ready_because(path: Path, w3: Web3) -> str | None:
    """Why the chain at `w3` is not ready by the marker at `path`, in one sentence; None when it is."""
    marker = read_ready_marker(path)
    if marker is None:
        return f"there is no ready marker at {path} yet"
    if not marker.held_by(w3):
        return f"the ready marker {path} names block {marker.block_number}, which this chain does not hold: the set-up runs again"
    return None


__all__ = ["AFTER_SET_UP_BLOCK", "ReadyMarker", "chain_is_ready", "not_ready_because", "read_ready_marker"]
