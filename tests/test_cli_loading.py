"""`fapiao <command>` imports only the modules of its command (`fapiao.cli.commands`): the
declarations it goes by must name exactly what each module registers, or a command would vanish
from the console script while the in-process app (and the tests using it) still had it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import run_cli

# In a fresh process: each command module imported in turn, and the first words of the commands
# (and of commands added to an existing group) it registered on the app.
REGISTERED = """
import importlib, json
from fapiao import plugins
from fapiao.cli import commands
from fapiao.cli.base import app

def tree(t, prefix=()):
    out = set()
    for c in t.registered_commands:
        out.add(prefix + (c.name or c.callback.__name__.replace("_", "-"),))
    for g in t.registered_groups:
        name = g.name or g.typer_instance.info.name
        out |= {prefix + (name,)} | tree(g.typer_instance, prefix + (name,))
    return out

seen, found = tree(app), {}
modules = list(commands.CORE_MODULES) + [m for c in plugins.capabilities() for m in c.cli]
for name in modules:
    importlib.import_module(name)
    now = tree(app)
    found[name] = sorted({path[0] for path in now - seen})
    seen = now
print(json.dumps(found))
"""


def registered() -> dict[str, list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", REGISTERED], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


def test_declared_first_words_are_exactly_what_each_module_registers() -> None:
    from fapiao import plugins
    from fapiao.cli.commands import CORE, CORE_MODULES

    found = registered()
    for cap in plugins.capabilities():
        words = {w for m in cap.cli for w in found[m]}
        assert set(cap.commands) == words, cap.name
    for module in CORE_MODULES:
        for word in found[module]:
            assert module in CORE.get(word, ()), (module, word)
    assert set(CORE) == {w for m in CORE_MODULES for w in found[m]}
    everything = [w for words in found.values() for w in words]
    assert {"import", "reconcile", "deduct", "demo", "backup"} <= set(everything)


def test_modules_for_reads_the_command_past_the_global_options() -> None:
    from fapiao.cli.commands import modules_for

    assert modules_for(["--db", "x.sqlite", "--as", "amy", "deduct", "status"]) == (
        "fapiao.deduct.cli",
    )
    assert modules_for(["--db=x.sqlite", "tenant", "list"]) == ("fapiao.cli.ledger",)
    assert modules_for(["audit", "proof"]) == ("fapiao.cli.ledger", "fapiao.cli.audit_proof")
    assert modules_for(["--help"]) is None  # every command is listed
    assert modules_for([]) is None
    assert modules_for(["no-such-command"]) is None  # click names the mistake among all


def test_console_script_runs_a_capability_command_and_lists_every_command(tmp_path) -> None:
    db = str(tmp_path / "l.sqlite")
    tenant = run_cli(
        "--db",
        db,
        "--as",
        "amy",
        "tenant",
        "add",
        "--tax-id",
        "91110108MA0TL7K20Q",
        "--name",
        "甲公司",
        check=True,
    )
    assert tenant.returncode == 0
    status = run_cli("--db", db, "deduct", "status", "--help", check=True)
    assert "fapiao deduct status" in status.stdout
    listed = run_cli("--help", check=True).stdout
    for word in ("import", "reconcile", "deduct", "backup", "demo", "verify", "serve"):
        assert f" {word} " in listed, word
    wrong = run_cli("--db", db, "no-such-command")
    assert wrong.returncode == 2 and "no-such-command" in wrong.stderr
    # an unknown word loads every command, so the closest is named, once
    typo = run_cli("--db", db, "vouchr")
    assert typo.returncode == 2 and typo.stderr.count("Did you mean 'voucher'") == 1
