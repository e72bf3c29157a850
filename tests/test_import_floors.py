"""methodlib's modules stand on floors: read from the source, its import graph has no cycle.

An import inside a function counts as much as one at the top of a module: Python does not
see it until the function runs, but a reader who changes the imported module has to. Imports
under `if TYPE_CHECKING:` are left out (they are for type checkers only), and so is the edge
from a module to the packages that hold it (`methodlib.tasks.base` does not depend on
`methodlib/tasks/__init__.py` for this test, though Python runs that file first): a package's
`__init__` that re-exports its modules is a registry, not a floor."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import methodlib

PACKAGE = Path(methodlib.__file__).parent


def module_files(package: Path = PACKAGE) -> dict[str, tuple[Path, bool]]:
    """Every module's dotted name → (its file, whether it is a package's `__init__`)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(module: str, path: Path, is_package: bool) -> set[str]:
    """The dotted names `module` imports anywhere in its file (relative imports resolved; for
    `from a import b`, both `a` and `a.b`), `if TYPE_CHECKING:` blocks left out."""
    here = module.split(".") if is_package else module.split(".")[:-1]
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for other in child.orelse:
                    visit_node(other)
            else:
                visit_node(child)

    def visit_node(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
        visit(node)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return names


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module → the package's modules it imports (a name resolved to its longest module
    prefix: `methodlib.data.Prepared` is `methodlib.data`)."""
    modules = module_files(package)
    graph = {}
    for module, (path, is_package) in modules.items():
        targets = set()
        for name in imported_names(module, path, is_package):
            parts = name.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if parts and ".".join(parts) != module:
                targets.add(".".join(parts))
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each strongly connected group of modules (Tarjan's
    algorithm, iterative), each as the path a → b → ... → a."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(group)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return [_shortest_cycle(graph, group) for group in groups]


def _shortest_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & group):
                if child == start:
                    return [*paths[node], start]
                if child not in paths:
                    paths[child] = [*paths[node], child]
                    following.append(child)
        frontier = following
    raise AssertionError(f"{sorted(group)} is not strongly connected")


def test_methodlib_has_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles (move the shared part down a floor):\n" + "\n".join(
        " → ".join(cycle) for cycle in found
    )


def test_cycles_are_found_through_function_level_and_relative_imports(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def f():\n    from .c import g\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import f\n"
        "import pkg.a\n"
    )
    (package / "d.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"
    )
    graph = import_graph(package)
    assert graph["pkg.d"] == set()
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
    (package / "c.py").write_text("from typing import TYPE_CHECKING\n")
    assert cycles(import_graph(package)) == []


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module that importing `start` can reach, `start` left out."""
    seen, todo = set(), [start]
    while todo:
        for child in graph[todo.pop()] - seen:
            seen.add(child)
            todo.append(child)
    return seen - {start}


def under(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


RUNNING = (
    "methodlib.routines",
    "methodlib.loop",
    "methodlib.train",
    "methodlib.judge",
    "methodlib.text_judge",
    "methodlib.data",
    "methodlib.evaluate",
    "methodlib.evaluate_group",
    "methodlib.report",
)
"""Modules that train, evaluate or read data: none is below the declarations."""
ABOVE_ROUTINES = (
    "methodlib.routines",
    "methodlib.train",
    "methodlib.evaluate",
    "methodlib.evaluate_group",
    "methodlib.report",
    "methodlib.cli",
)
"""Where a task's routine may be imported from: the routines and what runs them."""


@pytest.mark.parametrize("declaration", ["methodlib.spec", "methodlib.tasks"])
def test_the_declarations_reach_nothing_that_runs(declaration):
    graph = import_graph()
    assert sorted(m for m in reachable(graph, declaration) if under(m, *RUNNING)) == []


def test_only_what_runs_a_routine_imports_one():
    graph = import_graph()
    importers = {
        a for a, targets in graph.items() for b in targets if under(b, "methodlib.routines")
    }
    assert sorted(m for m in importers if not under(m, *ABOVE_ROUTINES)) == []


@pytest.mark.parametrize("module", ["methodlib.loop", "methodlib.judge", "methodlib.data"])
def test_the_loop_the_judges_and_the_data_stand_below_the_routines(module):
    graph = import_graph()
    assert sorted(m for m in reachable(graph, module) if under(m, *ABOVE_ROUTINES)) == []
