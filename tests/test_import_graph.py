"""No import cycle inside the `energy_grid` package, and its packages in layers: each imports only the
packages below it in the order docs/python-client.md declares (and the README's layout repeats).

The graph is built from the source, without importing anything: every `import` and `from ...
import` statement counts, at module level, inside a function, or under `if TYPE_CHECKING:` (which
never runs, but is an arrow a reader follows all the same). A cycle means two modules can only be
read together; the test names each circle it finds by one of its shortest cycles and every module
in it. An import against the layers is named by its module and the package it reaches up to.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "energy_grid"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE
LAYERS_DOC = PACKAGE_DIR.parent / "docs" / "python-client.md"
README = PACKAGE_DIR.parent / "README.md"
# A package's line in a layout block: two spaces, its folder, then its description.
PACKAGE_LINE = re.compile(r"^  (\w+)/\s")


def module_files() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its own name, not `__init__`)."""
    modules = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def import_statements(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in the tree, at any depth."""
    return (node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom))


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that `name` imports. `from a import b` names the module `a.b` when
    there is one, and `a` otherwise (then `b` is something `a` defines)."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in import_statements(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            # A relative import counts from the module's package (a package's own name is one).
            package = name.split(".") if is_package else name.split(".")[:-1]
            anchor = package[: len(package) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in modules else base)
    return {target for target in targets if target in modules and target != name}


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (the graph may be deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            successor = next(successors, None)
            if successor is not None:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                elif successor in on_stack:
                    low[node] = min(low[node], index[successor])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def one_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module, staying inside the component (a
    breadth-first search back to where it started)."""
    start, members = component[0], set(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(graph[node] & members):
                if successor == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if successor not in came_from:
                    came_from[successor] = node
                    following.append(successor)
        frontier = following
    raise AssertionError(f"{component} is not a cycle")


def test_the_graph_sees_every_kind_of_import() -> None:
    """The scan follows imports inside functions and both branches of a TYPE_CHECKING block; and it
    finds the package's modules."""
    assert len(import_graph()) > 50
    source = "import os\nif TYPE_CHECKING:\n    import energy_grid.chain.client\nelse:\n    import energy_grid.domain.units\n"
    found = {alias.name for node in import_statements(ast.parse(source)) for alias in node.names}
    assert found == {"os", "energy_grid.chain.client", "energy_grid.domain.units"}
    nested = "def load():\n    from energy_grid.domain import units\n"
    assert [node.module for node in import_statements(ast.parse(nested)) if isinstance(node, ast.ImportFrom)] == ["energy_grid.domain"]


def test_no_import_cycle() -> None:
    graph = import_graph()
    circles = [component for component in strongly_connected(graph) if len(component) > 1]
    # Each circle by one of its shortest cycles and every module it takes in.
    report = "\n".join(f"{' -> '.join(one_cycle(graph, c))} (all of: {', '.join(c)})" for c in circles)
    assert not circles, f"{len(circles)} import circle(s) in {PACKAGE}:\n{report}"


def declared_layers(text: str) -> list[str]:
    """The packages of the first `energy_grid/` layout block in `text`, from the top down: its lines
    of two spaces and a folder, until the block's first line that is neither such a line nor a
    continuation of one."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("energy_grid/"))
    packages = []
    for line in lines[start + 1 :]:
        if match := PACKAGE_LINE.match(line):
            packages.append(match.group(1))
        elif not line.startswith("   "):
            break
    return packages


def package_of(module: str) -> str | None:
    """The package of the layers a module is in (None for the package's root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_the_declared_layers_name_every_package_once_and_the_readme_repeats_them() -> None:
    layers = declared_layers(LAYERS_DOC.read_text())
    folders = {path.parent.name for path in PACKAGE_DIR.glob("*/__init__.py")}
    assert len(layers) == len(set(layers)), layers
    assert set(layers) == folders, f"declared but missing: {set(layers) - folders}; not declared: {folders - set(layers)}"
    assert declared_layers(README.read_text()) == layers
    assert declared_layers("energy_grid/  x\n  top/  a\n        more of a\n  bottom/  b\nscripts/  c\n") == ["top", "bottom"]


def test_each_package_imports_only_packages_below_it() -> None:
    layers = declared_layers(LAYERS_DOC.read_text())
    rank = {package: len(layers) - position for position, package in enumerate(layers)}  # the bottom is 1
    upward = []
    for module, targets in sorted(import_graph().items()):
        source = package_of(module)
        for target in sorted(targets):
            reached = package_of(target)
            if source is None or reached is None or reached == source:
                continue
            if rank[reached] > rank[source]:
                upward.append(f"{module} imports {target} ({reached}/ is above {source}/)")
    assert not upward, f"{len(upward)} import(s) against the layers of docs/python-client.md:\n" + "\n".join(upward)
