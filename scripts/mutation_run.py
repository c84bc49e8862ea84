"""A mutation run over Solidity sources: how many one-line faults in a contract its tests notice.

Each candidate mutant changes one line of one of the given files: a comparison flipped (`<` and `<=`,
`>` and `>=`, `==` and `!=`), `+` and `-` (and `+=` and `-=`) swapped in an expression, `&&` and `||`
swapped, a literal 0 made 1 or 1 made 0, `true` and `false` swapped, or a whole statement line deleted
when it is a revert, an `if (...) revert`, an assignment or a compound assignment. Inside assembly the
same is done to Yul: `lt`/`gt`, `slt`/`sgt`, `add`/`sub` (pointer arithmetic left alone), 0 and 1, and
deleting an assignment line. Comments, NatSpec, imports, pragmas and event and error declarations are
never touched.

For each mutant of a deterministic sample (`--seed`, `--count`; `--count 0` takes them all, spread over
the files in turn) the file is written, the contracts compiled, the test modules run with `-x` (the
first failure ends them), and the file restored: always, also on Ctrl-C or SIGTERM, and a run that was
killed outright restores it at the next start from the copy it keeps in .build/. Outcomes are KILLED,
SURVIVED, NOT COMPILED and TIMEOUT; the score is killed / (killed + survived).

    .venv/bin/python scripts/mutation_run.py contracts/market/MarketZones.sol \\
        --tests tests/test_auction_zones.py tests/test_stepped_clearing.py --seed 1 --count 20 \\
        --out reports/mutation.md

`--list` prints the candidates and their ids; `--only ID` runs those mutants alone (e.g. to check that
a new test kills a survivor). `--compile dependants` (the default) compiles only the contracts whose
bytecode holds the mutated file's code (the file itself and every file that takes a library or
contract from it, transitively) with `ape compile --force`, a third of a full build; `--compile full`
runs `make compile`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
BACKUPS = ROOT / ".build" / "mutation-backup"
KILLED, SURVIVED, NOT_COMPILED, TIMEOUT, ERROR = "KILLED", "SURVIVED", "NOT COMPILED", "TIMEOUT", "ERROR"

# Operators, longest first, so that `<=` is never read as `<` and `<<` never as a comparison.
SOL_OPERATOR = re.compile(r"<<=|>>=|<<|>>|<=|>=|==|!=|=>|&&|\|\||\+\+|--|\+=|-=|\*=|/=|\|=|&=|\^=|<|>|\+|-")
SOL_SWAPS = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==", "&&": "||", "||": "&&", "+=": "-=", "-=": "+="}
YUL_SWAPS = {"lt": "gt", "gt": "lt", "slt": "sgt", "sgt": "slt", "add": "sub", "sub": "add"}
YUL_CALL = re.compile(r"\b(lt|gt|slt|sgt|add|sub)\(")
# A literal 0 or 1 standing alone: not part of a name, a hex number (0x20) or a longer number (10_000).
ZERO_ONE = re.compile(r"(?<![\w.])([01])(?![\w.])")
BOOLEAN = re.compile(r"\b(true|false)\b")
# A statement that declares a variable: a type, an optional data location, then the name.
TYPE = r"(?:u?int\d*|bool|address(?:\s+payable)?|bytes\d*|string|[A-Z]\w*(?:\.\w+)?)(?:\[\d*\])*"
DECLARATION = re.compile(rf"^\(?\s*{TYPE}\s+(?:memory\s+|storage\s+|calldata\s+)?\w+\s*[=;,)]")
# A top-level assignment: `=` that is not part of ==, !=, <=, >=, =>, or a compound assignment.
ASSIGNMENT = re.compile(r"(?<![=!<>])(?:[-+*/|&^]|<<|>>)?=(?![=>])")
YUL_ASSIGNMENT = re.compile(r"^(?:\w+\s*:=|if\s.*\{\s*\w+\s*:=[^{}]*\}$)")


@dataclass
class Mutant:
    id: str
    path: str  # relative to the checkout
    line: int  # 1-based
    kind: str
    original: str
    mutated: str  # the whole new line, or "" for a deleted one


@dataclass
class Outcome:
    mutant: Mutant
    status: str
    seconds: float
    detail: str = ""


@dataclass
class Run:
    seed: int
    count: int
    tests: dict[str, list[str]]
    outcomes: list[Outcome] = field(default_factory=list)


class Interrupted(Exception):
    """SIGTERM or SIGHUP during a run: unwound like Ctrl-C so that the file is restored."""


# ---- Finding mutants ----


def split_comment(line: str) -> str:
    """The code of a line without its `//` comment (the files mutated here hold no strings with `//`)."""
    index = line.find("//")
    return line if index < 0 else line[:index]


def code_lines(text: str) -> list[tuple[int, str, bool]]:
    """(line index, code, inside assembly) for every line that may be mutated."""
    lines = text.split("\n")
    result = []
    in_block_comment = False
    in_declaration = False
    assembly_depth = 0
    for index, line in enumerate(lines):
        code = line
        if in_block_comment:
            end = code.find("*/")
            if end < 0:
                continue
            code, in_block_comment = code[end + 2 :], False
        start = code.find("/*")
        if start >= 0:
            end = code.find("*/", start + 2)
            if end < 0:
                code, in_block_comment = code[:start], True
            else:
                code = code[:start] + code[end + 2 :]
        code = split_comment(code)
        stripped = code.strip()
        if not stripped:
            continue
        if in_declaration:
            in_declaration = not stripped.endswith(";")
            continue
        if re.match(r"(import|pragma|event|error|using)\b", stripped):
            in_declaration = not stripped.endswith(";")
            continue
        in_assembly = assembly_depth > 0
        if in_assembly:
            assembly_depth += code.count("{") - code.count("}")
        elif re.match(r"assembly\b", stripped):
            assembly_depth = code.count("{") - code.count("}")
            continue
        result.append((index, code, in_assembly))
    return result


def binary(code: str, start: int, end: int) -> bool:
    """Whether the operator at code[start:end] joins two operands (not a unary minus or a sign)."""
    before = code[:start].rstrip()
    return bool(before) and (before[-1].isalnum() or before[-1] in "_)]") and bool(code[end:].strip())


def balanced(code: str) -> bool:
    return code.count("(") == code.count(")") and code.count("[") == code.count("]") and code.count("{") == code.count("}")


def deletable(code: str, in_assembly: bool, previous: str, following: str) -> str | None:
    """What kind of statement line `code` is, if deleting it whole leaves a program that may compile."""
    stripped = code.strip()
    if in_assembly:
        return "delete assignment" if YUL_ASSIGNMENT.match(stripped) and balanced(stripped) else None
    # A whole statement: it starts the line's statement and ends it, and no `else` hangs on it.
    if not previous.rstrip().endswith((";", "{", "}")) or not stripped.endswith(";") or not balanced(stripped):
        return None
    if stripped.startswith("else") or following.strip().startswith("else"):
        return None
    body = stripped
    if stripped.startswith("if"):
        body = stripped[matching_paren(stripped, stripped.index("(")) + 1 :].strip()
    if re.match(r"revert\b", body):
        return "delete revert" if body is stripped else "delete if-revert"
    declares = DECLARATION.match(body) or re.search(r"\b(constant|immutable)\b", body)
    operator = ASSIGNMENT.search(body)
    if declares or operator is None or body.startswith(("return", "emit", "for", "while", "delete")):
        return None
    return "delete +=" if operator.group(0) == "+=" else "delete assignment"


def matching_paren(code: str, open_index: int) -> int:
    depth = 0
    for index in range(open_index, len(code)):
        if code[index] == "(":
            depth += 1
        elif code[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return len(code) - 1


def line_mutants(line: str, code: str, in_assembly: bool) -> list[tuple[str, str]]:
    """(kind, mutated line) for every operator, literal and boolean swap on the line's code."""
    rest = line[len(code) :]
    found: list[tuple[int, str, str]] = []

    def swap(start: int, end: int, new: str, kind: str) -> None:
        found.append((start, kind, code[:start] + new + code[end:] + rest))

    if in_assembly:
        pointer_arithmetic = "0x20" in code or "shl(5" in code
        for match in YUL_CALL.finditer(code):
            name = match.group(1)
            if name in ("add", "sub") and pointer_arithmetic:
                continue
            swap(match.start(1), match.end(1), YUL_SWAPS[name], f"{name} -> {YUL_SWAPS[name]}")
    else:
        for match in SOL_OPERATOR.finditer(code):
            operator = match.group(0)
            if operator in SOL_SWAPS:
                swap(match.start(), match.end(), SOL_SWAPS[operator], f"{operator} -> {SOL_SWAPS[operator]}")
            elif operator in ("+", "-") and binary(code, match.start(), match.end()):
                other = "-" if operator == "+" else "+"
                swap(match.start(), match.end(), other, f"{operator} -> {other}")
        for match in BOOLEAN.finditer(code):
            other = "false" if match.group(1) == "true" else "true"
            swap(match.start(), match.end(), other, f"{match.group(1)} -> {other}")
    for match in ZERO_ONE.finditer(code):
        other = "1" if match.group(1) == "0" else "0"
        swap(match.start(), match.end(), other, f"{match.group(1)} -> {other}")
    return [(kind, mutated) for _, kind, mutated in sorted(found)]


