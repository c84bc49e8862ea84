"""The suite's own rules that no single module can see.

ape's per-test isolation tracks fixtures by name across the whole session: a module-scoped fixture
in one module with the name of a function-scoped fixture elsewhere left the next module's tests
sharing state (each test saw the one before it). So each fixture name has one scope everywhere.
And going back to a snapshot leaves anvil's transaction pool empty, as the chain it restores had it.
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


def test_going_back_to_a_snapshot_empties_the_pool(chain, accounts):
    """A transaction still in the pool when the chain goes back must not outlive the revert: the next
    test sends the very same transaction (same sender, nonce and call) and anvil would refuse it."""
    web3 = chain.provider.web3
    snapshot = chain.snapshot()
    chain.provider.auto_mine = False
    try:
        web3.eth.send_transaction({"from": accounts[0].address, "to": accounts[1].address, "value": 1})
        assert int(web3.provider.make_request("txpool_status", [])["result"]["pending"], 16) == 1
        chain.restore(snapshot)
        assert web3.provider.make_request("txpool_status", [])["result"] == {"pending": "0x0", "queued": "0x0"}
    finally:
        chain.provider.auto_mine = True
