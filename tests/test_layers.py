"""The import direction of DESIGN.md, checked on the source: the model at the bottom imports nothing
of ours, parsers and rules import only the model's layer, the ledger never imports the edges, and only
the edges (and the sandbox server) know the web and CLI frameworks."""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "fapiao"
FRAMEWORKS = {"typer", "fastapi", "starlette", "uvicorn"}
CORE = {"model", "money", "findings", "codec"}

# package -> the packages of ours it may import (besides itself)
ALLOWED = {
    "model": set(),
    "money": set(),
    "vocabulary": set(),
    "findings": set(),
    "codec": {"model", "money", "findings"},
    "deadline": set(),
    "sheets": {"money", "deadline"},
    "validate": {"model", "money", "findings"},
    "parse": CORE,
    "synth": {"model", "validate"},
    # the ledger's write path calls three hooks that must run in its transaction: the outbox entry,
    # the 补开 request an arriving invoice closes, and the operation log
    "ledger": CORE
    | {"validate", "sync", "contingency", "ops", "proof", "capability", "hooks", "plugins"},
    # the standalone verifier of checkpoints and proofs: an auditor runs it without the rest
    "proof": set(),
    # the plug-in points: what a capability declares, the hooks the core calls, the registry
    "capability": set(),
    "hooks": set(),
    "plugins": {"capability", "hooks"},
    "archive": CORE | {"ledger", "proof"},
    # the monthly 进项 capabilities (their cli.py / pages.py count as the edges); insight and sync
    # are read directly until they are declared as capabilities of their own
    "deduct": CORE | {"ledger", "insight", "ops", "capability", "hooks"},
    "expense": CORE | {"ledger", "ops", "capability", "hooks"},
    "red": CORE | {"ledger", "model", "validate", "sync", "ops", "capability", "hooks"},
    "voucher": CORE | {"ledger", "deduct", "insight", "sheets", "capability", "hooks"},
}
MAY_USE_FRAMEWORKS = {"cli", "web", "authority"}


def imports_by_package() -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(SRC).with_suffix("").parts
        package = rel[0]
        # a capability's cli.py and pages*/api* modules are part of the edges (RULES: plug-ins)
        if len(rel) > 1 and package not in MAY_USE_FRAMEWORKS:
            if rel[-1] == "cli":
                package = "cli"
            elif rel[-1].startswith(("pages", "api")):
                package = "web"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "fapiao" and len(parts) > 1 and parts[1] != package:
                    found[package].add(parts[1])
                elif parts[0] in FRAMEWORKS:
                    found[package].add("!" + parts[0])
    return found


IMPORTS = imports_by_package()


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_lies_below(package):
    ours = {name for name in IMPORTS.get(package, set()) if not name.startswith("!")}
    assert ours <= ALLOWED[package], f"{package} imports {sorted(ours - ALLOWED[package])}"


def test_only_the_edges_know_the_frameworks():
    users = {pkg for pkg, names in IMPORTS.items() if any(n.startswith("!") for n in names)}
    assert users <= MAY_USE_FRAMEWORKS, sorted(users - MAY_USE_FRAMEWORKS)


def test_nothing_below_the_edges_imports_them():
    for package, names in IMPORTS.items():
        if package in {"cli", "demo", "tables"}:
            continue
        assert "cli" not in names, package
        if package != "web":
            assert "web" not in names, package