def find_mutants(path: Path) -> list[Mutant]:
    text = path.read_text()
    lines = text.split("\n")
    relative = str(path.resolve().relative_to(ROOT))
    candidates = code_lines(text)
    mutants = []
    for position, (index, code, in_assembly) in enumerate(candidates):
        previous = candidates[position - 1][1] if position else "{"
        following = candidates[position + 1][1] if position + 1 < len(candidates) else ""
        found = line_mutants(lines[index], code, in_assembly)
        kind = deletable(code, in_assembly, previous, following)
        if kind is not None:
            found.append((kind, ""))
        for number, (kind, mutated) in enumerate(found, start=1):
            mutants.append(Mutant(f"{path.stem}:{index + 1}:{number}", relative, index + 1, kind, lines[index], mutated))
    return mutants


def sample(per_file: list[list[Mutant]], seed: int, count: int) -> list[Mutant]:
    """Each file's mutants shuffled by the seed, then taken from the files in turn."""
    shuffled = []
    for mutants in per_file:
        order = list(mutants)
        random.Random(f"{seed}:{mutants[0].path if mutants else ''}").shuffle(order)
        shuffled.append(order)
    chosen: list[Mutant] = []
    for position in range(max((len(order) for order in shuffled), default=0)):
        chosen.extend(order[position] for order in shuffled if position < len(order))
    return chosen if count == 0 else chosen[:count]


