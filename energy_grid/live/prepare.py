"""The live community's set-up step (`energy-grid live prepare`): run by the process manager once
the chain is up, before any service starts.

It does what the chain still lacks and nothing twice: when the ready marker holds on the chain, it
is done at once. Otherwise it deploys the system when the manifest's contracts are not on the chain
(no manifest yet, or a manifest of an earlier chain), sets the community up (`energy-grid live
setup`, which resumes from what the chain shows), waits until anvil has saved a state that holds
the set-up, and only then writes the ready marker: the marker never outlives what it marks, even
when the node is killed right after. A failure exits non-zero, and the process manager runs the
step again.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import requests
from web3 import Web3

from energy_grid.chain.anvil import state_dump_begun_after
from energy_grid.chain.errors import ChainMismatchError, ManifestError
from energy_grid.chain.manifest import read_manifest
from energy_grid.contracts.client import check_on_chain
from energy_grid.live.chain import DEFAULT_STATE_INTERVAL_S
from energy_grid.live.ready import ReadyMarker, read_ready_marker
from energy_grid.live.stack import energy_grid_command

NODE_WAIT_S = 120.0
POLL_S = 0.5
RPC_TIMEOUT_S = 30
# Wall seconds a failed step waits before it exits, so that a process manager that runs it again
# at once does not spin while, say, the node restarts.
PAUSE_AFTER_FAILURE_S = 5.0
DUMP_WRITING_S = 60.0  # time to write a dump: seconds for a large community's gigabyte

log = logging.getLogger("energy_grid.live.prepare")


class SetUpFailed(RuntimeError):
    """A step of the set-up failed; the message says which and where its output is."""


@dataclass(frozen=True)
class SetUpPlan:
    rpc_url: str
    manifest_file: Path
    ready_marker: Path
    state_file: Path
    households: int
    seed: int
    project_dir: Path
    dev_account: int = 0  # the operator, who registers the households' meters
    state_interval_s: int = DEFAULT_STATE_INTERVAL_S  # the chain's: a dump is waited for that long and more

    @property
    def dump_wait_s(self) -> float:
        """How long a whole state dump may take to come: two intervals and a minute for the writing."""
        return 2 * self.state_interval_s + DUMP_WRITING_S


def prepare(plan: SetUpPlan, stop: threading.Event) -> int:
    """Runs the set-up step (see the module's docstring); 0 once the chain is set up."""
    try:
        w3 = _wait_for_node(plan.rpc_url, stop)
        marker = read_ready_marker(plan.ready_marker)
        if marker is not None and marker.held_by(w3):
            log.info("the chain is set up already (ready marker at block %d): nothing to do", marker.block_number)
            return 0
        if marker is not None:
            plan.ready_marker.unlink()
            log.info("removed the ready marker of block %d: this chain does not hold that block", marker.block_number)
        if deployment_on_chain(plan.manifest_file, w3):
            log.info("the contracts of %s are on the chain: not deploying again", plan.manifest_file)
        else:
            log.info("deploying the system to %s (manifest %s)", plan.rpc_url, plan.manifest_file)
            _run(
                [
                    *energy_grid_command(), "--rpc-url", plan.rpc_url, "deploy",
                    "--project-dir", str(plan.project_dir), "--manifest-dir", str(plan.manifest_file.parent),
                ],
                "the deployment",
            )
        log.info("setting up %d households (seed %d)", plan.households, plan.seed)
        _run(
            [
                *energy_grid_command(), "--rpc-url", plan.rpc_url, "--manifest", str(plan.manifest_file),
                "--dev-account", str(plan.dev_account),
                "live", "setup", "--households", str(plan.households), "--seed", str(plan.seed),
            ],
            "the community's set-up",
        )
        marker = ReadyMarker.at_head(w3)
        log.info("waiting for anvil to save a state that holds block %d", marker.block_number)
        state_dump_begun_after(plan.state_file, timeout_s=plan.dump_wait_s)
        marker.write(plan.ready_marker)
        log.info("the community is set up: wrote the ready marker %s (block %d)", plan.ready_marker, marker.block_number)
        return 0
    except (SetUpFailed, ManifestError, requests.RequestException, OSError) as err:
        log.error("the set-up failed: %s", err)
        stop.wait(PAUSE_AFTER_FAILURE_S)
        return 1


def deployment_on_chain(manifest_file: Path, w3: Web3) -> bool:
    """Whether the manifest at `manifest_file` is this chain's deployment, as the typed client
    checks it (check_on_chain): a manifest left from an earlier chain names addresses without code,
    or code of a new deployment at the same addresses."""
    try:
        check_on_chain(w3, read_manifest(manifest_file), str(manifest_file))
    except (ManifestError, ChainMismatchError):
        return False
    return True


def _wait_for_node(rpc_url: str, stop: threading.Event) -> Web3:
    """The node at `rpc_url` once it answers (the chain may still be starting)."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": RPC_TIMEOUT_S}))
    waited = 0.0
    while not w3.is_connected():
        if waited >= NODE_WAIT_S or stop.is_set():
            raise SetUpFailed(f"no node answered at {rpc_url} within {NODE_WAIT_S:g} s")
        stop.wait(POLL_S)
        waited += POLL_S
    return w3


def _run(command: list[str], what: str) -> None:
    """Runs a step's command, its output in ours; SetUpFailed when it fails."""
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise SetUpFailed(f"{what} exited with status {done.returncode} (its output is above)")


__all__ = ["SetUpPlan", "deployment_on_chain", "prepare"]
