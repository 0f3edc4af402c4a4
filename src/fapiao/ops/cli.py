"""Operations' commands: check, notice …, ticket … (declared by `fapiao.ops.plugin`)."""

from __future__ import annotations

from typing import Annotated

import typer

from fapiao.cli.base import (
    State,
    app,
)

# --- operations: self-check, notices, repair tickets ---------------------------------------------


@app.command("check")
def check_cmd(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    authority: Annotated[
        str | None, typer.Option("--authority", help="platform URL (default: $FAPIAO_AUTHORITY)")
    ] = None,
    record: Annotated[bool, typer.Option(help="keep the result in the check history")] = True,
) -> None:
    """Self-check: database, migrations, disk, originals, audit chain, sync, backups. 自检。"""
    from fapiao.ops.cli_commands import run_check

    raise typer.Exit(run_check(State.db, as_json=as_json, authority=authority, record=record))


from fapiao.ops.cli_commands import notice_app, ticket_app  # noqa: E402

app.add_typer(notice_app, name="notice")
app.add_typer(ticket_app, name="ticket")
