"""The import direction of DESIGN.md, checked on the source of every package under src/fapiao.

Three floors: the core at the bottom imports nothing above it (and, inside the core, each package
only what lies below it); a capability (a folder with a plugin.py declaring CAPABILITY) imports
the core and the capabilities its `requires` names, and reaches any other only through hooks; the
edges (`cli`, `web`) import anything. The web and CLI frameworks appear only in the edges and in a
capability's `cli.py`, `pages*.py` and `api*.py`. No module imports, at module level, a module
that imports it back.

Packages not declared as capabilities yet keep the imports they have today as listed exceptions
(`UNTIL_DECLARED`); an exception that is no longer needed fails the test, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from fapiao import plugins

SRC = Path(__file__).parent.parent / "src" / "fapiao"
FRAMEWORKS = {"typer", "fastapi", "starlette", "uvicorn"}
EDGES = {"cli", "web"}

# the core, package -> the core packages it may import (besides itself): each only what lies below
BASE = {"model", "money", "findings", "codec"}
CORE: dict[str, set[str]] = {
    "model": set(),
    "money": set(),
    "vocabulary": set(),
    "findings": {"vocabulary"},  # a field named in words in the Chinese message
    "codec": {"model", "money", "findings"},
    "deadline": set(),
    "collector": set(),  # Python's cycle collector held off (an import's writer, a server's jobs)
    "sheets": {"money", "deadline"},
    "validate": {"model", "money", "findings", "vocabulary"},  # words in its messages
    "parse": BASE,
    # the standalone verifier of checkpoints and proofs: an auditor runs it without the rest
    "proof": set(),
    # logs and process counters: everything reports to them, so they import nothing of ours
    "telemetry": set(),
    # the plug-in points: what a capability declares, the hooks the core calls, the registry
    "capability": set(),
    "hooks": set(),
    "plugins": {"capability", "hooks", "findings"},
    # the ledger reaches capabilities only through the hooks it calls (fapiao.plugins.hook())
    "ledger": BASE | {"validate", "proof", "capability", "hooks", "plugins", "telemetry"},
    # files in, ledger records out: the import pipeline every edge and capability calls; what
    # follows an import reaches the capabilities through the after_import hook
    "ingest": BASE
    | {"validate", "parse", "ledger", "telemetry", "hooks", "plugins", "pool", "collector"},
    # child processes that outlive a file crashing them: the import's parsers
    "pool": set(),
    # the CJK font every generated PDF embeds
    "pdffont": {"findings"},
    # the whole schema: the ledger's metadata with every capability's declared tables loaded
    "tables": {"ledger", "plugins"},
}

# What packages that are not declared capabilities yet import beyond the core: until declared.
# Each entry goes once its package has a plugin.py and the import is a `requires` or a hook.
# (Entries naming a package that has left fapiao are not checked: strike them when passing by.)
UNTIL_DECLARED: dict[str, set[str]] = {}
# Circles between declared capabilities beyond what their `requires` declare (none today; sync and
# contingency declare each other: sync asks whether sending is paused, contingency reads the outbox).
CIRCLES: dict[str, set[str]] = {}

# modules using a framework outside the places for it (none: the sandbox server lives in fapiao_dev)
FRAMEWORK_EXCEPTIONS: set[str] = set()


def modules() -> Iterator[tuple[Path, str]]:
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield path, ".".join(parts)


def imported_names(node: ast.AST) -> list[str]:
    """Dotted names an import statement reaches: `from fapiao import plugins` is fapiao.plugins."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def is_edge_module(path: Path) -> bool:
    """A capability's cli.py, pages*.py and api*.py: its part of the edges (Typer, FastAPI)."""
    return path.stem == "cli" or path.stem.startswith(("pages", "api"))


