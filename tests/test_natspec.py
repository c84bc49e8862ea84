"""Every error and event the project declares says what it means: a `@notice` (or `@dev`) and a
`@param` for each argument, as OpenZeppelin documents its own; and no contract prints to a
development console (what a contract says, it says in events). Read from the sources, so it needs
no chain: `.venv/bin/python -m pytest tests/test_natspec.py -p no:ape_test -q`.
"""

from __future__ import annotations

import re
from pathlib import Path

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
DECLARATION = re.compile(r"^[ \t]*(error|event)\s+(\w+)\s*\(([^)]*)\)\s*;", re.MULTILINE)


def doc_comment_before(text: str, offset: int) -> str:
    """The NatSpec lines right above `offset` (`///` lines or a `/** */` block), joined."""
    lines = []
    for line in reversed(text[:offset].rstrip().splitlines()):
        stripped = line.strip()
        if not stripped.startswith(("///", "/**", "*")):
            break
        lines.append(stripped)
    return " ".join(reversed(lines))


def undocumented(path: Path) -> list[str]:
    """One line per error or event in `path` that lacks its notice or a parameter's description."""
    text = path.read_text()
    problems = []
    for match in DECLARATION.finditer(text):
        kind, name, params = match.groups()
        arguments = [p.split()[-1] for p in params.split(",") if p.strip()]
        doc = doc_comment_before(text, match.start())
        lacking = [a for a in arguments if not re.search(rf"@param\s+{a}\b", doc)]
        if "@notice" not in doc and "@dev" not in doc:
            lacking.insert(0, "@notice")
        if lacking:
            problems.append(f"{path.name}: {kind} {name} lacks {', '.join(lacking)}")
    return problems


def test_the_checker_sees_what_is_missing(tmp_path):
    sample = tmp_path / "Sample.sol"
    sample.write_text(
        "/// @notice Raised when.\n/// @param a The first.\nerror Two(uint256 a, address b);\n"
        "/// @notice Logged when.\n/// @param x The value.\nevent Done(uint256 indexed x);\n"
        "event Bare();\n"
    )
    assert undocumented(sample) == ["Sample.sol: error Two lacks b", "Sample.sol: event Bare lacks @notice"]


def our_sources() -> list[Path]:
    # contracts/.cache holds the dependencies ape copies in (OpenZeppelin, Chainlink): not ours.
    return [path for path in sorted(CONTRACTS.rglob("*.sol")) if ".cache" not in path.relative_to(CONTRACTS).parts]


def test_every_error_and_event_is_documented():
    problems = [p for path in our_sources() for p in undocumented(path)]
    assert not problems, "\n".join(problems)


def test_no_contract_logs_to_a_development_console():
    # The test suite skips fetching each transaction's trace for console lines (tests/conftest.py).
    sources = our_sources()
    assert len(sources) > 40
    assert not [path.name for path in sources if re.search(r"console\.sol|console2?\.log", path.read_text())]
