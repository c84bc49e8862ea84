"""Static analysis: Slither over every contract, through the project's solc shim.

The build is analysed once per module, in one process (tests/support/slither_scan.py): crytic-compile runs
`toolchain/solc.js` on a standard-JSON input of every source under contracts/ (OpenZeppelin and
Chainlink resolved as ape resolves them) asking for the syntax trees only, Slither parses them once,
and on that parse runs the detectors, chosen by its own command-line code with the flags of
`slither --filter-paths … --exclude … --warn-unused-ignores`, and the checks of
`slither-check-erc` for the token standards. OpenZeppelin, Chainlink and the
test mocks are left out of the findings by a path filter. What is left of the project's own code
must be empty: every finding is fixed, or suppressed on the line before it with
`// slither-disable-next-line <detector>: <reason>`.

By hand (what the module runs, from the repository root, after `make setup`):
    .venv/bin/python -m pytest tests/test_static_analysis.py -p no:ape_test -q
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
BIN = Path(sys.executable).parent
SHIM = ROOT / "toolchain" / "solc.js"
SCAN = Path(__file__).resolve().parent / "support" / "slither_scan.py"

# Findings in these paths are not ours to fix: the libraries, as published, and the test mocks.
FILTER_PATHS = "node_modules/|contracts/test/"

# Detectors that misfire on the project's conventions as a whole, each with the reason.
EXCLUDED_DETECTORS = {
    "timestamp": "time is the business here: delivery intervals, expiries, deadlines, heartbeats and "
    "rate limits compare block.timestamp by design, at a granularity (seconds to days) no validator's "
    "drift of a few seconds can exploit",
}

# Token contracts and the standard each implements.
ERC_CHECKS = [("EnergyToken", "erc20"), ("CarbonCredits", "erc20"), ("EnergyAssetNFT", "erc721")]

# Conformance items accepted as they are, each with the reason.
ACCEPTED_ERC_ITEMS = {
    "lack_of_erc20_race_condition_protection": "increaseAllowance is not part of ERC-20 and OpenZeppelin 5 "
    "removed it; holders set an allowance to zero first or use permit (EIP-2612), which both tokens have",
}

SUPPRESSION = re.compile(r"//\s*slither-disable(?P<kind>-next-line|-start|-end|)\b\s*(?P<rest>.*)")
SUPPRESSION_FORM = re.compile(r"(?P<detectors>[a-z0-9-]+(?:,[a-z0-9-]+)*): (?P<reason>\S.{15,})")


@dataclass
class SlitherRun:
    findings: list[dict[str, Any]]  # in the project's code
    unused_suppressions: list[dict[str, Any]]
    erc_results: dict[str, dict[str, Any]]
    sources: set[str]
    seconds: float


def project_sources() -> list[Path]:
    return sorted(p for p in CONTRACTS.rglob("*.sol") if ".cache" not in p.parts)


def dependency_remappings() -> list[str]:
    """ape-config's import remappings, each to the npm package ape copies into contracts/.cache
    (`name/version` there is the package root), checked against the version installed."""
    config = yaml.safe_load((ROOT / "ape-config.yaml").read_text())
    packages = {f"{d['name']}/{d['version']}": d for d in config["dependencies"]}
    remappings = []
    for remapping in config["solidity"]["import_remapping"]:
        prefix, target = remapping.split("=")
        dependency = packages[target]
        package = Path("node_modules") / dependency["npm"]
        installed = json.loads((ROOT / package / "package.json").read_text())["version"]
        assert installed == dependency["version"], f"{dependency['npm']} {installed} installed, ape-config pins {dependency['version']}"
        remappings.append(f"{prefix}/={package.as_posix()}/")
    return remappings


def standard_json_input() -> dict[str, Any]:
    solidity = yaml.safe_load((ROOT / "ape-config.yaml").read_text())["solidity"]
    return {
        "language": "Solidity",
        "sources": {p.relative_to(ROOT).as_posix(): {"content": p.read_text()} for p in project_sources()},
        "settings": {
            # Slither reads the syntax trees and nothing else: no bytecode is asked for, so solc skips
            # code generation (most of a compilation) and the optimizer has nothing to do.
            "optimizer": {"enabled": False},
            "outputSelection": {"*": {"": ["ast"]}},
            "evmVersion": solidity["evm_version"],
            "remappings": dependency_remappings(),
        },
    }


def run(command: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def in_project(path: str) -> bool:
    """Whether a finding's file is one of our contracts (a library reached through a linked
    node_modules may resolve outside the checkout: not ours either)."""
    if Path(path).is_absolute():
        if not Path(path).resolve().is_relative_to(ROOT):
            return False
        relative = Path(path).resolve().relative_to(ROOT)
    else:
        relative = Path(path)
    return relative.parts[0] == "contracts" and not re.match(FILTER_PATHS, relative.as_posix())


@pytest.fixture(scope="module")
def slither_run(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> SlitherRun:
    started = time.monotonic()
    work = tmp_path_factory.mktemp("slither")
    (work / "input.json").write_text(json.dumps(standard_json_input()))
    (work / "request.json").write_text(
        json.dumps(
            {
                "standard_json": str(work / "input.json"),
                "solc": str(SHIM),
                "filter_paths": FILTER_PATHS,
                "excluded_detectors": sorted(EXCLUDED_DETECTORS),
                "erc_checks": ERC_CHECKS,
            }
        )
    )
    run([sys.executable, str(SCAN), str(work / "request.json"), str(work / "result.json")])
    output = json.loads((work / "result.json").read_text())
    results = output["detectors"]
    findings = [r for r in results if r["check"] != "unused-ignore-directive"]
    unused = [u for r in results if r["check"] == "unused-ignore-directive" for u in r["unused_ignores"]]
    erc_results = output["erc"]
    sources = set(output["sources"])

    seconds = time.monotonic() - started
    # Printed past pytest's capture, so `make test` shows it on a passing run too.
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for line in summary(findings, unused, erc_results, seconds):
                reporter.write_line(line)
    return SlitherRun(findings, unused, erc_results, sources, seconds)


def first_element(finding: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in finding["elements"] if (e.get("source_mapping") or {}).get("lines"))


def location(finding: dict[str, Any]) -> str:
    """`file:line name` of a finding's first source element (a contract, function or variable)."""
    element = first_element(finding)
    return f"{element['source_mapping']['filename_relative']}:{element['source_mapping']['lines'][0]} {element['name']}"


