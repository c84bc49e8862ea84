"""A test's own anvil on a free port: started, killed (SIGKILL) and restarted on its state file,
with the system deployed to it through ape and a manifest for the plain web3.py client.

Tests that kill a node or run clients in other processes use it instead of ape's embedded
anvil, which the session shares.
"""

from __future__ import annotations

import atexit
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from energy_grid.chain import anvil
from energy_grid.chain.anvil import free_port, state_dump_begun_after
from energy_grid.chain.manifest import build_manifest, read_manifest, write_manifest
from energy_grid.contracts.client import GridClient
from energy_grid.deploy.system import System, deploy_system


def wait_until(condition: Any, timeout_s: float, what: str, poll_s: float = 0.02) -> Any:
    """Polls `condition()` until it returns something truthy (returned), or fails after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(poll_s)


@dataclass
class AnvilNode:
    """An anvil on 127.0.0.1:`port` that keeps its port across restarts; with `persist`, its state
    is dumped to `work_dir/state.json` every second and loaded from there again on restart (as
    `make node` does)."""

    work_dir: Path
    port: int = field(default_factory=free_port)
    persist: bool = False
    node: anvil.AnvilNode | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state_file(self) -> Path:
        return self.work_dir / "state.json"

    def start(self) -> AnvilNode:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.node = anvil.start_anvil(
            port=self.port,
            state_file=self.state_file if self.persist else None,
            state_interval_seconds=1 if self.persist else None,
            cache_dir=self.work_dir / "cache",
        )
        # Stopped when the test process ends too: a module whose set-up fails after starting its node
        # never reaches the fixture's own stop, and the anvil would outlive the run.
        atexit.register(self.stop)
        return self

    def kill(self) -> None:
        """SIGKILL: no state dump on the way out, as when a machine loses power."""
        if self.node is not None:
            self.node.stop(kill=True)
        self.node = None

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
        self.node = None

    def web3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.url))


def deploy_to_node(node: AnvilNode, project: Any, networks: Any, deployer: Any) -> tuple[System, Path]:
    """Deploys the whole system to `node` with ape (as `make deploy` would) and writes its manifest
    into the node's folder; ape's own network is back in place afterwards."""
    with networks.parse_network_choice(node.url) as provider:
        system = deploy_system(project, deployer)
        path = write_manifest(build_manifest(provider.chain_id, system.contracts()), node.work_dir)
    return system, path


def grid_client(node: AnvilNode, manifest: Path) -> GridClient:
    return GridClient(node.web3(), read_manifest(manifest))


__all__ = ["AnvilNode", "deploy_to_node", "grid_client", "state_dump_begun_after", "wait_until"]
