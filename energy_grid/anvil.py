"""A local anvil node a program or test owns: started on a free port, always stopped. Local only.

ape-foundry's own embedded anvil runs with `--steps-tracing` (every step of every transaction kept
in memory: gigabytes over a simulated day of tens of thousands of transactions), so the demo and
the tests that need a node of their own (another chain id, a node to kill) start anvil themselves
and point ape and web3 at it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from energy_grid.client import GridError

START_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.05
LOCAL_HOST = "127.0.0.1"
# Anvil's default 30M-gas blocks; the simulation mines several per step when needed.
DEFAULT_CHAIN_ID = 31337
# By default anvil keeps past block states for reads at older blocks and writes the older ones to
# ~/.foundry/anvil/tmp, where they stay (about a gigabyte per 100-household day). The nodes started
# here and the test suite's keep this many, in memory only: enough for a reader pinned to a block
# that others have since mined past (the keeper), none on disk.
IN_MEMORY_STATES = 64


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCAL_HOST, 0))
        return int(s.getsockname()[1])


def anvil_binary() -> str:
    """anvil from PATH, else from the project's node_modules (`make setup` installs it there)."""
    found = shutil.which("anvil")
    if found:
        return found
    local = Path(__file__).resolve().parents[1] / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
    if local.exists():
        return str(local)
    raise GridError("anvil not found: run `make setup` (it installs anvil from npm) or put anvil on PATH")


@dataclass
class AnvilNode:
    """A running anvil process."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOCAL_HOST}:{self.port}"

    def stop(self, kill: bool = False) -> None:
        """Stops anvil: gracefully (it writes its --state file) or, with `kill`, SIGKILL."""
        if self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=START_TIMEOUT_SECONDS)


def start_anvil(
    port: int | None = None,
    state_file: Path | None = None,
    state_interval_seconds: int | None = None,
    chain_id: int = DEFAULT_CHAIN_ID,
    extra_args: tuple[str, ...] = (),
    log_file: Path | None = None,
    cache_dir: Path | None = None,
) -> AnvilNode:
    """Starts anvil and waits until it answers. With `state_file` it loads the state there (if
    any) and dumps to it on exit and every `state_interval_seconds`. `cache_dir` replaces anvil's
    cache folder under ~/.foundry, where a killed anvil leaves its on-disk states behind."""
    port = port or free_port()
    command = [anvil_binary(), "--host", LOCAL_HOST, "--port", str(port), "--chain-id", str(chain_id), "--silent"]
    command += ["--prune-history", str(IN_MEMORY_STATES)]
    if cache_dir is not None:
        command += ["--cache-path", str(cache_dir)]
    if state_file is not None:
        command += ["--state", str(state_file)]
        if state_interval_seconds is not None:
            command += ["--state-interval", str(state_interval_seconds)]
    if log_file is not None:
        command.remove("--silent")
        output = log_file.open("ab")
    else:
        output = subprocess.DEVNULL  # type: ignore[assignment]
    node = AnvilNode(subprocess.Popen([*command, *extra_args], stdout=output, stderr=subprocess.STDOUT), port)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            requests.post(node.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
            return node
        except requests.ConnectionError:
            if node.process.poll() is not None or time.monotonic() > deadline:
                node.stop(kill=True)
                raise GridError(f"anvil did not start on port {port}") from None
            time.sleep(POLL_SECONDS)


@contextmanager
def anvil_node(**kwargs: object) -> Iterator[AnvilNode]:
    """`start_anvil(**kwargs)`, stopped on exit whatever happens."""
    node = start_anvil(**kwargs)  # type: ignore[arg-type]
    try:
        yield node
    finally:
        node.stop()


__all__ = ["AnvilNode", "anvil_binary", "anvil_node", "free_port", "start_anvil"]
