"""Every contract compiles with solc (the npm build, as pinned) without a single warning.

solc is asked for the syntax trees only: it still runs every check that warns (parsing, names and
types, control flow, unused code, state mutability, transient storage) but skips code generation
and the optimizer, four fifths of a full build, whose only warning, a contract over the code-size
limit, test_deployment checks on every deployed contract's code."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_contracts_compile_without_warnings():
    config = yaml.safe_load((ROOT / "ape-config.yaml").read_text())["solidity"]
    sources = {
        str(p.relative_to(ROOT)): {"content": p.read_text()}
        for p in (ROOT / "contracts").rglob("*.sol")
        if ".cache" not in p.parts
    }
    standard_input = {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "evmVersion": config["evm_version"],
            "remappings": [
                "@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/",
                "@chainlink/contracts/=node_modules/@chainlink/contracts/",
            ],
            "outputSelection": {"*": {"": ["ast"]}},
        },
    }
    result = subprocess.run(
        ["node", str(ROOT / "toolchain" / "solc.js"), "--standard-json", "--base-path", str(ROOT)],
        input=json.dumps(standard_input),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    output = json.loads(result.stdout)
    diagnostics = [e["formattedMessage"] for e in output.get("errors", [])]
    assert diagnostics == []
    assert set(sources) <= set(output["sources"])  # every source was read and checked


def test_solc_shim_reports_the_pinned_version():
    version = yaml.safe_load((ROOT / "ape-config.yaml").read_text())["solidity"]["version"]
    out = subprocess.run(["node", str(ROOT / "toolchain" / "solc.js"), "--version"], capture_output=True, text=True, check=False)
    assert f"Version: {version}+commit" in out.stdout
