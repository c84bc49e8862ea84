"""The deployment manifest: `deployments/<chainId>.json`, enough for a plain web3.py client.

    {"chainId": 31337, "startBlock": 1, "startBlockHash": "0x…",
     "contracts": {"SmartMeter": {"address": "0x…", "abi": [...], "userdoc": {…}}, …}}

`userdoc` is the compiler's NatSpec for users: clients explain a custom error with its `@notice`.
`startBlockHash` marks the deployment: a fresh chain with the same id where a new deployment landed
at the same addresses has another block there (GridClient refuses the manifest on it). A manifest
written before it was recorded has none and is checked by its chain id and contract code only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Protocol

from energy_grid.chain.errors import ManifestError

DEPLOYMENTS_DIR = Path("deployments")
ADDRESS_HEX_LENGTH = 42  # "0x" and 40 hex digits
BLOCK_HASH = re.compile(r"0x[0-9a-fA-F]{64}")

class Deployed(Protocol):
    """What the manifest needs of a deployed contract (an ape ContractInstance fits)."""

    address: str

    @property
    def contract_type(self) -> Any: ...


def abi_of(contract: Deployed) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in contract.contract_type.abi]


def build_manifest(
    chain_id: int, contracts: dict[str, Deployed], start_block: int | None = None, start_block_hash: bytes | str | None = None
) -> dict[str, Any]:
    """`start_block`, the deployment's first block, is where the event index starts reading; its
    hash, `start_block_hash`, tells this deployment from another one at the same addresses."""
    start: dict[str, Any] = {} if start_block is None else {"startBlock": start_block}
    if start_block_hash is not None:
        if start_block is None:
            raise ValueError("build_manifest: a start block hash needs its start block")
        start["startBlockHash"] = hash_hex(start_block_hash)
    return {
        "chainId": chain_id,
        **start,
        "contracts": {
            name: {"address": str(c.address), "abi": abi_of(c), "userdoc": c.contract_type.userdoc or {}}
            for name, c in contracts.items()
        },
    }


def hash_hex(value: bytes | str) -> str:
    """A block hash as the manifest and the node's JSON write it: "0x" and 64 lowercase hex digits."""
    text = value.hex() if isinstance(value, bytes) else value
    return "0x" + text.lower().removeprefix("0x")


def manifest_path(chain_id: int, directory: Path = DEPLOYMENTS_DIR) -> Path:
    return directory / f"{chain_id}.json"


def write_manifest(manifest: dict[str, Any], directory: Path = DEPLOYMENTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = manifest_path(manifest["chainId"], directory)
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def read_manifest(path: Path | str) -> dict[str, Any]:
    """The manifest at `path`; ManifestError when it is missing or not a manifest."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ManifestError(f"No deployment manifest at {path}: run `make deploy` first.") from None
    except OSError as err:
        raise ManifestError(f"Cannot read the deployment manifest at {path}: {err.strerror}.") from None
    except UnicodeDecodeError:
        raise ManifestError(f"{path} is not a deployment manifest (not text): redeploy or restore it.") from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as err:
        raise ManifestError(f"{path} is not JSON ({err.msg}, line {err.lineno}): redeploy or restore it.") from None
    validate_manifest(manifest, str(path))
    return dict(manifest)


def validate_manifest(manifest: Any, source: str = "the manifest") -> None:
    """Checks the shape a client relies on: an integer chainId and, per contract, an address and an ABI."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("chainId"), int):
        raise ManifestError(f"{source} is not a deployment manifest: it has no integer chainId.")
    marker = manifest.get("startBlockHash")
    if marker is not None and (not isinstance(manifest.get("startBlock"), int) or not _is_block_hash(marker)):
        raise ManifestError(f"{source}: its startBlockHash is not a block hash with an integer startBlock.")
    contracts = manifest.get("contracts")
    if not isinstance(contracts, dict) or not contracts:
        raise ManifestError(f"{source} lists no contracts.")
    for name, entry in contracts.items():
        address = entry.get("address") if isinstance(entry, dict) else None
        if not isinstance(address, str) or len(address) != ADDRESS_HEX_LENGTH or not address.startswith("0x"):
            raise ManifestError(f"{source}: {name} has no valid address.")
        if not isinstance(entry.get("abi"), list):
            raise ManifestError(f"{source}: {name} has no ABI.")


def _is_block_hash(value: Any) -> bool:
    return isinstance(value, str) and BLOCK_HASH.fullmatch(value) is not None
