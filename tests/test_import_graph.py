"""No runtime import cycle inside the ``cognitosync_async`` package.

The graph is built from the source with ``ast``: an edge for every import of a
package module that runs when the importing module is loaded (module level, not
under ``if TYPE_CHECKING:``, not inside a function or class body). A second
graph adds the imports made inside functions: an import moved into a function
to dodge a cycle still ties the modules together, so that graph has no cycle
either. Imports under ``if TYPE_CHECKING:`` never run and are no edges.
"""

from __future__ import annotations

import ast
from pathlib import Path

import cognitosync_async
from cognitosync_async import _client as client_mod

PACKAGE = "cognitosync_async"
ROOT = Path(cognitosync_async.__file__).resolve().parent


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _all_runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import that can run: module level and inside functions and classes,
    but not under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                stack.extend(child.orelse)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            stack.append(child)
    return found


def _runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports executed at import time: module level, inside plain ``if``/``try``
    blocks too, but not in functions, classes or ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                stack.extend(node.body)
            stack.extend(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                stack.extend(block)
            for handler in node.handlers:
                stack.extend(handler.body)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            stack.extend(node.body)
    return found


def _targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]
) -> set[str]:
    """The package modules an import loads (the module itself, not its parents:
    a parent package is always loaded first, so it never closes a cycle alone)."""
    out: set[str] = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name in modules:
                out.add(alias.name)
        return out
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    for alias in node.names:
        candidate = f"{source}.{alias.name}"
        if candidate in modules:  # ``from . import auth``: the submodule ``auth``
            out.add(candidate)
        elif source in modules:  # a name the module ``source`` defines
            out.add(source)
    return out


def import_graph(*, deferred: bool = False, root: Path = ROOT) -> dict[str, set[str]]:
    """Module → the package modules it imports at load time (``deferred``: or later,
    from inside a function)."""
    collect = _all_runtime_imports if deferred else _runtime_imports
    files = {_module_name(p, root): p for p in root.rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in collect(tree):
            edges |= _targets(node, name, path.name == "__init__.py", modules)
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def test_the_graph_sees_the_package() -> None:
    graph = import_graph()
    assert f"{PACKAGE}.local" in graph
    assert f"{PACKAGE}.local._service" in graph[f"{PACKAGE}.local"]


def test_a_cycle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]


def test_type_checking_and_function_imports_are_not_edges() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from . import b\n"
        "def f():\n    from . import c\n"
        "try:\n    from . import d\nexcept ImportError:\n    pass\n"
    )
    modules = {"p", "p.a", "p.b", "p.c", "p.d"}
    edges = set().union(*(_targets(n, "p.a", False, modules) for n in _runtime_imports(tree)))
    assert edges == {"p.d"}


def test_a_cycle_through_a_deferred_import_is_found(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from . import c\n"
        "def f():\n    from .a import x\n"
    )
    (pkg / "c.py").write_text("from . import b\n")
    assert find_cycles(import_graph(root=pkg)) == []
    assert find_cycles(import_graph(root=pkg, deferred=True)) == [["pkg.a", "pkg.b"]]


def test_no_runtime_import_cycle() -> None:
    cycles = find_cycles(import_graph())
    assert cycles == [], "runtime import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_no_cycle_through_imports_inside_functions() -> None:
    cycles = find_cycles(import_graph(deferred=True))
    assert cycles == [], "import cycles through deferred imports: " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_client_module_does_not_import_aiohttp_at_run_time() -> None:
    assert "aiohttp" not in vars(client_mod)
    assert client_mod.USER_AGENT.startswith(f"cognitosync-async/{cognitosync_async.__version__} ")
