"""Audit commands beyond `audit verify`: signed checkpoints and inclusion proofs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from fapiao.cli.base import audit_app, emit_json, err, ledger, out
from fapiao.ledger import checkpoint, schema


@audit_app.command("checkpoint")
def checkpoint_cmd(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="同时写入此文件 / also write it to this file")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """签署审计链检查点。 Sign the audit chain's head and keep it; keep a copy elsewhere."""
    doc = checkpoint.create(ledger())
    if out_file is not None:
        out_file.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if as_json:
        emit_json(doc)
        return
    out.print(
        f"[green]✓[/] 检查点 checkpoint: seq {doc['seq']}  head {doc['head'][:16]}…  "
        f"root {doc['root'][:16]}…  {doc['time']}",
        highlight=False,
    )
    out.print(f"  公钥 public key: {doc['public_key']}", highlight=False)
    if out_file is not None:
        out.print(f"  → {out_file}", highlight=False)


@audit_app.command("proof")
def proof_cmd(
    key: Annotated[
        str, typer.Argument(help="发票：号码或代码-号码 / the invoice: number, or code-number")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="证明文件位置 / where the proof goes")],
    checkpoint_file: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="依据的检查点（默认最新）/ prove under this checkpoint (default: newest)",
        ),
    ] = None,
    tenant: Annotated[
        int | None,
        typer.Option(
            help="企业编号（双方都是本账簿企业时）/ tenant id, when both parties are tenants"
        ),
    ] = None,
) -> None:
    """生成发票存证证明。 Write what an outsider needs to check that an invoice is in the chain.

    Check it with `python -m fapiao.proof FILE` (no database needed)."""
    led = ledger()
    if checkpoint_file is not None:
        cp = json.loads(checkpoint_file.read_text(encoding="utf-8"))
    else:
        cp = checkpoint.latest(led.engine) or checkpoint.create(led)
    inv = schema.invoices
    query = select(inv.c.id).where(inv.c.identity_key == key).order_by(inv.c.id)
    if tenant is not None:
        query = query.where(inv.c.tenant_id == tenant)
    with led.engine.connect() as conn:
        ids = list(conn.execute(query).scalars())
    if not ids:
        err.print(f"没有这张发票 / no such invoice: {key}")
        raise typer.Exit(1)
    proof = checkpoint.prove(led.engine, ids[:1], key, cp)
    if not proof["events"]:
        err.print(
            f"该发票在检查点 seq {cp['seq']} 之后才入账 / the invoice was recorded after the checkpoint"
        )
        raise typer.Exit(1)
    out_file.write_text(json.dumps(proof, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    out.print(
        f"[green]✓[/] 证明 proof: {key}, {len(proof['events'])} events, checkpoint seq {cp['seq']} → {out_file}",
        highlight=False,
    )
