"""The deployment manifest: `deployments/<chainId>.json`, enough for a plain web3.py client.

    {"chainId": 31337, "contracts": {"SmartMeter": {"address": "0x…", "abi": [...], "userdoc": {…}}, …}}

`userdoc` is the compiler's NatSpec for users: clients explain a custom error with its `@notice`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

DEPLOYMENTS_DIR = Path("deployments")


class Deployed(Protocol):
    """What the manifest needs of a deployed contract (an ape ContractInstance fits)."""

    address: str

    @property
    def contract_type(self) -> Any: ...


def abi_of(contract: Deployed) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in contract.contract_type.abi]


def build_manifest(chain_id: int, contracts: dict[str, Deployed]) -> dict[str, Any]:
    return {
        "chainId": chain_id,
        "contracts": {
            name: {"address": str(c.address), "abi": abi_of(c), "userdoc": c.contract_type.userdoc or {}}
            for name, c in contracts.items()
        },
    }


def manifest_path(chain_id: int, directory: Path = DEPLOYMENTS_DIR) -> Path:
    return directory / f"{chain_id}.json"


def write_manifest(manifest: dict[str, Any], directory: Path = DEPLOYMENTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = manifest_path(manifest["chainId"], directory)
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(f"No deployment manifest at {path}: run `make deploy` first.") from None
    return manifest
