"""The contracts' layout rules, read from the sources: files a reviewer can read in one sitting, and
inline assembly only inside libraries that have a test of their own.

Assembly is where the compiler stops checking; keeping it in small libraries, each exercised
directly by a harness in contracts/test, means a reviewer audits it once, in one place, instead of
finding it between a contract's business rules."""

from __future__ import annotations

import re
from pathlib import Path

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
MAX_FILE_LINES = 800
# The auction's entry points stay thin: clearing, standing orders and its packed words live in
# their own files.
MAX_AUCTION_LINES = 600

COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
CONTRACT_DECLARATION = re.compile(r"^\s*(?:abstract\s+)?contract\s+\w+", re.MULTILINE)
LIBRARY_DECLARATION = re.compile(r"^\s*library\s+(\w+)", re.MULTILINE)


def sources() -> list[Path]:
    return sorted(p for p in CONTRACTS.rglob("*.sol") if ".cache" not in p.parts)


def code_of(path: Path) -> str:
    return COMMENTS.sub("", path.read_text())


def test_the_comment_stripper_keeps_code_and_drops_comments():
    code = COMMENTS.sub("", "uint a; // assembly here\n/* contract X\n assembly */ library L {}")
    assert "assembly" not in code
    assert "uint a;" in code
    assert LIBRARY_DECLARATION.search(code)
    assert not CONTRACT_DECLARATION.search(code)


def test_no_contract_file_is_longer_than_a_reviewer_reads_in_one_sitting():
    long_files = {p.relative_to(CONTRACTS).as_posix(): n for p in sources() if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES}
    assert long_files == {}


def test_the_auction_keeps_only_its_entry_points():
    assert len((CONTRACTS / "market" / "EnergyAuction.sol").read_text().splitlines()) <= MAX_AUCTION_LINES


def test_inline_assembly_lives_only_in_libraries():
    with_assembly_outside = [
        p.relative_to(CONTRACTS).as_posix()
        for p in sources()
        if re.search(r"\bassembly\b", code := code_of(p)) and CONTRACT_DECLARATION.search(code)
    ]
    assert with_assembly_outside == []


def test_every_library_with_assembly_has_a_harness_of_its_own():
    harnesses = "\n".join(code_of(p) for p in (CONTRACTS / "test").glob("*.sol"))
    untested = []
    for path in sources():
        code = code_of(path)
        if re.search(r"\bassembly\b", code) and "test" not in path.relative_to(CONTRACTS).parts:
            untested += [name for name in LIBRARY_DECLARATION.findall(code) if not re.search(rf"\b{name}\b", harnesses)]
    assert untested == []
