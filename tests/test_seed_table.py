"""The seed-function table of docs/specification.md names only functions that exist, in the contract it names."""

from __future__ import annotations

import re
from pathlib import Path

SPECIFICATION_DOC = Path(__file__).resolve().parent.parent / "docs" / "specification.md"
SEEDS = {"000", "001", "002", "003", "004"}


def seed_rows() -> list[tuple[str, str, str]]:
    text = SPECIFICATION_DOC.read_text()
    section = text.split("## Seed functions", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| (\d{3}) \| `([^`]+)` \| (.+?) \|$", section, re.MULTILINE)


def test_table_covers_every_seed():
    rows = seed_rows()
    assert {seed for seed, _, _ in rows} == SEEDS
    assert len(rows) >= 76  # shared/seed-functions.tsv lists 76 seed functions
    assert len({(seed, name) for seed, name, _ in rows}) == len(rows), "a seed function is listed twice"


def test_every_named_function_exists(project):
    missing = []
    named = 0
    for seed, name, implemented_by in seed_rows():
        if implemented_by.startswith("planned"):
            continue
        targets = re.findall(r"`(\w+)\.(\w+)`", implemented_by)
        assert targets, f"{seed} {name}: no `Contract.function` in {implemented_by!r}"
        for contract, function in targets:
            named += 1
            abi = getattr(project, contract).contract_type.abi
            if function not in {item.name for item in abi if item.type == "function"}:
                missing.append(f"{seed} {name}: {contract}.{function}")
    assert missing == []
    assert named > 60


DEMAND_RESPONSE_DOC = SPECIFICATION_DOC.parent / "demand-response.md"
DEMAND_RESPONSE_TESTS = "test_demand_response.py"


def test_every_specification_error_of_demand_response_is_raised_by_a_test(project):
    """004's errors, as docs/demand-response.md#errors maps them, are custom errors of DemandResponse
    and each is asserted as a revert by a test of DemandResponse."""
    text = DEMAND_RESPONSE_DOC.read_text()
    paragraph = text.split("## Errors", 1)[1].split("besides them", 1)[0]
    named = re.findall(r"`(\w+)`", paragraph)
    assert len(named) == 10, named
    errors = {item.name for item in project.DemandResponse.contract_type.abi if item.type == "error"}
    assert sorted(set(named) - errors) == []
    source = (Path(__file__).resolve().parent / DEMAND_RESPONSE_TESTS).read_text()
    unraised = [name for name in named if not re.search(rf"reverts\(\s*\w+\.{name}\b", source)]
    assert unraised == [], f"{DEMAND_RESPONSE_TESTS}: {unraised}"


# 004's error handling names these ten errors.
SEED_004_ERRORS = {
    "NotInitialized",
    "GridOperatorNotRegistered",
    "ConsumerNotRegistered",
    "EventNotFound",
    "EventNotActive",
    "EventExpired",
    "AlreadyParticipating",
    "InsufficientReduction",
    "RewardDistributionFailed",
    "InvalidMeterReading",
}


def test_every_error_of_seed_004_has_a_custom_error(project):
    """The 004 error table of docs/specification.md maps each of the seed's errors to custom errors,
    `Contract.Error`, each in its contract's ABI."""
    section = SPECIFICATION_DOC.read_text().split("| seed 004 | custom errors |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \|$", section, re.MULTILINE)
    assert {name for name, _ in rows} == SEED_004_ERRORS and len(rows) == len(SEED_004_ERRORS)
    missing = []
    for name, carried_by in rows:
        targets = re.findall(r"`(\w+)\.(\w+)`", carried_by)
        assert targets, f"{name}: no `Contract.Error` in {carried_by!r}"
        for contract, error in targets:
            if error not in {item.name for item in getattr(project, contract).contract_type.abi if item.type == "error"}:
                missing.append(f"{name}: {contract}.{error}")
    assert missing == []
