"""The README's examples, run in the order it gives them, on a fresh node and deployment.

The commands come from README.md's fenced blocks, so the test follows the README when it changes.
`make node` and `make deploy` are this module's fixture: a fresh anvil (chain 31337) and the deploy
script `make deploy` runs (`ape run deploy --network <node>`), its manifest in a working folder that
stands in for a checkout (`deployments/`, `examples/`, `.venv/`). The other `make` targets install,
test or run for long (each has its own tests) and are left out. Every other shell line runs as a
user's shell runs it, against that node (RPC_URL), and must exit 0 and print what proves it did its
job; a Python block runs as the README shows it, its last expression checked against the manifest.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.anvil import AnvilNode, anvil_node
from energy_grid.chain.manifest import read_manifest
from energy_grid.simulation.run_state import SITE_UTC_OFFSET_MINUTES

pytestmark = pytest.mark.slow  # a node and an ape deploy of its own

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DEFAULT_RPC_URL = "http://127.0.0.1:8545"  # what the README's commands and snippets point at
CHAIN_ID = 31337
FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
FIXTURE_COMMANDS = ("make node", "make deploy")  # this module's fixtures: the fresh node and deployment
BIN = Path(sys.executable).parent  # the virtualenv's bin: its python and the energy-grid console script
ACCOUNT_ENV = ("ENERGY_GRID_PRIVATE_KEY", "ENERGY_GRID_KEYSTORE_PASSWORD")

# What each example prints that shows it did its job, by a part of its command line. A command the
# README gains needs its line here: the test refuses a command it cannot check.
PROOFS = {
    "examples/submit_reading.py": r"holds [1-9]\d* Wh of EnergyToken",
    "examples/trade.py": r"Transaction \d+ settled: [1-9]\d* Wh at [1-9]\d* per kWh",
    "examples/standing_order_web3.py": r"cleared at [1-9]\d* per kWh, [1-9]\d* Wh traded",
    "examples/zones_web3.py": r"zone \d+ \(region 1\): [1-9]\d* per kWh, exported 1000 Wh",
    "energy-grid --dev-account 1 status": re.escape(anvil_account(1).address),
    "energy-grid --dev-account 8 keeper --once": r"rounds\b.*\b1\b",
}


@dataclass(frozen=True)
class Example:
    language: str  # "bash" (one command line) or "python" (a whole block)
    text: str


def readme_examples(readme: str) -> list[Example]:
    """The README's commands and Python blocks in the order written; `make` lines as `make TARGET`."""
    examples: list[Example] = []
    for language, body in FENCED.findall(readme):
        if language == "python":
            examples.append(Example("python", body))
        elif language == "bash":
            for line in body.splitlines():
                words = shlex.split(line, comments=True)
                if words:
                    examples.append(Example("bash", shlex.join(words)))
    return examples


@pytest.fixture(scope="module")
def fresh_node() -> Iterator[AnvilNode]:
    """`make node`: an anvil of its own, nothing on it."""
    with anvil_node() as node:
        yield node


@pytest.fixture(scope="module")
def checkout(fresh_node: AnvilNode, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make deploy` on the fresh node, its manifest in deployments/ of a folder laid out as a checkout."""
    folder = tmp_path_factory.mktemp("readme")
    (folder / "examples").symlink_to(REPO / "examples")
    (folder / ".venv").symlink_to(BIN.parent)
    deployed = subprocess.run(
        [str(BIN / "ape"), "run", "deploy", "--network", fresh_node.url, "--manifest-dir", str(folder / "deployments")],
        cwd=REPO, capture_output=True, text=True, env=_environment(fresh_node), timeout=600, check=False,
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert read_manifest(folder / "deployments" / f"{CHAIN_ID}.json")["chainId"] == CHAIN_ID
    return folder


def _environment(node: AnvilNode) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in ACCOUNT_ENV}
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["RPC_URL"] = node.url
    return env


def _proof(command: str) -> str:
    proofs = [pattern for part, pattern in PROOFS.items() if part in command]
    assert len(proofs) == 1, f"README command {command!r} has no proof of its work in PROOFS"
    return proofs[0]


def _run_python_block(block: str, node: AnvilNode, checkout: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The block as a reader pastes it into Python in the checkout: the value of its last line."""
    module = ast.parse(block.replace(DEFAULT_RPC_URL, node.url))
    last = module.body.pop()
    assert isinstance(last, ast.Expr), "the README's Python block ends in the expression it shows"
    monkeypatch.chdir(checkout)
    namespace: dict[str, Any] = {}
    exec(compile(module, "README.md", "exec"), namespace)
    return eval(compile(ast.Expression(last.value), "README.md", "eval"), namespace)


def test_the_readme_starts_a_node_and_deploys_before_its_first_example():
    """The fixtures stand for `make node` then `make deploy`: the README asks for them in that order first."""
    examples = [e.text for e in readme_examples(README.read_text())]
    first_example = next(i for i, text in enumerate(examples) if not text.startswith("make "))
    fixture_lines = [text for text in examples[:first_example] if text in FIXTURE_COMMANDS]
    assert fixture_lines[-2:] == list(FIXTURE_COMMANDS)


def test_make_deploy_puts_a_local_chain_in_the_simulated_community_s_zone(fresh_node, checkout):
    """`make deploy` then `make simulate`: the deployment's zone (PriceDiscovery's UTC offset, which every
    view and the report read the chain's clock in) is the simulated site's, so the evening peak shows
    in the evening."""
    manifest = read_manifest(checkout / "deployments" / f"{CHAIN_ID}.json")["contracts"]["PriceDiscovery"]
    discovery = Web3(Web3.HTTPProvider(fresh_node.url)).eth.contract(address=manifest["address"], abi=manifest["abi"])
    assert discovery.functions.utcOffsetMinutes().call() == SITE_UTC_OFFSET_MINUTES


def test_the_readme_examples_run_in_order(fresh_node, checkout, monkeypatch):
    env = _environment(fresh_node)
    manifest = read_manifest(checkout / "deployments" / f"{CHAIN_ID}.json")
    ran: list[str] = []
    for example in readme_examples(README.read_text()):
        if example.language == "python":
            shown = _run_python_block(example.text, fresh_node, checkout, monkeypatch)
            addresses = [contract.address for contract in (shown if isinstance(shown, tuple) else (shown,))]
            assert addresses and set(addresses) <= {c["address"] for c in manifest["contracts"].values()}
            ran.append("python block")
            continue
        if example.text.startswith("make "):
            continue  # node and deploy: the fixtures; the others have tests of their own
        done = subprocess.run(example.text, shell=True, cwd=checkout, env=env, capture_output=True, text=True,
                              timeout=600, check=False)  # fmt: skip
        assert done.returncode == 0, (example.text, ran, done.stdout, done.stderr)
        assert re.search(_proof(example.text), done.stdout), (example.text, done.stdout)
        ran.append(example.text)
    assert set(PROOFS) <= {part for part in PROOFS for command in ran if part in command}, ran