# ---- Compiling ----

SOL_IMPORT = re.compile(r'import\s+(?:\{([^}]*)\}\s+from\s+)?"([^"]+)"\s*;')
SOL_DEFINITION = re.compile(r"^\s*(?:abstract\s+)?(contract|library|interface)\s+(\w+)", re.MULTILINE)


def dependants(source: Path) -> list[Path]:
    """The file and every contract source whose bytecode can hold its code: files that import a library or
    a contract from it (not only its interfaces, structs or errors), transitively."""
    sources = [p for p in (ROOT / "contracts").rglob("*.sol") if ".cache" not in p.parts]
    code_names = {
        path.resolve(): {name for kind, name in SOL_DEFINITION.findall(path.read_text()) if kind != "interface"} for path in sources
    }
    holders = {source.resolve()}
    changed = True
    while changed:
        changed = False
        for path in sources:
            if path.resolve() in holders:
                continue
            for names, target in SOL_IMPORT.findall(path.read_text()):
                imported = (path.parent / target).resolve()
                if imported not in holders:
                    continue
                wanted = {name.split(" as ")[0].strip() for name in names.split(",")} if names else None
                if wanted is None or wanted & code_names.get(imported, set()):
                    holders.add(path.resolve())
                    changed = True
                    break
    return sorted(holders)


def environment() -> dict[str, str]:
    """The Makefile's PATH and solc location, so that ape finds anvil and the npm build of solc."""
    env = dict(os.environ)
    anvil = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin"
    env["PATH"] = os.pathsep.join([str(ROOT / ".venv" / "bin"), str(anvil), env.get("PATH", "")])
    env["SOLCX_BINARY_PATH"] = str(ROOT / ".solcx")
    return env


def run(command: list[str], timeout: float) -> tuple[int | None, str]:
    """Runs `command` in a process group of its own; returns its exit code (None on timeout) and output.
    On timeout or interruption the whole group is stopped, anvil included."""
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=max(timeout, 1))
        return process.returncode, output
    except subprocess.TimeoutExpired:
        stop(process)
        return None, ""
    except BaseException:
        stop(process)
        raise


