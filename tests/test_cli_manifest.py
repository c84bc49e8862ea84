"""The command line on a manifest that does not describe the node's deployment: a manifest of another
chain, one it cannot read, and one of another deployment whose contracts landed at the same
addresses on a fresh chain with the same id. Each is one sentence on stderr and exit code 2 (a
set-up step), before anything is read from the contracts; a manifest written before deployments
recorded their start block's hash still works on its chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3
from web3.types import RPCEndpoint

from energy_grid.chain.anvil import AnvilNode, anvil_node
from energy_grid.chain.manifest import read_manifest

from support.cli_helpers import cli_runner

FOREIGN_CHAIN_ID = 4242


@pytest.fixture
def fresh_anvil(api_manifest: Path, networks: Any) -> Iterator[AnvilNode]:
    """A new anvil with anvil's chain id on which the manifest's contracts have code at their
    addresses, as a new deployment on a fresh `make node` leaves them: not the manifest's deployment."""
    deployed = Web3(Web3.HTTPProvider(networks.provider.uri))
    with anvil_node() as node:
        fresh = Web3(Web3.HTTPProvider(node.url))
        for entry in read_manifest(api_manifest)["contracts"].values():
            code = "0x" + bytes(deployed.eth.get_code(entry["address"])).hex()
            fresh.provider.make_request(RPCEndpoint("anvil_setCode"), [entry["address"], code])
        yield node


def one_line(stderr: str) -> str:
    [line] = stderr.strip().splitlines()
    return line


def test_a_manifest_of_another_deployment_at_the_same_addresses_is_refused_with_exit_2(api_manifest, fresh_anvil):
    manifest = read_manifest(api_manifest)
    fresh = Web3(Web3.HTTPProvider(fresh_anvil.url))
    assert fresh.eth.chain_id == manifest["chainId"] and fresh.eth.get_code(manifest["contracts"]["SmartMeter"]["address"])
    expected = (
        f"Error: The deployment in {api_manifest} is not the one on the chain at {fresh_anvil.url} (the chain's block "
        f"{manifest['startBlock']:,} is not the block it was deployed in): pass this chain's manifest with --manifest, "
        "or run `make deploy` against this node."
    )
    # The fresh chain has not reached the deployment's start block yet, then has another block there.
    assert fresh.eth.block_number < manifest["startBlock"]
    assert one_line(cli_runner(fresh_anvil.url, api_manifest)("status", expect=2).stderr) == expected
    fresh.provider.make_request("anvil_mine", [hex(manifest["startBlock"] + 1)])  # type: ignore[arg-type]
    assert fresh.eth.block_number > manifest["startBlock"]
    assert one_line(cli_runner(fresh_anvil.url, api_manifest)("status", expect=2).stderr) == expected


def test_the_manifest_of_the_deployment_and_one_without_its_marker_work_on_its_chain(api_manifest, networks, tmp_path):
    rpc_url = networks.provider.uri
    manifest = read_manifest(api_manifest)
    assert manifest["startBlockHash"] == "0x" + bytes(Web3(Web3.HTTPProvider(rpc_url)).eth.get_block(manifest["startBlock"])["hash"]).hex()
    marked = cli_runner(rpc_url, api_manifest)("status").json()
    old = tmp_path / "old.json"
    old.write_text(json.dumps({key: value for key, value in manifest.items() if key != "startBlockHash"}))
    unmarked = cli_runner(rpc_url, old)("status").json()
    assert marked["contracts"] == unmarked["contracts"] and len(marked["contracts"]) == len(manifest["contracts"])


def test_a_manifest_of_another_chain_is_refused_with_exit_2(api_manifest):
    with anvil_node(chain_id=FOREIGN_CHAIN_ID) as node:
        refused = cli_runner(node.url, api_manifest)("status", expect=2)
    chain_id = read_manifest(api_manifest)["chainId"]
    assert one_line(refused.stderr) == (
        f"Error: The manifest {api_manifest} is for chain {chain_id} but the node at {node.url} is chain {FOREIGN_CHAIN_ID}: "
        "pass the manifest of this chain (--manifest) or the right --rpc-url."
    )


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"chainId": 31337, "contracts": ', "is not JSON (Expecting value, line 1): redeploy or restore it."),
        (b"\xff\xfe\x00binary", "is not a deployment manifest (not text): redeploy or restore it."),
        (b'{"contracts": {}}', "is not a deployment manifest: it has no integer chainId."),
        (b'{"chainId": 31337, "contracts": {}}', "lists no contracts."),
        (b'{"chainId": 31337, "startBlock": 1, "startBlockHash": "0x12", "contracts": {}}', "its startBlockHash is not a block hash"),
    ],
)
def test_an_unreadable_manifest_is_one_sentence_and_exit_2(networks, tmp_path, content, says):
    path = tmp_path / "31337.json"
    path.write_bytes(content)
    refused = cli_runner(networks.provider.uri, path)("status", expect=2)
    assert says in one_line(refused.stderr) and str(path) in refused.stderr


def test_a_missing_manifest_says_how_to_deploy(networks, tmp_path):
    missing = tmp_path / "none.json"
    refused = cli_runner(networks.provider.uri, missing)("status", expect=2)
    assert one_line(refused.stderr).startswith(f"Error: No deployment manifest for chain 31337 at {missing}: run `make node`")

