"""The developer tools (`fapiao_dev`: demo, synthetic invoices, sample drawing, sandbox, chaos) stay
apart from what a user's ledger runs: nothing in `fapiao` imports them, no dev module is left
inside `fapiao`, the ledger and its web server load no more of them than the `dev` declaration,
and their commands still reach the CLI through that declaration."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from fapiao import plugins

ROOT = Path(__file__).parent.parent
SRC = ROOT / "src" / "fapiao"
DEV = ROOT / "src" / "fapiao_dev"
DEV_NAMES = {
    "demo",
    "synth",
    "samples",
    "chaos",
    "sandbox",
    "sandbox_run",
    "sandbox_store",
    "faults",
}


def imported_names(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement in the file names, at any depth (inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def test_nothing_in_fapiao_imports_the_dev_tools():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in sorted(SRC.rglob("*.py"))
        for line, name in imported_names(path)
        if name.split(".")[0] == "fapiao_dev"
    ]
    assert offenders == []


def test_the_walk_sees_imports_inside_functions(tmp_path):
    # the check above must catch the lazy imports the CLI used to make
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from fapiao_dev.synth import InvoiceFactory\n")
    assert imported_names(probe) == [(2, "fapiao_dev.synth")]


def test_no_dev_module_is_left_inside_fapiao():
    left = [
        str(path.relative_to(ROOT))
        for path in SRC.rglob("*")
        if path.stem in DEV_NAMES and "migrations" not in path.parts
    ]
    assert left == []
    assert (DEV / "synth.py").is_file() and (DEV / "sandbox" / "server.py").is_file()


def test_a_users_ledger_and_web_load_only_the_dev_declaration(tmp_path):
    """Opening (and migrating) a ledger and building the web app import `fapiao_dev.plugin`, the
    declaration, and nothing else of the dev tools: no synth, samples, sandbox or demo code."""
    code = (
        "import sys\n"
        "from fapiao.ledger.db import open_engine\n"
        "from fapiao.web.app import create_app\n"
        f"engine = open_engine({str(tmp_path / 'l.sqlite')!r})\n"
        "create_app(engine=engine)\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'fapiao_dev')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["fapiao_dev", "fapiao_dev.plugin"]


def test_the_dev_capability_brings_its_commands():
    assert plugins.capabilities()[-1].name == "dev"
    assert plugins.capability("dev").cli == ("fapiao_dev.cli",)
    # in a child: importing Typer here would trip the suite's warnings-as-errors on Click's deprecations
    code = (
        "import typer.main\n"
        "from fapiao.cli import app\n"
        "commands = typer.main.get_command(app).commands\n"
        "for name in ('demo', 'samples', 'sandbox'):\n"
        "    print(name, commands[name].callback.__module__)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "demo fapiao_dev.cli",
        "samples fapiao_dev.cli",
        "sandbox fapiao_dev.cli",
    ]
