"""Archive packages (电子会计档案): export from the ledger, verify alone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fapiao.cli import base
from fapiao.cli.base import app, emit_json, err, out
from fapiao.vocabulary import normal_period

archive_app = typer.Typer(no_args_is_help=True, help="电子会计档案 / archive packages")
app.add_typer(archive_app, name="archive")


@archive_app.command("export")
def export_cmd(
    tenant: Annotated[str, typer.Option(help="企业编号或税号 / tenant id or tax ID")],
    period: Annotated[
        str, typer.Option(help="期间 / period YYYY or YYYY-MM", callback=normal_period)
    ],
    out_path: Annotated[
        Path,
        typer.Option("--out", help="输出目录或 .zip 文件 / a folder, or a file ending in .zip"),
    ],
) -> None:
    """导出电子会计档案。 Every original, its canonical JSON and proof, a signed manifest."""
    from fapiao.archive.package import export
    from fapiao.contingency.common import ContingencyError, resolve_tenant
    from fapiao.ledger import queries

    try:
        queries.period_bounds(period)
    except ValueError as exc:
        err.print(f"参数错误 / bad period: {period}")
        raise typer.Exit(2) from exc
    led = base.ledger()
    try:
        row = resolve_tenant(led.engine, tenant)
    except ContingencyError as exc:
        err.print(f"{exc.zh} / {exc.en}")
        raise typer.Exit(2) from exc
    manifest = export(led, tenant=row, period=period, out=out_path)
    out.print(
        f"[green]✓[/] 档案 archive: {len(manifest['invoices'])} 张发票 invoices, "
        f"{len(manifest['files'])} files, checkpoint seq {manifest['checkpoint']['seq']} → {out_path}",
        highlight=False,
    )


@archive_app.command("verify")
def verify_cmd(
    path: Annotated[Path, typer.Argument(help="档案包：目录或 .zip / the package: folder or .zip")],
    key: Annotated[
        str | None, typer.Option("--key", help="固定的账簿公钥 / the ledger's public key to pin")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """校验电子会计档案。 Check a package alone, without the database."""
    from fapiao.archive.check import verify

    manifest, problems = verify(path, public_key=key)
    if as_json:
        emit_json(
            {
                "ok": not problems,
                "invoices": len(manifest.get("invoices", [])),
                "problems": problems,
            }
        )
    elif problems:
        out.print(f"[red]✗[/] 档案不完整或被改动 / the package does not hold: {path}")
        for p in problems:
            err.print(f"  {p}")
    else:
        t = manifest["tenant"]
        out.print(
            f"[green]✓[/] 档案完整 / package holds: {t['name']} {t['tax_id']} {manifest['period']}, "
            f"{len(manifest['invoices'])} invoices, checkpoint seq {manifest['checkpoint']['seq']}",
            highlight=False,
        )
    raise typer.Exit(1 if problems else 0)
