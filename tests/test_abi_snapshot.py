"""The interface clients depend on, pinned: every deployed contract's and every interface's ABI as
ape compiles it (the build `make compile` writes, .build/__local__.json), and the names the
deployment manifest lists, against tests/data/abi_snapshot.json.

A change to any of them fails here, whether meant or not. A meant one (a new function, a renamed
event) is recorded by regenerating the snapshot from the current build and committing it with the
change, so the diff shows what clients will see:

    ENERGY_GRID_UPDATE_ABI_SNAPSHOT=1 ape test tests/test_abi_snapshot.py -p no:cacheprovider
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from ethpm_types import ContractType, PackageManifest

from energy_grid.chain.manifest import abi_of, build_manifest
from energy_grid.deploy.system import EXTENSIONS, deploy_system, with_extension

SNAPSHOT = Path(__file__).resolve().parent / "data" / "abi_snapshot.json"
BUILD = Path(__file__).resolve().parent.parent / ".build" / "__local__.json"
UPDATE = os.environ.get("ENERGY_GRID_UPDATE_ABI_SNAPSHOT") == "1"
INTERFACE_NAME = re.compile(r"I[A-Z]\w*")


def canonical_abi(abi: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ABI's items in one fixed order (kind, name, then the item itself), keys sorted: the same
    interface always reads the same, whatever order the compiler lists it in."""
    items = [json.loads(json.dumps(item, sort_keys=True)) for item in abi]
    return sorted(items, key=lambda item: (item["type"], item.get("name", ""), json.dumps(item, sort_keys=True)))


def project_interfaces(built: dict[str, ContractType]) -> list[str]:
    """The interfaces declared in the project's own sources (not the libraries it imports)."""
    names = []
    for contract_type in built.values():
        source = contract_type.source_id or ""
        if INTERFACE_NAME.fullmatch(contract_type.name or "") and not source.startswith("contracts/test/"):
            names.append(contract_type.name or "")
    return sorted(names)


def built_abi(built: dict[str, ContractType], name: str) -> list[dict[str, Any]]:
    contract_type = built[name]
    if name in EXTENSIONS:  # its address serves its extension's functions too, as the manifest lists them
        contract_type = with_extension(contract_type, built[EXTENSIONS[name]])
    return canonical_abi(abi_of(SimpleNamespace(contract_type=contract_type)))


def build_snapshot(built: dict[str, ContractType], manifest_names: dict[str, str]) -> dict[str, Any]:
    """`manifest`: each manifest entry's name -> the contract it deploys; `abis`: contract or
    interface name -> canonical ABI, for every deployed contract and every interface."""
    names = sorted(set(manifest_names.values()) | set(project_interfaces(built)))
    return {"manifest": dict(sorted(manifest_names.items())), "abis": {name: built_abi(built, name) for name in names}}


def snapshot_text(snapshot: dict[str, Any]) -> str:
    """The snapshot as JSON with one ABI item per line, so a change reads as a one-line diff."""
    compact: dict[str, Any] = {"separators": (", ", ": "), "sort_keys": True}
    manifest = ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in snapshot["manifest"].items())
    abis = ",\n".join(
        f"    {json.dumps(name)}: [\n" + ",\n".join(f"      {json.dumps(item, **compact)}" for item in abi) + "\n    ]"
        for name, abi in snapshot["abis"].items()
    )
    return f'{{\n  "manifest": {{\n{manifest}\n  }},\n  "abis": {{\n{abis}\n  }}\n}}\n'


@pytest.fixture(scope="module")
def system(project, admin):
    return deploy_system(project, admin)


@pytest.fixture(scope="module")
def manifest_names(system: Any) -> dict[str, str]:
    return {name: contract.contract_type.name for name, contract in system.contracts().items()}


@pytest.fixture(scope="module")
def built() -> dict[str, ContractType]:
    """Every contract type of the build, read from its file. Not through ape's project object: in a
    test process that object re-resolves sources on load, and once, in a fresh clone's parallel run,
    one worker's copy lacked two interfaces the build on disk held."""
    return dict(PackageManifest.model_validate_json(BUILD.read_text()).contract_types or {})


@pytest.fixture(scope="module")
def snapshot(request: pytest.FixtureRequest, built: dict[str, ContractType]) -> dict[str, Any]:
    if UPDATE:  # only then does reading the snapshot need a deployment
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(snapshot_text(build_snapshot(built, request.getfixturevalue("manifest_names"))))
    return dict(json.loads(SNAPSHOT.read_text()))


def test_manifest_lists_the_same_contracts(snapshot, manifest_names):
    assert manifest_names == snapshot["manifest"]


def test_the_same_contracts_and_interfaces_are_pinned(snapshot, built, manifest_names):
    assert sorted(snapshot["abis"]) == sorted(set(manifest_names.values()) | set(project_interfaces(built)))


def test_every_abi_equals_its_snapshot(snapshot, built):
    assert [name for name, abi in snapshot["abis"].items() if built_abi(built, name) != abi] == []


def test_the_manifest_carries_the_pinned_abis(snapshot, system, chain):
    manifest = build_manifest(chain.chain_id, system.contracts())
    for name, entry in manifest["contracts"].items():
        assert canonical_abi(entry["abi"]) == snapshot["abis"][snapshot["manifest"][name]], name


def test_snapshot_text_is_the_snapshot():
    snapshot = {"manifest": {"Settlement": "EnergyTrading"}, "abis": {"IX": [{"type": "error", "name": "E", "inputs": []}], "IY": []}}
    assert json.loads(snapshot_text(snapshot)) == snapshot


def test_canonical_order_ignores_the_compilers_order():
    event = {"type": "event", "name": "A", "anonymous": False, "inputs": []}
    function = {"type": "function", "name": "b", "inputs": [], "outputs": [], "stateMutability": "view"}
    assert canonical_abi([function, event]) == canonical_abi([event, function]) == [event, function]