def describe(finding: dict[str, Any]) -> str:
    first_line = finding["description"].strip().splitlines()[0]
    return f"{finding['impact']} {finding['check']} at {location(finding)}: {first_line}"


def summary(
    findings: list[dict[str, Any]], unused: list[dict[str, Any]], erc_results: dict[str, dict[str, Any]], seconds: float
) -> list[str]:
    suppressions = sum(len(s) for s in suppressions_by_file().values())
    stale = [u for u in unused if in_project(u["file"])]
    lines = [
        f"Slither: {len(findings)} finding(s) in the project's code, "
        f"{suppressions} suppressed inline with a reason, {len(stale)} stale suppression(s); excluded detectors: "
        f"{', '.join(EXCLUDED_DETECTORS)}; {seconds:.0f} s (one syntax-tree compilation, one parse for the detectors and the ERC checks)"
    ]
    counts: dict[str, int] = {}
    for finding in findings:
        name = f"{finding['impact']} {finding['check']}"
        counts[name] = counts.get(name, 0) + 1
    lines += [f"  {count} × {name}" for name, count in sorted(counts.items())]
    for contract, erc in ERC_CHECKS:
        items = sorted(erc_results.get(contract, {}))
        lines.append(f"  slither-check-erc {contract} --erc {erc}: {', '.join(items) or 'conforms'}")
    return lines


def suppressions_by_file() -> dict[str, list[tuple[int, str]]]:
    found: dict[str, list[tuple[int, str]]] = {}
    for path in project_sources():
        for number, text in enumerate(path.read_text().splitlines(), start=1):
            match = SUPPRESSION.search(text)
            if match:
                found.setdefault(path.relative_to(ROOT).as_posix(), []).append((number, text.strip()))
    return found


# ----------------------------------------------------------------------------- detectors


def test_no_high_or_medium_finding(slither_run):
    serious = [describe(f) for f in slither_run.findings if f["impact"] in ("High", "Medium")]
    assert serious == [], "\n".join(["High/Medium findings:", *serious])


def test_every_other_finding_is_fixed_or_suppressed(slither_run):
    rest = [describe(f) for f in slither_run.findings if f["impact"] not in ("High", "Medium")]
    assert rest == [], "\n".join(["Low/Informational/Optimization findings:", *rest])


def test_no_stale_suppression(slither_run):
    """A suppression whose finding is gone (fixed, or the code moved) must go too."""
    stale = [
        f"{Path(u['file']).relative_to(ROOT)}:{u['line']} {','.join(u['unused_detectors'])}"
        for u in slither_run.unused_suppressions
        if in_project(u["file"])
    ]
    assert stale == []


def test_the_scan_covers_every_contract(slither_run):
    """Every source under contracts/ was analysed, and the path filter drops only the libraries and
    the test mocks."""
    ours = {p.relative_to(ROOT).as_posix() for p in project_sources()}
    assert ours <= slither_run.sources
    assert any(s.startswith("node_modules/@openzeppelin/contracts/") for s in slither_run.sources)
    filtered = {s for s in ours if re.match(FILTER_PATHS, s)}
    assert filtered == {p.relative_to(ROOT).as_posix() for p in (CONTRACTS / "test").glob("*.sol")}
    assert re.match(FILTER_PATHS, "node_modules/@openzeppelin/contracts/utils/math/Math.sol")


def test_every_suppression_names_a_detector_and_gives_a_reason():
    """`// slither-disable-next-line <detector>[,<detector>]: <reason>`, never a range or a whole file,
    and never a detector excluded above (it would only hide that the exclusion is broader)."""
    bad = []
    for path, lines in suppressions_by_file().items():
        for number, text in lines:
            match = SUPPRESSION.search(text)
            assert match is not None  # Every line suppressions_by_file keeps matches.
            form = SUPPRESSION_FORM.fullmatch(match["rest"])
            if match["kind"] != "-next-line" or form is None or set(form["detectors"].split(",")) & set(EXCLUDED_DETECTORS):
                bad.append(f"{path}:{number}: {text}")
    assert bad == []


def test_excluded_detectors_are_few_and_explained():
    assert 0 < len(EXCLUDED_DETECTORS) <= 3
    assert all(len(reason.split()) >= 8 for reason in EXCLUDED_DETECTORS.values())


# ----------------------------------------------------------------------------- token standards


@pytest.mark.parametrize("contract, erc", ERC_CHECKS)
def test_token_conforms_to_its_erc(slither_run, contract, erc):
    problems = {item: len(entries) for item, entries in slither_run.erc_results[contract].items() if item not in ACCEPTED_ERC_ITEMS}
    assert problems == {}, f"slither-check-erc {contract} --erc {erc}: {problems}"
