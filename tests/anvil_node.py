"""A test's own anvil on a free port: started, killed (SIGKILL) and restarted on its state file,
with the system deployed to it through ape and a manifest for the plain web3.py client.

Tests that kill a node or run clients in other processes use it instead of ape's embedded
anvil, which the session shares.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from energy_grid.client import GridClient
from energy_grid.deployment import System, deploy_system
from energy_grid.manifest import build_manifest, read_manifest, write_manifest

ROOT = Path(__file__).resolve().parent.parent
ANVIL = ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
STARTUP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
    """An anvil process on 127.0.0.1:`port`; with `persist`, its state is dumped to
    `work_dir/state.json` every second and loaded from there again on restart (as `make node` does)."""

    work_dir: Path
    port: int = field(default_factory=free_port)
    persist: bool = False
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state_file(self) -> Path:
        return self.work_dir / "state.json"

    def start(self) -> AnvilNode:
        command = [str(ANVIL), "--host", "127.0.0.1", "--port", str(self.port), "--silent"]
        # Its own cache folder: a killed anvil leaves its on-disk states behind.
        command += ["--cache-path", str(self.work_dir / "cache")]
        if self.persist:
            command += ["--state", str(self.state_file), "--state-interval", "1"]
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, STARTUP_TIMEOUT_S, f"anvil on port {self.port}", poll_s=0.05)
        return self

    def _answers(self) -> bool:
        assert self.process is not None and self.process.poll() is None, "anvil exited"
        try:
            return Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 1})).is_connected()
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no state dump on the way out, as when a machine loses power."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

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
