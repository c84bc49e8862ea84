"""Shared by the simulation tests: a deployed system as an anvil state file, and fresh anvils
started from it (each test run on its own node, so runs cannot see each other)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Any

from web3 import Web3

from energy_grid.chain.anvil import AnvilNode, start_anvil
from energy_grid.chain.manifest import build_manifest, write_manifest
from energy_grid.contracts.client import GridClient
from energy_grid.deploy.system import DeploymentSettings, deploy_system, fund_local_accounts, setup_local_roles
from energy_grid.simulation.driver import SITE_UTC_OFFSET_MINUTES


def deploy_to_state_file(project: Any, accounts: Any, chain: Any, directory: Path) -> tuple[Path, Path]:
    """Deploys a wired system on the test chain as `make demo` does, and writes the whole chain
    as an anvil --state file; returns (state file, manifest)."""
    admin = accounts[0]
    system = deploy_system(project, admin, DeploymentSettings(utc_offset_minutes=SITE_UTC_OFFSET_MINUTES))
    setup_local_roles(system, admin)
    fund_local_accounts(system, admin, list(accounts)[1:4])
    manifest = write_manifest(build_manifest(chain.chain_id, system.contracts()), directory)
    dump = chain.provider.make_request("anvil_dumpState", [])
    raw = bytes.fromhex(str(dump).removeprefix("0x"))
    state = directory / "deployed-state.json"
    state.write_bytes(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    return state, manifest


def node_from(state: Path, directory: Path, name: str, state_interval_seconds: int | None = None, port: int | None = None) -> AnvilNode:
    """An anvil started from a copy of `state` (directory/name.json, where it also persists)."""
    own = directory / f"{name}.json"
    if not own.exists():
        shutil.copy(state, own)
    return start_anvil(port=port, state_file=own, state_interval_seconds=state_interval_seconds)


def client_of(node: AnvilNode, manifest: Path) -> GridClient:
    return GridClient.from_manifest(manifest, node.url)


def web3_of(node: AnvilNode) -> Web3:
    return Web3(Web3.HTTPProvider(node.url))