def imports_by_package() -> dict[str, set[str]]:
    """Top-level package (or module) -> ours it imports anywhere, and `!framework` for each
    framework; imports inside functions count too."""
    found: dict[str, set[str]] = defaultdict(set)
    for path, name in modules():
        package = name.split(".")[1] if "." in name else ""
        plugs_into_edge = package not in EDGES and is_edge_module(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in imported_names(node):
                parts = target.split(".")
                if plugs_into_edge and parts[:2] in (["fapiao", "cli"], ["fapiao", "web"]):
                    continue  # a capability's commands and pages plug into the edge's base
                if parts[0] == "fapiao" and len(parts) > 1 and parts[1] != package:
                    if (SRC / parts[1]).is_dir() or (SRC / f"{parts[1]}.py").exists():
                        found[package].add(parts[1])
                elif parts[0] in FRAMEWORKS:
                    found[package].add("!" + parts[0])
    return found


IMPORTS = imports_by_package()
PACKAGES = sorted(
    p.stem if p.suffix else p.name
    for p in SRC.iterdir()
    if p.name != "__init__.py" and (p.suffix == ".py" or (p / "__init__.py").exists())
)


def declared() -> dict[str, set[str]]:
    """Declared capability's package -> the packages of the capabilities it requires (those under
    src/fapiao; developer tools and installed plugins live elsewhere and are not checked here)."""
    package_of = {}
    for name, module in plugins.manager().list_name_plugin():
        parts = name.split(".")
        if parts[0] == "fapiao" and parts[-1] == "plugin" and len(parts) == 3:
            package_of[module.CAPABILITY.name] = parts[1]
    return {
        package_of[c.name]: {package_of[r] for r in c.requires if r in package_of}
        for c in plugins.capabilities()
        if c.name in package_of
    }


DECLARED = declared()


def ours(package: str) -> set[str]:
    return {n for n in IMPORTS.get(package, set()) if not n.startswith("!")}


def allowed(package: str) -> set[str]:
    if package in CORE:
        return CORE[package]
    return set(CORE) | DECLARED.get(package, set()) | UNTIL_DECLARED.get(package, set())


@pytest.mark.parametrize("package", sorted(set(CORE) | set(UNTIL_DECLARED) | set(DECLARED)))
def test_package_imports_only_what_it_may(package):
    extra = ours(package) - allowed(package) - CIRCLES.get(package, set())
    assert not extra, f"{package} imports {sorted(extra)}"


def test_every_package_has_a_floor():
    placed = set(CORE) | EDGES | set(DECLARED) | set(UNTIL_DECLARED)
    assert not set(PACKAGES) - placed, "say where these belong: " + str(
        sorted(set(PACKAGES) - placed)
    )
    assert set(CORE) | EDGES <= set(PACKAGES)
    assert not set(CORE) & set(UNTIL_DECLARED), "the core has no exceptions"


def test_every_plugin_module_is_registered():
    folders = {p.parent.name for p in SRC.glob("*/plugin.py")}
    assert folders == set(DECLARED), "add it to fapiao.plugins.BUILT_IN"


def test_the_exceptions_are_still_needed():
    """An exception a package no longer needs (it was declared, or the import became a hook)
    must be struck from the list, so the list only shrinks."""
    for table in (UNTIL_DECLARED, CIRCLES):
        for package, names in table.items():
            if package not in PACKAGES:
                continue
            needed = ours(package) - set(CORE) - DECLARED.get(package, set())
            stale = (names & set(PACKAGES)) - needed
            assert not stale, f"{package}: strike {sorted(stale)}"
    for package, names in CIRCLES.items():
        assert package in DECLARED and names <= set(DECLARED), (package, names)


def test_the_core_reaches_capabilities_only_through_hooks():
    for package in CORE:
        assert not ours(package) & (set(DECLARED) - set(CORE)), package
        assert not ours(package) & EDGES, package


def test_only_the_edges_and_a_capabilitys_cli_pages_and_api_know_the_frameworks():
    users = set()
    for path, _name in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(
            n.split(".")[0] in FRAMEWORKS for node in ast.walk(tree) for n in imported_names(node)
        ):
            users.add(str(path.relative_to(SRC)))
    wrong = set()
    for rel in users - FRAMEWORK_EXCEPTIONS:
        parts = Path(rel).parts
        if parts[0] in EDGES:
            continue
        stem = Path(rel).stem
        in_capability = len(parts) > 1 and parts[0] not in CORE
        if in_capability and (stem == "cli" or stem.startswith(("pages", "api"))):
            continue
        wrong.add(rel)
    assert not wrong, sorted(wrong)
    present = {rel for rel in FRAMEWORK_EXCEPTIONS if (SRC / rel).exists()}
    assert present <= users, f"strike {sorted(present - users)}"


# --- circles -------------------------------------------------------------------------------------


def module_graph(*, in_functions: bool) -> dict[str, set[str]]:
    """Module -> modules of ours it imports when it is imported (with the packages above each,
    whose __init__ runs first). Imports under `if TYPE_CHECKING` never run; those inside
    functions run later, so they are left out unless `in_functions`."""
    known = dict(modules())
    names = set(known.values())
    graph: dict[str, set[str]] = defaultdict(set)
    for path, name in known.items():
        stack: list[ast.AST] = list(ast.parse(path.read_text(encoding="utf-8")).body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not in_functions:
                continue
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                stack.extend(node.orelse)
                continue
            for target in imported_names(node):
                while target not in names and "." in target:
                    target = target.rsplit(".", 1)[0]
                while target in names and target != "fapiao":
                    if target != name and not name.startswith(target + "."):
                        graph[name].add(target)
                    target = target.rsplit(".", 1)[0]
            stack.extend(ast.iter_child_nodes(node))
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
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
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_module_imports_one_that_imports_it_back():
    assert circles(module_graph(in_functions=False)) == []


# A function-level import can still close a circle that only shows later; these are known, to be
# broken (the review API joins the web through the review pages, which include its router)
KNOWN_LATE_CIRCLES: list[list[str]] = []


def test_no_circle_even_through_imports_inside_functions():
    assert circles(module_graph(in_functions=True)) == KNOWN_LATE_CIRCLES


def test_the_circle_finder_finds_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == [["a", "b", "c"]]
