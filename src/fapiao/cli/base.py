"""The command line's shared parts: the Typer app, the global --db option, output helpers.

DESIGN.md's contract: exit codes 0 done, 1 inputs rejected or a check failed, 2 usage error;
listing commands take --json. Each capability's commands live in its folder's `cli.py` (see
`fapiao.capability`).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import click
import typer
import typer.core
from rich.console import Console
from rich.markup import escape as plain

from fapiao.findings import Finding, Refusal
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.telemetry import logs as oplog

_argument_init = typer.core.TyperArgument.__init__


def _argument_keeps_help(self: Any, *args: Any, help: str | None = None, **kw: Any) -> None:
    """Typer 0.20 sets an argument's help before click's Parameter.__init__, which (click 8.5) sets
    `help` again from its own keyword, left None: every argument's help vanished from --help."""
    _argument_init(self, *args, help=help, **kw)
    self.help = help


typer.core.TyperArgument.__init__ = _argument_keeps_help  # type: ignore[method-assign]
# click 8.5 names a close command itself ("Did you mean 'voucher'?"), and Typer 0.20's group adds
# the same sentence again: groups resolve commands as click's do
typer.core.TyperGroup.resolve_command = click.Group.resolve_command  # type: ignore[method-assign]

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="fapiao: 发票台账 / invoice ledger"
)
tenant_app = typer.Typer(no_args_is_help=True, help="企业（账簿主体） / companies in this ledger")
audit_app = typer.Typer(no_args_is_help=True, help="审计链 / audit chain")
app.add_typer(tenant_app, name="tenant")
app.add_typer(audit_app, name="audit")

# Text from files and people (a name, `FILE[row 3]`) goes through `plain`: rich reads `[…]` as
# markup and would drop it.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class State:
    db: str | None = None
    actor: str | None = None  # --as NAME


@app.callback()
def _main(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="数据库：SQLite 路径或 URL（默认 $FAPIAO_DB）/ SQLite path or database URL (default: $FAPIAO_DB)",
        ),
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="操作人（默认 $FAPIAO_USER，否则系统登录名）/ act as this user (default: $FAPIAO_USER, else the OS login)",
        ),
    ] = None,
) -> None:
    State.db = db
    State.actor = as_user
    oplog.configure(default_level="warning")  # JSON operation log; $FAPIAO_LOG_LEVEL, $FAPIAO_LOG


def refusal_exit(exc: Refusal, as_json: bool = False) -> typer.Exit:
    """How the command line answers every refusal: why in both languages on stderr (or the
    problem JSON on stdout), exit 2 when the request must be corrected, 1 when the data says no."""
    if as_json:
        emit_json(exc.to_json())
    else:
        err.print(f"{exc.zh} / {exc.en}", highlight=False)
    return typer.Exit(exc.exit_code)


def ledger(as_name: str | None = None) -> Ledger:
    """The ledger, acting as the named person (see `fapiao.auth.actor`)."""
    from fapiao.auth.actor import ActorRefused, require_person, resolve

    engine = open_engine(State.db)
    try:
        actor = resolve(engine, as_name or State.actor)
    except ActorRefused as exc:
        raise refusal_exit(exc) from exc
    return Ledger(engine, actor=actor, before_write=lambda: require_person(engine, actor))


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def say_findings(findings: list[Finding] | list[dict[str, Any]], *, indent: str = "  ") -> None:
    for f in findings:
        d = f.to_json() if isinstance(f, Finding) else f
        colour = "red" if d["severity"] == "error" else "yellow"
        err.print(
            f"{indent}[{colour}]{d['severity']}[/] {d['code']} "
            + plain(f"{d['field']}: {d['message']} / {d['message_en']}"),
            highlight=False,
        )