def stop(process: subprocess.Popen[str]) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.communicate(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def compile_command(mode: str, path: Path) -> list[str]:
    if mode == "full":
        return ["make", "compile"]
    return ["ape", "compile", "--force", *(str(p.relative_to(ROOT)) for p in dependants(path))]


# ---- Mutating, always restored ----


def backup_of(relative: str) -> Path:
    return BACKUPS / relative


def restore_leftovers() -> None:
    """Puts back any file a run killed outright (SIGKILL, a power cut) left mutated."""
    if not BACKUPS.exists():
        return
    for backup in sorted(p for p in BACKUPS.rglob("*") if p.is_file()):
        target = ROOT / backup.relative_to(BACKUPS)
        shutil.copyfile(backup, target)
        backup.unlink()
        print(f"restored {target.relative_to(ROOT)} from a run that did not finish")


def apply(mutant: Mutant) -> str:
    """Writes the mutant; returns the original text, kept in .build/ until `restore`."""
    path = ROOT / mutant.path
    original = path.read_text()
    backup = backup_of(mutant.path)
    backup.parent.mkdir(parents=True, exist_ok=True)
    backup.write_text(original)
    lines = original.split("\n")
    if lines[mutant.line - 1] != mutant.original:
        raise SystemExit(f"{mutant.path}:{mutant.line} changed since the mutants were listed")
    if mutant.mutated:
        lines[mutant.line - 1] = mutant.mutated
    else:
        del lines[mutant.line - 1]
    path.write_text("\n".join(lines))
    return original


def restore(mutant: Mutant, original: str) -> None:
    (ROOT / mutant.path).write_text(original)
    backup_of(mutant.path).unlink(missing_ok=True)


def failure_of(output: str) -> str:
    """The first failing test pytest's summary names, or the output's last line."""
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line[:200]
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def run_mutant(mutant: Mutant, tests: list[str], mode: str, timeout: float) -> Outcome:
    started = time.monotonic()
    original = apply(mutant)
    try:
        code, output = run(compile_command(mode, ROOT / mutant.path), timeout)
        if code is None:
            return Outcome(mutant, TIMEOUT, time.monotonic() - started, "compiling")
        if code != 0:
            return Outcome(mutant, NOT_COMPILED, time.monotonic() - started, failure_of(output))
        left = timeout - (time.monotonic() - started)
        code, output = run(["ape", "test", *tests, "-x", "-q", "-p", "no:cacheprovider"], left)
        seconds = time.monotonic() - started
        if code is None:
            return Outcome(mutant, TIMEOUT, seconds, "testing")
        if code == 0:
            return Outcome(mutant, SURVIVED, seconds)
        # pytest exits 1 when a test failed or errored; other codes are the run's own trouble.
        return Outcome(mutant, KILLED if code == 1 else ERROR, seconds, failure_of(output))
    finally:
        restore(mutant, original)


# ---- Reporting ----


def score(outcomes: list[Outcome]) -> tuple[int, int, float | None]:
    killed = sum(o.status == KILLED for o in outcomes)
    survived = sum(o.status == SURVIVED for o in outcomes)
    return killed, survived, (killed / (killed + survived) if killed + survived else None)


def describe(mutant: Mutant) -> str:
    if not mutant.mutated:
        return f"{mutant.kind}: {mutant.original.strip()}"
    return f"{mutant.kind}: {mutant.mutated.strip()}"


def table(runs: Run) -> str:
    rows = ["| mutant | change | outcome | s | first failure |", "|---|---|---|---|---|"]
    for o in runs.outcomes:
        change = describe(o.mutant).replace("|", "\\|")
        rows.append(f"| {o.mutant.id} | `{change}` | {o.status} | {o.seconds:.0f} | {o.detail.replace('|', '/')} |")
    rows.append("")
    rows.append("| file | mutants | killed | survived | not compiled | timeout | error |")
    rows.append("|---|---|---|---|---|---|---|")
    for path in sorted({o.mutant.path for o in runs.outcomes}):
        mine = [o for o in runs.outcomes if o.mutant.path == path]
        counts = [sum(o.status == status for o in mine) for status in (KILLED, SURVIVED, NOT_COMPILED, TIMEOUT, ERROR)]
        rows.append(f"| {path} | {len(mine)} | " + " | ".join(str(c) for c in counts) + " |")
    killed, survived, ratio = score(runs.outcomes)
    rows.append("")
    rows.append(f"Score: {killed} / {killed + survived} = {ratio:.1%}" if ratio is not None else "Score: no mutant compiled")
    return "\n".join(rows)


def write_results(runs: Run, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".json":
        killed, survived, ratio = score(runs.outcomes)
        document = {**asdict(runs), "killed": killed, "survived": survived, "score": ratio}
        out.write_text(json.dumps(document, indent=2) + "\n")
    else:
        head = f"# Mutation run\n\nSeed {runs.seed}, count {runs.count}; tests per file: {runs.tests}\n\n"
        out.write_text(head + table(runs) + "\n")


# ---- The command ----


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("files", nargs="+", type=Path, help="the .sol files to mutate")
    parser.add_argument("--tests", nargs="+", default=[], help="test modules, fastest-killing first")
    parser.add_argument(
        "--tests-for", action="append", default=[], metavar="FILE=MODULE,MODULE", help="other modules for one file, by its name"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=30, help="mutants to run; 0 runs every candidate")
    parser.add_argument("--only", action="append", default=[], metavar="ID", help="run this mutant (by --list's id) alone")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per mutant, compiling included")
    parser.add_argument("--compile", choices=("dependants", "full"), default="dependants")
    parser.add_argument("--no-baseline", action="store_true", help="skip the first run of the tests on the unmutated code")
    parser.add_argument("--list", action="store_true", help="list the candidates and exit")
    parser.add_argument("--out", type=Path, help="results: .json, else markdown")
    return parser.parse_args(argv)


def tests_by_file(args: argparse.Namespace) -> dict[str, list[str]]:
    tests = {path.name: list(args.tests) for path in args.files}
    for item in args.tests_for:
        name, _, modules = item.partition("=")
        if name not in tests:
            raise SystemExit(f"--tests-for {name}: not one of the files")
        tests[name] = [m for m in modules.split(",") if m]
    missing = [name for name, modules in tests.items() if not modules]
    if missing:
        raise SystemExit(f"no test modules for {', '.join(missing)}")
    return tests


def choose(args: argparse.Namespace, per_file: list[list[Mutant]]) -> list[Mutant]:
    """The mutants `--only` names, else the sample."""
    if not args.only:
        return sample(per_file, args.seed, args.count)
    by_id = {m.id: m for mutants in per_file for m in mutants}
    unknown = [i for i in args.only if i not in by_id]
    if unknown:
        raise SystemExit(f"no such mutant: {', '.join(unknown)}")
    return [by_id[i] for i in args.only]


def baseline(args: argparse.Namespace, tests: dict[str, list[str]]) -> None:
    """Compiles the unmutated files and runs every module once: a mutant only counts as killed by tests
    that pass without it."""
    for path in args.files:
        code, output = run(compile_command(args.compile, path), args.timeout)
        if code != 0:
            raise SystemExit(f"the unmutated contracts do not compile:\n{output[-2000:]}")
    modules = list(dict.fromkeys(m for mods in tests.values() for m in mods))
    code, output = run(["ape", "test", *modules, "-x", "-q", "-p", "no:cacheprovider"], args.timeout)
    if code != 0:
        raise SystemExit(f"the tests fail on the unmutated code: {failure_of(output)}")
    print(f"baseline: {', '.join(modules)} pass")


def on_signal(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    restore_leftovers()
    per_file = [find_mutants(path) for path in args.files]
    if args.list:
        for mutant in (m for mutants in per_file for m in mutants):
            print(f"{mutant.id:<28} {describe(mutant)}")
        print(f"{sum(len(m) for m in per_file)} candidates")
        return 0
    tests = tests_by_file(args)
    chosen = choose(args, per_file)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    runs = Run(args.seed, args.count, tests)
    try:
        if not args.no_baseline:
            baseline(args, tests)
        for number, mutant in enumerate(chosen, start=1):
            outcome = run_mutant(mutant, tests[Path(mutant.path).name], args.compile, args.timeout)
            runs.outcomes.append(outcome)
            print(f"[{number}/{len(chosen)}] {mutant.id:<28} {outcome.status:<12} {outcome.seconds:5.0f} s  {describe(mutant)}", flush=True)
            if args.out:
                write_results(runs, args.out)
    except (KeyboardInterrupt, Interrupted):
        print("interrupted: every file is restored", file=sys.stderr)
    finally:
        # The build holds the last mutant's contracts: compile the restored sources again.
        if runs.outcomes and args.compile == "dependants":
            for path in args.files:
                run(compile_command(args.compile, path), args.timeout)
    print(table(runs))
    if args.out:
        write_results(runs, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
