"""The suite's own rules that no single module can see.

ape's per-test isolation tracks fixtures by name across the whole session: a module-scoped fixture
in one module with the name of a function-scoped fixture elsewhere left the next module's tests
sharing state (each test saw the one before it). So each fixture name has one scope everywhere.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def fixture_scopes(source: str) -> dict[str, str]:
    """Fixture name -> scope of every `@pytest.fixture` function in `source`."""
    scopes: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if isinstance(target, ast.Attribute) and target.attr == "fixture":
                scope = "function"
                for keyword in call.keywords if call else []:
                    if keyword.arg == "scope" and isinstance(keyword.value, ast.Constant):
                        scope = str(keyword.value.value)
                scopes[node.name] = scope
    return scopes


def test_the_scope_reader_sees_every_form():
    source = (
        "import pytest\n"
        "@pytest.fixture\ndef a(): pass\n"
        "@pytest.fixture()\ndef b(): pass\n"
        "@pytest.fixture(scope='module', autouse=True)\ndef c(): pass\n"
        "def d(): pass\n"
    )
    assert fixture_scopes(source) == {"a": "function", "b": "function", "c": "module"}


def test_every_fixture_name_has_one_scope():
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for path in sorted(TESTS.rglob("*.py")):
        for name, scope in fixture_scopes(path.read_text()).items():
            found[name].add((scope, path.relative_to(TESTS).as_posix()))
    clashes = {name: sorted(places) for name, places in found.items() if len({scope for scope, _ in places}) > 1}
    assert clashes == {}
