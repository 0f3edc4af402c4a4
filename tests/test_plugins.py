"""Capabilities plug in through their declarations (`fapiao.plugins`): every module a declaration
names exists, a missing one stops the start loudly, every capability folder is registered, and the
commands, routes and menu that the edges build from the declarations are the ones fapiao had when
each edge kept its own list (`tests/data/edges.json`).

`python tests/test_plugins.py > tests/data/edges.json` writes the snapshot anew: do it only when a
command, option, route or menu entry is meant to appear or go, and say so in the commit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
SRC = ROOT / "src" / "fapiao"
SNAPSHOT = Path(__file__).parent / "data" / "edges.json"
FAPIAO = str(Path(sys.executable).with_name("fapiao"))


def edges() -> dict[str, Any]:
    """The CLI's commands with their options and arguments, the web's routes, the menu."""
    import click
    import typer.main

    from fapiao.cli import app
    from fapiao.web import nav
    from fapiao.web.app import create_app

    def walk(cmd: click.Command, prefix: list[str]) -> dict[str, list[str]]:
        if isinstance(cmd, click.Group):
            out: dict[str, list[str]] = {}
            for name, sub in cmd.commands.items():
                out.update(walk(sub, [*prefix, name]))
            return out
        params = [
            "/".join(sorted(p.opts + p.secondary_opts))
            if isinstance(p, click.Option)
            else f"<{p.name}>"
            for p in cmd.params
        ]
        return {" ".join(prefix): sorted(params)}

    web = create_app("sqlite:///:memory:")
    routes = sorted(
        f"{method} {route.path}"
        for route in web.routes
        for method in sorted(getattr(route, "methods", None) or ["MOUNT"])
    )
    menu = [f"{n.order} {n.path} {n.zh} {n.en} {n.permission}" for n in nav.NAV]
    return {"cli": walk(typer.main.get_command(app), []), "routes": routes, "nav": menu}


def test_every_declared_module_imports():
    from fapiao import plugins

    assert plugins.check_declarations() == []
    names = [c.name for c in plugins.capabilities()]
    for cap in plugins.capabilities():
        assert set(cap.requires) <= set(names) - {cap.name}, cap.name
        for module in plugins.load("pages") + plugins.load("api"):
            assert module.router.routes, module.__name__  # a router with nothing on it is a slip


def test_every_capability_folder_is_registered():
    from fapiao import plugins

    folders = {p.parent.name for p in SRC.glob("*/plugin.py")}
    registered = {n.split(".")[1] for n in plugins.BUILT_IN if n.startswith("fapiao.")}
    assert folders == registered, "a plugin.py not in plugins.BUILT_IN (or the reverse)"
    for cap in plugins.capabilities():
        if cap.migrations:  # the revisions ship: pyproject's package-data names their folder
            rel = cap.migrations.removeprefix("fapiao.").replace(".", "/")
            data = (ROOT / "pyproject.toml").read_text()
            assert f'"{rel}/*.py"' in data or '"*/migrations/*.py"' in data, rel


def test_the_revisions_keep_their_ids_wherever_they_live():
    """Existing databases upgrade unchanged: the same revisions, each once, one root."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from fapiao.ledger import db

    script = ScriptDirectory.from_config(db._alembic_config(create_engine("sqlite://")))
    revisions = {r.revision: r.down_revision for r in script.walk_revisions()}
    assert revisions == {
        "0001": None,
        "0002": "0001",
        "0003": "0001",
        "0004": "0001",
        "0004a": "0004",
        "0004b": "0004a",
        "0004c": "0004b",
        "0005": "0001",
        "0006": "0001",
        "0007": "0001",
        "0008": "0001",
        "0008a": "0008",
        "0009": "0001",
        "0009r": "0001",
        "notify1": "0001",
        "schedule1": "0001",
        "deduct1": "0001",
        "expense1": "0001",
        "red1": "0001",
        "red2": "red1",
        "voucher1": "0001",
        "0010": "0001",
    }
    homes = {Path(r.path).parent.parent.name for r in script.walk_revisions()}
    assert {
        "auth",
        "sync",
        "reconcile",
        "backup",
        "contingency",
        "ops",
        "insight",
        "review",
    } <= homes


def test_commands_routes_and_menu_are_the_ones_the_hand_kept_lists_made():
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    found = edges()
    assert sorted(found["cli"]) == sorted(expected["cli"]), "a command appeared or vanished"
    assert found["cli"] == expected["cli"], "a command's options changed"
    assert found["routes"] == expected["routes"], "a web route appeared or vanished"
    assert found["nav"] == expected["nav"], "the menu changed"


@pytest.fixture(scope="module")
def bogus_plugin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An installed plug-in (entry point `fapiao`) whose declaration names modules that do not exist."""
    root = tmp_path_factory.mktemp("bogus")
    (root / "bogus_plugin.py").write_text(
        "from fapiao.capability import Capability\n"
        "from fapiao.hooks import hookimpl\n\n"
        "@hookimpl\n"
        "def fapiao_capability():\n"
        "    return Capability(name='bogus', zh='假', en='Bogus',\n"
        "        cli=('bogus_plugin.no_such_cli',), pages=('bogus_plugin.no_such_pages',))\n",
        encoding="utf-8",
    )
    meta = root / "bogus_plugin-1.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: bogus-plugin\nVersion: 1.0\n")
    (meta / "entry_points.txt").write_text("[fapiao]\nbogus = bogus_plugin\n")
    path = os.pathsep.join([str(root), str(ROOT / "src")])
    return {**os.environ, "PYTHONPATH": path, "PYTHONWARNINGS": "ignore"}


def test_a_missing_declared_module_stops_the_cli(bogus_plugin, tmp_path):
    proc = subprocess.run(
        [FAPIAO, "--db", str(tmp_path / "l.sqlite"), "tenant", "list"],
        capture_output=True,
        text=True,
        env=bogus_plugin,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "bogus_plugin.no_such_cli" in proc.stderr
    assert "bogus_plugin.no_such_pages" in proc.stderr  # every problem named, not just the first


def test_a_missing_declared_page_stops_the_web_app(bogus_plugin):
    code = (
        "from fapiao.plugins import DeclarationError\n"
        "from fapiao.web.app import create_app\n"
        "try:\n"
        "    create_app('sqlite:///:memory:')\n"
        "except DeclarationError as exc:\n"
        "    print(exc)\n"
        "    raise SystemExit(3)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=bogus_plugin, timeout=60
    )
    assert proc.returncode == 3, proc.stderr
    assert "bogus: pages bogus_plugin.no_such_pages" in proc.stdout
    assert "bogus: cli bogus_plugin.no_such_cli" in proc.stdout


if __name__ == "__main__":
    json.dump(edges(), sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)
    sys.stdout.write("\n")
