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
