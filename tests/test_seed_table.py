"""The seed-function table of docs/specification.md names only functions that exist, in the contract it
names, with the arguments the seed gives them; its error tables name only errors that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from energy_grid.deploy.system import interface_type

SPECIFICATION_DOC = Path(__file__).resolve().parent.parent / "docs" / "specification.md"
SEEDS = {"000", "001", "002", "003", "004"}


# The seed rows whose function takes other arguments than the seed's, each saying why (*differs:*).
# A new one needs a reason in the table and a place here.
DIFFERING = {
    ("000", "register-producer"),
    ("000", "consume-energy"),
    ("000", "create-trade"),
    ("000", "complete-trade"),
    ("004", "register_consumer"),
    ("004", "get_consumer_participations"),
}

# A seed's argument type -> the kind of ABI type that carries it; "uint" is any unsigned integer.
SEED_TYPES = {
    "uint": "uint",  # Clarity
    "principal": "address",
    "bool": "bool",
    "string": "string",
    "u64": "uint",  # Rust (Soroban)
    "Address": "address",
    "uint256": "uint",  # Solidity
    "MeterReading": "tuple",  # ISmartMeter's struct
    "OrderType": "uint8",  # IEnergyTrading's enum
}


def seed_rows() -> list[tuple[str, str, str, str]]:
    """(seed, seed function, seed arguments, implemented by) per row of the seed-function table."""
    text = SPECIFICATION_DOC.read_text()
    section = text.split("## Seed functions", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| (\d{3}) \| `([^`]+)` \| (`\(.*?\)`|—) \| (.+?) \|$", section, re.MULTILINE)


def seed_argument_kinds(cell: str) -> list[str | None] | None:
    """The kinds of a seed's arguments (None: a name without a type), or None where the seed gives no signature."""
    if cell == "—":
        return None
    inner = cell.strip("`")[1:-1].strip()
    kinds: list[str | None] = []
    for parameter in (p.strip() for p in inner.split(",")) if inner else ():
        if ":" in parameter:  # Clarity and Rust: name: type
            kinds.append(SEED_TYPES[parameter.split(":", 1)[1].strip()])
        elif " " in parameter:  # Solidity: type [location] name
            kinds.append(SEED_TYPES[parameter.split()[0]])
        else:  # a name alone
            kinds.append(None)
    return kinds


def takes(abi_inputs: list[Any], kinds: list[str | None]) -> bool:
    """Whether a function's ABI inputs are the seed's arguments: as many, each of the seed's kind."""
    if len(abi_inputs) != len(kinds):
        return False
    return all(
        kind is None or (re.fullmatch(r"uint\d+", item.type) if kind == "uint" else item.type == kind)
        for item, kind in zip(abi_inputs, kinds, strict=True)
    )


def test_table_covers_every_seed():
    rows = seed_rows()
    assert {seed for seed, _, _, _ in rows} == SEEDS
    assert len(rows) >= 76  # shared/seed-functions.tsv lists 76 seed functions
    assert len({(seed, name) for seed, name, _, _ in rows}) == len(rows), "a seed function is listed twice"
    text = SPECIFICATION_DOC.read_text().split("## Seed functions", 1)[1].split("\n## ", 1)[0]
    assert len(rows) == text.count("\n| 0"), "a row the table's pattern does not read"


def test_the_seed_argument_reader():
    assert seed_argument_kinds("—") is None
    assert seed_argument_kinds("`()`") == []
    assert seed_argument_kinds("`(buyer: principal, amount: uint)`") == ["address", "uint"]
    assert seed_argument_kinds("`(region, capacity-mw)`") == [None, None]
    assert seed_argument_kinds("`(MeterReading calldata reading)`") == ["tuple"]
    assert seed_argument_kinds("`(uint256 amount, OrderType orderType)`") == ["uint", "uint8"]


def test_every_seed_function_takes_the_seeds_arguments(project):
    """The first function a row names has a form with the seed's arguments, unless the row says why
    it differs; the rows that differ are exactly DIFFERING."""
    differing, marked, checked = set(), set(), 0
    for seed, name, arguments, implemented_by in seed_rows():
        if "*differs:*" in implemented_by:
            marked.add((seed, name))
        kinds = seed_argument_kinds(arguments)
        if kinds is None:
            continue
        contract, function = re.findall(r"`(\w+)\.(\w+)`", implemented_by)[0]
        forms = [item.inputs for item in interface_type(project, contract).abi if item.type == "function" and item.name == function]
        checked += 1
        if not any(takes(inputs, kinds) for inputs in forms):
            differing.add((seed, name))
    assert differing == DIFFERING
    assert marked == DIFFERING
    assert checked >= 50  # every row of 000, 001, 004 and 002's interfaces


def test_every_named_function_exists(project):
    missing = []
    named = 0
    for seed, name, _, implemented_by in seed_rows():
        if implemented_by.startswith("planned"):
            continue
        targets = re.findall(r"`(\w+)\.(\w+)`", implemented_by)
        assert targets, f"{seed} {name}: no `Contract.function` in {implemented_by!r}"
        for contract, function in targets:
            named += 1
            abi = interface_type(project, contract).abi  # what the contract's address serves, its extension's included
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
            if error not in {item.name for item in interface_type(project, contract).abi if item.type == "error"}:
                missing.append(f"{name}: {contract}.{error}")
    assert missing == []
